//! `roleassignments`: create, list by path (and object), delete, and `check`; no get by id and no update, as in the 2018 service (updating is deleting and creating).
//!
//! An assignment's path names a space (`/<root id>/…/<space id>`, as `spaces/{id}?includes=fullpath` gives it) or the whole graph (`/`); the tenant keeps the space's id, so a grant follows its space when the space moves, shows the space's path as it is now, and goes when the space is deleted.
//! Deciding whether a principal may do something is `access::authorize` over the principal's assignments at their current paths (`allowed`), which user-defined functions' host calls use.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use ontology::ObjectKind;
use serde_json::{Value, json};
use spatial::state::RoleAssignment;

use super::objects::View;
use super::{Body, MgmtError, Params, new_id, route};
use crate::data::{Tenant, Written};
use crate::router::AppState;

pub(crate) fn routes() -> Router<AppState> {
    let router = Router::new();
    let router = route(router, "/roleassignments", get(list).post(create));
    let router = route(router, "/roleassignments/check", get(check));
    route(router, "/roleassignments/{id}", delete(remove))
}

/// The space a path names (`None` for `/`), checked against the graph: the path must be the space's path as it is now.
fn space_of_path(tenant: &Tenant, path: &str) -> Result<Option<String>, MgmtError> {
    access::check_path(path).map_err(|e| MgmtError::invalid_member("path", e.to_string()))?;
    if path == "/" {
        return Ok(None);
    }
    let id = path.rsplit('/').next().unwrap_or_default();
    let slot = super::object_slot(&tenant.graph, ObjectKind::Space, id)?;
    let actual = View::new(tenant).path_text(slot, ObjectKind::Space);
    if actual != path {
        return Err(MgmtError::invalid_member(
            "path",
            format!(
                "space '{id}' is at '{actual}', not '{path}' (spaces/{{id}}?includes=fullpath gives a space's path)"
            ),
        ));
    }
    Ok(Some(id.to_owned()))
}

/// Where an assignment's grant is now: `/`, or its space's current path; `None` when its space is gone.
pub(crate) fn current_path(view: &View<'_>, assignment: &RoleAssignment) -> Option<String> {
    match &assignment.space {
        None => Some("/".to_owned()),
        Some(space) => view.graph.slot(space).map(|slot| view.path_text(slot, ObjectKind::Space)),
    }
}

/// The assignments of `object_id`, each at its space's current path, as `access::authorize` checks them; an assignment whose space is gone grants nothing and is left out.
pub(crate) fn current_assignments(view: &View<'_>, object_id: &str) -> Vec<access::Assignment> {
    view.spatial
        .role_assignments_of(object_id)
        .filter_map(|a| current_path(view, a).map(|path| access::Assignment { path, ..a.assignment.clone() }))
        .collect()
}

fn render(view: &View<'_>, assignment: &RoleAssignment) -> Option<Value> {
    let a = &assignment.assignment;
    let path = current_path(view, assignment)?;
    let mut out = json!({
        "id": a.id,
        "roleId": a.role_id,
        "objectId": a.object_id,
        "objectIdType": a.object_id_type.name(),
        "path": path,
    });
    if let Some(tenant) = &a.tenant_id {
        out["tenantId"] = json!(tenant);
    }
    Some(out)
}

/// `POST roleassignments {roleId, objectId, objectIdType, tenantId?, path}`: 201 with the new id.
async fn create(State(state): State<AppState>, body: Body) -> Result<Response, MgmtError> {
    let required = |name: &str| {
        body.text(name)?
            .map(str::to_owned)
            .ok_or_else(|| MgmtError::invalid_member(name, format!("`{name}` is required")))
    };
    let role_id = required("roleId")?;
    let object_id = required("objectId")?;
    let kind = required("objectIdType")?;
    let object_id_type = access::ObjectIdType::parse(&kind).ok_or_else(|| {
        let names: Vec<&str> = access::ObjectIdType::ALL.iter().map(|t| t.name()).collect();
        MgmtError::invalid_member("objectIdType", format!("`objectIdType` is `{kind}`; it takes {}", names.join(", ")))
    })?;
    let path = required("path")?;
    let tenant_id = body.id("tenantId")?.map(str::to_owned);
    let id = new_id();
    let answer = id.clone();
    super::created_after(&state, answer.clone(), move |tenant| {
        let space = space_of_path(tenant, &path)?;
        let assignment = access::Assignment { id, role_id, object_id, object_id_type, tenant_id, path };
        assignment.check().map_err(|e| MgmtError::invalid(e.to_string()))?;
        let records = tenant.spatial.put_role_assignment(RoleAssignment { assignment, space })?;
        Ok(Written::records(records))
    })
    .await
}

/// `GET roleassignments?path=P&objectId&traverse=Down`: the assignments at P (with `traverse=Down`, also below it), of one object when `objectId` is given.
async fn list(State(state): State<AppState>, params: Params) -> Result<Response, MgmtError> {
    let path = params
        .text(&["path"])
        .ok_or_else(|| MgmtError::invalid_member("path", "`path` is required: `/`, or a space's path"))?
        .to_owned();
    access::check_path(&path).map_err(|e| MgmtError::invalid_member("path", e.to_string()))?;
    let down = match params.text(&["traverse"]) {
        None => false,
        Some(t) if t.eq_ignore_ascii_case("down") => true,
        Some(t) if t.eq_ignore_ascii_case("none") => false,
        Some(t) => {
            return Err(MgmtError::invalid_member(
                "traverse",
                format!("`traverse` is `{t}`; role assignments take None or Down"),
            ));
        }
    };
    let object = params.text(&["objectId"]).map(str::to_owned);
    let within = |current: &str| {
        current == path
            || (down && (path == "/" || current.strip_prefix(path.as_str()).is_some_and(|rest| rest.starts_with('/'))))
    };
    let listed = state.data.tenant().read_all(|tenant| {
        let view = View::new(tenant);
        tenant
            .spatial
            .role_assignments()
            .filter(|a| object.as_ref().is_none_or(|o| a.assignment.object_id.eq_ignore_ascii_case(o)))
            .filter_map(|a| render(&view, a))
            .filter(|v| v["path"].as_str().is_some_and(&within))
            .collect::<Vec<Value>>()
    });
    Ok(axum::Json(listed).into_response())
}

async fn remove(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, MgmtError> {
    super::updated(&state, move |tenant| Ok(Written::records(tenant.spatial.delete_role_assignment(&id)?))).await
}

/// `GET roleassignments/check?userId&path&accessType&resourceType`: whether the object's assignments allow the access; a JSON boolean.
async fn check(State(state): State<AppState>, params: Params) -> Result<Response, MgmtError> {
    let text = |name: &str| {
        params
            .text(&[name])
            .map(str::to_owned)
            .ok_or_else(|| MgmtError::invalid_member(name, format!("`{name}` is required")))
    };
    let object = text("userId")?;
    let path = text("path")?;
    let access_type = text("accessType")?;
    let resource_type = text("resourceType")?;
    access::check_path(&path).map_err(|e| MgmtError::invalid_member("path", e.to_string()))?;
    let action = access::Action::parse(&access_type).ok_or_else(|| {
        MgmtError::invalid_member(
            "accessType",
            format!("`accessType` is `{access_type}`; it takes Read, Create, Update or Delete"),
        )
    })?;
    let resource = if resource_type.eq_ignore_ascii_case("Space") {
        access::Resource::space()
    } else {
        access::Resource { kind: &resource_type, category: None }
    };
    let allowed = state.data.tenant().read_all(|tenant| {
        access::authorize(&current_assignments(&View::new(tenant), &object), action, &resource, &path)
    });
    Ok(axum::Json(allowed).into_response())
}
