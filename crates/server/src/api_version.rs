//! The `api-version` query parameter that every ADT data-plane call carries: the supported versions, the middleware that rejects a missing or unknown one, and the `ApiVersion` extractor.
//!
//! Supported: 2020-10-31 (the first GA), 2021-06-30-preview, 2022-05-31, 2023-06-30 and 2023-10-31 (the current default); the other previews (2020-05-31-preview, 2023-02-27-preview) are not.
//! Every route in the data plane (see `router::app`) goes through `require`, so a handler only extracts `ApiVersion` when its answer depends on the version.
//! Operational routes (`/healthz`, `/metrics`) take no version.
//! What ADT answers for a missing or unknown version is not documented; this server answers 400 `MissingArgument` and 400 `InvalidArgument`, naming the supported versions.

use std::fmt;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The query parameter's name.
pub const API_VERSION_PARAMETER: &str = "api-version";

/// A supported ADT data-plane API version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiVersion {
    V2020_10_31,
    V2021_06_30Preview,
    V2022_05_31,
    V2023_06_30,
    V2023_10_31,
}

impl ApiVersion {
    /// Every supported version, oldest first.
    pub const ALL: [ApiVersion; 5] = [
        ApiVersion::V2020_10_31,
        ApiVersion::V2021_06_30Preview,
        ApiVersion::V2022_05_31,
        ApiVersion::V2023_06_30,
        ApiVersion::V2023_10_31,
    ];

    /// The newest supported version.
    pub const LATEST: ApiVersion = ApiVersion::V2023_10_31;

    /// The version as written in the query string.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V2020_10_31 => "2020-10-31",
            ApiVersion::V2021_06_30Preview => "2021-06-30-preview",
            ApiVersion::V2022_05_31 => "2022-05-31",
            ApiVersion::V2023_06_30 => "2023-06-30",
            ApiVersion::V2023_10_31 => "2023-10-31",
        }
    }

    /// The supported version spelled `text`, exactly.
    pub fn parse(text: &str) -> Option<ApiVersion> {
        ApiVersion::ALL.into_iter().find(|version| version.as_str() == text)
    }

    /// The version a request's query string asks for, or the error to answer with.
    pub fn from_query(query: Option<&str>) -> Result<ApiVersion, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or_default())
            .map_err(|err| ApiError::invalid_argument(format!("The query string cannot be read: {err}.")))?;
        let mut values = pairs.into_iter().filter(|(name, _)| name == API_VERSION_PARAMETER).map(|(_, value)| value);
        let Some(value) = values.next() else {
            return Err(ApiError::missing_argument(format!(
                "The {API_VERSION_PARAMETER} query parameter is required; supported versions: {}.",
                supported()
            )));
        };
        if values.any(|other| other != value) {
            return Err(ApiError::invalid_argument(format!(
                "The {API_VERSION_PARAMETER} query parameter is given more than once with different values."
            )));
        }
        ApiVersion::parse(&value).ok_or_else(|| {
            ApiError::invalid_argument(format!(
                "The {API_VERSION_PARAMETER} `{value}` is not supported; supported versions: {}.",
                supported()
            ))
        })
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads the version the `require` middleware stored, or the query string when the route is not behind it.
impl<S: Send + Sync> FromRequestParts<S> for ApiVersion {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<ApiVersion, ApiError> {
        match parts.extensions.get::<ApiVersion>() {
            Some(version) => Ok(*version),
            None => ApiVersion::from_query(parts.uri.query()),
        }
    }
}

/// Middleware of the data plane: rejects a request without a supported `api-version` before any handler or body extractor runs.
pub(crate) async fn require(mut request: Request, next: Next) -> Response {
    match ApiVersion::from_query(request.uri().query()) {
        Ok(version) => {
            request.extensions_mut().insert(version);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

fn supported() -> String {
    ApiVersion::ALL.map(ApiVersion::as_str).join(", ")
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn check(query: Option<&str>, expect: Expect) {
        let actual = match ApiVersion::from_query(query) {
            Ok(version) => format!("ok {version}"),
            Err(error) => error.to_string(),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn versions() {
        check(Some("api-version=2023-10-31"), expect!["ok 2023-10-31"]);
        check(Some("x=1&api-version=2021-06-30-preview"), expect!["ok 2021-06-30-preview"]);
        check(Some("api-version=2022-05-31&api-version=2022-05-31"), expect!["ok 2022-05-31"]);
        check(
            None,
            expect![
                "400 MissingArgument: The api-version query parameter is required; supported versions: 2020-10-31, 2021-06-30-preview, 2022-05-31, 2023-06-30, 2023-10-31."
            ],
        );
        check(
            Some("api-version=2020-05-31-preview"),
            expect![
                "400 InvalidArgument: The api-version `2020-05-31-preview` is not supported; supported versions: 2020-10-31, 2021-06-30-preview, 2022-05-31, 2023-06-30, 2023-10-31."
            ],
        );
        check(
            Some("api-version=2023-10-31&api-version=2020-10-31"),
            expect![
                "400 InvalidArgument: The api-version query parameter is given more than once with different values."
            ],
        );
    }
}
