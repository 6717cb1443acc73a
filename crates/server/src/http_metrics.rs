//! The server's metrics registry and the HTTP layer that feeds it: `http_requests_total{method,route,status}` and `http_request_duration_seconds{method,route}`; the buckets of the telemetry pipeline's `telemetry_batch_stage_seconds{stage}` are set here too.
//!
//! The registry belongs to one server, not to the process: recording goes through `metrics::with_local_recorder`, so servers in one test binary do not share counters and nothing global is installed.
//! `route` is the matched route template (`/digitaltwins/{id}`), never the raw path, so ids cannot explode the number of series; requests no route matched are counted under `unmatched`.
//! Rendering is `routes::metrics`; this module does not serve anything.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use crate::router::AppState;

/// How often recorded histogram samples are folded into their buckets when nobody scrapes, so memory stays bounded.
pub(crate) const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Latency buckets, in seconds: 1 ms to 10 s.
const DURATION_BUCKETS_SECONDS: [f64; 13] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

const REQUESTS_TOTAL: &str = "http_requests_total";
const REQUEST_DURATION_SECONDS: &str = "http_request_duration_seconds";

/// Time a telemetry batch spends in each stage of the pipeline (`stage`: `prepare`, `functions`, `write`), recorded by `telemetry::store`.
pub(crate) const TELEMETRY_STAGE_SECONDS: &str = "telemetry_batch_stage_seconds";

/// Buckets of `TELEMETRY_STAGE_SECONDS`, in seconds: 50 µs to 10 s.
const STAGE_BUCKETS_SECONDS: [f64; 16] =
    [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// A Prometheus registry and the handle that renders it; cheap to clone.
#[derive(Clone)]
pub(crate) struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION_SECONDS.to_owned()), &DURATION_BUCKETS_SECONDS)
            .expect("the bucket list is not empty")
            .set_buckets_for_metric(Matcher::Full(TELEMETRY_STAGE_SECONDS.to_owned()), &STAGE_BUCKETS_SECONDS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        let metrics = Metrics { recorder: Arc::new(recorder), handle };
        metrics.record(|| {
            metrics::describe_counter!(REQUESTS_TOTAL, "HTTP requests answered, by method, route template and status.");
            metrics::describe_histogram!(
                REQUEST_DURATION_SECONDS,
                metrics::Unit::Seconds,
                "Time from receiving a request to sending its response head, by method and route template."
            );
            metrics::describe_histogram!(
                TELEMETRY_STAGE_SECONDS,
                metrics::Unit::Seconds,
                "Time a batch of telemetry messages spends in each stage: prepare (finding sensors and functions), functions (running them), write (storing everything until durable)."
            );
        });
        metrics
    }

    /// Runs `f` with this registry as the recorder of the `metrics` macros.
    pub(crate) fn record<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&*self.recorder, f)
    }

    /// The Prometheus text exposition of everything recorded.
    pub(crate) fn render(&self) -> String {
        self.handle.render()
    }

    /// Folds pending histogram samples into their buckets; `BoundServer::run` calls it every `UPKEEP_INTERVAL`.
    pub(crate) fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }
}

/// Middleware: counts and times every request by method, route template and status.
pub(crate) async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched".to_owned(), |m| m.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16().to_string();
    state.metrics.record(|| {
        metrics::counter!(REQUESTS_TOTAL, "method" => method, "route" => route.clone(), "status" => status)
            .increment(1);
        metrics::histogram!(REQUEST_DURATION_SECONDS, "method" => method, "route" => route).record(seconds);
    });
    response
}

/// The method as a label; extension methods share one value so clients cannot create series at will.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
