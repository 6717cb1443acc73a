//! Graph records round-trip through the store: every change a graph write returns, persisted as ops, loads back to the same graph after a reopen; a damaged record is reported, not loaded.

use graph::{Limits as GraphLimits, Precondition, TenantGraph};
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
    let loaded = load_tenant(&backend, &tenant, GraphLimits::default()).expect("load");
    assert_eq!(loaded.twin_count(), 19);
    assert_eq!(loaded.relationship_count(), 18);
    assert_eq!(loaded.export_ndjson(), graph.export_ndjson());
    assert_eq!(loaded.twin("room3").map(|t| t.etag), graph.twin("room3").map(|t| t.etag), "ETags survive a restart");
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
        let err = load_tenant(&backend, &tenant, GraphLimits::default()).expect_err("a damaged record fails the load");
        assert!(matches!(&err, StoreError::Corrupt { what } if what.contains(expected)), "{err}");
    }
}
