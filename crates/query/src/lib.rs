//! The query engine of Twinscape: binds a parsed `query_syntax::Query` to one tenant's graph, plans where to start, and runs it to JSON rows with ADT's semantics.
//!
//! `bind` resolves names and checks the whole-query rules, `exec` plans and runs the bound query, `error` holds `QueryError` and its codes.
//! This first slice runs SELECT (`*`, projections, `TOP`, `COUNT()`) over DIGITALTWINS or RELATIONSHIPS with JOINs and WHERE;
//! MATCH, ORDER BY, GROUP BY and the other aggregates are refused with `Q0399`. Paging and query charges belong to the caller.

mod bind;
mod error;
mod exec;

use graph::TenantGraph;
use serde_json::Value;

pub use error::QueryError;

/// Budgets of one query run; a query over any of them fails with a `Q04xx` error or, for JOINs, `Q0303`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most JOIN clauses in one query (default 10; ADT documents 5, adjustable).
    pub joins_max: usize,
    /// Most rows any stage of execution holds, the result included (default 100,000).
    pub rows_max: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { joins_max: 10, rows_max: 100_000 }
    }
}

/// Runs `query` against `graph`: `SELECT *` gives twin (or relationship) documents, projections give objects keyed
/// by the `AS` name or the last path segment (a missing property is left out of its row), and `COUNT()` gives
/// `[{"COUNT": n}]`. Rows come in no promised order.
pub fn run(graph: &TenantGraph, query: &query_syntax::Query, limits: &Limits) -> Result<Vec<Value>, QueryError> {
    let bound = bind::bind(query, limits)?;
    exec::execute(graph, &bound, limits)
}
