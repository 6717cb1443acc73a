//! The data the data plane serves: the durable store, and each tenant's in-memory graph loaded from it; every write goes through `TenantState::write`, which keeps the two in step.
//!
//! A write validates and applies in memory under the tenant's write lock and submits its store ops (records and events) before releasing it, so the store commits in the graph's order; the request is answered only once the store says the ops are durable.
//! If the store fails, the tenant's graph is reloaded from what is durable and the request gets 503, so memory never holds what the disk lost.
//! A write may carry store ops of its own besides its records and events (`Written::ops`: the history points of the values it sets, planned by the tenant's `history::Recorder` under the same lock), committed in the same batch.
//! Events travel as `Event`: their JSON text, written once where they are made from a struct that borrows what it names, so the hot paths (a DeviceMessage and a Twin.Update per telemetry message) build no `Value` tree to serialize; the CloudEvents of graph changes and of telemetry to a twin are made here.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use graph::{Change, GraphError, TenantGraph};
use serde::Serialize;
use serde_json::Value;
use store::records::{load_tenant, ops_for};
use store::{Backend, Op, StoreError, TenantId};

use crate::error::{ApiError, ErrorCode};

/// The store and the tenants' graphs.
pub struct DataPlane {
    store: Arc<dyn Backend>,
    /// Latency of store commits as the write path waits for them.
    commits: CommitLatency,
    tenants: RwLock<HashMap<TenantId, Arc<TenantState>>>,
    graph_limits: graph::Limits,
    /// Every tenant graph's containment declaration.
    containment: graph::Containment,
    /// The CloudEvents `source` of events this server emits.
    event_source: String,
    /// Per tenant, the sequence number of its last durable event: `TenantState::submit` advances it once a batch that appended events is durable, and the live event stream (`routes::events`) waits on it, reading the events themselves from the store.
    event_heads: HashMap<TenantId, Arc<tokio::sync::watch::Sender<u64>>>,
    /// Turns true when the server stops, so long-lived answers (the live event stream) end instead of holding the shutdown up.
    stopping: tokio::sync::watch::Sender<bool>,
}

/// One tenant: its id, and its graph with the 2018 face's state beside it, under one lock.
pub struct TenantState {
    pub id: TenantId,
    state: RwLock<Tenant>,
    /// The tenant's history points, for reads (which need no lock; writes plan through `Tenant::history`).
    points: crate::history::StorePoints,
}

/// What a tenant holds in memory: its twin graph, and the 2018 objects that are not twins.
pub struct Tenant {
    pub graph: TenantGraph,
    pub spatial: spatial::state::Spatial,
    /// Plans the history points of writes; kept when the tenant is reloaded, since what it knows of submitted writes stays true.
    pub history: crate::history::Recorder,
    /// Grows with every write but those that set only values (telemetry, the values functions set: `TenantState::write_values`), and with every reload: what the functions' selections are valid for.
    pub(crate) shape: u64,
    /// Which functions each sensor's values run (`functions::selection`).
    pub(crate) selections: crate::functions::Selections,
    /// The objects functions read, as they were rendered for them (`functions::host`).
    pub(crate) rendered: crate::functions::Rendered,
    /// The kinds of the graph's models (`kinds`), kept for the shape and model set they were computed for.
    kind_table: std::sync::Mutex<Option<KeptKinds>>,
}

/// A `KindTable` with the tenant's shape and model set version it was computed for.
type KeptKinds = ((u64, u64), Arc<spatial::navigate::KindTable>);

impl Tenant {
    /// Which of the graph's twins are of which 2018 kind: the model set's `KindTable`, computed once for each shape of the tenant and version of its model set rather than for every read.
    pub(crate) fn kinds(&self) -> spatial::navigate::Kinds<'_> {
        let key = (self.shape, self.graph.model_set_version());
        let mut kept = self.kind_table.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let table = match kept.as_ref() {
            Some((kept_key, table)) if *kept_key == key => Arc::clone(table),
            _ => {
                let table = Arc::new(spatial::navigate::KindTable::of(self.graph.model_set()));
                *kept = Some((key, Arc::clone(&table)));
                table
            }
        };
        spatial::navigate::Kinds::with(&self.graph, table)
    }

    /// Whether the twin `id` is an object of `kind`, told by the kind table (`kinds`).
    pub(crate) fn is_object(&self, kind: ontology::ObjectKind, id: &str) -> bool {
        self.graph.slot(id).is_some_and(|slot| self.kinds().kind_at(slot) == Some(kind))
    }

    /// What changes with every graph write (versions grow, deletes change counts), to tell whether a refused write changed anything.
    fn footprint(&self) -> (u64, usize, usize, usize) {
        let graph = &self.graph;
        (graph.version(), graph.twin_count(), graph.relationship_count(), graph.model_count())
    }
}

/// What a write may change: anything (`Shape`), or only values (`Values`), which leaves the functions' selections valid.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    Shape,
    Values,
}

/// What a write of the 2018 face did: graph changes and spatial records, persisted in one batch.
#[derive(Default)]
pub struct Written {
    pub changes: Vec<Change>,
    pub records: spatial::state::Records,
    /// Events besides those of the graph changes (a function's SensorChange, SpaceChange and UdfCustom).
    pub events: ExtraEvents,
    /// Further store ops of the same batch: the history points of the values the write sets (`Tenant::history`).
    pub ops: Vec<Op>,
}

impl Written {
    pub fn changes(changes: Vec<Change>) -> Written {
        Written { changes, records: Vec::new(), events: Vec::new(), ops: Vec::new() }
    }

    pub fn records(records: spatial::state::Records) -> Written {
        Written { changes: Vec::new(), records, events: Vec::new(), ops: Vec::new() }
    }

    /// Adds what another step of the same write did.
    pub fn and(&mut self, more: Written) {
        self.changes.extend(more.changes);
        self.records.extend(more.records);
        self.events.extend(more.events);
        self.ops.extend(more.ops);
    }
}

/// Loads a tenant's graph and 2018 state from the store.
fn load(
    store: &Arc<dyn Backend>,
    id: &TenantId,
    graph_limits: graph::Limits,
    containment: graph::Containment,
) -> Result<Tenant, StoreError> {
    let graph = load_tenant(store.as_ref(), id, graph_limits, containment)?;
    let spatial = load_spatial(store.as_ref(), id)?;
    Ok(Tenant {
        graph,
        spatial,
        history: crate::history::Recorder::new(points(store, id)),
        shape: 0,
        selections: crate::functions::Selections::default(),
        rendered: crate::functions::Rendered::default(),
        kind_table: std::sync::Mutex::new(None),
    })
}

/// A tenant's history points in `store`.
fn points(store: &Arc<dyn Backend>, id: &TenantId) -> crate::history::StorePoints {
    crate::history::StorePoints::new(Arc::clone(store), id.clone())
}

/// A watch of each tenant's last durable event sequence number, starting from what the store holds.
fn event_heads<'a>(
    store: &dyn Backend,
    tenants: impl Iterator<Item = &'a TenantId>,
) -> Result<HashMap<TenantId, Arc<tokio::sync::watch::Sender<u64>>>, StoreError> {
    tenants.map(|id| Ok((id.clone(), Arc::new(tokio::sync::watch::Sender::new(store.last_event_seq(id)?))))).collect()
}

/// Loads a tenant's 2018 state from the store.
fn load_spatial(store: &dyn Backend, id: &TenantId) -> Result<spatial::state::Spatial, StoreError> {
    spatial::state::Spatial::load(store::records::load_spatial(store, id)?).map_err(|what| StoreError::Corrupt { what })
}

impl DataPlane {
    /// Loads every tenant the store knows (and the default tenant, created empty when new), each graph with `containment`.
    ///
    /// Stored relationships that break the containment rule (stored before it, or under another declaration) are loaded but left out of the tree; each tenant that has some gets a warning with their count and a few examples.
    pub fn open(
        store: Arc<dyn Backend>,
        graph_limits: graph::Limits,
        containment: graph::Containment,
        event_source: String,
    ) -> Result<DataPlane, StoreError> {
        let mut tenants = HashMap::new();
        let mut ids = store.tenants()?;
        if !ids.contains(&TenantId::default_tenant()) {
            ids.push(TenantId::default_tenant());
        }
        for id in ids {
            let tenant = load(&store, &id, graph_limits.clone(), containment.clone())?;
            let violations = tenant.graph.containment_violations();
            if violations.count > 0 {
                tracing::warn!(
                    tenant = %id,
                    count = violations.count,
                    examples = ?violations.examples,
                    "stored containment relationships break the rule of one parent and no cycles; they stay stored, outside the containment tree, which keeps the first parent found"
                );
            }
            let points = points(&store, &id);
            tenants.insert(id.clone(), Arc::new(TenantState { id, state: RwLock::new(tenant), points }));
        }
        let event_heads = event_heads(store.as_ref(), tenants.keys())?;
        Ok(DataPlane {
            store,
            commits: CommitLatency::default(),
            tenants: RwLock::new(tenants),
            graph_limits,
            containment,
            event_source,
            event_heads,
            stopping: tokio::sync::watch::channel(false).0,
        })
    }

    /// Opens the embedded store in `dir` (created when missing) and loads it; fails while a server holds the directory.
    pub fn open_dir(
        dir: &std::path::Path,
        graph_limits: graph::Limits,
        containment: graph::Containment,
    ) -> Result<DataPlane, StoreError> {
        std::fs::create_dir_all(dir)?;
        let backend = store::EmbeddedBackend::open(dir, store::Limits::default())?;
        DataPlane::open(Arc::new(backend), graph_limits, containment, crate::router::EVENT_SOURCE.to_owned())
    }

    /// The tenant requests are served from; every request uses the default tenant until access control assigns tenants.
    pub fn tenant(&self) -> Arc<TenantState> {
        let tenants = self.tenants.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(tenants.get(&TenantId::default_tenant()).expect("the default tenant is loaded at open"))
    }

    /// Tells long-lived answers that the server is stopping.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Turns true when the server stops.
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    pub fn store(&self) -> &Arc<dyn Backend> {
        &self.store
    }

    pub fn event_source(&self) -> &str {
        &self.event_source
    }

    pub fn commit_latency(&self) -> &CommitLatency {
        &self.commits
    }

    /// The sequence number of `tenant`'s last durable event, changed as later ones become durable; `None` for a tenant that is not loaded.
    pub(crate) fn event_head(&self, tenant: &TenantId) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.event_heads.get(tenant).map(|head| head.subscribe())
    }

    /// Every tenant, for metrics.
    pub fn tenants(&self) -> Vec<Arc<TenantState>> {
        let tenants = self.tenants.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        tenants.values().cloned().collect()
    }
}

/// A Prometheus-style histogram of store commit latency, kept with atomics so the write path records without locks.
#[derive(Default)]
pub struct CommitLatency {
    /// Counts per bucket upper bound (`COMMIT_BUCKETS_SECONDS`), not cumulative; the last slot is +Inf.
    buckets: [std::sync::atomic::AtomicU64; COMMIT_BUCKETS_SECONDS.len() + 1],
    sum_nanos: std::sync::atomic::AtomicU64,
    count: std::sync::atomic::AtomicU64,
}

/// Bucket upper bounds of `CommitLatency`, in seconds: 100 µs to 1 s.
pub const COMMIT_BUCKETS_SECONDS: [f64; 9] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1, 1.0];

impl CommitLatency {
    fn observe(&self, elapsed: std::time::Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        let seconds = elapsed.as_secs_f64();
        let slot = COMMIT_BUCKETS_SECONDS.iter().position(|b| seconds <= *b).unwrap_or(COMMIT_BUCKETS_SECONDS.len());
        self.buckets[slot].fetch_add(1, Relaxed);
        self.sum_nanos.fetch_add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX), Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    /// The Prometheus text exposition of the histogram `name`.
    pub fn render(&self, name: &str, out: &mut String) {
        use std::fmt::Write as _;
        use std::sync::atomic::Ordering::Relaxed;
        let _ = writeln!(out, "# HELP {name} Time a write waits for its store commit (group commit and fsync).");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0;
        for (i, bound) in COMMIT_BUCKETS_SECONDS.iter().enumerate() {
            cumulative += self.buckets[i].load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.buckets[COMMIT_BUCKETS_SECONDS.len()].load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_nanos.load(Relaxed) as f64 / 1e9);
        let _ = writeln!(out, "{name}_count {}", self.count.load(Relaxed));
    }
}

/// Events a write emits besides those of its graph changes (telemetry).
pub type ExtraEvents = Vec<Event>;

/// An event as the event log stores it: its JSON text, serialized once where the event is made.
#[derive(Clone, PartialEq, Eq)]
pub struct Event(Vec<u8>);

/// Bytes reserved for an event's text: most events (a DeviceMessage, a Twin.Update of a value) fit, so their text is written without growing the buffer.
const EVENT_BYTES_TYPICAL: usize = 1024;

impl Event {
    /// The JSON of `event`, a struct deriving `Serialize` whose fields, in their declared order, are the event's members; borrowed fields (`&str`, `&Value`) are written without copies.
    pub fn new(event: &impl Serialize) -> Event {
        let mut bytes = Vec::with_capacity(EVENT_BYTES_TYPICAL);
        serde_json::to_writer(&mut bytes, event)
            .expect("an event's fields are strings, numbers and JSON values, which always serialize");
        Event(bytes)
    }

    /// The event's JSON text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The event's JSON text, to append to the event log.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// Asserts that the event's text is, byte for byte, the serialization of the `Value` that `old` builds from the event's `id`: the event as it was built with `json!` before events were written from structs.
    #[cfg(test)]
    pub(crate) fn check_same_as(&self, old: impl FnOnce(&str) -> Value) {
        let parsed: Value = serde_json::from_slice(&self.0).expect("an event is JSON");
        let id = parsed["id"].as_str().expect("an event has an id");
        let old = serde_json::to_vec(&old(id)).expect("a value serializes");
        assert_eq!(std::str::from_utf8(&self.0), std::str::from_utf8(&old), "the same text, byte for byte");
    }
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl TenantState {
    /// Runs `f` on a consistent view of the graph.
    pub fn read<R>(&self, f: impl FnOnce(&TenantGraph) -> R) -> R {
        let tenant = self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&tenant.graph)
    }

    /// The tenant's history points, to read without the tenant's lock.
    pub fn points(&self) -> &crate::history::StorePoints {
        &self.points
    }

    /// Runs `f` on a consistent view of the graph and the 2018 state.
    pub fn read_all<R>(&self, f: impl FnOnce(&Tenant) -> R) -> R {
        let tenant = self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&tenant)
    }

    /// Runs a write of the 2018 face: `f` validates and applies it to the graph and the 2018 state and returns the value to answer with and what it did, which is committed durably (with the events of the graph changes, and a TopologyOperation event for each 2018 object it created, updated or deleted: `topology`) before this returns.
    /// Errors are `f`'s own type, which store failures convert into.
    pub async fn write_all<T, E, F>(&self, data: &DataPlane, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Tenant) -> Result<(T, Written), E>,
        E: From<ApiError>,
    {
        self.write_as(data, Reach::Shape, f).await
    }

    /// `write_all` for a write that sets only values (sensors' `value`, spaces' `values`): it leaves the tenant's shape, and with it the functions' selections, as they were.
    pub(crate) async fn write_values<T, E, F>(&self, data: &DataPlane, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Tenant) -> Result<(T, Written), E>,
        E: From<ApiError>,
    {
        self.write_as(data, Reach::Values, f).await
    }

    async fn write_as<T, E, F>(&self, data: &DataPlane, reach: Reach, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Tenant) -> Result<(T, Written), E>,
        E: From<ApiError>,
    {
        let now = now();
        let (done, durable) = tokio::sync::oneshot::channel();
        let value = {
            let mut tenant = self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            if reach == Reach::Shape {
                tenant.shape += 1;
            }
            let before = tenant.footprint();
            let generation = tenant.spatial.generation();
            let topology = (reach == Reach::Shape).then(|| crate::topology::Before::of(&tenant));
            let (value, mut written) = match f(&mut tenant) {
                Ok(done) => done,
                Err(err) => {
                    // `f` checks before it changes anything; should a later step still fail, memory is put back to what is durable.
                    // Nothing of this write was submitted, so once the writes before it are durable the store holds exactly what memory held before `f`.
                    if tenant.footprint() != before {
                        tracing::error!(tenant = %self.id, "a refused 2018 write had changed the graph; reloading the tenant from the store");
                        self.settle(data);
                        self.reload(data, &mut tenant);
                    } else if tenant.spatial.generation() != generation {
                        tracing::warn!(tenant = %self.id, "a refused 2018 write had changed the 2018 state; reloading that state from the store");
                        self.settle(data);
                        self.reload_spatial(data, &mut tenant);
                    }
                    return Err(err);
                }
            };
            if let Some(topology) = topology {
                let events = crate::topology::events(&topology, &tenant, &written, data.event_source(), &now);
                written.events.extend(events);
            }
            let submitted = tenant.history.submitting();
            self.submit(data, written, &now, done);
            (value, submitted)
        };
        let (value, submitted) = value;
        self.await_durable(data, durable).await.map_err(E::from)?;
        submitted.reached();
        Ok(value)
    }

    /// Submits a write's store ops (graph records, 2018 records, the events of its changes and its further events, then its further ops) in one batch.
    /// Called under the tenant's lock, so the store commits in the graph's order; the store's writer answers on `done` without blocking.
    fn submit(
        &self,
        data: &DataPlane,
        written: Written,
        now: &str,
        done: tokio::sync::oneshot::Sender<Result<store::Committed, StoreError>>,
    ) {
        let Written { changes, records, events, ops: more } = written;
        let mut ops = ops_for(&self.id, &changes);
        ops.extend(store::records::spatial_ops(&self.id, &records));
        ops.extend(more);
        for event in changes.iter().filter_map(|c| change_event(c, data.event_source(), now)).chain(events) {
            ops.push(Op::AppendEvent { tenant: self.id.clone(), payload: event.into_bytes() });
        }
        // Signalled here, on the store's writer thread as each batch is durable, rather than where the write awaits its outcome: a request dropped mid-write still announces its events.
        let appended = ops.iter().filter(|op| matches!(op, Op::AppendEvent { .. })).count() as u64;
        let head = data.event_heads.get(&self.id).cloned();
        data.store().submit_then(
            ops,
            Box::new(move |result| {
                if let (Ok(store::Committed { first_event_seq: Some(first) }), Some(head)) = (&result, head) {
                    let last = first + appended.saturating_sub(1);
                    head.send_if_modified(|seq| {
                        let later = last > *seq;
                        if later {
                            *seq = last;
                        }
                        later
                    });
                }
                let _ = done.send(result);
            }),
        );
    }

    async fn await_durable(
        &self,
        data: &DataPlane,
        durable: tokio::sync::oneshot::Receiver<Result<store::Committed, StoreError>>,
    ) -> Result<(), ApiError> {
        let started = std::time::Instant::now();
        let outcome = durable.await;
        data.commits.observe(started.elapsed());
        match outcome {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(err)) => Err(self.recover(data, &err)),
            Err(closed) => Err(self.recover(data, &closed)),
        }
    }

    /// Runs a write: `f` validates and applies it in memory and returns the value to answer with, the graph changes, and any further events; their records and events are committed durably before this returns.
    pub async fn write<T, F>(&self, data: &DataPlane, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut TenantGraph) -> Result<(T, Vec<Change>, ExtraEvents), GraphError>,
    {
        let now = now();
        let (done, durable) = tokio::sync::oneshot::channel();
        let value = {
            let mut tenant = self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            tenant.shape += 1;
            let (value, changes, extra) = f(&mut tenant.graph).map_err(ApiError::from)?;
            // A deleted twin takes its 2018 state with it (a device's key; a space's custom types, property keys and key stores), in the same batch, so a new twin with its id starts without them.
            let deleted: BTreeSet<&str> = changes
                .iter()
                .filter_map(|c| match c {
                    Change::TwinDeleted(twin) => Some(twin.id.as_str()),
                    _ => None,
                })
                .collect();
            let records = if deleted.is_empty() { Vec::new() } else { tenant.spatial.forget_ids(&deleted) };
            let submitted = tenant.history.submitting();
            self.submit(data, Written { changes, records, events: extra, ops: Vec::new() }, &now, done);
            (value, submitted)
        };
        let (value, submitted) = value;
        self.await_durable(data, durable).await?;
        submitted.reached();
        Ok(value)
    }

    /// Applies a change that produces its own store ops (bulk import) and blocks until they are durable; on a store failure the tenant is reloaded from the store, as for `write`.
    ///
    /// The 2018 state is left alone: bulk import creates and replaces twins but deletes none (`TenantGraph::import`), so nothing hangs off a twin that is gone; a change that deletes twins goes through `write`, which forgets their 2018 state.
    pub fn apply_blocking<T>(
        &self,
        data: &DataPlane,
        f: impl FnOnce(&mut TenantGraph) -> (T, Vec<Op>),
    ) -> Result<T, StoreError> {
        let (value, pending) = {
            let mut tenant = self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            tenant.shape += 1;
            let (value, ops) = f(&mut tenant.graph);
            (value, data.store().submit(ops))
        };
        match pending.wait() {
            Ok(_) => Ok(value),
            Err(err) => {
                let _ = self.recover(data, &err);
                Err(err)
            }
        }
    }

    /// Replaces the tenant's memory with what the store holds.
    fn reload(&self, data: &DataPlane, tenant: &mut Tenant) {
        match load(data.store(), &self.id, data.graph_limits.clone(), data.containment.clone()) {
            Ok(reloaded) => {
                let Tenant { graph, spatial, .. } = reloaded;
                tenant.graph = graph;
                tenant.spatial = spatial;
                tenant.shape += 1;
            }
            Err(err) => {
                tracing::error!(tenant = %self.id, error = %err, "reloading the tenant failed; its graph may hold writes that are not durable")
            }
        }
    }

    /// Replaces the tenant's 2018 state with what the store holds, leaving its graph as it is.
    fn reload_spatial(&self, data: &DataPlane, tenant: &mut Tenant) {
        match load_spatial(data.store().as_ref(), &self.id) {
            Ok(reloaded) => {
                tenant.spatial = reloaded;
                tenant.shape += 1;
            }
            Err(err) => {
                tracing::error!(tenant = %self.id, error = %err, "reloading the tenant's 2018 state failed; it may hold changes that are not durable")
            }
        }
    }

    /// Waits, holding the tenant's write lock, until every write submitted before is durable, so that a reload reads what memory held; the store commits batches in order, so an empty batch's answer says so.
    /// Other writers of the tenant wait meanwhile: this is only for the rare write that must be undone.
    fn settle(&self, data: &DataPlane) {
        if let Err(err) = data.store().submit(Vec::new()).wait() {
            tracing::error!(tenant = %self.id, error = %err, "waiting for the tenant's earlier writes to be stored failed; reloading what the store holds");
        }
    }

    /// After a failed commit: reload the graph from the store, so memory holds only what is durable.
    fn recover(&self, data: &DataPlane, cause: &(dyn std::error::Error + 'static)) -> ApiError {
        tracing::error!(tenant = %self.id, error = %cause, "store commit failed; reloading the tenant from the store");
        let mut tenant = self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.reload(data, &mut tenant);
        ApiError::new(ErrorCode::ServiceUnavailable, format!("the change could not be stored: {cause}"))
    }
}

/// The current time as ADT writes it: RFC 3339 in UTC with seven fractional digits.
pub fn now() -> String {
    format!("{:.7}", jiff::Timestamp::now())
}

/// The CloudEvents 1.0 notification of a graph change, as ADT emits them; model changes emit none.
fn change_event(change: &Change, source: &str, now: &str) -> Option<Event> {
    let relationship_subject = |r: &graph::Relationship| Cow::Owned(format!("{}/relationships/{}", r.source, r.id));
    let (kind, subject, data) = match change {
        Change::ModelPut(_) | Change::ModelDeleted(_) => return None,
        Change::TwinCreated(t) => {
            ("Microsoft.DigitalTwins.Twin.Create", Cow::Borrowed(t.id.as_str()), ChangeData::Document(t.to_json()))
        }
        Change::TwinUpdated { twin, patch } => (
            "Microsoft.DigitalTwins.Twin.Update",
            Cow::Borrowed(twin.id.as_str()),
            ChangeData::Patch { model_id: twin.model(), patch },
        ),
        Change::TwinDeleted(t) => {
            ("Microsoft.DigitalTwins.Twin.Delete", Cow::Borrowed(t.id.as_str()), ChangeData::Document(t.to_json()))
        }
        Change::RelationshipCreated(r) => {
            ("Microsoft.DigitalTwins.Relationship.Create", relationship_subject(r), ChangeData::Document(r.to_json()))
        }
        Change::RelationshipUpdated { relationship: r, source_model, patch } => (
            "Microsoft.DigitalTwins.Relationship.Update",
            relationship_subject(r),
            ChangeData::Patch { model_id: source_model, patch },
        ),
        Change::RelationshipDeleted(r) => {
            ("Microsoft.DigitalTwins.Relationship.Delete", relationship_subject(r), ChangeData::Document(r.to_json()))
        }
    };
    let mut id = uuid::Uuid::encode_buffer();
    Some(Event::new(&CloudEvent {
        specversion: "1.0",
        id: uuid::Uuid::new_v4().hyphenated().encode_lower(&mut id),
        kind,
        source,
        subject: &subject,
        time: now,
        datacontenttype: "application/json",
        dataschema: None,
        data,
    }))
}

/// The CloudEvents notification of telemetry sent to a twin (or one of its components).
pub fn telemetry_event(
    source: &str,
    twin: &str,
    component: Option<&str>,
    model: &str,
    message_id: &str,
    data: &Value,
) -> Event {
    Event::new(&CloudEvent {
        specversion: "1.0",
        id: message_id,
        kind: "microsoft.iot.telemetry",
        source: &format!("{source}/digitaltwins/{twin}"),
        subject: component.unwrap_or_default(),
        time: &now(),
        datacontenttype: "application/json",
        dataschema: Some(model),
        data,
    })
}

/// A CloudEvents 1.0 event, its members in the order ADT writes them.
#[derive(Serialize)]
struct CloudEvent<'a, D> {
    specversion: &'static str,
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    source: &'a str,
    subject: &'a str,
    time: &'a str,
    datacontenttype: &'static str,
    /// The model of telemetry; graph changes have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    dataschema: Option<&'a str>,
    data: D,
}

/// The `data` of a graph change's event: the twin or relationship as the REST face returns it, or the patch that changed it with the model it is of.
#[derive(Serialize)]
#[serde(untagged)]
enum ChangeData<'a> {
    Document(Value),
    Patch {
        #[serde(rename = "modelId")]
        model_id: &'a str,
        patch: &'a [Value],
    },
}

impl From<GraphError> for ApiError {
    /// Every graph error as its ADT code; one exhaustive match, so a new variant forces a decision here.
    fn from(err: GraphError) -> ApiError {
        use graph::{Clash, Invalid, Missing};
        let code = match &err {
            GraphError::InvalidInput { reason, .. } => match reason {
                Invalid::ValidationFailed => ErrorCode::ValidationFailed,
                Invalid::JsonPatchInvalid => ErrorCode::JsonPatchInvalid,
                Invalid::DtdlParserError => ErrorCode::DtdlParserError,
                Invalid::RelationshipsNotDeleted => ErrorCode::RelationshipsNotDeleted,
                Invalid::OperationNotAllowed => ErrorCode::OperationNotAllowed,
                Invalid::ModelDecommissioned => ErrorCode::ModelDecommissioned,
                Invalid::InvalidRelationship => ErrorCode::InvalidRelationship,
                Invalid::InvalidArgument => ErrorCode::InvalidArgument,
            },
            GraphError::NotFound { what, .. } => match what {
                Missing::Twin => ErrorCode::DigitalTwinNotFound,
                Missing::TargetTwin => ErrorCode::TargetDigitalTwinNotFound,
                Missing::Relationship => ErrorCode::RelationshipNotFound,
                Missing::Model => ErrorCode::ModelNotFound,
                Missing::Component => ErrorCode::ComponentNotFound,
            },
            GraphError::Conflict { reason, .. } => match reason {
                Clash::ModelAlreadyExists => ErrorCode::ModelIdAlreadyExists,
                Clash::ModelReferencesNotDeleted => ErrorCode::ModelReferencesNotDeleted,
                Clash::PreconditionFailed => ErrorCode::PreconditionFailed,
                // ADT has no containment tree; its code for a relationship the service will not create, with 409 because the relationship conflicts with the graph as it is (delete the old parent first), not with the model.
                Clash::ContainmentParent | Clash::ContainmentCycle => {
                    return ApiError::new(ErrorCode::InvalidRelationship, err.to_string())
                        .with_status(axum::http::StatusCode::CONFLICT);
                }
            },
            GraphError::LimitExceeded { .. } => ErrorCode::LimitExceeded,
        };
        ApiError::new(code, err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use graph::{Containment, Precondition, TenantGraph};
    use serde_json::json;
    use store::records::ops_for;
    use store::{Backend, TenantId};

    use super::{DataPlane, Written};
    use crate::error::{ApiError, ErrorCode};

    const NOW: &str = "2026-11-26T12:00:00.0000000Z";

    /// What the log lines written while `f` runs on this thread say.
    fn logged(f: impl FnOnce()) -> String {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .without_time()
            .with_writer(move || Capture(Arc::clone(&writer)))
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buffer.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn stored_containment_violations_are_a_warning_at_open() {
        let store = store::MemoryBackend::new(store::Limits::default()).expect("a memory store");
        let tenant = TenantId::default_tenant();
        // Written without containment, so nothing was refused: b has two parents under `contains`.
        let mut graph = TenantGraph::new(graph::Limits::default());
        let persist = |changes: Vec<graph::Change>| store.commit(ops_for(&tenant, &changes)).expect("commit");
        let model = json!({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:t:Space;1", "@type": "Interface",
            "contents": [{"@type": "Relationship", "name": "contains"}]});
        persist(graph.upload_models(vec![model], NOW).expect("a valid model").1);
        for id in ["a", "b", "c"] {
            let body = json!({"$metadata": {"$model": "dtmi:t:Space;1"}});
            persist(graph.put_twin(id, body, &Precondition::None, NOW).expect("a valid twin").1);
        }
        for (source, id) in [("a", "ab"), ("c", "cb")] {
            let body = json!({"$targetId": "b", "$relationshipName": "contains"});
            persist(graph.put_relationship(source, id, body, &Precondition::None, NOW).expect("allowed").1);
        }
        let containment = Containment::new(["contains"], Vec::<String>::new()).expect("a valid declaration");
        let mut opened = None;
        let logs = logged(|| {
            opened = Some(DataPlane::open(Arc::new(store), graph::Limits::default(), containment, "test".to_owned()));
        });
        let data = opened.expect("ran").expect("the store opens");
        expect_test::expect![[r#"WARN server::data: stored containment relationships break the rule of one parent and no cycles; they stay stored, outside the containment tree, which keeps the first parent found tenant=default count=1 examples=["twin 'b' is contained in 'a'; relationship 'cb' (contains) of twin 'c' would also place it in 'c', and a twin has at most one containment parent"]"#]]
        .assert_eq(logs.trim());
        assert_eq!(data.tenant().read(|graph| graph.relationship_count()), 2, "no relationship is lost");
    }

    #[test]
    fn a_refused_2018_write_that_changed_the_state_is_undone_from_the_store() {
        let store = store::MemoryBackend::new(store::Limits::default()).expect("a memory store");
        let containment = Containment::new(["contains"], Vec::<String>::new()).expect("a valid declaration");
        let data = DataPlane::open(Arc::new(store), graph::Limits::default(), containment, "test".to_owned())
            .expect("the store opens");
        let tenant = data.tenant();
        let refusal = || ApiError::new(ErrorCode::InvalidArgument, "refused");
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
        let logs = logged(|| {
            runtime.block_on(async {
                let kept = tenant
                    .write_all(&data, |t| {
                        Ok::<_, ApiError>(((), Written::records(t.spatial.put_device_key("kept", "a2V5".into()))))
                    })
                    .await;
                assert!(kept.is_ok(), "a write that succeeds is stored");
                let untouched = tenant.write_all(&data, |_| Err::<((), Written), _>(refusal())).await;
                assert!(untouched.is_err(), "a refusal before any change needs no reload");
                let undone = tenant
                    .write_all(&data, |t| {
                        t.spatial.put_device_key("undone", "a2V5".into());
                        Err::<((), Written), _>(refusal())
                    })
                    .await;
                assert!(undone.is_err(), "a refusal after a change is still a refusal");
            });
        });
        expect_test::expect![[r#"WARN server::data: a refused 2018 write had changed the 2018 state; reloading that state from the store tenant=default"#]]
            .assert_eq(logs.trim());
        let keys = tenant.read_all(|t| ["kept", "undone"].map(|d| t.spatial.device_key(d).map(str::to_owned)));
        assert_eq!(keys, [Some("a2V5".to_owned()), None], "the refused write's key is gone, the stored one stays");
    }

    /// A change's event as `change_event` built it with `json!` before events were written from structs, with the given id.
    fn change_event_as_value(change: &graph::Change, source: &str, now: &str, id: &str) -> serde_json::Value {
        use graph::Change;
        let (kind, subject, data) = match change {
            Change::ModelPut(_) | Change::ModelDeleted(_) => unreachable!("model changes have no event"),
            Change::TwinCreated(t) => ("Twin.Create", t.id.clone(), t.to_json()),
            Change::TwinUpdated { twin, patch } => {
                ("Twin.Update", twin.id.clone(), json!({ "modelId": twin.model(), "patch": patch }))
            }
            Change::TwinDeleted(t) => ("Twin.Delete", t.id.clone(), t.to_json()),
            Change::RelationshipCreated(r) => {
                ("Relationship.Create", format!("{}/relationships/{}", r.source, r.id), r.to_json())
            }
            Change::RelationshipUpdated { relationship: r, source_model, patch } => (
                "Relationship.Update",
                format!("{}/relationships/{}", r.source, r.id),
                json!({ "modelId": source_model, "patch": patch }),
            ),
            Change::RelationshipDeleted(r) => {
                ("Relationship.Delete", format!("{}/relationships/{}", r.source, r.id), r.to_json())
            }
        };
        json!({
            "specversion": "1.0",
            "id": id,
            "type": format!("Microsoft.DigitalTwins.{kind}"),
            "source": source,
            "subject": subject,
            "time": now,
            "datacontenttype": "application/json",
            "data": data,
        })
    }

    #[test]
    fn change_events_are_the_json_they_were_built_as_before() {
        let source = "https://twinscape.example";
        let mut graph = TenantGraph::new(graph::Limits::default());
        let model = json!({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:t:Sensor;1", "@type": "Interface",
            "contents": [
                {"@type": "Property", "name": "value", "schema": {"@type": "Object", "fields": [
                    {"name": "value", "schema": "string"}, {"name": "timestamp", "schema": "string"}]}},
                {"@type": "Property", "name": "reading", "schema": "double"},
                {"@type": "Relationship", "name": "feeds", "properties": [{"@type": "Property", "name": "weight", "schema": "double"}]}]});
        let mut changes = graph.upload_models(vec![model], NOW).expect("a valid model").1;
        for id in ["sensor-1", "sensor \"2\" é\u{1}"] {
            let body = json!({"$metadata": {"$model": "dtmi:t:Sensor;1"}, "reading": 21.5});
            changes.extend(graph.put_twin(id, body, &Precondition::None, NOW).expect("a valid twin").1);
        }
        let patch = json!([{"op": "add", "path": "/value", "value": {"value": "22.25", "timestamp": NOW}},
            {"op": "replace", "path": "/reading", "value": 1e-7}]);
        changes.extend(graph.patch_twin("sensor-1", &patch, &Precondition::None, NOW).expect("a valid patch").1);
        let body = json!({"$targetId": "sensor \"2\" é\u{1}", "$relationshipName": "feeds", "weight": 0.5});
        changes.extend(graph.put_relationship("sensor-1", "r/1", body, &Precondition::None, NOW).expect("allowed").1);
        let patch = json!([{"op": "replace", "path": "/weight", "value": 2}]);
        changes.extend(graph.patch_relationship("sensor-1", "r/1", &patch, &Precondition::None).expect("allowed").1);
        changes.extend(graph.delete_relationship("sensor-1", "r/1", &Precondition::None).expect("allowed"));
        changes.extend(graph.delete_twin("sensor-1", &Precondition::None, false).expect("allowed"));
        let mut kinds = Vec::new();
        for change in &changes {
            let Some(event) = super::change_event(change, source, NOW) else { continue };
            event.check_same_as(|id| change_event_as_value(change, source, NOW, id));
            let parsed: serde_json::Value = serde_json::from_slice(event.as_bytes()).expect("JSON");
            kinds.push(parsed["type"].as_str().expect("a type").to_owned());
        }
        expect_test::expect![[r#"
            Microsoft.DigitalTwins.Twin.Create
            Microsoft.DigitalTwins.Twin.Create
            Microsoft.DigitalTwins.Twin.Update
            Microsoft.DigitalTwins.Relationship.Create
            Microsoft.DigitalTwins.Relationship.Update
            Microsoft.DigitalTwins.Relationship.Delete
            Microsoft.DigitalTwins.Twin.Delete
        "#]]
        .assert_eq(&(kinds.join("\n") + "\n"));
    }

    #[test]
    fn telemetry_events_are_the_json_they_were_built_as_before() {
        let source = "https://twinscape.example";
        let data = json!({"temperature": 21.5, "nested": {"b": [1, "x", null], "a": true}, "text": "\"é\"\n"});
        for component in [None, Some("thermostat")] {
            let event = super::telemetry_event(source, "room 1", component, "dtmi:t:Room;1", "m-1", &data);
            event.check_same_as(|id| {
                let parsed: serde_json::Value = serde_json::from_slice(event.as_bytes()).expect("JSON");
                json!({
                    "specversion": "1.0",
                    "id": id,
                    "type": "microsoft.iot.telemetry",
                    "source": format!("{source}/digitaltwins/{}", "room 1"),
                    "subject": component.unwrap_or_default(),
                    "time": parsed["time"],
                    "datacontenttype": "application/json",
                    "dataschema": "dtmi:t:Room;1",
                    "data": data,
                })
            });
        }
    }
}
