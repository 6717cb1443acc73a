//! `spaces`: list with navigation and filters, create (with nested `children` and `users`), get, update (moving a space moves its subtree), delete (cascading to what the space holds), `values` and `parent?spaceType=`.
//!
//! A space is a twin of `dtmi:twinscape:Space;1` (or a model extending it) placed under its parent space by `contains`; its type, subtype and status are extended types kept as twin properties, by id and by name.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use graph::Precondition;
use ontology::ObjectKind;
use serde_json::{Map, Value, json};

use super::objects::{self, View};
use super::{Body, Includes, MgmtError, Params, created, new_id, object_slot, route};
use crate::data::{Tenant, Written, now};
use crate::router::AppState;

/// The `includes` a space read accepts.
const INCLUDES: &[&str] = &[
    "types",
    "values",
    "properties",
    "fullpath",
    "devices",
    "devicestypes",
    "devicesproperties",
    "sensors",
    "sensorsvalues",
    "sensorstypes",
    "sensorsproperties",
    "location",
    "timezone",
    "description",
    "parent",
    "parenttypes",
    "parentvalues",
    "parentproperties",
    "childspaces",
    "childspacestypes",
    "childspacesvalues",
    "childspacesproperties",
    "users",
    "usersproperties",
    "resources",
];

/// Name lengths of a space.
const NAME_CHARS: (usize, usize) = (1, 64);

pub(crate) fn routes() -> Router<AppState> {
    let router = Router::new();
    let router = route(router, "/spaces", get(list_spaces).post(create_space));
    let router = route(router, "/spaces/{id}", get(get_space).patch(update_space).delete(delete_space));
    let router = route(router, "/spaces/{id}/values", get(space_values));
    route(router, "/spaces/{id}/parent", get(parent_space))
}

async fn list_spaces(State(state): State<AppState>, params: Params) -> Result<Response, MgmtError> {
    let includes = params.includes(INCLUDES)?;
    let upns = params.list("userUpn");
    let max = state.limits.management_results_max.get();
    let mut spaces = state.data.tenant().read_all(|tenant| {
        let view = view(tenant, &params);
        let has_user = |slot: u32| {
            view.graph.children_at(slot).filter(|&c| view.kinds.kind_at(c) == Some(ObjectKind::User)).any(|c| {
                let upn = view.graph.twin_at(c).and_then(|t| t.property("upn"));
                upn.as_ref().and_then(Value::as_str).is_some_and(|u| upns.iter().any(|w| w.eq_ignore_ascii_case(u)))
            })
        };
        let keep = |slot: u32, _: &Map<String, Value>| upns.is_empty() || has_user(slot);
        let mut spaces = objects::list(&view, ObjectKind::Space, &params, &includes, &keep, max)?;
        restrict_values(&mut spaces, &params);
        Ok::<_, MgmtError>(spaces)
    })?;
    fill_historical(&state, &mut spaces)?;
    Ok(axum::Json(spaces).into_response())
}

/// A view whose host (for connection strings in nested devices) is unknown: spaces never show them.
fn view<'a>(tenant: &'a Tenant, _params: &Params) -> View<'a> {
    View::new(tenant)
}

/// `sensorDataTypes`: keep only the values of those types in `values`.
fn restrict_values(spaces: &mut [Value], params: &Params) {
    let types = params.list("sensorDataTypes");
    if types.is_empty() {
        return;
    }
    for space in spaces {
        if let Some(Value::Array(values)) = space.get_mut("values") {
            values.retain(|v| {
                v.get("type").and_then(Value::as_str).is_some_and(|t| types.iter().any(|w| w.eq_ignore_ascii_case(t)))
            });
        }
    }
}

async fn get_space(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, MgmtError> {
    let includes = params.includes(INCLUDES)?;
    let mut space = state.data.tenant().read_all(|tenant| {
        let slot = object_slot(&tenant.graph, ObjectKind::Space, &id)?;
        Ok::<_, MgmtError>(View::new(tenant).render(slot, ObjectKind::Space, &includes))
    })?;
    restrict_values(std::slice::from_mut(&mut space), &params);
    fill_historical(&state, std::slice::from_mut(&mut space))?;
    Ok(axum::Json(space).into_response())
}

/// Fills the `historicalValues` of the spaces' `values` and of everything nested in them (when shown), after the tenant's lock is released.
fn fill_historical(state: &AppState, spaces: &mut [Value]) -> Result<(), MgmtError> {
    let tenant = state.data.tenant();
    spaces.iter_mut().try_for_each(|space| crate::history::fill_all(tenant.points(), space))?;
    Ok(())
}

/// `GET spaces/{id}/values`: the space's computed values (`setSpaceValue`), as `SensorValue`s.
async fn space_values(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, MgmtError> {
    let mut space = state.data.tenant().read_all(|tenant| {
        let slot = object_slot(&tenant.graph, ObjectKind::Space, &id)?;
        Ok::<_, MgmtError>(View::new(tenant).render(slot, ObjectKind::Space, &Includes::of(&["values"])))
    })?;
    restrict_values(std::slice::from_mut(&mut space), &params);
    fill_historical(&state, std::slice::from_mut(&mut space))?;
    Ok(axum::Json(space.get("values").cloned().unwrap_or_else(|| json!([]))).into_response())
}

/// `GET spaces/{id}/parent?spaceType=X`: the closest ancestor of that type (the parent when no type is given).
async fn parent_space(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, MgmtError> {
    let includes = params.includes(INCLUDES)?;
    let wanted = params.text(&["spaceType"]).map(str::to_owned);
    let parent = state.data.tenant().read_all(|tenant| {
        let slot = object_slot(&tenant.graph, ObjectKind::Space, &id)?;
        let view = View::new(tenant);
        let found =
            tenant.graph.ancestors_at(slot).filter(|&a| view.kinds.kind_at(a) == Some(ObjectKind::Space)).find(|&a| {
                let Some(wanted) = &wanted else { return true };
                let twin = tenant.graph.twin_at(a);
                let name = twin.and_then(|t| t.property("type"));
                let type_id = twin.and_then(|t| t.property("typeId")).and_then(|v| v.as_u64()).map(|i| i.to_string());
                name.as_ref().and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(wanted))
                    || type_id.as_deref() == Some(wanted)
            });
        match found {
            Some(parent) => Ok(view.render(parent, ObjectKind::Space, &includes)),
            None => Err(MgmtError::not_found(
                &format!(
                    "ancestor{} of space '{id}'",
                    wanted.as_ref().map(|w| format!(" of type {w}")).unwrap_or_default()
                ),
                &id,
            )),
        }
    })?;
    Ok(axum::Json(parent).into_response())
}

/// A space to create, checked: its id, twin properties, parent, and what it holds.
struct NewSpace {
    id: String,
    props: Map<String, Value>,
    parent: Option<String>,
    children: Vec<NewSpace>,
    users: Vec<super::users::NewUser>,
}

async fn create_space(State(state): State<AppState>, body: Body) -> Result<Response, MgmtError> {
    let now = now();
    let id = state
        .data
        .tenant()
        .write_all(&state.data, move |tenant| {
            let parent = match body.id("parentSpaceId")? {
                Some(parent) => {
                    object_slot(&tenant.graph, ObjectKind::Space, parent)?;
                    Some(parent.to_owned())
                }
                None => None,
            };
            let parent_path: Vec<String> = match &parent {
                Some(p) => tenant
                    .graph
                    .path_at(tenant.graph.slot(p).expect("checked above"))
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
                None => Vec::new(),
            };
            let space = check_new(tenant, &body, parent, &parent_path)?;
            let id = space.id.clone();
            // Installed once everything is checked, so a refused first write changes nothing.
            let mut written = Written::changes(super::ensure_models(&mut tenant.graph, &now)?);
            written.and(apply_new(tenant, space, &now)?);
            Ok::<_, MgmtError>((id, written))
        })
        .await?;
    Ok(created(id))
}

/// Checks a space body (and its nested children and users) against the tenant as it is, before anything changes.
fn check_new(
    tenant: &Tenant,
    body: &Body,
    parent: Option<String>,
    parent_path: &[String],
) -> Result<NewSpace, MgmtError> {
    let id = new_id();
    let name = body
        .bounded("name", NAME_CHARS.0, NAME_CHARS.1)?
        .ok_or_else(|| MgmtError::invalid_member("name", "a space needs a `name` (1 to 64 characters)"))?;
    let mut path: Vec<&str> = parent_path.iter().map(String::as_str).collect();
    path.push(&id);
    let mut props = common_props(body)?;
    props.insert("name".to_owned(), json!(name));
    props.extend(objects::types_from_body(&tenant.spatial, ObjectKind::Space, body, &path, true)?);
    let properties =
        objects::properties_from_body(&tenant.spatial, ObjectKind::Space, body.array("properties")?, &path)?;
    if !properties.is_empty() {
        props.insert("properties".to_owned(), Value::Object(properties));
    }
    let path: Vec<String> = path.iter().map(|s| (*s).to_owned()).collect();
    let mut children = Vec::new();
    for child in body.array("children")? {
        let child = Body::from_value(child, "children")?;
        if child.id("parentSpaceId")?.is_some_and(|p| p != id) {
            return Err(MgmtError::invalid_member(
                "children",
                "a child space's `parentSpaceId` is the space it is nested in; leave it out",
            ));
        }
        children.push(check_new(tenant, &child, Some(id.clone()), &path)?);
    }
    let mut users: Vec<super::users::NewUser> = Vec::new();
    for user in body.array("users")? {
        let user = super::users::check_new(tenant, &Body::from_value(user, "users")?, &id, &path)?;
        if users.iter().any(|other| other.upn().eq_ignore_ascii_case(user.upn())) {
            return Err(MgmtError::invalid_member(
                "users",
                format!("the upn '{}' is given twice; a space holds one user of a upn", user.upn()),
            ));
        }
        users.push(user);
    }
    Ok(NewSpace { id, props, parent, children, users })
}

/// `friendlyName`, `description`, `location` and `timeZoneId` of a space body.
fn common_props(body: &Body) -> Result<Map<String, Value>, MgmtError> {
    let mut props = Map::new();
    body.put_text(&mut props, "friendlyName", 0, 64)?;
    body.put_text(&mut props, "description", 0, 4000)?;
    if let Some(location) = objects::location_from_body(body)? {
        props.insert("location".to_owned(), location);
    }
    if let Some(Some(zone)) = time_zone(body)? {
        props.insert("timeZoneId".to_owned(), json!(zone));
    }
    Ok(props)
}

/// `timeZoneId` or `timeZoneName` (one of `system/timezones`, by id or by name ignoring case): `Some(Some(id))` sets it, `Some(None)` resets it (the name `None`), `None` leaves it.
fn time_zone(body: &Body) -> Result<Option<Option<usize>>, MgmtError> {
    use super::system::TIME_ZONES;
    match (body.integer("timeZoneId")?, body.text("timeZoneName")?) {
        (Some(_), Some(_)) => {
            Err(MgmtError::invalid_member("timeZoneId", "give `timeZoneId` or `timeZoneName`, not both"))
        }
        (Some(id), None) => match usize::try_from(id) {
            Ok(id) if (1..=TIME_ZONES.len()).contains(&id) => Ok(Some(Some(id))),
            _ => Err(MgmtError::invalid_member("timeZoneId", format!("time zone {id} is not one of system/timezones"))),
        },
        (None, Some(name)) if name.eq_ignore_ascii_case("none") => Ok(Some(None)),
        (None, Some(name)) => match TIME_ZONES.iter().position(|z| z.eq_ignore_ascii_case(name)) {
            Some(at) => Ok(Some(Some(at + 1))),
            None => Err(MgmtError::invalid_member("timeZoneName", format!("'{name}' is not one of system/timezones"))),
        },
        (None, None) => Ok(None),
    }
}

fn apply_new(tenant: &mut Tenant, space: NewSpace, now: &str) -> Result<Written, MgmtError> {
    let mut written = Written::changes(objects::create_twin(
        &mut tenant.graph,
        ObjectKind::Space,
        &space.id,
        space.props,
        space.parent.as_deref(),
        now,
    )?);
    for child in space.children {
        written.and(apply_new(tenant, child, now)?);
    }
    for user in space.users {
        written.and(super::users::apply_new(tenant, user, now)?);
    }
    Ok(written)
}

async fn update_space(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Body,
) -> Result<StatusCode, MgmtError> {
    let now = now();
    super::updated(&state, move |tenant| {
        let slot = object_slot(&tenant.graph, ObjectKind::Space, &id)?;
        let mut props = common_props(&body)?;
        body.put_text(&mut props, "name", NAME_CHARS.0, NAME_CHARS.1)?;
        // `null` leaves the parent as it is (generated clients send every member); `""` makes the space a root.
        let new_parent = if body.get("parentSpaceId").is_some() {
            let parent = body.id("parentSpaceId")?;
            if let Some(parent) = parent {
                let parent_slot = object_slot(&tenant.graph, ObjectKind::Space, parent)?;
                if tenant.graph.is_within(parent_slot, slot) {
                    return Err(MgmtError::invalid_member(
                        "parentSpaceId",
                        format!("space '{parent}' lies within space '{id}'; a space cannot move into its own subtree"),
                    ));
                }
            }
            Some(parent.map(str::to_owned))
        } else {
            None
        };
        let path: Vec<String> = match &new_parent {
            Some(Some(parent)) => {
                let mut path: Vec<String> = tenant
                    .graph
                    .path_at(tenant.graph.slot(parent).expect("checked"))
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect();
                path.push(id.clone());
                path
            }
            Some(None) => vec![id.clone()],
            None => tenant.graph.path_at(slot).iter().map(|s| (*s).to_owned()).collect(),
        };
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        props.extend(objects::types_from_body(&tenant.spatial, ObjectKind::Space, &body, &path, false)?);
        let zoned = tenant.graph.twin_at(slot).and_then(|t| t.property("timeZoneId")).is_some();
        if matches!(time_zone(&body)?, Some(None)) && zoned {
            props.insert("timeZoneId".to_owned(), Value::Null);
        }
        let mut written = Written::default();
        written.and(objects::patch(&mut tenant.graph, &id, props, &now)?);
        if let Some(parent) = new_parent {
            let current = tenant.graph.parent_at(slot).and_then(|p| tenant.graph.twin_at(p)).map(|t| t.id.clone());
            if current != parent {
                let changes = match parent {
                    Some(parent) => objects::place(&mut tenant.graph, ObjectKind::Space, &id, &parent, &now)?,
                    None => objects::unplace(&mut tenant.graph, &id)?,
                };
                written.and(Written::changes(changes));
            }
        }
        Ok(written)
    })
    .await
}

/// Store ops one batch of a subtree's delete may take: a twin costs its record and its event, each of its relationships its record and its event; well under the store's batch limit.
const DELETE_OPS_PER_BATCH: usize = 40_000;

/// `DELETE spaces/{id}`: deletes the space and everything in its subtree (spaces, devices, sensors, users, and any other twin placed in it), with their relationships and what hangs off them (custom types, property keys, key stores, device keys).
///
/// Refused while a space resource lies in the subtree (delete it first, as the 2018 service asked).
/// A large subtree goes in several durable batches, deepest twins first, so what remains is always a whole tree: should the server stop midway, the space is still there, smaller, and deleting it again finishes the work.
async fn delete_space(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, MgmtError> {
    let tenant = state.data.tenant();
    loop {
        let id = id.clone();
        let finished = tenant
            .write_all(&state.data, move |tenant| {
                let slot = object_slot(&tenant.graph, ObjectKind::Space, &id)?;
                let graph = &tenant.graph;
                // Pre-order: a suffix of it holds every descendant of each twin in it, so deleting a suffix leaves a whole tree.
                let subtree: Vec<u32> = graph.subtree_at(slot).collect();
                let ids: std::collections::HashSet<&str> =
                    subtree.iter().filter_map(|&s| graph.twin_at(s)).map(|t| t.id.as_str()).collect();
                if let Some(resource) = tenant.spatial.resource_on_any(&|space| ids.contains(space)) {
                    return Err(MgmtError::invalid(format!(
                        "space '{}' in the subtree has the {} resource '{}'; delete the resource first",
                        resource.space_id, resource.kind, resource.id
                    )));
                }
                let mut ops = 0;
                let mut batch: Vec<String> = Vec::new();
                for &s in subtree.iter().rev() {
                    let cost = 2 + 2 * (graph.outgoing_at(s).count() + graph.incoming_at(s).count());
                    if !batch.is_empty() && ops + cost > DELETE_OPS_PER_BATCH {
                        break;
                    }
                    ops += cost;
                    batch.extend(graph.twin_at(s).map(|t| t.id.clone()));
                }
                let finished = batch.len() == subtree.len();
                let mut written = Written::default();
                for twin in &batch {
                    written.and(Written::changes(tenant.graph.delete_twin(twin, &Precondition::None, true)?));
                }
                let gone: std::collections::HashSet<String> = batch.into_iter().collect();
                written.and(Written::records(tenant.spatial.forget(&|id| gone.contains(id))));
                Ok::<_, MgmtError>((finished, written))
            })
            .await?;
        if finished {
            return Ok(StatusCode::NO_CONTENT);
        }
    }
}
