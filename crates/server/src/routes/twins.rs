//! `/digitaltwins/{id}`: get, create or replace, patch, delete; its components (get, patch); and telemetry sent to it or to a component.
//!
//! Deleting a twin that still has relationships is refused (`RelationshipsNotDeleted`), as ADT does; `?cascade=true` is our extension that deletes them with it.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;

use crate::data::telemetry_event;
use crate::error::ApiError;
use crate::extract::Json;
use crate::router::AppState;
use crate::routes::precondition::{self, etag};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/digitaltwins/{id}", get(get_twin).put(put_twin).patch(patch_twin).delete(delete_twin))
        .route("/digitaltwins/{id}/components/{component}", get(get_component).patch(patch_component))
        .route("/digitaltwins/{id}/telemetry", post(send_telemetry))
        .route("/digitaltwins/{id}/components/{component}/telemetry", post(send_component_telemetry))
}

async fn get_twin(State(state): State<AppState>, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    state
        .data
        .tenant()
        .read(|graph| graph.twin(&id).map(|t| (etag(t.etag), json_bytes(t.to_json_bytes()))))
        .ok_or_else(|| twin_not_found(&id))
}

async fn put_twin(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let condition = precondition::for_put(&headers)?;
    let now = crate::data::now();
    let twin = state
        .data
        .tenant()
        .write(&state.data, move |graph| {
            let (twin, changes) = graph.put_twin(&id, body, &condition, &now)?;
            Ok((twin, changes, Vec::new()))
        })
        .await?;
    Ok((etag(twin.etag), json_bytes(twin.to_json_bytes())))
}

/// A JSON body already serialized.
fn json_bytes(bytes: Vec<u8>) -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], bytes)
}

async fn patch_twin(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(patch): Json<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let condition = precondition::for_change(&headers)?;
    let now = crate::data::now();
    let twin = state
        .data
        .tenant()
        .write(&state.data, move |graph| {
            let (twin, changes) = graph.patch_twin(&id, &patch, &condition, &now)?;
            Ok((twin, changes, Vec::new()))
        })
        .await?;
    Ok((StatusCode::NO_CONTENT, etag(twin.etag)))
}

#[derive(Debug, Deserialize)]
struct DeleteQuery {
    cascade: Option<bool>,
}

async fn delete_twin(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<DeleteQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let condition = precondition::for_change(&headers)?;
    let cascade = query.cascade.unwrap_or(false);
    state
        .data
        .tenant()
        .write(&state.data, move |graph| Ok(((), graph.delete_twin(&id, &condition, cascade)?, Vec::new())))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get_component(
    State(state): State<AppState>,
    Path((id, component)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let (value, version) = state.data.tenant().read(|graph| graph.component(&id, &component))?;
    Ok((etag(version), Json(value)))
}

async fn patch_component(
    State(state): State<AppState>,
    Path((id, component)): Path<(String, String)>,
    headers: HeaderMap,
    Json(patch): Json<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let condition = precondition::for_change(&headers)?;
    let now = crate::data::now();
    let twin = state
        .data
        .tenant()
        .write(&state.data, move |graph| {
            let (twin, changes) = graph.patch_component(&id, &component, &patch, &condition, &now)?;
            Ok((twin, changes, Vec::new()))
        })
        .await?;
    Ok((StatusCode::NO_CONTENT, etag(twin.etag)))
}

async fn send_telemetry(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<impl IntoResponse, ApiError> {
    telemetry(state, id, None, headers, body).await
}

async fn send_component_telemetry(
    State(state): State<AppState>,
    Path((id, component)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<impl IntoResponse, ApiError> {
    telemetry(state, id, Some(component), headers, body).await
}

/// Records telemetry as a durable `microsoft.iot.telemetry` event; `Message-Id` is required, as ADT requires it.
///
/// Telemetry to a 2018 sensor (a twin of `dtmi:twinscape:Sensor;1` or a model extending it) is also a message of that sensor, from its device, for the telemetry pipeline (`telemetry::store_for_sensor`): its value is stored and its functions run, durably, before the event is recorded and the request answered.
/// A message the pipeline refuses is answered with its error, and no event is recorded.
async fn telemetry(
    state: AppState,
    id: String,
    component: Option<String>,
    headers: HeaderMap,
    body: Value,
) -> Result<StatusCode, ApiError> {
    let message_id = headers
        .get("message-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::missing_argument("The Message-Id header is required."))?
        .to_owned();
    // The twin and component are checked before the pipeline sees the message; the write checks them again.
    state.data.tenant().read(|graph| telemetry_model(graph, &id, component.as_deref()))?;
    crate::telemetry::store_for_sensor(&state, &id, &headers, &body).await?;
    let source = state.data.event_source().to_owned();
    state
        .data
        .tenant()
        .write(&state.data, move |graph| {
            let model = telemetry_model(graph, &id, component.as_deref())?;
            let event = telemetry_event(&source, &id, component.as_deref(), &model, &message_id, &body);
            Ok(((), Vec::new(), vec![event]))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The model telemetry to twin `id` (or its `component`) is described by, the `dataschema` of its event.
fn telemetry_model(graph: &graph::TenantGraph, id: &str, component: Option<&str>) -> Result<String, graph::GraphError> {
    let twin = graph.twin(id).ok_or_else(|| graph::GraphError::NotFound {
        what: graph::Missing::Twin,
        message: format!("there is no twin with id '{id}'"),
    })?;
    Ok(match component {
        None => twin.model().to_owned(),
        Some(name) => {
            graph.component(id, name)?;
            match graph.model_set().content(twin.model(), name).map(|c| &c.kind) {
                Some(model::set::ContentKind::Component { schema }) => schema.to_string(),
                _ => twin.model().to_owned(),
            }
        }
    })
}

fn twin_not_found(id: &str) -> ApiError {
    ApiError::from(graph::GraphError::NotFound {
        what: graph::Missing::Twin,
        message: format!("there is no twin with id '{id}'"),
    })
}
