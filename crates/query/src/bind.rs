//! The binder: turns a parsed query into a `Bound` query whose names are resolved to row slots and whose rules are checked.
//!
//! It owns the whole-query rules ADT documents (no `SELECT *` with JOIN, no JOIN over RELATIONSHIPS, the JOIN budget,
//! known collections and functions) and refuses what the executor does not run yet with `Q0399`.
//! It reads no graph: whether a model or a twin exists is the executor's business.

use graph::ModelMatch;
use query_syntax::{
    Aggregate, Collection, CompareOp, Expr, Function, Literal, LogicalOp, Path, ProjectionValue, Query,
};
use serde_json::Value;

use crate::Limits;
use crate::error::{
    BAD_ARGUMENT, COUNT_NOT_ALONE, DUPLICATE_COLLECTION, JOIN_NEEDS_TWINS, NOT_SUPPORTED, QueryError, STAR_WITH_JOIN,
    TOO_MANY_JOINS, UNKNOWN_COLLECTION, UNKNOWN_FUNCTION,
};

/// A query ready to run: slot 0 is the FROM collection, then each JOIN adds its target and, when aliased, its relationship.
#[derive(Debug)]
pub(crate) struct Bound {
    pub(crate) from: Collection,
    pub(crate) joins: Vec<BoundJoin>,
    pub(crate) slots: usize,
    pub(crate) filter: Option<Cond>,
    pub(crate) output: Output,
    pub(crate) top: Option<usize>,
}

#[derive(Debug)]
pub(crate) struct BoundJoin {
    pub(crate) source: usize,
    pub(crate) relationship: String,
    /// The slot of the relationship itself, when the JOIN names it.
    pub(crate) relationship_slot: Option<usize>,
}

#[derive(Debug)]
pub(crate) enum Output {
    /// The documents of slot 0.
    Star,
    Count,
    /// Row keys and the values that fill them.
    Columns(Vec<(String, Operand)>),
}

/// A value in a row: a literal, a path into one slot's document (empty keys: the whole document), or a nested condition.
#[derive(Debug)]
pub(crate) enum Operand {
    Literal(Value),
    Path { slot: usize, keys: Vec<String> },
    Cond(Box<Cond>),
}

/// A WHERE condition; evaluation gives true, false or unknown (an undefined operand), and only true keeps a row.
#[derive(Debug)]
pub(crate) enum Cond {
    Compare {
        op: CompareOp,
        lhs: Operand,
        rhs: Operand,
    },
    Logical {
        op: LogicalOp,
        lhs: Box<Cond>,
        rhs: Box<Cond>,
    },
    Not(Box<Cond>),
    In {
        value: Operand,
        negated: bool,
        list: Vec<Value>,
    },
    IsOfModel {
        slot: usize,
        model: String,
        how: ModelMatch,
    },
    Call {
        function: Function,
        args: Vec<Operand>,
    },
    /// A bare value in a boolean position: true only when it is the boolean `true`.
    Value(Operand),
}

pub(crate) fn bind(query: &Query, limits: &Limits) -> Result<Bound, QueryError> {
    if query.pattern.is_some() {
        return Err(unsupported("MATCH is"));
    }
    if !query.group_by.is_empty() {
        return Err(unsupported("GROUP BY is"));
    }
    if !query.order_by.is_empty() {
        return Err(unsupported("ORDER BY is"));
    }
    if query.joins.len() > limits.joins_max {
        return Err(QueryError::invalid(
            TOO_MANY_JOINS,
            format!("the query has {} JOINs, more than the limit of {}", query.joins.len(), limits.joins_max),
        ));
    }
    if query.from.collection == Collection::Relationships && !query.joins.is_empty() {
        return Err(QueryError::invalid(JOIN_NEEDS_TWINS, "JOIN cannot be used with FROM RELATIONSHIPS"));
    }
    let from_kind = match query.from.collection {
        Collection::DigitalTwins => Kind::Twin,
        Collection::Relationships => Kind::Relationship,
    };
    let mut scope = Scope { names: Vec::new(), kinds: vec![from_kind], implicit: query.from.alias.is_none() };
    if let Some(alias) = &query.from.alias {
        scope.names.push((alias.as_str().to_owned(), 0));
    }
    let mut joins = Vec::with_capacity(query.joins.len());
    for join in &query.joins {
        scope.implicit = false;
        let source = scope.lookup(join.source.as_str()).ok_or_else(|| unknown(join.source.as_str()))?;
        if scope.kinds[source] != Kind::Twin {
            return Err(QueryError::invalid(
                JOIN_NEEDS_TWINS,
                format!("JOIN needs a twin collection to start from, and '{}' is a relationship", join.source.as_str()),
            ));
        }
        scope.add(join.target.as_str(), Kind::Twin)?;
        let relationship_slot = match &join.alias {
            Some(alias) => Some(scope.add(alias.as_str(), Kind::Relationship)?),
            None => None,
        };
        joins.push(BoundJoin { source, relationship: join.relationship.as_str().to_owned(), relationship_slot });
    }
    let output = bind_output(query, &scope)?;
    let filter = query.filter.as_ref().map(|e| scope.cond(e)).transpose()?;
    let top = query.select.top.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    Ok(Bound { from: query.from.collection, joins, slots: scope.kinds.len(), filter, output, top })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Twin,
    Relationship,
}

/// The collections in scope: named slots, and whether bare paths (no alias at all) mean the FROM collection.
struct Scope {
    names: Vec<(String, usize)>,
    kinds: Vec<Kind>,
    implicit: bool,
}

impl Scope {
    fn lookup(&self, name: &str) -> Option<usize> {
        self.names.iter().find(|(n, _)| n == name).map(|&(_, slot)| slot)
    }

    fn add(&mut self, name: &str, kind: Kind) -> Result<usize, QueryError> {
        if self.lookup(name).is_some() {
            return Err(QueryError::invalid(
                DUPLICATE_COLLECTION,
                format!("the name '{name}' is given to two collections"),
            ));
        }
        self.kinds.push(kind);
        let slot = self.kinds.len() - 1;
        self.names.push((name.to_owned(), slot));
        Ok(slot)
    }

    /// A path's slot and the keys inside that slot's document: an alias first segment picks its slot, otherwise
    /// the path reads the FROM collection when that has no alias and there are no JOINs.
    fn path(&self, path: &Path) -> Result<Operand, QueryError> {
        let (first, rest) = path.segments.split_first().expect("the parser never makes an empty path");
        let keys = |segments: &[query_syntax::Name]| segments.iter().map(|s| s.as_str().to_owned()).collect();
        if let Some(slot) = self.lookup(first.as_str()) {
            return Ok(Operand::Path { slot, keys: keys(rest) });
        }
        if self.implicit {
            return Ok(Operand::Path { slot: 0, keys: keys(&path.segments) });
        }
        Err(unknown(first.as_str()))
    }

    fn operand(&self, expr: &Expr) -> Result<Operand, QueryError> {
        match expr {
            Expr::Literal(literal) => Ok(Operand::Literal(literal_value(literal))),
            Expr::Path(path) => self.path(path),
            other => Ok(Operand::Cond(Box::new(self.cond(other)?))),
        }
    }

    fn cond(&self, expr: &Expr) -> Result<Cond, QueryError> {
        Ok(match expr {
            Expr::Literal(_) | Expr::Path(_) => Cond::Value(self.operand(expr)?),
            Expr::Compare { op, lhs, rhs } => {
                Cond::Compare { op: *op, lhs: self.operand(lhs)?, rhs: self.operand(rhs)? }
            }
            Expr::Logical { op, lhs, rhs } => {
                Cond::Logical { op: *op, lhs: Box::new(self.cond(lhs)?), rhs: Box::new(self.cond(rhs)?) }
            }
            Expr::Not(inner) => Cond::Not(Box::new(self.cond(inner)?)),
            Expr::In { value, negated, list } => Cond::In {
                value: self.operand(value)?,
                negated: *negated,
                list: list.iter().map(literal_value).collect(),
            },
            Expr::IsOfModel { collection, model, exact } => {
                let slot = match collection {
                    Some(name) => self.lookup(name.as_str()).ok_or_else(|| unknown(name.as_str()))?,
                    None if self.kinds.len() == 1 => 0,
                    None => {
                        return Err(QueryError::invalid(
                            BAD_ARGUMENT,
                            "IS_OF_MODEL needs a collection argument when the query has JOINs",
                        ));
                    }
                };
                if self.kinds[slot] != Kind::Twin {
                    return Err(QueryError::invalid(BAD_ARGUMENT, "IS_OF_MODEL applies to twins, not relationships"));
                }
                let how = if *exact { ModelMatch::Exact } else { ModelMatch::SubtypesAndLaterVersions };
                Cond::IsOfModel { slot, model: model.clone(), how }
            }
            Expr::Call { function, args } => {
                if let Function::Other(name) = function {
                    return Err(QueryError::invalid(UNKNOWN_FUNCTION, format!("there is no function '{name}'")));
                }
                let expected = match function {
                    Function::StartsWith | Function::EndsWith | Function::Contains | Function::ArrayContains => 2,
                    _ => 1,
                };
                if args.len() != expected {
                    return Err(QueryError::invalid(
                        BAD_ARGUMENT,
                        format!("{} takes {expected} arguments, not {}", function.name(), args.len()),
                    ));
                }
                let args = args.iter().map(|a| self.operand(a)).collect::<Result<_, _>>()?;
                Cond::Call { function: function.clone(), args }
            }
        })
    }
}

fn bind_output(query: &Query, scope: &Scope) -> Result<Output, QueryError> {
    let projections = match &query.select.items {
        query_syntax::SelectItems::Star => None,
        // `SELECT TOP(n) FROM …` without a projection list means whole documents, as `SELECT *` does.
        query_syntax::SelectItems::Projections(items) if items.is_empty() => None,
        query_syntax::SelectItems::Projections(items) => Some(items),
    };
    let Some(items) = projections else {
        if !query.joins.is_empty() {
            return Err(QueryError::invalid(
                STAR_WITH_JOIN,
                "SELECT * cannot be used with JOIN; project the collections instead",
            ));
        }
        return Ok(Output::Star);
    };
    let mut columns = Vec::with_capacity(items.len());
    for item in items {
        match &item.value {
            ProjectionValue::Aggregate(Aggregate::Count(_)) => {
                if items.len() != 1 {
                    return Err(QueryError::invalid(
                        COUNT_NOT_ALONE,
                        "COUNT() cannot be combined with other projections",
                    ));
                }
                return Ok(Output::Count);
            }
            ProjectionValue::Aggregate(_) => return Err(unsupported("SUM, AVG, MIN and MAX are")),
            ProjectionValue::Path(path) => {
                let key = match &item.alias {
                    Some(alias) => alias.as_str().to_owned(),
                    None => path.segments.last().expect("the parser never makes an empty path").as_str().to_owned(),
                };
                columns.push((key, scope.path(path)?));
            }
        }
    }
    Ok(Output::Columns(columns))
}

fn literal_value(literal: &Literal) -> Value {
    match literal {
        Literal::Str(s) => Value::String(s.clone()),
        Literal::Int(i) => Value::from(*i),
        Literal::Float(f) => Value::from(*f),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Null => Value::Null,
    }
}

fn unknown(name: &str) -> QueryError {
    QueryError::invalid(UNKNOWN_COLLECTION, format!("'{name}' is not a collection of this query"))
}

fn unsupported(what: &str) -> QueryError {
    QueryError::invalid(NOT_SUPPORTED, format!("{what} not supported yet"))
}
