//! `cargo bench -p query-bench --bench vs_sqlite [-- --twins N --tower N --seed S --secs-per-query S --runs-max N --only NAME]`: the query engine against SQLite on one synthetic portfolio, printed as the Markdown of `BENCHMARKS.md`.
//!
//! The size comes from the flags, or `QUERY_BENCH_TWINS` and `QUERY_BENCH_TOWER`, else the 1,050,000 twins plus a tower of 20,000; progress goes to stderr, the report to stdout.
//! Loading, checking and timing are `query_bench`'s; this file only reads arguments and prints.

use std::process::ExitCode;
use std::time::Duration;

use query_bench::Config;

/// The allocator of the shipped `twinscape` binary, so the engine is measured as it runs in the server (SQLite keeps
/// its own allocation through the C library's malloc either way).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let config = match config() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("vs_sqlite: {message}");
            eprintln!(
                "usage: vs_sqlite [--twins N] [--tower N] [--seed S] [--secs-per-query S] [--runs-max N] [--only NAME]"
            );
            return ExitCode::from(2);
        }
    };
    match query_bench::run(&config, &mut std::io::stderr()) {
        Ok(report) => {
            print!("{}", query_bench::render(&report));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vs_sqlite: {e}");
            ExitCode::FAILURE
        }
    }
}

fn config() -> Result<Config, String> {
    let mut config = Config::default();
    let number =
        |name: &str, text: &str| text.parse::<u64>().map_err(|_| format!("{name} needs a whole number, not {text}"));
    for (name, field) in [("QUERY_BENCH_TWINS", &mut config.twins), ("QUERY_BENCH_TOWER", &mut config.tower)] {
        if let Ok(text) = std::env::var(name) {
            *field = number(name, &text)? as usize;
        }
    }
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--twins" => config.twins = number("--twins", &value()?)? as usize,
            "--tower" => config.tower = number("--tower", &value()?)? as usize,
            "--seed" => config.seed = number("--seed", &value()?)?,
            "--only" => config.only = Some(value()?),
            "--runs-max" => config.budget.runs_max = number("--runs-max", &value()?)?.max(1) as usize,
            "--secs-per-query" => config.budget.time = Duration::from_secs(number("--secs-per-query", &value()?)?),
            // `cargo bench` passes `--bench` to every bench target.
            "--bench" => {}
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let twins = portfolio::TWINS_MIN as usize..=portfolio::TWINS_MAX as usize;
    if !twins.contains(&config.twins) {
        return Err(format!("--twins must be within {}..={}", twins.start(), twins.end()));
    }
    let tower = portfolio::TOWER_DESCENDANTS_MIN..=portfolio::TOWER_DESCENDANTS_MAX;
    if !tower.contains(&config.tower) {
        return Err(format!("--tower must be within {}..={}", tower.start(), tower.end()));
    }
    Ok(config)
}
