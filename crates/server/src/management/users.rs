//! `users` and `spaces/{id}/users`: people located in spaces (a location, not a permission).
//!
//! A user is a twin of `dtmi:twinscape:User;1` placed in its space by the space's `hasUser`; a space holds at most one user of a user principal name (`upn`), which is how `PUT users` finds the user to update.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ontology::ObjectKind;
use serde_json::{Map, Value, json};

use super::objects::{self, View};
use super::{Body, MgmtError, Params, created, new_id, object_slot, route};
use crate::data::{Tenant, Written, now};
use crate::router::AppState;

/// The `includes` a user read accepts.
const INCLUDES: &[&str] =
    &["properties", "fullpath", "location", "space", "spacetypes", "spaceproperties", "spacevalues"];

pub(crate) fn routes() -> Router<AppState> {
    let router = Router::new();
    let router = route(router, "/users", get(list_users).put(put_user));
    let router = route(router, "/users/{id}", get(get_user).patch(update_user).delete(delete_user));
    let router = route(router, "/spaces/{id}/users", get(list_space_users).put(put_space_users));
    let router = route(router, "/spaces/{id}/users/move", post(move_users));
    route(router, "/spaces/{id}/users/{upn}", get(get_space_user).delete(delete_space_user))
}

/// A user to create, checked.
pub(crate) struct NewUser {
    id: String,
    props: Map<String, Value>,
    space: String,
}

impl NewUser {
    pub(crate) fn upn(&self) -> &str {
        self.props.get("upn").and_then(Value::as_str).unwrap_or_default()
    }
}

/// Checks a user body for a new user in `space` (whose path, root first, is `path`).
pub(crate) fn check_new(tenant: &Tenant, body: &Body, space: &str, path: &[String]) -> Result<NewUser, MgmtError> {
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let upn = body
        .bounded("upn", 5, 50)?
        .ok_or_else(|| MgmtError::invalid_member("upn", "a user needs a `upn` (5 to 50 characters)"))?;
    let mut props = user_props(tenant, body, &path)?;
    props.insert("upn".to_owned(), json!(upn));
    Ok(NewUser { id: new_id(), props, space: space.to_owned() })
}

/// The twin properties of a user body, but `upn`.
fn user_props(tenant: &Tenant, body: &Body, path: &[&str]) -> Result<Map<String, Value>, MgmtError> {
    let mut props = Map::new();
    for (member, max) in [("firstName", 50), ("lastName", 50), ("managerName", 100)] {
        body.put_text(&mut props, member, 0, max)?;
    }
    if let Some(metadata) = body.get("metadata") {
        let ok = metadata.as_object().is_some_and(|m| m.values().all(Value::is_string));
        if !ok {
            return Err(MgmtError::invalid_member("metadata", "`metadata` must be an object of strings"));
        }
        props.insert("metadata".to_owned(), metadata.clone());
    }
    if let Some(location) = objects::location_from_body(body)? {
        props.insert("location".to_owned(), location);
    }
    let properties = objects::properties_from_body(&tenant.spatial, ObjectKind::User, body.array("properties")?, path)?;
    if !properties.is_empty() {
        props.insert("properties".to_owned(), Value::Object(properties));
    }
    Ok(props)
}

pub(crate) fn apply_new(tenant: &mut Tenant, user: NewUser, now: &str) -> Result<Written, MgmtError> {
    let changes =
        objects::create_twin(&mut tenant.graph, ObjectKind::User, &user.id, user.props, Some(&user.space), now)?;
    Ok(Written::changes(changes))
}

/// The user of `upn` in the space in `space`, if any.
fn user_in(tenant: &Tenant, space: u32, upn: &str) -> Option<u32> {
    tenant.graph.children_at(space).find(|&c| {
        super::is_kind(&tenant.graph, c, ObjectKind::User)
            && tenant
                .graph
                .twin_at(c)
                .and_then(|t| t.property("upn"))
                .as_ref()
                .and_then(Value::as_str)
                .is_some_and(|u| u.eq_ignore_ascii_case(upn))
    })
}

async fn list_users(State(state): State<AppState>, params: Params) -> Result<Response, MgmtError> {
    objects::list_response(&state, ObjectKind::User, &params, &params.includes(INCLUDES)?)
}

async fn get_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, MgmtError> {
    objects::one_response(&state, ObjectKind::User, &id, &params.includes(INCLUDES)?)
}

/// `PUT users`: creates the user of `upn` in `spaceId`, or updates it when the space has one (201 with the id, or 204).
async fn put_user(State(state): State<AppState>, body: Body) -> Result<Response, MgmtError> {
    let now = now();
    let outcome = state
        .data
        .tenant()
        .write_all(&state.data, move |tenant| {
            let space = body
                .id("spaceId")?
                .ok_or_else(|| MgmtError::invalid_member("spaceId", "a user needs a `spaceId`"))?
                .to_owned();
            let upsert = plan_upsert(tenant, &space, &body)?;
            apply_upsert(tenant, upsert, &now)
        })
        .await?;
    Ok(outcome)
}

/// What an upsert of a user will do, checked: update the user of the upn in the space, or create one.
enum Upsert {
    Update { id: String, upn: String, props: Map<String, Value> },
    Create(NewUser),
}

impl Upsert {
    fn upn(&self) -> &str {
        match self {
            Upsert::Update { upn, .. } => upn,
            Upsert::Create(user) => user.upn(),
        }
    }
}

/// Checks an upsert of the body's user (by `upn`) in `space`, changing nothing.
fn plan_upsert(tenant: &Tenant, space: &str, body: &Body) -> Result<Upsert, MgmtError> {
    let space_slot = object_slot(&tenant.graph, ObjectKind::Space, space)?;
    let path: Vec<String> = tenant.graph.path_at(space_slot).iter().map(|s| (*s).to_owned()).collect();
    let upn = body
        .bounded("upn", 5, 50)?
        .ok_or_else(|| MgmtError::invalid_member("upn", "a user needs a `upn` (5 to 50 characters)"))?;
    match user_in(tenant, space_slot, upn) {
        Some(slot) => {
            let id = tenant.graph.twin_at(slot).map(|t| t.id.clone()).unwrap_or_default();
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            Ok(Upsert::Update { id, upn: upn.to_owned(), props: user_props(tenant, body, &path)? })
        }
        None => Ok(Upsert::Create(check_new(tenant, body, space, &path)?)),
    }
}

/// Applies a checked upsert; the answer to send (201 with the new id, or 204).
fn apply_upsert(tenant: &mut Tenant, upsert: Upsert, now: &str) -> Result<(Response, Written), MgmtError> {
    match upsert {
        Upsert::Update { id, props, .. } => {
            let mut written = Written::default();
            written.and(objects::patch(&mut tenant.graph, &id, props, now)?);
            Ok((StatusCode::NO_CONTENT.into_response(), written))
        }
        Upsert::Create(user) => {
            let id = user.id.clone();
            let written = apply_new(tenant, user, now)?;
            Ok((created(id), written))
        }
    }
}

async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Body,
) -> Result<StatusCode, MgmtError> {
    let now = now();
    super::updated(&state, move |tenant| {
        let slot = object_slot(&tenant.graph, ObjectKind::User, &id)?;
        let new_space = match body.id("spaceId")? {
            Some(space) => Some((object_slot(&tenant.graph, ObjectKind::Space, space)?, space.to_owned())),
            None => None,
        };
        let space_slot = new_space.as_ref().map(|(s, _)| *s).or_else(|| tenant.graph.parent_at(slot));
        let path: Vec<&str> = space_slot.map(|s| tenant.graph.path_at(s)).unwrap_or_default();
        let mut props = user_props(tenant, &body, &path)?;
        if let Some(upn) = body.bounded("upn", 5, 50)? {
            if let Some(space) = space_slot
                && user_in(tenant, space, upn).is_some_and(|other| other != slot)
            {
                return Err(MgmtError::conflict(format!("the space already has a user with upn '{upn}'")));
            }
            props.insert("upn".to_owned(), json!(upn));
        }
        let mut written = Written::default();
        written.and(objects::patch(&mut tenant.graph, &id, props, &now)?);
        if let Some((_, space)) = new_space {
            written.and(Written::changes(objects::place(&mut tenant.graph, ObjectKind::User, &id, &space, &now)?));
        }
        Ok(written)
    })
    .await
}

async fn delete_user(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, MgmtError> {
    delete(&state, move |tenant| object_slot(&tenant.graph, ObjectKind::User, &id)).await
}

/// Deletes the user `find` names, with its relationships.
async fn delete(
    state: &AppState,
    find: impl FnOnce(&Tenant) -> Result<u32, MgmtError> + Send + 'static,
) -> Result<StatusCode, MgmtError> {
    super::updated(state, move |tenant| {
        let slot = find(tenant)?;
        let id = tenant.graph.twin_at(slot).map(|t| t.id.clone()).unwrap_or_default();
        let changes = tenant.graph.delete_twin(&id, &graph::Precondition::None, true)?;
        Ok(Written::changes(changes))
    })
    .await
}

/// `GET spaces/{id}/users`: the users of the space (with `traverse=Down`, of its subtree), filtered like `users`.
async fn list_space_users(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, MgmtError> {
    let includes = params.includes(INCLUDES)?;
    let max = state.limits.management_results_max.get();
    let mut pairs: Vec<(String, String)> =
        params.0.into_iter().filter(|(n, _)| !n.eq_ignore_ascii_case("spaceId")).collect();
    pairs.push(("spaceId".to_owned(), id.clone()));
    let params = Params(pairs);
    let users = state.data.tenant().read_all(|tenant| {
        object_slot(&tenant.graph, ObjectKind::Space, &id)?;
        objects::list(&View::new(tenant), ObjectKind::User, &params, &includes, &|_, _| true, max)
    })?;
    Ok(axum::Json(users).into_response())
}

/// `PUT spaces/{id}/users`: creates or updates users of the space by `upn`; the body is one user or an array of them.
async fn put_space_users(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<StatusCode, MgmtError> {
    let items: Vec<Body> = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(items)) => items.iter().map(|i| Body::from_value(i, "users")).collect::<Result<_, _>>()?,
        Ok(Value::Object(map)) => vec![Body(map)],
        Ok(_) => return Err(MgmtError::invalid("the body must be a user or an array of users")),
        Err(err) => return Err(MgmtError::invalid(format!("the request body is not valid JSON: {err}"))),
    };
    let now = now();
    super::updated(&state, move |tenant| {
        // Every user is checked before any is written: the request is all or nothing.
        let mut upserts: Vec<Upsert> = Vec::with_capacity(items.len());
        for item in &items {
            let upsert = plan_upsert(tenant, &id, item)?;
            if upserts.iter().any(|other| other.upn().eq_ignore_ascii_case(upsert.upn())) {
                return Err(MgmtError::invalid_member("upn", format!("the upn '{}' is given twice", upsert.upn())));
            }
            upserts.push(upsert);
        }
        let mut written = Written::default();
        for upsert in upserts {
            written.and(apply_upsert(tenant, upsert, &now)?.1);
        }
        Ok(written)
    })
    .await
}

async fn get_space_user(
    State(state): State<AppState>,
    Path((id, upn)): Path<(String, String)>,
    params: Params,
) -> Result<Response, MgmtError> {
    let includes = params.includes(INCLUDES)?;
    let user = state.data.tenant().read_all(|tenant| {
        let space = object_slot(&tenant.graph, ObjectKind::Space, &id)?;
        let slot = user_in(tenant, space, &upn).ok_or_else(|| MgmtError::not_found("user", &upn))?;
        Ok::<_, MgmtError>(View::new(tenant).render(slot, ObjectKind::User, &includes))
    })?;
    Ok(axum::Json(user).into_response())
}

async fn delete_space_user(
    State(state): State<AppState>,
    Path((id, upn)): Path<(String, String)>,
) -> Result<StatusCode, MgmtError> {
    delete(&state, move |tenant| {
        let space = object_slot(&tenant.graph, ObjectKind::Space, &id)?;
        user_in(tenant, space, &upn).ok_or_else(|| MgmtError::not_found("user", &upn))
    })
    .await
}

/// `POST spaces/{id}/users/move?toSpaceId=X&resetLocation=bool`: moves every user of the space to X (with `resetLocation`, their own locations are cleared).
async fn move_users(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> Result<StatusCode, MgmtError> {
    let to = params
        .text(&["toSpaceId"])
        .ok_or_else(|| MgmtError::invalid_member("toSpaceId", "`toSpaceId` names the space to move the users to"))?
        .to_owned();
    let reset = params.flag("resetLocation")?.unwrap_or(false);
    let now = now();
    super::updated(&state, move |tenant| {
        let from = object_slot(&tenant.graph, ObjectKind::Space, &id)?;
        let target = object_slot(&tenant.graph, ObjectKind::Space, &to)?;
        if target == from {
            return Ok(Written::default());
        }
        let users: Vec<u32> =
            tenant.graph.children_at(from).filter(|&c| super::is_kind(&tenant.graph, c, ObjectKind::User)).collect();
        for &user in &users {
            let upn = tenant.graph.twin_at(user).and_then(|t| t.property("upn"));
            if let Some(upn) = upn.as_ref().and_then(Value::as_str)
                && user_in(tenant, target, upn).is_some()
            {
                return Err(MgmtError::conflict(format!("space '{to}' already has a user with upn '{upn}'")));
            }
        }
        let ids: Vec<(String, bool)> = users
            .iter()
            .filter_map(|&u| tenant.graph.twin_at(u))
            .map(|t| (t.id.clone(), t.property("location").is_some()))
            .collect();
        let mut written = Written::default();
        for (user, located) in ids {
            written.and(Written::changes(objects::place(&mut tenant.graph, ObjectKind::User, &user, &to, &now)?));
            if reset && located {
                let patch = json!([{ "op": "remove", "path": "/location" }]);
                let (_, changes) = tenant.graph.patch_twin(&user, &patch, &graph::Precondition::None, &now)?;
                written.and(Written::changes(changes));
            }
        }
        Ok(written)
    })
    .await
}
