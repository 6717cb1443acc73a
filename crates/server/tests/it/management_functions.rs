//! User-defined functions of the 2018 face end to end: the occupancy sample's multipart upload (`metadata` and `contents` with its boundary), listing with matchers, the script back, an update that replaces the script, and scripts refused at upload with the reason.

use expect_test::{Expect, expect};
use serde_json::{Value, json};

use crate::management::{BASE, Names, call};
use crate::{TestServer, start_shipped};

const BOUNDARY: &str = "userDefinedFunctionBoundary";

/// Sends a function upload as the sample does: two parts, the metadata as JSON and the script as text.
pub(crate) async fn upload(
    server: &TestServer,
    method: &str,
    path: &str,
    metadata: &Value,
    script: Option<&str>,
) -> (u16, Value) {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Disposition: form-data; name=metadata\r\n\r\n{metadata}\r\n"
    );
    if let Some(script) = script {
        body.push_str(&format!(
            "--{BOUNDARY}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; name=contents\r\n\r\n{script}\r\n"
        ));
    }
    body.push_str(&format!("--{BOUNDARY}--\r\n"));
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let reply = server
        .send(method, &format!("{BASE}/{path}"), &[("content-type", &content_type)], Some(body.into_bytes()))
        .await;
    let value = if reply.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&reply.body).unwrap_or(Value::String(reply.body))
    };
    (reply.status, value)
}

/// The answer as `status body`, ids shown as names and times as `<time>`.
fn check(names: &Names, answer: (u16, Value), expect: Expect) {
    let (status, mut value) = answer;
    blank_times(&mut value);
    expect.assert_eq(&names.show(&format!("{status} {value}")));
}

fn blank_times(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, member) in map.iter_mut() {
                if key == "lastModifiedUtc" {
                    *member = json!("<time>");
                } else {
                    blank_times(member);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(blank_times),
        _ => {}
    }
}

const SCRIPT: &str = "function process(telemetry, executionContext) { log(`saw ${telemetry.SensorId}`); }";

#[tokio::test]
async fn the_sample_uploads_its_function_and_updates_it() {
    let server = start_shipped().await;
    let mut names = Names::default();
    let (_, room) = call(&server, "POST", "spaces", Some(json!({"name": "Focus Room A1"}))).await;
    let room = room.as_str().expect("an id").to_owned();
    names.add(&room, "room");
    let matcher = json!({"Name": "Matcher Motion A1", "SpaceId": room, "Conditions": [{"Target": "Sensor", "Path": "$.dataType", "Value": "\"Motion\"", "Comparison": "Equals"}]});
    let (_, motion) = call(&server, "POST", "matchers", Some(matcher)).await;
    let motion = motion.as_str().expect("an id").to_owned();
    names.add(&motion, "matcher");
    let metadata = json!({"Matchers": [motion], "Name": "Motion Processor", "SpaceId": room});
    let (status, id) = upload(&server, "POST", "userdefinedfunctions", &metadata, Some(SCRIPT)).await;
    assert_eq!(status, 201, "{id}");
    let id = id.as_str().expect("an id").to_owned();
    names.add(&id, "function");
    check(
        &names,
        call(
            &server,
            "GET",
            &format!("userdefinedfunctions?names=Motion Processor&spaceIds={room}&includes=matchers,contentinfo"),
            None,
        )
        .await,
        expect![[
            r#"200 [{"id":"<function>","spaceId":"<room>","name":"Motion Processor","disabled":false,"matchers":[{"id":"<matcher>","name":"Matcher Motion A1","spaceId":"<room>"}],"contentInfo":{"type":"text/javascript","sizeBytes":83,"version":"1","lastModifiedUtc":"<time>"}}]"#
        ]],
    );
    let script = server.get(&format!("{BASE}/userdefinedfunctions/{id}/contents")).await;
    assert_eq!((script.status, script.body.as_str()), (200, SCRIPT));
    // The sample's update: the same two parts, the metadata with the id.
    let changed = "function process(telemetry, executionContext) { }";
    let metadata = json!({"Id": id, "Matchers": [motion], "Name": "Motion Processor", "SpaceId": room});
    assert_eq!(upload(&server, "PATCH", &format!("userdefinedfunctions/{id}"), &metadata, Some(changed)).await.0, 204);
    check(
        &names,
        call(&server, "GET", &format!("userdefinedfunctions/{id}?includes=contentinfo"), None).await,
        expect![[
            r#"200 {"id":"<function>","spaceId":"<room>","name":"Motion Processor","disabled":false,"contentInfo":{"type":"text/javascript","sizeBytes":49,"version":"2","lastModifiedUtc":"<time>"}}"#
        ]],
    );
    // Refused at upload, with the reason.
    let cases = [
        (json!({"Name": "Broken", "SpaceId": room}), Some("function process( {")),
        (json!({"Name": "NoProcess", "SpaceId": room}), Some("var x = 1;")),
        (json!({"Name": "Spinner", "SpaceId": room}), Some("while (true) {} function process() {}")),
        (json!({"Name": "Orphan", "SpaceId": room, "Matchers": ["no-such-matcher"]}), Some(SCRIPT)),
        (json!({"Name": "Motion Processor", "SpaceId": room}), Some(SCRIPT)),
        (json!({"Name": "NoScript", "SpaceId": room}), None),
    ];
    let mut out = String::new();
    for (metadata, script) in cases {
        let (status, value) = upload(&server, "POST", "userdefinedfunctions", &metadata, script).await;
        out.push_str(&format!("{status} {}\n", names.show(value["error"]["message"].as_str().unwrap_or("?"))));
    }
    expect![[r#"
        400 the script is refused: SyntaxError: invalid property name (at function.js:2:1)
        400 the script is refused: the function defines no `process(telemetry, executionContext)` function
        400 the script is refused: timed out
        404 matcher 'no-such-matcher' was not found
        409 function '<function>' on the same space is named 'Motion Processor'; names are unique on a space
        400 the part `contents` (the script) is required
    "#]]
    .assert_eq(&out);
    assert_eq!(call(&server, "DELETE", &format!("userdefinedfunctions/{id}"), None).await.0, 204);
    assert_eq!(call(&server, "GET", &format!("userdefinedfunctions/{id}"), None).await.0, 404);
    server.stop().await;
}
