//! History: the time series of sensor values and computed space values, kept as points in a key-value store, and the queries over them.
//!
//! Start with `History` (built from `Limits`) and a `Points` store: `History::append` (or `plan_append`, to commit the writes in a batch of one's own), `History::range` for a page of raw points, `History::buckets` for `avg`, `min`, `max`, `count` and `last` per bucket of one series or of a set merged, and `History::prune` with a `Retention`.
//!
//! Layout: `key` names points (`SeriesId`, `Timestamp`, `Position`) and lays them out as keys whose order is time order; `value` holds `Value` and its stored bytes; `points` is the `Points` trait and `MemoryPoints`; `append`, `query` and `retention` are the operations; `limits` and `error` are `Limits` and `HistoryError`.
//! The crate is pure: it does no I/O and reads no clock (callers pass `now`), and it knows no tenant, twin or store; the server implements `Points` over its store, one tenant at a time, and `docs/storage-format.md` describes the stored layout.

mod append;
mod error;
mod key;
mod limits;
mod points;
mod query;
mod retention;
mod value;

#[cfg(test)]
mod fixture;

pub use append::{Appended, NewPoint};
pub use error::HistoryError;
pub use key::{Position, SeriesId, Timestamp};
pub use limits::Limits;
pub use points::{MemoryPoints, Points, Scan, ScanOrder, Visit, Write};
pub use query::{Bucket, BucketQuery, Order, Point, RangeAnswer, RangeQuery};
pub use retention::{Pruned, Retention};
pub use value::Value;

/// The operations of history under one set of `Limits`; it holds no data, so one serves every tenant and every `Points` store.
#[derive(Clone, Debug)]
pub struct History {
    limits: Limits,
}

impl History {
    /// `InvalidInput` when the limits make no sense (a zero).
    pub fn new(limits: Limits) -> Result<History, HistoryError> {
        limits.validate()?;
        Ok(History { limits })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}
