//! A model-based test: thousands of seeded random batches go to `EmbeddedBackend` and to a plain `BTreeMap` model, and the two must agree throughout, across a close and reopen.
//! The model is deliberately naive (no encoding, no batching) so that a disagreement points at the backend.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Bound, RangeBounds};
use std::path::Path;

use store::{Backend, EmbeddedBackend, KeyRange, Limits, Op, ScanOrder, StoreError, Table, TenantId};

use crate::check::{
    check_commit, check_commit_err, events, get, last_event_seq, open_embedded, scan, scan_range, tenants,
};
use crate::{Rng, tenant};

const BATCHES: usize = 3000;
const TENANTS: [&str; 3] = ["a", "ab", "t-1"];
const KEYS: [&str; 12] = ["", "a", "a/b", "ab", "b", "pump-1", "pump-10", "pump-2", "é", "z", "zz", "Z"];
/// The prefixes of the random range scans: the empty one, prefixes of several keys, of one key, and of none.
const PREFIXES: [&str; 6] = ["", "a", "pump-1", "z", "é", "q"];
const VALUE_BYTES_MAX: usize = 48;

#[test]
fn embedded_matches_model() {
    let dir = tempfile::tempdir().expect("create temp dir");
    let limits = Limits { value_bytes_max: VALUE_BYTES_MAX, ..Limits::default() };
    let mut backend = Some(open_embedded(dir.path(), limits.clone()));
    let mut model = Model::default();
    let mut rng = Rng::new(0x7717_5ca9e);
    let mut refused = 0;

    for round in 0..BATCHES {
        if round == BATCHES / 2 {
            // Close (joining the writer and releasing the directory) and reopen halfway.
            drop(backend.take());
            backend = Some(open_embedded(dir.path(), limits.clone()));
            compare(live(&backend), &model);
        }
        let b = live(&backend);
        let ops = random_batch(&mut rng);
        let over_limit = ops.iter().any(|op| matches!(op, Op::Put { value, .. } | Op::AppendEvent { payload: value, .. } if value.len() > VALUE_BYTES_MAX));
        if over_limit {
            let err = check_commit_err(b, ops);
            assert!(matches!(err, StoreError::LimitExceeded { what: "value_bytes_max", .. }), "{err:?}");
            refused += 1;
        } else {
            let expected_first = model.apply(&ops);
            assert_eq!(check_commit(b, ops).first_event_seq, expected_first, "round {round}");
        }
        if round % 100 == 99 {
            compare(b, &model);
        }
        spot_check(b, &model, &mut rng);
    }
    compare(live(&backend), &model);
    assert!(refused > 0, "the generator should produce some over-limit batches");
    drop(backend.take());
    reopen_and_compare(dir.path(), limits, &model);
}

fn live(backend: &Option<EmbeddedBackend>) -> &dyn Backend {
    backend.as_ref().expect("backend is open outside the reopen step")
}

fn reopen_and_compare(dir: &Path, limits: Limits, model: &Model) {
    let backend = open_embedded(dir, limits);
    compare(&backend, model);
}

#[derive(Default)]
struct Model {
    records: BTreeMap<(TenantId, Table, String), Vec<u8>>,
    events: BTreeMap<TenantId, Vec<Vec<u8>>>,
    tenants: BTreeSet<TenantId>,
}

impl Model {
    /// Applies a batch and returns the first event's sequence number, as `Committed` should report it.
    fn apply(&mut self, ops: &[Op]) -> Option<u64> {
        let mut first = None;
        for op in ops {
            match op.clone() {
                Op::Put { tenant, table, key, value } => {
                    self.tenants.insert(tenant.clone());
                    self.records.insert((tenant, table, key), value);
                }
                Op::Delete { tenant, table, key } => {
                    self.records.remove(&(tenant, table, key));
                }
                Op::AppendEvent { tenant, payload } => {
                    self.tenants.insert(tenant.clone());
                    let log = self.events.entry(tenant).or_default();
                    log.push(payload);
                    first.get_or_insert(log.len() as u64);
                }
            }
        }
        first
    }

    fn rows(&self, tenant: &TenantId, table: Table) -> Vec<(String, Vec<u8>)> {
        self.records
            .iter()
            .filter(|((t, tb, _), _)| t == tenant && *tb == table)
            .map(|((_, _, key), value)| (key.clone(), value.clone()))
            .collect()
    }

    /// The rows `Backend::scan_range` should visit, by brute force over every row of the table.
    fn range(&self, tenant: &TenantId, table: Table, range: &KeyRange<'_>) -> Vec<(String, Vec<u8>)> {
        let mut rows: Vec<_> = self
            .rows(tenant, table)
            .into_iter()
            .filter(|(key, _)| key.starts_with(range.prefix) && (range.lower, range.upper).contains(key.as_str()))
            .collect();
        if range.order == ScanOrder::Reverse {
            rows.reverse();
        }
        rows.truncate(range.limit);
        rows
    }

    fn events(&self, tenant: &TenantId) -> Vec<(u64, Vec<u8>)> {
        let log = self.events.get(tenant).map(Vec::as_slice).unwrap_or_default();
        log.iter().enumerate().map(|(i, payload)| (i as u64 + 1, payload.clone())).collect()
    }
}

fn random_batch(rng: &mut Rng) -> Vec<Op> {
    let len = 1 + rng.below(8);
    (0..len)
        .map(|_| {
            let tenant = tenant(rng.pick(&TENANTS));
            let table = rng.pick(&Table::ALL);
            let key = rng.pick(&KEYS).to_owned();
            // One value in 200 is one byte over the limit, so that some batches must be refused whole.
            let value_len = if rng.below(200) == 0 { VALUE_BYTES_MAX + 1 } else { rng.below(VALUE_BYTES_MAX + 1) };
            match rng.below(4) {
                0 | 1 => Op::Put { tenant, table, key, value: rng.bytes(value_len) },
                2 => Op::Delete { tenant, table, key },
                _ => Op::AppendEvent { tenant, payload: rng.bytes(value_len) },
            }
        })
        .collect()
}

/// Compares everything: every table of every tenant, every event log, the tenant list.
fn compare(backend: &dyn Backend, model: &Model) {
    for id in TENANTS {
        let tenant = tenant(id);
        for table in Table::ALL {
            assert_eq!(scan(backend, &tenant, table), model.rows(&tenant, table), "{id}/{table:?}");
        }
        assert_eq!(events(backend, &tenant, 0, usize::MAX), model.events(&tenant), "events of {id}");
        assert_eq!(last_event_seq(backend, &tenant), model.events(&tenant).len() as u64);
    }
    assert_eq!(tenants(backend), model.tenants.iter().cloned().collect::<Vec<_>>());
}

/// Checks one random key and one random window of events, cheap enough to run after every batch.
fn spot_check(backend: &dyn Backend, model: &Model, rng: &mut Rng) {
    let tenant = tenant(rng.pick(&TENANTS));
    let table = rng.pick(&Table::ALL);
    let key = rng.pick(&KEYS);
    let expected = model.records.get(&(tenant.clone(), table, key.to_owned()));
    assert_eq!(get(backend, &tenant, table, key).as_ref(), expected, "{tenant}/{table:?}/{key:?}");

    let all = model.events(&tenant);
    let after = rng.below(all.len() + 2) as u64;
    let limit = rng.below(5);
    let expected: Vec<_> = all.into_iter().skip(after as usize).take(limit).collect();
    assert_eq!(events(backend, &tenant, after, limit), expected);

    let bound = |rng: &mut Rng| match rng.below(3) {
        0 => Bound::Unbounded,
        1 => Bound::Included(rng.pick(&KEYS)),
        _ => Bound::Excluded(rng.pick(&KEYS)),
    };
    let range = KeyRange {
        prefix: rng.pick(&PREFIXES),
        lower: bound(rng),
        upper: bound(rng),
        order: if rng.below(2) == 0 { ScanOrder::Forward } else { ScanOrder::Reverse },
        limit: rng.below(6),
    };
    assert_eq!(
        scan_range(backend, &tenant, table, range),
        model.range(&tenant, table, &range),
        "{tenant}/{table:?} {range:?}"
    );
}
