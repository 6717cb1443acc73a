//! `GET /metrics`: the server's metrics in the Prometheus text exposition format: the HTTP registry (see `http_metrics`), graph sizes per tenant, store commit latency and the query cursor store.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::router::AppState;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(render))
}

async fn render(State(state): State<AppState>) -> Response {
    let mut text = state.metrics.render();
    graph_metrics(&state, &mut text);
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}

/// Sizes of every tenant's graph and the store's commit latency, appended to the registry's exposition.
fn graph_metrics(state: &AppState, out: &mut String) {
    use std::fmt::Write as _;
    let tenants = state.data.tenants();
    for (name, help, count) in [
        (
            "twinscape_twins",
            "Twins per tenant.",
            (|g: &graph::TenantGraph| g.twin_count()) as fn(&graph::TenantGraph) -> usize,
        ),
        ("twinscape_relationships", "Relationships per tenant.", |g: &graph::TenantGraph| g.relationship_count()),
        ("twinscape_models", "Models per tenant.", |g: &graph::TenantGraph| g.model_count()),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for tenant in &tenants {
            let _ = writeln!(out, "{name}{{tenant=\"{}\"}} {}", tenant.id, tenant.read(count));
        }
    }
    state.data.commit_latency().render("twinscape_store_commit_seconds", out);
    state.cursors.render(out);
}
