//! The `check*` helpers: the only code in the tests that calls the store's API, each one comparing what the store returns with what the test expects.
//! They do not decide what to expect; the tests and the model do.

use std::path::Path;

use store::{Backend, Committed, EmbeddedBackend, KeyRange, Limits, Op, StoreError, Table, TenantId};

use crate::tenant;

pub(crate) fn open_embedded(dir: &Path, limits: Limits) -> EmbeddedBackend {
    match EmbeddedBackend::open(dir, limits) {
        Ok(backend) => backend,
        Err(err) => panic!("open {}: {err:?}", dir.display()),
    }
}

pub(crate) fn open_embedded_err(dir: &Path, limits: Limits) -> StoreError {
    match EmbeddedBackend::open(dir, limits) {
        Ok(_) => panic!("open {} succeeded but should have failed", dir.display()),
        Err(err) => err,
    }
}

/// Commits `ops`, which must succeed, and returns what the store reported.
pub(crate) fn check_commit(backend: &dyn Backend, ops: Vec<Op>) -> Committed {
    match backend.commit(ops) {
        Ok(committed) => committed,
        Err(err) => panic!("commit failed: {err:?}"),
    }
}

/// Commits `ops`, which must fail, and returns the error.
pub(crate) fn check_commit_err(backend: &dyn Backend, ops: Vec<Op>) -> StoreError {
    match backend.commit(ops) {
        Ok(committed) => panic!("commit succeeded with {committed:?} but should have failed"),
        Err(err) => err,
    }
}

pub(crate) fn check_get(backend: &dyn Backend, tenant_id: &str, table: Table, key: &str, expected: Option<&[u8]>) {
    let actual = backend.get(&tenant(tenant_id), table, key).expect("get");
    assert_eq!(actual.as_deref(), expected, "get {tenant_id}/{table:?}/{key:?}");
}

/// Scans a table and compares every (key, value) in order.
pub(crate) fn check_scan(backend: &dyn Backend, tenant_id: &str, table: Table, expected: &[(&str, &[u8])]) {
    let actual = scan(backend, &tenant(tenant_id), table);
    let actual: Vec<(&str, &[u8])> = actual.iter().map(|(key, value)| (key.as_str(), value.as_slice())).collect();
    assert_eq!(actual, expected, "scan {tenant_id}/{table:?}");
}

/// Scans a table and returns its rows, for tests that compute their expectations.
pub(crate) fn scan(backend: &dyn Backend, tenant: &TenantId, table: Table) -> Vec<(String, Vec<u8>)> {
    let mut rows = Vec::new();
    backend
        .scan(tenant, table, &mut |key, value| {
            rows.push((key.to_owned(), value.to_vec()));
            Ok(())
        })
        .expect("scan");
    rows
}

/// Scans a range of a table and compares the keys visited, in order; every value must be its key's bytes.
pub(crate) fn check_scan_range(
    backend: &dyn Backend,
    tenant_id: &str,
    table: Table,
    range: KeyRange<'_>,
    expected: &[&str],
) {
    let actual = scan_range(backend, &tenant(tenant_id), table, range);
    for (key, value) in &actual {
        assert_eq!(key.as_bytes(), value.as_slice(), "the value of {key:?}");
    }
    let actual: Vec<&str> = actual.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(actual, expected, "scan_range {tenant_id}/{table:?} {range:?}");
}

/// Scans a range of a table and returns its rows, for tests that compute their expectations.
pub(crate) fn scan_range(
    backend: &dyn Backend,
    tenant: &TenantId,
    table: Table,
    range: KeyRange<'_>,
) -> Vec<(String, Vec<u8>)> {
    let mut rows = Vec::new();
    backend
        .scan_range(tenant, table, &range, &mut |key, value| {
            rows.push((key.to_owned(), value.to_vec()));
            Ok(())
        })
        .expect("scan_range");
    rows
}

/// Scans a range with a visitor that fails at the `stop_at`-th row; the scan must stop there and return that error.
pub(crate) fn check_scan_range_stops(
    backend: &dyn Backend,
    tenant_id: &str,
    table: Table,
    range: KeyRange<'_>,
    stop_at: usize,
) {
    let mut visited = 0;
    let result = backend.scan_range(&tenant(tenant_id), table, &range, &mut |_, _| {
        visited += 1;
        if visited == stop_at { Err(StoreError::Internal { what: "visitor stops".to_owned() }) } else { Ok(()) }
    });
    assert!(matches!(&result, Err(StoreError::Internal { what }) if what == "visitor stops"), "{result:?}");
    assert_eq!(visited, stop_at);
}

/// Scans a table with a visitor that fails at the `stop_at`-th row; the scan must stop there and return that error.
pub(crate) fn check_scan_stops(backend: &dyn Backend, tenant_id: &str, table: Table, stop_at: usize) {
    let mut visited = 0;
    let result = backend.scan(&tenant(tenant_id), table, &mut |_, _| {
        visited += 1;
        if visited == stop_at { Err(StoreError::Internal { what: "visitor stops".to_owned() }) } else { Ok(()) }
    });
    assert!(matches!(&result, Err(StoreError::Internal { what }) if what == "visitor stops"), "{result:?}");
    assert_eq!(visited, stop_at);
}

pub(crate) fn check_events(
    backend: &dyn Backend,
    tenant_id: &str,
    after: u64,
    limit: usize,
    expected: &[(u64, &[u8])],
) {
    let actual = backend.read_events(&tenant(tenant_id), after, limit).expect("read_events");
    let actual: Vec<(u64, &[u8])> = actual.iter().map(|(seq, payload)| (*seq, payload.as_slice())).collect();
    assert_eq!(actual, expected, "events of {tenant_id} after {after}, at most {limit}");
}

/// Reads a tenant's events, for tests that compute their expectations.
pub(crate) fn events(backend: &dyn Backend, tenant: &TenantId, after: u64, limit: usize) -> Vec<(u64, Vec<u8>)> {
    backend.read_events(tenant, after, limit).expect("read_events")
}

pub(crate) fn get(backend: &dyn Backend, tenant: &TenantId, table: Table, key: &str) -> Option<Vec<u8>> {
    backend.get(tenant, table, key).expect("get")
}

pub(crate) fn last_event_seq(backend: &dyn Backend, tenant: &TenantId) -> u64 {
    backend.last_event_seq(tenant).expect("last_event_seq")
}

pub(crate) fn tenants(backend: &dyn Backend) -> Vec<TenantId> {
    backend.tenants().expect("tenants")
}

pub(crate) fn check_last_event_seq(backend: &dyn Backend, tenant_id: &str, expected: u64) {
    assert_eq!(
        backend.last_event_seq(&tenant(tenant_id)).expect("last_event_seq"),
        expected,
        "last seq of {tenant_id}"
    );
}

pub(crate) fn check_tenants(backend: &dyn Backend, expected: &[&str]) {
    let actual = backend.tenants().expect("tenants");
    let actual: Vec<&str> = actual.iter().map(TenantId::as_str).collect();
    assert_eq!(actual, expected);
}

/// Submits batches one after another without waiting, then waits for all, in order.
pub(crate) fn check_submit_all(backend: &dyn Backend, batches: Vec<Vec<Op>>) -> Vec<Committed> {
    let pending: Vec<_> = batches.into_iter().map(|ops| backend.submit(ops)).collect();
    pending.into_iter().map(|p| p.wait().expect("a submitted batch commits")).collect()
}
