//! `/jobs/imports[/{id}[/cancel]]`: import jobs as ADT has them, plus our extension of sending the bulk data as the request body; and `GET /export`, the tenant's graph as bulk-import NDJSON (our extension).

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;

use crate::api_version::ApiVersion;
use crate::error::ApiError;
use crate::extract::Json;
use crate::jobs::{Input, job_not_found};
use crate::paging::{BaseUrl, MaxItemsPerPage};
use crate::router::AppState;
use crate::routes::listing::{self, PageQuery, PageRequest};

pub(crate) fn routes(import_body_bytes_max: usize) -> Router<AppState> {
    Router::new()
        .route("/jobs/imports", get(list))
        .route(
            "/jobs/imports/{id}",
            get(get_one).put(create).layer(DefaultBodyLimit::max(import_body_bytes_max)).delete(delete),
        )
        .route("/jobs/imports/{id}/cancel", post(cancel))
        .route("/export", get(export))
}

async fn create(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        return Err(ApiError::invalid_argument("a job id is 1 to 128 letters, digits, '-', '_' or '.'"));
    }
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
    let text =
        String::from_utf8(body.to_vec()).map_err(|_| ApiError::invalid_argument("the request body must be UTF-8"))?;
    let (input, input_uri, output) = if content_type.starts_with("application/x-ndjson") {
        (Input::Body(text), "request body".to_owned(), None)
    } else if content_type.starts_with("application/json") {
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| ApiError::invalid_argument(format!("the request body is not JSON: {e}")))?;
        if value.get("digitalTwinsGraph").is_some() || value.get("digitalTwinsModels").is_some() {
            (Input::Body(text), "request body".to_owned(), None)
        } else {
            let Some(uri) = value.get("inputBlobUri").and_then(Value::as_str) else {
                return Err(ApiError::validation_failed(
                    "an import job needs \"inputBlobUri\" naming a file the server can read, or the NDJSON itself as the body (Content-Type: application/x-ndjson)",
                ));
            };
            let path = file_path(uri);
            if !path.is_file() {
                return Err(ApiError::validation_failed(format!(
                    "inputBlobUri '{uri}' does not name a file the server can read"
                )));
            }
            let output = value.get("outputBlobUri").and_then(Value::as_str).map(file_path);
            (Input::File(path), uri.to_owned(), output)
        }
    } else {
        return Err(ApiError::invalid_argument(
            "Content-Type must be application/json (a job with inputBlobUri) or application/x-ndjson (the data itself)",
        ));
    };
    let record = state.jobs.start(Arc::clone(&state.data), id, input, input_uri, output)?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// A `file://` URI or a plain path.
fn file_path(uri: &str) -> PathBuf {
    PathBuf::from(uri.strip_prefix("file://").unwrap_or(uri))
}

async fn get_one(State(state): State<AppState>, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    state.jobs.get(&id).map(Json).ok_or_else(|| job_not_found(&id))
}

async fn list(
    State(state): State<AppState>,
    version: ApiVersion,
    base: BaseUrl,
    max: MaxItemsPerPage,
    Query(query): Query<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let request = PageRequest::new(&query, max, state.limits.page_items_max)?;
    Ok(request.page(state.jobs.list(), listing::link(&base, "/jobs/imports", version, &[])))
}

async fn delete(State(state): State<AppState>, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    let jobs = Arc::clone(&state.jobs);
    let data = Arc::clone(&state.data);
    tokio::task::spawn_blocking(move || jobs.delete(&data, &id)).await.map_err(|e| ApiError::internal(&e))??;
    Ok(StatusCode::NO_CONTENT)
}

async fn cancel(State(state): State<AppState>, Path(id): Path<String>) -> Result<impl IntoResponse, ApiError> {
    let jobs = Arc::clone(&state.jobs);
    let data = Arc::clone(&state.data);
    let record =
        tokio::task::spawn_blocking(move || jobs.cancel(&data, &id)).await.map_err(|e| ApiError::internal(&e))??;
    Ok(Json(record))
}

async fn export(State(state): State<AppState>) -> impl IntoResponse {
    let text = state.data.tenant().read(|graph| graph.export_ndjson());
    ([(CONTENT_TYPE, "application/x-ndjson")], text)
}
