//! The demo (`twinscape serve --demo`): the 2018 occupancy sample, alive.
//! A building (`demo/building.ndjson`: a building, two floors, eight rooms) is imported at start; once the server runs, each room gets a simulated device with Motion, CarbonDioxide and Temperature sensors, and the building gets the sample's matchers, its availability function (`demo/availability.js`) and that function's role (`provision`); then the devices send readings every two seconds (`simulation`), so sensor values, the rooms' `AvailableAndFresh` values, history and events change live.
//!
//! The building's models extend the built-in 2018 models (the building, floors and rooms are spaces of their types), so it is the same building through the data plane, `POST /query` and the 2018 management face; the built-in models are installed before the import.
//! The 2018 objects and the readings go through the server's own router in process (`client`), the way a provisioning script and devices would send them over HTTP, so the demo uses no path a client could not.
//! Every start is idempotent: twins already there are left as they are (the rooms keep the values the function set), and every 2018 object is looked up before it is made.

pub(crate) mod client;
mod provision;
mod simulation;

use axum::Router;
use serde_json::Value;

/// The demo building, as bulk-import NDJSON.
const BUILDING: &str = include_str!("../../demo/building.ndjson");

/// The building's twin id.
const BUILDING_ID: &str = "demo-building";

/// The model of the demo's rooms.
const ROOM_MODEL: &str = "dtmi:twinscape:demo:Room;1";

/// How long to wait before provisioning again after it failed or a device went missing.
const RETRY: std::time::Duration = std::time::Duration::from_secs(10);

/// Imports the demo building: its models when missing, and its twins and relationships that are not there yet (a twin that is there is left as it is).
pub fn load(data: &crate::data::DataPlane) -> Result<(), crate::import::ImportError> {
    let tenant = data.tenant();
    let now = crate::data::now();
    let installed = tenant.apply_blocking(data, |graph| match crate::management::ensure_models(graph, &now) {
        Ok(changes) => (Ok(()), store::records::ops_for(&tenant.id, &changes)),
        Err(err) => (Err(err), Vec::new()),
    })?;
    if let Err(err) = installed {
        tracing::warn!(error = %err.message(), "the built-in models are not installed; the demo building will not load");
    }
    let mut bulk = crate::import::parse(BUILDING, crate::import::Format::Ndjson);
    bulk.twins.retain(|(_, twin)| {
        let id = twin["$dtId"].as_str().unwrap_or_default();
        tenant.read(|graph| graph.twin(id).is_none())
    });
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

/// Provisions the demo's devices, matchers, function and role assignment through `app`, then simulates the devices until the task is dropped; provisions again when a device or sensor goes missing.
pub async fn run(app: Router) {
    let api = client::Api::new(app);
    let rooms = rooms();
    let mut occupancy: Vec<simulation::Occupancy> =
        rooms.iter().enumerate().map(|(i, room)| simulation::Occupancy::new(i, room.capacity)).collect();
    let mut refusals = simulation::Refusals::default();
    loop {
        let devices = match provision::provision(&api, &rooms).await {
            Ok(devices) => devices,
            Err(err) => {
                tracing::warn!(error = %err, "the demo's devices and function are not provisioned; trying again");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        tracing::info!(rooms = rooms.len(), "demo devices provisioned; simulating occupancy");
        let simulation::Gone(what) = simulation::run(&api, &rooms, &devices, &mut occupancy, &mut refusals).await;
        tracing::info!(what = %what, "a demo device or sensor is gone; provisioning again");
        tokio::time::sleep(RETRY).await;
    }
}

/// A device of the demo building as `provision` made it: what a sender needs to send its readings.
#[derive(Clone, Debug)]
pub struct DemoDevice {
    pub id: String,
    /// The room it is in (its twin id).
    pub room: String,
    /// The device's key, to sign its SAS tokens with.
    pub key: String,
    /// Its sensors' hardware ids, as `(data type, hardware id)`: Motion and CarbonDioxide, which the availability function runs for, and Temperature, which runs no function.
    pub sensors: Vec<(&'static str, String)>,
}

/// Provisions through `app` what `run` provisions before it simulates, for the building's first `rooms` rooms (at most its eight): the IoT Hub, each room's device and sensors, the matchers, the availability function and its role; the rooms' devices.
/// For load generators that drive the demo building themselves (`cargo bench -p server --bench telemetry`); `load` must have imported the building.
pub async fn provision(app: Router, rooms: usize) -> Result<Vec<DemoDevice>, String> {
    let api = client::Api::new(app);
    let rooms: Vec<Room> = self::rooms().into_iter().take(rooms).collect();
    let devices = provision::provision(&api, &rooms).await.map_err(|err| err.to_string())?;
    Ok(devices
        .into_iter()
        .zip(&rooms)
        .map(|(device, room)| DemoDevice {
            id: device.id,
            room: room.id.clone(),
            key: device.key,
            sensors: provision::SENSORS
                .iter()
                .map(|(data_type, _, prefix)| (*data_type, provision::sensor_hardware_id(prefix, room)))
                .collect(),
        })
        .collect())
}

/// A room of the demo building.
pub(crate) struct Room {
    /// Its twin id (`demo-room-101`).
    id: String,
    /// Its number (`101`): its device's and sensors' hardware ids are made from it.
    number: String,
    capacity: u32,
}

impl Room {
    /// The hardware id of the room's device, a MAC address (locally administered) made from the room's number.
    fn mac(&self) -> String {
        let number: u32 = self.number.parse().unwrap_or_default();
        format!("02:7D:00:00:{:02}:{:02}", number / 100 % 100, number % 100)
    }
}

/// The rooms of the demo building, in the file's order.
fn rooms() -> Vec<Room> {
    BUILDING
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|twin| twin["$metadata"]["$model"] == ROOM_MODEL)
        .filter_map(|twin| {
            let id = twin["$dtId"].as_str()?.to_owned();
            let number = id.strip_prefix("demo-room-")?.to_owned();
            let capacity = twin["capacity"].as_u64().and_then(|c| u32::try_from(c).ok()).unwrap_or(1);
            Some(Room { id, number, capacity })
        })
        .collect()
}
