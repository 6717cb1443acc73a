//! Evaluation of WHERE terms and projected values on one row: three-valued logic, ADT's comparisons, the
//! functions, paths into twin and relationship documents (metadata read without parsing), and the total order of
//! ORDER BY, MIN and MAX.

use std::borrow::Cow;
use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::HashMap;

use graph::{TenantGraph, record::etag_text};
use query_syntax::{CompareOp, Function, LogicalOp};
use serde_json::Value;

use crate::bind::{Cond, Operand};
use crate::exec::{Item, Space};

/// What evaluating a condition reads besides the row.
pub(crate) struct Ctx<'a> {
    pub(crate) graph: &'a TenantGraph,
    pub(crate) spaces: &'a HashMap<String, Space>,
    /// Bytes of twin text read for properties, which the run counts as work (a property of a large twin costs more).
    pub(crate) read: Cell<u64>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(graph: &'a TenantGraph, spaces: &'a HashMap<String, Space>) -> Ctx<'a> {
        Ctx { graph, spaces, read: Cell::new(0) }
    }
}

impl Ctx<'_> {
    /// Three-valued evaluation: `None` is unknown (an operand is undefined), and only `Some(true)` keeps a row.
    pub(crate) fn eval(&self, cond: &Cond, row: &[Item<'_>]) -> Option<bool> {
        match cond {
            Cond::Compare { op, lhs, rhs } => {
                let (l, r) = (self.value(lhs, row)?, self.value(rhs, row)?);
                compare(*op, &l, &r)
            }
            Cond::Logical { op: LogicalOp::And, lhs, rhs } => match self.eval(lhs, row) {
                Some(false) => Some(false),
                left => match (left, self.eval(rhs, row)) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                },
            },
            Cond::Logical { op: LogicalOp::Or, lhs, rhs } => match self.eval(lhs, row) {
                Some(true) => Some(true),
                left => match (left, self.eval(rhs, row)) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                },
            },
            Cond::Not(inner) => self.eval(inner, row).map(|b| !b),
            // `x IN [a, b]` is `x = a OR x = b`: true on a match, unknown when some item is of another type.
            Cond::In { value, negated, list } => {
                let value = self.value(value, row)?;
                let mut found = Some(false);
                for item in list {
                    match compare(CompareOp::Eq, &value, item) {
                        Some(true) => {
                            found = Some(true);
                            break;
                        }
                        Some(false) => {}
                        None => found = None,
                    }
                }
                found.map(|f| f != *negated)
            }
            Cond::IsOfModel { slot, model, how } => {
                let Item::Twin(twin) = row[*slot] else { return None };
                let twin_model = self.graph.twin_at(twin)?.model();
                Some(self.graph.model_set().is_a(twin_model, model, *how))
            }
            Cond::InSpace { slot, space } => {
                let Item::Twin(twin) = row[*slot] else { return None };
                // Spaces named in WHERE are resolved once per run; one in a projection, GROUP BY or ORDER BY here.
                let root = match self.spaces.get(space) {
                    Some(known) => known.root,
                    None => self.graph.slot(space),
                };
                Some(root.is_some_and(|root| self.graph.is_within(twin, root)))
            }
            Cond::Call { function, args } => self.call(function, args, row),
            Cond::Value(operand) => self.value(operand, row).map(|v| *v == Value::Bool(true)),
        }
    }

    /// The type checks are true or false for any argument; the string and array functions are unknown (`None`) when
    /// an argument is undefined or not a string (an array, for `ARRAY_CONTAINS`'s first), as comparisons are.
    pub(crate) fn call(&self, function: &Function, args: &[Operand], row: &[Item<'_>]) -> Option<bool> {
        let arg = |i: usize| self.value(&args[i], row);
        let text = |i: usize| arg(i).and_then(|v| v.as_str().map(str::to_owned));
        let texts = || text(0).zip(text(1));
        match function {
            Function::IsDefined => Some(arg(0).is_some()),
            Function::IsNull => Some(arg(0).is_some_and(|v| v.is_null())),
            Function::IsBool => Some(arg(0).is_some_and(|v| v.is_boolean())),
            Function::IsNumber => Some(arg(0).is_some_and(|v| v.is_number())),
            Function::IsString => Some(arg(0).is_some_and(|v| v.is_string())),
            Function::IsPrimitive => Some(arg(0).is_some_and(|v| !v.is_object() && !v.is_array())),
            Function::IsObject => Some(arg(0).is_some_and(|v| v.is_object())),
            Function::StartsWith => texts().map(|(s, p)| s.starts_with(&p)),
            Function::EndsWith => texts().map(|(s, p)| s.ends_with(&p)),
            Function::Contains => texts().map(|(s, p)| s.contains(&p)),
            Function::ArrayContains => {
                let (array, wanted) = (arg(0)?, arg(1)?);
                Some(array.as_array()?.iter().any(|item| compare(CompareOp::Eq, item, &wanted) == Some(true)))
            }
            Function::Other(_) => unreachable!("the binder refuses unknown functions"),
        }
    }

    /// The value of an operand in a row, or `None` when it is undefined (a missing property).
    pub(crate) fn value<'o>(&self, operand: &'o Operand, row: &[Item<'_>]) -> Option<Cow<'o, Value>> {
        match operand {
            Operand::Literal(v) => Some(Cow::Borrowed(v)),
            Operand::Path { slot, keys } => {
                if let (Item::Twin(twin), Some(first)) = (row[*slot], keys.first())
                    && !matches!(first.as_str(), "$dtId" | "$etag")
                {
                    let bytes = self.graph.twin_at(twin).map_or(0, |t| t.doc_bytes() as u64);
                    self.read.set(self.read.get() + bytes);
                }
                item_value(self.graph, row[*slot], keys).map(Cow::Owned)
            }
            Operand::Cond(cond) => self.eval(cond, row).map(|b| Cow::Owned(Value::Bool(b))),
        }
    }
}

/// The value at `keys` inside a slot's document; metadata is read without parsing the document.
pub(crate) fn item_value(graph: &TenantGraph, item: Item<'_>, keys: &[String]) -> Option<Value> {
    match item {
        Item::Empty => None,
        Item::Twin(slot) => {
            let twin = graph.twin_at(slot)?;
            let (first, rest) = match keys.split_first() {
                None => return Some(twin.to_json()),
                Some(split) => split,
            };
            match (first.as_str(), rest) {
                ("$dtId", []) => Some(Value::String(twin.id.clone())),
                ("$etag", []) => Some(Value::String(etag_text(twin.etag))),
                ("$metadata", [model]) if model == "$model" => Some(Value::String(twin.model().to_owned())),
                _ => descend(twin.property(first)?, rest),
            }
        }
        Item::Relationship(edge) => {
            let id_of = |slot: u32| graph.twin_at(slot).map(|t| Value::String(t.id.clone()));
            let (first, rest) = match keys.split_first() {
                None => return Some(graph.relationship_at(&edge).to_json()),
                Some(split) => split,
            };
            match (first.as_str(), rest) {
                ("$relationshipId", []) => Some(Value::String(edge.id.to_owned())),
                ("$sourceId", []) => id_of(edge.source),
                ("$targetId", []) => id_of(edge.target),
                ("$relationshipName", []) => Some(Value::String(edge.name.to_owned())),
                ("$etag", []) => Some(Value::String(etag_text(edge.etag))),
                _ => descend(edge.properties?.get(first)?.clone(), rest),
            }
        }
    }
}

pub(crate) fn descend(mut value: Value, keys: &[String]) -> Option<Value> {
    for key in keys {
        value = match value {
            Value::Object(mut map) => map.shift_remove(key)?,
            _ => return None,
        };
    }
    Some(value)
}

/// ADT's comparison: numbers, strings and booleans compare within their type; values of different types are not
/// comparable (unknown, `None`, under every operator, so `NOT` keeps them out too), and objects and arrays only
/// compare equal or not equal.
pub(crate) fn compare(op: CompareOp, lhs: &Value, rhs: &Value) -> Option<bool> {
    let ordering = match (lhs, rhs) {
        (Value::Number(l), Value::Number(r)) => number_order(l, r)?,
        (Value::String(l), Value::String(r)) => l.cmp(r),
        (Value::Bool(l), Value::Bool(r)) => l.cmp(r),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Object(_), Value::Object(_)) | (Value::Array(_), Value::Array(_)) => {
            return match op {
                CompareOp::Eq => Some(lhs == rhs),
                CompareOp::NotEq => Some(lhs != rhs),
                _ => None,
            };
        }
        _ => return None,
    };
    Some(match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::NotEq => ordering != Ordering::Equal,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
    })
}

/// Integers compare exactly; anything with a fraction compares as `f64`.
pub(crate) fn number_order(l: &serde_json::Number, r: &serde_json::Number) -> Option<Ordering> {
    match (l.as_i64(), r.as_i64()) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => l.as_f64()?.partial_cmp(&r.as_f64()?),
    }
}

/// The total order of ORDER BY, MIN and MAX: undefined, null, false, true, numbers, strings, arrays, objects.
pub(crate) fn total_order(l: Option<&Value>, r: Option<&Value>) -> Ordering {
    fn rank(v: Option<&Value>) -> u8 {
        match v {
            None => 0,
            Some(Value::Null) => 1,
            Some(Value::Bool(_)) => 2,
            Some(Value::Number(_)) => 3,
            Some(Value::String(_)) => 4,
            Some(Value::Array(_)) => 5,
            Some(Value::Object(_)) => 6,
        }
    }
    match (l, r) {
        (Some(Value::Bool(a)), Some(Value::Bool(b))) => a.cmp(b),
        (Some(Value::Number(a)), Some(Value::Number(b))) => number_order(a, b).unwrap_or(Ordering::Equal),
        (Some(Value::String(a)), Some(Value::String(b))) => a.cmp(b),
        _ => rank(l).cmp(&rank(r)),
    }
}
