//! The 2018 TopologyOperation events: one for each object a write of the management face created, updated or deleted, in the Event Grid envelope with the reference's PascalCase data (`{SpacesToNotify, Id, Type, AccessType, CorrelationId}`, the subject being the `Type`).
//!
//! `TenantState::write_all` derives them here from what the write did, and commits them in the write's batch; value writes (`write_values`: telemetry, what functions set) raise none.
//! - Spaces, devices, sensors and users come from the graph changes, their kind by model: created, deleted, updated (a patch of anything but `properties`), or moved (a containment relationship to or from them that the write made or removed).
//! - Their extended properties (`SpaceExtendedProperty`, …) come from the same changes when the write set, changed or removed the twin's `properties`: one event for the object's properties, with the object's id, since the 2018 properties have no id of their own (they are addressed by object and name). Setting properties on an object that had none is an Update, as the patch does not say what was there.
//! - Extended types, property keys, key stores, space resources and role assignments come from the write's 2018 records (`spatial::state::record_object`). Matchers and user-defined functions are left out: the reference's list of types names neither. So are device keys (part of their device) and the tenant-wide records (ontologies, counters).
//!
//! A record put is a Create or an Update as the object was in the state before the write (`Before`, taken under the same lock before the write runs); a record deleted takes its space from there.
//! SpacesToNotify is the object's space and the spaces above it, nearest first (for a space: itself first). For an object that is gone, the way up is read from the containment relationships the write deleted with it, down to the first twin still in the graph, so a cascade names the spaces as they were.
//! CorrelationId is the id of the request (`x-request-id`) when the write serves one, otherwise a new UUID; every event of one write carries the same.

use std::collections::{BTreeMap, HashMap};

use graph::{Change, Twin};
use ontology::ObjectKind;
use serde::Serialize;
use serde_json::Value;
use spatial::state::RecordObject;

use crate::data::{Event, Tenant, Written};

/// What a write needs of the state before it: where each 2018 object that events name was.
pub(crate) struct Before {
    placements: BTreeMap<String, Option<String>>,
}

impl Before {
    pub(crate) fn of(tenant: &Tenant) -> Before {
        Before { placements: tenant.spatial.placements() }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    Create,
    Update,
    Delete,
}

impl Access {
    fn name(self) -> &'static str {
        match self {
            Access::Create => "Create",
            Access::Update => "Update",
            Access::Delete => "Delete",
        }
    }

    /// What an object went through when a write touched it twice: a creation stays one, a deletion wins.
    fn then(self, later: Access) -> Access {
        match (self, later) {
            (_, Access::Delete) => Access::Delete,
            (Access::Delete, Access::Create) => Access::Update,
            (earlier, _) => earlier,
        }
    }
}

/// Where an event's SpacesToNotify start: at a twin (live or deleted by the write), or at a 2018 object's space.
enum Start {
    Twin(String),
    Space(Option<String>),
}

/// The TopologyOperation events of a 2018 write, in the order the write touched the objects.
pub(crate) fn events(before: &Before, tenant: &Tenant, written: &Written, source: &str, now: &str) -> Vec<Event> {
    let walk = Walk::new(tenant, &written.changes);
    let mut ops = Operations::default();
    for change in &written.changes {
        match change {
            Change::TwinCreated(twin) => {
                walk.twin(&mut ops, twin, Access::Create, true, has_properties(twin).then_some(Access::Create));
            }
            Change::TwinDeleted(twin) => {
                walk.twin(&mut ops, twin, Access::Delete, true, has_properties(twin).then_some(Access::Delete));
            }
            Change::TwinUpdated { twin, patch } => {
                let members: Vec<(&str, &str)> = patch
                    .iter()
                    .filter_map(|op| {
                        let path = op.get("path")?.as_str()?;
                        let member = path.strip_prefix('/')?.split('/').next()?;
                        Some((member, op.get("op").and_then(Value::as_str).unwrap_or_default()))
                    })
                    .collect();
                let object = members.iter().any(|(member, _)| *member != "properties");
                let properties = members
                    .iter()
                    .find(|(member, _)| *member == "properties")
                    .map(|(_, op)| if *op == "remove" { Access::Delete } else { Access::Update });
                walk.twin(&mut ops, twin, Access::Update, object, properties);
            }
            Change::RelationshipCreated(r) | Change::RelationshipDeleted(r) => {
                if let Some((child, _)) = walk.containment(r)
                    && let Some(twin) = tenant.graph.twin(child)
                {
                    walk.twin(&mut ops, twin, Access::Update, true, None);
                }
            }
            Change::ModelPut(_) | Change::ModelDeleted(_) | Change::RelationshipUpdated { .. } => {}
        }
    }
    for (key, value) in &written.records {
        let Some((kind, id)) = spatial::state::record_object(key) else { continue };
        let was = before.placements.get(key);
        let (access, space) = match (value, was) {
            (None, _) => (Access::Delete, was.cloned().flatten()),
            (Some(_), was) => {
                let access = if was.is_some() { Access::Update } else { Access::Create };
                (access, tenant.spatial.placement(key).flatten().map(str::to_owned))
            }
        };
        ops.add(record_type(kind), id, access, Start::Space(space));
    }
    let correlation = crate::trace::current_request_id().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    ops.list
        .into_iter()
        .map(|(ty, id, access, start)| {
            let spaces = match start {
                Start::Twin(id) => walk.spaces_from(&id),
                Start::Space(Some(space)) => walk.spaces_from(&space),
                Start::Space(None) => Vec::new(),
            };
            let data = TopologyOperation {
                spaces_to_notify: &spaces,
                id: &id,
                kind: ty,
                access_type: access.name(),
                correlation_id: &correlation,
            };
            crate::functions::envelope_about(source, now, "TopologyOperation", ty, &data)
        })
        .collect()
}

/// The `data` of a TopologyOperation event.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TopologyOperation<'a> {
    spaces_to_notify: &'a [String],
    id: &'a str,
    /// The object's type, also the event's subject.
    #[serde(rename = "Type")]
    kind: &'a str,
    access_type: &'a str,
    correlation_id: &'a str,
}

/// The objects a write touched, each once, in the order first touched.
#[derive(Default)]
struct Operations {
    list: Vec<(&'static str, String, Access, Start)>,
    index: HashMap<(&'static str, String), usize>,
}

impl Operations {
    fn add(&mut self, ty: &'static str, id: &str, access: Access, start: Start) {
        match self.index.get(&(ty, id.to_owned())) {
            Some(&at) => self.list[at].2 = self.list[at].2.then(access),
            None => {
                self.index.insert((ty, id.to_owned()), self.list.len());
                self.list.push((ty, id.to_owned(), access, start));
            }
        }
    }
}

/// The way up from twins, those in the graph and those the write deleted.
struct Walk<'a> {
    tenant: &'a Tenant,
    kinds: spatial::navigate::Kinds<'a>,
    deleted: HashMap<&'a str, &'a Twin>,
    /// Each deleted twin's parent, from the containment relationship the write deleted with it.
    parents: HashMap<&'a str, &'a str>,
}

impl<'a> Walk<'a> {
    fn new(tenant: &'a Tenant, changes: &'a [Change]) -> Walk<'a> {
        let mut walk = Walk { tenant, kinds: tenant.kinds(), deleted: HashMap::new(), parents: HashMap::new() };
        for change in changes {
            match change {
                Change::TwinDeleted(twin) => {
                    walk.deleted.insert(twin.id.as_str(), twin);
                }
                Change::RelationshipDeleted(r) => {
                    if let Some((child, parent)) = walk.containment(r) {
                        walk.parents.insert(child, parent);
                    }
                }
                _ => {}
            }
        }
        walk
    }

    /// The child and parent a containment relationship joins; `None` for other relationships.
    fn containment<'r>(&self, r: &'r graph::Relationship) -> Option<(&'r str, &'r str)> {
        match self.tenant.graph.containment().role(&r.name)? {
            graph::Role::ParentToChild => Some((&r.target, &r.source)),
            graph::Role::ChildToParent => Some((&r.source, &r.target)),
        }
    }

    fn kind(&self, twin: &Twin) -> Option<ObjectKind> {
        self.kinds.kind_of_model(twin.model())
    }

    /// Adds the object a twin is (when `object`, and the twin is of a 2018 kind) and, when `properties` says, its extended properties.
    fn twin(&self, ops: &mut Operations, twin: &Twin, access: Access, object: bool, properties: Option<Access>) {
        let Some(kind) = self.kind(twin) else { return };
        let (ty, properties_ty) = twin_types(kind);
        if object {
            ops.add(ty, &twin.id, access, Start::Twin(twin.id.clone()));
        }
        if let Some(properties) = properties {
            ops.add(properties_ty, &twin.id, properties, Start::Twin(twin.id.clone()));
        }
    }

    /// The spaces from the twin `id` up, nearest first, the twin itself among them when it is a space.
    fn spaces_from(&self, id: &str) -> Vec<String> {
        let graph = &self.tenant.graph;
        let is_space = |slot: &u32| self.kinds.kind_at(*slot) == Some(ObjectKind::Space);
        let mut spaces = Vec::new();
        let mut at = id;
        // Each step leaves a deleted twin, so there are at most as many as the write deleted.
        for _ in 0..=self.deleted.len() {
            if let Some(slot) = graph.slot(at) {
                let up = std::iter::once(slot).chain(graph.ancestors_at(slot)).filter(is_space);
                spaces.extend(up.filter_map(|s| graph.twin_at(s)).map(|t| t.id.clone()));
                break;
            }
            let Some(twin) = self.deleted.get(at) else { break };
            if self.kind(twin) == Some(ObjectKind::Space) {
                spaces.push(twin.id.clone());
            }
            match self.parents.get(at) {
                Some(parent) => at = parent,
                None => break,
            }
        }
        spaces
    }
}

/// Whether a twin has extended properties.
fn has_properties(twin: &Twin) -> bool {
    matches!(twin.property("properties"), Some(Value::Object(map)) if !map.is_empty())
}

/// The reference's types of an object of `kind` and of its extended properties.
fn twin_types(kind: ObjectKind) -> (&'static str, &'static str) {
    match kind {
        ObjectKind::Space => ("Space", "SpaceExtendedProperty"),
        ObjectKind::Device => ("Device", "DeviceExtendedProperty"),
        ObjectKind::Sensor => ("Sensor", "SensorExtendedProperty"),
        ObjectKind::User => ("User", "UserExtendedProperty"),
    }
}

/// The reference's type of a 2018 object a record holds.
fn record_type(kind: RecordObject) -> &'static str {
    match kind {
        RecordObject::CustomType => "ExtendedType",
        RecordObject::PropertyKey => "ExtendedPropertyKey",
        RecordObject::KeyStore => "KeyStore",
        RecordObject::Resource => "SpaceResource",
        RecordObject::RoleAssignment => "SpaceRoleAssignment",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::functions::envelope_as_value;

    #[test]
    fn topology_operation_events_are_the_json_they_were_built_as_before() {
        let (source, now) = ("https://twinscape.example", "2026-11-26T12:00:00.0000000Z");
        for spaces in [Vec::new(), vec!["room \"1\"".to_owned(), "floor-é".to_owned()]] {
            let (id, ty, access, correlation) = ("sensor-1", "SensorExtendedProperty", Access::Delete, "c-1");
            let data = TopologyOperation {
                spaces_to_notify: &spaces,
                id,
                kind: ty,
                access_type: access.name(),
                correlation_id: correlation,
            };
            let old = json!({
                "SpacesToNotify": spaces,
                "Id": id,
                "Type": ty,
                "AccessType": access.name(),
                "CorrelationId": correlation,
            });
            crate::functions::envelope_about(source, now, "TopologyOperation", ty, &data).check_same_as(|id| {
                // As before: the envelope of the kind, its subject then set to the type.
                let mut event = envelope_as_value(source, now, "TopologyOperation", "TopologyOperation", old, id);
                event["subject"] = Value::String(ty.to_owned());
                event
            });
        }
    }
}
