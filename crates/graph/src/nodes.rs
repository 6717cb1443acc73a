//! The storage of one tenant's twins and relationships: a slab of nodes addressed by 32-bit slots, an id → slot map, and per node its outgoing relationships and the (source, id) pairs of its incoming ones.
//!
//! Relationships refer to twins by slot rather than by id string, relationship names are interned, and each node's lists are sorted vectors that grow one slot at a time while short: at a million twins, id copies, B-tree nodes and empty maps had been most of the graph's memory.
//! `Relationship` values are built on demand for callers; this module alone sees the compact form.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::record::{Relationship, Twin};

/// Below this many entries a list grows by exactly one slot.
const EXACT_GROWTH_BELOW: usize = 8;

/// A relationship as kept: its target by slot, its name interned, its properties only when it has some.
#[derive(Clone, Debug)]
struct Edge {
    id: Box<str>,
    target: u32,
    name: Arc<str>,
    etag: u64,
    properties: Option<Box<Map<String, Value>>>,
}

/// A read-only view of one relationship, addressed by its source's slot and its place in that twin's list; valid while the graph is not written.
#[derive(Clone, Copy, Debug)]
pub struct EdgeRef<'g> {
    pub source: u32,
    /// The relationship's place among its source's outgoing relationships (sorted by id).
    pub index: u32,
    pub id: &'g str,
    pub target: u32,
    pub name: &'g str,
    pub etag: u64,
    /// Its own properties, `None` when it has none.
    pub properties: Option<&'g Map<String, Value>>,
}

#[derive(Debug)]
struct Node {
    twin: Twin,
    /// Outgoing relationships, sorted by id.
    outgoing: Vec<Edge>,
    /// Incoming relationships as (source slot, relationship id), sorted.
    incoming: Vec<(u32, Box<str>)>,
}

#[derive(Debug, Default)]
pub(crate) struct Nodes {
    ids: HashMap<Box<str>, u32>,
    slots: Vec<Option<Node>>,
    free: Vec<u32>,
    names: HashSet<Arc<str>>,
    /// Model id → slots of the twins of exactly that model.
    by_model: HashMap<Box<str>, HashSet<u32>>,
    relationships: usize,
}

impl Nodes {
    pub(crate) fn twin_count(&self) -> usize {
        self.ids.len()
    }

    pub(crate) fn relationship_count(&self) -> usize {
        self.relationships
    }

    pub(crate) fn twin(&self, id: &str) -> Option<&Twin> {
        self.node(id).map(|n| &n.twin)
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.ids.contains_key(id)
    }

    pub(crate) fn twins(&self) -> impl Iterator<Item = &Twin> {
        self.slots.iter().flatten().map(|n| &n.twin)
    }

    /// The ids of the twins whose exact model satisfies `matches`, in no particular order.
    pub(crate) fn twins_of_models(&self, mut matches: impl FnMut(&str) -> bool) -> Vec<&str> {
        self.by_model
            .iter()
            .filter(|(model, _)| matches(model))
            .flat_map(|(_, slots)| slots.iter())
            .filter_map(|slot| self.slots[*slot as usize].as_ref().map(|n| n.twin.id.as_str()))
            .collect()
    }

    /// How many twins have exactly this model.
    pub(crate) fn count_of_model(&self, model: &str) -> usize {
        self.by_model.get(model).map_or(0, HashSet::len)
    }

    /// Inserts a twin or replaces the one with its id (keeping its relationships).
    pub(crate) fn put_twin(&mut self, twin: Twin) {
        if let Some(&slot) = self.ids.get(twin.id.as_str()) {
            let node = self.slots[slot as usize].as_mut().expect("an id maps to a live slot");
            if node.twin.model() != twin.model() {
                if let Some(set) = self.by_model.get_mut(node.twin.model()) {
                    set.remove(&slot);
                }
                self.by_model.entry(twin.model().into()).or_default().insert(slot);
            }
            node.twin = twin;
            return;
        }
        let node = Node { twin, outgoing: Vec::new(), incoming: Vec::new() };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(node);
                slot
            }
            None => {
                self.slots.push(Some(node));
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 twins in a tenant")
            }
        };
        let twin = &self.slots[slot as usize].as_ref().expect("just filled").twin;
        self.by_model.entry(twin.model().into()).or_default().insert(slot);
        self.ids.insert(twin.id.as_str().into(), slot);
    }

    /// Removes a twin that has no relationships left.
    pub(crate) fn remove_twin(&mut self, id: &str) -> Option<Twin> {
        let slot = self.ids.remove(id)?;
        let node = self.slots[slot as usize].take().expect("an id maps to a live slot");
        assert!(
            node.outgoing.is_empty() && node.incoming.is_empty(),
            "a twin is removed only once its relationships are gone"
        );
        if let Some(set) = self.by_model.get_mut(node.twin.model()) {
            set.remove(&slot);
        }
        self.free.push(slot);
        Some(node.twin)
    }

    pub(crate) fn relationship(&self, source: &str, id: &str) -> Option<Relationship> {
        let slot = *self.ids.get(source)?;
        let node = self.slots[slot as usize].as_ref()?;
        let edge = find(&node.outgoing, id).ok().map(|i| &node.outgoing[i])?;
        Some(self.materialize(slot, edge))
    }

    /// A twin's outgoing relationships, by id; optionally only those with a name.
    pub(crate) fn outgoing(&self, source: &str, name: Option<&str>) -> Vec<Relationship> {
        let Some(&slot) = self.ids.get(source) else { return Vec::new() };
        let node = self.slots[slot as usize].as_ref().expect("an id maps to a live slot");
        node.outgoing.iter().filter(|e| name.is_none_or(|n| &*e.name == n)).map(|e| self.materialize(slot, e)).collect()
    }

    pub(crate) fn outgoing_len(&self, source: &str) -> usize {
        self.node(source).map_or(0, |n| n.outgoing.len())
    }

    /// A twin's incoming relationships, ordered by source slot and relationship id.
    pub(crate) fn incoming(&self, target: &str) -> Vec<Relationship> {
        let Some(node) = self.node(target) else { return Vec::new() };
        node.incoming
            .iter()
            .filter_map(|(source, id)| {
                let from = self.slots[*source as usize].as_ref()?;
                let edge = &from.outgoing[find(&from.outgoing, id).ok()?];
                Some(self.materialize(*source, edge))
            })
            .collect()
    }

    pub(crate) fn incoming_len(&self, target: &str) -> usize {
        self.node(target).map_or(0, |n| n.incoming.len())
    }

    /// (source, relationship id) of every relationship from or to a twin.
    pub(crate) fn touching(&self, id: &str) -> Vec<(String, String)> {
        let Some(&slot) = self.ids.get(id) else { return Vec::new() };
        let node = self.slots[slot as usize].as_ref().expect("an id maps to a live slot");
        let own = node.outgoing.iter().map(|e| (node.twin.id.clone(), e.id.to_string()));
        let from_others = node.incoming.iter().filter(|(source, _)| *source != slot).filter_map(|(source, rel)| {
            self.slots[*source as usize].as_ref().map(|n| (n.twin.id.clone(), rel.to_string()))
        });
        own.chain(from_others).collect()
    }

    pub(crate) fn all_relationships(&self) -> impl Iterator<Item = Relationship> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(slot, n)| n.as_ref().map(|n| (slot, n)))
            .flat_map(move |(slot, node)| node.outgoing.iter().map(move |e| self.materialize(slot as u32, e)))
    }

    /// Inserts or replaces a relationship between two twins that exist; returns the replaced one.
    pub(crate) fn put_relationship(&mut self, r: &Relationship) -> Option<Relationship> {
        let source = *self.ids.get(r.source.as_str()).expect("the source twin exists");
        let target = *self.ids.get(r.target.as_str()).expect("the target twin exists");
        let replaced = self.remove_relationship(&r.source, &r.id);
        let name = match self.names.get(r.name.as_str()) {
            Some(name) => Arc::clone(name),
            None => {
                let name: Arc<str> = r.name.as_str().into();
                self.names.insert(Arc::clone(&name));
                name
            }
        };
        let properties = (!r.properties.is_empty()).then(|| Box::new(r.properties.clone()));
        let edge = Edge { id: r.id.as_str().into(), target, name, etag: r.etag, properties };
        let out = &mut self.slots[source as usize].as_mut().expect("live").outgoing;
        let at = find(out, &r.id).expect_err("removed above");
        grow(out);
        out.insert(at, edge);
        let inc = &mut self.slots[target as usize].as_mut().expect("live").incoming;
        let key = (source, r.id.as_str());
        let at = inc.binary_search_by(|(s, id)| (*s, &**id).cmp(&key)).expect_err("removed above");
        grow(inc);
        inc.insert(at, (source, r.id.as_str().into()));
        self.relationships += 1;
        replaced
    }

    pub(crate) fn remove_relationship(&mut self, source: &str, id: &str) -> Option<Relationship> {
        let slot = *self.ids.get(source)?;
        let node = self.slots[slot as usize].as_ref()?;
        let at = find(&node.outgoing, id).ok()?;
        let removed = self.materialize(slot, &node.outgoing[at]);
        let out = &mut self.slots[slot as usize].as_mut().expect("live").outgoing;
        let edge = out.remove(at);
        out.shrink_to(out.len().max(EXACT_GROWTH_BELOW));
        let inc = &mut self.slots[edge.target as usize].as_mut().expect("a relationship's target is live").incoming;
        if let Ok(i) = inc.binary_search_by(|(s, rid)| (*s, &**rid).cmp(&(slot, id))) {
            inc.remove(i);
            inc.shrink_to(inc.len().max(EXACT_GROWTH_BELOW));
        }
        self.relationships -= 1;
        Some(removed)
    }

    // ---- reads by slot, for the query engine ----

    pub(crate) fn slot(&self, id: &str) -> Option<u32> {
        self.ids.get(id).copied()
    }

    pub(crate) fn twin_at(&self, slot: u32) -> Option<&Twin> {
        self.slots.get(slot as usize)?.as_ref().map(|n| &n.twin)
    }

    /// One more than the highest slot in use; slots of live twins are below it.
    pub(crate) fn slot_bound(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn live_slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.slots.iter().enumerate().filter(|(_, n)| n.is_some()).map(|(slot, _)| slot as u32)
    }

    /// The slots of the twins whose exact model satisfies `matches`, in no particular order.
    pub(crate) fn slots_of_models(&self, mut matches: impl FnMut(&str) -> bool) -> Vec<u32> {
        self.by_model.iter().filter(|(model, _)| matches(model)).flat_map(|(_, slots)| slots.iter().copied()).collect()
    }

    /// How many twins have an exact model that satisfies `matches`.
    pub(crate) fn count_of_models(&self, mut matches: impl FnMut(&str) -> bool) -> usize {
        self.by_model.iter().filter(|(model, _)| matches(model)).map(|(_, slots)| slots.len()).sum()
    }

    pub(crate) fn outgoing_at(&self, slot: u32) -> impl Iterator<Item = EdgeRef<'_>> + '_ {
        let edges = self.slots.get(slot as usize).and_then(Option::as_ref).map_or(&[][..], |n| &n.outgoing[..]);
        edges.iter().enumerate().map(move |(i, e)| edge_ref(slot, i, e))
    }

    pub(crate) fn incoming_at(&self, slot: u32) -> impl Iterator<Item = EdgeRef<'_>> + '_ {
        let incoming = self.slots.get(slot as usize).and_then(Option::as_ref).map_or(&[][..], |n| &n.incoming[..]);
        incoming.iter().filter_map(move |(source, id)| {
            let from = self.slots[*source as usize].as_ref()?;
            let at = find(&from.outgoing, id).ok()?;
            Some(edge_ref(*source, at, &from.outgoing[at]))
        })
    }

    fn node(&self, id: &str) -> Option<&Node> {
        self.ids.get(id).and_then(|&slot| self.slots[slot as usize].as_ref())
    }

    fn materialize(&self, source: u32, e: &Edge) -> Relationship {
        let id_of = |slot: u32| self.slots[slot as usize].as_ref().map(|n| n.twin.id.clone()).unwrap_or_default();
        Relationship {
            id: e.id.to_string(),
            source: id_of(source),
            target: id_of(e.target),
            name: e.name.to_string(),
            etag: e.etag,
            properties: e.properties.as_deref().cloned().unwrap_or_default(),
        }
    }
}

fn edge_ref(source: u32, index: usize, e: &Edge) -> EdgeRef<'_> {
    EdgeRef {
        source,
        index: index as u32,
        id: &e.id,
        target: e.target,
        name: &e.name,
        etag: e.etag,
        properties: e.properties.as_deref(),
    }
}

fn find(list: &[Edge], id: &str) -> Result<usize, usize> {
    list.binary_search_by(|e| (*e.id).cmp(id))
}

fn grow<T>(list: &mut Vec<T>) {
    if list.len() < EXACT_GROWTH_BELOW {
        list.reserve_exact(1);
    }
}
