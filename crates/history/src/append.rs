//! Appending points: giving each new point its position (its timestamp and the next free sequence number of that microsecond) and the writes that store it.
//! It reads what it must from `Points` to find free sequence numbers, and never deletes or rewrites a stored point.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::ops::Bound;

use crate::key::{decode_position, point_key, series_prefix, ts_prefix};
use crate::limits::exceeds;
use crate::points::{Scan, ScanOrder};
use crate::value::encode;
use crate::{History, HistoryError, Points, Position, SeriesId, Timestamp, Value, Write};

/// A point to append: its series, its time and its value; `History` gives it its sequence number.
#[derive(Clone, Debug, PartialEq)]
pub struct NewPoint {
    pub series: SeriesId,
    pub ts: Timestamp,
    pub value: Value,
}

/// What `History::plan_append` decided: a position for each new point and the writes that store them, both in the order the points were given.
#[derive(Clone, Debug, PartialEq)]
pub struct Appended {
    pub positions: Vec<Position>,
    pub writes: Vec<Write>,
}

impl History {
    /// Gives each point of `new` the next free position of its microsecond in its series, and returns the writes that store them, without applying them.
    /// The caller applies the writes, alone or in a batch of its own (so a sensor's value and its history point commit together).
    ///
    /// Free positions are found from what `points` holds: one read of the series' newest point per series, and one more for each point older than that.
    /// So a plan must be applied before the next plan for the same series is made, and plans for a series must not run concurrently (the server plans and commits under its tenant lock); a plan made against a stale state would give positions already taken, and its writes would replace those points.
    /// Points of one microsecond get sequence numbers in the order they are given.
    pub fn plan_append(&self, points: &dyn Points, new: &[NewPoint]) -> Result<Appended, HistoryError> {
        exceeds("append_points_max", self.limits.append_points_max, new.len())?;
        for point in new {
            exceeds("value_text_bytes_max", self.limits.value_text_bytes_max, point.value.text().len())?;
        }
        let mut series: HashMap<&SeriesId, SeriesState> = HashMap::new();
        let mut appended = Appended { positions: Vec::with_capacity(new.len()), writes: Vec::with_capacity(new.len()) };
        for point in new {
            let state = match series.entry(&point.series) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => entry.insert(SeriesState::read(points, &point.series)?),
            };
            let position = state.next_position(points, point.ts)?;
            appended.positions.push(position);
            appended.writes.push(Write::Put { key: point_key(&state.prefix, position), value: encode(&point.value) });
        }
        Ok(appended)
    }

    /// Plans the append and applies its writes as one batch; returns the positions given, in the order of `new`.
    pub fn append(&self, points: &dyn Points, new: &[NewPoint]) -> Result<Vec<Position>, HistoryError> {
        let Appended { positions, writes } = self.plan_append(points, new)?;
        points.apply(writes)?;
        Ok(positions)
    }
}

/// What one plan knows of one series.
struct SeriesState {
    prefix: String,
    /// The newest stored position when the plan began.
    newest: Option<Position>,
    /// The next free sequence number of each microsecond this plan has used (2^32 once all are taken).
    next_seqs: HashMap<Timestamp, u64>,
}

impl SeriesState {
    fn read(points: &dyn Points, series: &SeriesId) -> Result<SeriesState, HistoryError> {
        let prefix = series_prefix(series);
        let newest = last_position(points, &prefix, &prefix)?;
        Ok(SeriesState { prefix, newest, next_seqs: HashMap::new() })
    }

    fn next_position(&mut self, points: &dyn Points, ts: Timestamp) -> Result<Position, HistoryError> {
        let seq = match self.next_seqs.get(&ts) {
            Some(&seq) => seq,
            None => match self.newest {
                // The common case: time moves forward, and nothing is stored at or after `ts`.
                None => 0,
                Some(newest) if ts > newest.ts => 0,
                Some(newest) if ts == newest.ts => u64::from(newest.seq) + 1,
                // A point older than the newest: its microsecond may hold points already.
                Some(_) => last_position(points, &self.prefix, &ts_prefix(&self.prefix, ts))?
                    .map_or(0, |taken| u64::from(taken.seq) + 1),
            },
        };
        let Ok(seq_u32) = u32::try_from(seq) else {
            return Err(HistoryError::LimitExceeded {
                what: "points_per_microsecond_max",
                limit: u64::from(u32::MAX) + 1,
                actual: seq + 1,
            });
        };
        self.next_seqs.insert(ts, seq + 1);
        Ok(Position { ts, seq: seq_u32 })
    }
}

/// The largest stored position among the keys starting with `prefix` (a series prefix, or the prefix of one microsecond of it).
fn last_position(points: &dyn Points, series_prefix: &str, prefix: &str) -> Result<Option<Position>, HistoryError> {
    let mut last = None;
    let scan = Scan { prefix, lower: Bound::Unbounded, upper: Bound::Unbounded, order: ScanOrder::Reverse, limit: 1 };
    points.scan(&scan, &mut |key, _| {
        last = Some(decode_position(key, series_prefix.len())?);
        Ok(())
    })?;
    Ok(last)
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use crate::fixture::{history, new_points, show_err, show_position, show_store};
    use crate::{Limits, MemoryPoints, Points, Write};

    /// Appends `points` (series, µs, text) in one batch and shows the position each got, or the error.
    fn check_append(store: &MemoryPoints, limits: Limits, points: &[(&str, i64, &str)], expected: Expect) {
        let shown = match history(limits).append(store, &new_points(points)) {
            Ok(positions) => positions.into_iter().map(show_position).collect::<Vec<_>>().join(" "),
            Err(err) => show_err(&err),
        };
        expected.assert_eq(&shown);
    }

    #[test]
    fn positions_follow_time_and_arrival() {
        let store = MemoryPoints::new();
        // Three points of one microsecond in one batch, in the order given; another series is numbered on its own.
        check_append(
            &store,
            Limits::default(),
            &[("s", 10, "a"), ("s", 10, "b"), ("t", 10, "x"), ("s", 20, "c"), ("s", 10, "d")],
            expect!["0.000010s#0 0.000010s#1 0.000010s#0 0.000020s#0 0.000010s#2"],
        );
        // A later batch: the newest microsecond continues, an older one continues from what is stored, new times start at 0.
        check_append(
            &store,
            Limits::default(),
            &[("s", 20, "e"), ("s", 10, "f"), ("s", 15, "g"), ("s", 30, "h"), ("s", 15, "i")],
            expect!["0.000020s#1 0.000010s#3 0.000015s#0 0.000030s#0 0.000015s#1"],
        );
        // Negative times (before 1970) sort before the rest.
        check_append(
            &store,
            Limits::default(),
            &[("s", -5, "j"), ("s", -5, "k")],
            expect!["-0.000005s#0 -0.000005s#1"],
        );
        expect![[r#"
            s -0.000005s#0
            s -0.000005s#1
            s 0.000010s#0
            s 0.000010s#1
            s 0.000010s#2
            s 0.000010s#3
            s 0.000015s#0
            s 0.000015s#1
            s 0.000020s#0
            s 0.000020s#1
            s 0.000030s#0
            t 0.000010s#0"#]]
        .assert_eq(&show_store(&store));
    }

    #[test]
    fn limits_refuse_the_whole_batch() {
        let store = MemoryPoints::new();
        let limits = Limits { append_points_max: 2, value_text_bytes_max: 4, ..Limits::default() };
        check_append(
            &store,
            limits.clone(),
            &[("s", 1, "a"), ("s", 2, "b"), ("s", 3, "c")],
            expect!["limit exceeded: append_points_max is 2, got 3"],
        );
        check_append(
            &store,
            limits.clone(),
            &[("s", 1, "a"), ("s", 2, "12345")],
            expect!["limit exceeded: value_text_bytes_max is 4, got 5"],
        );
        expect![""].assert_eq(&show_store(&store));
        check_append(&store, limits, &[("s", 1, "1234")], expect!["0.000001s#0"]);
    }

    #[test]
    fn a_full_microsecond_is_refused() {
        // A stored point with the last sequence number of its microsecond, planted by hand: 2^32 points of one microsecond of a series.
        let store = MemoryPoints::new();
        let key = "s\u{0}8000000000000001ffffffff".to_owned();
        store.apply(vec![Write::Put { key, value: vec![1, 0] }]).expect("memory points apply");
        check_append(
            &store,
            Limits::default(),
            &[("s", 2, "later"), ("s", 1, "full")],
            expect!["limit exceeded: points_per_microsecond_max is 4294967296, got 4294967297"],
        );
        check_append(&store, Limits::default(), &[("s", 0, "earlier")], expect!["0s#0"]);
    }

    /// Plans an append and shows the positions and writes planned, then what the store holds (nothing new).
    fn check_plan(store: &MemoryPoints, points: &[(&str, i64, &str)], expected: Expect) {
        let planned = history(Limits::default()).plan_append(store, &new_points(points)).expect("plan");
        let mut lines: Vec<String> = planned.positions.iter().map(|position| show_position(*position)).collect();
        lines.extend(planned.writes.iter().map(|write| format!("{write:?}")));
        lines.push(format!("stored: {:?}", show_store(store)));
        expected.assert_eq(&lines.join("\n"));
    }

    #[test]
    fn a_plan_writes_nothing() {
        check_plan(
            &MemoryPoints::new(),
            &[("s", 1, "a"), ("s", 1, "b")],
            expect![[r#"
            0.000001s#0
            0.000001s#1
            Put { key: "s\0800000000000000100000000", value: [1, 0, 97] }
            Put { key: "s\0800000000000000100000001", value: [1, 0, 98] }
            stored: """#]],
        );
    }
}
