//! The 2018 face's state beside the graph end to end, on the embedded store: ids of deleted custom types, property keys and key store keys are not given again, across a restart too.
//!
//! Object ids other than types, property keys and keys are GUIDs the server makes; the tests use them in paths and never show them.

use serde_json::{Value, json};

use crate::{TestServer, start_shipped, start_shipped_in};

const BASE: &str = "/management/api/v1.0";

/// Sends a request to the management face; `path` is relative to its base.
async fn call(server: &TestServer, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let headers: &[(&str, &str)] = if body.is_some() { &[("content-type", "application/json")] } else { &[] };
    let reply = server.send(method, &format!("{BASE}/{path}"), headers, body.map(|b| b.to_string().into_bytes())).await;
    let value = if reply.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&reply.body).unwrap_or(Value::String(reply.body.clone()))
    };
    (reply.status, value)
}

/// Creates an object and returns the id the server answered, as text (a GUID, or the number of a type, property key or key).
async fn create(server: &TestServer, path: &str, body: Option<Value>) -> String {
    let (status, value) = call(server, "POST", path, body.clone()).await;
    assert_eq!(status, 201, "POST {path} {body:?} answered {value}");
    match value {
        Value::String(id) => id,
        other => other.to_string(),
    }
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
