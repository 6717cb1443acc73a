//! `devices`: list with navigation and filters, create (with inline `sensors`), upsert by name and space, get (with `includes=ConnectionString`), update (moving a device to another space), delete (with its sensors), and `register`/`unregister` with the space's IoT Hub.
//!
//! A device is a twin of `dtmi:twinscape:Device;1` placed in its space by `hasDevice`; its hardware id is unique among devices, so re-running a provisioning script is harmless.
//! Registering a device gives it a shared access key (kept in the tenant's spatial state, not in the twin, so queries never show it); its connection string names it by its GUID.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use base64::Engine as _;
use ontology::ObjectKind;
use serde_json::{Map, Value, json};

use super::objects::{self, View};
use super::{Body, MgmtError, Params, created, new_id, object_slot, route};
use crate::data::{Tenant, Written, now};
use crate::router::AppState;

/// The `includes` a device read accepts.
const INCLUDES: &[&str] = &[
    "connectionstring",
    "sensors",
    "sensorstypes",
    "sensorsvalues",
    "sensorsproperties",
    "types",
    "properties",
    "fullpath",
    "location",
    "description",
    "space",
    "spacetypes",
    "spacevalues",
    "spaceproperties",
    "iothub",
    "sastoken",
];

pub(crate) fn routes() -> Router<AppState> {
    let router = Router::new();
    let router = route(router, "/devices", get(list_devices).post(create_device).put(put_device));
    let router = route(router, "/devices/{id}", get(get_device).patch(update_device).delete(delete_device));
    let router = route(router, "/devices/{id}/register", patch(register));
    route(router, "/devices/{id}/unregister", patch(unregister))
}

/// `GET devices`: connection strings are not listed (they carry each device's key), as in the 2018 service; `GET devices/{id}?includes=ConnectionString` gives one.
async fn list_devices(State(state): State<AppState>, params: Params) -> Result<Response, MgmtError> {
    objects::list_response(&state, ObjectKind::Device, &params, &params.includes(INCLUDES)?.without("connectionstring"))
}

async fn get_device(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, MgmtError> {
    let includes = params.includes(INCLUDES)?;
    let host = super::request_host(&uri, &headers);
    let device = state.data.tenant().read_all(|tenant| {
        let slot = object_slot(&tenant.graph, ObjectKind::Device, &id)?;
        let mut view = View::new(tenant);
        view.host = Some(&host);
        let mut device = view.render(slot, ObjectKind::Device, &includes);
        if includes.has("sastoken") {
            device["sasToken"] = json!(sas_token(tenant, slot)?);
        }
        Ok::<_, MgmtError>(device)
    })?;
    Ok(axum::Json(device).into_response())
}

/// `includes=SasToken`: a token for the device's hardware id signed with the newest active key of the key store above it (`keystores/{id}/keys/last/token`); `null` when no key store above has an active key.
fn sas_token(tenant: &Tenant, slot: u32) -> Result<Option<String>, MgmtError> {
    let path = super::space_path(&tenant.graph, slot);
    let Some(store) = tenant.spatial.keystore_above(&path) else { return Ok(None) };
    let Some(key) = store.last_active_key() else { return Ok(None) };
    let hardware_id = tenant.graph.twin_at(slot).and_then(|t| t.property("hardwareId"));
    let Some(hardware_id) = hardware_id.as_ref().and_then(Value::as_str) else { return Ok(None) };
    super::keystores::issue(store, key, hardware_id).map(Some)
}

/// A device to create, checked: its id, twin properties, space, sensors, and whether it gets a key.
struct NewDevice {
    id: String,
    props: Map<String, Value>,
    space: String,
    sensors: Vec<super::sensors::NewSensor>,
    key: bool,
}

async fn create_device(State(state): State<AppState>, body: Body) -> Result<Response, MgmtError> {
    let now = now();
    let id = state
        .data
        .tenant()
        .write_all(&state.data, move |tenant| {
            let device = check_new(tenant, &body)?;
            let id = device.id.clone();
            Ok::<_, MgmtError>((id, apply_new(tenant, device, &now)?))
        })
        .await?;
    Ok(created(id))
}

/// `PUT devices`: creates the device, or updates the device of that name in that space (201 with the id, or 204).
async fn put_device(State(state): State<AppState>, body: Body) -> Result<Response, MgmtError> {
    let now = now();
    state
        .data
        .tenant()
        .write_all(&state.data, move |tenant| {
            let mut written = Written::default();
            let space = body
                .id("spaceId")?
                .ok_or_else(|| MgmtError::invalid_member("spaceId", "a device needs a `spaceId`"))?;
            let space_slot = object_slot(&tenant.graph, ObjectKind::Space, space)?;
            let name = body.text("name")?.ok_or_else(|| {
                MgmtError::invalid_member("name", "`PUT devices` finds the device by `name` and `spaceId`")
            })?;
            let existing = tenant.graph.children_at(space_slot).find(|&c| {
                super::is_kind(&tenant.graph, c, ObjectKind::Device)
                    && tenant.graph.twin_at(c).and_then(|t| t.property("name")).as_ref().and_then(Value::as_str)
                        == Some(name)
            });
            match existing {
                Some(slot) => {
                    let id = tenant.graph.twin_at(slot).map(|t| t.id.clone()).unwrap_or_default();
                    written.and(update(tenant, &id, &body, &now)?);
                    Ok::<_, MgmtError>((StatusCode::NO_CONTENT.into_response(), written))
                }
                None => {
                    let device = check_new(tenant, &body)?;
                    let id = device.id.clone();
                    written.and(apply_new(tenant, device, &now)?);
                    Ok((created(id), written))
                }
            }
        })
        .await
}

/// Checks a device body against the tenant as it is.
fn check_new(tenant: &Tenant, body: &Body) -> Result<NewDevice, MgmtError> {
    let id = new_id();
    let space =
        body.id("spaceId")?.ok_or_else(|| MgmtError::invalid_member("spaceId", "a device needs a `spaceId`"))?;
    let space_slot = object_slot(&tenant.graph, ObjectKind::Space, space)?;
    let path: Vec<&str> = tenant.graph.path_at(space_slot);
    let mut props = device_props(tenant, body, &path, true)?;
    let hardware_id = match body.bounded("hardwareId", 1, 36)? {
        Some(hardware_id) => hardware_id.to_owned(),
        None => id.clone(),
    };
    check_hardware_id(tenant, ObjectKind::Device, &hardware_id, None)?;
    props.insert("hardwareId".to_owned(), json!(hardware_id));
    if let Some(gateway) = gateway_by_type(tenant, body, space_slot, &path)? {
        props.insert("gatewayId".to_owned(), json!(gateway));
    }
    let name = props.get("name").and_then(Value::as_str).map(str::to_owned);
    if name.is_none() {
        props.insert("name".to_owned(), json!(hardware_id));
    }
    let mut sensors = Vec::new();
    let mut hardware_ids = Vec::new();
    for sensor in body.array("sensors")? {
        let sensor = Body::from_value(sensor, "sensors")?;
        let new = super::sensors::check_new(tenant, &sensor, Some((&id, space_slot)), &hardware_ids)?;
        hardware_ids.push(new.hardware_id().to_owned());
        sensors.push(new);
    }
    let key = body.boolean("createIoTHubDevice")?.unwrap_or(true);
    Ok(NewDevice { id, props, space: space.to_owned(), sensors, key })
}

/// The twin properties of a device body but its hardware id: names, description, gateway, status, location, types, extended properties.
fn device_props(tenant: &Tenant, body: &Body, path: &[&str], creating: bool) -> Result<Map<String, Value>, MgmtError> {
    let mut props = Map::new();
    body.put_text(&mut props, "name", 3, 64)?;
    body.put_text(&mut props, "friendlyName", 0, 64)?;
    body.put_text(&mut props, "description", 0, 4000)?;
    body.put_text(&mut props, "gatewayId", 0, 64)?;
    match body.text("status")? {
        Some(status) => {
            let Some(known) = super::system::DEVICE_STATUSES.iter().find(|s| s.eq_ignore_ascii_case(status)) else {
                return Err(MgmtError::invalid_member(
                    "status",
                    format!("`status` is `{status}`; it takes {}", super::system::DEVICE_STATUSES.join(", ")),
                ));
            };
            props.insert("status".to_owned(), json!(known));
        }
        None if creating => {
            props.insert("status".to_owned(), json!("Provisioned"));
        }
        None => {}
    }
    if let Some(location) = objects::location_from_body(body)? {
        props.insert("location".to_owned(), location);
    }
    props.extend(objects::types_from_body(&tenant.spatial, ObjectKind::Device, body, path, creating)?);
    let properties =
        objects::properties_from_body(&tenant.spatial, ObjectKind::Device, body.array("properties")?, path)?;
    if !properties.is_empty() {
        props.insert("properties".to_owned(), Value::Object(properties));
    }
    Ok(props)
}

/// `parentDeviceType`/`parentDeviceSubtype`: the gateway is the device of that type (and subtype) in the space or the closest space above.
fn gateway_by_type(tenant: &Tenant, body: &Body, space: u32, path: &[&str]) -> Result<Option<String>, MgmtError> {
    let ty = body.text("parentDeviceType")?;
    let subtype = body.text("parentDeviceSubtype")?;
    if ty.is_none() && subtype.is_none() {
        return Ok(None);
    }
    let matches = |slot: u32, member: &str, wanted: Option<&str>| {
        let Some(wanted) = wanted else { return true };
        let value = tenant.graph.twin_at(slot).and_then(|t| t.property(member));
        value.as_ref().and_then(Value::as_str).is_some_and(|v| v.eq_ignore_ascii_case(wanted))
    };
    let found = std::iter::once(space).chain(tenant.graph.ancestors_at(space)).find_map(|s| {
        tenant.graph.children_at(s).find(|&c| {
            super::is_kind(&tenant.graph, c, ObjectKind::Device)
                && matches(c, "type", ty)
                && matches(c, "subtype", subtype)
        })
    });
    match found.and_then(|slot| tenant.graph.twin_at(slot)) {
        Some(gateway) => Ok(Some(gateway.id.clone())),
        None => Err(MgmtError::not_found(
            "gateway device of the given parentDeviceType/parentDeviceSubtype above space",
            path.last().copied().unwrap_or_default(),
        )),
    }
}

/// Refuses a hardware id that another object of `kind` has (`except` is the object being updated).
pub(crate) fn check_hardware_id(
    tenant: &Tenant,
    kind: ObjectKind,
    hardware_id: &str,
    except: Option<u32>,
) -> Result<(), MgmtError> {
    let taken = tenant
        .graph
        .slots_with_property("hardwareId", hardware_id)
        .iter()
        .find(|&&slot| Some(slot) != except && super::is_kind(&tenant.graph, slot, kind));
    match taken.and_then(|&slot| tenant.graph.twin_at(slot)) {
        Some(other) => Err(MgmtError::conflict(format!(
            "{} '{}' already has the hardware id '{hardware_id}'; hardware ids are unique",
            super::kind_name(kind),
            other.id
        ))),
        None => Ok(()),
    }
}

fn apply_new(tenant: &mut Tenant, device: NewDevice, now: &str) -> Result<Written, MgmtError> {
    let mut written = Written::changes(objects::create_twin(
        &mut tenant.graph,
        ObjectKind::Device,
        &device.id,
        device.props,
        Some(&device.space),
        now,
    )?);
    if device.key {
        written.and(Written::records(tenant.spatial.put_device_key(&device.id, new_key())));
    }
    for sensor in device.sensors {
        written.and(super::sensors::apply_new(tenant, sensor, now)?);
    }
    Ok(written)
}

/// A new random device key: 32 bytes from two version-4 UUIDs (each 122 random bits from the operating system's generator), base64.
fn new_key() -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn update_device(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Body,
) -> Result<StatusCode, MgmtError> {
    let now = now();
    super::updated(&state, move |tenant| {
        let written = update(tenant, &id, &body, &now)?;
        Ok(written)
    })
    .await
}

/// Updates a device from a body; only given members change.
fn update(tenant: &mut Tenant, id: &str, body: &Body, now: &str) -> Result<Written, MgmtError> {
    let slot = object_slot(&tenant.graph, ObjectKind::Device, id)?;
    let new_space = match body.id("spaceId")? {
        Some(space) => Some((object_slot(&tenant.graph, ObjectKind::Space, space)?, space.to_owned())),
        None => None,
    };
    let space_slot = new_space.as_ref().map(|(s, _)| *s).or_else(|| tenant.graph.parent_at(slot));
    let path: Vec<&str> = space_slot.map(|s| tenant.graph.path_at(s)).unwrap_or_default();
    let mut props = device_props(tenant, body, &path, false)?;
    if let Some(hardware_id) = body.bounded("hardwareId", 1, 36)? {
        check_hardware_id(tenant, ObjectKind::Device, hardware_id, Some(slot))?;
        props.insert("hardwareId".to_owned(), json!(hardware_id));
    }
    let mut written = Written::default();
    written.and(objects::patch(&mut tenant.graph, id, props, now)?);
    if let Some((space_slot, space)) = new_space
        && tenant.graph.parent_at(slot) != Some(space_slot)
    {
        written.and(Written::changes(objects::place(&mut tenant.graph, ObjectKind::Device, id, &space, now)?));
    }
    Ok(written)
}

/// `DELETE devices/{id}`: the device and its sensors.
async fn delete_device(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, MgmtError> {
    super::updated(&state, move |tenant| {
        let slot = object_slot(&tenant.graph, ObjectKind::Device, &id)?;
        let doomed: Vec<String> =
            tenant.graph.subtree_at(slot).filter_map(|s| tenant.graph.twin_at(s)).map(|t| t.id.clone()).collect();
        let mut written = Written::default();
        for twin in doomed.iter().rev() {
            written.and(Written::changes(tenant.graph.delete_twin(twin, &graph::Precondition::None, true)?));
        }
        written.and(Written::records(tenant.spatial.forget(&|gone| doomed.iter().any(|d| d == gone))));
        Ok(written)
    })
    .await
}

/// `PATCH devices/{id}/register`: gives the device a key (an IoT Hub identity) if it has none; its space, or one above, needs an IoT Hub resource.
async fn register(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, MgmtError> {
    super::updated(&state, move |tenant| {
        let slot = object_slot(&tenant.graph, ObjectKind::Device, &id)?;
        let path = super::space_path(&tenant.graph, slot);
        if tenant.spatial.resource_above("IoTHub", &path).is_none() {
            return Err(MgmtError::invalid(format!(
                "device '{id}' is in no space with an IoTHub resource above it; create one with POST resources first"
            )));
        }
        let records = if tenant.spatial.device_key(&id).is_some() {
            Vec::new()
        } else {
            tenant.spatial.put_device_key(&id, new_key())
        };
        Ok(Written::records(records))
    })
    .await
}

/// `PATCH devices/{id}/unregister`: removes the device's key, so it can no longer connect; registering again gives a new one.
async fn unregister(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, MgmtError> {
    super::updated(&state, move |tenant| {
        object_slot(&tenant.graph, ObjectKind::Device, &id)?;
        let records = tenant.spatial.forget(&|gone| gone == id);
        Ok(Written::records(records))
    })
    .await
}
