//! `ApiError`, the error response of the HTTP face in the ADT data-plane format: a status, the body `{"error":{"code","message","details"}}` and the `x-ms-error-code` header.
//!
//! `ErrorCode` lists every code of the ADT 2023-10-31 specification plus the few this server adds for framework-level rejections (`NotFound`, `MethodNotAllowed`, `UnsupportedMediaType`, `RequestTimeout`, `InternalServerError`, `ServiceUnavailable`), each with its usual status.
//! Turning library errors (`graph`, `store`, …) into `ApiError` is not done here; each belongs next to the routes that call the library, in one exhaustive `match` (STYLE.md §2).

use std::fmt;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The response header that repeats the error code, as ADT sends it.
pub const ERROR_CODE_HEADER: HeaderName = HeaderName::from_static("x-ms-error-code");

/// An error answer of the HTTP face.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    message: String,
    details: Vec<ErrorDetail>,
    /// Seconds a client should wait before retrying, sent as `Retry-After` (429 and 503).
    retry_after_seconds: Option<u64>,
}

/// One entry of `details`: a finer-grained error, for example one per invalid model of an upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// The codes of ADT's error inventory, and the framework-level codes this server adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    // ADT data plane, from the 2023-10-31 specification.
    BadRequest,
    ComponentNotFound,
    DeleteJobNotFound,
    DigitalTwinNotFound,
    DtdlParserError,
    EventRouteEndpointInvalid,
    EventRouteFilterInvalid,
    EventRouteIdInvalid,
    EventRouteNotFound,
    ImportJobNotFound,
    InvalidArgument,
    InvalidRelationship,
    JobLimitReached,
    JsonPatchInvalid,
    LimitExceeded,
    MissingArgument,
    ModelAlreadyExists,
    ModelDecommissioned,
    /// What the service answers when an uploaded model id exists already (the specification names `ModelAlreadyExists`; the service sends this).
    ModelIdAlreadyExists,
    ModelNotFound,
    ModelReferencesNotDecommissioned,
    ModelReferencesNotDeleted,
    ModelVersionNotSupported,
    OperationNotAllowed,
    PreconditionFailed,
    QuotaReachedError,
    RelationshipAlreadyExists,
    RelationshipNotFound,
    RelationshipsNotDeleted,
    SqlQueryError,
    /// What the service answers for a relationship to a missing twin (the specification names `TargetTwinNotFound`; the service sends this).
    TargetDigitalTwinNotFound,
    TargetTwinNotFound,
    TimeoutError,
    TwinLimitReached,
    ValidationFailed,
    // Framework level; the ADT specification names no code for these cases.
    /// No route has this path.
    NotFound,
    /// The path exists but not with this method; the response carries `Allow`.
    MethodNotAllowed,
    /// The body's `Content-Type` is not one the route reads.
    UnsupportedMediaType,
    RequestTimeout,
    InternalServerError,
    ServiceUnavailable,
}

impl ErrorCode {
    /// The code as sent in the body and in `x-ms-error-code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "BadRequest",
            ErrorCode::ComponentNotFound => "ComponentNotFound",
            ErrorCode::DeleteJobNotFound => "DeleteJobNotFound",
            ErrorCode::DigitalTwinNotFound => "DigitalTwinNotFound",
            ErrorCode::DtdlParserError => "DTDLParserError",
            ErrorCode::EventRouteEndpointInvalid => "EventRouteEndpointInvalid",
            ErrorCode::EventRouteFilterInvalid => "EventRouteFilterInvalid",
            ErrorCode::EventRouteIdInvalid => "EventRouteIdInvalid",
            ErrorCode::EventRouteNotFound => "EventRouteNotFound",
            ErrorCode::ImportJobNotFound => "ImportJobNotFound",
            ErrorCode::InvalidArgument => "InvalidArgument",
            ErrorCode::InvalidRelationship => "InvalidRelationship",
            ErrorCode::JobLimitReached => "JobLimitReached",
            ErrorCode::JsonPatchInvalid => "JsonPatchInvalid",
            ErrorCode::LimitExceeded => "LimitExceeded",
            ErrorCode::MissingArgument => "MissingArgument",
            ErrorCode::ModelAlreadyExists => "ModelAlreadyExists",
            ErrorCode::ModelDecommissioned => "ModelDecommissioned",
            ErrorCode::ModelIdAlreadyExists => "ModelIdAlreadyExists",
            ErrorCode::ModelNotFound => "ModelNotFound",
            ErrorCode::ModelReferencesNotDecommissioned => "ModelReferencesNotDecommissioned",
            ErrorCode::ModelReferencesNotDeleted => "ModelReferencesNotDeleted",
            ErrorCode::ModelVersionNotSupported => "ModelVersionNotSupported",
            ErrorCode::OperationNotAllowed => "OperationNotAllowed",
            ErrorCode::PreconditionFailed => "PreconditionFailed",
            ErrorCode::QuotaReachedError => "QuotaReachedError",
            ErrorCode::RelationshipAlreadyExists => "RelationshipAlreadyExists",
            ErrorCode::RelationshipNotFound => "RelationshipNotFound",
            ErrorCode::RelationshipsNotDeleted => "RelationshipsNotDeleted",
            ErrorCode::SqlQueryError => "SqlQueryError",
            ErrorCode::TargetDigitalTwinNotFound => "TargetDigitalTwinNotFound",
            ErrorCode::TargetTwinNotFound => "TargetTwinNotFound",
            ErrorCode::TimeoutError => "TimeoutError",
            ErrorCode::TwinLimitReached => "TwinLimitReached",
            ErrorCode::ValidationFailed => "ValidationFailed",
            ErrorCode::NotFound => "NotFound",
            ErrorCode::MethodNotAllowed => "MethodNotAllowed",
            ErrorCode::UnsupportedMediaType => "UnsupportedMediaType",
            ErrorCode::RequestTimeout => "RequestTimeout",
            ErrorCode::InternalServerError => "InternalServerError",
            ErrorCode::ServiceUnavailable => "ServiceUnavailable",
        }
    }

    /// The status ADT's specification lists the code under; `ApiError::with_status` overrides it where a case differs.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest
            | ErrorCode::DtdlParserError
            | ErrorCode::EventRouteEndpointInvalid
            | ErrorCode::EventRouteFilterInvalid
            | ErrorCode::EventRouteIdInvalid
            | ErrorCode::InvalidArgument
            | ErrorCode::InvalidRelationship
            | ErrorCode::JobLimitReached
            | ErrorCode::JsonPatchInvalid
            | ErrorCode::LimitExceeded
            | ErrorCode::MissingArgument
            | ErrorCode::ModelDecommissioned
            | ErrorCode::ModelVersionNotSupported
            | ErrorCode::OperationNotAllowed
            | ErrorCode::RelationshipsNotDeleted
            | ErrorCode::SqlQueryError
            | ErrorCode::TimeoutError
            | ErrorCode::TwinLimitReached
            | ErrorCode::ValidationFailed => StatusCode::BAD_REQUEST,
            ErrorCode::ComponentNotFound
            | ErrorCode::DeleteJobNotFound
            | ErrorCode::DigitalTwinNotFound
            | ErrorCode::EventRouteNotFound
            | ErrorCode::ImportJobNotFound
            | ErrorCode::ModelNotFound
            | ErrorCode::RelationshipNotFound
            | ErrorCode::TargetTwinNotFound
            | ErrorCode::TargetDigitalTwinNotFound
            | ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::ModelAlreadyExists
            | ErrorCode::ModelIdAlreadyExists
            | ErrorCode::ModelReferencesNotDecommissioned
            | ErrorCode::ModelReferencesNotDeleted
            | ErrorCode::RelationshipAlreadyExists => StatusCode::CONFLICT,
            ErrorCode::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ErrorCode::QuotaReachedError => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ErrorCode::InternalServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ApiError {
    /// An error with `code`'s usual status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status: code.status(),
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after_seconds: None,
        }
    }

    /// `BadRequest`: a request ADT would reject without a finer code, such as an invalid continuation token.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::BadRequest, message)
    }

    /// `InvalidArgument`: a parameter, header or body that cannot be read (malformed JSON, a bad id, an unsupported `api-version`).
    pub fn invalid_argument(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InvalidArgument, message)
    }

    /// `MissingArgument`: a required parameter, header or body is absent.
    pub fn missing_argument(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::MissingArgument, message)
    }

    /// `ValidationFailed`: well-formed input that breaks its model.
    pub fn validation_failed(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::ValidationFailed, message)
    }

    /// `JsonPatchInvalid`: a JSON Patch that is malformed or cannot apply.
    pub fn json_patch_invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::JsonPatchInvalid, message)
    }

    /// `LimitExceeded` with 400, for counted limits (ids in `dependenciesFor`, routes, models).
    pub fn limit_exceeded(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::LimitExceeded, message)
    }

    /// `LimitExceeded` with 413, for a request body over `limit_bytes`.
    pub fn payload_too_large(limit_bytes: usize) -> ApiError {
        ApiError::new(
            ErrorCode::LimitExceeded,
            format!("The request body is larger than the limit of {limit_bytes} bytes."),
        )
        .with_status(StatusCode::PAYLOAD_TOO_LARGE)
    }

    /// `PreconditionFailed`: `If-Match` or `If-None-Match` did not hold.
    pub fn precondition_failed(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::PreconditionFailed, message)
    }

    /// `QuotaReachedError` with 429 and `Retry-After`: back-pressure, the request was not applied.
    pub fn quota_reached(message: impl Into<String>, retry_after: Duration) -> ApiError {
        let mut error = ApiError::new(ErrorCode::QuotaReachedError, message);
        // Round up, so a client never retries before the server is ready for it.
        error.retry_after_seconds = Some(retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0));
        error
    }

    /// Seconds a client should wait before retrying (`Retry-After`), when the error says.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        self.retry_after_seconds
    }

    /// `NotFound`: no route has this path.
    pub fn route_not_found(method: &str, path: &str) -> ApiError {
        ApiError::new(ErrorCode::NotFound, format!("No route for {method} {path}."))
    }

    /// `InternalServerError`: a bug or an unexpected failure; logged here at ERROR with its source chain, answered without the details.
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> ApiError {
        let mut chain = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        tracing::error!(error = %chain, "internal error");
        ApiError::new(ErrorCode::InternalServerError, "The server failed to handle the request; the failure is logged.")
    }

    /// The same error with another status, for a code used outside its usual case.
    pub fn with_status(mut self, status: StatusCode) -> ApiError {
        self.status = status;
        self
    }

    /// The same error with one more entry in `details`.
    pub fn with_detail(mut self, code: impl Into<String>, message: impl Into<String>) -> ApiError {
        self.details.push(ErrorDetail { code: code.into(), message: message.into() });
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ApiError { status, code, message, details, retry_after_seconds } = self;
        let body = ErrorBody { error: ErrorPayload { code: code.as_str(), message: &message, details: &details } };
        let body = serde_json::to_vec(&body).expect("an error body serializes: strings and a list of strings");
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
        headers.insert(ERROR_CODE_HEADER, HeaderValue::from_static(code.as_str()));
        if let Some(seconds) = retry_after_seconds {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The wire form: `{"error":{"code":…,"message":…,"details":[…]}}`.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorPayload<'a>,
}

#[derive(Serialize)]
struct ErrorPayload<'a> {
    code: &'static str,
    message: &'a str,
    details: &'a [ErrorDetail],
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    /// Renders `error` as a response and prints status, the headers this module sets, and the body.
    fn check(error: ApiError, expect: Expect) {
        let response = error.into_response();
        let header = |name: &str| response.headers().get(name).map(|v| v.to_str().expect("ASCII").to_owned());
        let head = format!(
            "{} x-ms-error-code={:?} content-type={:?} retry-after={:?}",
            response.status(),
            header("x-ms-error-code"),
            header("content-type"),
            header("retry-after")
        );
        let body = body_text(response);
        expect.assert_eq(&format!("{head}\n{body}"));
    }

    fn body_text(response: Response) -> String {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
        let bytes =
            runtime.block_on(axum::body::to_bytes(response.into_body(), usize::MAX)).expect("an in-memory body reads");
        String::from_utf8(bytes.to_vec()).expect("UTF-8")
    }

    #[test]
    fn wire_format() {
        check(
            ApiError::validation_failed("Property `temp` is not in the model.").with_detail("ValidationFailed", "temp"),
            expect![[r#"
                400 Bad Request x-ms-error-code=Some("ValidationFailed") content-type=Some("application/json; charset=utf-8") retry-after=None
                {"error":{"code":"ValidationFailed","message":"Property `temp` is not in the model.","details":[{"code":"ValidationFailed","message":"temp"}]}}"#]],
        );
        check(
            ApiError::payload_too_large(32768),
            expect![[r#"
                413 Payload Too Large x-ms-error-code=Some("LimitExceeded") content-type=Some("application/json; charset=utf-8") retry-after=None
                {"error":{"code":"LimitExceeded","message":"The request body is larger than the limit of 32768 bytes.","details":[]}}"#]],
        );
        check(
            ApiError::quota_reached("Too many requests.", Duration::from_millis(1500)),
            expect![[r#"
                429 Too Many Requests x-ms-error-code=Some("QuotaReachedError") content-type=Some("application/json; charset=utf-8") retry-after=Some("2")
                {"error":{"code":"QuotaReachedError","message":"Too many requests.","details":[]}}"#]],
        );
    }
}
