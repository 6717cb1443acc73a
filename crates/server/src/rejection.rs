//! Framework-level rejections in the ADT error format: the unknown-route fallback, the panic handler, and `adt_format`, the safety net that rewrites any error response that is not already an `ApiError`.
//!
//! axum answers some requests itself, with plain text or an empty body: 405 for a known path with another method, 413 when a body extractor hits the body limit, 400 or 422 when `Path`, `Query` or `axum::Json` cannot read the request.
//! `adt_format` turns each into `{"error":{…}}` with `x-ms-error-code`, keeping axum's text as the message and its headers; 422 becomes 400, a status ADT never sends.
//! Codes, where ADT documents nothing for the case: unknown route → 404 `NotFound`; wrong method → 405 `MethodNotAllowed`; body over the limit → 413 `LimitExceeded` (ADT's code for limits, with the status that says what happened); unreadable JSON, path or query → 400 `InvalidArgument`; wrong content type → 415 `UnsupportedMediaType`.
//! Handlers should still return `ApiError` and read bodies with `extract::Json`, which give precise codes; this is the net under them, not the way to report errors.

use std::any::Any;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, ERROR_CODE_HEADER, ErrorCode};

/// The longest framework message kept from a plain-text body; axum's are one line.
const MESSAGE_BYTES_MAX: usize = 4096;

/// The router's fallback: no route has this path.
pub(crate) async fn unknown_route(method: Method, uri: Uri) -> ApiError {
    ApiError::route_not_found(method.as_str(), uri.path())
}

/// The panic handler of `CatchPanicLayer`: logs the panic at ERROR and answers 500, keeping the process up.
pub(crate) fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    tracing::error!(panic = %message, "request handler panicked");
    ApiError::new(ErrorCode::InternalServerError, "The server failed to handle the request; the failure is logged.")
        .into_response()
}

/// Middleware: rewrites an error response that is not an `ApiError` into the ADT format.
pub(crate) async fn adt_format(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    let is_error = status.is_client_error() || status.is_server_error();
    if !is_error || response.headers().contains_key(ERROR_CODE_HEADER) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = plain_text(&parts.headers, body).await;
    let error = framework_error(status, &method, &path, text);
    let mut converted = error.into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH && !converted.headers().contains_key(name) {
            converted.headers_mut().insert(name.clone(), value.clone());
        }
    }
    converted
}

/// The `ApiError` for a framework response with `status` and body `text`.
fn framework_error(status: StatusCode, method: &Method, path: &str, text: Option<String>) -> ApiError {
    let text = text.filter(|t| !t.is_empty());
    match status {
        StatusCode::NOT_FOUND => ApiError::route_not_found(method.as_str(), path),
        // axum adds the `Allow` header outside the route's layers, after this middleware has run, so the message points to it.
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            ErrorCode::MethodNotAllowed,
            format!("The method {method} is not allowed on {path}; the Allow header lists the methods that are."),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            ErrorCode::LimitExceeded,
            text.unwrap_or_else(|| "The request body is larger than this route accepts.".to_owned()),
        )
        .with_status(status),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            text.unwrap_or_else(|| "The request's Content-Type is not supported by this route.".to_owned()),
        ),
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
            ApiError::invalid_argument(text.unwrap_or_else(|| "The request cannot be read.".to_owned()))
        }
        StatusCode::REQUEST_TIMEOUT => {
            ApiError::new(ErrorCode::RequestTimeout, text.unwrap_or_else(|| "The request took too long.".to_owned()))
        }
        StatusCode::SERVICE_UNAVAILABLE => ApiError::new(
            ErrorCode::ServiceUnavailable,
            text.unwrap_or_else(|| "The server cannot take the request now.".to_owned()),
        ),
        status if status.is_server_error() => {
            tracing::error!(%status, message = text.as_deref().unwrap_or_default(), "internal error without an ApiError");
            ApiError::new(
                ErrorCode::InternalServerError,
                "The server failed to handle the request; the failure is logged.",
            )
            .with_status(status)
        }
        status => ApiError::new(
            ErrorCode::BadRequest,
            text.unwrap_or_else(|| status.canonical_reason().unwrap_or("The request was rejected.").to_owned()),
        )
        .with_status(status),
    }
}

/// The body as text when it is short plain text; anything else is dropped.
async fn plain_text(headers: &HeaderMap, body: Body) -> Option<String> {
    let is_text =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/plain"));
    if !is_text {
        return None;
    }
    let bytes = axum::body::to_bytes(body, MESSAGE_BYTES_MAX).await.ok()?;
    Some(String::from_utf8_lossy(&bytes).trim().to_owned())
}
