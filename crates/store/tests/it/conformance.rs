//! The backend conformance suite: every behaviour of the `Backend` contract, run once against `MemoryBackend` and once against `EmbeddedBackend`.
//! It checks observable behaviour only; durability across reopen and concurrency are in their own modules because only the embedded backend has them.

use std::ops::Bound::{self, Excluded, Included, Unbounded};

use expect_test::expect;
use store::{Backend, KeyRange, Limits, MemoryBackend, ScanOrder, Table};
use tempfile::TempDir;

use crate::check::{
    check_commit, check_commit_err, check_events, check_get, check_last_event_seq, check_scan, check_scan_range,
    check_scan_range_stops, check_scan_stops, check_tenants, open_embedded,
};
use crate::{delete, event, put};

/// A backend under test, with the directory that must outlive it.
struct Fixture {
    backend: Box<dyn Backend>,
    _dir: Option<TempDir>,
}

fn memory(limits: Limits) -> Fixture {
    Fixture { backend: Box::new(MemoryBackend::new(limits).expect("valid limits")), _dir: None }
}

fn embedded(limits: Limits) -> Fixture {
    let dir = tempfile::tempdir().expect("create temp dir");
    let backend = open_embedded(dir.path(), limits);
    Fixture { backend: Box::new(backend), _dir: Some(dir) }
}

/// Declares each case once per backend, so a failure names both the case and the backend.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $( #[test] fn $case() { super::$case(super::memory) } )*
        }
        mod embedded {
            $( #[test] fn $case() { super::$case(super::embedded) } )*
        }
    };
}

conformance!(
    put_get_overwrite,
    delete_present_and_absent,
    scan_in_key_order_per_table,
    scan_stops_on_visitor_error,
    scan_range_prefix_bounds_order_limit,
    scan_range_stays_in_tenant_and_table,
    scan_range_stops_on_visitor_error,
    tenants_are_isolated,
    events_are_dense_per_tenant,
    large_batches_of_events_read_back_from_any_point,
    batch_applies_in_order,
    empty_batch_commits_nothing,
    limits_reject_and_write_nothing,
);

fn put_get_overwrite(open: fn(Limits) -> Fixture) {
    let f = open(Limits::default());
    let b = &*f.backend;
    check_get(b, "default", Table::Twins, "pump", None);
    let committed = check_commit(b, vec![put("default", Table::Twins, "pump", b"v1")]);
    assert_eq!(committed.first_event_seq, None);
    check_get(b, "default", Table::Twins, "pump", Some(b"v1"));
    check_commit(b, vec![put("default", Table::Twins, "pump", b"v2")]);
    check_get(b, "default", Table::Twins, "pump", Some(b"v2"));
    check_commit(b, vec![put("default", Table::Twins, "empty", b"")]);
    check_get(b, "default", Table::Twins, "empty", Some(b""));
    check_get(b, "default", Table::Models, "pump", None);
}

fn delete_present_and_absent(open: fn(Limits) -> Fixture) {
    let f = open(Limits::default());
    let b = &*f.backend;
    check_commit(b, vec![put("default", Table::Twins, "a", b"1"), put("default", Table::Twins, "b", b"2")]);
    check_commit(b, vec![delete("default", Table::Twins, "a"), delete("default", Table::Twins, "never")]);
    check_get(b, "default", Table::Twins, "a", None);
    check_get(b, "default", Table::Twins, "b", Some(b"2"));
    check_scan(b, "default", Table::Twins, &[("b", b"2")]);
}

fn scan_in_key_order_per_table(open: fn(Limits) -> Fixture) {
    let f = open(Limits::default());
    let b = &*f.backend;
    // Keys are given out of order and include prefixes of each other, non-ASCII text and the empty key.
    let keys = ["b", "ab", "a/b", "a", "", "é", "z", "a0", "Z"];
    check_commit(b, keys.iter().map(|key| put("default", Table::Relationships, key, key.as_bytes())).collect());
    check_commit(b, vec![put("default", Table::Twins, "a", b"twin"), put("default", Table::Models, "m", b"model")]);
    check_scan(
        b,
        "default",
        Table::Relationships,
        &[
            ("", b""),
            ("Z", b"Z"),
            ("a", b"a"),
            ("a/b", b"a/b"),
            ("a0", b"a0"),
            ("ab", b"ab"),
            ("b", b"b"),
            ("z", b"z"),
            ("é", "é".as_bytes()),
        ],
    );
    check_scan(b, "default", Table::Twins, &[("a", b"twin")]);
    check_scan(b, "default", Table::Models, &[("m", b"model")]);
    check_scan(b, "default", Table::Jobs, &[]);
    check_scan(b, "default", Table::Meta, &[]);
}

fn scan_stops_on_visitor_error(open: fn(Limits) -> Fixture) {
    let f = open(Limits::default());
    let b = &*f.backend;
    check_commit(b, (0..10).map(|i| put("default", Table::Jobs, &format!("job-{i}"), b"x")).collect());
    check_scan_stops(b, "default", Table::Jobs, 3);
}

fn forward<'a>(prefix: &'a str, lower: Bound<&'a str>, upper: Bound<&'a str>, limit: usize) -> KeyRange<'a> {
    KeyRange { prefix, lower, upper, order: ScanOrder::Forward, limit }
}

fn reverse<'a>(prefix: &'a str, lower: Bound<&'a str>, upper: Bound<&'a str>, limit: usize) -> KeyRange<'a> {
    KeyRange { prefix, lower, upper, order: ScanOrder::Reverse, limit }
}

fn scan_range_prefix_bounds_order_limit(open: fn(Limits) -> Fixture) {
    let f = open(Limits::default());
    let b = &*f.backend;
    // Series-like keys: `s` and `sa` share a first byte, `s\u{1}` sorts right after every `s\0…` key, and `é` is two bytes of UTF-8.
    let keys = [
        "s\u{0}1",
        "s\u{0}2",
        "s\u{0}3",
        "s\u{0}4",
        "s\u{1}",
        "sa\u{0}1",
        "r\u{0}9",
        "é\u{0}1",
        "é\u{0}2",
        "",
        "\u{10ffff}",
    ];
    check_commit(b, keys.iter().map(|key| put("default", Table::History, key, key.as_bytes())).collect());
    let h = Table::History;
    check_scan_range(
        b,
        "default",
        h,
        forward("s\0", Unbounded, Unbounded, 10),
        &["s\u{0}1", "s\u{0}2", "s\u{0}3", "s\u{0}4"],
    );
    check_scan_range(
        b,
        "default",
        h,
        reverse("s\0", Unbounded, Unbounded, 10),
        &["s\u{0}4", "s\u{0}3", "s\u{0}2", "s\u{0}1"],
    );
    check_scan_range(b, "default", h, forward("s\0", Unbounded, Unbounded, 2), &["s\u{0}1", "s\u{0}2"]);
    check_scan_range(b, "default", h, reverse("s\0", Unbounded, Unbounded, 1), &["s\u{0}4"]);
    check_scan_range(
        b,
        "default",
        h,
        forward("s\0", Included("s\u{0}2"), Excluded("s\u{0}4"), 10),
        &["s\u{0}2", "s\u{0}3"],
    );
    check_scan_range(
        b,
        "default",
        h,
        forward("s\0", Excluded("s\u{0}2"), Included("s\u{0}4"), 10),
        &["s\u{0}3", "s\u{0}4"],
    );
    check_scan_range(
        b,
        "default",
        h,
        reverse("s\0", Excluded("s\u{0}1"), Excluded("s\u{0}4"), 10),
        &["s\u{0}3", "s\u{0}2"],
    );
    // Bounds beyond the prefix's keys cut nothing.
    check_scan_range(
        b,
        "default",
        h,
        forward("s\0", Included("a"), Included("z"), 10),
        &["s\u{0}1", "s\u{0}2", "s\u{0}3", "s\u{0}4"],
    );
    check_scan_range(
        b,
        "default",
        h,
        forward("s", Unbounded, Unbounded, 10),
        &["s\u{0}1", "s\u{0}2", "s\u{0}3", "s\u{0}4", "s\u{1}", "sa\u{0}1"],
    );
    check_scan_range(b, "default", h, reverse("é", Unbounded, Unbounded, 10), &["é\u{0}2", "é\u{0}1"]);
    check_scan_range(b, "default", h, reverse("\u{10ffff}", Unbounded, Unbounded, 10), &["\u{10ffff}"]);
    check_scan_range(b, "default", h, forward("", Unbounded, Unbounded, 3), &["", "r\u{0}9", "s\u{0}1"]);
    check_scan_range(b, "default", h, reverse("", Unbounded, Unbounded, 3), &["\u{10ffff}", "é\u{0}2", "é\u{0}1"]);
    check_scan_range(b, "default", h, forward("", Excluded(""), Excluded("s"), 10), &["r\u{0}9"]);
    // Empty ranges, inverted bounds and a zero limit visit nothing (and do not panic).
    check_scan_range(b, "default", h, forward("q", Unbounded, Unbounded, 10), &[]);
    check_scan_range(b, "default", h, forward("s\0", Included("s\u{0}3"), Excluded("s\u{0}2"), 10), &[]);
    check_scan_range(b, "default", h, reverse("s\0", Excluded("s\u{0}3"), Excluded("s\u{0}3"), 10), &[]);
    check_scan_range(b, "default", h, forward("s\0", Included("s\u{0}3"), Included("s\u{0}3"), 10), &["s\u{0}3"]);
    check_scan_range(b, "default", h, forward("s\0", Unbounded, Unbounded, 0), &[]);
}

fn scan_range_stays_in_tenant_and_table(open: fn(Limits) -> Fixture) {
    let f = open(Limits::default());
    let b = &*f.backend;
    // Tenant `a` sorts before `ab`, and `History` is the last table: an unbounded end must stop at the table's edge.
    check_commit(
        b,
        vec![
            put("a", Table::Spatial, "k1", b"k1"),
            put("a", Table::History, "k2", b"k2"),
            put("a", Table::History, "k3", b"k3"),
            put("ab", Table::History, "k4", b"k4"),
            put("ab", Table::Twins, "k0", b"k0"),
            put("b", Table::Models, "k5", b"k5"),
        ],
    );
    check_scan_range(b, "a", Table::History, forward("", Unbounded, Unbounded, 10), &["k2", "k3"]);
    check_scan_range(b, "a", Table::History, reverse("", Unbounded, Unbounded, 10), &["k3", "k2"]);
    check_scan_range(b, "a", Table::History, reverse("k", Unbounded, Unbounded, 10), &["k3", "k2"]);
    check_scan_range(b, "ab", Table::History, reverse("", Unbounded, Unbounded, 10), &["k4"]);
    check_scan_range(b, "ab", Table::History, forward("", Unbounded, Unbounded, 10), &["k4"]);
    check_scan_range(b, "a", Table::Spatial, reverse("", Unbounded, Unbounded, 10), &["k1"]);
    check_scan_range(b, "a", Table::Twins, reverse("", Unbounded, Unbounded, 10), &[]);
    check_scan_range(b, "nobody", Table::History, forward("", Unbounded, Unbounded, 10), &[]);
}

fn scan_range_stops_on_visitor_error(open: fn(Limits) -> Fixture) {
    let f = open(Limits::default());
    let b = &*f.backend;
    check_commit(b, (0..10).map(|i| put("default", Table::History, &format!("p{i}"), b"x")).collect());
    check_scan_range_stops(b, "default", Table::History, forward("p", Unbounded, Unbounded, 100), 3);
    check_scan_range_stops(b, "default", Table::History, reverse("p", Unbounded, Unbounded, 100), 3);
}

fn tenants_are_isolated(open: fn(Limits) -> Fixture) {
    let f = open(Limits::default());
    let b = &*f.backend;
    check_tenants(b, &[]);
    // "a" is a prefix of "ab": the key encoding must still keep them apart.
    check_commit(
        b,
        vec![
            put("ab", Table::Twins, "x", b"ab-x"),
            put("a", Table::Twins, "x", b"a-x"),
            put("a", Table::Twins, "bx", b"a-bx"),
            event("ab", b"ab-1"),
        ],
    );
    check_commit(b, vec![delete("only-deletes", Table::Twins, "x")]);
    check_commit(b, vec![event("events-only", b"e")]);
    check_get(b, "a", Table::Twins, "x", Some(b"a-x"));
    check_get(b, "ab", Table::Twins, "x", Some(b"ab-x"));
    check_scan(b, "a", Table::Twins, &[("bx", b"a-bx"), ("x", b"a-x")]);
    check_scan(b, "ab", Table::Twins, &[("x", b"ab-x")]);
    check_scan(b, "default", Table::Twins, &[]);
    check_last_event_seq(b, "a", 0);
    check_events(b, "a", 0, 10, &[]);
    check_events(b, "ab", 0, 10, &[(1, b"ab-1")]);
    check_tenants(b, &["a", "ab", "events-only"]);
}

fn events_are_dense_per_tenant(open: fn(Limits) -> Fixture) {
    let f = open(Limits::default());
    let b = &*f.backend;
    check_last_event_seq(b, "default", 0);
    assert_eq!(check_commit(b, vec![event("default", b"e1")]).first_event_seq, Some(1));
    let committed =
        check_commit(b, vec![event("default", b"e2"), put("default", Table::Jobs, "j", b""), event("default", b"e3")]);
    assert_eq!(committed.first_event_seq, Some(2));
    // Another tenant's log is numbered on its own, even within the same batch.
    let committed = check_commit(b, vec![event("other", b"o1"), event("default", b"e4"), event("other", b"o2")]);
    assert_eq!(committed.first_event_seq, Some(1));
    check_last_event_seq(b, "default", 4);
    check_last_event_seq(b, "other", 2);
    check_events(b, "default", 0, 100, &[(1, b"e1"), (2, b"e2"), (3, b"e3"), (4, b"e4")]);
    check_events(b, "default", 1, 2, &[(2, b"e2"), (3, b"e3")]);
    check_events(b, "default", 3, 100, &[(4, b"e4")]);
    check_events(b, "default", 4, 100, &[]);
    check_events(b, "default", u64::MAX, 100, &[]);
    check_events(b, "default", 0, 0, &[]);
    check_events(b, "other", 0, 100, &[(1, b"o1"), (2, b"o2")]);
}

/// Batches of events larger than one page of the embedded backend (`PAGE_BODY_BYTES_MAX`, 256 KiB), of text that compresses and bytes that do not, read back from every point with every kind of limit.
fn large_batches_of_events_read_back_from_any_point(open: fn(Limits) -> Fixture) {
    let f = open(Limits::default());
    let b = &*f.backend;
    let mut rng = crate::Rng::new(7);
    let mut expected: Vec<Vec<u8>> = Vec::new();
    for batch in 0..3 {
        let mut ops = Vec::new();
        for i in 0..8 {
            let payload: Vec<u8> = if i % 2 == 0 {
                format!("{{\"batch\":{batch},\"event\":{i}}}").repeat(4_000).into_bytes()
            } else {
                (0..60_000).map(|_| rng.next() as u8).collect()
            };
            ops.push(event("default", &payload));
            // Another tenant's events in the same batch are numbered and paged on their own.
            ops.push(event("other", format!("o{batch}-{i}").as_bytes()));
            expected.push(payload);
        }
        check_commit(b, ops);
    }
    check_last_event_seq(b, "default", 24);
    check_last_event_seq(b, "other", 24);
    let numbered: Vec<(u64, &[u8])> = (1..).zip(expected.iter().map(Vec::as_slice)).collect();
    for after in 0..=24 {
        for limit in [1, 5, 100] {
            let from = (after as usize).min(numbered.len());
            let to = (from + limit).min(numbered.len());
            check_events(b, "default", after, limit, &numbered[from..to]);
        }
    }
    check_events(b, "other", 15, 2, &[(16, b"o1-7"), (17, b"o2-0")]);
}

fn batch_applies_in_order(open: fn(Limits) -> Fixture) {
    let f = open(Limits::default());
    let b = &*f.backend;
    check_commit(
        b,
        vec![
            put("default", Table::Twins, "put-then-delete", b"1"),
            delete("default", Table::Twins, "put-then-delete"),
            delete("default", Table::Twins, "delete-then-put"),
            put("default", Table::Twins, "delete-then-put", b"2"),
            put("default", Table::Twins, "twice", b"3"),
            put("default", Table::Twins, "twice", b"4"),
        ],
    );
    check_scan(b, "default", Table::Twins, &[("delete-then-put", b"2"), ("twice", b"4")]);
}

fn empty_batch_commits_nothing(open: fn(Limits) -> Fixture) {
    let f = open(Limits::default());
    let b = &*f.backend;
    assert_eq!(check_commit(b, Vec::new()).first_event_seq, None);
    check_tenants(b, &[]);
}

fn limits_reject_and_write_nothing(open: fn(Limits) -> Fixture) {
    let limits =
        Limits { value_bytes_max: 8, key_bytes_max: 4, batch_ops_max: 3, batch_bytes_max: 20, ..Limits::default() };
    let f = open(limits);
    let b = &*f.backend;
    check_commit(b, vec![event("default", b"first")]);
    let err = check_commit_err(
        b,
        vec![put("default", Table::Twins, "k", b"ok"), put("default", Table::Twins, "k2", b"123456789")],
    );
    expect![[r#"LimitExceeded { what: "value_bytes_max", limit: 8, actual: 9 }"#]].assert_eq(&format!("{err:?}"));
    let err = check_commit_err(b, vec![event("default", b"ok"), event("default", b"123456789")]);
    expect![[r#"LimitExceeded { what: "value_bytes_max", limit: 8, actual: 9 }"#]].assert_eq(&format!("{err:?}"));
    let err =
        check_commit_err(b, vec![put("default", Table::Twins, "k", b""), delete("default", Table::Twins, "12345")]);
    expect![[r#"LimitExceeded { what: "key_bytes_max", limit: 4, actual: 5 }"#]].assert_eq(&format!("{err:?}"));
    let err = check_commit_err(b, (0..4).map(|i| put("fresh", Table::Jobs, &i.to_string(), b"")).collect());
    expect![[r#"LimitExceeded { what: "batch_ops_max", limit: 3, actual: 4 }"#]].assert_eq(&format!("{err:?}"));
    let err = check_commit_err(b, (0..3).map(|i| put("fresh", Table::Jobs, &i.to_string(), b"1234567")).collect());
    expect![[r#"LimitExceeded { what: "batch_bytes_max", limit: 20, actual: 24 }"#]].assert_eq(&format!("{err:?}"));
    // Nothing of the refused batches is visible, and the event log did not move.
    check_scan(b, "default", Table::Twins, &[]);
    check_scan(b, "fresh", Table::Jobs, &[]);
    check_tenants(b, &["default"]);
    check_last_event_seq(b, "default", 1);
    assert_eq!(check_commit(b, vec![event("default", b"second")]).first_event_seq, Some(2));
    check_events(b, "default", 0, 10, &[(1, b"first"), (2, b"second")]);
}
