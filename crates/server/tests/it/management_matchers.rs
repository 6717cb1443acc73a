//! Matchers of the 2018 management face end to end: the occupancy sample's two matchers evaluated with the documented log lines, conditions on a sensor's device and space (a property path, `NotEquals`, `Contains`), `sensors/{id}/matchers` and the subtree a matcher applies to, `ConditionUpdate`s, delete (of a matcher and of its space), a restart, and the error bodies.
//!
//! Everything is made through the 2018 API; ids are GUIDs the server makes, and `Names` shows each as the name the test gave it.

use expect_test::{Expect, expect};
use serde_json::{Value, json};

use crate::management::{Names, call};
use crate::{TestServer, start_shipped, start_shipped_in};

/// The ids of the topology every test starts from.
struct Topology {
    building: String,
    floor: String,
    room: String,
    other_floor: String,
    /// The Motion and CarbonDioxide sensors of the device in `room`.
    motion: String,
    co2: String,
    /// The Motion sensor of the device in a room of `other_floor`.
    other_motion: String,
}

/// `Building` ⊃ `Floor 1` ⊃ `Focus Room A1` (type Room) with the device `Pi A1` (its extended property `Manufacturer` is `GoodCorp`) and its sensors `Motion` (port `0103`) and `CarbonDioxide`; `Building` ⊃ `Floor 2` ⊃ `Room 21` with the device `Pi 21` and its sensor `Motion 21`.
async fn topology(server: &TestServer, names: &mut Names) -> Topology {
    let building = create(server, names, "spaces", "Building", json!({"Name": "Building", "ParentSpaceId": ""})).await;
    let floor = create(server, names, "spaces", "Floor 1", json!({"Name": "Floor 1", "ParentSpaceId": building})).await;
    let room = create(
        server,
        names,
        "spaces",
        "Focus Room A1",
        json!({"Name": "Focus Room A1", "ParentSpaceId": floor, "Type": "Room"}),
    )
    .await;
    let other_floor =
        create(server, names, "spaces", "Floor 2", json!({"Name": "Floor 2", "ParentSpaceId": building})).await;
    let other_room =
        create(server, names, "spaces", "Room 21", json!({"Name": "Room 21", "ParentSpaceId": other_floor})).await;
    let (status, key) = call(
        server,
        "POST",
        "propertykeys",
        Some(json!({"Name": "Manufacturer", "SpaceId": building, "Scope": "Devices"})),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let device = json!({"Name": "Pi A1", "HardwareId": "1234567890AB", "SpaceId": room,
        "Properties": [{"Name": "Manufacturer", "Value": "GoodCorp"}]});
    let device = create(server, names, "devices", "Pi A1", device).await;
    let motion =
        json!({"DataType": "Motion", "DeviceId": device, "HardwareId": "SAMPLE_SENSOR_MOTION", "Port": "0103"});
    let motion = create(server, names, "sensors", "Motion", motion).await;
    let co2 = json!({"DataType": "CarbonDioxide", "DeviceId": device, "HardwareId": "SAMPLE_SENSOR_CARBONDIOXIDE"});
    let co2 = create(server, names, "sensors", "CarbonDioxide", co2).await;
    let other_device = json!({"Name": "Pi 21", "HardwareId": "1234567890CD", "SpaceId": other_room});
    let other_device = create(server, names, "devices", "Pi 21", other_device).await;
    let other_motion = json!({"DataType": "Motion", "DeviceId": other_device, "HardwareId": "MOTION_21"});
    let other_motion = create(server, names, "sensors", "Motion 21", other_motion).await;
    Topology { building, floor, room, other_floor, motion, co2, other_motion }
}

/// The occupancy sample's matcher body: sensors whose data type is `data_type`.
fn sample_matcher(name: &str, space: &str, data_type: &str) -> Value {
    json!({"Name": name, "SpaceId": space, "Conditions": [
        {"Target": "Sensor", "Path": "$.dataType", "Value": format!("\"{data_type}\""), "Comparison": "Equals"}
    ]})
}

/// Creates an object, names its id `name`, and returns the id, checking the 201 and the JSON-string body.
async fn create(server: &TestServer, names: &mut Names, path: &str, name: &str, body: Value) -> String {
    let (status, value) = call(server, "POST", path, Some(body.clone())).await;
    assert_eq!(status, 201, "POST {path} {body} answered {value}");
    let id = value.as_str().expect("a create answers the id as a JSON string").to_owned();
    names.add(&id, name);
    id
}

/// The answer as `status body`, ids replaced by names.
fn check(names: &Names, answer: (u16, Value), expect: Expect) {
    let text = format!("{} {}", answer.0, serde_json::to_string_pretty(&answer.1).expect("JSON prints"));
    expect.assert_eq(&names.show(&text));
}

/// `GET matchers/{matcher}/evaluate/{sensor}?enableLogging=true` for each pair, shown as `matcher × sensor: success` and the log lines, ids replaced by names.
async fn check_evaluations(server: &TestServer, names: &Names, pairs: &[(&str, &str)], expect: Expect) {
    let mut lines = Vec::new();
    for (matcher, sensor) in pairs {
        let (status, answer) =
            call(server, "GET", &format!("matchers/{matcher}/evaluate/{sensor}?enableLogging=true"), None).await;
        assert_eq!(status, 200, "{answer}");
        lines.push(format!("{matcher} × {sensor}: {}", answer["success"]));
        for log in answer["logs"].as_array().expect("logs") {
            lines.push(format!("  {}", log.as_str().expect("a log line")));
        }
    }
    expect.assert_eq(&names.show(&lines.join("\n")));
}

/// The names of the matchers a list answers: in order for `sensors/{id}/matchers` (root's first) and with `$orderby`, sorted for other lists of `matchers` (ordered by their GUIDs, which differ from run to run).
async fn listed(server: &TestServer, names: &Names, path: &str) -> String {
    let (status, answer) = call(server, "GET", path, None).await;
    assert_eq!(status, 200, "GET {path} answered {answer}");
    let mut listed: Vec<&str> =
        answer.as_array().expect("a list").iter().map(|m| m["name"].as_str().unwrap_or("?")).collect();
    if path.starts_with("matchers") && !path.contains("$orderby") {
        listed.sort_unstable();
    }
    format!("{}: {}", names.show(path), listed.join(", "))
}

#[tokio::test]
async fn the_occupancy_samples_matchers_evaluate_with_the_documented_logs() {
    let server = start_shipped().await;
    let mut names = Names::default();
    let t = topology(&server, &mut names).await;
    let motion_matcher = create(
        &server,
        &mut names,
        "matchers",
        "Matcher Motion A1",
        sample_matcher("Matcher Motion A1", &t.room, "Motion"),
    )
    .await;
    let co2_body = sample_matcher("Matcher CarbonDioxide A1", &t.room, "CarbonDioxide");
    let co2_matcher = create(&server, &mut names, "matchers", "Matcher CarbonDioxide A1", co2_body).await;
    check_evaluations(
        &server,
        &names,
        &[(&motion_matcher, &t.motion), (&motion_matcher, &t.co2), (&co2_matcher, &t.motion), (&co2_matcher, &t.co2)],
        expect![[r#"
            <Matcher Motion A1> × <Motion>: true
              $.dataType: "Motion" Equals "Motion" => True
            <Matcher Motion A1> × <CarbonDioxide>: false
              $.dataType: "CarbonDioxide" Equals "Motion" => False
            <Matcher CarbonDioxide A1> × <Motion>: false
              $.dataType: "Motion" Equals "CarbonDioxide" => False
            <Matcher CarbonDioxide A1> × <CarbonDioxide>: true
              $.dataType: "CarbonDioxide" Equals "CarbonDioxide" => True"#]],
    )
    .await;
    // The wire shape; without `enableLogging` the logs are empty.
    let path = format!("matchers/{motion_matcher}/evaluate/{}", t.motion);
    check(
        &names,
        call(&server, "GET", &format!("{path}?enableLogging=true"), None).await,
        expect![[r#"
            200 {
              "success": true,
              "logs": [
                "$.dataType: \"Motion\" Equals \"Motion\" => True"
              ]
            }"#]],
    );
    check(
        &names,
        call(&server, "GET", &format!("{path}/"), None).await,
        expect![[r#"
            200 {
              "success": true,
              "logs": []
            }"#]],
    );
    // The sample looks its matchers up by name on the room, sending `spaceIds`.
    let lookup = format!("matchers?names=Matcher Motion A1,Matcher CarbonDioxide A1&spaceIds={}", t.room);
    expect!["matchers?names=Matcher Motion A1,Matcher CarbonDioxide A1&spaceIds=<Focus Room A1>: Matcher CarbonDioxide A1, Matcher Motion A1"]
        .assert_eq(&listed(&server, &names, &lookup).await);
    let (_, with_conditions) =
        call(&server, "GET", &format!("matchers/{motion_matcher}?includes=conditions"), None).await;
    names.add(with_conditions["conditions"][0]["id"].as_str().expect("a condition id"), "condition");
    check(
        &names,
        call(
            &server,
            "GET",
            &format!("matchers/{motion_matcher}?includes=Description,Conditions,FullPath,Space,UserDefinedFunctions"),
            None,
        )
        .await,
        expect![[r#"
            200 {
              "id": "<Matcher Motion A1>",
              "name": "Matcher Motion A1",
              "friendlyName": null,
              "spaceId": "<Focus Room A1>",
              "description": null,
              "conditions": [
                {
                  "id": "<condition>",
                  "target": "Sensor",
                  "path": "$.dataType",
                  "value": "\"Motion\"",
                  "comparison": "Equals"
                }
              ],
              "space": {
                "id": "<Focus Room A1>",
                "name": "Focus Room A1",
                "typeId": 11008,
                "subtypeId": 20000,
                "statusId": 30000,
                "parentSpaceId": "<Floor 1>"
              },
              "spacePaths": [
                "/<Building>/<Floor 1>/<Focus Room A1>"
              ],
              "userDefinedFunctions": []
            }"#]],
    );
    check(
        &names,
        call(&server, "GET", &format!("matchers/{co2_matcher}"), None).await,
        expect![[r#"
            200 {
              "id": "<Matcher CarbonDioxide A1>",
              "name": "Matcher CarbonDioxide A1",
              "friendlyName": null,
              "spaceId": "<Focus Room A1>"
            }"#]],
    );
    server.stop().await;
}

#[tokio::test]
async fn conditions_read_the_sensors_device_and_space() {
    let server = start_shipped().await;
    let mut names = Names::default();
    let t = topology(&server, &mut names).await;
    // The documented example matcher (with Motion for Temperature, and the room's type for Venue).
    let documented = json!({"SpaceId": t.building, "Name": "My custom matcher", "Conditions": [
        {"target": "Sensor", "path": "$.dataType", "value": "\"Motion\"", "comparison": "Equals"},
        {"target": "Sensor", "path": "$.port", "value": "01", "comparison": "Contains"},
        {"target": "SensorDevice", "path": "$.properties[?(@.name == 'Manufacturer')].value", "value": "\"GoodCorp\"", "comparison": "Equals"},
        {"target": "SensorSpace", "path": "$.type", "value": "\"Room\"", "comparison": "Equals"}
    ]});
    let documented = create(&server, &mut names, "matchers", "My custom matcher", documented).await;
    let others = json!({"SpaceId": t.building, "Name": "Not motion, in a room with motion", "Conditions": [
        {"target": "sensor", "path": "$.dataType", "value": "\"motion\"", "comparison": "notequals"},
        {"target": "SENSORDEVICE", "path": "$.sensors[*].dataType", "value": "\"MOTION\"", "comparison": "Equals"},
        {"target": "SensorSpace", "path": "$.name", "value": "room", "comparison": "CONTAINS"},
        {"target": "SensorSpace", "path": "$.location", "value": "null", "comparison": "Equals"}
    ]});
    let others = create(&server, &mut names, "matchers", "Not motion, in a room with motion", others).await;
    // The device document lists its sensors, so `$.sensors[*].dataType` selects each one's data type.
    check_evaluations(
        &server,
        &names,
        &[(&documented, &t.motion), (&documented, &t.co2), (&documented, &t.other_motion), (&others, &t.co2)],
        expect![[r#"
            <My custom matcher> × <Motion>: true
              $.dataType: "Motion" Equals "Motion" => True
              $.port: "0103" Contains 01 => True
              $.properties[?(@.name == 'Manufacturer')].value: "GoodCorp" Equals "GoodCorp" => True
              $.type: "Room" Equals "Room" => True
            <My custom matcher> × <CarbonDioxide>: false
              $.dataType: "CarbonDioxide" Equals "Motion" => False
              $.port: (nothing) Contains 01 => False
              $.properties[?(@.name == 'Manufacturer')].value: "GoodCorp" Equals "GoodCorp" => True
              $.type: "Room" Equals "Room" => True
            <My custom matcher> × <Motion 21>: false
              $.dataType: "Motion" Equals "Motion" => True
              $.port: (nothing) Contains 01 => False
              $.properties[?(@.name == 'Manufacturer')].value: (nothing) Equals "GoodCorp" => False
              $.type: "None" Equals "Room" => False
            <Not motion, in a room with motion> × <CarbonDioxide>: false
              $.dataType: "CarbonDioxide" NotEquals "motion" => True
              $.sensors[*].dataType: "Motion" | "CarbonDioxide" Equals "MOTION" => True
              $.name: "Focus Room A1" Contains room => True
              $.location: (nothing) Equals null => False"#]],
    )
    .await;
    // The conditions are stored in the canonical spelling of their target and comparison.
    let (_, stored) = call(&server, "GET", &format!("matchers/{others}?includes=conditions"), None).await;
    let spelled: Vec<String> = stored["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .map(|c| format!("{} {}", c["target"].as_str().unwrap_or("?"), c["comparison"].as_str().unwrap_or("?")))
        .collect();
    expect!["Sensor NotEquals, SensorDevice Equals, SensorSpace Contains, SensorSpace Equals"]
        .assert_eq(&spelled.join(", "));
    server.stop().await;
}

#[tokio::test]
async fn a_matcher_applies_to_the_sensors_of_its_spaces_subtree() {
    let server = start_shipped().await;
    let mut names = Names::default();
    let t = topology(&server, &mut names).await;
    let on_floor = create(
        &server,
        &mut names,
        "matchers",
        "Motion on Floor 1",
        sample_matcher("Motion on Floor 1", &t.floor, "Motion"),
    )
    .await;
    create(
        &server,
        &mut names,
        "matchers",
        "Motion on Floor 2",
        sample_matcher("Motion on Floor 2", &t.other_floor, "Motion"),
    )
    .await;
    create(&server, &mut names, "matchers", "Motion in A1", sample_matcher("Motion in A1", &t.room, "Motion")).await;
    create(&server, &mut names, "matchers", "CO2 in A1", sample_matcher("CO2 in A1", &t.room, "CarbonDioxide")).await;
    let everything = json!({"Name": "Every sensor", "SpaceId": t.building});
    create(&server, &mut names, "matchers", "Every sensor", everything).await;
    let mut lines = Vec::new();
    for sensor in [&t.motion, &t.co2, &t.other_motion] {
        lines.push(listed(&server, &names, &format!("sensors/{sensor}/matchers")).await);
    }
    for query in [
        "matchers".to_owned(),
        format!("matchers?spaceId={}", t.building),
        format!("matchers?spaceId={}&traverse=Down", t.floor),
        format!("matchers?spaceId={}&traverse=Up", t.room),
        "matchers?maxLevel=2".to_owned(),
        format!("matchers?ids={on_floor}"),
        "matchers?names=motion in a1;co2 in a1".to_owned(),
        "matchers?$filter=Name eq 'Every sensor'".to_owned(),
        "matchers?$orderby=Name&$top=2".to_owned(),
    ] {
        lines.push(listed(&server, &names, &query).await);
    }
    expect![[r#"
        sensors/<Motion>/matchers: Every sensor, Motion on Floor 1, Motion in A1
        sensors/<CarbonDioxide>/matchers: Every sensor, CO2 in A1
        sensors/<Motion 21>/matchers: Every sensor, Motion on Floor 2
        matchers: CO2 in A1, Every sensor, Motion in A1, Motion on Floor 1, Motion on Floor 2
        matchers?spaceId=<Building>: Every sensor
        matchers?spaceId=<Floor 1>&traverse=Down: CO2 in A1, Motion in A1, Motion on Floor 1
        matchers?spaceId=<Focus Room A1>&traverse=Up: CO2 in A1, Every sensor, Motion in A1, Motion on Floor 1
        matchers?maxLevel=2: Every sensor, Motion on Floor 1, Motion on Floor 2
        matchers?ids=<Motion on Floor 1>: Motion on Floor 1
        matchers?names=motion in a1;co2 in a1: CO2 in A1, Motion in A1
        matchers?$filter=Name eq 'Every sensor': Every sensor
        matchers?$orderby=Name&$top=2: CO2 in A1, Every sensor"#]]
    .assert_eq(&lines.join("\n"));
    // Its conditions hold for the other floor's motion sensor, but the sensor is not in the matcher's subtree.
    check_evaluations(
        &server,
        &names,
        &[(&on_floor, &t.other_motion)],
        expect![[r#"
            <Motion on Floor 1> × <Motion 21>: false
              sensor '<Motion 21>' is not in the subtree of space '<Floor 1>' => False
              $.dataType: "Motion" Equals "Motion" => True"#]],
    )
    .await;
    check(
        &names,
        call(
            &server,
            "GET",
            &format!("sensors/{}/matchers?includes=conditions,userdefinedfunctions&$top=1", t.co2),
            None,
        )
        .await,
        expect![[r#"
            200 [
              {
                "id": "<Every sensor>",
                "name": "Every sensor",
                "friendlyName": null,
                "spaceId": "<Building>",
                "conditions": [],
                "userDefinedFunctions": []
              }
            ]"#]],
    );
    server.stop().await;
}

#[tokio::test]
async fn conditions_update_matchers_delete_and_a_restart_keeps_them() {
    let server = start_shipped().await;
    let mut names = Names::default();
    let t = topology(&server, &mut names).await;
    let body = json!({"Name": "Motion A1", "SpaceId": t.room, "Description": "motion", "Conditions": [
        {"Target": "Sensor", "Path": "$.dataType", "Value": "\"CarbonDioxide\"", "Comparison": "Equals"},
        {"Target": "SensorSpace", "Path": "$.type", "Value": "\"Venue\"", "Comparison": "Equals"}
    ]});
    let matcher = create(&server, &mut names, "matchers", "Motion A1", body).await;
    let (_, stored) = call(&server, "GET", &format!("matchers/{matcher}?includes=conditions"), None).await;
    let ids: Vec<String> = stored["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .map(|c| c["id"].as_str().expect("a condition id").to_owned())
        .collect();
    names.add(&ids[0], "data type condition");
    names.add(&ids[1], "space type condition");
    // Change the first condition's value only, delete the second (an empty path), add a third.
    let patch = json!({"Name": "Motion in A1", "FriendlyName": "Motion", "Description": null, "Conditions": [
        {"Id": ids[0], "Value": "\"Motion\""},
        {"id": ids[1], "path": ""},
        {"target": "SensorDevice", "path": "$.hardwareId", "value": "1234", "comparison": "Contains"}
    ]});
    check(&names, call(&server, "PATCH", &format!("matchers/{matcher}"), Some(patch)).await, expect!["204 null"]);
    let (_, patched) = call(&server, "GET", &format!("matchers/{matcher}?includes=conditions,description"), None).await;
    if let Some(added) = patched["conditions"][1]["id"].as_str() {
        names.add(added, "hardware id condition");
    }
    let patched = (200, patched);
    check(
        &names,
        patched.clone(),
        expect![[r#"
            200 {
              "id": "<Motion A1>",
              "name": "Motion in A1",
              "friendlyName": "Motion",
              "spaceId": "<Focus Room A1>",
              "description": null,
              "conditions": [
                {
                  "id": "<data type condition>",
                  "target": "Sensor",
                  "path": "$.dataType",
                  "value": "\"Motion\"",
                  "comparison": "Equals"
                },
                {
                  "id": "<hardware id condition>",
                  "target": "SensorDevice",
                  "path": "$.hardwareId",
                  "value": "1234",
                  "comparison": "Contains"
                }
              ]
            }"#]],
    );
    check_evaluations(
        &server,
        &names,
        &[(&matcher, &t.motion)],
        expect![[r#"
            <Motion A1> × <Motion>: true
              $.dataType: "Motion" Equals "Motion" => True
              $.hardwareId: "1234567890AB" Contains 1234 => True"#]],
    )
    .await;
    let doomed = create(&server, &mut names, "matchers", "Doomed", sample_matcher("Doomed", &t.room, "Motion")).await;
    check(&names, call(&server, "DELETE", &format!("matchers/{doomed}"), None).await, expect!["204 null"]);
    check(
        &names,
        call(&server, "GET", &format!("matchers/{doomed}"), None).await,
        expect![[r#"
            404 {
              "error": {
                "code": "404.600.000.000",
                "message": "matcher '<Doomed>' was not found"
              }
            }"#]],
    );
    // A restart keeps the matcher as patched, and what applies to the sensor.
    let data = server.stop_keeping_data().await;
    let server = start_shipped_in(data).await;
    let (status, reloaded) =
        call(&server, "GET", &format!("matchers/{matcher}?includes=conditions,description"), None).await;
    assert_eq!((status, reloaded), patched);
    expect!["sensors/<Motion>/matchers: Motion in A1"]
        .assert_eq(&listed(&server, &names, &format!("sensors/{}/matchers", t.motion)).await);
    // Deleting the room takes its matcher with it, durably.
    check(&names, call(&server, "DELETE", &format!("spaces/{}", t.room), None).await, expect!["204 null"]);
    let data = server.stop_keeping_data().await;
    let server = start_shipped_in(data).await;
    expect!["matchers: "].assert_eq(&listed(&server, &names, "matchers").await);
    server.stop().await;
}

#[tokio::test]
async fn refused_matchers_and_conditions() {
    let server = start_shipped().await;
    let mut names = Names::default();
    let t = topology(&server, &mut names).await;
    let matcher = create(
        &server,
        &mut names,
        "matchers",
        "Matcher Motion A1",
        sample_matcher("Matcher Motion A1", &t.room, "Motion"),
    )
    .await;
    let condition = |target: &str, path: &str| {
        json!({"Name": "Another", "SpaceId": t.room, "Conditions": [
            {"Target": "Sensor", "Path": "$.dataType", "Value": "\"Motion\"", "Comparison": "Equals"},
            {"Target": target, "Path": path, "Value": "x", "Comparison": "Equals"}
        ]})
    };
    let cases = [
        ("POST", "matchers".to_owned(), Some(condition("Sensor", "$.properties[?(@.name = 'x')]"))),
        ("POST", "matchers".to_owned(), Some(condition("Room", "$.type"))),
        ("POST", "matchers".to_owned(), Some(sample_matcher("Matcher Motion A1", "nowhere", "Motion"))),
        ("POST", "matchers".to_owned(), Some(sample_matcher("matcher motion a1", &t.room, "Motion"))),
        ("POST", "matchers".to_owned(), Some(json!({"Name": "No", "SpaceId": t.room}))),
        ("POST", "matchers".to_owned(), Some(json!({"Name": "No space"}))),
        (
            "POST",
            "matchers".to_owned(),
            Some(json!({"Name": "Half", "SpaceId": t.room, "Conditions": [{"Target": "Sensor"}]})),
        ),
        ("PATCH", format!("matchers/{matcher}"), Some(json!({"Conditions": [{"Id": "unknown", "Value": "x"}]}))),
        (
            "PATCH",
            format!("matchers/{matcher}"),
            Some(json!({"Conditions": [{"Path": "$.a", "Target": "Sensor", "Value": 3, "Comparison": "Equals"}]})),
        ),
        ("GET", format!("matchers/{matcher}/evaluate/{}", t.room), None),
        ("GET", format!("matchers/{matcher}?includes=keys"), None),
    ];
    let mut lines = Vec::new();
    for (method, path, body) in cases {
        let (status, answer) = call(&server, method, &path, body).await;
        lines.push(format!("{method} {path}: {status} {answer}"));
    }
    expect![[r#"
        POST matchers: 400 {"error":{"code":"400.600.000.000","message":"conditions[1]: `path` `$.properties[?(@.name = 'x')]` is not a JSONPath (RFC 9535): at position 14, in long-hand segment, parser error","target":"conditions[1].path"}}
        POST matchers: 400 {"error":{"code":"400.600.000.000","message":"conditions[1]: `target` is `Room`; it takes Sensor, SensorDevice or SensorSpace","target":"conditions[1].target"}}
        POST matchers: 404 {"error":{"code":"404.600.000.000","message":"space 'nowhere' was not found"}}
        POST matchers: 409 {"error":{"code":"409.600.000.000","message":"the space already has a matcher named 'matcher motion a1'; a matcher's name is unique on its space"}}
        POST matchers: 400 {"error":{"code":"400.600.000.000","message":"`name` has 2 characters; it takes 3 to 64","target":"name"}}
        POST matchers: 400 {"error":{"code":"400.600.000.000","message":"`spaceId` is required","target":"spaceId"}}
        POST matchers: 400 {"error":{"code":"400.600.000.000","message":"conditions[0] has no `path`; a condition takes target, path, value and comparison","target":"conditions[0].path"}}
        PATCH matchers/<Matcher Motion A1>: 404 {"error":{"code":"404.600.000.000","message":"conditions[0]: matcher '<Matcher Motion A1>' has no condition 'unknown'"}}
        PATCH matchers/<Matcher Motion A1>: 400 {"error":{"code":"400.600.000.000","message":"`conditions[0].value` must be a string","target":"conditions[0].value"}}
        GET matchers/<Matcher Motion A1>/evaluate/<Focus Room A1>: 404 {"error":{"code":"404.600.000.000","message":"sensor '<Focus Room A1>' was not found"}}
        GET matchers/<Matcher Motion A1>?includes=keys: 400 {"error":{"code":"400.600.000.000","message":"`includes` has `keys`; this resource accepts description, conditions, fullpath, space, userdefinedfunctions","target":"includes"}}"#]]
    .assert_eq(&names.show(&lines.join("\n")));
    // Nothing refused was stored.
    expect!["matchers: Matcher Motion A1"].assert_eq(&listed(&server, &names, "matchers").await);
    server.stop().await;
}
