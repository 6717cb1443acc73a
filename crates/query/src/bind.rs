//! The binder: turns a parsed query into a `Bound` query whose names are resolved to row slots and whose rules are checked.
//!
//! JOIN and MATCH both become `Link`s between twin slots, so the planner can start from any collection and walk the
//! links either way. The binder owns the whole-query rules ADT documents (no `SELECT *` with JOIN or MATCH, no JOIN
//! over RELATIONSHIPS, a relationship variable only on a single hop, known collections and functions) and our
//! budgets (JOINs, hops), plus the rules of our extensions (what a grouped query may project and order by).
//! It reads no graph: whether a model or a twin exists is the executor's business.

use graph::ModelMatch;
use query_syntax::{
    Aggregate, Collection, CompareOp, Direction, Expr, Function, Hops, Literal, LogicalOp, Path, ProjectionValue, Query,
};
use serde_json::Value;

use crate::Limits;
use crate::error::{
    BAD_ARGUMENT, BAD_GROUPING, BAD_HOPS, COUNT_NOT_ALONE, DISCONNECTED, DUPLICATE_COLLECTION, DUPLICATE_COLUMN,
    JOIN_NEEDS_TWINS, QueryError, STAR_WITH_JOIN, TOO_MANY_HOPS, TOO_MANY_JOINS, UNKNOWN_COLLECTION, UNKNOWN_FUNCTION,
};

/// A query ready to plan: its slots (collections), the links between twin slots, the top-level AND terms of WHERE,
/// and what to make of each complete row.
#[derive(Debug)]
pub(crate) struct Bound {
    pub(crate) from: Collection,
    pub(crate) slots: Vec<SlotKind>,
    pub(crate) links: Vec<Link>,
    /// WHERE as a list of terms that must all be true.
    pub(crate) conjuncts: Vec<Cond>,
    pub(crate) output: Output,
    pub(crate) order_by: Vec<OrderKey>,
    pub(crate) top: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SlotKind {
    Twin,
    Relationship,
}

/// Relationships between two twin slots: `left -[names]-> right` for `Outgoing`, one to `hops_max` hops.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) left: usize,
    pub(crate) right: usize,
    /// Empty means any name.
    pub(crate) names: Vec<String>,
    pub(crate) direction: Direction,
    pub(crate) min_hops: u32,
    pub(crate) max_hops: u32,
    /// The slot the relationship itself is bound to, on a single hop that names it.
    pub(crate) relationship: Option<usize>,
    /// A MATCH link: no relationship may serve twice in one row's MATCH paths. JOINs are free to reuse one.
    pub(crate) distinct: bool,
}

#[derive(Debug)]
pub(crate) enum Output {
    /// The documents of slot 0.
    Star,
    /// One object per row.
    Columns(Vec<Column>),
    /// One object per group of rows with equal keys (one group over all rows when there are no keys).
    Groups { keys: Vec<Operand>, columns: Vec<Column> },
}

#[derive(Debug)]
pub(crate) struct Column {
    pub(crate) key: String,
    /// `key` as a JSON string with its quotes, written once rather than for every row.
    pub(crate) key_json: String,
    pub(crate) value: ColumnValue,
}

#[derive(Debug)]
pub(crate) enum ColumnValue {
    Value(Operand),
    /// The value of a group key (grouped queries only).
    Key(usize),
    Count,
    Sum(Operand),
    Avg(Operand),
    Min(Operand),
    Max(Operand),
}

#[derive(Debug)]
pub(crate) struct OrderKey {
    pub(crate) source: OrderSource,
    pub(crate) descending: bool,
}

#[derive(Debug)]
pub(crate) enum OrderSource {
    /// A value of the row (ungrouped queries).
    Row(Operand),
    /// An output column, named by its key.
    Column(usize),
    /// A group key (grouped queries).
    Key(usize),
}

/// A value in a row: a literal, a path into one slot's document (empty keys: the whole document), or a nested condition.
#[derive(Debug, PartialEq)]
pub(crate) enum Operand {
    Literal(Value),
    Path { slot: usize, keys: Vec<String> },
    Cond(Box<Cond>),
}

/// A WHERE condition; evaluation gives true, false or unknown (an undefined operand), and only true keeps a row.
#[derive(Debug, PartialEq)]
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
    /// `IN_SPACE(T, 'id')`: T is that twin or lies below it in the containment tree.
    InSpace {
        slot: usize,
        space: String,
    },
    Call {
        function: Function,
        args: Vec<Operand>,
    },
    /// A bare value in a boolean position: true only when it is the boolean `true`.
    Value(Operand),
}

impl Cond {
    /// Every slot the condition reads.
    pub(crate) fn slots(&self, out: &mut Vec<usize>) {
        match self {
            Cond::Compare { lhs, rhs, .. } => {
                lhs.slots(out);
                rhs.slots(out);
            }
            Cond::Logical { lhs, rhs, .. } => {
                lhs.slots(out);
                rhs.slots(out);
            }
            Cond::Not(inner) => inner.slots(out),
            Cond::In { value, .. } | Cond::Value(value) => value.slots(out),
            Cond::IsOfModel { slot, .. } | Cond::InSpace { slot, .. } => out.push(*slot),
            Cond::Call { args, .. } => args.iter().for_each(|a| a.slots(out)),
        }
    }
}

impl Operand {
    pub(crate) fn slots(&self, out: &mut Vec<usize>) {
        match self {
            Operand::Literal(_) => {}
            Operand::Path { slot, .. } => out.push(*slot),
            Operand::Cond(cond) => cond.slots(out),
        }
    }
}

pub(crate) fn bind(query: &Query, limits: &Limits) -> Result<Bound, QueryError> {
    if query.joins.len() > limits.joins_max {
        return Err(QueryError::invalid(
            TOO_MANY_JOINS,
            format!("the query has {} JOINs, more than the limit of {}", query.joins.len(), limits.joins_max),
        ));
    }
    if query.from.collection == Collection::Relationships && (!query.joins.is_empty() || query.pattern.is_some()) {
        let what = if query.joins.is_empty() { "MATCH" } else { "JOIN" };
        return Err(QueryError::invalid(JOIN_NEEDS_TWINS, format!("{what} cannot be used with FROM RELATIONSHIPS")));
    }
    let mut scope = Scope { names: Vec::new(), kinds: Vec::new(), implicit: false };
    let from_slot = match (query.from.collection, &query.from.alias) {
        (Collection::Relationships, alias) => {
            let slot = scope.add_anonymous(SlotKind::Relationship);
            if let Some(alias) = alias {
                scope.names.push((alias.as_str().to_owned(), slot));
            }
            scope.implicit = true;
            Some(slot)
        }
        (Collection::DigitalTwins, Some(alias)) => {
            scope.implicit = query.joins.is_empty() && query.pattern.is_none();
            Some(scope.add(alias.as_str(), SlotKind::Twin)?)
        }
        // With MATCH, the pattern's nodes are the collections.
        (Collection::DigitalTwins, None) if query.pattern.is_some() => None,
        (Collection::DigitalTwins, None) => {
            scope.implicit = query.joins.is_empty();
            Some(scope.add_anonymous(SlotKind::Twin))
        }
    };
    let mut links = Vec::new();
    for join in &query.joins {
        let source = scope.lookup(join.source.as_str()).ok_or_else(|| unknown(join.source.as_str()))?;
        if scope.kinds[source] != SlotKind::Twin {
            return Err(QueryError::invalid(
                JOIN_NEEDS_TWINS,
                format!("JOIN needs a twin collection to start from, and '{}' is a relationship", join.source.as_str()),
            ));
        }
        let target = scope.add(join.target.as_str(), SlotKind::Twin)?;
        let relationship = join.alias.as_ref().map(|a| scope.add(a.as_str(), SlotKind::Relationship)).transpose()?;
        links.push(Link {
            left: source,
            right: target,
            names: vec![join.relationship.as_str().to_owned()],
            direction: Direction::Outgoing,
            min_hops: 1,
            max_hops: 1,
            relationship,
            distinct: false,
        });
    }
    if let Some(pattern) = &query.pattern {
        let mut left = scope.node(pattern.start.variable.as_ref())?;
        let mut hops_total = 0u32;
        for step in &pattern.steps {
            let right = scope.node(step.node.variable.as_ref())?;
            let rel = &step.relationship;
            let (min_hops, max_hops) = hop_range(rel.hops, limits)?;
            // The bound is on the whole pattern (as ADT's 10 hops are per query), which also bounds how deep a
            // path's walk goes.
            hops_total = hops_total.saturating_add(max_hops);
            if hops_total > limits.hops_max {
                return Err(QueryError::invalid(
                    TOO_MANY_HOPS,
                    format!(
                        "the MATCH pattern spans up to {hops_total} hops or more, beyond the limit of {} hops",
                        limits.hops_max
                    ),
                ));
            }
            let relationship = match &rel.variable {
                Some(name) if (min_hops, max_hops) != (1, 1) => {
                    return Err(QueryError::invalid(
                        BAD_HOPS,
                        format!("the relationship variable '{}' needs a single hop", name.as_str()),
                    ));
                }
                Some(name) => Some(scope.add(name.as_str(), SlotKind::Relationship)?),
                None => None,
            };
            links.push(Link {
                left,
                right,
                names: rel.names.iter().map(|n| n.as_str().to_owned()).collect(),
                direction: rel.direction,
                min_hops,
                max_hops,
                relationship,
                distinct: true,
            });
            left = right;
        }
        if let (Some(slot), Some(alias)) = (from_slot, &query.from.alias)
            && !links.iter().any(|l| l.left == slot || l.right == slot)
        {
            return Err(QueryError::invalid(
                DISCONNECTED,
                format!("the FROM collection '{}' must be a node of the MATCH pattern", alias.as_str()),
            ));
        }
    }
    let output = bind_output(query, &scope)?;
    let order_by = bind_order(query, &scope, &output)?;
    let mut conjuncts = Vec::new();
    if let Some(filter) = &query.filter {
        split_and(scope.cond(filter)?, &mut conjuncts);
    }
    let top = query.select.top.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    Ok(Bound { from: query.from.collection, slots: scope.kinds, links, conjuncts, output, order_by, top })
}

/// The hop counts a pattern allows, as an inclusive range; a range's lower bound is exclusive, as documented.
fn hop_range(hops: Option<Hops>, limits: &Limits) -> Result<(u32, u32), QueryError> {
    let (min, max, text) = match hops {
        None => return Ok((1, 1)),
        Some(Hops::Exactly(n)) => (n, n, format!("*{n}")),
        Some(Hops::Range { lower, upper }) => {
            let text = match lower {
                Some(l) => format!("*{l}..{upper}"),
                None => format!("*..{upper}"),
            };
            (lower.map_or(1, |l| l.saturating_add(1)), upper, text)
        }
    };
    if min == 0 || min > max {
        return Err(QueryError::invalid(
            BAD_HOPS,
            format!(
                "the hop count {text} allows no path (a range's lower bound is exclusive: *1..3 means 2 or 3 hops)"
            ),
        ));
    }
    if max > limits.hops_max {
        return Err(QueryError::invalid(
            TOO_MANY_HOPS,
            format!("the hop count {text} goes beyond the limit of {} hops", limits.hops_max),
        ));
    }
    Ok((min, max))
}

fn split_and(cond: Cond, out: &mut Vec<Cond>) {
    match cond {
        Cond::Logical { op: LogicalOp::And, lhs, rhs } => {
            split_and(*lhs, out);
            split_and(*rhs, out);
        }
        other => out.push(other),
    }
}

/// The collections in scope: named slots, and whether paths that name no collection mean slot 0.
struct Scope {
    names: Vec<(String, usize)>,
    kinds: Vec<SlotKind>,
    implicit: bool,
}

impl Scope {
    fn lookup(&self, name: &str) -> Option<usize> {
        self.names.iter().find(|(n, _)| n == name).map(|&(_, slot)| slot)
    }

    fn add_anonymous(&mut self, kind: SlotKind) -> usize {
        self.kinds.push(kind);
        self.kinds.len() - 1
    }

    fn add(&mut self, name: &str, kind: SlotKind) -> Result<usize, QueryError> {
        if self.lookup(name).is_some() {
            return Err(QueryError::invalid(
                DUPLICATE_COLLECTION,
                format!("the name '{name}' is given to two collections"),
            ));
        }
        let slot = self.add_anonymous(kind);
        self.names.push((name.to_owned(), slot));
        Ok(slot)
    }

    /// A MATCH node: a name already in scope is the same twin (which closes a cycle), a new name or `()` a new slot.
    fn node(&mut self, variable: Option<&query_syntax::Name>) -> Result<usize, QueryError> {
        let Some(name) = variable else { return Ok(self.add_anonymous(SlotKind::Twin)) };
        match self.lookup(name.as_str()) {
            Some(slot) if self.kinds[slot] == SlotKind::Twin => Ok(slot),
            Some(_) => Err(QueryError::invalid(
                DUPLICATE_COLLECTION,
                format!("'{}' names a relationship and cannot be a MATCH node", name.as_str()),
            )),
            None => self.add(name.as_str(), SlotKind::Twin),
        }
    }

    /// A path's slot and the keys inside that slot's document: an alias first segment picks its slot, otherwise
    /// the path reads the FROM collection when it is the only collection (as in the documented
    /// `SELECT * FROM DIGITALTWINS T WHERE IS_BOOL(HasTemperature)`).
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

    /// The twin slot a function's collection argument names, or the only collection when it is left out.
    fn twin_slot(&self, function: &str, name: Option<&str>) -> Result<usize, QueryError> {
        let slot = match name {
            Some(name) => self.lookup(name).ok_or_else(|| unknown(name))?,
            None if self.kinds.len() == 1 => 0,
            None => {
                return Err(QueryError::invalid(
                    BAD_ARGUMENT,
                    format!("{function} needs a collection argument when the query has several collections"),
                ));
            }
        };
        if self.kinds[slot] != SlotKind::Twin {
            return Err(QueryError::invalid(BAD_ARGUMENT, format!("{function} applies to twins, not relationships")));
        }
        Ok(slot)
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
                let slot = self.twin_slot("IS_OF_MODEL", collection.as_ref().map(|n| n.as_str()))?;
                let how = if *exact { ModelMatch::Exact } else { ModelMatch::SubtypesAndLaterVersions };
                Cond::IsOfModel { slot, model: model.clone(), how }
            }
            Expr::Call { function: Function::Other(name), args } if name == "IN_SPACE" => self.in_space(args)?,
            Expr::Call { function, args } => {
                if let Function::Other(name) = function {
                    return Err(QueryError::invalid(UNKNOWN_FUNCTION, format!("there is no function '{name}'")));
                }
                // The parser has checked the number of arguments of every documented function.
                let args = args.iter().map(|a| self.operand(a)).collect::<Result<_, _>>()?;
                Cond::Call { function: function.clone(), args }
            }
        })
    }

    /// `IN_SPACE([collection,] 'space id')`.
    fn in_space(&self, args: &[Expr]) -> Result<Cond, QueryError> {
        let (collection, space) = match args {
            [Expr::Literal(Literal::Str(space))] => (None, space),
            [Expr::Path(path), Expr::Literal(Literal::Str(space))] if path.segments.len() == 1 => {
                (Some(path.segments[0].as_str()), space)
            }
            _ => {
                return Err(QueryError::invalid(
                    BAD_ARGUMENT,
                    "IN_SPACE takes a collection and a space's twin id, as in IN_SPACE(T, 'building-7')",
                ));
            }
        };
        let slot = self.twin_slot("IN_SPACE", collection)?;
        Ok(Cond::InSpace { slot, space: space.clone() })
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
        if !query.joins.is_empty() || query.pattern.is_some() {
            let what = if query.joins.is_empty() { "MATCH" } else { "JOIN" };
            return Err(QueryError::invalid(
                STAR_WITH_JOIN,
                format!("SELECT * cannot be used with {what}; project the collections instead"),
            ));
        }
        if !query.group_by.is_empty() {
            return Err(QueryError::invalid(BAD_GROUPING, "SELECT * cannot be used with GROUP BY"));
        }
        return Ok(Output::Star);
    };
    let keys: Vec<Operand> = query.group_by.iter().map(|e| scope.operand(e)).collect::<Result<_, _>>()?;
    let grouped = !keys.is_empty() || items.iter().any(|i| matches!(i.value, ProjectionValue::Aggregate(_)));
    let mut columns = Vec::with_capacity(items.len());
    for item in items {
        let (default_key, value) = match &item.value {
            ProjectionValue::Aggregate(aggregate) => {
                let path = |p: &Path| scope.path(p);
                match aggregate {
                    Aggregate::Count(_) => ("COUNT".to_owned(), ColumnValue::Count),
                    Aggregate::Sum(p) => ("SUM".to_owned(), ColumnValue::Sum(path(p)?)),
                    Aggregate::Avg(p) => ("AVG".to_owned(), ColumnValue::Avg(path(p)?)),
                    Aggregate::Min(p) => ("MIN".to_owned(), ColumnValue::Min(path(p)?)),
                    Aggregate::Max(p) => ("MAX".to_owned(), ColumnValue::Max(path(p)?)),
                }
            }
            ProjectionValue::Path(path) => {
                let last = path.segments.last().expect("the parser never makes an empty path").as_str().to_owned();
                let operand = scope.path(path)?;
                if !grouped {
                    (last, ColumnValue::Value(operand))
                } else if let Some(i) = keys.iter().position(|k| *k == operand) {
                    (last, ColumnValue::Key(i))
                } else if keys.is_empty() {
                    return Err(QueryError::invalid(
                        COUNT_NOT_ALONE,
                        "an aggregate such as COUNT() cannot be combined with other projections unless they are GROUP BY keys",
                    ));
                } else {
                    return Err(QueryError::invalid(
                        BAD_GROUPING,
                        format!(
                            "'{}' is projected but is not a GROUP BY key; project the keys and aggregates only",
                            path.segments.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(".")
                        ),
                    ));
                }
            }
        };
        let key = item.alias.as_ref().map_or(default_key, |a| a.as_str().to_owned());
        let key_json = Value::String(key.clone()).to_string();
        columns.push(Column { key, key_json, value });
    }
    for (i, column) in columns.iter().enumerate() {
        if columns[..i].iter().any(|c| c.key == column.key) {
            return Err(QueryError::invalid(
                DUPLICATE_COLUMN,
                format!("two columns are named '{}'; name one with AS", column.key),
            ));
        }
    }
    Ok(if grouped { Output::Groups { keys, columns } } else { Output::Columns(columns) })
}

/// ORDER BY keys: a one-segment path naming an output column sorts by that column; anything else is a value of the
/// row, which in a grouped query must be a GROUP BY key.
fn bind_order(query: &Query, scope: &Scope, output: &Output) -> Result<Vec<OrderKey>, QueryError> {
    let columns: &[Column] = match output {
        Output::Star => &[],
        Output::Columns(columns) | Output::Groups { columns, .. } => columns,
    };
    let mut keys = Vec::with_capacity(query.order_by.len());
    for item in &query.order_by {
        let column = match &item.expr {
            Expr::Path(path) if path.segments.len() == 1 => {
                columns.iter().position(|c| c.key == path.segments[0].as_str())
            }
            _ => None,
        };
        let source = match (column, output) {
            (Some(i), _) => OrderSource::Column(i),
            (None, Output::Groups { keys: group_keys, .. }) => {
                let operand = scope.operand(&item.expr)?;
                let i = group_keys.iter().position(|k| *k == operand).ok_or_else(|| {
                    QueryError::invalid(
                        BAD_GROUPING,
                        "ORDER BY in a grouped query must name a GROUP BY key or a projected column",
                    )
                })?;
                OrderSource::Key(i)
            }
            (None, _) => OrderSource::Row(scope.operand(&item.expr)?),
        };
        keys.push(OrderKey { source, descending: item.descending });
    }
    Ok(keys)
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
