//! The ADT data plane end to end over HTTP, on the embedded store: models, twins, components, relationships, telemetry and events, with ADT's status codes, headers and error codes, and data that survives a restart.

use expect_test::{Expect, expect};
use serde_json::{Value, json};

use crate::{Reply, TestServer, start_shipped, start_shipped_configured, start_shipped_in};

const V: &str = "api-version=2023-10-31";

fn models() -> Value {
    json!([
        {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:ex:Space;1", "@type": "Interface", "displayName": "Space",
         "contents": [{"@type": "Property", "name": "name", "schema": "string"},
                      {"@type": "Relationship", "name": "contains", "target": "dtmi:ex:Space;1",
                       "properties": [{"@type": "Property", "name": "since", "schema": "date"}]}]},
        {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:ex:Room;1", "@type": "Interface", "extends": "dtmi:ex:Space;1",
         "contents": [{"@type": "Property", "name": "temperature", "schema": "double"},
                      {"@type": "Component", "name": "thermostat", "schema": "dtmi:ex:Thermostat;1"}]},
        {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:ex:Thermostat;1", "@type": "Interface",
         "contents": [{"@type": "Property", "name": "setpoint", "schema": "double"}]}
    ])
}

async fn call(server: &TestServer, method: &str, path: &str, headers: &[(&str, &str)], body: Option<Value>) -> Reply {
    let sep = if path.contains('?') { '&' } else { '?' };
    let path = format!("{path}{sep}{V}");
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    let content_type = if method == "PATCH" { "application/json-patch+json" } else { "application/json" };
    if body.is_some() {
        all.push(("content-type", content_type));
    }
    server.send(method, &path, &all, body.map(|b| b.to_string().into_bytes())).await
}

fn check(reply: &Reply, expect: Expect) {
    expect.assert_eq(&reply.render(&["etag", "x-ms-error-code"]));
}

/// Times and ETags vary; blank the times so snapshots stay stable.
fn check_stable(reply: &Reply, expect: Expect) {
    let mut text = reply.render(&["etag", "x-ms-error-code"]);
    while let Some(start) = text.find("\"2026-").or_else(|| text.find("\"20")) {
        let Some(len) = text[start + 1..].find('"') else { break };
        if !text[start + 1..start + 1 + len].contains('T') {
            break;
        }
        text.replace_range(start..start + len + 2, "\"<time>\"");
    }
    expect.assert_eq(&text);
}

async fn seed(server: &TestServer) {
    let reply = call(server, "POST", "/models", &[], Some(models())).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    for (id, model) in [("room1", "dtmi:ex:Room;1"), ("room2", "dtmi:ex:Room;1")] {
        let body = json!({"$metadata": {"$model": model}, "name": id, "temperature": 20.5, "thermostat": {"$metadata": {}, "setpoint": 21.0}});
        let reply = call(server, "PUT", &format!("/digitaltwins/{id}"), &[], Some(body)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}

#[tokio::test]
async fn models_lifecycle() {
    let server = start_shipped().await;
    seed(&server).await;
    check(
        &call(&server, "POST", "/models", &[], Some(json!([models()[2].clone()]))).await,
        expect![[r#"
            409
            x-ms-error-code: ModelIdAlreadyExists
            {"error":{"code":"ModelIdAlreadyExists","message":"model 'dtmi:ex:Thermostat;1' already exists","details":[]}}"#]],
    );
    check(
        &call(
            &server,
            "POST",
            "/models",
            &[],
            Some(json!([{"@context": "dtmi:dtdl:context;3", "@type": "Interface"}])),
        )
        .await,
        expect![[r#"
            400
            x-ms-error-code: DTDLParserError
            {"error":{"code":"DTDLParserError","message":"model 0: a top-level element needs an \"@id\" that is a DTMI","details":[]}}"#]],
    );
    check(
        &call(&server, "POST", "/models", &[], Some(json!({"not": "an array"}))).await,
        expect![[r#"
        400
        x-ms-error-code: InvalidArgument
        {"error":{"code":"InvalidArgument","message":"The request body must be a JSON array of DTDL interfaces.","details":[]}}"#]],
    );
    // Paging: one model a page, following nextLink.
    let first = call(&server, "GET", "/models", &[("max-items-per-page", "2")], None).await;
    let page: Value = serde_json::from_str(&first.body).expect("a JSON page");
    assert_eq!(page["value"].as_array().map(Vec::len), Some(2));
    let next = page["nextLink"].as_str().expect("a next link").to_owned();
    let next_path = next.strip_prefix(&server.url).expect("the link points at this server");
    let second = server.get(next_path).await;
    check_stable(
        &second,
        expect![[r#"
        200
        {"value":[{"id":"dtmi:ex:Thermostat;1","uploadTime":"<time>","decommissioned":false}],"nextLink":null}"#]],
    );
    check_stable(
        &call(&server, "GET", "/models/dtmi%3Aex%3ASpace%3B1", &[], None).await,
        expect![[r#"
        200
        {"id":"dtmi:ex:Space;1","displayName":{"en":"Space"},"uploadTime":"<time>","decommissioned":false}"#]],
    );
    let deps =
        call(&server, "GET", "/models?dependenciesFor=dtmi:ex:Room;1&includeModelDefinition=true", &[], None).await;
    let deps: Value = serde_json::from_str(&deps.body).expect("a JSON page");
    let ids: Vec<&str> = deps["value"].as_array().expect("a list").iter().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(ids, ["dtmi:ex:Room;1", "dtmi:ex:Space;1", "dtmi:ex:Thermostat;1"]);
    assert!(deps["value"][0]["model"].is_object(), "includeModelDefinition returns the definition");
    check(
        &call(&server, "GET", "/models/dtmi:ex:Nothing;1", &[], None).await,
        expect![[r#"
        404
        x-ms-error-code: ModelNotFound
        {"error":{"code":"ModelNotFound","message":"there is no model with id 'dtmi:ex:Nothing;1'","details":[]}}"#]],
    );
    check(
        &call(&server, "DELETE", "/models/dtmi:ex:Space;1", &[], None).await,
        expect![[r#"
        409
        x-ms-error-code: ModelReferencesNotDeleted
        {"error":{"code":"ModelReferencesNotDeleted","message":"model 'dtmi:ex:Space;1' is referenced by dtmi:ex:Room;1; delete those first","details":[]}}"#]],
    );
    let decommission = json!([{"op": "replace", "path": "/decommissioned", "value": true}]);
    check(&call(&server, "PATCH", "/models/dtmi:ex:Room;1", &[], Some(decommission)).await, expect!["204\n"]);
    check(
        &call(
            &server,
            "PUT",
            "/digitaltwins/room3",
            &[],
            Some(json!({"$metadata": {"$model": "dtmi:ex:Room;1"}, "thermostat": {"$metadata": {}}})),
        )
        .await,
        expect![[r#"
            400
            x-ms-error-code: ModelDecommissioned
            {"error":{"code":"ModelDecommissioned","message":"model 'dtmi:ex:Room;1' is decommissioned; no new twins may use it","details":[]}}"#]],
    );
    server.stop().await;
}

#[tokio::test]
async fn twins_with_etags_and_components() {
    let server = start_shipped().await;
    seed(&server).await;
    let got = call(&server, "GET", "/digitaltwins/room1", &[], None).await;
    let etag = got.header("etag").expect("an ETag").to_owned();
    check_stable(
        &got,
        expect![[r#"
        200
        etag: W/"0000000000000001"
        {"$dtId":"room1","$etag":"W/\"0000000000000001\"","name":"room1","temperature":20.5,"thermostat":{"$metadata":{"$lastUpdateTime":"<time>","setpoint":{"lastUpdateTime":"<time>"}},"setpoint":21.0},"$metadata":{"$model":"dtmi:ex:Room;1","$lastUpdateTime":"<time>","name":{"lastUpdateTime":"<time>"},"temperature":{"lastUpdateTime":"<time>"}}}"#]],
    );
    check(
        &call(
            &server,
            "PUT",
            "/digitaltwins/room1",
            &[("if-none-match", "*")],
            Some(json!({"$metadata": {"$model": "dtmi:ex:Room;1"}})),
        )
        .await,
        expect![[r#"
        412
        x-ms-error-code: PreconditionFailed
        {"error":{"code":"PreconditionFailed","message":"the twin 'room1' already exists (If-None-Match: *)","details":[]}}"#]],
    );
    let patch = json!([{"op": "replace", "path": "/temperature", "value": 23.0}]);
    check(
        &call(&server, "PATCH", "/digitaltwins/room1", &[("if-match", "W/\"00000000000000ff\"")], Some(patch.clone()))
            .await,
        expect![[r#"
        412
        x-ms-error-code: PreconditionFailed
        {"error":{"code":"PreconditionFailed","message":"the twin 'room1' has ETag W/\"0000000000000001\", not W/\"00000000000000ff\"","details":[]}}"#]],
    );
    check(
        &call(&server, "PATCH", "/digitaltwins/room1", &[("if-match", &etag)], Some(patch)).await,
        expect![[r#"
        204
        etag: W/"0000000000000003"
    "#]],
    );
    check(
        &call(
            &server,
            "PATCH",
            "/digitaltwins/room1",
            &[],
            Some(json!([{"op": "copy", "from": "/name", "path": "/x"}])),
        )
        .await,
        expect![[r#"
        400
        x-ms-error-code: JsonPatchInvalid
        {"error":{"code":"JsonPatchInvalid","message":"operation 0: 'copy' is not supported; use add, replace or remove","details":[]}}"#]],
    );
    check(
        &call(
            &server,
            "PATCH",
            "/digitaltwins/room1/components/thermostat",
            &[],
            Some(json!([{"op": "replace", "path": "/setpoint", "value": 19.5}])),
        )
        .await,
        expect![[r#"
        204
        etag: W/"0000000000000004"
    "#]],
    );
    check_stable(
        &call(&server, "GET", "/digitaltwins/room1/components/thermostat", &[], None).await,
        expect![[r#"
        200
        etag: W/"0000000000000004"
        {"$metadata":{"$lastUpdateTime":"<time>","setpoint":{"lastUpdateTime":"<time>"}},"setpoint":19.5}"#]],
    );
    check(
        &call(&server, "GET", "/digitaltwins/room1/components/nothing", &[], None).await,
        expect![[r#"
        404
        x-ms-error-code: ComponentNotFound
        {"error":{"code":"ComponentNotFound","message":"twin 'room1' has no component 'nothing'","details":[]}}"#]],
    );
    check(
        &call(&server, "GET", "/digitaltwins/ghost", &[], None).await,
        expect![[r#"
        404
        x-ms-error-code: DigitalTwinNotFound
        {"error":{"code":"DigitalTwinNotFound","message":"there is no twin with id 'ghost'","details":[]}}"#]],
    );
    server.stop().await;
}

#[tokio::test]
async fn relationships_and_deletion_rules() {
    let server = start_shipped().await;
    seed(&server).await;
    let rel = json!({"$targetId": "room2", "$relationshipName": "contains", "since": "2025-01-01"});
    check(
        &call(&server, "PUT", "/digitaltwins/room1/relationships/r1", &[], Some(rel)).await,
        expect![[r#"
        200
        etag: W/"0000000000000003"
        {"$relationshipId":"r1","$etag":"W/\"0000000000000003\"","$sourceId":"room1","$relationshipName":"contains","$targetId":"room2","since":"2025-01-01"}"#]],
    );
    check(
        &call(
            &server,
            "PUT",
            "/digitaltwins/room1/relationships/r2",
            &[],
            Some(json!({"$targetId": "room1", "$relationshipName": "contains"})),
        )
        .await,
        expect![[r#"
        400
        x-ms-error-code: OperationNotAllowed
        {"error":{"code":"OperationNotAllowed","message":"a relationship cannot connect a digital twin to itself","details":[]}}"#]],
    );
    check(
        &call(
            &server,
            "PUT",
            "/digitaltwins/room1/relationships/r2",
            &[],
            Some(json!({"$targetId": "ghost", "$relationshipName": "contains"})),
        )
        .await,
        expect![[r#"
            404
            x-ms-error-code: TargetDigitalTwinNotFound
            {"error":{"code":"TargetDigitalTwinNotFound","message":"the target twin 'ghost' does not exist","details":[]}}"#]],
    );
    check(
        &call(&server, "GET", "/digitaltwins/room1/relationships?relationshipName=contains", &[], None).await,
        expect![[r#"
        200
        {"value":[{"$relationshipId":"r1","$etag":"W/\"0000000000000003\"","$sourceId":"room1","$relationshipName":"contains","$targetId":"room2","since":"2025-01-01"}],"nextLink":null}"#]],
    );
    check(
        &call(&server, "GET", "/digitaltwins/room2/incomingrelationships", &[], None).await,
        expect![[r#"
        200
        {"value":[{"$relationshipId":"r1","$sourceId":"room1","$relationshipName":"contains","$relationshipLink":"/digitaltwins/room1/relationships/r1"}],"nextLink":null}"#]],
    );
    check(
        &call(
            &server,
            "PATCH",
            "/digitaltwins/room1/relationships/r1",
            &[],
            Some(json!([{"op": "replace", "path": "/since", "value": "2025-02-01"}])),
        )
        .await,
        expect![[r#"
        204
        etag: W/"0000000000000004"
    "#]],
    );
    check(
        &call(&server, "DELETE", "/digitaltwins/room2", &[], None).await,
        expect![[r#"
        400
        x-ms-error-code: RelationshipsNotDeleted
        {"error":{"code":"RelationshipsNotDeleted","message":"twin 'room2' still has 0 outgoing and 1 incoming relationship(s); delete them first","details":[]}}"#]],
    );
    check(&call(&server, "DELETE", "/digitaltwins/room2?cascade=true", &[], None).await, expect!["204\n"]);
    check(
        &call(&server, "GET", "/digitaltwins/room1/relationships/r1", &[], None).await,
        expect![[r#"
        404
        x-ms-error-code: RelationshipNotFound
        {"error":{"code":"RelationshipNotFound","message":"twin 'room1' has no relationship 'r1'","details":[]}}"#]],
    );
    server.stop().await;
}

#[tokio::test]
async fn telemetry_and_events_are_durable() {
    let server = start_shipped().await;
    seed(&server).await;
    check(
        &call(&server, "POST", "/digitaltwins/room1/telemetry", &[], Some(json!({"co2": 412}))).await,
        expect![[r#"
        400
        x-ms-error-code: MissingArgument
        {"error":{"code":"MissingArgument","message":"The Message-Id header is required.","details":[]}}"#]],
    );
    check(
        &call(&server, "POST", "/digitaltwins/room1/telemetry", &[("message-id", "m-1")], Some(json!({"co2": 412})))
            .await,
        expect!["204\n"],
    );
    check(
        &call(
            &server,
            "POST",
            "/digitaltwins/room1/components/thermostat/telemetry",
            &[("message-id", "m-2")],
            Some(json!({"t": 1})),
        )
        .await,
        expect!["204\n"],
    );
    let events = server.get("/events").await;
    let events: Value = serde_json::from_str(&events.body).expect("a JSON page");
    let kinds: Vec<String> = events["value"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e["type"].as_str().unwrap_or_default(),
                e["subject"].as_str().unwrap_or_default(),
                e["dataschema"].as_str().unwrap_or_default()
            )
        })
        .collect();
    expect![[r#"
        Microsoft.DigitalTwins.Twin.Create room1 
        Microsoft.DigitalTwins.Twin.Create room2 
        microsoft.iot.telemetry  dtmi:ex:Room;1
        microsoft.iot.telemetry thermostat dtmi:ex:Thermostat;1"#]]
    .assert_eq(&kinds.join("\n"));
    assert_eq!(events["nextCursor"], "4");
    let rest = server.get("/events?cursor=4").await;
    check(
        &rest,
        expect![[r#"
        200
        {"value":[],"nextCursor":"4"}"#]],
    );
    let dir = server.stop_keeping_data().await;
    let server = start_shipped_in(dir).await;
    let again = server.get("/events?cursor=2&limit=1").await;
    let again: Value = serde_json::from_str(&again.body).expect("a JSON page");
    assert_eq!(again["value"][0]["id"], "m-1", "telemetry events survive a restart");
    assert_eq!(again["nextCursor"], "3");
    server.stop().await;
}

#[tokio::test]
async fn data_survives_a_restart() {
    let server = start_shipped().await;
    seed(&server).await;
    call(
        &server,
        "PUT",
        "/digitaltwins/room1/relationships/r1",
        &[],
        Some(json!({"$targetId": "room2", "$relationshipName": "contains"})),
    )
    .await;
    call(&server, "PATCH", "/digitaltwins/room2", &[], Some(json!([{"op": "remove", "path": "/name"}]))).await;
    let before: Vec<String> = snapshot_reads(&server).await;
    let dir = server.stop_keeping_data().await;
    let server = start_shipped_in(dir).await;
    let after: Vec<String> = snapshot_reads(&server).await;
    assert_eq!(before, after);
    server.stop().await;
}

/// The bodies of the reads that show the whole sample graph.
async fn snapshot_reads(server: &TestServer) -> Vec<String> {
    let mut out = Vec::new();
    for path in [
        "/models?includeModelDefinition=true",
        "/digitaltwins/room1",
        "/digitaltwins/room2",
        "/digitaltwins/room1/relationships",
        "/digitaltwins/room2/incomingrelationships",
    ] {
        out.push(call(server, "GET", path, &[], None).await.body);
    }
    out
}

#[tokio::test]
async fn metrics_show_graph_sizes_and_commit_latency() {
    let server = start_shipped().await;
    seed(&server).await;
    let metrics = server.get("/metrics").await.body;
    for line in [
        "twinscape_twins{tenant=\"default\"} 2",
        "twinscape_models{tenant=\"default\"} 3",
        "twinscape_relationships{tenant=\"default\"} 0",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    let commits: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("twinscape_store_commit_seconds_count "))
        .and_then(|n| n.parse().ok())
        .expect("a commit count");
    assert_eq!(commits, 3, "one model upload and two twin writes were committed");
    server.stop().await;
}

#[tokio::test]
async fn size_limits_are_configurable() {
    let dir = tempfile::tempdir().expect("a data directory");
    let server = start_shipped_configured(dir, |config| {
        config.limits.string_bytes_max = std::num::NonZeroUsize::new(8).expect("non-zero");
    })
    .await;
    seed(&server).await;
    check(
        &call(
            &server,
            "PATCH",
            "/digitaltwins/room1",
            &[],
            Some(json!([{"op": "replace", "path": "/name", "value": "a name longer than eight bytes"}])),
        )
        .await,
        expect![[r#"
        400
        x-ms-error-code: ValidationFailed
        {"error":{"code":"ValidationFailed","message":"a string in 'name' is 30 bytes; at most 8 are allowed","details":[]}}"#]],
    );
    server.stop().await;
}
