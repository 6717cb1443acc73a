//! Conditional requests and ETags: `If-Match` and `If-None-Match` read into the graph's `Precondition`, and the `ETag` header of responses.
//!
//! As ADT: PUT accepts only `If-None-Match: *` (create only); PATCH and DELETE accept `If-Match` with an ETag or `*`.

use axum::http::HeaderMap;
use axum::http::header::{ETAG, IF_MATCH, IF_NONE_MATCH};
use graph::Precondition;
use graph::record::etag_text;

use crate::error::ApiError;

/// The precondition of a PUT: `If-None-Match: *` or none.
pub(crate) fn for_put(headers: &HeaderMap) -> Result<Precondition, ApiError> {
    if headers.contains_key(IF_MATCH) {
        return Err(ApiError::invalid_argument(
            "If-Match is not supported on PUT; use If-None-Match: * to create only.",
        ));
    }
    match headers.get(IF_NONE_MATCH) {
        None => Ok(Precondition::None),
        Some(v) if v.as_bytes() == b"*" => Ok(Precondition::IfNoneMatchAny),
        Some(_) => Err(ApiError::invalid_argument("If-None-Match supports only the value '*'.")),
    }
}

/// The precondition of a PATCH or DELETE: `If-Match: <etag>|*` or none.
pub(crate) fn for_change(headers: &HeaderMap) -> Result<Precondition, ApiError> {
    if headers.contains_key(IF_NONE_MATCH) {
        return Err(ApiError::invalid_argument("If-None-Match is supported only on PUT."));
    }
    match headers.get(IF_MATCH) {
        None => Ok(Precondition::None),
        Some(v) => {
            let invalid = || {
                ApiError::invalid_argument(
                    "Invalid If-Match header value. Allowed value(s): If-Match: {etag} or If-Match: *",
                )
            };
            let text = v.to_str().map_err(|_| invalid())?.trim();
            let quoted =
                |t: &str| t.len() >= 2 && t.starts_with('"') && t.ends_with('"') && !t[1..t.len() - 1].contains('"');
            let well_formed = text == "*" || quoted(text) || text.strip_prefix("W/").is_some_and(quoted);
            if !well_formed {
                return Err(invalid());
            }
            Ok(Precondition::IfMatch(text.to_owned()))
        }
    }
}

/// The `ETag` header of a version.
pub(crate) fn etag(version: u64) -> [(axum::http::HeaderName, String); 1] {
    [(ETAG, etag_text(version))]
}
