//! The system extended types: their categories, ids, names, friendly names, logical order and ontologies, and the lookups the 2018 face makes of them.
//!
//! The catalogue is read once from `data/types.txt` (embedded in the binary) and never changes while the process runs.
//! Whether a type may be used depends on a tenant's ontologies, which `ontologies::OntologyState` owns; custom types that a tenant creates on a space are not here.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use crate::ontologies::{Ontology, OntologySet};
use crate::table;

/// The ids system types may take. A tenant's custom types are numbered from `SYSTEM_TYPE_IDS.end` up, so the two never meet.
pub const SYSTEM_TYPE_IDS: Range<u32> = 0..1_000_000;

/// The text of the catalogue; its header documents the format and how ids are allocated.
const TEXT: &str = include_str!("../data/types.txt");

/// The catalogue of this build, parsed on first use.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let types =
            table::parse(TEXT).unwrap_or_else(|error| panic!("data/types.txt is checked by the tests: {error}"));
        Catalogue::new(types)
    })
}

/// The sixteen categories of extended types of the 2018 API, each with the id `system/extendedtypes/categories` lists it under.
///
/// The ids are ours (the 2018 service published none); they follow the object kinds: spaces, devices, sensors, then users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    SpaceType = 1,
    SpaceSubtype = 2,
    SpaceStatus = 3,
    SpaceBlobType = 4,
    SpaceBlobSubtype = 5,
    DeviceType = 6,
    DeviceSubtype = 7,
    DeviceBlobType = 8,
    DeviceBlobSubtype = 9,
    SensorType = 10,
    SensorDataType = 11,
    SensorDataSubtype = 12,
    SensorDataUnitType = 13,
    SensorPortType = 14,
    UserBlobType = 15,
    UserBlobSubtype = 16,
}

impl Category {
    /// Every category, in id order.
    pub const ALL: [Category; 16] = [
        Category::SpaceType,
        Category::SpaceSubtype,
        Category::SpaceStatus,
        Category::SpaceBlobType,
        Category::SpaceBlobSubtype,
        Category::DeviceType,
        Category::DeviceSubtype,
        Category::DeviceBlobType,
        Category::DeviceBlobSubtype,
        Category::SensorType,
        Category::SensorDataType,
        Category::SensorDataSubtype,
        Category::SensorDataUnitType,
        Category::SensorPortType,
        Category::UserBlobType,
        Category::UserBlobSubtype,
    ];

    /// The category's id, 1 to 16.
    pub fn id(self) -> u32 {
        self as u32
    }

    /// The category with this id.
    pub fn from_id(id: u32) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.id() == id)
    }

    /// The name the 2018 API uses (`SpaceSubtype`).
    pub fn name(self) -> &'static str {
        match self {
            Category::SpaceType => "SpaceType",
            Category::SpaceSubtype => "SpaceSubtype",
            Category::SpaceStatus => "SpaceStatus",
            Category::SpaceBlobType => "SpaceBlobType",
            Category::SpaceBlobSubtype => "SpaceBlobSubtype",
            Category::DeviceType => "DeviceType",
            Category::DeviceSubtype => "DeviceSubtype",
            Category::DeviceBlobType => "DeviceBlobType",
            Category::DeviceBlobSubtype => "DeviceBlobSubtype",
            Category::SensorType => "SensorType",
            Category::SensorDataType => "SensorDataType",
            Category::SensorDataSubtype => "SensorDataSubtype",
            Category::SensorDataUnitType => "SensorDataUnitType",
            Category::SensorPortType => "SensorPortType",
            Category::UserBlobType => "UserBlobType",
            Category::UserBlobSubtype => "UserBlobSubtype",
        }
    }

    /// The category named `name`, ignoring case as the 2018 API does (clients post `SpaceSubType`).
    pub fn parse(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// The block of ids this category's system types are allocated from; its first id is the category's `None`.
    pub(crate) fn ids(self) -> Range<u32> {
        let start = self.id() * 10_000;
        start..start + 10_000
    }

    /// The position of the category in `ALL`.
    pub(crate) fn index(self) -> usize {
        self as usize - 1
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The integer id of an extended type, system or custom, unique across all categories (the 2018 API addresses a type as `types/{id}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TypeId(u32);

impl TypeId {
    /// The id as the API gives it; whether a type has it is for the catalogue (or the tenant's custom types) to say.
    pub const fn new(id: u32) -> TypeId {
        TypeId(id)
    }

    /// The id as the API shows it.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Whether the id lies in the range of system types (it may still name no type).
    pub fn is_system(self) -> bool {
        SYSTEM_TYPE_IDS.contains(&self.0)
    }
}

impl fmt::Display for TypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One system extended type: a name that an object's type, subtype, status, data type, unit or port type may take.
#[derive(Debug, PartialEq, Eq)]
pub struct ExtendedType {
    pub(crate) id: TypeId,
    pub(crate) category: Category,
    pub(crate) name: &'static str,
    pub(crate) friendly_name: String,
    /// The position within the category, from 0; `None` comes first.
    pub(crate) logical_order: u32,
    /// Never empty: every system type comes from at least one ontology.
    pub(crate) ontologies: OntologySet,
    /// For a type that ships disabled to keep a misspelling out, the type of the same category to use instead.
    pub(crate) superseded_by: Option<TypeId>,
}

impl ExtendedType {
    /// The id, unique across categories and never changed once released.
    pub fn id(&self) -> TypeId {
        self.id
    }

    /// The category the type is a name of.
    pub fn category(&self) -> Category {
        self.category
    }

    /// The name: letters, digits and underscores, unique within the category ignoring case.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Free text for people (`Conference Room`).
    pub fn friendly_name(&self) -> &str {
        &self.friendly_name
    }

    /// Where the type is listed within its category (the 2018 `logicalOrder`), from 0.
    pub fn logical_order(&self) -> u32 {
        self.logical_order
    }

    /// The ontologies the type belongs to; it can be used while any of them is loaded.
    pub fn ontologies(&self) -> OntologySet {
        self.ontologies
    }

    /// Whether this is the category's `None`, which objects take when no type is given.
    pub fn is_none(&self) -> bool {
        self.id.0 == self.category.ids().start
    }

    /// For a type that ships disabled to keep a misspelling out (`Temp`), the type to use instead (`Temperature`).
    pub fn superseded_by(&self) -> Option<&'static ExtendedType> {
        self.superseded_by.and_then(|id| catalogue().by_id(id))
    }
}

/// Every system extended type, with indexes by id and by name.
#[derive(Debug)]
pub struct Catalogue {
    /// Sorted by category, then by logical order.
    types: Vec<ExtendedType>,
    /// The slice of `types` of each category, by `Category::index`.
    categories: [Range<usize>; 16],
    by_id: HashMap<TypeId, usize>,
    /// Keyed by the name in lower case.
    by_name: HashMap<(Category, String), usize>,
}

impl Catalogue {
    /// Every type, by category and then in logical order.
    pub fn types(&self) -> &[ExtendedType] {
        &self.types
    }

    /// Every type of a category, in logical order.
    pub fn category(&self, category: Category) -> &[ExtendedType] {
        &self.types[self.categories[category.index()].clone()]
    }

    /// The types of a category in logical order, only those of `ontology` when one is given.
    pub fn list(&self, category: Category, ontology: Option<Ontology>) -> impl Iterator<Item = &ExtendedType> {
        self.category(category).iter().filter(move |t| ontology.is_none_or(|o| t.ontologies.contains(o)))
    }

    /// The types of an ontology, by category and then in logical order.
    pub fn ontology(&self, ontology: Ontology) -> impl Iterator<Item = &ExtendedType> {
        self.types.iter().filter(move |t| t.ontologies.contains(ontology))
    }

    /// The type with this id, of any category.
    pub fn by_id(&self, id: TypeId) -> Option<&ExtendedType> {
        self.by_id.get(&id).map(|&i| &self.types[i])
    }

    /// The type with this id, if it is of `category` (the 2018 API's `typeId`, `dataTypeId`, … name a type of one category).
    pub fn by_category_id(&self, category: Category, id: TypeId) -> Option<&ExtendedType> {
        self.by_id(id).filter(|t| t.category == category)
    }

    /// The type of `category` named `name`, ignoring case as the 2018 API does.
    pub fn by_name(&self, category: Category, name: &str) -> Option<&ExtendedType> {
        self.by_name.get(&(category, name.to_ascii_lowercase())).map(|&i| &self.types[i])
    }

    /// The category's `None`, which an object takes when it names no type.
    pub fn none(&self, category: Category) -> &ExtendedType {
        let first = &self.category(category)[0];
        assert!(first.is_none(), "the table parser puts each category's None first");
        first
    }

    /// Builds the indexes of types the table parser has checked (ids unique, names unique within a category, every category with its `None`).
    fn new(mut types: Vec<ExtendedType>) -> Catalogue {
        types.sort_by_key(|t| (t.category, t.logical_order));
        let mut categories: [Range<usize>; 16] = Default::default();
        for category in Category::ALL {
            let start = types.partition_point(|t| t.category < category);
            let end = types.partition_point(|t| t.category <= category);
            categories[category.index()] = start..end;
        }
        let by_id = types.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
        let by_name = types.iter().enumerate().map(|(i, t)| ((t.category, t.name.to_ascii_lowercase()), i)).collect();
        Catalogue { types, categories, by_id, by_name }
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn check_lookup(category: &str, name: &str, expect: Expect) {
        let found = Category::parse(category)
            .and_then(|c| catalogue().by_name(c, name))
            .map(|t| format!("{} {} {} ({})", t.category(), t.id(), t.name(), t.friendly_name()));
        expect.assert_eq(&found.unwrap_or_else(|| "not found".to_owned()));
    }

    #[test]
    fn names_and_categories_ignore_case() {
        check_lookup("SensorDataType", "Motion", expect!["SensorDataType 111000 Motion (Motion)"]);
        check_lookup(
            "sensordatatype",
            "CARBONDIOXIDE",
            expect!["SensorDataType 111002 CarbonDioxide (Carbon Dioxide)"],
        );
        check_lookup("SpaceSubType", "focusroom", expect!["SpaceSubtype 21000 FocusRoom (Focus Room)"]);
        check_lookup("SpaceType", "Tenant", expect!["SpaceType 10001 Tenant (Tenant)"]);
        check_lookup("SpaceType", "Motion", expect!["not found"]);
        check_lookup("NoSuchCategory", "None", expect!["not found"]);
    }

    #[test]
    fn ids_name_one_category() {
        let motion = TypeId::new(111_000);
        assert_eq!(catalogue().by_category_id(Category::SensorDataType, motion).map(|t| t.name()), Some("Motion"));
        assert_eq!(catalogue().by_category_id(Category::SpaceType, motion), None);
        assert_eq!(catalogue().by_id(TypeId::new(1)), None);
    }

    #[test]
    fn none_comes_first() {
        for category in Category::ALL {
            let none = catalogue().none(category);
            assert_eq!((none.name(), none.id().get(), none.logical_order()), ("None", category.ids().start, 0));
        }
    }

    #[test]
    fn categories_round_trip() {
        for category in Category::ALL {
            assert_eq!(Category::from_id(category.id()), Some(category));
            assert_eq!(Category::parse(category.name()), Some(category));
        }
        assert_eq!(Category::from_id(0), None);
        assert_eq!(Category::from_id(17), None);
    }
}
