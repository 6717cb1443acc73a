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
fn format_1_directories_are_read_and_upgraded() {
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
            events.insert([b"\x07default".as_slice(), &seq.to_be_bytes()].concat(), payload).expect("insert");
        }
        db.persist(PersistMode::SyncAll).expect("persist");
    }
    {
        let b = open_embedded(dir.path(), Limits::default());
        check_scan(&b, "default", Table::Twins, &[("pump", b"twin")]);
        check_last_event_seq(&b, "default", 3);
        // Events appended now are stored as a page after the single ones, and reads cross from one to the other.
        assert_eq!(check_commit(&b, vec![event("default", b"e4"), event("default", b"e5")]).first_event_seq, Some(4));
        check_events(&b, "default", 0, 10, &[(1, b"e1"), (2, b"e2"), (3, b"e3"), (4, b"e4"), (5, b"e5")]);
        check_events(&b, "default", 2, 2, &[(3, b"e3"), (4, b"e4")]);
        check_events(&b, "default", 4, 10, &[(5, b"e5")]);
    }
    // The directory now says format 2, so a build that reads only format 1 refuses it instead of misreading its pages.
    let db = Database::builder(dir.path()).open().expect("open fjall");
    let meta = db.keyspace("meta", KeyspaceCreateOptions::default).expect("open meta");
    let format = meta.get(b"FORMAT").expect("read FORMAT").expect("FORMAT is present");
    assert_eq!(&*format, b"TWSC\x00\x00\x00\x02");
    let events = db.keyspace("events", KeyspaceCreateOptions::default).expect("open events");
    let keys: Vec<Vec<u8>> = events.iter().map(|entry| entry.key().expect("read key").to_vec()).collect();
    let mut page = [b"\x07default".as_slice(), &5u64.to_be_bytes()].concat();
    page.push(b'p');
    assert_eq!(keys.last(), Some(&page));
    assert_eq!(keys.len(), 4);
    drop((events, meta, db));
    let b = open_embedded(dir.path(), Limits::default());
    check_events(&b, "default", 1, 10, &[(2, b"e2"), (3, b"e3"), (4, b"e4"), (5, b"e5")]);
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
