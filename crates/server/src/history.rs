//! The `history` crate's `Points` over the store: one tenant's `History` table, read through `Backend::scan_range` and written through `Backend::commit`.
//! It owns only the translation (scans, writes, errors); what to append, when to prune and which series form a set are decided by the telemetry pipeline and the routes that use it.

use std::sync::Arc;

use history::{HistoryError, Points, Scan, ScanOrder, Visit, Write};
use store::{Backend, KeyRange, Op, StoreError, Table, TenantId};

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
