//! `MgmtError`, the error answer of the 2018 management face: a status and the body `{"error":{"code","message","target"?}}` of the 2018 API's `ErrorInformation`.
//!
//! The 2018 service's codes are dotted numbers led by the status (`400.600.000.000` is the one its documentation shows); the full inventory was never published, so this face sends `<status>.600.000.000` for every error of a status and puts what went wrong in `message`, and the member or parameter at fault in `target`.
//! The `x-ms-error-code` header repeats the code, as on the data plane (it also tells the framework's error net that the body is already in the API's format).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{ApiError, ERROR_CODE_HEADER};

/// An error of the management face.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MgmtError {
    status: StatusCode,
    message: String,
    target: Option<String>,
    /// Seconds to wait before retrying, sent as `Retry-After` (429, 503).
    retry_after_seconds: Option<u64>,
}

impl MgmtError {
    /// 400: the request is wrong; `message` says how.
    pub(crate) fn invalid(message: impl Into<String>) -> MgmtError {
        MgmtError { status: StatusCode::BAD_REQUEST, message: message.into(), target: None, retry_after_seconds: None }
    }

    /// 400 naming the member or parameter at fault.
    pub(crate) fn invalid_member(target: &str, message: impl Into<String>) -> MgmtError {
        MgmtError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            target: Some(target.to_owned()),
            retry_after_seconds: None,
        }
    }

    /// 429 with `Retry-After`: the server is saturated and did not take the request; the client should send it again after `retry_after_seconds`.
    pub(crate) fn busy(message: impl Into<String>, retry_after_seconds: u64) -> MgmtError {
        MgmtError {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: message.into(),
            target: None,
            retry_after_seconds: Some(retry_after_seconds),
        }
    }

    /// 404: an id in the route or the body names nothing.
    pub(crate) fn not_found(what: &str, id: &str) -> MgmtError {
        MgmtError {
            status: StatusCode::NOT_FOUND,
            message: format!("{what} '{id}' was not found"),
            target: None,
            retry_after_seconds: None,
        }
    }

    /// 404 for something a route looks up that is not there, with the whole message (`not_found` names an id).
    pub(crate) fn absent(message: impl Into<String>) -> MgmtError {
        MgmtError { status: StatusCode::NOT_FOUND, message: message.into(), target: None, retry_after_seconds: None }
    }

    /// 409: the request conflicts with what exists (a duplicate hardware id, a second resource of a type).
    pub(crate) fn conflict(message: impl Into<String>) -> MgmtError {
        MgmtError { status: StatusCode::CONFLICT, message: message.into(), target: None, retry_after_seconds: None }
    }

    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> String {
        format!("{}.600.000.000", self.status.as_u16())
    }
}

impl From<ApiError> for MgmtError {
    /// Store failures and the graph's refusals, in this face's format with their status and message.
    fn from(err: ApiError) -> MgmtError {
        MgmtError {
            status: err.status(),
            message: err.message().to_owned(),
            target: None,
            retry_after_seconds: err.retry_after_seconds(),
        }
    }
}

impl From<history::HistoryError> for MgmtError {
    /// A history read or write that failed, with the status the data plane gives it.
    fn from(err: history::HistoryError) -> MgmtError {
        MgmtError::from(ApiError::from(err))
    }
}

impl From<graph::GraphError> for MgmtError {
    /// The graph's refusals (a model validation failure, a containment cycle), with the status the data plane gives them.
    fn from(err: graph::GraphError) -> MgmtError {
        MgmtError::from(ApiError::from(err))
    }
}

impl From<spatial::navigate::NavigateError> for MgmtError {
    /// A refused tree parameter names the parameter; an unknown `spaceId` is a 404.
    fn from(err: spatial::navigate::NavigateError) -> MgmtError {
        use spatial::navigate::NavigateError;
        match err {
            NavigateError::InvalidInput { parameter, message } => MgmtError::invalid_member(parameter, message),
            NavigateError::SpaceNotFound { id } => MgmtError::not_found("space", &id),
            NavigateError::TooMany { .. } => MgmtError::invalid(err.to_string()),
        }
    }
}

impl From<spatial::odata::ODataError> for MgmtError {
    /// A refused OData option, naming the option.
    fn from(err: spatial::odata::ODataError) -> MgmtError {
        use spatial::odata::ODataError;
        let option = match &err {
            ODataError::NotSupported { option }
            | ODataError::Syntax { option, .. }
            | ODataError::InvalidInput { option, .. }
            | ODataError::TextTooLong { option, .. } => *option,
            ODataError::NestingTooDeep { .. } => "$filter",
        };
        MgmtError::invalid_member(option, err.to_string())
    }
}

impl From<spatial::state::StateError> for MgmtError {
    fn from(err: spatial::state::StateError) -> MgmtError {
        use spatial::state::StateError;
        match &err {
            StateError::InvalidInput(_) => MgmtError::invalid(err.to_string()),
            StateError::NotFound { .. } => MgmtError {
                status: StatusCode::NOT_FOUND,
                message: err.to_string(),
                target: None,
                retry_after_seconds: None,
            },
            StateError::Conflict(_) => MgmtError::conflict(err.to_string()),
        }
    }
}

impl IntoResponse for MgmtError {
    fn into_response(self) -> Response {
        let code = self.code();
        let mut error = json!({ "code": code, "message": self.message });
        if let Some(target) = self.target {
            error["target"] = json!(target);
        }
        let mut response = (self.status, axum::Json(json!({ "error": error }))).into_response();
        if let Ok(value) = HeaderValue::from_str(&code) {
            response.headers_mut().insert(ERROR_CODE_HEADER, value);
        }
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = self.retry_after_seconds {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
