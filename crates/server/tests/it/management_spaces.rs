//! The 2018 management face's spatial graph end to end: the occupancy sample's provisioning sequence (run twice, the second run changing nothing), every canonical navigation example, one graph seen through both faces, the conventions (201 with an id, 204, 404 for unknown ids in the route or the body, 400 with the error body) and delete cascades and refusals.
//!
//! Object ids are GUIDs the server makes; `Names` replaces each with the name the test gave the object, so snapshots stay stable.

use expect_test::{Expect, expect};
use serde_json::{Value, json};

use crate::management::{Names, call};
use crate::{TestServer, start_shipped, start_shipped_configured, start_shipped_in};

/// Creates an object and returns its id, checking the 201 and the JSON-string body.
async fn create(server: &TestServer, path: &str, body: Value) -> String {
    let (status, value) = call(server, "POST", path, Some(body.clone())).await;
    assert_eq!(status, 201, "POST {path} {body} answered {value}");
    value.as_str().expect("a create answers the id as a JSON string").to_owned()
}

/// The answer as `status body`, ids replaced by names.
fn check(names: &Names, answer: (u16, Value), expect: Expect) {
    let text = format!("{} {}", answer.0, serde_json::to_string_pretty(&answer.1).expect("JSON prints"));
    expect.assert_eq(&names.show(&text));
}

/// The `name`s of a list answer, in order.
fn listed(answer: &(u16, Value)) -> String {
    assert_eq!(answer.0, 200, "a list answers 200: {}", answer.1);
    let names: Vec<&str> =
        answer.1.as_array().expect("a list").iter().map(|o| o["name"].as_str().unwrap_or("?")).collect();
    names.join(", ")
}

/// The occupancy sample's provisioning (README §13 of the 2018 reference), as the sample sends it; returns the ids by name.
async fn provision_sample(server: &TestServer) -> Vec<(String, String)> {
    let mut ids = Vec::new();
    // 1. Find or create each space, depth first, with the sample's literal bodies ("Type": null, "ParentSpaceId": "").
    let tree: [(&str, Option<&str>); 5] = [
        ("Quickstart Building", None),
        ("Floor 1", Some("Quickstart Building")),
        ("Area A", Some("Floor 1")),
        ("Conference Room 11", Some("Floor 1")),
        ("Focus Room A1", Some("Floor 1")),
    ];
    for (name, parent) in tree {
        let parent_id =
            parent.map(|p| ids.iter().find(|(n, _): &&(String, String)| n == p).expect("parents come first").1.clone());
        let filter = match &parent_id {
            None => format!("Name eq '{name}' and ParentSpaceId eq null"),
            Some(id) => format!("Name eq '{name}' and ParentSpaceId eq guid'{id}'"),
        };
        let (status, found) = call(server, "GET", &format!("spaces?$filter={}", urlencode(&filter)), None).await;
        assert_eq!(status, 200, "{found}");
        let found = found.as_array().expect("a list").clone();
        let id = if found.len() == 1 {
            found[0]["id"].as_str().expect("an id").to_owned()
        } else {
            let body = json!({"Name": name, "Type": null, "ParentSpaceId": parent_id.clone().unwrap_or_default(), "Subtype": null});
            create(server, "spaces", body).await
        };
        ids.push((name.to_owned(), id.clone()));
        if parent.is_none() {
            // 2. The root's IoT Hub resource, polled while it provisions (a second run finds it in place).
            let (_, existing) = call(server, "GET", &format!("resources?spaceId={id}"), None).await;
            if existing.as_array().is_none_or(Vec::is_empty) {
                let resource = create(server, "resources", json!({"SpaceId": id, "Type": "IoTHub"})).await;
                let mut polls = 0;
                loop {
                    let (status, value) = call(server, "GET", &format!("resources/{resource}"), None).await;
                    assert_eq!(status, 200, "{value}");
                    if !value["status"].as_str().unwrap_or_default().eq_ignore_ascii_case("provisioning") {
                        assert_eq!(value["status"], "Running");
                        break;
                    }
                    polls += 1;
                    assert!(polls < 1000, "the resource keeps provisioning");
                    tokio::task::yield_now().await;
                }
            }
        }
    }
    // 3. The device of Focus Room A1, its connection string, and its sensors posted unconditionally.
    let room = ids.iter().find(|(n, _)| n == "Focus Room A1").expect("created").1.clone();
    let (_, devices) = call(server, "GET", &format!("devices?hardwareIds=1234567890AB&spaceIds={room}"), None).await;
    let device = match devices.as_array().and_then(|d| d.first()) {
        Some(device) => device["id"].as_str().expect("an id").to_owned(),
        None => {
            create(
                server,
                "devices",
                json!({"HardwareId": "1234567890AB", "Name": "Raspberry Pi 3 A1", "SpaceId": room}),
            )
            .await
        }
    };
    ids.push(("Raspberry Pi 3 A1".to_owned(), device.clone()));
    let (status, with_string) =
        call(server, "GET", &format!("devices/{device}/?includes=ConnectionString"), None).await;
    assert_eq!(status, 200);
    let connection = with_string["connectionString"].as_str().expect("a connection string");
    assert!(
        connection.starts_with("HostName=127.0.0.1;DeviceId=") && connection.contains(";SharedAccessKey="),
        "{connection}"
    );
    for (data_type, hardware_id) in
        [("Motion", "SAMPLE_SENSOR_MOTION"), ("CarbonDioxide", "SAMPLE_SENSOR_CARBONDIOXIDE")]
    {
        let body = json!({"DataType": data_type, "DeviceId": device, "HardwareId": hardware_id});
        let (status, value) = call(server, "POST", "sensors", Some(body)).await;
        match status {
            201 => ids.push((hardware_id.to_owned(), value.as_str().expect("an id").to_owned())),
            // A re-run: the duplicate hardware id is refused, so nothing is duplicated.
            409 => {}
            other => panic!("POST sensors answered {other}: {value}"),
        }
    }
    ids
}

/// Percent-encodes a query parameter value.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn the_occupancy_sample_provisions_and_reruns_harmlessly() {
    let server = start_shipped().await;
    let ids = provision_sample(&server).await;
    let mut names = Names::default();
    for (name, id) in &ids {
        names.add(id, name);
    }
    let again = provision_sample(&server).await;
    assert_eq!(
        again.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["Quickstart Building", "Floor 1", "Area A", "Conference Room 11", "Focus Room A1", "Raspberry Pi 3 A1"],
        "a re-run finds every object"
    );
    for ((name, first), (_, second)) in ids.iter().zip(&again) {
        assert_eq!(first, second, "{name} is found, not created again");
    }
    let room = &ids[4].1;
    // 6. The space path a role assignment would use.
    let (_, room_with_path) = call(&server, "GET", &format!("spaces/{room}/?includes=fullpath"), None).await;
    check(
        &names,
        (200, room_with_path["spacePaths"].clone()),
        expect![[r#"
        200 [
          "/<Quickstart Building>/<Floor 1>/<Focus Room A1>"
        ]"#]],
    );
    // 8. The summary read.
    check(
        &names,
        call(&server, "GET", &format!("sensors?spaceId={room}&includes=Types"), None).await,
        expect![[r#"
        200 [
          {
            "id": "<SAMPLE_SENSOR_MOTION>",
            "typeId": 100000,
            "type": "None",
            "dataTypeId": 111000,
            "dataType": "Motion",
            "dataSubtypeId": 120000,
            "dataSubtype": "None",
            "dataUnitTypeId": 130000,
            "dataUnitType": "None",
            "portTypeId": 140000,
            "portType": "None",
            "hardwareId": "SAMPLE_SENSOR_MOTION",
            "deviceId": "<Raspberry Pi 3 A1>",
            "spaceId": "<Focus Room A1>"
          },
          {
            "id": "<SAMPLE_SENSOR_CARBONDIOXIDE>",
            "typeId": 100000,
            "type": "None",
            "dataTypeId": 111002,
            "dataType": "CarbonDioxide",
            "dataSubtypeId": 120000,
            "dataSubtype": "None",
            "dataUnitTypeId": 130000,
            "dataUnitType": "None",
            "portTypeId": 140000,
            "portType": "None",
            "hardwareId": "SAMPLE_SENSOR_CARBONDIOXIDE",
            "deviceId": "<Raspberry Pi 3 A1>",
            "spaceId": "<Focus Room A1>"
          }
        ]"#]],
    );
    // GetSpaces: the sample's listing, with types (the sample sends no type, so every space is of type None).
    check(
        &names,
        call(&server, "GET", "spaces?includes=types,values,properties&$top=2", None).await,
        expect![[r#"
        200 [
          {
            "id": "<Quickstart Building>",
            "name": "Quickstart Building",
            "typeId": 10000,
            "type": "None",
            "subtypeId": 20000,
            "subtype": "None",
            "statusId": 30000,
            "status": "None",
            "parentSpaceId": null,
            "properties": [],
            "values": []
          },
          {
            "id": "<Floor 1>",
            "name": "Floor 1",
            "typeId": 10000,
            "type": "None",
            "subtypeId": 20000,
            "subtype": "None",
            "statusId": 30000,
            "status": "None",
            "parentSpaceId": "<Quickstart Building>",
            "properties": [],
            "values": []
          }
        ]"#]],
    );
    server.stop().await;
}

/// A building of two floors with rooms, devices on several levels, and sensors; returns the names of the ids.
async fn building(server: &TestServer) -> Names {
    let mut names = Names::default();
    let site = create(server, "spaces", json!({"name": "Site", "type": "Region"})).await;
    names.add(&site, "Site");
    let hq = create(server, "spaces", json!({"name": "HQ", "type": "Building", "parentSpaceId": site})).await;
    names.add(&hq, "HQ");
    for floor in ["F1", "F2"] {
        let f = create(server, "spaces", json!({"name": floor, "type": "Floor", "parentSpaceId": hq})).await;
        names.add(&f, floor);
        for room in ["R1", "R2"] {
            let name = format!("{floor}{room}");
            let r = create(server, "spaces", json!({"name": name, "type": "Room", "parentSpaceId": f})).await;
            names.add(&r, &name);
            let device = create(
                server,
                "devices",
                json!({"name": format!("{name}-pod"), "hardwareId": format!("HW-{name}"), "spaceId": r}),
            )
            .await;
            names.add(&device, &format!("{name}-pod"));
        }
    }
    for (space, device) in [(&site, "Site-gw"), (&hq, "HQ-gw")] {
        let d =
            create(server, "devices", json!({"name": device, "hardwareId": format!("HW-{device}"), "spaceId": space}))
                .await;
        names.add(&d, device);
    }
    names
}

fn id_of<'a>(names: &'a Names, name: &str) -> &'a str {
    &names.0.iter().find(|(_, n)| n == name).expect("a named object").0
}

#[tokio::test]
async fn navigation_reproduces_every_canonical_example() {
    let server = start_shipped().await;
    let names = building(&server).await;
    let hq = id_of(&names, "HQ");
    let f1 = id_of(&names, "F1");
    let f1r1 = id_of(&names, "F1R1");
    let cases = [
        ("devices?maxLevel=1".to_owned(), "Site-gw"),
        ("devices?minLevel=2&maxLevel=3".to_owned(), "HQ-gw"),
        (format!("devices?spaceId={hq}"), "HQ-gw"),
        (format!("devices?spaceId={f1}&traverse=Down"), "F1R1-pod, F1R2-pod"),
        (format!("spaces?spaceId={hq}&traverse=Down&minLevel=1&minRelative=true"), "F1, F1R1, F1R2, F2, F2R1, F2R2"),
        (
            format!("spaces?spaceId={hq}&traverse=Down&minLevel=1&minRelative=true&maxLevel=1&maxRelative=true"),
            "F1, F2",
        ),
        (format!("spaces?spaceId={f1r1}&traverse=Up&maxLevel=-1&maxRelative=true"), "Site, HQ, F1"),
        (format!("spaces?spaceId={hq}&traverse=Down&maxLevel=3"), "HQ, F1, F2"),
        (
            format!("spaces?spaceId={f1}&traverse=Span&minLevel=0&minRelative=true&maxLevel=0&maxRelative=true"),
            "F1, F2",
        ),
        // The quirks: spaceIds for spaceId, lower-case names and values, a trailing slash before the query.
        (format!("devices/?spaceIds={f1}&TRAVERSE=down"), "F1R1-pod, F1R2-pod"),
        (format!("spaces?spaceid={hq}&useparentspace=true"), "F1, F2"),
        ("spaces?maxlevel=4&minlevel=4".to_owned(), "F1R1, F1R2, F2R1, F2R2"),
    ];
    for (query, want) in cases {
        let answer = call(&server, "GET", &query, None).await;
        assert_eq!(listed(&answer), want, "GET {}", names.show(&query));
    }
    server.stop().await;
}

#[tokio::test]
async fn one_graph_two_faces() {
    let server = start_shipped().await;
    let names = building(&server).await;
    let hq = id_of(&names, "HQ");
    // A 2018 space is a twin, with its type as a property, and IN_SPACE walks the same tree.
    let twin = server.get(&format!("/digitaltwins/{hq}?api-version=2023-10-31")).await;
    assert_eq!(twin.status, 200);
    let twin: Value = serde_json::from_str(&twin.body).expect("a twin");
    assert_eq!(
        (twin["$metadata"]["$model"].as_str(), twin["type"].as_str(), twin["name"].as_str()),
        (Some("dtmi:twinscape:Space;1"), Some("Building"), Some("HQ"))
    );
    let query = json!({"query": format!("SELECT T.name FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:twinscape:Space;1') AND T.type = 'Room' AND IN_SPACE(T, '{hq}')")});
    let reply = server
        .send(
            "POST",
            "/query?api-version=2023-10-31",
            &[("content-type", "application/json")],
            Some(query.to_string().into_bytes()),
        )
        .await;
    let rows: Value = serde_json::from_str(&reply.body).expect("a page");
    let mut rooms: Vec<&str> =
        rows["value"].as_array().expect("rows").iter().filter_map(|r| r["name"].as_str()).collect();
    rooms.sort_unstable();
    assert_eq!(rooms, ["F1R1", "F1R2", "F2R1", "F2R2"]);
    // Twins and a containment relationship written through the data plane appear in the 2018 tree, at the right level.
    let v = "api-version=2023-10-31";
    let put = |path: String, body: Value| {
        let server = &server;
        async move {
            server
                .send(
                    "PUT",
                    &format!("{path}?{v}"),
                    &[("content-type", "application/json")],
                    Some(body.to_string().into_bytes()),
                )
                .await
                .status
        }
    };
    assert_eq!(
        put(
            "/digitaltwins/annex".to_owned(),
            json!({"$metadata": {"$model": "dtmi:twinscape:Space;1"}, "name": "Annex"})
        )
        .await,
        200
    );
    assert_eq!(
        put(
            format!("/digitaltwins/{hq}/relationships/annex"),
            json!({"$targetId": "annex", "$relationshipName": "contains"})
        )
        .await,
        200
    );
    let answer = call(&server, "GET", &format!("spaces?spaceId={hq}&traverse=Down&minLevel=3&maxLevel=3"), None).await;
    assert_eq!(listed(&answer), "F1, F2, Annex");
    let answer = call(&server, "GET", "spaces/annex?includes=fullpath", None).await;
    check(
        &names,
        (answer.0, answer.1["spacePaths"].clone()),
        expect![[r#"
        200 [
          "/<Site>/<HQ>/annex"
        ]"#]],
    );
    server.stop().await;
}

#[tokio::test]
async fn conventions_and_refusals() {
    let server = start_shipped().await;
    let mut names = building(&server).await;
    let hq = id_of(&names, "HQ").to_owned();
    let f1 = id_of(&names, "F1").to_owned();
    let f1r1 = id_of(&names, "F1R1").to_owned();
    let cases: Vec<(&str, String, Option<Value>, Expect)> = vec![
        (
            "POST",
            "spaces".to_owned(),
            Some(json!({"name": "", "parentSpaceId": hq})),
            expect![[r#"
            400 {
              "error": {
                "code": "400.600.000.000",
                "message": "`name` has 0 characters; it takes 1 to 64",
                "target": "name"
              }
            }"#]],
        ),
        (
            "POST",
            "spaces".to_owned(),
            Some(json!({"name": "X", "parentSpaceId": "no-such-space"})),
            expect![[r#"
            404 {
              "error": {
                "code": "404.600.000.000",
                "message": "space 'no-such-space' was not found"
              }
            }"#]],
        ),
        (
            "POST",
            "spaces".to_owned(),
            Some(json!({"name": "X", "type": "NoSuchType"})),
            expect![[r#"
            400 {
              "error": {
                "code": "400.600.000.000",
                "message": "SpaceType 'NoSuchType' is not a type this space can use (GET types?categories=SpaceType lists them)",
                "target": "type"
              }
            }"#]],
        ),
        (
            "POST",
            "spaces".to_owned(),
            Some(json!({"name": "X", "type": "Room", "typeId": 11008})),
            expect![[r#"
            400 {
              "error": {
                "code": "400.600.000.000",
                "message": "`type` and `typeId` name the same type; give one of them",
                "target": "typeId"
              }
            }"#]],
        ),
        (
            "POST",
            "devices".to_owned(),
            Some(json!({"name": "dup", "hardwareId": "HW-F1R1", "spaceId": f1})),
            expect![[r#"
            409 {
              "error": {
                "code": "409.600.000.000",
                "message": "device '<F1R1-pod>' already has the hardware id 'HW-F1R1'; hardware ids are unique"
              }
            }"#]],
        ),
        (
            "PATCH",
            format!("spaces/{hq}"),
            Some(json!({"parentSpaceId": f1r1})),
            expect![[r#"
            400 {
              "error": {
                "code": "400.600.000.000",
                "message": "space '<F1R1>' lies within space '<HQ>'; a space cannot move into its own subtree",
                "target": "parentSpaceId"
              }
            }"#]],
        ),
        (
            "GET",
            "spaces/no-such-space".to_owned(),
            None,
            expect![[r#"
            404 {
              "error": {
                "code": "404.600.000.000",
                "message": "space 'no-such-space' was not found"
              }
            }"#]],
        ),
        (
            "GET",
            "spaces?traverse=Sideways&spaceId=x".to_owned(),
            None,
            expect![[r#"
                400 {
                  "error": {
                    "code": "400.600.000.000",
                    "message": "traverse must be one of None, Down, Up, Span (in any case), not 'Sideways'",
                    "target": "traverse"
                  }
                }"#]],
        ),
        (
            "GET",
            "spaces?includes=everything".to_owned(),
            None,
            expect![[r#"
            400 {
              "error": {
                "code": "400.600.000.000",
                "message": "`includes` has `everything`; this resource accepts types, values, properties, fullpath, devices, devicestypes, devicesproperties, sensors, sensorsvalues, sensorstypes, sensorsproperties, location, timezone, description, parent, parenttypes, parentvalues, parentproperties, childspaces, childspacestypes, childspacesvalues, childspacesproperties, users, usersproperties, resources",
                "target": "includes"
              }
            }"#]],
        ),
    ];
    for (method, path, body, expect) in cases {
        check(&names, call(&server, method, &path, body).await, expect);
    }
    // Moving a floor moves its subtree; the paths follow.
    let annex = create(&server, "spaces", json!({"name": "Annex", "parentSpaceId": id_of(&names, "Site")})).await;
    names.add(&annex, "Annex");
    assert_eq!(call(&server, "PATCH", &format!("spaces/{f1}"), Some(json!({"ParentSpaceId": annex}))).await.0, 204);
    let answer = call(&server, "GET", &format!("devices/{}?includes=fullpath", id_of(&names, "F1R2-pod")), None).await;
    check(
        &names,
        (answer.0, answer.1["spacePaths"].clone()),
        expect![[r#"
        200 [
          "/<Site>/<Annex>/<F1>/<F1R2>"
        ]"#]],
    );
    // A space with a resource in its subtree is not deleted; without one, its whole subtree goes.
    let resource = create(&server, "resources", json!({"spaceId": f1r1, "type": "IoTHub"})).await;
    names.add(&resource, "hub");
    check(
        &names,
        call(&server, "DELETE", &format!("spaces/{annex}"), None).await,
        expect![[r#"
            400 {
              "error": {
                "code": "400.600.000.000",
                "message": "space '<F1R1>' in the subtree has the IoTHub resource '<hub>'; delete the resource first"
              }
            }"#]],
    );
    assert_eq!(call(&server, "DELETE", &format!("resources/{resource}"), None).await.0, 204);
    assert_eq!(call(&server, "DELETE", &format!("spaces/{annex}"), None).await.0, 204);
    let answer = call(&server, "GET", "devices", None).await;
    assert_eq!(listed(&answer), "F2R1-pod, F2R2-pod, Site-gw, HQ-gw");
    assert_eq!(call(&server, "GET", &format!("spaces/{f1r1}"), None).await.0, 404);
    server.stop().await;
}

#[tokio::test]
async fn nested_create_users_and_restart() {
    let data = tempfile::tempdir().expect("a data directory");
    let server = start_shipped_in(data).await;
    let mut names = Names::default();
    let body = json!({
        "Name": "Campus",
        "Type": "Campus",
        "Children": [
            {"Name": "Lab", "Type": "Building", "Children": [{"Name": "Lab 1", "Type": "Room", "SubType": "ConferenceRoom"}]},
        ],
        "Users": [{"Upn": "ada@example.com", "FirstName": "Ada", "LastName": "Lovelace"}],
    });
    let campus = create(&server, "spaces", body).await;
    names.add(&campus, "Campus");
    let answer =
        call(&server, "GET", &format!("spaces?spaceId={campus}&traverse=Down&includes=types,users"), None).await;
    for space in answer.1.as_array().expect("spaces") {
        names.add(space["id"].as_str().expect("an id"), space["name"].as_str().expect("a name"));
        for user in space["users"].as_array().into_iter().flatten() {
            names.add(user["id"].as_str().expect("an id"), "ada");
        }
    }
    check(
        &names,
        answer,
        expect![[r#"
        200 [
          {
            "id": "<Campus>",
            "name": "Campus",
            "typeId": 11002,
            "type": "Campus",
            "subtypeId": 20000,
            "subtype": "None",
            "statusId": 30000,
            "status": "None",
            "parentSpaceId": null,
            "users": [
              {
                "id": "<ada>",
                "upn": "ada@example.com",
                "firstName": "Ada",
                "lastName": "Lovelace",
                "spaceId": "<Campus>"
              }
            ]
          },
          {
            "id": "<Lab>",
            "name": "Lab",
            "typeId": 11005,
            "type": "Building",
            "subtypeId": 20000,
            "subtype": "None",
            "statusId": 30000,
            "status": "None",
            "parentSpaceId": "<Campus>",
            "users": []
          },
          {
            "id": "<Lab 1>",
            "name": "Lab 1",
            "typeId": 11008,
            "type": "Room",
            "subtypeId": 21001,
            "subtype": "ConferenceRoom",
            "statusId": 30000,
            "status": "None",
            "parentSpaceId": "<Lab>",
            "users": []
          }
        ]"#]],
    );
    // Users are found by upn in their space; PUT users updates the one there.
    let (status, _) = call(
        &server,
        "PUT",
        "users",
        Some(json!({"spaceId": campus, "upn": "ada@example.com", "managerName": "Babbage"})),
    )
    .await;
    assert_eq!(status, 204);
    check(
        &names,
        call(&server, "GET", &format!("spaces/{campus}/users/ada@example.com"), None).await,
        expect![[r#"
        200 {
          "id": "<ada>",
          "upn": "ada@example.com",
          "firstName": "Ada",
          "lastName": "Lovelace",
          "managerName": "Babbage",
          "spaceId": "<Campus>"
        }"#]],
    );
    let device = json!({"name": "Gateway", "hardwareId": "GW-1", "spaceId": campus});
    let gateway = create(&server, "devices", device.clone()).await;
    let key =
        call(&server, "GET", &format!("devices/{gateway}?includes=ConnectionString"), None).await.1["connectionString"]
            .as_str()
            .expect("a connection string")
            .to_owned();
    let data = server.stop_keeping_data().await;
    let server = start_shipped_in(data).await;
    let answer = call(&server, "GET", &format!("spaces?spaceId={campus}&traverse=Down"), None).await;
    assert_eq!(listed(&answer), "Campus, Lab, Lab 1");
    // The hardware-id index is rebuilt at start: a re-run of provisioning still finds the device.
    assert_eq!(call(&server, "POST", "devices", Some(device)).await.0, 409);
    // Listings never carry connection strings; the device's own read does, with the key it had before the restart.
    let answer = call(&server, "GET", "devices?hardwareIds=gw-1&includes=connectionString", None).await;
    assert_eq!(answer.1.as_array().map(Vec::len), Some(1), "hardware ids match ignoring case: {}", answer.1);
    assert!(answer.1[0].get("connectionString").is_none(), "a listing shows no keys: {}", answer.1);
    let device = answer.1[0]["id"].as_str().expect("an id").to_owned();
    let answer = call(&server, "GET", &format!("devices/{device}?includes=connectionString"), None).await;
    assert_eq!(answer.1["connectionString"].as_str(), Some(key.as_str()), "the key survives the restart");
    server.stop().await;
}

#[tokio::test]
async fn time_zones_and_locations_are_inherited() {
    let server = start_shipped().await;
    let mut names = Names::default();
    let body = json!({"name": "HQ", "timeZoneName": "w. europe standard time", "location": {"longitude": 4.9, "latitude": 52.37}});
    let hq = create(&server, "spaces", body).await;
    names.add(&hq, "HQ");
    let room = create(&server, "spaces", json!({"name": "Room", "parentSpaceId": hq})).await;
    names.add(&room, "Room");
    check(
        &names,
        call(&server, "GET", &format!("spaces/{room}?includes=timezone,location"), None).await,
        expect![[r#"
        200 {
          "id": "<Room>",
          "name": "Room",
          "typeId": 10000,
          "subtypeId": 20000,
          "statusId": 30000,
          "parentSpaceId": "<HQ>",
          "effectiveTimeZoneId": 33,
          "effectiveLocation": {
            "longitude": 4.9,
            "latitude": 52.37
          }
        }"#]],
    );
    assert_eq!(call(&server, "PATCH", &format!("spaces/{hq}"), Some(json!({"timeZoneName": "None"}))).await.0, 204);
    assert_eq!(call(&server, "PATCH", &format!("spaces/{room}"), Some(json!({"timeZoneId": 6}))).await.0, 204);
    check(
        &names,
        call(&server, "GET", &format!("spaces?spaceId={hq}&traverse=Down&includes=timezone"), None).await,
        expect![[r#"
        200 [
          {
            "id": "<HQ>",
            "name": "HQ",
            "typeId": 10000,
            "subtypeId": 20000,
            "statusId": 30000,
            "parentSpaceId": null,
            "effectiveTimeZoneId": null
          },
          {
            "id": "<Room>",
            "name": "Room",
            "typeId": 10000,
            "subtypeId": 20000,
            "statusId": 30000,
            "parentSpaceId": "<HQ>",
            "timeZoneId": 6,
            "timeZoneName": "Pacific Standard Time",
            "effectiveTimeZoneId": 6
          }
        ]"#]],
    );
    check(
        &names,
        call(&server, "PATCH", &format!("spaces/{room}"), Some(json!({"timeZoneId": 999}))).await,
        expect![[r#"
        400 {
          "error": {
            "code": "400.600.000.000",
            "message": "time zone 999 is not one of system/timezones",
            "target": "timeZoneId"
          }
        }"#]],
    );
    server.stop().await;
}

#[tokio::test]
async fn the_result_cap_counts_what_the_filter_keeps() {
    let data = tempfile::tempdir().expect("a data directory");
    let server = start_shipped_configured(data, |config| {
        config.limits.management_results_max = std::num::NonZeroUsize::new(3).expect("not zero");
    })
    .await;
    let names = building(&server).await;
    // Nine spaces: too many for one read, but the sample's lookup by name, a page, and a narrowed read are fine.
    check(
        &names,
        call(&server, "GET", "spaces", None).await,
        expect![[r#"
        400 {
          "error": {
            "code": "400.600.000.000",
            "message": "the request selects more than 3 objects (`limits.management_results_max`); narrow it with spaceId, traverse, levels or filters"
          }
        }"#]],
    );
    assert_eq!(
        listed(&call(&server, "GET", &format!("spaces?$filter={}", urlencode("Name eq 'F2R1'")), None).await),
        "F2R1"
    );
    assert_eq!(listed(&call(&server, "GET", "spaces?$top=2", None).await), "Site, HQ");
    assert_eq!(listed(&call(&server, "GET", "spaces?$top=2&$skip=1", None).await), "HQ, F1");
    let answer = call(&server, "GET", "spaces?$top=2&$orderby=Name desc", None).await;
    assert_eq!(answer.0, 400, "ordering needs every object, so the cap applies: {}", answer.1);
    server.stop().await;
}

#[tokio::test]
async fn refusals_change_nothing() {
    let server = start_shipped().await;
    let names = building(&server).await;
    let (f1, f1r1, pod) = (id_of(&names, "F1"), id_of(&names, "F1R1"), id_of(&names, "F1R1-pod"));
    let cases: Vec<(&str, String, Value, Expect)> = vec![
        // A device whose second sensor is refused is not created, nor is its first sensor.
        (
            "POST",
            "devices".to_owned(),
            json!({"name": "pod", "hardwareId": "P-1", "spaceId": f1, "sensors": [{"hardwareId": "A"}, {"hardwareId": "B", "pollRate": 3_000_000_000u64}]}),
            expect![[r#"
                400 {
                  "error": {
                    "code": "400.600.000.000",
                    "message": "`pollRate` 3000000000 is not a 32-bit integer",
                    "target": "pollRate"
                  }
                }"#]],
        ),
        // A sensor is in its device's space.
        (
            "POST",
            "sensors".to_owned(),
            json!({"deviceId": pod, "hardwareId": "C", "spaceId": f1}),
            expect![[r#"
            400 {
              "error": {
                "code": "400.600.000.000",
                "message": "a sensor is in its device's space ('<F1R1>'), not '<F1>'; move the device, or leave `spaceId` out",
                "target": "spaceId"
              }
            }"#]],
        ),
        // A batch of users is all or nothing.
        (
            "PUT",
            format!("spaces/{f1}/users"),
            json!([{"upn": "alice@example.com"}, {"upn": "bob"}]),
            expect![[r#"
            400 {
              "error": {
                "code": "400.600.000.000",
                "message": "`upn` has 3 characters; it takes 5 to 50",
                "target": "upn"
              }
            }"#]],
        ),
        (
            "PUT",
            format!("spaces/{f1}/users"),
            json!([{"upn": "alice@example.com"}, {"upn": "ALICE@example.com"}]),
            expect![[r#"
            400 {
              "error": {
                "code": "400.600.000.000",
                "message": "the upn 'ALICE@example.com' is given twice",
                "target": "upn"
              }
            }"#]],
        ),
        (
            "POST",
            "spaces".to_owned(),
            json!({"name": "X", "users": [{"upn": "ann@example.com"}, {"upn": "Ann@example.com"}]}),
            expect![[r#"
            400 {
              "error": {
                "code": "400.600.000.000",
                "message": "the upn 'Ann@example.com' is given twice; a space holds one user of a upn",
                "target": "users"
              }
            }"#]],
        ),
    ];
    for (method, path, body, expect) in cases {
        check(&names, call(&server, method, &path, Some(body)).await, expect);
    }
    for query in ["sensors?hardwareIds=A", "devices?hardwareIds=P-1", &format!("spaces/{f1}/users"), "spaces?name=X"] {
        assert_eq!(call(&server, "GET", query, None).await.1, json!([]), "{query} finds nothing");
    }
    // A sensor's spaceId may name its device's space; `null` parents and moves to where a user is already change nothing.
    assert_eq!(
        call(&server, "POST", "sensors", Some(json!({"deviceId": pod, "hardwareId": "D", "spaceId": f1r1}))).await.0,
        201
    );
    assert_eq!(
        call(&server, "PATCH", &format!("spaces/{f1r1}"), Some(json!({"name": "F1R1", "parentSpaceId": null}))).await.0,
        204
    );
    assert_eq!(
        listed(
            &call(&server, "GET", &format!("spaces?spaceId={f1}&traverse=Down&minLevel=1&minRelative=true"), None)
                .await
        ),
        "F1R1, F1R2"
    );
    assert_eq!(
        call(&server, "PUT", &format!("spaces/{f1}/users"), Some(json!({"upn": "carol@example.com"}))).await.0,
        204
    );
    assert_eq!(call(&server, "POST", &format!("spaces/{f1}/users/move?toSpaceId={f1}"), None).await.0, 204);
    server.stop().await;
}

#[tokio::test]
async fn a_large_subtree_is_deleted_in_batches() {
    let server = start_shipped().await;
    let root = create(&server, "spaces", json!({"name": "Campus"})).await;
    // 6,000 rooms imported through the data plane under one space: about 48,000 store ops to delete, more than one batch.
    let mut ndjson = String::from(
        "{\"Section\": \"Header\"}\n{\"fileVersion\": \"1.0.0\", \"author\": \"test\", \"organization\": \"test\"}\n{\"Section\": \"Twins\"}\n",
    );
    for i in 0..6000 {
        ndjson.push_str(&format!("{{\"$dtId\": \"room-{i}\", \"$metadata\": {{\"$model\": \"dtmi:twinscape:Space;1\"}}, \"name\": \"room {i}\"}}\n"));
    }
    ndjson.push_str("{\"Section\": \"Relationships\"}\n");
    for i in 0..6000 {
        ndjson.push_str(&format!("{{\"$sourceId\": \"{root}\", \"$relationshipId\": \"c-{i}\", \"$targetId\": \"room-{i}\", \"$relationshipName\": \"contains\"}}\n"));
    }
    let reply = server
        .send(
            "PUT",
            "/jobs/imports/rooms?api-version=2023-10-31",
            &[("content-type", "application/x-ndjson")],
            Some(ndjson.into_bytes()),
        )
        .await;
    assert!(reply.status < 300, "the import starts: {} {}", reply.status, reply.body);
    let mut polls = 0;
    loop {
        let job: Value =
            serde_json::from_str(&server.get("/jobs/imports/rooms?api-version=2023-10-31").await.body).expect("a job");
        match job["status"].as_str() {
            Some("succeeded") => break,
            Some("running" | "notstarted") => {}
            other => panic!("the import ended {other:?}: {job}"),
        }
        polls += 1;
        assert!(polls < 100_000, "the import ends");
        tokio::task::yield_now().await;
    }
    let answer = call(&server, "GET", &format!("spaces?spaceId={root}&traverse=Down&$top=3"), None).await;
    assert_eq!(listed(&answer), "Campus, room 0, room 1");
    assert_eq!(call(&server, "DELETE", &format!("spaces/{root}"), None).await.0, 204);
    assert_eq!(call(&server, "GET", "spaces", None).await.1, json!([]));
    let twins = server.get("/digitaltwins/room-17?api-version=2023-10-31").await;
    assert_eq!(twins.status, 404);
    server.stop().await;
}

#[tokio::test]
async fn a_device_reads_its_sas_token_from_the_key_store_above() {
    let server = start_shipped().await;
    let hq = create(&server, "spaces", json!({"name": "HQ"})).await;
    let room = create(&server, "spaces", json!({"name": "Room", "parentSpaceId": hq})).await;
    let device = create(&server, "devices", json!({"name": "Pod", "hardwareId": "AA:BB", "spaceId": room})).await;
    let path = format!("devices/{device}?includes=SasToken");
    assert_eq!(call(&server, "GET", &path, None).await.1["sasToken"], Value::Null, "no key store above, no token");
    let store = create(&server, "keystores", json!({"name": "hq-keys", "spaceId": hq})).await;
    assert_eq!(call(&server, "POST", &format!("keystores/{store}/keys"), None).await.0, 201);
    let answer = call(&server, "GET", &path, None).await;
    let token = answer.1["sasToken"].as_str().expect("a token");
    assert!(token.starts_with("SharedAccessSignature id=AA%3ABB&se=") && token.contains("&kv=1&sig="), "{token}");
    server.stop().await;
}
