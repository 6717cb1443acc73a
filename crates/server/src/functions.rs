//! User-defined functions on telemetry: which functions a stored sensor value runs (the matchers on the sensor's spaces that select it, and the enabled functions on those spaces that list one of them), a pool of worker threads that run them in `compute::sandbox` (QuickJS runtimes are not `Send`, so each worker keeps its own), the host the functions call (`TenantHost`: reads of the tenant under its read lock, every call checked against the function's role assignments, writes recorded), and applying what a run set and sent in one durable write with its SensorChange, SpaceChange and UdfCustom events.
//!
//! Every value a run sets is recorded in its history series in the same batch (`SeriesId::sensor` for `setSensorValue`, `SeriesId::space_value` for `setSpaceValue`, at the time of the write); a `null` that clears a space value records no point, since history holds values, not their absence.
//! The history calls of the host (`getSensorHistoryValues`, `getSpaceHistoryValues`, and `History()` on the objects) answer the newest `history::HOST_POINTS_MAX` points of the series, newest first, read from the store without the tenant's lock; what the run itself set is not among them until it is applied.
//! A function that throws, runs out of time or memory, or is refused by the host does not stop the pipeline: its run is counted and logged, what it set before failing is not applied, and a UdfFailed event says so.
//! Each function's run statistics and its last runs with their `log()` lines are kept in memory (`Statistics`, bounded, forgotten on restart) for the management API to show; this file does not render them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use compute::sandbox::{self, ExecutionContext, Host, HostError, Metadata, ObjectType, Reading, RunOutcome, Sandbox};
use graph::Precondition;
use ontology::ObjectKind;
use serde_json::{Map, Value, json};
use store::TenantId;

use crate::data::{DataPlane, Tenant, TenantState, Written};
use crate::error::ApiError;
use crate::management::objects::View;
use crate::management::{Includes, MgmtError, is_kind, roleassignments};

/// The metric counting function runs by outcome.
const RUNS_TOTAL: &str = "function_runs_total";

/// Runs a function keeps with their log lines (`Statistics`); an older run is forgotten, its counts stay.
pub(crate) const RECENT_RUNS_MAX: usize = 20;

/// Functions of one tenant whose statistics are kept; a new one past this makes the one that ran least recently forgotten.
/// A function deleted with its space (which does not pass through the function's own route) stops running, so it goes first.
/// With the bounds below, a function's entry holds at most about `RECENT_RUNS_MAX` × (`RUN_LOG_BYTES_MAX` + `MESSAGE_BYTES_MAX` + its ids), some 60 KiB, so a tenant's at most about 60 MiB.
const FUNCTIONS_TRACKED_MAX: usize = 1024;

/// Bytes of `log()` lines a kept run holds (the sandbox bounds a run's lines and each line; this bounds what stays in memory); the lines after are counted as dropped.
const RUN_LOG_BYTES_MAX: usize = 2 * 1024;

/// Bytes of a failed run's message that are kept and put in its UdfFailed event; a longer message is cut at a character boundary and ends with `…`.
const MESSAGE_BYTES_MAX: usize = 512;

/// The workers that run functions, how to reach them, and what their runs did.
pub(crate) struct Functions {
    jobs: Mutex<mpsc::Sender<Job>>,
    /// Each function's run counts and last runs, which `record` updates.
    pub(crate) statistics: Statistics,
}

/// Which run of which function: what its statistics and its failure event name.
pub(crate) struct RunOf<'a> {
    pub(crate) function_id: &'a str,
    /// The sensor whose value ran the function.
    pub(crate) sensor_id: &'a str,
    /// The message's correlation id, as the function's `executionContext` had it.
    pub(crate) correlation_id: &'a str,
}

/// Per tenant and function, how its runs went since the server started: counts by outcome, time, and the last `RECENT_RUNS_MAX` runs with their `log()` lines.
/// In memory only; bounded by `FUNCTIONS_TRACKED_MAX`, `RECENT_RUNS_MAX`, `RUN_LOG_BYTES_MAX` and `MESSAGE_BYTES_MAX`.
/// Functions are keyed by their id in lower case, as ids are matched ignoring case.
#[derive(Default)]
pub(crate) struct Statistics {
    inner: Mutex<Tracked>,
}

#[derive(Default)]
struct Tracked {
    /// Grows with each run; a function's `last_run` is this at its latest run, which orders functions for forgetting.
    sequence: u64,
    tenants: HashMap<TenantId, HashMap<String, FunctionRuns>>,
}

/// A function's counts and last runs.
#[derive(Clone, Debug, Default)]
pub(crate) struct FunctionRuns {
    pub(crate) counts: RunCounts,
    /// The last runs, oldest first, at most `RECENT_RUNS_MAX`.
    pub(crate) recent: VecDeque<RunRecord>,
    /// `Tracked::sequence` at the latest run.
    last_run: u64,
}

/// How many runs ended how, and how long they took.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RunCounts {
    pub(crate) runs: u64,
    pub(crate) ok: u64,
    pub(crate) threw: u64,
    pub(crate) timed_out: u64,
    pub(crate) out_of_memory: u64,
    pub(crate) stack_overflow: u64,
    pub(crate) duration_total: Duration,
    pub(crate) duration_max: Duration,
}

/// One run as it is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunRecord {
    /// When the run ended, as the 2018 API writes times.
    pub(crate) time: String,
    pub(crate) sensor_id: String,
    pub(crate) correlation_id: String,
    /// How it ended, as the metric labels it (`ok`, `threw`, `timed_out`, `out_of_memory`, `stack_overflow`).
    pub(crate) status: &'static str,
    /// Why it failed (the error as the function's `String(error)` shows it, with its first frame), at most `MESSAGE_BYTES_MAX` bytes; `None` when it ended well.
    pub(crate) message: Option<String>,
    pub(crate) duration: Duration,
    /// Its `log()` lines, at most `RUN_LOG_BYTES_MAX` bytes of them.
    pub(crate) log: Vec<String>,
    /// Lines the run logged that are not in `log` (past the sandbox's limit or `RUN_LOG_BYTES_MAX`).
    pub(crate) log_lines_dropped: usize,
}

impl Statistics {
    /// Counts a run of `function_id` of `tenant` and keeps it among the function's last runs.
    pub(crate) fn record(&self, tenant: &TenantId, function_id: &str, status: &sandbox::RunStatus, run: RunRecord) {
        let mut tracked = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tracked.sequence += 1;
        let sequence = tracked.sequence;
        let functions = tracked.tenants.entry(tenant.clone()).or_default();
        let key = function_id.to_ascii_lowercase();
        if !functions.contains_key(&key)
            && functions.len() >= FUNCTIONS_TRACKED_MAX
            && let Some(oldest) = functions.iter().min_by_key(|(_, f)| f.last_run).map(|(id, _)| id.clone())
        {
            functions.remove(&oldest);
        }
        let function = functions.entry(key).or_default();
        function.last_run = sequence;
        let counts = &mut function.counts;
        counts.runs += 1;
        match status {
            sandbox::RunStatus::Ok => counts.ok += 1,
            sandbox::RunStatus::Threw { .. } => counts.threw += 1,
            sandbox::RunStatus::TimedOut => counts.timed_out += 1,
            sandbox::RunStatus::OutOfMemory => counts.out_of_memory += 1,
            sandbox::RunStatus::StackOverflow => counts.stack_overflow += 1,
        }
        counts.duration_total += run.duration;
        counts.duration_max = counts.duration_max.max(run.duration);
        if function.recent.len() >= RECENT_RUNS_MAX {
            function.recent.pop_front();
        }
        function.recent.push_back(run);
    }

    /// The counts and last runs of `function_id` of `tenant`; `None` when it has not run since the server started (or was forgotten).
    pub(crate) fn of(&self, tenant: &TenantId, function_id: &str) -> Option<FunctionRuns> {
        let tracked = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tracked.tenants.get(tenant)?.get(&function_id.to_ascii_lowercase()).cloned()
    }

    /// Forgets what `function_id` of `tenant` did (it was deleted).
    pub(crate) fn forget(&self, tenant: &TenantId, function_id: &str) {
        let mut tracked = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(functions) = tracked.tenants.get_mut(tenant) {
            functions.remove(&function_id.to_ascii_lowercase());
        }
    }
}

/// A run for a worker.
struct Job {
    tenant: Arc<TenantState>,
    function_id: String,
    script: String,
    telemetry: sandbox::Telemetry,
    context: ExecutionContext,
    reply: tokio::sync::oneshot::Sender<Ran>,
}

/// What a run did: how it ended and what it set and sent, to be applied only when it ended well.
pub(crate) struct Ran {
    pub(crate) outcome: RunOutcome,
    pub(crate) effects: Vec<Effect>,
}

/// What a function set or sent.
#[derive(Clone, Debug)]
pub(crate) enum Effect {
    SensorValue { sensor: String, data_type: String, value: Value },
    SpaceValue { space: String, name: String, value: Value },
    Notification { object_id: String, object_type: ObjectType, payload: String },
}

impl Functions {
    /// Starts `workers` threads, each with a sandbox of `limits`.
    pub(crate) fn start(workers: usize, limits: sandbox::Limits) -> Functions {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for n in 0..workers.max(1) {
            let receiver = Arc::clone(&receiver);
            let limits = limits.clone();
            // The interpreter's stack limit counts below the run's start, so the thread needs room for it and for the host.
            let stack = limits.stack_bytes + 4 * 1024 * 1024;
            let spawned =
                std::thread::Builder::new().name(format!("function-{n}")).stack_size(stack).spawn(move || {
                    let mut sandbox = Sandbox::new(limits.clone());
                    loop {
                        let job = {
                            let receiver = receiver.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                            receiver.recv()
                        };
                        let Ok(job) = job else { return };
                        let mut host = TenantHost {
                            tenant: job.tenant,
                            function_id: job.function_id,
                            effects: Vec::new(),
                            effect_bytes: 0,
                        };
                        let started = std::time::Instant::now();
                        // A panic in the engine or the host ends the run, not the worker: the run is a failure and the sandbox is replaced.
                        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            sandbox.run(&job.script, &job.telemetry, &job.context, &mut host)
                        }));
                        let ran = match ran {
                            Ok(outcome) => Ran { outcome, effects: host.effects },
                            Err(_) => {
                                tracing::error!("a function run panicked; its sandbox is replaced");
                                sandbox = Sandbox::new(limits.clone());
                                let status = sandbox::RunStatus::Threw {
                                    message: "InternalError: the run failed inside the server".to_owned(),
                                    stack: None,
                                };
                                let outcome = RunOutcome {
                                    status,
                                    duration: started.elapsed(),
                                    log: Vec::new(),
                                    log_lines_dropped: 0,
                                };
                                Ran { outcome, effects: Vec::new() }
                            }
                        };
                        let _ = job.reply.send(ran);
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(error = %err, "a function worker thread could not start");
            }
        }
        Functions { jobs: Mutex::new(sender), statistics: Statistics::default() }
    }

    /// Runs a function on a worker and waits for its outcome; `None` when no worker is left.
    pub(crate) async fn run(
        &self,
        tenant: Arc<TenantState>,
        function_id: String,
        script: String,
        telemetry: sandbox::Telemetry,
        context: ExecutionContext,
    ) -> Option<Ran> {
        let (reply, ran) = tokio::sync::oneshot::channel();
        let job = Job { tenant, function_id, script, telemetry, context, reply };
        self.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).send(job).ok()?;
        ran.await.ok()
    }
}

/// The enabled functions a stored value of the sensor `sensor` runs, with their scripts: those on the sensor's spaces (its own and those above) that list a matcher on those spaces whose conditions hold for the sensor.
pub(crate) fn selected(tenant: &Tenant, sensor: &str) -> Vec<(String, String)> {
    let graph = &tenant.graph;
    let Some(slot) = graph.slot(sensor).filter(|&s| is_kind(graph, s, ObjectKind::Sensor)) else { return Vec::new() };
    let view = View::new(tenant);
    let path = view.space_path(slot);
    let matchers: Vec<&spatial::state::Matcher> = tenant.spatial.matchers_on(&path).collect();
    if matchers.is_empty() {
        return Vec::new();
    }
    let documents = crate::management::matchers::SensorDocuments::new(&view, slot);
    let holding: Vec<&str> = matchers.into_iter().filter(|m| documents.hold(m)).map(|m| m.id.as_str()).collect();
    tenant
        .spatial
        .functions()
        .filter(|f| !f.disabled && path.contains(&f.space_id.as_str()))
        .filter(|f| f.matchers.iter().any(|m| holding.contains(&m.as_str())))
        .map(|f| (f.id.clone(), f.script.clone()))
        .collect()
}

/// The history point of a value a function set.
fn value_point(
    series: Result<history::SeriesId, history::HistoryError>,
    ts: history::Timestamp,
    text: &str,
) -> Result<history::NewPoint, MgmtError> {
    let series = series.map_err(ApiError::from)?;
    Ok(history::NewPoint { series, ts, value: crate::history::value_of(text) })
}

/// Applies what a run set and sent, with its events and the history points of its values, in one durable write.
pub(crate) async fn apply(
    data: &DataPlane,
    tenant: &TenantState,
    function_id: &str,
    correlation_id: &str,
    before: Option<(&str, Option<Value>)>,
    effects: Vec<Effect>,
) -> Result<(), MgmtError> {
    if effects.is_empty() {
        return Ok(());
    }
    let now = crate::data::now();
    let ts = crate::history::micros_of(&now).unwrap_or(history::Timestamp::from_micros(0));
    let source = data.event_source().to_owned();
    let (function_id, correlation_id) = (function_id.to_owned(), correlation_id.to_owned());
    tenant
        .write_all(data, move |tenant| {
            let mut written = Written::default();
            for effect in effects {
                match effect {
                    Effect::SensorValue { sensor, data_type, value } => {
                        // The message's sensor was set by the message itself before the run: its previous value is the one before the message.
                        let previous = match &before {
                            Some((message_sensor, previous)) if *message_sensor == sensor => previous.clone(),
                            _ => tenant
                                .graph
                                .twin(&sensor)
                                .and_then(|t| t.property("value"))
                                .and_then(|v| v.get("value").cloned()),
                        };
                        let text = as_text(&value);
                        let patch =
                            json!([{ "op": "add", "path": "/value", "value": { "value": text, "timestamp": now } }]);
                        let point = value_point(history::SeriesId::sensor(&sensor), ts, &text)?;
                        let (_, changes) = tenant.graph.patch_twin(&sensor, &patch, &Precondition::None, &now)?;
                        written.and(Written::changes(changes));
                        written.ops.extend(tenant.history.plan(&[point]).map_err(ApiError::from)?);
                        written.events.push(envelope(
                            &source,
                            &now,
                            "SensorChange",
                            json!({
                                "Type": "Classic",
                                "DataType": data_type,
                                "Id": sensor,
                                "Value": text,
                                "PreviousValue": previous,
                                "EventTimestamp": now,
                                "MessageType": "sensor",
                                "Properties": { "CorrelationId": correlation_id, "UserDefinedFunctionId": function_id },
                            }),
                        ));
                    }
                    Effect::SpaceValue { space, name, value } => {
                        let values = tenant.graph.twin(&space).and_then(|t| t.property("values"));
                        // A value's name keeps the spelling it was first set with; later calls may spell it in any case.
                        let name = values
                            .as_ref()
                            .and_then(Value::as_object)
                            .and_then(|v| v.keys().find(|k| k.eq_ignore_ascii_case(&name)).cloned())
                            .unwrap_or(name);
                        let previous = values.as_ref().and_then(|v| v.get(&name)).and_then(|v| v.get("value").cloned());
                        let has_values = values.is_some();
                        let pointer = format!("/values/{}", name.replace('~', "~0").replace('/', "~1"));
                        let patch = if value.is_null() {
                            if previous.is_none() {
                                continue;
                            }
                            json!([{ "op": "remove", "path": pointer }])
                        } else {
                            let entry = json!({ "value": as_text(&value), "timestamp": now });
                            if has_values {
                                json!([{ "op": "add", "path": pointer, "value": entry }])
                            } else {
                                json!([{ "op": "add", "path": "/values", "value": { name.clone(): entry } }])
                            }
                        };
                        let point = if value.is_null() {
                            None
                        } else {
                            Some(value_point(history::SeriesId::space_value(&space, &name), ts, &as_text(&value))?)
                        };
                        let (_, changes) = tenant.graph.patch_twin(&space, &patch, &Precondition::None, &now)?;
                        written.and(Written::changes(changes));
                        if let Some(point) = point {
                            written.ops.extend(tenant.history.plan(&[point]).map_err(ApiError::from)?);
                        }
                        written.events.push(envelope(
                            &source,
                            &now,
                            "SpaceChange",
                            json!({
                                "DataType": name,
                                "Id": space,
                                "Value": if value.is_null() { Value::Null } else { json!(as_text(&value)) },
                                "PreviousValue": previous,
                                "EventTimestamp": now,
                                "CorrelationId": correlation_id,
                            }),
                        ));
                    }
                    Effect::Notification { object_id, object_type, payload } => {
                        written.events.push(envelope(
                            &source,
                            &now,
                            "UdfCustom",
                            json!({
                                "TopologyObjectId": object_id,
                                "ResourceType": object_type.name(),
                                "Payload": payload,
                                "CorrelationId": correlation_id,
                            }),
                        ));
                    }
                }
            }
            Ok::<_, MgmtError>(((), written))
        })
        .await
}

/// Counts a run by how it ended (the metric and the function's `Statistics`), keeps it with its log lines, and logs one that failed (at DEBUG: a user's function failing is the user's business, reported in the metric, the statistics and a UdfFailed event).
pub(crate) fn record(state: &crate::router::AppState, tenant: &TenantState, run: &RunOf<'_>, outcome: &RunOutcome) {
    let status = status_label(&outcome.status);
    let message = match &outcome.status {
        sandbox::RunStatus::Ok => None,
        failed => Some(cut(&failed.to_string(), MESSAGE_BYTES_MAX)),
    };
    if message.is_some() {
        tracing::debug!(
            function = run.function_id,
            sensor = run.sensor_id,
            correlation_id = run.correlation_id,
            outcome = %outcome.status,
            log = ?outcome.log,
            "a function run failed"
        );
    }
    state.metrics.record(|| metrics::counter!(RUNS_TOTAL, "status" => status).increment(1));
    let log = kept_log(&outcome.log);
    let log_lines_dropped = outcome.log_lines_dropped + (outcome.log.len() - log.len());
    let record = RunRecord {
        time: crate::data::now(),
        sensor_id: run.sensor_id.to_owned(),
        correlation_id: run.correlation_id.to_owned(),
        status,
        message,
        duration: outcome.duration,
        log,
        log_lines_dropped,
    };
    state.functions.statistics.record(&tenant.id, run.function_id, &outcome.status, record);
}

/// Raises the UdfFailed event of a run that did not end well, durably, before its message is acknowledged.
///
/// The event is ours: the 2018 reference documents no event for a failed run. It has the envelope of the 2018 events, with `data` `{UserDefinedFunctionId, SensorId, CorrelationId, Status, Message}`: `Status` as the `function_runs_total` metric labels it (`threw`, `timed_out`, `out_of_memory`, `stack_overflow`), `Message` the error (at most `MESSAGE_BYTES_MAX` bytes).
pub(crate) async fn raise_failure(
    data: &DataPlane,
    tenant: &TenantState,
    run: &RunOf<'_>,
    outcome: &RunOutcome,
) -> Result<(), MgmtError> {
    let event = envelope(
        data.event_source(),
        &crate::data::now(),
        "UdfFailed",
        json!({
            "UserDefinedFunctionId": run.function_id,
            "SensorId": run.sensor_id,
            "CorrelationId": run.correlation_id,
            "Status": status_label(&outcome.status),
            "Message": cut(&outcome.status.to_string(), MESSAGE_BYTES_MAX),
        }),
    );
    tenant
        .write_all(data, move |_| Ok::<_, MgmtError>(((), Written { events: vec![event], ..Written::default() })))
        .await
}

/// How a run ended, as the metric, the statistics and the UdfFailed event label it.
fn status_label(status: &sandbox::RunStatus) -> &'static str {
    match status {
        sandbox::RunStatus::Ok => "ok",
        sandbox::RunStatus::Threw { .. } => "threw",
        sandbox::RunStatus::TimedOut => "timed_out",
        sandbox::RunStatus::OutOfMemory => "out_of_memory",
        sandbox::RunStatus::StackOverflow => "stack_overflow",
    }
}

/// The first lines of a run's log that fit in `RUN_LOG_BYTES_MAX`.
fn kept_log(log: &[String]) -> Vec<String> {
    let mut bytes = 0;
    log.iter()
        .take_while(|line| {
            bytes += line.len();
            bytes <= RUN_LOG_BYTES_MAX
        })
        .cloned()
        .collect()
}

/// `text` cut to at most `bytes_max` bytes at a character boundary, ending with `…` when cut.
fn cut(text: &str, bytes_max: usize) -> String {
    if text.len() <= bytes_max {
        return text.to_owned();
    }
    let ellipsis = '…';
    let mut end = bytes_max.saturating_sub(ellipsis.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ellipsis}", &text[..end])
}

/// A value as the 2018 API stores it: text as given, anything else as its JSON text.
fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// An event in the Event Grid envelope of the 2018 service, with PascalCase data.
pub(crate) fn envelope(source: &str, now: &str, kind: &str, data: Value) -> Value {
    json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "subject": kind,
        "data": data,
        "eventType": kind,
        "eventTime": now,
        "dataVersion": "1",
        "metadataVersion": "1",
        "topic": source,
    })
}

/// What a function reaches: the tenant, read under its read lock for each call, and every call checked against the function's role assignments; what it sets and sends is recorded, and its own values are what it reads back within the run.
struct TenantHost {
    tenant: Arc<TenantState>,
    function_id: String,
    effects: Vec<Effect>,
    /// Bytes of values and payloads in `effects`.
    effect_bytes: usize,
}

/// Values set and notifications sent in one run, at most; more is refused with `Throttling` (the 2018 service throttled functions' calls too).
const EFFECTS_PER_RUN_MAX: usize = 100;
/// Bytes of one value a function sets; a larger value is refused, so the function sees the error instead of the message failing later.
const VALUE_BYTES_MAX: usize = 4 * 1024;
/// Bytes of one notification's payload.
const PAYLOAD_BYTES_MAX: usize = 32 * 1024;
/// Bytes of everything one run sets and sends.
const EFFECT_BYTES_MAX: usize = 256 * 1024;

/// The RBAC resource type of each object kind.
fn resource(kind: ObjectKind) -> access::Resource<'static> {
    match kind {
        ObjectKind::Space => access::Resource::space(),
        ObjectKind::Device => access::Resource { kind: "Device", category: None },
        ObjectKind::Sensor => access::Resource { kind: "Sensor", category: None },
        ObjectKind::User => access::Resource { kind: "User", category: None },
    }
}

impl TenantHost {
    /// Runs `f` on the object `id` of `kind` once the function may do `action` to it there.
    fn with<T>(
        &self,
        kind: ObjectKind,
        id: &str,
        action: access::Action,
        f: impl FnOnce(&View<'_>, u32) -> Result<T, HostError>,
    ) -> Result<T, HostError> {
        self.tenant.read_all(|tenant| {
            let graph = &tenant.graph;
            let slot = graph.slot(id).filter(|&s| is_kind(graph, s, kind)).ok_or(HostError::DataNotFound)?;
            let view = View::new(tenant);
            let path = view.path_text(slot, kind);
            if !roleassignments::allowed(&view, &self.function_id, action, &resource(kind), &path) {
                return Err(HostError::NotAuthorized);
            }
            f(&view, slot)
        })
    }

    fn metadata(&self, kind: ObjectKind, id: &str) -> Result<Metadata, HostError> {
        self.with(kind, id, access::Action::Read, |view, slot| Ok(render(view, slot, kind)))
    }

    /// The objects of `kind` related to `id` (of `of`) that `related` finds, each the function may read.
    fn related(
        &self,
        of: ObjectKind,
        id: &str,
        kind: ObjectKind,
        related: impl FnOnce(&View<'_>, u32) -> Vec<u32>,
    ) -> Result<Vec<Metadata>, HostError> {
        self.with(of, id, access::Action::Read, |view, slot| {
            Ok(related(view, slot)
                .into_iter()
                .filter(|&s| {
                    let path = view.path_text(s, kind);
                    roleassignments::allowed(view, &self.function_id, access::Action::Read, &resource(kind), &path)
                })
                .map(|s| render(view, s, kind))
                .collect())
        })
    }

    fn parent(&self, of: ObjectKind, id: &str, kind: ObjectKind) -> Result<Option<Metadata>, HostError> {
        let found = self.related(of, id, kind, |view, slot| {
            let parent = match (of, kind) {
                (ObjectKind::Sensor, ObjectKind::Device) => {
                    view.graph.parent_at(slot).filter(|&d| view.kinds.kind_at(d) == Some(ObjectKind::Device))
                }
                _ => view.space_of(slot, of),
            };
            parent.into_iter().collect()
        })?;
        Ok(found.into_iter().next())
    }

    fn extended_property(
        &self,
        kind: ObjectKind,
        id: &str,
        name: &str,
    ) -> Result<sandbox::ExtendedProperty, HostError> {
        self.with(kind, id, access::Action::Read, |view, slot| {
            let properties = view.graph.twin_at(slot).and_then(|t| t.property("properties"));
            let found = properties.as_ref().and_then(Value::as_object).and_then(|map| {
                map.iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .map(|(key, value)| (key.clone(), value.clone()))
            });
            let (name, value) = found.ok_or(HostError::DataNotFound)?;
            Ok(sandbox::ExtendedProperty { name, value: as_text(&value) })
        })
    }

    /// The newest points of a series as readings, newest first.
    fn history(
        &self,
        series: Result<history::SeriesId, history::HistoryError>,
        data_type: &str,
    ) -> Result<Vec<Reading>, HostError> {
        let failed = |err: history::HistoryError| {
            tracing::warn!(function = %self.function_id, error = %err, "a function's history read failed");
            HostError::Invalid(format!("the history cannot be read: {err}"))
        };
        let series = series.map_err(failed)?;
        let points =
            crate::history::recent(self.tenant.points(), &series, crate::history::HOST_POINTS_MAX).map_err(failed)?;
        Ok(points
            .into_iter()
            .map(|point| Reading {
                data_type: data_type.to_owned(),
                value: json!(point.value.text()),
                timestamp: crate::history::rfc3339(point.position.ts),
            })
            .collect())
    }

    /// Records what the function set or sent, within the limits of a run.
    fn push(&mut self, effect: Effect, bytes: usize, bytes_max: usize) -> Result<(), HostError> {
        if bytes > bytes_max {
            return Err(HostError::Invalid(format!("the value has {bytes} bytes; at most {bytes_max} are accepted")));
        }
        if self.effects.len() >= EFFECTS_PER_RUN_MAX || self.effect_bytes + bytes > EFFECT_BYTES_MAX {
            return Err(HostError::Throttled);
        }
        self.effect_bytes += bytes;
        self.effects.push(effect);
        Ok(())
    }

    /// The latest value this run set for a sensor or a space value, if it set one.
    fn pending(&self, sensor: Option<&str>, space: Option<(&str, &str)>) -> Option<Value> {
        self.effects.iter().rev().find_map(|effect| match (effect, sensor, space) {
            (Effect::SensorValue { sensor: s, value, .. }, Some(wanted), _) if s == wanted => Some(value.clone()),
            (Effect::SpaceValue { space: s, name, value }, _, Some((wanted, wanted_name)))
                if s == wanted && name.eq_ignore_ascii_case(wanted_name) =>
            {
                Some(value.clone())
            }
            _ => None,
        })
    }
}

/// An object as functions see it: its 2018 shape with types and extended properties.
fn render(view: &View<'_>, slot: u32, kind: ObjectKind) -> Metadata {
    match view.render(slot, kind, &Includes::of(&["types", "properties"])) {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

impl Host for TenantHost {
    fn get_sensor_metadata(&mut self, sensor_id: &str) -> Result<Metadata, HostError> {
        self.metadata(ObjectKind::Sensor, sensor_id)
    }

    fn get_space_metadata(&mut self, space_id: &str) -> Result<Metadata, HostError> {
        self.metadata(ObjectKind::Space, space_id)
    }

    fn get_device_metadata(&mut self, device_id: &str) -> Result<Metadata, HostError> {
        self.metadata(ObjectKind::Device, device_id)
    }

    fn get_sensor_value(&mut self, sensor_id: &str, data_type: &str) -> Result<Option<Reading>, HostError> {
        let now = crate::data::now();
        let stored = self.with(ObjectKind::Sensor, sensor_id, access::Action::Read, |view, slot| {
            let twin = view.graph.twin_at(slot);
            let kind = twin.and_then(|t| t.property("dataType")).and_then(|v| v.as_str().map(str::to_owned));
            let value = twin.and_then(|t| t.property("value"));
            Ok((kind, value))
        })?;
        let data_type = stored.0.unwrap_or_else(|| data_type.to_owned());
        if let Some(value) = self.pending(Some(sensor_id), None) {
            return Ok(Some(Reading { data_type, value: json!(as_text(&value)), timestamp: now }));
        }
        Ok(stored.1.map(|v| Reading {
            data_type,
            value: v.get("value").cloned().unwrap_or(Value::Null),
            timestamp: v.get("timestamp").and_then(Value::as_str).unwrap_or_default().to_owned(),
        }))
    }

    fn get_space_value(&mut self, space_id: &str, value_name: &str) -> Result<Option<Reading>, HostError> {
        let stored = self.with(ObjectKind::Space, space_id, access::Action::Read, |view, slot| {
            let values = view.graph.twin_at(slot).and_then(|t| t.property("values"));
            Ok(values.and_then(|v| {
                v.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(value_name)).map(|(_, v)| v.clone())
            }))
        })?;
        if let Some(value) = self.pending(None, Some((space_id, value_name))) {
            if value.is_null() {
                return Ok(None);
            }
            return Ok(Some(Reading {
                data_type: value_name.to_owned(),
                value: json!(as_text(&value)),
                timestamp: crate::data::now(),
            }));
        }
        Ok(stored.map(|v| Reading {
            data_type: value_name.to_owned(),
            value: v.get("value").cloned().unwrap_or(Value::Null),
            timestamp: v.get("timestamp").and_then(Value::as_str).unwrap_or_default().to_owned(),
        }))
    }

    fn get_sensor_history_values(&mut self, sensor_id: &str, data_type: &str) -> Result<Vec<Reading>, HostError> {
        let kind = self.with(ObjectKind::Sensor, sensor_id, access::Action::Read, |view, slot| {
            let twin = view.graph.twin_at(slot);
            Ok(twin.and_then(|t| t.property("dataType")).and_then(|v| v.as_str().map(str::to_owned)))
        })?;
        let data_type = kind.unwrap_or_else(|| data_type.to_owned());
        self.history(history::SeriesId::sensor(sensor_id), &data_type)
    }

    fn get_space_history_values(&mut self, space_id: &str, value_name: &str) -> Result<Vec<Reading>, HostError> {
        // The series is named by the spelling the value was first set with, as the twin keeps it.
        let name = self.with(ObjectKind::Space, space_id, access::Action::Read, |view, slot| {
            let values = view.graph.twin_at(slot).and_then(|t| t.property("values"));
            Ok(values.and_then(|v| v.as_object()?.keys().find(|k| k.eq_ignore_ascii_case(value_name)).cloned()))
        })?;
        let Some(name) = name else { return Ok(Vec::new()) };
        self.history(history::SeriesId::space_value(space_id, &name), &name)
    }

    fn get_space_child_spaces(&mut self, space_id: &str) -> Result<Vec<Metadata>, HostError> {
        self.related(ObjectKind::Space, space_id, ObjectKind::Space, |view, slot| {
            view.children_of_kind(slot, ObjectKind::Space)
        })
    }

    fn get_space_child_sensors(&mut self, space_id: &str) -> Result<Vec<Metadata>, HostError> {
        self.related(ObjectKind::Space, space_id, ObjectKind::Sensor, |view, slot| {
            view.children_of_kind(slot, ObjectKind::Sensor)
        })
    }

    fn get_space_child_devices(&mut self, space_id: &str) -> Result<Vec<Metadata>, HostError> {
        self.related(ObjectKind::Space, space_id, ObjectKind::Device, |view, slot| {
            view.children_of_kind(slot, ObjectKind::Device)
        })
    }

    fn get_device_child_sensors(&mut self, device_id: &str) -> Result<Vec<Metadata>, HostError> {
        self.related(ObjectKind::Device, device_id, ObjectKind::Sensor, |view, slot| {
            view.children_of_kind(slot, ObjectKind::Sensor)
        })
    }

    fn get_space_parent_space(&mut self, space_id: &str) -> Result<Option<Metadata>, HostError> {
        self.parent(ObjectKind::Space, space_id, ObjectKind::Space)
    }

    fn get_sensor_parent_space(&mut self, sensor_id: &str) -> Result<Metadata, HostError> {
        self.parent(ObjectKind::Sensor, sensor_id, ObjectKind::Space)?.ok_or(HostError::DataNotFound)
    }

    fn get_device_parent_space(&mut self, device_id: &str) -> Result<Metadata, HostError> {
        self.parent(ObjectKind::Device, device_id, ObjectKind::Space)?.ok_or(HostError::DataNotFound)
    }

    fn get_sensor_parent_device(&mut self, sensor_id: &str) -> Result<Metadata, HostError> {
        self.parent(ObjectKind::Sensor, sensor_id, ObjectKind::Device)?.ok_or(HostError::DataNotFound)
    }

    fn get_space_extended_property(
        &mut self,
        space_id: &str,
        name: &str,
    ) -> Result<sandbox::ExtendedProperty, HostError> {
        self.extended_property(ObjectKind::Space, space_id, name)
    }

    fn get_sensor_extended_property(
        &mut self,
        sensor_id: &str,
        name: &str,
    ) -> Result<sandbox::ExtendedProperty, HostError> {
        self.extended_property(ObjectKind::Sensor, sensor_id, name)
    }

    fn get_device_extended_property(
        &mut self,
        device_id: &str,
        name: &str,
    ) -> Result<sandbox::ExtendedProperty, HostError> {
        self.extended_property(ObjectKind::Device, device_id, name)
    }

    fn set_sensor_value(&mut self, sensor_id: &str, data_type: &str, value: Value) -> Result<(), HostError> {
        self.with(ObjectKind::Sensor, sensor_id, access::Action::Update, |_, _| Ok(()))?;
        let bytes = as_text(&value).len();
        self.push(
            Effect::SensorValue { sensor: sensor_id.to_owned(), data_type: data_type.to_owned(), value },
            bytes,
            VALUE_BYTES_MAX,
        )
    }

    fn set_space_value(&mut self, space_id: &str, value_name: &str, value: Value) -> Result<(), HostError> {
        if value_name.is_empty() || value_name.chars().count() > 64 {
            return Err(HostError::Invalid("a space value's name has 1 to 64 characters".to_owned()));
        }
        self.with(ObjectKind::Space, space_id, access::Action::Update, |_, _| Ok(()))?;
        let bytes = as_text(&value).len();
        self.push(
            Effect::SpaceValue { space: space_id.to_owned(), name: value_name.to_owned(), value },
            bytes,
            VALUE_BYTES_MAX,
        )
    }

    fn send_notification(&mut self, object_id: &str, object_type: ObjectType, payload: &str) -> Result<(), HostError> {
        let kind = match object_type {
            ObjectType::Space => ObjectKind::Space,
            ObjectType::Device => ObjectKind::Device,
            ObjectType::Sensor => ObjectKind::Sensor,
        };
        self.with(kind, object_id, access::Action::Read, |_, _| Ok(()))?;
        let bytes = payload.len();
        let effect = Effect::Notification { object_id: object_id.to_owned(), object_type, payload: payload.to_owned() };
        self.push(effect, bytes, PAYLOAD_BYTES_MAX)
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    fn run(n: usize, log: &[&str]) -> RunRecord {
        RunRecord {
            time: format!("t{n}"),
            sensor_id: "sensor".to_owned(),
            correlation_id: format!("c{n}"),
            status: "ok",
            message: None,
            duration: Duration::from_millis(n as u64),
            log: log.iter().map(|l| (*l).to_owned()).collect(),
            log_lines_dropped: 0,
        }
    }

    #[test]
    fn a_function_keeps_its_last_runs_and_all_its_counts() {
        let statistics = Statistics::default();
        let tenant = TenantId::default_tenant();
        for n in 1..=RECENT_RUNS_MAX + 5 {
            let status = if n % 5 == 0 { sandbox::RunStatus::TimedOut } else { sandbox::RunStatus::Ok };
            statistics.record(&tenant, "F-1", &status, run(n, &["line"]));
        }
        // Ids are matched ignoring case, as the routes match them.
        let runs = statistics.of(&tenant, "f-1").expect("the function ran");
        expect![[r#"
            RunCounts { runs: 25, ok: 20, threw: 0, timed_out: 5, out_of_memory: 0, stack_overflow: 0, duration_total: 325ms, duration_max: 25ms }"#]]
        .assert_eq(&format!("{:?}", runs.counts));
        let kept: Vec<&str> = runs.recent.iter().map(|r| r.correlation_id.as_str()).collect();
        assert_eq!(kept.len(), RECENT_RUNS_MAX);
        assert_eq!((kept[0], kept[RECENT_RUNS_MAX - 1]), ("c6", "c25"));
        statistics.forget(&tenant, "F-1");
        assert!(statistics.of(&tenant, "F-1").is_none());
    }

    #[test]
    fn past_the_functions_tracked_the_one_that_ran_least_recently_is_forgotten() {
        let statistics = Statistics::default();
        let tenant = TenantId::default_tenant();
        for n in 0..FUNCTIONS_TRACKED_MAX {
            statistics.record(&tenant, &format!("f{n}"), &sandbox::RunStatus::Ok, run(n, &[]));
        }
        statistics.record(&tenant, "f0", &sandbox::RunStatus::Ok, run(0, &[]));
        statistics.record(&tenant, "new", &sandbox::RunStatus::Ok, run(0, &[]));
        let known = |id: &str| statistics.of(&tenant, id).is_some();
        assert_eq!((known("f0"), known("f1"), known("f2"), known("new")), (true, false, true, true));
    }

    #[test]
    fn a_kept_run_holds_the_first_log_lines_that_fit() {
        let line = "x".repeat(RUN_LOG_BYTES_MAX / 3);
        let log = vec![line.clone(); 5];
        assert_eq!(kept_log(&log), vec![line; 3]);
        assert_eq!(kept_log(&["a".to_owned(), "x".repeat(RUN_LOG_BYTES_MAX), "b".to_owned()]), ["a"]);
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("ééééé", 6), "é…");
        assert!(cut(&"x".repeat(1000), MESSAGE_BYTES_MAX).len() <= MESSAGE_BYTES_MAX);
    }
}
