//! `GET /events?cursor=C&limit=N`: the tenant's durable event log in order, from the start when no cursor is given, with the cursor to continue from; `GET /events/stream`: the same log live, as Server-Sent Events.
//!
//! Events keep their wire envelope (CloudEvents 1.0 for the data plane). These routes are a Twinscape extension and, like `/healthz`, need no `api-version`.
//! The stream sends only what the store holds durably, read from the store in log order when `DataPlane::event_head` says more is durable; it keeps no copy of its own, so the store stays the one source of the events and of their order.
//! Delivering events elsewhere (endpoints, routes) is not here.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, Sse};
use axum::routing::get;
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use store::{Backend, TenantId};
use tokio::sync::watch;

use crate::error::ApiError;
use crate::extract::Json;
use crate::router::AppState;

/// Most events in one page.
const EVENTS_PAGE_MAX: usize = 1000;

/// How long a live stream stays silent before it sends a keep-alive comment, so proxies and clients see the connection is alive.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Events a stream reads from the store at once: all it holds in memory (an event is at most the store's `value_bytes_max`).
const STREAM_PAGE_EVENTS: usize = 32;

/// Event types one `eventTypes` filter may name.
const EVENT_TYPES_MAX: usize = 100;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/events", get(list)).route("/events/stream", get(stream))
}

#[derive(Debug, Deserialize)]
struct EventsQuery {
    cursor: Option<String>,
    limit: Option<String>,
}

async fn list(State(state): State<AppState>, Query(query): Query<EventsQuery>) -> Result<Json<Value>, ApiError> {
    let after = match query.cursor.as_deref() {
        None | Some("") => 0,
        Some(c) => c.parse::<u64>().map_err(|_| {
            ApiError::invalid_argument(format!("cursor must be a cursor returned as nextCursor, not '{c}'."))
        })?,
    };
    let limit = match query.limit.as_deref() {
        None => 100,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=EVENTS_PAGE_MAX).contains(&n) => n,
            _ => {
                return Err(ApiError::invalid_argument(format!(
                    "limit must be an integer from 1 to {EVENTS_PAGE_MAX}, not '{l}'."
                )));
            }
        },
    };
    let tenant = state.data.tenant();
    let store = state.data.store().clone();
    let id = tenant.id.clone();
    let events = tokio::task::spawn_blocking(move || store.read_events(&id, after, limit))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))?;
    let next = events.last().map_or(after, |(seq, _)| *seq);
    let mut value = Vec::with_capacity(events.len());
    for (seq, payload) in events {
        let event: Value = serde_json::from_slice(&payload).map_err(|e| {
            tracing::error!(sequence = seq, error = %e, "a stored event is not JSON");
            ApiError::internal(&e)
        })?;
        value.push(event);
    }
    Ok(Json(json!({ "value": value, "nextCursor": next.to_string() })))
}

#[derive(Debug, Deserialize)]
struct StreamQuery {
    after: Option<String>,
    #[serde(rename = "eventTypes")]
    event_types: Option<String>,
}

/// `GET /events/stream[?after=SEQ][&eventTypes=T1,T2,…]`: the tenant's event log as Server-Sent Events (`text/event-stream`), live.
///
/// - Each event is one SSE message: `id: <sequence number>` and `data: <the event's JSON, as stored>`; messages come in log order, without gaps.
/// - It starts at the end of the log, or after the sequence number in the `Last-Event-ID` header (which an `EventSource` sends when it reconnects, so it wins over the query) or in `?after=`; the events after it are sent first, from the store, then every event that becomes durable, as soon as it is.
///   A client that reconnects with the last id it saw therefore misses nothing and sees nothing twice. `after` beyond the log's end is refused (400).
/// - `eventTypes` keeps only the events whose 2018 `eventType` (`SensorChange`, `SpaceChange`, `UdfCustom`, `DeviceMessage`, `TopologyOperation`, …) or CloudEvents `type` (`Microsoft.DigitalTwins.Twin.Update`, `microsoft.iot.telemetry`, …) is one of the comma-separated names, compared ignoring ASCII case; the ids of the events sent still say where the stream is.
/// - The first message is a comment naming the sequence number the stream starts after; a comment is sent every 15 s while no event comes.
/// - Only events that are durable are sent. A subscriber holds at most a page of events in memory; the rest wait in the store.
///   Events durable when the stream starts or last reached the log's end are always sent; if, once they are, more than `limits.event_stream_lag_max` newer events wait, the subscriber is too slow: a last comment says so and names the id to resume from with `Last-Event-ID`, and the stream ends.
async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<StreamQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let resume = match headers.get("last-event-id") {
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| {
                    ApiError::invalid_argument("Last-Event-ID must be the id of an event sent by this stream.")
                })?
                .trim()
                .to_owned(),
        ),
        None => None,
    };
    let after = match resume.filter(|r| !r.is_empty()).or(query.after.filter(|a| !a.is_empty())) {
        None => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            ApiError::invalid_argument(format!(
                "Last-Event-ID and after must be the sequence number of an event, not '{text}'."
            ))
        })?),
    };
    let types = match query.event_types.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(list) => {
            let types: Vec<String> =
                list.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
            if types.len() > EVENT_TYPES_MAX {
                return Err(ApiError::invalid_argument(format!(
                    "eventTypes names {} types; it takes at most {EVENT_TYPES_MAX}.",
                    types.len()
                )));
            }
            Some(types)
        }
    };
    let tenant = state.data.tenant();
    let Some(mut head) = state.data.event_head(&tenant.id) else {
        tracing::error!(tenant = %tenant.id, "a loaded tenant has no event head");
        return Err(ApiError::new(
            crate::error::ErrorCode::InternalServerError,
            "The server failed to handle the request; the failure is logged.",
        ));
    };
    let end = *head.borrow_and_update();
    let cursor = match after {
        None => end,
        Some(after) if after <= end => after,
        Some(after) => {
            return Err(ApiError::invalid_argument(format!(
                "The stream cannot start after event {after}: the event log ends at {end}."
            )));
        }
    };
    let subscriber = Subscriber {
        store: Arc::clone(state.data.store()),
        tenant: tenant.id.clone(),
        head,
        cursor,
        target: end,
        at_end: cursor == end,
        page: VecDeque::new(),
        types,
        lag_max: u64::try_from(state.limits.event_stream_lag_max.get()).unwrap_or(u64::MAX),
        greeting: Some(format!("connected; events after id {cursor} follow")),
        ended: false,
    };
    // The stream ends when the server stops, so an open subscriber does not hold the shutdown up; it resumes with Last-Event-ID.
    let stopping = state.data.stopping();
    let messages = futures_util::stream::unfold((subscriber, stopping), |(mut subscriber, mut stopping)| async move {
        let message = tokio::select! {
            message = subscriber.next() => message,
            _ = stopping.wait_for(|stop| *stop) => None,
        };
        Some((Ok(message?), (subscriber, stopping)))
    });
    Ok(Sse::new(messages))
}

/// One subscriber of `GET /events/stream`, between two of its messages.
struct Subscriber {
    store: Arc<dyn Backend>,
    tenant: TenantId,
    /// The sequence number of the tenant's last durable event.
    head: watch::Receiver<u64>,
    /// The sequence number of the last event taken from the log (sent, or left out by the filter).
    cursor: u64,
    /// Events up to this one are sent however far behind the subscriber falls: the log's end when the stream started or last reached it.
    target: u64,
    /// Whether the subscriber was waiting at the log's end, so events that became durable meanwhile are new, not a backlog.
    at_end: bool,
    /// Events read from the store and not yet taken.
    page: VecDeque<(u64, Vec<u8>)>,
    /// The `eventTypes` filter.
    types: Option<Vec<String>>,
    /// `limits.event_stream_lag_max`.
    lag_max: u64,
    /// The first message, a comment.
    greeting: Option<String>,
    /// Set with the last message; the stream ends after it.
    ended: bool,
}

impl Subscriber {
    /// The next message, waiting for events to become durable; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        loop {
            if self.ended {
                return None;
            }
            if let Some(text) = self.greeting.take() {
                return Some(Event::default().comment(text));
            }
            if let Some((seq, payload)) = self.page.pop_front() {
                self.cursor = seq;
                match message(seq, &payload, self.types.as_deref()) {
                    Ok(Some(event)) => return Some(event),
                    Ok(None) => continue,
                    Err(err) => {
                        tracing::error!(tenant = %self.tenant, sequence = seq, error = %err, "a stored event is not JSON");
                        return Some(self.last(format!("event {seq} cannot be read; the stream ends")));
                    }
                }
            }
            if self.cursor < self.target {
                if let Err(why) = self.read().await {
                    return Some(self.last(why));
                }
                continue;
            }
            let head = *self.head.borrow_and_update();
            if head > self.cursor {
                let waiting = head - self.cursor;
                if !self.at_end && waiting > self.lag_max {
                    let (cursor, lag_max) = (self.cursor, self.lag_max);
                    tracing::info!(tenant = %self.tenant, cursor, waiting, lag_max, "an event stream subscriber fell too far behind; disconnecting it");
                    return Some(self.last(format!(
                        "too slow: {waiting} events newer than id {cursor} are waiting, more than the limit of {lag_max}; reconnect with Last-Event-ID: {cursor} to resume"
                    )));
                }
                self.target = head;
                self.at_end = false;
                continue;
            }
            self.at_end = true;
            match tokio::time::timeout(KEEP_ALIVE, self.head.changed()).await {
                Err(_silent) => return Some(Event::default().comment("keep-alive")),
                Ok(Ok(())) => {}
                // The data plane is gone: the server is stopping.
                Ok(Err(_closed)) => return None,
            }
        }
    }

    /// Reads the next page of durable events from the store; `Err` is the last comment to send.
    async fn read(&mut self) -> Result<(), String> {
        let (store, tenant, after, target) = (Arc::clone(&self.store), self.tenant.clone(), self.cursor, self.target);
        let limit = usize::try_from(target - after).unwrap_or(usize::MAX).min(STREAM_PAGE_EVENTS);
        let read = tokio::task::spawn_blocking(move || store.read_events(&tenant, after, limit)).await;
        let failed = match read {
            Ok(Ok(events)) if events.first().is_some_and(|(seq, _)| *seq == after + 1) => {
                self.page.extend(events.into_iter().filter(|(seq, _)| *seq <= target));
                return Ok(());
            }
            Ok(Ok(events)) => format!(
                "the store's event log continues after {after} at {:?}, though event {target} is durable",
                events.first().map(|(seq, _)| *seq)
            ),
            Ok(Err(err)) => err.to_string(),
            Err(err) => err.to_string(),
        };
        tracing::error!(tenant = %self.tenant, after, error = %failed, "reading the event log for a stream failed");
        Err("the event log cannot be read now; reconnect with Last-Event-ID to resume".to_owned())
    }

    /// The last message: a comment saying why the stream ends.
    fn last(&mut self, why: String) -> Event {
        self.ended = true;
        Event::default().comment(why)
    }
}

/// The members of an event that name its type, in either envelope.
#[derive(Deserialize)]
struct EventKind {
    /// The 2018 Event Grid envelope's.
    #[serde(rename = "eventType")]
    event_type: Option<Value>,
    /// The CloudEvents envelope's.
    #[serde(rename = "type")]
    kind: Option<Value>,
}

/// The SSE message of the stored event `seq`, or `None` when `types` leaves it out; `Err` when it is not a JSON object.
fn message(seq: u64, payload: &[u8], types: Option<&[String]>) -> Result<Option<Event>, serde_json::Error> {
    // Decoding checks the stored bytes are a JSON object, as `/events` does, without building the event in memory.
    let kind: EventKind = serde_json::from_slice(payload)?;
    if let Some(types) = types {
        let named = [kind.event_type, kind.kind];
        let names = named.iter().filter_map(|n| n.as_ref().and_then(Value::as_str));
        if !names.into_iter().any(|name| types.iter().any(|t| t.eq_ignore_ascii_case(name))) {
            return Ok(None);
        }
    }
    // An SSE `data` line ends at a line break; events are stored as compact JSON, which has none, but JSON may carry them as whitespace.
    let text = match std::str::from_utf8(payload) {
        Ok(text) if !text.contains(['\r', '\n']) => text.to_owned(),
        _ => serde_json::from_slice::<Value>(payload)?.to_string(),
    };
    Ok(Some(Event::default().id(seq.to_string()).data(text)))
}
