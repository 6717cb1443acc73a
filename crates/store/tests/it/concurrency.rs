//! Concurrency of the embedded backend: many threads committing at once must all be answered, with every write present and event numbers dense and unique.
//! It checks correctness only; how much group commit speeds things up is measured by `examples/commit_rate.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;

use store::{Limits, Table};

use crate::check::{check_commit, events, open_embedded, scan};
use crate::{event, put, tenant};

const THREADS: usize = 8;
const COMMITS_PER_THREAD: usize = 500;
const TENANTS: [&str; 2] = ["even", "odd"];

#[test]
fn eight_threads_commit_concurrently() {
    let dir = tempfile::tempdir().expect("create temp dir");
    let backend = Arc::new(open_embedded(dir.path(), Limits::default()));

    let workers: Vec<_> = (0..THREADS)
        .map(|thread| {
            let backend = Arc::clone(&backend);
            std::thread::spawn(move || {
                let tenant_id = TENANTS[thread % 2];
                (0..COMMITS_PER_THREAD)
                    .map(|i| {
                        let name = format!("w{thread}-{i}");
                        let ops = vec![
                            put(tenant_id, Table::Twins, &name, name.as_bytes()),
                            event(tenant_id, name.as_bytes()),
                        ];
                        let seq = check_commit(&*backend, ops).first_event_seq.expect("the batch appended an event");
                        (seq, name)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut reported: BTreeMap<&str, BTreeMap<u64, String>> = BTreeMap::new();
    for (thread, worker) in workers.into_iter().enumerate() {
        let committed = worker.join().expect("worker thread panicked");
        let log = reported.entry(TENANTS[thread % 2]).or_default();
        for (seq, name) in committed {
            assert!(log.insert(seq, name).is_none(), "sequence number {seq} reported twice");
        }
    }

    let per_tenant = THREADS / 2 * COMMITS_PER_THREAD;
    for tenant_id in TENANTS {
        let tenant = tenant(tenant_id);
        // Dense and unique: the log is exactly 1..=n, and each commit's reported number holds that commit's event.
        let log = events(&*backend, &tenant, 0, usize::MAX);
        let seqs: Vec<u64> = log.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(seqs, (1..=per_tenant as u64).collect::<Vec<_>>());
        let logged: BTreeMap<u64, String> = log
            .into_iter()
            .map(|(seq, payload)| (seq, String::from_utf8(payload).expect("payloads are names")))
            .collect();
        assert_eq!(&logged, &reported[tenant_id]);
        // Each thread's commits are sequential, so its events appear in its own order.
        for thread in (0..THREADS).filter(|thread| TENANTS[thread % 2] == tenant_id) {
            let prefix = format!("w{thread}-");
            let order: Vec<usize> =
                logged.values().filter_map(|name| name.strip_prefix(&prefix)?.parse().ok()).collect();
            assert_eq!(order, (0..COMMITS_PER_THREAD).collect::<Vec<_>>(), "order of thread {thread}");
        }
        let rows = scan(&*backend, &tenant, Table::Twins);
        assert_eq!(rows.len(), per_tenant);
        assert!(rows.iter().all(|(key, value)| key.as_bytes() == value.as_slice()));
    }
}

#[test]
fn readers_never_see_part_of_a_batch() {
    const BATCHES: usize = 1000;
    const PUTS_PER_BATCH: usize = 20;
    let dir = tempfile::tempdir().expect("create temp dir");
    let backend = Arc::new(open_embedded(dir.path(), Limits::default()));
    let tenant = tenant("default");

    let writer = {
        let backend = Arc::clone(&backend);
        std::thread::spawn(move || {
            for batch in 0..BATCHES {
                let ops = (0..PUTS_PER_BATCH)
                    .map(|i| put("default", Table::Twins, &format!("{batch:04}-{i:02}"), b""))
                    .collect();
                check_commit(&*backend, ops);
            }
        })
    };
    // Each scan reads one snapshot, so it holds whole batches only: a multiple of the batch size.
    let mut scans = 0;
    loop {
        let done = writer.is_finished();
        let rows = scan(&*backend, &tenant, Table::Twins).len();
        assert_eq!(rows % PUTS_PER_BATCH, 0, "a scan saw {rows} rows, part of a batch");
        scans += 1;
        if done {
            assert_eq!(rows, BATCHES * PUTS_PER_BATCH);
            break;
        }
    }
    writer.join().expect("writer thread panicked");
    assert!(scans > 1);
}

/// Batches submitted one after another commit in that order, even when the caller waits for none of them in between: the last write to a key wins and event numbers follow submission order.
#[test]
fn submitted_batches_commit_in_submission_order() {
    let dir = tempfile::tempdir().expect("create temp dir");
    let backend = open_embedded(dir.path(), Limits::default());
    let batches: Vec<Vec<store::Op>> = (0..200u32)
        .map(|i| vec![put("t", Table::Twins, "same", &i.to_be_bytes()), event("t", &i.to_be_bytes())])
        .collect();
    let committed = crate::check::check_submit_all(&backend, batches);
    let seqs: Vec<u64> = committed.iter().map(|c| c.first_event_seq.expect("each batch appends an event")).collect();
    assert_eq!(seqs, (1..=200).collect::<Vec<u64>>());
    crate::check::check_get(&backend, "t", Table::Twins, "same", Some(&199u32.to_be_bytes()));
}
