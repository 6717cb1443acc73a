//! `GET /healthz`: 200 `{"status":"ok"}` while the server accepts requests; a liveness probe, not a check of the store or graph.

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};

use crate::extract::Json;
use crate::router::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
