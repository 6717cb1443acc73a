//! Paging of the data plane: the `max-items-per-page` header, the opaque continuation token, `nextLink` URLs, and the two page shapes, `Page` for lists and `QueryPage` for `/query`.
//!
//! A list answers `{"value":[…],"nextLink":"…"}` and the client GETs `nextLink` for the next page; `/query` answers `{"value":[…],"continuationToken":"…"}` and the client POSTs the token back.
//! Both end with JSON `null` on the last page (ADT's documentation shows the string `"null"` in one example; clients accept `null`).
//! What a token's position means (a twin id, a store key) is the route's business; this module only carries it.
//! Tokens are not signed: a checksum catches corrupted or truncated tokens, and a forged one can only move the cursor within what the caller may read anyway.

use std::num::NonZeroU32;

use axum::extract::FromRequestParts;
use axum::http::header::HOST;
use axum::http::request::Parts;
use axum::http::uri::Authority;
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::api_version::{API_VERSION_PARAMETER, ApiVersion};
use crate::error::ApiError;
use crate::router::AppState;

/// The request header with which a client asks for smaller pages.
pub const MAX_ITEMS_PER_PAGE_HEADER: HeaderName = HeaderName::from_static("max-items-per-page");

/// The query parameter that carries a continuation token in a `nextLink`.
pub const CONTINUATION_TOKEN_PARAMETER: &str = "continuationToken";

/// The longest token accepted, in characters; a real token is far shorter.
pub const CONTINUATION_TOKEN_CHARS_MAX: usize = 4096;

/// The `max-items-per-page` header: absent, or a positive integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxItemsPerPage(pub Option<NonZeroU32>);

impl MaxItemsPerPage {
    /// Reads the header's value; `None` when the header is absent.
    pub fn parse(value: Option<&HeaderValue>) -> Result<MaxItemsPerPage, ApiError> {
        let Some(value) = value else { return Ok(MaxItemsPerPage(None)) };
        let invalid = || {
            ApiError::invalid_argument(format!(
                "The {MAX_ITEMS_PER_PAGE_HEADER} header must be a positive integer, not `{}`.",
                String::from_utf8_lossy(value.as_bytes())
            ))
        };
        let text = value.to_str().map_err(|_| invalid())?.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        // Any positive number is a valid request; the server may return fewer items, so huge values are capped, not rejected.
        let items = text.parse::<u64>().map_or(u32::MAX, |n| u32::try_from(n).unwrap_or(u32::MAX));
        NonZeroU32::new(items).map(|items| MaxItemsPerPage(Some(items))).ok_or_else(invalid)
    }

    /// The page size to serve: the header if given, else the size the token carries from the first page, else `limit`; never above `limit`.
    pub fn page_size(self, token: Option<&ContinuationToken>, limit: NonZeroU32) -> NonZeroU32 {
        let requested = self.0.or(token.map(|token| token.page_size)).unwrap_or(limit);
        requested.min(limit)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for MaxItemsPerPage {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<MaxItemsPerPage, ApiError> {
        MaxItemsPerPage::parse(parts.headers.get(MAX_ITEMS_PER_PAGE_HEADER))
    }
}

/// Where the next page starts, handed to clients as an opaque string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContinuationToken {
    /// The route's cursor: typically the key of the last item served, so the next page starts after it.
    pub position: Vec<u8>,
    /// The page size of the first page, kept so a client following `nextLink` without the header gets the same size.
    pub page_size: NonZeroU32,
}

/// The first byte of every token; a new layout takes a new number so old tokens are rejected rather than misread.
const TOKEN_LAYOUT: u8 = 1;

impl ContinuationToken {
    /// The token as URL-safe base64 (no padding) of: layout byte, page size (u32 big-endian), position, FNV-1a 32 checksum of the preceding bytes (big-endian).
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(1 + 4 + self.position.len() + 4);
        bytes.push(TOKEN_LAYOUT);
        bytes.extend_from_slice(&self.page_size.get().to_be_bytes());
        bytes.extend_from_slice(&self.position);
        let checksum = fnv1a32(&bytes);
        bytes.extend_from_slice(&checksum.to_be_bytes());
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The token `text` encodes, or 400 `BadRequest` (ADT's code for a bad continuation token).
    pub fn decode(text: &str) -> Result<ContinuationToken, ApiError> {
        let invalid = |why: &str| ApiError::bad_request(format!("The continuation token is not valid: {why}."));
        if text.len() > CONTINUATION_TOKEN_CHARS_MAX {
            return Err(invalid("too long"));
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid("not URL-safe base64"))?;
        let Some((body, checksum)) = bytes.split_last_chunk::<4>() else { return Err(invalid("truncated")) };
        if body.len() < 5 || fnv1a32(body) != u32::from_be_bytes(*checksum) {
            return Err(invalid("corrupted"));
        }
        let (header, position) = body.split_at(5);
        if header[0] != TOKEN_LAYOUT {
            return Err(invalid("from another server version"));
        }
        let page_size = u32::from_be_bytes([header[1], header[2], header[3], header[4]]);
        let page_size = NonZeroU32::new(page_size).ok_or_else(|| invalid("corrupted"))?;
        Ok(ContinuationToken { position: position.to_vec(), page_size })
    }
}

/// The `scheme://host[:port]` the client used to reach the server, for absolute `nextLink`s: the scheme the server listens with, the request's `Host` (or HTTP/2 `:authority`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl(pub String);

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<BaseUrl, ApiError> {
        let authority = match parts.headers.get(HOST) {
            Some(host) => host.to_str().ok().and_then(|host| host.parse::<Authority>().ok()),
            None => parts.uri.authority().cloned(),
        };
        // A parsed authority cannot smuggle a path or query into the link.
        let authority =
            authority.ok_or_else(|| ApiError::invalid_argument("The Host header is missing or invalid."))?;
        Ok(BaseUrl(format!("{}://{authority}", state.scheme)))
    }
}

/// The `nextLink` of a list page: `{base}{path}?api-version=…&{params}&continuationToken=…`, values percent-encoded.
///
/// `params` are the request's own query parameters that shape the list (`includeModelDefinition`, `relationshipName`, …), so the next page is the same list.
/// The page size travels inside the token.
pub fn next_link(
    base: &BaseUrl,
    path: &str,
    api_version: ApiVersion,
    params: &[(&str, &str)],
    token: &ContinuationToken,
) -> String {
    let token = token.encode();
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(params.len() + 2);
    pairs.push((API_VERSION_PARAMETER, api_version.as_str()));
    pairs.extend(
        params.iter().filter(|(name, _)| ![API_VERSION_PARAMETER, CONTINUATION_TOKEN_PARAMETER].contains(name)),
    );
    pairs.push((CONTINUATION_TOKEN_PARAMETER, &token));
    let query = serde_urlencoded::to_string(&pairs).expect("string pairs encode");
    format!("{}{path}?{query}", base.0)
}

/// One page of a list: `{"value":[…],"nextLink":"…"|null}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    pub value: Vec<T>,
    #[serde(rename = "nextLink")]
    pub next_link: Option<String>,
}

/// One page of query results: `{"value":[…],"continuationToken":"…"|null}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueryPage<T> {
    pub value: Vec<T>,
    #[serde(rename = "continuationToken")]
    pub continuation_token: Option<String>,
}

impl<T: Serialize> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        axum::Json(self).into_response()
    }
}

impl<T: Serialize> IntoResponse for QueryPage<T> {
    fn into_response(self) -> Response {
        axum::Json(self).into_response()
    }
}

/// FNV-1a, 32 bits: a checksum against accidental damage, not an authenticator.
fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, byte| (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193))
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn size(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).expect("a positive test size")
    }

    fn check_header(value: Option<&str>, expect: Expect) {
        let value = value.map(|v| HeaderValue::from_str(v).expect("a test header value"));
        let actual = match MaxItemsPerPage::parse(value.as_ref()) {
            Ok(MaxItemsPerPage(items)) => format!("ok {items:?}"),
            Err(error) => error.to_string(),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn max_items_per_page_header() {
        check_header(None, expect!["ok None"]);
        check_header(Some("25"), expect!["ok Some(25)"]);
        check_header(Some(" 7 "), expect!["ok Some(7)"]);
        check_header(Some("99999999999999999999"), expect!["ok Some(4294967295)"]);
        check_header(
            Some("0"),
            expect!["400 InvalidArgument: The max-items-per-page header must be a positive integer, not `0`."],
        );
        check_header(
            Some("-5"),
            expect!["400 InvalidArgument: The max-items-per-page header must be a positive integer, not `-5`."],
        );
        check_header(
            Some("+5"),
            expect!["400 InvalidArgument: The max-items-per-page header must be a positive integer, not `+5`."],
        );
        check_header(
            Some("ten"),
            expect!["400 InvalidArgument: The max-items-per-page header must be a positive integer, not `ten`."],
        );
        check_header(
            Some(""),
            expect!["400 InvalidArgument: The max-items-per-page header must be a positive integer, not ``."],
        );
    }

    #[test]
    fn page_size_prefers_header_then_token_then_limit() {
        let token = ContinuationToken { position: Vec::new(), page_size: size(30) };
        let limit = size(100);
        assert_eq!(MaxItemsPerPage(Some(size(10))).page_size(Some(&token), limit), size(10));
        assert_eq!(MaxItemsPerPage(None).page_size(Some(&token), limit), size(30));
        assert_eq!(MaxItemsPerPage(None).page_size(None, limit), size(100));
        assert_eq!(MaxItemsPerPage(Some(size(5000))).page_size(None, limit), size(100));
    }

    fn check_decode(text: &str, expect: Expect) {
        let actual = match ContinuationToken::decode(text) {
            Ok(token) => format!("ok {:?} {}", String::from_utf8_lossy(&token.position), token.page_size),
            Err(error) => error.to_string(),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn continuation_token_round_trip_and_tampering() {
        let token = ContinuationToken { position: b"room-201".to_vec(), page_size: size(50) };
        let text = token.encode();
        expect!["AQAAADJyb29tLTIwMVl2UvU"].assert_eq(&text);
        assert_eq!(ContinuationToken::decode(&text), Ok(token));
        check_decode(&text, expect![[r#"ok "room-201" 50"#]]);

        // One character changed in the position.
        check_decode(
            &text.replacen("yb29t", "yb29u", 1),
            expect!["400 BadRequest: The continuation token is not valid: corrupted."],
        );
        check_decode(
            &text[..text.len() - 3],
            expect!["400 BadRequest: The continuation token is not valid: corrupted."],
        );
        check_decode("AQ", expect!["400 BadRequest: The continuation token is not valid: truncated."]);
        check_decode(
            "not base64!",
            expect!["400 BadRequest: The continuation token is not valid: not URL-safe base64."],
        );
        check_decode("null", expect!["400 BadRequest: The continuation token is not valid: truncated."]);
        check_decode(&"A".repeat(5000), expect!["400 BadRequest: The continuation token is not valid: too long."]);
        let empty = ContinuationToken { position: Vec::new(), page_size: size(1) };
        check_decode(&empty.encode(), expect![[r#"ok "" 1"#]]);
    }

    #[test]
    fn next_link_carries_version_parameters_and_token() {
        let token = ContinuationToken { position: b"dtmi:example:Room;1".to_vec(), page_size: size(10) };
        let link = next_link(
            &BaseUrl("https://twins.example:8443".to_owned()),
            "/models",
            ApiVersion::V2023_10_31,
            &[
                ("dependenciesFor", "dtmi:example:Room;1"),
                ("api-version", "ignored"),
                ("includeModelDefinition", "true"),
            ],
            &token,
        );
        expect!["https://twins.example:8443/models?api-version=2023-10-31&dependenciesFor=dtmi%3Aexample%3ARoom%3B1&includeModelDefinition=true&continuationToken=AQAAAApkdG1pOmV4YW1wbGU6Um9vbTsxe-ym1Q"].assert_eq(&link);
    }

    #[test]
    fn page_shapes() {
        let page = Page { value: vec![1, 2], next_link: Some("https://h/models?x".to_owned()) };
        expect![[r#"{"value":[1,2],"nextLink":"https://h/models?x"}"#]]
            .assert_eq(&serde_json::to_string(&page).expect("serializes"));
        let last: Page<u8> = Page { value: vec![], next_link: None };
        expect![[r#"{"value":[],"nextLink":null}"#]].assert_eq(&serde_json::to_string(&last).expect("serializes"));
        let query = QueryPage { value: vec![serde_json::json!({"$dtId": "a"})], continuation_token: None };
        expect![[r#"{"value":[{"$dtId":"a"}],"continuationToken":null}"#]]
            .assert_eq(&serde_json::to_string(&query).expect("serializes"));
    }
}
