//! `propertykeys` (the keys that allow extended properties on a space's subtree) and the `…/properties` routes of spaces, devices, sensors and users (the values those keys allow).
//!
//! Keys live in the tenant's `spatial` state; values live in the twin's `properties` map (key name → text), each one checked and normalised by the key of its name and the object's scope that is visible from the object's space (`objects::check_property`).
//! Deleting or changing a key leaves the values already set alone: the 2018 rule is that constraints apply to new values only.
//! What a key definition may say, and whether a value satisfies it, is `spatial::properties`; which key an object may use, and that a name is unique per space and scope, is `spatial::state`.
//!
//! Answers, after the 2018 reference (the Java client generated from its swagger):
//! - `POST propertykeys` and `PUT propertykeys` when they create answer 201 with the new id as a JSON number (the client's return type is `Integer`); `PUT` that updates answers 204.
//! - `POST {kind}s/{id}/properties` creates one property and answers 201 with its name as a JSON string (the client's return type is `String`); a property already set is 409, `PUT` being the route that changes values.
//! - `GET {kind}s/{id}/properties/{name}` answers the value as a JSON string (the client's return type); `GET {kind}s/{id}/properties`, which the reference does not list, answers `[{name, value, dataType}]` as `includes=properties` shows them.

use std::collections::HashSet;

use axum::Router;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use graph::{Precondition, TenantGraph};
use ontology::ObjectKind;
use serde_json::{Map, Value, json};
use spatial::navigate::{Traverse, TreeFilter};
use spatial::properties::{PrimitiveType, PropertyError, PropertyKey, PropertyKeyInput, Scope};
use spatial::state::Records;

use super::objects::{self, View};
use super::{Body, Includes, MgmtError, Params, kind_name, object_slot, route};
use crate::data::{Tenant, Written, now};
use crate::router::AppState;

/// The `includes` a property key read accepts; `description` is accepted for the clients that send it, and the description is shown either way (it is a plain member of the retrieve model).
const INCLUDES: &[&str] = &["space", "description", "fullpath"];

pub(crate) fn routes() -> Router<AppState> {
    let router = Router::new();
    let router =
        route(router, "/propertykeys", get(list_keys).post(create_key).put(put_key).delete(delete_keys_of_space));
    let router = route(router, "/propertykeys/{id}", get(get_key).patch(update_key).delete(delete_key));
    ObjectKind::ALL.into_iter().fold(router, properties_routes)
}

/// `{kind}s/{id}/properties` and `{kind}s/{id}/properties/{name}` of one kind; the handlers are the same for every kind.
fn properties_routes(router: Router<AppState>, kind: ObjectKind) -> Router<AppState> {
    let collection = format!("/{}s/{{id}}/properties", kind_name(kind));
    let router = route(
        router,
        &collection,
        get(move |State(state): State<AppState>, Path(id): Path<String>| list_properties(state, kind, id))
            .post(move |State(state): State<AppState>, Path(id): Path<String>, body: Body| {
                create_property(state, kind, id, body)
            })
            .put(move |State(state): State<AppState>, Path(id): Path<String>, PropertyItems(items): PropertyItems| {
                put_properties(state, kind, id, items)
            })
            .delete(move |State(state): State<AppState>, Path(id): Path<String>| delete_properties(state, kind, id)),
    );
    route(
        router,
        &format!("{collection}/{{name}}"),
        get(move |State(state): State<AppState>, Path((id, name)): Path<(String, String)>| {
            get_property(state, kind, id, name)
        })
        .delete(move |State(state): State<AppState>, Path((id, name)): Path<(String, String)>| {
            delete_property(state, kind, id, name)
        }),
    )
}

// ---- property keys ----

/// `GET propertykeys?scope&category&includes` with the tree parameters and OData: the keys defined on the spaces the tree parameters select.
///
/// With `spaceId` and no `traverse`, the selection is the space and its ancestors (`traverse=Up`): the keys an object in that space can use, which is what a client asking for a space's keys wants; `traverse=None` given explicitly selects the space's own keys only.
async fn list_keys(State(state): State<AppState>, params: Params) -> Result<Response, MgmtError> {
    let includes = params.includes(INCLUDES)?;
    let scope = params.text(&["scope"]).map(parse_scope).transpose()?;
    let category = params.text(&["category"]).map(str::to_owned);
    let options = spatial::odata::QueryOptions::from_pairs(&params.0).map_err(|e| MgmtError::invalid(e.to_string()))?;
    let mut tree = TreeFilter::from_pairs(&params.0)?;
    if tree.space_id.is_some() && params.text(&["traverse"]).is_none() {
        tree.traverse = Traverse::Up;
    }
    let max = state.limits.management_results_max.get();
    let keys = state.data.tenant().read_all(|tenant| {
        let view = View::new(tenant);
        let slots = spatial::navigate::select(view.graph, &view.kinds, ObjectKind::Space, &tree, usize::MAX)?;
        let spaces: HashSet<&str> =
            slots.into_iter().filter_map(|s| view.graph.twin_at(s)).map(|t| t.id.as_str()).collect();
        let mut out = objects::Results::new(options, max);
        for key in tenant.spatial.property_keys() {
            let wanted = spaces.contains(key.space_id.as_str())
                && scope.is_none_or(|s| s == key.scope)
                && category.as_ref().is_none_or(|c| c.eq_ignore_ascii_case(&key.category));
            if !wanted {
                continue;
            }
            if !out.push(render_key(&view, key, &includes))? {
                break;
            }
        }
        Ok::<_, MgmtError>(out.finish())
    })?;
    Ok(axum::Json(keys).into_response())
}

/// `GET propertykeys/{id}?includes`.
async fn get_key(State(state): State<AppState>, Path(id): Path<String>, params: Params) -> Result<Response, MgmtError> {
    let includes = params.includes(INCLUDES)?;
    let key = state.data.tenant().read_all(|tenant| {
        let key = key_by_id(tenant, &id)?;
        Ok::<_, MgmtError>(render_key(&View::new(tenant), key, &includes))
    })?;
    Ok(axum::Json(key).into_response())
}

/// `POST propertykeys` (`ExtendedPropertyKeyCreate`): 201 with the new id.
async fn create_key(State(state): State<AppState>, body: Body) -> Result<Response, MgmtError> {
    let input = key_input(body)?;
    let id = state
        .data
        .tenant()
        .write_all(&state.data, move |tenant| {
            let (id, records) = create_in(tenant, input)?;
            Ok::<_, MgmtError>((id, Written::records(records)))
        })
        .await?;
    Ok(created_key(id))
}

/// `PUT propertykeys`: updates the key of the body's space, scope and name (the name ignoring case) when there is one (204), else creates it (201 with the new id).
async fn put_key(State(state): State<AppState>, body: Body) -> Result<Response, MgmtError> {
    let input = key_input(body)?;
    let created = state
        .data
        .tenant()
        .write_all(&state.data, move |tenant| {
            let existing = match (&input.space_id, &input.scope, &input.name) {
                (Some(space), Some(scope), Some(name)) => match Scope::parse(scope) {
                    Some(scope) => {
                        let space = space_id(&tenant.graph, space)?;
                        tenant
                            .spatial
                            .property_keys()
                            .find(|k| k.space_id == space && k.scope == scope && k.name.eq_ignore_ascii_case(name))
                            .cloned()
                    }
                    None => None,
                },
                // What is missing makes the create below refuse the body, naming it.
                _ => None,
            };
            match existing {
                Some(mut key) => {
                    let input = PropertyKeyInput { space_id: Some(key.space_id.clone()), ..input };
                    key.update(input).map_err(key_error)?;
                    let records = tenant.spatial.put_property_key(key)?;
                    Ok::<_, MgmtError>((None, Written::records(records)))
                }
                None => {
                    let (id, records) = create_in(tenant, input)?;
                    Ok((Some(id), Written::records(records)))
                }
            }
        })
        .await?;
    Ok(match created {
        Some(id) => created_key(id),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// `PATCH propertykeys/{id}` (`ExtendedPropertyKeyUpdate`): only the members given change; a changed key is checked whole.
///
/// The update model has no `primitiveDataType` or `scope`: a body that repeats the key's own (a retrieved key sent back) is fine, one that would change them is refused, pointing to `PUT propertykeys`.
async fn update_key(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Body,
) -> Result<StatusCode, MgmtError> {
    let mut input = key_input(body)?;
    super::updated(&state, move |tenant| {
        let mut key = key_by_id(tenant, &id)?.clone();
        if let Some(given) = input.primitive_data_type.as_deref().and_then(PrimitiveType::parse)
            && given != key.primitive_data_type
        {
            return Err(MgmtError::invalid_member(
                "primitiveDataType",
                format!(
                    "property key {} is {}; PATCH does not change `primitiveDataType` (PUT propertykeys does)",
                    key.id,
                    key.primitive_data_type.name()
                ),
            ));
        }
        if let Some(given) = input.scope.as_deref().and_then(Scope::parse)
            && given != key.scope
        {
            return Err(MgmtError::invalid_member(
                "scope",
                format!("property key {} is for {}; a key's `scope` does not change", key.id, key.scope.name()),
            ));
        }
        if let Some(space) = input.space_id.take() {
            input.space_id = Some(space_id(&tenant.graph, &space)?);
        }
        key.update(input).map_err(key_error)?;
        let records = tenant.spatial.put_property_key(key)?;
        Ok(Written::records(records))
    })
    .await
}

/// `DELETE propertykeys/{id}`: the values set with the key stay.
async fn delete_key(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, MgmtError> {
    super::updated(&state, move |tenant| {
        let id = key_by_id(tenant, &id)?.id;
        let records = tenant.spatial.delete_property_key(id)?;
        Ok(Written::records(records))
    })
    .await
}

/// `DELETE propertykeys?spaceId&scope&keys`: the keys of those names (`keys`, separated by `;` or `,`) defined on the space for the scope; all of them or, when one names no key, none (404).
async fn delete_keys_of_space(State(state): State<AppState>, params: Params) -> Result<StatusCode, MgmtError> {
    let needs = "DELETE propertykeys needs `spaceId`, `scope` and `keys` (names separated by ';')";
    let space = params.text(&["spaceId"]).ok_or_else(|| MgmtError::invalid_member("spaceId", needs))?.to_owned();
    let scope = parse_scope(params.text(&["scope"]).ok_or_else(|| MgmtError::invalid_member("scope", needs))?)?;
    let names = params.list("keys");
    if names.is_empty() {
        return Err(MgmtError::invalid_member("keys", needs));
    }
    super::updated(&state, move |tenant| {
        let space = space_id(&tenant.graph, &space)?;
        let mut ids = Vec::new();
        for name in &names {
            let key = tenant
                .spatial
                .property_keys()
                .find(|k| k.space_id == space && k.scope == scope && k.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    MgmtError::not_found(&format!("property key for {} of space '{space}'", scope.name()), name)
                })?;
            if !ids.contains(&key.id) {
                ids.push(key.id);
            }
        }
        let mut records = Records::new();
        for id in ids {
            records.extend(tenant.spatial.delete_property_key(id)?);
        }
        Ok(Written::records(records))
    })
    .await
}

/// Creates a key from a checked input: the definition first (400), then its space (404), then the name's uniqueness on the space (409).
fn create_in(tenant: &mut Tenant, input: PropertyKeyInput) -> Result<(u32, Records), MgmtError> {
    let id = tenant.spatial.next_property_key_id();
    let mut key = PropertyKey::create(id, input).map_err(key_error)?;
    key.space_id = space_id(&tenant.graph, &key.space_id)?;
    let records = tenant.spatial.put_property_key(key)?;
    Ok((id, records))
}

/// The answer to a key create: 201 with the id as a JSON number.
fn created_key(id: u32) -> Response {
    (StatusCode::CREATED, axum::Json(json!(id))).into_response()
}

/// A key body read case-insensitively.
fn key_input(body: Body) -> Result<PropertyKeyInput, MgmtError> {
    PropertyKeyInput::from_json(&Value::Object(body.0)).map_err(key_error)
}

/// The key `id` names; an id that is not a number names none.
fn key_by_id<'t>(tenant: &'t Tenant, id: &str) -> Result<&'t PropertyKey, MgmtError> {
    id.trim()
        .parse::<u32>()
        .ok()
        .and_then(|n| tenant.spatial.property_key(n))
        .ok_or_else(|| MgmtError::not_found("property key", id))
}

/// The id of the space `id` names, as the graph spells it; 404 unless it is a space.
fn space_id(graph: &TenantGraph, id: &str) -> Result<String, MgmtError> {
    let slot = object_slot(graph, ObjectKind::Space, id.trim())?;
    Ok(graph.twin_at(slot).map(|t| t.id.clone()).expect("a slot just found holds a twin"))
}

/// A key as the API retrieves it, with the sections `includes` asks for: `space` (the key's space) and `fullpath` (its `spacePaths`).
fn render_key(view: &View<'_>, key: &PropertyKey, includes: &Includes) -> Value {
    let mut out = key.to_json();
    let space = view.graph.slot(&key.space_id).filter(|&s| super::is_kind(view.graph, s, ObjectKind::Space));
    if includes.has("space") {
        out["space"] = space.map_or(Value::Null, |s| view.render(s, ObjectKind::Space, &Includes::default()));
    }
    if includes.has("fullpath") {
        let paths: Vec<String> = space.map(|s| view.path_text(s, ObjectKind::Space)).into_iter().collect();
        out["spacePaths"] = json!(paths);
    }
    out
}

fn parse_scope(text: &str) -> Result<Scope, MgmtError> {
    Scope::parse(text).ok_or_else(|| {
        let names: Vec<&str> = Scope::ALL.iter().map(|s| s.name()).collect();
        MgmtError::invalid_member("scope", format!("`scope` is `{text}`; it takes {}", names.join(", ")))
    })
}

/// A refused key definition or value: 400 naming the member at fault.
fn key_error(err: PropertyError) -> MgmtError {
    match &err {
        PropertyError::InvalidInput { member, .. } | PropertyError::LimitExceeded { member, .. } => {
            MgmtError::invalid_member(member, err.to_string())
        }
    }
}

// ---- extended properties of spaces, devices, sensors and users ----

/// `GET {kind}s/{id}/properties`: `[{name, value, dataType}]`, `dataType` being the type of the key the object would use now (`None` when there is none).
async fn list_properties(state: AppState, kind: ObjectKind, id: String) -> Result<Response, MgmtError> {
    let items = state.data.tenant().read_all(|tenant| {
        let slot = object_slot(&tenant.graph, kind, &id)?;
        let object = View::new(tenant).render(slot, kind, &Includes::of(&["properties"]));
        Ok::<_, MgmtError>(object.get("properties").cloned().unwrap_or_else(|| json!([])))
    })?;
    Ok(axum::Json(items).into_response())
}

/// `GET {kind}s/{id}/properties/{name}`: the value, as a JSON string; the name is matched ignoring case.
async fn get_property(state: AppState, kind: ObjectKind, id: String, name: String) -> Result<Response, MgmtError> {
    let value = state.data.tenant().read_all(|tenant| {
        let slot = object_slot(&tenant.graph, kind, &id)?;
        let stored = stored_properties(&tenant.graph, slot);
        let (_, value) = find(&stored, &name).ok_or_else(|| no_property(kind, &id, &name))?;
        Ok::<_, MgmtError>(value.clone())
    })?;
    Ok(axum::Json(value).into_response())
}

/// `POST {kind}s/{id}/properties` (`{name, value}`): sets a property the object does not have yet; 201 with its name as the key spells it.
async fn create_property(state: AppState, kind: ObjectKind, id: String, body: Body) -> Result<Response, MgmtError> {
    let now = now();
    let name = state
        .data
        .tenant()
        .write_all(&state.data, move |tenant| {
            let slot = object_slot(&tenant.graph, kind, &id)?;
            let checked = checked_properties(tenant, kind, slot, &[Value::Object(body.0)])?;
            let Some((name, value)) = checked.into_iter().next() else {
                return Err(MgmtError::invalid("the request body must be one {\"name\", \"value\"} object"));
            };
            let mut stored = stored_properties(&tenant.graph, slot);
            if let Some((existing, _)) = find(&stored, &name) {
                return Err(MgmtError::conflict(format!(
                    "{} '{id}' already has the property '{existing}'; PUT {}s/{id}/properties changes values",
                    kind_name(kind),
                    kind_name(kind)
                )));
            }
            stored.insert(name.clone(), value);
            let changes = set_properties(&mut tenant.graph, slot, &id, stored, &now)?;
            Ok::<_, MgmtError>((name, Written::changes(changes)))
        })
        .await?;
    Ok(super::created(name))
}

/// `PUT {kind}s/{id}/properties` (`[{name, value}]`): creates or updates each property; every value is checked before any is set.
async fn put_properties(
    state: AppState,
    kind: ObjectKind,
    id: String,
    items: Vec<Value>,
) -> Result<StatusCode, MgmtError> {
    let now = now();
    super::updated(&state, move |tenant| {
        let slot = object_slot(&tenant.graph, kind, &id)?;
        let checked = checked_properties(tenant, kind, slot, &items)?;
        let mut stored = stored_properties(&tenant.graph, slot);
        for (name, value) in checked {
            // A value stored under another spelling of the name is the same property; one under this spelling keeps its place.
            stored.retain(|existing, _| *existing == name || !existing.eq_ignore_ascii_case(&name));
            stored.insert(name, value);
        }
        let changes = set_properties(&mut tenant.graph, slot, &id, stored, &now)?;
        Ok(Written::changes(changes))
    })
    .await
}

/// `DELETE {kind}s/{id}/properties`: removes every property of the object.
async fn delete_properties(state: AppState, kind: ObjectKind, id: String) -> Result<StatusCode, MgmtError> {
    let now = now();
    super::updated(&state, move |tenant| {
        let slot = object_slot(&tenant.graph, kind, &id)?;
        let changes = set_properties(&mut tenant.graph, slot, &id, Map::new(), &now)?;
        Ok(Written::changes(changes))
    })
    .await
}

/// `DELETE {kind}s/{id}/properties/{name}`: removes one property (the name matched ignoring case).
async fn delete_property(state: AppState, kind: ObjectKind, id: String, name: String) -> Result<StatusCode, MgmtError> {
    let now = now();
    super::updated(&state, move |tenant| {
        let slot = object_slot(&tenant.graph, kind, &id)?;
        let mut stored = stored_properties(&tenant.graph, slot);
        let existing = find(&stored, &name).map(|(n, _)| n.clone()).ok_or_else(|| no_property(kind, &id, &name))?;
        stored.retain(|name, _| *name != existing);
        let changes = set_properties(&mut tenant.graph, slot, &id, stored, &now)?;
        Ok(Written::changes(changes))
    })
    .await
}

/// The body of `PUT …/properties`: a JSON array of `{name, value}`.
struct PropertyItems(Vec<Value>);

impl<S: Send + Sync> FromRequest<S> for PropertyItems {
    type Rejection = MgmtError;

    async fn from_request(request: Request, state: &S) -> Result<PropertyItems, MgmtError> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|err| MgmtError::invalid(format!("the request body cannot be read: {err}")))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Array(items)) => Ok(PropertyItems(items)),
            Ok(_) => Err(MgmtError::invalid("the request body must be a JSON array of {\"name\", \"value\"} objects")),
            Err(err) => Err(MgmtError::invalid(format!("the request body is not valid JSON: {err}"))),
        }
    }
}

/// The properties `items` set on the object in `slot`, each checked and normalised by its key (unknown key 404, bad value 400), by the key's spelling of the name.
fn checked_properties(
    tenant: &Tenant,
    kind: ObjectKind,
    slot: u32,
    items: &[Value],
) -> Result<Map<String, Value>, MgmtError> {
    let path = super::space_path(&tenant.graph, slot);
    objects::properties_from_body(&tenant.spatial, kind, items, &path)
}

/// The object's properties as stored (name → text).
fn stored_properties(graph: &TenantGraph, slot: u32) -> Map<String, Value> {
    match graph.twin_at(slot).and_then(|t| t.property("properties")) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The stored property named `name`, ignoring case.
fn find<'m>(stored: &'m Map<String, Value>, name: &str) -> Option<(&'m String, &'m Value)> {
    stored.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// Writes the object's properties as a whole (removing the member when none are left); nothing when they are unchanged.
fn set_properties(
    graph: &mut TenantGraph,
    slot: u32,
    id: &str,
    properties: Map<String, Value>,
    now: &str,
) -> Result<Vec<graph::Change>, MgmtError> {
    let current = graph.twin_at(slot).and_then(|t| t.property("properties"));
    let op = match (current, properties.is_empty()) {
        (None, true) => return Ok(Vec::new()),
        (Some(Value::Object(current)), false) if current == properties => return Ok(Vec::new()),
        (Some(_), true) => json!({ "op": "remove", "path": "/properties" }),
        (_, false) => json!({ "op": "add", "path": "/properties", "value": properties }),
    };
    let (_, changes) = graph.patch_twin(id, &json!([op]), &Precondition::None, now)?;
    Ok(changes)
}

fn no_property(kind: ObjectKind, id: &str, name: &str) -> MgmtError {
    MgmtError::not_found(&format!("the property of {} '{id}' named", kind_name(kind)), name)
}
