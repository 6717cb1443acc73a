//! Space resources of the 2018 face (`resources…`, `spaces/{id}/resources/{type}`, `devices/{id}/resources/{type}`): the `IoTHub` a space's subtree ingests device telemetry through.
//!
//! A resource lives in the tenant's `spatial` state, hangs off a space, and a space has at most one resource of a type (`Spatial::put_resource` holds that rule).
//! Provisioning is asynchronous, as in the 2018 service, whose clients create a hub and poll `GET resources/{id}` while its `status` is `Provisioning`: a resource this server provisions is stored `Provisioning`, and once that is durable a spawned task stores it `Running` with a second durable write.
//! Should the server stop between the two writes, the next read that finds the resource still `Provisioning` starts the task again, so no resource stays `Provisioning` for ever.
//! A resource created with `isExternallyCreated: true` is somebody else's to run: it starts `Running` (or in the `status` given) and its status changes only when a client patches it.
//! There is no hub to provision here: device telemetry reaches this server itself, so `properties.iothubUrl` is the host name the request was sent to.
//! This file deliberately does not register devices with the hub or refuse to delete a space holding a resource (the devices and spaces modules do).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ontology::ObjectKind;
use serde_json::{Map, Value, json};
use spatial::navigate::TreeFilter;
use spatial::odata::QueryOptions;
use spatial::state::{Resource, ResourceStatus};
use tracing::Instrument as _;

use super::objects::{self, View};
use super::{Body, Includes, MgmtError, Params, created, new_id, object_slot, route, space_path};
use crate::data::{TenantState, Written};
use crate::router::AppState;

/// The resource types, as the API shows them; requests may spell them in any case.
const TYPES: [&str; 1] = ["IoTHub"];

/// What `includes` may name on resources.
///
/// `properties` is accepted and changes nothing, since a resource's `properties` are always shown; `types` and `values` are accepted and add nothing, since resources have neither.
const INCLUDES: [&str; 6] = ["properties", "types", "values", "fullpath", "dependentchildren", "space"];

/// Keys and values of a resource's `parameters`, in characters.
const PARAMETER_CHARS_MAX: usize = 1024;

/// Entries of a resource's `parameters`.
const PARAMETERS_MAX: usize = 64;

/// Ids in `resourceDependencies`.
const DEPENDENCIES_MAX: usize = 64;

pub(crate) fn routes() -> Router<AppState> {
    let router = Router::new();
    let router = route(router, "/resources", get(list).post(create));
    let router = route(router, "/resources/{id}", get(retrieve).patch(update).delete(remove));
    let router = route(router, "/spaces/{id}/resources/{type}", get(of_space));
    route(router, "/devices/{id}/resources/{type}", get(of_device))
}

/// `GET resources?type&isExternallyCreated&includes` with the tree parameters (the resources on the spaces they select; without them, every resource) and OData.
async fn list(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, MgmtError> {
    let includes = params.includes(&INCLUDES)?;
    let kind = params.text(&["type"]).map(|t| resource_type("type", t)).transpose()?;
    let external = params.flag("isExternallyCreated")?;
    let filter = TreeFilter::from_pairs(&params.0)?;
    let options = QueryOptions::from_pairs(&params.0)?;
    let host = super::request_host(&uri, &headers);
    let max = state.limits.management_results_max.get();
    let tenant = state.data.tenant();
    let (values, provisioning) = tenant.read_all(|t| -> Result<_, MgmtError> {
        let view = View::new(t);
        let spaces = objects::spaces_selected(&view, &filter)?;
        let selected: Vec<&Resource> = t
            .spatial
            .resources()
            .filter(|r| spaces.as_ref().is_none_or(|s| s.contains(r.space_id.as_str())))
            .filter(|r| kind.is_none_or(|k| r.kind.eq_ignore_ascii_case(k)))
            .filter(|r| external.is_none_or(|e| r.is_externally_created == e))
            .collect();
        let mut out = objects::Results::new(options, max);
        for resource in &selected {
            if !out.push(retrieve_json(&view, resource, &includes, &host))? {
                break;
            }
        }
        Ok((out.finish(), stalled(selected.into_iter())))
    })?;
    resume(&state, &tenant, provisioning);
    Ok(axum::Json(Value::Array(values)).into_response())
}

/// `POST resources`: `{spaceId, type, size?, region?, isExternallyCreated?, parameters?, resourceDependencies?, status?}` → 201 with the new id.
async fn create(State(state): State<AppState>, body: Body) -> Result<Response, MgmtError> {
    let space_id = body.id("spaceId")?.ok_or_else(|| required("spaceId"))?.to_owned();
    let kind = resource_type("type", body.text("type")?.ok_or_else(|| required("type"))?)?;
    let size = body.text("size")?.map(|s| one_of("size", s, super::system::RESOURCE_SIZES)).transpose()?;
    let region = body.text("region")?.map(|r| one_of("region", r, super::system::RESOURCE_REGIONS)).transpose()?;
    let external = body.boolean("isExternallyCreated")?.unwrap_or(false);
    let parameters = parameters(&body, &Map::new())?;
    let dependencies = dependencies(&body)?;
    let status = match body.text("status")? {
        Some(text) => status(text)?,
        None if external => ResourceStatus::Running,
        None => ResourceStatus::Provisioning,
    };
    let resource = Resource {
        id: new_id(),
        space_id,
        kind: kind.to_owned(),
        size: size.map(str::to_owned),
        region: region.map(str::to_owned),
        is_externally_created: external,
        parameters,
        dependencies,
        status,
        last_updated_utc: crate::data::now(),
    };
    let id = resource.id.clone();
    let starts_provisioning = provisions(&resource);
    let tenant = state.data.tenant();
    tenant
        .write_all(&state.data, |t| {
            object_slot(&t.graph, ObjectKind::Space, &resource.space_id)?;
            if let Some(missing) = resource.dependencies.iter().find(|d| t.spatial.resource(d).is_none()) {
                return Err(MgmtError::not_found("resource", missing));
            }
            let records = t.spatial.put_resource(resource)?;
            Ok(((), Written::records(records)))
        })
        .await?;
    if starts_provisioning {
        drop(provision(&state, &tenant, id.clone()));
    }
    Ok(created(id))
}

/// `GET resources/{id}?includes`.
async fn retrieve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, MgmtError> {
    let includes = params.includes(&INCLUDES)?;
    let host = super::request_host(&uri, &headers);
    let tenant = state.data.tenant();
    let (value, provisioning) = tenant.read_all(|t| -> Result<_, MgmtError> {
        let resource = t.spatial.resource(&id).ok_or_else(|| MgmtError::not_found("resource", &id))?;
        Ok((retrieve_json(&View::new(t), resource, &includes, &host), stalled(std::iter::once(resource))))
    })?;
    resume(&state, &tenant, provisioning);
    Ok(axum::Json(value).into_response())
}

/// `PATCH resources/{id}`: `spaceId`, `size`, `region`, `status` and `parameters` (merged: a key with `null` is removed); `null` clears `size` and `region`.
async fn update(State(state): State<AppState>, Path(id): Path<String>, body: Body) -> Result<Response, MgmtError> {
    let space_id = body.id("spaceId")?.map(str::to_owned);
    let kind = body.text("type")?.map(|t| resource_type("type", t)).transpose()?;
    let size = optional_member(&body, "size", super::system::RESOURCE_SIZES)?;
    let region = optional_member(&body, "region", super::system::RESOURCE_REGIONS)?;
    let status = body.text("status")?.map(status).transpose()?;
    let tenant = state.data.tenant();
    let starts_provisioning = tenant
        .write_all(&state.data, |t| {
            let mut resource = t.spatial.resource(&id).ok_or_else(|| MgmtError::not_found("resource", &id))?.clone();
            if let Some(kind) = kind.filter(|k| !k.eq_ignore_ascii_case(&resource.kind)) {
                return Err(MgmtError::invalid_member(
                    "type",
                    format!("a resource's type cannot change (this one is {}, not {kind})", resource.kind),
                ));
            }
            if let Some(space_id) = space_id {
                object_slot(&t.graph, ObjectKind::Space, &space_id)?;
                resource.space_id = space_id;
            }
            if let Some(size) = size {
                resource.size = size.map(str::to_owned);
            }
            if let Some(region) = region {
                resource.region = region.map(str::to_owned);
            }
            if let Some(status) = status {
                resource.status = status;
            }
            resource.parameters = parameters(&body, &resource.parameters)?;
            resource.last_updated_utc = crate::data::now();
            let starts_provisioning = provisions(&resource);
            let records = t.spatial.put_resource(resource)?;
            Ok((starts_provisioning, Written::records(records)))
        })
        .await?;
    if starts_provisioning {
        drop(provision(&state, &tenant, id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE resources/{id}`: refused while another resource depends on it.
async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, MgmtError> {
    state
        .data
        .tenant()
        .write_all(&state.data, |t| {
            let records = t.spatial.delete_resource(&id)?;
            Ok::<_, MgmtError>(((), Written::records(records)))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET spaces/{id}/resources/{type}?includes`: the first resource of the type found walking up from the space.
async fn of_space(
    State(state): State<AppState>,
    Path((id, kind)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, MgmtError> {
    above(&state, ObjectKind::Space, &id, &kind, &uri, &headers, &params)
}

/// `GET devices/{id}/resources/{type}?includes`: the first resource of the type found walking up from the device's space.
async fn of_device(
    State(state): State<AppState>,
    Path((id, kind)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, MgmtError> {
    above(&state, ObjectKind::Device, &id, &kind, &uri, &headers, &params)
}

fn above(
    state: &AppState,
    object: ObjectKind,
    id: &str,
    kind: &str,
    uri: &Uri,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Response, MgmtError> {
    let includes = params.includes(&INCLUDES)?;
    let kind = resource_type("type", kind)?;
    let host = super::request_host(uri, headers);
    let tenant = state.data.tenant();
    let (value, provisioning) = tenant.read_all(|t| -> Result<_, MgmtError> {
        let slot = object_slot(&t.graph, object, id)?;
        let resource = t.spatial.resource_above(kind, &space_path(&t.graph, slot)).ok_or_else(|| {
            MgmtError::absent(format!(
                "there is no {kind} resource on {} '{id}' or a space above it",
                super::kind_name(object)
            ))
        })?;
        Ok((retrieve_json(&View::new(t), resource, &includes, &host), stalled(std::iter::once(resource))))
    })?;
    resume(state, &tenant, provisioning);
    Ok(axum::Json(value).into_response())
}

/// A resource as the API shows it (`SpaceResourceRetrieve`), with the sections `includes` asks for.
fn retrieve_json(view: &View<'_>, resource: &Resource, includes: &Includes, host: &str) -> Value {
    let mut value = resource.to_json();
    let object = value.as_object_mut().expect("a resource renders as a JSON object");
    object.shift_remove("resourceDependencies");
    object.insert("properties".to_owned(), properties(resource, host));
    for (section, member) in [("space", "space"), ("fullpath", "spacePaths")] {
        if includes.has(section) {
            object.insert(member.to_owned(), view.space_section(&resource.space_id, section));
        }
    }
    if includes.has("dependentchildren") {
        let shown = Includes::default();
        let children: Vec<Value> = resource
            .dependencies
            .iter()
            .filter_map(|d| view.spatial.resource(d))
            .map(|r| retrieve_json(view, r, &shown, host))
            .collect();
        let ancestors: Vec<Value> = view
            .spatial
            .resources()
            .filter(|r| r.dependencies.contains(&resource.id))
            .map(|r| retrieve_json(view, r, &shown, host))
            .collect();
        object.insert("dependentChildren".to_owned(), Value::Array(children));
        object.insert("dependentAncestors".to_owned(), Value::Array(ancestors));
    }
    value
}

/// A resource's `properties`: for an IoT hub, `iothubUrl`, the host its devices send telemetry to (the S6 model's `properties.iothubUrl`), which here is this server.
fn properties(resource: &Resource, host: &str) -> Value {
    if resource.kind.eq_ignore_ascii_case("IoTHub") { json!({ "iothubUrl": host }) } else { json!({}) }
}

/// Whether this server provisions the resource: one of its own that is `Provisioning`.
fn provisions(resource: &Resource) -> bool {
    !resource.is_externally_created && resource.status == ResourceStatus::Provisioning
}

/// The ids of the resources read that this server should be provisioning.
fn stalled<'r>(resources: impl Iterator<Item = &'r Resource>) -> Vec<String> {
    resources.filter(|r| provisions(r)).map(|r| r.id.clone()).collect()
}

/// Restarts provisioning of resources a read found still `Provisioning`: normally their task is about to finish, and finds nothing to do; after a restart between a create and its completion, this is what completes it.
fn resume(state: &AppState, tenant: &Arc<TenantState>, ids: Vec<String>) {
    for id in ids {
        drop(provision(state, tenant, id));
    }
}

/// Spawns the completion of a resource's provisioning: a durable write that stores it `Running`, if it is still this server's to provision.
fn provision(state: &AppState, tenant: &Arc<TenantState>, id: String) -> tokio::task::JoinHandle<()> {
    let (state, tenant) = (state.clone(), Arc::clone(tenant));
    let span = tracing::info_span!("provision", tenant = %tenant.id, resource = %id);
    tokio::spawn(
        async move {
            // Most resumptions find the task already done; checking under the read lock first spares them an empty commit.
            if !tenant.read_all(|t| t.spatial.resource(&id).is_some_and(provisions)) {
                return;
            }
            let result = tenant
                .write_all(&state.data, |t| {
                    let Some(resource) = t.spatial.resource(&id).filter(|r| provisions(r)) else {
                        return Ok(((), Written::default()));
                    };
                    let mut resource = resource.clone();
                    resource.status = ResourceStatus::Running;
                    resource.last_updated_utc = crate::data::now();
                    let records = t.spatial.put_resource(resource)?;
                    Ok::<_, MgmtError>(((), Written::records(records)))
                })
                .await;
            match result {
                Ok(()) => tracing::info!("resource provisioned"),
                Err(err) => tracing::error!(
                    error = %err.message(),
                    "storing a provisioned resource as Running failed; the next read of the resource retries"
                ),
            }
        }
        .instrument(span),
    )
}

/// A resource type named in a request, in the API's spelling.
fn resource_type(member: &str, text: &str) -> Result<&'static str, MgmtError> {
    one_of(member, text, &TYPES)
}

/// `text` as the value of `allowed` it names ignoring case.
fn one_of<'a>(member: &str, text: &str, allowed: &[&'a str]) -> Result<&'a str, MgmtError> {
    let text = text.trim();
    allowed.iter().find(|a| a.eq_ignore_ascii_case(text)).copied().ok_or_else(|| {
        MgmtError::invalid_member(member, format!("`{member}` is `{text}`; it takes one of {}", allowed.join(", ")))
    })
}

/// A resource status named in a request.
fn status(text: &str) -> Result<ResourceStatus, MgmtError> {
    ResourceStatus::parse(text.trim()).ok_or_else(|| {
        let names: Vec<&str> = ResourceStatus::ALL.iter().map(|s| s.name()).collect();
        MgmtError::invalid_member("status", format!("`status` is `{text}`; it takes one of {}", names.join(", ")))
    })
}

/// An update of an optional enumerated member: absent is `None`, `null` is `Some(None)` (clear it), a value is checked against `allowed`.
fn optional_member<'a>(body: &Body, member: &str, allowed: &[&'a str]) -> Result<Option<Option<&'a str>>, MgmtError> {
    match body.text(member)? {
        Some(text) => one_of(member, text, allowed).map(|v| Some(Some(v))),
        None if body.has(member) => Ok(Some(None)),
        None => Ok(None),
    }
}

/// `parameters` applied over `current`: string values set a key, `null` removes it.
fn parameters(body: &Body, current: &Map<String, Value>) -> Result<Map<String, Value>, MgmtError> {
    let mut merged = current.clone();
    let Some(given) = body.get("parameters") else { return Ok(merged) };
    let Value::Object(given) = given else {
        return Err(MgmtError::invalid_member("parameters", "`parameters` must be an object of strings"));
    };
    for (key, value) in given {
        match value {
            Value::Null => {
                merged.remove(key);
            }
            Value::String(text)
                if key.chars().count() <= PARAMETER_CHARS_MAX && text.chars().count() <= PARAMETER_CHARS_MAX =>
            {
                merged.insert(key.clone(), value.clone());
            }
            Value::String(_) => {
                return Err(MgmtError::invalid_member(
                    "parameters",
                    format!("`parameters` keys and values take at most {PARAMETER_CHARS_MAX} characters"),
                ));
            }
            _ => {
                return Err(MgmtError::invalid_member(
                    "parameters",
                    format!(
                        "`parameters` has `{key}` that is not a string; its values are strings (or null to remove one)"
                    ),
                ));
            }
        }
    }
    if merged.len() > PARAMETERS_MAX {
        return Err(MgmtError::invalid_member(
            "parameters",
            format!("`parameters` would have {} entries; a resource takes at most {PARAMETERS_MAX}", merged.len()),
        ));
    }
    Ok(merged)
}

/// `resourceDependencies`: resource ids, each once.
fn dependencies(body: &Body) -> Result<Vec<String>, MgmtError> {
    let items = body.array("resourceDependencies")?;
    if items.len() > DEPENDENCIES_MAX {
        return Err(MgmtError::invalid_member(
            "resourceDependencies",
            format!("`resourceDependencies` has {} ids; it takes at most {DEPENDENCIES_MAX}", items.len()),
        ));
    }
    let mut ids: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let Some(id) = item.as_str().map(str::trim).filter(|id| !id.is_empty()) else {
            return Err(MgmtError::invalid_member("resourceDependencies", "`resourceDependencies` holds resource ids"));
        };
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_owned());
        }
    }
    Ok(ids)
}

fn required(member: &str) -> MgmtError {
    MgmtError::invalid_member(member, format!("`{member}` is required"))
}

#[cfg(test)]
mod tests {
    use spatial::state::{Resource, ResourceStatus};

    use super::provision;
    use crate::data::Written;
    use crate::management::MgmtError;
    use crate::router::AppState;

    const THEN: &str = "2026-01-01T00:00:00.0000000Z";

    /// Stores a resource as a create does, without starting its provisioning.
    async fn stored(state: &AppState, id: &str, external: bool) {
        let resource = Resource {
            id: id.to_owned(),
            space_id: "hotel".to_owned(),
            kind: "IoTHub".to_owned(),
            size: None,
            region: None,
            is_externally_created: external,
            parameters: serde_json::Map::new(),
            dependencies: Vec::new(),
            status: ResourceStatus::Provisioning,
            last_updated_utc: THEN.to_owned(),
        };
        let tenant = state.data.tenant();
        let written = tenant
            .write_all(&state.data, |t| Ok::<_, MgmtError>(((), Written::records(t.spatial.put_resource(resource)?))));
        written.await.expect("the resource is stored");
    }

    /// The resource's status and whether it was written after it was stored.
    fn status(state: &AppState, id: &str) -> (ResourceStatus, bool) {
        state.data.tenant().read_all(|t| {
            let resource = t.spatial.resource(id).expect("the resource exists");
            (resource.status, resource.last_updated_utc != THEN)
        })
    }

    #[tokio::test]
    async fn a_resource_is_provisioning_until_its_task_stores_it_running_once() {
        let state = AppState::new(&crate::Config::default());
        let tenant = state.data.tenant();
        stored(&state, "hub", false).await;
        assert_eq!(status(&state, "hub"), (ResourceStatus::Provisioning, false));
        provision(&state, &tenant, "hub".to_owned()).await.expect("the task runs");
        let running = status(&state, "hub");
        assert_eq!(running, (ResourceStatus::Running, true));
        // A second start, as a read while it was provisioning makes one, finds nothing to do.
        let version = tenant.read_all(|t| t.spatial.resource("hub").map(|r| r.last_updated_utc.clone()));
        provision(&state, &tenant, "hub".to_owned()).await.expect("the task runs");
        assert_eq!(tenant.read_all(|t| t.spatial.resource("hub").map(|r| r.last_updated_utc.clone())), version);
    }

    #[tokio::test]
    async fn an_externally_created_resource_is_not_provisioned_here() {
        let state = AppState::new(&crate::Config::default());
        stored(&state, "theirs", true).await;
        provision(&state, &state.data.tenant(), "theirs".to_owned()).await.expect("the task runs");
        assert_eq!(status(&state, "theirs"), (ResourceStatus::Provisioning, false));
    }
}
