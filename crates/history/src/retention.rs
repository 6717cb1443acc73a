//! Retention: how long and how many points a series keeps (`Retention`), the rule that says which points are past it, and `History::prune`, which deletes them a bounded batch at a time.
//! It reads no clock: the caller passes `now`, and decides when and how often to prune (the server sweeps series with `History::next_series`).

use std::ops::Bound;

use crate::key::{after_series, decode_position, decode_series, series_prefix, ts_key};
use crate::points::{Scan, ScanOrder};
use crate::{History, HistoryError, Points, Position, SeriesId, Timestamp, Write};

/// How much of a series to keep: points up to a maximum age, and/or the newest points up to a maximum count.
/// A point past either bound is deleted; with neither, everything is kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// A point older than this (`now - ts > age_max_us`) is past retention.
    pub age_max_us: Option<u64>,
    /// A point with this many newer points in its series is past retention.
    pub points_max: Option<u64>,
}

/// What one `History::prune` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pruned {
    pub deleted: usize,
    /// Whether the series still holds points past retention (the call stopped at `Limits::prune_points_max`); call again.
    pub more: bool,
}

impl Retention {
    /// Whether the point at `ts`, with `newer` points after it in its series, is past retention at `now`.
    pub fn expired(&self, now: Timestamp, ts: Timestamp, newer: u64) -> bool {
        let age = i128::from(now.as_micros()) - i128::from(ts.as_micros());
        let too_old = self.age_max_us.is_some_and(|age_max| age > i128::from(age_max));
        let too_many = self.points_max.is_some_and(|points_max| newer >= points_max);
        too_old || too_many
    }

    /// Of a whole series' positions, oldest first, the ones to delete at `now`: always its oldest ones, since both rules hold for a point whenever they hold for a newer one.
    pub fn expired_positions<'p>(&self, now: Timestamp, oldest_first: &'p [Position]) -> &'p [Position] {
        let len = oldest_first.len();
        let kept = oldest_first
            .iter()
            .enumerate()
            .position(|(index, position)| !self.expired(now, position.ts, (len - 1 - index) as u64))
            .unwrap_or(len);
        &oldest_first[..kept]
    }

    /// The first timestamp that is not too old at `now`, when some timestamps are.
    fn age_cutoff(&self, now: Timestamp) -> Option<Timestamp> {
        let cutoff = i128::from(now.as_micros()) - i128::from(self.age_max_us?);
        i64::try_from(cutoff).ok().filter(|&cutoff| cutoff > i64::MIN).map(Timestamp::from_micros)
    }
}

impl History {
    /// Deletes the points of `series` past `retention` at `now`, at most `Limits::prune_points_max` of them, in one batch.
    ///
    /// Points too old are found from the oldest on; for `points_max`, the newest `points_max` points younger than the age bound are read and skipped, so `points_max` may not exceed `Limits::points_scanned_max`.
    pub fn prune(
        &self,
        points: &dyn Points,
        series: &SeriesId,
        retention: &Retention,
        now: Timestamp,
    ) -> Result<Pruned, HistoryError> {
        if let Some(points_max) = retention.points_max {
            let points_max = usize::try_from(points_max).unwrap_or(usize::MAX);
            crate::limits::exceeds("points_scanned_max", self.limits.points_scanned_max, points_max)?;
        }
        let prefix = series_prefix(series);
        let cutoff_key = retention.age_cutoff(now).map(|cutoff| ts_key(&prefix, cutoff));
        let mut doomed = Doomed { keys: Vec::new(), budget: self.limits.prune_points_max, more: false };
        let doom = |doomed: &mut Doomed, key: &str, newer: u64| -> Result<(), HistoryError> {
            let position = decode_position(key, prefix.len())?;
            if !retention.expired(now, position.ts, newer) {
                return Err(HistoryError::Internal {
                    what: format!("prune reached {key:?}, which is within retention"),
                });
            }
            doomed.add(key);
            Ok(())
        };

        // Too old: every point before the cutoff, oldest first (one more than the budget, to learn whether there are more).
        if let Some(cutoff_key) = &cutoff_key {
            let scan = Scan {
                prefix: &prefix,
                lower: Bound::Unbounded,
                upper: Bound::Excluded(cutoff_key),
                order: ScanOrder::Forward,
                limit: doomed.budget + 1,
            };
            points.scan(&scan, &mut |key, _| doom(&mut doomed, key, 0))?;
        }
        // Too many: after the newest `points_max` points from the cutoff on, every point, newest first.
        if let Some(points_max) = retention.points_max
            && !doomed.more
        {
            let lower = cutoff_key.as_deref().map_or(Bound::Unbounded, Bound::Included);
            let room = doomed.budget - doomed.keys.len();
            let scan = Scan {
                prefix: &prefix,
                lower,
                upper: Bound::Unbounded,
                order: ScanOrder::Reverse,
                limit: usize::try_from(points_max).unwrap_or(usize::MAX).saturating_add(room + 1),
            };
            let mut newer = 0u64;
            points.scan(&scan, &mut |key, _| {
                if newer >= points_max {
                    doom(&mut doomed, key, newer)?;
                }
                newer += 1;
                Ok(())
            })?;
        }
        let Doomed { keys, more, .. } = doomed;
        let deleted = keys.len();
        if deleted > 0 {
            points.apply(keys.into_iter().map(|key| Write::Delete { key }).collect())?;
        }
        Ok(Pruned { deleted, more })
    }

    /// The first series in id order after `after` (or the first of all) that holds a point, so a sweep can visit every series with one read each.
    pub fn next_series(&self, points: &dyn Points, after: Option<&SeriesId>) -> Result<Option<SeriesId>, HistoryError> {
        let lower_key = after.map(after_series);
        let lower = lower_key.as_deref().map_or(Bound::Unbounded, Bound::Included);
        let scan = Scan { prefix: "", lower, upper: Bound::Unbounded, order: ScanOrder::Forward, limit: 1 };
        let mut found = None;
        points.scan(&scan, &mut |key, _| {
            found = Some(decode_series(key)?);
            Ok(())
        })?;
        Ok(found)
    }
}

/// The keys one prune deletes, at most `budget`; `more` once a key past retention did not fit.
struct Doomed {
    keys: Vec<String>,
    budget: usize,
    more: bool,
}

impl Doomed {
    fn add(&mut self, key: &str) {
        if self.keys.len() < self.budget {
            self.keys.push(key.to_owned());
        } else {
            self.more = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use crate::fixture::{history, secs, series, show_err, show_position, show_store, stored};
    use crate::{Limits, MemoryPoints, Position, Retention};

    /// Shows which of `positions` (seconds, sequence number; oldest first) the pure rule deletes at `now`.
    fn check_expired(retention: Retention, now: i64, positions: &[(i64, u32)], expected: Expect) {
        let positions: Vec<Position> = positions.iter().map(|&(ts, seq)| Position { ts: secs(ts), seq }).collect();
        let expired = retention.expired_positions(secs(now), &positions);
        expected.assert_eq(&expired.iter().map(|position| show_position(*position)).collect::<Vec<_>>().join(" "));
    }

    /// Prunes `id` at `now`, then shows what the call reported and what the store holds.
    fn check_prune(store: &MemoryPoints, limits: Limits, id: &str, retention: Retention, now: i64, expected: Expect) {
        let shown = match history(limits).prune(store, &series(id), &retention, secs(now)) {
            Ok(pruned) => format!("{pruned:?}\n{}", show_store(store)),
            Err(err) => show_err(&err),
        };
        expected.assert_eq(&shown);
    }

    /// Sweeps every series with `next_series`, as the server's retention job would.
    fn check_sweep(store: &MemoryPoints, expected: Expect) {
        let history = history(Limits::default());
        let mut found = Vec::new();
        let mut after = None;
        while let Some(next) = history.next_series(store, after.as_ref()).expect("next_series") {
            found.push(next.as_str().to_owned());
            after = Some(next);
        }
        expected.assert_eq(&found.join(" "));
    }

    const TEN: [(i64, u32); 6] = [(0, 0), (10, 0), (10, 1), (20, 0), (30, 0), (40, 0)];

    #[test]
    fn the_rule_deletes_the_oldest() {
        let age = |seconds: u64| Some(seconds * 1_000_000);
        check_expired(Retention::default(), 100, &TEN, expect![""]);
        // At 40s with 20s of age: 20s is exactly 20s old and stays, older ones go.
        check_expired(Retention { age_max_us: age(20), points_max: None }, 40, &TEN, expect!["0s#0 10s#0 10s#1"]);
        check_expired(Retention { age_max_us: None, points_max: Some(2) }, 40, &TEN, expect!["0s#0 10s#0 10s#1 20s#0"]);
        check_expired(
            Retention { age_max_us: None, points_max: Some(0) },
            40,
            &TEN,
            expect!["0s#0 10s#0 10s#1 20s#0 30s#0 40s#0"],
        );
        // Both: whichever deletes more.
        check_expired(Retention { age_max_us: age(35), points_max: Some(5) }, 40, &TEN, expect!["0s#0"]);
        check_expired(
            Retention { age_max_us: age(15), points_max: Some(5) },
            40,
            &TEN,
            expect!["0s#0 10s#0 10s#1 20s#0"],
        );
        // Points from the future are never too old.
        check_expired(Retention { age_max_us: age(0), points_max: None }, 5, &TEN, expect!["0s#0"]);
        check_expired(
            Retention { age_max_us: Some(u64::MAX), points_max: None },
            i64::MAX / 1_000_000,
            &TEN,
            expect![""],
        );
    }

    fn ten_of_s() -> MemoryPoints {
        let points: Vec<(&str, i64, &str)> = TEN.iter().map(|&(ts, _)| ("s", ts * 1_000_000, "v")).collect();
        let mut points = points;
        points.push(("s0", 0, "neighbour"));
        stored(&points)
    }

    #[test]
    fn prune_by_age_and_count() {
        let age = |seconds: u64| Some(seconds * 1_000_000);
        let store = ten_of_s();
        check_prune(
            &store,
            Limits::default(),
            "s",
            Retention { age_max_us: age(20), points_max: None },
            40,
            expect![[r#"
            Pruned { deleted: 3, more: false }
            s 20s#0
            s 30s#0
            s 40s#0
            s0 0s#0"#]],
        );
        check_prune(
            &store,
            Limits::default(),
            "s",
            Retention { age_max_us: None, points_max: Some(2) },
            40,
            expect![[r#"
            Pruned { deleted: 1, more: false }
            s 30s#0
            s 40s#0
            s0 0s#0"#]],
        );
        check_prune(
            &store,
            Limits::default(),
            "s",
            Retention { age_max_us: None, points_max: Some(2) },
            40,
            expect![[r#"
            Pruned { deleted: 0, more: false }
            s 30s#0
            s 40s#0
            s0 0s#0"#]],
        );
        let store = ten_of_s();
        check_prune(
            &store,
            Limits::default(),
            "s",
            Retention { age_max_us: age(35), points_max: Some(3) },
            40,
            expect![[r#"
            Pruned { deleted: 3, more: false }
            s 20s#0
            s 30s#0
            s 40s#0
            s0 0s#0"#]],
        );
    }

    #[test]
    fn prune_in_bounded_batches() {
        let age = |seconds: u64| Some(seconds * 1_000_000);
        let limits = Limits { prune_points_max: 2, ..Limits::default() };
        let store = ten_of_s();
        check_prune(
            &store,
            limits.clone(),
            "s",
            Retention { age_max_us: age(5), points_max: None },
            40,
            expect![[r#"
            Pruned { deleted: 2, more: true }
            s 10s#1
            s 20s#0
            s 30s#0
            s 40s#0
            s0 0s#0"#]],
        );
        check_prune(
            &store,
            limits.clone(),
            "s",
            Retention { age_max_us: age(5), points_max: None },
            40,
            expect![[r#"
            Pruned { deleted: 2, more: true }
            s 30s#0
            s 40s#0
            s0 0s#0"#]],
        );
        check_prune(
            &store,
            limits.clone(),
            "s",
            Retention { age_max_us: age(5), points_max: None },
            40,
            expect![[r#"
            Pruned { deleted: 1, more: false }
            s 40s#0
            s0 0s#0"#]],
        );
        let store = ten_of_s();
        check_prune(
            &store,
            limits.clone(),
            "s",
            Retention { age_max_us: None, points_max: Some(1) },
            40,
            expect![[r#"
            Pruned { deleted: 2, more: true }
            s 0s#0
            s 10s#0
            s 10s#1
            s 40s#0
            s0 0s#0"#]],
        );
        // Exactly the budget left to delete: nothing more after it.
        check_prune(
            &store,
            limits,
            "s",
            Retention { age_max_us: None, points_max: Some(2) },
            40,
            expect![[r#"
            Pruned { deleted: 2, more: false }
            s 10s#1
            s 40s#0
            s0 0s#0"#]],
        );
    }

    #[test]
    fn prune_refuses_counts_it_cannot_read() {
        let store = ten_of_s();
        let limits = Limits { points_scanned_max: 5, ..Limits::default() };
        check_prune(
            &store,
            limits,
            "s",
            Retention { age_max_us: None, points_max: Some(6) },
            40,
            expect!["limit exceeded: points_scanned_max is 5, got 6"],
        );
    }

    #[test]
    fn a_sweep_visits_every_series_once() {
        check_sweep(&MemoryPoints::new(), expect![""]);
        let store = stored(&[
            ("s", 0, "v"),
            ("s", 1, "v"),
            ("s0", 0, "v"),
            ("s/x", 0, "v"),
            ("sa", 5, "v"),
            ("é", 0, "v"),
            ("r", 0, "v"),
        ]);
        check_sweep(&store, expect!["r s s/x s0 sa é"]);
    }
}
