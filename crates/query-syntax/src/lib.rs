//! The query language of Twinscape (ADT's query language plus GROUP BY, ORDER BY and aggregates): text to tree and back.
//!
//! `parse` turns one query into a `Query` or a `SyntaxError` with a stable code and a line and column;
//! `print` turns a `Query` back into canonical text that parses to the same tree.
//! The files are `lex` (tokens), `parse` (grammar, keywords, limits), `ast` (the tree), `print` and `error`.
//! This crate does no I/O, is not async and knows nothing of graphs: resolving names, checking function names and
//! the whole-query rules of the documentation belong to the `query` crate's binder.

mod ast;
mod error;
mod lex;
mod parse;
mod print;

pub use ast::{
    Aggregate, Collection, CompareOp, CountArg, Direction, Expr, From, Function, Hops, Join, Literal, LogicalOp,
    MatchPattern, Name, Node, OrderItem, Path, Projection, ProjectionValue, Query, RelationshipPattern, Select,
    SelectItems, Step,
};
pub use error::SyntaxError;

/// Bounds on the queries `parse` accepts; a query over any of them is rejected with a `Q02xx` error.
/// The defaults are ADT's documented service limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest query text, in characters (default 8,000).
    pub query_chars_max: usize,
    /// Most AND and OR operators in one query, counted together (default 50).
    pub and_or_max: usize,
    /// Most items in one IN or NIN list (default 100; ADT's operator reference says 100, its limits table 50).
    pub in_items_max: usize,
    /// Deepest nesting of parentheses, NOT and function arguments (default 64), which bounds the parser's recursion.
    pub depth_max: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { query_chars_max: 8000, and_or_max: 50, in_items_max: 100, depth_max: 64 }
    }
}

/// Parses one query. Keywords are matched in any case; names and values are kept exactly as written.
pub fn parse(text: &str, limits: &Limits) -> Result<Query, SyntaxError> {
    parse::parse_query(text, limits)
}

/// Prints `query` as canonical text: `parse(&print(q), …)` gives back `q`.
pub fn print(query: &Query) -> String {
    print::print_query(query)
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    /// Parses with `limits` and shows either the canonical print (after checking the round trip) or the error.
    fn check(text: &str, limits: &Limits, expected: Expect) {
        let actual = match parse(text, limits) {
            Ok(query) => {
                let printed = print(&query);
                let again = parse(&printed, &Limits::default()).expect("the printed query parses");
                assert_eq!(again, query, "round trip of {printed}");
                printed
            }
            Err(e) => format!("{} @{}: {e}", e.code, e.offset),
        };
        expected.assert_eq(&actual);
    }

    fn small() -> Limits {
        Limits { query_chars_max: 60, and_or_max: 2, in_items_max: 3, depth_max: 3 }
    }

    #[test]
    fn limits_accept_up_to_the_bound() {
        check(
            "SELECT * FROM DIGITALTWINS WHERE a IN [1,2,3] AND b OR c",
            &small(),
            expect!["SELECT * FROM DIGITALTWINS WHERE a IN [1, 2, 3] AND b OR c"],
        );
        check(
            "SELECT * FROM DIGITALTWINS WHERE ((NOT a))",
            &small(),
            expect!["SELECT * FROM DIGITALTWINS WHERE NOT a"],
        );
    }

    #[test]
    fn limits_reject_beyond_the_bound() {
        check(
            "SELECT * FROM DIGITALTWINS WHERE a = 'ééééééééééééééééééééééééééé'",
            &small(),
            expect!["Q0201 @82: line 1, column 61: the query is 66 characters long, more than the limit of 60"],
        );
        check(
            "SELECT * FROM DIGITALTWINS WHERE a AND b OR c AND d",
            &small(),
            expect!["Q0202 @46: line 1, column 47: the query has more than 2 AND/OR operators"],
        );
        check(
            "SELECT * FROM DIGITALTWINS WHERE a IN [1,2,3,4]",
            &small(),
            expect!["Q0203 @45: line 1, column 46: an IN list may hold at most 3 items"],
        );
        check(
            "SELECT * FROM DIGITALTWINS WHERE ((NOT (a)))",
            &small(),
            expect!["Q0204 @39: line 1, column 40: the expression nests deeper than 3 levels"],
        );
    }

    #[test]
    fn default_depth_limit_stops_deep_nesting() {
        let deep = format!("SELECT * FROM DIGITALTWINS WHERE {}a{}", "(".repeat(10_000), ")".repeat(10_000));
        check(
            &deep,
            &Limits::default(),
            expect![
                "Q0201 @8000: line 1, column 8001: the query is 20034 characters long, more than the limit of 8000"
            ],
        );
        let limits = Limits { query_chars_max: usize::MAX, ..Limits::default() };
        check(&deep, &limits, expect!["Q0204 @97: line 1, column 98: the expression nests deeper than 64 levels"]);
    }

    #[test]
    fn printer_round_trips_awkward_values() {
        let limits = Limits::default();
        check(
            r"SELECT * FROM DIGITALTWINS WHERE a = 1e300 AND b = -1.5E-7 AND c = 'it\'s \\ \q' AND d = -0.0",
            &limits,
            expect![[
                r"SELECT * FROM DIGITALTWINS WHERE a = 1e300 AND b = -1.5e-7 AND c = 'it\'s \\ \\q' AND d = -0.0"
            ]],
        );
        check(
            "SELECT [[a b]].[[ORDER]].x, [[$x]] FROM DIGITALTWINS [[match]] WHERE [[in]] = 1",
            &limits,
            expect!["SELECT [[a b]].[[ORDER]].x, $x FROM DIGITALTWINS [[match]] WHERE [[in]] = 1"],
        );
        check(
            "SELECT * FROM DIGITALTWINS WHERE (a OR b) AND (c OR d) AND NOT (e AND f) OR (g = (h = 1))",
            &limits,
            expect!["SELECT * FROM DIGITALTWINS WHERE (a OR b) AND (c OR d) AND NOT (e AND f) OR g = (h = 1)"],
        );
    }
}
