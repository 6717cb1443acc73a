//! Which functions a stored value of a sensor runs, computed once per sensor and kept until the tenant's shape changes.
//!
//! A sensor's selection depends on its place in the tree, the documents its matchers are evaluated against (the sensor, its device and its space, without values), the matchers and the functions.
//! Those change only with a write that is not a value write, so the cache is keyed by the tenant's shape (`Tenant::shape`, which every write but `TenantState::write_values` and every reload moves on) and its 2018 state's generation: telemetry and the functions' values leave it valid, anything else empties it.
//! Matchers are therefore evaluated once per sensor and change, not once per message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ontology::ObjectKind;

use crate::data::Tenant;
use crate::management::objects::View;

/// A function a sensor's value runs.
#[derive(Clone, Debug)]
pub(crate) struct Selected {
    /// Its id and script, shared by every sensor that runs it.
    pub(crate) function_id: Arc<str>,
    pub(crate) script: Arc<str>,
}

/// Sensors and selected functions kept at most, together; past it the cache starts over. An entry takes some 40 bytes, a selected function 32 more, so the cache stays under about 100 MB.
const ENTRIES_MAX: usize = 1 << 20;

/// The selections of one tenant's sensors, by graph slot, valid for one shape of the tenant.
#[derive(Default)]
pub(crate) struct Selections {
    inner: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    /// The tenant's shape these selections were computed for, and its 2018 state's generation.
    shape: (u64, u64),
    by_slot: HashMap<u32, Arc<[Selected]>>,
    /// Sensors plus the functions selected for them, counted against `ENTRIES_MAX`.
    entries: usize,
    /// Each function, shared by the selections that name it.
    functions: HashMap<String, Selected>,
}

/// The tenant's shape: what the cache is valid for.
fn shape(tenant: &Tenant) -> (u64, u64) {
    (tenant.shape, tenant.spatial.generation())
}

/// The enabled functions a stored value of `sensor` runs, in the order of the tenant's functions: those on the sensor's spaces (its own and those above) that list a matcher on those spaces whose conditions hold for the sensor.
/// Called under the tenant's read lock; computed once per sensor for each shape of the tenant.
pub(crate) fn selected(tenant: &Tenant, sensor: &str) -> Arc<[Selected]> {
    let kinds = tenant.kinds();
    let Some(slot) = tenant.graph.slot(sensor).filter(|&s| kinds.kind_at(s) == Some(ObjectKind::Sensor)) else {
        return Arc::new([]);
    };
    let shape = shape(tenant);
    {
        let kept = tenant.selections.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.shape == shape
            && let Some(found) = kept.by_slot.get(&slot)
        {
            return Arc::clone(found);
        }
    }
    // Computed without the cache's lock, so other connections' lookups go on meanwhile; the tenant's read lock keeps its shape.
    let computed = compute(tenant, slot);
    let mut kept = tenant.selections.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if kept.shape != shape || kept.entries + 1 + computed.len() > ENTRIES_MAX {
        *kept = Kept { shape, ..Kept::default() };
    }
    let found: Arc<[Selected]> = computed
        .into_iter()
        .map(|(function_id, script)| {
            kept.functions
                .entry(function_id.to_owned())
                .or_insert_with(|| Selected { function_id: Arc::from(function_id), script: Arc::from(script) })
                .clone()
        })
        .collect();
    kept.entries += 1 + found.len();
    kept.by_slot.insert(slot, Arc::clone(&found));
    found
}

/// The functions `selected` keeps for the sensor in `slot`: their ids and scripts.
fn compute(tenant: &Tenant, slot: u32) -> Vec<(&str, &str)> {
    let view = View::new(tenant);
    let path = view.space_path(slot);
    let matchers: Vec<&spatial::state::Matcher> = tenant.spatial.matchers_on(&path).collect();
    if matchers.is_empty() {
        return Vec::new();
    }
    let documents = crate::management::matchers::SensorDocuments::new(&view, slot);
    let holding: Vec<&str> = matchers.into_iter().filter(|m| documents.hold(m)).map(|m| m.id.as_str()).collect();
    tenant
        .spatial
        .functions()
        .filter(|f| !f.disabled && path.contains(&f.space_id.as_str()))
        .filter(|f| f.matchers.iter().any(|m| holding.contains(&m.as_str())))
        .map(|f| (f.id.as_str(), f.script.as_str()))
        .collect()
}
