//! The JavaScript sandbox of user-defined functions: a QuickJS runtime per worker thread that runs a function's `process(telemetry, executionContext)` in a context reset after every run, under a time limit, a memory limit and a stack limit, with the 2018 client library (`getSensorMetadata`, `setSpaceValue`, `space.Parent()`, …) answered by a `Host`.
//!
//! Layout: this file holds the API (`Sandbox`, `Limits`, `Host`, `RunOutcome`) and the run itself; `realm` builds the context runs share, locks it down, resets it after each run and keeps functions compiled; `library` builds the client library inside a context and converts between host data and JavaScript values.
//! Isolation: runs share one context per runtime, but nothing one run leaves behind reaches the next: built-ins and the library are frozen (assigning to them fails, silently in sloppy mode as for any frozen object, so a function cannot change `Array.prototype` even for itself), the globals a run adds are deleted after it, each run runs the function's top level again, so its declarations and closures start fresh, and a run that kept memory alive where the reset cannot see it (a private field on the global object) has its runtime replaced.
//! A new source is compiled before its run, outside the host session (checking that it stays inside its wrapper evaluates it that far), and the upload check compiles it the same way.
//! A function's top-level declarations (`process` too) are its own, not properties of the global object: the source is compiled once as the body of a function, which each run calls.
//! A run ends when `process` returned and the promise jobs it queued ran; a promise it rejected and never handled ends it as `Threw`, like an error `process` threw.
//! What a function can reach is the language, the client library and a frozen `Date`: QuickJS as built here has no `os` or `std` module, no module loader, no timers and no `performance` clock, and `Date.now()` and `new Date()` answer the run's processor received time.
//! One thing of the machine still shows: QuickJS's local-time methods (`Date()`, `getHours()`) follow the process's time zone.
//! The time limit is a deadline on the monotonic clock (`Instant::now()` at the start of a run plus `Limits::time_ms`), checked by QuickJS's interrupt handler; that clock is not wall time, so reading it here keeps runs deterministic in what they compute.
//! This file does no I/O, checks no permission and stores nothing: the server's `Host` reads the graph, checks the function's role assignments, and records values, notifications and logs.

mod library;
mod realm;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rquickjs::context::intrinsic;
use rquickjs::{Context, Ctx, Exception, Function, Persistent, Runtime, Value};
use serde_json::Map;

use realm::Realm;

/// The limits of a run, set from config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Milliseconds a run may take, from the start of its top level (compiling it, when the sandbox has not yet) to the last promise job `process` queued, host calls included (default 50).
    /// Building a runtime, on the first run and after a run hit a limit, does not count.
    pub time_ms: u64,
    /// Bytes the runtime may allocate, the shared context (about 0.4 MiB), the functions kept compiled, the run's objects and up to 1 MiB of cycles earlier runs left for collection included (default 16 MiB).
    /// The 2018 reference gives no figure; QuickJS crashes instead of throwing at very low limits, so keep this at 16 MiB or more.
    pub memory_bytes: usize,
    /// Bytes of native stack the interpreter may use below the run's start (default 256 KiB); deeper recursion throws a stack overflow.
    /// The worker thread's stack must be larger than this plus the host's own needs.
    pub stack_bytes: usize,
    /// Lines of `log()` a run keeps (default 100); later lines are counted in `RunOutcome::log_lines_dropped`.
    pub log_lines_max: usize,
    /// Bytes of one `log()` line (default 4 KiB); a longer line is cut at a character boundary and ends with `…`.
    pub log_line_bytes_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            time_ms: 50,
            memory_bytes: 16 * 1024 * 1024,
            stack_bytes: 256 * 1024,
            log_lines_max: 100,
            log_line_bytes_max: 4 * 1024,
        }
    }
}

/// A space, device or sensor as the client library returns it: the 2018 retrieve object in camelCase (`{"id", "name", "dataType", "spaceId", …}`).
/// The sandbox shows each member under its PascalCase name too (`sensor.DataType` and `sensor.dataType`).
/// Shared, so a host can keep the objects it renders and hand out the same one to many runs.
pub type Metadata = std::sync::Arc<Map<String, serde_json::Value>>;

/// A sensor value or a computed space value.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    /// The sensor's data type, or the space value's name.
    pub data_type: String,
    /// The value as it was set (the 2018 API stores what `setSensorValue` and `setSpaceValue` were given).
    pub value: serde_json::Value,
    /// When the value was set, as the server formats times on the wire (ISO 8601).
    pub timestamp: String,
}

/// An extended property of a space, device or sensor (`{"name", "value"}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtendedProperty {
    pub name: String,
    pub value: String,
}

/// The kind of topology object a notification is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectType {
    Space,
    Device,
    Sensor,
}

impl ObjectType {
    /// The name the 2018 API uses (`ResourceType` of a UdfCustom event).
    pub fn name(self) -> &'static str {
        match self {
            ObjectType::Space => "Space",
            ObjectType::Device => "Device",
            ObjectType::Sensor => "Sensor",
        }
    }
}

/// Why a host call failed; the function sees a thrown `Error` whose message is this error's text, which it may catch.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// The function's role assignments do not cover the object.
    #[error("Not Authorized")]
    NotAuthorized,
    /// The object, value or property does not exist.
    #[error("Data Not Found")]
    DataNotFound,
    /// The function called the host more often than the host's rate limits allow.
    #[error("Throttling")]
    Throttled,
    /// The call itself is wrong (a missing argument, an unknown object type, a value too large); the text says how.
    #[error("{0}")]
    Invalid(String),
}

/// What a function reaches beyond itself: the 2018 client library's host calls, one method each.
///
/// The server implements it per run, checking every call against the function's role assignments and recording what the function sets and sends.
/// Calls are synchronous; the time a call takes counts against the run's time limit, which cannot interrupt a call in progress.
pub trait Host {
    fn get_sensor_metadata(&mut self, sensor_id: &str) -> Result<Metadata, HostError>;
    fn get_space_metadata(&mut self, space_id: &str) -> Result<Metadata, HostError>;
    fn get_device_metadata(&mut self, device_id: &str) -> Result<Metadata, HostError>;
    /// The sensor's current value of a data type; `None` before any value was set (the function then sees `Value: null`).
    fn get_sensor_value(&mut self, sensor_id: &str, data_type: &str) -> Result<Option<Reading>, HostError>;
    /// The space's current value of a name; `None` before any value was set.
    fn get_space_value(&mut self, space_id: &str, value_name: &str) -> Result<Option<Reading>, HostError>;
    fn get_sensor_history_values(&mut self, sensor_id: &str, data_type: &str) -> Result<Vec<Reading>, HostError>;
    fn get_space_history_values(&mut self, space_id: &str, value_name: &str) -> Result<Vec<Reading>, HostError>;
    fn get_space_child_spaces(&mut self, space_id: &str) -> Result<Vec<Metadata>, HostError>;
    fn get_space_child_sensors(&mut self, space_id: &str) -> Result<Vec<Metadata>, HostError>;
    fn get_space_child_devices(&mut self, space_id: &str) -> Result<Vec<Metadata>, HostError>;
    fn get_device_child_sensors(&mut self, device_id: &str) -> Result<Vec<Metadata>, HostError>;
    /// The parent of a space; `None` for a root space (the function sees `null`).
    fn get_space_parent_space(&mut self, space_id: &str) -> Result<Option<Metadata>, HostError>;
    fn get_sensor_parent_space(&mut self, sensor_id: &str) -> Result<Metadata, HostError>;
    fn get_device_parent_space(&mut self, device_id: &str) -> Result<Metadata, HostError>;
    fn get_sensor_parent_device(&mut self, sensor_id: &str) -> Result<Metadata, HostError>;
    /// An extended property; a missing one is `DataNotFound` (the 2018 samples catch it).
    fn get_space_extended_property(&mut self, space_id: &str, name: &str) -> Result<ExtendedProperty, HostError>;
    fn get_sensor_extended_property(&mut self, sensor_id: &str, name: &str) -> Result<ExtendedProperty, HostError>;
    fn get_device_extended_property(&mut self, device_id: &str, name: &str) -> Result<ExtendedProperty, HostError>;
    /// Sets the sensor's current value; the value is what the function passed, converted to JSON (`undefined` is `null`).
    fn set_sensor_value(&mut self, sensor_id: &str, data_type: &str, value: serde_json::Value)
    -> Result<(), HostError>;
    /// Sets a computed value of the space; `null` clears it (the 2018 samples do).
    fn set_space_value(&mut self, space_id: &str, value_name: &str, value: serde_json::Value) -> Result<(), HostError>;
    /// A custom notification (a UdfCustom event); the payload is the string the function passed, or the JSON text of any other value.
    fn send_notification(&mut self, object_id: &str, object_type: ObjectType, payload: &str) -> Result<(), HostError>;
    /// A line the function logged, after `Limits::log_line_bytes_max` cut it; lines past `Limits::log_lines_max` are not passed on.
    /// The same lines come back in `RunOutcome::log`; this call is for a host that traces them as they come.
    fn log(&mut self, message: &str) -> Result<(), HostError> {
        let _ = message;
        Ok(())
    }
}

/// The telemetry message a run processes (`telemetry` in JavaScript).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Telemetry {
    /// `telemetry.SensorId`.
    pub sensor_id: String,
    /// `telemetry.Message`: the device's payload as text, as received.
    pub message: String,
}

/// The run's `executionContext`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionContext {
    /// `executionContext.EnqueuedTime`, a `Date`: when the message was accepted.
    pub enqueued_time_unix_ms: i64,
    /// `executionContext.ProcessorReceivedTime`, a `Date`: when processing began; also what `Date.now()` answers during the run.
    pub processor_received_time_unix_ms: i64,
    /// `executionContext.UserDefinedFunctionId`.
    pub user_defined_function_id: String,
    /// `executionContext.CorrelationId`.
    pub correlation_id: String,
}

/// What a run did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    pub status: RunStatus,
    /// From the start of the run to its end, building a runtime (on a sandbox's first run and after a limit) and compiling the function (on its first run) included.
    pub duration: Duration,
    /// The lines the function logged, at most `Limits::log_lines_max`, each at most `Limits::log_line_bytes_max`.
    pub log: Vec<String>,
    /// Lines logged past `Limits::log_lines_max`.
    pub log_lines_dropped: usize,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// `process` returned (or the promise it returned settled or stayed pending without error), and no promise the run rejected was left unhandled.
    Ok,
    /// The function threw and did not catch it, a host error included, or rejected a promise and never handled it (the first such rejection); `message` is the error as `String(error)` shows it (`Error: Not Authorized`), `stack` its frames when it is an `Error`.
    Threw { message: String, stack: Option<String> },
    /// The run passed `Limits::time_ms`.
    TimedOut,
    /// The run passed `Limits::memory_bytes`.
    OutOfMemory,
    /// The run recursed past `Limits::stack_bytes`.
    StackOverflow,
}

impl RunStatus {
    /// Whether the run hit one of the limits (the sandbox then replaces its runtime).
    pub fn hit_limit(&self) -> bool {
        matches!(self, RunStatus::TimedOut | RunStatus::OutOfMemory | RunStatus::StackOverflow)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunStatus::Ok => f.write_str("ok"),
            RunStatus::Threw { message, stack } => {
                f.write_str(message)?;
                match stack.as_deref().and_then(|stack| stack.lines().map(str::trim).find(|line| !line.is_empty())) {
                    Some(frame) => write!(f, " ({frame})"),
                    None => Ok(()),
                }
            }
            RunStatus::TimedOut => f.write_str("timed out"),
            RunStatus::OutOfMemory => f.write_str("out of memory"),
            RunStatus::StackOverflow => f.write_str("stack overflow"),
        }
    }
}

/// Why a function was refused at upload.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// It does not compile, or its top level threw or hit a limit.
    #[error("{0}")]
    Failed(RunStatus),
    /// It compiles but defines no function `process`.
    #[error("the function defines no `process(telemetry, executionContext)` function")]
    NoProcess,
}

/// Runs user-defined functions on one thread: it owns a QuickJS runtime (which is not `Send`), so a server keeps one per worker thread.
///
/// Runs share one locked-down context that is reset after each run (see the file's header), so globals and closures of one run are gone in the next and built-ins cannot be changed.
/// After a run hits a limit, or leaves the context in a state a reset cannot undo (a global it cannot delete, the global object made non-extensible), the runtime is dropped and the next run starts a new one, so memory a runaway run left behind is freed with it.
pub struct Sandbox {
    limits: Limits,
    engine: Option<Engine>,
    runtimes_created: u64,
}

impl Sandbox {
    /// A sandbox with these limits; the runtime is created on the first run.
    pub fn new(limits: Limits) -> Sandbox {
        Sandbox { limits, engine: None, runtimes_created: 0 }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Runtimes this sandbox created so far: one, plus one after each run that hit a limit or left the context unresettable.
    pub fn runtimes_created(&self) -> u64 {
        self.runtimes_created
    }

    /// Runs `source`'s `process(telemetry, executionContext)` once, in the shared context, with `host` answering the client library, and resets the context.
    ///
    /// The function's top level runs first on every run (compiled on its first run and kept, keyed by the source text), then `process`, then any promise jobs it queued; all of it within the limits.
    pub fn run(
        &mut self,
        source: &str,
        telemetry: &Telemetry,
        context: &ExecutionContext,
        host: &mut dyn Host,
    ) -> RunOutcome {
        let started = Instant::now();
        let time = Duration::from_millis(self.limits.time_ms);
        let mut log = library::Log::new(&self.limits);
        let (status, recycle) = match self.engine() {
            Some(engine) => {
                // A runtime built for this run (the first, or the one after a limit) does not count against its time.
                let deadline = Instant::now() + time;
                match engine.compile(source, deadline) {
                    Err((status, recycle)) => (status, recycle),
                    Ok(()) => {
                        let session = library::Session { host, log: &mut log };
                        let (found, recycle) =
                            library::with_session(session, || engine.run(source, telemetry, context, deadline));
                        let status = match found {
                            Ok(Found::Process) => RunStatus::Ok,
                            Ok(Found::NoProcess) => RunStatus::Threw {
                                message: "TypeError: process is not a function".to_owned(),
                                stack: None,
                            },
                            Err(status) => status,
                        };
                        (status, recycle)
                    }
                }
            }
            None => (RunStatus::OutOfMemory, true),
        };
        if recycle || status.hit_limit() {
            self.engine = None;
        }
        let (log, log_lines_dropped) = log.finish();
        RunOutcome { status, duration: started.elapsed(), log, log_lines_dropped }
    }

    /// Checks a function at upload: it must compile as runs compile it, its top level must run within `limits` (with a host that refuses every call), and it must define `process`.
    /// Uses a runtime and a locked-down context of its own (some 3.5 ms to build), so it can be called from any thread.
    pub fn check(source: &str, limits: &Limits) -> Result<(), CheckError> {
        let mut engine = Engine::new(limits).ok_or(CheckError::Failed(RunStatus::OutOfMemory))?;
        let deadline = Instant::now() + Duration::from_millis(limits.time_ms);
        let mut log = library::Log::new(limits);
        let mut host = UploadHost;
        let session = library::Session { host: &mut host, log: &mut log };
        let found = library::with_session(session, || engine.check(source, deadline));
        match found {
            Ok(Found::Process) => Ok(()),
            Ok(Found::NoProcess) => Err(CheckError::NoProcess),
            Err(status) => Err(CheckError::Failed(status)),
        }
    }

    /// The runtime with its realm, created if the last one was dropped; `None` when QuickJS cannot allocate them.
    fn engine(&mut self) -> Option<&mut Engine> {
        if self.engine.is_none() {
            let mut engine = Engine::new(&self.limits)?;
            self.runtimes_created += 1;
            if !engine.prepare() {
                return None;
            }
            self.engine = Some(engine);
        }
        self.engine.as_mut()
    }
}

/// Bytes the heap may grow past what the realm and its compiled functions hold before QuickJS collects cycles.
/// Runs free most of what they allocate as they go (QuickJS counts references); what they leave is cycles (every function declared in a top level is one, with its `prototype`), which a collection frees.
/// A collection scans the whole realm (30 µs, measured), so it is not worth making after each run; with this threshold, set again at the start of each run, the first allocation of a run collects when earlier runs left more than this, so a run never starts with more of their garbage than this.
const GC_HEADROOM_BYTES: usize = 1024 * 1024;

/// Unhandled rejections a run keeps with their reasons; later ones are only counted (a run is reported by its first).
const REJECTIONS_MAX: usize = 16;

/// Bytes a rejection with `null` tries to allocate to tell memory running out from a function rejecting with `null`.
const MEMORY_PROBE_BYTES: usize = 16 * 1024;

/// What a context gets beyond QuickJS's base objects: the ES2015+ library without `performance` (a clock) and `atob`/`btoa`.
type Intrinsics = (
    intrinsic::Date,
    intrinsic::Eval,
    intrinsic::RegExpCompiler,
    intrinsic::RegExp,
    intrinsic::Json,
    intrinsic::Proxy,
    intrinsic::MapSet,
    intrinsic::TypedArrays,
    intrinsic::Promise,
    intrinsic::WeakRef,
);

/// Whether the top level defined `process`.
enum Found {
    Process,
    NoProcess,
}

/// A QuickJS runtime with its limits, the deadline its interrupt handler checks, and the realm runs share.
/// Field order matters: everything holding JavaScript values is dropped before the runtime.
struct Engine {
    /// The shared context, built on the first run.
    realm: Option<Realm>,
    /// Bytes the heap held after a collection once the realm was built or last compiled a function.
    live_bytes: usize,
    /// The runtime's memory limit (`Limits::memory_bytes`).
    memory_bytes: usize,
    /// The promises the current run rejected with no handler (yet), in order, and a count of those beyond `REJECTIONS_MAX`.
    rejections: Rc<RefCell<Rejections>>,
    runtime: Runtime,
    /// The current run's deadline; `None` between runs.
    deadline: Rc<Cell<Option<Instant>>>,
    /// Set by the interrupt handler when it stopped the current run at its deadline.
    interrupted: Rc<Cell<bool>>,
}

/// Promises rejected with no handler, as QuickJS's rejection tracker reports them.
#[derive(Default)]
struct Rejections {
    kept: Vec<(Persistent<Value<'static>>, Persistent<Value<'static>>)>,
    /// Rejections beyond `REJECTIONS_MAX` not handled since.
    more: usize,
    /// A promise was rejected with `null` while memory was too short for `MEMORY_PROBE_BYTES` more: what QuickJS does when it cannot allocate the error of a callback that ran out of memory.
    out_of_memory: bool,
}

impl Rejections {
    fn track<'js>(&mut self, ctx: &Ctx<'js>, promise: Value<'js>, reason: Value<'js>, handled: bool) {
        if !handled {
            // By the time the run ends, the callback's objects are freed and the heap no longer shows it.
            if reason.is_null() && rquickjs::String::from_str(ctx.clone(), &" ".repeat(MEMORY_PROBE_BYTES)).is_err() {
                ctx.catch();
                self.out_of_memory = true;
            }
            if self.kept.len() < REJECTIONS_MAX {
                self.kept.push((Persistent::save(ctx, promise), Persistent::save(ctx, reason)));
            } else {
                self.more += 1;
            }
            return;
        }
        // QuickJS reports a promise as handled only after it reported it unhandled, so one not kept is one of those counted.
        let kept = self.kept.iter().position(|(kept, _)| kept.clone().restore(ctx).is_ok_and(|kept| kept == promise));
        match kept {
            Some(index) => drop(self.kept.remove(index)),
            None => self.more = self.more.saturating_sub(1),
        }
    }
}

impl Engine {
    fn new(limits: &Limits) -> Option<Engine> {
        let runtime = Runtime::new().ok()?;
        runtime.set_memory_limit(limits.memory_bytes);
        runtime.set_max_stack_size(limits.stack_bytes);
        let deadline: Rc<Cell<Option<Instant>>> = Rc::new(Cell::new(None));
        let interrupted = Rc::new(Cell::new(false));
        let handler = {
            let deadline = Rc::clone(&deadline);
            let interrupted = Rc::clone(&interrupted);
            move || {
                let late = deadline.get().is_some_and(|deadline| Instant::now() >= deadline);
                if late {
                    interrupted.set(true);
                }
                late
            }
        };
        runtime.set_interrupt_handler(Some(Box::new(handler)));
        let rejections: Rc<RefCell<Rejections>> = Rc::default();
        let tracker: rquickjs::runtime::RejectionTracker = {
            let rejections = Rc::clone(&rejections);
            Box::new(move |ctx, promise, reason, handled| rejections.borrow_mut().track(&ctx, promise, reason, handled))
        };
        runtime.set_host_promise_rejection_tracker(Some(Box::new(tracker)));
        let memory_bytes = limits.memory_bytes;
        Some(Engine { realm: None, live_bytes: 0, memory_bytes, rejections, runtime, deadline, interrupted })
    }

    /// Runs `source`'s top level and its `process` in the shared context until `deadline`, then the promise jobs it queued, then puts the context back; the `bool` says the runtime must be dropped (the context could not be put back, or promise jobs were left queued), whatever the result.
    fn run(
        &mut self,
        source: &str,
        telemetry: &Telemetry,
        context: &ExecutionContext,
        deadline: Instant,
    ) -> (Result<Found, RunStatus>, bool) {
        let Some(realm) = &mut self.realm else { return (Err(RunStatus::OutOfMemory), true) };
        self.deadline.set(Some(deadline));
        self.interrupted.set(false);
        self.runtime.set_gc_threshold(self.live_bytes + GC_HEADROOM_BYTES);
        let shared = realm.context().clone();
        let interrupted = &self.interrupted;

        // The top level and `process`.
        let started = shared.with(|ctx| {
            let started = start(&ctx, realm, source, telemetry, context);
            started.map_err(|error| failure(&ctx, error, interrupted.get(), true))
        });

        // The promise jobs `process` queued; QuickJS hands over the exception of a job that threw (an interrupt, or memory running out while settling a promise), which the job loop of a context would drop.
        let mut result = match started {
            Ok(Some(returned)) => {
                let mut drained = Ok(());
                loop {
                    match self.runtime.execute_pending_job() {
                        Ok(false) => break,
                        Ok(true) if interrupted.get() || Instant::now() >= deadline => {
                            interrupted.set(true);
                            drained = Err(RunStatus::TimedOut);
                            break;
                        }
                        Ok(true) => {}
                        Err(_) => {
                            drained =
                                Err(shared
                                    .with(|ctx| failure(&ctx, rquickjs::Error::Exception, interrupted.get(), true)));
                            break;
                        }
                    }
                }
                drained.and_then(|()| shared.with(|ctx| settled(&ctx, returned, &self.rejections, interrupted.get())))
            }
            Ok(None) => Ok(Found::NoProcess),
            Err(status) => Err(status),
        };
        // QuickJS throws `null` when memory is too short even for the error object; the objects of a run that threw are still alive here, so the heap shows it, and a promise rejected with `null` was probed when it was.
        let out_of_memory = self.rejections.borrow().out_of_memory;
        // A `null` the heap does not explain may still be memory that ran out and was freed as the stack unwound: the runtime is replaced either way.
        let threw_null = matches!(&result, Err(RunStatus::Threw { message, stack: None }) if message == "null");
        if threw_null && (out_of_memory || near_memory_limit(&self.runtime)) {
            result = Err(RunStatus::OutOfMemory);
        }
        self.deadline.set(None);
        let rejections = std::mem::take(&mut *self.rejections.borrow_mut());
        let reset = shared.with(|ctx| {
            drop(rejections);
            match &result {
                Err(status) if status.hit_limit() => false,
                _ => realm.reset(&ctx).unwrap_or(false),
            }
        });
        // Jobs still queued hold the run's objects and would run in the next one.
        let recycle = !reset || threw_null || self.runtime.is_job_pending() || self.retains(&shared);
        // The host objects' shapes the run asked for are made now, outside it, and measured with the realm, as compiled functions are.
        if !recycle {
            match shared.with(|ctx| library::make_wanted_shapes(&ctx)) {
                Ok(true) => self.measure(),
                Ok(false) => {}
                Err(_) => return (result, true),
            }
        }
        (result, recycle)
    }

    /// Compiles `source` into the realm unless it is there, before the run and outside its host session, and measures what the realm then holds (so the measure counts the compiled function and nothing a run keeps, see `retains`).
    /// Checking that a source stays inside its wrapper evaluates it through the `Function` constructor, so a source that closes the wrapper early runs that far here: with no host to call and no log, within the run's deadline, and its run then fails with the realm put back.
    /// `Err` is how the run ended, with whether the runtime must be dropped.
    fn compile(&mut self, source: &str, deadline: Instant) -> Result<(), (RunStatus, bool)> {
        let Some(realm) = &mut self.realm else { return Err((RunStatus::OutOfMemory, true)) };
        self.deadline.set(Some(deadline));
        self.interrupted.set(false);
        let shared = realm.context().clone();
        let compiled_before = realm.compiled_count();
        let failed = shared.with(|ctx| {
            realm.compiled(&ctx, source).err().map(|error| failure(&ctx, error, self.interrupted.get(), true))
        });
        self.deadline.set(None);
        if let Some(status) = failed {
            let reset = !status.hit_limit() && shared.with(|ctx| realm.reset(&ctx).unwrap_or(false));
            let recycle = !reset || self.runtime.is_job_pending() || self.retains(&shared);
            return Err((status, recycle));
        }
        if realm.compiled_count() != compiled_before {
            self.measure();
        }
        Ok(())
    }

    /// Whether the heap holds more than the realm, its compiled functions and `GC_HEADROOM_BYTES` of garbage after a collection: memory a run kept alive past its reset where nothing can reach it by name (a private field added to the global object, the one shared object not frozen, survives the reset), which would shrink the next runs' memory and tell them something.
    /// Probed by allocating one object under a limit of exactly that much (the collection is made only when the probe fails), so a run costs a few hundred nanoseconds for it, where measuring the heap would cost ten microseconds.
    fn retains(&self, shared: &Context) -> bool {
        let over = || {
            self.runtime.set_memory_limit(self.live_bytes + GC_HEADROOM_BYTES);
            let over = shared.with(|ctx| {
                let probe = rquickjs::Object::new(ctx.clone());
                if probe.is_err() {
                    ctx.catch();
                }
                probe.is_err()
            });
            self.runtime.set_memory_limit(self.memory_bytes);
            over
        };
        if !over() {
            return false;
        }
        self.runtime.run_gc();
        over()
    }

    /// Builds the realm runs share; `false` when memory is too short for it.
    fn prepare(&mut self) -> bool {
        match Realm::new(&self.runtime) {
            Ok(realm) => self.realm = Some(realm),
            Err(_) => return false,
        }
        self.measure();
        true
    }

    /// Collects and measures what the realm and its compiled functions hold, once it was built or compiled a function.
    fn measure(&mut self) {
        self.runtime.run_gc();
        self.live_bytes = usize::try_from(self.runtime.memory_usage().malloc_size).unwrap_or(0);
    }

    /// An upload check: `source` compiled in the realm as runs compile it and its top level run (with a host that refuses every call); the top level must define `process`.
    fn check(&mut self, source: &str, deadline: Instant) -> Result<Found, RunStatus> {
        if self.realm.is_none() && !self.prepare() {
            return Err(RunStatus::OutOfMemory);
        }
        self.compile(source, deadline).map_err(|(status, _)| status)?;
        let Some(realm) = &mut self.realm else { return Err(RunStatus::OutOfMemory) };
        self.deadline.set(Some(deadline));
        self.interrupted.set(false);
        let shared = realm.context().clone();
        let interrupted = &self.interrupted;
        let found = shared.with(|ctx| {
            let found = (|| -> rquickjs::Result<Found> {
                realm.set_now(&ctx, 0)?;
                let process: Value = realm.compiled(&ctx, source)?.call(())?;
                Ok(if process.is_function() { Found::Process } else { Found::NoProcess })
            })();
            found.map_err(|error| failure(&ctx, error, interrupted.get(), true))
        });
        self.deadline.set(None);
        found
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // The tracker, which the runtime owns, holds the list too: empty it while the runtime is alive.
        std::mem::take(&mut *self.rejections.borrow_mut());
    }
}

/// Whether the heap is within a quarter of the memory limit.
fn near_memory_limit(runtime: &Runtime) -> bool {
    let usage = runtime.memory_usage();
    usage.malloc_limit > 0 && usage.malloc_size >= usage.malloc_limit - usage.malloc_limit / 4
}

/// Sets the run's clock, runs the function's top level (compiled once per source) and calls `process`; `None` when the top level defined no `process`, else what `process` returned, kept to see whether it settled.
fn start<'js>(
    ctx: &Ctx<'js>,
    realm: &mut Realm,
    source: &str,
    telemetry: &Telemetry,
    context: &ExecutionContext,
) -> rquickjs::Result<Option<Persistent<Value<'static>>>> {
    realm.set_now(ctx, context.processor_received_time_unix_ms)?;
    let top_level = realm.compiled(ctx, source)?;
    let process: Value<'js> = top_level.call(())?;
    let Some(process) = process.into_function() else { return Ok(None) };
    let telemetry = library::telemetry(ctx, telemetry)?;
    let context = library::execution_context(ctx, context)?;
    let returned: Value<'js> = Function::call(&process, (telemetry, context))?;
    Ok(Some(Persistent::save(ctx, returned)))
}

/// How a run whose jobs all ran ended: the rejection of the promise `process` returned, else the first promise the run rejected and never handled.
fn settled(
    ctx: &Ctx<'_>,
    returned: Persistent<Value<'static>>,
    rejections: &RefCell<Rejections>,
    interrupted: bool,
) -> Result<Found, RunStatus> {
    let returned = returned.restore(ctx).map_err(|error| failure(ctx, error, interrupted, true))?;
    if let Some(promise) = returned.as_promise()
        && let Some(Err(error)) = promise.result::<Value<'_>>()
    {
        return Err(failure(ctx, error, interrupted, true));
    }
    let first = rejections.borrow_mut().kept.first().map(|(_, reason)| reason.clone());
    if let Some(reason) = first {
        let reason = reason.restore(ctx).map_err(|error| failure(ctx, error, interrupted, true))?;
        return Err(failure(ctx, ctx.throw(reason), interrupted, true));
    }
    if rejections.borrow().more > 0 {
        let message = "a promise was rejected and never handled".to_owned();
        return Err(RunStatus::Threw { message, stack: None });
    }
    Ok(Found::Process)
}

/// How a failed run ended, from the pending exception (or rquickjs's error).
/// `wrapped` says the source was compiled inside the realm's wrapper, whose start shifts the columns of its first line.
fn failure(ctx: &Ctx<'_>, error: rquickjs::Error, interrupted: bool, wrapped: bool) -> RunStatus {
    let exception = match error {
        rquickjs::Error::Exception => ctx.catch(),
        rquickjs::Error::Allocation => return RunStatus::OutOfMemory,
        other => return RunStatus::Threw { message: other.to_string(), stack: None },
    };
    if interrupted {
        return RunStatus::TimedOut;
    }
    let Some(error) = exception.as_object().cloned().and_then(Exception::from_object) else {
        let message = library::display(ctx, &exception).unwrap_or_else(|_| {
            // Showing it threw again (a `toJSON` that throws): drop that exception.
            ctx.catch();
            "an exception that cannot be shown".to_owned()
        });
        return RunStatus::Threw { message, stack: None };
    };
    let name = error.get::<_, Option<rquickjs::Coerced<String>>>("name").ok().flatten().map(|name| name.0);
    let message = error.message().unwrap_or_default();
    match (name.as_deref(), message.as_str()) {
        (Some("InternalError"), "out of memory") => RunStatus::OutOfMemory,
        (Some("RangeError"), "Maximum call stack size exceeded") => RunStatus::StackOverflow,
        (name, _) => {
            let message = match name {
                Some(name) if !name.is_empty() && !message.is_empty() => format!("{name}: {message}"),
                Some(name) if !name.is_empty() => name.to_owned(),
                _ => message,
            };
            let stack = error
                .stack()
                .filter(|stack| !stack.trim().is_empty())
                .map(|stack| if wrapped { Realm::source_positions(&stack) } else { stack });
            RunStatus::Threw { message, stack }
        }
    }
}

/// The host of an upload check: the top level of a function has no message to work on, so every call fails.
struct UploadHost;

impl UploadHost {
    fn refuse<T>() -> Result<T, HostError> {
        Err(HostError::Invalid("host calls are not available while a function is checked".to_owned()))
    }
}

impl Host for UploadHost {
    fn get_sensor_metadata(&mut self, _: &str) -> Result<Metadata, HostError> {
        Self::refuse()
    }
    fn get_space_metadata(&mut self, _: &str) -> Result<Metadata, HostError> {
        Self::refuse()
    }
    fn get_device_metadata(&mut self, _: &str) -> Result<Metadata, HostError> {
        Self::refuse()
    }
    fn get_sensor_value(&mut self, _: &str, _: &str) -> Result<Option<Reading>, HostError> {
        Self::refuse()
    }
    fn get_space_value(&mut self, _: &str, _: &str) -> Result<Option<Reading>, HostError> {
        Self::refuse()
    }
    fn get_sensor_history_values(&mut self, _: &str, _: &str) -> Result<Vec<Reading>, HostError> {
        Self::refuse()
    }
    fn get_space_history_values(&mut self, _: &str, _: &str) -> Result<Vec<Reading>, HostError> {
        Self::refuse()
    }
    fn get_space_child_spaces(&mut self, _: &str) -> Result<Vec<Metadata>, HostError> {
        Self::refuse()
    }
    fn get_space_child_sensors(&mut self, _: &str) -> Result<Vec<Metadata>, HostError> {
        Self::refuse()
    }
    fn get_space_child_devices(&mut self, _: &str) -> Result<Vec<Metadata>, HostError> {
        Self::refuse()
    }
    fn get_device_child_sensors(&mut self, _: &str) -> Result<Vec<Metadata>, HostError> {
        Self::refuse()
    }
    fn get_space_parent_space(&mut self, _: &str) -> Result<Option<Metadata>, HostError> {
        Self::refuse()
    }
    fn get_sensor_parent_space(&mut self, _: &str) -> Result<Metadata, HostError> {
        Self::refuse()
    }
    fn get_device_parent_space(&mut self, _: &str) -> Result<Metadata, HostError> {
        Self::refuse()
    }
    fn get_sensor_parent_device(&mut self, _: &str) -> Result<Metadata, HostError> {
        Self::refuse()
    }
    fn get_space_extended_property(&mut self, _: &str, _: &str) -> Result<ExtendedProperty, HostError> {
        Self::refuse()
    }
    fn get_sensor_extended_property(&mut self, _: &str, _: &str) -> Result<ExtendedProperty, HostError> {
        Self::refuse()
    }
    fn get_device_extended_property(&mut self, _: &str, _: &str) -> Result<ExtendedProperty, HostError> {
        Self::refuse()
    }
    fn set_sensor_value(&mut self, _: &str, _: &str, _: serde_json::Value) -> Result<(), HostError> {
        Self::refuse()
    }
    fn set_space_value(&mut self, _: &str, _: &str, _: serde_json::Value) -> Result<(), HostError> {
        Self::refuse()
    }
    fn send_notification(&mut self, _: &str, _: ObjectType, _: &str) -> Result<(), HostError> {
        Self::refuse()
    }
}

#[cfg(test)]
mod tests;
