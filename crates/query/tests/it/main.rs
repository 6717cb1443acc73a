//! Integration tests of the query engine: a small building graph built through the graph API, and queries over it
//! whose rows are checked as sorted JSON lines.
//!
//! Every test goes through `check` or `check_with`, the only callers of `query::run` here; the query result files
//! (`test_data/slt`) run in the `slt` target.

use expect_test::{Expect, expect};
use graph::{Precondition, TenantGraph};
use query::{Limits, Settings};
use serde_json::{Value, json};

const NOW: &str = "2026-11-26T12:00:00.0000000Z";

fn models() -> Vec<Value> {
    let model = |id: &str, extends: Option<&str>, contents: Value| {
        let mut doc =
            json!({ "@context": "dtmi:dtdl:context;3", "@id": id, "@type": "Interface", "contents": contents });
        if let Some(parent) = extends {
            doc["extends"] = json!(parent);
        }
        doc
    };
    vec![
        model(
            "dtmi:test:Space;1",
            None,
            json!([
                { "@type": "Property", "name": "name", "schema": "string" },
                { "@type": "Property", "name": "tags", "schema": { "@type": "Map",
                    "mapKey": { "name": "tag", "schema": "string" },
                    "mapValue": { "name": "value", "schema": "string" } } },
                { "@type": "Relationship", "name": "contains", "target": "dtmi:test:Space;1",
                  "properties": [ { "@type": "Property", "name": "note", "schema": "string" } ] }
            ]),
        ),
        model(
            "dtmi:test:Building;1",
            Some("dtmi:test:Space;1"),
            json!([ { "@type": "Property", "name": "address", "schema": "string" } ]),
        ),
        model(
            "dtmi:test:Floor;1",
            Some("dtmi:test:Space;1"),
            json!([ { "@type": "Property", "name": "level", "schema": "integer" } ]),
        ),
        model(
            "dtmi:test:Room;1",
            Some("dtmi:test:Space;1"),
            json!([
                { "@type": "Property", "name": "temperature", "schema": "double" },
                { "@type": "Property", "name": "capacity", "schema": "integer" },
                { "@type": "Property", "name": "occupied", "schema": "boolean" },
                { "@type": "Property", "name": "climate", "schema": { "@type": "Object", "fields": [
                    { "name": "mode", "schema": "string" } ] } },
                { "@type": "Property", "name": "labels", "schema": { "@type": "Array", "elementSchema": "string" } }
            ]),
        ),
        model(
            "dtmi:test:MeetingRoom;1",
            Some("dtmi:test:Room;1"),
            json!([ { "@type": "Property", "name": "screens", "schema": "integer" } ]),
        ),
    ]
}

/// Two buildings, three floors and five rooms; `b1` holds `f1` (rooms r1 to r3) and `f2` (r4, r5), `b2` holds `f3`,
/// through `contains`, which the graph declares as containment.
fn graph() -> TenantGraph {
    let containment = graph::Containment::new(["contains"], Vec::<String>::new()).expect("a valid declaration");
    let mut graph = TenantGraph::with_containment(graph::Limits::default(), containment);
    graph.upload_models(models(), NOW).expect("the test models are valid");
    let twins = [
        ("b1", "Building", json!({ "name": "HQ", "address": "1 Main St", "tags": { "size": "large" } })),
        ("b2", "Building", json!({ "name": "Annex" })),
        ("f1", "Floor", json!({ "name": "Ground", "level": 1 })),
        ("f2", "Floor", json!({ "name": "Upper", "level": 2 })),
        ("f3", "Floor", json!({ "name": "Annex ground", "level": 1 })),
        (
            "r1",
            "Room",
            json!({ "name": "Lobby", "temperature": 21.5, "capacity": 40, "occupied": true,
                    "climate": { "mode": "heat" }, "labels": ["public", "big"], "tags": { "size": "large", "red": "" } }),
        ),
        (
            "r2",
            "Room",
            json!({ "name": "Office", "temperature": 19, "capacity": 4, "occupied": false, "tags": { "size": "small" } }),
        ),
        (
            "r3",
            "MeetingRoom",
            json!({ "name": "Board", "temperature": 23, "capacity": 12, "labels": ["private"], "screens": 2 }),
        ),
        ("r4", "Room", json!({ "name": "Storage" })),
        ("r5", "Room", json!({ "name": "Lab", "temperature": 25, "capacity": 8, "climate": { "mode": "cool" } })),
    ];
    for (id, model, mut body) in twins {
        body["$metadata"] = json!({ "$model": format!("dtmi:test:{model};1") });
        graph.put_twin(id, body, &Precondition::None, NOW).expect("the test twins are valid");
    }
    let relationships = [
        ("b1", "f1", "main"),
        ("b1", "f2", "upper"),
        ("b2", "f3", "annex"),
        ("f1", "r1", "entrance"),
        ("f1", "r2", "east"),
        ("f1", "r3", "west"),
        ("f2", "r4", "north"),
        ("f2", "r5", "south"),
    ];
    for (source, target, note) in relationships {
        let body = json!({ "$targetId": target, "$relationshipName": "contains", "note": note });
        graph
            .put_relationship(source, &format!("{source}-{target}"), body, &Precondition::None, NOW)
            .expect("the test relationships are valid");
    }
    graph
}

fn check(text: &str, expected: Expect) {
    check_with(text, &Limits::default(), expected);
}

/// Parses and runs `text`, then shows the rows as sorted JSON lines (row order is not promised) or the error.
fn check_with(text: &str, limits: &Limits, expected: Expect) {
    let parsed = query_syntax::parse(text, &query_syntax::Limits::default()).expect("the test query parses");
    let settings = Settings { limits: limits.clone() };
    let actual = match query::run(&graph(), &parsed, &settings) {
        Ok(answer) => {
            let mut lines: Vec<String> = answer.rows.iter().map(|r| r.get().to_owned()).collect();
            lines.sort();
            lines.iter().map(|l| format!("{l}\n")).collect()
        }
        Err(e) => format!("{}: {e}\n", e.code()),
    };
    expected.assert_eq(&actual);
}

#[test]
fn select_star_returns_twin_documents() {
    check(
        "SELECT * FROM DIGITALTWINS WHERE $dtId = 'b2'",
        expect![[r#"
        {"$dtId":"b2","$etag":"W/\"0000000000000002\"","name":"Annex","$metadata":{"$model":"dtmi:test:Building;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}}
    "#]],
    );
    check(
        "SELECT * FROM DIGITALTWINS T WHERE T.$dtId IN ['f2', 'nope']",
        expect![[r#"
        {"$dtId":"f2","$etag":"W/\"0000000000000004\"","name":"Upper","level":2,"$metadata":{"$model":"dtmi:test:Floor;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"level":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}}
    "#]],
    );
}

#[test]
fn select_star_over_relationships_and_top() {
    check(
        "SELECT * FROM RELATIONSHIPS R WHERE R.$sourceId = 'f2' AND R.note = 'south'",
        expect![[r#"
        {"$relationshipId":"f2-r5","$etag":"W/\"0000000000000012\"","$sourceId":"f2","$relationshipName":"contains","$targetId":"r5","note":"south"}
    "#]],
    );
    check(
        "SELECT TOP(2) FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:test:Floor;1')",
        expect![[r#"
        {"$dtId":"f1","$etag":"W/\"0000000000000003\"","name":"Ground","level":1,"$metadata":{"$model":"dtmi:test:Floor;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"level":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}}
        {"$dtId":"f2","$etag":"W/\"0000000000000004\"","name":"Upper","level":2,"$metadata":{"$model":"dtmi:test:Floor;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"level":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}}
    "#]],
    );
    check(
        "SELECT TOP(3) T.$dtId FROM DIGITALTWINS T",
        expect![[r#"
        {"$dtId":"b1"}
        {"$dtId":"b2"}
        {"$dtId":"f1"}
    "#]],
    );
    check("SELECT TOP(0) T.$dtId FROM DIGITALTWINS T", expect![[""]]);
}

#[test]
fn projections_with_as_and_missing_properties() {
    check(
        "SELECT name, temperature FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:test:Room;1')",
        expect![[r#"
        {"name":"Board","temperature":23}
        {"name":"Lab","temperature":25}
        {"name":"Lobby","temperature":21.5}
        {"name":"Office","temperature":19}
        {"name":"Storage"}
    "#]],
    );
    check(
        "SELECT T.$dtId AS id, T.$metadata.$model AS model, T.climate.mode, T.tags.size AS size FROM DIGITALTWINS T \
         WHERE T.$dtId IN ['r1', 'r2', 'r5']",
        expect![[r#"
            {"id":"r1","model":"dtmi:test:Room;1","mode":"heat","size":"large"}
            {"id":"r2","model":"dtmi:test:Room;1","size":"small"}
            {"id":"r5","model":"dtmi:test:Room;1","mode":"cool"}
        "#]],
    );
    check(
        "SELECT T, T.$etag FROM DIGITALTWINS T WHERE T.$dtId = 'b2'",
        expect![[r#"
        {"T":{"$dtId":"b2","$etag":"W/\"0000000000000002\"","name":"Annex","$metadata":{"$model":"dtmi:test:Building;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}},"$etag":"W/\"0000000000000002\""}
    "#]],
    );
    check(
        "SELECT R.$relationshipId AS id, R.note FROM RELATIONSHIPS R WHERE R.$targetId = 'r3'",
        expect![[r#"
        {"id":"f1-r3","note":"west"}
    "#]],
    );
}

#[test]
fn count() {
    check(
        "SELECT COUNT() FROM DIGITALTWINS",
        expect![[r#"
        {"COUNT":10}
    "#]],
    );
    check(
        "SELECT COUNT() FROM RELATIONSHIPS",
        expect![[r#"
        {"COUNT":8}
    "#]],
    );
    check(
        "SELECT COUNT() FROM DIGITALTWINS c WHERE IS_OF_MODEL('dtmi:test:Room;1') AND c.capacity > 10",
        expect![[r#"
        {"COUNT":2}
    "#]],
    );
    check(
        "SELECT COUNT() FROM DIGITALTWINS WHERE name = 'nobody'",
        expect![[r#"
        {"COUNT":0}
    "#]],
    );
    check(
        "SELECT COUNT() FROM DIGITALTWINS B JOIN F RELATED B.contains JOIN R RELATED F.contains WHERE B.$dtId = 'b1'",
        expect![[r#"
            {"COUNT":5}
        "#]],
    );
}

#[test]
fn comparisons() {
    let ids = |filter: &str| format!("SELECT T.$dtId FROM DIGITALTWINS T WHERE {filter}");
    check(
        &ids("T.temperature = 19"),
        expect![[r#"
        {"$dtId":"r2"}
    "#]],
    );
    check(
        &ids("T.temperature != 19"),
        expect![[r#"
        {"$dtId":"r1"}
        {"$dtId":"r3"}
        {"$dtId":"r5"}
    "#]],
    );
    check(
        &ids("T.temperature < 21.5"),
        expect![[r#"
        {"$dtId":"r2"}
    "#]],
    );
    check(
        &ids("T.temperature <= 21.5"),
        expect![[r#"
        {"$dtId":"r1"}
        {"$dtId":"r2"}
    "#]],
    );
    check(
        &ids("T.temperature > 23"),
        expect![[r#"
        {"$dtId":"r5"}
    "#]],
    );
    check(
        &ids("T.temperature >= 23"),
        expect![[r#"
        {"$dtId":"r3"}
        {"$dtId":"r5"}
    "#]],
    );
    check(
        &ids("T.name < 'C'"),
        expect![[r#"
        {"$dtId":"b2"}
        {"$dtId":"f3"}
        {"$dtId":"r3"}
    "#]],
    );
    check(
        &ids("T.occupied = false"),
        expect![[r#"
        {"$dtId":"r2"}
    "#]],
    );
    check(
        &ids("T.occupied > false"),
        expect![[r#"
        {"$dtId":"r1"}
    "#]],
    );
    // Mismatched types compare false under every operator, `!=` included.
    check(&ids("T.name = 1 OR T.name != 1 OR T.temperature > 'a'"), expect![[""]]);
    // Objects compare by value under `=` and `!=`; an object and an array are of different types.
    check(
        &ids("T.climate = T.climate"),
        expect![[r#"
        {"$dtId":"r1"}
        {"$dtId":"r5"}
    "#]],
    );
    check(&ids("T.climate != T.labels OR T.climate = T.labels"), expect![[""]]);
    check(
        &ids("20 < T.temperature"),
        expect![[r#"
        {"$dtId":"r1"}
        {"$dtId":"r3"}
        {"$dtId":"r5"}
    "#]],
    );
}

#[test]
fn in_nin_and_not() {
    let ids = |filter: &str| format!("SELECT T.$dtId FROM DIGITALTWINS T WHERE {filter}");
    check(
        &ids("T.name IN ['HQ', 'Lab', 42]"),
        expect![[r#"
        {"$dtId":"b1"}
        {"$dtId":"r5"}
    "#]],
    );
    check(
        &ids("T.level NIN [1]"),
        expect![[r#"
        {"$dtId":"f2"}
    "#]],
    );
    check(
        &ids("T.capacity IN [4, 8.0]"),
        expect![[r#"
        {"$dtId":"r2"}
        {"$dtId":"r5"}
    "#]],
    );
    // NOT of an unknown (undefined property) stays unknown, so twins without `capacity` are not returned.
    check(
        &ids("NOT T.capacity > 10"),
        expect![[r#"
        {"$dtId":"r2"}
        {"$dtId":"r5"}
    "#]],
    );
    check(
        &ids("NOT (T.level = 1 OR IS_OF_MODEL(T, 'dtmi:test:Room;1'))"),
        expect![[r#"
        {"$dtId":"f2"}
    "#]],
    );
    check(
        &ids("T.level = 1 AND NOT T.$dtId = 'f3' OR T.$dtId = 'b2'"),
        expect![[r#"
        {"$dtId":"b2"}
        {"$dtId":"f1"}
    "#]],
    );
}

#[test]
fn type_functions() {
    let ids = |filter: &str| format!("SELECT T.$dtId FROM DIGITALTWINS T WHERE {filter}");
    check(
        &ids("IS_DEFINED(T.temperature)"),
        expect![[r#"
        {"$dtId":"r1"}
        {"$dtId":"r2"}
        {"$dtId":"r3"}
        {"$dtId":"r5"}
    "#]],
    );
    check(
        &ids("NOT IS_DEFINED(T.temperature) AND IS_OF_MODEL(T, 'dtmi:test:Room;1')"),
        expect![[r#"
        {"$dtId":"r4"}
    "#]],
    );
    check(&ids("IS_NULL(T.temperature) OR IS_NULL(T.name)"), expect![[""]]);
    check(
        &ids("IS_BOOL(T.occupied)"),
        expect![[r#"
        {"$dtId":"r1"}
        {"$dtId":"r2"}
    "#]],
    );
    check(
        &ids("IS_NUMBER(T.level)"),
        expect![[r#"
        {"$dtId":"f1"}
        {"$dtId":"f2"}
        {"$dtId":"f3"}
    "#]],
    );
    check(
        &ids("IS_STRING(T.address)"),
        expect![[r#"
        {"$dtId":"b1"}
    "#]],
    );
    check(
        &ids("IS_PRIMITIVE(T.climate) OR IS_PRIMITIVE(T.occupied)"),
        expect![[r#"
        {"$dtId":"r1"}
        {"$dtId":"r2"}
    "#]],
    );
    check(
        &ids("IS_OBJECT(T.climate)"),
        expect![[r#"
        {"$dtId":"r1"}
        {"$dtId":"r5"}
    "#]],
    );
    check(&ids("IS_OBJECT(T.labels) OR IS_PRIMITIVE(T.labels)"), expect![[""]]);
}

#[test]
fn string_and_array_functions() {
    let ids = |filter: &str| format!("SELECT T.$dtId FROM DIGITALTWINS T WHERE {filter}");
    check(
        &ids("STARTSWITH(T.name, 'Ann')"),
        expect![[r#"
        {"$dtId":"b2"}
        {"$dtId":"f3"}
    "#]],
    );
    check(
        &ids("ENDSWITH(T.name, 'er')"),
        expect![[r#"
        {"$dtId":"f2"}
    "#]],
    );
    check(
        &ids("CONTAINS(T.name, 'o')"),
        expect![[r#"
        {"$dtId":"f1"}
        {"$dtId":"f3"}
        {"$dtId":"r1"}
        {"$dtId":"r3"}
        {"$dtId":"r4"}
    "#]],
    );
    check(&ids("CONTAINS(T.level, '1')"), expect![[""]]);
    check(
        &ids("ARRAY_CONTAINS(T.labels, 'private')"),
        expect![[r#"
        {"$dtId":"r3"}
    "#]],
    );
    check(
        &ids("ARRAY_CONTAINS(T.labels, 'public') OR ARRAY_CONTAINS(T.name, 'Lab')"),
        expect![[r#"
        {"$dtId":"r1"}
    "#]],
    );
    check(
        &ids("T.tags.size = 'large'"),
        expect![[r#"
        {"$dtId":"b1"}
        {"$dtId":"r1"}
    "#]],
    );
    check(
        &ids("IS_DEFINED(T.tags.red)"),
        expect![[r#"
        {"$dtId":"r1"}
    "#]],
    );
    check(
        &ids("STARTSWITH(T.$metadata.$model, 'dtmi:test:F')"),
        expect![[r#"
        {"$dtId":"f1"}
        {"$dtId":"f2"}
        {"$dtId":"f3"}
    "#]],
    );
}

#[test]
fn is_of_model_subtypes_and_exact() {
    let ids = |filter: &str| format!("SELECT T.$dtId FROM DIGITALTWINS T WHERE {filter}");
    check(
        &ids("IS_OF_MODEL('dtmi:test:Room;1')"),
        expect![[r#"
        {"$dtId":"r1"}
        {"$dtId":"r2"}
        {"$dtId":"r3"}
        {"$dtId":"r4"}
        {"$dtId":"r5"}
    "#]],
    );
    check(
        &ids("IS_OF_MODEL(T, 'dtmi:test:Room;1', exact)"),
        expect![[r#"
        {"$dtId":"r1"}
        {"$dtId":"r2"}
        {"$dtId":"r4"}
        {"$dtId":"r5"}
    "#]],
    );
    check(
        &ids("IS_OF_MODEL('dtmi:test:MeetingRoom;1')"),
        expect![[r#"
        {"$dtId":"r3"}
    "#]],
    );
    check(
        &ids("IS_OF_MODEL('dtmi:test:Space;1') AND T.name = 'HQ'"),
        expect![[r#"
        {"$dtId":"b1"}
    "#]],
    );
    check(&ids("IS_OF_MODEL('dtmi:test:Space;1', exact)"), expect![[""]]);
    check(&ids("IS_OF_MODEL('dtmi:test:Nothing;1')"), expect![[""]]);
}

#[test]
fn joins() {
    check(
        "SELECT F.$dtId AS floor, R.$dtId AS room, E.note FROM DIGITALTWINS B JOIN F RELATED B.contains \
         JOIN R RELATED F.contains E WHERE B.$dtId = 'b1'",
        expect![[r#"
            {"floor":"f1","room":"r1","note":"entrance"}
            {"floor":"f1","room":"r2","note":"east"}
            {"floor":"f1","room":"r3","note":"west"}
            {"floor":"f2","room":"r4","note":"north"}
            {"floor":"f2","room":"r5","note":"south"}
        "#]],
    );
    // Filtering on a relationship alias and on the JOIN target finds the sources.
    check(
        "SELECT B.name AS building, F.name AS floor FROM DIGITALTWINS B JOIN F RELATED B.contains E \
         WHERE E.note = 'upper' OR F.$dtId = 'f3'",
        expect![[r#"
            {"building":"Annex","floor":"Annex ground"}
            {"building":"HQ","floor":"Upper"}
        "#]],
    );
    check(
        "SELECT F, E FROM DIGITALTWINS F JOIN R RELATED F.contains E WHERE R.$dtId = 'r5'",
        expect![[r#"
            {"F":{"$dtId":"f2","$etag":"W/\"0000000000000004\"","name":"Upper","level":2,"$metadata":{"$model":"dtmi:test:Floor;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"level":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}},"E":{"$relationshipId":"f2-r5","$etag":"W/\"0000000000000012\"","$sourceId":"f2","$relationshipName":"contains","$targetId":"r5","note":"south"}}
        "#]],
    );
    check(
        "SELECT R.name, R.temperature FROM DIGITALTWINS B JOIN F RELATED B.contains JOIN R RELATED F.contains \
         WHERE IS_OF_MODEL(B, 'dtmi:test:Building;1') AND IS_OF_MODEL(R, 'dtmi:test:Room;1', exact) AND F.level = 1",
        expect![[r#"
            {"name":"Lobby","temperature":21.5}
            {"name":"Office","temperature":19}
        "#]],
    );
    check("SELECT B.$dtId FROM DIGITALTWINS B JOIN F RELATED B.contains WHERE B.$dtId = 'r1'", expect![[""]]);
    check("SELECT B.$dtId FROM DIGITALTWINS B JOIN F RELATED B.servedBy WHERE B.$dtId = 'b1'", expect![[""]]);
}

#[test]
fn errors() {
    check(
        "SELECT * FROM DIGITALTWINS B JOIN F RELATED B.contains",
        expect![[r#"
        Q0302: SELECT * cannot be used with JOIN; project the collections instead
    "#]],
    );
    check(
        "SELECT F FROM DIGITALTWINS B JOIN F RELATED C.contains",
        expect![[r#"
        Q0301: 'C' is not a collection of this query
    "#]],
    );
    check(
        "SELECT F FROM DIGITALTWINS B JOIN B RELATED B.contains",
        expect![[r#"
        Q0304: the name 'B' is given to two collections
    "#]],
    );
    check(
        "SELECT * FROM DIGITALTWINS WHERE FROBNICATE(name)",
        expect![[r#"
        Q0305: there is no function 'FROBNICATE'
    "#]],
    );
    check(
        "SELECT R FROM RELATIONSHIPS R JOIN F RELATED R.contains",
        expect![[r#"
        Q0306: JOIN cannot be used with FROM RELATIONSHIPS
    "#]],
    );
    check(
        "SELECT F FROM DIGITALTWINS B JOIN F RELATED B.contains E JOIN G RELATED E.contains",
        expect![[r#"
        Q0306: JOIN needs a twin collection to start from, and 'E' is a relationship
    "#]],
    );
    check(
        "SELECT F FROM DIGITALTWINS B JOIN F RELATED B.contains WHERE IS_OF_MODEL('dtmi:test:Floor;1')",
        expect![[r#"
            Q0307: IS_OF_MODEL needs a collection argument when the query has several collections
        "#]],
    );
    check(
        "SELECT R FROM RELATIONSHIPS R WHERE IS_OF_MODEL(R, 'dtmi:test:Floor;1')",
        expect![[r#"
        Q0307: IS_OF_MODEL applies to twins, not relationships
    "#]],
    );
    check(
        "SELECT COUNT(), name FROM DIGITALTWINS",
        expect![[r#"
            Q0308: an aggregate such as COUNT() cannot be combined with other projections unless they are GROUP BY keys
        "#]],
    );
}

/// With one collection, a path that names no collection reads that collection even when FROM names it, as the
/// documented `SELECT * FROM DIGITALTWINS T WHERE IS_BOOL(HasTemperature)` does; so a mistyped alias reads a missing
/// property and keeps its rows empty, as ADT answers misspelled names.
#[test]
fn paths_without_a_collection_read_the_only_one() {
    check(
        "SELECT X.name FROM DIGITALTWINS T",
        expect![[r#"
            {}
            {}
            {}
            {}
            {}
            {}
            {}
            {}
            {}
            {}
        "#]],
    );
    check(
        "SELECT T.name FROM DIGITALTWINS T WHERE name = 'HQ'",
        expect![[r#"
            {"name":"HQ"}
        "#]],
    );
}

/// Our extensions: aggregates beyond COUNT(), ORDER BY, GROUP BY, and MATCH (one row per matching relationship).
#[test]
fn beyond_adt() {
    check(
        "SELECT SUM(temperature) FROM DIGITALTWINS",
        expect![[r#"
            {"SUM":88.5}
        "#]],
    );
    check(
        "SELECT * FROM DIGITALTWINS ORDER BY name",
        expect![[r#"
            {"$dtId":"b1","$etag":"W/\"0000000000000001\"","name":"HQ","address":"1 Main St","tags":{"size":"large"},"$metadata":{"$model":"dtmi:test:Building;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"address":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"tags":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}}
            {"$dtId":"b2","$etag":"W/\"0000000000000002\"","name":"Annex","$metadata":{"$model":"dtmi:test:Building;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}}
            {"$dtId":"f1","$etag":"W/\"0000000000000003\"","name":"Ground","level":1,"$metadata":{"$model":"dtmi:test:Floor;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"level":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}}
            {"$dtId":"f2","$etag":"W/\"0000000000000004\"","name":"Upper","level":2,"$metadata":{"$model":"dtmi:test:Floor;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"level":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}}
            {"$dtId":"f3","$etag":"W/\"0000000000000005\"","name":"Annex ground","level":1,"$metadata":{"$model":"dtmi:test:Floor;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"level":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}}
            {"$dtId":"r1","$etag":"W/\"0000000000000006\"","name":"Lobby","temperature":21.5,"capacity":40,"occupied":true,"climate":{"mode":"heat"},"labels":["public","big"],"tags":{"size":"large","red":""},"$metadata":{"$model":"dtmi:test:Room;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"temperature":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"capacity":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"occupied":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"climate":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"labels":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"tags":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}}
            {"$dtId":"r2","$etag":"W/\"0000000000000007\"","name":"Office","temperature":19,"capacity":4,"occupied":false,"tags":{"size":"small"},"$metadata":{"$model":"dtmi:test:Room;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"temperature":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"capacity":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"occupied":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"tags":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}}
            {"$dtId":"r3","$etag":"W/\"0000000000000008\"","name":"Board","temperature":23,"capacity":12,"labels":["private"],"screens":2,"$metadata":{"$model":"dtmi:test:MeetingRoom;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"temperature":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"capacity":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"labels":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"screens":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}}
            {"$dtId":"r4","$etag":"W/\"0000000000000009\"","name":"Storage","$metadata":{"$model":"dtmi:test:Room;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}}
            {"$dtId":"r5","$etag":"W/\"000000000000000a\"","name":"Lab","temperature":25,"capacity":8,"climate":{"mode":"cool"},"$metadata":{"$model":"dtmi:test:Room;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"temperature":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"capacity":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"climate":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}}
        "#]],
    );
    check(
        "SELECT name FROM DIGITALTWINS GROUP BY name",
        expect![[r#"
            {"name":"Annex ground"}
            {"name":"Annex"}
            {"name":"Board"}
            {"name":"Ground"}
            {"name":"HQ"}
            {"name":"Lab"}
            {"name":"Lobby"}
            {"name":"Office"}
            {"name":"Storage"}
            {"name":"Upper"}
        "#]],
    );
    check(
        "SELECT a FROM DIGITALTWINS MATCH (a)-[:contains]->(b) WHERE a.$dtId = 'b1'",
        expect![[r#"
            {"a":{"$dtId":"b1","$etag":"W/\"0000000000000001\"","name":"HQ","address":"1 Main St","tags":{"size":"large"},"$metadata":{"$model":"dtmi:test:Building;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"address":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"tags":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}}}
            {"a":{"$dtId":"b1","$etag":"W/\"0000000000000001\"","name":"HQ","address":"1 Main St","tags":{"size":"large"},"$metadata":{"$model":"dtmi:test:Building;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"address":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"tags":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}}}
        "#]],
    );
}

#[test]
fn limits() {
    let two_joins = "SELECT R.$dtId FROM DIGITALTWINS B JOIN F RELATED B.contains JOIN R RELATED F.contains";
    check_with(
        two_joins,
        &Limits { joins_max: 1, ..Limits::default() },
        expect![[r#"
            Q0303: the query has 2 JOINs, more than the limit of 1
        "#]],
    );
    check_with(
        two_joins,
        &Limits { joins_max: 2, rows_max: 9, ..Limits::default() },
        expect![[r#"
            {"$dtId":"r1"}
            {"$dtId":"r2"}
            {"$dtId":"r3"}
            {"$dtId":"r4"}
            {"$dtId":"r5"}
        "#]],
    );
    check_with(
        two_joins,
        &Limits { joins_max: 2, rows_max: 10, ..Limits::default() },
        expect![[r#"
            {"$dtId":"r1"}
            {"$dtId":"r2"}
            {"$dtId":"r3"}
            {"$dtId":"r4"}
            {"$dtId":"r5"}
        "#]],
    );
    // With an anchor the first stage holds one row, and the JOIN stage is the one over budget.
    check_with(
        "SELECT F FROM DIGITALTWINS B JOIN F RELATED B.contains JOIN R RELATED F.contains WHERE B.$dtId = 'b1'",
        &Limits { joins_max: 2, rows_max: 1, ..Limits::default() },
        expect![[r#"
            Q0401: the query holds more rows than the limit of 1
        "#]],
    );
    // The last stage counts kept rows only, and COUNT() keeps none.
    check_with(
        "SELECT COUNT() FROM DIGITALTWINS",
        &Limits { rows_max: 1, ..Limits::default() },
        expect![[r#"
        {"COUNT":10}
    "#]],
    );
    check_with(
        "SELECT T.$dtId FROM DIGITALTWINS T WHERE T.level = 2",
        &Limits { rows_max: 1, ..Limits::default() },
        expect![[r#"
            {"$dtId":"f2"}
        "#]],
    );
    check_with(
        "SELECT T.$dtId FROM DIGITALTWINS T WHERE T.level = 1",
        &Limits { rows_max: 1, ..Limits::default() },
        expect![[r#"
            Q0401: the query holds more rows than the limit of 1
        "#]],
    );
}

/// Shows the plan of `text` over the test graph.
fn check_plan(text: &str, expected: Expect) {
    let parsed = query_syntax::parse(text, &query_syntax::Limits::default()).expect("the test query parses");
    let plan = query::explain(&graph(), &parsed, &Settings::default()).unwrap_or_else(|e| format!("{}: {e}", e.code()));
    expected.assert_eq(&format!("{plan}\n"));
}

#[test]
fn plans_start_from_the_most_selective_collection() {
    check_plan(
        "SELECT * FROM DIGITALTWINS WHERE $dtId = 'b1'",
        expect![[r#"
        start at collection 0 by id (1 twin) answering WHERE term #1
    "#]],
    );
    check_plan(
        "SELECT * FROM DIGITALTWINS WHERE name = 'HQ'",
        expect![[r#"
        start at collection 0 by scanning all twins (10 twins), test WHERE term #1
    "#]],
    );
    check_plan(
        "SELECT * FROM DIGITALTWINS T WHERE T.capacity > 5 AND IS_OF_MODEL('dtmi:test:Room;1')",
        expect![[r#"
        start at collection 0 by model dtmi:test:Room;1 SubtypesAndLaterVersions (5 twins) answering WHERE term #2, test WHERE term #1
    "#]],
    );
    // No $dtId on the first collection: the planner starts from the JOIN's target and walks the JOIN backwards.
    check_plan(
        "SELECT B, R FROM DIGITALTWINS B JOIN F RELATED B.contains JOIN R RELATED F.contains WHERE R.$dtId = 'r4' AND B.name = 'HQ'",
        expect![[r#"
            start at collection 2 by id (1 twin) answering WHERE term #1
            walk 2 <-[contains x1] 1
            walk 1 <-[contains x1] 0, test WHERE term #2
        "#]],
    );
    // The smallest model wins: two buildings rather than five rooms.
    check_plan(
        "SELECT B, R FROM DIGITALTWINS B JOIN F RELATED B.contains JOIN R RELATED F.contains WHERE IS_OF_MODEL(R, 'dtmi:test:Room;1') AND IS_OF_MODEL(B, 'dtmi:test:Building;1')",
        expect![[r#"
            start at collection 0 by model dtmi:test:Building;1 SubtypesAndLaterVersions (2 twins) answering WHERE term #2
            walk 0 ->[contains x1] 1
            walk 1 ->[contains x1] 2, test WHERE term #1
        "#]],
    );
    check_plan(
        "SELECT a, c FROM DIGITALTWINS MATCH (a)-[:contains*..2]->(c)<-[r]-(b) WHERE b.$dtId = 'f2'",
        expect![[r#"
            start at collection 2 by id (1 twin) answering WHERE term #1
            walk 2 ->[any x1] 1
            walk 1 <-[contains x1..=2] 0
        "#]],
    );
    check_plan(
        "SELECT T.$dtId FROM DIGITALTWINS T WHERE IN_SPACE(T, 'f1')",
        expect![[r#"
        start at collection 0 in space f1 (4 twins) answering WHERE term #1
    "#]],
    );
    check_plan(
        "SELECT * FROM RELATIONSHIPS R WHERE R.$targetId = 'r1'",
        expect![[r#"
        start at relationships to target twins (1 twin) answering WHERE term #1
    "#]],
    );
}
