//! The five ontologies, and the state a tenant owns of them: which are loaded, and which system types it has disabled or enabled by hand.
//!
//! The rules are those of the 2018 API's `PATCH ontologies/{id}` and `PATCH types/{id}`: loading an ontology enables its types unless another loaded ontology already holds them, unloading disables its types unless another loaded ontology holds them, and `Default` and `Required` start loaded.
//! This file decides; storing the state per tenant and answering requests belong to the graph and the server.

use std::collections::BTreeMap;
use std::fmt;

use crate::catalogue::{ExtendedType, TypeId, catalogue};

/// A named set of extended types that a tenant loads or unloads as a whole.
///
/// The ids are ours (the 2018 service published none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Ontology {
    /// The types the service itself relies on: each category's `None` and the `Tenant` space type. Always loaded.
    Required = 1,
    /// Generic names for most categories: what the 2018 documentation and samples use.
    Default = 2,
    /// The spaces, equipment and statuses of buildings: schools, hospitals, venues, hotels, shops, parking and building services.
    Building = 3,
    /// BACnet building automation: object types, point data types and subtypes, device profiles and engineering units.
    Bacnet = 4,
    /// Electricity grids: grid places, grid assets, electrical quantities and units.
    EnergyGrid = 5,
}

impl Ontology {
    /// Every ontology, in id order.
    pub const ALL: [Ontology; 5] =
        [Ontology::Required, Ontology::Default, Ontology::Building, Ontology::Bacnet, Ontology::EnergyGrid];

    /// The ontology's id, 1 to 5, as `ontologies/{id}` names it.
    pub fn id(self) -> u32 {
        self as u32
    }

    /// The ontology with this id.
    pub fn from_id(id: u32) -> Option<Ontology> {
        Ontology::ALL.into_iter().find(|o| o.id() == id)
    }

    /// The name the 2018 API uses (`BACnet`).
    pub fn name(self) -> &'static str {
        match self {
            Ontology::Required => "Required",
            Ontology::Default => "Default",
            Ontology::Building => "Building",
            Ontology::Bacnet => "BACnet",
            Ontology::EnergyGrid => "EnergyGrid",
        }
    }

    /// The ontology named `name`, ignoring case.
    pub fn parse(name: &str) -> Option<Ontology> {
        Ontology::ALL.into_iter().find(|o| o.name().eq_ignore_ascii_case(name))
    }

    /// One sentence for the API's `description`.
    pub fn description(self) -> &'static str {
        match self {
            Ontology::Required => {
                "The types every object falls back to: each category's None, and the Tenant space type."
            }
            Ontology::Default => "Generic names for spaces, devices, sensors, their data and units, and blobs.",
            Ontology::Building => {
                "Spaces, equipment and statuses of buildings: offices, schools, hospitals, venues, hotels, shops and parking."
            }
            Ontology::Bacnet => {
                "BACnet object types, point data types and subtypes, device profiles and engineering units."
            }
            Ontology::EnergyGrid => {
                "Grid places and assets: substations, feeders, transformers, meters, chargers, inverters and batteries."
            }
        }
    }

    const fn bit(self) -> u8 {
        1 << (self as u8 - 1)
    }
}

impl fmt::Display for Ontology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of ontologies, as a bit per ontology.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct OntologySet(u8);

impl OntologySet {
    /// No ontology.
    pub const EMPTY: OntologySet = OntologySet(0);

    /// Whether the set holds `ontology`.
    pub fn contains(self, ontology: Ontology) -> bool {
        self.0 & ontology.bit() != 0
    }

    /// Adds `ontology`; adding one twice changes nothing.
    pub fn insert(&mut self, ontology: Ontology) {
        self.0 |= ontology.bit();
    }

    /// Takes `ontology` out, if it is in.
    pub fn remove(&mut self, ontology: Ontology) {
        self.0 &= !ontology.bit();
    }

    /// Whether the two sets share an ontology.
    pub fn intersects(self, other: OntologySet) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether the set holds no ontology.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many ontologies the set holds.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The members, in id order.
    pub fn iter(self) -> impl Iterator<Item = Ontology> {
        Ontology::ALL.into_iter().filter(move |o| self.contains(*o))
    }
}

impl FromIterator<Ontology> for OntologySet {
    fn from_iter<I: IntoIterator<Item = Ontology>>(iter: I) -> OntologySet {
        let mut set = OntologySet::EMPTY;
        for ontology in iter {
            set.insert(ontology);
        }
        set
    }
}

/// The members separated by `, `, in id order.
impl fmt::Display for OntologySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, ontology) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(ontology.name())?;
        }
        Ok(())
    }
}

/// Why a change of ontologies is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OntologyError {
    #[error("the Required ontology holds the types every object falls back to and cannot be unloaded")]
    RequiredCannotBeUnloaded,
}

/// Why a system type may not be used (as a space's type, a sensor's data type, …); `Display` is a message for the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    /// The type ships disabled to keep a misspelling out.
    #[error("{} '{}' is disabled; use '{}'", .ty.category(), .ty.name(), .instead.name())]
    Superseded { ty: &'static ExtendedType, instead: &'static ExtendedType },
    /// The tenant disabled the type.
    #[error("{} '{}' is disabled", .ty.category(), .ty.name())]
    Disabled { ty: &'static ExtendedType },
    /// None of the ontologies that hold the type is loaded.
    #[error("{}", not_loaded(.ty))]
    NotLoaded { ty: &'static ExtendedType },
}

/// The ontologies a tenant has loaded, and the system types it has disabled or enabled by hand.
///
/// A system type is disabled when the tenant set it so; otherwise when it ships superseded; otherwise when none of its ontologies is loaded.
/// Overrides are kept only where they differ from what the type would be without them, so two states that behave alike compare equal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OntologyState {
    /// Always holds `Required`.
    loaded: OntologySet,
    /// System types the tenant set by hand: the value is the disabled flag.
    overrides: BTreeMap<TypeId, bool>,
}

impl OntologyState {
    /// What a new tenant has loaded: `Default` and `Required`, as in the 2018 service.
    pub const LOADED_BY_DEFAULT: OntologySet = OntologySet(Ontology::Required.bit() | Ontology::Default.bit());

    /// A state read back from storage; `Required` is added if missing, and overrides of unknown ids or equal to the type's state without them are dropped.
    pub fn restore(loaded: OntologySet, overrides: impl IntoIterator<Item = (TypeId, bool)>) -> OntologyState {
        let mut state = OntologyState { loaded, overrides: BTreeMap::new() };
        state.loaded.insert(Ontology::Required);
        for (id, disabled) in overrides {
            if let Some(ty) = catalogue().by_id(id) {
                state.set_disabled(ty, disabled);
            }
        }
        state
    }

    /// The loaded ontologies; `Required` is always one of them.
    pub fn loaded(&self) -> OntologySet {
        self.loaded
    }

    /// Whether `ontology` is loaded.
    pub fn is_loaded(&self, ontology: Ontology) -> bool {
        self.loaded.contains(ontology)
    }

    /// The types the tenant set by hand, with their disabled flag, in id order: what to store besides `loaded`.
    pub fn overrides(&self) -> impl Iterator<Item = (TypeId, bool)> + '_ {
        self.overrides.iter().map(|(&id, &disabled)| (id, disabled))
    }

    /// `PATCH ontologies/{id} {"loaded": …}`: loads or unloads an ontology, and answers whether anything changed.
    ///
    /// A switch resets each of the ontology's types that no other loaded ontology holds to what the ontology says (enabled on load, disabled on unload), dropping the tenant's setting for it; types another loaded ontology holds keep their state.
    /// Setting an ontology to what it already is changes nothing.
    pub fn set_loaded(&mut self, ontology: Ontology, loaded: bool) -> Result<bool, OntologyError> {
        if ontology == Ontology::Required && !loaded {
            return Err(OntologyError::RequiredCannotBeUnloaded);
        }
        if self.loaded.contains(ontology) == loaded {
            return Ok(false);
        }
        if loaded {
            self.loaded.insert(ontology);
        } else {
            self.loaded.remove(ontology);
        }
        let mut others = self.loaded;
        others.remove(ontology);
        self.overrides.retain(|&id, _| {
            let ty = catalogue()
                .by_id(id)
                .expect("overrides name catalogue types: set_disabled and restore take only those");
            !ty.ontologies.contains(ontology) || ty.ontologies.intersects(others)
        });
        Ok(true)
    }

    /// `PATCH types/{id} {"disabled": …}` on a system type.
    pub fn set_disabled(&mut self, ty: &ExtendedType, disabled: bool) {
        if disabled == self.disabled_without_override(ty) {
            self.overrides.remove(&ty.id);
        } else {
            self.overrides.insert(ty.id, disabled);
        }
    }

    /// The type's `disabled` flag as the API shows it to this tenant.
    pub fn is_disabled(&self, ty: &ExtendedType) -> bool {
        self.overrides.get(&ty.id).copied().unwrap_or_else(|| self.disabled_without_override(ty))
    }

    /// Why the type may not be used by this tenant, or `None` when it may.
    pub fn unusable(&self, ty: &'static ExtendedType) -> Option<Unusable> {
        match self.overrides.get(&ty.id) {
            Some(true) => return Some(Unusable::Disabled { ty }),
            Some(false) => return None,
            None => {}
        }
        if let Some(instead) = ty.superseded_by() {
            return Some(Unusable::Superseded { ty, instead });
        }
        if !ty.ontologies.intersects(self.loaded) {
            return Some(Unusable::NotLoaded { ty });
        }
        None
    }

    fn disabled_without_override(&self, ty: &ExtendedType) -> bool {
        ty.superseded_by.is_some() || !ty.ontologies.intersects(self.loaded)
    }
}

impl Default for OntologyState {
    fn default() -> OntologyState {
        OntologyState { loaded: OntologyState::LOADED_BY_DEFAULT, overrides: BTreeMap::new() }
    }
}

fn not_loaded(ty: &ExtendedType) -> String {
    let (category, name, ontologies) = (ty.category(), ty.name(), ty.ontologies());
    if ontologies.len() == 1 {
        format!("{category} '{name}' belongs to the {ontologies} ontology, which is not loaded")
    } else {
        format!("{category} '{name}' belongs to the ontologies {ontologies}, none of which is loaded")
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;
    use crate::catalogue::Category;

    /// Applies `steps` to a new tenant's state and shows, after each, the loaded ontologies, the overrides and why each named type is unusable.
    ///
    /// A step is `+Name` (load), `-Name` (unload), `disable Category/Type` or `enable Category/Type`.
    fn check(steps: &[&str], shown: &[(Category, &str)], expect: Expect) {
        let mut state = OntologyState::default();
        let mut out = String::new();
        let describe = |state: &OntologyState, out: &mut String| {
            let overrides: Vec<String> = state.overrides().map(|(id, d)| format!("{id}={d}")).collect();
            out.push_str(&format!("  loaded [{}] overrides [{}]\n", state.loaded(), overrides.join(", ")));
            for &(category, name) in shown {
                let ty = catalogue().by_name(category, name).expect("the test names catalogue types");
                let verdict = state.unusable(ty).map(|u| u.to_string()).unwrap_or_else(|| "usable".to_owned());
                assert_eq!(state.is_disabled(ty), state.unusable(ty).is_some(), "{name}");
                out.push_str(&format!("  {name}: {verdict}\n"));
            }
        };
        out.push_str("start\n");
        describe(&state, &mut out);
        for step in steps {
            let result = if let Some(name) = step.strip_prefix('+') {
                state.set_loaded(Ontology::parse(name).expect("a known ontology"), true).map(|c| c.to_string())
            } else if let Some(name) = step.strip_prefix('-') {
                state.set_loaded(Ontology::parse(name).expect("a known ontology"), false).map(|c| c.to_string())
            } else {
                let (verb, target) = step.split_once(' ').expect("a verb and a type");
                let (category, name) = target.split_once('/').expect("Category/Type");
                let ty = catalogue().by_name(Category::parse(category).expect("a category"), name).expect("a type");
                state.set_disabled(ty, verb == "disable");
                Ok("done".to_owned())
            };
            let result = result.unwrap_or_else(|e| format!("refused: {e}"));
            out.push_str(&format!("{step}: {result}\n"));
            describe(&state, &mut out);
        }
        expect.assert_eq(&out);
    }

    #[test]
    fn required_cannot_be_unloaded() {
        check(
            &["-Required", "+Required"],
            &[(Category::SpaceType, "None")],
            expect![[r#"
                start
                  loaded [Required, Default] overrides []
                  None: usable
                -Required: refused: the Required ontology holds the types every object falls back to and cannot be unloaded
                  loaded [Required, Default] overrides []
                  None: usable
                +Required: false
                  loaded [Required, Default] overrides []
                  None: usable
            "#]],
        );
    }

    #[test]
    fn loading_enables_and_unloading_disables() {
        check(
            &["+Building", "-Building", "-Building"],
            &[(Category::SpaceSubtype, "Classroom"), (Category::SpaceType, "Room")],
            expect![[r#"
                start
                  loaded [Required, Default] overrides []
                  Classroom: SpaceSubtype 'Classroom' belongs to the Building ontology, which is not loaded
                  Room: usable
                +Building: true
                  loaded [Required, Default, Building] overrides []
                  Classroom: usable
                  Room: usable
                -Building: true
                  loaded [Required, Default] overrides []
                  Classroom: SpaceSubtype 'Classroom' belongs to the Building ontology, which is not loaded
                  Room: usable
                -Building: false
                  loaded [Required, Default] overrides []
                  Classroom: SpaceSubtype 'Classroom' belongs to the Building ontology, which is not loaded
                  Room: usable
            "#]],
        );
    }

    #[test]
    fn shared_types_follow_any_loaded_ontology() {
        // Temperature is in Default and BACnet: it stays usable while either is loaded.
        check(
            &["+BACnet", "-Default", "-BACnet"],
            &[(Category::SensorDataType, "Temperature"), (Category::SensorDataType, "Motion")],
            expect![[r#"
                start
                  loaded [Required, Default] overrides []
                  Temperature: usable
                  Motion: usable
                +BACnet: true
                  loaded [Required, Default, BACnet] overrides []
                  Temperature: usable
                  Motion: usable
                -Default: true
                  loaded [Required, BACnet] overrides []
                  Temperature: usable
                  Motion: SensorDataType 'Motion' belongs to the Default ontology, which is not loaded
                -BACnet: true
                  loaded [Required] overrides []
                  Temperature: SensorDataType 'Temperature' belongs to the ontologies Default, BACnet, none of which is loaded
                  Motion: SensorDataType 'Motion' belongs to the Default ontology, which is not loaded
            "#]],
        );
    }

    #[test]
    fn settings_by_hand_until_a_switch_resets_them() {
        // Disabling Temperature by hand survives loading BACnet (Default, which also holds it, is loaded already), but unloading Default resets it.
        check(
            &["disable SensorDataType/Temperature", "+BACnet", "-BACnet", "-Default", "+Default"],
            &[(Category::SensorDataType, "Temperature")],
            expect![[r#"
                start
                  loaded [Required, Default] overrides []
                  Temperature: usable
                disable SensorDataType/Temperature: done
                  loaded [Required, Default] overrides [111001=true]
                  Temperature: SensorDataType 'Temperature' is disabled
                +BACnet: true
                  loaded [Required, Default, BACnet] overrides [111001=true]
                  Temperature: SensorDataType 'Temperature' is disabled
                -BACnet: true
                  loaded [Required, Default] overrides [111001=true]
                  Temperature: SensorDataType 'Temperature' is disabled
                -Default: true
                  loaded [Required] overrides []
                  Temperature: SensorDataType 'Temperature' belongs to the ontologies Default, BACnet, none of which is loaded
                +Default: true
                  loaded [Required, Default] overrides []
                  Temperature: usable
            "#]],
        );
    }

    #[test]
    fn superseded_and_unloaded_types_enabled_by_hand() {
        check(
            &[
                "enable SensorDataType/Temp",
                "disable SensorDataType/Temp",
                "enable SpaceSubtype/Classroom",
                "+Building",
            ],
            &[(Category::SensorDataType, "Temp"), (Category::SpaceSubtype, "Classroom")],
            expect![[r#"
                start
                  loaded [Required, Default] overrides []
                  Temp: SensorDataType 'Temp' is disabled; use 'Temperature'
                  Classroom: SpaceSubtype 'Classroom' belongs to the Building ontology, which is not loaded
                enable SensorDataType/Temp: done
                  loaded [Required, Default] overrides [111033=false]
                  Temp: usable
                  Classroom: SpaceSubtype 'Classroom' belongs to the Building ontology, which is not loaded
                disable SensorDataType/Temp: done
                  loaded [Required, Default] overrides []
                  Temp: SensorDataType 'Temp' is disabled; use 'Temperature'
                  Classroom: SpaceSubtype 'Classroom' belongs to the Building ontology, which is not loaded
                enable SpaceSubtype/Classroom: done
                  loaded [Required, Default] overrides [22000=false]
                  Temp: SensorDataType 'Temp' is disabled; use 'Temperature'
                  Classroom: usable
                +Building: true
                  loaded [Required, Default, Building] overrides []
                  Temp: SensorDataType 'Temp' is disabled; use 'Temperature'
                  Classroom: usable
            "#]],
        );
    }

    #[test]
    fn restore_keeps_required_and_canonical_overrides() {
        let temp = catalogue().by_name(Category::SensorDataType, "Temp").expect("Temp");
        let motion = catalogue().by_name(Category::SensorDataType, "Motion").expect("Motion");
        let restored = OntologyState::restore(
            OntologySet::EMPTY,
            [(temp.id(), true), (motion.id(), false), (TypeId::new(7), true)],
        );
        assert_eq!(restored.loaded().to_string(), "Required");
        let overrides: Vec<(TypeId, bool)> = restored.overrides().collect();
        assert_eq!(overrides, vec![(motion.id(), false)]);
    }

    #[test]
    fn names_and_ids() {
        for ontology in Ontology::ALL {
            assert_eq!(Ontology::from_id(ontology.id()), Some(ontology));
            assert_eq!(Ontology::parse(&ontology.name().to_uppercase()), Some(ontology));
            let chars = ontology.name().chars().count();
            assert!((3..=20).contains(&chars), "the 2018 API bounds ontology names to 3..20 characters");
        }
        assert_eq!(Ontology::parse("bacnet"), Some(Ontology::Bacnet));
        assert_eq!(Ontology::from_id(0), None);
        let set: OntologySet = [Ontology::EnergyGrid, Ontology::Required].into_iter().collect();
        assert_eq!((set.to_string(), set.len()), ("Required, EnergyGrid".to_owned(), 2));
    }
}
