//! Reopening the embedded backend: everything committed survives a close, sequence numbers continue, and the `FORMAT` record is enforced.
//! The format tests write the directory with fjall directly, exactly as `docs/storage-format.md` describes it, so they also pin that document.

use std::path::Path;

use expect_test::expect;
use fjall::{Database, KeyspaceCreateOptions, PersistMode};
use store::{Limits, Table};

use crate::check::{
    check_commit, check_events, check_get, check_last_event_seq, check_scan, check_tenants, open_embedded,
    open_embedded_err,
};
use crate::{delete, event, put};
use store::Backend;

#[test]
fn reopen_keeps_everything() {
    let dir = tempfile::tempdir().expect("create temp dir");
    // A directory that does not exist yet is created.
    let path = dir.path().join("data");
    {
        let b = open_embedded(&path, Limits::default());
        check_commit(
            &b,
            vec![
                put("default", Table::Models, "dtmi:x;1", b"model"),
                put("default", Table::Twins, "pump", b"twin"),
                put("default", Table::Twins, "gone", b"soon"),
                event("default", b"e1"),
                event("default", b"e2"),
            ],
        );
        check_commit(&b, vec![delete("default", Table::Twins, "gone"), event("acme", b"a1")]);
    }
    {
        let b = open_embedded(&path, Limits::default());
        check_tenants(&b, &["acme", "default"]);
        check_scan(&b, "default", Table::Twins, &[("pump", b"twin")]);
        check_get(&b, "default", Table::Models, "dtmi:x;1", Some(b"model"));
        check_events(&b, "default", 0, 10, &[(1, b"e1"), (2, b"e2")]);
        check_last_event_seq(&b, "acme", 1);
        // The writer picks up numbering where the stored log ends.
        assert_eq!(check_commit(&b, vec![event("default", b"e3")]).first_event_seq, Some(3));
        assert_eq!(check_commit(&b, vec![event("acme", b"a2")]).first_event_seq, Some(2));
    }
    let b = open_embedded(&path, Limits::default());
    check_events(&b, "default", 0, 10, &[(1, b"e1"), (2, b"e2"), (3, b"e3")]);
    check_events(&b, "acme", 0, 10, &[(1, b"a1"), (2, b"a2")]);
}

#[test]
fn second_open_is_unavailable() {
    let dir = tempfile::tempdir().expect("create temp dir");
    let _first = open_embedded(dir.path(), Limits::default());
    let err = open_embedded_err(dir.path(), Limits::default());
    expect![[r#"Unavailable { what: "the data directory is in use by another process" }"#]]
        .assert_eq(&format!("{err:?}"));
}

#[test]
fn newer_format_is_refused() {
    let dir = tempfile::tempdir().expect("create temp dir");
    drop(open_embedded(dir.path(), Limits::default()));
    write_meta(dir.path(), b"FORMAT", b"TWSC\x00\x00\x00\x03");
    let err = open_embedded_err(dir.path(), Limits::default());
    expect![[r#"UnsupportedFormat { found: 3, supported: 2 }"#]].assert_eq(&format!("{err:?}"));
    expect![[r#"unsupported store format version 3 (this build reads versions 1 to 2)"#]].assert_eq(&err.to_string());
}

#[test]
fn format_1_directories_are_read_and_upgraded_by_their_first_page() {
    let dir = tempfile::tempdir().expect("create temp dir");
    {
        // A format 1 directory as an earlier build wrote it: each event under its own key, tenant prefix then sequence number.
        let db = Database::builder(dir.path()).open().expect("open fjall");
        let meta = db.keyspace("meta", KeyspaceCreateOptions::default).expect("create meta");
        meta.insert(b"FORMAT", b"TWSC\x00\x00\x00\x01").expect("insert");
        meta.insert(b"tenant/default", b"").expect("insert");
        let records = db.keyspace("records", KeyspaceCreateOptions::default).expect("create records");
        records.insert(b"\x07default\x02pump", b"twin").expect("insert");
        let events = db.keyspace("events", KeyspaceCreateOptions::default).expect("create events");
        for (seq, payload) in [(1u64, b"e1"), (2, b"e2"), (3, b"e3")] {
            events.insert(event_key(seq), payload).expect("insert");
        }
        db.persist(PersistMode::SyncAll).expect("persist");
    }
    {
        // Reading and writing records leave the directory format 1, so the build before pages still opens it.
        let b = open_embedded(dir.path(), Limits::default());
        check_scan(&b, "default", Table::Twins, &[("pump", b"twin")]);
        check_last_event_seq(&b, "default", 3);
        check_events(&b, "default", 1, 10, &[(2, b"e2"), (3, b"e3")]);
        check_commit(&b, vec![put("default", Table::Twins, "valve", b"twin")]);
    }
    assert_eq!(read_raw(dir.path(), "meta", b"FORMAT").as_deref(), Some(b"TWSC\x00\x00\x00\x01".as_slice()));
    {
        // Events appended now are stored as a page after the single ones, and reads cross from one to the other.
        let b = open_embedded(dir.path(), Limits::default());
        assert_eq!(check_commit(&b, vec![event("default", b"e4"), event("default", b"e5")]).first_event_seq, Some(4));
        check_events(&b, "default", 0, 10, &[(1, b"e1"), (2, b"e2"), (3, b"e3"), (4, b"e4"), (5, b"e5")]);
        check_events(&b, "default", 2, 2, &[(3, b"e3"), (4, b"e4")]);
        check_events(&b, "default", 4, 10, &[(5, b"e5")]);
    }
    // The first page made the directory format 2, in the same commit, so a build that reads only format 1 refuses it instead of misreading its pages.
    assert_eq!(read_raw(dir.path(), "meta", b"FORMAT").as_deref(), Some(b"TWSC\x00\x00\x00\x02".as_slice()));
    assert!(read_raw(dir.path(), "events", &page_key(5)).is_some());
    let b = open_embedded(dir.path(), Limits::default());
    check_events(&b, "default", 1, 10, &[(2, b"e2"), (3, b"e3"), (4, b"e4"), (5, b"e5")]);
}

#[test]
fn overlapping_and_malformed_pages_are_corrupt() {
    let dir = tempfile::tempdir().expect("create temp dir");
    drop(open_embedded(dir.path(), Limits::default()));
    // Pages as docs/storage-format.md lays them out: format 1, codec 0 (as it is), count, body length, then each event's length and bytes.
    let page = |events: &[&[u8]]| {
        let body: Vec<u8> =
            events.iter().flat_map(|e| (e.len() as u32).to_be_bytes().into_iter().chain(e.iter().copied())).collect();
        let mut value = vec![1, 0];
        value.extend_from_slice(&(events.len() as u32).to_be_bytes());
        value.extend_from_slice(&(body.len() as u32).to_be_bytes());
        value.extend_from_slice(&body);
        value
    };
    {
        let db = Database::builder(dir.path()).open().expect("open fjall");
        let meta = db.keyspace("meta", KeyspaceCreateOptions::default).expect("open meta");
        meta.insert(b"tenant/default", b"").expect("insert");
        let events = db.keyspace("events", KeyspaceCreateOptions::default).expect("open events");
        events.insert(page_key(2), page(&[b"e1", b"e2"])).expect("insert");
        // Events 2 to 4 again: 2 repeats the page before.
        events.insert(page_key(4), page(&[b"x2", b"e3", b"e4"])).expect("insert");
        let mut broken = page(&[b"e5"]);
        broken[2..6].copy_from_slice(&u32::MAX.to_be_bytes());
        events.insert(page_key(5), broken).expect("insert");
        db.persist(PersistMode::SyncAll).expect("persist");
    }
    let b = open_embedded(dir.path(), Limits::default());
    check_events(&b, "default", 0, 2, &[(1, b"e1"), (2, b"e2")]);
    // Read from inside the second page, the repeat is not seen; read across both, it is.
    check_events(&b, "default", 2, 2, &[(3, b"e3"), (4, b"e4")]);
    let err = b.read_events(&store::TenantId::parse("default").expect("a tenant"), 0, 10).expect_err("a repeat");
    expect![[r#"Corrupt { what: "event log of tenant default has event 2 where 3 belongs" }"#]]
        .assert_eq(&format!("{err:?}"));
    let err = b.read_events(&store::TenantId::parse("default").expect("a tenant"), 4, 10).expect_err("a bad count");
    expect![[r#"Corrupt { what: "event page: an event's length is cut short (key [7, 100, 101, 102, 97, 117, 108, 116, 0, 0, 0, 0, 0, 0, 0, 5, 112])" }"#]]
        .assert_eq(&format!("{err:?}"));
}

/// The key of event `seq` of tenant `default` as format 1 stored it.
fn event_key(seq: u64) -> Vec<u8> {
    [b"\x07default".as_slice(), &seq.to_be_bytes()].concat()
}

/// The key of a page of tenant `default` ending with event `last`.
fn page_key(last: u64) -> Vec<u8> {
    [event_key(last).as_slice(), b"p"].concat()
}

/// A value of `keyspace` read with fjall directly.
fn read_raw(dir: &Path, keyspace: &str, key: &[u8]) -> Option<Vec<u8>> {
    let db = Database::builder(dir).open().expect("open fjall");
    let keyspace = db.keyspace(keyspace, KeyspaceCreateOptions::default).expect("open keyspace");
    keyspace.get(key).expect("read").map(|value| value.to_vec())
}

#[test]
fn foreign_format_record_is_corrupt() {
    let dir = tempfile::tempdir().expect("create temp dir");
    drop(open_embedded(dir.path(), Limits::default()));
    write_meta(dir.path(), b"FORMAT", b"v1");
    let err = open_embedded_err(dir.path(), Limits::default());
    expect![[r#"Corrupt { what: "FORMAT record is not a Twinscape store header: [118, 49]" }"#]]
        .assert_eq(&format!("{err:?}"));
}

#[test]
fn data_without_format_record_is_corrupt() {
    let dir = tempfile::tempdir().expect("create temp dir");
    {
        let db = Database::builder(dir.path()).open().expect("open fjall");
        let records = db.keyspace("records", KeyspaceCreateOptions::default).expect("create keyspace");
        records.insert(b"\x07default\x02pump", b"twin").expect("insert");
        db.persist(PersistMode::SyncAll).expect("persist");
    }
    let err = open_embedded_err(dir.path(), Limits::default());
    expect![[r#"Corrupt { what: "the data directory holds data but no FORMAT record" }"#]]
        .assert_eq(&format!("{err:?}"));
}

/// Overwrites one record of the `meta` keyspace, as a newer or foreign program might have.
fn write_meta(dir: &Path, key: &[u8], value: &[u8]) {
    let db = Database::builder(dir).open().expect("open fjall");
    let meta = db.keyspace("meta", KeyspaceCreateOptions::default).expect("open meta keyspace");
    meta.insert(key, value).expect("insert");
    db.persist(PersistMode::SyncAll).expect("persist");
}
