//! The TopologyOperation events of the 2018 management face: every write raises one per object it created, updated or deleted (a cascade one per object it took), in the write's durable batch, with the spaces to notify nearest first and the request's id as CorrelationId; telemetry and refused writes raise none.

use expect_test::expect;
use serde_json::{Value, json};

use crate::TestServer;
use crate::management::{BASE, Names};
use crate::telemetry::{in_an_hour, sas_token};

const SPACE_ADMINISTRATOR: &str = "98e44ad7-28d4-4007-853b-b9968ad132d1";
const FUNCTION: &str = "5f0e0a3c-9b1c-4c4e-8f4e-2d1b6c7a9e01";

/// Sends one request to the management face; its request id is named `step` in `names`, so CorrelationIds show which request raised an event.
async fn step(
    server: &TestServer,
    names: &mut Names,
    step: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let headers: &[(&str, &str)] = if body.is_some() { &[("content-type", "application/json")] } else { &[] };
    let reply = server.send(method, &format!("{BASE}/{path}"), headers, body.map(|b| b.to_string().into_bytes())).await;
    names.add(reply.header("x-request-id").expect("a request id"), step);
    let value = serde_json::from_str(&reply.body).unwrap_or(Value::String(reply.body.clone()));
    (reply.status, value)
}

/// Creates an object and names its id `name` (the request is named `create {name}`).
async fn create(server: &TestServer, names: &mut Names, path: &str, name: &str, body: Value) -> String {
    // Users are made by `PUT users`, an upsert by upn and space.
    let method = if path == "users" { "PUT" } else { "POST" };
    let (status, id) = step(server, names, &format!("create {name}"), method, path, Some(body)).await;
    assert!(matches!(status, 200 | 201), "{method} {path}: {status} {id}");
    // Property keys have numbers for ids, left as they are: naming a number would rename it inside other ids.
    match id.as_u64() {
        Some(number) => number.to_string(),
        None => {
            let id = id.as_str().expect("an id").to_owned();
            names.add(&id, name);
            id
        }
    }
}

/// The TopologyOperation events in the log, one line each: `Type AccessType <id> [spaces to notify] (request)`; the envelope's subject must be the type.
/// An externally created hub starts `Running`, so no write outside a request (a provisioning task's, with a new UUID for CorrelationId) lands among them.
async fn topology_operations(server: &TestServer, names: &Names) -> String {
    let reply = server.get("/events?limit=1000").await;
    let log: Value = serde_json::from_str(&reply.body).expect("JSON");
    let events = log["value"].as_array().expect("events");
    let lines: Vec<String> = events
        .iter()
        .filter(|e| e["eventType"] == "TopologyOperation")
        .map(|e| {
            let d = &e["data"];
            assert_eq!(e["subject"], d["Type"], "the subject is the type: {e}");
            let keys: Vec<&str> = d.as_object().expect("data").keys().map(String::as_str).collect();
            assert_eq!(keys, ["SpacesToNotify", "Id", "Type", "AccessType", "CorrelationId"]);
            let spaces: Vec<&str> =
                d["SpacesToNotify"].as_array().expect("spaces").iter().filter_map(Value::as_str).collect();
            format!(
                "{} {} {} [{}] ({})",
                d["Type"].as_str().unwrap_or("?"),
                d["AccessType"].as_str().unwrap_or("?"),
                d["Id"].as_str().unwrap_or("?"),
                spaces.join(", "),
                names.show(d["CorrelationId"].as_str().unwrap_or("?")),
            )
        })
        .collect();
    names.show(&lines.join("\n"))
}

#[tokio::test]
async fn every_2018_write_raises_a_topology_operation_per_object_it_touched() {
    let server = crate::start_shipped().await;
    let mut names = Names::default();
    let building = create(&server, &mut names, "spaces", "building", json!({"Name": "Building"})).await;
    let room = create(&server, &mut names, "spaces", "room", json!({"Name": "Room", "ParentSpaceId": building})).await;
    create(
        &server,
        &mut names,
        "resources",
        "hub",
        json!({"SpaceId": building, "Type": "IoTHub", "IsExternallyCreated": true}),
    )
    .await;
    let device = create(
        &server,
        &mut names,
        "devices",
        "device",
        json!({"Name": "Raspberry Pi", "HardwareId": "PI-1", "SpaceId": room,
            "Sensors": [{"HardwareId": "MOTION-1", "DataType": "Motion"}]}),
    )
    .await;
    let (status, found) =
        step(&server, &mut names, "get sensors", "GET", &format!("devices/{device}?includes=sensors"), None).await;
    assert_eq!(status, 200, "{found}");
    names.add(found["sensors"][0]["id"].as_str().expect("the inline sensor"), "sensor");
    create(
        &server,
        &mut names,
        "users",
        "user",
        json!({"Upn": "ada@example.com", "FirstName": "Ada", "SpaceId": room}),
    )
    .await;
    create(&server, &mut names, "propertykeys", "key", json!({"Name": "AREA", "Scope": "Spaces", "SpaceId": building}))
        .await;
    let items = json!([{"name": "AREA", "value": "12"}]);
    let (status, _) =
        step(&server, &mut names, "set area", "PUT", &format!("spaces/{room}/properties"), Some(items)).await;
    assert_eq!(status, 204);
    create(&server, &mut names, "keystores", "keystore", json!({"Name": "Building keys", "SpaceId": building})).await;
    let grant = json!({"ObjectId": FUNCTION, "ObjectIdType": "UserDefinedFunctionId", "Path": format!("/{building}/{room}"),
        "RoleId": SPACE_ADMINISTRATOR, "TenantId": null});
    create(&server, &mut names, "roleassignments", "grant", grant).await;
    let rename = json!({"Name": "Focus Room"});
    assert_eq!(step(&server, &mut names, "rename room", "PATCH", &format!("spaces/{room}"), Some(rename)).await.0, 204);

    // Neither telemetry (a value write) nor a refused write raises any.
    let before = topology_operations(&server, &names).await;
    let (status, found) =
        step(&server, &mut names, "get device", "GET", &format!("devices/{device}?includes=ConnectionString"), None)
            .await;
    assert_eq!(status, 200);
    let connection = found["connectionString"].as_str().expect("a connection string");
    let part = |name: &str| connection.split(';').find_map(|p| p.strip_prefix(&format!("{name}="))).expect("a part");
    let token = sas_token(part("HostName"), &device, part("SharedAccessKey"), in_an_hour());
    let headers = [
        ("Authorization", token.as_str()),
        ("DigitalTwins-Telemetry", "1.0"),
        ("DigitalTwins-SensorHardwareId", "MOTION-1"),
    ];
    let reading =
        server.send("POST", &format!("{BASE}/telemetry"), &headers, Some(br#"{"SensorValue":"true"}"#.to_vec())).await;
    assert_eq!(reading.status, 204, "{}", reading.body);
    let missing = json!({"Name": "Orphan", "ParentSpaceId": "00000000-0000-0000-0000-00000000dead"});
    assert_eq!(step(&server, &mut names, "refused", "POST", "spaces", Some(missing)).await.0, 404);
    assert_eq!(
        topology_operations(&server, &names).await,
        before,
        "telemetry and a refusal raise no TopologyOperation"
    );

    assert_eq!(step(&server, &mut names, "delete device", "DELETE", &format!("devices/{device}"), None).await.0, 204);
    expect![[r#"
        Space Create <building> [<building>] (<create building>)
        Space Create <room> [<room>, <building>] (<create room>)
        SpaceResource Create <hub> [<building>] (<create hub>)
        Device Create <device> [<room>, <building>] (<create device>)
        Sensor Create <sensor> [<room>, <building>] (<create device>)
        User Create <user> [<room>, <building>] (<create user>)
        ExtendedPropertyKey Create 1 [<building>] (<create key>)
        SpaceExtendedProperty Update <room> [<room>, <building>] (<set area>)
        KeyStore Create <keystore> [<building>] (<create keystore>)
        SpaceRoleAssignment Create <grant> [<room>, <building>] (<create grant>)
        Space Update <room> [<room>, <building>] (<rename room>)
        Sensor Delete <sensor> [<room>, <building>] (<delete device>)
        Device Delete <device> [<room>, <building>] (<delete device>)"#]]
    .assert_eq(&topology_operations(&server, &names).await);
}

#[tokio::test]
async fn deleting_a_space_raises_one_per_object_it_takes_with_the_spaces_as_they_were() {
    let server = crate::start_shipped().await;
    let mut names = Names::default();
    let wing = create(&server, &mut names, "spaces", "wing", json!({"Name": "Wing"})).await;
    let office =
        create(&server, &mut names, "spaces", "office", json!({"Name": "Office", "ParentSpaceId": wing})).await;
    create(&server, &mut names, "users", "user", json!({"Upn": "ada@example.com", "SpaceId": office})).await;
    create(&server, &mut names, "keystores", "keystore", json!({"Name": "Office keys", "SpaceId": office})).await;
    assert_eq!(step(&server, &mut names, "delete wing", "DELETE", &format!("spaces/{wing}"), None).await.0, 204);
    let all = topology_operations(&server, &names).await;
    let deletes: Vec<&str> = all.lines().filter(|line| line.contains(" Delete ")).collect();
    expect![[r#"
        User Delete <user> [<office>, <wing>] (<delete wing>)
        Space Delete <office> [<office>, <wing>] (<delete wing>)
        Space Delete <wing> [<wing>] (<delete wing>)
        KeyStore Delete <keystore> [<office>, <wing>] (<delete wing>)"#]]
    .assert_eq(&deletes.join("\n"));
}
