//! `MemoryBackend`: the `Backend` kept in `BTreeMap`s behind one mutex, for tests and for servers that need no persistence.
//! It is not durable and does no group commit: each commit takes the lock, checks the same `Limits` as the embedded backend, and applies its ops.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard};

use crate::backend::Reply;
use crate::{Backend, Committed, KeyRange, Limits, Op, ScanOrder, StoreError, Table, TenantId, Visit};

/// A `Backend` that lives in memory and is lost on drop.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    limits: Limits,
    state: Mutex<State>,
}

impl MemoryBackend {
    pub fn new(limits: Limits) -> Result<MemoryBackend, StoreError> {
        limits.validate()?;
        Ok(MemoryBackend { limits, state: Mutex::default() })
    }

    fn state(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::Internal { what: "memory backend lock poisoned by a panic".to_owned() })
    }

    /// Applies a batch at once: holding the lock for the whole batch makes it atomic.
    fn apply(&self, ops: Vec<Op>) -> Result<Committed, StoreError> {
        self.limits.check_batch(&ops)?;
        let mut state = self.state()?;
        let mut first_event_seq = None;
        for op in ops {
            match op {
                Op::Put { tenant, table, key, value } => {
                    state.tenants.insert(tenant.clone());
                    state.records.insert((tenant, table, key), value);
                }
                Op::Delete { tenant, table, key } => {
                    state.records.remove(&(tenant, table, key));
                }
                Op::AppendEvent { tenant, payload } => {
                    state.tenants.insert(tenant.clone());
                    let log = state.events.entry(tenant).or_default();
                    log.push(payload);
                    first_event_seq.get_or_insert(log.len() as u64);
                }
            }
        }
        Ok(Committed { first_event_seq })
    }
}

impl Backend for MemoryBackend {
    fn submit_then(&self, ops: Vec<Op>, reply: Reply) {
        reply(self.apply(ops));
    }

    fn scan(&self, tenant: &TenantId, table: Table, visit: &mut Visit<'_>) -> Result<(), StoreError> {
        // Copy the table out first, so that `visit` may call back into the backend without deadlocking.
        let rows: Vec<(String, Vec<u8>)> = {
            let state = self.state()?;
            let start = (tenant.clone(), table, String::new());
            state
                .records
                .range(start..)
                .take_while(|((t, tb, _), _)| t == tenant && *tb == table)
                .map(|((_, _, key), value)| (key.clone(), value.clone()))
                .collect()
        };
        rows.iter().try_for_each(|(key, value)| visit(key, value))
    }

    fn scan_range(
        &self,
        tenant: &TenantId,
        table: Table,
        range: &KeyRange<'_>,
        visit: &mut Visit<'_>,
    ) -> Result<(), StoreError> {
        let Some((lower, upper)) = range.bounds() else { return Ok(()) };
        // An unbounded end stays within the tenant's table: the smallest key of it, or every key of it.
        let lower = match lower {
            Bound::Unbounded => Bound::Included((tenant.clone(), table, String::new())),
            bound => bound.map(|key| (tenant.clone(), table, key)),
        };
        let upper = upper.map(|key| (tenant.clone(), table, key));
        // Copy the rows out first, as `scan` does, so that `visit` may call back into the backend.
        let rows: Vec<(String, Vec<u8>)> = {
            let state = self.state()?;
            let rows = state.records.range((lower, upper));
            let inside = |((t, tb, _), _): &(&(TenantId, Table, String), &Vec<u8>)| t == tenant && *tb == table;
            let copy = |((_, _, key), value): (&(TenantId, Table, String), &Vec<u8>)| (key.clone(), value.clone());
            match range.order {
                ScanOrder::Forward => rows.take_while(inside).take(range.limit).map(copy).collect(),
                // The range starts inside the table; an unbounded upper end reaches past it, into later tables and tenants.
                ScanOrder::Reverse => {
                    rows.rev().skip_while(|row| !inside(row)).take_while(inside).take(range.limit).map(copy).collect()
                }
            }
        };
        rows.iter().try_for_each(|(key, value)| visit(key, value))
    }

    fn get(&self, tenant: &TenantId, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let state = self.state()?;
        Ok(state.records.get(&(tenant.clone(), table, key.to_owned())).cloned())
    }

    fn read_events(&self, tenant: &TenantId, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let state = self.state()?;
        let Some(log) = state.events.get(tenant) else { return Ok(Vec::new()) };
        let skip = usize::try_from(after).unwrap_or(usize::MAX);
        Ok(log.iter().enumerate().skip(skip).take(limit).map(|(i, payload)| (i as u64 + 1, payload.clone())).collect())
    }

    fn last_event_seq(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        let state = self.state()?;
        Ok(state.events.get(tenant).map_or(0, |log| log.len() as u64))
    }

    fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        Ok(self.state()?.tenants.iter().cloned().collect())
    }
}

#[derive(Debug, Default)]
struct State {
    records: BTreeMap<(TenantId, Table, String), Vec<u8>>,
    /// Event `n` of a tenant is at index `n - 1`.
    events: BTreeMap<TenantId, Vec<Vec<u8>>>,
    tenants: BTreeSet<TenantId>,
}
