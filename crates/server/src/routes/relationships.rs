//! `/digitaltwins/{id}/relationships[/{relationshipId}]` and `/digitaltwins/{id}/incomingrelationships`: get, create or replace, patch, delete, and the paged lists.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Deserialize;
use serde_json::Value;

use crate::api_version::ApiVersion;
use crate::error::ApiError;
use crate::extract::Json;
use crate::paging::{BaseUrl, MaxItemsPerPage};
use crate::router::AppState;
use crate::routes::listing::{self, PageQuery, PageRequest};
use crate::routes::precondition::{self, etag};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/digitaltwins/{id}/relationships", get(list))
        .route("/digitaltwins/{id}/relationships/{rel}", get(get_one).put(put).patch(patch).delete(delete))
        .route("/digitaltwins/{id}/incomingrelationships", get(incoming))
}

async fn get_one(
    State(state): State<AppState>,
    Path((id, rel)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let (json, version) =
        state.data.tenant().read(|graph| graph.relationship(&id, &rel).map(|r| (r.to_json(), r.etag)))?;
    Ok((etag(version), Json(json)))
}

async fn put(
    State(state): State<AppState>,
    Path((id, rel)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let condition = precondition::for_put(&headers)?;
    let now = crate::data::now();
    let relationship = state
        .data
        .tenant()
        .write(&state.data, move |graph| {
            let (r, changes) = graph.put_relationship(&id, &rel, body, &condition, &now)?;
            Ok((r, changes, Vec::new()))
        })
        .await?;
    Ok((etag(relationship.etag), Json(relationship.to_json())))
}

async fn patch(
    State(state): State<AppState>,
    Path((id, rel)): Path<(String, String)>,
    headers: HeaderMap,
    Json(patch): Json<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let condition = precondition::for_change(&headers)?;
    let relationship = state
        .data
        .tenant()
        .write(&state.data, move |graph| {
            let (r, changes) = graph.patch_relationship(&id, &rel, &patch, &condition)?;
            Ok((r, changes, Vec::new()))
        })
        .await?;
    Ok((StatusCode::NO_CONTENT, etag(relationship.etag)))
}

async fn delete(
    State(state): State<AppState>,
    Path((id, rel)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    let condition = precondition::for_change(&headers)?;
    state
        .data
        .tenant()
        .write(&state.data, move |graph| Ok(((), graph.delete_relationship(&id, &rel, &condition)?, Vec::new())))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(rename = "relationshipName")]
    relationship_name: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
    version: ApiVersion,
    base: BaseUrl,
    max: MaxItemsPerPage,
    Query(query): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let request = PageRequest::new(&query.page, max, state.limits.page_items_max)?;
    let name = query.relationship_name.clone();
    let items: Vec<(String, Value)> = state.data.tenant().read(|graph| {
        graph.relationships(&id, name.as_deref()).map(|rels| rels.iter().map(|r| (r.id.clone(), r.to_json())).collect())
    })?;
    let path = format!("/digitaltwins/{}/relationships", encode_segment(&id));
    let params: Vec<(&str, &str)> =
        query.relationship_name.as_deref().map(|n| vec![("relationshipName", n)]).unwrap_or_default();
    Ok(request.page(items, listing::link(&base, &path, version, &params)))
}

async fn incoming(
    State(state): State<AppState>,
    Path(id): Path<String>,
    version: ApiVersion,
    base: BaseUrl,
    max: MaxItemsPerPage,
    Query(query): Query<PageQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let request = PageRequest::new(&query, max, state.limits.page_items_max)?;
    let items: Vec<(String, Value)> = state.data.tenant().read(|graph| {
        graph.incoming(&id).map(|rels| {
            rels.iter().map(|r| (graph::Relationship::key(&r.source, &r.id), r.to_incoming_json())).collect()
        })
    })?;
    let path = format!("/digitaltwins/{}/incomingrelationships", encode_segment(&id));
    Ok(request.page(items, listing::link(&base, &path, version, &[])))
}

/// Percent-encodes an id for a path segment of a link.
fn encode_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
