//! Fixtures of the crate's unit tests: names and times in short form, stores filled with points, and answers rendered as text for `expect!` snapshots.
//! Only the `check*` helpers of each module's tests call the API under test; these build their inputs and show their outputs.

use crate::key::decode_position;
use crate::points::{Scan, ScanOrder};
use crate::{
    Bucket, History, HistoryError, Limits, MemoryPoints, NewPoint, Point, Points, Position, SeriesId, Timestamp, Value,
};
use std::ops::Bound;

pub(crate) fn series(text: &str) -> SeriesId {
    SeriesId::parse(text).expect("test series ids are valid")
}

/// A time given in seconds since the epoch.
pub(crate) fn secs(seconds: i64) -> Timestamp {
    Timestamp::from_micros(seconds * 1_000_000)
}

pub(crate) fn history(limits: Limits) -> History {
    History::new(limits).expect("test limits are valid")
}

/// New points as (series, time in microseconds, text); the text's number is read as `Value::from_text` reads it.
pub(crate) fn new_points(points: &[(&str, i64, &str)]) -> Vec<NewPoint> {
    points
        .iter()
        .map(|&(id, micros, text)| NewPoint {
            series: series(id),
            ts: Timestamp::from_micros(micros),
            value: Value::from_text(text),
        })
        .collect()
}

/// A store holding `points`, appended in one batch under the default limits.
pub(crate) fn stored(points: &[(&str, i64, &str)]) -> MemoryPoints {
    let store = MemoryPoints::new();
    history(Limits::default()).append(&store, &new_points(points)).expect("test points append");
    store
}

/// A time as seconds, with the microseconds only when there are some: `3600s`, `-0.000005s`.
pub(crate) fn show_ts(ts: Timestamp) -> String {
    let micros = ts.as_micros();
    let sign = if micros < 0 { "-" } else { "" };
    let (seconds, fraction) = (micros.unsigned_abs() / 1_000_000, micros.unsigned_abs() % 1_000_000);
    if fraction == 0 { format!("{sign}{seconds}s") } else { format!("{sign}{seconds}.{fraction:06}s") }
}

pub(crate) fn show_position(position: Position) -> String {
    format!("{}#{}", show_ts(position.ts), position.seq)
}

pub(crate) fn show_point(point: &Point) -> String {
    format!("{} {:?}", show_position(point.position), point.value.text())
}

pub(crate) fn show_bucket(bucket: &Bucket) -> String {
    let number = |n: Option<f64>| n.map_or("-".to_owned(), |n| n.to_string());
    format!(
        "{} count={} numeric={} avg={} min={} max={} last={}",
        show_ts(bucket.start),
        bucket.count,
        bucket.count_numeric,
        number(bucket.avg),
        number(bucket.min),
        number(bucket.max),
        show_point(&bucket.last),
    )
}

/// An error as the server would log it.
pub(crate) fn show_err(err: &HistoryError) -> String {
    format!("{err}")
}

/// Every stored key, in key order, as `series position`: what is in the store, whatever the queries say.
pub(crate) fn show_store(store: &MemoryPoints) -> String {
    let scan = Scan {
        prefix: "",
        lower: Bound::Unbounded,
        upper: Bound::Unbounded,
        order: ScanOrder::Forward,
        limit: usize::MAX,
    };
    let mut lines = Vec::new();
    store
        .scan(&scan, &mut |key, _| {
            let (id, _) = key.split_once('\0').expect("history keys hold a series id");
            let position = decode_position(key, id.len() + 1)?;
            lines.push(format!("{id} {}", show_position(position)));
            Ok(())
        })
        .expect("memory points scan");
    lines.join("\n")
}
