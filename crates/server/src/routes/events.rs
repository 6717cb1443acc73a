//! `GET /events?cursor=C&limit=N`: the tenant's durable event log in order, from the start when no cursor is given, with the cursor to continue from.
//!
//! Events keep their wire envelope (CloudEvents 1.0 for the data plane). This route is a Twinscape extension and, like `/healthz`, needs no `api-version`.

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::extract::Json;
use crate::router::AppState;

/// Most events in one page.
const EVENTS_PAGE_MAX: usize = 1000;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/events", get(list))
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    cursor: Option<String>,
    limit: Option<String>,
}

async fn list(State(state): State<AppState>, Query(query): Query<EventsQuery>) -> Result<Json<Value>, ApiError> {
    let after = match query.cursor.as_deref() {
        None | Some("") => 0,
        Some(c) => c.parse::<u64>().map_err(|_| {
            ApiError::invalid_argument(format!("cursor must be a cursor returned as nextCursor, not '{c}'."))
        })?,
    };
    let limit = match query.limit.as_deref() {
        None => 100,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=EVENTS_PAGE_MAX).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid_argument(format!(
                    "limit must be an integer from 1 to {EVENTS_PAGE_MAX}, not '{l}'."
                )));
            }
        },
    };
    let tenant = state.data.tenant();
    let store = state.data.store().clone();
    let id = tenant.id.clone();
    let events = tokio::task::spawn_blocking(move || store.read_events(&id, after, limit))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))?;
    let next = events.last().map_or(after, |(seq, _)| *seq);
    let mut value = Vec::with_capacity(events.len());
    for (seq, payload) in events {
        let event: Value = serde_json::from_slice(&payload).map_err(|e| {
            tracing::error!(sequence = seq, error = %e, "a stored event is not JSON");
            ApiError::internal(&e)
        })?;
        value.push(event);
    }
    Ok(Json(json!({ "value": value, "nextCursor": next.to_string() })))
}
