//! The planner and executor: picks the collection to start from and how to find its first twins (ids, the model
//! index, a subtree of the graph's containment tree, or a scan), orders the JOIN and MATCH links outward from it, and walks rows depth
//! first, testing each WHERE term as soon as the collections it reads are bound.
//!
//! A row is a vector of slot references (twin slots and relationship references into the graph), so walking copies
//! no documents; properties are read from a twin's kept text only when a term or a projection needs them.
//! Complete rows go to a sink that renders them as JSON text, or sorts them, or folds them into groups.

use std::collections::HashMap;
use std::time::Instant;

use graph::{EdgeRef, TenantGraph};
use query_syntax::Direction;

use crate::bind::{Bound, Cond, Link, Operand};
use crate::error::{QueryError, TIME_EXCEEDED};
use crate::eval::Ctx;
use crate::plan::{Candidates, Plan, RelationshipStart, Start, plan};
use crate::sink::Sink;
use crate::{Answer, Limits, Settings};

pub(crate) fn execute(graph: &TenantGraph, bound: &Bound, settings: &Settings) -> Result<Answer, QueryError> {
    let mut run = Run::new(graph, bound, settings)?;
    let plan = plan(graph, bound, &run.spaces);
    run.start(&plan)?;
    let work = run.work;
    let rows = run.sink.finish(bound)?;
    Ok(Answer { work: work + rows.len() as u64, rows })
}

/// The plan of a query as text: where it starts, the links it walks in order, and when each WHERE term is tested.
pub(crate) fn explain(graph: &TenantGraph, bound: &Bound, settings: &Settings) -> Result<String, QueryError> {
    let run = Run::new(graph, bound, settings)?;
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
                Candidates::Space(space) => format!("in space {space} ({})", twins(run.spaces[space].size(graph))),
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
const CLOCK_EVERY: u64 = 256;

/// What one slot of a row holds.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Item<'g> {
    Empty,
    Twin(u32),
    Relationship(EdgeRef<'g>),
}

// ---- containment ----

/// The space an `IN_SPACE` term names: the slot of its twin in the graph's containment tree, `None` when no twin has
/// that id (then it contains nothing).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Space {
    pub(crate) root: Option<u32>,
}

impl Space {
    /// How many twins the subtree holds, kept by the tree.
    pub(crate) fn size(&self, graph: &TenantGraph) -> usize {
        self.root.map_or(0, |root| graph.subtree_size_at(root))
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
    /// The link's relationship names as the graph's name ids; `None` for any name.
    names: Option<&'q [u32]>,
    to: usize,
    direction: Direction,
    expected: Option<u32>,
}

/// Either every relationship of a twin or those of some names, as one iterator type.
enum Edges<A, B> {
    All(A),
    Named(B),
}

impl<'g, A: Iterator<Item = EdgeRef<'g>>, B: Iterator<Item = EdgeRef<'g>>> Iterator for Edges<A, B> {
    type Item = EdgeRef<'g>;

    fn next(&mut self) -> Option<EdgeRef<'g>> {
        match self {
            Edges::All(all) => all.next(),
            Edges::Named(named) => named.next(),
        }
    }
}

/// Whether the walk should go on (false once TOP is reached).
pub(crate) type Flow = Result<bool, QueryError>;

impl<'g, 'q> Run<'g, 'q> {
    /// A run about to start: the clock started and the spaces of its `IN_SPACE` terms found.
    pub(crate) fn new(graph: &'g TenantGraph, bound: &'q Bound, settings: &'q Settings) -> Result<Self, QueryError> {
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
        run.load_spaces();
        Ok(run)
    }

    /// Counts work and enforces the time budget.
    pub(crate) fn tick(&mut self, units: u64) -> Result<(), QueryError> {
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

    /// Finds the twin of every space an `IN_SPACE` term names; the graph keeps their subtrees.
    pub(crate) fn load_spaces(&mut self) {
        let mut wanted = Vec::new();
        for cond in &self.bound.conjuncts {
            spaces_in(cond, &mut wanted);
        }
        for space in wanted {
            self.spaces.insert(space.to_owned(), Space { root: self.graph.slot(space) });
        }
    }

    pub(crate) fn start(&mut self, plan: &Plan) -> Result<(), QueryError> {
        let graph = self.graph;
        let mut row = vec![Item::Empty; self.bound.slots.len()];
        match &plan.start {
            Start::Twins { slot, from } => {
                let mut visit = |run: &mut Self, twin: u32| -> Flow {
                    row[*slot] = Item::Twin(twin);
                    run.tick(1)?;
                    if !run.passes(&plan.checks[0], &row)? {
                        return Ok(true);
                    }
                    run.walk(plan, &mut row, 0)
                };
                let twins: Box<dyn Iterator<Item = u32> + '_> = match from {
                    Candidates::Ids(slots) => Box::new(slots.iter().copied()),
                    Candidates::Model(model, how) => {
                        let mut slots = graph.slots_of_model(model, *how);
                        slots.sort_unstable();
                        Box::new(slots.into_iter())
                    }
                    Candidates::Space(space) => {
                        let root = self.spaces[space].root;
                        Box::new(root.into_iter().flat_map(|root| graph.subtree_at(root)))
                    }
                    Candidates::All => Box::new(graph.slots()),
                };
                for twin in twins {
                    if !visit(self, twin)? {
                        break;
                    }
                }
            }
            Start::Relationships(from) => {
                let mut visit = |run: &mut Self, edge: EdgeRef<'g>| -> Flow {
                    row[0] = Item::Relationship(edge);
                    run.tick(1)?;
                    if !run.passes(&plan.checks[0], &row)? {
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
    pub(crate) fn walk(&mut self, plan: &Plan, row: &mut [Item<'g>], at: usize) -> Flow {
        let Some(step) = plan.steps.get(at) else {
            let ctx = Ctx::new(self.graph, &self.spaces);
            let pushed = self.sink.push(&ctx, self.bound, self.limits, row)?;
            let read = ctx.read.get();
            self.tick(1 + (pushed.bytes as u64 + read) / 64)?;
            return Ok(pushed.go_on);
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
        let hop = Hop { at, link, names: plan.names[step.link].as_deref(), to, direction, expected };
        let flow = self.hop(plan, row, &hop, origin, 1)?;
        if !step.check {
            row[to] = Item::Empty;
        }
        Ok(flow)
    }

    /// Extends a path of `depth - 1` hops at `node` by one relationship, binds the far end once the path is long
    /// enough, and goes deeper while it may. Within one MATCH pattern a relationship is used at most once (which is
    /// how cycles end), and each path is its own row, as the equivalent JOINs would give.
    pub(crate) fn hop(&mut self, plan: &Plan, row: &mut [Item<'g>], hop: &Hop<'_>, node: u32, depth: u32) -> Flow {
        let graph = self.graph;
        let link = hop.link;
        let out = matches!(hop.direction, Direction::Outgoing | Direction::Either).then(|| {
            match hop.names {
                None => Edges::All(graph.outgoing_at(node)),
                Some(names) => Edges::Named(graph.outgoing_named_at(node, names)),
            }
            .map(|e| (e.target, e))
        });
        let inc = matches!(hop.direction, Direction::Incoming | Direction::Either).then(|| {
            match hop.names {
                None => Edges::All(graph.incoming_at(node)),
                Some(names) => Edges::Named(graph.incoming_named_at(node, names)),
            }
            .map(|e| (e.source, e))
        });
        for (other, edge) in out.into_iter().flatten().chain(inc.into_iter().flatten()) {
            self.tick(1)?;
            let key = (edge.source, edge.index);
            if link.distinct && self.used.contains(&key) {
                continue;
            }
            if link.distinct {
                self.used.push(key);
            }
            let mut go_on = true;
            if depth >= link.min_hops && hop.expected.is_none_or(|slot| slot == other) {
                row[hop.to] = Item::Twin(other);
                if let Some(r) = link.relationship {
                    row[r] = Item::Relationship(edge);
                }
                go_on = !self.passes(&plan.checks[hop.at + 1], row)? || self.walk(plan, row, hop.at + 1)?;
            }
            if go_on && depth < link.max_hops {
                go_on = self.hop(plan, row, hop, other, depth + 1)?;
            }
            if link.distinct {
                self.used.pop();
            }
            if !go_on {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Whether the row passes the WHERE terms `checks`; the twin text read for them counts as work.
    pub(crate) fn passes(&mut self, checks: &[usize], row: &[Item<'g>]) -> Result<bool, QueryError> {
        if checks.is_empty() {
            return Ok(true);
        }
        let ctx = Ctx::new(self.graph, &self.spaces);
        let passes = checks.iter().all(|&c| ctx.eval(&self.bound.conjuncts[c], row) == Some(true));
        let read = ctx.read.get();
        self.tick(read / 64)?;
        Ok(passes)
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
