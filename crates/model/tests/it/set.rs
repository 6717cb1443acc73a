//! The model-set API that the graph and query engine use: inherited contents, `is_a` with the query language's `IS_OF_MODEL` semantics, schemas of property paths, and validation of twin values.

use expect_test::{Expect, expect};
use model::set::ModelMatch;
use model::{Document, ModelSet, Options};

const BUILDING: &str = r#"[
  {
    "@context": "dtmi:dtdl:context;3",
    "@id": "dtmi:twinscape:test:Space;1",
    "@type": "Interface",
    "contents": [
      { "@type": "Property", "name": "name", "schema": "string" },
      { "@type": "Relationship", "name": "contains", "target": "dtmi:twinscape:test:Space;1" }
    ]
  },
  {
    "@context": "dtmi:dtdl:context;3",
    "@id": "dtmi:twinscape:test:Room;2",
    "@type": "Interface",
    "extends": "dtmi:twinscape:test:Space;1",
    "contents": [
      { "@type": "Property", "name": "capacity", "schema": "integer" },
      { "@type": "Property", "name": "opened", "schema": "date" },
      {
        "@type": "Property",
        "name": "climate",
        "schema": {
          "@type": "Object",
          "fields": [
            { "name": "setpoint", "schema": "double" },
            { "name": "mode", "schema": { "@type": "Enum", "valueSchema": "string", "enumValues": [
              { "name": "heat", "enumValue": "heat" }, { "name": "cool", "enumValue": "cool" } ] } }
          ]
        }
      },
      { "@type": "Component", "name": "thermostat", "schema": "dtmi:twinscape:test:Thermostat;1" },
      { "@type": "Telemetry", "name": "co2", "schema": "double" }
    ]
  },
  {
    "@context": "dtmi:dtdl:context;3",
    "@id": "dtmi:twinscape:test:Thermostat;1",
    "@type": "Interface",
    "contents": [
      { "@type": "Property", "name": "target", "schema": "double", "writable": true },
      { "@type": "Property", "name": "labels", "schema": { "@type": "Map",
        "mapKey": { "name": "key", "schema": "string" }, "mapValue": { "name": "value", "schema": "string" } } }
    ]
  }
]"#;

fn building() -> ModelSet {
    let outcome =
        model::parse(&[Document { name: "building.json".to_owned(), text: BUILDING.to_owned() }], &Options::default());
    assert!(outcome.is_valid(), "{:?}", outcome.diagnostics);
    outcome.set
}

fn check_contents(model: &str, expect: Expect) {
    let set = building();
    let rendered: Vec<String> = set
        .contents(model)
        .iter()
        .map(|(origin, c)| format!("{} {} from {}", c.kind.class(), c.name, origin.id))
        .collect();
    expect.assert_eq(&rendered.join("\n"));
}

fn check_is_a(model: &str, ancestor: &str, how: ModelMatch, expected: bool) {
    assert_eq!(building().is_a(model, ancestor, how), expected, "is_a({model}, {ancestor}, {how:?})");
}

fn check_value(model: &str, name: &str, value: &str, expect: Expect) {
    let set = building();
    let value: serde_json::Value = serde_json::from_str(value).expect("test values are JSON");
    let rendered: Vec<String> = set
        .validate_content_value(model, name, &value)
        .iter()
        .map(|v| format!("{}: {}", v.pointer, v.message))
        .collect();
    expect.assert_eq(&rendered.join("\n"));
}

#[test]
fn contents_include_inherited_ones_with_their_origin() {
    check_contents(
        "dtmi:twinscape:test:Room;2",
        expect![[r#"
            Property capacity from dtmi:twinscape:test:Room;2
            Property opened from dtmi:twinscape:test:Room;2
            Property climate from dtmi:twinscape:test:Room;2
            Component thermostat from dtmi:twinscape:test:Room;2
            Telemetry co2 from dtmi:twinscape:test:Room;2
            Property name from dtmi:twinscape:test:Space;1
            Relationship contains from dtmi:twinscape:test:Space;1"#]],
    );
}

#[test]
fn is_a_follows_extends_and_later_versions() {
    let room = "dtmi:twinscape:test:Room;2";
    check_is_a(room, "dtmi:twinscape:test:Space;1", ModelMatch::SubtypesAndLaterVersions, true);
    check_is_a(room, "dtmi:twinscape:test:Room;1", ModelMatch::SubtypesAndLaterVersions, true);
    check_is_a(room, "dtmi:twinscape:test:Room;3", ModelMatch::SubtypesAndLaterVersions, false);
    check_is_a(room, "dtmi:twinscape:test:Space;1", ModelMatch::Exact, false);
    check_is_a(room, room, ModelMatch::Exact, true);
    check_is_a("dtmi:twinscape:test:Space;1", room, ModelMatch::SubtypesAndLaterVersions, false);
    check_is_a(room, "dtmi:twinscape:test:Thermostat;1", ModelMatch::SubtypesAndLaterVersions, false);
}

#[test]
fn property_paths_walk_fields_and_components() {
    let set = building();
    let room = "dtmi:twinscape:test:Room;2";
    let render =
        |path: &[&str]| set.property_schema(room, path).map(|s| format!("{s:?}").chars().take(40).collect::<String>());
    expect![[r#"Some("Primitive(Double)")"#]].assert_eq(&format!("{:?}", render(&["climate", "setpoint"])));
    expect![[r#"Some("Primitive(Double)")"#]].assert_eq(&format!("{:?}", render(&["thermostat", "target"])));
    expect![[r#"Some("Primitive(String)")"#]].assert_eq(&format!("{:?}", render(&["thermostat", "labels", "anyKey"])));
    expect![[r#"Some("Primitive(String)")"#]].assert_eq(&format!("{:?}", render(&["name"])));
    expect!["None"].assert_eq(&format!("{:?}", render(&["climate", "missing"])));
    expect!["None"].assert_eq(&format!("{:?}", render(&["co2"])));
}

#[test]
fn content_values_are_validated_against_their_schemas() {
    let room = "dtmi:twinscape:test:Room;2";
    check_value(room, "capacity", "12", expect![[""]]);
    check_value(
        room,
        "capacity",
        "12.5",
        expect![": expected an integer between -2147483648 and 2147483647, found 12.5"],
    );
    check_value(
        room,
        "opened",
        r#""2024-02-30""#,
        expect![": '2024-02-30' is not a valid date: February 2024 has 29 days"],
    );
    check_value(room, "climate", r#"{"setpoint": 21.5, "mode": "heat"}"#, expect![[""]]);
    check_value(
        room,
        "climate",
        r#"{"setpoint": "warm", "mode": "dry", "fan": 1}"#,
        expect![[r#"
        /setpoint: expected a number, found "warm"
        /mode: expected one of the enum values "heat" (heat), "cool" (cool), found "dry"
        /fan: no field named 'fan' in the object schema; fields are: setpoint, mode"#]],
    );
    check_value(room, "thermostat", r#"{"$metadata": {}, "target": 20, "labels": {"a": "b"}}"#, expect![[""]]);
    check_value(
        room,
        "thermostat",
        r#"{"target": true, "speed": 3}"#,
        expect![[r#"
        /target: expected a number, found true
        /speed: model 'dtmi:twinscape:test:Thermostat;1' has no property or component named 'speed'"#]],
    );
    check_value(room, "thermostat", "[]", expect![": a component's value must be a JSON object"]);
    check_value(
        room,
        "co2",
        "400",
        expect![": 'co2' is a Telemetry of model 'dtmi:twinscape:test:Room;2', not a property or component"],
    );
    check_value(
        room,
        "nothing",
        "1",
        expect![": model 'dtmi:twinscape:test:Room;2' has no property or component named 'nothing'"],
    );
}
