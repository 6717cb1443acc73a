//! Which functions a stored value of a sensor runs, computed once per sensor and kept until the tenant's shape changes.
//!
//! A sensor's selection depends on its place in the tree, the documents its matchers are evaluated against (the sensor, its device and its space, without values), the matchers and the functions.
//! Those change only with a write that is not a value write: the 2018 state (`Spatial::generation`) or the graph beyond values.
//! The graph's version grows with every write, values included, so a tenant counts the versions its value writes took (`Tenant::value_versions`) and the cache is keyed by the version less those: telemetry and the functions' values leave it valid, anything else empties it.
//! Matchers are therefore evaluated once per sensor and change, not once per message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ontology::ObjectKind;

use crate::data::Tenant;
use crate::management::is_kind;
use crate::management::objects::View;

/// A function a sensor's value runs.
#[derive(Clone, Debug)]
pub(crate) struct Selected {
    pub(crate) function_id: String,
    /// Its script, shared by every sensor that runs it.
    pub(crate) script: Arc<str>,
}

/// Sensors whose selection is kept at most; past it the cache starts over (1 million entries take some 50 MB).
const SENSORS_MAX: usize = 1 << 20;

/// The selections of one tenant's sensors, by graph slot, valid for one shape of the tenant.
#[derive(Default)]
pub(crate) struct Selections {
    inner: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    /// The tenant's shape these selections were computed for: its graph version less its value versions, and its 2018 state's generation.
    shape: (u64, u64),
    by_slot: HashMap<u32, Arc<[Selected]>>,
    /// Each function's script, shared by the selections that name it.
    scripts: HashMap<String, Arc<str>>,
}

impl Selections {
    /// Forgets every selection (the tenant was reloaded, so its versions start over).
    pub(crate) fn clear(&self) {
        *self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Kept::default();
    }
}

/// The tenant's shape: what the cache is valid for.
fn shape(tenant: &Tenant) -> (u64, u64) {
    (tenant.graph.version().wrapping_sub(tenant.value_versions), tenant.spatial.generation())
}

/// The enabled functions a stored value of `sensor` runs, in the order of the tenant's functions: those on the sensor's spaces (its own and those above) that list a matcher on those spaces whose conditions hold for the sensor.
/// Called under the tenant's read lock; computed once per sensor for each shape of the tenant.
pub(crate) fn selected(tenant: &Tenant, sensor: &str) -> Arc<[Selected]> {
    let graph = &tenant.graph;
    let Some(slot) = graph.slot(sensor).filter(|&s| is_kind(graph, s, ObjectKind::Sensor)) else { return Arc::new([]) };
    let shape = shape(tenant);
    let mut kept = tenant.selections.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if kept.shape != shape || kept.by_slot.len() >= SENSORS_MAX {
        *kept = Kept { shape, ..Kept::default() };
    }
    if let Some(found) = kept.by_slot.get(&slot) {
        return Arc::clone(found);
    }
    let found: Arc<[Selected]> = compute(tenant, slot)
        .into_iter()
        .map(|(function_id, script)| {
            let script = Arc::clone(kept.scripts.entry(function_id.clone()).or_insert_with(|| Arc::from(script)));
            Selected { function_id, script }
        })
        .collect();
    kept.by_slot.insert(slot, Arc::clone(&found));
    found
}

/// The functions `selected` keeps for the sensor in `slot`, with their scripts.
fn compute(tenant: &Tenant, slot: u32) -> Vec<(String, &str)> {
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
        .map(|f| (f.id.clone(), f.script.as_str()))
        .collect()
}
