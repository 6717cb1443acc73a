//! Property keys and extended properties of the 2018 management face end to end: every primitive data type's checks and normalisation through the API, which keys an object sees (its space's and its ancestors'), `PUT propertykeys` as an upsert, the `…/properties` routes of spaces, devices, sensors and users, the property filters of `GET spaces`, and the error bodies.
//!
//! Object ids are GUIDs the server makes; `Names` replaces each with the name the test gave the object, so snapshots stay stable.

use expect_test::{Expect, expect};
use serde_json::{Value, json};

use crate::management::{Names, call};
use crate::{TestServer, start};

/// Creates an object (a space, device, sensor, or a user through `PUT users`) and returns its id, checking the 201 and the JSON-string body; the id is shown as `<name>` from then on.
async fn create(server: &TestServer, names: &mut Names, method: &str, path: &str, name: &str, body: Value) -> String {
    let (status, value) = call(server, method, path, Some(body.clone())).await;
    assert_eq!(status, 201, "{method} {path} {body} answered {value}");
    let id = value.as_str().expect("a create answers the id as a JSON string").to_owned();
    names.add(&id, name);
    id
}

/// A space named `name` under `parent`.
async fn space(server: &TestServer, names: &mut Names, name: &str, parent: Option<&str>) -> String {
    let body = json!({"name": name, "parentSpaceId": parent.unwrap_or_default()});
    create(server, names, "POST", "spaces", name, body).await
}

/// Creates a property key and returns its id, checking the 201 and the JSON-number body.
async fn key(server: &TestServer, body: Value) -> u64 {
    let (status, value) = call(server, "POST", "propertykeys", Some(body.clone())).await;
    assert_eq!(status, 201, "POST propertykeys {body} answered {value}");
    value.as_u64().expect("a property key create answers the id as a JSON number")
}

/// The answer as `status body`, ids replaced by names.
fn check(names: &Names, answer: (u16, Value), expect: Expect) {
    expect.assert_eq(&names.show(&shown(&answer)));
}

/// Several answers, one `label: status body` line each (bodies on one line), ids replaced by names.
fn check_lines(names: &Names, lines: &[(String, (u16, Value))], expect: Expect) {
    expect.assert_eq(&lines_text(names, lines));
}

fn lines_text(names: &Names, lines: &[(String, (u16, Value))]) -> String {
    let text: String = lines.iter().map(|(label, (status, body))| format!("{label}: {status} {body}\n")).collect();
    names.show(&text)
}

fn shown(answer: &(u16, Value)) -> String {
    format!("{} {}", answer.0, serde_json::to_string_pretty(&answer.1).expect("JSON prints"))
}

/// Sets one property with `PUT …/properties`; on success the answer is the stored value as `GET …/properties/{name}` gives it, else the error.
async fn set_value(server: &TestServer, object: &str, name: &str, value: &str) -> (u16, Value) {
    let items = json!([{"name": name, "value": value}]);
    let (status, body) = call(server, "PUT", &format!("{object}/properties"), Some(items)).await;
    if status != 204 {
        return (status, body["error"]["message"].clone());
    }
    call(server, "GET", &format!("{object}/properties/{name}"), None).await
}

#[tokio::test]
async fn every_primitive_data_type_checks_and_normalises_values() {
    let server = start().await;
    let mut names = Names::default();
    let building = space(&server, &mut names, "Building", None).await;
    let keys = [
        json!({"name": "AnyValue"}),
        json!({"name": "Label", "primitiveDataType": "String", "validationData": "^[a-z]+-\\d+$", "min": "3", "max": "10"}),
        json!({"name": "Occupied", "primitiveDataType": "bool"}),
        json!({"name": "Floors", "primitiveDataType": "Int", "min": "-5", "max": 100}),
        json!({"name": "Seats", "primitiveDataType": "UInt"}),
        json!({"name": "Serial", "primitiveDataType": "Long"}),
        json!({"name": "Opened", "primitiveDataType": "DateTime", "min": "2000-01-01T00:00:00Z"}),
        json!({"name": "Inspected", "primitiveDataType": "DateTime", "validationData": "yyyy-MM-dd"}),
        json!({"name": "Config", "primitiveDataType": "Json", "validationData": "{\"type\": \"object\", \"required\": [\"mode\"]}"}),
        json!({"name": "Amenities", "primitiveDataType": "Set", "validationData": "Projector;Whiteboard;Phone", "max": "2"}),
        json!({"name": "Comfort", "primitiveDataType": "Enum", "validationData": "Low;Medium;High"}),
    ];
    for mut body in keys {
        body["spaceId"] = json!(building);
        body["scope"] = json!("Spaces");
        key(&server, body).await;
    }
    let cases = [
        ("AnyValue", "anything at all"),
        ("Label", "room-12"),
        ("Label", "ROOM-7"),
        ("Label", "room"),
        ("Label", "corridor-1234"),
        ("Occupied", "TRUE"),
        ("Occupied", "False"),
        ("Occupied", "yes"),
        ("Floors", " 42 "),
        ("Floors", "-5"),
        ("Floors", "101"),
        ("Floors", "4.5"),
        ("Seats", "4294967295"),
        ("Seats", "-1"),
        ("Serial", "9223372036854775807"),
        ("Serial", "9223372036854775808"),
        ("Opened", "2018-09-24T10:00:00.1234567Z"),
        ("Opened", "1999-12-31T23:59:59Z"),
        ("Opened", "yesterday"),
        ("Inspected", "2019-02-28"),
        ("Inspected", "28/02/2019"),
        ("Config", "{\"mode\": \"eco\"}"),
        ("Config", "[1]"),
        ("Config", "{"),
        ("Amenities", "projector; WHITEBOARD"),
        ("Amenities", "Projector;Sofa"),
        ("Amenities", "Projector;Phone;Whiteboard"),
        ("Comfort", "medium"),
        ("Comfort", "Hot"),
    ];
    let mut lines = Vec::new();
    for (name, value) in cases {
        lines.push((format!("{name} {value:?}"), set_value(&server, &format!("spaces/{building}"), name, value).await));
    }
    check_lines(
        &names,
        &lines,
        expect![[r#"
            AnyValue "anything at all": 200 "anything at all"
            Label "room-12": 200 "room-12"
            Label "ROOM-7": 200 "ROOM-7"
            Label "room": 400 "value: 'room' does not match the regular expression '^[a-z]+-\\d+$' (property key 'Label', String)"
            Label "corridor-1234": 400 "value: has 13 characters, more than the key's max 10 (property key 'Label', String)"
            Occupied "TRUE": 200 "true"
            Occupied "False": 200 "false"
            Occupied "yes": 400 "value: 'yes' is not a bool; accepted: true or false (property key 'Occupied', Bool)"
            Floors " 42 ": 200 "42"
            Floors "-5": 200 "-5"
            Floors "101": 400 "value: '101' is more than the key's max 100 (property key 'Floors', Int)"
            Floors "4.5": 400 "value: '4.5' is not a whole number; accepted: a whole number from -2147483648 to 2147483647 (property key 'Floors', Int)"
            Seats "4294967295": 200 "4294967295"
            Seats "-1": 400 "value: '-1' is out of range; accepted: a whole number from 0 to 4294967295 (property key 'Seats', UInt)"
            Serial "9223372036854775807": 200 "9223372036854775807"
            Serial "9223372036854775808": 400 "value: '9223372036854775808' is out of range; accepted: a whole number from -9223372036854775808 to 9223372036854775807 (property key 'Serial', Long)"
            Opened "2018-09-24T10:00:00.1234567Z": 200 "2018-09-24T10:00:00.1234567Z"
            Opened "1999-12-31T23:59:59Z": 400 "value: '1999-12-31T23:59:59Z' is less than the key's min 2000-01-01T00:00:00Z (property key 'Opened', DateTime)"
            Opened "yesterday": 400 "value: 'yesterday' does not have the key's date-time format 'o' (property key 'Opened', DateTime)"
            Inspected "2019-02-28": 200 "2019-02-28"
            Inspected "28/02/2019": 400 "value: '28/02/2019' does not have the key's date-time format 'yyyy-MM-dd' (property key 'Inspected', DateTime)"
            Config "{\"mode\": \"eco\"}": 200 "{\"mode\": \"eco\"}"
            Config "[1]": 400 "value: does not match the key's JSON schema: at the top level: want object, but got array (property key 'Config', Json)"
            Config "{": 400 "value: '{' is not JSON: EOF while parsing an object at line 1 column 1 (property key 'Config', Json)"
            Amenities "projector; WHITEBOARD": 200 "Projector;Whiteboard"
            Amenities "Projector;Sofa": 400 "value: 'Sofa' is not one of the key's values; accepted: Projector, Whiteboard, Phone (property key 'Amenities', Set)"
            Amenities "Projector;Phone;Whiteboard": 400 "value: has 3 items, more than the key's max 2 (property key 'Amenities', Set)"
            Comfort "medium": 200 "Medium"
            Comfort "Hot": 400 "value: 'Hot' is not one of the key's values; accepted: Low, Medium, High (property key 'Comfort', Enum)"
        "#]],
    );
    // What the space shows: every value as stored (the last good one of each key), with its key's data type.
    let (status, space) = call(&server, "GET", &format!("spaces/{building}?includes=properties"), None).await;
    assert_eq!(status, 200);
    check(
        &names,
        (status, space["properties"].clone()),
        expect![[r#"
            200 [
              {
                "name": "AnyValue",
                "value": "anything at all",
                "dataType": "None"
              },
              {
                "name": "Label",
                "value": "ROOM-7",
                "dataType": "String"
              },
              {
                "name": "Occupied",
                "value": "false",
                "dataType": "Bool"
              },
              {
                "name": "Floors",
                "value": "-5",
                "dataType": "Int"
              },
              {
                "name": "Seats",
                "value": "4294967295",
                "dataType": "UInt"
              },
              {
                "name": "Serial",
                "value": "9223372036854775807",
                "dataType": "Long"
              },
              {
                "name": "Opened",
                "value": "2018-09-24T10:00:00.1234567Z",
                "dataType": "DateTime"
              },
              {
                "name": "Inspected",
                "value": "2019-02-28",
                "dataType": "DateTime"
              },
              {
                "name": "Config",
                "value": "{\"mode\": \"eco\"}",
                "dataType": "Json"
              },
              {
                "name": "Amenities",
                "value": "Projector;Whiteboard",
                "dataType": "Set"
              },
              {
                "name": "Comfort",
                "value": "Medium",
                "dataType": "Enum"
              }
            ]"#]],
    );
    server.stop().await;
}

#[tokio::test]
async fn key_definitions_are_checked() {
    let server = start().await;
    let mut names = Names::default();
    let building = space(&server, &mut names, "Building", None).await;
    let bodies = [
        json!({"name": "ab", "scope": "Spaces", "spaceId": building}),
        json!({"name": "Has space", "scope": "Spaces", "spaceId": building}),
        json!({"name": "NoScope", "spaceId": building}),
        json!({"name": "BadScope", "scope": "Floors", "spaceId": building}),
        json!({"name": "NoSpace", "scope": "Spaces"}),
        json!({"name": "BadType", "scope": "Spaces", "spaceId": building, "primitiveDataType": "Float"}),
        json!({"name": "ShortCategory", "scope": "Spaces", "spaceId": building, "category": "abc"}),
        json!({"name": "BoolRange", "scope": "Spaces", "spaceId": building, "primitiveDataType": "Bool", "min": "1"}),
        json!({"name": "IntPattern", "scope": "Spaces", "spaceId": building, "primitiveDataType": "Int", "validationData": "x"}),
        json!({"name": "BackwardsRange", "scope": "Spaces", "spaceId": building, "primitiveDataType": "Int", "min": "5", "max": "1"}),
        json!({"name": "EnumNoValues", "scope": "Spaces", "spaceId": building, "primitiveDataType": "Enum"}),
        json!({"name": "BadRegex", "scope": "Spaces", "spaceId": building, "primitiveDataType": "String", "validationData": "(?=x)"}),
        json!({"name": "NumberName", "scope": "Spaces", "spaceId": building, "description": 5}),
        json!({"name": "Nowhere", "scope": "Spaces", "spaceId": "00000000-0000-0000-0000-000000000000"}),
    ];
    let mut lines = Vec::new();
    for body in bodies {
        let label = body["name"].as_str().unwrap_or_default().to_owned();
        let (status, value) = call(&server, "POST", "propertykeys", Some(body)).await;
        lines.push((label, (status, value["error"].clone())));
    }
    check_lines(
        &names,
        &lines,
        expect![[r#"
            ab: 400 {"code":"400.600.000.000","message":"name: 'ab' is not 3 to 50 letters, digits or underscores","target":"name"}
            Has space: 400 {"code":"400.600.000.000","message":"name: 'Has space' is not 3 to 50 letters, digits or underscores","target":"name"}
            NoScope: 400 {"code":"400.600.000.000","message":"scope: is required; accepted: Spaces, Sensors, Users, Devices","target":"scope"}
            BadScope: 400 {"code":"400.600.000.000","message":"scope: 'Floors' is not a scope; accepted: Spaces, Sensors, Users, Devices","target":"scope"}
            NoSpace: 400 {"code":"400.600.000.000","message":"spaceId: is required: the id of a space","target":"spaceId"}
            BadType: 400 {"code":"400.600.000.000","message":"primitiveDataType: 'Float' is not a primitive data type; accepted: None, String, Bool, Int, UInt, Long, DateTime, Json, Set, Enum","target":"primitiveDataType"}
            ShortCategory: 400 {"code":"400.600.000.000","message":"category: 'abc' is 3 characters; accepted: 4 to 15 characters","target":"category"}
            BoolRange: 400 {"code":"400.600.000.000","message":"min: is not used by Bool keys; min and max apply to String, Json (characters), Set (items), Int, UInt, Long and DateTime","target":"min"}
            IntPattern: 400 {"code":"400.600.000.000","message":"validationData: is not used by Int keys; it applies to String (a regular expression), DateTime (a format), Set and Enum (values separated by ';') and Json (a JSON schema)","target":"validationData"}
            BackwardsRange: 400 {"code":"400.600.000.000","message":"max: '1' is less than min '5'; accepted: max at least min","target":"max"}
            EnumNoValues: 400 {"code":"400.600.000.000","message":"validationData: is required for Enum keys: values separated by ';', such as red;green;blue","target":"validationData"}
            BadRegex: 400 {"code":"400.600.000.000","message":"validationData: '(?=x)' is not a usable regular expression: look-around, including look-ahead and look-behind, is not supported (look-around and back-references are not supported)","target":"validationData"}
            NumberName: 400 {"code":"400.600.000.000","message":"description: must be a string, not a number","target":"description"}
            Nowhere: 404 {"code":"404.600.000.000","message":"space '00000000-0000-0000-0000-000000000000' was not found"}
        "#]],
    );
    // A name is unique per space and scope, ignoring case; another scope may reuse it.
    key(&server, json!({"name": "Area", "scope": "Spaces", "spaceId": building})).await;
    let duplicate =
        call(&server, "POST", "propertykeys", Some(json!({"name": "AREA", "scope": "spaces", "spaceId": building})))
            .await;
    check(
        &names,
        duplicate,
        expect![[r#"
            409 {
              "error": {
                "code": "409.600.000.000",
                "message": "the space already has a property key named 'AREA' for Spaces"
              }
            }"#]],
    );
    key(&server, json!({"name": "Area", "scope": "Devices", "spaceId": building})).await;
    server.stop().await;
}

#[tokio::test]
async fn keys_apply_to_their_space_and_its_subtree() {
    let server = start().await;
    let mut names = Names::default();
    let campus = space(&server, &mut names, "Campus", None).await;
    let north = space(&server, &mut names, "North", Some(&campus)).await;
    let south = space(&server, &mut names, "South", Some(&campus)).await;
    let floor = space(&server, &mut names, "North Floor", Some(&north)).await;
    let room = space(&server, &mut names, "North Room", Some(&floor)).await;
    let campus_key = key(&server, json!({"name": "Owner", "scope": "Spaces", "spaceId": campus})).await;
    let north_key =
        key(&server, json!({"name": "Area", "scope": "Spaces", "spaceId": north, "primitiveDataType": "Int"})).await;
    // The floor redefines `Area` for its own subtree: the nearest key wins.
    key(&server, json!({"name": "Area", "scope": "Spaces", "spaceId": floor, "primitiveDataType": "Enum", "validationData": "Small;Large"})).await;
    key(&server, json!({"name": "Wattage", "scope": "Devices", "spaceId": north})).await;
    let mut lines = Vec::new();
    for (label, object, name, value) in [
        ("North Area", &north, "Area", "120"),
        ("North Owner (from Campus)", &north, "Owner", "Facilities"),
        ("Room Area (Floor's key)", &room, "Area", "small"),
        ("Room Area as a number", &room, "Area", "120"),
        ("South Area (no key there)", &south, "Area", "120"),
        ("South Owner", &south, "Owner", "Leasing"),
        ("Room Wattage (a Devices key)", &room, "Wattage", "60"),
    ] {
        lines.push((label.to_owned(), set_value(&server, &format!("spaces/{object}"), name, value).await));
    }
    check_lines(
        &names,
        &lines,
        expect![[r#"
            North Area: 200 "120"
            North Owner (from Campus): 200 "Facilities"
            Room Area (Floor's key): 200 "Small"
            Room Area as a number: 400 "value: '120' is not one of the key's values; accepted: Small, Large (property key 'Area', Enum)"
            South Area (no key there): 404 "property key for space (scope Spaces) 'Area' was not found"
            South Owner: 200 "Leasing"
            Room Wattage (a Devices key): 404 "property key for space (scope Spaces) 'Wattage' was not found"
        "#]],
    );
    // Listing: with spaceId alone, the keys an object of that space can use (its own and its ancestors'); traverse=None, the space's own; traverse=Down, the subtree's.
    let mut lines = Vec::new();
    for query in [
        "propertykeys".to_owned(),
        format!("propertykeys?spaceId={room}"),
        format!("propertykeys?spaceId={room}&scope=devices"),
        format!("propertykeys?spaceId={floor}&traverse=None"),
        format!("propertykeys?spaceId={north}&traverse=Down&scope=Spaces"),
        format!("propertykeys?spaceId={south}"),
        format!("propertykeys?spaceId={north}&traverse=Down&$filter=primitiveDataType eq 'Enum'"),
        "propertykeys?category=None&$orderby=name desc&$top=2".to_owned(),
        "propertykeys?maxLevel=1".to_owned(),
    ] {
        let (status, keys) = call(&server, "GET", &query, None).await;
        let listed: Vec<String> = keys
            .as_array()
            .unwrap_or_else(|| panic!("{query} answered {status} {keys}"))
            .iter()
            .map(|k| {
                format!("{} {}@{}", k["id"], k["name"].as_str().unwrap_or("?"), k["spaceId"].as_str().unwrap_or("?"))
            })
            .collect();
        lines.push((query, (status, json!(listed))));
    }
    check_lines(
        &names,
        &lines,
        expect![[r#"
            propertykeys: 200 ["1 Owner@<Campus>","2 Area@<North>","3 Area@<North Floor>","4 Wattage@<North>"]
            propertykeys?spaceId=<North Room>: 200 ["1 Owner@<Campus>","2 Area@<North>","3 Area@<North Floor>","4 Wattage@<North>"]
            propertykeys?spaceId=<North Room>&scope=devices: 200 ["4 Wattage@<North>"]
            propertykeys?spaceId=<North Floor>&traverse=None: 200 ["3 Area@<North Floor>"]
            propertykeys?spaceId=<North>&traverse=Down&scope=Spaces: 200 ["2 Area@<North>","3 Area@<North Floor>"]
            propertykeys?spaceId=<South>: 200 ["1 Owner@<Campus>"]
            propertykeys?spaceId=<North>&traverse=Down&$filter=primitiveDataType eq 'Enum': 200 ["3 Area@<North Floor>"]
            propertykeys?category=None&$orderby=name desc&$top=2: 200 ["4 Wattage@<North>","1 Owner@<Campus>"]
            propertykeys?maxLevel=1: 200 ["1 Owner@<Campus>"]
        "#]],
    );
    // One key with its space and path.
    let answer =
        call(&server, "GET", &format!("propertykeys/{north_key}?includes=Space,FullPath,description"), None).await;
    check(
        &names,
        answer,
        expect![[r#"
            200 {
              "id": 2,
              "name": "Area",
              "primitiveDataType": "Int",
              "category": "None",
              "spaceId": "<North>",
              "scope": "Spaces",
              "space": {
                "id": "<North>",
                "name": "North",
                "typeId": 10000,
                "subtypeId": 20000,
                "statusId": 30000,
                "parentSpaceId": "<Campus>"
              },
              "spacePaths": [
                "/<Campus>/<North>"
              ]
            }"#]],
    );
    let refused = call(&server, "GET", &format!("propertykeys/{campus_key}?includes=values"), None).await;
    check(
        &names,
        refused,
        expect![[r#"
            400 {
              "error": {
                "code": "400.600.000.000",
                "message": "`includes` has `values`; this resource accepts space, description, fullpath",
                "target": "includes"
              }
            }"#]],
    );
    server.stop().await;
}

#[tokio::test]
async fn put_upserts_keys_and_patch_and_delete_change_them() {
    let server = start().await;
    let mut names = Names::default();
    let building = space(&server, &mut names, "Building", None).await;
    let other = space(&server, &mut names, "Other", None).await;
    // PUT creates when the space has no key of that name and scope…
    let (status, id) = call(
        &server,
        "PUT",
        "propertykeys",
        Some(json!({"Name": "Area", "Scope": "Spaces", "SpaceId": building, "PrimitiveDataType": "Int"})),
    )
    .await;
    assert_eq!(status, 201, "{id}");
    let id = id.as_u64().expect("the id as a JSON number");
    // …and updates the one there is (the name matched ignoring case), primitive type included.
    let updated = call(&server, "PUT", "propertykeys", Some(json!({"name": "AREA", "scope": "spaces", "spaceId": building, "primitiveDataType": "Long", "description": "Floor area in square meters"}))).await;
    assert_eq!(updated, (204, Value::Null));
    // Another scope is another key.
    let (status, device_key) =
        call(&server, "PUT", "propertykeys", Some(json!({"name": "Area", "scope": "Devices", "spaceId": building})))
            .await;
    assert_eq!(status, 201);
    assert_ne!(device_key.as_u64(), Some(id));
    check(
        &names,
        call(&server, "GET", &format!("propertykeys/{id}"), None).await,
        expect![[r#"
            200 {
              "id": 1,
              "name": "AREA",
              "primitiveDataType": "Long",
              "category": "None",
              "description": "Floor area in square meters",
              "spaceId": "<Building>",
              "scope": "Spaces"
            }"#]],
    );
    // PATCH changes what it names; repeating the key's own type and scope is fine, changing them is not.
    let patch =
        json!({"name": "Area", "category": "Sizes", "min": "0", "primitiveDataType": "long", "scope": "Spaces"});
    assert_eq!(call(&server, "PATCH", &format!("propertykeys/{id}"), Some(patch)).await, (204, Value::Null));
    let mut lines = Vec::new();
    for (label, body) in [
        ("type", json!({"primitiveDataType": "String"})),
        ("scope", json!({"scope": "Users"})),
        ("bad min", json!({"min": "many"})),
        ("unknown space", json!({"spaceId": "nowhere"})),
    ] {
        lines.push((label.to_owned(), call(&server, "PATCH", &format!("propertykeys/{id}"), Some(body)).await));
    }
    lines.push((
        "unknown key".to_owned(),
        call(&server, "PATCH", "propertykeys/99", Some(json!({"category": "Sizes"}))).await,
    ));
    lines.push(("not a number".to_owned(), call(&server, "GET", "propertykeys/area", None).await));
    check_lines(
        &names,
        &lines,
        expect![[r#"
            type: 400 {"error":{"code":"400.600.000.000","message":"property key 1 is Long; PATCH does not change `primitiveDataType` (PUT propertykeys does)","target":"primitiveDataType"}}
            scope: 400 {"error":{"code":"400.600.000.000","message":"property key 1 is for Spaces; a key's `scope` does not change","target":"scope"}}
            bad min: 400 {"error":{"code":"400.600.000.000","message":"min: 'many' is not a bound for Long keys; accepted: a whole number from -9223372036854775808 to 9223372036854775807","target":"min"}}
            unknown space: 404 {"error":{"code":"404.600.000.000","message":"space 'nowhere' was not found"}}
            unknown key: 404 {"error":{"code":"404.600.000.000","message":"property key '99' was not found"}}
            not a number: 404 {"error":{"code":"404.600.000.000","message":"property key 'area' was not found"}}
        "#]],
    );
    // The new min applies to new values.
    assert_eq!(set_value(&server, &format!("spaces/{building}"), "area", "-1").await.0, 400);
    assert_eq!(set_value(&server, &format!("spaces/{building}"), "area", "250").await, (200, json!("250")));
    // PATCH moves a key to another space: the building's values stay, but no longer have a key.
    assert_eq!(call(&server, "PATCH", &format!("propertykeys/{id}"), Some(json!({"spaceId": other}))).await.0, 204);
    check(
        &names,
        call(&server, "GET", &format!("spaces/{building}/properties"), None).await,
        expect![[r#"
            200 [
              {
                "name": "Area",
                "value": "250",
                "dataType": "None"
              }
            ]"#]],
    );
    assert_eq!(call(&server, "PATCH", &format!("propertykeys/{id}"), Some(json!({"spaceId": building}))).await.0, 204);
    // Deleting a key leaves its values in place.
    assert_eq!(call(&server, "DELETE", &format!("propertykeys/{id}"), None).await, (204, Value::Null));
    assert_eq!(call(&server, "GET", &format!("propertykeys/{id}"), None).await.0, 404);
    assert_eq!(call(&server, "DELETE", &format!("propertykeys/{id}"), None).await.0, 404);
    assert_eq!(call(&server, "GET", &format!("spaces/{building}/properties/Area"), None).await, (200, json!("250")));
    // DELETE by space, scope and names: all of them, or none when one names no key.
    for name in ["Color", "Height", "Width"] {
        key(&server, json!({"name": name, "scope": "Spaces", "spaceId": building})).await;
    }
    let mut lines = Vec::new();
    for query in [
        format!("propertykeys?spaceId={building}&scope=Spaces&keys=Color;Depth"),
        format!("propertykeys?spaceId={building}&keys=Color"),
        format!("propertykeys?spaceId={building}&scope=Spaces"),
        "propertykeys?spaceId=nowhere&scope=Spaces&keys=Color".to_owned(),
        format!("propertykeys?spaceId={building}&scope=Spaces&keys=color,Height"),
    ] {
        lines.push((query.clone(), call(&server, "DELETE", &query, None).await));
    }
    let (_, left) = call(&server, "GET", &format!("propertykeys?spaceId={building}&traverse=None"), None).await;
    let left: Vec<&str> = left.as_array().expect("a list").iter().filter_map(|k| k["name"].as_str()).collect();
    lines.push(("left".to_owned(), (200, json!(left))));
    check_lines(
        &names,
        &lines,
        expect![[r#"
            propertykeys?spaceId=<Building>&scope=Spaces&keys=Color;Depth: 404 {"error":{"code":"404.600.000.000","message":"property key for Spaces of space '<Building>' 'Depth' was not found"}}
            propertykeys?spaceId=<Building>&keys=Color: 400 {"error":{"code":"400.600.000.000","message":"DELETE propertykeys needs `spaceId`, `scope` and `keys` (names separated by ';')","target":"scope"}}
            propertykeys?spaceId=<Building>&scope=Spaces: 400 {"error":{"code":"400.600.000.000","message":"DELETE propertykeys needs `spaceId`, `scope` and `keys` (names separated by ';')","target":"keys"}}
            propertykeys?spaceId=nowhere&scope=Spaces&keys=Color: 404 {"error":{"code":"404.600.000.000","message":"space 'nowhere' was not found"}}
            propertykeys?spaceId=<Building>&scope=Spaces&keys=color,Height: 204 null
            left: 200 ["Area","Width"]
        "#]],
    );
    server.stop().await;
}

#[tokio::test]
async fn properties_routes_of_every_kind() {
    let server = start().await;
    let mut names = Names::default();
    let building = space(&server, &mut names, "Building", None).await;
    let room = space(&server, &mut names, "Room", Some(&building)).await;
    let device = create(
        &server,
        &mut names,
        "POST",
        "devices",
        "Device",
        json!({"name": "Gateway", "hardwareId": "AA00BB11CC22", "spaceId": room}),
    )
    .await;
    let sensor = create(
        &server,
        &mut names,
        "POST",
        "sensors",
        "Sensor",
        json!({"hardwareId": "SENSOR_1", "deviceId": device, "dataType": "Temperature"}),
    )
    .await;
    let user =
        create(&server, &mut names, "PUT", "users", "User", json!({"upn": "ada@example.com", "spaceId": room})).await;
    for scope in ["Spaces", "Devices", "Sensors", "Users"] {
        let body =
            json!({"name": "Vendor", "scope": scope, "spaceId": building, "primitiveDataType": "String", "max": "12"});
        key(&server, body).await;
        key(&server, json!({"name": "Rank", "scope": scope, "spaceId": building, "primitiveDataType": "Int"})).await;
    }
    key(&server, json!({"name": "Floorplan", "scope": "Spaces", "spaceId": building})).await;
    for (kind, id) in [("space", &room), ("device", &device), ("sensor", &sensor), ("user", &user)] {
        let properties = format!("{kind}s/{id}/properties");
        let steps = [
            ("create", "POST", properties.clone(), Some(json!({"name": "vendor", "value": "Contoso"}))),
            ("create again", "POST", properties.clone(), Some(json!({"name": "Vendor", "value": "Fabrikam"}))),
            ("read", "GET", format!("{properties}/VENDOR"), None),
            (
                "set two",
                "PUT",
                properties.clone(),
                Some(json!([{"name": "Vendor", "value": "Fabrikam"}, {"name": "Rank", "value": 3}])),
            ),
            (
                "one bad",
                "PUT",
                properties.clone(),
                Some(json!([{"name": "Rank", "value": "4"}, {"name": "Vendor", "value": "Northwind Traders"}])),
            ),
            ("list", "GET", properties.clone(), None),
            ("not an array", "PUT", properties.clone(), Some(json!({"name": "Rank", "value": "4"}))),
            ("remove one", "DELETE", format!("{properties}/rank"), None),
            ("removed", "GET", format!("{properties}/Rank"), None),
            ("remove it again", "DELETE", format!("{properties}/Rank"), None),
            ("remove all", "DELETE", properties.clone(), None),
            ("none left", "GET", properties.clone(), None),
            ("unknown object", "GET", format!("{kind}s/{building}x/properties"), None),
        ];
        let mut lines = Vec::new();
        for (label, method, path, body) in steps {
            lines.push((format!("{label} ({method})"), call(&server, method, &path, body).await));
        }
        // The same snapshot for every kind: the object is `<object>`, the kind's name `{kind}` (`{Kind}` capitalised).
        let mut shown = Names::default();
        shown.add(id, "object");
        shown.add(&building, "Building");
        let capitalised = kind[..1].to_ascii_uppercase() + &kind[1..];
        let text = lines_text(&shown, &lines).replace(kind, "{kind}").replace(&capitalised, "{Kind}");
        expect![[r#"
            create (POST): 201 "Vendor"
            create again (POST): 409 {"error":{"code":"409.600.000.000","message":"{kind} '<object>' already has the property 'Vendor'; PUT {kind}s/<object>/properties changes values"}}
            read (GET): 200 "Contoso"
            set two (PUT): 204 null
            one bad (PUT): 400 {"error":{"code":"400.600.000.000","message":"value: has 17 characters, more than the key's max 12 (property key 'Vendor', String)","target":"value"}}
            list (GET): 200 [{"name":"Vendor","value":"Fabrikam","dataType":"String"},{"name":"Rank","value":"3","dataType":"Int"}]
            not an array (PUT): 400 {"error":{"code":"400.600.000.000","message":"the request body must be a JSON array of {\"name\", \"value\"} objects"}}
            remove one (DELETE): 204 null
            removed (GET): 404 {"error":{"code":"404.600.000.000","message":"the property of {kind} '<object>' named 'Rank' was not found"}}
            remove it again (DELETE): 404 {"error":{"code":"404.600.000.000","message":"the property of {kind} '<object>' named 'Rank' was not found"}}
            remove all (DELETE): 204 null
            none left (GET): 200 []
            unknown object (GET): 404 {"error":{"code":"404.600.000.000","message":"{kind} '<Building>x' was not found"}}
        "#]].assert_eq(&text);
    }
    // A key of one scope is not one of another.
    let other_scope = call(
        &server,
        "POST",
        &format!("devices/{device}/properties"),
        Some(json!({"name": "Floorplan", "value": "x"})),
    )
    .await;
    check(
        &names,
        other_scope,
        expect![[r#"
        404 {
          "error": {
            "code": "404.600.000.000",
            "message": "property key for device (scope Devices) 'Floorplan' was not found"
          }
        }"#]],
    );
    // The Spaces-scoped key applies to the room; the sensor's values show with `includes=properties`.
    assert_eq!(set_value(&server, &format!("spaces/{room}"), "Floorplan", "yes").await, (200, json!("yes")));
    assert_eq!(set_value(&server, &format!("sensors/{sensor}"), "Rank", "7").await, (200, json!("7")));
    let (status, shown_sensor) = call(&server, "GET", &format!("sensors/{sensor}?includes=properties"), None).await;
    check(
        &names,
        (status, shown_sensor["properties"].clone()),
        expect![[r#"
            200 [
              {
                "name": "Rank",
                "value": "7",
                "dataType": "Int"
              }
            ]"#]],
    );
    server.stop().await;
}

#[tokio::test]
async fn spaces_filter_by_property() {
    let server = start().await;
    let mut names = Names::default();
    let building = space(&server, &mut names, "Building", None).await;
    key(&server, json!({"name": "AreaInSqMeters", "scope": "Spaces", "spaceId": building, "primitiveDataType": "Int"}))
        .await;
    key(&server, json!({"name": "Wing", "scope": "Spaces", "spaceId": building})).await;
    for (name, area, wing) in [("Room 1", "30", "East"), ("Room 2", "45", "West"), ("Room 3", "30", "North-East")] {
        let room = space(&server, &mut names, name, Some(&building)).await;
        let items = json!([{"name": "AreaInSqMeters", "value": area}, {"name": "Wing", "value": wing}]);
        assert_eq!(call(&server, "PUT", &format!("spaces/{room}/properties"), Some(items)).await.0, 204);
    }
    space(&server, &mut names, "Corridor", Some(&building)).await;
    let mut lines = Vec::new();
    for query in [
        "spaces?propertyKey=AreaInSqMeters&propertyValue=30",
        "spaces?propertyKey=areainsqmeters",
        "spaces?propertyKey=Wing&propertyValue=east&propertyValueSearchType=Contains",
        "spaces?propertyKey=Wing&propertyValue=east&propertyValueSearchType=equals",
        "spaces?propertyKey=Nothing",
    ] {
        let (status, spaces) = call(&server, "GET", query, None).await;
        let listed: Vec<&str> =
            spaces.as_array().map(|s| s.iter().filter_map(|o| o["name"].as_str()).collect()).unwrap_or_default();
        lines.push((query.to_owned(), (status, json!(listed))));
    }
    for query in ["spaces?propertyValue=30", "spaces?propertyKey=Wing&propertyValueSearchType=Like"] {
        lines.push((query.to_owned(), call(&server, "GET", query, None).await));
    }
    check_lines(
        &names,
        &lines,
        expect![[r#"
            spaces?propertyKey=AreaInSqMeters&propertyValue=30: 200 ["Room 1","Room 3"]
            spaces?propertyKey=areainsqmeters: 200 ["Room 1","Room 2","Room 3"]
            spaces?propertyKey=Wing&propertyValue=east&propertyValueSearchType=Contains: 200 ["Room 1","Room 3"]
            spaces?propertyKey=Wing&propertyValue=east&propertyValueSearchType=equals: 200 ["Room 1"]
            spaces?propertyKey=Nothing: 200 []
            spaces?propertyValue=30: 400 {"error":{"code":"400.600.000.000","message":"`propertyValue` needs `propertyKey`","target":"propertyValue"}}
            spaces?propertyKey=Wing&propertyValueSearchType=Like: 400 {"error":{"code":"400.600.000.000","message":"`propertyValueSearchType` is `Like`; it takes Equals or Contains","target":"propertyValueSearchType"}}
        "#]],
    );
    server.stop().await;
}
