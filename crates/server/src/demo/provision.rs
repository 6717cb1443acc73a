//! The demo's 2018 objects, made as the occupancy sample's provisioning makes them, through the management face: an IoT Hub resource on the building; in each room a device with a Motion, a CarbonDioxide and a Temperature sensor; on the building a matcher for each of Motion and CarbonDioxide, the availability function (`demo/availability.js`) and its role assignment (Space Administrator on the building's path).
//!
//! Every object is looked up before it is created (the resource by type and space, devices and sensors by hardware id, matchers and the function by name in the building, the role assignment by object and path), so a second start creates nothing.
//! Provisioning converges rather than only filling gaps: on every start the function is made to list exactly the demo's matchers (those found or made again just before) and to run the shipped script, updated in whichever differs.
//! The rooms themselves come from `demo/building.ndjson` (`super::load`); this file does not make or change spaces.

use axum::http::Method;
use serde_json::{Value, json};

use super::client::{Api, DemoError, encoded};
use super::{BUILDING_ID, Room};

/// The demo's user-defined function.
const AVAILABILITY: &str = include_str!("../../demo/availability.js");

/// The function's name in the building.
const FUNCTION_NAME: &str = "Room Availability";

/// The system role Space Administrator, which lets a function set values in the spaces under its path.
const SPACE_ADMINISTRATOR: &str = "98e44ad7-28d4-4007-853b-b9968ad132d1";

/// The data types the function runs for, each with its matcher's name.
const MATCHED: [(&str, &str); 2] = [("Motion", "Matcher Motion"), ("CarbonDioxide", "Matcher CarbonDioxide")];

/// A room's simulated device as provisioned: what the simulation needs to send its readings.
pub(crate) struct Device {
    /// The device's id (a GUID the management face gave it).
    pub(crate) id: String,
    /// The device's key, from its connection string, to sign its SAS tokens with.
    pub(crate) key: String,
}

/// The sensors of a room's device: data type, unit and the hardware id's prefix (the room's number follows it).
pub(crate) const SENSORS: [(&str, &str, &str); 3] = [
    ("Motion", "None", "SENSOR_MOTION_"),
    ("CarbonDioxide", "PartsPerMillion", "SENSOR_CARBONDIOXIDE_"),
    ("Temperature", "Celsius", "SENSOR_TEMPERATURE_"),
];

/// Makes (or finds) every 2018 object of the demo; the rooms' devices, in the order of `rooms`.
pub(crate) async fn provision(api: &Api, rooms: &[Room]) -> Result<Vec<Device>, DemoError> {
    iot_hub(api).await?;
    let mut devices = Vec::with_capacity(rooms.len());
    for room in rooms {
        devices.push(device(api, room).await?);
    }
    let mut matchers = Vec::with_capacity(MATCHED.len());
    for (data_type, name) in MATCHED {
        matchers.push(matcher(api, data_type, name).await?);
    }
    let function = function(api, &matchers).await?;
    role_assignment(api, &function).await?;
    Ok(devices)
}

/// The hardware id of a sensor of a room: its prefix and the room's number.
pub(crate) fn sensor_hardware_id(prefix: &str, room: &Room) -> String {
    format!("{prefix}{}", room.number)
}

/// The building's IoT Hub, through which the devices' telemetry comes in, as in the sample.
/// It is not waited for: it gives devices nothing they need here (their keys come with them).
async fn iot_hub(api: &Api) -> Result<(), DemoError> {
    let found = api.list(&format!("resources?spaceId={BUILDING_ID}&type=IoTHub")).await?;
    if found.is_empty() {
        api.create("resources", &json!({"SpaceId": BUILDING_ID, "Type": "IoTHub"})).await?;
    }
    Ok(())
}

/// The room's device with its sensors, found by its hardware id (created with them when missing; a sensor missing from a found device is added), and its key.
async fn device(api: &Api, room: &Room) -> Result<Device, DemoError> {
    let hardware_id = room.mac();
    let found = api.list(&format!("devices?hardwareIds={}", encoded(&hardware_id))).await?;
    let sensors: Vec<Value> = SENSORS
        .iter()
        .map(|(data_type, unit, prefix)| {
            json!({"DataType": data_type, "DataUnitType": unit, "HardwareId": sensor_hardware_id(prefix, room)})
        })
        .collect();
    let id = match found.first().and_then(|d| d["id"].as_str()) {
        Some(id) => {
            let existing = api.list(&format!("sensors?deviceIds={id}")).await?;
            for sensor in sensors {
                let wanted = sensor["HardwareId"].as_str().unwrap_or_default();
                let present =
                    existing.iter().any(|s| s["hardwareId"].as_str().is_some_and(|h| h.eq_ignore_ascii_case(wanted)));
                if !present {
                    let mut sensor = sensor;
                    sensor["DeviceId"] = json!(id);
                    api.create("sensors", &sensor).await?;
                }
            }
            id.to_owned()
        }
        None => {
            let body = json!({
                "Name": format!("Raspberry Pi {}", room.number),
                "HardwareId": hardware_id,
                "SpaceId": room.id,
                "Sensors": sensors,
            });
            api.create("devices", &body).await?
        }
    };
    let shown = api.get(&format!("devices/{id}?includes=ConnectionString")).await?;
    let connection = shown["connectionString"].as_str().unwrap_or_default();
    let key = connection
        .split(';')
        .find_map(|part| part.strip_prefix("SharedAccessKey="))
        .ok_or_else(|| DemoError::Unexpected {
            method: Method::GET,
            route: format!("devices/{id}?includes=ConnectionString"),
            status: axum::http::StatusCode::OK,
            body: shown.to_string(),
            wanted: "a connection string with the device's key",
        })?
        .to_owned();
    Ok(Device { id, key })
}

/// The building's matcher of `name`, which selects the sensors of `data_type`.
async fn matcher(api: &Api, data_type: &str, name: &str) -> Result<String, DemoError> {
    let found = api.list(&format!("matchers?spaceId={BUILDING_ID}&names={}", encoded(name))).await?;
    if let Some(id) = found.first().and_then(|m| m["id"].as_str()) {
        return Ok(id.to_owned());
    }
    let body = json!({
        "Name": name,
        "SpaceId": BUILDING_ID,
        "Conditions": [{"Target": "Sensor", "Path": "$.dataType", "Value": format!("\"{data_type}\""), "Comparison": "Equals"}],
    });
    api.create("matchers", &body).await
}

/// The availability function on the building, listing exactly `matchers` and running the shipped script.
/// An existing one is brought to that state on every start: its matcher list when it names other matchers (say one was deleted and made again with a new id), its script when it is not the shipped one; what already agrees is not sent.
async fn function(api: &Api, matchers: &[String]) -> Result<String, DemoError> {
    let route =
        format!("userdefinedfunctions?spaceId={BUILDING_ID}&names={}&includes=matchers", encoded(FUNCTION_NAME));
    let found = api.list(&route).await?;
    let Some((id, listed)) = found.first().and_then(|f| Some((f["id"].as_str()?.to_owned(), matcher_ids(f)))) else {
        let metadata = json!({"Name": FUNCTION_NAME, "SpaceId": BUILDING_ID, "Matchers": matchers});
        let id = api.upload(Method::POST, "userdefinedfunctions", &metadata, Some(AVAILABILITY)).await?;
        return Ok(id.unwrap_or_default());
    };
    let current = api.get_text(&format!("userdefinedfunctions/{id}/contents")).await?;
    let script = (current != AVAILABILITY).then_some(AVAILABILITY);
    let same_matchers = same_ids(&listed, matchers);
    if script.is_some() || !same_matchers {
        let metadata = if same_matchers { json!({}) } else { json!({"Matchers": matchers}) };
        api.upload(Method::PATCH, &format!("userdefinedfunctions/{id}"), &metadata, script).await?;
    }
    Ok(id)
}

/// The function's role: Space Administrator on the building's path, so it may set values in every room.
async fn role_assignment(api: &Api, function: &str) -> Result<(), DemoError> {
    let building = api.get(&format!("spaces/{BUILDING_ID}?includes=fullpath")).await?;
    let path = building["spacePaths"][0].as_str().map_or_else(|| format!("/{BUILDING_ID}"), str::to_owned);
    let found = api.list(&format!("roleassignments?path={}&objectId={function}", encoded(&path))).await?;
    if found.iter().any(|a| a["roleId"].as_str().is_some_and(|r| r.eq_ignore_ascii_case(SPACE_ADMINISTRATOR))) {
        return Ok(());
    }
    let grant = json!({
        "ObjectId": function,
        "ObjectIdType": "UserDefinedFunctionId",
        "Path": path,
        "RoleId": SPACE_ADMINISTRATOR,
    });
    api.create("roleassignments", &grant).await?;
    Ok(())
}

/// The ids of the matchers a function lists (`includes=matchers`); the management face shows only matchers that exist.
fn matcher_ids(function: &Value) -> Vec<String> {
    let listed = function["matchers"].as_array().map(Vec::as_slice).unwrap_or_default();
    listed.iter().filter_map(|m| m["id"].as_str()).map(str::to_owned).collect()
}

/// Whether two lists of ids name the same objects, in any order (ids compare ignoring case, as the management face compares them).
fn same_ids(a: &[String], b: &[String]) -> bool {
    let contains = |list: &[String], id: &String| list.iter().any(|other| other.eq_ignore_ascii_case(id));
    a.iter().all(|id| contains(b, id)) && b.iter().all(|id| contains(a, id))
}

#[cfg(test)]
mod tests {
    use super::same_ids;

    #[test]
    fn matcher_lists_compare_as_sets_of_ids() {
        let ids = |list: &[&str]| list.iter().map(|id| (*id).to_owned()).collect::<Vec<_>>();
        assert!(same_ids(&ids(&["a1", "B2"]), &ids(&["b2", "A1"])));
        assert!(!same_ids(&ids(&["a1"]), &ids(&["a1", "b2"])));
        assert!(!same_ids(&ids(&["a1", "b2"]), &ids(&["a1", "c3"])));
        assert!(same_ids(&[], &[]));
    }
}
