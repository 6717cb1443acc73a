//! The `Backend` trait that every storage engine implements, and the vocabulary it speaks: `Table`, `Op`, `Committed` and the `KeyRange` of a range scan.
//! It knows nothing of twins or models: values and event payloads are opaque bytes whose encoding belongs to the caller.

use std::ops::Bound;

use crate::{StoreError, TenantId};

/// A table of a tenant: a map from string keys to opaque values.
///
/// Each table has a stable one-byte tag in the on-disk key encoding (see `docs/storage-format.md`); a tag is never reused or renumbered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Models,
    Twins,
    Relationships,
    Jobs,
    Meta,
    /// The 2018 face's objects that are not twins (extended types, property keys, resources, key stores, ontology state), as the `spatial` crate's records.
    Spatial,
    /// Time series points (sensor values, computed space values), keyed by the `history` crate's key layout so key order is time order within a series.
    History,
}

impl Table {
    /// Every table, in tag order.
    pub const ALL: [Table; 7] =
        [Table::Models, Table::Twins, Table::Relationships, Table::Jobs, Table::Meta, Table::Spatial, Table::History];

    /// The table's byte in the key encoding.
    pub fn tag(self) -> u8 {
        match self {
            Table::Models => 1,
            Table::Twins => 2,
            Table::Relationships => 3,
            Table::Jobs => 4,
            Table::Meta => 5,
            Table::Spatial => 6,
            Table::History => 7,
        }
    }

    /// The table with this tag, if there is one.
    pub fn from_tag(tag: u8) -> Option<Table> {
        Table::ALL.into_iter().find(|table| table.tag() == tag)
    }
}

/// One change in a batch given to `Backend::commit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Sets `key` of `table` to `value`, replacing any earlier value.
    Put { tenant: TenantId, table: Table, key: String, value: Vec<u8> },
    /// Removes `key` from `table`; removing an absent key is not an error.
    Delete { tenant: TenantId, table: Table, key: String },
    /// Appends `payload` to the tenant's event log under the next sequence number.
    AppendEvent { tenant: TenantId, payload: Vec<u8> },
}

/// What a successful commit reports back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Committed {
    /// The sequence number given to the first `AppendEvent` of the batch, or `None` when the batch appended no event.
    /// The batch's later `AppendEvent`s for the same tenant follow consecutively; events for another tenant are numbered in that tenant's own sequence.
    pub first_event_seq: Option<u64>,
}

/// What `submit_then` calls with a batch's outcome.
pub type Reply = Box<dyn FnOnce(Result<Committed, StoreError>) + Send>;

/// A submitted batch on its way to disk.
pub struct Pending(std::sync::mpsc::Receiver<Result<Committed, StoreError>>);

impl Pending {
    pub(crate) fn waiting(receiver: std::sync::mpsc::Receiver<Result<Committed, StoreError>>) -> Pending {
        Pending(receiver)
    }

    /// Blocks until the batch is durable, or has failed.
    pub fn wait(self) -> Result<Committed, StoreError> {
        self.0
            .recv()
            .map_err(|_| StoreError::Internal { what: "the store writer thread stopped before answering".to_owned() })?
    }
}

/// The callback of `Backend::scan`: called with each key and value; an `Err` stops the scan.
pub type Visit<'a> = dyn FnMut(&str, &[u8]) -> Result<(), StoreError> + 'a;

/// Which way a range scan walks the keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanOrder {
    /// In key order (ascending byte order of the keys' UTF-8).
    Forward,
    /// In reverse key order, largest key first.
    Reverse,
}

/// The keys of one table that `Backend::scan_range` visits: those that start with `prefix` and lie within `lower` and `upper`, at most `limit` of them, walked in `order`.
///
/// The bounds are whole keys, compared by the bytes of their UTF-8 (Rust's `str` order); a bound outside the prefix's keys simply cuts nothing or everything.
/// `limit` counts visited keys from the end the scan starts at, so a reverse scan with a limit of 1 visits the largest matching key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRange<'a> {
    pub prefix: &'a str,
    pub lower: Bound<&'a str>,
    pub upper: Bound<&'a str>,
    pub order: ScanOrder,
    pub limit: usize,
}

impl KeyRange<'_> {
    /// The range as two bounds on keys that both backends can search with, the prefix folded in; `None` when no key can match.
    ///
    /// A key starts with `prefix` exactly when it is at least `prefix` and below the prefix's successor (the prefix with its last character moved up by one), so the prefix becomes bounds too.
    pub(crate) fn bounds(&self) -> Option<(Bound<String>, Bound<String>)> {
        let lower = tighter(Bound::Included(self.prefix), self.lower, |a, b| a > b);
        let upper = match prefix_successor(self.prefix) {
            Some(successor) => {
                tighter(Bound::Excluded(successor.as_str()), self.upper, |a, b| a < b).map(str::to_owned)
            }
            None => self.upper.map(str::to_owned),
        };
        let lower = lower.map(str::to_owned);
        let empty = match (&lower, &upper) {
            (Bound::Unbounded, _) | (_, Bound::Unbounded) => false,
            (Bound::Included(low), Bound::Included(high)) => low > high,
            (Bound::Included(low) | Bound::Excluded(low), Bound::Included(high) | Bound::Excluded(high)) => low >= high,
        };
        if empty || self.limit == 0 { None } else { Some((lower, upper)) }
    }
}

/// A durable store of tenant-scoped tables and per-tenant event logs.
///
/// Sequence numbers of events start at 1 and are dense per tenant: the n-th event ever appended for a tenant has number n.
/// A tenant is listed by `tenants` once a `Put` or `AppendEvent` for it has been committed, and stays listed.
pub trait Backend: Send + Sync + 'static {
    /// Applies all ops atomically; returns only once they are durable (fsync'd).
    /// Concurrent callers are group-committed: one fsync covers every batch waiting at that moment.
    /// A batch over the `Limits` is refused with `LimitExceeded` and nothing of it is written.
    fn commit(&self, ops: Vec<Op>) -> Result<Committed, StoreError> {
        self.submit(ops).wait()
    }

    /// Queues a batch and returns at once; `Pending::wait` returns once the batch is durable (or failed).
    /// Batches are committed in the order they were submitted, so a caller that submits while holding its own lock gets the store's order to match its own.
    fn submit(&self, ops: Vec<Op>) -> Pending {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        self.submit_then(
            ops,
            Box::new(move |result| {
                let _ = sender.send(result);
            }),
        );
        Pending::waiting(receiver)
    }

    /// Queues a batch like `submit` and calls `reply` with the outcome once the batch is durable (or failed), on the store's writer thread; `reply` must not block.
    /// This lets an async caller wait on its own channel instead of parking a thread.
    fn submit_then(&self, ops: Vec<Op>, reply: Reply);

    /// Visits every (key, value) of a table of a tenant in key order (used at start-up to rebuild in-memory indexes).
    /// An error returned by `visit` stops the scan and is returned as is.
    fn scan(&self, tenant: &TenantId, table: Table, visit: &mut Visit<'_>) -> Result<(), StoreError>;

    /// Visits the (key, value) pairs of a table of a tenant that `range` selects, in its order, at most `range.limit` of them, all from one consistent snapshot.
    /// An error returned by `visit` stops the scan and is returned as is.
    fn scan_range(
        &self,
        tenant: &TenantId,
        table: Table,
        range: &KeyRange<'_>,
        visit: &mut Visit<'_>,
    ) -> Result<(), StoreError>;

    fn get(&self, tenant: &TenantId, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Events with sequence number > after, in order, at most limit.
    fn read_events(&self, tenant: &TenantId, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;

    /// The sequence number of the tenant's last event; 0 when its log is empty.
    fn last_event_seq(&self, tenant: &TenantId) -> Result<u64, StoreError>;

    /// Every tenant that has data, in id order.
    fn tenants(&self) -> Result<Vec<TenantId>, StoreError>;
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

/// The smallest string above every string that starts with `prefix`: the prefix with its last character moved up by one (characters that cannot move up are dropped first).
/// `None` when there is no such string: the empty prefix, or one made only of U+10FFFF.
/// UTF-8 keeps code point order in byte order, so this holds for the keys' bytes too.
fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{d7ff}' => Some('\u{e000}'),
            _ => char::from_u32(u32::from(last) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::ops::Bound;

    use expect_test::{Expect, expect};

    use super::{KeyRange, ScanOrder, Table, prefix_successor};

    #[test]
    fn table_tags_are_stable_and_round_trip() {
        let tags: Vec<u8> = Table::ALL.iter().map(|table| table.tag()).collect();
        assert_eq!(tags, [1, 2, 3, 4, 5, 6, 7]);
        for table in Table::ALL {
            assert_eq!(Table::from_tag(table.tag()), Some(table));
        }
        assert_eq!(Table::from_tag(0), None);
        assert_eq!(Table::from_tag(8), None);
    }

    fn check_successor(prefix: &str, expected: Option<&str>) {
        assert_eq!(prefix_successor(prefix).as_deref(), expected, "{prefix:?}");
    }

    #[test]
    fn prefix_successors() {
        check_successor("", None);
        check_successor("a", Some("b"));
        check_successor("s\0", Some("s\u{1}"));
        check_successor("a\u{d7ff}", Some("a\u{e000}"));
        check_successor("a\u{10ffff}", Some("b"));
        check_successor("\u{10ffff}\u{10ffff}", None);
    }

    fn check_bounds(prefix: &str, lower: Bound<&str>, upper: Bound<&str>, limit: usize, expected: Expect) {
        let range = KeyRange { prefix, lower, upper, order: ScanOrder::Forward, limit };
        expected.assert_eq(&format!("{:?}", range.bounds()));
    }

    #[test]
    fn bounds_fold_in_the_prefix() {
        use Bound::{Excluded, Included, Unbounded};
        check_bounds("", Unbounded, Unbounded, 1, expect![[r#"Some((Included(""), Unbounded))"#]]);
        check_bounds("p", Unbounded, Unbounded, 1, expect![[r#"Some((Included("p"), Excluded("q")))"#]]);
        check_bounds("p", Included("p5"), Excluded("p9"), 1, expect![[r#"Some((Included("p5"), Excluded("p9")))"#]]);
        check_bounds("p", Excluded("a"), Included("z"), 1, expect![[r#"Some((Included("p"), Excluded("q")))"#]]);
        check_bounds("p", Excluded("p"), Included("q"), 1, expect![[r#"Some((Excluded("p"), Excluded("q")))"#]]);
        check_bounds("", Included("b"), Excluded("a"), 1, expect![[r#"None"#]]);
        check_bounds("", Included("b"), Excluded("b"), 1, expect![[r#"None"#]]);
        check_bounds("", Included("b"), Included("b"), 1, expect![[r#"Some((Included("b"), Included("b")))"#]]);
        check_bounds("p", Included("q"), Unbounded, 1, expect![[r#"None"#]]);
        check_bounds("p", Unbounded, Excluded("p"), 1, expect![[r#"None"#]]);
        check_bounds("p", Unbounded, Unbounded, 0, expect![[r#"None"#]]);
    }
}
