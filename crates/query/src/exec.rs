//! The planner and executor: picks the collection to start from and how to find its first twins (ids, the model
//! index, a containment subtree, or a scan), orders the JOIN and MATCH links outward from it, and walks rows depth
//! first, testing each WHERE term as soon as the collections it reads are bound.
//!
//! A row is a vector of slot references (twin slots and relationship references into the graph), so walking copies
//! no documents; properties are read from a twin's kept text only when a term or a projection needs them.
//! Complete rows go to a sink that renders them as JSON text, or sorts them, or folds them into groups.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::time::Instant;

use graph::{EdgeRef, ModelMatch, TenantGraph, record::etag_text};
use query_syntax::{Collection, CompareOp, Direction, Function, LogicalOp};
use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

use crate::bind::{Bound, Column, ColumnValue, Cond, Link, Operand, OrderKey, OrderSource, Output, SlotKind};
use crate::error::{QueryError, ROWS_EXCEEDED, TIME_EXCEEDED};
use crate::{Answer, Containment, Limits, Row, Settings};

pub(crate) fn execute(graph: &TenantGraph, bound: &Bound, settings: &Settings) -> Result<Answer, QueryError> {
    let started = Instant::now();
    let mut run = Run {
        graph,
        bound,
        limits: &settings.limits,
        spaces: HashMap::new(),
        work: 0,
        next_clock: CLOCK_EVERY,
        started,
        sink: Sink::new(bound),
        used: Vec::new(),
    };
    run.load_spaces(&settings.containment)?;
    let plan = plan(graph, bound, &run.spaces);
    run.start(&plan)?;
    let work = run.work;
    let rows = run.sink.finish(bound)?;
    Ok(Answer { work: work + rows.len() as u64, rows })
}

/// The plan of a query as text: where it starts, the links it walks in order, and when each WHERE term is tested.
pub(crate) fn explain(graph: &TenantGraph, bound: &Bound, settings: &Settings) -> Result<String, QueryError> {
    let mut run = Run {
        graph,
        bound,
        limits: &settings.limits,
        spaces: HashMap::new(),
        work: 0,
        next_clock: CLOCK_EVERY,
        started: Instant::now(),
        sink: Sink::new(bound),
        used: Vec::new(),
    };
    run.load_spaces(&settings.containment)?;
    let plan = plan(graph, bound, &run.spaces);
    let terms = |at: usize| -> String {
        let list: Vec<String> = plan.checks[at].iter().map(|c| format!("#{}", c + 1)).collect();
        if list.is_empty() { String::new() } else { format!(", test WHERE term {}", list.join(" ")) }
    };
    let answered = plan.answered.map_or_else(String::new, |t| format!(" answering WHERE term #{}", t + 1));
    let mut out = match &plan.start {
        Start::Twins { slot, from } => {
            let how = match from {
                Candidates::Ids(slots) => format!("by id ({})", twins(slots.len())),
                Candidates::Model(model, how) => {
                    format!("by model {model} {how:?} ({})", twins(graph.count_of_model(model, *how)))
                }
                Candidates::Space(space) => format!("in space {space} ({})", twins(run.spaces[space].members.len())),
                Candidates::All => format!("by scanning all twins ({})", twins(graph.twin_count())),
            };
            format!("start at collection {slot} {how}{}{}", answered, terms(0))
        }
        Start::Relationships(from) => {
            let how = match from {
                RelationshipStart::Sources(slots) => format!("from source twins ({})", twins(slots.len())),
                RelationshipStart::Targets(slots) => format!("to target twins ({})", twins(slots.len())),
                RelationshipStart::All => "by scanning all relationships".to_owned(),
            };
            format!("start at relationships {how}{}{}", answered, terms(0))
        }
    };
    for (i, step) in plan.steps.iter().enumerate() {
        let link = &bound.links[step.link];
        let (from, to) = if step.forward { (link.left, link.right) } else { (link.right, link.left) };
        let verb = if step.check { "check" } else { "walk" };
        let names = if link.names.is_empty() { "any".to_owned() } else { link.names.join("|") };
        let hops = if link.min_hops == link.max_hops {
            format!("{}", link.min_hops)
        } else {
            format!("{}..={}", link.min_hops, link.max_hops)
        };
        let arrow = match (link.direction, step.forward) {
            (Direction::Either, _) => "-",
            (Direction::Outgoing, true) | (Direction::Incoming, false) => "->",
            _ => "<-",
        };
        out.push_str(&format!("\n{verb} {from} {arrow}[{names} x{hops}] {to}{}", terms(i + 1)));
    }
    Ok(out)
}

fn twins(n: usize) -> String {
    if n == 1 { "1 twin".to_owned() } else { format!("{n} twins") }
}

/// The clock is read once per this many units of work.
const CLOCK_EVERY: u64 = 4096;

/// What one slot of a row holds.
#[derive(Clone, Copy, Debug)]
enum Item<'g> {
    Empty,
    Twin(u32),
    Relationship(EdgeRef<'g>),
}

// ---- planning ----

#[derive(Debug)]
struct Plan {
    start: Start,
    /// The WHERE term the start answers exactly (ids, a model, a subtree), which is not tested again.
    answered: Option<usize>,
    steps: Vec<PlanStep>,
    /// `checks[0]` holds the WHERE terms to test once the start is bound, `checks[i + 1]` those to test after step `i`.
    checks: Vec<Vec<usize>>,
}

#[derive(Debug, PartialEq)]
enum Start {
    Twins { slot: usize, from: Candidates },
    Relationships(RelationshipStart),
}

/// Where the first twins come from.
#[derive(Debug, PartialEq)]
enum Candidates {
    /// `$dtId = 'x'` or `$dtId IN [...]`: the slots of those ids.
    Ids(Vec<u32>),
    /// `IS_OF_MODEL`: the by-model index.
    Model(String, ModelMatch),
    /// `IN_SPACE`: the members of a containment subtree.
    Space(String),
    All,
}

#[derive(Debug, PartialEq)]
enum RelationshipStart {
    Sources(Vec<u32>),
    Targets(Vec<u32>),
    All,
}

/// Walk one link from its bound end to its other end; `check` when both ends are already bound.
#[derive(Debug)]
struct PlanStep {
    link: usize,
    forward: bool,
    check: bool,
}

fn plan(graph: &TenantGraph, bound: &Bound, spaces: &HashMap<String, Space>) -> Plan {
    let (start, answered) = match bound.from {
        Collection::Relationships => {
            let (from, term) = relationship_start(graph, bound);
            (Start::Relationships(from), term)
        }
        Collection::DigitalTwins => twin_start(graph, bound, spaces),
    };
    let mut bound_slots = vec![false; bound.slots.len()];
    match &start {
        Start::Twins { slot, .. } => bound_slots[*slot] = true,
        Start::Relationships(_) => bound_slots[0] = true,
    }
    let mut steps = Vec::with_capacity(bound.links.len());
    let mut done = vec![false; bound.links.len()];
    // Every link touches a bound slot sooner or later: the binder refuses collections no link connects.
    while let Some(i) = (0..bound.links.len()).find(|&i| {
        let l = &bound.links[i];
        !done[i] && (bound_slots[l.left] || bound_slots[l.right])
    }) {
        let link = &bound.links[i];
        let forward = bound_slots[link.left];
        let check = bound_slots[link.left] && bound_slots[link.right];
        bound_slots[link.left] = true;
        bound_slots[link.right] = true;
        if let Some(r) = link.relationship {
            bound_slots[r] = true;
        }
        done[i] = true;
        steps.push(PlanStep { link: i, forward, check });
    }
    // The point (0 = start, i + 1 = after step i) at which each slot is bound.
    let mut ready_at = vec![usize::MAX; bound.slots.len()];
    match &start {
        Start::Twins { slot, .. } => ready_at[*slot] = 0,
        Start::Relationships(_) => ready_at[0] = 0,
    }
    for (i, step) in steps.iter().enumerate() {
        let link = &bound.links[step.link];
        for slot in [Some(link.left), Some(link.right), link.relationship].into_iter().flatten() {
            ready_at[slot] = ready_at[slot].min(i + 1);
        }
    }
    let mut checks = vec![Vec::new(); steps.len() + 1];
    for (c, cond) in bound.conjuncts.iter().enumerate() {
        if answered == Some(c) {
            continue;
        }
        let mut slots = Vec::new();
        cond.slots(&mut slots);
        let at = slots.iter().map(|&s| ready_at[s]).max().unwrap_or(0).min(steps.len());
        checks[at].push(c);
    }
    Plan { start, answered, steps, checks }
}

/// The cheapest start among the twin slots: the one whose own WHERE terms name the fewest twins.
/// Also gives the WHERE term the start answers exactly, which need not be tested again.
fn twin_start(graph: &TenantGraph, bound: &Bound, spaces: &HashMap<String, Space>) -> (Start, Option<usize>) {
    let mut best: Option<(usize, usize, Candidates, usize)> = None;
    for (term, cond) in bound.conjuncts.iter().enumerate() {
        let Some((slot, candidates)) = twin_anchor(graph, cond) else { continue };
        let cost = match &candidates {
            Candidates::Ids(slots) => slots.len(),
            Candidates::Model(model, how) => graph.count_of_model(model, *how),
            Candidates::Space(space) => spaces.get(space).map_or(0, |s| s.members.len()),
            Candidates::All => usize::MAX,
        };
        if best.as_ref().is_none_or(|(c, s, ..)| cost < *c || (cost == *c && slot < *s)) {
            best = Some((cost, slot, candidates, term));
        }
    }
    match best {
        Some((_, slot, from, term)) => (Start::Twins { slot, from }, Some(term)),
        None => {
            let slot = bound.slots.iter().position(|k| *k == SlotKind::Twin).expect("a twin query has a twin slot");
            (Start::Twins { slot, from: Candidates::All }, None)
        }
    }
}

/// The twins a WHERE term alone admits for one slot, when it names them through an index.
fn twin_anchor(graph: &TenantGraph, cond: &Cond) -> Option<(usize, Candidates)> {
    match cond {
        Cond::Compare { op: CompareOp::Eq, lhs, rhs } => {
            let (slot, literal) = match (lhs, rhs) {
                (path, Operand::Literal(v)) | (Operand::Literal(v), path) => (key_slot(path, "$dtId")?, v),
                _ => return None,
            };
            // A non-string literal can never equal an id, so no twin starts the query.
            Some((slot, Candidates::Ids(literal.as_str().and_then(|id| graph.slot(id)).into_iter().collect())))
        }
        Cond::In { value, negated: false, list } => {
            let slot = key_slot(value, "$dtId")?;
            let mut slots: Vec<u32> = list.iter().filter_map(Value::as_str).filter_map(|id| graph.slot(id)).collect();
            slots.sort_unstable();
            slots.dedup();
            Some((slot, Candidates::Ids(slots)))
        }
        Cond::IsOfModel { slot, model, how } => Some((*slot, Candidates::Model(model.clone(), *how))),
        Cond::InSpace { slot, space } => Some((*slot, Candidates::Space(space.clone()))),
        _ => None,
    }
}

fn relationship_start(graph: &TenantGraph, bound: &Bound) -> (RelationshipStart, Option<usize>) {
    let mut best = (RelationshipStart::All, None);
    let mut best_cost = usize::MAX;
    for (term, cond) in bound.conjuncts.iter().enumerate() {
        for (key, make) in [
            ("$sourceId", RelationshipStart::Sources as fn(Vec<u32>) -> RelationshipStart),
            ("$targetId", RelationshipStart::Targets),
        ] {
            let ids: Vec<&Value> = match cond {
                Cond::Compare { op: CompareOp::Eq, lhs, rhs } => match (lhs, rhs) {
                    (path, Operand::Literal(v)) | (Operand::Literal(v), path) if key_slot(path, key) == Some(0) => {
                        vec![v]
                    }
                    _ => continue,
                },
                Cond::In { value, negated: false, list } if key_slot(value, key) == Some(0) => list.iter().collect(),
                _ => continue,
            };
            let mut slots: Vec<u32> =
                ids.into_iter().filter_map(Value::as_str).filter_map(|id| graph.slot(id)).collect();
            slots.sort_unstable();
            slots.dedup();
            if slots.len() < best_cost {
                best_cost = slots.len();
                best = (make(slots), Some(term));
            }
        }
    }
    best
}

/// The slot of a path that is exactly `slot.key`.
fn key_slot(operand: &Operand, key: &str) -> Option<usize> {
    match operand {
        Operand::Path { slot, keys } if keys.len() == 1 && keys[0] == key => Some(*slot),
        _ => None,
    }
}

// ---- containment ----

/// The members of one containment subtree: the space and every twin below it.
#[derive(Debug)]
struct Space {
    members: Vec<u32>,
    bits: Vec<u64>,
}

impl Space {
    fn contains(&self, slot: u32) -> bool {
        self.bits.get(slot as usize / 64).is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }
}

// ---- execution ----

struct Run<'g, 'q> {
    graph: &'g TenantGraph,
    bound: &'q Bound,
    limits: &'q Limits,
    spaces: HashMap<String, Space>,
    work: u64,
    next_clock: u64,
    started: Instant,
    sink: Sink,
    /// The relationships of the current row's MATCH paths, as (source slot, index), so none is used twice.
    used: Vec<(u32, u32)>,
}

/// One link being walked: from which step, toward which slot, in which direction, to which twin if already bound.
struct Hop<'q> {
    at: usize,
    link: &'q Link,
    to: usize,
    direction: Direction,
    expected: Option<u32>,
}

/// Whether the walk should go on (false once TOP is reached).
type Flow = Result<bool, QueryError>;

impl<'g> Run<'g, '_> {
    /// Counts work and enforces the time budget.
    fn tick(&mut self, units: u64) -> Result<(), QueryError> {
        self.work += units;
        if self.work >= self.next_clock {
            self.next_clock = self.work + CLOCK_EVERY;
            if self.started.elapsed() > self.limits.time_max {
                return Err(QueryError::LimitExceeded {
                    code: TIME_EXCEEDED,
                    message: format!("the query ran longer than the limit of {} ms", self.limits.time_max.as_millis()),
                });
            }
        }
        Ok(())
    }

    /// Computes the subtree of every space an `IN_SPACE` term names, following the containment relationships.
    fn load_spaces(&mut self, containment: &Containment) -> Result<(), QueryError> {
        let mut wanted = Vec::new();
        for cond in &self.bound.conjuncts {
            spaces_in(cond, &mut wanted);
        }
        for space in wanted {
            if self.spaces.contains_key(space) {
                continue;
            }
            let mut members = Vec::new();
            let mut bits = vec![0u64; self.graph.slot_bound().div_ceil(64)];
            if let Some(root) = self.graph.slot(space) {
                bits[root as usize / 64] |= 1 << (root % 64);
                members.push(root);
                let mut next = 0;
                while next < members.len() {
                    let node = members[next];
                    next += 1;
                    let down = self
                        .graph
                        .outgoing_at(node)
                        .filter(|e| containment.parent_to_child.iter().any(|n| n == e.name))
                        .map(|e| e.target);
                    let up = self
                        .graph
                        .incoming_at(node)
                        .filter(|e| containment.child_to_parent.iter().any(|n| n == e.name))
                        .map(|e| e.source);
                    let before = members.len();
                    for child in down.chain(up) {
                        let (word, bit) = (child as usize / 64, 1 << (child % 64));
                        if bits[word] & bit == 0 {
                            bits[word] |= bit;
                            members.push(child);
                        }
                    }
                    self.tick(1 + (members.len() - before) as u64)?;
                }
            }
            self.spaces.insert(space.to_owned(), Space { members, bits });
        }
        Ok(())
    }

    fn start(&mut self, plan: &Plan) -> Result<(), QueryError> {
        let graph = self.graph;
        let mut row = vec![Item::Empty; self.bound.slots.len()];
        match &plan.start {
            Start::Twins { slot, from } => {
                let mut visit = |run: &mut Self, twin: u32| -> Flow {
                    row[*slot] = Item::Twin(twin);
                    run.tick(1)?;
                    if !run.passes(&plan.checks[0], &row) {
                        return Ok(true);
                    }
                    run.walk(plan, &mut row, 0)
                };
                match from {
                    Candidates::Ids(slots) => {
                        for &twin in slots {
                            if !visit(self, twin)? {
                                break;
                            }
                        }
                    }
                    Candidates::Model(model, how) => {
                        let mut slots = graph.slots_of_model(model, *how);
                        slots.sort_unstable();
                        for twin in slots {
                            if !visit(self, twin)? {
                                break;
                            }
                        }
                    }
                    Candidates::Space(space) => {
                        let members = self.spaces[space].members.clone();
                        for twin in members {
                            if !visit(self, twin)? {
                                break;
                            }
                        }
                    }
                    Candidates::All => {
                        for twin in graph.slots() {
                            if !visit(self, twin)? {
                                break;
                            }
                        }
                    }
                }
            }
            Start::Relationships(from) => {
                let mut visit = |run: &mut Self, edge: EdgeRef<'g>| -> Flow {
                    row[0] = Item::Relationship(edge);
                    run.tick(1)?;
                    if !run.passes(&plan.checks[0], &row) {
                        return Ok(true);
                    }
                    run.walk(plan, &mut row, 0)
                };
                let edges: Box<dyn Iterator<Item = EdgeRef<'g>>> = match from {
                    RelationshipStart::Sources(slots) => {
                        Box::new(slots.clone().into_iter().flat_map(|s| graph.outgoing_at(s)))
                    }
                    RelationshipStart::Targets(slots) => {
                        Box::new(slots.clone().into_iter().flat_map(|s| graph.incoming_at(s)))
                    }
                    RelationshipStart::All => Box::new(graph.slots().flat_map(|s| graph.outgoing_at(s))),
                };
                for edge in edges {
                    if !visit(self, edge)? {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Binds the links from `at` on, depth first, and hands complete rows to the sink.
    fn walk(&mut self, plan: &Plan, row: &mut [Item<'g>], at: usize) -> Flow {
        let Some(step) = plan.steps.get(at) else {
            let ctx = Ctx { graph: self.graph, spaces: &self.spaces };
            return self.sink.push(&ctx, self.bound, self.limits, row);
        };
        let link = &self.bound.links[step.link];
        let (from, to) = if step.forward { (link.left, link.right) } else { (link.right, link.left) };
        let direction = match (link.direction, step.forward) {
            (Direction::Outgoing, false) => Direction::Incoming,
            (Direction::Incoming, false) => Direction::Outgoing,
            (d, _) => d,
        };
        let Item::Twin(origin) = row[from] else { unreachable!("a link's bound end is a twin") };
        let expected = match row[to] {
            Item::Twin(slot) if step.check => Some(slot),
            _ => None,
        };
        let hop = Hop { at, link, to, direction, expected };
        let flow = self.hop(plan, row, &hop, origin, 1)?;
        if !step.check {
            row[to] = Item::Empty;
        }
        Ok(flow)
    }

    /// Extends a path of `depth - 1` hops at `node` by one relationship, binds the far end once the path is long
    /// enough, and goes deeper while it may. Within one MATCH pattern a relationship is used at most once (which is
    /// how cycles end), and each path is its own row, as the equivalent JOINs would give.
    fn hop(&mut self, plan: &Plan, row: &mut [Item<'g>], hop: &Hop<'_>, node: u32, depth: u32) -> Flow {
        let graph = self.graph;
        let link = hop.link;
        let named = |e: &EdgeRef<'_>| link.names.is_empty() || link.names.iter().any(|n| n == e.name);
        let out = matches!(hop.direction, Direction::Outgoing | Direction::Either)
            .then(|| graph.outgoing_at(node).filter(named).map(|e| (e.target, e)));
        let inc = matches!(hop.direction, Direction::Incoming | Direction::Either)
            .then(|| graph.incoming_at(node).filter(named).map(|e| (e.source, e)));
        for (other, edge) in out.into_iter().flatten().chain(inc.into_iter().flatten()) {
            self.tick(1)?;
            let key = (edge.source, edge.index);
            if link.distinct && self.used.contains(&key) {
                continue;
            }
            self.used.push(key);
            let mut go_on = true;
            if depth >= link.min_hops && hop.expected.is_none_or(|slot| slot == other) {
                row[hop.to] = Item::Twin(other);
                if let Some(r) = link.relationship {
                    row[r] = Item::Relationship(edge);
                }
                go_on = !self.passes(&plan.checks[hop.at + 1], row) || self.walk(plan, row, hop.at + 1)?;
            }
            if go_on && depth < link.max_hops {
                go_on = self.hop(plan, row, hop, other, depth + 1)?;
            }
            self.used.pop();
            if !go_on {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn passes(&self, checks: &[usize], row: &[Item<'g>]) -> bool {
        let ctx = Ctx { graph: self.graph, spaces: &self.spaces };
        checks.iter().all(|&c| ctx.eval(&self.bound.conjuncts[c], row) == Some(true))
    }
}

fn spaces_in<'q>(cond: &'q Cond, out: &mut Vec<&'q str>) {
    match cond {
        Cond::InSpace { space, .. } => out.push(space),
        Cond::Logical { lhs, rhs, .. } => {
            spaces_in(lhs, out);
            spaces_in(rhs, out);
        }
        Cond::Not(inner) => spaces_in(inner, out),
        Cond::Compare { lhs, rhs, .. } => {
            for operand in [lhs, rhs] {
                if let Operand::Cond(inner) = operand {
                    spaces_in(inner, out);
                }
            }
        }
        Cond::In { value: Operand::Cond(inner), .. } | Cond::Value(Operand::Cond(inner)) => spaces_in(inner, out),
        Cond::Call { args, .. } => {
            for arg in args {
                if let Operand::Cond(inner) = arg {
                    spaces_in(inner, out);
                }
            }
        }
        _ => {}
    }
}

// ---- evaluation ----

/// What evaluating a condition reads besides the row.
struct Ctx<'a> {
    graph: &'a TenantGraph,
    spaces: &'a HashMap<String, Space>,
}

impl Ctx<'_> {
    /// Three-valued evaluation: `None` is unknown (an operand is undefined), and only `Some(true)` keeps a row.
    fn eval(&self, cond: &Cond, row: &[Item<'_>]) -> Option<bool> {
        match cond {
            Cond::Compare { op, lhs, rhs } => {
                let (l, r) = (self.value(lhs, row)?, self.value(rhs, row)?);
                Some(compare(*op, &l, &r))
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
            Cond::In { value, negated, list } => {
                let value = self.value(value, row)?;
                let found = list.iter().any(|item| compare(CompareOp::Eq, &value, item));
                Some(found != *negated)
            }
            Cond::IsOfModel { slot, model, how } => {
                let Item::Twin(twin) = row[*slot] else { return None };
                let twin_model = self.graph.twin_at(twin)?.model();
                Some(self.graph.model_set().is_a(twin_model, model, *how))
            }
            Cond::InSpace { slot, space } => {
                let Item::Twin(twin) = row[*slot] else { return None };
                Some(self.spaces.get(space).is_some_and(|s| s.contains(twin)))
            }
            Cond::Call { function, args } => Some(self.call(function, args, row)),
            Cond::Value(operand) => self.value(operand, row).map(|v| *v == Value::Bool(true)),
        }
    }

    fn call(&self, function: &Function, args: &[Operand], row: &[Item<'_>]) -> bool {
        let arg = |i: usize| self.value(&args[i], row);
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
    fn value<'o>(&self, operand: &'o Operand, row: &[Item<'_>]) -> Option<Cow<'o, Value>> {
        match operand {
            Operand::Literal(v) => Some(Cow::Borrowed(v)),
            Operand::Path { slot, keys } => item_value(self.graph, row[*slot], keys).map(Cow::Owned),
            Operand::Cond(cond) => self.eval(cond, row).map(|b| Cow::Owned(Value::Bool(b))),
        }
    }
}

/// The value at `keys` inside a slot's document; metadata is read without parsing the document.
fn item_value(graph: &TenantGraph, item: Item<'_>, keys: &[String]) -> Option<Value> {
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
                None => return Some(relationship_json(graph, &edge)),
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

fn descend(mut value: Value, keys: &[String]) -> Option<Value> {
    for key in keys {
        value = match value {
            Value::Object(mut map) => map.shift_remove(key)?,
            _ => return None,
        };
    }
    Some(value)
}

fn relationship_json(graph: &TenantGraph, edge: &EdgeRef<'_>) -> Value {
    let id_of = |slot: u32| graph.twin_at(slot).map_or_else(String::new, |t| t.id.clone());
    let mut out = Map::new();
    out.insert("$relationshipId".to_owned(), Value::String(edge.id.to_owned()));
    out.insert("$etag".to_owned(), Value::String(etag_text(edge.etag)));
    out.insert("$sourceId".to_owned(), Value::String(id_of(edge.source)));
    out.insert("$relationshipName".to_owned(), Value::String(edge.name.to_owned()));
    out.insert("$targetId".to_owned(), Value::String(id_of(edge.target)));
    for (k, v) in edge.properties.into_iter().flatten() {
        out.insert(k.clone(), v.clone());
    }
    Value::Object(out)
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

/// The total order of ORDER BY, MIN and MAX: undefined, null, false, true, numbers, strings, arrays, objects.
fn total_order(l: Option<&Value>, r: Option<&Value>) -> Ordering {
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

fn order_rows(keys: &[OrderKey], a: &[Option<Value>], b: &[Option<Value>]) -> Ordering {
    for (i, key) in keys.iter().enumerate() {
        let ordering = total_order(a[i].as_ref(), b[i].as_ref());
        let ordering = if key.descending { ordering.reverse() } else { ordering };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

// ---- the sink ----

enum Sink {
    /// Rendered rows, each with its ORDER BY values.
    Rows(Vec<(Vec<Option<Value>>, Row)>),
    Groups {
        index: FxHashMap<Box<[u8]>, usize>,
        groups: Vec<Group>,
        /// The name of the current row's group, in a buffer kept between rows.
        name: Vec<u8>,
    },
}

struct Group {
    keys: Vec<Option<Value>>,
    accumulators: Vec<Accumulator>,
}

enum Accumulator {
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
    fn new(bound: &Bound) -> Sink {
        match bound.output {
            Output::Groups { .. } => Sink::Groups { index: FxHashMap::default(), groups: Vec::new(), name: Vec::new() },
            _ => Sink::Rows(Vec::new()),
        }
    }

    fn push(&mut self, ctx: &Ctx<'_>, bound: &Bound, limits: &Limits, row: &[Item<'_>]) -> Flow {
        let graph = ctx.graph;
        let held = match self {
            Sink::Rows(rows) => {
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
                let order = bound
                    .order_by
                    .iter()
                    .map(|key| match &key.source {
                        OrderSource::Row(operand) => ctx.value(operand, row).map(Cow::into_owned),
                        OrderSource::Column(i) => columns[*i].clone(),
                        OrderSource::Key(_) => unreachable!("group keys order grouped queries"),
                    })
                    .collect();
                rows.push((order, text));
                rows.len()
            }
            Sink::Groups { index, groups, name } => {
                let Output::Groups { keys, columns } = &bound.output else { unreachable!("the group sink groups") };
                let values: Vec<Option<Value>> = keys.iter().map(|k| ctx.value(k, row).map(Cow::into_owned)).collect();
                group_name(&values, name);
                let at = match index.get(name.as_slice()) {
                    Some(&at) => at,
                    None => {
                        let accumulators = columns.iter().map(|c| Accumulator::new(&c.value)).collect();
                        groups.push(Group { keys: values, accumulators });
                        index.insert(name.clone().into_boxed_slice(), groups.len() - 1);
                        groups.len() - 1
                    }
                };
                for (acc, column) in groups[at].accumulators.iter_mut().zip(columns) {
                    acc.add(ctx, &column.value, row);
                }
                groups.len()
            }
        };
        if held > limits.rows_max {
            return Err(QueryError::LimitExceeded {
                code: ROWS_EXCEEDED,
                message: format!("the query holds more rows than the limit of {}", limits.rows_max),
            });
        }
        let unordered_rows = matches!(self, Sink::Rows(_)) && bound.order_by.is_empty();
        Ok(!(unordered_rows && bound.top.is_some_and(|top| held >= top)))
    }

    fn finish(self, bound: &Bound) -> Result<Vec<Row>, QueryError> {
        let top = bound.top.unwrap_or(usize::MAX);
        match self {
            Sink::Rows(mut rows) => {
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

/// A group's identity: its key values as JSON text, undefined written as nothing.
/// A group's identity, written into `name`: each key value's JSON text (or, for a string without NULs, the most
/// common case, `s` and its bytes), nothing when undefined, each followed by a NUL, which neither form holds.
fn group_name(values: &[Option<Value>], name: &mut Vec<u8>) {
    name.clear();
    for value in values {
        match value {
            Some(Value::String(text)) if !text.contains('\0') => {
                name.push(b's');
                name.extend_from_slice(text.as_bytes());
            }
            Some(other) => write_value(other, name),
            None => {}
        }
        name.push(0);
    }
}

impl Accumulator {
    fn new(value: &ColumnValue) -> Accumulator {
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
    fn add(&mut self, ctx: &Ctx<'_>, column: &ColumnValue, row: &[Item<'_>]) {
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

    fn result(self) -> Option<Value> {
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

fn render_item(graph: &TenantGraph, item: Item<'_>) -> Row {
    let mut out = Vec::new();
    write_item(graph, item, &mut out);
    raw(out)
}

/// A whole twin or relationship document, the twin's written straight from its kept text.
fn write_item(graph: &TenantGraph, item: Item<'_>, out: &mut Vec<u8>) {
    match item {
        Item::Twin(slot) => match graph.twin_at(slot) {
            Some(twin) => twin.write_json(out),
            None => out.extend_from_slice(b"null"),
        },
        Item::Relationship(edge) => write_value(&relationship_json(graph, &edge), out),
        Item::Empty => out.extend_from_slice(b"null"),
    }
}

fn write_value(value: &Value, out: &mut Vec<u8>) {
    serde_json::to_writer(out, value).expect("writing JSON into memory cannot fail");
}

/// One ungrouped row as `{"key": value, …}`, undefined values left out.
fn write_row(ctx: &Ctx<'_>, columns: &[Column], row: &[Item<'_>]) -> Row {
    let mut out = Vec::with_capacity(64);
    out.push(b'{');
    for column in columns {
        let ColumnValue::Value(operand) = &column.value else { unreachable!("ungrouped columns are values") };
        let start = out.len();
        if start > 1 {
            out.push(b',');
        }
        serde_json::to_writer(&mut out, &column.key).expect("writing JSON into memory cannot fail");
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

/// `{"key": value, …}` with undefined values left out.
fn render_columns(columns: &[Column], values: &[Option<Value>]) -> Row {
    let mut out = Map::new();
    for (column, value) in columns.iter().zip(values) {
        if let Some(v) = value {
            out.insert(column.key.clone(), v.clone());
        }
    }
    let mut text = Vec::new();
    write_value(&Value::Object(out), &mut text);
    raw(text)
}

fn raw(text: Vec<u8>) -> Row {
    Row::new(String::from_utf8(text).expect("JSON is UTF-8"))
}
