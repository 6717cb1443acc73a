//! Graph records round-trip through the store: every change a graph write returns, persisted as ops, loads back to the same graph (its containment tree included) after a reopen; a damaged record is reported, not loaded; stored relationships that break the containment rule load and are reported.

use expect_test::expect;
use graph::{Containment, Limits as GraphLimits, Precondition, TenantGraph};
use serde_json::json;
use store::records::{RECORD_FORMAT, load_tenant, ops_for};
use store::{Backend, Limits, Op, StoreError, Table, TenantId};

use crate::check::open_embedded;

const NOW: &str = "2026-11-26T12:00:00.0000000Z";

fn write_sample(graph: &mut TenantGraph, backend: &dyn Backend, tenant: &TenantId) {
    let persist = |changes: Vec<graph::Change>| backend.commit(ops_for(tenant, &changes)).expect("commit");
    let models = vec![json!({
        "@context": "dtmi:dtdl:context;3", "@id": "dtmi:t:Room;1", "@type": "Interface",
        "contents": [{"@type": "Property", "name": "n", "schema": "integer"}, {"@type": "Relationship", "name": "next"}]
    })];
    persist(graph.upload_models(models, NOW).expect("valid models").1);
    for i in 0..20 {
        let body = json!({"$metadata": {"$model": "dtmi:t:Room;1"}, "n": i});
        persist(graph.put_twin(&format!("room{i}"), body, &Precondition::None, NOW).expect("valid twin").1);
    }
    for i in 0..19 {
        let body = json!({"$targetId": format!("room{}", i + 1), "$relationshipName": "next"});
        persist(
            graph
                .put_relationship(&format!("room{i}"), &format!("r{i}"), body, &Precondition::None, NOW)
                .expect("valid relationship")
                .1,
        );
    }
    persist(
        graph
            .patch_twin("room3", &json!([{"op": "replace", "path": "/n", "value": 42}]), &Precondition::None, NOW)
            .expect("valid patch")
            .1,
    );
    persist(graph.delete_relationship("room0", "r0", &Precondition::None).expect("exists"));
    persist(graph.delete_twin("room0", &Precondition::None, false).expect("no relationships left"));
}

#[test]
fn graph_changes_load_back_after_reopen() {
    let dir = tempfile::tempdir().expect("create temp dir");
    let tenant = TenantId::default_tenant();
    let mut graph = TenantGraph::new(GraphLimits::default());
    {
        let backend = open_embedded(dir.path(), Limits::default());
        write_sample(&mut graph, &backend, &tenant);
    }
    let backend = open_embedded(dir.path(), Limits::default());
    let loaded = load_tenant(&backend, &tenant, GraphLimits::default(), Containment::none()).expect("load");
    assert_eq!(loaded.twin_count(), 19);
    assert_eq!(loaded.relationship_count(), 18);
    assert_eq!(loaded.export_ndjson(), graph.export_ndjson());
    assert_eq!(loaded.twin("room3").map(|t| t.etag), graph.twin("room3").map(|t| t.etag), "ETags survive a restart");
}

/// The changes of many writes persisted as one batch load back to the same graph, and a twin or relationship changed more than once in it is written once, as it ended (a created then deleted one as deleted).
#[test]
fn a_batch_writes_each_record_once_as_its_last_change_left_it() {
    let tenant = TenantId::default_tenant();
    let mut graph = TenantGraph::new(GraphLimits::default());
    let mut changes = Vec::new();
    let models = vec![json!({
        "@context": "dtmi:dtdl:context;3", "@id": "dtmi:t:Room;1", "@type": "Interface",
        "contents": [{"@type": "Property", "name": "n", "schema": "integer"}, {"@type": "Relationship", "name": "next"}]
    })];
    changes.extend(graph.upload_models(models, NOW).expect("valid models").1);
    for id in ["a", "b", "gone"] {
        let body = json!({"$metadata": {"$model": "dtmi:t:Room;1"}, "n": 0});
        changes.extend(graph.put_twin(id, body, &Precondition::None, NOW).expect("valid twin").1);
    }
    let relationship = json!({"$targetId": "b", "$relationshipName": "next"});
    changes.extend(graph.put_relationship("a", "r", relationship, &Precondition::None, NOW).expect("valid").1);
    for n in 1..=3 {
        for id in ["a", "b"] {
            let patch = json!([{"op": "replace", "path": "/n", "value": n}]);
            changes.extend(graph.patch_twin(id, &patch, &Precondition::None, NOW).expect("valid patch").1);
        }
    }
    changes.extend(graph.delete_twin("gone", &Precondition::None, false).expect("exists"));
    let ops = ops_for(&tenant, &changes);
    let written: Vec<String> = ops
        .iter()
        .map(|op| match op {
            Op::Put { table, key, .. } => format!("put {table:?} {}", key.escape_debug()),
            Op::Delete { table, key, .. } => format!("delete {table:?} {}", key.escape_debug()),
            other => format!("{other:?}"),
        })
        .collect();
    expect![[r#"
        put Models dtmi:t:Room;1
        put Relationships a\0r
        put Twins a
        put Twins b
        delete Twins gone"#]]
    .assert_eq(&written.join("\n"));
    let backend = store::MemoryBackend::new(Limits::default()).expect("memory backend");
    backend.commit(ops).expect("commit");
    let loaded = load_tenant(&backend, &tenant, GraphLimits::default(), Containment::none()).expect("load");
    assert_eq!(loaded.export_ndjson(), graph.export_ndjson());
    assert_eq!(loaded.twin("a").map(|t| t.etag), graph.twin("a").map(|t| t.etag));
}

#[test]
fn damaged_records_are_reported() {
    let backend = store::MemoryBackend::new(Limits::default()).expect("memory backend");
    let tenant = TenantId::default_tenant();
    let mut graph = TenantGraph::new(GraphLimits::default());
    write_sample(&mut graph, &backend, &tenant);
    let damage =
        |value: Vec<u8>| Op::Put { tenant: tenant.clone(), table: Table::Twins, key: "room5".to_owned(), value };
    for (bytes, expected) in [
        (vec![RECORD_FORMAT + 1, b'{', b'}'], "record format 2"),
        (vec![RECORD_FORMAT, b'{'], "not valid JSON"),
        (vec![RECORD_FORMAT, b'{', b'}'], "does not have the twin shape"),
    ] {
        backend.commit(vec![damage(bytes)]).expect("commit");
        let err = load_tenant(&backend, &tenant, GraphLimits::default(), Containment::none())
            .expect_err("a damaged record fails the load");
        assert!(matches!(&err, StoreError::Corrupt { what } if what.contains(expected)), "{err}");
    }
}

/// The containment of the space models below: `contains` from a space to what it holds, `locatedIn` from a twin to its space.
fn containment() -> Containment {
    Containment::new(["contains"], ["locatedIn"]).expect("a valid declaration")
}

/// Writes spaces and devices with containment relationships through `graph`, committing every change.
fn write_spaces(
    graph: &mut TenantGraph,
    backend: &dyn Backend,
    tenant: &TenantId,
    relationships: &[(&str, &str, &str)],
) {
    let persist = |changes: Vec<graph::Change>| backend.commit(ops_for(tenant, &changes)).expect("commit");
    let models = vec![json!({
        "@context": "dtmi:dtdl:context;3", "@id": "dtmi:t:Space;1", "@type": "Interface",
        "contents": [{"@type": "Relationship", "name": "contains"}, {"@type": "Relationship", "name": "locatedIn"}]
    })];
    persist(graph.upload_models(models, NOW).expect("valid models").1);
    for id in ["site", "b1", "b2", "f1", "f2", "r1", "r2", "d1"] {
        let body = json!({"$metadata": {"$model": "dtmi:t:Space;1"}});
        persist(graph.put_twin(id, body, &Precondition::None, NOW).expect("valid twin").1);
    }
    for (i, (source, name, target)) in relationships.iter().enumerate() {
        let body = json!({"$targetId": target, "$relationshipName": name});
        let written = graph.put_relationship(source, &format!("r{i}"), body, &Precondition::None, NOW);
        persist(written.expect("an allowed relationship").1);
    }
}

/// Every twin's parent, depth, path and children, by id.
fn tree(graph: &TenantGraph) -> String {
    let mut lines: Vec<String> = graph
        .slots()
        .map(|slot| {
            let id = |s: u32| graph.twin_at(s).map_or("?", |t| t.id.as_str()).to_owned();
            let mut children: Vec<String> = graph.children_at(slot).map(id).collect();
            children.sort();
            let path = graph.path_at(slot).join("/");
            format!("{} depth {} path /{path} children [{}]", id(slot), graph.depth_at(slot), children.join(" "))
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

#[test]
fn the_containment_tree_loads_back() {
    let dir = tempfile::tempdir().expect("create temp dir");
    let tenant = TenantId::default_tenant();
    let mut graph = TenantGraph::with_containment(GraphLimits::default(), containment());
    let relationships = [
        ("site", "contains", "b1"),
        ("site", "contains", "b2"),
        ("b1", "contains", "f1"),
        ("f2", "locatedIn", "b1"),
        ("f1", "contains", "r1"),
        ("r2", "locatedIn", "f2"),
        ("d1", "locatedIn", "r2"),
        ("r2", "contains", "d1"),
    ];
    {
        let backend = open_embedded(dir.path(), Limits::default());
        write_spaces(&mut graph, &backend, &tenant, &relationships);
        // A move: f2 leaves b1 for b2.
        let persist = |changes: Vec<graph::Change>| backend.commit(ops_for(&tenant, &changes)).expect("commit");
        persist(graph.delete_relationship("f2", "r3", &Precondition::None).expect("exists"));
        let body = json!({"$targetId": "f2", "$relationshipName": "contains"});
        persist(graph.put_relationship("b2", "r8", body, &Precondition::None, NOW).expect("allowed").1);
    }
    let backend = open_embedded(dir.path(), Limits::default());
    let loaded = load_tenant(&backend, &tenant, GraphLimits::default(), containment()).expect("load");
    assert_eq!(loaded.containment_violations(), &graph::Violations::default());
    assert_eq!(tree(&loaded), tree(&graph));
    expect![[r#"
        b1 depth 1 path /site/b1 children [f1]
        b2 depth 1 path /site/b2 children [f2]
        d1 depth 4 path /site/b2/f2/r2/d1 children []
        f1 depth 2 path /site/b1/f1 children [r1]
        f2 depth 2 path /site/b2/f2 children [r2]
        r1 depth 3 path /site/b1/f1/r1 children []
        r2 depth 3 path /site/b2/f2/r2 children [d1]
        site depth 0 path /site children [b1 b2]"#]]
    .assert_eq(&tree(&loaded));
}

#[test]
fn stored_violations_load_and_are_reported() {
    let backend = store::MemoryBackend::new(Limits::default()).expect("memory backend");
    let tenant = TenantId::default_tenant();
    // Written without containment, so nothing was refused; loaded under a declaration they break.
    let mut graph = TenantGraph::new(GraphLimits::default());
    let relationships =
        [("b1", "contains", "f1"), ("b2", "contains", "f1"), ("f1", "contains", "r1"), ("r1", "contains", "b1")];
    write_spaces(&mut graph, &backend, &tenant, &relationships);
    let loaded =
        load_tenant(&backend, &tenant, GraphLimits::default(), containment()).expect("a load never fails on them");
    assert_eq!(loaded.relationship_count(), 4, "no relationship is lost");
    expect![[r#"
        Violations {
            count: 2,
            examples: [
                "twin 'f1' is contained in 'b1'; relationship 'r1' (contains) of twin 'b2' would also place it in 'b2', and a twin has at most one containment parent",
                "relationship 'r3' (contains) of twin 'r1' would place 'b1' inside 'r1', which lies within 'b1' (through r1 < f1): containment cannot form a cycle",
            ],
        }
    "#]].assert_debug_eq(loaded.containment_violations());
    expect![[r#"
        b1 depth 0 path /b1 children [f1]
        b2 depth 0 path /b2 children []
        d1 depth 0 path /d1 children []
        f1 depth 1 path /b1/f1 children [r1]
        f2 depth 0 path /f2 children []
        r1 depth 2 path /b1/f1/r1 children []
        r2 depth 0 path /r2 children []
        site depth 0 path /site children []"#]]
    .assert_eq(&tree(&loaded));
}
