//! The storage of one tenant's twins and relationships: a slab of nodes addressed by 32-bit slots, an id → slot map, and per node its outgoing relationships and the (source, name, id) entries of its incoming ones.
//!
//! Relationships refer to twins by slot rather than by id string, and each node's lists are sorted vectors that grow one slot at a time while short: at a million twins, id copies, B-tree nodes and empty maps had been most of the graph's memory.
//! Relationship names are interned as small integer ids, kept on both ends of a relationship, so a walk that follows some names filters on an integer and looks up only the relationships it keeps.
//! `Relationship` values are built on demand for callers; this module alone sees the compact form.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use crate::record::{Relationship, Twin};

/// Below this many entries a list grows by exactly one slot.
const EXACT_GROWTH_BELOW: usize = 8;

/// A relationship as kept: its target by slot, its name by id, its properties only when it has some.
#[derive(Clone, Debug)]
struct Edge {
    id: Box<str>,
    target: u32,
    /// The relationship's name, as its index in `Nodes::names`.
    name: u32,
    etag: u64,
    properties: Option<Box<Map<String, Value>>>,
}

/// A relationship as its target keeps it: enough to find it in its source's list, and its name so that a walk can skip it without that search.
#[derive(Clone, Debug)]
struct Incoming {
    source: u32,
    /// The relationship's name id, a copy of its `Edge::name`; it fits in the padding beside `source`.
    name: u32,
    id: Box<str>,
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
    /// The id of `name` in this graph (see `TenantGraph::relationship_name_id`).
    pub name_id: u32,
    pub etag: u64,
    /// Its own properties, `None` when it has none.
    pub properties: Option<&'g Map<String, Value>>,
}

#[derive(Debug)]
struct Node {
    twin: Twin,
    /// Outgoing relationships, sorted by id.
    outgoing: Vec<Edge>,
    /// Incoming relationships, sorted by source slot and relationship id.
    incoming: Vec<Incoming>,
}

#[derive(Debug, Default)]
pub(crate) struct Nodes {
    ids: HashMap<Box<str>, u32>,
    slots: Vec<Option<Node>>,
    free: Vec<u32>,
    /// Relationship names by id. A name is never removed, so its id stays valid while the graph lives; a tenant's relationships use few names (each declared by a model).
    names: Vec<Box<str>>,
    /// Name → id, the inverse of `names`.
    name_ids: HashMap<Box<str>, u32>,
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
        // A name that no relationship has ever had matches none.
        let name = match name.map(|n| self.name_id(n)) {
            None => None,
            Some(Some(id)) => Some(id),
            Some(None) => return Vec::new(),
        };
        node.outgoing.iter().filter(|e| name.is_none_or(|n| e.name == n)).map(|e| self.materialize(slot, e)).collect()
    }

    pub(crate) fn outgoing_len(&self, source: &str) -> usize {
        self.node(source).map_or(0, |n| n.outgoing.len())
    }

    /// A twin's incoming relationships, ordered by source slot and relationship id.
    pub(crate) fn incoming(&self, target: &str) -> Vec<Relationship> {
        let Some(node) = self.node(target) else { return Vec::new() };
        node.incoming
            .iter()
            .filter_map(|entry| {
                let from = self.slots[entry.source as usize].as_ref()?;
                let edge = &from.outgoing[find(&from.outgoing, &entry.id).ok()?];
                Some(self.materialize(entry.source, edge))
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
        let from_others = node.incoming.iter().filter(|entry| entry.source != slot).filter_map(|entry| {
            self.slots[entry.source as usize].as_ref().map(|n| (n.twin.id.clone(), entry.id.to_string()))
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
        self.put_relationship_at(r, source, target)
    }

    /// `put_relationship` for a caller that has looked up the slots of `r.source` and `r.target` already.
    pub(crate) fn put_relationship_at(&mut self, r: &Relationship, source: u32, target: u32) -> Option<Relationship> {
        debug_assert_eq!(self.slot(&r.source), Some(source));
        debug_assert_eq!(self.slot(&r.target), Some(target));
        let replaced = self.remove_relationship_at(source, &r.id);
        let name = self.intern(&r.name);
        let properties = (!r.properties.is_empty()).then(|| Box::new(r.properties.clone()));
        let edge = Edge { id: r.id.as_str().into(), target, name, etag: r.etag, properties };
        let out = &mut self.slots[source as usize].as_mut().expect("live").outgoing;
        let at = find(out, &r.id).expect_err("removed above");
        grow(out);
        out.insert(at, edge);
        let inc = &mut self.slots[target as usize].as_mut().expect("live").incoming;
        let at = find_incoming(inc, source, &r.id).expect_err("removed above");
        grow(inc);
        inc.insert(at, Incoming { source, name, id: r.id.as_str().into() });
        self.relationships += 1;
        replaced
    }

    pub(crate) fn remove_relationship(&mut self, source: &str, id: &str) -> Option<Relationship> {
        let slot = *self.ids.get(source)?;
        self.remove_relationship_at(slot, id)
    }

    fn remove_relationship_at(&mut self, slot: u32, id: &str) -> Option<Relationship> {
        let node = self.slots[slot as usize].as_ref()?;
        let at = find(&node.outgoing, id).ok()?;
        let removed = self.materialize(slot, &node.outgoing[at]);
        let out = &mut self.slots[slot as usize].as_mut().expect("live").outgoing;
        let edge = out.remove(at);
        out.shrink_to(out.len().max(EXACT_GROWTH_BELOW));
        let inc = &mut self.slots[edge.target as usize].as_mut().expect("a relationship's target is live").incoming;
        if let Ok(i) = find_incoming(inc, slot, id) {
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
        self.outgoing_list(slot).iter().enumerate().map(move |(i, e)| self.edge_ref(slot, i, e))
    }

    pub(crate) fn incoming_at(&self, slot: u32) -> impl Iterator<Item = EdgeRef<'_>> + '_ {
        self.incoming_list(slot).iter().filter_map(move |entry| self.resolve(entry))
    }

    /// `outgoing_at`, keeping only the relationships whose name id is in `names`.
    pub(crate) fn outgoing_named_at(&self, slot: u32, names: &[u32]) -> impl Iterator<Item = EdgeRef<'_>> {
        let edges = self.outgoing_list(slot).iter().enumerate();
        edges.filter(move |(_, e)| names.contains(&e.name)).map(move |(i, e)| self.edge_ref(slot, i, e))
    }

    /// `incoming_at`, keeping only the relationships whose name id is in `names`; the others are skipped before their source's list is searched.
    pub(crate) fn incoming_named_at(&self, slot: u32, names: &[u32]) -> impl Iterator<Item = EdgeRef<'_>> {
        let incoming = self.incoming_list(slot).iter();
        incoming.filter(move |entry| names.contains(&entry.name)).filter_map(move |entry| self.resolve(entry))
    }

    /// The source slots of the incoming relationships with one of `names`, without looking the relationships up.
    pub(crate) fn incoming_sources_named_at(&self, slot: u32, names: &[u32]) -> impl Iterator<Item = u32> {
        let incoming = self.incoming_list(slot).iter();
        incoming.filter(move |entry| names.contains(&entry.name)).map(|entry| entry.source)
    }

    /// The id of a relationship name, if any relationship of this graph has ever had it.
    pub(crate) fn name_id(&self, name: &str) -> Option<u32> {
        self.name_ids.get(name).copied()
    }

    fn node(&self, id: &str) -> Option<&Node> {
        self.ids.get(id).and_then(|&slot| self.slots[slot as usize].as_ref())
    }

    fn outgoing_list(&self, slot: u32) -> &[Edge] {
        self.slots.get(slot as usize).and_then(Option::as_ref).map_or(&[], |n| &n.outgoing)
    }

    fn incoming_list(&self, slot: u32) -> &[Incoming] {
        self.slots.get(slot as usize).and_then(Option::as_ref).map_or(&[], |n| &n.incoming)
    }

    /// The relationship an incoming entry stands for, found by id in its source's list.
    fn resolve(&self, entry: &Incoming) -> Option<EdgeRef<'_>> {
        let from = self.slots[entry.source as usize].as_ref()?;
        let at = find(&from.outgoing, &entry.id).ok()?;
        Some(self.edge_ref(entry.source, at, &from.outgoing[at]))
    }

    fn edge_ref<'g>(&'g self, source: u32, index: usize, e: &'g Edge) -> EdgeRef<'g> {
        EdgeRef {
            source,
            index: index as u32,
            id: &e.id,
            target: e.target,
            name: &self.names[e.name as usize],
            name_id: e.name,
            etag: e.etag,
            properties: e.properties.as_deref(),
        }
    }

    /// The id of a name, giving it a new one the first time it is seen.
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.name_ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).expect("fewer than 2^32 relationship names in a tenant");
        self.names.push(name.into());
        self.name_ids.insert(name.into(), id);
        id
    }

    fn materialize(&self, source: u32, e: &Edge) -> Relationship {
        let id_of = |slot: u32| self.slots[slot as usize].as_ref().map(|n| n.twin.id.clone()).unwrap_or_default();
        Relationship {
            id: e.id.to_string(),
            source: id_of(source),
            target: id_of(e.target),
            name: self.names[e.name as usize].to_string(),
            etag: e.etag,
            properties: e.properties.as_deref().cloned().unwrap_or_default(),
        }
    }
}

fn find(list: &[Edge], id: &str) -> Result<usize, usize> {
    list.binary_search_by(|e| (*e.id).cmp(id))
}

fn find_incoming(list: &[Incoming], source: u32, id: &str) -> Result<usize, usize> {
    list.binary_search_by(|entry| (entry.source, &*entry.id).cmp(&(source, id)))
}

fn grow<T>(list: &mut Vec<T>) {
    if list.len() < EXACT_GROWTH_BELOW {
        list.reserve_exact(1);
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};
    use serde_json::json;

    use super::{Edge, EdgeRef, Incoming};
    use crate::tenant::{Limits, Precondition, TenantGraph};

    const NOW: &str = "2026-11-26T12:00:00.0000000Z";

    /// A graph of spaces (`contains`, `feeds`) and devices (`locatedIn` a space), written through the validated operations.
    struct Fixture {
        graph: TenantGraph,
    }

    impl Fixture {
        fn new() -> Fixture {
            let space = json!({
                "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Space;1", "@type": "Interface",
                "contents": [
                    { "@type": "Relationship", "name": "contains", "target": "dtmi:test:Space;1" },
                    { "@type": "Relationship", "name": "feeds" }
                ]
            });
            let device = json!({
                "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Device;1", "@type": "Interface",
                "contents": [ { "@type": "Relationship", "name": "locatedIn", "target": "dtmi:test:Space;1" } ]
            });
            let mut graph = TenantGraph::new(Limits::default());
            graph.upload_models(vec![space, device], NOW).expect("the test models are valid");
            Fixture { graph }
        }

        fn twin(&mut self, id: &str, model: &str) {
            let body = json!({ "$metadata": { "$model": format!("dtmi:test:{model};1") } });
            self.graph.put_twin(id, body, &Precondition::None, NOW).expect("a valid twin");
        }

        fn relate(&mut self, source: &str, id: &str, name: &str, target: &str) {
            let body = json!({ "$targetId": target, "$relationshipName": name });
            self.graph.put_relationship(source, id, body, &Precondition::None, NOW).expect("a valid relationship");
        }

        fn unrelate(&mut self, source: &str, id: &str) {
            self.graph.delete_relationship(source, id, &Precondition::None).expect("the relationship exists");
        }

        fn delete(&mut self, id: &str) {
            self.graph.delete_twin(id, &Precondition::None, true).expect("the twin exists");
        }
    }

    /// Renders, for each name list, the name ids and every twin's named walks; and checks each named walk against the unnamed walk filtered by name string, and each `name_id` against the graph's table.
    fn check_walks(graph: &TenantGraph, name_lists: &[&[&str]], expect: Expect) {
        let render = |e: &EdgeRef<'_>| {
            let twin = |slot: u32| graph.twin_at(slot).map_or("?", |t| t.id.as_str());
            format!("{}:{}({})#{} {}→{}", e.id, e.name, e.name_id, e.index, twin(e.source), twin(e.target))
        };
        let mut out = String::new();
        for names in name_lists {
            let ids: Vec<u32> = names.iter().filter_map(|n| graph.relationship_name_id(n)).collect();
            let shown: Vec<String> = names.iter().map(|n| format!("{n}={:?}", graph.relationship_name_id(n))).collect();
            out.push_str(&format!("names {}\n", shown.join(" ")));
            for slot in graph.slots() {
                let outgoing: Vec<String> = graph.outgoing_named_at(slot, &ids).map(|e| render(&e)).collect();
                let incoming: Vec<String> = graph.incoming_named_at(slot, &ids).map(|e| render(&e)).collect();
                let by_string = |e: &EdgeRef<'_>| names.contains(&e.name);
                let expected_out: Vec<String> = graph.outgoing_at(slot).filter(by_string).map(|e| render(&e)).collect();
                let expected_in: Vec<String> = graph.incoming_at(slot).filter(by_string).map(|e| render(&e)).collect();
                assert_eq!((&outgoing, &incoming), (&expected_out, &expected_in), "named and filtered walks agree");
                let sources: Vec<u32> = graph.incoming_sources_named_at(slot, &ids).collect();
                let expected_sources: Vec<u32> = graph.incoming_named_at(slot, &ids).map(|e| e.source).collect();
                assert_eq!(sources, expected_sources, "the sources of named incoming relationships");
                for e in graph.outgoing_at(slot).chain(graph.incoming_at(slot)) {
                    assert_eq!(graph.relationship_name_id(e.name), Some(e.name_id), "{}", render(&e));
                }
                if outgoing.is_empty() && incoming.is_empty() {
                    continue;
                }
                let twin = graph.twin_at(slot).map_or("?", |t| t.id.as_str());
                out.push_str(&format!("  {twin}@{slot} out [{}] in [{}]\n", outgoing.join(", "), incoming.join(", ")));
            }
        }
        expect.assert_eq(&out);
    }

    fn check_sizes(expect: Expect) {
        let sizes = format!(
            "Edge {}, Incoming {}, (u32, Box<str>) {}",
            std::mem::size_of::<Edge>(),
            std::mem::size_of::<Incoming>(),
            std::mem::size_of::<(u32, Box<str>)>()
        );
        expect.assert_eq(&sizes);
    }

    #[test]
    fn compact_entries_stay_small() {
        // An edge with its name as an `Arc<str>` took 56 bytes; an incoming entry carries its name id in what was padding.
        check_sizes(expect!["Edge 40, Incoming 24, (u32, Box<str>) 24"]);
    }

    #[test]
    fn named_walks_filter_on_name_ids() {
        let mut f = Fixture::new();
        for (id, model) in [("site", "Space"), ("floor1", "Space"), ("floor2", "Space"), ("room1", "Space")] {
            f.twin(id, model);
        }
        f.twin("dev1", "Device");
        f.relate("site", "c2", "contains", "floor2");
        f.relate("site", "c1", "contains", "floor1");
        f.relate("floor1", "c3", "contains", "room1");
        f.relate("floor1", "f1", "feeds", "room1");
        f.relate("dev1", "l1", "locatedIn", "room1");
        let lists: &[&[&str]] = &[&["contains"], &["locatedIn", "feeds"], &["ghost", "feeds"], &[]];
        check_walks(
            &f.graph,
            lists,
            expect![[r#"
                names contains=Some(0)
                  site@0 out [c1:contains(0)#0 site→floor1, c2:contains(0)#1 site→floor2] in []
                  floor1@1 out [c3:contains(0)#0 floor1→room1] in [c1:contains(0)#0 site→floor1]
                  floor2@2 out [] in [c2:contains(0)#1 site→floor2]
                  room1@3 out [] in [c3:contains(0)#0 floor1→room1]
                names locatedIn=Some(2) feeds=Some(1)
                  floor1@1 out [f1:feeds(1)#1 floor1→room1] in []
                  room1@3 out [] in [f1:feeds(1)#1 floor1→room1, l1:locatedIn(2)#0 dev1→room1]
                  dev1@4 out [l1:locatedIn(2)#0 dev1→room1] in []
                names ghost=None feeds=Some(1)
                  floor1@1 out [f1:feeds(1)#1 floor1→room1] in []
                  room1@3 out [] in [f1:feeds(1)#1 floor1→room1]
                names 
            "#]],
        );
    }

    #[test]
    fn named_walks_follow_replace_and_delete() {
        let mut f = Fixture::new();
        for id in ["floor1", "room1", "room2"] {
            f.twin(id, "Space");
        }
        f.twin("dev1", "Device");
        f.relate("floor1", "a", "contains", "room1");
        f.relate("floor1", "b", "contains", "room2");
        f.relate("dev1", "l1", "locatedIn", "room1");
        // Replacing a relationship may change its name and target; both ends must follow.
        f.relate("floor1", "a", "feeds", "room2");
        f.unrelate("floor1", "b");
        let lists: &[&[&str]] = &[&["contains"], &["feeds", "locatedIn"]];
        check_walks(
            &f.graph,
            lists,
            expect![[r#"
                names contains=Some(0)
                names feeds=Some(2) locatedIn=Some(1)
                  floor1@0 out [a:feeds(2)#0 floor1→room2] in []
                  room1@1 out [] in [l1:locatedIn(1)#0 dev1→room1]
                  room2@2 out [] in [a:feeds(2)#0 floor1→room2]
                  dev1@3 out [l1:locatedIn(1)#0 dev1→room1] in []
            "#]],
        );
        // A deleted twin's slot goes to the next new twin, which must not inherit its relationships; names keep their ids.
        f.delete("room1");
        f.twin("room3", "Space");
        f.relate("floor1", "c", "contains", "room3");
        check_walks(
            &f.graph,
            lists,
            expect![[r#"
                names contains=Some(0)
                  floor1@0 out [c:contains(0)#1 floor1→room3] in []
                  room3@1 out [] in [c:contains(0)#1 floor1→room3]
                names feeds=Some(2) locatedIn=Some(1)
                  floor1@0 out [a:feeds(2)#0 floor1→room2] in []
                  room2@2 out [] in [a:feeds(2)#0 floor1→room2]
            "#]],
        );
    }
}
