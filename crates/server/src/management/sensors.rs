//! `sensors`: list with navigation and filters, create, get, update (moving a sensor to another device or space), delete, and `value`.
//!
//! A sensor is a twin of `dtmi:twinscape:Sensor;1` placed under its device by `hasSensor`; its space is its device's.
//! Its hardware id, which telemetry names it by, is unique among sensors (a random GUID when the body gives none).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use graph::Precondition;
use ontology::ObjectKind;
use serde_json::{Map, Value, json};

use super::objects;
use super::{Body, MgmtError, Params, created, new_id, object_slot, route};
use crate::data::{Tenant, Written, now};
use crate::router::AppState;

/// The `includes` a sensor read accepts.
const INCLUDES: &[&str] = &[
    "types",
    "properties",
    "fullpath",
    "value",
    "values",
    "location",
    "description",
    "device",
    "devicetypes",
    "deviceproperties",
    "space",
    "spacetypes",
    "spacevalues",
    "spaceproperties",
];

pub(crate) fn routes() -> Router<AppState> {
    let router = Router::new();
    let router = route(router, "/sensors", get(list_sensors).post(create_sensor));
    let router = route(router, "/sensors/{id}", get(get_sensor).patch(update_sensor).delete(delete_sensor));
    let router = route(router, "/sensors/{id}/value", get(sensor_value));
    // The history routes of sensors, space values and a space's sensors (ours), kept with the rest of history.
    router.merge(crate::history::routes::management())
}

async fn list_sensors(State(state): State<AppState>, params: Params) -> Result<Response, MgmtError> {
    objects::list_response(&state, ObjectKind::Sensor, &params, &params.includes(INCLUDES)?)
}

async fn get_sensor(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, MgmtError> {
    let includes = params.includes(INCLUDES)?;
    let mut sensor = state.data.tenant().read_all(|tenant| {
        let slot = object_slot(&tenant.graph, ObjectKind::Sensor, &id)?;
        Ok::<_, MgmtError>(objects::View::new(tenant).render(slot, ObjectKind::Sensor, &includes))
    })?;
    // `historicalValues` are read after the tenant's lock is released, and only where values are shown.
    crate::history::fill_all(state.data.tenant().points(), &mut sensor)?;
    Ok(axum::Json(sensor).into_response())
}

fn history_error(err: history::HistoryError) -> MgmtError {
    MgmtError::from(crate::error::ApiError::from(err))
}

/// `GET sensors/{id}/value`: the latest value, a `SensorValue`; 404 before the sensor has one.
async fn sensor_value(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, MgmtError> {
    let (twin_id, mut value) = state.data.tenant().read_all(|tenant| {
        let slot = object_slot(&tenant.graph, ObjectKind::Sensor, &id)?;
        let twin = tenant.graph.twin_at(slot);
        let doc = twin.map(|t| t.doc()).unwrap_or_default();
        Ok::<_, MgmtError>((twin.map(|t| t.id.clone()).unwrap_or_default(), objects::sensor_value(&doc)))
    })?;
    if value.is_null() {
        return Err(MgmtError::not_found("value of sensor", &id));
    }
    crate::history::fill_sensor_value(state.data.tenant().points(), &twin_id, &mut value).map_err(history_error)?;
    Ok(axum::Json(value).into_response())
}

/// A sensor to create, checked.
pub(crate) struct NewSensor {
    id: String,
    props: Map<String, Value>,
    device: String,
}

impl NewSensor {
    pub(crate) fn hardware_id(&self) -> &str {
        self.props.get("hardwareId").and_then(Value::as_str).unwrap_or_default()
    }
}

async fn create_sensor(State(state): State<AppState>, body: Body) -> Result<Response, MgmtError> {
    let now = now();
    let id = state
        .data
        .tenant()
        .write_all(&state.data, move |tenant| {
            let sensor = check_new(tenant, &body, None, &[])?;
            let id = sensor.id.clone();
            Ok::<_, MgmtError>((id, apply_new(tenant, sensor, &now)?))
        })
        .await?;
    Ok(created(id))
}

/// Checks a sensor body; `device` is the device being created with it (its id and its space's slot), else the body's `deviceId` names an existing one.
/// `taken` are the hardware ids of sensors created in the same request.
pub(crate) fn check_new(
    tenant: &Tenant,
    body: &Body,
    device: Option<(&str, u32)>,
    taken: &[String],
) -> Result<NewSensor, MgmtError> {
    let (device_id, device_space) = match device {
        Some((id, space)) => (id.to_owned(), Some(space)),
        None => {
            let id = body
                .id("deviceId")?
                .ok_or_else(|| MgmtError::invalid_member("deviceId", "a sensor needs a `deviceId`"))?;
            let slot = object_slot(&tenant.graph, ObjectKind::Device, id)?;
            (id.to_owned(), tenant.graph.parent_at(slot))
        }
    };
    check_space(tenant, body, device_space)?;
    let path: Vec<&str> = device_space.map(|s| tenant.graph.path_at(s)).unwrap_or_default();
    let id = new_id();
    let mut props = sensor_props(tenant, body, &path, true)?;
    let hardware_id = match body.bounded("hardwareId", 1, 72)? {
        Some(hardware_id) => hardware_id.to_owned(),
        None => new_id(),
    };
    super::devices::check_hardware_id(tenant, ObjectKind::Sensor, &hardware_id, None)?;
    if taken.contains(&hardware_id) {
        return Err(MgmtError::conflict(format!(
            "two sensors of the request have the hardware id '{hardware_id}'; hardware ids are unique"
        )));
    }
    props.insert("hardwareId".to_owned(), json!(hardware_id));
    Ok(NewSensor { id, props, device: device_id })
}

/// A sensor is in its device's space: a body's `spaceId`, when given, must name it.
///
/// The 2018 API let a sensor name another space; here navigation, paths, key lookups and delete rules all follow the containment tree, where a sensor sits under its device, so a sensor elsewhere is refused rather than shown in one place and found in another.
fn check_space(tenant: &Tenant, body: &Body, device_space: Option<u32>) -> Result<(), MgmtError> {
    let Some(space) = body.id("spaceId")? else { return Ok(()) };
    let slot = object_slot(&tenant.graph, ObjectKind::Space, space)?;
    if Some(slot) == device_space {
        return Ok(());
    }
    let device_space = device_space.and_then(|s| tenant.graph.twin_at(s)).map_or("none", |t| t.id.as_str());
    Err(MgmtError::invalid_member(
        "spaceId",
        format!(
            "a sensor is in its device's space ('{device_space}'), not '{space}'; move the device, or leave `spaceId` out"
        ),
    ))
}

/// The twin properties of a sensor body but its hardware id.
fn sensor_props(tenant: &Tenant, body: &Body, path: &[&str], creating: bool) -> Result<Map<String, Value>, MgmtError> {
    let mut props = Map::new();
    body.put_text(&mut props, "name", 1, 64)?;
    body.put_text(&mut props, "description", 0, 4000)?;
    body.put_text(&mut props, "port", 0, 20)?;
    if let Some(rate) = body.integer("pollRate")? {
        let rate = i32::try_from(rate)
            .map_err(|_| MgmtError::invalid_member("pollRate", format!("`pollRate` {rate} is not a 32-bit integer")))?;
        props.insert("pollRate".to_owned(), json!(rate));
    }
    if let Some(location) = objects::location_from_body(body)? {
        props.insert("location".to_owned(), location);
    }
    props.extend(objects::types_from_body(&tenant.spatial, ObjectKind::Sensor, body, path, creating)?);
    let properties =
        objects::properties_from_body(&tenant.spatial, ObjectKind::Sensor, body.array("properties")?, path)?;
    if !properties.is_empty() {
        props.insert("properties".to_owned(), Value::Object(properties));
    }
    Ok(props)
}

pub(crate) fn apply_new(tenant: &mut Tenant, sensor: NewSensor, now: &str) -> Result<Written, MgmtError> {
    Ok(Written::changes(objects::create_twin(
        &mut tenant.graph,
        ObjectKind::Sensor,
        &sensor.id,
        sensor.props,
        Some(&sensor.device),
        now,
    )?))
}

async fn update_sensor(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Body,
) -> Result<StatusCode, MgmtError> {
    let now = now();
    super::updated(&state, move |tenant| {
        let slot = object_slot(&tenant.graph, ObjectKind::Sensor, &id)?;
        let new_device = match body.id("deviceId")? {
            Some(device) => Some((object_slot(&tenant.graph, ObjectKind::Device, device)?, device.to_owned())),
            None => None,
        };
        let device_slot = new_device.as_ref().map(|(d, _)| *d).or_else(|| tenant.graph.parent_at(slot));
        let device_space = device_slot.and_then(|d| tenant.graph.parent_at(d));
        check_space(tenant, &body, device_space)?;
        let path: Vec<&str> = device_space.map(|s| tenant.graph.path_at(s)).unwrap_or_default();
        let mut props = sensor_props(tenant, &body, &path, false)?;
        if let Some(hardware_id) = body.bounded("hardwareId", 1, 72)? {
            super::devices::check_hardware_id(tenant, ObjectKind::Sensor, hardware_id, Some(slot))?;
            props.insert("hardwareId".to_owned(), json!(hardware_id));
        }
        let mut written = Written::default();
        written.and(objects::patch(&mut tenant.graph, &id, props, &now)?);
        if let Some((device_slot, device)) = new_device
            && tenant.graph.parent_at(slot) != Some(device_slot)
        {
            written.and(Written::changes(objects::place(&mut tenant.graph, ObjectKind::Sensor, &id, &device, &now)?));
        }
        Ok(written)
    })
    .await
}

async fn delete_sensor(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, MgmtError> {
    super::updated(&state, move |tenant| {
        object_slot(&tenant.graph, ObjectKind::Sensor, &id)?;
        let changes = tenant.graph.delete_twin(&id, &Precondition::None, true)?;
        Ok(Written::changes(changes))
    })
    .await
}
