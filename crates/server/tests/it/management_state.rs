//! The 2018 face's state beside the graph end to end, on the embedded store: twins deleted through the data plane take their 2018 state along (a device's key; a space's types, property keys and key store), and ids of deleted custom types, property keys and key store keys are not given again, across a restart too.
//!
//! Object ids other than types, property keys and keys are GUIDs the server makes; the tests use them in paths and never show them.

use serde_json::{Value, json};

use crate::management::call;
use crate::{TestServer, start_shipped, start_shipped_in};

const V: &str = "api-version=2023-10-31";

/// Creates an object and returns the id the server answered, as text (a GUID, or the number of a type, property key or key).
async fn create(server: &TestServer, path: &str, body: Option<Value>) -> String {
    let (status, value) = call(server, "POST", path, body.clone()).await;
    assert_eq!(status, 201, "POST {path} {body:?} answered {value}");
    match value {
        Value::String(id) => id,
        other => other.to_string(),
    }
}

/// Sends a request to the data plane, adding the API version to `path`'s query.
async fn data_plane(server: &TestServer, method: &str, path: &str, body: Option<Value>) -> (u16, String) {
    let headers: &[(&str, &str)] = if body.is_some() { &[("content-type", "application/json")] } else { &[] };
    let separator = if path.contains('?') { '&' } else { '?' };
    let reply =
        server.send(method, &format!("{path}{separator}{V}"), headers, body.map(|b| b.to_string().into_bytes())).await;
    (reply.status, reply.body)
}

/// What the 2018 face shows of a device, a space's custom types, property keys and key store: one line each, status first.
async fn state_of(server: &TestServer, device: &str, space: &str) -> String {
    let (status, value) = call(server, "GET", &format!("devices/{device}?includes=ConnectionString"), None).await;
    let connection = match value.get("connectionString") {
        Some(Value::String(text)) if text.contains(";SharedAccessKey=") => "a connection string with a key".to_owned(),
        Some(other) => other.to_string(),
        None => "absent".to_owned(),
    };
    let mut lines = vec![format!("device: {status}, connectionString {connection}")];
    for (what, path) in [
        ("types", format!("types?system=false&spaceId={space}")),
        ("property keys", format!("propertykeys?spaceId={space}")),
        ("key store", format!("spaces/{space}/keystore")),
        ("resources", format!("resources?spaceId={space}")),
    ] {
        let (status, value) = call(server, "GET", &path, None).await;
        let shown = match &value {
            Value::Array(items) => {
                format!(
                    "{:?}",
                    items.iter().map(|i| i["name"].as_str().or(i["type"].as_str()).unwrap_or("?")).collect::<Vec<_>>()
                )
            }
            Value::Object(object) if object.contains_key("error") => "an error".to_owned(),
            other => other["name"].as_str().unwrap_or("?").to_owned(),
        };
        lines.push(format!("{what}: {status} {shown}"));
    }
    lines.join("\n")
}

#[tokio::test]
async fn a_twin_deleted_through_the_data_plane_takes_its_2018_state_along() {
    let server = start_shipped().await;
    let campus = create(&server, "spaces", Some(json!({"name": "Campus"}))).await;
    let hall = create(&server, "spaces", Some(json!({"name": "Hall", "parentSpaceId": campus}))).await;
    let device =
        create(&server, "devices", Some(json!({"name": "Gateway", "hardwareId": "HW-1", "spaceId": hall}))).await;
    create(&server, "types", Some(json!({"category": "SpaceType", "name": "Lab", "spaceId": hall}))).await;
    create(&server, "propertykeys", Some(json!({"name": "Colour", "scope": "Spaces", "spaceId": hall}))).await;
    create(&server, "keystores", Some(json!({"name": "Hall keys", "spaceId": hall}))).await;
    create(&server, "resources", Some(json!({"type": "IoTHub", "spaceId": hall}))).await;
    expect_test::expect![[r#"
        device: 200, connectionString a connection string with a key
        types: 200 ["Lab"]
        property keys: 200 ["Colour"]
        key store: 200 Hall keys
        resources: 200 ["IoTHub"]"#]]
    .assert_eq(&state_of(&server, &device, &hall).await);

    // The device and its space deleted through the data plane, then twins of the same ids put back there.
    for id in [&device, &hall] {
        let deleted = data_plane(&server, "DELETE", &format!("/digitaltwins/{id}?cascade=true"), None).await;
        assert_eq!(deleted.0, 204, "DELETE {id}: {}", deleted.1);
    }
    for (id, twin) in [
        (&device, json!({"$metadata": {"$model": "dtmi:twinscape:Device;1"}})),
        (&hall, json!({"$metadata": {"$model": "dtmi:twinscape:Space;1"}, "name": "Hall"})),
    ] {
        let put = data_plane(&server, "PUT", &format!("/digitaltwins/{id}"), Some(twin)).await;
        assert_eq!(put.0, 200, "PUT {id}: {}", put.1);
    }
    let forgotten = state_of(&server, &device, &hall).await;
    expect_test::expect![[r#"
        device: 200, connectionString null
        types: 200 []
        property keys: 200 []
        key store: 404 an error
        resources: 200 []"#]]
    .assert_eq(&forgotten);
    let server = start_shipped_in(server.stop_keeping_data().await).await;
    assert_eq!(
        state_of(&server, &device, &hall).await,
        forgotten,
        "what was forgotten stays forgotten after a restart"
    );
    server.stop().await;
}

async fn delete(server: &TestServer, path: &str) {
    let (status, value) = call(server, "DELETE", path, None).await;
    assert_eq!(status, 204, "DELETE {path} answered {value}");
}

#[tokio::test]
async fn ids_of_deleted_objects_are_not_given_again_after_a_restart() {
    let server = start_shipped().await;
    let campus = create(&server, "spaces", Some(json!({"name": "Campus"}))).await;
    let keys = create(&server, "keystores", Some(json!({"name": "Campus keys", "spaceId": campus}))).await;
    let ty = |name: &str| Some(json!({"category": "SpaceType", "name": name, "spaceId": campus}));
    let property_key = |name: &str| Some(json!({"name": name, "scope": "Spaces", "spaceId": campus}));
    let mut given = Vec::new();
    // The newest of each is deleted, which gave its id to the next one before ids were counted.
    for name in ["Lab", "Office"] {
        given.push(format!("type {}", create(&server, "types", ty(name)).await));
    }
    delete(&server, "types/1000001").await;
    for name in ["Colour", "Size"] {
        given.push(format!("property key {}", create(&server, "propertykeys", property_key(name)).await));
    }
    delete(&server, "propertykeys/2").await;
    for _ in 0..2 {
        given.push(format!("key {}", create(&server, &format!("keystores/{keys}/keys"), None).await));
    }
    delete(&server, &format!("keystores/{keys}/keys/2")).await;

    let server = start_shipped_in(server.stop_keeping_data().await).await;
    given.push(format!("after a restart: type {}", create(&server, "types", ty("Office")).await));
    given
        .push(format!("after a restart: property key {}", create(&server, "propertykeys", property_key("Size")).await));
    given.push(format!("after a restart: key {}", create(&server, &format!("keystores/{keys}/keys"), None).await));
    expect_test::expect![[r#"
        type 1000000
        type 1000001
        property key 1
        property key 2
        key 1
        key 2
        after a restart: type 1000002
        after a restart: property key 3
        after a restart: key 3"#]]
    .assert_eq(&given.join("\n"));
    server.stop().await;
}
