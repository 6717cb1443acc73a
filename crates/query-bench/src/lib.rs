//! The query engine against SQLite: one synthetic portfolio loaded into a `graph::TenantGraph` and into an in-memory SQLite database, and the same questions asked of both, in one process and one run.
//!
//! `load` builds both stores from the same records, `catalog` holds each query in both languages, `measure` checks that the engines give the same rows and then times them; `run` ties them together and `render` makes the Markdown table of `BENCHMARKS.md`.
//! The bench target `benches/vs_sqlite.rs` reads the size from its arguments and prints; this library prints nothing and is never shipped (rusqlite stays out of the `twinscape` binary).

mod catalog;
mod load;
mod measure;

use std::io::Write;
use std::time::Duration;

pub use catalog::{BenchQuery, Instance, Shape, containment, queries};
pub use load::{Loaded, NOW, load, stored_relationships, stored_twin};
pub use measure::{Budget, Engines, QueryReport, Timing, settings};

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The graph refused the portfolio's models or records.
    #[error("graph: {0}")]
    Graph(String),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Twinscape refused a query for a reason other than a feature not built yet.
    #[error("twinscape refused {text}: {code}: {message}")]
    Query { text: String, code: String, message: String },
    /// The engines disagree on a query's rows.
    #[error("the engines disagree: {0}")]
    Mismatch(String),
}

/// The size of the portfolio and the time given to each query.
#[derive(Clone, Debug)]
pub struct Config {
    /// Twins of the ordinary portfolio (`portfolio::Portfolio::generate`), before the tower.
    pub twins: usize,
    /// Twins below the tower building.
    pub tower: usize,
    pub seed: u64,
    pub budget: Budget,
    /// Run only the queries whose name contains this text (for profiling one query); all when `None`.
    pub only: Option<String>,
}

impl Default for Config {
    /// The size of the issue: 1,050,000 twins plus a tower of 20,000 makes 1,070,001 twins and about 2,026,000
    /// relationships (containment plus `locatedIn` for every device and sensor).
    fn default() -> Config {
        Config {
            twins: 1_050_000,
            tower: 20_000,
            seed: 1,
            budget: Budget { time: Duration::from_secs(3), runs_min: 5, runs_max: 5_000 },
            only: None,
        }
    }
}

/// What a run found: the sizes, both load times and one report per query.
#[derive(Debug)]
pub struct Report {
    pub summary: String,
    pub twins: usize,
    pub relationships: usize,
    pub prepare: Duration,
    pub graph_load: Duration,
    pub sqlite_load: Duration,
    pub queries: Vec<QueryReport>,
}

/// Builds the portfolio, loads both engines, then checks and times every query; `progress` gets a line per step.
pub fn run(config: &Config, progress: &mut dyn Write) -> Result<Report, BenchError> {
    let portfolio = portfolio::Portfolio::generate(config.twins, config.seed).with_tower(config.tower);
    let summary = portfolio.summary();
    // Progress is a courtesy; a closed stream must not stop a run.
    let _ = writeln!(progress, "query-bench: {} twins: {summary}", portfolio.twins.len());
    let loaded = load(&portfolio)?;
    let _ = writeln!(
        progress,
        "query-bench: {} twins, {} relationships; prepared in {:.1} s, Twinscape loaded in {:.1} s, SQLite in {:.1} s",
        loaded.twins,
        loaded.relationships,
        loaded.prepare.as_secs_f64(),
        loaded.graph_load.as_secs_f64(),
        loaded.sqlite_load.as_secs_f64()
    );
    let engines = Engines { graph: &loaded.graph, sqlite: &loaded.sqlite };
    let mut reports = Vec::new();
    let chosen = |query: &BenchQuery| config.only.as_ref().is_none_or(|only| query.name.contains(only.as_str()));
    for query in queries(&portfolio, config.seed).into_iter().filter(chosen) {
        let report = measure::run(&engines, &query, &config.budget)?;
        let _ = writeln!(progress, "query-bench: {}", row(&report).join(" | "));
        reports.push(report);
    }
    Ok(Report {
        summary,
        twins: loaded.twins,
        relationships: loaded.relationships,
        prepare: loaded.prepare,
        graph_load: loaded.graph_load,
        sqlite_load: loaded.sqlite_load,
        queries: reports,
    })
}

/// The report as Markdown: the load times, then one table row per query (medians and SQLite's time over Twinscape's),
/// then each query in both languages.
pub fn render(report: &Report) -> String {
    let mut out = format!(
        "Portfolio: {} twins and {} relationships ({}).\n\n",
        report.twins, report.relationships, report.summary
    );
    out.push_str("| load | Twinscape | SQLite |\n|---|---|---|\n");
    out.push_str(&format!(
        "| all twins and relationships | {:.1} s | {:.1} s |\n\n",
        report.graph_load.as_secs_f64(),
        report.sqlite_load.as_secs_f64()
    ));
    out.push_str(
        "| query | rows | Twinscape median | SQLite median | SQLite ÷ Twinscape | runs |\n|---|---|---|---|---|---|\n",
    );
    for query in &report.queries {
        out.push_str(&format!("| {} |\n", row(query).join(" | ")));
    }
    out.push('\n');
    for query in &report.queries {
        out.push_str(&format!("- {}:\n  - Twinscape: `{}`\n  - SQLite: `{}`\n", query.name, query.text, query.sql));
    }
    out
}

/// The table cells of one query.
fn row(query: &QueryReport) -> Vec<String> {
    let rows = match query.rows {
        (low, high) if low == high => low.to_string(),
        (low, high) => format!("{low}–{high}"),
    };
    let ours = &query.twinscape;
    let ratio = format!("{:.2}×", query.sqlite.median.as_secs_f64() / ours.median.as_secs_f64().max(1e-9));
    let (ours, runs) = (duration(ours.median), format!("{} / {}", ours.runs, query.sqlite.runs));
    vec![query.name.to_owned(), rows, ours, duration(query.sqlite.median), ratio, runs]
}

/// A latency in the unit that reads best.
fn duration(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros < 1_000.0 { format!("{micros:.1} µs") } else { format!("{:.2} ms", micros / 1_000.0) }
}
