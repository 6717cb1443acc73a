//! Bulk import and export against the sample graphs of `../shared/testdata/graphs`: counts, idempotent re-runs, per-line errors, and an export that imports back to an identical graph.

use std::fs;
use std::path::PathBuf;

use graph::bulk::{self, Format};
use graph::{Limits, TenantGraph};

const NOW: &str = "2026-11-26T12:00:00.0000000Z";

fn testdata() -> Option<PathBuf> {
    test_support::testdata(env!("CARGO_MANIFEST_DIR"), "bulk import tests").map(|root| root.join("graphs"))
}

/// Imports a file into a fresh graph and checks it, a re-run, and the export round trip; returns (twins, relationships).
fn check_import(graph: &mut TenantGraph, text: &str, expected_format: Format) -> (usize, usize) {
    assert_eq!(bulk::detect(text), expected_format);
    let report = graph.import(bulk::parse(text, expected_format), NOW);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let counts = (graph.twin_count(), graph.relationship_count());

    let again = graph.import(bulk::parse(text, expected_format), NOW);
    assert!(again.errors.is_empty(), "{:#?}", again.errors);
    assert_eq!(
        (again.models_created, again.twins_written, again.relationships_written),
        (0, 0, 0),
        "a re-run writes nothing"
    );

    let exported = graph.export_ndjson();
    let mut copy = TenantGraph::new(Limits::default());
    let report = copy.import(bulk::parse_ndjson(&exported), NOW);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert_eq!(copy.export_ndjson(), exported, "the export imports back to an identical graph");
    counts
}

#[test]
fn energy_grid_ndjson_imports() {
    let Some(root) = testdata() else { return };
    let text = fs::read_to_string(
        root.join("azure-digital-twins-getting-started/models/energy-grid-example/distributionGridBulkImport.json"),
    )
    .expect("read the sample");
    let lines = |section: &str| -> usize {
        let mut on = false;
        text.lines()
            .filter(|l| {
                if l.contains("\"Section\"") {
                    on = l.contains(section);
                    return false;
                }
                on && !l.trim().is_empty()
            })
            .count()
    };
    let (twins, relationships) = (lines("Twins"), lines("Relationships"));
    let mut graph = TenantGraph::new(Limits::default());
    assert_eq!(check_import(&mut graph, &text, Format::Ndjson), (twins, relationships));
    assert!(twins > 10 && relationships > 10, "{twins} twins, {relationships} relationships");
}

#[test]
fn explorer_graphs_import() {
    let Some(root) = testdata() else { return };
    for name in ["buildingScenario", "distributionGrid", "nationalGrid"] {
        let text = fs::read_to_string(root.join(format!("digital-twins-explorer/derived/{name}.graph.json")))
            .expect("read the sample");
        let value: serde_json::Value = serde_json::from_str(&text).expect("samples are JSON");
        let twins = value["digitalTwinsGraph"]["digitalTwins"].as_array().map_or(0, Vec::len);
        let relationships = value["digitalTwinsGraph"]["relationships"].as_array().map_or(0, Vec::len);
        let mut graph = TenantGraph::new(Limits::default());
        assert_eq!(check_import(&mut graph, &text, Format::Explorer), (twins, relationships), "{name}");
    }
}

#[test]
fn explorer_export_of_the_basic_home_imports() {
    let Some(root) = testdata() else { return };
    let dir = root.join("azure-digital-twins-getting-started/models/basic-home-example");
    let mut graph = TenantGraph::new(Limits::default());
    let text = fs::read_to_string(dir.join("import.json")).expect("read the sample");
    let report = graph.import(bulk::parse(&text, bulk::detect(&text)), NOW);
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert!(
        graph.twin_count() >= 5 && graph.relationship_count() >= 4,
        "{} twins, {} relationships",
        graph.twin_count(),
        graph.relationship_count()
    );
}

#[test]
fn bad_lines_are_reported_with_their_numbers() {
    let text = concat!(
        "{\"Section\": \"Header\"}\n",
        "{\"fileVersion\": \"1.0.0\"}\n",
        "{\"Section\": \"Models\"}\n",
        "{\"@context\": \"dtmi:dtdl:context;3\", \"@id\": \"dtmi:t:A;1\", \"@type\": \"Interface\", \"contents\": [{\"@type\": \"Property\", \"name\": \"n\", \"schema\": \"integer\"}, {\"@type\": \"Relationship\", \"name\": \"r\"}]}\n",
        "{\"Section\": \"Twins\"}\n",
        "{\"$dtId\": \"a\", \"$metadata\": {\"$model\": \"dtmi:t:A;1\"}, \"n\": 1}\n",
        "{\"$dtId\": \"b\", \"$metadata\": {\"$model\": \"dtmi:t:A;1\"}, \"n\": \"one\"}\n",
        "not json\n",
        "{\"$metadata\": {\"$model\": \"dtmi:t:A;1\"}}\n",
        "{\"Section\": \"Relationships\"}\n",
        "{\"$dtId\": \"a\", \"$relationshipId\": \"r1\", \"$targetId\": \"zzz\", \"$relationshipName\": \"r\"}\n",
        "{\"$dtId\": \"a\", \"$relationshipId\": \"r2\", \"$targetId\": \"a\", \"$relationshipName\": \"r\"}\n",
    );
    let mut graph = TenantGraph::new(Limits::default());
    let report = graph.import(bulk::parse_ndjson(text), NOW);
    let rendered: Vec<String> = report.errors.iter().map(|e| format!("line {}: {}", e.line, e.message)).collect();
    expect_test::expect![[r#"
        line 7: twin 'b': 'n': expected an integer between -2147483648 and 2147483647, found "one"
        line 8: not valid JSON: expected ident at line 1 column 2
        line 9: a twin needs "$dtId"
        line 11: relationship 'r1' of 'a': the target twin 'zzz' does not exist
        line 12: relationship 'r2' of 'a': a relationship cannot connect a digital twin to itself"#]]
    .assert_eq(&rendered.join("\n"));
    assert_eq!((report.models_created, report.twins_written, report.relationships_written), (1, 1, 0));
}
