//! The planner: of the WHERE terms that name one collection's twins through an index, the cheapest picks where a
//! query starts; the JOIN and MATCH links are then ordered outward from there, and each other WHERE term is placed
//! after the step that binds the last collection it reads.

use std::collections::HashMap;

use graph::{ModelMatch, TenantGraph};
use query_syntax::{Collection, CompareOp};
use serde_json::Value;

use crate::bind::{Bound, Cond, Operand, SlotKind};
use crate::exec::Space;

#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) start: Start,
    /// Per link, its relationship names as the graph's name ids (names no relationship has are left out, so a link
    /// of only such names matches nothing); `None` for a link of any name.
    pub(crate) names: Vec<Option<Vec<u32>>>,
    /// The WHERE term the start answers exactly (ids, a model, a subtree), which is not tested again.
    pub(crate) answered: Option<usize>,
    pub(crate) steps: Vec<PlanStep>,
    /// `checks[0]` holds the WHERE terms to test once the start is bound, `checks[i + 1]` those to test after step `i`.
    pub(crate) checks: Vec<Vec<usize>>,
}

#[derive(Debug, PartialEq)]
pub(crate) enum Start {
    Twins { slot: usize, from: Candidates },
    Relationships(RelationshipStart),
}

/// Where the first twins come from.
#[derive(Debug, PartialEq)]
pub(crate) enum Candidates {
    /// `$dtId = 'x'` or `$dtId IN [...]`: the slots of those ids.
    Ids(Vec<u32>),
    /// `IS_OF_MODEL`: the by-model index.
    Model(String, ModelMatch),
    /// `IN_SPACE`: the subtree of a twin in the graph's containment tree.
    Space(String),
    All,
}

#[derive(Debug, PartialEq)]
pub(crate) enum RelationshipStart {
    Sources(Vec<u32>),
    Targets(Vec<u32>),
    All,
}

/// Walk one link from its bound end to its other end; `check` when both ends are already bound.
#[derive(Debug)]
pub(crate) struct PlanStep {
    pub(crate) link: usize,
    pub(crate) forward: bool,
    pub(crate) check: bool,
}

pub(crate) fn plan(graph: &TenantGraph, bound: &Bound, spaces: &HashMap<String, Space>) -> Plan {
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
    let names = bound
        .links
        .iter()
        .map(|link| {
            (!link.names.is_empty()).then(|| link.names.iter().filter_map(|n| graph.relationship_name_id(n)).collect())
        })
        .collect();
    Plan { start, names, answered, steps, checks }
}

/// The cheapest start among the twin slots: the one whose own WHERE terms name the fewest twins.
/// Also gives the WHERE term the start answers exactly, which need not be tested again.
pub(crate) fn twin_start(
    graph: &TenantGraph,
    bound: &Bound,
    spaces: &HashMap<String, Space>,
) -> (Start, Option<usize>) {
    let mut best: Option<(usize, usize, Candidates, usize)> = None;
    for (term, cond) in bound.conjuncts.iter().enumerate() {
        let Some((slot, candidates)) = twin_anchor(graph, cond) else { continue };
        // `$dtId` read on a relationship alias is no twin id (relationships have none): no start there.
        if bound.slots[slot] != SlotKind::Twin {
            continue;
        }
        let cost = match &candidates {
            Candidates::Ids(slots) => slots.len(),
            Candidates::Model(model, how) => graph.count_of_model(model, *how),
            Candidates::Space(space) => spaces.get(space).map_or(0, |s| s.size(graph)),
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
pub(crate) fn twin_anchor(graph: &TenantGraph, cond: &Cond) -> Option<(usize, Candidates)> {
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

pub(crate) fn relationship_start(graph: &TenantGraph, bound: &Bound) -> (RelationshipStart, Option<usize>) {
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
pub(crate) fn key_slot(operand: &Operand, key: &str) -> Option<usize> {
    match operand {
        Operand::Path { slot, keys } if keys.len() == 1 && keys[0] == key => Some(*slot),
        _ => None,
    }
}
