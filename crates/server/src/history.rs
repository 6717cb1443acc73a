//! The `history` crate's `Points` over the store (`StorePoints`: one tenant's `History` table, read through `Backend::scan_range` and written through `Backend::commit`), and `Recorder`, which plans the history points of a write so they commit in the write's own batch.
//! It owns the translation (scans, writes, errors), the numbers of values (`value_of`), the newest positions planned per series, the answers the routes and functions share (`recent`), and the retention sweep (`sweep`); when to record is the telemetry pipeline's and the functions' business, and the HTTP shapes are the routes'.
//!
//! Why `Recorder` exists: `History::plan_append` finds a free sequence number for a point by reading the store, but a write is submitted under the tenant's lock and becomes durable later, outside it.
//! A plan made while an earlier write of the same series is submitted but not yet durable would not see that write's points, and would give a point a position already taken (its write would replace the earlier point).
//! So `Recorder` lives in the tenant's locked state and plans through `Planning`, a `Points` that answers from the store and from what the recorder knows: each series' newest planned key (read from the store the first time the series is used, then advanced with every plan), and the keys planned by writes not yet known to be durable.
//! Every plan runs under the tenant's write lock, so it sees every earlier point of its series, durable or not.
use std::collections::HashMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use history::{
    History, HistoryError, Limits, NewPoint, Order, Point, Points, RangeQuery, Retention, Scan, ScanOrder, SeriesId,
    Timestamp, Value, Visit, Write,
};
use store::{Backend, KeyRange, Op, StoreError, Table, TenantId};

pub(crate) mod routes;

/// The operations of history, with the crate's default limits; they hold no data, so one serves every tenant.
pub fn history() -> &'static History {
    static HISTORY: LazyLock<History> =
        LazyLock::new(|| History::new(Limits::default()).expect("the default history limits are valid"));
    &HISTORY
}

/// Points a function's `getSensorHistoryValues`, `getSpaceHistoryValues` and `History()` answer: the newest of the series, newest first.
pub const HOST_POINTS_MAX: usize = 100;

/// Points `historicalValues` of the 2018 face show per value: the newest of the series, newest first.
pub const HISTORICAL_VALUES_MAX: usize = 10;

/// A value as history keeps it: a JSON number's text with its number; `true` and `false` in any case (the sample's motion sensors send `True` and `False`) with 1 and 0, so `avg` over a bucket is the share of points with motion; any other text without a number.
pub fn value_of(text: &str) -> Value {
    let number = if text.eq_ignore_ascii_case("true") {
        Some(1.0)
    } else if text.eq_ignore_ascii_case("false") {
        Some(0.0)
    } else {
        None
    };
    match number {
        Some(number) => Value::new(text, Some(number)).expect("0 and 1 are finite"),
        None => Value::from_text(text),
    }
}

/// The microseconds of an RFC 3339 time as the server writes timestamps; `None` for text that is not one.
pub fn micros_of(text: &str) -> Option<Timestamp> {
    let time = text.parse::<jiff::Timestamp>().ok()?;
    Some(Timestamp::from_micros(time.as_microsecond()))
}

/// A point's timestamp as RFC 3339 in UTC with seven fractional digits, as the server writes every time.
pub fn rfc3339(ts: Timestamp) -> String {
    match jiff::Timestamp::from_microsecond(ts.as_micros()) {
        Ok(time) => format!("{time:.7}"),
        // History holds any i64 microsecond; the few outside jiff's years are shown as their number.
        Err(_) => ts.as_micros().to_string(),
    }
}

/// The newest `limit` points of `series`, newest first.
pub fn recent(points: &StorePoints, series: &SeriesId, limit: usize) -> Result<Vec<Point>, HistoryError> {
    let query = RangeQuery { from: Timestamp::MIN, to: Timestamp::MAX, order: Order::NewestFirst, limit, after: None };
    Ok(history().range(points, series, &query)?.points)
}

/// One tenant's history points, kept in the store's `History` table.
///
/// Reads see one store snapshot each; `apply` commits and waits until the batch is durable, so it blocks the calling thread (call it from a blocking task).
#[derive(Clone)]
pub struct StorePoints {
    backend: Arc<dyn Backend>,
    tenant: TenantId,
}

impl StorePoints {
    pub fn new(backend: Arc<dyn Backend>, tenant: TenantId) -> StorePoints {
        StorePoints { backend, tenant }
    }

    /// The store ops of history writes, for a batch that carries other changes too (a sensor's value with its history point, committed together).
    pub fn ops(&self, writes: Vec<Write>) -> Vec<Op> {
        let tenant = &self.tenant;
        writes
            .into_iter()
            .map(|write| match write {
                Write::Put { key, value } => Op::Put { tenant: tenant.clone(), table: Table::History, key, value },
                Write::Delete { key } => Op::Delete { tenant: tenant.clone(), table: Table::History, key },
            })
            .collect()
    }
}

impl Points for StorePoints {
    fn scan(&self, scan: &Scan<'_>, visit: &mut Visit<'_>) -> Result<(), HistoryError> {
        let order = match scan.order {
            ScanOrder::Forward => store::ScanOrder::Forward,
            ScanOrder::Reverse => store::ScanOrder::Reverse,
        };
        let range = KeyRange { prefix: scan.prefix, lower: scan.lower, upper: scan.upper, order, limit: scan.limit };
        // The store's visitor speaks `StoreError`: history's own error is kept aside and stops the scan, to be returned as it was.
        let mut stopped = None;
        let scanned = self.backend.scan_range(&self.tenant, Table::History, &range, &mut |key, value| {
            visit(key, value).map_err(|err| {
                stopped = Some(err);
                StoreError::Internal { what: "the history visitor stopped the scan".to_owned() }
            })
        });
        match stopped {
            Some(err) => Err(err),
            None => scanned.map_err(history_error),
        }
    }

    fn apply(&self, writes: Vec<Write>) -> Result<(), HistoryError> {
        self.backend.commit(self.ops(writes)).map(|_| ()).map_err(history_error)
    }
}

/// A history error as both faces answer it (the 2018 face through `MgmtError`'s `From<ApiError>`): one match with no wildcard, so a new variant forces a decision here.
impl From<HistoryError> for crate::error::ApiError {
    fn from(err: HistoryError) -> crate::error::ApiError {
        use crate::error::{ApiError, ErrorCode};
        let code = match &err {
            HistoryError::InvalidInput { .. } => ErrorCode::InvalidArgument,
            HistoryError::LimitExceeded { .. } => ErrorCode::LimitExceeded,
            HistoryError::Unavailable { .. } => ErrorCode::ServiceUnavailable,
            HistoryError::Corrupt { .. } | HistoryError::Internal { .. } => {
                tracing::error!(error = %err, "history failed");
                ErrorCode::InternalServerError
            }
        };
        ApiError::new(code, err.to_string())
    }
}

/// A store error as history reports it: one match with no wildcard, so a new store error forces a decision here.
pub fn history_error(err: StoreError) -> HistoryError {
    match err {
        // History builds every key and value itself, and the tenant id was parsed before: a refusal of its input is a bug.
        StoreError::InvalidInput { what } => {
            HistoryError::Internal { what: format!("the store refused history's input: {what}") }
        }
        StoreError::LimitExceeded { what, limit, actual } => HistoryError::LimitExceeded { what, limit, actual },
        StoreError::Unavailable { what } => HistoryError::Unavailable { what },
        StoreError::UnsupportedFormat { found, supported } => HistoryError::Internal {
            what: format!("an open store reported format {found} (this build reads {supported})"),
        },
        StoreError::Corrupt { what } => HistoryError::Corrupt { what },
        StoreError::Io(err) => HistoryError::Unavailable { what: format!("store I/O failed: {err}") },
        StoreError::Internal { what } => HistoryError::Internal { what },
    }
}

/// Fills the `historicalValues` of a rendered 2018 sensor value (`value` of a sensor, or `GET sensors/{id}/value`) of the sensor `id`; `null` is left as it is.
pub fn fill_sensor_value(points: &StorePoints, id: &str, value: &mut serde_json::Value) -> Result<(), HistoryError> {
    if value.is_object() {
        fill(points, &SeriesId::sensor(id)?, value)?;
    }
    Ok(())
}

/// Fills every `historicalValues` of a rendered 2018 object or list, nested objects included (a device's `sensors`, a sensor's `space`, a space's `children`, …): a sensor's `value` from the sensor's series and a space's `values` from the space's, each object named by its `id`.
pub fn fill_all(points: &StorePoints, rendered: &mut serde_json::Value) -> Result<(), HistoryError> {
    use serde_json::Value;
    match rendered {
        Value::Array(items) => items.iter_mut().try_for_each(|item| fill_all(points, item)),
        Value::Object(object) => {
            if let Some(id) = object.get("id").and_then(Value::as_str).map(str::to_owned) {
                if let Some(value) = object.get_mut("value").filter(|v| v.get("historicalValues").is_some()) {
                    fill(points, &SeriesId::sensor(&id)?, value)?;
                }
                if let Some(Value::Array(values)) = object.get_mut("values") {
                    for value in values.iter_mut().filter(|v| v.get("historicalValues").is_some()) {
                        let Some(name) = value.get("type").and_then(Value::as_str).map(str::to_owned) else { continue };
                        fill(points, &SeriesId::space_value(&id, &name)?, value)?;
                    }
                }
            }
            object
                .iter_mut()
                .filter(|(key, _)| !matches!(key.as_str(), "value" | "values"))
                .try_for_each(|(_, child)| fill_all(points, child))
        }
        _ => Ok(()),
    }
}

/// Sets `historicalValues` of one rendered value to the newest points of `series`, as `{value, timestamp}`.
fn fill(points: &StorePoints, series: &SeriesId, value: &mut serde_json::Value) -> Result<(), HistoryError> {
    let found = recent(points, series, HISTORICAL_VALUES_MAX)?;
    let historical: Vec<serde_json::Value> = found
        .iter()
        .map(|point| serde_json::json!({ "value": point.value.text(), "timestamp": rfc3339(point.position.ts) }))
        .collect();
    if let Some(object) = value.as_object_mut() {
        object.insert("historicalValues".to_owned(), serde_json::Value::Array(historical));
    }
    Ok(())
}

/// The history of one tenant's writes as they are planned: kept in the tenant's locked state, used only under its write lock.
pub struct Recorder {
    points: StorePoints,
    series: HashMap<SeriesId, Planned>,
    /// Writes submitted so far (`submitting` counts them); a point planned now is in write `submitted + 1`.
    submitted: u64,
    /// The highest write number known to be durable; the store commits writes in the order they were submitted, so every write up to it is durable too.
    durable: Arc<AtomicU64>,
}

/// What a recorder knows of one series.
#[derive(Default)]
struct Planned {
    /// The key of the newest point planned or stored, as the store held it when the series was first used and every plan since has advanced it.
    /// A prune may delete it; the next point then gets a sequence number one higher than needed, which is harmless.
    newest: Option<String>,
    /// Keys planned by writes not yet known to be durable, with their write number; dropped once that write is durable.
    pending: Vec<(u64, String)>,
}

impl Recorder {
    pub fn new(points: StorePoints) -> Recorder {
        Recorder { points, series: HashMap::new(), submitted: 0, durable: Arc::new(AtomicU64::new(0)) }
    }

    /// Plans `new` as part of the write about to be submitted, and returns the store ops of its points for that write's batch.
    /// Call under the tenant's write lock, in the write whose batch will carry the ops (`Written::ops`).
    pub fn plan(&mut self, new: &[NewPoint]) -> Result<Vec<Op>, HistoryError> {
        if new.is_empty() {
            return Ok(Vec::new());
        }
        let durable = self.durable.load(Ordering::Acquire);
        for point in new {
            if !self.series.contains_key(&point.series) {
                let newest = newest_key(&self.points, &point.series)?;
                self.series.insert(point.series.clone(), Planned { newest, pending: Vec::new() });
            }
            if let Some(planned) = self.series.get_mut(&point.series) {
                planned.pending.retain(|(write, _)| *write > durable);
            }
        }
        let appended = history().plan_append(&Planning { store: &self.points, series: &self.series }, new)?;
        let write = self.submitted + 1;
        for (point, planned_write) in new.iter().zip(&appended.writes) {
            let Write::Put { key, .. } = planned_write else { continue };
            let planned = self.series.entry(point.series.clone()).or_default();
            if planned.newest.as_ref().is_none_or(|newest| key > newest) {
                planned.newest = Some(key.clone());
            }
            planned.pending.push((write, key.clone()));
        }
        Ok(self.points.ops(appended.writes))
    }

    /// Counts a write being submitted, under the tenant's write lock; returns its number and the handle to report it durable with (`Durable::reached`).
    pub fn submitting(&mut self) -> Durable {
        self.submitted += 1;
        Durable { write: self.submitted, durable: Arc::clone(&self.durable) }
    }
}

/// A submitted write's number, to report once it is durable.
pub struct Durable {
    write: u64,
    durable: Arc<AtomicU64>,
}

impl Durable {
    /// The write is durable, and so is every write submitted before it.
    pub fn reached(&self) {
        self.durable.fetch_max(self.write, Ordering::AcqRel);
    }
}

/// The key of the newest stored point of `series`.
fn newest_key(points: &StorePoints, series: &SeriesId) -> Result<Option<String>, HistoryError> {
    let prefix = format!("{series}\0");
    let scan =
        Scan { prefix: &prefix, lower: Bound::Unbounded, upper: Bound::Unbounded, order: ScanOrder::Reverse, limit: 1 };
    let mut newest = None;
    points.scan(&scan, &mut |key, _| {
        newest = Some(key.to_owned());
        Ok(())
    })?;
    Ok(newest)
}

/// The `Points` a plan reads: the store, with what the recorder knows on top.
///
/// `History::plan_append` reads two things, both newest-first scans of one key: a series' newest point (the prefix is the series' own, `<series id>\0`), and the newest point of one microsecond of it (a longer prefix).
/// The first is answered from the recorder; the second from the store and the pending keys together, whichever key is larger.
/// Keys of one series and microsecond have the same length, so their byte order is their order.
struct Planning<'a> {
    store: &'a StorePoints,
    series: &'a HashMap<SeriesId, Planned>,
}

impl Planning<'_> {
    fn planned(&self, prefix: &str) -> Option<&Planned> {
        let end = prefix.find('\0')?;
        let series = SeriesId::parse(&prefix[..end]).ok()?;
        self.series.get(&series)
    }
}

impl Points for Planning<'_> {
    fn scan(&self, scan: &Scan<'_>, visit: &mut Visit<'_>) -> Result<(), HistoryError> {
        let whole_series = scan.prefix.ends_with('\0');
        let newest_only = scan.order == ScanOrder::Reverse
            && scan.limit == 1
            && scan.lower == Bound::Unbounded
            && scan.upper == Bound::Unbounded;
        let Some(planned) = self.planned(scan.prefix).filter(|_| newest_only) else {
            return Err(HistoryError::Internal {
                what: format!("a plan read history in a way the recorder does not answer: {scan:?}"),
            });
        };
        if whole_series {
            if let Some(newest) = &planned.newest {
                visit(newest, &[])?;
            }
            return Ok(());
        }
        let mut found =
            planned.pending.iter().map(|(_, key)| key).filter(|key| key.starts_with(scan.prefix)).max().cloned();
        self.store.scan(scan, &mut |key, _| {
            if found.as_deref().is_none_or(|pending| key > pending) {
                found = Some(key.to_owned());
            }
            Ok(())
        })?;
        match found {
            Some(key) => visit(&key, &[]),
            None => Ok(()),
        }
    }

    fn apply(&self, _writes: Vec<Write>) -> Result<(), HistoryError> {
        Err(HistoryError::Internal { what: "a plan's writes go into the write's own batch".to_owned() })
    }
}

/// How the retention sweep prunes: each series to `retention`, `series_per_round_max` series per call of `sweep`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sweep {
    pub retention: Retention,
    pub series_per_round_max: usize,
}

/// Where a sweep stopped, to go on from on the next round; `None` starts from the first series.
pub type SweepCursor = Option<SeriesId>;

/// What one round of `sweep` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub series: usize,
    pub deleted: usize,
    /// The round reached the last series; the next starts over from the first.
    pub wrapped: bool,
}

/// One bounded round of the retention sweep of one tenant: prunes up to `sweep.series_per_round_max` series after `cursor` with `History::prune` (each prune deletes at most `Limits::prune_points_max` points, so a series with more is pruned over several rounds), and advances `cursor`.
/// Blocking: call it from a blocking task.
pub fn sweep(
    points: &StorePoints,
    sweep: &Sweep,
    cursor: &mut SweepCursor,
    now: Timestamp,
) -> Result<Swept, HistoryError> {
    let mut swept = Swept::default();
    for _ in 0..sweep.series_per_round_max {
        let Some(series) = history().next_series(points, cursor.as_ref())? else {
            *cursor = None;
            swept.wrapped = true;
            break;
        };
        let pruned = history().prune(points, &series, &sweep.retention, now)?;
        swept.series += 1;
        swept.deleted += pruned.deleted;
        // A series with more to delete is visited again next round.
        if !pruned.more {
            *cursor = Some(series);
        } else {
            break;
        }
    }
    Ok(swept)
}

/// The retention sweep, run by the server until it stops: every `config.sweep_interval`, a pass over every series of every tenant, in rounds of `sweep` on a blocking thread.
/// A failed round is logged and the pass moves on to the next tenant; the next pass starts over.
pub async fn sweeper(data: Arc<crate::data::DataPlane>, config: crate::config::HistoryConfig) {
    let settings = config.sweep();
    // The first pass waits an interval too, so a start (or a test's restart) is not slowed, nor its data pruned at once.
    let first = tokio::time::Instant::now() + config.sweep_interval;
    let mut interval = tokio::time::interval_at(first, config.sweep_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        for tenant in data.tenants() {
            let points = tenant.points().clone();
            let span = tracing::debug_span!("history_sweep", tenant = %tenant.id);
            let swept = tokio::task::spawn_blocking(move || {
                let _entered = span.enter();
                let now = Timestamp::from_micros(jiff::Timestamp::now().as_microsecond());
                let mut cursor = None;
                let mut total = Swept::default();
                loop {
                    let round = sweep(&points, &settings, &mut cursor, now)?;
                    total.series += round.series;
                    total.deleted += round.deleted;
                    if round.wrapped {
                        return Ok::<_, HistoryError>(total);
                    }
                }
            })
            .await;
            match swept {
                Ok(Ok(total)) if total.deleted > 0 => {
                    tracing::info!(tenant = %tenant.id, series = total.series, deleted = total.deleted, "history pruned to its retention");
                }
                Ok(Ok(_)) => {}
                Ok(Err(err)) => tracing::error!(tenant = %tenant.id, error = %err, "the history sweep failed"),
                Err(join) => tracing::error!(tenant = %tenant.id, error = %join, "the history sweep panicked"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use expect_test::{Expect, expect};
    use history::{BucketQuery, History, Limits, NewPoint, Order, RangeQuery, Retention, SeriesId, Timestamp, Value};
    use store::{Backend, EmbeddedBackend, MemoryBackend, Op, Table, TenantId};

    use super::StorePoints;

    const HOUR_US: i64 = 3_600_000_000;

    /// Runs `scenario` on a fresh `MemoryBackend` and on a fresh `EmbeddedBackend`; both must tell the same story, which is then compared with `expected`.
    fn check_both_backends(scenario: impl Fn(&Arc<dyn Backend>) -> String, expected: Expect) {
        let memory: Arc<dyn Backend> =
            Arc::new(MemoryBackend::new(store::Limits::default()).expect("default limits are valid"));
        let in_memory = scenario(&memory);
        let dir = tempfile::tempdir().expect("create temp dir");
        let embedded: Arc<dyn Backend> =
            Arc::new(EmbeddedBackend::open(dir.path(), store::Limits::default()).expect("open the embedded store"));
        assert_eq!(scenario(&embedded), in_memory, "the embedded store answers as the memory store does");
        expected.assert_eq(&in_memory);
    }

    fn tenant(id: &str) -> TenantId {
        TenantId::parse(id).expect("test tenant ids are valid")
    }

    fn sensor(id: &str) -> SeriesId {
        SeriesId::sensor(id).expect("test twin ids make valid series ids")
    }

    fn history() -> History {
        History::new(Limits::default()).expect("default limits are valid")
    }

    /// Appends (tenant, sensor, µs, text) points one at a time through `StorePoints`, each its own commit.
    fn append(backend: &Arc<dyn Backend>, points: &[(&str, &str, i64, &str)]) {
        for (tenant_id, id, micros, text) in points {
            let new =
                NewPoint { series: sensor(id), ts: Timestamp::from_micros(*micros), value: Value::from_text(*text) };
            let store = StorePoints::new(Arc::clone(backend), tenant(tenant_id));
            history().append(&store, &[new]).expect("append");
        }
    }

    /// Reads one tenant's history back through every query: the newest two points of sensor `id`, its hourly buckets over four hours, the buckets of the sensors `ids` merged, then a prune to two points.
    fn queries(backend: &Arc<dyn Backend>, tenant_id: &str, id: &str, ids: &[&str]) -> String {
        let history = history();
        let store = StorePoints::new(Arc::clone(backend), tenant(tenant_id));
        let shown = |ts: Timestamp| format!("{}s", ts.as_micros() as f64 / 1e6);
        let (from, to) = (Timestamp::from_micros(0), Timestamp::from_micros(4 * HOUR_US));
        let mut lines = vec![format!("{tenant_id}:")];
        let range = RangeQuery { from, to, order: Order::NewestFirst, limit: 2, after: None };
        match history.range(&store, &sensor(id), &range) {
            Ok(answer) => {
                let points = answer.points.iter().map(|p| format!("{} {:?}", shown(p.position.ts), p.value.text()));
                lines.extend(points);
                lines.push(format!("next: {:?}", answer.next.map(|next| shown(next.ts))));
            }
            Err(err) => lines.push(format!("range: {err}")),
        }
        let query = BucketQuery { from, to, width_us: HOUR_US as u64, origin: from };
        for series in [vec![sensor(id)], ids.iter().map(|id| sensor(id)).collect()] {
            let names: Vec<&str> = series.iter().map(SeriesId::as_str).collect();
            match history.buckets(&store, &series, &query) {
                Ok(buckets) => lines.extend(buckets.iter().map(|bucket| {
                    let (start, count, avg, last) =
                        (shown(bucket.start), bucket.count, bucket.avg, bucket.last.value.text());
                    format!("{names:?} {start} count={count} avg={avg:?} last={last:?}")
                })),
                Err(err) => lines.push(format!("buckets: {err}")),
            }
        }
        let retention = Retention { age_max_us: None, points_max: Some(2) };
        match history.prune(&store, &sensor(id), &retention, to) {
            Ok(pruned) => lines.push(format!("{pruned:?}")),
            Err(err) => lines.push(format!("prune: {err}")),
        }
        lines.join("\n")
    }

    const POINTS: [(&str, &str, i64, &str); 6] = [
        ("acme", "t1", 0, "20"),
        ("acme", "t1", HOUR_US / 2, "22"),
        ("acme", "t1", HOUR_US, "Offline"),
        ("acme", "t2", 10, "30"),
        ("other", "t1", 5, "99"),
        ("acme", "t1", 2 * HOUR_US, "21"),
    ];

    #[test]
    fn history_through_the_store() {
        // Tenants share series ids but never points: `other`'s t1 stays out of `acme`'s answers. The second read of `acme` follows its prune.
        check_both_backends(
            |backend| {
                append(backend, &POINTS);
                [
                    queries(backend, "acme", "t1", &["t1", "t2"]),
                    queries(backend, "other", "t1", &["t1"]),
                    queries(backend, "nobody", "t1", &["t1"]),
                    queries(backend, "acme", "t1", &["t1"]),
                ]
                .join("\n")
            },
            expect![[r#"
                acme:
                7200s "21"
                3600s "Offline"
                next: Some("3600s")
                ["sensor/t1"] 0s count=2 avg=Some(21.0) last="22"
                ["sensor/t1"] 3600s count=1 avg=None last="Offline"
                ["sensor/t1"] 7200s count=1 avg=Some(21.0) last="21"
                ["sensor/t1", "sensor/t2"] 0s count=3 avg=Some(24.0) last="22"
                ["sensor/t1", "sensor/t2"] 3600s count=1 avg=None last="Offline"
                ["sensor/t1", "sensor/t2"] 7200s count=1 avg=Some(21.0) last="21"
                Pruned { deleted: 2, more: false }
                other:
                0.000005s "99"
                next: None
                ["sensor/t1"] 0s count=1 avg=Some(99.0) last="99"
                ["sensor/t1"] 0s count=1 avg=Some(99.0) last="99"
                Pruned { deleted: 0, more: false }
                nobody:
                next: None
                Pruned { deleted: 0, more: false }
                acme:
                7200s "21"
                3600s "Offline"
                next: None
                ["sensor/t1"] 3600s count=1 avg=None last="Offline"
                ["sensor/t1"] 7200s count=1 avg=Some(21.0) last="21"
                ["sensor/t1"] 3600s count=1 avg=None last="Offline"
                ["sensor/t1"] 7200s count=1 avg=Some(21.0) last="21"
                Pruned { deleted: 0, more: false }"#]],
        );
    }

    #[test]
    fn history_errors_pass_through_the_store() {
        // A value history never wrote, planted by hand: history's own `Corrupt` comes back through the store's visitor as it was.
        check_both_backends(
            |backend| {
                append(backend, &POINTS);
                let key = "sensor/t1\u{0}800000000000000000000001".to_owned();
                let planted = Op::Put { tenant: tenant("acme"), table: Table::History, key, value: vec![7] };
                backend.commit(vec![planted]).expect("plant a bad value");
                queries(backend, "acme", "t1", &["t1"])
            },
            expect![[r#"
                acme:
                7200s "21"
                3600s "Offline"
                next: Some("3600s")
                buckets: history data is corrupt: history value of "sensor/t1\0800000000000000000000001" is not of a known value format
                buckets: history data is corrupt: history value of "sensor/t1\0800000000000000000000001" is not of a known value format
                Pruned { deleted: 3, more: false }"#]],
        );
    }

    #[test]
    fn the_sweep_prunes_every_series_in_bounded_rounds() {
        // Three series of four points an hour apart; at 4h with 150 minutes of age and two points a series, each keeps its two newest.
        // One series a round: the rounds go on from where the last stopped, and the fourth finds no series left and starts over.
        let backend: Arc<dyn Backend> =
            Arc::new(MemoryBackend::new(store::Limits::default()).expect("default limits are valid"));
        let mut points = Vec::new();
        for id in ["a", "b", "c"] {
            for hour in 0..4 {
                points.push(("acme", id, hour * HOUR_US, "1"));
            }
        }
        append(&backend, &points);
        let store = StorePoints::new(Arc::clone(&backend), tenant("acme"));
        let settings = super::Sweep {
            retention: Retention { age_max_us: Some(150 * 60_000_000), points_max: Some(2) },
            series_per_round_max: 1,
        };
        let mut cursor = None;
        let mut rounds = Vec::new();
        for _ in 0..5 {
            let swept =
                super::sweep(&store, &settings, &mut cursor, Timestamp::from_micros(4 * HOUR_US)).expect("sweep");
            rounds.push(format!("{swept:?} then {:?}", cursor.as_ref().map(SeriesId::as_str)));
        }
        let mut left = 0;
        backend
            .scan(&tenant("acme"), Table::History, &mut |_, _| {
                left += 1;
                Ok(())
            })
            .expect("scan");
        rounds.push(format!("points left: {left}"));
        expect![[r#"
            Swept { series: 1, deleted: 2, wrapped: false } then Some("sensor/a")
            Swept { series: 1, deleted: 2, wrapped: false } then Some("sensor/b")
            Swept { series: 1, deleted: 2, wrapped: false } then Some("sensor/c")
            Swept { series: 0, deleted: 0, wrapped: true } then None
            Swept { series: 1, deleted: 0, wrapped: false } then Some("sensor/a")
            points left: 6"#]]
        .assert_eq(&rounds.join("\n"));
    }

    #[test]
    fn the_recorder_sees_points_of_writes_not_yet_durable() {
        // Writes submitted but not applied yet: a later plan of the same series, at the newest microsecond or an older one, takes the next free sequence number instead of one already given.
        let backend: Arc<dyn Backend> =
            Arc::new(MemoryBackend::new(store::Limits::default()).expect("default limits are valid"));
        let store = StorePoints::new(Arc::clone(&backend), tenant("acme"));
        let mut recorder = super::Recorder::new(store.clone());
        let point = |micros: i64, text: &str| NewPoint {
            series: sensor("t1"),
            ts: Timestamp::from_micros(micros),
            value: Value::from_text(text),
        };
        let mut batches = Vec::new();
        let mut planned = Vec::new();
        for (micros, text) in [(10, "a"), (20, "b"), (10, "c"), (20, "d")] {
            let ops = recorder.plan(&[point(micros, text)]).expect("plan");
            planned.extend(ops.iter().map(|op| match op {
                Op::Put { key, .. } => format!("{text} {:?}", &key[key.len() - 8..]),
                other => format!("{other:?}"),
            }));
            batches.push((ops, recorder.submitting()));
        }
        // Once every write is durable, the pending keys are dropped and the store answers for the older microsecond.
        for (ops, submitted) in batches {
            backend.commit(ops).expect("commit");
            submitted.reached();
        }
        let ops = recorder.plan(&[point(10, "e")]).expect("plan");
        planned.extend(ops.iter().map(|op| match op {
            Op::Put { key, .. } => format!("e {:?}", &key[key.len() - 8..]),
            other => format!("{other:?}"),
        }));
        backend.commit(ops).expect("commit");
        let stored = super::recent(&store, &sensor("t1"), 10).expect("recent");
        planned.push(format!("stored: {}", stored.iter().map(|p| p.value.text()).collect::<Vec<_>>().join(" ")));
        expect![[r#"
            a "00000000"
            b "00000000"
            c "00000001"
            d "00000001"
            e "00000002"
            stored: d b e c a"#]]
        .assert_eq(&planned.join("\n"));
    }

    #[test]
    fn writes_join_a_batch_of_the_callers() {
        // A sensor's twin and its history point in one commit, as the telemetry pipeline will write them.
        check_both_backends(
            |backend| {
                let store = StorePoints::new(Arc::clone(backend), tenant("acme"));
                let new =
                    NewPoint { series: sensor("t1"), ts: Timestamp::from_micros(1), value: Value::from_text("1") };
                let planned = history().plan_append(&store, &[new]).expect("plan");
                let mut ops = store.ops(planned.writes);
                let twin = Op::Put {
                    tenant: tenant("acme"),
                    table: Table::Twins,
                    key: "t1".to_owned(),
                    value: b"{}".to_vec(),
                };
                ops.push(twin);
                backend.commit(ops).expect("commit");
                let twin = backend.get(&tenant("acme"), Table::Twins, "t1").expect("get");
                format!("twin: {:?}\n{}", twin.map(String::from_utf8), queries(backend, "acme", "t1", &["t1"]))
            },
            expect![[r#"
                twin: Some(Ok("{}"))
                acme:
                0.000001s "1"
                next: None
                ["sensor/t1"] 0s count=1 avg=Some(1.0) last="1"
                ["sensor/t1"] 0s count=1 avg=Some(1.0) last="1"
                Pruned { deleted: 0, more: false }"#]],
        );
    }
}
