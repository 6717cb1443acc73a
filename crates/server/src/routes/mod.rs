//! Route modules, one per resource, each exposing `fn routes() -> Router<AppState>`; and `data_plane`, the one place data-plane modules are merged.
//!
//! To add a data-plane module (twins, models, relationships, query, …):
//! 1. create `routes/<resource>.rs` with `pub(crate) fn routes() -> Router<AppState>` whose handlers take `State<AppState>`, read bodies with `extract::Json` and return `Result<_, ApiError>`;
//! 2. declare it below and merge it in `data_plane`.
//!
//! Every data-plane route then requires `api-version` (400 otherwise), is counted under its route template, and has the body limit `limits.body_bytes_max`.
//! A route that accepts larger bodies layers its own limit on itself, for example `post(add_models).layer(DefaultBodyLimit::max(limits.models_body_bytes_max.get()))`.
//! The operational routes (`health`, `metrics`) are merged by `router::app` outside the data plane, without `api-version`.

use axum::Router;

use crate::config::Limits;
use crate::router::AppState;

pub(crate) mod events;
pub(crate) mod health;
mod jobs;
mod listing;
pub(crate) mod metrics;
mod models;
mod precondition;
pub(crate) mod query;
mod relationships;
mod twins;

/// The ADT data-plane routes as shipped. Merge each data-plane route module here.
pub(crate) fn data_plane(limits: &Limits) -> Router<AppState> {
    Router::new()
        .merge(models::routes(limits.models_body_bytes_max.get()))
        .merge(twins::routes())
        .merge(relationships::routes())
        .merge(query::routes())
        .merge(jobs::routes(limits.import_body_bytes_max.get()))
        .merge(crate::history::routes::data_plane())
}
