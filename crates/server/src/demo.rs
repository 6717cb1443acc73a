//! The demo (`twinscape serve --demo`): a small building (`demo/building.ndjson`: a building, two floors, eight rooms, a sensor in each room) imported idempotently at start, and a simulation that moves every sensor's readings every few seconds through the ordinary durable write path, so twins change and events flow.
//!
//! Its models extend the built-in 2018 models (the building, floors and rooms are spaces of their types, the sensors are sensors with hardware ids), so the building is the same through the data plane, `POST /query` and the 2018 management face; the built-in models are installed before the import.
//!
//! The simulation is deterministic for its seed (a random walk within plausible ranges); it stops with the server.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::data::DataPlane;

/// The demo building, as bulk-import NDJSON.
const BUILDING: &str = include_str!("../demo/building.ndjson");
/// How often the sensors report.
const TICK: Duration = Duration::from_secs(2);

/// Imports the demo building; existing, identical records are left alone.
pub fn load(data: &DataPlane) -> Result<(), crate::import::ImportError> {
    let tenant = data.tenant();
    let now = crate::data::now();
    let installed = tenant.apply_blocking(data, |graph| match crate::management::ensure_models(graph, &now) {
        Ok(changes) => (Ok(()), store::records::ops_for(&tenant.id, &changes)),
        Err(err) => (Err(err), Vec::new()),
    })?;
    if let Err(err) = installed {
        tracing::warn!(error = %err.message(), "the built-in models are not installed; the demo building will not load");
    }
    let bulk = crate::import::parse(BUILDING, crate::import::Format::Ndjson);
    let progress = data.import(&tenant, bulk, |_| true)?;
    for e in &progress.errors {
        tracing::warn!(line = e.line, error = %e.message, "demo record not loaded");
    }
    tracing::info!(
        twins = progress.twins_written,
        relationships = progress.relationships_written,
        "demo building loaded"
    );
    Ok(())
}

/// Moves the demo sensors' readings every `TICK` until the task is dropped.
pub async fn simulate(data: Arc<DataPlane>) {
    let sensors: Vec<String> = BUILDING
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["$dtId"].as_str().filter(|id| id.starts_with("demo-sensor-")).map(str::to_owned))
        .collect();
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % 1000) as f64 / 1000.0
    };
    let mut interval = tokio::time::interval(TICK);
    loop {
        interval.tick().await;
        for sensor in &sensors {
            let tenant = data.tenant();
            let Some(current) = tenant.read(|g| g.twin(sensor).map(|t| t.doc())) else { continue };
            let temperature = current.get("temperature").and_then(|v| v.as_f64()).unwrap_or(21.0);
            let co2 = current.get("co2").and_then(|v| v.as_f64()).unwrap_or(420.0);
            let occupancy = (next() * 6.0) as i64;
            let temperature = ((temperature + (next() - 0.5) * 0.4).clamp(18.0, 26.0) * 10.0).round() / 10.0;
            let co2 = ((co2 + (occupancy as f64 * 15.0) - 40.0 + next() * 20.0).clamp(400.0, 1600.0)).round();
            let now = crate::data::now();
            // `value` is the sensor's latest value as the 2018 face shows it (`sensors/{id}/value`): its data type is Temperature.
            let patch = json!([
                {"op": "replace", "path": "/temperature", "value": temperature},
                {"op": "replace", "path": "/co2", "value": co2},
                {"op": "replace", "path": "/occupancy", "value": occupancy},
                {"op": "add", "path": "/value", "value": {"value": temperature.to_string(), "timestamp": now}},
            ]);
            let id = sensor.clone();
            let result = tenant
                .write(&data, move |graph| {
                    let (_, changes) = graph.patch_twin(&id, &patch, &graph::Precondition::None, &now)?;
                    Ok(((), changes, Vec::new()))
                })
                .await;
            if let Err(e) = result {
                tracing::debug!(sensor = %sensor, error = %e.message(), "demo reading not stored");
            }
        }
    }
}
