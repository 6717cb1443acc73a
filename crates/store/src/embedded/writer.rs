//! The single writer thread of the embedded backend: it gathers waiting commits into a group, writes the group as one atomic fjall batch with one fsync, and answers every waiter.
//! It owns the next event sequence number of every tenant and the set of registered tenants; it does not check limits (callers did) beyond asserting them, and it never reads data on behalf of callers.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use crate::backend::Reply;

use fjall::PersistMode;

use super::{Engine, layout};
use crate::limits::op_sizes;
use crate::{Committed, Limits, Op, StoreError, TenantId};

/// One caller's batch waiting for the writer, with the channel on which the caller waits for the outcome.
pub(crate) struct Request {
    pub(crate) ops: Vec<Op>,
    pub(crate) reply: Reply,
}

pub(crate) struct Writer {
    engine: Arc<Engine>,
    limits: Limits,
    /// The last committed event sequence number of each tenant that has events; the next event gets one more.
    /// Updated only after a group is durable, so a failed group leaves no gap.
    last_seqs: HashMap<TenantId, u64>,
    /// Tenants whose registry entry is durable.
    tenants: HashSet<TenantId>,
    /// The directory says format 1: the first group with events writes `FORMAT` version 2 with its pages, so a build that reads only format 1 keeps opening the directory until it holds a page.
    format_1: bool,
}

impl Writer {
    pub(crate) fn new(
        engine: Arc<Engine>,
        limits: Limits,
        last_seqs: HashMap<TenantId, u64>,
        tenants: HashSet<TenantId>,
        format_1: bool,
    ) -> Writer {
        Writer { engine, limits, last_seqs, tenants, format_1 }
    }

    /// Serves requests until every sender is gone, which happens when the backend is dropped.
    pub(crate) fn run(mut self, requests: Receiver<Request>) {
        while let Ok(first) = requests.recv() {
            let group = self.gather(first, &requests);
            self.commit_group(group);
        }
    }

    /// Takes every request already waiting, up to the group bounds, after `first`.
    fn gather(&self, first: Request, requests: &Receiver<Request>) -> Vec<Request> {
        let (mut ops, mut bytes) = request_size(&first);
        let mut group = vec![first];
        while ops < self.limits.group_ops_max && bytes < self.limits.group_bytes_max {
            let Ok(next) = requests.try_recv() else { break };
            let (next_ops, next_bytes) = request_size(&next);
            ops += next_ops;
            bytes += next_bytes;
            group.push(next);
        }
        group
    }

    /// Writes the group as one batch, fsyncs once, then answers each waiter; on failure every waiter gets the error and no in-memory state moves.
    fn commit_group(&mut self, group: Vec<Request>) {
        let engine = Arc::clone(&self.engine);
        // Later ops on the same record win, across requests too; collapsing them here means the batch never holds one key twice.
        let mut records: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        // Each tenant's events of the group, in sequence order: they are stored as pages.
        let mut events: BTreeMap<TenantId, Vec<(u64, Vec<u8>)>> = BTreeMap::new();
        let mut seqs: HashMap<TenantId, u64> = HashMap::new();
        let mut new_tenants: BTreeSet<TenantId> = BTreeSet::new();
        let mut replies = Vec::with_capacity(group.len());

        for Request { ops, reply } in group {
            assert!(ops.len() <= self.limits.batch_ops_max, "commit checks batch_ops_max before queueing");
            let mut first_event_seq = None;
            for op in ops {
                let (key_bytes, value_bytes) = op_sizes(&op);
                assert!(key_bytes <= self.limits.key_bytes_max, "commit checks key_bytes_max before queueing");
                assert!(value_bytes <= self.limits.value_bytes_max, "commit checks value_bytes_max before queueing");
                match op {
                    Op::Put { tenant, table, key, value } => {
                        records.insert(layout::record_key(&tenant, table, &key), Some(value));
                        self.note_tenant(tenant, &mut new_tenants);
                    }
                    Op::Delete { tenant, table, key } => {
                        records.insert(layout::record_key(&tenant, table, &key), None);
                    }
                    Op::AppendEvent { tenant, payload } => {
                        let last = self.last_seqs.get(&tenant).copied().unwrap_or(0);
                        let seq = seqs.entry(tenant.clone()).or_insert(last);
                        *seq = seq.checked_add(1).expect("a tenant cannot append 2^64 events");
                        first_event_seq.get_or_insert(*seq);
                        let seq = *seq;
                        self.note_tenant(tenant.clone(), &mut new_tenants);
                        events.entry(tenant).or_default().push((seq, payload));
                    }
                }
            }
            replies.push((reply, Committed { first_event_seq }));
        }

        let mut batch = engine.db.batch().durability(Some(PersistMode::SyncAll));
        for tenant in &new_tenants {
            batch.insert(&engine.meta, layout::tenant_registry_key(tenant), Vec::new());
        }
        for (key, value) in records {
            match value {
                Some(value) => batch.insert(&engine.records, key, value),
                None => batch.remove(&engine.records, key),
            }
        }
        for (tenant, events) in &events {
            for (key, page) in pages(tenant, events) {
                batch.insert(&engine.events, key, page);
            }
        }
        let upgrades = self.format_1 && !events.is_empty();
        if upgrades {
            batch.insert(&engine.meta, layout::FORMAT_KEY, layout::format_value(layout::FORMAT_VERSION).to_vec());
        }

        // `commit` writes the batch to the journal, fsyncs the journal (`File::sync_all`) because of `SyncAll`, and only then makes it visible to readers.
        match batch.commit() {
            Ok(()) => {
                self.format_1 &= !upgrades;
                for (tenant, seq) in seqs {
                    let previous = self.last_seqs.insert(tenant, seq).unwrap_or(0);
                    assert!(seq > previous, "event sequence numbers only grow");
                }
                self.tenants.extend(new_tenants);
                for (reply, committed) in replies {
                    // A waiter that has gone away needs no answer.
                    reply(Ok(committed));
                }
            }
            Err(err) => {
                let err = StoreError::from(err);
                for (reply, _) in replies {
                    reply(Err(err.duplicate()));
                }
            }
        }
    }

    fn note_tenant(&self, tenant: TenantId, new_tenants: &mut BTreeSet<TenantId>) {
        if !self.tenants.contains(&tenant) {
            new_tenants.insert(tenant);
        }
    }
}

/// A tenant's events of one group (consecutive sequence numbers, in order) as keys and values of pages, each page's body at most `PAGE_BODY_BYTES_MAX` unless one event alone is larger.
fn pages(tenant: &TenantId, events: &[(u64, Vec<u8>)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut pages = Vec::new();
    let mut start = 0;
    while start < events.len() {
        let mut end = start + 1;
        let mut bytes = 4 + events[start].1.len();
        while let Some((_, next)) = events.get(end)
            && bytes + 4 + next.len() <= layout::PAGE_BODY_BYTES_MAX
        {
            bytes += 4 + next.len();
            end += 1;
        }
        let page = &events[start..end];
        let payloads: Vec<&[u8]> = page.iter().map(|(_, payload)| payload.as_slice()).collect();
        let last = page.last().map(|(seq, _)| *seq).expect("a page holds at least one event");
        pages.push((layout::event_page_key(tenant, last), layout::encode_page(&payloads)));
        start = end;
    }
    pages
}

/// Ops and caller bytes of one request, for the group bounds.
fn request_size(request: &Request) -> (usize, usize) {
    let bytes = request.ops.iter().map(|op| {
        let (key_bytes, value_bytes) = op_sizes(op);
        key_bytes + value_bytes
    });
    (request.ops.len(), bytes.sum())
}
