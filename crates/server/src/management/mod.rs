//! The 2018 management face, `/management/api/v1.0/…`: spaces, devices, sensors and users as twins of the built-in models, and the 2018 objects that are not twins (types, ontologies, property keys, resources, key stores) from the tenant's `spatial` state.
//!
//! One module per resource, each with `fn routes() -> Router<AppState>` whose paths are relative to the base (`/spaces`); `routes` here nests them under `BASE`.
//! What every module shares lives here: `Params` (query parameters, names and values matched ignoring case, lists split on `;` or `,`), `Body` (a JSON object whose members are matched ignoring case, since clients post PascalCase or camelCase), `Includes`, the `created` answer (201 with the id as a JSON string), and `ensure_models`, which installs the built-in models in a tenant on its first 2018 write.
//! Handlers return `MgmtError`; writes go through `TenantState::write_all`, check everything before they change anything, and persist graph changes and spatial records in one batch.
//! Every route is also reachable with a trailing slash (`spaces/{id}/?includes=fullpath`), as the 2018 samples call it.

use std::collections::BTreeSet;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::router::AppState;

mod devices;
pub(crate) mod error;
mod functions;
pub(crate) mod keystores;
pub(crate) mod matchers;
pub(crate) mod objects;
mod propertykeys;
mod resources;
pub(crate) mod roleassignments;
mod sensors;
mod spaces;
mod system;
mod types;
mod users;

pub(crate) use error::MgmtError;

/// Where the face is mounted.
pub(crate) const BASE: &str = "/management/api/v1.0";

/// The management face as shipped.
pub(crate) fn routes() -> Router<AppState> {
    let face = Router::new()
        .merge(spaces::routes())
        .merge(devices::routes())
        .merge(sensors::routes())
        .merge(users::routes())
        .merge(types::routes())
        .merge(system::routes())
        .merge(propertykeys::routes())
        .merge(resources::routes())
        .merge(keystores::routes())
        .merge(matchers::routes())
        .merge(roleassignments::routes())
        .merge(functions::routes())
        .merge(crate::telemetry::routes());
    Router::new().nest(BASE, face)
}

/// Adds `path` and `path/` with the same handlers.
pub(crate) fn route(
    router: Router<AppState>,
    path: &str,
    method_router: axum::routing::MethodRouter<AppState>,
) -> Router<AppState> {
    router.route(path, method_router.clone()).route(&format!("{path}/"), method_router)
}

/// The query parameters of a request, in order; names (and, where a parameter takes a word, values) are matched ignoring case.
#[derive(Clone, Debug, Default)]
pub(crate) struct Params(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = MgmtError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Params, MgmtError> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .map(Params)
            .map_err(|err| MgmtError::invalid(format!("the query string cannot be read: {err}")))
    }
}

impl Params {
    /// The value of the last parameter named `name` (ignoring case).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The value of `name`, or of one of its aliases, ignoring an empty value (the samples send `spaceId=` for none).
    pub(crate) fn text(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.get(n)).filter(|v| !v.trim().is_empty()).map(str::trim)
    }

    /// A list parameter: items separated by `;` or `,`, trimmed, empty items dropped; every occurrence of the parameter counts.
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split([';', ',']))
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// A boolean parameter (`true`/`false`, any case); absent is `None`.
    pub(crate) fn flag(&self, name: &str) -> Result<Option<bool>, MgmtError> {
        match self.text(&[name]) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(MgmtError::invalid_member(name, format!("`{name}` is `{v}`; it takes true or false"))),
        }
    }

    /// `includes`, checked against the values a resource accepts.
    pub(crate) fn includes(&self, accepted: &[&str]) -> Result<Includes, MgmtError> {
        Includes::parse(&self.list("includes"), accepted)
    }
}

/// The optional sections a read asks for (`includes=types,values`), in lower case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Includes(BTreeSet<String>);

impl Includes {
    /// The sections named in `items` (ignoring case); `none` asks for none; a value the resource does not know is refused, listing those it does.
    pub(crate) fn parse(items: &[String], accepted: &[&str]) -> Result<Includes, MgmtError> {
        let mut set = BTreeSet::new();
        for item in items {
            let lower = item.to_ascii_lowercase();
            if lower == "none" {
                continue;
            }
            if !accepted.iter().any(|a| a.eq_ignore_ascii_case(&lower)) {
                return Err(MgmtError::invalid_member(
                    "includes",
                    format!("`includes` has `{item}`; this resource accepts {}", accepted.join(", ")),
                ));
            }
            set.insert(lower);
        }
        Ok(Includes(set))
    }

    /// Sections given directly (for the nested objects a section includes).
    pub(crate) fn of(items: &[&str]) -> Includes {
        Includes(items.iter().map(|i| i.to_ascii_lowercase()).collect())
    }

    pub(crate) fn has(&self, section: &str) -> bool {
        self.0.contains(section)
    }

    /// The same sections but one.
    pub(crate) fn without(&self, section: &str) -> Includes {
        Includes(self.0.iter().filter(|s| *s != section).cloned().collect())
    }
}

/// A JSON object body whose members are found ignoring case (`Name`, `name`, `NAME` are one member).
#[derive(Clone, Debug, Default)]
pub(crate) struct Body(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = MgmtError;

    async fn from_request(request: Request, state: &S) -> Result<Body, MgmtError> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|err| MgmtError::invalid(format!("the request body cannot be read: {err}")))?;
        Body::parse(&bytes)
    }
}

impl Body {
    /// The body as a JSON object.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Body, MgmtError> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Body(map)),
            Ok(_) => Err(MgmtError::invalid("the request body must be a JSON object")),
            Err(err) => Err(MgmtError::invalid(format!("the request body is not valid JSON: {err}"))),
        }
    }

    /// A nested object as a body.
    pub(crate) fn from_value(value: &Value, member: &str) -> Result<Body, MgmtError> {
        match value {
            Value::Object(map) => Ok(Body(map.clone())),
            _ => Err(MgmtError::invalid_member(member, format!("`{member}` must hold JSON objects"))),
        }
    }

    /// The member named `name` ignoring case; `null` counts as absent.
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v).filter(|v| !v.is_null())
    }

    /// Whether the member is present at all (even as `null`), for updates that clear a value.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.keys().any(|k| k.eq_ignore_ascii_case(name))
    }

    /// A string member; another JSON type is an error naming it.
    pub(crate) fn text(&self, name: &str) -> Result<Option<&str>, MgmtError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(MgmtError::invalid_member(name, format!("`{name}` must be a string"))),
        }
    }

    /// An id member: a string, where `""` means none (the samples send `"ParentSpaceId": ""` for a root space).
    pub(crate) fn id(&self, name: &str) -> Result<Option<&str>, MgmtError> {
        Ok(self.text(name)?.map(str::trim).filter(|s| !s.is_empty()))
    }

    /// A string member with a length range (in characters).
    pub(crate) fn bounded(&self, name: &str, min: usize, max: usize) -> Result<Option<&str>, MgmtError> {
        let Some(text) = self.text(name)? else { return Ok(None) };
        let length = text.chars().count();
        if length < min || length > max {
            let range = if min == 0 { format!("at most {max}") } else { format!("{min} to {max}") };
            return Err(MgmtError::invalid_member(name, format!("`{name}` has {length} characters; it takes {range}")));
        }
        Ok(Some(text))
    }

    /// Copies a string member with a length range into twin properties, when given.
    pub(crate) fn put_text(
        &self,
        props: &mut Map<String, Value>,
        name: &str,
        min: usize,
        max: usize,
    ) -> Result<(), MgmtError> {
        if let Some(text) = self.bounded(name, min, max)? {
            props.insert(name.to_owned(), Value::String(text.to_owned()));
        }
        Ok(())
    }

    /// An integer member.
    pub(crate) fn integer(&self, name: &str) -> Result<Option<i64>, MgmtError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_i64()
                .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
                .map(Some)
                .ok_or_else(|| MgmtError::invalid_member(name, format!("`{name}` must be an integer"))),
        }
    }

    /// A boolean member.
    pub(crate) fn boolean(&self, name: &str) -> Result<Option<bool>, MgmtError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(MgmtError::invalid_member(name, format!("`{name}` must be true or false"))),
        }
    }

    /// An array member.
    pub(crate) fn array(&self, name: &str) -> Result<&[Value], MgmtError> {
        match self.get(name) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(MgmtError::invalid_member(name, format!("`{name}` must be an array"))),
        }
    }
}

/// Runs a write of the tenant that answers 204: `f` checks and applies it and says what it did, which is durable before the answer.
pub(crate) async fn updated(
    state: &AppState,
    f: impl FnOnce(&mut crate::data::Tenant) -> Result<crate::data::Written, MgmtError>,
) -> Result<StatusCode, MgmtError> {
    state.data.tenant().write_all(&state.data, move |tenant| f(tenant).map(|written| ((), written))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs a write that creates an object and answers 201 with its id, once durable.
pub(crate) async fn created_after(
    state: &AppState,
    id: String,
    f: impl FnOnce(&mut crate::data::Tenant) -> Result<crate::data::Written, MgmtError>,
) -> Result<Response, MgmtError> {
    state.data.tenant().write_all(&state.data, move |tenant| f(tenant).map(|written| ((), written))).await?;
    Ok(created(id))
}

/// The answer to a create: 201 with the new id as a JSON string.
pub(crate) fn created(id: impl Into<String>) -> Response {
    (StatusCode::CREATED, axum::Json(Value::String(id.into()))).into_response()
}

/// The host name (without port) a request was sent to, which devices reach this server at: the URI's authority (HTTP/2) or the `Host` header; `localhost` when neither says.
pub(crate) fn request_host(uri: &axum::http::Uri, headers: &axum::http::HeaderMap) -> String {
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned))
        .unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        // An IPv6 literal keeps its brackets.
        Some(rest) => rest.split_once(']').map(|(address, _)| format!("[{address}]")).unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default().to_owned(),
    };
    if host.is_empty() { "localhost".to_owned() } else { host }
}

/// A new object id: a GUID, as the 2018 API gives.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Installs the built-in models (Space, Device, Sensor, User and their base) in a tenant that does not have them yet, as uploaded models (so the data plane lists them and an export carries them).
pub(crate) fn ensure_models(graph: &mut graph::TenantGraph, now: &str) -> Result<Vec<graph::Change>, MgmtError> {
    if graph.model(ontology::SPACE).is_some() {
        return Ok(Vec::new());
    }
    let documents: Vec<Value> = ontology::documents()
        .into_iter()
        .filter_map(|d| serde_json::from_str::<Value>(&d.text).ok())
        .filter(|v| v.get("@id").and_then(Value::as_str).is_some_and(|id| graph.model(id).is_none()))
        .collect();
    let (_, changes) = graph.upload_models(documents, now).map_err(|err| {
        MgmtError::conflict(format!(
            "the built-in models of spaces, devices, sensors and users cannot be installed next to this tenant's models: {err}"
        ))
    })?;
    Ok(changes)
}

/// The 2018 kinds' names as messages use them.
pub(crate) fn kind_name(kind: ontology::ObjectKind) -> &'static str {
    match kind {
        ontology::ObjectKind::Space => "space",
        ontology::ObjectKind::Device => "device",
        ontology::ObjectKind::Sensor => "sensor",
        ontology::ObjectKind::User => "user",
    }
}

/// Whether the twin in `slot` is of `kind` (its model is the kind's built-in model or extends it).
pub(crate) fn is_kind(graph: &graph::TenantGraph, slot: u32, kind: ontology::ObjectKind) -> bool {
    graph.twin_at(slot).is_some_and(|twin| {
        graph.model_set().is_a(twin.model(), kind.model(), graph::ModelMatch::SubtypesAndLaterVersions)
    })
}

/// The slot of the object `id` of `kind`; 404 when there is none (a twin of another kind is not found either).
pub(crate) fn object_slot(graph: &graph::TenantGraph, kind: ontology::ObjectKind, id: &str) -> Result<u32, MgmtError> {
    graph.slot(id).filter(|&slot| is_kind(graph, slot, kind)).ok_or_else(|| MgmtError::not_found(kind_name(kind), id))
}

/// The ids of the spaces from the root down to the closest space at or above `slot` (the space itself for a space): what custom types, property keys, resources and key stores are looked up along.
pub(crate) fn space_path(graph: &graph::TenantGraph, slot: u32) -> Vec<&str> {
    let space =
        std::iter::once(slot).chain(graph.ancestors_at(slot)).find(|&s| is_kind(graph, s, ontology::ObjectKind::Space));
    match space {
        Some(space) => graph.path_at(space),
        None => Vec::new(),
    }
}
