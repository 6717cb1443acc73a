//! User-defined functions on telemetry: which functions a stored sensor value runs (`selection`: the matchers on the sensor's spaces that select it, and the enabled functions on those spaces that list one of them, computed once per sensor and shape of the tenant), a pool of worker threads that run them in `compute::sandbox` (QuickJS runtimes are not `Send`, so each worker keeps its own), the host the functions call (`host`: reads of the tenant under its read lock, every call checked against the function's role assignments, writes recorded), and applying what the runs set and sent (`apply`).
//!
//! The runs of a batch's messages (what an MQTT connection has in flight, an HTTP batch) go to the workers in the batch's order, in jobs of at most `JOB_RUNS_MAX` runs one after another (so other connections' jobs run between them); then the messages' values and what their runs did are stored in one durable write, message by message (`apply_runs`), before any message of the batch is acknowledged.
//! Each run sees the batch as if its messages and runs came one at a time: the graph does not hold the batch yet, and the values of the messages up to the run's own and what earlier runs set read as set.
//! Every value a run sets is recorded in its history series in the same batch (`SeriesId::sensor` for `setSensorValue`, `SeriesId::space_value` for `setSpaceValue`, at the time of the write); a `null` that clears a space value records no point, since history holds values, not their absence.
//! The history calls of the host (`getSensorHistoryValues`, `getSpaceHistoryValues`, and `History()` on the objects) answer the newest `history::HOST_POINTS_MAX` points of the series, newest first, read from the store without the tenant's lock, with the points the batch wrote before the run (its messages' values up to the run's own, what earlier runs set), which the store does not hold yet; what the run itself sets is not among them.
//! A function that throws, runs out of time or memory, or is refused by the host does not stop the pipeline: its run is counted and logged, what it set before failing is not applied, and a UdfFailed event says so.
//! Each function's run statistics and its last runs with their `log()` lines are kept in memory (`Statistics`, bounded, forgotten on restart) for the management API to show; this file does not render them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use compute::sandbox::{self, ExecutionContext, ObjectType, RunOutcome, Sandbox};
use serde::Serialize;
use serde_json::Value;
use store::TenantId;

use crate::data::{Event, TenantState};

mod apply;
mod host;
mod selection;

pub(crate) use apply::{Finished, OwnSensor, apply_runs, fail_runs, record_runs};
pub(crate) use host::Rendered;
pub(crate) use selection::{Selected, Selections, selected};

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

/// Runs of a batch for a worker, at most `JOB_RUNS_MAX` of them, with the values the batch's messages stored and what the batch's earlier jobs wrote.
struct Job {
    tenant: Arc<TenantState>,
    triggers: Arc<[Trigger]>,
    runs: Vec<PlannedRun>,
    progress: Progress,
    reply: tokio::sync::oneshot::Sender<(Vec<Ran>, Progress)>,
}

/// How far a batch's runs went: what they and the messages up to them wrote, in order.
#[derive(Default)]
struct Progress {
    timeline: Vec<host::Write>,
    /// The batch's messages whose values are in `timeline`.
    stored: usize,
}

/// Runs a job holds at most: a large batch goes to the workers in jobs this size, so the jobs of other connections run between them rather than after the whole batch.
const JOB_RUNS_MAX: usize = 16;

/// A value a message of a batch stores, in the batch's order.
#[derive(Clone, Debug)]
pub(crate) struct Trigger {
    pub(crate) sensor: String,
    /// The value as stored (text).
    pub(crate) value: String,
    pub(crate) timestamp: String,
}

/// A run a batch asks for: a function its message's value selected.
pub(crate) struct PlannedRun {
    /// The message, as an index into the batch's triggers.
    pub(crate) message: usize,
    pub(crate) function_id: String,
    pub(crate) script: Arc<str>,
    pub(crate) telemetry: sandbox::Telemetry,
    pub(crate) context: ExecutionContext,
}

/// What a run did: how it ended and, when it ended well, what it set and sent.
pub(crate) struct Ran {
    pub(crate) outcome: RunOutcome,
    /// What it set and sent, in order; nothing when it did not end well.
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
                        let Ok(mut job) = job else { return };
                        let progress = std::mem::take(&mut job.progress);
                        let done = work(&mut sandbox, &limits, &job, progress);
                        let _ = job.reply.send(done);
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(error = %err, "a function worker thread could not start");
            }
        }
        Functions { jobs: Mutex::new(sender), statistics: Statistics::default() }
    }

    /// Runs a batch's runs, in order, in jobs of at most `JOB_RUNS_MAX` runs, and waits for their outcomes (one for each run, in order); `None` when no worker is left.
    pub(crate) async fn run_batch(
        &self,
        tenant: Arc<TenantState>,
        triggers: Vec<Trigger>,
        runs: Vec<PlannedRun>,
    ) -> Option<Vec<Ran>> {
        let triggers: Arc<[Trigger]> = triggers.into();
        let mut progress = Progress::default();
        let mut ran = Vec::with_capacity(runs.len());
        let mut runs = runs.into_iter().peekable();
        while runs.peek().is_some() {
            let chunk: Vec<PlannedRun> = runs.by_ref().take(JOB_RUNS_MAX).collect();
            let (reply, done) = tokio::sync::oneshot::channel();
            let job =
                Job { tenant: Arc::clone(&tenant), triggers: Arc::clone(&triggers), runs: chunk, progress, reply };
            self.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).send(job).ok()?;
            let (chunk_ran, chunk_progress) = done.await.ok()?;
            ran.extend(chunk_ran);
            progress = chunk_progress;
        }
        Some(ran)
    }
}

/// Runs a batch's runs one after another, each seeing the batch as if its messages and runs came one at a time: the values of the messages up to its own and what the runs before it set (`host::Overlay`).
fn work(sandbox: &mut Sandbox, limits: &sandbox::Limits, job: &Job, progress: Progress) -> (Vec<Ran>, Progress) {
    let Progress { mut timeline, mut stored } = progress;
    let mut ran = Vec::with_capacity(job.runs.len());
    for run in &job.runs {
        while stored <= run.message && stored < job.triggers.len() {
            timeline.push(host::Write::message(&job.triggers, stored));
            stored += 1;
        }
        let overlay = host::Overlay { timeline: &timeline };
        let mut host = host::TenantHost::new(&job.tenant, &run.function_id, overlay);
        let started = std::time::Instant::now();
        // A panic in the engine or the host ends the run, not the worker: the run is a failure and the sandbox is replaced.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            sandbox.run(&run.script, &run.telemetry, &run.context, &mut host)
        }));
        let effects = host.into_effects();
        let outcome = outcome.unwrap_or_else(|_| {
            tracing::error!("a function run panicked; its sandbox is replaced");
            *sandbox = Sandbox::new(limits.clone());
            let status = sandbox::RunStatus::Threw {
                message: "InternalError: the run failed inside the server".to_owned(),
                stack: None,
            };
            RunOutcome { status, duration: started.elapsed(), log: Vec::new(), log_lines_dropped: 0 }
        });
        let effects = if outcome.status == sandbox::RunStatus::Ok {
            host::settle(&mut timeline, &effects);
            effects
        } else {
            Vec::new()
        };
        ran.push(Ran { outcome, effects });
    }
    (ran, Progress { timeline, stored })
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

/// An event in the Event Grid envelope of the 2018 service, with PascalCase data (a struct deriving `Serialize` with `rename_all = "PascalCase"`); its subject is its kind.
pub(crate) fn envelope(source: &str, now: &str, kind: &str, data: &impl Serialize) -> Event {
    envelope_about(source, now, kind, kind, data)
}

/// `envelope` with a subject other than the kind (a TopologyOperation's is the object's type).
pub(crate) fn envelope_about(source: &str, now: &str, kind: &str, subject: &str, data: &impl Serialize) -> Event {
    let mut id = uuid::Uuid::encode_buffer();
    Event::new(&Envelope {
        id: uuid::Uuid::new_v4().hyphenated().encode_lower(&mut id),
        subject,
        data,
        event_type: kind,
        event_time: now,
        data_version: "1",
        metadata_version: "1",
        topic: source,
    })
}

/// The Event Grid envelope, its members in the order the 2018 service wrote them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a, D> {
    id: &'a str,
    subject: &'a str,
    data: &'a D,
    event_type: &'a str,
    event_time: &'a str,
    data_version: &'static str,
    metadata_version: &'static str,
    topic: &'a str,
}

/// The envelope as it was built with `json!` before events were written from structs, with the given id: what tests compare `envelope_about`'s text with.
#[cfg(test)]
pub(crate) fn envelope_as_value(source: &str, now: &str, kind: &str, subject: &str, data: Value, id: &str) -> Value {
    serde_json::json!({
        "id": id,
        "subject": subject,
        "data": data,
        "eventType": kind,
        "eventTime": now,
        "dataVersion": "1",
        "metadataVersion": "1",
        "topic": source,
    })
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
    fn envelopes_are_the_json_they_were_built_as_before() {
        let (source, now) = ("https://twinscape.example", "2026-11-26T12:00:00.0000000Z");
        let data = serde_json::json!({"Id": "s \"1\"", "Value": 2.5, "Nested": {"B": null, "A": [1, "é"]}});
        envelope(source, now, "SensorChange", &data)
            .check_same_as(|id| envelope_as_value(source, now, "SensorChange", "SensorChange", data.clone(), id));
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("ééééé", 6), "é…");
        assert!(cut(&"x".repeat(1000), MESSAGE_BYTES_MAX).len() <= MESSAGE_BYTES_MAX);
    }
}
