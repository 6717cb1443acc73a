//! History benchmarks: the `history` crate's operations on its in-memory `MemoryPoints` and on the embedded store (a temp directory, through `server::history::StorePoints`), so the cost of the store's range scans and durable commits shows beside the crate's own.
//!
//! `cargo bench -p server --bench history`; each benchmark's name carries its size and the backend (`memory` or `embedded`).
//! - `append_1000/{one_series,100_series}`: one batch of 1,000 new points per iteration, later than every stored one (throughput in points/s); on the embedded store each batch is one fsync'd commit; a store takes up to a million points, then a fresh one is opened outside the timing.
//! - `range_1000_of_100k/{oldest_first,newest_first}`: a page of 1,000 raw points from a random place (seeded) in a series of 100,000 (a day at about a point a second).
//! - `hourly_week_60k`: `avg`/`min`/`max`/`count`/`last` per hour over a week of a series at one point per 10 s (60,480 points, 168 buckets).
//!
//! The stores are filled outside the timed loops; the embedded store holds them in its write buffer (memtable) and journal, as a busy server's recent history is.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use history::{
    BucketQuery, History, Limits, MemoryPoints, NewPoint, Order, Points, RangeQuery, SeriesId, Timestamp, Value,
};
use server::history::StorePoints;
use store::{Backend, EmbeddedBackend, TenantId};
use tempfile::TempDir;

/// 2026-11-26T00:00:00Z, where every series starts.
const START_US: i64 = 1_795_651_200_000_000;
const DAY_POINTS: usize = 100_000;
/// 86,400 s over 100,000 points.
const DAY_STEP_US: i64 = 864_000;
const WEEK_STEP_US: i64 = 10_000_000;
const HOUR_US: i64 = 3_600_000_000;
const WEEK_US: i64 = 7 * 24 * HOUR_US;
/// The most points an append benchmark puts in one store before it starts on a fresh one.
const APPENDED_MAX: usize = 1_000_000;

/// A store under test, with the directory that must outlive it.
struct Backed {
    name: &'static str,
    points: Box<dyn Points>,
    _dir: Option<TempDir>,
}

fn memory() -> Backed {
    Backed { name: "memory", points: Box::new(MemoryPoints::new()), _dir: None }
}

fn embedded() -> Backed {
    let dir = tempfile::tempdir().expect("create temp dir");
    let backend: Arc<dyn Backend> =
        Arc::new(EmbeddedBackend::open(dir.path(), store::Limits::default()).expect("open the embedded store"));
    let tenant = TenantId::parse("bench").expect("a valid tenant id");
    Backed { name: "embedded", points: Box::new(StorePoints::new(backend, tenant)), _dir: Some(dir) }
}

/// SplitMix64, so the values and the pages read are the same in every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A temperature-like reading with one decimal, as its text and number.
    fn value(&mut self) -> Value {
        Value::from_text(format!("{:.1}", 18.0 + (self.next() % 80) as f64 / 10.0))
    }
}

fn series(id: &str) -> SeriesId {
    SeriesId::sensor(id).expect("a valid series id")
}

/// Appends `count` points of `id`, `step_us` apart from `START_US`, in batches of 10,000.
fn fill(history: &History, points: &dyn Points, id: &str, count: usize, step_us: i64, rng: &mut Rng) {
    let new: Vec<NewPoint> = (0..count)
        .map(|i| NewPoint {
            series: series(id),
            ts: Timestamp::from_micros(START_US + i as i64 * step_us),
            value: rng.value(),
        })
        .collect();
    for batch in new.chunks(10_000) {
        history.append(points, batch).expect("fill");
    }
}

fn append(c: &mut Criterion, history: &History) {
    let mut group = c.benchmark_group("append_1000");
    group.throughput(Throughput::Elements(1000));
    for open in [memory as fn() -> Backed, embedded] {
        for (name, series_count) in [("one_series", 1), ("100_series", 100)] {
            let ids: Vec<SeriesId> = (0..series_count).map(|i| series(&format!("append-{name}-{i}"))).collect();
            let mut rng = Rng(7);
            let mut backed = open();
            let mut appended = 0;
            let mut next_us = START_US;
            group.bench_function(BenchmarkId::new(name, backed.name), |bench| {
                bench.iter_custom(|iterations| {
                    let mut timed = Duration::ZERO;
                    for _ in 0..iterations {
                        // A fresh store once this one holds `APPENDED_MAX` points, outside the timing, so memory stays bounded however many iterations criterion asks for.
                        if appended >= APPENDED_MAX {
                            backed = open();
                            appended = 0;
                        }
                        // 1,000 points a second apart, dealt to the series in turn.
                        let batch: Vec<NewPoint> = (0..1000)
                            .map(|i| {
                                next_us += 1_000_000;
                                let ts = Timestamp::from_micros(next_us);
                                NewPoint { series: ids[i % ids.len()].clone(), ts, value: rng.value() }
                            })
                            .collect();
                        let start = Instant::now();
                        black_box(history.append(&*backed.points, &batch).expect("append"));
                        timed += start.elapsed();
                        appended += batch.len();
                    }
                    timed
                })
            });
        }
    }
    group.finish();
}

fn range(c: &mut Criterion, history: &History) {
    let mut group = c.benchmark_group("range_1000_of_100k");
    group.throughput(Throughput::Elements(1000));
    for backed in [memory(), embedded()] {
        fill(history, &*backed.points, "day", DAY_POINTS, DAY_STEP_US, &mut Rng(11));
        let day = series("day");
        for (name, order) in [("oldest_first", Order::OldestFirst), ("newest_first", Order::NewestFirst)] {
            let mut rng = Rng(13);
            group.bench_function(BenchmarkId::new(name, backed.name), |bench| {
                bench.iter(|| {
                    // A window that holds at least 1,000 points, anywhere in the day.
                    let first = (rng.next() % (DAY_POINTS as u64 - 1000)) as i64;
                    let (from, to) = match order {
                        Order::OldestFirst => (first, DAY_POINTS as i64),
                        Order::NewestFirst => (0, first + 1000),
                    };
                    let query = RangeQuery {
                        from: Timestamp::from_micros(START_US + from * DAY_STEP_US),
                        to: Timestamp::from_micros(START_US + to * DAY_STEP_US),
                        order,
                        limit: 1000,
                        after: None,
                    };
                    let answer = history.range(&*backed.points, &day, &query).expect("range");
                    assert_eq!(answer.points.len(), 1000);
                    black_box(answer)
                })
            });
        }
    }
    group.finish();
}

fn buckets(c: &mut Criterion, history: &History) {
    let mut group = c.benchmark_group("hourly_week_60k");
    let week_points = (WEEK_US / WEEK_STEP_US) as usize;
    group.throughput(Throughput::Elements(week_points as u64));
    for backed in [memory(), embedded()] {
        fill(history, &*backed.points, "week", week_points, WEEK_STEP_US, &mut Rng(17));
        let week = [series("week")];
        let query = BucketQuery {
            from: Timestamp::from_micros(START_US),
            to: Timestamp::from_micros(START_US + WEEK_US),
            width_us: HOUR_US as u64,
            origin: Timestamp::from_micros(START_US),
        };
        group.bench_function(backed.name, |bench| {
            bench.iter(|| {
                let buckets = history.buckets(&*backed.points, &week, &query).expect("buckets");
                assert_eq!(buckets.len(), 168);
                black_box(buckets)
            })
        });
    }
    group.finish();
}

fn all(c: &mut Criterion) {
    let history = History::new(Limits::default()).expect("default limits are valid");
    append(c, &history);
    range(c, &history);
    buckets(c, &history);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = all
}
criterion_main!(benches);
