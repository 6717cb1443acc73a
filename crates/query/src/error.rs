//! The one error type of query execution: what the binder refuses, what is not supported yet, and which budget ran out.
//!
//! Each error carries a stable code (`Q03xx` for binding and semantic errors, `Q04xx` for budgets); once released a code keeps its meaning.
//! Syntax errors (`Q01xx`, `Q02xx`) belong to `query-syntax` and are not wrapped here.

use std::fmt;

/// Why a query was refused; the variant names who is at fault, the code names the exact rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryError {
    /// The query is well formed but breaks a rule of the language, or uses a feature not supported yet (`Q03xx`).
    InvalidInput { code: &'static str, message: String },
    /// Running the query would exceed a budget of `Limits` (`Q04xx`); the message names the budget and its setting.
    LimitExceeded { code: &'static str, message: String },
}

impl QueryError {
    /// The stable code of the error, such as `Q0301`.
    pub fn code(&self) -> &'static str {
        match self {
            QueryError::InvalidInput { code, .. } | QueryError::LimitExceeded { code, .. } => code,
        }
    }

    pub(crate) fn invalid(code: &'static str, message: impl Into<String>) -> QueryError {
        QueryError::InvalidInput { code, message: message.into() }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::InvalidInput { message, .. } | QueryError::LimitExceeded { message, .. } => {
                f.write_str(message)
            }
        }
    }
}

impl std::error::Error for QueryError {}

/// A name that is not a collection of the query.
pub(crate) const UNKNOWN_COLLECTION: &str = "Q0301";
/// `SELECT *` together with JOIN.
pub(crate) const STAR_WITH_JOIN: &str = "Q0302";
/// More JOINs than `Limits::joins_max`.
pub(crate) const TOO_MANY_JOINS: &str = "Q0303";
/// One name bound to two collections.
pub(crate) const DUPLICATE_COLLECTION: &str = "Q0304";
/// A function the language does not have.
pub(crate) const UNKNOWN_FUNCTION: &str = "Q0305";
/// JOIN over `FROM RELATIONSHIPS`, or a JOIN from a relationship alias.
pub(crate) const JOIN_NEEDS_TWINS: &str = "Q0306";
/// A function argument of the wrong kind (for example `IS_OF_MODEL` on a relationship).
pub(crate) const BAD_ARGUMENT: &str = "Q0307";
/// An aggregate together with projections that are not GROUP BY keys.
pub(crate) const COUNT_NOT_ALONE: &str = "Q0308";
/// A MATCH hop count that allows no path, or a relationship variable on more than one hop.
pub(crate) const BAD_HOPS: &str = "Q0309";
/// A MATCH hop count beyond `Limits::hops_max`.
pub(crate) const TOO_MANY_HOPS: &str = "Q0310";
/// A collection that no JOIN or MATCH connects to the others.
pub(crate) const DISCONNECTED: &str = "Q0311";
/// Two output columns with one name.
pub(crate) const DUPLICATE_COLUMN: &str = "Q0313";
/// A grouped query that projects or orders by something other than its keys and aggregates.
pub(crate) const BAD_GROUPING: &str = "Q0312";
/// More rows than `Limits::rows_max` at some stage of execution.
pub(crate) const ROWS_EXCEEDED: &str = "Q0401";
/// More bytes of rows than `Limits::bytes_max`.
pub(crate) const BYTES_EXCEEDED: &str = "Q0403";
/// A run longer than `Limits::time_max`.
pub(crate) const TIME_EXCEEDED: &str = "Q0402";
