//! The first stage of the telemetry pipeline, shared by the MQTT listener and the HTTP routes: who a device is (`authenticate`), and `store`, which finds each message's sensor and sets its latest value, durably, with a DeviceMessage event.
//!
//! `store` runs one `TenantState::write_values` for a batch of messages of one device (the MQTT listener batches what a connection has in flight, the HTTP batch route its lines), so a batch costs one commit.
//! For each message it finds the sensor by hardware id among the device's own sensors (the graph's `hardwareId` index, ignoring ASCII case), sets the sensor twin's `value` to `{value, timestamp}` (the body's `SensorValue` when the body is a JSON object with one, else the body as text; `CreationTimeUtc`, else the time of the batch's write, which its functions' values and every event of the write share), and appends in the same batch a point to the sensor's history series (`SeriesId::sensor`, at the value's timestamp, planned by the tenant's `history::Recorder`) and a DeviceMessage event.
//! The functions each value selects run before that write (`functions`), and what they set and sent is stored in it, after the value of the message that ran them; so a batch is acknowledged once one write is durable.
//! The HTTP face is here too: `POST /management/api/v1.0/telemetry` (one message: properties as headers, the body as payload) and `…/telemetry/batch` (NDJSON, one message a line, all or nothing), authenticated by `Authorization: SharedAccessSignature …` naming the device.
//! Reading MQTT packets and deciding when to acknowledge them is `mqtt`'s; parsing topics, properties and IoT Hub tokens is `ingest`'s.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use graph::{Precondition, TenantGraph};
use ingest::{Telemetry, TelemetryError};
use ontology::ObjectKind;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Value, json};
use spatial::navigate::Kinds;

use crate::data::{Event, Tenant, TenantState, Written};
use crate::error::{ApiError, ErrorCode};
use crate::functions::Selected;
use crate::management::keystores::sas;
use crate::management::{MgmtError, is_kind, route, space_path};
use crate::router::AppState;

/// Counts telemetry messages by transport, result (`stored`, `refused`) and reason.
const MESSAGES_TOTAL: &str = "telemetry_messages_total";

/// Lines of one NDJSON batch.
const BATCH_LINES_MAX: usize = 1000;

/// How the message arrived, as metrics label it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Mqtt,
    Http,
}

/// Why a message was not stored; each is a metrics label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// Published where telemetry does not go.
    InvalidTopic,
    /// Published on another device's topic.
    NotTheDevice,
    /// A property is missing or wrong, or the timestamp or body cannot be read.
    InvalidMessage,
    /// Over a limit (payload bytes, hardware id length, the sensor value's length).
    TooLarge,
    /// No sensor has the hardware id.
    UnknownSensor,
    /// The sensor with the hardware id belongs to another device.
    OtherDevicesSensor,
    /// The device was deleted since it connected.
    UnknownDevice,
    /// The graph refused the value (a validation it alone knows, such as the twin's size).
    Refused,
    /// An all-or-nothing batch stopped at an earlier refusal.
    NotTried,
    /// The HTTP routes held as many messages as they may (`limits.telemetry_http_inflight_max`); the sender should retry.
    Busy,
}

impl Reason {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Reason::InvalidTopic => "invalid_topic",
            Reason::NotTheDevice => "not_the_device",
            Reason::InvalidMessage => "invalid_message",
            Reason::TooLarge => "too_large",
            Reason::UnknownSensor => "unknown_sensor",
            Reason::OtherDevicesSensor => "other_devices_sensor",
            Reason::UnknownDevice => "unknown_device",
            Reason::Refused => "refused",
            Reason::NotTried => "not_tried",
            Reason::Busy => "busy",
        }
    }

    /// The HTTP status of a message refused for this reason.
    fn status(self) -> StatusCode {
        match self {
            Reason::InvalidTopic | Reason::InvalidMessage | Reason::NotTried => StatusCode::BAD_REQUEST,
            Reason::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Reason::UnknownSensor | Reason::UnknownDevice => StatusCode::NOT_FOUND,
            Reason::NotTheDevice | Reason::OtherDevicesSensor => StatusCode::FORBIDDEN,
            Reason::Refused => StatusCode::CONFLICT,
            Reason::Busy => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

/// Why a message was not stored, with a message for the sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) reason: Reason,
    pub(crate) message: String,
}

impl Refusal {
    fn new(reason: Reason, message: impl Into<String>) -> Refusal {
        Refusal { reason, message: message.into() }
    }
}

impl From<TelemetryError> for Refusal {
    fn from(err: TelemetryError) -> Refusal {
        let reason = match &err {
            TelemetryError::InvalidTopic { .. } => Reason::InvalidTopic,
            TelemetryError::InvalidInput { .. } => Reason::InvalidMessage,
            TelemetryError::LimitExceeded { .. } => Reason::TooLarge,
        };
        Refusal::new(reason, err.to_string())
    }
}

/// Whether one refusal stops a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Every message stands alone (MQTT: each has its own acknowledgement).
    Each,
    /// The first refusal refuses the rest, and nothing is stored unless every message can be (the HTTP batch).
    AllOrNothing,
}

/// Why a device is not let in.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AuthError {
    #[error("there is no device '{0}'")]
    UnknownDevice(String),
    #[error("device '{0}' has no key (it was not created through the management API)")]
    NoKey(String),
    #[error("the token is for device '{token}', not '{device}'")]
    OtherDevice { token: String, device: String },
    #[error("no device has the hardware id '{0}'")]
    UnknownHardwareId(String),
    #[error("{0} devices have the hardware id '{1}'; a key store token cannot tell them apart")]
    AmbiguousHardwareId(usize, String),
    #[error("there is no key store on a space above device '{0}'")]
    NoKeyStore(String),
    #[error(transparent)]
    IotHub(#[from] ingest::SasError),
    #[error(transparent)]
    KeyStore(#[from] sas::TokenError),
}

/// Checks `token` (an IoT Hub device SAS token, or a token of the 2018 key stores) at `now` (Unix seconds) and returns the device id it proves.
/// `claimed` is the device the connection says it is (MQTT's client id), which the token must be for; without it, the token names the device (by its id, or by its hardware id for key store tokens).
/// The device a token authenticates, and when the token expires (Unix seconds), so a connection it opened can be closed then.
pub(crate) fn authenticate(
    tenant: &Tenant,
    claimed: Option<&str>,
    token: &str,
    now: i64,
) -> Result<(String, i64), AuthError> {
    let graph = &tenant.graph;
    if ingest::sas::is_device_token(token) {
        let parsed = ingest::sas::parse_device_token(token)?;
        if let Some(claimed) = claimed
            && claimed != parsed.device_id
        {
            return Err(AuthError::OtherDevice { token: parsed.device_id, device: claimed.to_owned() });
        }
        device_slot(graph, &parsed.device_id)?;
        let key =
            tenant.spatial.device_key(&parsed.device_id).ok_or_else(|| AuthError::NoKey(parsed.device_id.clone()))?;
        parsed.verify(key, now)?;
        return Ok((parsed.device_id, parsed.expiry));
    }
    let (claims, _) = sas::parse(token)?;
    let (device_id, slot) = match claimed {
        Some(id) => (id.to_owned(), device_slot(graph, id)?),
        None => {
            let devices: Vec<u32> = graph
                .slots_with_property("hardwareId", &claims.hardware_id)
                .iter()
                .copied()
                .filter(|&s| is_kind(graph, s, ObjectKind::Device))
                .collect();
            match devices.as_slice() {
                [] => return Err(AuthError::UnknownHardwareId(claims.hardware_id)),
                [slot] => (graph.twin_at(*slot).map(|t| t.id.clone()).unwrap_or_default(), *slot),
                more => return Err(AuthError::AmbiguousHardwareId(more.len(), claims.hardware_id)),
            }
        }
    };
    let hardware_id = graph.twin_at(slot).and_then(|t| t.property("hardwareId"));
    if !hardware_id.as_ref().and_then(Value::as_str).is_some_and(|h| h.eq_ignore_ascii_case(&claims.hardware_id)) {
        return Err(AuthError::OtherDevice { token: claims.hardware_id, device: device_id });
    }
    let store = tenant
        .spatial
        .keystore_above(&space_path(graph, slot))
        .ok_or_else(|| AuthError::NoKeyStore(device_id.clone()))?;
    sas::verify(token, store, now)?;
    Ok((device_id, claims.expiry))
}

/// The current time in Unix seconds, for token expiry.
pub(crate) fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn device_slot(graph: &TenantGraph, id: &str) -> Result<u32, AuthError> {
    graph
        .slot(id)
        .filter(|&s| is_kind(graph, s, ObjectKind::Device))
        .ok_or_else(|| AuthError::UnknownDevice(id.to_owned()))
}

/// Stores the latest values `messages` of `device` carry and what the functions they select did, in one durable write, and says for each whether it was stored; answers only once what was stored is durable.
/// `Err` is a store failure: nothing of the batch is stored.
///
/// Each message's sensor and the functions its value selects are found under the tenant's read lock; the functions run (`run_functions`), reading the batch's values through their overlay; then one write stores message after message: its value, its history point and DeviceMessage event, and what its runs did (`functions::apply_runs`).
/// A message whose value is refused in that write (its sensor deleted, moved or given another hardware id while its functions ran) is refused, and its runs fail with it (`functions::fail_runs`).
pub(crate) async fn store(
    state: &AppState,
    transport: Transport,
    device: &str,
    messages: Vec<Telemetry>,
    mode: Mode,
) -> Result<Vec<Result<(), Refusal>>, ApiError> {
    let tenant = state.data.tenant();
    let started = std::time::Instant::now();
    let batch = prepare(state, &tenant, device, messages, mode);
    let prepared = std::time::Instant::now();
    if mode == Mode::AllOrNothing && batch.resolved.iter().any(Result::is_err) {
        let outcomes = refuse_all(&batch.resolved);
        count_refused(state, transport, &outcomes);
        return Ok(outcomes);
    }
    let mut runs = run_functions(state, &tenant, &batch).await?;
    let ran = std::time::Instant::now();
    let outcomes = write(state, &tenant, &batch, &mut runs).await?;
    // A batch that ran no function has no `functions` stage.
    let functions = (!runs.is_empty()).then(|| ("functions", ran - prepared));
    let stages = [Some(("prepare", prepared - started)), functions, Some(("write", ran.elapsed()))];
    state.metrics.record(|| {
        for (stage, took) in stages.into_iter().flatten() {
            metrics::histogram!(crate::http_metrics::TELEMETRY_STAGE_SECONDS, "stage" => stage)
                .record(took.as_secs_f64());
        }
    });
    count_stored(state, transport, outcomes.iter().filter(|outcome| outcome.is_ok()).count() as u64);
    count_refused(state, transport, &outcomes);
    crate::functions::record_runs(state, &tenant, runs.iter().flatten());
    Ok(outcomes)
}

/// A batch of one device's messages as `prepare` found them: each message's sensor and value (or why it is refused) and the functions its value selects.
struct Batch {
    device: String,
    messages: Vec<Telemetry>,
    mode: Mode,
    /// When the batch arrived: the time its runs see on a value without `CreationTimeUtc`, which the write stamps with its own time.
    now: String,
    /// The tenant's shape when the messages were resolved: while it stays, every sensor found is still the device's sensor of its hardware id.
    shape: u64,
    resolved: Vec<Result<Resolved, Refusal>>,
    selected: Vec<Arc<[Selected]>>,
}

/// Finds each message's sensor and value and the functions it selects, under the tenant's read lock; in an all-or-nothing batch, also what the graph and history would refuse.
fn prepare(state: &AppState, tenant: &TenantState, device: &str, messages: Vec<Telemetry>, mode: Mode) -> Batch {
    let string_bytes_max = state.limits.string_bytes_max.get();
    let now = crate::data::now();
    let (shape, resolved, selected) = tenant.read_all(|tenant| {
        let kinds = tenant.kinds();
        let mut resolved: Vec<Result<Resolved, Refusal>> =
            messages.iter().map(|m| resolve(&kinds, device, m, &now, string_bytes_max)).collect();
        if mode == Mode::AllOrNothing {
            check_all(tenant, &mut resolved, &now);
        }
        let selected = resolved
            .iter()
            .map(|r| match r {
                Ok(r) => crate::functions::selected(tenant, &r.sensor_id),
                Err(_) => Arc::from([]),
            })
            .collect();
        (tenant.shape, resolved, selected)
    });
    Batch { device: device.to_owned(), messages, mode, now, shape, resolved, selected }
}

/// Stores the batch in one durable write, message after message: its value (`set_value`), then what its runs did (`functions::apply_runs`); answers each message's outcome once the write is durable.
/// When the tenant's shape changed since `prepare` (a sensor deleted, moved or given another hardware id while the functions ran), each message's sensor is found again, and a message whose sensor is now none or another is refused and fails its runs (`functions::fail_runs`); an all-or-nothing batch is then checked again as a whole and, when a message is refused, stores nothing and fails every run.
/// The write's time, taken under the tenant's lock, is that of the twins' changes and of every event, so they follow the order of the writes.
async fn write(
    state: &AppState,
    tenant: &TenantState,
    batch: &Batch,
    runs: &mut [Vec<crate::functions::Finished>],
) -> Result<Vec<Result<(), Refusal>>, ApiError> {
    let data = &state.data;
    let source = data.event_source();
    let string_bytes_max = state.limits.string_bytes_max.get();
    let Batch { device, messages, mode, shape, .. } = batch;
    tenant
        // Telemetry and what functions set are values: the functions' selections stay valid.
        .write_values(data, |tenant| {
            let now = crate::data::now();
            let mut written = Written::default();
            let found_again;
            let resolved = if tenant.shape == *shape {
                &batch.resolved
            } else {
                let kinds = tenant.kinds();
                let again = messages.iter().zip(&batch.resolved).map(|(message, before)| {
                    let before = before.as_ref().map_err(Clone::clone)?;
                    let found = resolve(&kinds, device, message, &batch.now, string_bytes_max)?;
                    if found.sensor_id == before.sensor_id {
                        Ok(found)
                    } else {
                        let hardware_id = &message.hardware_id;
                        let why = format!("the sensor with hardware id '{hardware_id}' changed while the message's functions ran; send it again");
                        Err(Refusal::new(Reason::Refused, why))
                    }
                });
                let mut again: Vec<Result<Resolved, Refusal>> = again.collect();
                drop(kinds);
                if *mode == Mode::AllOrNothing {
                    check_all(tenant, &mut again, &now);
                }
                found_again = again;
                &found_again
            };
            if *mode == Mode::AllOrNothing
                && let Some(first) = resolved.iter().position(Result::is_err)
            {
                let refusal = resolved[first].as_ref().err().map(|r| r.message.as_str()).unwrap_or_default();
                let why = format!(
                    "the batch of the message that ran the function was refused: message {}: {refusal}",
                    first + 1
                );
                // The runs fail with the batch, whose refusal stores nothing, their events neither.
                for runs in runs.iter_mut() {
                    crate::functions::fail_runs(source, &now, runs, &why, &mut Written::default());
                }
                return Ok::<_, ApiError>((refuse_all(resolved), written));
            }
            let mut outcomes = Vec::with_capacity(messages.len());
            for (i, (message, resolved)) in messages.iter().zip(resolved).enumerate() {
                let runs = runs.get_mut(i).map(Vec::as_mut_slice).unwrap_or_default();
                let stored = resolved.as_ref().map_err(Clone::clone).and_then(|resolved| {
                    set_value(tenant, source, &now, message, resolved, !runs.is_empty(), &mut written)
                        .map(|before| (resolved, before))
                });
                let outcome = match stored {
                    Ok((resolved, before)) => {
                        let mut own = crate::functions::OwnSensor::new(&resolved.sensor_id, before);
                        crate::functions::apply_runs(tenant, source, &now, runs, &mut own, &mut written)?;
                        Ok(())
                    }
                    Err(refusal) if *mode == Mode::AllOrNothing => {
                        // Checked by `prepare`, so not expected (the twin would have grown past its size limit meanwhile): the write fails and the tenant is put back to what is durable, with the earlier messages' values.
                        let message = format!("message {}: {}", i + 1, refusal.message);
                        return Err(ApiError::new(ErrorCode::BadRequest, message).with_status(refusal.reason.status()));
                    }
                    Err(refusal) => {
                        let why = format!("the message that ran the function was refused: {}", refusal.message);
                        crate::functions::fail_runs(source, &now, runs, &why, &mut written);
                        Err(refusal)
                    }
                };
                outcomes.push(outcome);
            }
            Ok((outcomes, written))
        })
        .await
}

/// Refuses, in an all-or-nothing batch, each message the graph would refuse (`resolve` has refused those history would), so that a refused batch changes nothing.
fn check_all(tenant: &Tenant, resolved: &mut [Result<Resolved, Refusal>], now: &str) {
    for r in resolved {
        let checked = r.as_ref().map_err(Clone::clone).and_then(|resolved| {
            tenant
                .graph
                .check_patch_ops(&resolved.sensor_id, value_patch(resolved), &Precondition::None, now)
                .map(drop)
                .map_err(|err| Refusal::new(Reason::Refused, err.to_string()))
        });
        if let Err(refusal) = checked {
            *r = Err(refusal);
        }
    }
}

/// The outcomes of an all-or-nothing batch with a refused message: the first refusal, and the other messages not tried.
fn refuse_all<R>(resolved: &[Result<R, Refusal>]) -> Vec<Result<(), Refusal>> {
    let first = resolved.iter().position(Result::is_err).unwrap_or_default();
    resolved
        .iter()
        .enumerate()
        .map(|(i, r)| match r {
            Err(refusal) if i == first => Err(refusal.clone()),
            _ => Err(Refusal::new(Reason::NotTried, format!("message {} was refused", first + 1))),
        })
        .collect()
}

/// Counts the refused messages among `outcomes`.
fn count_refused(state: &AppState, transport: Transport, outcomes: &[Result<(), Refusal>]) {
    for refusal in outcomes.iter().filter_map(|outcome| outcome.as_ref().err()) {
        count(state, transport, Err(refusal.reason));
    }
}

/// Sets a message's value on its sensor, with its history point and DeviceMessage event in `written`; returns the sensor's value before the message when `keep_before` (its functions name it), else `None`.
/// A refusal changes nothing: the history point is planned before the value is set, and a plan whose value is then refused only leaves a sequence number unused.
fn set_value(
    tenant: &mut Tenant,
    source: &str,
    now: &str,
    message: &Telemetry,
    resolved: &Resolved,
    keep_before: bool,
    written: &mut Written,
) -> Result<Option<Value>, Refusal> {
    // A value without a time of its own takes the write's, as the values the functions set do: the points a write appends to a series are then in order, and each write's come after the last write's.
    let resolved = match &message.creation_time {
        Some(_) => std::borrow::Cow::Borrowed(resolved),
        None => std::borrow::Cow::Owned(Resolved {
            timestamp: now.to_owned(),
            ts: crate::history::micros_of(now).unwrap_or(resolved.ts),
            ..resolved.clone()
        }),
    };
    let resolved = resolved.as_ref();
    let point = history_point(resolved)?;
    let planned = tenant.history.plan(&[point]).map_err(|err| history_refusal(&err))?;
    let graph = &mut tenant.graph;
    let before = if keep_before {
        graph.twin(&resolved.sensor_id).and_then(|t| t.property("value")).and_then(|v| v.get("value").cloned())
    } else {
        None
    };
    let (_, changes) = graph
        .patch_twin_ops(&resolved.sensor_id, value_patch(resolved), &Precondition::None, now)
        .map_err(|err| Refusal::new(Reason::Refused, err.to_string()))?;
    written.changes.extend(changes);
    written.ops.extend(planned);
    written.events.push(device_message_event(source, now, message, resolved));
    Ok(before)
}

/// Runs the functions the messages' values select, the batch's runs in its order (`Functions::run_batch`), and returns each message's runs; none when no message selects a function.
/// A function that fails is only a failed run; `Err` is no worker left, when the batch is not stored and its messages not acknowledged, so their devices send them again.
async fn run_functions(
    state: &AppState,
    tenant: &Arc<TenantState>,
    batch: &Batch,
) -> Result<Vec<Vec<crate::functions::Finished>>, ApiError> {
    let Batch { messages, resolved, selected, .. } = batch;
    if selected.iter().all(|functions| functions.is_empty()) {
        return Ok(Vec::new());
    }
    let mut triggers = Vec::new();
    let mut runs = Vec::new();
    let mut finished = Vec::new();
    for (message, (telemetry, resolved)) in messages.iter().zip(resolved).enumerate() {
        let Ok(resolved) = resolved else { continue };
        // The sample's devices set `x-ms-client-request-id`, which the 2018 service used to correlate a message's effects.
        let correlation = telemetry
            .correlation_id
            .clone()
            .or_else(|| {
                telemetry
                    .properties
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case("x-ms-client-request-id"))
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let text = String::from_utf8_lossy(&telemetry.body);
        for function in selected[message].iter() {
            let received = unix_now_ms();
            runs.push(crate::functions::PlannedRun {
                message: triggers.len(),
                function_id: function.function_id.to_string(),
                script: Arc::clone(&function.script),
                telemetry: compute::sandbox::Telemetry {
                    sensor_id: resolved.sensor_id.clone(),
                    message: text.to_string(),
                },
                context: compute::sandbox::ExecutionContext {
                    enqueued_time_unix_ms: received,
                    processor_received_time_unix_ms: received,
                    user_defined_function_id: function.function_id.to_string(),
                    correlation_id: correlation.clone(),
                },
            });
            finished.push((message, function.function_id.to_string(), resolved.sensor_id.clone(), correlation.clone()));
        }
        triggers.push(crate::functions::Trigger {
            sensor: resolved.sensor_id.clone(),
            value: resolved.value.clone(),
            timestamp: resolved.timestamp.clone(),
        });
    }
    let Some(ran) = state.functions.run_batch(Arc::clone(tenant), triggers, runs).await else {
        tracing::error!("no function worker is running; the functions did not run");
        return Err(ApiError::new(ErrorCode::ServiceUnavailable, "user-defined functions cannot run now"));
    };
    let mut by_message: Vec<Vec<crate::functions::Finished>> = messages.iter().map(|_| Vec::new()).collect();
    for ((message, function_id, sensor_id, correlation_id), ran) in finished.into_iter().zip(ran) {
        by_message[message].push(crate::functions::Finished { function_id, sensor_id, correlation_id, ran });
    }
    Ok(by_message)
}

fn unix_now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// The patch that sets a message's value on its sensor.
fn value_patch(resolved: &Resolved) -> Vec<graph::patch::Operation> {
    vec![sensor_value_op(&resolved.value, &resolved.timestamp)]
}

/// The operation that sets a sensor's value, `{"op": "add", "path": "/value", "value": {"value": …, "timestamp": …}}`, as a message or a function sets it.
pub(crate) fn sensor_value_op(text: &str, timestamp: &str) -> graph::patch::Operation {
    graph::patch::Operation::add(&["value"], json!({ "value": text, "timestamp": timestamp }))
}

/// Counts `stored` messages stored at once.
fn count_stored(state: &AppState, transport: Transport, stored: u64) {
    if stored == 0 {
        return;
    }
    let transport = transport_label(transport);
    state.metrics.record(|| {
        metrics::counter!(MESSAGES_TOTAL, "transport" => transport, "result" => "stored", "reason" => "")
            .increment(stored);
    });
}

fn transport_label(transport: Transport) -> &'static str {
    match transport {
        Transport::Mqtt => "mqtt",
        Transport::Http => "http",
    }
}

/// Counts one message: stored, or refused for `reason`.
pub(crate) fn count(state: &AppState, transport: Transport, outcome: Result<(), Reason>) {
    let transport = transport_label(transport);
    let (result, reason) = match outcome {
        Ok(()) => ("stored", ""),
        Err(reason) => ("refused", reason.label()),
    };
    state.metrics.record(|| {
        metrics::counter!(MESSAGES_TOTAL, "transport" => transport, "result" => result, "reason" => reason)
            .increment(1);
    });
}

/// A message whose sensor is found and whose value is read.
#[derive(Clone)]
struct Resolved {
    sensor_id: String,
    value: String,
    timestamp: String,
    /// `timestamp` in microseconds, for history.
    ts: history::Timestamp,
}

/// The history point of a resolved message: the sensor's series, the value's time and the value (`history::value_of`).
fn history_point(resolved: &Resolved) -> Result<history::NewPoint, Refusal> {
    let series = history::SeriesId::sensor(&resolved.sensor_id).map_err(|err| history_refusal(&err))?;
    Ok(history::NewPoint { series, ts: resolved.ts, value: crate::history::value_of(&resolved.value) })
}

/// A message history cannot record, refused; every history error is named, so a new one forces a decision here.
fn history_refusal(err: &history::HistoryError) -> Refusal {
    use history::HistoryError;
    let reason = match err {
        HistoryError::InvalidInput { .. } => Reason::InvalidMessage,
        HistoryError::LimitExceeded { .. } => Reason::TooLarge,
        // The store failed to answer the plan's one read; the message is refused rather than stored without its history.
        HistoryError::Unavailable { .. } | HistoryError::Corrupt { .. } | HistoryError::Internal { .. } => {
            tracing::error!(error = %err, "history could not plan a sensor value's point");
            Reason::Refused
        }
    };
    Refusal::new(reason, format!("the value's history cannot be recorded: {err}"))
}

/// Finds the sensor of `message` among `device`'s own, and reads its value and timestamp; refuses a message whose history point history would refuse.
fn resolve(
    kinds: &Kinds<'_>,
    device: &str,
    message: &Telemetry,
    now: &str,
    string_bytes_max: usize,
) -> Result<Resolved, Refusal> {
    let graph = kinds.graph();
    let hardware_id = &message.hardware_id;
    let device_slot = graph
        .slot(device)
        .filter(|&s| kinds.kind_at(s) == Some(ObjectKind::Device))
        .ok_or_else(|| Refusal::new(Reason::UnknownDevice, format!("device '{device}' does not exist any more")))?;
    let sensors: Vec<u32> = graph
        .slots_with_property("hardwareId", hardware_id)
        .iter()
        .copied()
        .filter(|&s| kinds.kind_at(s) == Some(ObjectKind::Sensor))
        .collect();
    let Some(&sensor_slot) = sensors.iter().find(|&&s| graph.parent_at(s) == Some(device_slot)) else {
        return Err(if sensors.is_empty() {
            Refusal::new(Reason::UnknownSensor, format!("no sensor has the hardware id '{hardware_id}'"))
        } else {
            Refusal::new(
                Reason::OtherDevicesSensor,
                format!("the sensor with hardware id '{hardware_id}' is not one of device '{device}''s sensors"),
            )
        });
    };
    let sensor_id = graph.twin_at(sensor_slot).map(|t| t.id.clone()).unwrap_or_default();
    let value = sensor_value(&message.body)?;
    if value.len() > string_bytes_max {
        return Err(Refusal::new(
            Reason::TooLarge,
            format!("the value has {} bytes; a sensor value takes at most {string_bytes_max}", value.len()),
        ));
    }
    let (timestamp, ts) = match &message.creation_time {
        None => (now.to_owned(), crate::history::micros_of(now).unwrap_or(history::Timestamp::from_micros(0))),
        Some(text) => match text.parse::<jiff::Timestamp>() {
            Ok(time) => (format!("{time:.7}"), history::Timestamp::from_micros(time.as_microsecond())),
            Err(err) => {
                return Err(Refusal::new(
                    Reason::InvalidMessage,
                    format!("`CreationTimeUtc` is `{text}`, not an ISO 8601 time with an offset: {err}"),
                ));
            }
        },
    };
    let resolved = Resolved { sensor_id, value, timestamp, ts };
    // A message whose history point would be refused is refused now, before its functions run.
    history_point(&resolved)?;
    Ok(resolved)
}

/// The value a body carries: its `SensorValue` member (as text; a member of another JSON type as its JSON) when the body is a JSON object with one, else the body as text.
fn sensor_value(body: &[u8]) -> Result<String, Refusal> {
    if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body)
        && let Some((_, value)) = object.iter().find(|(k, _)| k.eq_ignore_ascii_case("SensorValue"))
    {
        return Ok(match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        });
    }
    String::from_utf8(body.to_vec()).map_err(|_| {
        // FIXME(#6): binary payloads are for functions to decode; until they run, a value must be text.
        Refusal::new(Reason::InvalidMessage, "the body is neither text nor JSON with a `SensorValue`")
    })
}

/// The DeviceMessage event of a stored message, in the 2018 service's Event Grid envelope with PascalCase data.
///
/// The 2018 service forwarded the device's body unchanged and documented no more of this event; `data` carries the body as `Payload` (text) with the message's properties and the ids it was routed by.
fn device_message_event(source: &str, now: &str, message: &Telemetry, resolved: &Resolved) -> Event {
    let data = DeviceMessage {
        device_id: &message.device_id,
        sensor_id: &resolved.sensor_id,
        hardware_id: &message.hardware_id,
        creation_time_utc: &resolved.timestamp,
        correlation_id: message.correlation_id.as_deref(),
        properties: Properties(&message.properties),
        payload: &String::from_utf8_lossy(&message.body),
    };
    crate::functions::envelope(source, now, "DeviceMessage", &data)
}

/// The `data` of a DeviceMessage event.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DeviceMessage<'a> {
    device_id: &'a str,
    sensor_id: &'a str,
    hardware_id: &'a str,
    creation_time_utc: &'a str,
    /// `null` when the message has none.
    correlation_id: Option<&'a str>,
    properties: Properties<'a>,
    /// The body as text, with U+FFFD for bytes that are not UTF-8.
    payload: &'a str,
}

/// A message's properties as a JSON object: a name given more than once keeps the place of its first and the value of its last, as when the list is collected into a `serde_json::Map`.
struct Properties<'a>(&'a [(String, String)]);

impl Serialize for Properties<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let properties = self.0;
        let mut map = serializer.serialize_map(None)?;
        // Quadratic, with no allocation: a message has few properties (`ingest::Limits::properties_max`, HTTP's header limit).
        for (at, (name, value)) in properties.iter().enumerate() {
            if properties[..at].iter().any(|(earlier, _)| earlier == name) {
                continue;
            }
            let later = properties[at + 1..].iter().rev().find(|(same, _)| same == name);
            map.serialize_entry(name, later.map_or(value, |(_, last)| last))?;
        }
        map.end()
    }
}

/// The HTTP ingestion routes, relative to the management face's base; their bodies are limited by `limits.telemetry_payload_bytes_max` (one message) and `BATCH_LINES_MAX` times that (a batch), not by the face's default.
pub(crate) fn routes() -> Router<AppState> {
    let router = Router::new();
    let router = route(router, "/telemetry", post(post_one).layer(DefaultBodyLimit::disable()));
    route(router, "/telemetry/batch", post(post_batch).layer(DefaultBodyLimit::disable()))
}

/// Request headers that are HTTP's, not message properties.
const NOT_PROPERTIES: [&str; 13] = [
    "authorization",
    "host",
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "expect",
    "user-agent",
    "accept",
    "accept-encoding",
];

/// `POST telemetry`: one message, its properties as headers, its body as the payload; 204 once stored durably.
async fn post_one(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response, MgmtError> {
    let device = authorized(&state, &headers)?;
    let admitted = admit(&state, 1).ok_or_else(|| busy(&state))?;
    let limits = ingest_limits(&state);
    let body = read_body(body, limits.payload_bytes_max).await?;
    let properties: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| !NOT_PROPERTIES.contains(&name.as_str()) && **name != crate::REQUEST_ID_HEADER)
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    let message = Telemetry::from_properties(device.clone(), properties, body.to_vec(), &limits).map_err(|err| {
        let refusal = Refusal::from(err);
        count(&state, Transport::Http, Err(refusal.reason));
        refused(&refusal, None)
    })?;
    let mut outcomes = store_admitted(&state, admitted, device, vec![message], Mode::Each).await?;
    match outcomes.pop() {
        Some(Err(refusal)) => Err(refused(&refusal, None)),
        _ => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// Seconds a sender turned away because the HTTP routes are full is asked to wait.
const BUSY_RETRY_AFTER_SECONDS: u64 = 1;

/// Takes `messages` of the HTTP routes' permits (at most all of them, so a batch larger than the limit waits for an empty pipeline) for as long as the guard lives; `None` when they are taken, each message counted as refused for `Reason::Busy`, and the caller answers 429 with `Retry-After` (`busy`).
fn admit(state: &AppState, messages: usize) -> Option<tokio::sync::OwnedSemaphorePermit> {
    let limit = state.limits.telemetry_http_inflight_max.get();
    let wanted = u32::try_from(messages.min(limit)).unwrap_or(u32::MAX);
    let admitted = std::sync::Arc::clone(&state.telemetry_http).try_acquire_many_owned(wanted).ok();
    if admitted.is_none() {
        for _ in 0..messages {
            count(state, Transport::Http, Err(Reason::Busy));
        }
    }
    admitted
}

/// `store` on a task of its own that keeps the HTTP routes' permits until the messages and their functions are done, even when the client goes away meanwhile (its messages are then stored and run, though not acknowledged).
async fn store_admitted(
    state: &AppState,
    admitted: tokio::sync::OwnedSemaphorePermit,
    device: String,
    messages: Vec<Telemetry>,
    mode: Mode,
) -> Result<Vec<Result<(), Refusal>>, ApiError> {
    let state = state.clone();
    let task = tokio::spawn(async move {
        let outcomes = store(&state, Transport::Http, &device, messages, mode).await;
        drop(admitted);
        outcomes
    });
    task.await.map_err(|err| ApiError::internal(&err))?
}

/// Why `admit` turned a request away.
fn busy_message(state: &AppState) -> String {
    format!(
        "the server holds as many telemetry messages over HTTP as it may ({}); send again later",
        state.limits.telemetry_http_inflight_max
    )
}

/// The 2018 face's answer to a request `admit` turned away.
fn busy(state: &AppState) -> MgmtError {
    MgmtError::busy(busy_message(state), BUSY_RETRY_AFTER_SECONDS)
}

/// `POST telemetry/batch`: NDJSON, one message a line as `{"properties": {name: text, …}, "body": …}` (a string body is the payload's text, any other JSON value its JSON), all of one device.
/// All or nothing: 204 once every line is stored durably, or a 4xx naming the first refused line (its message starts `line N:`) with nothing stored.
async fn post_batch(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response, MgmtError> {
    let device = authorized(&state, &headers)?;
    // One permit before the body is read, so a full server reads no more; the rest once the lines are counted.
    let mut admitted = admit(&state, 1).ok_or_else(|| busy(&state))?;
    let limits = ingest_limits(&state);
    let body = read_body(body, limits.payload_bytes_max.saturating_mul(BATCH_LINES_MAX)).await?;
    let text = std::str::from_utf8(&body).map_err(|_| MgmtError::invalid("the batch is not UTF-8 NDJSON"))?;
    let lines: Vec<(usize, &str)> =
        text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty()).collect();
    if lines.len() > BATCH_LINES_MAX {
        return Err(MgmtError::invalid(format!(
            "the batch has {} lines; it takes at most {BATCH_LINES_MAX}",
            lines.len()
        )));
    }
    let mut messages = Vec::with_capacity(lines.len());
    for (number, line) in &lines {
        let message = batch_line(&device, line, &limits).map_err(|refusal| {
            count(&state, Transport::Http, Err(refusal.reason));
            refused(&refusal, Some(*number))
        })?;
        messages.push(message);
    }
    admitted.merge(admit(&state, messages.len().saturating_sub(1)).ok_or_else(|| busy(&state))?);
    let outcomes = store_admitted(&state, admitted, device, messages, Mode::AllOrNothing).await?;
    if let Some((i, Err(refusal))) =
        outcomes.iter().enumerate().find(|(_, o)| o.as_ref().is_err_and(|r| r.reason != Reason::NotTried))
    {
        return Err(refused(refusal, Some(lines[i].0)));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// One NDJSON line as a message.
fn batch_line(device: &str, line: &str, limits: &ingest::Limits) -> Result<Telemetry, Refusal> {
    let invalid = |why: String| Refusal::new(Reason::InvalidMessage, why);
    let Ok(Value::Object(mut object)) = serde_json::from_str::<Value>(line) else {
        return Err(invalid("the line is not a JSON object `{\"properties\": {…}, \"body\": …}`".to_owned()));
    };
    let properties = match object.remove("properties") {
        Some(Value::Object(properties)) => properties
            .into_iter()
            .map(|(name, value)| match value {
                Value::String(text) => Ok((name, text)),
                _ => Err(invalid(format!("property `{name}` is not a string"))),
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(invalid("the line has no `properties` object".to_owned())),
    };
    let body = match object.remove("body") {
        Some(Value::String(text)) => text.into_bytes(),
        Some(other) => other.to_string().into_bytes(),
        None => return Err(invalid("the line has no `body`".to_owned())),
    };
    Ok(Telemetry::from_properties(device.to_owned(), properties, body, limits)?)
}

/// The device the request's `Authorization` token proves; 401 otherwise.
fn authorized(state: &AppState, headers: &HeaderMap) -> Result<String, MgmtError> {
    let unauthorized = |message: String| {
        count(state, Transport::Http, Err(Reason::NotTheDevice));
        MgmtError::from(ApiError::new(ErrorCode::BadRequest, message).with_status(StatusCode::UNAUTHORIZED))
    };
    let token = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(|| {
        unauthorized("telemetry needs `Authorization: SharedAccessSignature …` of its device".to_owned())
    })?;
    let now = unix_now();
    state
        .data
        .tenant()
        .read_all(|tenant| authenticate(tenant, None, token, now).map(|(device, _)| device))
        .map_err(|err| unauthorized(format!("the device is not authenticated: {err}")))
}

fn ingest_limits(state: &AppState) -> ingest::Limits {
    ingest::Limits { payload_bytes_max: state.limits.telemetry_payload_bytes_max.get(), ..ingest::Limits::default() }
}

async fn read_body(body: Body, bytes_max: usize) -> Result<axum::body::Bytes, MgmtError> {
    axum::body::to_bytes(body, bytes_max).await.map_err(|err| {
        MgmtError::from(
            ApiError::new(
                ErrorCode::LimitExceeded,
                format!("the body cannot be read (at most {bytes_max} bytes): {err}"),
            )
            .with_status(StatusCode::PAYLOAD_TOO_LARGE),
        )
    })
}

/// A refusal in the 2018 error format, with the status its reason deserves; `line` names the batch line at fault.
fn refused(refusal: &Refusal, line: Option<usize>) -> MgmtError {
    let status = refusal.reason.status();
    let message = match line {
        Some(line) => format!("line {line}: {}", refusal.message),
        None => refusal.message.clone(),
    };
    MgmtError::from(ApiError::new(ErrorCode::BadRequest, message).with_status(status))
}

/// Passes telemetry sent to a twin through the data plane (`POST /digitaltwins/{id}/telemetry` and its component form) through `store` when the twin is a 2018 sensor, so its value is stored and its functions run, durably, before the request is answered.
///
/// The message is the sensor's, from its parent device; its properties are the request's headers (those of HTTP and `Authorization` aside), its correlation id `CorrelationId`, else `Message-Id`; its creation time `CreationTimeUtc` when given.
/// A JSON string body is the payload's text; any other JSON body is its JSON text (so `{"SensorValue": …}` sets that value, as over MQTT).
/// `Ok(false)` when `twin` is no sensor (or no twin): nothing is done. A refusal (the sensor has no device, the payload is too large, the value is refused) is an error with its status, and nothing is stored.
pub(crate) async fn store_for_sensor(
    state: &AppState,
    twin: &str,
    headers: &HeaderMap,
    body: &Value,
) -> Result<bool, ApiError> {
    let found = state.data.tenant().read(|graph| {
        let slot = graph.slot(twin).filter(|&s| is_kind(graph, s, ObjectKind::Sensor))?;
        let device = graph
            .parent_at(slot)
            .filter(|&p| is_kind(graph, p, ObjectKind::Device))
            .and_then(|p| graph.twin_at(p))
            .map(|device| device.id.clone());
        let hardware_id = graph.twin_at(slot).and_then(|t| t.property("hardwareId"));
        Some((device, hardware_id.as_ref().and_then(Value::as_str).map(str::to_owned)))
    });
    let Some((device, hardware_id)) = found else { return Ok(false) };
    // A refusal with the status `refused` gives it, in the data plane's error format.
    let error = |refusal: Refusal| {
        let status = refusal.reason.status();
        ApiError::new(ErrorCode::BadRequest, refusal.message).with_status(status)
    };
    let refuse = |refusal: Refusal| {
        count(state, Transport::Http, Err(refusal.reason));
        error(refusal)
    };
    let (Some(device), Some(hardware_id)) = (device, hardware_id) else {
        return Err(refuse(Refusal::new(
            Reason::Refused,
            format!("sensor '{twin}' has no device or no hardware id, so its telemetry has nowhere to come from"),
        )));
    };
    let payload = match body {
        Value::String(text) => text.clone().into_bytes(),
        other => other.to_string().into_bytes(),
    };
    let payload_bytes_max = state.limits.telemetry_payload_bytes_max.get();
    if payload.len() > payload_bytes_max {
        return Err(refuse(Refusal::new(
            Reason::TooLarge,
            format!("the body has {} bytes; a telemetry message takes at most {payload_bytes_max}", payload.len()),
        )));
    }
    let properties: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| !NOT_PROPERTIES.contains(&name.as_str()) && **name != crate::REQUEST_ID_HEADER)
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    let header = |name: &str| {
        properties.iter().find(|(n, v)| n.eq_ignore_ascii_case(name) && !v.trim().is_empty()).map(|(_, v)| v.clone())
    };
    let message = Telemetry {
        device_id: device.clone(),
        hardware_id,
        creation_time: header("CreationTimeUtc"),
        correlation_id: header("CorrelationId").or_else(|| header("Message-Id")),
        properties,
        body: payload,
    };
    let Some(admitted) = admit(state, 1) else {
        return Err(ApiError::quota_reached(
            busy_message(state),
            std::time::Duration::from_secs(BUSY_RETRY_AFTER_SECONDS),
        ));
    };
    match store_admitted(state, admitted, device, vec![message], Mode::Each).await?.pop() {
        // `store` counted it.
        Some(Err(refusal)) => Err(error(refusal)),
        _ => Ok(true),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::functions::envelope_as_value;

    #[test]
    fn device_message_events_are_the_json_they_were_built_as_before() {
        let (source, now) = ("https://twinscape.example", "2026-11-26T12:00:00.0000000Z");
        let property = |name: &str, value: &str| (name.to_owned(), value.to_owned());
        let messages = [
            (None, Vec::new(), b"21.5".to_vec()),
            (
                Some("c \"1\"".to_owned()),
                vec![
                    property("DigitalTwins-Telemetry", "1.0"),
                    property("x-custom", "first"),
                    property("DigitalTwins-SensorHardwareId", "HW-é"),
                    property("x-custom", "last"),
                    property("x-custom", "very last"),
                ],
                b"{\"SensorValue\": \"x\"}\n\xff".to_vec(),
            ),
        ];
        for (correlation_id, properties, body) in messages {
            let message = Telemetry {
                device_id: "device-1".to_owned(),
                hardware_id: "HW-é".to_owned(),
                creation_time: None,
                correlation_id,
                properties,
                body,
            };
            let resolved = Resolved {
                sensor_id: "sensor-1".to_owned(),
                value: "21.5".to_owned(),
                timestamp: now.to_owned(),
                ts: history::Timestamp::from_micros(0),
            };
            let properties: Map<String, Value> =
                message.properties.iter().map(|(name, value)| (name.clone(), Value::String(value.clone()))).collect();
            let old = json!({
                "DeviceId": message.device_id,
                "SensorId": resolved.sensor_id,
                "HardwareId": message.hardware_id,
                "CreationTimeUtc": resolved.timestamp,
                "CorrelationId": message.correlation_id,
                "Properties": properties,
                "Payload": String::from_utf8_lossy(&message.body),
            });
            device_message_event(source, now, &message, &resolved)
                .check_same_as(|id| envelope_as_value(source, now, "DeviceMessage", "DeviceMessage", old, id));
        }
    }

    /// The first room of the demo building, provisioned in memory: its device with its CO2 and motion sensors, under the availability function.
    struct DemoRoom {
        state: AppState,
        api: crate::demo::client::Api,
        room: String,
        device: String,
        /// Each sensor's id and hardware id.
        co2: (String, String),
        motion: (String, String),
    }

    impl DemoRoom {
        async fn new() -> DemoRoom {
            let state = AppState::new(&crate::config::Config::default());
            crate::demo::load(&state.data).expect("the demo building");
            let app = crate::router::router(state.clone());
            let devices = crate::demo::provision(app.clone(), 1).await.expect("the demo's objects");
            let device = devices.into_iter().next().expect("the first room's device");
            let sensors = api_sensors(&crate::demo::client::Api::new(app.clone()), &device.id).await;
            let id_of = |data_type: &str| {
                let (_, hardware_id) = device.sensors.iter().find(|(t, _)| *t == data_type).expect("a sensor");
                let id = sensors.iter().find(|(_, h)| h == hardware_id).map(|(id, _)| id.clone()).expect("its id");
                (id, hardware_id.clone())
            };
            let (co2, motion) = (id_of("CarbonDioxide"), id_of("Motion"));
            let api = crate::demo::client::Api::new(app);
            DemoRoom { state, api, room: device.room, device: device.id, co2, motion }
        }

        /// The device's message setting the sensor of `hardware_id` to `value`.
        fn message(&self, hardware_id: &str, value: &str) -> Telemetry {
            Telemetry {
                device_id: self.device.clone(),
                hardware_id: hardware_id.to_owned(),
                creation_time: None,
                correlation_id: None,
                properties: Vec::new(),
                body: json!({ "SensorValue": value }).to_string().into_bytes(),
            }
        }

        /// Prepares a batch of a CO2 reading of 500 and a motion reading of `false` and runs its functions; the motion message's run saw the batch's CO2 and its own motion, and set the room available.
        async fn ran(&self, mode: Mode) -> (Batch, Vec<Vec<crate::functions::Finished>>) {
            let tenant = self.state.data.tenant();
            let messages = vec![self.message(&self.co2.1, "500"), self.message(&self.motion.1, "false")];
            let batch = prepare(&self.state, &tenant, &self.device, messages, mode);
            let runs = run_functions(&self.state, &tenant, &batch).await.expect("the functions ran");
            assert_eq!(statuses(&runs), ["ok", "ok"]);
            let sets_availability = |e: &crate::functions::Effect| matches!(e, crate::functions::Effect::SpaceValue { name, .. } if name == "AvailableAndFresh");
            assert!(runs[1][0].ran.effects.iter().any(sets_availability), "the run set the room's availability");
            (batch, runs)
        }

        /// Runs the functions of the batch of `ran`, deletes the motion sensor (and, with `replaced`, makes a new one on the device with its hardware id), then writes the batch; its outcomes and runs.
        async fn written_after_the_motion_sensor_went(
            &self,
            mode: Mode,
            replaced: bool,
        ) -> (Vec<Result<(), Refusal>>, Vec<Vec<crate::functions::Finished>>) {
            let (batch, mut runs) = self.ran(mode).await;
            let route = format!("sensors/{}", self.motion.0);
            let deleted = self.api.send(axum::http::Method::DELETE, &route, &[], Body::empty()).await;
            assert_eq!(deleted.expect("an answer").status, StatusCode::NO_CONTENT);
            if replaced {
                let sensor = json!({"DeviceId": self.device, "HardwareId": self.motion.1, "DataType": "Motion"});
                self.api.create("sensors", &sensor).await.expect("a new motion sensor");
            }
            let tenant = self.state.data.tenant();
            let outcomes = write(&self.state, &tenant, &batch, &mut runs).await.expect("the write");
            (outcomes, runs)
        }

        async fn room_values(&self) -> Vec<Value> {
            self.api.list(&format!("spaces/{}/values", self.room)).await.expect("the room's values")
        }

        /// The CO2 sensor's value, `None` when it has none.
        async fn co2_value(&self) -> Option<Value> {
            let route = format!("sensors/{}/value", self.co2.0);
            let answer = self.api.send(axum::http::Method::GET, &route, &[], Body::empty()).await.expect("an answer");
            (answer.status == StatusCode::OK).then(|| answer.body["value"].clone())
        }

        /// The UdfFailed events, each as its sensor and message.
        async fn failures(&self) -> Vec<String> {
            let request = axum::http::Request::get("/events?limit=1000").body(Body::empty()).expect("a request");
            let router = crate::router::router(self.state.clone());
            let reply = tower::ServiceExt::oneshot(router, request).await.expect("an answer");
            let body = axum::body::to_bytes(reply.into_body(), usize::MAX).await.expect("the body");
            let events: Value = serde_json::from_slice(&body).expect("JSON");
            events["value"]
                .as_array()
                .expect("events")
                .iter()
                .filter(|e| e["eventType"] == "UdfFailed")
                .map(|e| format!("{} {}", e["data"]["SensorId"], e["data"]["Message"]))
                .collect()
        }
    }

    /// The device's sensors, as `(id, hardware id)`.
    async fn api_sensors(api: &crate::demo::client::Api, device: &str) -> Vec<(String, String)> {
        let sensors = api.list(&format!("sensors?deviceIds={device}")).await.expect("the device's sensors");
        let text = |sensor: &Value, name: &str| sensor[name].as_str().expect("an id").to_owned();
        sensors.iter().map(|s| (text(s, "id"), text(s, "hardwareId"))).collect()
    }

    fn statuses(runs: &[Vec<crate::functions::Finished>]) -> Vec<String> {
        runs.iter().flatten().map(|run| run.ran.outcome.status.to_string()).collect()
    }

    /// A message whose sensor is deleted after its functions ran and before the batch is written is refused in that write, its sensor being found again: its value is not stored, and its run, which ended well, fails with a UdfFailed event and nothing of what it set applied; the batch's other message is stored with what its run did.
    /// A sensor made meanwhile with the same hardware id is another sensor: the message is refused too.
    #[tokio::test]
    async fn a_message_whose_sensor_goes_while_its_functions_run_is_refused_with_its_runs() {
        for replaced in [false, true] {
            let demo = DemoRoom::new().await;
            let (outcomes, runs) = demo.written_after_the_motion_sensor_went(Mode::Each, replaced).await;
            let hardware_id = &demo.motion.1;
            let refusal = if replaced {
                let why = format!(
                    "the sensor with hardware id '{hardware_id}' changed while the message's functions ran; send it again"
                );
                Refusal::new(Reason::Refused, why)
            } else {
                Refusal::new(Reason::UnknownSensor, format!("no sensor has the hardware id '{hardware_id}'"))
            };
            let failed = format!("Error: the message that ran the function was refused: {}", refusal.message);
            assert_eq!(outcomes, [Ok(()), Err(refusal)]);
            assert_eq!(statuses(&runs), ["ok".to_owned(), failed.clone()]);
            assert_eq!(demo.room_values().await, Vec::<Value>::new(), "the refused run's availability is not applied");
            assert_eq!(demo.co2_value().await, Some(json!("500")));
            assert_eq!(demo.failures().await, [format!("{} {}", json!(demo.motion.0), json!(failed))]);
        }
    }

    /// An all-or-nothing batch is checked again when it is written: a message refused then (its sensor deleted while the functions ran) refuses the batch, which stores nothing (no value, no event), and its runs fail.
    #[tokio::test]
    async fn an_all_or_nothing_batch_refused_after_its_functions_ran_stores_nothing() {
        let demo = DemoRoom::new().await;
        let (outcomes, runs) = demo.written_after_the_motion_sensor_went(Mode::AllOrNothing, false).await;
        let why = format!("no sensor has the hardware id '{}'", demo.motion.1);
        assert_eq!(
            outcomes,
            [
                Err(Refusal::new(Reason::NotTried, "message 2 was refused")),
                Err(Refusal::new(Reason::UnknownSensor, why.clone()))
            ]
        );
        let failed = format!("Error: the batch of the message that ran the function was refused: message 2: {why}");
        assert_eq!(statuses(&runs), [failed.clone(), failed]);
        assert_eq!(demo.room_values().await, Vec::<Value>::new());
        assert_eq!(demo.co2_value().await, None, "the batch stored no value");
        assert_eq!(demo.failures().await, Vec::<String>::new(), "the refused batch stored no event");
    }
}
