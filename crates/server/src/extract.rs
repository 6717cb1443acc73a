//! Extractors for route handlers whose rejections are `ApiError`s with ADT codes: `Json`, the request body as JSON.
//!
//! Use `extract::Json` rather than `axum::Json` to read a body; it also serializes a response, so a handler needs only one `Json`.
//! Body limits are not decided here: the router sets `limits.body_bytes_max` for every route, and a route that accepts more (model uploads) layers its own `DefaultBodyLimit`.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode};

/// A JSON request or response body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Json<T>, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// The ADT answer to a body `axum::Json` could not read; the message keeps serde's words and position.
fn json_rejection(rejection: JsonRejection) -> ApiError {
    let text = rejection.body_text();
    let status = rejection.status();
    match rejection {
        // Shape errors (a missing field, a string for a number) are 400 like syntax errors: ADT never answers 422.
        JsonRejection::JsonDataError(_) | JsonRejection::JsonSyntaxError(_) => ApiError::invalid_argument(text),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "The request body must be JSON, with Content-Type: application/json.",
        ),
        JsonRejection::BytesRejection(_) if status == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(ErrorCode::LimitExceeded, "The request body is larger than this route accepts.")
                .with_status(StatusCode::PAYLOAD_TOO_LARGE)
        }
        JsonRejection::BytesRejection(_) => ApiError::invalid_argument(text),
        // `JsonRejection` is non-exhaustive; a future variant is still a request that cannot be read.
        _ => ApiError::invalid_argument(text),
    }
}
