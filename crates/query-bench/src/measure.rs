//! Runs one query in both engines: first every anchor once in each, comparing the rows, then timed runs alternating between the engines until the time budget is spent.
//!
//! A Twinscape run is parse + `query::run` until the rows exist; a SQLite run is a cached prepare, binding, stepping and building each row's JSON text from the columns (what a server would send), so both end with the same JSON rows.
//! A query either engine refuses, and any difference in rows, fails the run.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use graph::TenantGraph;
use query::Row;
use query::Settings;
use rusqlite::Connection;
use serde_json::Value;

use crate::BenchError;
use crate::catalog::{BenchQuery, Instance, Shape};

/// How long each query is timed.
#[derive(Clone, Debug)]
pub struct Budget {
    /// Stop once both engines together spent this long on the query (and each made `runs_min` runs)…
    pub time: Duration,
    /// …but never before this many runs of each engine…
    pub runs_min: usize,
    /// …and never after this many.
    pub runs_max: usize,
}

/// The median of a query's timed runs in one engine.
#[derive(Clone, Debug)]
pub struct Timing {
    pub median: Duration,
    pub runs: usize,
}

/// What one query gave.
#[derive(Debug)]
pub struct QueryReport {
    pub name: &'static str,
    /// Twinscape's text of the first anchor.
    pub text: String,
    pub sql: &'static str,
    /// Rows of the answer, fewest and most over the anchors.
    pub rows: (usize, usize),
    pub twinscape: Timing,
    pub sqlite: Timing,
}

/// The two engines, loaded with the same portfolio.
pub struct Engines<'a> {
    pub graph: &'a TenantGraph,
    pub sqlite: &'a Connection,
}

pub(crate) fn run(engines: &Engines<'_>, query: &BenchQuery, budget: &Budget) -> Result<QueryReport, BenchError> {
    let settings = settings();
    let mut rows = (usize::MAX, 0);
    for instance in &query.instances {
        let expected = canonical_rows(sqlite(engines.sqlite, query, instance)?.iter().map(String::as_str))?;
        rows = (rows.0.min(expected.len()), rows.1.max(expected.len()));
        let answer = twinscape(engines.graph, &instance.text, &settings)?;
        let actual = canonical_rows(answer.iter().map(|row| row.get()))?;
        compare(query, instance, &expected, &actual)?;
    }
    let (twinscape_runs, sqlite_runs) = time(engines, query, budget, &settings)?;
    let text = query.instances.first().map(|i| i.text.clone()).unwrap_or_default();
    Ok(QueryReport {
        name: query.name,
        text,
        sql: query.sql,
        rows,
        twinscape: median(twinscape_runs),
        sqlite: median(sqlite_runs),
    })
}

/// The settings of every Twinscape run: default limits (`IN_SPACE` follows the graph's containment tree, see
/// `containment`).
pub fn settings() -> Settings {
    Settings::default()
}

/// Timed runs of each engine, alternating which goes first, cycling through the anchors.
fn time(
    engines: &Engines<'_>,
    query: &BenchQuery,
    budget: &Budget,
    settings: &Settings,
) -> Result<(Vec<Duration>, Vec<Duration>), BenchError> {
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let started = Instant::now();
    for run in 0..budget.runs_max {
        if run >= budget.runs_min && started.elapsed() >= budget.time {
            break;
        }
        let instance = &query.instances[run % query.instances.len()];
        let mut time_ours = || -> Result<(), BenchError> {
            let clock = Instant::now();
            let answer = twinscape(engines.graph, &instance.text, settings)?;
            ours.push(clock.elapsed());
            drop(answer);
            Ok(())
        };
        let mut time_theirs = || -> Result<(), BenchError> {
            let clock = Instant::now();
            let rows = sqlite(engines.sqlite, query, instance)?;
            theirs.push(clock.elapsed());
            drop(rows);
            Ok(())
        };
        if run % 2 == 0 {
            time_ours()?;
            time_theirs()?;
        } else {
            time_theirs()?;
            time_ours()?;
        }
    }
    Ok((ours, theirs))
}

/// Parse and run in Twinscape.
fn twinscape(graph: &TenantGraph, text: &str, settings: &Settings) -> Result<Vec<Row>, BenchError> {
    let query = query_syntax::parse(text, &query_syntax::Limits::default()).map_err(|e| BenchError::Query {
        text: text.to_owned(),
        code: e.code.to_owned(),
        message: e.to_string(),
    })?;
    match query::run(graph, &query, settings) {
        Ok(answer) => Ok(answer.rows),
        Err(e) => Err(BenchError::Query { text: text.to_owned(), code: e.code().to_owned(), message: e.to_string() }),
    }
}

/// Prepare (cached), bind, step, and build each row's JSON text.
fn sqlite(db: &Connection, query: &BenchQuery, instance: &Instance) -> Result<Vec<String>, BenchError> {
    let mut statement = db.prepare_cached(query.sql)?;
    let mut rows = match &instance.parameter {
        Some(parameter) => statement.query([parameter])?,
        None => statement.query([])?,
    };
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let first = row.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
        let json = match query.shape {
            Shape::Document => first.to_owned(),
            Shape::Collection(key) => {
                let mut json = String::with_capacity(first.len() + key.len() + 5);
                let _ = write!(json, "{{{}:{first}}}", quoted(key));
                json
            }
            Shape::Text(key) => format!("{{{}:{}}}", quoted(key), quoted(first)),
            Shape::Group { key, count } => {
                let n: i64 = row.get(1)?;
                format!("{{{}:{},{}:{n}}}", quoted(key), quoted(first), quoted(count))
            }
        };
        out.push(json);
    }
    Ok(out)
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string encodes as JSON")
}

fn median(mut runs: Vec<Duration>) -> Timing {
    runs.sort_unstable();
    let median = match runs.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => runs[n / 2],
        n => (runs[n / 2 - 1] + runs[n / 2]) / 2,
    };
    Timing { median, runs: runs.len() }
}

/// The rows as canonical text (object keys sorted at every level), sorted, so two answers compare without regard to
/// row order or key order.
fn canonical_rows<'r>(rows: impl Iterator<Item = &'r str>) -> Result<Vec<String>, BenchError> {
    let mut out = Vec::new();
    for row in rows {
        let value: Value =
            serde_json::from_str(row).map_err(|e| BenchError::Mismatch(format!("a row is not JSON ({e}): {row}")))?;
        let mut text = String::with_capacity(row.len());
        canonical(&value, &mut text);
        out.push(text);
    }
    out.sort_unstable();
    Ok(out)
}

fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&quoted(key));
                out.push(':');
                canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn compare(query: &BenchQuery, instance: &Instance, expected: &[String], actual: &[String]) -> Result<(), BenchError> {
    if expected == actual {
        return Ok(());
    }
    let only = |a: &[String], b: &[String]| a.iter().find(|row| b.binary_search(row).is_err()).cloned();
    let clip =
        |row: Option<String>| row.map(|r| r.chars().take(300).collect::<String>()).unwrap_or_else(|| "none".to_owned());
    Err(BenchError::Mismatch(format!(
        "{}: Twinscape gave {} rows and SQLite {} for {}\n  first row only Twinscape gave: {}\n  first row only SQLite gave: {}",
        query.name,
        actual.len(),
        expected.len(),
        instance.text,
        clip(only(actual, expected)),
        clip(only(expected, actual)),
    )))
}
