//! `Points`, what history needs from a key-value store, and `MemoryPoints`, the `BTreeMap` that implements it for tests and benchmarks.
//! The trait speaks keys and bytes only; the key layout and the value encoding belong to `key` and `value`.
//! It does not own durability or transactions beyond "a batch applies whole": the server's implementation over the store provides those.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard};

use crate::HistoryError;

/// Which way a scan walks the keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanOrder {
    /// In key order (ascending bytes of the keys' UTF-8), so oldest point first.
    Forward,
    /// Largest key first, so newest point first.
    Reverse,
}

/// The keys a `Points::scan` visits: those that start with `prefix` and lie within `lower` and `upper`, at most `limit` of them, walked in `order`.
///
/// The bounds are whole keys compared by their bytes; `limit` counts from the end the scan starts at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scan<'a> {
    pub prefix: &'a str,
    pub lower: Bound<&'a str>,
    pub upper: Bound<&'a str>,
    pub order: ScanOrder,
    pub limit: usize,
}

/// The callback of `Points::scan`: called with each key and value; an `Err` stops the scan and is returned as is.
pub type Visit<'a> = dyn FnMut(&str, &[u8]) -> Result<(), HistoryError> + 'a;

/// One change of a batch given to `Points::apply`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Sets `key` to `value`, replacing any earlier value.
    Put { key: String, value: Vec<u8> },
    /// Removes `key`; removing an absent key is not an error.
    Delete { key: String },
}

/// What history needs from a key-value store: ordered range scans and atomic batches, over one tenant's history.
pub trait Points {
    /// Visits the (key, value) pairs that `scan` selects, in its order, all from one consistent state of the store.
    fn scan(&self, scan: &Scan<'_>, visit: &mut Visit<'_>) -> Result<(), HistoryError>;

    /// Applies every write, in order, all or nothing; later writes of a key replace earlier ones.
    fn apply(&self, writes: Vec<Write>) -> Result<(), HistoryError>;
}

/// `Points` in a `BTreeMap` behind a mutex: the reference implementation, for tests and benchmarks.
#[derive(Debug, Default)]
pub struct MemoryPoints {
    map: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryPoints {
    pub fn new() -> MemoryPoints {
        MemoryPoints::default()
    }

    /// How many keys are stored.
    pub fn len(&self) -> Result<usize, HistoryError> {
        Ok(self.map()?.len())
    }

    pub fn is_empty(&self) -> Result<bool, HistoryError> {
        Ok(self.map()?.is_empty())
    }

    fn map(&self) -> Result<MutexGuard<'_, BTreeMap<String, Vec<u8>>>, HistoryError> {
        self.map
            .lock()
            .map_err(|_| HistoryError::Internal { what: "memory points lock poisoned by a panic".to_owned() })
    }
}

impl Points for MemoryPoints {
    /// Visits while holding the map's lock, so a visitor must not call back into the same `MemoryPoints` (history's never do); this keeps the benchmarks' in-memory figures free of copying.
    fn scan(&self, scan: &Scan<'_>, visit: &mut Visit<'_>) -> Result<(), HistoryError> {
        let Some((lower, upper)) = bounds(scan) else { return Ok(()) };
        let upper = upper.as_ref().map(String::as_str);
        let map = self.map()?;
        let rows = map.range::<str, _>((lower, upper));
        match scan.order {
            ScanOrder::Forward => rows.take(scan.limit).try_for_each(|(key, value)| visit(key, value)),
            ScanOrder::Reverse => rows.rev().take(scan.limit).try_for_each(|(key, value)| visit(key, value)),
        }
    }

    fn apply(&self, writes: Vec<Write>) -> Result<(), HistoryError> {
        let mut map = self.map()?;
        for write in writes {
            match write {
                Write::Put { key, value } => {
                    map.insert(key, value);
                }
                Write::Delete { key } => {
                    map.remove(&key);
                }
            }
        }
        Ok(())
    }
}

/// The scan's range as two bounds with the prefix folded in (a key starts with the prefix exactly when it is at least the prefix and below its successor); `None` when no key can match.
/// `BTreeMap::range` panics on an inverted range, so an empty one must never reach it.
fn bounds<'a>(scan: &Scan<'a>) -> Option<(Bound<&'a str>, Bound<String>)> {
    let lower = tighter(Bound::Included(scan.prefix), scan.lower, |a, b| a > b);
    let upper = match prefix_successor(scan.prefix) {
        Some(successor) => {
            let upper = tighter(Bound::Excluded(successor.as_str()), scan.upper, |a, b| a < b);
            upper.map(str::to_owned)
        }
        None => scan.upper.map(str::to_owned),
    };
    let empty = match (lower, &upper) {
        (Bound::Unbounded, _) | (_, Bound::Unbounded) => false,
        (Bound::Included(low), Bound::Included(high)) => low > high.as_str(),
        (Bound::Included(low) | Bound::Excluded(low), Bound::Included(high) | Bound::Excluded(high)) => {
            low >= high.as_str()
        }
    };
    (!empty && scan.limit > 0).then_some((lower, upper))
}

/// The tighter of two lower bounds (`beyond` is `>`) or of two upper bounds (`beyond` is `<`); on equal keys the exclusive one.
fn tighter<'a>(a: Bound<&'a str>, b: Bound<&'a str>, beyond: fn(&str, &str) -> bool) -> Bound<&'a str> {
    match (a, b) {
        (Bound::Unbounded, other) | (other, Bound::Unbounded) => other,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            if x != y {
                if beyond(x, y) { a } else { b }
            } else if matches!(a, Bound::Excluded(_)) {
                a
            } else {
                b
            }
        }
    }
}

/// The smallest string above every string that starts with `prefix`: its last character moved up by one, after dropping trailing characters that cannot move; `None` for the empty prefix (or one of U+10FFFF only).
fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = if last == '\u{d7ff}' { Some('\u{e000}') } else { char::from_u32(u32::from(last) + 1) };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::ops::Bound::{self, Excluded, Included, Unbounded};

    use expect_test::{Expect, expect};

    use super::*;

    fn filled(keys: &[&str]) -> MemoryPoints {
        let points = MemoryPoints::new();
        let writes =
            keys.iter().map(|key| Write::Put { key: (*key).to_owned(), value: key.as_bytes().to_vec() }).collect();
        points.apply(writes).expect("memory points apply");
        points
    }

    fn check_scan(
        points: &MemoryPoints,
        prefix: &str,
        lower: Bound<&str>,
        upper: Bound<&str>,
        order: ScanOrder,
        limit: usize,
        expected: Expect,
    ) {
        let mut keys = Vec::new();
        let scan = Scan { prefix, lower, upper, order, limit };
        points
            .scan(&scan, &mut |key, value| {
                assert_eq!(key.as_bytes(), value);
                keys.push(format!("{key:?}"));
                Ok(())
            })
            .expect("memory points scan");
        expected.assert_eq(&keys.join(" "));
    }

    #[test]
    fn scans_fold_prefix_and_bounds() {
        use ScanOrder::{Forward, Reverse};
        let p = filled(&["", "a", "s\u{0}1", "s\u{0}2", "s\u{0}3", "s\u{1}", "sa\u{0}1", "é", "\u{10ffff}"]);
        check_scan(&p, "s\0", Unbounded, Unbounded, Forward, 10, expect![[r#""s\01" "s\02" "s\03""#]]);
        check_scan(&p, "s\0", Unbounded, Unbounded, Reverse, 2, expect![[r#""s\03" "s\02""#]]);
        check_scan(&p, "s\0", Excluded("s\u{0}1"), Unbounded, Forward, 10, expect![[r#""s\02" "s\03""#]]);
        check_scan(&p, "s\0", Unbounded, Excluded("s\u{0}3"), Reverse, 10, expect![[r#""s\02" "s\01""#]]);
        check_scan(&p, "s\0", Included("s\u{0}2"), Included("s\u{0}2"), Forward, 10, expect![[r#""s\02""#]]);
        check_scan(&p, "s\0", Included("s\u{0}3"), Excluded("s\u{0}2"), Forward, 10, expect![""]);
        check_scan(&p, "s\0", Excluded("s\u{0}2"), Excluded("s\u{0}2"), Reverse, 10, expect![""]);
        check_scan(&p, "s\0", Included("a"), Included("z"), Forward, 10, expect![[r#""s\01" "s\02" "s\03""#]]);
        check_scan(&p, "s\0", Unbounded, Unbounded, Forward, 0, expect![""]);
        check_scan(&p, "s", Unbounded, Unbounded, Forward, 10, expect![[r#""s\01" "s\02" "s\03" "s\u{1}" "sa\01""#]]);
        check_scan(&p, "", Unbounded, Unbounded, Reverse, 3, expect![[r#""\u{10ffff}" "é" "sa\01""#]]);
        check_scan(&p, "\u{10ffff}", Unbounded, Unbounded, Forward, 3, expect![[r#""\u{10ffff}""#]]);
        check_scan(&p, "q", Unbounded, Unbounded, Forward, 3, expect![""]);
    }

    #[test]
    fn apply_puts_and_deletes_in_order() {
        let p = filled(&["a", "b"]);
        let put = |key: &str| Write::Put { key: key.to_owned(), value: key.as_bytes().to_vec() };
        let delete = |key: &str| Write::Delete { key: key.to_owned() };
        p.apply(vec![delete("a"), put("c"), delete("c"), put("d"), delete("never")]).expect("apply");
        check_scan(&p, "", Unbounded, Unbounded, ScanOrder::Forward, 10, expect![[r#""b" "d""#]]);
    }
}
