//! Request tracing: a generated request id per request (returned as `x-request-id`) and a `request` span carrying it, so every log line a handler emits names its request.
//!
//! The span is at INFO so it frames INFO events under the default filter; the per-request start and finish events of tower-http's `TraceLayer` are at DEBUG.
//! A client's own `x-request-id` is not reused: ids are generated here so they are unique and safe to log.
//! This module installs no subscriber; the binary does.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnFailure, DefaultOnRequest, DefaultOnResponse, MakeSpan, TraceLayer};
use tracing::{Level, Span};
use uuid::Uuid;

/// The response header that returns the request id.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being handled, as a request extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RequestId(pub(crate) String);

tokio::task_local! {
    /// The id of the request the running task serves, for what a write records of its cause (`current_request_id`).
    static CURRENT_REQUEST: String;
}

/// The id of the request the running task serves (handlers run in the task of their request); `None` outside a request, as for work spawned from one.
pub(crate) fn current_request_id() -> Option<String> {
    CURRENT_REQUEST.try_with(String::clone).ok()
}

/// Middleware, outermost: generates the request id, stores it for the span and handlers (and for the request's task, `current_request_id`), and returns it to the client.
pub(crate) async fn assign_request_id(mut request: Request, next: Next) -> Response {
    let id = Uuid::new_v4().to_string();
    let header = HeaderValue::from_str(&id).expect("a UUID is ASCII");
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = CURRENT_REQUEST.scope(id, next.run(request)).await;
    response.headers_mut().insert(REQUEST_ID_HEADER, header);
    response
}

/// tower-http's trace layer with the `request` span and DEBUG per-request events.
///
/// Server errors are reported at DEBUG here because whoever produced them logged them where they were handled (STYLE.md §2).
pub(crate) fn layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RequestSpan> {
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan)
        .on_request(DefaultOnRequest::new().level(Level::DEBUG))
        .on_response(DefaultOnResponse::new().level(Level::DEBUG))
        .on_failure(DefaultOnFailure::new().level(Level::DEBUG))
}

/// Makes the `request` span: request id, method, route template and path.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &axum::http::Request<B>) -> Span {
        let id = request.extensions().get::<RequestId>().map_or("", |id| id.0.as_str());
        let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
        tracing::info_span!(
            "request",
            request_id = %id,
            method = %request.method(),
            route = %route,
            path = %request.uri().path(),
        )
    }
}
