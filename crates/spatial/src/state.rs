//! A tenant's 2018 objects that are not twins: which ontologies are loaded (and system types switched by hand), custom extended types, property keys, space resources, key stores with their keys, device keys, and matchers.
//!
//! Spaces, devices, sensors and users are twins and live in the graph; what is here hangs off them by space id.
//! Every change returns its `Records`, the store records to put or delete, so the caller persists exactly what changed in the same batch as any graph change; `Spatial::load` reads them back and checks each.
//! Property keys are kept with their rules compiled, so `Spatial::validate_property` checks a value without compiling anything.
//! Every change also moves `Spatial::generation`, so a caller can tell whether a refused write had changed the state without copying the state beforehand.
//! Ids, keys and times come in as arguments (this crate has no clock and no randomness).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ontology::{Category, ExtendedType, Ontology, OntologySet, OntologyState, TypeId, catalogue};
use serde_json::{Map, Value, json};

use crate::properties::{PropertyKey, Validator};

/// Store records a change wrote: each key with its new value, or `None` when the record is deleted.
pub type Records = Vec<(String, Option<Value>)>;

/// Why a change of the tenant's 2018 state is refused; `Display` is the message for the caller.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("{what} '{id}' was not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    Conflict(String),
}

/// Record keys: one prefix per object kind, then the object's id.
const ONTOLOGIES: &str = "ontologies";
const TYPE: &str = "type/";
const PROPERTY_KEY: &str = "propertykey/";
const RESOURCE: &str = "resource/";
const KEYSTORE: &str = "keystore/";
const DEVICE_KEY: &str = "devicekey/";
const MATCHER: &str = "matcher/";
const ROLE_ASSIGNMENT: &str = "roleassignment/";
const FUNCTION: &str = "function/";
/// The one record of `Counters`.
const COUNTERS: &str = "counters";

/// The names of matcher condition targets and comparisons, as records keep them (the spelling of `system/matchers/conditions/…`); what the conditions mean is the `compute` crate's.
pub const CONDITION_TARGETS: [&str; 3] = ["Sensor", "SensorDevice", "SensorSpace"];
pub const CONDITION_COMPARISONS: [&str; 3] = ["Equals", "NotEquals", "Contains"];

/// The first id of custom extended types; system types use the ids below.
pub const CUSTOM_TYPE_IDS_START: u32 = ontology::SYSTEM_TYPE_IDS.end;

/// A tenant's 2018 state beyond its twins.
#[derive(Debug, Default)]
pub struct Spatial {
    ontologies: OntologyState,
    types: BTreeMap<u32, CustomType>,
    /// Each key with its rules compiled, so a value is checked without compiling a regular expression or JSON schema under the tenant's write lock.
    property_keys: BTreeMap<u32, CompiledKey>,
    resources: BTreeMap<String, Resource>,
    keystores: BTreeMap<String, KeyStore>,
    /// Device id → the device's shared access key (base64), from which its connection string is made.
    device_keys: BTreeMap<String, String>,
    matchers: BTreeMap<String, Matcher>,
    /// Space id → the ids of the matchers on that space, kept with `matchers`, so the matchers along a space path are found without a scan.
    matchers_by_space: BTreeMap<String, BTreeSet<String>>,
    counters: Counters,
    /// Role assignments by id.
    assignments: BTreeMap<String, RoleAssignment>,
    /// Object id in ASCII lower case → the ids of its role assignments, kept with `assignments` (`insert_assignment`, `remove_assignment`), so an object's assignments (read at every host call of a function) are found without a scan.
    assignments_by_object: HashMap<String, BTreeSet<String>>,
    /// User-defined functions by id.
    functions: BTreeMap<String, Function>,
    /// Grows by one with every change (see `generation`).
    generation: u64,
}

/// A property key and its compiled rules, made together whenever the key is put or loaded, so the rules always are the key's current ones.
struct CompiledKey {
    key: PropertyKey,
    validator: Validator,
}

impl std::fmt::Debug for CompiledKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.key, f)
    }
}

impl CompiledKey {
    fn new(key: PropertyKey) -> Result<CompiledKey, crate::properties::PropertyError> {
        Ok(CompiledKey { validator: key.validator()?, key })
    }
}

/// The next ids of custom types and property keys, stored (record `counters`) so that an id is never given twice: deleting the newest object does not hand its id to the next one.
///
/// Each is above every id given so far; `Spatial::load` checks that against the objects it loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Counters {
    next_type_id: u32,
    next_property_key_id: u32,
}

impl Default for Counters {
    fn default() -> Counters {
        Counters { next_type_id: CUSTOM_TYPE_IDS_START, next_property_key_id: 1 }
    }
}

/// An extended type a tenant created on a space; visible to that space's subtree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomType {
    pub id: u32,
    pub category: Category,
    pub name: String,
    pub friendly_name: Option<String>,
    pub description: Option<String>,
    pub disabled: bool,
    pub logical_order: u32,
    pub space_id: String,
}

/// A type as an object refers to it: by id or by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeRef {
    Id(u32),
    Name(String),
}

/// A type an object may use, system or custom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsableType {
    pub id: u32,
    pub name: String,
}

/// A space resource (the 2018 `IoTHub`): what turns on device ingestion for a space's subtree.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub id: String,
    pub space_id: String,
    /// `IoTHub`, the one resource type.
    pub kind: String,
    pub size: Option<String>,
    pub region: Option<String>,
    pub is_externally_created: bool,
    pub parameters: Map<String, Value>,
    /// The ids of the resources this one depends on (`resourceDependencies`), each an existing resource when it was created.
    pub dependencies: Vec<String>,
    pub status: ResourceStatus,
    pub last_updated_utc: String,
}

/// Where a resource is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceStatus {
    None,
    Provisioning,
    Running,
    Stopped,
    Deleting,
}

impl ResourceStatus {
    pub const ALL: [ResourceStatus; 5] = [
        ResourceStatus::None,
        ResourceStatus::Provisioning,
        ResourceStatus::Running,
        ResourceStatus::Stopped,
        ResourceStatus::Deleting,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ResourceStatus::None => "None",
            ResourceStatus::Provisioning => "Provisioning",
            ResourceStatus::Running => "Running",
            ResourceStatus::Stopped => "Stopped",
            ResourceStatus::Deleting => "Deleting",
        }
    }

    pub fn parse(text: &str) -> Option<ResourceStatus> {
        ResourceStatus::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(text))
    }
}

/// A key store on a space: the keys device SAS tokens are signed with, found from a device by walking up its spaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyStore {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub space_id: String,
    /// In creation order, so ids grow along the list; `add_key` adds one.
    pub keys: Vec<SecurityKey>,
    /// The id the next key gets: above every id the store ever gave (1 for the first key), so a deleted key's id is never given again.
    next_key_id: u32,
}

/// A matcher on a space: conditions that pick, among the sensors in the space's subtree, those its user-defined functions run for.
///
/// The conditions are kept as the API took them, their target and comparison in the spelling of `CONDITION_TARGETS` and `CONDITION_COMPARISONS`; the server compiles them (`compute::matcher`) before it puts a matcher, so a stored path compiled when it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matcher {
    pub id: String,
    /// Unique on its space, ignoring case.
    pub name: String,
    pub friendly_name: Option<String>,
    pub description: Option<String>,
    pub space_id: String,
    /// All must hold; their ids are distinct.
    pub conditions: Vec<MatcherCondition>,
}

/// One condition of a matcher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatcherCondition {
    pub id: String,
    /// One of `CONDITION_TARGETS`.
    pub target: String,
    /// A case-sensitive JSONPath, never empty.
    pub path: String,
    pub value: String,
    /// One of `CONDITION_COMPARISONS`.
    pub comparison: String,
}

/// One key of a key store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityKey {
    pub id: u32,
    /// Base64 of the key bytes.
    pub value: String,
    pub created_utc: String,
    pub active: bool,
}

impl Spatial {
    /// A tenant's state from its stored records; every record is checked, and one of the wrong shape is an error naming it.
    ///
    /// Records written before the `counters` record and `nextKeyId` existed load too: the next ids are then one more than the highest id found.
    /// A stored next id that is not above every id of its kind is an error, not something to repair: counters are written in the same batch as the object that moves them, so only damage or a bug can leave one behind, and the ids it would give again may have been seen by clients.
    pub fn load(records: impl IntoIterator<Item = (String, Value)>) -> Result<Spatial, String> {
        let mut state = Spatial::default();
        let mut counters = None;
        for (key, value) in records {
            let bad = || format!("spatial record '{key}' does not have the expected shape");
            if key == ONTOLOGIES {
                state.ontologies = ontologies_from_json(&value).ok_or_else(bad)?;
            } else if key == COUNTERS {
                counters = Some(Counters::from_json(&value).ok_or_else(bad)?);
            } else if let Some(id) = key.strip_prefix(TYPE) {
                let ty = CustomType::from_json(&value).filter(|t| t.id.to_string() == id).ok_or_else(bad)?;
                state.types.insert(ty.id, ty);
            } else if let Some(id) = key.strip_prefix(PROPERTY_KEY) {
                let pk = PropertyKey::from_json(&value).filter(|k| k.id.to_string() == id).ok_or_else(bad)?;
                let compiled =
                    CompiledKey::new(pk).map_err(|e| format!("spatial record '{key}' does not compile: {e}"))?;
                state.property_keys.insert(compiled.key.id, compiled);
            } else if let Some(id) = key.strip_prefix(RESOURCE) {
                let resource = Resource::from_json(&value).filter(|r| r.id == id).ok_or_else(bad)?;
                state.resources.insert(resource.id.clone(), resource);
            } else if let Some(id) = key.strip_prefix(KEYSTORE) {
                let store = KeyStore::from_json(&value).filter(|k| k.id == id).ok_or_else(bad)?;
                if let Some(given) = store.keys.iter().find(|k| k.id >= store.next_key_id) {
                    return Err(format!(
                        "spatial record '{key}' gives nextKeyId {}, but the store holds key {}; key ids would be given twice",
                        store.next_key_id, given.id
                    ));
                }
                state.keystores.insert(store.id.clone(), store);
            } else if let Some(id) = key.strip_prefix(DEVICE_KEY) {
                let device_key = value.as_str().ok_or_else(bad)?;
                state.device_keys.insert(id.to_owned(), device_key.to_owned());
            } else if let Some(id) = key.strip_prefix(MATCHER) {
                let matcher = Matcher::from_json(&value).filter(|m| m.id == id).ok_or_else(bad)?;
                matcher.check().map_err(|why| format!("spatial record '{key}' is not a valid matcher: {why}"))?;
                if let Some(clash) = state.matcher_named(&matcher.space_id, &matcher.name, &matcher.id) {
                    return Err(format!(
                        "spatial record '{key}' names its matcher '{}', as matcher '{}' on the same space is named; names are unique on a space",
                        matcher.name, clash.id
                    ));
                }
                state.index_matcher(&matcher);
                state.matchers.insert(matcher.id.clone(), matcher);
            } else if let Some(id) = key.strip_prefix(FUNCTION) {
                let function = Function::from_json(&value).filter(|f| f.id == id).ok_or_else(bad)?;
                state.functions.insert(function.id.clone(), function);
            } else if let Some(id) = key.strip_prefix(ROLE_ASSIGNMENT) {
                let assignment = RoleAssignment::from_json(&value).filter(|a| a.assignment.id == id).ok_or_else(bad)?;
                assignment
                    .assignment
                    .check()
                    .map_err(|why| format!("spatial record '{key}' is not a valid role assignment: {why}"))?;
                state.insert_assignment(assignment);
            } else {
                return Err(format!("spatial record '{key}' is of no known kind"));
            }
        }
        let highest_type = state.types.keys().next_back().copied();
        let highest_property_key = state.property_keys.keys().next_back().copied();
        state.counters = match counters {
            None => Counters {
                next_type_id: highest_type.map_or(CUSTOM_TYPE_IDS_START, |id| id + 1),
                next_property_key_id: highest_property_key.map_or(1, |id| id + 1),
            },
            Some(counters) => {
                if let Some(id) = highest_type.filter(|id| *id >= counters.next_type_id) {
                    return Err(format!(
                        "spatial record '{COUNTERS}' gives the next type id as {}, but type {id} exists; type ids would be given twice",
                        counters.next_type_id
                    ));
                }
                if let Some(id) = highest_property_key.filter(|id| *id >= counters.next_property_key_id) {
                    return Err(format!(
                        "spatial record '{COUNTERS}' gives the next property key id as {}, but property key {id} exists; property key ids would be given twice",
                        counters.next_property_key_id
                    ));
                }
                counters
            }
        };
        Ok(state)
    }

    /// A count of the changes made to this state: every method that returns `Records` adds one when it changes something.
    ///
    /// A caller compares it before and after a write that was refused, to learn whether the write had already changed the state (and must put it back) without copying the state first.
    /// A state made by `load` starts at 0, so only values read from the same state compare.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn changed(&mut self) {
        self.generation += 1;
    }

    // ---- ontologies and system types ----

    pub fn ontologies(&self) -> &OntologyState {
        &self.ontologies
    }

    /// `PATCH ontologies/{id}`.
    pub fn set_ontology_loaded(&mut self, ontology: Ontology, loaded: bool) -> Result<Records, StateError> {
        let changed =
            self.ontologies.set_loaded(ontology, loaded).map_err(|e| StateError::InvalidInput(e.to_string()))?;
        if !changed {
            return Ok(Vec::new());
        }
        self.changed();
        Ok(vec![self.ontologies_record()])
    }

    /// `PATCH types/{id} {"disabled": …}` on a system type.
    pub fn set_system_type_disabled(&mut self, ty: &ExtendedType, disabled: bool) -> Records {
        let before = self.ontologies.clone();
        self.ontologies.set_disabled(ty, disabled);
        if before == self.ontologies {
            return Vec::new();
        }
        self.changed();
        vec![self.ontologies_record()]
    }

    fn counters_record(&self) -> (String, Option<Value>) {
        (COUNTERS.to_owned(), Some(self.counters.to_json()))
    }

    fn ontologies_record(&self) -> (String, Option<Value>) {
        let loaded: Vec<&str> = self.ontologies.loaded().iter().map(|o| o.name()).collect();
        let overrides: Vec<Value> =
            self.ontologies.overrides().map(|(id, disabled)| json!([id.get(), disabled])).collect();
        (ONTOLOGIES.to_owned(), Some(json!({ "loaded": loaded, "overrides": overrides })))
    }

    // ---- extended types ----

    /// The type of `category` that an object in the space whose path (root first, the space last) is `spaces` may use, by id or by name.
    ///
    /// Custom types of the space or an ancestor come first (the nearest space wins), then system types; a disabled type, one from an ontology that is not loaded, or one of another category is refused with the reason.
    pub fn usable_type(&self, category: Category, by: &TypeRef, spaces: &[&str]) -> Result<UsableType, StateError> {
        let custom = self.types.values().filter(|t| t.category == category && spaces.contains(&t.space_id.as_str()));
        let custom = match by {
            TypeRef::Id(id) => custom.filter(|t| t.id == *id).min_by_key(|_| 0usize),
            TypeRef::Name(name) => custom
                .filter(|t| t.name.eq_ignore_ascii_case(name))
                .max_by_key(|t| spaces.iter().position(|s| *s == t.space_id)),
        };
        if let Some(ty) = custom {
            if ty.disabled {
                return Err(StateError::InvalidInput(format!("{category} '{}' is disabled", ty.name)));
            }
            return Ok(UsableType { id: ty.id, name: ty.name.clone() });
        }
        let system = match by {
            TypeRef::Id(id) => catalogue().by_category_id(category, TypeId::new(*id)),
            TypeRef::Name(name) => catalogue().by_name(category, name),
        };
        let Some(ty) = system else {
            let shown = match by {
                TypeRef::Id(id) => format!("id {id}"),
                TypeRef::Name(name) => format!("'{name}'"),
            };
            return Err(StateError::InvalidInput(format!(
                "{category} {shown} is not a type this space can use (GET types?categories={category} lists them)"
            )));
        };
        if let Some(why) = self.ontologies.unusable(ty) {
            return Err(StateError::InvalidInput(why.to_string()));
        }
        Ok(UsableType { id: ty.id().get(), name: ty.name().to_owned() })
    }

    /// The category's `None`, which an object takes when it names no type.
    pub fn none_type(category: Category) -> UsableType {
        let ty = catalogue().none(category);
        UsableType { id: ty.id().get(), name: ty.name().to_owned() }
    }

    pub fn custom_types(&self) -> impl Iterator<Item = &CustomType> {
        self.types.values()
    }

    pub fn custom_type(&self, id: u32) -> Option<&CustomType> {
        self.types.get(&id)
    }

    /// `POST types`: a custom type on a space; its name is unique within the category on that space.
    pub fn create_type(&mut self, mut ty: CustomType) -> Result<(u32, Records), StateError> {
        check_type_name(&ty.name)?;
        self.check_type_unique(&ty, None)?;
        ty.id = self.counters.next_type_id;
        let id = ty.id;
        self.counters.next_type_id = id + 1;
        let record = (format!("{TYPE}{id}"), Some(ty.to_json()));
        self.types.insert(id, ty);
        self.changed();
        Ok((id, vec![record, self.counters_record()]))
    }

    /// `PATCH types/{id}` on a custom type: `ty` is the type as it should be (same id, category and space).
    pub fn update_type(&mut self, ty: CustomType) -> Result<Records, StateError> {
        check_type_name(&ty.name)?;
        self.check_type_unique(&ty, Some(ty.id))?;
        let record = (format!("{TYPE}{}", ty.id), Some(ty.to_json()));
        self.types.insert(ty.id, ty);
        self.changed();
        Ok(vec![record])
    }

    /// `DELETE types/{id}` on a custom type.
    pub fn delete_type(&mut self, id: u32) -> Result<Records, StateError> {
        self.types.remove(&id).ok_or(StateError::NotFound { what: "type", id: id.to_string() })?;
        self.changed();
        Ok(vec![(format!("{TYPE}{id}"), None)])
    }

    fn check_type_unique(&self, ty: &CustomType, except: Option<u32>) -> Result<(), StateError> {
        let clash = self.types.values().any(|t| {
            Some(t.id) != except
                && t.category == ty.category
                && t.space_id == ty.space_id
                && t.name.eq_ignore_ascii_case(&ty.name)
        });
        if clash {
            return Err(StateError::Conflict(format!(
                "the space already has a {} named '{}'; a name is unique within its category on a space",
                ty.category, ty.name
            )));
        }
        Ok(())
    }

    // ---- property keys ----

    pub fn property_keys(&self) -> impl Iterator<Item = &PropertyKey> {
        self.property_keys.values().map(|c| &c.key)
    }

    pub fn property_key(&self, id: u32) -> Option<&PropertyKey> {
        self.property_keys.get(&id).map(|c| &c.key)
    }

    /// Validates a value against the key `key_id` with the key's compiled rules and returns it normalised (see `PropertyKey::validate`); a refused value is `InvalidInput` with the reason.
    pub fn validate_property(&self, key_id: u32, value: &str) -> Result<String, StateError> {
        let compiled = self
            .property_keys
            .get(&key_id)
            .ok_or(StateError::NotFound { what: "property key", id: key_id.to_string() })?;
        compiled.validator.validate(value).map_err(|e| StateError::InvalidInput(e.to_string()))
    }

    /// The key named `name` (ignoring case) of `scope` that an object in the space whose path is `spaces` may use; the nearest space's wins.
    pub fn usable_property_key(
        &self,
        name: &str,
        scope: crate::properties::Scope,
        spaces: &[&str],
    ) -> Option<&PropertyKey> {
        self.property_keys()
            .filter(|k| k.scope == scope && k.name.eq_ignore_ascii_case(name))
            .filter_map(|k| spaces.iter().position(|s| *s == k.space_id).map(|at| (at, k)))
            .max_by_key(|(at, _)| *at)
            .map(|(_, k)| k)
    }

    /// The id the next property key gets: above every id given before, deleted keys' included.
    pub fn next_property_key_id(&self) -> u32 {
        self.counters.next_property_key_id
    }

    /// Stores a new or changed key (checked by the caller; one whose rules do not compile is refused) with its compiled rules; its name is unique within its scope on its space.
    ///
    /// A new key takes its id from `next_property_key_id`; one with an id given before (to a key since deleted) is refused, so no id names two keys over time.
    pub fn put_property_key(&mut self, key: PropertyKey) -> Result<Records, StateError> {
        if key.id < self.counters.next_property_key_id && !self.property_keys.contains_key(&key.id) {
            return Err(StateError::Conflict(format!(
                "property key id {} was given before; a new key takes the next id, {}",
                key.id, self.counters.next_property_key_id
            )));
        }
        let clash = self.property_keys().any(|k| {
            k.id != key.id
                && k.space_id == key.space_id
                && k.scope == key.scope
                && k.name.eq_ignore_ascii_case(&key.name)
        });
        if clash {
            return Err(StateError::Conflict(format!(
                "the space already has a property key named '{}' for {}",
                key.name,
                key.scope.name()
            )));
        }
        let compiled = CompiledKey::new(key).map_err(|e| StateError::InvalidInput(e.to_string()))?;
        let key = &compiled.key;
        let mut records = vec![(format!("{PROPERTY_KEY}{}", key.id), Some(key.to_json()))];
        if key.id >= self.counters.next_property_key_id {
            self.counters.next_property_key_id = key.id + 1;
            records.push(self.counters_record());
        }
        self.property_keys.insert(key.id, compiled);
        self.changed();
        Ok(records)
    }

    pub fn delete_property_key(&mut self, id: u32) -> Result<Records, StateError> {
        self.property_keys.remove(&id).ok_or(StateError::NotFound { what: "property key", id: id.to_string() })?;
        self.changed();
        Ok(vec![(format!("{PROPERTY_KEY}{id}"), None)])
    }

    // ---- resources ----

    pub fn resources(&self) -> impl Iterator<Item = &Resource> {
        self.resources.values()
    }

    pub fn resource(&self, id: &str) -> Option<&Resource> {
        self.resources.get(id)
    }

    /// The first resource of `kind` (ignoring case) found walking up from the space whose path is `spaces` (root first): the space's own first.
    pub fn resource_above(&self, kind: &str, spaces: &[&str]) -> Option<&Resource> {
        spaces.iter().rev().find_map(|space| {
            self.resources.values().find(|r| r.space_id == *space && r.kind.eq_ignore_ascii_case(kind))
        })
    }

    /// Stores a new or changed resource; a space has at most one resource of a type.
    pub fn put_resource(&mut self, resource: Resource) -> Result<Records, StateError> {
        let clash = self.resources.values().any(|r| {
            r.id != resource.id && r.space_id == resource.space_id && r.kind.eq_ignore_ascii_case(&resource.kind)
        });
        if clash {
            return Err(StateError::Conflict(format!(
                "the space already has a resource of type {}; a space has at most one of each type",
                resource.kind
            )));
        }
        let record = (format!("{RESOURCE}{}", resource.id), Some(resource.to_json()));
        self.resources.insert(resource.id.clone(), resource);
        self.changed();
        Ok(vec![record])
    }

    /// Deletes a resource no other resource depends on.
    pub fn delete_resource(&mut self, id: &str) -> Result<Records, StateError> {
        if !self.resources.contains_key(id) {
            return Err(StateError::NotFound { what: "resource", id: id.to_owned() });
        }
        if let Some(dependent) = self.resources.values().find(|r| r.dependencies.iter().any(|d| d == id)) {
            return Err(StateError::Conflict(format!(
                "resource '{}' depends on resource '{id}'; delete it first",
                dependent.id
            )));
        }
        self.resources.remove(id);
        self.changed();
        Ok(vec![(format!("{RESOURCE}{id}"), None)])
    }

    // ---- key stores ----

    pub fn keystores(&self) -> impl Iterator<Item = &KeyStore> {
        self.keystores.values()
    }

    pub fn keystore(&self, id: &str) -> Option<&KeyStore> {
        self.keystores.get(id)
    }

    /// The first key store found walking up from the space whose path is `spaces` (root first).
    pub fn keystore_above(&self, spaces: &[&str]) -> Option<&KeyStore> {
        spaces.iter().rev().find_map(|space| self.keystores.values().find(|k| k.space_id == *space))
    }

    /// Stores a new or changed key store.
    pub fn put_keystore(&mut self, mut store: KeyStore) -> Records {
        // Keys pushed onto `keys` by hand rather than with `add_key` still move the next id past them.
        if let Some(highest) = store.keys.iter().map(|k| k.id).max() {
            store.next_key_id = store.next_key_id.max(highest + 1);
        }
        let record = (format!("{KEYSTORE}{}", store.id), Some(store.to_json()));
        self.keystores.insert(store.id.clone(), store);
        self.changed();
        vec![record]
    }

    pub fn delete_keystore(&mut self, id: &str) -> Result<Records, StateError> {
        self.keystores.remove(id).ok_or_else(|| StateError::NotFound { what: "key store", id: id.to_owned() })?;
        self.changed();
        Ok(vec![(format!("{KEYSTORE}{id}"), None)])
    }

    // ---- device keys ----

    pub fn device_key(&self, device: &str) -> Option<&str> {
        self.device_keys.get(device).map(String::as_str)
    }

    pub fn put_device_key(&mut self, device: &str, key: String) -> Records {
        let record = (format!("{DEVICE_KEY}{device}"), Some(Value::String(key.clone())));
        self.device_keys.insert(device.to_owned(), key);
        self.changed();
        vec![record]
    }

    // ---- matchers ----

    pub fn matchers(&self) -> impl Iterator<Item = &Matcher> {
        self.matchers.values()
    }

    pub fn matcher(&self, id: &str) -> Option<&Matcher> {
        self.matchers.get(id)
    }

    /// The matchers on any space of the path `spaces` (root first), root's first: those that apply to the sensors of the path's last space.
    ///
    /// This is looked up through an index by space, so it costs the path's length and the matchers found, not the tenant's matchers.
    pub fn matchers_on<'a>(&'a self, spaces: &'a [&'a str]) -> impl Iterator<Item = &'a Matcher> + 'a {
        spaces
            .iter()
            .filter_map(|space| self.matchers_by_space.get(*space))
            .flatten()
            .filter_map(|id| self.matchers.get(id))
    }

    /// Stores a new or changed matcher: its name unique on its space (ignoring case), its conditions of known targets and comparisons with distinct ids.
    pub fn put_matcher(&mut self, matcher: Matcher) -> Result<Records, StateError> {
        matcher.check().map_err(StateError::InvalidInput)?;
        if self.matcher_named(&matcher.space_id, &matcher.name, &matcher.id).is_some() {
            return Err(StateError::Conflict(format!(
                "the space already has a matcher named '{}'; a matcher's name is unique on its space",
                matcher.name
            )));
        }
        if let Some(old) = self.matchers.remove(&matcher.id) {
            self.unindex_matcher(&old);
        }
        let record = (format!("{MATCHER}{}", matcher.id), Some(matcher.to_json()));
        self.index_matcher(&matcher);
        self.matchers.insert(matcher.id.clone(), matcher);
        self.changed();
        Ok(vec![record])
    }

    pub fn delete_matcher(&mut self, id: &str) -> Result<Records, StateError> {
        let matcher =
            self.matchers.remove(id).ok_or_else(|| StateError::NotFound { what: "matcher", id: id.to_owned() })?;
        self.unindex_matcher(&matcher);
        self.changed();
        Ok(vec![(format!("{MATCHER}{id}"), None)])
    }

    /// Another matcher on `space` named `name` (ignoring case) than `id`.
    fn matcher_named(&self, space: &str, name: &str, id: &str) -> Option<&Matcher> {
        self.matchers_by_space
            .get(space)?
            .iter()
            .filter(|other| *other != id)
            .filter_map(|other| self.matchers.get(other))
            .find(|other| other.name.to_lowercase() == name.to_lowercase())
    }

    fn index_matcher(&mut self, matcher: &Matcher) {
        self.matchers_by_space.entry(matcher.space_id.clone()).or_default().insert(matcher.id.clone());
    }

    fn unindex_matcher(&mut self, matcher: &Matcher) {
        if let Some(ids) = self.matchers_by_space.get_mut(&matcher.space_id) {
            ids.remove(&matcher.id);
            if ids.is_empty() {
                self.matchers_by_space.remove(&matcher.space_id);
            }
        }
    }

    // ---- spaces going away ----

    /// Whether a space resource lies on one of `spaces` (a space with one cannot be deleted).
    pub fn resource_on_any(&self, spaces: &dyn Fn(&str) -> bool) -> Option<&Resource> {
        self.resources.values().find(|r| spaces(&r.space_id))
    }

    /// Forgets what hangs off deleted objects: custom types, property keys, key stores, resources and matchers of deleted spaces, keys of deleted devices.
    ///
    /// This tests every device key; `forget_ids` looks the ids up instead.
    pub fn forget(&mut self, deleted: &dyn Fn(&str) -> bool) -> Records {
        let mut records = self.forget_off_spaces(deleted);
        self.device_keys.retain(|id, _| {
            let keep = !deleted(id);
            if !keep {
                records.push((format!("{DEVICE_KEY}{id}"), None));
            }
            keep
        });
        if !records.is_empty() {
            self.changed();
        }
        records
    }

    /// `forget` for objects deleted by id: device keys are looked up rather than tested one by one, so the cost follows the number of ids (and of custom types, property keys and key stores), not the number of devices.
    pub fn forget_ids(&mut self, deleted: &BTreeSet<&str>) -> Records {
        let mut records = self.forget_off_spaces(&|id| deleted.contains(id));
        for id in deleted {
            if self.device_keys.remove(*id).is_some() {
                records.push((format!("{DEVICE_KEY}{id}"), None));
            }
        }
        if !records.is_empty() {
            self.changed();
        }
        records
    }

    // ---- user-defined functions ----

    pub fn functions(&self) -> impl Iterator<Item = &Function> {
        self.functions.values()
    }

    pub fn function(&self, id: &str) -> Option<&Function> {
        self.functions.get(id)
    }

    /// Stores a new or changed function (checked by the caller); its name is unique on its space, ignoring case.
    pub fn put_function(&mut self, function: Function) -> Result<Records, StateError> {
        let clash = self.functions.values().find(|f| {
            f.id != function.id && f.space_id == function.space_id && f.name.eq_ignore_ascii_case(&function.name)
        });
        if let Some(clash) = clash {
            return Err(StateError::Conflict(format!(
                "function '{}' on the same space is named '{}'; names are unique on a space",
                clash.id, clash.name
            )));
        }
        let record = (format!("{FUNCTION}{}", function.id), Some(function.to_json()));
        self.functions.insert(function.id.clone(), function);
        self.changed();
        Ok(vec![record])
    }

    pub fn delete_function(&mut self, id: &str) -> Result<Records, StateError> {
        self.functions
            .remove(id)
            .ok_or_else(|| StateError::NotFound { what: "user-defined function", id: id.to_owned() })?;
        self.changed();
        Ok(vec![(format!("{FUNCTION}{id}"), None)])
    }

    // ---- role assignments ----

    pub fn role_assignments(&self) -> impl Iterator<Item = &RoleAssignment> {
        self.assignments.values()
    }

    pub fn role_assignment(&self, id: &str) -> Option<&RoleAssignment> {
        self.assignments.get(id)
    }

    /// The assignments given to `object_id` (ignoring case), in the order of their ids.
    pub fn role_assignments_of<'a>(&'a self, object_id: &str) -> impl Iterator<Item = &'a RoleAssignment> + 'a {
        let ids = self.assignments_by_object.get(&object_id.to_ascii_lowercase());
        ids.into_iter().flatten().filter_map(|id| self.assignments.get(id))
    }

    fn insert_assignment(&mut self, assignment: RoleAssignment) {
        let id = assignment.assignment.id.clone();
        if let Some(previous) = self.assignments.insert(id.clone(), assignment) {
            self.unindex_assignment(&previous);
        }
        let object = self.assignments[&id].assignment.object_id.to_ascii_lowercase();
        self.assignments_by_object.entry(object).or_default().insert(id);
    }

    fn remove_assignment(&mut self, id: &str) -> Option<RoleAssignment> {
        let removed = self.assignments.remove(id)?;
        self.unindex_assignment(&removed);
        Some(removed)
    }

    fn unindex_assignment(&mut self, assignment: &RoleAssignment) {
        let object = assignment.assignment.object_id.to_ascii_lowercase();
        if let Some(ids) = self.assignments_by_object.get_mut(&object) {
            ids.remove(&assignment.assignment.id);
            if ids.is_empty() {
                self.assignments_by_object.remove(&object);
            }
        }
    }

    /// Stores a checked assignment; the same role for the same object on the same space is refused.
    pub fn put_role_assignment(&mut self, assignment: RoleAssignment) -> Result<Records, StateError> {
        assignment.assignment.check().map_err(|e| StateError::InvalidInput(e.to_string()))?;
        let a = &assignment.assignment;
        let clash = self.assignments.values().find(|other| {
            other.assignment.id != a.id
                && other.space == assignment.space
                && other.assignment.role_id.eq_ignore_ascii_case(&a.role_id)
                && other.assignment.object_id.eq_ignore_ascii_case(&a.object_id)
                && other.assignment.object_id_type == a.object_id_type
        });
        if let Some(clash) = clash {
            return Err(StateError::Conflict(format!(
                "role assignment '{}' already gives this role to this object on this path",
                clash.assignment.id
            )));
        }
        let record = (format!("{ROLE_ASSIGNMENT}{}", a.id), Some(assignment.to_json()));
        self.insert_assignment(assignment);
        self.changed();
        Ok(vec![record])
    }

    pub fn delete_role_assignment(&mut self, id: &str) -> Result<Records, StateError> {
        self.remove_assignment(id)
            .ok_or_else(|| StateError::NotFound { what: "role assignment", id: id.to_owned() })?;
        self.changed();
        Ok(vec![(format!("{ROLE_ASSIGNMENT}{id}"), None)])
    }

    /// What `forget` drops that hangs off spaces: custom types, property keys, key stores, resources, matchers, functions and role assignments.
    fn forget_off_spaces(&mut self, deleted: &dyn Fn(&str) -> bool) -> Records {
        let mut records = Vec::new();
        self.types.retain(|id, t| {
            let keep = !deleted(&t.space_id);
            if !keep {
                records.push((format!("{TYPE}{id}"), None));
            }
            keep
        });
        self.property_keys.retain(|id, k| {
            let keep = !deleted(&k.key.space_id);
            if !keep {
                records.push((format!("{PROPERTY_KEY}{id}"), None));
            }
            keep
        });
        self.keystores.retain(|id, k| {
            let keep = !deleted(&k.space_id);
            if !keep {
                records.push((format!("{KEYSTORE}{id}"), None));
            }
            keep
        });
        // The 2018 face refuses to delete a space with a resource; a space deleted through the data plane takes its resources with it.
        self.resources.retain(|id, r| {
            let keep = !deleted(&r.space_id);
            if !keep {
                records.push((format!("{RESOURCE}{id}"), None));
            }
            keep
        });
        self.functions.retain(|id, f| {
            let keep = !deleted(&f.space_id);
            if !keep {
                records.push((format!("{FUNCTION}{id}"), None));
            }
            keep
        });
        let gone: Vec<String> = self
            .assignments
            .values()
            .filter(|a| a.space.as_deref().is_some_and(deleted))
            .map(|a| a.assignment.id.clone())
            .collect();
        for id in gone {
            self.remove_assignment(&id);
            records.push((format!("{ROLE_ASSIGNMENT}{id}"), None));
        }
        // Matchers are found through the index, so the spaces are tested rather than every matcher.
        let gone: Vec<String> = self.matchers_by_space.keys().filter(|space| deleted(space)).cloned().collect();
        for space in gone {
            for id in self.matchers_by_space.remove(&space).unwrap_or_default() {
                self.matchers.remove(&id);
                records.push((format!("{MATCHER}{id}"), None));
            }
        }
        records
    }

    // ---- where record objects are ----

    /// Each record of an object placed on a space that `record_object` names (custom types, property keys, key stores, resources, role assignments), with its space (`None` for a role assignment at `/`).
    /// Taken before a change, it tells afterwards which of the change's records are new objects and where deleted ones were: one pass over these objects, which a tenant has few of.
    pub fn placements(&self) -> BTreeMap<String, Option<String>> {
        let types = self.types.values().map(|t| (format!("{TYPE}{}", t.id), Some(t.space_id.clone())));
        let keys =
            self.property_keys.values().map(|k| (format!("{PROPERTY_KEY}{}", k.key.id), Some(k.key.space_id.clone())));
        let stores = self.keystores.values().map(|k| (format!("{KEYSTORE}{}", k.id), Some(k.space_id.clone())));
        let resources = self.resources.values().map(|r| (format!("{RESOURCE}{}", r.id), Some(r.space_id.clone())));
        let assignments =
            self.assignments.values().map(|a| (format!("{ROLE_ASSIGNMENT}{}", a.assignment.id), a.space.clone()));
        types.chain(keys).chain(stores).chain(resources).chain(assignments).collect()
    }

    /// The space of the object a record holds, as the state is now: `None` when there is no such object or `record_object` does not name its kind, `Some(None)` for a role assignment at `/`.
    pub fn placement(&self, key: &str) -> Option<Option<&str>> {
        let (kind, id) = record_object(key)?;
        match kind {
            RecordObject::CustomType => self.types.get(&id.parse().ok()?).map(|t| Some(t.space_id.as_str())),
            RecordObject::PropertyKey => {
                self.property_keys.get(&id.parse().ok()?).map(|k| Some(k.key.space_id.as_str()))
            }
            RecordObject::KeyStore => self.keystores.get(id).map(|k| Some(k.space_id.as_str())),
            RecordObject::Resource => self.resources.get(id).map(|r| Some(r.space_id.as_str())),
            RecordObject::RoleAssignment => self.assignments.get(id).map(|a| a.space.as_deref()),
        }
    }
}

/// The kinds of records that hold an object placed on a space which the 2018 events name (`placements`); matchers, functions, device keys and the tenant-wide records are not among them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordObject {
    CustomType,
    PropertyKey,
    KeyStore,
    Resource,
    RoleAssignment,
}

/// The kind of object a record key holds and the object's id, for the kinds `RecordObject` names.
pub fn record_object(key: &str) -> Option<(RecordObject, &str)> {
    [
        (TYPE, RecordObject::CustomType),
        (PROPERTY_KEY, RecordObject::PropertyKey),
        (KEYSTORE, RecordObject::KeyStore),
        (RESOURCE, RecordObject::Resource),
        (ROLE_ASSIGNMENT, RecordObject::RoleAssignment),
    ]
    .into_iter()
    .find_map(|(prefix, kind)| key.strip_prefix(prefix).map(|id| (kind, id)))
}

/// Names of extended types: 3 to 50 letters, digits or underscores.
fn check_type_name(name: &str) -> Result<(), StateError> {
    let ok = (3..=50).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StateError::InvalidInput(format!("the type name '{name}' must be 3 to 50 letters, digits or underscores")))
    }
}

fn ontologies_from_json(value: &Value) -> Option<OntologyState> {
    let mut loaded = OntologySet::EMPTY;
    for name in value.get("loaded")?.as_array()? {
        loaded.insert(Ontology::parse(name.as_str()?)?);
    }
    let mut overrides = Vec::new();
    for pair in value.get("overrides")?.as_array()? {
        let id = u32::try_from(pair.get(0)?.as_u64()?).ok()?;
        overrides.push((TypeId::new(id), pair.get(1)?.as_bool()?));
    }
    Some(OntologyState::restore(loaded, overrides))
}

fn optional(value: &Value, member: &str) -> Option<Option<String>> {
    match value.get(member) {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => None,
    }
}

fn text(value: &Value, member: &str) -> Option<String> {
    value.get(member)?.as_str().map(str::to_owned)
}

fn number(value: &Value, member: &str) -> Option<u32> {
    u32::try_from(value.get(member)?.as_u64()?).ok()
}

impl CustomType {
    /// The record shape (also most of the API's retrieve shape).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "category": self.category.name(),
            "name": self.name,
            "friendlyName": self.friendly_name,
            "description": self.description,
            "disabled": self.disabled,
            "logicalOrder": self.logical_order,
            "spaceId": self.space_id,
        })
    }

    fn from_json(value: &Value) -> Option<CustomType> {
        Some(CustomType {
            id: number(value, "id")?,
            category: Category::parse(value.get("category")?.as_str()?)?,
            name: text(value, "name")?,
            friendly_name: optional(value, "friendlyName")?,
            description: optional(value, "description")?,
            disabled: value.get("disabled")?.as_bool()?,
            logical_order: number(value, "logicalOrder")?,
            space_id: text(value, "spaceId")?,
        })
    }
}

impl Resource {
    /// The record shape; the API's retrieve shape is this without `resourceDependencies` (shown resolved with `includes=DependentChildren`).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "spaceId": self.space_id,
            "type": self.kind,
            "size": self.size,
            "region": self.region,
            "isExternallyCreated": self.is_externally_created,
            "parameters": self.parameters,
            "resourceDependencies": self.dependencies,
            "status": self.status.name(),
            "lastUpdatedUtc": self.last_updated_utc,
        })
    }

    fn from_json(value: &Value) -> Option<Resource> {
        Some(Resource {
            id: text(value, "id")?,
            space_id: text(value, "spaceId")?,
            kind: text(value, "type")?,
            size: optional(value, "size")?,
            region: optional(value, "region")?,
            is_externally_created: value.get("isExternallyCreated")?.as_bool()?,
            parameters: value.get("parameters")?.as_object()?.clone(),
            dependencies: value
                .get("resourceDependencies")?
                .as_array()?
                .iter()
                .map(|id| id.as_str().map(str::to_owned))
                .collect::<Option<_>>()?,
            status: ResourceStatus::parse(value.get("status")?.as_str()?)?,
            last_updated_utc: text(value, "lastUpdatedUtc")?,
        })
    }
}

impl Matcher {
    /// The record shape, which is also the API's retrieve shape with `includes=description,conditions`.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "friendlyName": self.friendly_name,
            "description": self.description,
            "spaceId": self.space_id,
            "conditions": self.conditions.iter().map(MatcherCondition::to_json).collect::<Vec<_>>(),
        })
    }

    fn from_json(value: &Value) -> Option<Matcher> {
        let mut conditions = Vec::new();
        for condition in value.get("conditions")?.as_array()? {
            conditions.push(MatcherCondition {
                id: text(condition, "id")?,
                target: text(condition, "target")?,
                path: text(condition, "path")?,
                value: text(condition, "value")?,
                comparison: text(condition, "comparison")?,
            });
        }
        Some(Matcher {
            id: text(value, "id")?,
            name: text(value, "name")?,
            friendly_name: optional(value, "friendlyName")?,
            description: optional(value, "description")?,
            space_id: text(value, "spaceId")?,
            conditions,
        })
    }

    /// What a stored matcher always is: named, on a space, its conditions with distinct ids, paths, and known targets and comparisons.
    fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() || self.space_id.is_empty() {
            return Err("a matcher has a name and a space".to_owned());
        }
        for (i, condition) in self.conditions.iter().enumerate() {
            if !CONDITION_TARGETS.contains(&condition.target.as_str()) {
                return Err(format!("condition '{}' has the target '{}'", condition.id, condition.target));
            }
            if !CONDITION_COMPARISONS.contains(&condition.comparison.as_str()) {
                return Err(format!("condition '{}' has the comparison '{}'", condition.id, condition.comparison));
            }
            if condition.path.is_empty() {
                return Err(format!("condition '{}' has no path", condition.id));
            }
            if self.conditions[..i].iter().any(|c| c.id == condition.id) {
                return Err(format!("two conditions have the id '{}'", condition.id));
            }
        }
        Ok(())
    }
}

impl MatcherCondition {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "target": self.target,
            "path": self.path,
            "value": self.value,
            "comparison": self.comparison,
        })
    }
}

impl Counters {
    fn to_json(self) -> Value {
        json!({ "type": self.next_type_id, "propertyKey": self.next_property_key_id })
    }

    fn from_json(value: &Value) -> Option<Counters> {
        let counters =
            Counters { next_type_id: number(value, "type")?, next_property_key_id: number(value, "propertyKey")? };
        let in_range = counters.next_type_id >= CUSTOM_TYPE_IDS_START && counters.next_property_key_id >= 1;
        in_range.then_some(counters)
    }
}

impl KeyStore {
    /// A new key store without keys.
    pub fn new(id: String, name: String, description: Option<String>, space_id: String) -> KeyStore {
        KeyStore { id, name, description, space_id, keys: Vec::new(), next_key_id: 1 }
    }

    /// Adds an active key of `value` (base64) and returns its id, one no key of this store had before.
    pub fn add_key(&mut self, value: String, created_utc: String) -> u32 {
        let id = self.next_key_id;
        self.next_key_id = id + 1;
        self.keys.push(SecurityKey { id, value, created_utc, active: true });
        id
    }

    /// The record shape.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "spaceId": self.space_id,
            "keys": self.keys.iter().map(|k| json!({
                "id": k.id,
                "value": k.value,
                "createdUtc": k.created_utc,
                "active": k.active,
            })).collect::<Vec<_>>(),
            "nextKeyId": self.next_key_id,
        })
    }

    /// Back from `to_json`; a record without `nextKeyId` (written before it existed) takes one more than its highest key id.
    fn from_json(value: &Value) -> Option<KeyStore> {
        let mut keys = Vec::new();
        for key in value.get("keys")?.as_array()? {
            keys.push(SecurityKey {
                id: number(key, "id")?,
                value: text(key, "value")?,
                created_utc: text(key, "createdUtc")?,
                active: key.get("active")?.as_bool()?,
            });
        }
        let next_key_id = match value.get("nextKeyId") {
            None => keys.iter().map(|k| k.id).max().map_or(1, |highest| highest + 1),
            Some(_) => number(value, "nextKeyId").filter(|next| *next >= 1)?,
        };
        Some(KeyStore {
            id: text(value, "id")?,
            name: text(value, "name")?,
            description: optional(value, "description")?,
            space_id: text(value, "spaceId")?,
            keys,
            next_key_id,
        })
    }

    /// The newest active key, which new tokens are signed with.
    pub fn last_active_key(&self) -> Option<&SecurityKey> {
        self.keys.iter().rev().find(|k| k.active)
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use ontology::Category;
    use serde_json::{Value, json};

    use super::{
        CustomType, KeyStore, Matcher, MatcherCondition, Records, Resource, ResourceStatus, SecurityKey, Spatial,
        StateError, TypeRef,
    };
    use crate::properties::{PropertyKey, PropertyKeyInput};

    fn custom(category: Category, name: &str, space: &str) -> CustomType {
        CustomType {
            id: 0,
            category,
            name: name.to_owned(),
            friendly_name: None,
            description: None,
            disabled: false,
            logical_order: 0,
            space_id: space.to_owned(),
        }
    }

    /// Applies `records` to a store kept as a map, the way the server's store applies them.
    fn persist(store: &mut std::collections::BTreeMap<String, Value>, records: Records) {
        for (key, value) in records {
            match value {
                Some(value) => store.insert(key, value),
                None => store.remove(&key),
            };
        }
    }

    /// What a type reference resolves to from the space path `spaces`, or why not.
    fn check_type(state: &Spatial, category: Category, by: TypeRef, spaces: &[&str], expect: Expect) {
        let shown = match state.usable_type(category, &by, spaces) {
            Ok(ty) => format!("{} {}", ty.id, ty.name),
            Err(err) => format!("error: {err}"),
        };
        expect.assert_eq(&shown);
    }

    #[test]
    fn types_resolve_nearest_custom_first_then_system() {
        let mut state = Spatial::default();
        let (outer, _) = state.create_type(custom(Category::SensorType, "Classic", "building")).expect("a new type");
        let (inner, _) = state.create_type(custom(Category::SensorType, "Classic", "room")).expect("another space");
        assert_eq!((outer, inner), (1_000_000, 1_000_001));
        check_type(
            &state,
            Category::SensorType,
            TypeRef::Name("classic".into()),
            &["building", "room"],
            expect!["1000001 Classic"],
        );
        check_type(
            &state,
            Category::SensorType,
            TypeRef::Name("Classic".into()),
            &["building"],
            expect!["1000000 Classic"],
        );
        check_type(
            &state,
            Category::SensorType,
            TypeRef::Name("Classic".into()),
            &["elsewhere"],
            expect!["101000 Classic"],
        );
        check_type(&state, Category::SpaceType, TypeRef::Id(11008), &[], expect!["11008 Room"]);
        check_type(
            &state,
            Category::SpaceType,
            TypeRef::Id(101000),
            &[],
            expect![
                "error: SpaceType id 101000 is not a type this space can use (GET types?categories=SpaceType lists them)"
            ],
        );
        let refused = state.create_type(custom(Category::SensorType, "CLASSIC", "room")).expect_err("a duplicate");
        expect!["the space already has a SensorType named 'CLASSIC'; a name is unique within its category on a space"]
            .assert_eq(&refused.to_string());
        let refused = state.create_type(custom(Category::SensorType, "a b", "room")).expect_err("a bad name");
        expect!["the type name 'a b' must be 3 to 50 letters, digits or underscores"].assert_eq(&refused.to_string());
        let mut disabled = state.custom_type(inner).expect("created").clone();
        disabled.disabled = true;
        state.update_type(disabled).expect("an update");
        check_type(
            &state,
            Category::SensorType,
            TypeRef::Name("Classic".into()),
            &["building", "room"],
            expect!["error: SensorType 'Classic' is disabled"],
        );
    }

    /// Runs each step on one state and shows, line by line, what it answered and whether it moved the generation.
    fn check_generation(steps: Vec<(&str, Step)>, expect: Expect) {
        let mut state = Spatial::default();
        let mut lines = Vec::new();
        for (name, step) in steps {
            let before = state.generation();
            let outcome = step(&mut state);
            let moved = if state.generation() == before { "stays" } else { "moves" };
            lines.push(format!("{name}: {outcome}; generation {moved}"));
        }
        expect.assert_eq(&lines.join("\n"));
    }

    type Step = Box<dyn FnOnce(&mut Spatial) -> String>;

    /// What a change answered: the record keys it wrote, or its error.
    fn shown<T>(outcome: Result<T, StateError>, records: impl FnOnce(T) -> Records) -> String {
        match outcome {
            Ok(done) => format!("{:?}", records(done).into_iter().map(|(key, _)| key).collect::<Vec<_>>()),
            Err(err) => format!("refused ({err})"),
        }
    }

    #[test]
    fn every_change_moves_the_generation_and_a_refusal_or_no_op_does_not() {
        let key_store = KeyStore::new("k1".into(), "keys".into(), None, "campus".into());
        let steps: Vec<(&str, Step)> = vec![
            ("load an ontology", Box::new(|s| shown(s.set_ontology_loaded(ontology::Ontology::Building, true), |r| r))),
            ("load it again", Box::new(|s| shown(s.set_ontology_loaded(ontology::Ontology::Building, true), |r| r))),
            (
                "create a type",
                Box::new(|s| shown(s.create_type(custom(Category::SpaceType, "Lab", "campus")), |r| r.1)),
            ),
            (
                "create it again",
                Box::new(|s| shown(s.create_type(custom(Category::SpaceType, "Lab", "campus")), |r| r.1)),
            ),
            ("delete a type that is not there", Box::new(|s| shown(s.delete_type(7), |r| r))),
            ("put a key store", Box::new(move |s| shown(Ok(s.put_keystore(key_store)), |r| r))),
            ("put a device key", Box::new(|s| shown(Ok(s.put_device_key("device-1", "a2V5".into())), |r| r))),
            ("put a matcher", Box::new(|s| shown(s.put_matcher(matcher("m1", "Motion", "campus")), |r| r))),
            ("put another of that name", Box::new(|s| shown(s.put_matcher(matcher("m2", "MOTION", "campus")), |r| r))),
            ("delete a matcher that is not there", Box::new(|s| shown(s.delete_matcher("m2"), |r| r))),
            ("put a second matcher", Box::new(|s| shown(s.put_matcher(matcher("m2", "Motion", "hall")), |r| r))),
            ("delete it", Box::new(|s| shown(s.delete_matcher("m2"), |r| r))),
            ("forget nothing", Box::new(|s| shown(Ok(s.forget(&|id| id == "elsewhere")), |r| r))),
            ("forget the campus", Box::new(|s| shown(Ok(s.forget(&|id| id == "campus")), |r| r))),
        ];
        check_generation(
            steps,
            expect![[r#"
                load an ontology: ["ontologies"]; generation moves
                load it again: []; generation stays
                create a type: ["type/1000000", "counters"]; generation moves
                create it again: refused (the space already has a SpaceType named 'Lab'; a name is unique within its category on a space); generation stays
                delete a type that is not there: refused (type '7' was not found); generation stays
                put a key store: ["keystore/k1"]; generation moves
                put a device key: ["devicekey/device-1"]; generation moves
                put a matcher: ["matcher/m1"]; generation moves
                put another of that name: refused (the space already has a matcher named 'MOTION'; a matcher's name is unique on its space); generation stays
                delete a matcher that is not there: refused (matcher 'm2' was not found); generation stays
                put a second matcher: ["matcher/m2"]; generation moves
                delete it: ["matcher/m2"]; generation moves
                forget nothing: []; generation stays
                forget the campus: ["type/1000000", "keystore/k1", "matcher/m1"]; generation moves"#]],
        );
    }

    /// A matcher of the motion sensors on `space`.
    fn matcher(id: &str, name: &str, space: &str) -> Matcher {
        Matcher {
            id: id.to_owned(),
            name: name.to_owned(),
            friendly_name: None,
            description: Some("motion sensors".to_owned()),
            space_id: space.to_owned(),
            conditions: vec![MatcherCondition {
                id: format!("{id}-c1"),
                target: "Sensor".to_owned(),
                path: "$.dataType".to_owned(),
                value: "\"Motion\"".to_owned(),
                comparison: "Equals".to_owned(),
            }],
        }
    }

    /// The ids of the matchers on the space path `spaces`.
    fn matchers_on(state: &Spatial, spaces: &[&str]) -> String {
        state.matchers_on(spaces).map(|m| m.id.as_str()).collect::<Vec<_>>().join(", ")
    }

    #[test]
    fn matchers_are_found_along_a_space_path_and_load_back() {
        let mut store = std::collections::BTreeMap::new();
        let mut state = Spatial::default();
        for (id, name, space) in
            [("m1", "Motion", "campus"), ("m2", "CO2", "campus"), ("m3", "Motion", "hall"), ("m4", "Motion", "annex")]
        {
            persist(&mut store, state.put_matcher(matcher(id, name, space)).expect("a new matcher"));
        }
        assert_eq!(matchers_on(&state, &["campus", "hall", "room"]), "m1, m2, m3");
        assert_eq!(matchers_on(&state, &["annex"]), "m4");
        assert_eq!(matchers_on(&state, &[]), "");
        // Renaming keeps the matcher's place; a name another matcher of the space has is refused.
        let mut renamed = matcher("m2", "Carbon dioxide", "campus");
        renamed.conditions.clear();
        persist(&mut store, state.put_matcher(renamed.clone()).expect("a new name"));
        let refused = state.put_matcher(matcher("m2", "motion", "campus")).expect_err("m1's name");
        expect!["the space already has a matcher named 'motion'; a matcher's name is unique on its space"]
            .assert_eq(&refused.to_string());
        let mut broken = matcher("m5", "Broken", "campus");
        broken.conditions[0].comparison = "Like".to_owned();
        let refused = state.put_matcher(broken).expect_err("an unknown comparison");
        expect!["condition 'm5-c1' has the comparison 'Like'"].assert_eq(&refused.to_string());
        let loaded = Spatial::load(store.clone()).expect("the records load");
        assert_eq!(loaded.matchers().collect::<Vec<_>>(), state.matchers().collect::<Vec<_>>());
        assert_eq!(loaded.matcher("m2"), Some(&renamed));
        assert_eq!(matchers_on(&loaded, &["campus", "hall"]), "m1, m2, m3");
        // Forgetting the hall forgets its matcher, and only that one.
        let mut state = loaded;
        persist(&mut store, state.forget_ids(&["hall"].into_iter().collect()));
        assert_eq!(matchers_on(&state, &["campus", "hall"]), "m1, m2");
        assert_eq!(store.keys().filter(|k| k.starts_with("matcher/")).count(), 3);
        // A record whose matcher is not valid, or repeats a name on its space, stops the load.
        let mut bad_target = matcher("m9", "Bad", "campus").to_json();
        bad_target["conditions"][0]["target"] = json!("sensor");
        let cases = [
            ("matcher/m9", bad_target),
            ("matcher/m9", json!({"id": "m9", "name": "Bad"})),
            ("matcher/m8", matcher("m9", "Bad", "campus").to_json()),
            ("matcher/m9", matcher("m9", "MOTION", "campus").to_json()),
        ];
        let errors: Vec<String> = cases
            .into_iter()
            .map(|(key, value)| {
                let mut records: Vec<(String, Value)> = store.clone().into_iter().collect();
                records.push((key.to_owned(), value));
                Spatial::load(records).map(|_| "loaded".to_owned()).unwrap_or_else(|err| err)
            })
            .collect();
        expect![[r#"
            spatial record 'matcher/m9' is not a valid matcher: condition 'm9-c1' has the target 'sensor'
            spatial record 'matcher/m9' does not have the expected shape
            spatial record 'matcher/m8' does not have the expected shape
            spatial record 'matcher/m9' names its matcher 'MOTION', as matcher 'm1' on the same space is named; names are unique on a space"#]]
        .assert_eq(&errors.join("\n"));
    }

    #[test]
    fn records_load_back_to_the_same_state() {
        let mut store = std::collections::BTreeMap::new();
        let mut state = Spatial::default();
        persist(&mut store, state.set_ontology_loaded(ontology::Ontology::Building, true).expect("loads"));
        persist(&mut store, state.create_type(custom(Category::SpaceType, "Lab", "campus")).expect("new").1);
        let resource = Resource {
            id: "r1".into(),
            space_id: "campus".into(),
            kind: "IoTHub".into(),
            size: Some("S".into()),
            region: None,
            is_externally_created: false,
            parameters: serde_json::Map::new(),
            dependencies: Vec::new(),
            status: ResourceStatus::Provisioning,
            last_updated_utc: "2026-11-26T12:00:00Z".into(),
        };
        persist(&mut store, state.put_resource(resource.clone()).expect("the first of its type"));
        let refused =
            state.put_resource(Resource { id: "r2".into(), ..resource.clone() }).expect_err("a second IoTHub");
        expect!["the space already has a resource of type IoTHub; a space has at most one of each type"]
            .assert_eq(&refused.to_string());
        let store_keys = KeyStore {
            id: "k1".into(),
            name: "keys".into(),
            description: None,
            space_id: "campus".into(),
            keys: vec![SecurityKey {
                id: 1,
                value: "a2V5".into(),
                created_utc: "2026-11-26T12:00:00Z".into(),
                active: true,
            }],
            next_key_id: 2,
        };
        persist(&mut store, state.put_keystore(store_keys));
        persist(&mut store, state.put_device_key("device-1", "ZGV2aWNl".into()));
        let loaded = Spatial::load(store.clone()).expect("the records load");
        assert_eq!(loaded.ontologies(), state.ontologies());
        assert_eq!(loaded.custom_types().collect::<Vec<_>>(), state.custom_types().collect::<Vec<_>>());
        assert_eq!(loaded.resource("r1"), Some(&resource));
        assert_eq!(loaded.keystore_above(&["campus", "building"]).map(|k| k.id.as_str()), Some("k1"));
        assert_eq!(loaded.device_key("device-1"), Some("ZGV2aWNl"));
        // Deleting the campus forgets what hangs off it, record by record.
        persist(&mut store, state.forget(&|id| id == "campus" || id == "device-1"));
        let keys: Vec<&String> = store.keys().collect();
        expect![[r#"["counters", "ontologies"]"#]].assert_eq(&format!("{keys:?}"));
        let broken = Spatial::load([("type/7".to_owned(), json!({"id": 8}))]).expect_err("a bad record");
        expect!["spatial record 'type/7' does not have the expected shape"].assert_eq(&broken);
        let unknown = Spatial::load([("blob/1".to_owned(), json!({}))]).expect_err("an unknown kind");
        expect!["spatial record 'blob/1' is of no known kind"].assert_eq(&unknown);
    }

    /// A key of the campus's spaces that takes any value.
    fn property_key(id: u32, name: &str) -> PropertyKey {
        property_key_of(id, name, PropertyKeyInput::default())
    }

    /// What loading `records` gives: the next ids it would hand out, or its error.
    fn check_load(records: Vec<(&str, Value)>, expect: Expect) {
        let shown = match Spatial::load(records.into_iter().map(|(key, value)| (key.to_owned(), value))) {
            Ok(state) => {
                let stores: Vec<String> =
                    state.keystores.values().map(|k| format!("{} {}", k.id, k.next_key_id)).collect();
                format!(
                    "next type {}, next property key {}, next key of store {}",
                    state.counters.next_type_id,
                    state.counters.next_property_key_id,
                    stores.join(", ")
                )
            }
            Err(err) => format!("error: {err}"),
        };
        expect.assert_eq(&shown);
    }

    #[test]
    fn ids_of_deleted_objects_are_not_given_again_even_after_a_reload() {
        let mut store = std::collections::BTreeMap::new();
        let mut state = Spatial::default();
        let mut given = Vec::new();
        for name in ["Lab", "Office"] {
            let (id, records) = state.create_type(custom(Category::SpaceType, name, "campus")).expect("a new type");
            persist(&mut store, records);
            given.push(format!("type {id}"));
        }
        persist(&mut store, state.delete_type(1_000_001).expect("the newest type"));
        for name in ["Colour", "Size"] {
            let id = state.next_property_key_id();
            persist(&mut store, state.put_property_key(property_key(id, name)).expect("a new key"));
            given.push(format!("property key {id}"));
        }
        persist(&mut store, state.delete_property_key(2).expect("the newest key"));
        let refused = state.put_property_key(property_key(2, "Size")).expect_err("an id given before");
        given.push(format!("property key 2 again: {refused}"));
        let mut keys = KeyStore::new("k1".into(), "keys".into(), None, "campus".into());
        for _ in 0..3 {
            given.push(format!("key {}", keys.add_key("a2V5".into(), "2026-11-26T12:00:00Z".into())));
        }
        keys.keys.retain(|k| k.id != 3);
        persist(&mut store, state.put_keystore(keys));

        let mut loaded = Spatial::load(store).expect("the records load");
        let (id, _) = loaded.create_type(custom(Category::SpaceType, "Office", "campus")).expect("a new type");
        given.push(format!("after a reload: type {id}"));
        given.push(format!("after a reload: property key {}", loaded.next_property_key_id()));
        let mut keys = loaded.keystore("k1").expect("loaded").clone();
        given.push(format!("after a reload: key {}", keys.add_key("a2V5".into(), "2026-11-26T12:00:00Z".into())));
        expect![[r#"
            type 1000000
            type 1000001
            property key 1
            property key 2
            property key 2 again: property key id 2 was given before; a new key takes the next id, 3
            key 1
            key 2
            key 3
            after a reload: type 1000002
            after a reload: property key 3
            after a reload: key 4"#]]
        .assert_eq(&given.join("\n"));
    }

    #[test]
    fn records_written_before_the_counters_take_their_next_ids_from_the_ids_they_hold() {
        let lab = CustomType { id: 1_000_004, ..custom(Category::SpaceType, "Lab", "campus") };
        let keys = json!({"id": "k1", "name": "keys", "description": null, "spaceId": "campus", "keys": [
            {"id": 1, "value": "a2V5", "createdUtc": "2026-11-26T12:00:00Z", "active": true},
            {"id": 3, "value": "a2V5", "createdUtc": "2026-11-26T12:00:00Z", "active": false},
        ]});
        let empty = json!({"id": "k2", "name": "keys", "description": null, "spaceId": "campus", "keys": []});
        check_load(
            vec![
                ("type/1000004", lab.to_json()),
                ("propertykey/3", property_key(3, "Colour").to_json()),
                ("keystore/k1", keys),
                ("keystore/k2", empty),
            ],
            expect!["next type 1000005, next property key 4, next key of store k1 4, k2 1"],
        );
        check_load(Vec::new(), expect!["next type 1000000, next property key 1, next key of store "]);
    }

    #[test]
    fn stored_counters_load_and_one_not_above_its_ids_is_an_error() {
        let lab =
            || ("type/1000004", CustomType { id: 1_000_004, ..custom(Category::SpaceType, "Lab", "campus") }.to_json());
        let colour = || ("propertykey/3", property_key(3, "Colour").to_json());
        let counters = |ty: u32, key: u32| ("counters", json!({"type": ty, "propertyKey": key}));
        check_load(
            vec![lab(), colour(), counters(1_000_009, 7)],
            expect!["next type 1000009, next property key 7, next key of store "],
        );
        check_load(
            vec![lab(), colour(), counters(1_000_004, 7)],
            expect![
                "error: spatial record 'counters' gives the next type id as 1000004, but type 1000004 exists; type ids would be given twice"
            ],
        );
        check_load(
            vec![lab(), colour(), counters(1_000_009, 3)],
            expect![
                "error: spatial record 'counters' gives the next property key id as 3, but property key 3 exists; property key ids would be given twice"
            ],
        );
        check_load(vec![counters(5, 1)], expect!["error: spatial record 'counters' does not have the expected shape"]);
        let keys = |next: Value| {
            let mut store = json!({"id": "k1", "name": "keys", "description": null, "spaceId": "campus", "keys": [
                {"id": 2, "value": "a2V5", "createdUtc": "2026-11-26T12:00:00Z", "active": true},
            ]});
            store["nextKeyId"] = next;
            ("keystore/k1", store)
        };
        check_load(vec![keys(json!(5))], expect!["next type 1000000, next property key 1, next key of store k1 5"]);
        check_load(
            vec![keys(json!(2))],
            expect![
                "error: spatial record 'keystore/k1' gives nextKeyId 2, but the store holds key 2; key ids would be given twice"
            ],
        );
        check_load(
            vec![keys(json!("3"))],
            expect!["error: spatial record 'keystore/k1' does not have the expected shape"],
        );
    }

    /// A String key of the campus's spaces whose values must match `pattern`.
    fn string_key(id: u32, name: &str, pattern: &str) -> PropertyKey {
        let input = PropertyKeyInput {
            primitive_data_type: Some("String".to_owned()),
            validation_data: Some(pattern.to_owned()),
            ..PropertyKeyInput::default()
        };
        property_key_of(id, name, input)
    }

    /// A key of the campus's spaces defined by `input` besides its name.
    fn property_key_of(id: u32, name: &str, input: PropertyKeyInput) -> PropertyKey {
        let input = PropertyKeyInput {
            name: Some(name.to_owned()),
            space_id: Some("campus".to_owned()),
            scope: Some("Spaces".to_owned()),
            ..input
        };
        PropertyKey::create(id, input).expect("a valid key")
    }

    /// Validates each value with the state's key `key_id`, one line per value.
    fn check_validate(state: &Spatial, key_id: u32, values: &[&str], expect: Expect) {
        let lines: Vec<String> = values
            .iter()
            .map(|value| match state.validate_property(key_id, value) {
                Ok(normalised) => format!("{value} -> {normalised}"),
                Err(err) => format!("{value} error: {err}"),
            })
            .collect();
        expect.assert_eq(&lines.join("\n"));
    }

    #[test]
    fn values_are_checked_with_the_compiled_rules_of_the_key_as_it_is_now() {
        let mut store = std::collections::BTreeMap::new();
        let mut state = Spatial::default();
        persist(&mut store, state.put_property_key(string_key(1, "Room", "^room-\\d+$")).expect("a new key"));
        check_validate(
            &state,
            1,
            &["Room-12", "hall-3"],
            expect![[r#"
                Room-12 -> Room-12
                hall-3 error: value: 'hall-3' does not match the regular expression '^room-\d+$' (property key 'Room', String)"#]],
        );
        persist(&mut store, state.put_property_key(string_key(1, "Room", "^hall-\\d+$")).expect("an update"));
        check_validate(
            &state,
            1,
            &["Room-12", "hall-3"],
            expect![[r#"
                Room-12 error: value: 'Room-12' does not match the regular expression '^hall-\d+$' (property key 'Room', String)
                hall-3 -> hall-3"#]],
        );
        let loaded = Spatial::load(store).expect("the records load");
        check_validate(
            &loaded,
            1,
            &["hall-3", "room-1"],
            expect![[r#"
            hall-3 -> hall-3
            room-1 error: value: 'room-1' does not match the regular expression '^hall-\d+$' (property key 'Room', String)"#]],
        );
        state.delete_property_key(1).expect("the key");
        check_validate(&state, 1, &["hall-3"], expect!["hall-3 error: property key '1' was not found"]);
        persist(
            &mut std::collections::BTreeMap::new(),
            state.put_property_key(string_key(2, "Gate", "^g$")).expect("a new key"),
        );
        state.forget(&|space| space == "campus");
        check_validate(&state, 2, &["g"], expect!["g error: property key '2' was not found"]);
        // A key built by hand whose rules do not compile is refused, and nothing changes.
        let broken = PropertyKey { validation_data: Some("[a-".to_owned()), ..string_key(3, "Broken", "^b$") };
        let before = state.generation();
        let refused = state.put_property_key(broken).expect_err("rules that do not compile");
        expect!["validationData: '[a-' is not a usable regular expression: unclosed character class (look-around and back-references are not supported)"]
            .assert_eq(&refused.to_string());
        assert_eq!((state.generation(), state.property_key(3)), (before, None));
    }

    /// An object's role assignments are found by its id in any case, and stay right through puts, deletes, forgetting a space and loading the records.
    #[test]
    fn an_objects_role_assignments_follow_puts_deletes_and_forgets() {
        let assignment = |id: &str, object: &str, space: Option<&str>| super::RoleAssignment {
            assignment: access::Assignment {
                id: id.to_owned(),
                role_id: "98e44ad7-28d4-4007-853b-b9968ad132d1".to_owned(),
                object_id: object.to_owned(),
                object_id_type: access::ObjectIdType::UserDefinedFunctionId,
                tenant_id: None,
                path: space.map_or("/".to_owned(), |s| format!("/{s}")),
            },
            space: space.map(str::to_owned),
        };
        let ids = |state: &Spatial, object: &str| {
            state.role_assignments_of(object).map(|a| a.assignment.id.as_str()).collect::<Vec<_>>().join(" ")
        };
        let mut store = std::collections::BTreeMap::new();
        let mut state = Spatial::default();
        for (id, object, space) in
            [("a3", "Fn-1", Some("hall")), ("a1", "fn-1", Some("campus")), ("a2", "fn-2", None), ("a4", "FN-1", None)]
        {
            persist(&mut store, state.put_role_assignment(assignment(id, object, space)).expect("a new assignment"));
        }
        assert_eq!(
            (ids(&state, "fn-1"), ids(&state, "FN-2"), ids(&state, "fn-3")),
            ("a1 a3 a4".into(), "a2".into(), "".into())
        );
        persist(&mut store, state.delete_role_assignment("a4").expect("assignment a4"));
        persist(&mut store, state.forget(&|space| space == "campus"));
        assert_eq!((ids(&state, "fn-1"), ids(&state, "fn-2")), ("a3".into(), "a2".into()));
        let loaded = Spatial::load(store).expect("the records load");
        assert_eq!((ids(&loaded, "FN-1"), ids(&loaded, "fn-2")), ("a3".into(), "a2".into()));
    }

    #[test]
    fn forget_ids_forgets_what_forget_does() {
        let state = || {
            let mut state = Spatial::default();
            state.create_type(custom(Category::SpaceType, "Lab", "campus")).expect("a new type");
            state.create_type(custom(Category::SpaceType, "Lab", "hall")).expect("a new type");
            state.put_property_key(property_key(1, "Colour")).expect("a new key");
            state.put_keystore(KeyStore::new("k1".into(), "keys".into(), None, "campus".into()));
            for device in ["d1", "d2"] {
                state.put_device_key(device, "a2V5".into());
            }
            state
        };
        let deleted = ["campus", "d1", "nowhere"];
        let by_test = state().forget(&|id| deleted.contains(&id));
        let mut looked_up = state();
        let before = looked_up.generation();
        let by_id = looked_up.forget_ids(&deleted.into_iter().collect());
        assert_eq!(by_id, by_test);
        expect![[r#"["type/1000000", "propertykey/1", "keystore/k1", "devicekey/d1"]"#]]
            .assert_eq(&format!("{:?}", by_id.iter().map(|(key, _)| key).collect::<Vec<_>>()));
        assert_ne!(looked_up.generation(), before);
        assert_eq!(
            (looked_up.device_key("d2"), looked_up.custom_type(1_000_001).map(|t| t.space_id.as_str())),
            (Some("a2V5"), Some("hall"))
        );
        let before = looked_up.generation();
        assert_eq!(
            looked_up.forget_ids(&["d1", "campus"].into_iter().collect()),
            Vec::new(),
            "nothing is left to forget"
        );
        assert_eq!(looked_up.generation(), before);
    }
}

/// A role assignment as the tenant keeps it: the assignment, and the space its path names (`None` for `/`), so the grant follows the space when it moves and goes when it is deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleAssignment {
    pub assignment: access::Assignment,
    pub space: Option<String>,
}

impl RoleAssignment {
    /// The record shape.
    pub fn to_json(&self) -> Value {
        let a = &self.assignment;
        json!({
            "id": a.id,
            "roleId": a.role_id,
            "objectId": a.object_id,
            "objectIdType": a.object_id_type.name(),
            "tenantId": a.tenant_id,
            "path": a.path,
            "spaceId": self.space,
        })
    }

    fn from_json(value: &Value) -> Option<RoleAssignment> {
        Some(RoleAssignment {
            assignment: access::Assignment {
                id: text(value, "id")?,
                role_id: text(value, "roleId")?,
                object_id: text(value, "objectId")?,
                object_id_type: access::ObjectIdType::parse(value.get("objectIdType")?.as_str()?)?,
                tenant_id: optional(value, "tenantId")?,
                path: text(value, "path")?,
            },
            space: optional(value, "spaceId")?,
        })
    }
}

/// A user-defined function: JavaScript run for the sensors in its space's subtree that one of its matchers selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    pub id: String,
    pub space_id: String,
    pub name: String,
    pub friendly_name: Option<String>,
    pub description: Option<String>,
    pub disabled: bool,
    /// Matcher ids; a matcher deleted since is skipped.
    pub matchers: Vec<String>,
    /// The JavaScript text.
    pub script: String,
    /// Grows by one with every upload of the script, from 1.
    pub version: u32,
    pub last_modified_utc: String,
}

impl Function {
    /// The record shape.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "spaceId": self.space_id,
            "name": self.name,
            "friendlyName": self.friendly_name,
            "description": self.description,
            "disabled": self.disabled,
            "matchers": self.matchers,
            "script": self.script,
            "version": self.version,
            "lastModifiedUtc": self.last_modified_utc,
        })
    }

    fn from_json(value: &Value) -> Option<Function> {
        let matchers = value
            .get("matchers")?
            .as_array()?
            .iter()
            .map(|m| m.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()?;
        Some(Function {
            id: text(value, "id")?,
            space_id: text(value, "spaceId")?,
            name: text(value, "name")?,
            friendly_name: optional(value, "friendlyName")?,
            description: optional(value, "description")?,
            disabled: value.get("disabled")?.as_bool()?,
            matchers,
            script: text(value, "script")?,
            version: number(value, "version")?,
            last_modified_utc: text(value, "lastModifiedUtc")?,
        })
    }
}
