//! The query engine of Twinscape: binds a parsed `query_syntax::Query` to one tenant's graph, plans where to start, and runs it to JSON rows with ADT's semantics.
//!
//! `bind` resolves names and checks the whole-query rules, `plan` picks where a query starts and the order of its links, `exec` walks the rows, `eval` evaluates terms and values on a row, `sink` renders, sorts and groups complete rows, `error` holds `QueryError` and its codes.
//! Paging belongs to the caller: `run` answers every row of the query (within `Limits::rows_max`) from the one graph state it is given,
//! so a caller that keeps the answer can serve its pages from one snapshot.

mod bind;
mod error;
mod eval;
mod exec;
mod plan;
mod sink;

use std::time::Duration;

use graph::TenantGraph;

pub use error::QueryError;

/// Budgets of one query run; a query over any of them fails with a `Q04xx` error or, for JOINs and hops, `Q03xx`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most JOIN clauses in one query (default 10; ADT allows 5).
    pub joins_max: usize,
    /// Most hops a MATCH pattern may span, its relationship patterns' upper bounds added up (default 20; ADT allows
    /// 10 per query).
    pub hops_max: u32,
    /// Most rows (or groups) a query holds for its answer (default 1,000,000); rows being walked are not held.
    pub rows_max: usize,
    /// Longest a query may run (default 30 s; ADT stops at 60 s).
    pub time_max: Duration,
    /// Most bytes of rows (and group keys) a query holds (default 512 MiB).
    pub bytes_max: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            joins_max: 10,
            hops_max: 20,
            rows_max: 1_000_000,
            time_max: Duration::from_secs(30),
            bytes_max: 512 * 1024 * 1024,
        }
    }
}

/// What a query run may use: its budgets.
///
/// `IN_SPACE` follows the graph's own containment tree (`graph::Containment`, declared per tenant graph), so it needs no setting here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub limits: Limits,
}

/// One row of an answer: the text of a JSON value, as the engine wrote it (always valid JSON, never re-parsed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row(String);

impl Row {
    pub(crate) fn new(text: String) -> Row {
        debug_assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok(), "a row is JSON: {text}");
        Row(text)
    }

    /// A row from JSON text, checked (for callers that build rows themselves, such as tests).
    pub fn from_json(text: String) -> Result<Row, serde_json::Error> {
        serde_json::from_str::<serde_json::Value>(&text)?;
        Ok(Row(text))
    }

    /// The row's JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The rows of a query and the work it took.
#[derive(Debug)]
pub struct Answer {
    /// `SELECT *` gives twin (or relationship) documents, projections give objects keyed by the `AS` name or the
    /// last path segment (a missing property is left out of its row), aggregates give objects of numbers.
    /// Rows are in `ORDER BY` order when the query has one, and in no promised order otherwise.
    pub rows: Vec<Row>,
    /// Twins, relationships and rows the run touched; grows with the work done.
    pub work: u64,
}

impl Answer {
    /// The query charge of ADT's `query-charge` header: one unit per query, plus one per hundred items of work.
    pub fn charge(&self) -> f64 {
        1.0 + self.work as f64 / 100.0
    }
}

/// How `run` would go about `query`: the collection (numbered in order of appearance) it starts from and how it
/// finds its twins, each link walked in order, and after which step each WHERE term (numbered among the top-level
/// AND terms) is tested. For people and tests; the text may change between releases.
pub fn explain(graph: &TenantGraph, query: &query_syntax::Query, settings: &Settings) -> Result<String, QueryError> {
    let bound = bind::bind(query, &settings.limits)?;
    exec::explain(graph, &bound, settings)
}

/// Runs `query` against `graph` under `settings`.
pub fn run(graph: &TenantGraph, query: &query_syntax::Query, settings: &Settings) -> Result<Answer, QueryError> {
    exec::execute(graph, &bind::bind(query, &settings.limits)?, settings)
}
