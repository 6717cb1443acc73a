//! The queries over stored points: a raw range of one series, page by page, and bucketed aggregates of one series or of a set of series merged.
//! Every query checks its limits before reading, and counts the points it reads against `points_scanned_max` as it goes.
//! It does not decide which series form a set (the server passes, say, the sensors of a data type under a space).
//!
//! Buckets: bucket `k` covers `[origin + k × width, origin + (k + 1) × width)` for every integer `k`, so buckets are aligned to `origin` whatever the range.
//! A query's answer holds the buckets that overlap `[from, to)` and hold at least one point of it; empty buckets are omitted, and a bucket cut by `from` or `to` counts only the points inside the range.
//! `buckets_max` bounds the buckets the range spans, empty ones included, so it is checked before anything is read.

use std::ops::Bound;

use crate::key::{decode_position, point_key, series_prefix, ts_key};
use crate::limits::exceeds;
use crate::points::{Scan, ScanOrder};
use crate::value::{decode, decode_number};
use crate::{History, HistoryError, Points, Position, SeriesId, Timestamp, Value};

/// The order of a raw range answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    OldestFirst,
    NewestFirst,
}

/// A raw range query of one series: the points with `from <= ts < to`, at most `limit`, in `order`, continuing after `after` when given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeQuery {
    pub from: Timestamp,
    pub to: Timestamp,
    pub order: Order,
    /// At most `Limits::range_points_max`.
    pub limit: usize,
    /// The `next` of the previous page: the answer starts after this position, in `order`.
    pub after: Option<Position>,
}

/// A stored point: where it sits in its series, and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub position: Position,
    pub value: Value,
}

/// One page of a raw range.
#[derive(Clone, Debug, PartialEq)]
pub struct RangeAnswer {
    pub points: Vec<Point>,
    /// Where the next page starts (the position of the last point here) when the range holds more points; `None` when this page ends it.
    pub next: Option<Position>,
}

/// A bucketed query: the points with `from <= ts < to`, aggregated per bucket of `width_us` microseconds aligned to `origin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketQuery {
    pub from: Timestamp,
    pub to: Timestamp,
    pub width_us: u64,
    pub origin: Timestamp,
}

/// The aggregates of one bucket that holds at least one point.
#[derive(Clone, Debug, PartialEq)]
pub struct Bucket {
    /// The bucket's aligned start, which is before `from` when the range cuts the first bucket.
    pub start: Timestamp,
    /// Every point in the bucket and the range, numeric or not.
    pub count: u64,
    /// The points with a numeric form; `avg`, `min` and `max` are over these, and `None` when there are none.
    pub count_numeric: u64,
    pub avg: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// The newest point: the greatest timestamp, then the greatest series id (in a merged answer), then the greatest sequence number.
    pub last: Point,
}

impl History {
    /// One page of the points of `series` in `[from, to)`.
    pub fn range(
        &self,
        points: &dyn Points,
        series: &SeriesId,
        query: &RangeQuery,
    ) -> Result<RangeAnswer, HistoryError> {
        exceeds("range_points_max", self.limits.range_points_max, query.limit)?;
        check_range(query.from, query.to)?;
        let prefix = series_prefix(series);
        let from_key = ts_key(&prefix, query.from);
        let to_key = ts_key(&prefix, query.to);
        let after_key = query.after.map(|after| point_key(&prefix, after));
        let (mut lower, mut upper) = (Bound::Included(from_key.as_str()), Bound::Excluded(to_key.as_str()));
        match (query.order, &after_key) {
            (_, None) => {}
            (Order::OldestFirst, Some(after)) => lower = tighter_lower(lower, after),
            (Order::NewestFirst, Some(after)) => upper = tighter_upper(upper, after),
        }
        let order = match query.order {
            Order::OldestFirst => ScanOrder::Forward,
            Order::NewestFirst => ScanOrder::Reverse,
        };
        // One point more than asked, to learn whether there is a next page.
        let scan = Scan { prefix: &prefix, lower, upper, order, limit: query.limit.saturating_add(1) };
        let mut found = Vec::with_capacity(query.limit.min(1024) + 1);
        points.scan(&scan, &mut |key, bytes| {
            let position = decode_position(key, prefix.len())?;
            check_inside(key, position.ts, query.from, query.to)?;
            found.push(Point { position, value: decode(bytes, key)? });
            Ok(())
        })?;
        let next = if found.len() > query.limit {
            found.truncate(query.limit);
            found.last().map(|point| point.position)
        } else {
            None
        };
        Ok(RangeAnswer { points: found, next })
    }

    /// The buckets of every series of `series` merged: each bucket aggregates the points of all of them (a series listed twice counts once).
    pub fn buckets(
        &self,
        points: &dyn Points,
        series: &[SeriesId],
        query: &BucketQuery,
    ) -> Result<Vec<Bucket>, HistoryError> {
        exceeds("series_max", self.limits.series_max, series.len())?;
        check_range(query.from, query.to)?;
        if query.width_us == 0 {
            return Err(HistoryError::InvalidInput { what: "the bucket width must be positive".to_owned() });
        }
        if query.from == query.to {
            return Ok(Vec::new());
        }
        let grid = Grid::new(query)?;
        exceeds("buckets_max", self.limits.buckets_max, grid.len)?;

        let mut series: Vec<&SeriesId> = series.iter().collect();
        series.sort();
        series.dedup();
        let mut buckets: Vec<Option<Accumulator>> = (0..grid.len).map(|_| None).collect();
        let mut scanned = 0usize;
        let scanned_max = self.limits.points_scanned_max;
        for (index, series) in series.iter().enumerate() {
            let prefix = series_prefix(series);
            let from_key = ts_key(&prefix, query.from);
            let to_key = ts_key(&prefix, query.to);
            let scan = Scan {
                prefix: &prefix,
                lower: Bound::Included(&from_key),
                upper: Bound::Excluded(&to_key),
                order: ScanOrder::Forward,
                limit: scanned_max - scanned + 1,
            };
            points.scan(&scan, &mut |key, bytes| {
                scanned += 1;
                exceeds("points_scanned_max", scanned_max, scanned)?;
                let position = decode_position(key, prefix.len())?;
                check_inside(key, position.ts, query.from, query.to)?;
                let number = decode_number(bytes, key)?;
                let slot = &mut buckets[grid.index(position.ts)];
                match slot {
                    Some(accumulator) => accumulator.add(position, index, number, bytes),
                    None => *slot = Some(Accumulator::new(position, index, number, bytes)),
                }
                Ok(())
            })?;
        }
        let mut answer = Vec::new();
        for (offset, accumulator) in buckets.into_iter().enumerate() {
            if let Some(accumulator) = accumulator {
                answer.push(accumulator.finish(grid.start(offset))?);
            }
        }
        Ok(answer)
    }
}

/// The buckets a query spans: bucket `first + offset` for `offset` in `0..len`.
struct Grid {
    origin: i128,
    width: i128,
    first: i128,
    len: usize,
    /// The start of bucket `first`, and the width as a `u64`, for `index`.
    first_start: i128,
    width_u64: u64,
}

impl Grid {
    /// The grid of a non-empty range; `InvalidInput` when its first bucket would start before the earliest timestamp (the last always starts before `to`).
    fn new(query: &BucketQuery) -> Result<Grid, HistoryError> {
        let origin = i128::from(query.origin.as_micros());
        let width = i128::from(query.width_us);
        let first = (i128::from(query.from.as_micros()) - origin).div_euclid(width);
        let last = (i128::from(query.to.as_micros()) - 1 - origin).div_euclid(width);
        let first_start = origin + first * width;
        let last_start = origin + last * width;
        if first_start < i128::from(i64::MIN) || last_start > i128::from(i64::MAX) {
            return Err(HistoryError::InvalidInput {
                what: "the buckets of the range start outside the timestamps history can hold".to_owned(),
            });
        }
        let len = usize::try_from(last - first + 1).unwrap_or(usize::MAX);
        Ok(Grid { origin, width, first, len, first_start, width_u64: query.width_us })
    }

    /// The offset of the bucket holding `ts`, a time inside the range: in `u64` arithmetic, since this runs for every point read (`i128` division is a library call).
    fn index(&self, ts: Timestamp) -> usize {
        let since_first = u64::try_from(i128::from(ts.as_micros()) - self.first_start)
            .expect("scanned points lie inside the range, so at or after the first bucket's start");
        usize::try_from(since_first / self.width_u64).expect("the offset is below the grid's length, a usize")
    }

    fn start(&self, offset: usize) -> Timestamp {
        let start = self.origin + (self.first + offset as i128) * self.width;
        Timestamp::from_micros(i64::try_from(start).expect("Grid::new checked every start"))
    }
}

/// The running aggregates of one bucket.
struct Accumulator {
    count: u64,
    count_numeric: u64,
    sum: f64,
    min: f64,
    max: f64,
    /// The newest point so far, with the index of its series in sorted order (ties of timestamp go to the greater series id) and its stored bytes, decoded only at the end.
    last: (Position, usize),
    last_bytes: Vec<u8>,
}

impl Accumulator {
    fn new(position: Position, series: usize, number: Option<f64>, bytes: &[u8]) -> Accumulator {
        let mut accumulator = Accumulator {
            count: 0,
            count_numeric: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            last: (position, series),
            last_bytes: Vec::new(),
        };
        accumulator.add(position, series, number, bytes);
        accumulator
    }

    fn add(&mut self, position: Position, series: usize, number: Option<f64>, bytes: &[u8]) {
        self.count += 1;
        if let Some(number) = number {
            self.count_numeric += 1;
            self.sum += number;
            self.min = self.min.min(number);
            self.max = self.max.max(number);
        }
        // Series are read one after another in sorted order, each oldest first, so a point at the same time or later is the newer one.
        if (position.ts, series, position.seq) >= (self.last.0.ts, self.last.1, self.last.0.seq) {
            self.last = (position, series);
            self.last_bytes.clear();
            self.last_bytes.extend_from_slice(bytes);
        }
    }

    fn finish(self, start: Timestamp) -> Result<Bucket, HistoryError> {
        let numeric = self.count_numeric > 0;
        let last = decode(&self.last_bytes, "the last point of a bucket")?;
        Ok(Bucket {
            start,
            count: self.count,
            count_numeric: self.count_numeric,
            avg: numeric.then(|| self.sum / self.count_numeric as f64),
            min: numeric.then_some(self.min),
            max: numeric.then_some(self.max),
            last: Point { position: self.last.0, value: last },
        })
    }
}

fn check_range(from: Timestamp, to: Timestamp) -> Result<(), HistoryError> {
    if from > to {
        return Err(HistoryError::InvalidInput {
            what: format!("the range ends ({}) before it starts ({})", to.as_micros(), from.as_micros()),
        });
    }
    Ok(())
}

/// A point the store returned must lie inside the range that was asked for: checked again after decoding.
fn check_inside(key: &str, ts: Timestamp, from: Timestamp, to: Timestamp) -> Result<(), HistoryError> {
    if ts < from || ts >= to {
        return Err(HistoryError::Internal { what: format!("the store returned {key:?}, outside the range scanned") });
    }
    Ok(())
}

/// The lower bound `after` a position (exclusive), unless the range's own lower bound is already past it.
fn tighter_lower<'a>(lower: Bound<&'a str>, after: &'a str) -> Bound<&'a str> {
    match lower {
        Bound::Included(from) if from > after => lower,
        _ => Bound::Excluded(after),
    }
}

/// The upper bound before a position (exclusive), unless the range's own upper bound is already below it.
fn tighter_upper<'a>(upper: Bound<&'a str>, after: &'a str) -> Bound<&'a str> {
    match upper {
        Bound::Excluded(to) if to <= after => upper,
        _ => Bound::Excluded(after),
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use crate::fixture::{history, secs, series, show_bucket, show_err, show_point, show_position, stored};
    use crate::{BucketQuery, Limits, MemoryPoints, Order, Points, Position, RangeQuery, Timestamp, Write};

    const H: i64 = 3600;

    /// Shows one page of a raw range of `series`, then its `next`, or the error.
    fn check_range(store: &MemoryPoints, limits: Limits, id: &str, query: RangeQuery, expected: Expect) {
        let shown = match history(limits).range(store, &series(id), &query) {
            Ok(answer) => {
                let mut lines: Vec<String> = answer.points.iter().map(show_point).collect();
                lines.push(format!("next: {}", answer.next.map_or("-".to_owned(), show_position)));
                lines.join("\n")
            }
            Err(err) => show_err(&err),
        };
        expected.assert_eq(&shown);
    }

    /// Reads a whole range page by page, each page on a line.
    fn check_pages(
        store: &MemoryPoints,
        id: &str,
        from: Timestamp,
        to: Timestamp,
        order: Order,
        limit: usize,
        expected: Expect,
    ) {
        let history = history(Limits::default());
        let mut query = RangeQuery { from, to, order, limit, after: None };
        let mut pages = Vec::new();
        loop {
            let answer = history.range(store, &series(id), &query).expect("range");
            pages.push(answer.points.iter().map(show_point).collect::<Vec<_>>().join(", "));
            match answer.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        expected.assert_eq(&pages.join("\n"));
    }

    /// Shows the buckets of the series `ids` merged, one per line, or the error.
    fn check_buckets(store: &MemoryPoints, limits: Limits, ids: &[&str], query: BucketQuery, expected: Expect) {
        let ids: Vec<_> = ids.iter().map(|id| series(id)).collect();
        let shown = match history(limits).buckets(store, &ids, &query) {
            Ok(buckets) => buckets.iter().map(show_bucket).collect::<Vec<_>>().join("\n"),
            Err(err) => show_err(&err),
        };
        expected.assert_eq(&shown);
    }

    fn raw(from: i64, to: i64, order: Order, limit: usize) -> RangeQuery {
        RangeQuery { from: secs(from), to: secs(to), order, limit, after: None }
    }

    fn hourly(from: i64, to: i64, origin: i64) -> BucketQuery {
        BucketQuery { from: secs(from), to: secs(to), width_us: H as u64 * 1_000_000, origin: secs(origin) }
    }

    /// A series `s` with two points in one second, a non-numeric value, and a neighbour `s0` whose id starts with `s`.
    fn series_s() -> MemoryPoints {
        stored(&[
            ("s", 0, "1"),
            ("s", 10_000_000, "2"),
            ("s", 10_000_000, "3"),
            ("s", 20_000_000, "Occupied"),
            ("s", 30_000_000, "5"),
            ("s0", 10_000_000, "other"),
        ])
    }

    #[test]
    fn raw_ranges_in_both_orders() {
        let store = series_s();
        check_range(
            &store,
            Limits::default(),
            "s",
            raw(0, 40, Order::OldestFirst, 10),
            expect![[r#"
            0s#0 "1"
            10s#0 "2"
            10s#1 "3"
            20s#0 "Occupied"
            30s#0 "5"
            next: -"#]],
        );
        check_range(
            &store,
            Limits::default(),
            "s",
            raw(0, 40, Order::NewestFirst, 10),
            expect![[r#"
            30s#0 "5"
            20s#0 "Occupied"
            10s#1 "3"
            10s#0 "2"
            0s#0 "1"
            next: -"#]],
        );
        // `from` is inclusive, `to` exclusive.
        check_range(
            &store,
            Limits::default(),
            "s",
            raw(10, 30, Order::OldestFirst, 10),
            expect![[r#"
            10s#0 "2"
            10s#1 "3"
            20s#0 "Occupied"
            next: -"#]],
        );
        check_range(&store, Limits::default(), "s", raw(10, 10, Order::OldestFirst, 10), expect!["next: -"]);
        check_range(
            &store,
            Limits::default(),
            "s0",
            raw(0, 40, Order::OldestFirst, 10),
            expect![[r#"
            10s#0 "other"
            next: -"#]],
        );
        check_range(&store, Limits::default(), "nothing", raw(0, 40, Order::OldestFirst, 10), expect!["next: -"]);
        // The newest value alone, as a sensor's `value` reads it.
        check_range(
            &store,
            Limits::default(),
            "s",
            raw(0, 40, Order::NewestFirst, 1),
            expect![[r#"
            30s#0 "5"
            next: 30s#0"#]],
        );
    }

    #[test]
    fn raw_ranges_page_through_points_of_one_microsecond() {
        let store = series_s();
        check_pages(
            &store,
            "s",
            secs(0),
            secs(40),
            Order::OldestFirst,
            2,
            expect![[r#"
            0s#0 "1", 10s#0 "2"
            10s#1 "3", 20s#0 "Occupied"
            30s#0 "5""#]],
        );
        check_pages(
            &store,
            "s",
            secs(0),
            secs(40),
            Order::NewestFirst,
            2,
            expect![[r#"
            30s#0 "5", 20s#0 "Occupied"
            10s#1 "3", 10s#0 "2"
            0s#0 "1""#]],
        );
        check_pages(
            &store,
            "s",
            secs(5),
            secs(30),
            Order::NewestFirst,
            1,
            expect![[r#"
            20s#0 "Occupied"
            10s#1 "3"
            10s#0 "2""#]],
        );
        // A page that ends with the range has no next page, even when the series goes on.
        check_pages(
            &store,
            "s",
            secs(0),
            secs(20),
            Order::OldestFirst,
            3,
            expect![[r#"0s#0 "1", 10s#0 "2", 10s#1 "3""#]],
        );
    }

    #[test]
    fn raw_range_continues_from_any_position() {
        let store = series_s();
        let after = |ts: i64, seq: u32| Some(Position { ts: secs(ts), seq });
        let query = RangeQuery { after: after(10, 0), ..raw(0, 40, Order::OldestFirst, 10) };
        check_range(
            &store,
            Limits::default(),
            "s",
            query,
            expect![[r#"
            10s#1 "3"
            20s#0 "Occupied"
            30s#0 "5"
            next: -"#]],
        );
        // A position before the range does not widen it.
        let query = RangeQuery { after: after(-100, 0), ..raw(10, 40, Order::OldestFirst, 10) };
        check_range(
            &store,
            Limits::default(),
            "s",
            query,
            expect![[r#"
            10s#0 "2"
            10s#1 "3"
            20s#0 "Occupied"
            30s#0 "5"
            next: -"#]],
        );
        let query = RangeQuery { after: after(100, 0), ..raw(0, 20, Order::NewestFirst, 10) };
        check_range(
            &store,
            Limits::default(),
            "s",
            query,
            expect![[r#"
            10s#1 "3"
            10s#0 "2"
            0s#0 "1"
            next: -"#]],
        );
    }

    #[test]
    fn raw_range_refusals() {
        let store = series_s();
        let limits = Limits { range_points_max: 3, ..Limits::default() };
        check_range(
            &store,
            limits.clone(),
            "s",
            raw(0, 40, Order::OldestFirst, 3),
            expect![[r#"
            0s#0 "1"
            10s#0 "2"
            10s#1 "3"
            next: 10s#1"#]],
        );
        check_range(
            &store,
            limits,
            "s",
            raw(0, 40, Order::OldestFirst, 4),
            expect!["limit exceeded: range_points_max is 3, got 4"],
        );
        check_range(
            &store,
            Limits::default(),
            "s",
            raw(40, 0, Order::OldestFirst, 4),
            expect!["invalid input: the range ends (0) before it starts (40000000)"],
        );
    }

    /// A week of hours in short: points around the first hours of the epoch, with a boundary point, a non-numeric one and an empty hour.
    fn hours() -> MemoryPoints {
        stored(&[
            ("a", -1_000_000, "5"),
            ("a", 0, "10"),
            ("a", 1800 * 1_000_000, "20"),
            ("a", 3599 * 1_000_000, "Occupied"),
            ("a", 3600 * 1_000_000, "30"),
            ("a", (3 * H + 5) * 1_000_000, "40"),
            ("b", 0, "1"),
            ("b", 3599 * 1_000_000, "last of b"),
            ("b", (2 * H) * 1_000_000, "Vacant"),
        ])
    }

    #[test]
    fn buckets_align_to_the_origin_and_omit_empty_ones() {
        let store = hours();
        // The point at 3600s opens the second hour; the third hour is empty and left out; the point before `from` is not counted.
        check_buckets(
            &store,
            Limits::default(),
            &["a"],
            hourly(0, 4 * H, 0),
            expect![[r#"
            0s count=3 numeric=2 avg=15 min=10 max=20 last=3599s#0 "Occupied"
            3600s count=1 numeric=1 avg=30 min=30 max=30 last=3600s#0 "30"
            10800s count=1 numeric=1 avg=40 min=40 max=40 last=10805s#0 "40""#]],
        );
        // Half-hour origin: the same points in other buckets, the first starting before `from`.
        check_buckets(
            &store,
            Limits::default(),
            &["a"],
            hourly(0, 4 * H, 1800),
            expect![[r#"
            -1800s count=1 numeric=1 avg=10 min=10 max=10 last=0s#0 "10"
            1800s count=3 numeric=2 avg=25 min=20 max=30 last=3600s#0 "30"
            9000s count=1 numeric=1 avg=40 min=40 max=40 last=10805s#0 "40""#]],
        );
        // Cut at both ends: the first bucket counts from 1800s, the last stops before 3600s + 1s.
        check_buckets(
            &store,
            Limits::default(),
            &["a"],
            hourly(1800, H + 1, 0),
            expect![[r#"
            0s count=2 numeric=1 avg=20 min=20 max=20 last=3599s#0 "Occupied"
            3600s count=1 numeric=1 avg=30 min=30 max=30 last=3600s#0 "30""#]],
        );
        check_buckets(
            &store,
            Limits::default(),
            &["a"],
            hourly(-H, 0, 0),
            expect![[r#"-3600s count=1 numeric=1 avg=5 min=5 max=5 last=-1s#0 "5""#]],
        );
        check_buckets(&store, Limits::default(), &["a"], hourly(0, 0, 0), expect![""]);
        check_buckets(&store, Limits::default(), &["nothing"], hourly(0, 4 * H, 0), expect![""]);
    }

    #[test]
    fn buckets_merge_a_set_of_series() {
        let store = hours();
        // `b`'s last point of the first hour ties with `a`'s at 3599s: the greater series id wins. `a` listed twice counts once.
        check_buckets(
            &store,
            Limits::default(),
            &["b", "a", "a"],
            hourly(0, 4 * H, 0),
            expect![[r#"
            0s count=5 numeric=3 avg=10.333333333333334 min=1 max=20 last=3599s#0 "last of b"
            3600s count=1 numeric=1 avg=30 min=30 max=30 last=3600s#0 "30"
            7200s count=1 numeric=0 avg=- min=- max=- last=7200s#0 "Vacant"
            10800s count=1 numeric=1 avg=40 min=40 max=40 last=10805s#0 "40""#]],
        );
        check_buckets(&store, Limits::default(), &[], hourly(0, 4 * H, 0), expect![""]);
    }

    #[test]
    fn bucket_refusals() {
        let store = hours();
        // 4 hours span 4 buckets, one microsecond more spans 5; empty buckets count.
        let limits = Limits { buckets_max: 4, ..Limits::default() };
        check_buckets(
            &store,
            limits.clone(),
            &["a"],
            hourly(0, 4 * H, 0),
            expect![[r#"
            0s count=3 numeric=2 avg=15 min=10 max=20 last=3599s#0 "Occupied"
            3600s count=1 numeric=1 avg=30 min=30 max=30 last=3600s#0 "30"
            10800s count=1 numeric=1 avg=40 min=40 max=40 last=10805s#0 "40""#]],
        );
        let query = BucketQuery { to: Timestamp::from_micros(4 * H * 1_000_000 + 1), ..hourly(0, 0, 0) };
        check_buckets(&store, limits, &["a"], query, expect!["limit exceeded: buckets_max is 4, got 5"]);
        // 5 points of `a` and 3 of `b` in range: each series alone fits in 6, together they do not, and the scan stops at the 7th point read.
        let limits = Limits { points_scanned_max: 6, ..Limits::default() };
        check_buckets(
            &store,
            limits.clone(),
            &["a", "b"],
            hourly(0, 4 * H, 0),
            expect!["limit exceeded: points_scanned_max is 6, got 7"],
        );
        check_buckets(
            &store,
            limits,
            &["b"],
            hourly(0, 4 * H, 0),
            expect![[r#"
            0s count=2 numeric=1 avg=1 min=1 max=1 last=3599s#0 "last of b"
            7200s count=1 numeric=0 avg=- min=- max=- last=7200s#0 "Vacant""#]],
        );
        let limits = Limits { series_max: 1, ..Limits::default() };
        check_buckets(
            &store,
            limits,
            &["a", "a"],
            hourly(0, 4 * H, 0),
            expect!["limit exceeded: series_max is 1, got 2"],
        );
        let query = BucketQuery { width_us: 0, ..hourly(0, H, 0) };
        check_buckets(
            &store,
            Limits::default(),
            &["a"],
            query,
            expect!["invalid input: the bucket width must be positive"],
        );
        check_buckets(
            &store,
            Limits::default(),
            &["a"],
            hourly(H, 0, 0),
            expect!["invalid input: the range ends (0) before it starts (3600000000)"],
        );
        let query = BucketQuery {
            from: Timestamp::MIN,
            to: Timestamp::MAX,
            width_us: u64::MAX,
            origin: Timestamp::from_micros(1),
        };
        check_buckets(
            &store,
            Limits::default(),
            &["a"],
            query,
            expect!["invalid input: the buckets of the range start outside the timestamps history can hold"],
        );
    }

    #[test]
    fn corrupt_points_are_reported() {
        let store = hours();
        let key = "a\u{0}800000000000000200000000".to_owned();
        store.apply(vec![Write::Put { key, value: vec![9] }]).expect("memory points apply");
        check_buckets(
            &store,
            Limits::default(),
            &["a"],
            hourly(0, H, 0),
            expect![[
                r#"history data is corrupt: history value of "a\0800000000000000200000000" is not of a known value format"#
            ]],
        );
        check_range(
            &store,
            Limits::default(),
            "a",
            raw(0, 1, Order::OldestFirst, 10),
            expect![[
                r#"history data is corrupt: history value of "a\0800000000000000200000000" is not of a known value format"#
            ]],
        );
    }
}
