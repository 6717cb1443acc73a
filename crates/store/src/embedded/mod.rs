//! `EmbeddedBackend`: the default durable `Backend`, one data directory holding a fjall database, with group commit through a single writer thread.
//! This file owns opening (the `FORMAT` check, recovering sequence numbers) and the read path, which goes straight to fjall; `writer` owns the write path and `layout` the bytes.
//! Every read goes through a fjall snapshot: plain keyspace reads see memtable items of a batch that is still being applied, snapshots see only whole published batches.
//! It does not cache anything: the graph keeps its own in-memory indexes and uses `scan` to rebuild them.

mod layout;
mod writer;

use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, SyncSender};
use std::thread::JoinHandle;

use crate::backend::Reply;

use fjall::config::{CompressionPolicy, FilterPolicy};
use fjall::{CompressionType, Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable};

use crate::{Backend, Committed, KeyRange, Limits, Op, ScanOrder, StoreError, Table, TenantId, Visit};
use writer::{Request, Writer};

/// The durable backend: a fjall database in one directory, written by one writer thread that group-commits concurrent callers.
///
/// Dropping it stops the writer thread after it has answered every queued commit, then closes the database.
pub struct EmbeddedBackend {
    engine: Arc<Engine>,
    limits: Limits,
    /// Taken in `drop` to tell the writer to stop.
    requests: Option<SyncSender<Request>>,
    /// Taken in `drop` to wait for the writer.
    writer: Option<JoinHandle<()>>,
}

/// The write buffer (memtable) of the records and events keyspaces, in bytes, set when a keyspace is created (fjall keeps it with the keyspace, so a store created with another size keeps its own).
/// fjall's default is 64 MiB: flushing that much at once held the journal's fsyncs up behind it, so a few percent of commits took 10 to 100 ms while a busy server's acknowledgements waited for them. Smaller buffers flush more often and less at a time (BENCHMARKS.md, "Telemetry over MQTT").
const MEMTABLE_BYTES: u64 = 16 * 1024 * 1024;

/// fjall's background threads (flushes and compactions). fjall's default is one per core up to four; with two, the first worker hands every compaction it receives back to the queue for the other and takes it again at once, spinning for as long as the other is busy, which took a few percent of a 2-core server's CPU under telemetry load (BENCHMARKS.md, "Telemetry over MQTT"). With four, another worker is almost always free to take it.
const FJALL_WORKERS: usize = 4;

impl EmbeddedBackend {
    /// Opens the store in `dir`, creating it when the directory is empty or missing.
    ///
    /// Reads a directory of format 1 too, which its first page of events makes format 2 (`docs/storage-format.md`); refuses with `UnsupportedFormat` a directory of any other version, and with `Unavailable` one that another process has open.
    pub fn open(dir: &Path, limits: Limits) -> Result<EmbeddedBackend, StoreError> {
        limits.validate()?;
        let db = Database::builder(dir).worker_threads(FJALL_WORKERS).open()?;
        let meta = db.keyspace(layout::KEYSPACE_META, KeyspaceCreateOptions::default)?;
        let format_1 = check_format(&db, &meta)?;
        let buffered = || KeyspaceCreateOptions::default().max_memtable_size(MEMTABLE_BYTES);
        let records = db.keyspace(layout::KEYSPACE_RECORDS, buffered)?;
        // Pages of events are compressed already, and events are only read in ranges, never looked up one by one: no block compression, no filters.
        let events = db.keyspace(layout::KEYSPACE_EVENTS, || {
            buffered()
                .data_block_compression_policy(CompressionPolicy::all(CompressionType::None))
                .filter_policy(FilterPolicy::disabled())
        })?;
        let engine = Arc::new(Engine { db, meta, records, events });

        let tenants: HashSet<TenantId> = engine.tenants()?.into_iter().collect();
        let mut last_seqs = HashMap::new();
        for tenant in &tenants {
            let last = engine.last_event_seq(tenant)?;
            if last > 0 {
                check_log_start(&engine, tenant)?;
                last_seqs.insert(tenant.clone(), last);
            }
        }

        let (requests, receiver) = mpsc::sync_channel(limits.queue_commits_max);
        let writer = Writer::new(Arc::clone(&engine), limits.clone(), last_seqs, tenants, format_1);
        let writer = std::thread::Builder::new().name("store-writer".to_owned()).spawn(move || writer.run(receiver))?;
        Ok(EmbeddedBackend { engine, limits, requests: Some(requests), writer: Some(writer) })
    }
}

impl Backend for EmbeddedBackend {
    fn submit_then(&self, ops: Vec<Op>, reply: Reply) {
        if let Err(e) = self.limits.check_batch(&ops) {
            return reply(Err(e));
        }
        if ops.is_empty() {
            return reply(Ok(Committed { first_event_seq: None }));
        }
        let requests = self.requests.as_ref().expect("the writer channel lives until drop");
        if let Err(mpsc::SendError(request)) = requests.send(Request { ops, reply }) {
            (request.reply)(Err(StoreError::Internal { what: "the store writer thread has stopped".to_owned() }));
        }
    }

    fn scan(&self, tenant: &TenantId, table: Table, visit: &mut Visit<'_>) -> Result<(), StoreError> {
        let prefix = layout::table_prefix(tenant, table);
        for entry in self.engine.db.snapshot().prefix(&self.engine.records, &prefix) {
            let (key, value) = entry.into_inner()?;
            visit(layout::decode_record_key(&key, prefix.len())?, &value)?;
        }
        Ok(())
    }

    fn scan_range(
        &self,
        tenant: &TenantId,
        table: Table,
        range: &KeyRange<'_>,
        visit: &mut Visit<'_>,
    ) -> Result<(), StoreError> {
        let Some((lower, upper)) = range.bounds() else { return Ok(()) };
        let prefix_len = layout::table_prefix(tenant, table).len();
        // An unbounded end stays within the tenant's table.
        let lower = match lower {
            Bound::Unbounded => Bound::Included(layout::table_prefix(tenant, table)),
            bound => bound.map(|key| layout::record_key(tenant, table, &key)),
        };
        let upper = match upper {
            Bound::Unbounded => Bound::Excluded(layout::table_end(tenant, table)),
            bound => bound.map(|key| layout::record_key(tenant, table, &key)),
        };
        let snapshot = self.engine.db.snapshot();
        let entries = snapshot.range(&self.engine.records, (lower, upper));
        let mut visit_entry = |entry: fjall::Guard| {
            let (key, value) = entry.into_inner()?;
            visit(layout::decode_record_key(&key, prefix_len)?, &value)
        };
        match range.order {
            ScanOrder::Forward => entries.take(range.limit).try_for_each(&mut visit_entry),
            ScanOrder::Reverse => entries.rev().take(range.limit).try_for_each(&mut visit_entry),
        }
    }

    fn get(&self, tenant: &TenantId, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self.engine.db.snapshot().get(&self.engine.records, layout::record_key(tenant, table, key))?;
        Ok(value.map(|value| value.to_vec()))
    }

    fn read_events(&self, tenant: &TenantId, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let Some(first) = after.checked_add(1) else { return Ok(Vec::new()) };
        let prefix_len = layout::tenant_prefix(tenant).len();
        // The entry holding `first` is the first whose key is not below `first`'s single-event key: a page's key names its last event.
        let range = layout::event_key(tenant, first)..=layout::event_page_key(tenant, u64::MAX);
        let mut found = Vec::new();
        // Sequence numbers are dense, so the n-th event read must be `first + n`; anything else means lost events.
        let mut expected = first;
        for entry in self.engine.db.snapshot().range(&self.engine.events, range) {
            if found.len() >= limit {
                break;
            }
            let (key, value) = entry.into_inner()?;
            let (start, payloads) = match layout::decode_event_key(&key, prefix_len)? {
                layout::EventEntry::One(seq) => (seq, vec![value.to_vec()]),
                layout::EventEntry::Page { last } => {
                    let payloads = layout::decode_page(&value).map_err(|err| name_page(err, &key))?;
                    (page_start(last, payloads.len() as u64, &key)?, payloads)
                }
            };
            // Only the first entry read may begin before `first`: it is the page holding it. A later entry that does overlaps the one before.
            let skip = if expected == first { first.saturating_sub(start) } else { 0 };
            for (seq, payload) in (start..).zip(payloads).skip(skip as usize) {
                if seq != expected {
                    return Err(StoreError::Corrupt {
                        what: format!("event log of tenant {tenant} has event {seq} where {expected} belongs"),
                    });
                }
                if found.len() >= limit {
                    break;
                }
                found.push((seq, payload));
                expected += 1;
            }
        }
        Ok(found)
    }

    fn last_event_seq(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        self.engine.last_event_seq(tenant)
    }

    fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        self.engine.tenants()
    }
}

impl Drop for EmbeddedBackend {
    fn drop(&mut self) {
        // Closing the channel ends the writer's loop once it has drained the queue; joining it releases its handle on the database.
        drop(self.requests.take());
        if let Some(writer) = self.writer.take()
            && let Err(panic) = writer.join()
            && !std::thread::panicking()
        {
            std::panic::resume_unwind(panic);
        }
    }
}

/// The fjall database and its keyspaces, shared by the readers and the writer thread.
pub(crate) struct Engine {
    db: Database,
    meta: Keyspace,
    records: Keyspace,
    events: Keyspace,
}

impl Engine {
    fn last_event_seq(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        let prefix = layout::tenant_prefix(tenant);
        match self.db.snapshot().prefix(&self.events, &prefix).next_back() {
            None => Ok(0),
            Some(entry) => Ok(layout::decode_event_key(&entry.key()?, prefix.len())?.last()),
        }
    }

    fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        let mut tenants = Vec::new();
        for entry in self.db.snapshot().prefix(&self.meta, layout::tenant_registry_prefix()) {
            tenants.push(layout::decode_tenant_registry_key(&entry.key()?)?);
        }
        Ok(tenants)
    }
}

/// Checks the `FORMAT` record, writing it (durably) when the directory is new; true when the directory is of format 1, which this build reads and its writer makes format 2 with the first page of events.
///
/// A directory is new when it has no `FORMAT` record and no data keyspace; `open` creates the data keyspaces only after this returns, so a crash during creation leaves a directory that is still new.
fn check_format(db: &Database, meta: &Keyspace) -> Result<bool, StoreError> {
    match meta.get(layout::FORMAT_KEY)? {
        Some(value) => match layout::decode_format_value(&value)? {
            layout::FORMAT_VERSION => Ok(false),
            layout::FORMAT_VERSION_SINGLE_EVENTS => Ok(true),
            found => Err(StoreError::UnsupportedFormat { found, supported: layout::FORMAT_VERSION }),
        },
        None => {
            let has_data = db.keyspace_exists(layout::KEYSPACE_RECORDS)
                || db.keyspace_exists(layout::KEYSPACE_EVENTS)
                || meta.first_key_value().is_some();
            if has_data {
                return Err(StoreError::Corrupt {
                    what: "the data directory holds data but no FORMAT record".to_owned(),
                });
            }
            let mut batch = db.batch().durability(Some(PersistMode::SyncAll));
            batch.insert(meta, layout::FORMAT_KEY, layout::format_value(layout::FORMAT_VERSION).to_vec());
            batch.commit()?;
            Ok(false)
        }
    }
}

/// Event logs are append-only and numbered from 1, so a log whose first event is not 1 has lost events.
fn check_log_start(engine: &Engine, tenant: &TenantId) -> Result<(), StoreError> {
    let prefix = layout::tenant_prefix(tenant);
    let first = match engine.db.snapshot().prefix(&engine.events, &prefix).next() {
        None => return Ok(()),
        Some(entry) => {
            let (key, value) = entry.into_inner()?;
            match layout::decode_event_key(&key, prefix.len())? {
                layout::EventEntry::One(seq) => seq,
                layout::EventEntry::Page { last } => {
                    page_start(last, layout::page_len(&value).map_err(|err| name_page(err, &key))?, &key)?
                }
            }
        }
    };
    if first != 1 {
        return Err(StoreError::Corrupt { what: format!("event log of tenant {tenant} starts at {first}, not 1") });
    }
    Ok(())
}

/// `err` of the page stored under `key`, naming the key.
fn name_page(err: StoreError, key: &[u8]) -> StoreError {
    match err {
        StoreError::Corrupt { what } => StoreError::Corrupt { what: format!("{what} (key {key:?})") },
        other => other,
    }
}

/// The sequence number of the first of the `len` events of the page stored under `key`, which names its last, `last`.
fn page_start(last: u64, len: u64, key: &[u8]) -> Result<u64, StoreError> {
    len.checked_sub(1).and_then(|before| last.checked_sub(before)).filter(|start| *start >= 1).ok_or_else(|| {
        StoreError::Corrupt { what: format!("event page {key:?} ends at event {last} but holds {len} events") }
    })
}
