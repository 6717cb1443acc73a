//! Replays the real ADT REST exchanges of `../shared/testdata/adt-rest/adt-rest-error-catalog.jsonl` and compares status codes, error codes, response shapes and the headers the service sent with what this server answers.
//!
//! The recordings leave some parts out (`{id}` placeholders, a malformed header "not captured", a body "same as previous entry"); the replay fills them in the way the recording describes, and prepares the state each exchange assumes (the models and twins the recorded test had made).

use serde_json::{Value, json};

use crate::{TestServer, start_shipped};

const V: &str = "api-version=2023-10-31";

fn catalog() -> Option<Vec<Value>> {
    let root = test_support::testdata(env!("CARGO_MANIFEST_DIR"), "ADT REST catalog replay")?;
    let path = root.join("adt-rest/adt-rest-error-catalog.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    Some(
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("catalog lines are JSON"))
            .collect(),
    )
}

async fn send(
    server: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut all = headers.to_vec();
    if body.is_some() {
        all.push(("content-type", if method == "PATCH" { "application/json-patch+json" } else { "application/json" }));
    }
    let reply = server.send(method, &format!("{path}{sep}{V}"), &all, body.map(|b| b.to_string().into_bytes())).await;
    let json = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    (reply.status, json, reply.headers)
}

/// The state the recorded tests had built before their exchanges.
async fn prepare(server: &TestServer) {
    let models = json!([
        {"@id": "dtmi:samples:DTTestBuilding;1", "@type": "Interface", "@context": "dtmi:dtdl:context;2",
         "contents": [{"@type": "Property", "name": "AverageTemperature", "schema": "double"},
                      {"@type": "Property", "name": "TemperatureUnit", "schema": "string"}]},
        {"@id": "dtmi:samples:DTTestRoom;1", "@type": "Interface", "@context": "dtmi:dtdl:context;2"},
        {"@id": "dtmi:samples:DTTestFloor;1", "@type": "Interface", "@context": "dtmi:dtdl:context;2",
         "contents": [{"@type": "Relationship", "name": "contains", "target": "dtmi:samples:DTTestRoom;1"}]}
    ]);
    assert_eq!(send(server, "POST", "/models", &[], Some(&models)).await.0, 201);
    let building = json!({"$metadata": {"$model": "dtmi:samples:DTTestBuilding;1"}, "AverageTemperature": 68});
    assert_eq!(send(server, "PUT", "/digitaltwins/building1", &[], Some(&building)).await.0, 200);
    let floor = json!({"$metadata": {"$model": "dtmi:samples:DTTestFloor;1"}});
    assert_eq!(send(server, "PUT", "/digitaltwins/DTRelationshipsTestsFloorTwin", &[], Some(&floor)).await.0, 200);
}

#[tokio::test]
async fn replays_the_recorded_exchanges() {
    let Some(entries) = catalog() else { return };
    let server = start_shipped().await;
    prepare(&server).await;
    let mut previous_body = Value::Null;
    let mut replayed = 0;
    let mut mismatches = Vec::new();
    for entry in &entries {
        let case = entry["case"].as_str().unwrap_or_default();
        let request = &entry["request"];
        let method = request["method"].as_str().expect("a method");
        let mut path = request["path"].as_str().expect("a path").to_owned();
        let expected_status = entry["response"]["status"].as_u64().expect("a status") as u16;
        let expected_code = entry["response"]["body"]["error"]["code"].as_str();
        // Fill in what the recording left out.
        if path.contains("{id}") {
            let id = if method == "PUT" { "new-twin" } else { "building1" };
            path = path.replace("{id}", id);
        }
        let body = match &request["body"] {
            Value::String(s) if s.starts_with("<same") => Some(previous_body.clone()),
            Value::Null => None,
            b => Some(b.clone()),
        };
        if let Some(b) = &body {
            previous_body = b.clone();
        }
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(Value::Object(h)) = request.get("headers") {
            for (k, v) in h {
                let v = v.as_str().unwrap_or_default();
                if v.starts_with("<malformed") {
                    headers.push((k.as_str(), "not-an-etag"));
                } else {
                    headers.push((k.as_str(), v));
                }
            }
        }
        // A recorded 404 on a model assumes the model is gone by then.
        if expected_status == 404 && path.starts_with("/models/") {
            send(&server, "DELETE", &path, &[], None).await;
        }
        let (status, json, reply_headers) = send(&server, method, &path, &headers, body.as_ref()).await;
        replayed += 1;
        let code = json["error"]["code"].as_str();
        if status != expected_status || code != expected_code {
            mismatches
                .push(format!("{case}: expected {expected_status} {expected_code:?}, got {status} {code:?}: {json}"));
            continue;
        }
        // Success shapes: the same members as recorded, and the headers the service sent (`ETag`, `query-charge`).
        if let Value::Object(expected) = &entry["response"]["body"]
            && !expected.contains_key("error")
        {
            let keys = |v: &Value| -> Vec<String> {
                let mut k: Vec<String> = v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
                k.sort();
                k
            };
            if keys(&entry["response"]["body"]) != keys(&json)
                || keys(&entry["response"]["body"]["$metadata"]) != keys(&json["$metadata"])
            {
                mismatches.push(format!("{case}: members differ: expected {}, got {json}", entry["response"]["body"]));
            }
            if let Value::Object(recorded) = &entry["response"]["headers"] {
                for name in recorded.keys().filter(|name| !reply_headers.contains_key(name.as_str())) {
                    mismatches.push(format!("{case}: no {name} header"));
                }
            }
        }
    }
    assert!(replayed >= 15, "only {replayed} exchanges replayed");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    server.stop().await;
}
