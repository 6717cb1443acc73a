//! `Limits`: the bounds on what one append, query or prune may do, with their documented defaults.
//! They are checked where a request arrives, before anything is read or written, except `points_scanned_max`, which a scan counts as it goes.

use crate::HistoryError;

/// The bounds of history; the defaults suit a single server and are overridden from config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most points one query reads from the store, summed over its series; a query that would read more fails with `LimitExceeded`. Default: 1,000,000 (a week of one series at a point a second).
    pub points_scanned_max: usize,
    /// The largest `limit` of a raw range query, so the largest raw answer. Default: 10,000.
    pub range_points_max: usize,
    /// The most buckets a bucketed query may span, empty ones included. Default: 10,000.
    pub buckets_max: usize,
    /// The most series one bucketed query merges. Default: 1,000.
    pub series_max: usize,
    /// The most points one append carries. Default: 10,000.
    pub append_points_max: usize,
    /// The most points one prune deletes; a series with more to delete is pruned over several calls. Default: 10,000.
    pub prune_points_max: usize,
    /// The longest text of a value, in bytes of UTF-8. Default: 16 KiB.
    pub value_text_bytes_max: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            points_scanned_max: 1_000_000,
            range_points_max: 10_000,
            buckets_max: 10_000,
            series_max: 1_000,
            append_points_max: 10_000,
            prune_points_max: 10_000,
            value_text_bytes_max: 16 << 10,
        }
    }
}

impl Limits {
    /// Checks that the limits themselves make sense: nothing is zero.
    pub fn validate(&self) -> Result<(), HistoryError> {
        let Limits {
            points_scanned_max,
            range_points_max,
            buckets_max,
            series_max,
            append_points_max,
            prune_points_max,
            value_text_bytes_max,
        } = *self;
        let positive = [
            ("points_scanned_max", points_scanned_max),
            ("range_points_max", range_points_max),
            ("buckets_max", buckets_max),
            ("series_max", series_max),
            ("append_points_max", append_points_max),
            ("prune_points_max", prune_points_max),
            ("value_text_bytes_max", value_text_bytes_max),
        ];
        match positive.iter().find(|(_, value)| *value == 0) {
            Some((name, _)) => Err(HistoryError::InvalidInput { what: format!("limit {name} must be positive") }),
            None => Ok(()),
        }
    }
}

/// `LimitExceeded` when `actual` is over `limit`.
pub(crate) fn exceeds(what: &'static str, limit: usize, actual: usize) -> Result<(), HistoryError> {
    if actual > limit {
        return Err(HistoryError::LimitExceeded { what, limit: limit as u64, actual: actual as u64 });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use crate::{History, Limits};

    fn check_new(limits: Limits, expected: Expect) {
        let shown = match History::new(limits) {
            Ok(history) => format!("ok: {:?}", history.limits()),
            Err(err) => err.to_string(),
        };
        expected.assert_eq(&shown);
    }

    #[test]
    fn limits_must_be_positive() {
        check_new(
            Limits::default(),
            expect![
                "ok: Limits { points_scanned_max: 1000000, range_points_max: 10000, buckets_max: 10000, series_max: 1000, append_points_max: 10000, prune_points_max: 10000, value_text_bytes_max: 16384 }"
            ],
        );
        check_new(
            Limits { buckets_max: 0, ..Limits::default() },
            expect!["invalid input: limit buckets_max must be positive"],
        );
    }
}
