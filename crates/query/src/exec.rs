//! The planner and executor: picks where the FROM collection starts (twin ids, a model, or a scan), follows JOINs,
//! filters, projects and counts, holding rows within `Limits::rows_max`.
//!
//! Rows are vectors of slot documents shared through `Rc`, so a JOIN copies pointers, not twins.
//! It does not reorder JOINs or push filters below them; the whole WHERE runs once per complete row.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use graph::{ModelMatch, TenantGraph};
use query_syntax::{Collection, CompareOp, Function, LogicalOp};
use serde_json::{Map, Value};

use serde_json::value::RawValue;

use crate::{Answer, Limits, Settings};
use crate::bind::{Bound, Cond, Operand, Output};
use crate::error::{QueryError, ROWS_EXCEEDED};

pub(crate) fn execute(graph: &TenantGraph, bound: &Bound, settings: &Settings) -> Result<Answer, QueryError> {
    let rows = execute_values(graph, bound, &settings.limits)?;
    let work = rows.len() as u64;
    let rows = rows.iter().map(|v| RawValue::from_string(v.to_string()).expect("a value renders as JSON")).collect();
    Ok(Answer { rows, work })
}

fn execute_values(graph: &TenantGraph, bound: &Bound, limits: &Limits) -> Result<Vec<Value>, QueryError> {
    let mut twins = TwinCache { graph, docs: HashMap::new() };
    // The last stage filters as it goes, so the budget counts rows kept, not rows looked at; earlier stages hold
    // every partial row, since the WHERE clause may need all of its slots.
    let mut kept = Stage { graph, bound, limits, last: bound.joins.is_empty(), rows: Vec::new(), count: 0 };
    for doc in start(graph, bound, &mut twins) {
        if !kept.push(vec![doc])? {
            break;
        }
    }
    for (i, join) in bound.joins.iter().enumerate() {
        let rows = std::mem::take(&mut kept.rows);
        kept.last = i + 1 == bound.joins.len();
        'rows: for row in &rows {
            let Some(source) = row[join.source].get("$dtId").and_then(Value::as_str) else { continue };
            // The source came from the graph, so it exists; an error could only mean it does not, which is no rows.
            for relationship in graph.relationships(source, Some(&join.relationship)).unwrap_or_default() {
                let Some(target) = twins.get(&relationship.target) else { continue };
                let mut joined = row.clone();
                joined.push(target);
                if join.relationship_slot.is_some() {
                    joined.push(Rc::new(relationship.to_json()));
                }
                if !kept.push(joined)? {
                    break 'rows;
                }
            }
        }
    }
    let count = kept.count;
    let kept = kept.rows;
    debug_assert!(kept.iter().all(|r| r.len() == bound.slots));
    let top = bound.top.unwrap_or(usize::MAX);
    Ok(match &bound.output {
        Output::Count => {
            let mut row = Map::new();
            row.insert("COUNT".to_owned(), Value::from(count));
            vec![Value::Object(row)].into_iter().take(top).collect()
        }
        Output::Star => kept.into_iter().take(top).map(|mut row| Rc::unwrap_or_clone(row.swap_remove(0))).collect(),
        Output::Columns(columns) => kept
            .iter()
            .take(top)
            .map(|row| {
                let mut out = Map::new();
                for (key, operand) in columns {
                    if let Some(value) = operand_value(graph, operand, row) {
                        out.insert(key.clone(), value.into_owned());
                    }
                }
                Value::Object(out)
            })
            .collect(),
    })
}

/// One row: the document of each slot.
type Row = Vec<Rc<Value>>;

/// Twin documents rendered once per query, however many rows share them.
struct TwinCache<'g> {
    graph: &'g TenantGraph,
    docs: HashMap<String, Rc<Value>>,
}

impl TwinCache<'_> {
    fn get(&mut self, id: &str) -> Option<Rc<Value>> {
        if let Some(doc) = self.docs.get(id) {
            return Some(doc.clone());
        }
        let doc = Rc::new(self.graph.twin(id)?.to_json());
        self.docs.insert(id.to_owned(), doc.clone());
        Some(doc)
    }
}

/// The rows of one execution stage; the last stage filters and stops at TOP.
struct Stage<'a> {
    graph: &'a TenantGraph,
    bound: &'a Bound,
    limits: &'a Limits,
    last: bool,
    rows: Vec<Row>,
    /// Rows that passed the last stage of a `COUNT()` query, which are counted rather than kept.
    count: usize,
}

impl Stage<'_> {
    /// Keeps `row` if it belongs to this stage; false once the stage needs no more rows (TOP reached).
    fn push(&mut self, row: Row) -> Result<bool, QueryError> {
        if self.last && self.bound.filter.as_ref().is_some_and(|f| eval(self.graph, f, &row) != Some(true)) {
            return Ok(true);
        }
        if self.last && matches!(self.bound.output, Output::Count) {
            self.count += 1;
            return Ok(true);
        }
        if self.rows.len() >= self.limits.rows_max {
            return Err(QueryError::LimitExceeded {
                code: ROWS_EXCEEDED,
                message: format!("the query holds more rows than the limit of {}", self.limits.rows_max),
            });
        }
        self.rows.push(row);
        Ok(!(self.last && self.bound.top.is_some_and(|top| self.rows.len() >= top)))
    }
}

/// Where the FROM collection starts, as the plan chooses it from the top-level AND terms of WHERE.
#[derive(Debug, PartialEq)]
enum Anchor<'q> {
    /// Ids from `$dtId = 'x'` or `$dtId IN [...]` (twins), or `$sourceId` likewise (relationships).
    Ids(BTreeSet<&'q str>),
    /// `IS_OF_MODEL` on the FROM collection.
    Model(&'q str, ModelMatch),
    Scan,
}

fn start(graph: &TenantGraph, bound: &Bound, twins: &mut TwinCache<'_>) -> Vec<Rc<Value>> {
    let key = match bound.from {
        Collection::DigitalTwins => "$dtId",
        Collection::Relationships => "$sourceId",
    };
    let anchor = bound.filter.as_ref().map_or(Anchor::Scan, |f| anchor(f, key));
    match (bound.from, anchor) {
        (Collection::DigitalTwins, Anchor::Ids(ids)) => ids.into_iter().filter_map(|id| twins.get(id)).collect(),
        (Collection::DigitalTwins, Anchor::Model(model, how)) => {
            graph.twins_of_model(model, how).into_iter().filter_map(|id| twins.get(id)).collect()
        }
        (Collection::DigitalTwins, Anchor::Scan) => {
            let mut ids: Vec<&str> = graph.twins().map(|t| t.id.as_str()).collect();
            // Sorted so TOP and row order do not depend on the index's iteration order.
            ids.sort_unstable();
            ids.into_iter().filter_map(|id| twins.get(id)).collect()
        }
        (Collection::Relationships, Anchor::Ids(sources)) => sources
            .into_iter()
            .flat_map(|source| graph.relationships(source, None).unwrap_or_default())
            .map(|r| Rc::new(r.to_json()))
            .collect(),
        (Collection::Relationships, _) => {
            let mut all: Vec<_> = graph.all_relationships().collect();
            all.sort_unstable_by(|a, b| (&a.source, &a.id).cmp(&(&b.source, &b.id)));
            all.into_iter().map(|r| Rc::new(r.to_json())).collect()
        }
    }
}

/// The best anchor among the top-level AND terms: ids beat a model, a model beats a scan.
fn anchor<'q>(cond: &'q Cond, key: &str) -> Anchor<'q> {
    let is_key = |o: &Operand| matches!(o, Operand::Path { slot: 0, keys } if keys.len() == 1 && keys[0] == key);
    match cond {
        Cond::Logical { op: LogicalOp::And, lhs, rhs } => match (anchor(lhs, key), anchor(rhs, key)) {
            (ids @ Anchor::Ids(_), _) | (_, ids @ Anchor::Ids(_)) => ids,
            (model @ Anchor::Model(..), _) | (_, model @ Anchor::Model(..)) => model,
            _ => Anchor::Scan,
        },
        Cond::Compare { op: CompareOp::Eq, lhs, rhs } => {
            let literal = match (lhs, rhs) {
                (path, Operand::Literal(v)) | (Operand::Literal(v), path) if is_key(path) => v,
                _ => return Anchor::Scan,
            };
            // A non-string literal can never equal an id, so no twin starts the query.
            Anchor::Ids(literal.as_str().into_iter().collect())
        }
        Cond::In { value, negated: false, list } if is_key(value) => {
            Anchor::Ids(list.iter().filter_map(Value::as_str).collect())
        }
        Cond::IsOfModel { slot: 0, model, how } if key == "$dtId" => Anchor::Model(model, *how),
        _ => Anchor::Scan,
    }
}

/// Three-valued evaluation: `None` is unknown (an operand is undefined), and only `Some(true)` keeps a row.
fn eval(graph: &TenantGraph, cond: &Cond, row: &Row) -> Option<bool> {
    match cond {
        Cond::Compare { op, lhs, rhs } => {
            let (l, r) = (operand_value(graph, lhs, row)?, operand_value(graph, rhs, row)?);
            Some(compare(*op, &l, &r))
        }
        Cond::Logical { op: LogicalOp::And, lhs, rhs } => match (eval(graph, lhs, row), eval(graph, rhs, row)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Cond::Logical { op: LogicalOp::Or, lhs, rhs } => match (eval(graph, lhs, row), eval(graph, rhs, row)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        Cond::Not(inner) => eval(graph, inner, row).map(|b| !b),
        Cond::In { value, negated, list } => {
            let value = operand_value(graph, value, row)?;
            let found = list.iter().any(|item| compare(CompareOp::Eq, &value, item));
            Some(found != *negated)
        }
        Cond::IsOfModel { slot, model, how } => {
            let twin_model = row[*slot].get("$metadata").and_then(|m| m.get("$model")).and_then(Value::as_str)?;
            Some(graph.model_set().is_a(twin_model, model, *how))
        }
        Cond::Call { function, args } => Some(call(graph, function, args, row)),
        Cond::Value(operand) => operand_value(graph, operand, row).map(|v| *v == Value::Bool(true)),
    }
}

fn call(graph: &TenantGraph, function: &Function, args: &[Operand], row: &Row) -> bool {
    let arg = |i: usize| operand_value(graph, &args[i], row);
    let text = |i: usize| arg(i).and_then(|v| v.as_str().map(str::to_owned));
    match function {
        Function::IsDefined => arg(0).is_some(),
        Function::IsNull => arg(0).is_some_and(|v| v.is_null()),
        Function::IsBool => arg(0).is_some_and(|v| v.is_boolean()),
        Function::IsNumber => arg(0).is_some_and(|v| v.is_number()),
        Function::IsString => arg(0).is_some_and(|v| v.is_string()),
        Function::IsPrimitive => arg(0).is_some_and(|v| !v.is_object() && !v.is_array()),
        Function::IsObject => arg(0).is_some_and(|v| v.is_object()),
        Function::StartsWith => text(0).zip(text(1)).is_some_and(|(s, p)| s.starts_with(&p)),
        Function::EndsWith => text(0).zip(text(1)).is_some_and(|(s, p)| s.ends_with(&p)),
        Function::Contains => text(0).zip(text(1)).is_some_and(|(s, p)| s.contains(&p)),
        Function::ArrayContains => match (arg(0), arg(1)) {
            (Some(array), Some(wanted)) => {
                array.as_array().is_some_and(|items| items.iter().any(|i| compare(CompareOp::Eq, i, &wanted)))
            }
            _ => false,
        },
        Function::Other(_) => unreachable!("the binder refuses unknown functions"),
    }
}

/// The value of an operand in a row, or `None` when it is undefined (a missing property).
fn operand_value<'r>(graph: &TenantGraph, operand: &'r Operand, row: &'r Row) -> Option<Cow<'r, Value>> {
    match operand {
        Operand::Literal(v) => Some(Cow::Borrowed(v)),
        Operand::Path { slot, keys } => {
            let mut value: &Value = &row[*slot];
            for key in keys {
                value = value.as_object()?.get(key)?;
            }
            Some(Cow::Borrowed(value))
        }
        Operand::Cond(cond) => eval(graph, cond, row).map(|b| Cow::Owned(Value::Bool(b))),
    }
}

/// ADT's comparison: numbers, strings and booleans compare within their type; values of different types compare
/// false under every operator, and objects and arrays only compare equal or not equal.
fn compare(op: CompareOp, lhs: &Value, rhs: &Value) -> bool {
    let ordering = match (lhs, rhs) {
        (Value::Number(l), Value::Number(r)) => number_order(l, r),
        (Value::String(l), Value::String(r)) => Some(l.cmp(r)),
        (Value::Bool(l), Value::Bool(r)) => Some(l.cmp(r)),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        (Value::Object(_), Value::Object(_)) | (Value::Array(_), Value::Array(_)) => {
            return match op {
                CompareOp::Eq => lhs == rhs,
                CompareOp::NotEq => lhs != rhs,
                _ => false,
            };
        }
        _ => None,
    };
    let Some(ordering) = ordering else { return false };
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::NotEq => ordering != Ordering::Equal,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
    }
}

/// Integers compare exactly; anything with a fraction compares as `f64`.
fn number_order(l: &serde_json::Number, r: &serde_json::Number) -> Option<Ordering> {
    match (l.as_i64(), r.as_i64()) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => l.as_f64()?.partial_cmp(&r.as_f64()?),
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    /// Binds `text` and shows where the plan starts the FROM collection.
    fn check(text: &str, expected: Expect) {
        let query = query_syntax::parse(text, &query_syntax::Limits::default()).expect("the test query parses");
        let bound = crate::bind::bind(&query, &Limits::default()).expect("the test query binds");
        let key = if bound.from == Collection::DigitalTwins { "$dtId" } else { "$sourceId" };
        let actual = bound.filter.as_ref().map_or(Anchor::Scan, |f| anchor(f, key));
        expected.assert_eq(&format!("{actual:?}"));
    }

    #[test]
    fn plan_prefers_ids_then_models_then_a_scan() {
        check("SELECT * FROM DIGITALTWINS WHERE $dtId = 'a'", expect![[r#"Ids({"a"})"#]]);
        check(
            "SELECT * FROM DIGITALTWINS T WHERE IS_OF_MODEL('dtmi:x:A;1') AND T.$dtId IN ['b', 'a', 'b']",
            expect![[r#"Ids({"a", "b"})"#]],
        );
        check(
            "SELECT * FROM DIGITALTWINS T WHERE T.x = 1 AND IS_OF_MODEL(T, 'dtmi:x:A;1', exact)",
            expect![[r#"Model("dtmi:x:A;1", Exact)"#]],
        );
        check("SELECT * FROM DIGITALTWINS WHERE $dtId = 'a' OR $dtId = 'b'", expect!["Scan"]);
        check("SELECT * FROM DIGITALTWINS WHERE $dtId = 1", expect!["Ids({})"]);
        check("SELECT * FROM DIGITALTWINS WHERE NOT $dtId = 'a'", expect!["Scan"]);
        check("SELECT B FROM DIGITALTWINS B JOIN F RELATED B.contains WHERE F.$dtId = 'a'", expect!["Scan"]);
        check("SELECT * FROM RELATIONSHIPS R WHERE R.$sourceId = 's'", expect![[r#"Ids({"s"})"#]]);
    }
}
