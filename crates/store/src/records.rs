//! The encoding of graph records in the store: models, twins and relationships as versioned values, the ops that persist a graph `Change`, and loading a tenant's graph back at start-up; and the records of the 2018 face's state, which the `spatial` crate reads and writes as keyed JSON values.
//!
//! A record is one version byte (`RECORD_FORMAT`) followed by the record's JSON in its wire shape; decoding checks the version and the shape again, so a damaged record is reported, never loaded half-read.

use graph::{Change, Containment, Limits as GraphLimits, Relationship, StoredModel, TenantGraph, Twin};
use serde_json::Value;

use crate::{Backend, Op, StoreError, Table, TenantId};

/// The version of the record encoding; bump it (and document the change in `docs/storage-format.md`) when the shape changes.
pub const RECORD_FORMAT: u8 = 1;

/// The store ops that persist what a graph write did.
///
/// A twin or relationship the write changed more than once is written once, as its last change left it: the ops commit as one batch, so no reader could see the earlier versions (a batch of telemetry sets the same sensors and rooms again and again).
pub fn ops_for(tenant: &TenantId, changes: &[Change]) -> Vec<Op> {
    let mut ops = Vec::with_capacity(changes.len());
    let mut later = std::collections::HashSet::new();
    let last: Vec<bool> =
        changes.iter().rev().map(|change| record_key(change).is_none_or(|key| later.insert(key))).collect();
    for (change, _) in changes.iter().zip(last.into_iter().rev()).filter(|(_, last)| *last) {
        match change {
            Change::ModelPut(m) => ops.push(put(tenant, Table::Models, m.id.to_string(), &m.to_stored_json())),
            Change::ModelDeleted(id) => {
                ops.push(Op::Delete { tenant: tenant.clone(), table: Table::Models, key: id.clone() })
            }
            Change::TwinCreated(t) | Change::TwinUpdated { twin: t, .. } => {
                let mut value = Vec::with_capacity(256);
                value.push(RECORD_FORMAT);
                value.extend_from_slice(&t.to_json_bytes());
                ops.push(Op::Put { tenant: tenant.clone(), table: Table::Twins, key: t.id.clone(), value });
            }
            Change::TwinDeleted(t) => {
                ops.push(Op::Delete { tenant: tenant.clone(), table: Table::Twins, key: t.id.clone() })
            }
            Change::RelationshipCreated(r) | Change::RelationshipUpdated { relationship: r, .. } => {
                ops.push(put(tenant, Table::Relationships, Relationship::key(&r.source, &r.id), &r.to_json()));
            }
            Change::RelationshipDeleted(r) => ops.push(Op::Delete {
                tenant: tenant.clone(),
                table: Table::Relationships,
                key: Relationship::key(&r.source, &r.id),
            }),
        }
    }
    ops
}

/// The table and key of the record a twin or relationship change writes; `None` for models, which are written each time.
fn record_key(change: &Change) -> Option<(Table, std::borrow::Cow<'_, str>)> {
    match change {
        Change::TwinCreated(t) | Change::TwinUpdated { twin: t, .. } | Change::TwinDeleted(t) => {
            Some((Table::Twins, t.id.as_str().into()))
        }
        Change::RelationshipCreated(r)
        | Change::RelationshipUpdated { relationship: r, .. }
        | Change::RelationshipDeleted(r) => Some((Table::Relationships, Relationship::key(&r.source, &r.id).into())),
        Change::ModelPut(_) | Change::ModelDeleted(_) => None,
    }
}

/// The store ops of records of the 2018 face's state (`Table::Spatial`): each key with its new value, or `None` to delete it.
pub fn spatial_ops(tenant: &TenantId, records: &[(String, Option<Value>)]) -> Vec<Op> {
    records
        .iter()
        .map(|(key, value)| match value {
            Some(value) => put(tenant, Table::Spatial, key.clone(), value),
            None => Op::Delete { tenant: tenant.clone(), table: Table::Spatial, key: key.clone() },
        })
        .collect()
}

/// Every record of the 2018 face's state of a tenant, decoded (their meaning is the `spatial` crate's to check).
pub fn load_spatial(backend: &dyn Backend, tenant: &TenantId) -> Result<Vec<(String, Value)>, StoreError> {
    let mut records = Vec::new();
    backend.scan(tenant, Table::Spatial, &mut |key, bytes| {
        records.push((key.to_owned(), decode("spatial", key, bytes)?));
        Ok(())
    })?;
    Ok(records)
}

fn put(tenant: &TenantId, table: Table, key: String, value: &Value) -> Op {
    let mut bytes = Vec::with_capacity(256);
    bytes.push(RECORD_FORMAT);
    serde_json::to_writer(&mut bytes, value).expect("serializing a JSON value into memory cannot fail");
    Op::Put { tenant: tenant.clone(), table, key, value: bytes }
}

fn decode(what: &str, key: &str, bytes: &[u8]) -> Result<Value, StoreError> {
    match bytes.split_first() {
        Some((&RECORD_FORMAT, json)) => serde_json::from_slice(json)
            .map_err(|e| StoreError::Corrupt { what: format!("{what} record '{key}' is not valid JSON: {e}") }),
        Some((version, _)) => Err(StoreError::Corrupt {
            what: format!("{what} record '{key}' has record format {version}; this build reads format {RECORD_FORMAT}"),
        }),
        None => Err(StoreError::Corrupt { what: format!("{what} record '{key}' is empty") }),
    }
}

/// Rebuilds a tenant's graph from the store: models first (one model-set parse), then twins, then relationships, with its containment tree under `containment`.
///
/// Stored relationships that break the containment rule (stored before it, or under another declaration) do not fail the load: the graph keeps them outside the tree and lists them in `TenantGraph::containment_violations`, for the caller to report.
pub fn load_tenant(
    backend: &dyn Backend,
    tenant: &TenantId,
    limits: GraphLimits,
    containment: Containment,
) -> Result<TenantGraph, StoreError> {
    let mut models = Vec::new();
    backend.scan(tenant, Table::Models, &mut |key, bytes| {
        let value = decode("model", key, bytes)?;
        let model = StoredModel::from_stored_json(&value).ok_or_else(|| StoreError::Corrupt {
            what: format!("model record '{key}' does not have the model shape"),
        })?;
        models.push(model);
        Ok(())
    })?;
    let mut graph = TenantGraph::with_containment(limits, containment);
    graph.load_models(models).map_err(|e| StoreError::Corrupt {
        what: format!("the stored models of tenant '{tenant}' no longer form a valid set: {e}"),
    })?;
    backend.scan(tenant, Table::Twins, &mut |key, bytes| {
        let twin = Twin::from_json(decode("twin", key, bytes)?)
            .filter(|t| t.id == key)
            .ok_or_else(|| StoreError::Corrupt { what: format!("twin record '{key}' does not have the twin shape") })?;
        graph.load_twin(twin);
        Ok(())
    })?;
    backend.scan(tenant, Table::Relationships, &mut |key, bytes| {
        let relationship = Relationship::from_json(decode("relationship", key, bytes)?)
            .filter(|r| Relationship::key(&r.source, &r.id) == key)
            .ok_or_else(|| StoreError::Corrupt {
                what: format!("relationship record '{key}' does not have the relationship shape"),
            })?;
        if !graph.load_relationship(relationship) {
            return Err(StoreError::Corrupt {
                what: format!("relationship record '{key}' connects a twin that is not stored"),
            });
        }
        Ok(())
    })?;
    Ok(graph)
}
