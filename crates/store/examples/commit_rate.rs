//! Measures durable commit throughput of `EmbeddedBackend`: single-op commits from one thread and from eight, and 1M puts in batches of 1,000.
//! It is a one-off measurement that prints a table, not a benchmark suite; each scenario runs in a fresh temporary directory.
//!
//! Run with `cargo run --release -p store --example commit_rate [a|b|c]`; with no argument it runs all three.

use std::sync::Arc;
use std::time::{Duration, Instant};

use store::{Backend, EmbeddedBackend, Limits, Op, Table, TenantId};

const VALUE_BYTES: usize = 100;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let only = std::env::args().nth(1);
    let scenarios = [
        ("a", "(a) 1 thread x 20,000 single-put commits", 1, 20_000, 1),
        ("b", "(b) 8 threads x 5,000 single-put commits", 8, 5_000, 1),
        ("c", "(c) 1,000,000 puts in batches of 1,000", 1, 1_000, 1_000),
    ];
    println!("{:<42} {:>10} {:>9} {:>12} {:>12}", "scenario", "commits", "seconds", "commits/s", "puts/s");
    for (id, name, threads, commits, puts) in scenarios {
        if only.as_deref().is_none_or(|only| only == id) {
            run(name, threads, commits, puts)?;
        }
    }
    Ok(())
}

/// Runs `threads` threads, each making `commits` commits of `puts` puts, and prints the rates.
fn run(name: &str, threads: usize, commits: usize, puts: usize) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let backend = Arc::new(EmbeddedBackend::open(dir.path(), Limits::default())?);
    let tenant = TenantId::default_tenant();
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|thread| {
            let backend = Arc::clone(&backend);
            let tenant = tenant.clone();
            std::thread::spawn(move || -> Result<(), store::StoreError> {
                for commit in 0..commits {
                    let ops = (0..puts)
                        .map(|put| Op::Put {
                            tenant: tenant.clone(),
                            table: Table::Twins,
                            // 16-byte keys, interleaving 1,000 twins like telemetry does.
                            key: format!("t{:03}-{thread:02}-{:08}", (commit * puts + put) % 1000, commit * puts + put),
                            value: vec![0xab; VALUE_BYTES],
                        })
                        .collect();
                    backend.commit(ops)?;
                }
                Ok(())
            })
        })
        .collect();
    for worker in workers {
        worker.join().map_err(|_| "worker panicked")??;
    }
    let elapsed = start.elapsed();
    let total_commits = threads * commits;
    println!(
        "{name:<42} {total_commits:>10} {:>9.2} {:>12.0} {:>12.0}",
        elapsed.as_secs_f64(),
        rate(total_commits, elapsed),
        rate(total_commits * puts, elapsed)
    );
    Ok(())
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}
