//! The 2018 face's space resources and key stores over HTTP: an IoT hub's life from `Provisioning` to `Running`, one resource of a type per space, the walk-up lookups from spaces and devices, key stores and their keys, and the device SAS tokens they sign.
//!
//! The spaces and the device are made through the data plane (the built-in models uploaded, twins put, placed with `contains` and `hasDevice`), so these tests depend only on the routes they cover.
//! Ids, times and key bytes vary from run to run; `shown` replaces them with names before snapshots.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use expect_test::{Expect, expect};
use serde_json::{Value, json};

use crate::{TestServer, start_shipped, start_shipped_in};

const BASE: &str = "/management/api/v1.0";
const V: &str = "api-version=2023-10-31";

/// Polls of a provisioning resource before the test gives up; each waits `POLL_INTERVAL`.
const POLLS_MAX: usize = 500;
const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);

/// The tree every test starts from: `hotel` ⊃ `floor` ⊃ `room`, the device `pi` (hardware id `1234567890AB`) in `room`, and another root, `annex`.
async fn topology(server: &TestServer) {
    let models: Vec<Value> = ontology::documents()
        .iter()
        .map(|d| serde_json::from_str(&d.text).expect("the built-in models are JSON"))
        .collect();
    data_plane(server, "POST", "/models", Value::Array(models)).await;
    let space = |name: &str| json!({"$metadata": {"$model": ontology::SPACE}, "name": name});
    for (id, name) in [("hotel", "Hotel"), ("floor", "Floor 1"), ("room", "Room 11"), ("annex", "Annex")] {
        data_plane(server, "PUT", &format!("/digitaltwins/{id}"), space(name)).await;
    }
    let device =
        json!({"$metadata": {"$model": ontology::DEVICE}, "name": "Raspberry Pi", "hardwareId": "1234567890AB"});
    data_plane(server, "PUT", "/digitaltwins/pi", device).await;
    for (source, name, target) in
        [("hotel", "contains", "floor"), ("floor", "contains", "room"), ("room", "hasDevice", "pi")]
    {
        let body = json!({"$targetId": target, "$relationshipName": name});
        data_plane(server, "PUT", &format!("/digitaltwins/{source}/relationships/{source}-{target}"), body).await;
    }
}

async fn data_plane(server: &TestServer, method: &str, path: &str, body: Value) {
    let headers = [("content-type", "application/json")];
    let reply = server.send(method, &format!("{path}?{V}"), &headers, Some(body.to_string().into_bytes())).await;
    assert!(reply.status < 300, "{method} {path}: {} {}", reply.status, reply.body);
}

/// The one caller of the management face: `path` is relative to its base; answers the status and the body.
async fn call(server: &TestServer, method: &str, path: &str, body: Option<Value>) -> (u16, String) {
    let headers: &[(&str, &str)] = if body.is_some() { &[("content-type", "application/json")] } else { &[] };
    let reply = server.send(method, &format!("{BASE}/{path}"), headers, body.map(|b| b.to_string().into_bytes())).await;
    (reply.status, reply.body)
}

/// Calls and compares status and body (ids named by `names`, times and keys blanked) with `expect`.
async fn check(
    server: &TestServer,
    method: &str,
    path: &str,
    body: Option<Value>,
    names: &[(&str, &str)],
    expect: Expect,
) {
    let (status, text) = call(server, method, path, body).await;
    expect.assert_eq(&format!("{status}\n{}", shown(&text, names)));
}

/// A body for snapshots: pretty JSON with each id of `names` replaced by its name, times and key values blanked.
fn shown(text: &str, names: &[(&str, &str)]) -> String {
    let mut shown = match serde_json::from_str::<Value>(text) {
        Ok(mut value) => {
            blank(&mut value);
            serde_json::to_string_pretty(&value).expect("JSON prints")
        }
        Err(_) => text.to_owned(),
    };
    for (id, name) in names {
        shown = shown.replace(id, name);
    }
    shown
}

fn blank(value: &mut Value) {
    match value {
        Value::Object(members) => {
            for (name, member) in members.iter_mut() {
                match name.as_str() {
                    "lastUpdatedUtc" | "createdDateTimeUtc" => *member = json!("<time>"),
                    "value" if member.as_str().is_some_and(|v| v.len() == 44) => *member = json!("<key>"),
                    _ => blank(member),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(blank),
        _ => {}
    }
}

/// Creates an object and answers its id.
async fn create(server: &TestServer, path: &str, body: Value) -> String {
    let (status, text) = call(server, "POST", path, Some(body)).await;
    assert_eq!(status, 201, "{text}");
    serde_json::from_str::<String>(&text).expect("a create answers the id as a JSON string")
}

/// Polls `GET resources/{id}` as the occupancy sample does, until the status is no longer `Provisioning`; answers every status seen.
async fn poll(server: &TestServer, id: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..POLLS_MAX {
        let (status, text) = call(server, "GET", &format!("resources/{id}"), None).await;
        assert_eq!(status, 200, "{text}");
        let body: Value = serde_json::from_str(&text).expect("a resource is JSON");
        let now = body["status"].as_str().expect("a resource has a status").to_owned();
        let done = now != "Provisioning";
        seen.push(now);
        if done {
            return seen;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    panic!("resource {id} is still Provisioning after {POLLS_MAX} polls");
}

/// The id of the object `GET path` answers.
async fn id_at(server: &TestServer, path: &str) -> String {
    let (status, text) = call(server, "GET", path, None).await;
    assert_eq!(status, 200, "{path}: {text}");
    serde_json::from_str::<Value>(&text).expect("JSON")["id"].as_str().expect("an id").to_owned()
}

/// Creates an IoT hub on `space` and waits until it runs.
async fn hub(server: &TestServer, space: &str) -> String {
    let id = create(server, "resources", json!({"SpaceId": space, "Type": "IoTHub"})).await;
    assert_eq!(poll(server, &id).await.last().map(String::as_str), Some("Running"));
    id
}

#[tokio::test]
async fn a_hub_is_provisioning_then_running_durably() {
    let server = start_shipped().await;
    topology(&server).await;
    let id = create(
        &server,
        "resources",
        json!({"SpaceId": "hotel", "Type": "iothub", "Size": "s", "Region": "westeurope"}),
    )
    .await;
    // The second write follows the first by a commit, so the first poll often sees Running already; the unit tests of `resources` hold the resource between the two writes.
    let seen = poll(&server, &id).await;
    let (running, provisioning) = seen.split_last().expect("at least one poll");
    assert_eq!(running, "Running", "{seen:?}");
    assert!(provisioning.iter().all(|s| s == "Provisioning"), "{seen:?}");
    let names = [(id.as_str(), "<hub>")];
    let before = call(&server, "GET", &format!("resources/{id}"), None).await;
    expect![[r#"
        200
        {
          "id": "<hub>",
          "spaceId": "hotel",
          "type": "IoTHub",
          "size": "S",
          "region": "WestEurope",
          "isExternallyCreated": false,
          "parameters": {},
          "status": "Running",
          "lastUpdatedUtc": "<time>",
          "properties": {
            "iothubUrl": "127.0.0.1"
          }
        }"#]]
    .assert_eq(&format!("{}\n{}", before.0, shown(&before.1, &names)));
    // Both writes were durable: a restarted server shows the resource as it was, running.
    let data = server.stop_keeping_data().await;
    let server = start_shipped_in(data).await;
    assert_eq!(call(&server, "GET", &format!("resources/{id}/"), None).await, before);
    server.stop().await;
}

#[tokio::test]
async fn a_space_has_one_resource_of_a_type() {
    let server = start_shipped().await;
    topology(&server).await;
    hub(&server, "hotel").await;
    check(
        &server,
        "POST",
        "resources",
        Some(json!({"spaceId": "hotel", "type": "IOTHUB"})),
        &[],
        expect![[r#"
            409
            {
              "error": {
                "code": "409.600.000.000",
                "message": "the space already has a resource of type IoTHub; a space has at most one of each type"
              }
            }"#]],
    )
    .await;
    // Another space, even below, may have its own.
    hub(&server, "floor").await;
    server.stop().await;
}

#[tokio::test]
async fn resources_are_found_walking_up_from_spaces_and_devices() {
    let server = start_shipped().await;
    topology(&server).await;
    let on_hotel = hub(&server, "hotel").await;
    assert_eq!(id_at(&server, "spaces/room/resources/IoTHub").await, on_hotel);
    assert_eq!(id_at(&server, "devices/pi/resources/iothub").await, on_hotel);
    let on_floor = hub(&server, "floor").await;
    assert_eq!(id_at(&server, "spaces/room/resources/IoTHub/").await, on_floor);
    assert_eq!(id_at(&server, "devices/pi/resources/IoTHub").await, on_floor);
    assert_eq!(id_at(&server, "spaces/hotel/resources/IoTHub").await, on_hotel);
    let names = [(on_hotel.as_str(), "<hotel hub>"), (on_floor.as_str(), "<floor hub>")];
    check(
        &server,
        "GET",
        "devices/pi/resources/IoTHub?includes=space,fullpath,types",
        None,
        &names,
        expect![[r#"
            200
            {
              "id": "<floor hub>",
              "spaceId": "floor",
              "type": "IoTHub",
              "size": null,
              "region": null,
              "isExternallyCreated": false,
              "parameters": {},
              "status": "Running",
              "lastUpdatedUtc": "<time>",
              "properties": {
                "iothubUrl": "127.0.0.1"
              },
              "space": {
                "id": "floor",
                "name": "Floor 1",
                "parentSpaceId": "hotel"
              },
              "spacePaths": [
                "/hotel/floor"
              ]
            }"#]],
    )
    .await;
    check(
        &server,
        "GET",
        "spaces/annex/resources/IoTHub",
        None,
        &names,
        expect![[r#"
            404
            {
              "error": {
                "code": "404.600.000.000",
                "message": "there is no IoTHub resource on space 'annex' or a space above it"
              }
            }"#]],
    )
    .await;
    check(
        &server,
        "GET",
        "devices/room/resources/IoTHub",
        None,
        &names,
        expect![[r#"
            404
            {
              "error": {
                "code": "404.600.000.000",
                "message": "device 'room' was not found"
              }
            }"#]],
    )
    .await;
    check(
        &server,
        "GET",
        "spaces/room/resources/EventHub",
        None,
        &names,
        expect![[r#"
            400
            {
              "error": {
                "code": "400.600.000.000",
                "message": "`type` is `EventHub`; it takes one of IoTHub",
                "target": "type"
              }
            }"#]],
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn resources_list_by_tree_type_origin_and_odata() {
    let server = start_shipped().await;
    topology(&server).await;
    let on_hotel = hub(&server, "hotel").await;
    let on_floor = hub(&server, "floor").await;
    let on_annex =
        create(&server, "resources", json!({"spaceId": "annex", "type": "IoTHub", "isExternallyCreated": true})).await;
    let names =
        [(on_hotel.as_str(), "<hotel hub>"), (on_floor.as_str(), "<floor hub>"), (on_annex.as_str(), "<annex hub>")];
    let listed = |query: &'static str| {
        let names = &names;
        let server = &server;
        async move {
            let (status, text) = call(server, "GET", &format!("resources{query}"), None).await;
            assert_eq!(status, 200, "{query}: {text}");
            let mut ids: Vec<String> = serde_json::from_str::<Vec<Value>>(&text)
                .expect("a list")
                .iter()
                .map(|r| shown(&r["id"].to_string(), names).trim_matches('"').to_owned())
                .collect();
            ids.sort();
            format!("{query} → {}", ids.join(", "))
        }
    };
    let mut lines = Vec::new();
    for query in [
        "",
        "?spaceId=hotel",
        "?spaceId=hotel&traverse=Down",
        "?spaceIds=room&traverse=up",
        "?maxLevel=1",
        "?type=iothub&isExternallyCreated=true",
        "?isExternallyCreated=false",
        "?$filter=SpaceId eq 'floor'",
        "?$orderby=SpaceId desc&$top=1",
    ] {
        lines.push(listed(query).await);
    }
    expect![[r#"
        → <annex hub>, <floor hub>, <hotel hub>
        ?spaceId=hotel → <hotel hub>
        ?spaceId=hotel&traverse=Down → <floor hub>, <hotel hub>
        ?spaceIds=room&traverse=up → <floor hub>, <hotel hub>
        ?maxLevel=1 → <annex hub>, <hotel hub>
        ?type=iothub&isExternallyCreated=true → <annex hub>
        ?isExternallyCreated=false → <floor hub>, <hotel hub>
        ?$filter=SpaceId eq 'floor' → <floor hub>
        ?$orderby=SpaceId desc&$top=1 → <hotel hub>"#]]
    .assert_eq(lines.join("\n").trim_start());
    check(
        &server,
        "GET",
        "resources?spaceId=nowhere&traverse=Down",
        None,
        &names,
        expect![[r#"
            404
            {
              "error": {
                "code": "404.600.000.000",
                "message": "space 'nowhere' was not found"
              }
            }"#]],
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn resources_update_depend_and_delete() {
    let server = start_shipped().await;
    topology(&server).await;
    let on_hotel = hub(&server, "hotel").await;
    let external = create(
        &server,
        "resources",
        json!({"spaceId": "floor", "type": "IoTHub", "isExternallyCreated": true, "status": "Provisioning",
               "parameters": {"sku": "S1", "units": "2"}, "resourceDependencies": [on_hotel]}),
    )
    .await;
    let names = [(on_hotel.as_str(), "<hotel hub>"), (external.as_str(), "<external hub>")];
    let patch =
        json!({"size": "XL", "region": "NorthEurope", "parameters": {"units": "4", "sku": null, "tier": "Standard"}});
    check(
        &server,
        "PATCH",
        &format!("resources/{external}"),
        Some(patch),
        &names,
        expect![[r#"
        204
    "#]],
    )
    .await;
    // An externally created resource is not this server's to provision: it stays as patched.
    check(
        &server,
        "GET",
        &format!("resources/{external}?includes=DependentChildren"),
        None,
        &names,
        expect![[r#"
            200
            {
              "id": "<external hub>",
              "spaceId": "floor",
              "type": "IoTHub",
              "size": "XL",
              "region": "NorthEurope",
              "isExternallyCreated": true,
              "parameters": {
                "units": "4",
                "tier": "Standard"
              },
              "status": "Provisioning",
              "lastUpdatedUtc": "<time>",
              "properties": {
                "iothubUrl": "127.0.0.1"
              },
              "dependentChildren": [
                {
                  "id": "<hotel hub>",
                  "spaceId": "hotel",
                  "type": "IoTHub",
                  "size": null,
                  "region": null,
                  "isExternallyCreated": false,
                  "parameters": {},
                  "status": "Running",
                  "lastUpdatedUtc": "<time>",
                  "properties": {
                    "iothubUrl": "127.0.0.1"
                  }
                }
              ],
              "dependentAncestors": []
            }"#]],
    )
    .await;
    check(
        &server,
        "DELETE",
        &format!("resources/{on_hotel}"),
        None,
        &names,
        expect![[r#"
            409
            {
              "error": {
                "code": "409.600.000.000",
                "message": "resource '<external hub>' depends on resource '<hotel hub>'; delete it first"
              }
            }"#]],
    )
    .await;
    // Patched back to Provisioning, a resource of this server's is provisioned again.
    let (status, _) =
        call(&server, "PATCH", &format!("resources/{on_hotel}"), Some(json!({"Status": "provisioning"}))).await;
    assert_eq!(status, 204);
    assert_eq!(poll(&server, &on_hotel).await.last().map(String::as_str), Some("Running"));
    for id in [&external, &on_hotel] {
        let (status, text) = call(&server, "DELETE", &format!("resources/{id}"), None).await;
        assert_eq!(status, 204, "{text}");
    }
    check(
        &server,
        "GET",
        &format!("resources/{on_hotel}"),
        None,
        &names,
        expect![[r#"
            404
            {
              "error": {
                "code": "404.600.000.000",
                "message": "resource '<hotel hub>' was not found"
              }
            }"#]],
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn resource_requests_are_checked() {
    let server = start_shipped().await;
    topology(&server).await;
    let mut answers = Vec::new();
    for body in [
        json!({"type": "IoTHub"}),
        json!({"spaceId": "hotel"}),
        json!({"spaceId": "nowhere", "type": "IoTHub"}),
        json!({"spaceId": "pi", "type": "IoTHub"}),
        json!({"spaceId": "hotel", "type": "EventHub"}),
        json!({"spaceId": "hotel", "type": "IoTHub", "size": "XXXL"}),
        json!({"spaceId": "hotel", "type": "IoTHub", "region": "Mars"}),
        json!({"spaceId": "hotel", "type": "IoTHub", "status": "Sleeping"}),
        json!({"spaceId": "hotel", "type": "IoTHub", "parameters": {"units": 2}}),
        json!({"spaceId": "hotel", "type": "IoTHub", "resourceDependencies": ["missing"]}),
    ] {
        let (status, text) = call(&server, "POST", "resources", Some(body.clone())).await;
        let error: Value = serde_json::from_str(&text).expect("an error body");
        answers.push(format!("{body} → {status} {}", error["error"]["message"].as_str().unwrap_or(&text)));
    }
    expect![[r#"
        {"type":"IoTHub"} → 400 `spaceId` is required
        {"spaceId":"hotel"} → 400 `type` is required
        {"spaceId":"nowhere","type":"IoTHub"} → 404 space 'nowhere' was not found
        {"spaceId":"pi","type":"IoTHub"} → 404 space 'pi' was not found
        {"spaceId":"hotel","type":"EventHub"} → 400 `type` is `EventHub`; it takes one of IoTHub
        {"spaceId":"hotel","type":"IoTHub","size":"XXXL"} → 400 `size` is `XXXL`; it takes one of XS, S, M, L, XL, XXL
        {"spaceId":"hotel","type":"IoTHub","region":"Mars"} → 400 `region` is `Mars`; it takes one of WestUS, WestUS2, CentralUSEUAP, EastUS, EastUS2, CentralUS, SouthCentralUS, WestCentralUS, CanadaEast, CanadaCentral, BrazilSouth, AustraliaEast, AustraliaSoutheast, SoutheastAsia, EastAsia, CentralIndia, SouthIndia, JapanEast, JapanWest, KoreaCentral, KoreaSouth, NorthEurope, WestEurope, UKWest, UKSouth, GermanyCentral, GermanyNortheast
        {"spaceId":"hotel","type":"IoTHub","status":"Sleeping"} → 400 `status` is `Sleeping`; it takes one of None, Provisioning, Running, Stopped, Deleting
        {"spaceId":"hotel","type":"IoTHub","parameters":{"units":2}} → 400 `parameters` has `units` that is not a string; its values are strings (or null to remove one)
        {"spaceId":"hotel","type":"IoTHub","resourceDependencies":["missing"]} → 404 resource 'missing' was not found"#]]
    .assert_eq(&answers.join("\n"));
    check(
        &server,
        "GET",
        "resources?includes=everything",
        None,
        &[],
        expect![[r#"
            400
            {
              "error": {
                "code": "400.600.000.000",
                "message": "`includes` has `everything`; this resource accepts properties, types, values, fullpath, dependentchildren, space",
                "target": "includes"
              }
            }"#]],
    )
    .await;
    check(
        &server,
        "PATCH",
        "resources/missing",
        Some(json!({"size": "M"})),
        &[],
        expect![[r#"
            404
            {
              "error": {
                "code": "404.600.000.000",
                "message": "resource 'missing' was not found"
              }
            }"#]],
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn key_stores_hold_keys_found_walking_up() {
    let server = start_shipped().await;
    topology(&server).await;
    let store = create(&server, "keystores", json!({"Name": "Hotel keys", "SpaceId": "hotel"})).await;
    let names = [(store.as_str(), "<store>")];
    for expected in ["1", "2"] {
        let (status, text) = call(&server, "POST", &format!("keystores/{store}/keys"), None).await;
        assert_eq!((status, text.as_str()), (201, expected));
    }
    let patch = json!({"status": "disabled"});
    let (status, text) = call(&server, "PATCH", &format!("keystores/{store}/keys/2"), Some(patch)).await;
    assert_eq!(status, 204, "{text}");
    check(
        &server,
        "GET",
        &format!("keystores/{store}?includes=Keys,Space,fullpath"),
        None,
        &names,
        expect![[r#"
            200
            {
              "id": "<store>",
              "name": "Hotel keys",
              "description": null,
              "spaceId": "hotel",
              "keys": [
                {
                  "id": 1,
                  "value": "<key>",
                  "keyStoreId": "<store>",
                  "createdDateTimeUtc": "<time>",
                  "status": "Active"
                },
                {
                  "id": 2,
                  "value": "<key>",
                  "keyStoreId": "<store>",
                  "createdDateTimeUtc": "<time>",
                  "status": "Disabled"
                }
              ],
              "space": {
                "id": "hotel",
                "name": "Hotel",
                "parentSpaceId": null
              },
              "spacePaths": [
                "/hotel"
              ]
            }"#]],
    )
    .await;
    // The newest active key is 1, since 2 is disabled.
    let (_, last) = call(&server, "GET", &format!("keystores/{store}/keys/last"), None).await;
    assert_eq!(serde_json::from_str::<Value>(&last).expect("a key")["id"], 1);
    for path in ["spaces/room/keystore", "devices/pi/keystore/", "spaces/hotel/keystore"] {
        let (status, text) = call(&server, "GET", path, None).await;
        assert_eq!(status, 200, "{path}: {text}");
        expect![[r#"
            {
              "id": "<store>",
              "name": "Hotel keys",
              "description": null,
              "spaceId": "hotel"
            }"#]]
        .assert_eq(&shown(&text, &names));
    }
    // A store nearer the device wins.
    let nearer =
        create(&server, "keystores", json!({"name": "Room keys", "spaceId": "room", "description": "for room 11"}))
            .await;
    assert_eq!(id_at(&server, "devices/pi/keystore").await, nearer);
    check(
        &server,
        "GET",
        "spaces/annex/keystore",
        None,
        &names,
        expect![[r#"
            404
            {
              "error": {
                "code": "404.600.000.000",
                "message": "there is no key store on space 'annex' or a space above it"
              }
            }"#]],
    )
    .await;
    let names = [(store.as_str(), "<store>"), (nearer.as_str(), "<nearer>")];
    check(
        &server,
        "GET",
        "keystores?spaceId=room",
        None,
        &names,
        expect![[r#"
            200
            [
              {
                "id": "<nearer>",
                "name": "Room keys",
                "description": "for room 11",
                "spaceId": "room"
              }
            ]"#]],
    )
    .await;
    let patch = json!({"name": "Guest room keys", "description": null});
    let (status, text) = call(&server, "PATCH", &format!("keystores/{nearer}"), Some(patch)).await;
    assert_eq!(status, 204, "{text}");
    check(
        &server,
        "GET",
        "keystores?$filter=startswith(Name,'Guest')",
        None,
        &names,
        expect![[r#"
            200
            [
              {
                "id": "<nearer>",
                "name": "Guest room keys",
                "description": null,
                "spaceId": "room"
              }
            ]"#]],
    )
    .await;
    let (status, _) = call(&server, "DELETE", &format!("keystores/{nearer}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&server, "GET", &format!("keystores/{nearer}"), None).await;
    assert_eq!(status, 404);
    server.stop().await;
}

#[tokio::test]
async fn tokens_are_signed_with_the_keys_of_the_store() {
    let server = start_shipped().await;
    topology(&server).await;
    let store = create(&server, "keystores", json!({"name": "Hotel keys", "spaceId": "hotel"})).await;
    let names = [(store.as_str(), "<store>")];
    for _ in 0..2 {
        let (status, _) = call(&server, "POST", &format!("keystores/{store}/keys"), None).await;
        assert_eq!(status, 201);
    }
    let issued_after = jiff::Timestamp::now().as_second();
    let (status, text) =
        call(&server, "GET", &format!("keystores/{store}/keys/last/token?deviceMac=1234567890AB"), None).await;
    assert_eq!(status, 200, "{text}");
    let token: String = serde_json::from_str(&text).expect("a token is a JSON string");
    let expiry = check_token(&server, &store, &token, "1234567890AB", 2).await;
    let year = 365 * 24 * 60 * 60;
    assert!((issued_after + year..=jiff::Timestamp::now().as_second() + year).contains(&expiry), "{token}");
    // By key id, for a device that does not exist yet.
    let (status, text) =
        call(&server, "GET", &format!("keystores/{store}/keys/1/token?deviceMac=future-device"), None).await;
    assert_eq!(status, 200, "{text}");
    let token: String = serde_json::from_str(&text).expect("a token is a JSON string");
    check_token(&server, &store, &token, "future-device", 1).await;
    // A disabled key signs nothing; the last token then comes from key 1.
    let (status, _) =
        call(&server, "PATCH", &format!("keystores/{store}/keys/2"), Some(json!({"Status": "Disabled"}))).await;
    assert_eq!(status, 204);
    check(
        &server,
        "GET",
        &format!("keystores/{store}/keys/2/token?deviceMac=1234567890AB"),
        None,
        &names,
        expect![[r#"
            409
            {
              "error": {
                "code": "409.600.000.000",
                "message": "key 2 of key store '<store>' is disabled and signs no token; enable it or use another key"
              }
            }"#]],
    )
    .await;
    let (_, text) =
        call(&server, "GET", &format!("keystores/{store}/keys/last/token?deviceMac=1234567890AB"), None).await;
    let token: String = serde_json::from_str(&text).expect("a token is a JSON string");
    check_token(&server, &store, &token, "1234567890AB", 1).await;
    // Without an active key there is no last key and no last token.
    let (status, _) = call(&server, "DELETE", &format!("keystores/{store}/keys/1"), None).await;
    assert_eq!(status, 204);
    let mut answers = Vec::new();
    for path in [
        format!("keystores/{store}/keys/last"),
        format!("keystores/{store}/keys/last/token?deviceMac=1234567890AB"),
        format!("keystores/{store}/keys/1"),
        format!("keystores/{store}/keys/one/token?deviceMac=1234567890AB"),
        format!("keystores/{store}/keys/2/token"),
        format!("keystores/{store}/keys/2/token?deviceMac=0123456789012345678901234567890123456789"),
        "keystores/missing/keys".to_owned(),
    ] {
        let (status, text) = call(&server, "GET", &path, None).await;
        let error: Value = serde_json::from_str(&text).expect("an error body");
        answers.push(format!(
            "{} → {status} {}",
            path.replace(&store, "<store>"),
            shown(error["error"]["message"].as_str().unwrap_or(&text), &names)
        ));
    }
    expect![[r#"
        keystores/<store>/keys/last → 404 key store '<store>' has no active key
        keystores/<store>/keys/last/token?deviceMac=1234567890AB → 404 key store '<store>' has no active key
        keystores/<store>/keys/1 → 404 key store '<store>' has no key '1'
        keystores/<store>/keys/one/token?deviceMac=1234567890AB → 404 key store '<store>' has no key 'one'
        keystores/<store>/keys/2/token → 400 `deviceMac` is required: the hardware id of the device the token is for
        keystores/<store>/keys/2/token?deviceMac=0123456789012345678901234567890123456789 → 400 `deviceMac` takes a hardware id of at most 36 characters, without control characters
        keystores/missing/keys → 404 key store 'missing' was not found"#]]
    .assert_eq(&answers.join("\n"));
    server.stop().await;
}

#[tokio::test]
async fn key_store_requests_are_checked() {
    let server = start_shipped().await;
    topology(&server).await;
    let mut answers = Vec::new();
    for body in [
        json!({"spaceId": "hotel"}),
        json!({"name": "keys", "spaceId": "hotel"}),
        json!({"name": "k".repeat(41), "spaceId": "hotel"}),
        json!({"name": "Hotel keys"}),
        json!({"name": "Hotel keys", "spaceId": "pi"}),
        json!({"name": "Hotel keys", "spaceId": "hotel", "description": 7}),
    ] {
        let (status, text) = call(&server, "POST", "keystores", Some(body.clone())).await;
        let error: Value = serde_json::from_str(&text).expect("an error body");
        answers.push(format!("{body} → {status} {}", error["error"]["message"].as_str().unwrap_or(&text)));
    }
    expect![[r#"
        {"spaceId":"hotel"} → 400 `name` is required
        {"name":"keys","spaceId":"hotel"} → 400 `name` has 4 characters; it takes 5 to 40
        {"name":"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk","spaceId":"hotel"} → 400 `name` has 41 characters; it takes 5 to 40
        {"name":"Hotel keys"} → 400 `spaceId` is required
        {"name":"Hotel keys","spaceId":"pi"} → 404 space 'pi' was not found
        {"name":"Hotel keys","spaceId":"hotel","description":7} → 400 `description` must be a string"#]]
    .assert_eq(&answers.join("\n"));
    let store = create(&server, "keystores", json!({"name": "Hotel keys", "spaceId": "hotel"})).await;
    let (status, _) = call(&server, "POST", &format!("keystores/{store}/keys"), None).await;
    assert_eq!(status, 201);
    check(
        &server,
        "PATCH",
        &format!("keystores/{store}/keys/1"),
        Some(json!({"status": "Revoked"})),
        &[(store.as_str(), "<store>")],
        expect![[r#"
            400
            {
              "error": {
                "code": "400.600.000.000",
                "message": "`status` is `Revoked`; it takes Active or Disabled",
                "target": "status"
              }
            }"#]],
    )
    .await;
    check(
        &server,
        "GET",
        "keystores?spaceId=nowhere",
        None,
        &[],
        expect![[r#"
            404
            {
              "error": {
                "code": "404.600.000.000",
                "message": "space 'nowhere' was not found"
              }
            }"#]],
    )
    .await;
    server.stop().await;
}

/// Checks a token's shape and its signature independently of the server: `SharedAccessSignature id=…&se=…&kv=…&sig=…`, the HMAC-SHA256 of `id\nse\nkv` with the key's bytes as `GET keys/{kv}` shows them; answers its expiry.
async fn check_token(server: &TestServer, store: &str, token: &str, hardware_id: &str, key_id: u32) -> i64 {
    let fields = token.strip_prefix("SharedAccessSignature ").unwrap_or_else(|| panic!("{token}"));
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(fields).expect("form-encoded fields");
    let names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["id", "se", "kv", "sig"], "{token}");
    let (id, se, kv, sig) = (&pairs[0].1, &pairs[1].1, &pairs[2].1, &pairs[3].1);
    assert_eq!((id.as_str(), kv.as_str()), (hardware_id, key_id.to_string().as_str()), "{token}");
    let (status, text) = call(server, "GET", &format!("keystores/{store}/keys/{key_id}"), None).await;
    assert_eq!(status, 200, "{text}");
    let key = serde_json::from_str::<Value>(&text).expect("a key")["value"].as_str().expect("a key value").to_owned();
    let key = STANDARD.decode(key).expect("a key is base64");
    assert_eq!(key.len(), 32);
    let mac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let signed = format!("{id}\n{se}\n{kv}");
    let signature = STANDARD.decode(sig).expect("the signature is base64");
    ring::hmac::verify(&mac, signed.as_bytes(), &signature)
        .unwrap_or_else(|_| panic!("the signature of {token} is wrong"));
    se.parse().expect("se is Unix seconds")
}

#[tokio::test]
async fn a_hub_left_provisioning_by_a_crash_runs_after_a_restart() {
    let server = start_shipped().await;
    topology(&server).await;
    let data = server.stop_keeping_data().await;
    // What a crash between the create and the move to Running leaves: the resource stored as Provisioning.
    {
        let store =
            store::EmbeddedBackend::open(data.path(), store::Limits::default()).expect("the data directory opens");
        let record = json!({
            "id": "crashed", "spaceId": "hotel", "type": "IoTHub", "size": null, "region": null,
            "isExternallyCreated": false, "parameters": {}, "resourceDependencies": [], "status": "Provisioning",
            "lastUpdatedUtc": "2026-11-26T12:00:00.0000000Z",
        });
        let ops = store::records::spatial_ops(
            &store::TenantId::default_tenant(),
            &[("resource/crashed".to_owned(), Some(record))],
        );
        store::Backend::commit(&store, ops).expect("the record is written");
    }
    let server = start_shipped_in(data).await;
    assert_eq!(poll(&server, "crashed").await.last().map(String::as_str), Some("Running"));
    let data = server.stop_keeping_data().await;
    let server = start_shipped_in(data).await;
    assert_eq!(poll(&server, "crashed").await, ["Running"], "the move to Running was durable");
    server.stop().await;
}
