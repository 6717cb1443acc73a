//! Where complete rows go: written as JSON text (whole twins straight from their kept text), sorted for ORDER BY,
//! or folded into groups and their aggregates.

use std::borrow::Cow;
use std::cmp::Ordering;

use graph::TenantGraph;
use rustc_hash::FxHashMap;
use serde_json::Value;

use crate::bind::{Bound, Column, ColumnValue, Operand, OrderKey, OrderSource, Output};
use crate::error::{BYTES_EXCEEDED, QueryError, ROWS_EXCEEDED};
use crate::eval::{Ctx, total_order};
use crate::exec::Item;
use crate::{Limits, Row};

pub(crate) enum Sink {
    /// Rendered rows, each with its ORDER BY values, and the bytes they hold.
    Rows { rows: Vec<(Vec<Option<Value>>, Row)>, bytes: usize },
    Groups {
        /// The bytes the groups hold, roughly: their names and a fixed part each.
        bytes: usize,
        index: FxHashMap<Box<[u8]>, usize>,
        groups: Vec<Group>,
        /// The name of the current row's group, in a buffer kept between rows.
        name: Vec<u8>,
        /// The slots the keys read, and what the last row held in them with the group it went to: rows of one
        /// group often come one after another, and rows with the same items in those slots have the same keys.
        key_slots: Vec<usize>,
        last_items: Vec<u64>,
        last_group: Option<usize>,
    },
}

/// What `Sink::push` did with a row.
pub(crate) struct Pushed {
    /// Whether the walk should go on.
    pub(crate) go_on: bool,
    /// The bytes the row added to what the query holds.
    pub(crate) bytes: usize,
}

/// The bytes a group holds besides its name: its keys, accumulators and index entry, roughly.
const GROUP_BYTES: usize = 128;

/// The bytes a kept row holds: its text and, roughly, its ORDER BY values.
fn row_bytes(order: &[Option<Value>], text: &Row) -> usize {
    text.get().len() + std::mem::size_of::<Row>() + 32 * order.len()
}

pub(crate) struct Group {
    keys: Vec<Option<Value>>,
    accumulators: Vec<Accumulator>,
}

pub(crate) enum Accumulator {
    /// Group keys take no accumulator.
    None,
    Count(u64),
    /// The exact integer sum while every value is an integer that fits, and the floating sum.
    Sum {
        exact: Option<i64>,
        float: f64,
        seen: bool,
    },
    Avg {
        sum: f64,
        count: u64,
    },
    Min(Option<Value>),
    Max(Option<Value>),
}

impl Sink {
    pub(crate) fn new(bound: &Bound) -> Sink {
        match &bound.output {
            Output::Groups { keys, .. } => {
                let mut key_slots = Vec::new();
                keys.iter().for_each(|k| k.slots(&mut key_slots));
                key_slots.sort_unstable();
                key_slots.dedup();
                Sink::Groups {
                    bytes: 0,
                    index: FxHashMap::default(),
                    groups: Vec::new(),
                    name: Vec::new(),
                    last_items: vec![u64::MAX; key_slots.len()],
                    key_slots,
                    last_group: None,
                }
            }
            _ => Sink::Rows { rows: Vec::new(), bytes: 0 },
        }
    }

    /// Takes one complete row; says whether the walk should go on (not once TOP rows are in, without ORDER BY) and
    /// how many bytes the row added, which count as work.
    pub(crate) fn push(
        &mut self,
        ctx: &Ctx<'_>,
        bound: &Bound,
        limits: &Limits,
        row: &[Item<'_>],
    ) -> Result<Pushed, QueryError> {
        let graph = ctx.graph;
        let (held, held_bytes, added) = match self {
            Sink::Rows { rows, bytes } => {
                let (text, columns) = match &bound.output {
                    Output::Star => (render_item(graph, row[0]), Vec::new()),
                    Output::Columns(columns) => {
                        // Values are built only for the columns ORDER BY reads; the row is written as text.
                        let mut values: Vec<Option<Value>> = vec![None; columns.len()];
                        for key in &bound.order_by {
                            if let OrderSource::Column(i) = key.source
                                && let ColumnValue::Value(operand) = &columns[i].value
                            {
                                values[i] = ctx.value(operand, row).map(Cow::into_owned);
                            }
                        }
                        (write_row(ctx, columns, row), values)
                    }
                    Output::Groups { .. } => unreachable!("grouped queries use the group sink"),
                };
                let order: Vec<Option<Value>> = bound
                    .order_by
                    .iter()
                    .map(|key| match &key.source {
                        OrderSource::Row(operand) => ctx.value(operand, row).map(Cow::into_owned),
                        OrderSource::Column(i) => columns[*i].clone(),
                        OrderSource::Key(_) => unreachable!("group keys order grouped queries"),
                    })
                    .collect();
                let added = row_bytes(&order, &text);
                *bytes += added;
                rows.push((order, text));
                // With ORDER BY and TOP(n) only the first n rows in order can be answered: past 2n rows (or the row
                // budget), the rest go. The sort is stable, so rows tied on every key keep their arrival order, as
                // in `finish`.
                if let Some(top) = bound.top.filter(|_| !bound.order_by.is_empty())
                    && rows.len() >= top.saturating_mul(2).max(1024).min(limits.rows_max.max(top))
                {
                    rows.sort_by(|a, b| order_rows(&bound.order_by, &a.0, &b.0));
                    rows.truncate(top);
                    *bytes = rows.iter().map(|(order, text)| row_bytes(order, text)).sum();
                }
                (rows.len(), *bytes, added)
            }
            Sink::Groups { bytes, index, groups, name, key_slots, last_items, last_group } => {
                let Output::Groups { keys, columns } = &bound.output else { unreachable!("the group sink groups") };
                let same = key_slots.iter().zip(last_items.iter()).all(|(&s, &item)| identity(row[s]) == item);
                let at = match last_group.filter(|_| same) {
                    Some(at) => at,
                    None => {
                        group_name(ctx, keys, row, name);
                        let at = match index.get(name.as_slice()) {
                            Some(&at) => at,
                            None => {
                                let values = keys.iter().map(|k| ctx.value(k, row).map(Cow::into_owned)).collect();
                                let accumulators = columns.iter().map(|c| Accumulator::new(&c.value)).collect();
                                groups.push(Group { keys: values, accumulators });
                                index.insert(name.clone().into_boxed_slice(), groups.len() - 1);
                                *bytes += name.len() * 2 + GROUP_BYTES;
                                groups.len() - 1
                            }
                        };
                        for (item, &s) in last_items.iter_mut().zip(key_slots.iter()) {
                            *item = identity(row[s]);
                        }
                        *last_group = Some(at);
                        at
                    }
                };
                for (acc, column) in groups[at].accumulators.iter_mut().zip(columns) {
                    acc.add(ctx, &column.value, row);
                }
                (groups.len(), *bytes, 0)
            }
        };
        if held > limits.rows_max {
            return Err(QueryError::LimitExceeded {
                code: ROWS_EXCEEDED,
                message: format!("the query holds more rows than the limit of {}", limits.rows_max),
            });
        }
        if held_bytes > limits.bytes_max {
            return Err(QueryError::LimitExceeded {
                code: BYTES_EXCEEDED,
                message: format!("the query's rows take more than the limit of {} bytes", limits.bytes_max),
            });
        }
        let unordered_rows = matches!(self, Sink::Rows { .. }) && bound.order_by.is_empty();
        Ok(Pushed { go_on: !(unordered_rows && bound.top.is_some_and(|top| held >= top)), bytes: added })
    }

    pub(crate) fn finish(self, bound: &Bound) -> Result<Vec<Row>, QueryError> {
        let top = bound.top.unwrap_or(usize::MAX);
        match self {
            Sink::Rows { mut rows, .. } => {
                if !bound.order_by.is_empty() {
                    rows.sort_by(|a, b| order_rows(&bound.order_by, &a.0, &b.0));
                }
                Ok(rows.into_iter().take(top).map(|(_, text)| text).collect())
            }
            Sink::Groups { mut groups, .. } => {
                let Output::Groups { keys, columns } = &bound.output else { unreachable!("the group sink groups") };
                if keys.is_empty() && groups.is_empty() {
                    // Aggregates over no rows: one row, as COUNT() of nothing is 0.
                    let accumulators = columns.iter().map(|c| Accumulator::new(&c.value)).collect();
                    groups.push(Group { keys: Vec::new(), accumulators });
                }
                let mut rows: Vec<(Vec<Option<Value>>, Row)> = groups
                    .into_iter()
                    .map(|group| {
                        let values: Vec<Option<Value>> = columns
                            .iter()
                            .zip(group.accumulators)
                            .map(|(column, acc)| match column.value {
                                ColumnValue::Key(i) => group.keys[i].clone(),
                                _ => acc.result(),
                            })
                            .collect();
                        let order = bound
                            .order_by
                            .iter()
                            .map(|key| match &key.source {
                                OrderSource::Column(i) => values[*i].clone(),
                                OrderSource::Key(i) => group.keys[*i].clone(),
                                OrderSource::Row(_) => unreachable!("the binder maps grouped ORDER BY to keys"),
                            })
                            .collect();
                        (order, render_columns(columns, &values))
                    })
                    .collect();
                if !bound.order_by.is_empty() {
                    rows.sort_by(|a, b| order_rows(&bound.order_by, &a.0, &b.0));
                }
                Ok(rows.into_iter().take(top).map(|(_, text)| text).collect())
            }
        }
    }
}

/// What a slot holds, as a number: a twin's slot, or a relationship's source slot and index (a slot holds one kind
/// in every row, so the two forms never meet).
fn identity(item: Item<'_>) -> u64 {
    match item {
        Item::Empty => u64::MAX,
        Item::Twin(slot) => u64::from(slot),
        Item::Relationship(edge) => u64::from(edge.source) << 32 | u64::from(edge.index),
    }
}

/// The identity of a row's group, written into `name`: each key value's JSON text (or, for a string without NULs,
/// the most common case, `s` and its bytes), nothing when undefined, each followed by a NUL, which neither form
/// holds. A twin's id, the most common key, is written without becoming a `Value`.
pub(crate) fn group_name(ctx: &Ctx<'_>, keys: &[Operand], row: &[Item<'_>], name: &mut Vec<u8>) {
    name.clear();
    for key in keys {
        let id = match key {
            Operand::Path { slot, keys } if keys.len() == 1 && keys[0] == "$dtId" => match row[*slot] {
                Item::Twin(twin) => ctx.graph.twin_at(twin).map(|t| t.id.as_str()),
                _ => None,
            },
            _ => None,
        };
        match id {
            Some(id) if !id.contains('\0') => {
                name.push(b's');
                name.extend_from_slice(id.as_bytes());
            }
            _ => match ctx.value(key, row).as_deref() {
                Some(Value::String(text)) if !text.contains('\0') => {
                    name.push(b's');
                    name.extend_from_slice(text.as_bytes());
                }
                // 1 and 1.0 are the same number, so the same group.
                Some(Value::Number(n)) => {
                    name.push(b'n');
                    match n
                        .as_i64()
                        .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64))
                    {
                        Some(i) => name.extend_from_slice(i.to_string().as_bytes()),
                        None => write_value(&Value::Number(n.clone()), name),
                    }
                }
                Some(other) => write_value(other, name),
                None => {}
            },
        }
        name.push(0);
    }
}

impl Accumulator {
    pub(crate) fn new(value: &ColumnValue) -> Accumulator {
        match value {
            ColumnValue::Value(_) | ColumnValue::Key(_) => Accumulator::None,
            ColumnValue::Count => Accumulator::Count(0),
            ColumnValue::Sum(_) => Accumulator::Sum { exact: Some(0), float: 0.0, seen: false },
            ColumnValue::Avg(_) => Accumulator::Avg { sum: 0.0, count: 0 },
            ColumnValue::Min(_) => Accumulator::Min(None),
            ColumnValue::Max(_) => Accumulator::Max(None),
        }
    }

    /// Folds one row in; values that are undefined, null, or not of the aggregate's kind are skipped.
    pub(crate) fn add(&mut self, ctx: &Ctx<'_>, column: &ColumnValue, row: &[Item<'_>]) {
        let number = |operand: &Operand| ctx.value(operand, row).and_then(|v| v.as_f64().map(|f| (f, v.as_i64())));
        match (self, column) {
            (Accumulator::Count(n), _) => *n += 1,
            (Accumulator::Sum { exact, float, seen }, ColumnValue::Sum(operand)) => {
                if let Some((f, i)) = number(operand) {
                    *seen = true;
                    *float += f;
                    *exact = exact.zip(i).and_then(|(a, b)| a.checked_add(b));
                }
            }
            (Accumulator::Avg { sum, count }, ColumnValue::Avg(operand)) => {
                if let Some((f, _)) = number(operand) {
                    *sum += f;
                    *count += 1;
                }
            }
            (Accumulator::Min(best), ColumnValue::Min(operand))
            | (Accumulator::Max(best), ColumnValue::Max(operand)) => {
                let want = if matches!(column, ColumnValue::Min(_)) { Ordering::Less } else { Ordering::Greater };
                if let Some(v) = ctx.value(operand, row).filter(|v| v.is_number() || v.is_string() || v.is_boolean())
                    && best.as_ref().is_none_or(|b| total_order(Some(&v), Some(b)) == want)
                {
                    *best = Some(v.into_owned());
                }
            }
            _ => {}
        }
    }

    pub(crate) fn result(self) -> Option<Value> {
        match self {
            Accumulator::None => None,
            Accumulator::Count(n) => Some(Value::from(n)),
            Accumulator::Sum { seen: false, .. } => None,
            Accumulator::Sum { exact: Some(i), .. } => Some(Value::from(i)),
            Accumulator::Sum { float, .. } => serde_json::Number::from_f64(float).map(Value::Number),
            Accumulator::Avg { count: 0, .. } => None,
            Accumulator::Avg { sum, count } => serde_json::Number::from_f64(sum / count as f64).map(Value::Number),
            Accumulator::Min(v) | Accumulator::Max(v) => v,
        }
    }
}

pub(crate) fn render_item(graph: &TenantGraph, item: Item<'_>) -> Row {
    let mut out = Vec::new();
    write_item(graph, item, &mut out);
    raw(out)
}

/// A whole twin or relationship document, the twin's written straight from its kept text.
pub(crate) fn write_item(graph: &TenantGraph, item: Item<'_>, out: &mut Vec<u8>) {
    match item {
        Item::Twin(slot) => match graph.twin_at(slot) {
            Some(twin) => twin.write_json(out),
            None => out.extend_from_slice(b"null"),
        },
        Item::Relationship(edge) => write_value(&graph.relationship_at(&edge).to_json(), out),
        Item::Empty => out.extend_from_slice(b"null"),
    }
}

pub(crate) fn write_value(value: &Value, out: &mut Vec<u8>) {
    serde_json::to_writer(out, value).expect("writing JSON into memory cannot fail");
}

/// One ungrouped row as `{"key": value, …}`, undefined values left out.
pub(crate) fn write_row(ctx: &Ctx<'_>, columns: &[Column], row: &[Item<'_>]) -> Row {
    let mut out = Vec::with_capacity(64);
    out.push(b'{');
    for column in columns {
        let ColumnValue::Value(operand) = &column.value else { unreachable!("ungrouped columns are values") };
        let start = out.len();
        if start > 1 {
            out.push(b',');
        }
        out.extend_from_slice(column.key_json.as_bytes());
        out.push(b':');
        let twin = |slot: &usize| match row[*slot] {
            Item::Twin(twin) => ctx.graph.twin_at(twin),
            _ => None,
        };
        match operand {
            Operand::Path { slot, keys } if keys.is_empty() && !matches!(row[*slot], Item::Empty) => {
                write_item(ctx.graph, row[*slot], &mut out)
            }
            // The id, the most projected value, is written without becoming a `Value` first.
            Operand::Path { slot, keys } if keys.len() == 1 && keys[0] == "$dtId" && twin(slot).is_some() => {
                let id = &twin(slot).expect("checked in the guard").id;
                serde_json::to_writer(&mut out, id).expect("writing JSON into memory cannot fail");
            }
            _ => match ctx.value(operand, row) {
                Some(value) => write_value(&value, &mut out),
                None => out.truncate(start),
            },
        }
    }
    out.push(b'}');
    raw(out)
}

/// `{"key": value, …}` from values already computed (a group's), undefined values left out, as `write_row` writes.
pub(crate) fn render_columns(columns: &[Column], values: &[Option<Value>]) -> Row {
    let mut out = vec![b'{'];
    for (column, value) in columns.iter().zip(values) {
        if let Some(value) = value {
            if out.len() > 1 {
                out.push(b',');
            }
            out.extend_from_slice(column.key_json.as_bytes());
            out.push(b':');
            write_value(value, &mut out);
        }
    }
    out.push(b'}');
    raw(out)
}

pub(crate) fn raw(text: Vec<u8>) -> Row {
    Row::new(String::from_utf8(text).expect("JSON is UTF-8"))
}

pub(crate) fn order_rows(keys: &[OrderKey], a: &[Option<Value>], b: &[Option<Value>]) -> Ordering {
    for (i, key) in keys.iter().enumerate() {
        let ordering = total_order(a[i].as_ref(), b[i].as_ref());
        let ordering = if key.descending { ordering.reverse() } else { ordering };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}
