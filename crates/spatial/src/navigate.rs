//! The tree navigation of the 2018 management API: which spaces, devices, sensors and users a listing's `spaceId`, `traverse`, `minLevel`/`maxLevel`, `minRelative`/`maxRelative` and `useParentSpace` select from the graph's containment tree.
//!
//! `TreeFilter` parses and checks those parameters, `Kinds` says which twins are of which 2018 object kind and at which level they sit, and `select` visits only the part of the tree a filter can reach: the region attached directly to a space, a subtree, or the path up to a root; only a filter without a space, or a horizontal `Span`, looks at every twin of the kind.
//! It deliberately knows nothing of a listing's other parameters (ids, names, types, properties, OData, `includes`), of permissions or of rendering: the server applies those to the slots handed back.

use std::collections::HashMap;

use graph::TenantGraph;
use model::Dtmi;
use model::set::{Interface, ModelMatch};
use thiserror::Error;

pub use ontology::ObjectKind;

/// Which way a filter walks the tree from its space (`traverse`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Traverse {
    /// Objects whose space is the given space itself (the default).
    #[default]
    None,
    /// Objects whose space is the given space or a space below it.
    Down,
    /// Objects whose space is the given space or a space above it.
    Up,
    /// Objects anywhere in the graph whose level is within the bounds, at least one of them relative to the given space's level.
    Span,
}

impl Traverse {
    /// Every value, in the order error messages list them.
    pub const ALL: [Traverse; 4] = [Traverse::None, Traverse::Down, Traverse::Up, Traverse::Span];

    /// The value as the API spells it.
    pub fn name(self) -> &'static str {
        match self {
            Traverse::None => "None",
            Traverse::Down => "Down",
            Traverse::Up => "Up",
            Traverse::Span => "Span",
        }
    }

    /// The value of a `traverse` parameter, in any case (`down`, `Down`, `DOWN`).
    pub fn parse(text: &str) -> Option<Traverse> {
        Traverse::ALL.into_iter().find(|t| t.name().eq_ignore_ascii_case(text))
    }
}

/// The navigation parameters of one listing request.
///
/// `select` checks the combination again, so a filter built field by field is held to the same rules as one from `from_pairs`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TreeFilter {
    /// The space the filter starts from (`spaceId`): the id of a twin of a space model; `None` selects from the whole graph.
    pub space_id: Option<String>,
    /// Which spaces around `space_id` an object's space may be; anything but `None` needs `space_id`.
    pub traverse: Traverse,
    /// The lowest level selected, inclusive: absolute (root spaces are level 1), or with `min_relative` counted from the level of `space_id` (0 is that level, 1 its children's, -1 its parent's).
    pub min_level: Option<i32>,
    /// The highest level selected, inclusive, read as `min_level` is.
    pub max_level: Option<i32>,
    /// Whether `min_level` counts from the level of `space_id` (which it then needs).
    pub min_relative: bool,
    /// Whether `max_level` counts from the level of `space_id` (which it then needs).
    pub max_relative: bool,
    /// For spaces only: a space's own space is its parent space instead of itself, so `space_id` names the parent of the spaces selected (`spaceId=X&useParentSpace=true` lists X's child spaces). Needs `space_id`; ignored for other kinds.
    pub use_parent_space: bool,
}

impl TreeFilter {
    /// The filter of a request's query pairs.
    ///
    /// Names and values are read case-insensitively: `spaceId` (with the alias `spaceIds`, which the official sample sends), `traverse` (`None`, `Down`, `Up`, `Span`), `minLevel` and `maxLevel` (integers), `minRelative`, `maxRelative` and `useParentSpace` (`true` or `false`).
    /// An empty or blank value is the same as no parameter (`spaceId=` means no space); spaces around a value are ignored, except in `spaceId`, which is taken as given; other names are left to the caller.
    /// A bad value, a parameter given twice with different values, or a combination that needs a space without one is `InvalidInput` naming the parameter.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<TreeFilter, NavigateError> {
        let mut values: [Option<&str>; Param::ALL.len()] = [None; Param::ALL.len()];
        for (name, value) in pairs {
            let Some(param) = Param::from_name(name) else { continue };
            match values[param as usize] {
                Some(earlier) if earlier != value => {
                    return Err(NavigateError::invalid(
                        param,
                        format!("{} is given twice with different values ('{earlier}' and '{value}')", param.name()),
                    ));
                }
                _ => values[param as usize] = Some(value),
            }
        }
        let value = |param: Param| values[param as usize].filter(|v| !v.trim().is_empty());
        let traverse = match value(Param::Traverse) {
            None => Traverse::None,
            Some(text) => Traverse::parse(text.trim()).ok_or_else(|| {
                let names: Vec<&str> = Traverse::ALL.iter().map(|t| t.name()).collect();
                NavigateError::invalid(
                    Param::Traverse,
                    format!("traverse must be one of {} (in any case), not '{text}'", names.join(", ")),
                )
            })?,
        };
        let filter = TreeFilter {
            space_id: value(Param::SpaceId).map(str::to_owned),
            traverse,
            min_level: parse_level(Param::MinLevel, value(Param::MinLevel))?,
            max_level: parse_level(Param::MaxLevel, value(Param::MaxLevel))?,
            min_relative: parse_flag(Param::MinRelative, value(Param::MinRelative))?,
            max_relative: parse_flag(Param::MaxRelative, value(Param::MaxRelative))?,
            use_parent_space: parse_flag(Param::UseParentSpace, value(Param::UseParentSpace))?,
        };
        filter.check()?;
        Ok(filter)
    }

    /// Refuses the combinations that have no meaning: a traversal, a relative bound or `useParentSpace` without a space, and a `Span` without a relative bound.
    fn check(&self) -> Result<(), NavigateError> {
        if self.space_id.is_none() {
            if self.traverse != Traverse::None {
                return Err(NavigateError::invalid(
                    Param::Traverse,
                    format!("traverse={} needs spaceId: it walks the tree from that space", self.traverse.name()),
                ));
            }
            for (set, param) in [(self.min_relative, Param::MinRelative), (self.max_relative, Param::MaxRelative)] {
                if set {
                    return Err(NavigateError::invalid(
                        param,
                        format!("{}=true needs spaceId: a relative level counts from that space's level", param.name()),
                    ));
                }
            }
            if self.use_parent_space {
                return Err(NavigateError::invalid(
                    Param::UseParentSpace,
                    "useParentSpace=true needs spaceId: it names the parent of the spaces to list",
                ));
            }
        }
        if self.traverse == Traverse::Span && !self.min_relative && !self.max_relative {
            return Err(NavigateError::invalid(
                Param::Traverse,
                "traverse=Span needs minRelative=true or maxRelative=true: it selects levels relative to spaceId",
            ));
        }
        Ok(())
    }
}

/// Why a navigation was refused.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum NavigateError {
    /// A parameter's value, or a combination of parameters, has no meaning; `parameter` is its name as the API spells it.
    #[error("{message}")]
    InvalidInput { parameter: &'static str, message: String },
    /// `spaceId` names no twin, or a twin that is not a space.
    #[error("there is no space with id '{id}'")]
    SpaceNotFound { id: String },
    /// More than `limit` objects match.
    #[error(
        "the request selects more objects than the limit of {limit}; narrow it with spaceId, traverse, minLevel or maxLevel"
    )]
    TooMany { limit: usize },
}

/// Which models of a model set are of which 2018 object kind, computed once per set and shared (`Kinds::with`).
///
/// Computing it costs one pass over the set's interfaces and their `extends`.
/// A model is of a kind when `ModelSet::is_a(model, kind.model(), SubtypesAndLaterVersions)` holds: the built-in model, a later version of it, or a model extending either.
/// A model that extends two kinds (which the built-in models never do) is of the first in `ObjectKind::ALL`.
#[derive(Debug, Default)]
pub struct KindTable {
    /// The kind of each model of the set that has one; models of no kind are absent.
    /// Fx-hashed: looked up once per twin a selection visits, where SipHash's cost showed.
    by_model: rustc_hash::FxHashMap<Box<str>, ObjectKind>,
}

impl KindTable {
    /// The kinds of the models of `set`.
    pub fn of(set: &model::set::ModelSet) -> KindTable {
        let wanted: Vec<(usize, Dtmi)> = ObjectKind::ALL
            .iter()
            .enumerate()
            .map(|(bit, kind)| (bit, Dtmi::parse(kind.model()).expect("the built-in model ids are valid DTMIs")))
            .collect();
        let interfaces: HashMap<&str, &Interface> = set.interfaces().map(|i| (i.id.as_str(), i)).collect();
        let mut masks: HashMap<&str, u8> = HashMap::with_capacity(interfaces.len());
        for interface in set.interfaces() {
            kind_mask(interface, &interfaces, &wanted, &mut masks);
        }
        let by_model = masks
            .into_iter()
            .filter_map(|(id, mask)| {
                let kind = ObjectKind::ALL.iter().enumerate().find(|(bit, _)| mask & (1 << bit) != 0)?.1;
                Some((Box::from(id), *kind))
            })
            .collect();
        KindTable { by_model }
    }
}

/// Which twin models are of which 2018 object kind, and where the spaces are, for one request over one graph.
///
/// Lookups per slot are a hash lookup of the twin's model id in the graph's `KindTable`.
#[derive(Debug)]
pub struct Kinds<'g> {
    graph: &'g TenantGraph,
    table: std::sync::Arc<KindTable>,
}

impl<'g> Kinds<'g> {
    /// The kinds of the graph's models as they are now; a model uploaded later is of no kind to this value.
    pub fn new(graph: &'g TenantGraph) -> Kinds<'g> {
        Kinds::with(graph, std::sync::Arc::new(KindTable::of(graph.model_set())))
    }

    /// The kinds of `table`, which must be the `KindTable` of the graph's model set as it is now (a caller keeps it across requests while the models do not change).
    pub fn with(graph: &'g TenantGraph, table: std::sync::Arc<KindTable>) -> Kinds<'g> {
        Kinds { graph, table }
    }

    /// The graph whose twins these are the kinds of.
    pub fn graph(&self) -> &'g TenantGraph {
        self.graph
    }

    /// The kind of a model id, `None` for a model of no kind or not in the set.
    pub fn kind_of_model(&self, model: &str) -> Option<ObjectKind> {
        self.table.by_model.get(model).copied()
    }

    /// The kind of the twin in a slot, `None` for a twin of no kind or a free slot.
    pub fn kind_at(&self, slot: u32) -> Option<ObjectKind> {
        self.graph.twin_at(slot).and_then(|t| self.kind_of_model(t.model()))
    }

    /// The level of the twin in a slot: a space's containment depth plus one (a root space is level 1), and for any other twin the level of its closest space above; `None` when no space is at or above it.
    pub fn level_at(&self, slot: u32) -> Option<u32> {
        self.space_of(slot).map(|space| self.space_level(space))
    }

    /// The closest space at or above the slot: a space's own slot for a space, the space a device, sensor or user is attached to (through any twins in between) for the others.
    pub fn space_of(&self, slot: u32) -> Option<u32> {
        if self.is_space(slot) { Some(slot) } else { self.parent_space_of(slot) }
    }

    /// The closest space strictly above the slot: a space's parent space, `space_of` for the others.
    pub fn parent_space_of(&self, slot: u32) -> Option<u32> {
        self.graph.ancestors_at(slot).find(|&s| self.is_space(s))
    }

    fn is_space(&self, slot: u32) -> bool {
        self.kind_at(slot) == Some(ObjectKind::Space)
    }

    fn space_level(&self, space: u32) -> u32 {
        self.graph.depth_at(space) + 1
    }
}

/// The slots of the objects of `kind` that `filter` selects, at most `max` of them (one more is `TooMany { limit: max }`).
///
/// The order is deterministic: tree pre-order for `None` and `Down` with a space (which walk below it), ascending slot for the rest.
/// What each filter visits: without a space, or with `Span`, the twins of the kind's models (through the graph's index by model); with `None`, the twins attached directly to the space (its children, and theirs down to the next spaces); with `Down`, the space's subtree, skipping the subtrees of spaces deeper than the highest level selected; with `Up`, what is attached directly to the space and to each space above it.
pub fn select(
    graph: &TenantGraph,
    kinds: &Kinds<'_>,
    kind: ObjectKind,
    filter: &TreeFilter,
    max: usize,
) -> Result<Vec<u32>, NavigateError> {
    debug_assert!(std::ptr::eq(graph, kinds.graph), "the kinds were computed over another graph");
    filter.check()?;
    let mut walk = Walk { graph, kinds, kind, bounds: Bounds::absolute(filter), found: Vec::new(), max };
    let Some(id) = filter.space_id.as_deref() else {
        walk.scan(false)?;
        return Ok(walk.found);
    };
    let anchor = graph
        .slot(id)
        .filter(|&slot| kinds.is_space(slot))
        .ok_or_else(|| NavigateError::SpaceNotFound { id: id.to_owned() })?;
    let anchor_level = kinds.space_level(anchor);
    walk.bounds = Bounds::relative_to(filter, anchor_level);
    // Whether the spaces selected are the ones the traversal reaches; with `useParentSpace` they lie one step below those, as devices do.
    let spaces_themselves = kind == ObjectKind::Space && !filter.use_parent_space;
    match filter.traverse {
        Traverse::None if spaces_themselves => walk.offer(anchor, Some(anchor_level))?,
        Traverse::None => walk.attached(anchor, anchor_level)?,
        Traverse::Down => {
            if spaces_themselves {
                walk.offer(anchor, Some(anchor_level))?;
            }
            walk.below(anchor, anchor_level)?;
        }
        Traverse::Up => {
            for space in std::iter::once(anchor).chain(graph.ancestors_at(anchor)).filter(|&s| kinds.is_space(s)) {
                let level = kinds.space_level(space);
                if spaces_themselves {
                    walk.offer(space, Some(level))?;
                } else {
                    walk.attached(space, level)?;
                }
            }
            walk.found.sort_unstable();
        }
        Traverse::Span => walk.scan(true)?,
    }
    Ok(walk.found)
}

/// The parameters `from_pairs` reads, in the order of `TreeFilter`'s fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Param {
    SpaceId,
    Traverse,
    MinLevel,
    MaxLevel,
    MinRelative,
    MaxRelative,
    UseParentSpace,
}

impl Param {
    const ALL: [Param; 7] = [
        Param::SpaceId,
        Param::Traverse,
        Param::MinLevel,
        Param::MaxLevel,
        Param::MinRelative,
        Param::MaxRelative,
        Param::UseParentSpace,
    ];

    fn name(self) -> &'static str {
        match self {
            Param::SpaceId => "spaceId",
            Param::Traverse => "traverse",
            Param::MinLevel => "minLevel",
            Param::MaxLevel => "maxLevel",
            Param::MinRelative => "minRelative",
            Param::MaxRelative => "maxRelative",
            Param::UseParentSpace => "useParentSpace",
        }
    }

    /// The parameter a query name stands for, in any case; `spaceIds` is `spaceId`, as the official sample sends it on `devices`, `matchers` and `userdefinedfunctions`.
    fn from_name(name: &str) -> Option<Param> {
        if name.eq_ignore_ascii_case("spaceIds") {
            return Some(Param::SpaceId);
        }
        Param::ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(name))
    }
}

impl NavigateError {
    fn invalid(param: Param, message: impl Into<String>) -> NavigateError {
        NavigateError::InvalidInput { parameter: param.name(), message: message.into() }
    }
}

fn parse_level(param: Param, text: Option<&str>) -> Result<Option<i32>, NavigateError> {
    let Some(text) = text else { return Ok(None) };
    text.trim()
        .parse()
        .map(Some)
        .map_err(|_| NavigateError::invalid(param, format!("{} must be an integer level, not '{text}'", param.name())))
}

fn parse_flag(param: Param, text: Option<&str>) -> Result<bool, NavigateError> {
    match text.map(str::trim) {
        None => Ok(false),
        Some(text) if text.eq_ignore_ascii_case("true") => Ok(true),
        Some(text) if text.eq_ignore_ascii_case("false") => Ok(false),
        Some(text) => {
            Err(NavigateError::invalid(param, format!("{} must be true or false, not '{text}'", param.name())))
        }
    }
}

/// Which of the kinds in `wanted` (as bits, by their index in `ObjectKind::ALL`) an interface is, memoised in `masks`: its own id's, as `is_a` compares ids, and those of every interface it extends that is in the set.
fn kind_mask<'s>(
    interface: &'s Interface,
    interfaces: &HashMap<&'s str, &'s Interface>,
    wanted: &[(usize, Dtmi)],
    masks: &mut HashMap<&'s str, u8>,
) -> u8 {
    let id = interface.id.as_str();
    if let Some(&mask) = masks.get(id) {
        return mask;
    }
    // A placeholder first, so a cycle of `extends` (which validation refuses anyway) ends instead of recursing forever.
    masks.insert(id, 0);
    let mut mask = 0;
    for (bit, kind) in wanted {
        if same_or_later(&interface.id, kind) {
            mask |= 1 << bit;
        }
    }
    for parent in &interface.extends {
        if let Some(parent) = interfaces.get(parent.as_str()) {
            mask |= kind_mask(parent, interfaces, wanted, masks);
        }
    }
    masks.insert(id, mask);
    mask
}

/// Whether `model` is `wanted` or a later version of it, the comparison `ModelSet::is_a` makes with `ModelMatch::SubtypesAndLaterVersions` at each step of a lineage.
fn same_or_later(model: &Dtmi, wanted: &Dtmi) -> bool {
    let version = |d: &Dtmi| (d.major().unwrap_or(0), d.minor().unwrap_or(0));
    model.versionless() == wanted.versionless() && version(model) >= version(wanted)
}

/// The level bounds of a filter, as absolute levels.
#[derive(Clone, Copy, Debug)]
struct Bounds {
    min: Option<i64>,
    max: Option<i64>,
}

impl Bounds {
    /// The bounds of a filter without a space, whose bounds are all absolute (`TreeFilter::check` holds).
    fn absolute(filter: &TreeFilter) -> Bounds {
        Bounds { min: filter.min_level.map(i64::from), max: filter.max_level.map(i64::from) }
    }

    fn relative_to(filter: &TreeFilter, anchor_level: u32) -> Bounds {
        let bound = |level: Option<i32>, relative: bool| {
            level.map(|l| if relative { i64::from(anchor_level) + i64::from(l) } else { i64::from(l) })
        };
        Bounds { min: bound(filter.min_level, filter.min_relative), max: bound(filter.max_level, filter.max_relative) }
    }

    fn is_unbounded(self) -> bool {
        self.min.is_none() && self.max.is_none()
    }

    /// Whether an object at `level` is within the bounds; an object without a level is only when no bound applies.
    fn admit(self, level: Option<u32>) -> bool {
        let Some(level) = level.map(i64::from) else { return self.is_unbounded() };
        self.min.is_none_or(|min| level >= min) && self.max.is_none_or(|max| level <= max)
    }

    /// Whether nothing in the subtree of a space at `level` can be within the bounds: everything below a space is at its level or deeper.
    fn is_above_max(self, level: u32) -> bool {
        self.max.is_some_and(|max| i64::from(level) > max)
    }
}

/// One selection under way: what it looks for, and the slots found so far.
struct Walk<'a, 'g> {
    graph: &'a TenantGraph,
    kinds: &'a Kinds<'g>,
    kind: ObjectKind,
    bounds: Bounds,
    found: Vec<u32>,
    max: usize,
}

impl Walk<'_, '_> {
    /// Keeps a slot known to be of the kind when its level is within the bounds.
    fn offer(&mut self, slot: u32, level: Option<u32>) -> Result<(), NavigateError> {
        if !self.bounds.admit(level) {
            return Ok(());
        }
        if self.found.len() == self.max {
            return Err(NavigateError::TooMany { limit: self.max });
        }
        self.found.push(slot);
        Ok(())
    }

    /// Every twin of the kind in the graph, by ascending slot; with `needs_level`, only those with a level (a `Span` is a slice of levels).
    fn scan(&mut self, needs_level: bool) -> Result<(), NavigateError> {
        let mut candidates = self.graph.slots_of_model(self.kind.model(), ModelMatch::SubtypesAndLaterVersions);
        candidates.sort_unstable();
        let needs_level = needs_level || !self.bounds.is_unbounded();
        for slot in candidates {
            // The index matches models as `Kinds` does; a model of two kinds belongs to only one of them.
            if self.kinds.kind_at(slot) != Some(self.kind) {
                continue;
            }
            let level = if needs_level { self.kinds.level_at(slot) } else { None };
            if needs_level && level.is_none() {
                continue;
            }
            self.offer(slot, level)?;
        }
        Ok(())
    }

    /// The twins of the kind whose closest space strictly above is `space` (at `level`), in pre-order: its children, and below its children that are not spaces, down to the next spaces.
    fn attached(&mut self, space: u32, level: u32) -> Result<(), NavigateError> {
        if self.kind != ObjectKind::Space && !self.bounds.admit(Some(level)) {
            return Ok(());
        }
        self.walk(space, level, true)
    }

    /// The twins of the kind strictly below `space` (at `level`), in pre-order.
    fn below(&mut self, space: u32, level: u32) -> Result<(), NavigateError> {
        if self.bounds.is_above_max(level) {
            return Ok(());
        }
        self.walk(space, level, false)
    }

    /// Walks the tree below `root`, a space at `level`, in pre-order; a space found is not entered with `stop_at_spaces`, nor when its level is above the bounds.
    fn walk(&mut self, root: u32, level: u32, stop_at_spaces: bool) -> Result<(), NavigateError> {
        // Each entry: the children left to visit of a twin, and the level of the closest space at or above that twin, which its children that are not spaces take.
        let mut stack = vec![(self.graph.children_at(root), level)];
        while let Some((children, level)) = stack.last_mut() {
            let inherited = *level;
            let Some(child) = children.next() else {
                stack.pop();
                continue;
            };
            let kind = self.kinds.kind_at(child);
            let is_space = kind == Some(ObjectKind::Space);
            let level = if is_space { self.kinds.space_level(child) } else { inherited };
            if is_space && self.bounds.is_above_max(level) {
                continue;
            }
            if kind == Some(self.kind) {
                self.offer(child, Some(level))?;
            }
            if !(is_space && stop_at_spaces) {
                stack.push((self.graph.children_at(child), level));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use graph::{Containment, Limits, Precondition, TenantGraph};
    use serde_json::{Value, json};

    use super::*;

    const NOW: &str = "2026-11-26T12:00:00.0000000Z";

    /// A room model extending the built-in space, and a thing of no kind that may sit in the tree (`isPartOf` a space, `contains` anything).
    fn tenant_models() -> Vec<Value> {
        vec![
            json!({
                "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Room;1", "@type": "Interface",
                "extends": "dtmi:twinscape:Space;1",
                "contents": [ { "@type": "Property", "name": "capacity", "schema": "integer" } ]
            }),
            json!({
                "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Thing;1", "@type": "Interface",
                "contents": [
                    { "@type": "Relationship", "name": "isPartOf" },
                    { "@type": "Relationship", "name": "contains" }
                ]
            }),
        ]
    }

    /// The tree of every test, with its levels:
    ///
    /// ```text
    /// campus (1)                 gw-campus
    /// ├─ north (2)               gw-north
    /// │  ├─ n1 (3)
    /// │  │  ├─ n1a (4, a Room)   pi-n1a (motion-n1a, co2-n1a), user ann
    /// │  │  └─ n1b (4)
    /// │  └─ n2 (3)               pi-n2 (temp-n2)
    /// └─ south (2)               gw-south, rack (a Thing) holding pi-rack (temp-rack)
    ///    └─ s1 (3)
    /// depot (1)                  gw-depot, user bob
    /// loose (a device in no space: temp-loose)
    /// note (a Thing in no space)
    /// ```
    fn fixture() -> TenantGraph {
        let containment = Containment::new(["contains", "hasDevice", "hasSensor", "hasUser"], ["isPartOf"])
            .expect("a valid declaration");
        let mut graph = TenantGraph::with_containment(Limits::default(), containment);
        let mut models: Vec<Value> = ontology::documents()
            .iter()
            .map(|d| serde_json::from_str(&d.text).expect("the built-in models are JSON"))
            .collect();
        models.extend(tenant_models());
        graph.upload_models(models, NOW).expect("the models are valid");
        let twins = [
            ("campus", ontology::SPACE),
            ("north", ontology::SPACE),
            ("n1", ontology::SPACE),
            ("n1a", "dtmi:test:Room;1"),
            ("n1b", ontology::SPACE),
            ("n2", ontology::SPACE),
            ("south", ontology::SPACE),
            ("s1", ontology::SPACE),
            ("depot", ontology::SPACE),
            ("gw-campus", ontology::DEVICE),
            ("gw-north", ontology::DEVICE),
            ("pi-n1a", ontology::DEVICE),
            ("motion-n1a", ontology::SENSOR),
            ("co2-n1a", ontology::SENSOR),
            ("pi-n2", ontology::DEVICE),
            ("temp-n2", ontology::SENSOR),
            ("gw-south", ontology::DEVICE),
            ("rack", "dtmi:test:Thing;1"),
            ("pi-rack", ontology::DEVICE),
            ("temp-rack", ontology::SENSOR),
            ("gw-depot", ontology::DEVICE),
            ("loose", ontology::DEVICE),
            ("temp-loose", ontology::SENSOR),
            ("note", "dtmi:test:Thing;1"),
            ("ann", ontology::USER),
            ("bob", ontology::USER),
        ];
        for (id, model) in twins {
            let body = json!({ "$metadata": { "$model": model } });
            graph.put_twin(id, body, &Precondition::None, NOW).expect("a valid twin");
        }
        let relationships = [
            ("campus", "contains", "north"),
            ("north", "contains", "n1"),
            ("n1", "contains", "n1a"),
            ("n1", "contains", "n1b"),
            ("north", "contains", "n2"),
            ("campus", "contains", "south"),
            ("south", "contains", "s1"),
            ("campus", "hasDevice", "gw-campus"),
            ("north", "hasDevice", "gw-north"),
            ("n1a", "hasDevice", "pi-n1a"),
            ("pi-n1a", "hasSensor", "motion-n1a"),
            ("pi-n1a", "hasSensor", "co2-n1a"),
            ("n2", "hasDevice", "pi-n2"),
            ("pi-n2", "hasSensor", "temp-n2"),
            ("south", "hasDevice", "gw-south"),
            ("rack", "isPartOf", "south"),
            ("rack", "contains", "pi-rack"),
            ("pi-rack", "hasSensor", "temp-rack"),
            ("depot", "hasDevice", "gw-depot"),
            ("loose", "hasSensor", "temp-loose"),
            ("n1a", "hasUser", "ann"),
            ("depot", "hasUser", "bob"),
        ];
        for (source, name, target) in relationships {
            let body = json!({ "$targetId": target, "$relationshipName": name });
            let id = format!("{name}-{target}");
            graph.put_relationship(source, &id, body, &Precondition::None, NOW).expect("a valid relationship");
        }
        graph
    }

    fn pairs(query: &str) -> Vec<(String, String)> {
        let split = |pair: &str| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (name.to_owned(), value.to_owned())
        };
        query.split('&').filter(|p| !p.is_empty()).map(split).collect()
    }

    /// Runs a listing such as `devices?spaceId=north&traverse=Down` over the fixture with room for 1,000 objects, and renders the ids selected (or the error).
    fn check(query: &str, expect: Expect) {
        check_max(query, 1000, expect);
    }

    fn check_max(query: &str, max: usize, expect: Expect) {
        let graph = fixture();
        let (collection, parameters) = query.split_once('?').unwrap_or((query, ""));
        let kind = match collection {
            "spaces" => ObjectKind::Space,
            "devices" => ObjectKind::Device,
            "sensors" => ObjectKind::Sensor,
            "users" => ObjectKind::User,
            other => panic!("no collection '{other}'"),
        };
        let kinds = Kinds::new(&graph);
        let selected = TreeFilter::from_pairs(&pairs(parameters)).and_then(|f| select(&graph, &kinds, kind, &f, max));
        let actual = match selected {
            Ok(slots) if slots.is_empty() => "(none)".to_owned(),
            Ok(slots) => {
                let ids: Vec<&str> = slots.iter().map(|&s| graph.twin_at(s).map_or("?", |t| t.id.as_str())).collect();
                ids.join(" ")
            }
            Err(NavigateError::InvalidInput { parameter, message }) => format!("invalid {parameter}: {message}"),
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&actual);
    }

    /// Renders the filter `from_pairs` reads from a query string.
    fn check_filter(query: &str, expect: Expect) {
        let actual = match TreeFilter::from_pairs(&pairs(query)) {
            Ok(filter) => format!("{filter:?}"),
            Err(e) => format!("error: {e}"),
        };
        expect.assert_eq(&actual);
    }

    /// Renders every twin of the fixture with its kind, level, space and parent space, after checking that `Kinds` agrees with `ModelSet::is_a` on every model.
    fn check_kinds(expect: Expect) {
        let graph = fixture();
        let kinds = Kinds::new(&graph);
        let set = graph.model_set();
        for interface in set.interfaces() {
            let id = interface.id.as_str();
            let by_is_a =
                ObjectKind::ALL.into_iter().find(|k| set.is_a(id, k.model(), ModelMatch::SubtypesAndLaterVersions));
            assert_eq!(kinds.kind_of_model(id), by_is_a, "{id}");
        }
        let name = |slot: Option<u32>| slot.and_then(|s| graph.twin_at(s)).map_or("-", |t| t.id.as_str());
        let mut lines = Vec::new();
        for slot in graph.slots() {
            let kind = kinds.kind_at(slot).map_or_else(|| "-".to_owned(), |k| format!("{k:?}"));
            let level = kinds.level_at(slot).map_or_else(|| "-".to_owned(), |l| l.to_string());
            lines.push(format!(
                "{} {kind} level {level} space {} parent space {}",
                name(Some(slot)),
                name(kinds.space_of(slot)),
                name(kinds.parent_space_of(slot)),
            ));
        }
        expect.assert_eq(&lines.join("\n"));
    }

    #[test]
    fn kinds_levels_and_spaces() {
        check_kinds(expect![[r#"
            campus Space level 1 space campus parent space -
            north Space level 2 space north parent space campus
            n1 Space level 3 space n1 parent space north
            n1a Space level 4 space n1a parent space n1
            n1b Space level 4 space n1b parent space n1
            n2 Space level 3 space n2 parent space north
            south Space level 2 space south parent space campus
            s1 Space level 3 space s1 parent space south
            depot Space level 1 space depot parent space -
            gw-campus Device level 1 space campus parent space campus
            gw-north Device level 2 space north parent space north
            pi-n1a Device level 4 space n1a parent space n1a
            motion-n1a Sensor level 4 space n1a parent space n1a
            co2-n1a Sensor level 4 space n1a parent space n1a
            pi-n2 Device level 3 space n2 parent space n2
            temp-n2 Sensor level 3 space n2 parent space n2
            gw-south Device level 2 space south parent space south
            rack - level 2 space south parent space south
            pi-rack Device level 2 space south parent space south
            temp-rack Sensor level 2 space south parent space south
            gw-depot Device level 1 space depot parent space depot
            loose Device level - space - parent space -
            temp-loose Sensor level - space - parent space -
            note - level - space - parent space -
            ann User level 4 space n1a parent space n1a
            bob User level 1 space depot parent space depot"#]]);
    }

    #[test]
    fn canonical_examples_on_devices() {
        // The table of the 2018 documentation, in its order, anchored at `north` (level 2) where it takes a space.
        check("devices?maxLevel=1", expect!["gw-campus gw-depot"]);
        check("devices?minLevel=2&maxLevel=4", expect!["gw-north pi-n1a pi-n2 gw-south pi-rack"]);
        check("devices?spaceId=north", expect!["gw-north"]);
        check("devices?spaceId=north&traverse=Down", expect!["pi-n1a pi-n2 gw-north"]);
        check("devices?spaceId=north&traverse=Down&minLevel=1&minRelative=true", expect!["pi-n1a pi-n2"]);
        check(
            "devices?spaceId=north&traverse=Down&minLevel=1&minRelative=true&maxLevel=1&maxRelative=true",
            expect!["pi-n2"],
        );
        check("devices?spaceId=n1a&traverse=Up&maxLevel=-1&maxRelative=true", expect!["gw-campus gw-north"]);
        check("devices?spaceId=north&traverse=Down&maxLevel=3", expect!["pi-n2 gw-north"]);
        check(
            "devices?spaceId=north&traverse=Span&minLevel=0&minRelative=true&maxLevel=0&maxRelative=true",
            expect!["gw-north gw-south pi-rack"],
        );
    }

    #[test]
    fn canonical_examples_on_spaces() {
        check("spaces?maxLevel=1", expect!["campus depot"]);
        check("spaces?minLevel=2&maxLevel=3", expect!["north n1 n2 south s1"]);
        check("spaces?spaceId=north", expect!["north"]);
        check("spaces?spaceId=north&traverse=Down", expect!["north n1 n1a n1b n2"]);
        check("spaces?spaceId=north&traverse=Down&minLevel=1&minRelative=true", expect!["n1 n1a n1b n2"]);
        check(
            "spaces?spaceId=north&traverse=Down&minLevel=1&minRelative=true&maxLevel=1&maxRelative=true",
            expect!["n1 n2"],
        );
        check("spaces?spaceId=n1a&traverse=Up&maxLevel=-1&maxRelative=true", expect!["campus north n1"]);
        check("spaces?spaceId=north&traverse=Down&maxLevel=3", expect!["north n1 n2"]);
        check(
            "spaces?spaceId=north&traverse=Span&minLevel=0&minRelative=true&maxLevel=0&maxRelative=true",
            expect!["north south"],
        );
    }

    #[test]
    fn every_traversal() {
        check("spaces", expect!["campus north n1 n1a n1b n2 south s1 depot"]);
        check("spaces?spaceId=n1", expect!["n1"]);
        check("spaces?spaceId=n1&traverse=None", expect!["n1"]);
        check("spaces?spaceId=n1&traverse=Down", expect!["n1 n1a n1b"]);
        check("spaces?spaceId=n1&traverse=Up", expect!["campus north n1"]);
        check("spaces?spaceId=n1&traverse=Span&minLevel=-1&minRelative=true", expect!["north n1 n1a n1b n2 south s1"]);
        check("spaces?spaceId=n1&traverse=Span&maxLevel=-1&maxRelative=true", expect!["campus north south depot"]);
        check("spaces?spaceId=n1&traverse=Span&minLevel=0&minRelative=true&maxLevel=3", expect!["n1 n2 s1"]);
        check("devices", expect!["gw-campus gw-north pi-n1a pi-n2 gw-south pi-rack gw-depot loose"]);
        check("devices?spaceId=campus&traverse=Down", expect!["pi-n1a pi-n2 gw-north gw-south pi-rack gw-campus"]);
        check("devices?spaceId=n1a&traverse=Up", expect!["gw-campus gw-north pi-n1a"]);
        check(
            "devices?spaceId=south&traverse=Span&minLevel=0&minRelative=true",
            expect!["gw-north pi-n1a pi-n2 gw-south pi-rack"],
        );
        check("devices?spaceId=depot&traverse=Up", expect!["gw-depot"]);
    }

    #[test]
    fn use_parent_space() {
        check("spaces?spaceId=north&useParentSpace=true", expect!["n1 n2"]);
        check("spaces?spaceId=n1a&useParentSpace=true", expect!["(none)"]);
        check("spaces?spaceId=north&useParentSpace=true&traverse=Down", expect!["n1 n1a n1b n2"]);
        check("spaces?spaceId=north&useParentSpace=true&traverse=Down&maxLevel=1&maxRelative=true", expect!["n1 n2"]);
        check("spaces?spaceId=n1&useParentSpace=true&traverse=Up", expect!["north n1 n1a n1b n2 south"]);
        check(
            "spaces?spaceId=north&useParentSpace=true&traverse=Span&minLevel=1&minRelative=true",
            expect!["n1 n1a n1b n2 s1"],
        );
        check("spaces?spaceId=north&useParentSpace=false", expect!["north"]);
        // Only spaces have a parent space in this sense; other kinds ignore the flag.
        check("devices?spaceId=north&useParentSpace=true", expect!["gw-north"]);
    }

    #[test]
    fn sensors_and_users_take_their_space_level() {
        check("sensors", expect!["motion-n1a co2-n1a temp-n2 temp-rack temp-loose"]);
        check("sensors?spaceId=n1a", expect!["motion-n1a co2-n1a"]);
        check("sensors?spaceId=south", expect!["temp-rack"]);
        check("sensors?spaceId=north&traverse=Down", expect!["motion-n1a co2-n1a temp-n2"]);
        check("sensors?maxLevel=3", expect!["temp-n2 temp-rack"]);
        check("sensors?minLevel=4", expect!["motion-n1a co2-n1a"]);
        check(
            "sensors?spaceId=n1&traverse=Span&minLevel=-1&minRelative=true&maxLevel=0&maxRelative=true",
            expect!["temp-n2 temp-rack"],
        );
        check("users", expect!["ann bob"]);
        check("users?maxLevel=1", expect!["bob"]);
        check("users?spaceId=north&traverse=Down", expect!["ann"]);
        check("users?spaceId=n1a&traverse=Up&maxLevel=-1&maxRelative=true", expect!["(none)"]);
        // A twin of no kind counts for nothing, but what it holds keeps its place below the space above it.
        check("devices?spaceId=south", expect!["gw-south pi-rack"]);
        check("devices?spaceId=south&traverse=Down&minLevel=3", expect!["(none)"]);
    }

    #[test]
    fn levels_that_select_nothing() {
        check("devices?minLevel=5", expect!["(none)"]);
        check("devices?minLevel=3&maxLevel=2", expect!["(none)"]);
        check("devices?spaceId=north&traverse=Down&minLevel=9&minRelative=true", expect!["(none)"]);
        check("spaces?spaceId=north&minLevel=1&minRelative=true", expect!["(none)"]);
        check("spaces?maxLevel=-2147483648", expect!["(none)"]);
        check("spaces?spaceId=n1a&traverse=Up&minLevel=2147483647&minRelative=true", expect!["(none)"]);
    }

    #[test]
    fn names_and_values_in_any_case() {
        check("devices?SPACEID=north&TRAVERSE=down&minlevel=1&MinRelative=True", expect!["pi-n1a pi-n2"]);
        check("devices?spaceIds=n2", expect!["pi-n2"]);
        check("devices?spaceids=north&traverse=DOWN&maxlevel=2", expect!["gw-north"]);
        check("devices?spaceId=&maxLevel=1", expect!["gw-campus gw-depot"]);
        check("devices?spaceId=north&spaceIds=north", expect!["gw-north"]);
        check_filter(
            "spaceIds=X&traverse=span&MINLEVEL=-1&minRelative=TRUE&maxLevel=+2&useParentSpace=True&includes=types",
            expect![[
                r#"TreeFilter { space_id: Some("X"), traverse: Span, min_level: Some(-1), max_level: Some(2), min_relative: true, max_relative: false, use_parent_space: true }"#
            ]],
        );
        check_filter(
            "traverse=&minLevel=&maxRelative=&spaceId=",
            expect![
                "TreeFilter { space_id: None, traverse: None, min_level: None, max_level: None, min_relative: false, max_relative: false, use_parent_space: false }"
            ],
        );
        check_filter(
            "traverse= down &minLevel= 2 &minRelative= true&spaceId= X&maxLevel= ",
            expect![[
                r#"TreeFilter { space_id: Some(" X"), traverse: Down, min_level: Some(2), max_level: None, min_relative: true, max_relative: false, use_parent_space: false }"#
            ]],
        );
        check_filter(
            "",
            expect![
                "TreeFilter { space_id: None, traverse: None, min_level: None, max_level: None, min_relative: false, max_relative: false, use_parent_space: false }"
            ],
        );
    }

    #[test]
    fn invalid_parameters() {
        check(
            "devices?spaceId=north&traverse=Sideways",
            expect!["invalid traverse: traverse must be one of None, Down, Up, Span (in any case), not 'Sideways'"],
        );
        check("devices?maxLevel=x", expect!["invalid maxLevel: maxLevel must be an integer level, not 'x'"]);
        check("devices?minLevel=1.5", expect!["invalid minLevel: minLevel must be an integer level, not '1.5'"]);
        check(
            "devices?minLevel=99999999999",
            expect!["invalid minLevel: minLevel must be an integer level, not '99999999999'"],
        );
        check(
            "devices?spaceId=north&minRelative=yes",
            expect!["invalid minRelative: minRelative must be true or false, not 'yes'"],
        );
        check(
            "spaces?spaceId=north&useParentSpace=1",
            expect!["invalid useParentSpace: useParentSpace must be true or false, not '1'"],
        );
        check(
            "devices?traverse=Down",
            expect!["invalid traverse: traverse=Down needs spaceId: it walks the tree from that space"],
        );
        check(
            "devices?minLevel=1&minRelative=true",
            expect![
                "invalid minRelative: minRelative=true needs spaceId: a relative level counts from that space's level"
            ],
        );
        check(
            "devices?maxLevel=1&maxRelative=true",
            expect![
                "invalid maxRelative: maxRelative=true needs spaceId: a relative level counts from that space's level"
            ],
        );
        check(
            "spaces?useParentSpace=true",
            expect![
                "invalid useParentSpace: useParentSpace=true needs spaceId: it names the parent of the spaces to list"
            ],
        );
        check(
            "devices?spaceId=north&traverse=Span",
            expect![
                "invalid traverse: traverse=Span needs minRelative=true or maxRelative=true: it selects levels relative to spaceId"
            ],
        );
        check(
            "devices?spaceId=north&traverse=Span&minLevel=0&maxLevel=0",
            expect![
                "invalid traverse: traverse=Span needs minRelative=true or maxRelative=true: it selects levels relative to spaceId"
            ],
        );
        check(
            "devices?spaceId=north&spaceIds=south",
            expect!["invalid spaceId: spaceId is given twice with different values ('north' and 'south')"],
        );
        check(
            "devices?spaceId=north&traverse=Down&traverse=Up",
            expect!["invalid traverse: traverse is given twice with different values ('Down' and 'Up')"],
        );
    }

    #[test]
    fn spaces_that_are_not_there() {
        check("devices?spaceId=nowhere", expect!["error: there is no space with id 'nowhere'"]);
        check("devices?spaceId=gw-north&traverse=Down", expect!["error: there is no space with id 'gw-north'"]);
        check("spaces?spaceId=rack", expect!["error: there is no space with id 'rack'"]);
        check(
            "sensors?spaceId=loose&traverse=Span&minLevel=0&minRelative=true",
            expect!["error: there is no space with id 'loose'"],
        );
    }

    #[test]
    fn too_many() {
        check_max("spaces?spaceId=campus&traverse=Down", 8, expect!["campus north n1 n1a n1b n2 south s1"]);
        check_max(
            "spaces?spaceId=campus&traverse=Down",
            7,
            expect![
                "error: the request selects more objects than the limit of 7; narrow it with spaceId, traverse, minLevel or maxLevel"
            ],
        );
        check_max(
            "devices",
            7,
            expect![
                "error: the request selects more objects than the limit of 7; narrow it with spaceId, traverse, minLevel or maxLevel"
            ],
        );
        check_max(
            "devices?spaceId=n1a&traverse=Up",
            2,
            expect![
                "error: the request selects more objects than the limit of 2; narrow it with spaceId, traverse, minLevel or maxLevel"
            ],
        );
        check_max(
            "sensors?spaceId=n1a",
            1,
            expect![
                "error: the request selects more objects than the limit of 1; narrow it with spaceId, traverse, minLevel or maxLevel"
            ],
        );
        check_max(
            "devices?spaceId=depot&traverse=Span&minLevel=0&minRelative=true&maxLevel=0&maxRelative=true",
            0,
            expect![
                "error: the request selects more objects than the limit of 0; narrow it with spaceId, traverse, minLevel or maxLevel"
            ],
        );
    }
}
