//! One tenant's graph: its models, twins and relationships, the indexes over them, and every write operation with its validation.
//!
//! Operations are pure: they take the time as an argument, validate against the models, apply the change in memory only if all of it is valid, and return the `Change`s for the caller to persist and publish.
//! Durability, locking and events belong to the caller.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use model::set::{ContentKind, ModelMatch};
use model::{Document, Dtmi, ModelSet, Options, Severity};
use serde_json::{Map, Value};

use crate::containment::{Containment, Refusal, Role, Tree, Violations};
use crate::error::{Clash, GraphError, Invalid, Missing};
use crate::nodes::{EdgeRef, Nodes};
use crate::patch::{self, OpKind, Operation};
use crate::record::{Relationship, StoredModel, Twin, etag_text};

/// Limits of one tenant's graph; every write checks them where data arrives.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Longest twin or relationship id, in bytes.
    pub id_bytes_max: usize,
    /// Longest string property value, in bytes (ADT: 4 KiB).
    pub string_bytes_max: usize,
    /// Largest twin document, in bytes of JSON (ADT: 32 KiB).
    pub twin_bytes_max: usize,
    /// Most outgoing relationships of one twin (ADT: 50,000).
    pub outgoing_per_twin_max: usize,
    /// Most incoming relationships of one twin (ADT: 50,000).
    pub incoming_per_twin_max: usize,
    /// Most models in one upload (ADT: 250).
    pub models_per_upload_max: usize,
    /// Most models of a tenant (ADT: 10,000).
    pub models_max: usize,
    /// Most twins of a tenant (ADT: 2,000,000 by default).
    pub twins_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            id_bytes_max: 512,
            string_bytes_max: 4 * 1024,
            twin_bytes_max: 32 * 1024,
            outgoing_per_twin_max: 50_000,
            incoming_per_twin_max: 50_000,
            models_per_upload_max: 250,
            models_max: 10_000,
            twins_max: 10_000_000,
        }
    }
}

/// A conditional request header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Precondition {
    #[default]
    None,
    /// `If-Match`: an ETag, or `*` for "exists".
    IfMatch(String),
    /// `If-None-Match: *`: create only.
    IfNoneMatchAny,
}

/// What a write did, for the caller to persist and publish.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    ModelPut(StoredModel),
    ModelDeleted(String),
    TwinCreated(Twin),
    /// A replaced or patched twin, with the JSON Patch that describes the change.
    TwinUpdated {
        twin: Twin,
        patch: Vec<Value>,
    },
    TwinDeleted(Twin),
    RelationshipCreated(Relationship),
    RelationshipUpdated {
        relationship: Relationship,
        source_model: String,
        patch: Vec<Value>,
    },
    RelationshipDeleted(Relationship),
}

/// A patch checked and made by `TenantGraph::prepare_patch`, for `TenantGraph::apply_prepared`.
#[derive(Debug)]
pub struct PreparedPatch {
    twin: Twin,
    ops: Vec<patch::Operation>,
    /// The etag of the twin the patch was prepared over.
    base_etag: u64,
}

#[derive(Debug, Default)]
pub struct TenantGraph {
    limits: Limits,
    set: ModelSet,
    /// Grows each time `set` is rebuilt (`model_set_version`).
    set_version: u64,
    models: BTreeMap<String, StoredModel>,
    /// Twins and relationships, with their indexes.
    nodes: Nodes,
    /// The last version handed out; ETags are versions, unique within the tenant.
    version: u64,
    /// Which relationships are containment.
    containment: Containment,
    /// The containment tree over `nodes`' slots, in step with its relationships.
    tree: Tree,
    /// Containment relationships that loading kept outside the tree.
    violations: Violations,
    /// Twins by the text of an `INDEXED_PROPERTIES` property.
    by_property: HashMap<(u8, String), Vec<u32>>,
}

/// The top-level properties whose string values the graph indexes, ignoring ASCII case, so a twin is found by one without a scan: the hardware ids of devices and sensors, which telemetry and provisioning name them by (MAC addresses are written in either case).
pub const INDEXED_PROPERTIES: [&str; 1] = ["hardwareId"];

impl TenantGraph {
    /// An empty graph without containment.
    pub fn new(limits: Limits) -> Self {
        TenantGraph { limits, ..TenantGraph::default() }
    }

    /// An empty graph whose containment tree follows `containment`.
    pub fn with_containment(limits: Limits, containment: Containment) -> Self {
        TenantGraph { limits, containment, ..TenantGraph::default() }
    }

    pub fn model_set(&self) -> &ModelSet {
        &self.set
    }

    /// Grows each time the model set changes (models added, replaced, decommissioned or deleted; loaded at start-up), so a caller can keep what it derives from the set until this moves; a new graph starts again from 0.
    pub fn model_set_version(&self) -> u64 {
        self.set_version
    }

    pub fn twin_count(&self) -> usize {
        self.nodes.twin_count()
    }

    pub fn relationship_count(&self) -> usize {
        self.nodes.relationship_count()
    }

    /// The last version handed out (ETags are versions): grows with every twin and relationship written.
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn model_count(&self) -> usize {
        self.models.len()
    }

    // ---- loading (start-up) ----

    /// Restores stored models, then rebuilds the model set once; call before loading twins.
    pub fn load_models(&mut self, models: Vec<StoredModel>) -> Result<(), GraphError> {
        for m in models {
            self.models.insert(m.id.to_string(), m);
        }
        self.set = self.parse_models(&[])?;
        self.set_version += 1;
        Ok(())
    }

    pub fn load_twin(&mut self, twin: Twin) {
        self.version = self.version.max(twin.etag);
        self.insert_twin(twin);
    }

    /// The twins whose `property` (one of `INDEXED_PROPERTIES`) is the string `value`, ignoring ASCII case; empty for a property not indexed.
    pub fn slots_with_property(&self, property: &str, value: &str) -> &[u32] {
        let Some(at) = INDEXED_PROPERTIES.iter().position(|p| *p == property) else { return &[] };
        self.by_property.get(&(at as u8, value.to_ascii_lowercase())).map_or(&[], Vec::as_slice)
    }

    /// The indexed properties' values of a twin.
    fn indexed_values(twin: &Twin) -> Vec<(u8, String)> {
        let mut values = Vec::new();
        for (at, name) in INDEXED_PROPERTIES.iter().enumerate() {
            if let Some(Value::String(mut value)) = twin.property(name) {
                value.make_ascii_lowercase();
                values.push((at as u8, value));
            }
        }
        values
    }

    fn index_properties(&mut self, values: Vec<(u8, String)>, slot: u32, add: bool) {
        for key in values {
            if add {
                self.by_property.entry(key).or_default().push(slot);
            } else if let Some(slots) = self.by_property.get_mut(&key) {
                slots.retain(|&s| s != slot);
                if slots.is_empty() {
                    self.by_property.remove(&key);
                }
            }
        }
    }

    /// Restores a stored relationship; false (and nothing restored) when its source or target twin is not loaded.
    ///
    /// Stored data may break the containment rule (it was written before the rule, or under another declaration): a containment relationship that would give its child a second parent or make a cycle is still restored, but kept outside the tree, and counted in `containment_violations`.
    /// So the first parent found wins, and no data is lost.
    pub fn load_relationship(&mut self, relationship: Relationship) -> bool {
        self.version = self.version.max(relationship.etag);
        let (Some(source), Some(target)) =
            (self.nodes.slot(&relationship.source), self.nodes.slot(&relationship.target))
        else {
            return false;
        };
        if let Some(replaced) = self.nodes.put_relationship_at(&relationship, source, target) {
            self.forget_containment(&replaced);
        }
        let Some(role) = self.containment.role(&relationship.name) else { return true };
        let (parent, child) = pair(role, source, target);
        match self.tree.check(parent, child, None) {
            Ok(()) => self.tree.link(parent, child),
            Err(refusal) => {
                self.tree.keep_outside(parent, child);
                let named = Named { id: &relationship.id, name: &relationship.name, source: &relationship.source };
                let error = self.containment_refusal(refusal, parent, child, &named);
                self.violations.record(|| error.to_string());
            }
        }
        true
    }

    /// Containment relationships that loading kept outside the tree; empty unless stored data broke the rule.
    pub fn containment_violations(&self) -> &Violations {
        &self.violations
    }

    // ---- containment ----

    /// Which relationships place a twin inside another.
    pub fn containment(&self) -> &Containment {
        &self.containment
    }

    /// Declares containment anew and rebuilds the tree from every relationship (in time proportional to the graph).
    /// Refused, with nothing changed, when the relationships would give a twin a second parent or make a cycle under the new declaration; the error names the first such relationship and how many there are.
    pub fn set_containment(&mut self, containment: Containment) -> Result<(), GraphError> {
        let mut tree = Tree::default();
        let mut first: Option<GraphError> = None;
        let mut count = 0usize;
        for source in self.nodes.live_slots() {
            for edge in self.nodes.outgoing_at(source) {
                let Some(role) = containment.role(edge.name) else { continue };
                let (parent, child) = pair(role, edge.source, edge.target);
                match tree.check(parent, child, None) {
                    Ok(()) => tree.link(parent, child),
                    Err(refusal) => {
                        count += 1;
                        if first.is_none() {
                            let source = self.nodes.twin_at(edge.source).map_or("?", |t| t.id.as_str());
                            let named = Named { id: edge.id, name: edge.name, source };
                            first = Some(self.containment_refusal_in(&tree, refusal, parent, child, &named));
                        }
                    }
                }
            }
        }
        if let Some(GraphError::Conflict { reason, message }) = first {
            return Err(GraphError::conflict(
                reason,
                format!(
                    "the relationships break the containment rule under this declaration in {count} place(s); the first: {message}"
                ),
            ));
        }
        self.containment = containment;
        self.tree = tree;
        self.violations = Violations::default();
        Ok(())
    }

    /// The containment parent of the twin in a slot.
    pub fn parent_at(&self, slot: u32) -> Option<u32> {
        self.tree.parent(slot)
    }

    /// The twins the one in a slot contains directly, in the order they joined it.
    pub fn children_at(&self, slot: u32) -> impl Iterator<Item = u32> + '_ {
        self.tree.children(slot)
    }

    /// Containment steps from the twin in a slot up to its root: 0 for a twin without a parent.
    pub fn depth_at(&self, slot: u32) -> u32 {
        self.tree.depth(slot)
    }

    /// Twins in the subtree of the twin in a slot, the twin included.
    pub fn subtree_size_at(&self, slot: u32) -> usize {
        self.tree.size(slot) as usize
    }

    /// The ancestors of the twin in a slot, its parent first and its root last.
    pub fn ancestors_at(&self, slot: u32) -> impl Iterator<Item = u32> + '_ {
        self.tree.ancestors(slot)
    }

    /// The ids from the root down to the twin in a slot, the twin last (the 2018 API's path of ids from the root space down).
    pub fn path_at(&self, slot: u32) -> Vec<&str> {
        let mut path: Vec<&str> = std::iter::once(slot)
            .chain(self.tree.ancestors(slot))
            .filter_map(|s| self.nodes.twin_at(s).map(|t| t.id.as_str()))
            .collect();
        path.reverse();
        path
    }

    /// Whether the twin in `slot` is the one in `ancestor` or lies below it; walks up the difference in depth.
    pub fn is_within(&self, slot: u32, ancestor: u32) -> bool {
        self.tree.is_within(slot, ancestor)
    }

    /// The subtree of the twin in a slot, in pre-order with the twin first; allocation-free.
    pub fn subtree_at(&self, slot: u32) -> impl Iterator<Item = u32> + '_ {
        self.tree.subtree(slot)
    }

    // ---- models ----

    pub fn models(&self) -> impl Iterator<Item = &StoredModel> {
        self.models.values()
    }

    pub fn model(&self, id: &str) -> Option<&StoredModel> {
        self.models.get(id)
    }

    /// The given models and everything they depend on (extends and component schemas, transitively), in id order.
    pub fn models_with_dependencies(&self, ids: &[String]) -> Result<Vec<&StoredModel>, GraphError> {
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        let mut stack: Vec<String> = Vec::new();
        for id in ids {
            if !self.models.contains_key(id) {
                return Err(GraphError::not_found(Missing::Model, format!("there is no model with id '{id}'")));
            }
            stack.push(id.clone());
        }
        while let Some(id) = stack.pop() {
            if !wanted.insert(id.clone()) {
                continue;
            }
            if let Some(interface) = self.set.get(&id) {
                stack.extend(interface.extends.iter().map(ToString::to_string));
                for c in &interface.contents {
                    if let ContentKind::Component { schema } = &c.kind {
                        stack.push(schema.to_string());
                    }
                }
            }
        }
        Ok(wanted.iter().filter_map(|id| self.models.get(id)).collect())
    }

    /// Uploads models all-or-nothing, validated as one set with the models already stored.
    pub fn upload_models(
        &mut self,
        documents: Vec<Value>,
        now: &str,
    ) -> Result<(Vec<StoredModel>, Vec<Change>), GraphError> {
        if documents.is_empty() {
            return Err(GraphError::invalid(Invalid::InvalidArgument, "the request must contain at least one model"));
        }
        if documents.len() > self.limits.models_per_upload_max {
            return Err(GraphError::LimitExceeded {
                what: "models per upload",
                limit: self.limits.models_per_upload_max,
                actual: documents.len(),
            });
        }
        if self.models.len() + documents.len() > self.limits.models_max {
            return Err(GraphError::LimitExceeded {
                what: "models",
                limit: self.limits.models_max,
                actual: self.models.len() + documents.len(),
            });
        }
        let mut new_ids = Vec::with_capacity(documents.len());
        for (i, doc) in documents.iter().enumerate() {
            let Some(id) = doc.get("@id").and_then(Value::as_str) else {
                return Err(GraphError::invalid(
                    Invalid::DtdlParserError,
                    format!("model {i}: a top-level element needs an \"@id\" that is a DTMI"),
                ));
            };
            let Some(dtmi) = Dtmi::parse(id) else {
                return Err(GraphError::invalid(
                    Invalid::DtdlParserError,
                    format!("model {i}: '{id}' is not a valid DTMI"),
                ));
            };
            if self.models.contains_key(id) {
                return Err(GraphError::conflict(Clash::ModelAlreadyExists, format!("model '{id}' already exists")));
            }
            if new_ids.contains(&dtmi) {
                return Err(GraphError::invalid(
                    Invalid::DtdlParserError,
                    format!("model '{id}' appears twice in the request"),
                ));
            }
            new_ids.push(dtmi);
        }
        let set = self.parse_models(&documents)?;
        let stored: Vec<StoredModel> = new_ids
            .into_iter()
            .zip(documents)
            .map(|(id, document)| StoredModel { id, document, upload_time: now.to_owned(), decommissioned: false })
            .collect();
        for m in &stored {
            self.models.insert(m.id.to_string(), m.clone());
        }
        self.set = set;
        self.set_version += 1;
        let changes = stored.iter().cloned().map(Change::ModelPut).collect();
        Ok((stored, changes))
    }

    /// Applies a model's JSON Patch: only `replace /decommissioned` with `true` is allowed (decommissioning cannot be undone).
    pub fn patch_model(&mut self, id: &str, patch_doc: &Value) -> Result<Vec<Change>, GraphError> {
        let ops = patch::parse(patch_doc)?;
        let Some(current) = self.models.get(id) else {
            return Err(GraphError::not_found(Missing::Model, format!("there is no model with id '{id}'")));
        };
        let mut updated = current.clone();
        for op in &ops {
            let ok = op.op == OpKind::Replace && op.path == ["decommissioned"] && op.value == Some(Value::Bool(true));
            if !ok {
                return Err(GraphError::invalid(
                    Invalid::JsonPatchInvalid,
                    "only {\"op\": \"replace\", \"path\": \"/decommissioned\", \"value\": true} is allowed on a model",
                ));
            }
            updated.decommissioned = true;
        }
        self.models.insert(id.to_owned(), updated.clone());
        Ok(vec![Change::ModelPut(updated)])
    }

    /// Deletes a model that no other model and no twin references.
    pub fn delete_model(&mut self, id: &str) -> Result<Vec<Change>, GraphError> {
        if !self.models.contains_key(id) {
            return Err(GraphError::not_found(Missing::Model, format!("there is no model with id '{id}'")));
        }
        let dependents: Vec<String> = self
            .models
            .keys()
            .filter(|other| other.as_str() != id)
            .filter(|other| {
                self.models_with_dependencies(std::slice::from_ref(*other))
                    .is_ok_and(|deps| deps.iter().any(|d| d.id.as_str() == id))
            })
            .cloned()
            .collect();
        if !dependents.is_empty() {
            return Err(GraphError::conflict(
                Clash::ModelReferencesNotDeleted,
                format!("model '{id}' is referenced by {}; delete those first", dependents.join(", ")),
            ));
        }
        let users = self.nodes.count_of_model(id);
        if users > 0 {
            return Err(GraphError::conflict(
                Clash::ModelReferencesNotDeleted,
                format!("model '{id}' is the model of {users} twin(s); delete them first"),
            ));
        }
        let removed = self.models.remove(id);
        match self.parse_models(&[]) {
            Ok(set) => {
                self.set = set;
                self.set_version += 1;
            }
            Err(e) => {
                if let Some(m) = removed {
                    self.models.insert(id.to_owned(), m);
                }
                return Err(e);
            }
        }
        Ok(vec![Change::ModelDeleted(id.to_owned())])
    }

    /// Parses the stored models together with `extra` as one set; any error or missing dependency rejects.
    fn parse_models(&self, extra: &[Value]) -> Result<ModelSet, GraphError> {
        let documents: Vec<Document> = self
            .models
            .values()
            .map(|m| &m.document)
            .chain(extra)
            .enumerate()
            .map(|(i, d)| Document { name: format!("model {i}"), text: d.to_string() })
            .collect();
        let outcome = model::parse(&documents, &Options::default());
        let errors: Vec<String> = outcome
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| {
                let id = documents[d.document].text.as_str();
                let id = serde_json::from_str::<Value>(id)
                    .ok()
                    .and_then(|v| v.get("@id").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_default();
                format!("{id}: {} at {}: {}", d.code, if d.pointer.is_empty() { "/" } else { &d.pointer }, d.message)
            })
            .collect();
        if !errors.is_empty() {
            return Err(GraphError::invalid(
                Invalid::DtdlParserError,
                format!("none of the models in this request could be created: {}", errors.join("; ")),
            ));
        }
        if outcome.is_incomplete() {
            return Err(GraphError::invalid(
                Invalid::DtdlParserError,
                format!(
                    "none of the models in this request could be created: these models are referenced but neither uploaded nor in the request: {}",
                    outcome.unresolved.join(", ")
                ),
            ));
        }
        Ok(outcome.set)
    }

    // ---- twins ----

    pub fn twin(&self, id: &str) -> Option<&Twin> {
        self.nodes.twin(id)
    }

    /// The ids of the twins of a model, sorted: with `SubtypesAndLaterVersions`, also those of every model that extends it or is a later version (the query language's `IS_OF_MODEL`), found through the by-model index rather than a scan of the twins.
    pub fn twins_of_model(&self, model: &str, how: ModelMatch) -> Vec<&str> {
        let mut ids = self.nodes.twins_of_models(|candidate| self.set.is_a(candidate, model, how));
        ids.sort_unstable();
        ids
    }

    /// Every twin, in no particular order.
    pub fn twins(&self) -> impl Iterator<Item = &Twin> {
        self.nodes.twins()
    }

    // ---- reads by slot (the query engine) ----
    //
    // A slot is a twin's 32-bit place in the graph's storage: stable while the graph is not written, reused after a
    // delete. Walking slots and `EdgeRef`s avoids the id lookups and copies of the id-based reads.

    /// The slot of a twin.
    pub fn slot(&self, id: &str) -> Option<u32> {
        self.nodes.slot(id)
    }

    /// The twin in a slot, if the slot is live.
    pub fn twin_at(&self, slot: u32) -> Option<&Twin> {
        self.nodes.twin_at(slot)
    }

    /// One more than the highest slot in use: a bound for tables indexed by slot.
    pub fn slot_bound(&self) -> usize {
        self.nodes.slot_bound()
    }

    /// The slots of every twin, ascending.
    pub fn slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.nodes.live_slots()
    }

    /// The slots of the twins of a model with `is_a` semantics (see `twins_of_model`), in no particular order.
    pub fn slots_of_model(&self, model: &str, how: ModelMatch) -> Vec<u32> {
        self.nodes.slots_of_models(|candidate| self.set.is_a(candidate, model, how))
    }

    /// How many twins `slots_of_model` would give, without listing them.
    pub fn count_of_model(&self, model: &str, how: ModelMatch) -> usize {
        self.nodes.count_of_models(|candidate| self.set.is_a(candidate, model, how))
    }

    /// The outgoing relationships of the twin in a slot, by relationship id.
    pub fn outgoing_at(&self, slot: u32) -> impl Iterator<Item = EdgeRef<'_>> + '_ {
        self.nodes.outgoing_at(slot)
    }

    /// The incoming relationships of the twin in a slot, by source slot and relationship id.
    pub fn incoming_at(&self, slot: u32) -> impl Iterator<Item = EdgeRef<'_>> + '_ {
        self.nodes.incoming_at(slot)
    }

    /// The relationship an `EdgeRef` views, as the id-based reads give it (so its wire JSON is `Relationship::to_json`).
    pub fn relationship_at(&self, edge: &EdgeRef<'_>) -> Relationship {
        let id_of = |slot: u32| self.twin_at(slot).map_or_else(String::new, |t| t.id.clone());
        Relationship {
            id: edge.id.to_owned(),
            source: id_of(edge.source),
            target: id_of(edge.target),
            name: edge.name.to_owned(),
            etag: edge.etag,
            properties: edge.properties.cloned().unwrap_or_default(),
        }
    }

    /// The id of a relationship name in this graph, `None` when no relationship ever had that name (so none has it now).
    /// Ids are never reused or taken back while the graph lives, so a query resolves its names once; they are not stored and differ between graphs.
    pub fn relationship_name_id(&self, name: &str) -> Option<u32> {
        self.nodes.name_id(name)
    }

    /// `outgoing_at`, keeping only the relationships whose name id is in `names` (an empty list keeps none).
    pub fn outgoing_named_at(&self, slot: u32, names: &[u32]) -> impl Iterator<Item = EdgeRef<'_>> {
        self.nodes.outgoing_named_at(slot, names)
    }

    /// `incoming_at`, keeping only the relationships whose name id is in `names` (an empty list keeps none); each target keeps the name ids of its incoming relationships, so the others cost no lookup in their source's list.
    pub fn incoming_named_at(&self, slot: u32, names: &[u32]) -> impl Iterator<Item = EdgeRef<'_>> {
        self.nodes.incoming_named_at(slot, names)
    }

    /// The source slots of `incoming_named_at`, read from the target's own list (no lookup in each source's list);
    /// a source with several such relationships comes once per relationship.
    pub fn incoming_sources_named_at(&self, slot: u32, names: &[u32]) -> impl Iterator<Item = u32> {
        self.nodes.incoming_sources_named_at(slot, names)
    }

    /// Creates or replaces a twin (PUT).
    pub fn put_twin(
        &mut self,
        id: &str,
        body: Value,
        condition: &Precondition,
        now: &str,
    ) -> Result<(Twin, Vec<Change>), GraphError> {
        self.check_id(id, "twin")?;
        let existing = self.nodes.twin(id);
        check_precondition(condition, existing.map(|t| t.etag), "twin", id)?;
        let Value::Object(mut doc) = body else {
            return Err(GraphError::invalid(Invalid::InvalidArgument, "a twin must be a JSON object"));
        };
        doc.shift_remove("$dtId");
        doc.shift_remove("$etag");
        let model_id =
            doc.get("$metadata").and_then(|m| m.get("$model")).and_then(Value::as_str).map(str::to_owned).ok_or_else(
                || {
                    GraphError::invalid(
                        Invalid::ValidationFailed,
                        "a twin needs \"$metadata\": {\"$model\": \"<model id>\"}",
                    )
                },
            )?;
        self.check_model_usable(&model_id)?;
        if existing.is_none() && self.nodes.twin_count() >= self.limits.twins_max {
            return Err(GraphError::LimitExceeded {
                what: "twins",
                limit: self.limits.twins_max,
                actual: self.nodes.twin_count() + 1,
            });
        }
        let doc = self.stamp_new_document(&model_id, doc, now)?;
        self.validate_twin(&model_id, &doc, None)?;
        let twin = Twin::new(id.to_owned(), self.version + 1, &doc);
        self.check_twin_size(&twin)?;
        self.version += 1;
        let change = match self.nodes.twin(id) {
            None => Change::TwinCreated(twin.clone()),
            Some(old) => Change::TwinUpdated { twin: twin.clone(), patch: replacement_patch(old, &twin) },
        };
        self.insert_twin(twin.clone());
        Ok((twin, vec![change]))
    }

    /// Applies a JSON Patch to a twin (PATCH): properties, components, `$metadata/$model` and `$metadata/<property>/sourceTime`.
    pub fn patch_twin(
        &mut self,
        id: &str,
        patch_doc: &Value,
        condition: &Precondition,
        now: &str,
    ) -> Result<(Twin, Vec<Change>), GraphError> {
        let prepared = self.prepare_patch(id, patch_doc, condition, now)?;
        self.apply_prepared(prepared)
    }

    /// `patch_twin` with the patch's operations already parsed (`patch::parse`), as a caller that makes the same patch for every message builds them, without writing and parsing its JSON.
    pub fn patch_twin_ops(
        &mut self,
        id: &str,
        ops: Vec<Operation>,
        condition: &Precondition,
        now: &str,
    ) -> Result<(Twin, Vec<Change>), GraphError> {
        let prepared = self.prepare_patch_ops(id, ops, condition, now)?;
        self.apply_prepared(prepared)
    }

    /// Checks a patch as `patch_twin` would and prepares the twin it makes, changing nothing; `apply_prepared` stores it.
    /// A caller that must apply patches to several twins all or none prepares them all first.
    pub fn prepare_patch(
        &self,
        id: &str,
        patch_doc: &Value,
        condition: &Precondition,
        now: &str,
    ) -> Result<PreparedPatch, GraphError> {
        let ops = self.parse_patch(id, patch_doc, condition)?;
        self.prepare_patch_ops(id, ops, condition, now)
    }

    /// `prepare_patch` with the operations already parsed, as `patch_twin_ops` takes them.
    pub fn prepare_patch_ops(
        &self,
        id: &str,
        ops: Vec<Operation>,
        condition: &Precondition,
        now: &str,
    ) -> Result<PreparedPatch, GraphError> {
        let base_etag = self.nodes.twin(id).map(|t| t.etag);
        let (twin, ops) = self.patched_ops(id, ops, condition, now)?;
        Ok(PreparedPatch { twin, ops, base_etag: base_etag.unwrap_or_default() })
    }

    /// Stores a patch `prepare_patch` prepared; refused (412) when the twin changed since, which a caller holding the graph between the two never sees.
    pub fn apply_prepared(&mut self, prepared: PreparedPatch) -> Result<(Twin, Vec<Change>), GraphError> {
        let PreparedPatch { mut twin, ops, base_etag } = prepared;
        if self.nodes.twin(&twin.id).map(|t| t.etag) != Some(base_etag) {
            return Err(GraphError::conflict(
                Clash::PreconditionFailed,
                format!("twin '{}' changed after its patch was prepared", twin.id),
            ));
        }
        self.version += 1;
        twin.etag = self.version;
        let patch = ops.iter().map(op_json).collect();
        if ops.iter().any(|op| INDEXED_PROPERTIES.contains(&op.path[0].as_str())) {
            self.insert_twin(twin.clone());
        } else {
            // The indexed properties are top-level members the patch did not touch, so their index stays as it is.
            self.nodes.put_twin(twin.clone());
        }
        Ok((twin.clone(), vec![Change::TwinUpdated { twin, patch }]))
    }

    /// Whether `patch_twin` would take this patch now, changing nothing: the same checks, so a caller that must apply several patches all or none can check them first.
    pub fn check_patch(
        &self,
        id: &str,
        patch_doc: &Value,
        condition: &Precondition,
        now: &str,
    ) -> Result<(), GraphError> {
        let ops = self.parse_patch(id, patch_doc, condition)?;
        self.check_patch_ops(id, ops, condition, now)
    }

    /// `check_patch` with the operations already parsed, as `patch_twin_ops` takes them.
    pub fn check_patch_ops(
        &self,
        id: &str,
        ops: Vec<Operation>,
        condition: &Precondition,
        now: &str,
    ) -> Result<(), GraphError> {
        self.patched_ops(id, ops, condition, now).map(|_| ())
    }

    /// The operations of the JSON Patch `patch_doc` of twin `id`; the twin and the precondition are answered before the patch is read, as ADT does.
    fn parse_patch(&self, id: &str, patch_doc: &Value, condition: &Precondition) -> Result<Vec<Operation>, GraphError> {
        self.twin_to_patch(id, condition)?;
        patch::parse(patch_doc)
    }

    /// The twin `id`, when it exists and `condition` holds for it.
    fn twin_to_patch(&self, id: &str, condition: &Precondition) -> Result<&Twin, GraphError> {
        let Some(current) = self.nodes.twin(id) else {
            return Err(GraphError::not_found(Missing::Twin, format!("there is no twin with id '{id}'")));
        };
        check_precondition(condition, Some(current.etag), "twin", id)?;
        Ok(current)
    }

    /// The twin a patch of `ops` makes, and the operations, without storing it.
    fn patched_ops(
        &self,
        id: &str,
        ops: Vec<Operation>,
        condition: &Precondition,
        now: &str,
    ) -> Result<(Twin, Vec<patch::Operation>), GraphError> {
        let current = self.twin_to_patch(id, condition)?;
        if ops.iter().any(|op| op.path.is_empty()) {
            return Err(GraphError::invalid(
                Invalid::JsonPatchInvalid,
                "a patch operation needs a path below the twin",
            ));
        }
        for op in &ops {
            self.check_twin_patch_path(op)?;
        }
        if self.sets_properties_only(current, &ops) {
            return self.patched_members(current, ops, now);
        }
        self.patched_document(current, ops, now)
    }

    /// `patched` the general way: the whole document parsed, patched, checked and written again.
    fn patched_document(
        &self,
        current: &Twin,
        ops: Vec<Operation>,
        now: &str,
    ) -> Result<(Twin, Vec<Operation>), GraphError> {
        let id = current.id.as_str();
        let mut doc = current.doc();
        let mut model_id = current.model().to_owned();
        for op in &ops {
            if op.path == ["$metadata", "$model"] {
                let Some(Value::String(new_model)) = &op.value else {
                    return Err(GraphError::invalid(
                        Invalid::JsonPatchInvalid,
                        "\"$metadata/$model\" must be replaced with a model id",
                    ));
                };
                if op.op != OpKind::Replace {
                    return Err(GraphError::invalid(
                        Invalid::JsonPatchInvalid,
                        "\"$metadata/$model\" can only be replaced",
                    ));
                }
                self.check_model_usable(new_model)?;
                model_id = new_model.clone();
            }
            patch::apply(&mut doc, op)?;
            stamp_after_op(&mut doc, op, now);
        }
        if let Some(Value::Object(meta)) = doc.get_mut("$metadata") {
            meta.insert("$lastUpdateTime".to_owned(), Value::String(now.to_owned()));
        }
        // Only the members the patch touched need checking again, unless the model changed.
        let touched: BTreeSet<&str> = ops.iter().map(|op| op.path[0].as_str()).filter(|k| *k != "$metadata").collect();
        let only = (model_id == current.model()).then_some(&touched);
        self.validate_twin(&model_id, &doc, only)?;
        let twin = Twin::new(id.to_owned(), self.version + 1, &doc);
        self.check_twin_size(&twin)?;
        Ok((twin, ops))
    }

    /// Whether every operation changes one top-level property (no component, no `$metadata`): adds or replaces it whole, or changes something inside it (a map's entry, an object's field), the common patches of values, which `patched_members` makes without parsing the rest of the twin.
    fn sets_properties_only(&self, current: &Twin, ops: &[Operation]) -> bool {
        ops.iter().all(|op| {
            let name = &op.path[0];
            let inside = op.path.len() > 1;
            (inside || matches!(op.op, OpKind::Add | OpKind::Replace))
                && !name.starts_with('$')
                && !op.path.iter().any(|token| token == "$metadata")
                && !matches!(
                    self.set.content(current.model(), name).map(|c| &c.kind),
                    Some(ContentKind::Component { .. })
                )
        })
    }

    /// `patched` for a patch `sets_properties_only` accepts: only the members it touches are parsed, changed and checked, and written back into the twin's text with their `$metadata` entries stamped in its text, everything else's text kept as it is; the twin is the one the whole-document path makes.
    fn patched_members(
        &self,
        current: &Twin,
        ops: Vec<Operation>,
        now: &str,
    ) -> Result<(Twin, Vec<Operation>), GraphError> {
        let mut touched: Vec<&str> = Vec::new();
        for op in &ops {
            if !touched.contains(&op.path[0].as_str()) {
                touched.push(op.path[0].as_str());
            }
        }
        // Only a `replace` and a change inside a member need the member; an `add` of a whole member sets it whatever it was.
        let mut doc = Map::with_capacity(touched.len());
        for name in touched.iter().copied() {
            if ops.iter().any(|op| (op.op == OpKind::Replace || op.path.len() > 1) && op.path[0] == name)
                && let Some(value) = current.property(name)
            {
                doc.insert(name.to_owned(), value);
            }
        }
        // `$metadata` is stamped in its text by `with_stamped_members`, as `stamp_after_op` and `patched_document` stamp it.
        for op in &ops {
            // A member holding `$metadata` is stamped as a component is: the whole-document path does that.
            if op.path.len() > 1 && doc.get(&op.path[0]).and_then(|member| member.get("$metadata")).is_some() {
                return self.patched_document(current, ops, now);
            }
            patch::apply(&mut doc, op)?;
        }
        // Checked in the order the whole-document path checks them (the twin's members in its order, then new ones), so both name the same first refusal.
        let mut order: Vec<usize> = (0..touched.len()).collect();
        if touched.len() > 1 {
            let offsets = current.member_offsets(&touched);
            order.sort_by_key(|&i| (offsets[i].is_none(), offsets[i]));
        }
        for &i in &order {
            if let Some(value) = doc.get(touched[i]) {
                self.check_member(current.model(), touched[i], value)?;
            }
        }
        let members: Vec<(&str, &Value)> =
            touched.iter().filter_map(|name| doc.get(*name).map(|value| (*name, value))).collect();
        let Some(twin) = current.with_stamped_members(self.version + 1, &members, now) else {
            return self.patched_document(current, ops, now);
        };
        self.check_twin_size(&twin)?;
        Ok((twin, ops))
    }

    /// Deletes a twin; with relationships left it is refused unless `cascade` removes them too.
    pub fn delete_twin(
        &mut self,
        id: &str,
        condition: &Precondition,
        cascade: bool,
    ) -> Result<Vec<Change>, GraphError> {
        let Some(current) = self.nodes.twin(id) else {
            return Err(GraphError::not_found(Missing::Twin, format!("there is no twin with id '{id}'")));
        };
        check_precondition(condition, Some(current.etag), "twin", id)?;
        let (outgoing, incoming) = (self.nodes.outgoing_len(id), self.nodes.incoming_len(id));
        if (outgoing > 0 || incoming > 0) && !cascade {
            return Err(GraphError::invalid(
                Invalid::RelationshipsNotDeleted,
                format!(
                    "twin '{id}' still has {} outgoing and {} incoming relationship(s); delete them first",
                    outgoing, incoming
                ),
            ));
        }
        let mut changes = Vec::new();
        for (source, rel) in self.nodes.touching(id) {
            if let Some(r) = self.nodes.remove_relationship(&source, &rel) {
                self.forget_containment(&r);
                changes.push(Change::RelationshipDeleted(r));
            }
        }
        let slot = self.nodes.slot(id).expect("checked above");
        self.tree.release(slot);
        let twin = self.nodes.remove_twin(id).expect("checked above");
        self.index_properties(TenantGraph::indexed_values(&twin), slot, false);
        changes.push(Change::TwinDeleted(twin));
        Ok(changes)
    }

    /// A component of a twin, as ADT returns it.
    pub fn component(&self, id: &str, name: &str) -> Result<(Value, u64), GraphError> {
        let twin = self
            .nodes
            .twin(id)
            .ok_or_else(|| GraphError::not_found(Missing::Twin, format!("there is no twin with id '{id}'")))?;
        let is_component =
            matches!(self.set.content(twin.model(), name).map(|c| &c.kind), Some(ContentKind::Component { .. }));
        match twin.doc().shift_remove(name) {
            Some(v) if is_component => Ok((v, twin.etag)),
            _ => Err(GraphError::not_found(Missing::Component, format!("twin '{id}' has no component '{name}'"))),
        }
    }

    /// Applies a JSON Patch relative to one component of a twin.
    pub fn patch_component(
        &mut self,
        id: &str,
        name: &str,
        patch_doc: &Value,
        condition: &Precondition,
        now: &str,
    ) -> Result<(Twin, Vec<Change>), GraphError> {
        self.component(id, name)?;
        let ops = patch::parse(patch_doc)?;
        let prefixed: Vec<Value> = ops
            .iter()
            .map(|op| {
                let mut path = vec![name.to_owned()];
                path.extend(op.path.iter().cloned());
                op_json(&Operation { op: op.op, path, value: op.value.clone() })
            })
            .collect();
        self.patch_twin(id, &Value::Array(prefixed), condition, now)
    }

    // ---- relationships ----

    pub fn relationship(&self, source: &str, id: &str) -> Result<Relationship, GraphError> {
        if !self.nodes.contains(source) {
            return Err(GraphError::not_found(Missing::Twin, format!("there is no twin with id '{source}'")));
        }
        self.nodes.relationship(source, id).ok_or_else(|| {
            GraphError::not_found(Missing::Relationship, format!("twin '{source}' has no relationship '{id}'"))
        })
    }

    /// Outgoing relationships of a twin, by relationship id, optionally only those with a name.
    pub fn relationships(&self, source: &str, name: Option<&str>) -> Result<Vec<Relationship>, GraphError> {
        if !self.nodes.contains(source) {
            return Err(GraphError::not_found(Missing::Twin, format!("there is no twin with id '{source}'")));
        }
        Ok(self.nodes.outgoing(source, name))
    }

    /// Incoming relationships of a twin, ordered by source and relationship id.
    pub fn incoming(&self, target: &str) -> Result<Vec<Relationship>, GraphError> {
        if !self.nodes.contains(target) {
            return Err(GraphError::not_found(Missing::Twin, format!("there is no twin with id '{target}'")));
        }
        Ok(self.nodes.incoming(target))
    }

    /// Every relationship, in no particular order.
    pub fn all_relationships(&self) -> impl Iterator<Item = Relationship> + '_ {
        self.nodes.all_relationships()
    }

    /// Creates or replaces a relationship (PUT).
    pub fn put_relationship(
        &mut self,
        source: &str,
        id: &str,
        body: Value,
        condition: &Precondition,
        now: &str,
    ) -> Result<(Relationship, Vec<Change>), GraphError> {
        let _ = now;
        self.check_id(id, "relationship")?;
        let source_twin = self
            .nodes
            .twin(source)
            .ok_or_else(|| GraphError::not_found(Missing::Twin, format!("there is no twin with id '{source}'")))?;
        let existing = self.nodes.relationship(source, id);
        let is_new = existing.is_none();
        check_precondition(condition, existing.as_ref().map(|r| r.etag), "relationship", id)?;
        let Value::Object(mut doc) = body else {
            return Err(GraphError::invalid(Invalid::InvalidArgument, "a relationship must be a JSON object"));
        };
        let mut take = |k: &str| doc.shift_remove(k);
        let target = match take("$targetId") {
            Some(Value::String(t)) => t,
            _ => return Err(GraphError::invalid(Invalid::InvalidArgument, "a relationship needs \"$targetId\"")),
        };
        let name = match take("$relationshipName") {
            Some(Value::String(n)) => n,
            _ => {
                return Err(GraphError::invalid(
                    Invalid::InvalidArgument,
                    "a relationship needs \"$relationshipName\"",
                ));
            }
        };
        for k in ["$relationshipId", "$sourceId", "$etag"] {
            take(k);
        }
        if let Some(k) = doc.keys().find(|k| k.starts_with('$')) {
            return Err(GraphError::invalid(Invalid::InvalidArgument, format!("'{k}' is not a relationship member")));
        }
        if target == source {
            return Err(GraphError::invalid(
                Invalid::OperationNotAllowed,
                "a relationship cannot connect a digital twin to itself",
            ));
        }
        let target_twin = self.nodes.twin(&target).ok_or_else(|| {
            GraphError::not_found(Missing::TargetTwin, format!("the target twin '{target}' does not exist"))
        })?;
        let source_model = source_twin.model().to_owned();
        let declared = match self.set.content(&source_model, &name).map(|c| &c.kind) {
            Some(ContentKind::Relationship { target: declared_target, properties, .. }) => {
                (declared_target.clone(), properties.clone())
            }
            _ => {
                return Err(GraphError::invalid(
                    Invalid::InvalidRelationship,
                    format!("model '{source_model}' of twin '{source}' declares no relationship named '{name}'"),
                ));
            }
        };
        if let Some(t) = &declared.0
            && !self.set.is_a(target_twin.model(), t.as_str(), ModelMatch::SubtypesAndLaterVersions)
        {
            return Err(GraphError::invalid(
                Invalid::InvalidRelationship,
                format!(
                    "relationship '{name}' must target a twin of model '{t}'; '{target}' is of model '{}'",
                    target_twin.model()
                ),
            ));
        }
        self.validate_relationship_properties(&name, &declared.1, &doc)?;
        if is_new {
            let out = self.nodes.outgoing_len(source);
            if out >= self.limits.outgoing_per_twin_max {
                return Err(GraphError::LimitExceeded {
                    what: "outgoing relationships of a twin",
                    limit: self.limits.outgoing_per_twin_max,
                    actual: out + 1,
                });
            }
            let inc = self.nodes.incoming_len(&target);
            if inc >= self.limits.incoming_per_twin_max {
                return Err(GraphError::LimitExceeded {
                    what: "incoming relationships of a twin",
                    limit: self.limits.incoming_per_twin_max,
                    actual: inc + 1,
                });
            }
        }
        let added = self.containment_pair(&name, source, &target);
        let removed = existing.as_ref().and_then(|old| self.containment_pair(&old.name, &old.source, &old.target));
        if added != removed
            && let Some((parent, child)) = added
        {
            // A relationship replaced by one with another target or name is checked as if it were gone already.
            let removing = removed.filter(|pair| !self.tree.is_outside(*pair));
            if let Err(refusal) = self.tree.check(parent, child, removing) {
                let named = Named { id, name: &name, source };
                return Err(self.containment_refusal(refusal, parent, child, &named));
            }
        }
        self.version += 1;
        let relationship = Relationship {
            id: id.to_owned(),
            source: source.to_owned(),
            target,
            name,
            etag: self.version,
            properties: doc,
        };
        if added != removed {
            if let Some((parent, child)) = removed {
                self.tree.unlink(parent, child);
            }
            if let Some((parent, child)) = added {
                self.tree.link(parent, child);
            }
        }
        let change = match self.nodes.put_relationship(&relationship) {
            None => Change::RelationshipCreated(relationship.clone()),
            Some(old) => Change::RelationshipUpdated {
                relationship: relationship.clone(),
                source_model,
                patch: replacement_properties_patch(&old.properties, &relationship.properties),
            },
        };
        Ok((relationship, vec![change]))
    }

    /// Applies a JSON Patch to a relationship's properties.
    pub fn patch_relationship(
        &mut self,
        source: &str,
        id: &str,
        patch_doc: &Value,
        condition: &Precondition,
    ) -> Result<(Relationship, Vec<Change>), GraphError> {
        let current = self.relationship(source, id)?.clone();
        check_precondition(condition, Some(current.etag), "relationship", id)?;
        let ops = patch::parse(patch_doc)?;
        let mut properties = current.properties.clone();
        for op in &ops {
            if op.path[0].starts_with('$') {
                return Err(GraphError::invalid(
                    Invalid::JsonPatchInvalid,
                    format!("'{}' cannot be patched on a relationship", patch::pointer(&op.path)),
                ));
            }
            patch::apply(&mut properties, op)?;
        }
        let source_model = self.nodes.twin(source).map(|t| t.model().to_owned()).unwrap_or_default();
        let declared = match self.set.content(&source_model, &current.name).map(|c| &c.kind) {
            Some(ContentKind::Relationship { properties, .. }) => properties.clone(),
            _ => Vec::new(),
        };
        self.validate_relationship_properties(&current.name, &declared, &properties)?;
        self.version += 1;
        let relationship = Relationship { properties, etag: self.version, ..current };
        self.nodes.put_relationship(&relationship);
        let patch = ops.iter().map(op_json).collect();
        Ok((relationship.clone(), vec![Change::RelationshipUpdated { relationship, source_model, patch }]))
    }

    pub fn delete_relationship(
        &mut self,
        source: &str,
        id: &str,
        condition: &Precondition,
    ) -> Result<Vec<Change>, GraphError> {
        let current = self.relationship(source, id)?;
        check_precondition(condition, Some(current.etag), "relationship", id)?;
        let removed = self.nodes.remove_relationship(source, id).expect("checked above");
        self.forget_containment(&removed);
        Ok(vec![Change::RelationshipDeleted(removed)])
    }

    // ---- helpers ----

    /// The (parent, child) slots a relationship between two live twins places in the tree, if its name is containment.
    fn containment_pair(&self, name: &str, source: &str, target: &str) -> Option<(u32, u32)> {
        let role = self.containment.role(name)?;
        Some(pair(role, self.nodes.slot(source)?, self.nodes.slot(target)?))
    }

    /// Takes a removed relationship out of the tree (its twins are still live).
    fn forget_containment(&mut self, removed: &Relationship) {
        if let Some((parent, child)) = self.containment_pair(&removed.name, &removed.source, &removed.target) {
            self.tree.unlink(parent, child);
        }
    }

    /// The error of a containment relationship the tree refuses, naming the twin, its parents and the relationship.
    fn containment_refusal(&self, refusal: Refusal, parent: u32, child: u32, relationship: &Named<'_>) -> GraphError {
        self.containment_refusal_in(&self.tree, refusal, parent, child, relationship)
    }

    fn containment_refusal_in(
        &self,
        tree: &Tree,
        refusal: Refusal,
        parent: u32,
        child: u32,
        relationship: &Named<'_>,
    ) -> GraphError {
        let id = |slot: u32| self.nodes.twin_at(slot).map_or("?", |t| t.id.as_str());
        let Named { id: rel, source, name } = relationship;
        match refusal {
            Refusal::SecondParent { current } => GraphError::conflict(
                Clash::ContainmentParent,
                format!(
                    "twin '{}' is contained in '{}'; relationship '{rel}' ({name}) of twin '{source}' would also place it in '{}', and a twin has at most one containment parent",
                    id(child),
                    id(current),
                    id(parent)
                ),
            ),
            Refusal::Cycle => {
                let path: Vec<&str> = std::iter::once(parent)
                    .chain(tree.ancestors(parent).take_while(|&up| up != child))
                    .map(id)
                    .collect();
                GraphError::conflict(
                    Clash::ContainmentCycle,
                    format!(
                        "relationship '{rel}' ({name}) of twin '{source}' would place '{}' inside '{}', which lies within '{}' (through {}): containment cannot form a cycle",
                        id(child),
                        id(parent),
                        id(child),
                        path.join(" < ")
                    ),
                )
            }
        }
    }

    fn insert_twin(&mut self, twin: Twin) {
        let values = TenantGraph::indexed_values(&twin);
        if let Some(slot) = self.nodes.slot(&twin.id)
            && let Some(old) = self.nodes.twin_at(slot)
        {
            let old_values = TenantGraph::indexed_values(old);
            // A value write (most writes) leaves the indexed properties as they were.
            if old_values == values {
                self.nodes.put_twin(twin);
                return;
            }
            self.index_properties(old_values, slot, false);
        }
        let id = twin.id.clone();
        self.nodes.put_twin(twin);
        if !values.is_empty()
            && let Some(slot) = self.nodes.slot(&id)
        {
            self.index_properties(values, slot, true);
        }
    }

    fn check_id(&self, id: &str, what: &str) -> Result<(), GraphError> {
        if id.is_empty() || id.len() > self.limits.id_bytes_max || id.contains('\u{0}') {
            return Err(GraphError::invalid(
                Invalid::InvalidArgument,
                format!("a {what} id must be 1 to {} bytes without NUL characters", self.limits.id_bytes_max),
            ));
        }
        Ok(())
    }

    fn check_model_usable(&self, model_id: &str) -> Result<(), GraphError> {
        match self.models.get(model_id) {
            None => Err(GraphError::invalid(Invalid::ValidationFailed, format!("model '{model_id}' is not uploaded"))),
            Some(m) if m.decommissioned => Err(GraphError::invalid(
                Invalid::ModelDecommissioned,
                format!("model '{model_id}' is decommissioned; no new twins may use it"),
            )),
            Some(_) => Ok(()),
        }
    }

    /// Rejects `$` paths other than a model change and a property's `sourceTime`.
    fn check_twin_patch_path(&self, op: &Operation) -> Result<(), GraphError> {
        let p = &op.path;
        let ok = match p[0].as_str() {
            "$metadata" => {
                p.len() == 2 && p[1] == "$model" || (p.len() == 3 && !p[1].starts_with('$') && p[2] == "sourceTime")
            }
            first if first.starts_with('$') => false,
            _ => !p.iter().any(|t| t == "$metadata") || (p.len() >= 3 && p[1] == "$metadata"),
        };
        if ok {
            Ok(())
        } else {
            Err(GraphError::invalid(
                Invalid::JsonPatchInvalid,
                format!("path '{}' cannot be patched", patch::pointer(p)),
            ))
        }
    }

    /// Builds the stored document of a new or replacing twin: service times on every property and component.
    fn stamp_new_document(
        &self,
        model_id: &str,
        mut doc: Map<String, Value>,
        now: &str,
    ) -> Result<Map<String, Value>, GraphError> {
        let given_meta = match doc.shift_remove("$metadata") {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let mut meta = Map::new();
        meta.insert("$model".to_owned(), Value::String(model_id.to_owned()));
        meta.insert("$lastUpdateTime".to_owned(), Value::String(now.to_owned()));
        for (k, v) in doc.iter_mut() {
            let is_component =
                matches!(self.set.content(model_id, k).map(|c| &c.kind), Some(ContentKind::Component { .. }));
            if is_component {
                if let Value::Object(component) = v {
                    let mut cmeta = Map::new();
                    cmeta.insert("$lastUpdateTime".to_owned(), Value::String(now.to_owned()));
                    for ck in component.keys().filter(|k| !k.starts_with('$')) {
                        cmeta.insert(ck.clone(), serde_json::json!({ "lastUpdateTime": now }));
                    }
                    component.insert("$metadata".to_owned(), Value::Object(cmeta));
                }
            } else {
                let mut pmeta = Map::new();
                pmeta.insert("lastUpdateTime".to_owned(), Value::String(now.to_owned()));
                if let Some(source_time) = given_meta.get(k).and_then(|m| m.get("sourceTime")) {
                    pmeta.insert("sourceTime".to_owned(), source_time.clone());
                }
                meta.insert(k.clone(), Value::Object(pmeta));
            }
        }
        doc.insert("$metadata".to_owned(), Value::Object(meta));
        Ok(doc)
    }

    /// Checks a twin document against its model: every member a property or component of the model with a conforming value, every component present, sizes within limits.
    fn check_twin_size(&self, twin: &Twin) -> Result<(), GraphError> {
        let bytes = twin.doc_bytes();
        if bytes > self.limits.twin_bytes_max {
            return Err(GraphError::LimitExceeded {
                what: "twin bytes",
                limit: self.limits.twin_bytes_max,
                actual: bytes,
            });
        }
        Ok(())
    }

    /// Checks a twin document against its model; with `only`, the values of just those members (the rest are known valid).
    fn validate_twin(
        &self,
        model_id: &str,
        doc: &Map<String, Value>,
        only: Option<&BTreeSet<&str>>,
    ) -> Result<(), GraphError> {
        for (k, v) in doc {
            if k == "$metadata" {
                if let Value::Object(meta) = v {
                    for (mk, mv) in meta {
                        if mk.starts_with('$') {
                            continue;
                        }
                        if !doc.contains_key(mk) {
                            return Err(GraphError::invalid(
                                Invalid::ValidationFailed,
                                format!("\"$metadata\" names '{mk}', which the twin does not have"),
                            ));
                        }
                        if let Some(st) = mv.get("sourceTime")
                            && !model::instance::validate(
                                &model::Schema::Primitive(model::schema::Primitive::DateTime),
                                st,
                            )
                            .is_empty()
                        {
                            return Err(GraphError::invalid(
                                Invalid::ValidationFailed,
                                format!("the sourceTime of '{mk}' must be an RFC 3339 date-time"),
                            ));
                        }
                    }
                }
                continue;
            }
            if k.starts_with('$') {
                return Err(GraphError::invalid(Invalid::ValidationFailed, format!("'{k}' is not a twin member")));
            }
            if only.is_some_and(|keys| !keys.contains(k.as_str())) {
                continue;
            }
            self.check_member(model_id, k, v)?;
        }
        for (_, content) in self.set.contents(model_id) {
            if matches!(content.kind, ContentKind::Component { .. }) && !doc.contains_key(&content.name) {
                return Err(GraphError::invalid(
                    Invalid::ValidationFailed,
                    format!(
                        "component '{}' is required; give it as an object (at least {{\"$metadata\": {{}}}})",
                        content.name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks a relationship's properties against those its declaration allows.
    fn validate_relationship_properties(
        &self,
        name: &str,
        declared: &[model::set::RelationshipProperty],
        properties: &Map<String, Value>,
    ) -> Result<(), GraphError> {
        for (k, v) in properties {
            let Some(p) = declared.iter().find(|p| &p.name == k) else {
                return Err(GraphError::invalid(
                    Invalid::ValidationFailed,
                    format!("relationship '{name}' has no property '{k}'"),
                ));
            };
            if let Some(first) = model::instance::validate(&p.schema, v).first() {
                return Err(GraphError::invalid(
                    Invalid::ValidationFailed,
                    format!("property '{k}{}': {}", first.pointer, first.message),
                ));
            }
            self.check_strings(k, v)?;
        }
        Ok(())
    }

    /// Checks one top-level member of a twin of `model_id` against its content in the model, then its strings against the limits; the error names the first violation and counts the others.
    fn check_member(&self, model_id: &str, name: &str, value: &Value) -> Result<(), GraphError> {
        let violations = self.set.validate_content_value(model_id, name, value);
        if let Some(first) = violations.first() {
            let more =
                if violations.len() > 1 { format!(" (and {} more)", violations.len() - 1) } else { String::new() };
            return Err(GraphError::invalid(
                Invalid::ValidationFailed,
                format!("'{name}{}': {}{more}", first.pointer, first.message),
            ));
        }
        self.check_strings(name, value)
    }

    fn check_strings(&self, name: &str, value: &Value) -> Result<(), GraphError> {
        let max = self.limits.string_bytes_max;
        let mut stack = vec![value];
        while let Some(v) = stack.pop() {
            match v {
                Value::String(s) if s.len() > max => {
                    return Err(GraphError::invalid(
                        Invalid::ValidationFailed,
                        format!("a string in '{name}' is {} bytes; at most {max} are allowed", s.len()),
                    ));
                }
                Value::Array(items) => stack.extend(items),
                // Service members (`$metadata` of a component) hold times, not values a client wrote.
                Value::Object(map) => stack.extend(map.iter().filter(|(k, _)| !k.starts_with('$')).map(|(_, v)| v)),
                _ => {}
            }
        }
        Ok(())
    }
}

/// The (parent, child) of a containment relationship from `source` to `target`.
fn pair(role: Role, source: u32, target: u32) -> (u32, u32) {
    match role {
        Role::ParentToChild => (source, target),
        Role::ChildToParent => (target, source),
    }
}

/// A relationship as a containment refusal names it.
struct Named<'a> {
    id: &'a str,
    name: &'a str,
    source: &'a str,
}

fn check_precondition(condition: &Precondition, current: Option<u64>, what: &str, id: &str) -> Result<(), GraphError> {
    match (condition, current) {
        (Precondition::None, _) => Ok(()),
        (Precondition::IfNoneMatchAny, None) => Ok(()),
        (Precondition::IfNoneMatchAny, Some(_)) => Err(GraphError::conflict(
            Clash::PreconditionFailed,
            format!("the {what} '{id}' already exists (If-None-Match: *)"),
        )),
        (Precondition::IfMatch(_), None) => Ok(()),
        (Precondition::IfMatch(tag), Some(version)) => {
            if tag == "*" || *tag == etag_text(version) {
                Ok(())
            } else {
                Err(GraphError::conflict(
                    Clash::PreconditionFailed,
                    format!("the {what} '{id}' has ETag {}, not {tag}", etag_text(version)),
                ))
            }
        }
    }
}

/// Updates the service times after one patch operation: the touched property (or component property) gets `lastUpdateTime`; a removed one loses its metadata.
fn stamp_after_op(doc: &mut Map<String, Value>, op: &Operation, now: &str) {
    let p = &op.path;
    if p[0] == "$metadata" {
        return;
    }
    let component = p.len() >= 2 && doc.get(&p[0]).and_then(|v| v.get("$metadata")).is_some();
    let (meta_owner, property): (Option<&str>, &str) =
        if component && p[1] != "$metadata" { (Some(&p[0]), &p[1]) } else { (None, &p[0]) };
    let meta = match meta_owner {
        Some(c) => doc.get_mut(c).and_then(|v| v.get_mut("$metadata")),
        None => doc.get_mut("$metadata"),
    };
    let Some(Value::Object(meta)) = meta else { return };
    let removed_whole = op.op == OpKind::Remove && p.len() == if meta_owner.is_some() { 2 } else { 1 };
    if removed_whole {
        meta.shift_remove(property);
    } else if property != "$metadata" {
        let entry = meta.entry(property.to_owned()).or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert("lastUpdateTime".to_owned(), Value::String(now.to_owned()));
        }
    }
    if meta_owner.is_some() {
        meta.insert("$lastUpdateTime".to_owned(), Value::String(now.to_owned()));
    }
}

fn op_json(op: &Operation) -> Value {
    let mut out = Map::new();
    out.insert("op".to_owned(), Value::String(op.op.as_str().to_owned()));
    out.insert("path".to_owned(), Value::String(patch::pointer(&op.path)));
    if let Some(v) = &op.value {
        out.insert("value".to_owned(), v.clone());
    }
    Value::Object(out)
}

/// The JSON Patch that turns an old twin into its replacement (for the update event of a PUT).
fn replacement_patch(old: &Twin, new: &Twin) -> Vec<Value> {
    let mut ops = Vec::new();
    if old.model() != new.model() {
        ops.push(serde_json::json!({"op": "replace", "path": "/$metadata/$model", "value": new.model()}));
    }
    let strip = |doc: &Map<String, Value>| -> Map<String, Value> {
        doc.iter().filter(|(k, _)| *k != "$metadata").map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    ops.extend(replacement_properties_patch(&strip(&old.doc()), &strip(&new.doc())));
    ops
}

fn replacement_properties_patch(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<Value> {
    let mut ops = Vec::new();
    for (k, v) in new {
        let path = patch::pointer(std::slice::from_ref(k));
        match old.get(k) {
            None => ops.push(serde_json::json!({"op": "add", "path": path, "value": v})),
            Some(o) if o != v => ops.push(serde_json::json!({"op": "replace", "path": path, "value": v})),
            Some(_) => {}
        }
    }
    for k in old.keys().filter(|k| !new.contains_key(*k)) {
        ops.push(serde_json::json!({"op": "remove", "path": patch::pointer(std::slice::from_ref(k))}));
    }
    ops
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A graph with one model uploaded.
    fn graph_with(model: Value) -> TenantGraph {
        let mut graph = TenantGraph::new(Limits::default());
        graph.upload_models(vec![model], "2026-11-26T12:00:00.0000000Z").expect("a valid model");
        graph
    }

    /// A write that parses the whole document writes its other numbers back exactly as they were.
    #[test]
    fn a_whole_document_write_keeps_other_numbers_exact() {
        let mut graph = graph_with(json!({
            "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Meter;1", "@type": "Interface",
            "contents": [
                { "@type": "Property", "name": "name", "schema": "string" },
                { "@type": "Property", "name": "reading", "schema": "double" }
            ]
        }));
        let twin: Value = serde_json::from_str(
            r#"{ "$metadata": { "$model": "dtmi:test:Meter;1" }, "name": "m", "reading": 1.947700395895162e-169 }"#,
        )
        .expect("JSON");
        graph.put_twin("m", twin, &Precondition::None, "2026-11-27T12:00:00.0000000Z").expect("a valid twin");
        // Removing a member takes the whole-document path.
        let remove = json!([{ "op": "remove", "path": "/name" }]);
        graph.patch_twin("m", &remove, &Precondition::None, "2026-11-27T12:00:01.0000000Z").expect("the patch applies");
        let text = String::from_utf8(graph.nodes.twin("m").expect("the twin").to_json_bytes()).expect("UTF-8");
        assert!(text.contains(r#""reading":1.947700395895162e-169"#), "{text}");
    }

    /// Setting top-level properties member by member makes exactly the twin (text, etag) and the refusals that patching the whole document makes.
    #[test]
    fn setting_properties_member_wise_makes_the_twin_the_whole_document_makes() {
        let mut graph = graph_with(json!({
            "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Sensor;1", "@type": "Interface",
            "contents": [
                { "@type": "Property", "name": "name", "schema": "string" },
                { "@type": "Property", "name": "capacity", "schema": "integer" },
                { "@type": "Property", "name": "value", "schema": { "@type": "Object", "fields": [
                    { "name": "value", "schema": "string" }, { "name": "timestamp", "schema": "string" } ] } },
                { "@type": "Property", "name": "values", "schema": { "@type": "Map",
                    "mapKey": { "name": "name", "schema": "string" }, "mapValue": { "name": "entry", "schema": "string" } } }
            ]
        }));
        let twin =
            json!({ "$metadata": { "$model": "dtmi:test:Sensor;1" }, "name": "a \"quoted\" name", "capacity": 4 });
        graph.put_twin("t", twin, &Precondition::None, "2026-11-26T12:00:00.0000000Z").expect("a valid twin");
        let patches = [
            json!([{ "op": "add", "path": "/value", "value": { "value": "21.5", "timestamp": "2026-11-26T12:00:01Z" } }]),
            json!([{ "op": "add", "path": "/value", "value": { "value": "22", "timestamp": "2026-11-26T12:00:02Z" } }]),
            json!([{ "op": "replace", "path": "/name", "value": "b" }, { "op": "add", "path": "/values", "value": { "Fresh": "yes" } }]),
            json!([{ "op": "add", "path": "/capacity", "value": 5 }, { "op": "add", "path": "/name", "value": "c" }]),
            json!([{ "op": "replace", "path": "/capacity", "value": 1.5 }]),
            json!([{ "op": "add", "path": "/capacity", "value": 6 }, { "op": "replace", "path": "/capacity", "value": 7 }]),
            json!([{ "op": "add", "path": "/name", "value": "d" }, { "op": "add", "path": "/value", "value": { "value": "1", "timestamp": "t" } }, { "op": "add", "path": "/name", "value": "e" }]),
            json!([{ "op": "add", "path": "/values/Stale", "value": "no" }]),
            json!([{ "op": "replace", "path": "/values/Fresh", "value": "no" }, { "op": "remove", "path": "/values/Stale" }]),
            json!([{ "op": "add", "path": "/value/value", "value": "2" }]),
            json!([{ "op": "remove", "path": "/values/Missing" }]),
            json!([{ "op": "add", "path": "/values/Bad", "value": 3 }]),
            json!([{ "op": "add", "path": "/nothing/x", "value": 3 }]),
            json!([{ "op": "replace", "path": "/capacity", "value": "x" }, { "op": "replace", "path": "/name", "value": 5 }]),
            json!([{ "op": "add", "path": "/values/Bad", "value": 3 }, { "op": "replace", "path": "/name", "value": 5 }]),
            json!([{ "op": "add", "path": "/unknown", "value": 1 }]),
            json!([{ "op": "replace", "path": "/missing", "value": 1 }]),
        ];
        for (n, patch) in patches.iter().enumerate() {
            let now = format!("2026-11-26T13:00:{n:02}.0000000Z");
            let current = graph.nodes.twin("t").expect("the twin");
            let ops = patch::parse(patch).expect("a patch");
            assert!(graph.sets_properties_only(current, &ops), "patch {n} is member-wise");
            let text = |made: Result<(Twin, Vec<Operation>), GraphError>| {
                made.map(|(twin, _)| String::from_utf8(twin.to_json_bytes()).expect("UTF-8"))
            };
            let members = text(graph.patched_members(current, ops.clone(), &now));
            let document = text(graph.patched_document(current, ops, &now));
            assert_eq!(members, document, "patch {n}");
            if members.is_ok() {
                graph.patch_twin("t", patch, &Precondition::None, &now).expect("the patch applies");
            }
        }
        let current = graph.nodes.twin("t").expect("the twin");
        assert!(current.property("values").is_some() && current.property("capacity") == Some(json!(7)));
        assert_eq!(current.property("name"), Some(json!("e")));
    }
}
