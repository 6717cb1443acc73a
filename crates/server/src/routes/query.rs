//! `POST /query`: ADT's query API over the tenant's graph, with its body `{"query"}` or `{"continuationToken"}` and its pages `{"value":[…],"continuationToken":…|null}` with a `query-charge` header.
//!
//! The first request parses the query, runs it once under the tenant's read lock, answers the first page and keeps the rest in `Cursors`.
//! A query first runs on the request's own thread, for at most `query.inline_time_max_us`: most queries take microseconds, less than handing them to another thread costs.
//! One that needs longer stops there and runs again from the start on a blocking thread, within `query.time_max_ms`; either run sees every write answered before the request.
//! A continuation token names the kept rows and the row its page starts at, so every page comes from the graph state the query ran on, whatever was written since; writes answered before the query started are all in it.
//! Rows are the engine's JSON text, written into the response as they are, never parsed again.
//! Errors, as ADT answers them where it documents a case: a syntax error or a query the engine refuses is 400 `SqlQueryError`; a run over the time budget is 400 `TimeoutError`, over another budget 400 `LimitExceeded`, each naming the setting that raises it; an unknown or expired token is 400 `BadRequest`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use query::{Answer, QueryError, Row};
use query_syntax::{Query, SyntaxError};
use serde::Deserialize;
use store::TenantId;

use crate::config::QueryConfig;
use crate::cursors::{CursorId, TooLarge};
use crate::data::TenantState;
use crate::error::{ApiError, ErrorCode};
use crate::extract::Json;
use crate::paging::{ContinuationToken, MaxItemsPerPage};
use crate::router::AppState;

/// The response header with the query units a page cost, as ADT sends it.
const QUERY_CHARGE_HEADER: HeaderName = HeaderName::from_static("query-charge");

/// The engine's code for a run over `Limits::time_max` (stable, like every released code).
const TIME_EXCEEDED: &str = "Q0402";

/// Queries run, by where they ran to the end: on the request's thread (`inline`) or on a blocking thread (`blocking`: after
/// an inline run ran out of its time, or every query when inline runs are off).
const RUNS_TOTAL: &str = "twinscape_query_runs_total";

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/query", post(run_query))
}

/// How queries run: the engine's settings, and the same settings with the shorter time of a run on the request's thread.
pub(crate) struct Queries {
    /// The parser's bounds on the query text.
    syntax: query_syntax::Limits,
    /// What a query may use (`Config::query`).
    settings: query::Settings,
    /// `settings` with `time_max` cut to `QueryConfig::inline_time_max`; `None` when every query runs on a blocking thread.
    inline: Option<query::Settings>,
}

impl Queries {
    pub(crate) fn new(config: &QueryConfig) -> Queries {
        let settings = config.settings();
        let inline = (!config.inline_time_max.is_zero()).then(|| {
            let mut inline = settings.clone();
            inline.limits.time_max = inline.limits.time_max.min(config.inline_time_max);
            inline
        });
        Queries { syntax: config.syntax_limits(), settings, inline }
    }

    /// Runs `query` on this thread within the inline time; `None` when it must run on a blocking thread instead,
    /// because inline runs are off or it ran out of the inline time (when that is shorter than the whole budget).
    fn run_inline(&self, tenant: &TenantState, query: &Query) -> Option<Result<Answer, QueryError>> {
        let inline = self.inline.as_ref()?;
        let answer = tenant.read(|graph| query::run(graph, query, inline));
        match &answer {
            Err(QueryError::LimitExceeded { code, .. })
                if *code == TIME_EXCEEDED && inline.limits.time_max < self.settings.limits.time_max =>
            {
                None
            }
            _ => Some(answer),
        }
    }
}

/// ADT's `QuerySpecification`: the query is ignored when a continuation token is given.
#[derive(Debug, Deserialize)]
struct QuerySpecification {
    query: Option<String>,
    #[serde(rename = "continuationToken")]
    continuation_token: Option<String>,
}

async fn run_query(
    State(state): State<AppState>,
    max: MaxItemsPerPage,
    Json(spec): Json<QuerySpecification>,
) -> Result<Response, ApiError> {
    let tenant = state.data.tenant();
    let limit = state.limits.query_page_items_max;
    if let Some(token) = spec.continuation_token.as_deref().filter(|token| !token.is_empty()) {
        return next_page(&state, &tenant.id, token, max, limit);
    }
    let text = spec.query.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(ApiError::bad_request(
            "The request body needs a non-empty `query`, or the `continuationToken` of an earlier page.",
        ));
    }
    let parsed = query_syntax::parse(&text, &state.queries.syntax).map_err(syntax_error)?;
    let inline = state.queries.run_inline(&tenant, &parsed);
    let thread = if inline.is_some() { "inline" } else { "blocking" };
    state.metrics.record(|| metrics::counter!(RUNS_TOTAL, "thread" => thread).increment(1));
    let answer = match inline {
        Some(answer) => answer.map_err(engine_error)?,
        None => {
            let queries = Arc::clone(&state.queries);
            let reader = Arc::clone(&tenant);
            let span = tracing::Span::current();
            let ran = tokio::task::spawn_blocking(move || {
                span.in_scope(|| reader.read(|graph| query::run(graph, &parsed, &queries.settings)))
            })
            .await;
            match ran {
                Ok(answer) => answer.map_err(engine_error)?,
                // The panic reaches the router's panic layer, which logs it and answers 500 as for any handler.
                Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
                Err(join) => return Err(ApiError::internal(&join)),
            }
        }
    };
    let charge = answer.charge();
    let size = max.page_size(None, limit);
    let mut rows = answer.rows;
    let token = if rows.len() > size.get() as usize {
        let rest = rows.split_off(size.get() as usize);
        let id = state.cursors.keep(&tenant.id, rest, Instant::now()).map_err(too_large)?;
        Some(encode_token(id, 0, size))
    } else {
        None
    };
    Ok(page(&rows, token, charge))
}

/// The page a continuation token asks for, from the rows its query kept.
fn next_page(
    state: &AppState,
    tenant: &TenantId,
    text: &str,
    max: MaxItemsPerPage,
    limit: NonZeroU32,
) -> Result<Response, ApiError> {
    let token = ContinuationToken::decode(text)?;
    let (id, start) = cursor_position(&token.position)
        .ok_or_else(|| ApiError::bad_request("The continuation token is not valid: it is not a query's token."))?;
    let size = max.page_size(Some(&token), limit);
    let served = state
        .cursors
        .page(tenant, id, start, size.get() as usize, Instant::now())
        .ok_or_else(|| expired(state.cursors.idle()))?;
    let rows = served.rows();
    // The query's work was charged with its first page; a later page costs what serving its rows costs.
    let charge = Answer { rows: Vec::new(), work: rows.len() as u64 }.charge();
    Ok(page(rows, served.next().map(|next| encode_token(id, next, size)), charge))
}

/// A token for the kept rows `id` from row `start` on: the position is the cursor id and the row, both big-endian.
fn encode_token(id: CursorId, start: usize, page_size: NonZeroU32) -> String {
    let mut position = Vec::with_capacity(24);
    position.extend_from_slice(&id.to_be_bytes());
    position.extend_from_slice(&(start as u64).to_be_bytes());
    ContinuationToken { position, page_size }.encode()
}

fn cursor_position(position: &[u8]) -> Option<(CursorId, usize)> {
    let (id, start) = position.split_first_chunk::<16>()?;
    let start: [u8; 8] = start.try_into().ok()?;
    Some((CursorId::from_be_bytes(*id), usize::try_from(u64::from_be_bytes(start)).ok()?))
}

/// `{"value":[…],"continuationToken":…}` made of the rows' own text, with `query-charge`.
fn page(rows: &[Row], token: Option<String>, charge: f64) -> Response {
    let text_bytes: usize = rows.iter().map(|row| row.get().len() + 1).sum();
    let mut body = Vec::with_capacity(text_bytes + 64 + token.as_ref().map_or(0, String::len));
    body.extend_from_slice(b"{\"value\":[");
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(row.get().as_bytes());
    }
    body.extend_from_slice(b"],\"continuationToken\":");
    match token {
        // Tokens are URL-safe base64, which needs no escaping in a JSON string.
        Some(token) => {
            body.push(b'"');
            body.extend_from_slice(token.as_bytes());
            body.push(b'"');
        }
        None => body.extend_from_slice(b"null"),
    }
    body.push(b'}');
    let charge = HeaderValue::from_str(&format!("{charge:.2}")).expect("a formatted number is a valid header value");
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json")), (QUERY_CHARGE_HEADER, charge)], body)
        .into_response()
}

/// A query that does not parse: ADT's `SqlQueryError`, with the line, column and code of the fault.
fn syntax_error(error: SyntaxError) -> ApiError {
    ApiError::new(
        ErrorCode::SqlQueryError,
        format!("SQL query parse failed: {error} ({}).{}", error.code, setting_hint(error.code)),
    )
}

/// The sentence that names the setting behind a budget's error code, or nothing.
fn setting_hint(code: &str) -> String {
    match setting_of(code) {
        Some(key) => format!(
            " The limit is the setting `{key}` (environment variable TWINSCAPE__{}).",
            key.replace('.', "__").to_ascii_uppercase()
        ),
        None => String::new(),
    }
}

/// Every engine refusal as its ADT code; one exhaustive match, so a new variant forces a decision here.
fn engine_error(error: QueryError) -> ApiError {
    let hint = setting_hint(error.code());
    match &error {
        QueryError::InvalidInput { code, message } => {
            ApiError::new(ErrorCode::SqlQueryError, format!("{} ({code}).{hint}", sentence(message)))
        }
        QueryError::LimitExceeded { code, message } if *code == TIME_EXCEEDED => {
            ApiError::new(ErrorCode::TimeoutError, format!("The query timed out: {message} ({code}).{hint}"))
        }
        QueryError::LimitExceeded { code, message } => {
            ApiError::new(ErrorCode::LimitExceeded, format!("{} ({code}).{hint}", sentence(message)))
        }
    }
}

/// The configuration key of the budget an engine error code is about.
fn setting_of(code: &str) -> Option<&'static str> {
    match code {
        "Q0201" => Some("query.text_chars_max"),
        "Q0202" => Some("query.and_or_max"),
        "Q0203" => Some("query.in_items_max"),
        "Q0303" => Some("query.joins_max"),
        "Q0310" => Some("query.hops_max"),
        "Q0401" => Some("query.rows_max"),
        "Q0403" => Some("query.cursor_bytes_max"),
        TIME_EXCEEDED => Some("query.time_max_ms"),
        _ => None,
    }
}

/// `message` with its first letter capitalized, as the engine writes lowercase clauses.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn too_large(TooLarge { bytes, bytes_max }: TooLarge) -> ApiError {
    ApiError::limit_exceeded(format!(
        "The query's result beyond its first page is {bytes} bytes, more than the {bytes_max} bytes the server keeps for later pages. \
         Narrow the query (WHERE, TOP, projections) or raise the setting `query.cursor_bytes_max` (environment variable TWINSCAPE__QUERY__CURSOR_BYTES_MAX)."
    ))
}

fn expired(idle: std::time::Duration) -> ApiError {
    ApiError::bad_request(format!(
        "The continuation token has expired or is unknown: the rest of a query's result is kept until its last page is read, \
         at most {idle:?} between pages (setting `query.cursor_idle_ms`), and is dropped sooner when the results kept reach \
         `query.cursor_bytes_max`. Run the query again."
    ))
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn tokens_name_a_cursor_and_a_row() {
        let size = NonZeroU32::new(10).expect("positive");
        let text = encode_token(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef, 4000, size);
        let decoded = ContinuationToken::decode(&text).expect("a valid token");
        assert_eq!(decoded.page_size, size);
        assert_eq!(cursor_position(&decoded.position), Some((0x0123_4567_89ab_cdef_0123_4567_89ab_cdef, 4000)));
        assert_eq!(cursor_position(b"room-201"), None);
    }

    #[test]
    fn engine_errors_name_their_code_and_setting() {
        let show = |error: QueryError| engine_error(error).to_string();
        expect!["400 LimitExceeded: The query holds more rows than the limit of 5 (Q0401). The limit is the setting `query.rows_max` (environment variable TWINSCAPE__QUERY__ROWS_MAX)."]
            .assert_eq(&show(QueryError::LimitExceeded {
                code: "Q0401",
                message: "the query holds more rows than the limit of 5".to_owned(),
            }));
        expect!["400 TimeoutError: The query timed out: the query ran longer than 30 s (Q0402). The limit is the setting `query.time_max_ms` (environment variable TWINSCAPE__QUERY__TIME_MAX_MS)."]
            .assert_eq(&show(QueryError::LimitExceeded {
                code: "Q0402",
                message: "the query ran longer than 30 s".to_owned(),
            }));
        expect!["400 SqlQueryError: SELECT * cannot be used with JOIN (Q0302)."].assert_eq(&show(
            QueryError::InvalidInput { code: "Q0302", message: "SELECT * cannot be used with JOIN".to_owned() },
        ));
    }
}
