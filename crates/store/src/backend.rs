//! The `Backend` trait that every storage engine implements, and the vocabulary it speaks: `Table`, `Op` and `Committed`.
//! It knows nothing of twins or models: values and event payloads are opaque bytes whose encoding belongs to the caller.

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
}

impl Table {
    /// Every table, in tag order.
    pub const ALL: [Table; 6] =
        [Table::Models, Table::Twins, Table::Relationships, Table::Jobs, Table::Meta, Table::Spatial];

    /// The table's byte in the key encoding.
    pub fn tag(self) -> u8 {
        match self {
            Table::Models => 1,
            Table::Twins => 2,
            Table::Relationships => 3,
            Table::Jobs => 4,
            Table::Meta => 5,
            Table::Spatial => 6,
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

    fn get(&self, tenant: &TenantId, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Events with sequence number > after, in order, at most limit.
    fn read_events(&self, tenant: &TenantId, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;

    /// The sequence number of the tenant's last event; 0 when its log is empty.
    fn last_event_seq(&self, tenant: &TenantId) -> Result<u64, StoreError>;

    /// Every tenant that has data, in id order.
    fn tenants(&self) -> Result<Vec<TenantId>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::Table;

    #[test]
    fn table_tags_are_stable_and_round_trip() {
        let tags: Vec<u8> = Table::ALL.iter().map(|table| table.tag()).collect();
        assert_eq!(tags, [1, 2, 3, 4, 5, 6]);
        for table in Table::ALL {
            assert_eq!(Table::from_tag(table.tag()), Some(table));
        }
        assert_eq!(Table::from_tag(0), None);
        assert_eq!(Table::from_tag(7), None);
    }
}
