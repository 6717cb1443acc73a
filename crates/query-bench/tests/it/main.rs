//! The harness of the SQLite comparison at a small size: the load path gives the graph the write path would, and every query runs, agrees between the engines and finds rows.
//!
//! Timing figures are not checked (they belong to `BENCHMARKS.md`), nor is which queries Twinscape supports yet, which changes as the engine grows.

use std::time::Duration;

use expect_test::{Expect, expect};
use graph::TenantGraph;
use graph::bulk::Bulk;
use portfolio::Portfolio;
use query_bench::{Budget, Config};
use serde_json::Value;

/// The twin documents and relationships the benchmark loads are exactly what importing the portfolio through the
/// validating write path stores: same documents, metadata, versions and relationships.
#[test]
fn load_path_matches_the_write_path() {
    let portfolio = Portfolio::generate(600, 3).with_tower(120);
    let loaded = query_bench::load(&portfolio).expect("the portfolio loads");
    let mut bulk = Bulk::default();
    let Value::Array(models) = portfolio::models() else { unreachable!("the model set is an array") };
    bulk.models = models.into_iter().enumerate().collect();
    for index in 0..portfolio.twins.len() {
        let mut twin = portfolio.twin_body(index);
        twin["$dtId"] = Value::String(portfolio.twins[index].id.clone());
        bulk.twins.push((index, twin));
    }
    for relationship in query_bench::stored_relationships(&portfolio) {
        let body = serde_json::json!({
            "$dtId": relationship.source,
            "$relationshipId": relationship.id,
            "$targetId": relationship.target,
            "$relationshipName": relationship.name,
        });
        bulk.relationships.push((0, body));
    }
    let mut imported = TenantGraph::with_containment(graph::Limits::default(), query_bench::containment());
    let report = imported.import(bulk, query_bench::NOW);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(loaded.twins, imported.twin_count());
    assert_eq!(loaded.relationships, imported.relationship_count());
    assert!(loaded.graph.export_ndjson() == imported.export_ndjson(), "the load path differs from the write path");
    // The containment trees agree too: every twin's path from its root.
    for twin in imported.twins() {
        let path = |graph: &TenantGraph| graph.slot(&twin.id).map(|slot| graph.path_at(slot).join("/"));
        assert_eq!(path(&loaded.graph), path(&imported), "the path of {}", twin.id);
    }
}

/// Runs the whole comparison on a small portfolio and shows each query's rows.
fn check_smoke(twins: usize, tower: usize, expect: Expect) {
    let budget = Budget { time: Duration::ZERO, runs_min: 1, runs_max: 1 };
    let config = Config { twins, tower, seed: 1, budget, only: None };
    let report = query_bench::run(&config, &mut std::io::sink()).expect("the engines agree");
    let mut out = format!("{} twins, {} relationships\n", report.twins, report.relationships);
    for query in &report.queries {
        out.push_str(&format!("{}: {:?} rows\n", query.name, query.rows));
    }
    expect.assert_eq(&out);
    assert!(query_bench::render(&report).contains("| point lookup by $dtId |"));
}

#[test]
fn smoke() {
    check_smoke(
        3_000,
        400,
        expect![[r#"
        3401 twins, 6437 relationships
        point lookup by $dtId: (1, 1) rows
        model + property filter: (1, 1) rows
        2 JOINs: building → floors → rooms: (89, 163) rows
        4 JOINs: building → … → sensors: (578, 1161) rows
        IN_SPACE: the tower's subtree: (401, 401) rows
        3-hop MATCH: building → devices: (174, 331) rows
        GROUP BY: rooms per floor of the tower: (2, 2) rows
        GROUP BY: rooms per floor, every floor: (17, 17) rows
    "#]],
    );
}
