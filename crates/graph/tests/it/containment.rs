//! The containment tree: refusals of second parents and cycles, moves of subtrees, loading stored data that breaks the rule, declarations changed later, and random sequences of writes checked against a naive recomputation from the relationships.
//!
//! Every test goes through `Tree`, whose methods are the only callers of the graph API here.

use std::collections::{BTreeMap, BTreeSet};

use expect_test::{Expect, expect};
use graph::{Clash, Containment, GraphError, Limits, Precondition, Relationship, TenantGraph, Twin};
use serde_json::{Map, json};

const NOW: &str = "2026-11-26T12:00:00.0000000Z";

/// Relationship names of the test model: `contains` (parent to child), `isPartOf` and `locatedIn` (child to parent), and `feeds`, which is not containment.
const NAMES: [&str; 4] = ["contains", "isPartOf", "locatedIn", "feeds"];

fn declaration() -> Containment {
    Containment::new(["contains"], ["isPartOf", "locatedIn"]).expect("a valid declaration")
}

fn model() -> serde_json::Value {
    let contents: Vec<serde_json::Value> =
        NAMES.iter().map(|name| json!({ "@type": "Relationship", "name": name })).collect();
    json!({ "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Thing;1", "@type": "Interface", "contents": contents })
}

fn twin_body() -> serde_json::Value {
    json!({ "$metadata": { "$model": "dtmi:test:Thing;1" } })
}

struct Tree {
    graph: TenantGraph,
}

impl Tree {
    /// A graph with `declaration()` and these twins.
    fn new(twins: &[&str]) -> Tree {
        let mut graph = TenantGraph::with_containment(Limits::default(), declaration());
        graph.upload_models(vec![model()], NOW).expect("the test model is valid");
        let mut tree = Tree { graph };
        for id in twins {
            tree.twin(id);
        }
        tree
    }

    fn twin(&mut self, id: &str) {
        self.graph.put_twin(id, twin_body(), &Precondition::None, NOW).expect("a valid twin");
    }

    /// Puts a relationship `source -name-> target` with id `id`.
    fn put(&mut self, source: &str, id: &str, name: &str, target: &str) -> Result<(), GraphError> {
        let body = json!({ "$targetId": target, "$relationshipName": name });
        self.graph.put_relationship(source, id, body, &Precondition::None, NOW).map(|_| ())
    }

    fn relate(&mut self, source: &str, id: &str, name: &str, target: &str) {
        self.put(source, id, name, target).expect("an allowed relationship");
    }

    fn unrelate(&mut self, source: &str, id: &str) {
        self.graph.delete_relationship(source, id, &Precondition::None).expect("the relationship exists");
    }

    fn delete(&mut self, id: &str) {
        self.graph.delete_twin(id, &Precondition::None, true).expect("the twin exists");
    }

    fn slot(&self, id: &str) -> u32 {
        self.graph.slot(id).expect("a live twin")
    }

    fn id(&self, slot: u32) -> &str {
        self.graph.twin_at(slot).map_or("?", |t| t.id.as_str())
    }

    /// The forest as text: each root's subtree in pre-order, indented by depth, with its subtree size; then every path.
    fn render(&self) -> String {
        let mut out = String::new();
        for root in self.graph.slots().filter(|&s| self.graph.parent_at(s).is_none()) {
            for slot in self.graph.subtree_at(root) {
                let indent = "  ".repeat(self.graph.depth_at(slot) as usize);
                out.push_str(&format!("{indent}{} ({})\n", self.id(slot), self.graph.subtree_size_at(slot)));
            }
        }
        out
    }

    /// Checks every read of the tree against `naive`, a recomputation from the relationships alone.
    fn check_against_naive(&self) {
        let naive = Naive::of(&self.graph).expect("the graph keeps the rule");
        let slots: Vec<u32> = self.graph.slots().collect();
        for &slot in &slots {
            let id = self.id(slot).to_owned();
            let parent = self.graph.parent_at(slot).map(|p| self.id(p).to_owned());
            assert_eq!(parent, naive.parent.get(&id).cloned(), "parent of {id}");
            let ancestors = naive.ancestors(&id);
            assert_eq!(self.graph.depth_at(slot) as usize, ancestors.len(), "depth of {id}");
            let mut path: Vec<&str> = ancestors.iter().rev().map(String::as_str).collect();
            path.push(&id);
            assert_eq!(self.graph.path_at(slot), path, "path of {id}");
            let children: BTreeSet<String> = self.graph.children_at(slot).map(|c| self.id(c).to_owned()).collect();
            let expected: BTreeSet<String> =
                naive.parent.iter().filter(|(_, p)| **p == id).map(|(c, _)| c.clone()).collect();
            assert_eq!(children, expected, "children of {id}");
            let subtree: Vec<String> = self.graph.subtree_at(slot).map(|s| self.id(s).to_owned()).collect();
            let members: BTreeSet<String> = subtree.iter().cloned().collect();
            assert_eq!(members.len(), subtree.len(), "a subtree lists each twin once");
            assert_eq!(self.graph.subtree_size_at(slot), subtree.len(), "subtree size of {id}");
            for &other in &slots {
                let other_id = self.id(other).to_owned();
                let within = other_id == id || naive.ancestors(&other_id).contains(&id);
                assert_eq!(self.graph.is_within(other, slot), within, "{other_id} within {id}");
                assert_eq!(members.contains(&other_id), within, "{other_id} in the subtree of {id}");
            }
        }
    }

    /// What a refused write must leave as it was.
    fn state(&self) -> (String, String, Vec<Option<u32>>) {
        let parents = self.graph.slots().map(|s| self.graph.parent_at(s)).collect();
        (self.graph.export_ndjson(), self.render(), parents)
    }
}

/// Parents recomputed from the relationships: `None` when some twin has two different parents or containment has a cycle.
struct Naive {
    parent: BTreeMap<String, String>,
}

impl Naive {
    fn of(graph: &TenantGraph) -> Option<Naive> {
        Naive::from_relationships(graph.all_relationships().collect(), graph.twin_count())
    }

    fn from_relationships(relationships: Vec<Relationship>, twins: usize) -> Option<Naive> {
        let containment = declaration();
        let mut parent = BTreeMap::new();
        for r in relationships {
            let (p, c) = match containment.role(&r.name) {
                Some(graph::Role::ParentToChild) => (r.source, r.target),
                Some(graph::Role::ChildToParent) => (r.target, r.source),
                None => continue,
            };
            if parent.insert(c, p.clone()).is_some_and(|old| old != p) {
                return None;
            }
        }
        let naive = Naive { parent };
        for child in naive.parent.keys() {
            let mut at = child;
            for _ in 0..=twins {
                match naive.parent.get(at) {
                    Some(up) if up == child => return None,
                    Some(up) => at = up,
                    None => break,
                }
            }
        }
        Some(naive)
    }

    /// The ancestors of a twin, its parent first.
    fn ancestors(&self, id: &str) -> Vec<String> {
        std::iter::successors(self.parent.get(id), |up| self.parent.get(*up)).cloned().collect()
    }
}

fn check(actual: String, expect: Expect) {
    expect.assert_eq(&actual);
}

fn render_error(result: Result<(), GraphError>) -> String {
    match result {
        Ok(()) => "ok".to_owned(),
        Err(e) => format!("{e:?}"),
    }
}

#[test]
fn parents_depths_and_paths_follow_both_directions() {
    let mut t = Tree::new(&["site", "building", "floor1", "floor2", "room", "device", "other"]);
    t.relate("site", "c1", "contains", "building");
    t.relate("floor1", "p1", "isPartOf", "building");
    t.relate("building", "c2", "contains", "floor2");
    t.relate("room", "p2", "isPartOf", "floor2");
    t.relate("device", "l1", "locatedIn", "room");
    // A second relationship to the same parent, in the other direction, is fine; `feeds` is not containment.
    t.relate("room", "c3", "contains", "device");
    t.relate("device", "f1", "feeds", "floor1");
    check(
        t.render(),
        expect![[r#"
            site (6)
              building (5)
                floor1 (1)
                floor2 (3)
                  room (2)
                    device (1)
            other (1)
        "#]],
    );
    assert_eq!(t.graph.path_at(t.slot("device")), ["site", "building", "floor2", "room", "device"]);
    t.check_against_naive();
    // Removing one of the device's two parent relationships keeps it in the room; removing the other frees it.
    t.unrelate("device", "l1");
    assert_eq!(t.graph.parent_at(t.slot("device")), Some(t.slot("room")));
    t.unrelate("room", "c3");
    assert_eq!(t.graph.parent_at(t.slot("device")), None);
    t.check_against_naive();
}

#[test]
fn second_parents_and_cycles_are_refused_and_change_nothing() {
    let mut t = Tree::new(&["a", "b", "c", "d", "x"]);
    t.relate("a", "ab", "contains", "b");
    t.relate("b", "bc", "contains", "c");
    t.relate("c", "cd", "contains", "d");
    let before = t.state();
    check(
        render_error(t.put("x", "xc", "contains", "c")),
        expect![[
            r#"Conflict { reason: ContainmentParent, message: "twin 'c' is contained in 'b'; relationship 'xc' (contains) of twin 'x' would also place it in 'x', and a twin has at most one containment parent" }"#
        ]],
    );
    check(
        render_error(t.put("c", "cx", "locatedIn", "x")),
        expect![[
            r#"Conflict { reason: ContainmentParent, message: "twin 'c' is contained in 'b'; relationship 'cx' (locatedIn) of twin 'c' would also place it in 'x', and a twin has at most one containment parent" }"#
        ]],
    );
    check(
        render_error(t.put("d", "da", "contains", "a")),
        expect![[
            r#"Conflict { reason: ContainmentCycle, message: "relationship 'da' (contains) of twin 'd' would place 'a' inside 'd', which lies within 'a' (through d < c < b): containment cannot form a cycle" }"#
        ]],
    );
    check(
        render_error(t.put("a", "ad", "isPartOf", "d")),
        expect![[
            r#"Conflict { reason: ContainmentCycle, message: "relationship 'ad' (isPartOf) of twin 'a' would place 'a' inside 'd', which lies within 'a' (through d < c < b): containment cannot form a cycle" }"#
        ]],
    );
    // Replacing a relationship with one that breaks the rule leaves the old one in place.
    check(
        render_error(t.put("c", "cd", "isPartOf", "d")),
        expect![[
            r#"Conflict { reason: ContainmentParent, message: "twin 'c' is contained in 'b'; relationship 'cd' (isPartOf) of twin 'c' would also place it in 'd', and a twin has at most one containment parent" }"#
        ]],
    );
    assert_eq!(t.state(), before, "a refused write changes nothing");
    // A relationship that is not containment may go anywhere.
    t.relate("d", "da", "feeds", "a");
    t.check_against_naive();
}

#[test]
fn moving_a_subtree_updates_its_depths() {
    let mut t = Tree::new(&["b1", "b2", "f", "r1", "r2", "d"]);
    t.relate("b1", "to-f", "contains", "f");
    t.relate("f", "to-r1", "contains", "r1");
    t.relate("r2", "up", "isPartOf", "f");
    t.relate("d", "in", "locatedIn", "r2");
    t.relate("b2", "sub", "isPartOf", "b1");
    check(
        t.render(),
        expect![[r#"
            b1 (6)
              f (4)
                r1 (1)
                r2 (2)
                  d (1)
              b2 (1)
        "#]],
    );
    // Creating the new parent first is a second parent; the move is: delete the old, then create the new.
    check(
        render_error(t.put("b2", "to-f", "contains", "f")),
        expect![[
            r#"Conflict { reason: ContainmentParent, message: "twin 'f' is contained in 'b1'; relationship 'to-f' (contains) of twin 'b2' would also place it in 'b2', and a twin has at most one containment parent" }"#
        ]],
    );
    t.unrelate("b1", "to-f");
    t.relate("b2", "to-f", "contains", "f");
    check(
        t.render(),
        expect![[r#"
            b1 (6)
              b2 (5)
                f (4)
                  r1 (1)
                  r2 (2)
                    d (1)
        "#]],
    );
    t.check_against_naive();
    // A child-to-parent relationship replaced with another target moves its source in one write.
    t.relate("r2", "up", "isPartOf", "b1");
    check(
        t.render(),
        expect![[r#"
            b1 (6)
              b2 (3)
                f (2)
                  r1 (1)
              r2 (2)
                d (1)
        "#]],
    );
    // So does a relationship whose name changes from containment to another kind, or back.
    t.relate("r2", "up", "feeds", "b1");
    t.relate("r2", "up", "locatedIn", "r1");
    t.check_against_naive();
    assert_eq!(t.graph.path_at(t.slot("d")), ["b1", "b2", "f", "r1", "r2", "d"]);
    // Deleting a twin frees its children, which keep their own subtrees.
    t.delete("f");
    check(
        t.render(),
        expect![[r#"
            b1 (2)
              b2 (1)
            r1 (3)
              r2 (2)
                d (1)
        "#]],
    );
    t.check_against_naive();
}

/// Loads twins and relationships as the store does at start-up, in order, with `declaration()`.
fn load(twins: &[&str], relationships: &[(&str, &str, &str, &str)]) -> TenantGraph {
    let mut graph = TenantGraph::with_containment(Limits::default(), declaration());
    graph.upload_models(vec![model()], NOW).expect("the test model is valid");
    for (version, id) in twins.iter().enumerate() {
        let serde_json::Value::Object(doc) = twin_body() else { unreachable!("an object") };
        graph.load_twin(Twin::new((*id).to_owned(), version as u64 + 1, &doc));
    }
    for (source, id, name, target) in relationships {
        let relationship = Relationship {
            id: (*id).to_owned(),
            source: (*source).to_owned(),
            target: (*target).to_owned(),
            name: (*name).to_owned(),
            etag: 100,
            properties: Map::new(),
        };
        assert!(graph.load_relationship(relationship), "both twins are loaded");
    }
    graph
}

#[test]
fn loading_keeps_the_first_parent_and_reports_the_rest() {
    let mut t = Tree {
        graph: load(
            &["a", "b", "c", "d", "e"],
            &[
                ("a", "ab", "contains", "b"),
                ("c", "cb", "contains", "b"),
                ("b", "bc", "isPartOf", "c"),
                ("b", "bd", "contains", "d"),
                ("d", "da", "contains", "a"),
                ("e", "ec", "isPartOf", "c"),
            ],
        ),
    };
    check(
        format!("{:#?}\n{}", t.graph.containment_violations(), t.render()),
        expect![[r#"
            Violations {
                count: 3,
                examples: [
                    "twin 'b' is contained in 'a'; relationship 'cb' (contains) of twin 'c' would also place it in 'c', and a twin has at most one containment parent",
                    "twin 'b' is contained in 'a'; relationship 'bc' (isPartOf) of twin 'b' would also place it in 'c', and a twin has at most one containment parent",
                    "relationship 'da' (contains) of twin 'd' would place 'a' inside 'd', which lies within 'a' (through d < b): containment cannot form a cycle",
                ],
            }
            a (3)
              b (2)
                d (1)
            c (2)
              e (1)
        "#]],
    );
    assert_eq!(t.graph.relationship_count(), 6, "every stored relationship is loaded");
    // A relationship kept outside the tree goes without changing it; writes keep the rule.
    let before = t.render();
    t.unrelate("c", "cb");
    t.unrelate("d", "da");
    assert_eq!(t.render(), before);
    assert!(t.put("b", "bc2", "isPartOf", "c").is_err(), "b still has its first parent");
    // Once b's tree parent goes, b is free; its other relationship to c stays outside until the tree is rebuilt.
    t.unrelate("a", "ab");
    assert_eq!(t.graph.parent_at(t.slot("b")), None);
    t.relate("b", "bc2", "isPartOf", "c");
    t.unrelate("b", "bc");
    assert_eq!(t.graph.parent_at(t.slot("b")), Some(t.slot("c")), "the last relationship to c keeps b there");
    t.check_against_naive();
}

#[test]
fn a_new_declaration_rebuilds_the_tree_or_changes_nothing() {
    let mut t = Tree::new(&["a", "b", "c"]);
    t.relate("a", "ab", "contains", "b");
    t.relate("c", "cb", "feeds", "b");
    t.relate("b", "ba", "feeds", "a");
    let before = t.state();
    let refused = t.graph.set_containment(Containment::new(["contains", "feeds"], ["isPartOf"]).expect("valid"));
    check(
        render_error(refused),
        expect![[
            r#"Conflict { reason: ContainmentCycle, message: "the relationships break the containment rule under this declaration in 2 place(s); the first: relationship 'ba' (feeds) of twin 'b' would place 'a' inside 'b', which lies within 'a' (through b): containment cannot form a cycle" }"#
        ]],
    );
    assert_eq!(t.state(), before);
    assert_eq!(t.graph.containment(), &declaration());
    t.graph.set_containment(Containment::new(Vec::<String>::new(), ["feeds"]).expect("valid")).expect("no conflict");
    check(
        t.render(),
        expect![[r#"
            a (3)
              b (2)
                c (1)
        "#]],
    );
    check(
        render_error(Containment::new(["contains"], ["contains"]).map(|_| ())),
        expect![[
            r#"InvalidInput { reason: InvalidArgument, message: "the containment relationship 'contains' is declared twice" }"#
        ]],
    );
}

/// A seeded SplitMix64, so each random sequence is the same in every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

#[test]
fn random_writes_keep_the_tree_equal_to_a_naive_recomputation() {
    const TWINS: usize = 10;
    let ids: Vec<String> = (0..TWINS).map(|i| format!("t{i}")).collect();
    let mut refused = BTreeMap::<String, usize>::new();
    for seed in 0..40 {
        let mut rng = Rng(seed);
        let mut t = Tree::new(&ids.iter().map(String::as_str).collect::<Vec<_>>());
        for _ in 0..200 {
            let source = ids[rng.below(TWINS)].clone();
            match rng.below(10) {
                // Put (create or replace) one of a few relationship ids per source, so replacements happen.
                0..=5 => {
                    let target = ids[rng.below(TWINS)].clone();
                    let (id, name) = (format!("r{}", rng.below(3)), NAMES[rng.below(NAMES.len())]);
                    if source == target {
                        continue;
                    }
                    let mut after: Vec<Relationship> =
                        t.graph.all_relationships().filter(|r| !(r.source == source && r.id == id)).collect();
                    after.push(Relationship {
                        id: id.clone(),
                        source: source.clone(),
                        target: target.clone(),
                        name: name.to_owned(),
                        etag: 0,
                        properties: Map::new(),
                    });
                    let allowed = Naive::from_relationships(after, TWINS).is_some();
                    let before = t.state();
                    match t.put(&source, &id, name, &target) {
                        Ok(()) => assert!(allowed, "seed {seed}: {source} -{id}:{name}-> {target} was allowed"),
                        Err(GraphError::Conflict { reason, .. }) => {
                            assert!(!allowed, "seed {seed}: {source} -{id}:{name}-> {target} was refused");
                            assert_eq!(t.state(), before, "seed {seed}: a refusal changes nothing");
                            assert!(matches!(reason, Clash::ContainmentParent | Clash::ContainmentCycle));
                            *refused.entry(format!("{reason:?}")).or_default() += 1;
                        }
                        Err(other) => panic!("seed {seed}: {other}"),
                    }
                }
                6..=8 => {
                    let outgoing = t.graph.relationships(&source, None).expect("a live twin");
                    if !outgoing.is_empty() {
                        let id = outgoing[rng.below(outgoing.len())].id.clone();
                        t.unrelate(&source, &id);
                    }
                }
                // Delete a twin with its relationships and create it again: its slot is reused.
                _ => {
                    t.delete(&source);
                    t.twin(&source);
                }
            }
            t.check_against_naive();
        }
    }
    // Both kinds of refusal are exercised, many times.
    let counts: Vec<String> = refused.iter().map(|(reason, n)| format!("{reason} {}", *n > 10)).collect();
    check(counts.join(", "), expect!["ContainmentCycle true, ContainmentParent true"]);
}
