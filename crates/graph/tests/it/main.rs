//! Integration tests of the graph: model lifecycle, twins, relationships and components, through the operations the REST faces call.
//!
//! Every test goes through `Fixture`, whose methods are the only callers of the graph API, and renders outcomes as text for `expect` snapshots.

mod bulk;
mod containment;

use expect_test::{Expect, expect};
use graph::{Precondition, TenantGraph};
use serde_json::{Value, json};

const NOW: &str = "2026-11-26T12:00:00.0000000Z";

fn models() -> Vec<Value> {
    vec![
        json!({
            "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Space;1", "@type": "Interface",
            "contents": [
                { "@type": "Property", "name": "name", "schema": "string" },
                { "@type": "Relationship", "name": "contains", "target": "dtmi:test:Space;1",
                  "properties": [ { "@type": "Property", "name": "since", "schema": "date" } ] }
            ]
        }),
        json!({
            "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Room;1", "@type": "Interface",
            "extends": "dtmi:test:Space;1",
            "contents": [
                { "@type": "Property", "name": "capacity", "schema": "integer" },
                { "@type": "Property", "name": "climate", "schema": { "@type": "Object", "fields": [
                    { "name": "setpoint", "schema": "double" }, { "name": "mode", "schema": "string" } ] } },
                { "@type": "Component", "name": "thermostat", "schema": "dtmi:test:Thermostat;1" },
                { "@type": "Relationship", "name": "servedBy", "target": "dtmi:test:Device;1" }
            ]
        }),
        json!({
            "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Thermostat;1", "@type": "Interface",
            "contents": [ { "@type": "Property", "name": "target", "schema": "double" } ]
        }),
        json!({
            "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Device;1", "@type": "Interface",
            "contents": [ { "@type": "Property", "name": "serial", "schema": "string" } ]
        }),
    ]
}

struct Fixture {
    graph: TenantGraph,
}

impl Fixture {
    fn new() -> Fixture {
        let mut graph = TenantGraph::new(graph::Limits::default());
        graph.upload_models(models(), NOW).expect("the test models are valid");
        Fixture { graph }
    }

    fn upload(&mut self, docs: Vec<Value>) -> String {
        render(
            self.graph
                .upload_models(docs, NOW)
                .map(|(m, _)| m.iter().map(|m| m.id.to_string()).collect::<Vec<_>>().join(", ")),
        )
    }

    fn put(&mut self, id: &str, body: Value) -> String {
        render(self.graph.put_twin(id, body, &Precondition::None, NOW).map(|(t, _)| t.to_json().to_string()))
    }

    fn put_if(&mut self, id: &str, body: Value, condition: Precondition) -> String {
        render(self.graph.put_twin(id, body, &condition, NOW).map(|(t, _)| t.to_json().to_string()))
    }

    fn patch(&mut self, id: &str, patch: Value) -> String {
        render(
            self.graph
                .patch_twin(id, &patch, &Precondition::None, "2026-11-26T13:00:00.0000000Z")
                .map(|(t, changes)| format!("{}\nchanges: {changes:?}", t.to_json()).chars().take(600).collect()),
        )
    }

    fn relate(&mut self, source: &str, id: &str, body: Value) -> String {
        render(
            self.graph
                .put_relationship(source, id, body, &Precondition::None, NOW)
                .map(|(r, _)| r.to_json().to_string()),
        )
    }

    fn delete(&mut self, id: &str, cascade: bool) -> String {
        render(self.graph.delete_twin(id, &Precondition::None, cascade).map(|changes| {
            changes
                .iter()
                .map(|c| format!("{c:?}").split('(').next().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
                .join(", ")
        }))
    }

    fn twin(&self, id: &str) -> String {
        self.graph.twin(id).map(|t| t.to_json().to_string()).unwrap_or_else(|| "missing".to_owned())
    }
}

fn render(result: Result<String, graph::GraphError>) -> String {
    match result {
        Ok(s) => s,
        Err(e) => format!("{e:?}"),
    }
}

fn room(id: &str) -> Value {
    json!({ "$dtId": id, "$metadata": { "$model": "dtmi:test:Room;1" }, "name": id, "capacity": 4, "thermostat": { "$metadata": {} } })
}

fn check(actual: String, expect: Expect) {
    expect.assert_eq(&actual);
}

#[test]
fn models_upload_all_or_nothing() {
    let mut f = Fixture::new();
    check(
        f.upload(vec![models()[0].clone()]),
        expect![[r#"Conflict { reason: ModelAlreadyExists, message: "model 'dtmi:test:Space;1' already exists" }"#]],
    );
    check(
        f.upload(vec![json!({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:A;1", "@type": "Interface", "extends": "dtmi:test:Nowhere;1"})]),
        expect![[r#"InvalidInput { reason: DtdlParserError, message: "none of the models in this request could be created: these models are referenced but neither uploaded nor in the request: dtmi:test:Nowhere;1" }"#]],
    );
    check(
        f.upload(vec![
            json!({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Good;1", "@type": "Interface"}),
            json!({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Bad;1", "@type": "Interface", "contents": [{"@type": "Property", "name": "x"}]}),
        ]),
        expect![[r#"InvalidInput { reason: DtdlParserError, message: "none of the models in this request could be created: dtmi:test:Bad;1: DTDL0307 at /contents/0: a Property must have member 'schema'" }"#]],
    );
    assert!(f.graph.model("dtmi:test:Good;1").is_none(), "a failed upload stores nothing");
    check(f.upload(vec![json!({"@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Good;1", "@type": "Interface", "extends": "dtmi:test:Space;1"})]), expect!["dtmi:test:Good;1"]);
}

#[test]
fn twins_are_validated_against_their_model() {
    let mut f = Fixture::new();
    check(
        f.put("room1", room("room1")),
        expect![[
            r#"{"$dtId":"room1","$etag":"W/\"0000000000000001\"","name":"room1","capacity":4,"thermostat":{"$metadata":{"$lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}},"$metadata":{"$model":"dtmi:test:Room;1","$lastUpdateTime":"2026-11-26T12:00:00.0000000Z","name":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"},"capacity":{"lastUpdateTime":"2026-11-26T12:00:00.0000000Z"}}}"#
        ]],
    );
    let mut bad = room("room2");
    bad["capacity"] = json!("four");
    check(
        f.put("room2", bad),
        expect![[
            r#"InvalidInput { reason: ValidationFailed, message: "'capacity': expected an integer between -2147483648 and 2147483647, found \"four\"" }"#
        ]],
    );
    let mut unknown = room("room2");
    unknown["colour"] = json!("blue");
    check(
        f.put("room2", unknown),
        expect![[
            r#"InvalidInput { reason: ValidationFailed, message: "'colour': model 'dtmi:test:Room;1' has no property or component named 'colour'" }"#
        ]],
    );
    let mut no_component = room("room2");
    no_component.as_object_mut().unwrap().remove("thermostat");
    check(
        f.put("room2", no_component),
        expect![[
            r#"InvalidInput { reason: ValidationFailed, message: "component 'thermostat' is required; give it as an object (at least {\"$metadata\": {}})" }"#
        ]],
    );
    check(
        f.put("room2", json!({"$metadata": {"$model": "dtmi:test:Missing;1"}})),
        expect![[
            r#"InvalidInput { reason: ValidationFailed, message: "model 'dtmi:test:Missing;1' is not uploaded" }"#
        ]],
    );
    check(
        f.put_if("room1", room("room1"), Precondition::IfNoneMatchAny),
        expect![[
            r#"Conflict { reason: PreconditionFailed, message: "the twin 'room1' already exists (If-None-Match: *)" }"#
        ]],
    );
    check(f.twin("room2"), expect!["missing"]);
    f.graph
        .patch_model("dtmi:test:Device;1", &json!([{"op": "replace", "path": "/decommissioned", "value": true}]))
        .unwrap();
    check(
        f.put("d1", json!({"$metadata": {"$model": "dtmi:test:Device;1"}})),
        expect![[
            r#"InvalidInput { reason: ModelDecommissioned, message: "model 'dtmi:test:Device;1' is decommissioned; no new twins may use it" }"#
        ]],
    );
}

#[test]
fn a_prepared_patch_changes_nothing_until_applied_and_not_over_a_later_change() {
    let mut f = Fixture::new();
    f.put("room1", room("room1"));
    f.put("room2", room("room2"));
    let later = "2026-11-26T13:00:00.0000000Z";
    let six = json!([{"op": "replace", "path": "/capacity", "value": 6}]);
    let graph = &mut f.graph;
    let refused = graph.prepare_patch(
        "room1",
        &json!([{"op": "replace", "path": "/capacity", "value": 1.5}]),
        &Precondition::None,
        later,
    );
    assert!(refused.is_err(), "preparing checks the patch as patch_twin would");
    let first = graph.prepare_patch("room1", &six, &Precondition::None, later).expect("a valid patch");
    let second = graph.prepare_patch("room2", &six, &Precondition::None, later).expect("a valid patch");
    assert_eq!(graph.twin("room1").expect("room1").etag, 1, "preparing changes nothing");
    let (one, _) = graph.apply_prepared(first).expect("room1 did not change");
    let (two, _) = graph.apply_prepared(second).expect("room2 did not change");
    assert_eq!((one.etag, two.etag, graph.version()), (3, 4, 4), "each applied patch takes the next version");
    let stale = graph.prepare_patch("room1", &six, &Precondition::None, later).expect("a valid patch");
    graph
        .patch_twin("room1", &json!([{"op": "replace", "path": "/capacity", "value": 7}]), &Precondition::None, later)
        .expect("a patch");
    check(
        render(graph.apply_prepared(stale).map(|(t, _)| t.etag.to_string())),
        expect![[
            r#"Conflict { reason: PreconditionFailed, message: "twin 'room1' changed after its patch was prepared" }"#
        ]],
    );
    assert!(f.twin("room1").contains("\"capacity\":7"), "the later change stays");
}

#[test]
fn patches_apply_atomically() {
    let mut f = Fixture::new();
    f.put("room1", room("room1"));
    check(
        f.patch("room1", json!([{"op": "replace", "path": "/capacity", "value": 6}, {"op": "add", "path": "/climate", "value": {"setpoint": 21.5}}, {"op": "replace", "path": "/thermostat/target", "value": 20.0}])),
        expect![[r#"InvalidInput { reason: JsonPatchInvalid, message: "replace /thermostat/target: the value to replace does not exist" }"#]],
    );
    let before = f.twin("room1");
    assert!(before.contains("\"capacity\":4"), "a failed patch changes nothing: {before}");
    check(
        f.patch("room1", json!([{"op": "replace", "path": "/capacity", "value": 6}, {"op": "add", "path": "/climate", "value": {"setpoint": 21.5}}, {"op": "add", "path": "/thermostat/target", "value": 20.0}, {"op": "remove", "path": "/name"}])),
        expect![[r#"
            {"$dtId":"room1","$etag":"W/\"0000000000000002\"","capacity":6,"thermostat":{"$metadata":{"$lastUpdateTime":"2026-11-26T13:00:00.0000000Z","target":{"lastUpdateTime":"2026-11-26T13:00:00.0000000Z"}},"target":20.0},"$metadata":{"$model":"dtmi:test:Room;1","$lastUpdateTime":"2026-11-26T13:00:00.0000000Z","capacity":{"lastUpdateTime":"2026-11-26T13:00:00.0000000Z"},"climate":{"lastUpdateTime":"2026-11-26T13:00:00.0000000Z"}},"climate":{"setpoint":21.5}}
            changes: [TwinUpdated { twin: Twin { id: "room1", etag: 2, doc: "{\"capacity\":6,\"thermostat\":{\"$metadata\":{\"$lastUpdateTime\":\"2026-11-26T"#]],
    );
    check(
        f.patch("room1", json!([{"op": "move", "from": "/capacity", "path": "/x"}])),
        expect![[
            r#"InvalidInput { reason: JsonPatchInvalid, message: "operation 0: 'move' is not supported; use add, replace or remove" }"#
        ]],
    );
    check(
        f.patch("room1", json!([{"op": "replace", "path": "/capacity", "value": 1.5}])),
        expect![[
            r#"InvalidInput { reason: ValidationFailed, message: "'capacity': expected an integer between -2147483648 and 2147483647, found 1.5" }"#
        ]],
    );
    check(
        f.patch("room1", json!([{"op": "add", "path": "/$dtId", "value": "x"}])),
        expect![[r#"InvalidInput { reason: JsonPatchInvalid, message: "path '/$dtId' cannot be patched" }"#]],
    );
    check(
        f.patch("nothing", json!([])),
        expect![[r#"NotFound { what: Twin, message: "there is no twin with id 'nothing'" }"#]],
    );
}

#[test]
fn relationships_follow_the_model() {
    let mut f = Fixture::new();
    f.put("room1", room("room1"));
    f.put("room2", room("room2"));
    f.put("dev1", json!({"$metadata": {"$model": "dtmi:test:Device;1"}, "serial": "A1"}));
    check(
        f.relate("room1", "r1", json!({"$targetId": "room2", "$relationshipName": "contains", "since": "2024-01-01"})),
        expect![[
            r#"{"$relationshipId":"r1","$etag":"W/\"0000000000000004\"","$sourceId":"room1","$relationshipName":"contains","$targetId":"room2","since":"2024-01-01"}"#
        ]],
    );
    check(
        f.relate("room1", "r2", json!({"$targetId": "room1", "$relationshipName": "contains"})),
        expect![[
            r#"InvalidInput { reason: OperationNotAllowed, message: "a relationship cannot connect a digital twin to itself" }"#
        ]],
    );
    check(
        f.relate("room1", "r2", json!({"$targetId": "ghost", "$relationshipName": "contains"})),
        expect![[r#"NotFound { what: TargetTwin, message: "the target twin 'ghost' does not exist" }"#]],
    );
    check(
        f.relate("room1", "r2", json!({"$targetId": "room2", "$relationshipName": "feeds"})),
        expect![[
            r#"InvalidInput { reason: InvalidRelationship, message: "model 'dtmi:test:Room;1' of twin 'room1' declares no relationship named 'feeds'" }"#
        ]],
    );
    check(
        f.relate("room1", "r2", json!({"$targetId": "room2", "$relationshipName": "servedBy"})),
        expect![[
            r#"InvalidInput { reason: InvalidRelationship, message: "relationship 'servedBy' must target a twin of model 'dtmi:test:Device;1'; 'room2' is of model 'dtmi:test:Room;1'" }"#
        ]],
    );
    check(
        f.relate("room1", "r2", json!({"$targetId": "dev1", "$relationshipName": "servedBy", "since": "x"})),
        expect![[
            r#"InvalidInput { reason: ValidationFailed, message: "relationship 'servedBy' has no property 'since'" }"#
        ]],
    );
    check(
        f.relate("room1", "r2", json!({"$targetId": "dev1", "$relationshipName": "servedBy"})),
        expect![[
            r#"{"$relationshipId":"r2","$etag":"W/\"0000000000000005\"","$sourceId":"room1","$relationshipName":"servedBy","$targetId":"dev1"}"#
        ]],
    );
    let incoming: Vec<String> =
        f.graph.incoming("dev1").unwrap().iter().map(|r| r.to_incoming_json().to_string()).collect();
    check(
        incoming.join("\n"),
        expect![[
            r#"{"$relationshipId":"r2","$sourceId":"room1","$relationshipName":"servedBy","$relationshipLink":"/digitaltwins/room1/relationships/r2"}"#
        ]],
    );
    check(
        f.delete("dev1", false),
        expect![[
            r#"InvalidInput { reason: RelationshipsNotDeleted, message: "twin 'dev1' still has 0 outgoing and 1 incoming relationship(s); delete them first" }"#
        ]],
    );
    check(f.delete("room1", true), expect!["RelationshipDeleted, RelationshipDeleted, TwinDeleted"]);
    assert_eq!(f.graph.relationship_count(), 0);
    check(f.delete("dev1", false), expect!["TwinDeleted"]);
}

#[test]
fn models_in_use_cannot_be_deleted() {
    let mut f = Fixture::new();
    f.put("dev1", json!({"$metadata": {"$model": "dtmi:test:Device;1"}}));
    check(
        render(f.graph.delete_model("dtmi:test:Space;1").map(|c| format!("{c:?}"))),
        expect![[
            r#"Conflict { reason: ModelReferencesNotDeleted, message: "model 'dtmi:test:Space;1' is referenced by dtmi:test:Room;1; delete those first" }"#
        ]],
    );
    check(
        render(f.graph.delete_model("dtmi:test:Device;1").map(|c| format!("{c:?}"))),
        expect![[
            r#"Conflict { reason: ModelReferencesNotDeleted, message: "model 'dtmi:test:Device;1' is the model of 1 twin(s); delete them first" }"#
        ]],
    );
    f.graph.delete_model("dtmi:test:Room;1").unwrap();
    check(
        render(f.graph.delete_model("dtmi:test:Device;1").map(|c| format!("{c:?}"))),
        expect![[
            r#"Conflict { reason: ModelReferencesNotDeleted, message: "model 'dtmi:test:Device;1' is the model of 1 twin(s); delete them first" }"#
        ]],
    );
    let deps: Vec<String> = f
        .graph
        .models_with_dependencies(&["dtmi:test:Space;1".to_owned()])
        .unwrap()
        .iter()
        .map(|m| m.id.to_string())
        .collect();
    check(deps.join(", "), expect!["dtmi:test:Space;1"]);
}

#[test]
fn twins_by_model_include_subtypes_when_asked() {
    let mut f = Fixture::new();
    f.put("room1", room("room1"));
    f.put("dev1", json!({"$metadata": {"$model": "dtmi:test:Device;1"}}));
    let of = |model: &str, how| f.graph.twins_of_model(model, how).join(", ");
    check(of("dtmi:test:Space;1", graph::ModelMatch::SubtypesAndLaterVersions), expect!["room1"]);
    check(of("dtmi:test:Space;1", graph::ModelMatch::Exact), expect![""]);
    check(of("dtmi:test:Room;1", graph::ModelMatch::Exact), expect!["room1"]);
    check(of("dtmi:test:Device;1", graph::ModelMatch::SubtypesAndLaterVersions), expect!["dev1"]);
}

#[test]
fn twins_are_found_by_hardware_id_through_every_write() {
    let mut f = Fixture::new();
    f.upload(vec![json!({
        "@context": "dtmi:dtdl:context;3", "@id": "dtmi:test:Sensor;1", "@type": "Interface",
        "contents": [
            { "@type": "Property", "name": "hardwareId", "schema": "string" },
            { "@type": "Property", "name": "serial", "schema": "string" }
        ]
    })]);
    let sensor = |hw: &str| json!({"$metadata": {"$model": "dtmi:test:Sensor;1"}, "hardwareId": hw});
    f.put("s1", sensor("AA"));
    f.put("s2", sensor("AA"));
    f.put("s3", sensor("BB"));
    let found = |f: &Fixture, hw: &str| {
        let mut ids: Vec<&str> = f
            .graph
            .slots_with_property("hardwareId", hw)
            .iter()
            .filter_map(|&s| f.graph.twin_at(s))
            .map(|t| t.id.as_str())
            .collect();
        ids.sort_unstable();
        ids.join(", ")
    };
    check(found(&f, "AA"), expect!["s1, s2"]);
    // A patch moves the twin to its new value; a replacement and a delete take it out.
    f.patch("s2", json!([{"op": "replace", "path": "/hardwareId", "value": "CC"}]));
    f.put("s3", json!({"$metadata": {"$model": "dtmi:test:Sensor;1"}}));
    f.delete("s1", false);
    check(
        format!("AA: [{}] BB: [{}] CC: [{}]", found(&f, "AA"), found(&f, "BB"), found(&f, "CC")),
        expect!["AA: [] BB: [] CC: [s2]"],
    );
    // Only the indexed properties are looked up, ignoring ASCII case.
    check(found(&f, "cc"), expect!["s2"]);
    assert!(f.graph.slots_with_property("serial", "CC").is_empty());
    // A patch of another member keeps the twin where it is; one that removes the hardware id takes it out.
    f.patch("s2", json!([{"op": "add", "path": "/serial", "value": "CC"}]));
    check(found(&f, "CC"), expect!["s2"]);
    f.patch("s2", json!([{"op": "remove", "path": "/hardwareId"}]));
    check(found(&f, "CC"), expect![""]);
}

#[test]
fn parsed_patches_do_what_their_json_does() {
    let mut f = Fixture::new();
    f.put("a", room("a"));
    f.put("b", room("a"));
    let now = "2026-11-26T13:00:00.0000000Z";
    let patches = [
        json!([{"op": "add", "path": "/capacity", "value": 6}]),
        json!([{"op": "replace", "path": "/name", "value": "hall"}, {"op": "add", "path": "/capacity", "value": 8}]),
        json!([{"op": "add", "path": "/capacity", "value": "many"}]),
        json!([{"op": "remove", "path": "/capacity"}]),
        json!([{"op": "add", "path": "/thermostat/$metadata", "value": {}}]),
    ];
    for patch in patches {
        let by_json = f.graph.patch_twin("a", &patch, &Precondition::None, now);
        let ops = graph::patch::parse(&patch).expect("the test patches parse");
        let checked = f.graph.check_patch_ops("b", ops.clone(), &Precondition::None, now);
        let by_ops = f.graph.patch_twin_ops("b", ops, &Precondition::None, now);
        let render = |r: &Result<(graph::Twin, Vec<graph::Change>), graph::GraphError>| match r {
            Ok((twin, changes)) => {
                // The twins differ in id and ETag only.
                let mut doc = twin.to_json();
                if let Some(members) = doc.as_object_mut() {
                    members.remove("$dtId");
                    members.remove("$etag");
                }
                let patches: Vec<String> = changes
                    .iter()
                    .map(|change| match change {
                        graph::Change::TwinUpdated { patch, .. } => Value::Array(patch.clone()).to_string(),
                        other => format!("{other:?}"),
                    })
                    .collect();
                format!("{doc} {patches:?}")
            }
            Err(err) => format!("{err:?}"),
        };
        assert_eq!(render(&by_json), render(&by_ops), "{patch}");
        assert_eq!(checked.is_ok(), by_ops.is_ok(), "{patch}");
    }
    let refused = f.graph.patch_twin_ops("a", vec![], &Precondition::IfMatch("W/\"1\"".to_owned()), now);
    assert!(matches!(refused, Err(graph::GraphError::Conflict { .. })), "{refused:?}");
}
