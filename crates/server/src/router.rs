//! The HTTP router: `AppState`, what every handler can reach; `router`, the shipped routes; `app`, which frames a data plane with the operational routes and the layers every request passes.
//!
//! Layers, outermost first: request id → `request` span and DEBUG trace events → metrics by route template → ADT error format for framework rejections → panic → 500 → body limit → the route.
//! The data plane additionally passes `api_version::require` before its handlers.
//! Route handlers live in `routes`; this file only composes them.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use tower_http::catch_panic::CatchPanicLayer;

use crate::config::{Config, Limits};
use crate::cursors::Cursors;
use crate::data::DataPlane;
use crate::http_metrics::Metrics;
use crate::jobs::Jobs;
use crate::{api_version, http_metrics, management, rejection, routes, trace};

/// What every handler can reach; cheap to clone (one per request).
///
/// Handles to the twin graph and the store join here as those crates are wired in.
#[derive(Clone)]
pub struct AppState {
    pub(crate) limits: Limits,
    /// The store and the tenants' graphs.
    pub(crate) data: Arc<DataPlane>,
    /// Import jobs.
    pub(crate) jobs: Arc<Jobs>,
    /// What a query may use (`Config::query`), and how long it may run on the thread that received it.
    pub(crate) queries: Arc<routes::query::Queries>,
    /// The rest of query results, for their later pages.
    pub(crate) cursors: Arc<Cursors>,
    /// The workers that run user-defined functions on telemetry.
    pub(crate) functions: Arc<crate::functions::Functions>,
    /// Permits for telemetry messages in flight over HTTP (`limits.telemetry_http_inflight_max`).
    pub(crate) telemetry_http: Arc<tokio::sync::Semaphore>,
    pub(crate) metrics: Metrics,
    /// `http` or `https`, for absolute links such as `nextLink`.
    pub(crate) scheme: &'static str,
}

impl AppState {
    /// The state of a server running with `config` on an empty in-memory store, with a fresh metrics registry (for tests of the HTTP machinery).
    pub fn new(config: &Config) -> AppState {
        let store = store::MemoryBackend::new(store::Limits::default()).expect("the default store limits are valid");
        let data = DataPlane::open(
            Arc::new(store),
            graph::Limits::default(),
            config.containment.clone(),
            EVENT_SOURCE.to_owned(),
        )
        .expect("an empty in-memory store opens");
        let jobs = Jobs::load(&data).expect("an empty in-memory store has no jobs to fail on");
        AppState::with_data(config, Arc::new(data), Arc::new(jobs))
    }

    /// The state of a server running with `config` over `data`.
    pub fn with_data(config: &Config, data: Arc<DataPlane>, jobs: Arc<Jobs>) -> AppState {
        AppState {
            limits: config.limits,
            data,
            jobs,
            queries: Arc::new(routes::query::Queries::new(&config.query)),
            cursors: Arc::new(Cursors::new(config.query.cursor_bytes_max.get(), config.query.cursor_idle)),
            functions: Arc::new(crate::functions::Functions::start(
                FUNCTION_WORKERS,
                compute::sandbox::Limits::default(),
            )),
            telemetry_http: Arc::new(tokio::sync::Semaphore::new(config.limits.telemetry_http_inflight_max.get())),
            metrics: Metrics::new(),
            scheme: if config.tls.is_some() { "https" } else { "http" },
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

/// Threads that run user-defined functions (each keeps its own QuickJS runtime).
const FUNCTION_WORKERS: usize = 2;

/// The CloudEvents `source` of the events this server emits.
pub(crate) const EVENT_SOURCE: &str = "twinscape";

/// The whole HTTP face as shipped: the operational routes and `routes::data_plane`.
pub fn router(state: AppState) -> Router {
    let data_plane = routes::data_plane(&state.limits);
    app(state, data_plane)
}

/// Frames `data_plane` (routes that need `api-version`) with `/healthz`, `/metrics`, the fallback and every layer.
///
/// `router` calls it with the shipped data plane; tests call it with routes of their own, which then behave exactly as shipped routes do.
pub fn app(state: AppState, data_plane: Router<AppState>) -> Router {
    let body_bytes_max = state.limits.body_bytes_max.get();
    // `route_layer` refuses a router without routes, which is what the data plane is until its first module lands.
    let data_plane = if data_plane.has_routes() {
        data_plane.route_layer(middleware::from_fn(api_version::require))
    } else {
        data_plane
    };
    Router::new()
        .merge(routes::health::routes())
        .merge(routes::metrics::routes())
        .merge(routes::events::routes())
        .merge(data_plane)
        .merge(management::routes())
        .fallback(rejection::unknown_route)
        .layer(DefaultBodyLimit::max(body_bytes_max))
        .layer(CatchPanicLayer::custom(rejection::panic_response))
        .layer(middleware::from_fn(rejection::adt_format))
        .layer(middleware::from_fn_with_state(state.clone(), http_metrics::record))
        .layer(trace::layer())
        .layer(middleware::from_fn(trace::assign_request_id))
        .with_state(state)
}
