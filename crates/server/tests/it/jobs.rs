//! Import jobs over HTTP: the NDJSON sent as the body or named by `inputBlobUri`, status from `notstarted` to a final state, counts and per-line errors, the output log, and `GET /export` giving back what was imported.

use std::time::Duration;

use serde_json::Value;

use crate::{TestServer, start_shipped};

const V: &str = "api-version=2023-10-31";

const NDJSON: &str = concat!(
    "{\"Section\": \"Header\"}\n",
    "{\"fileVersion\": \"1.0.0\", \"author\": \"test\", \"organization\": \"test\"}\n",
    "{\"Section\": \"Models\"}\n",
    "{\"@context\": \"dtmi:dtdl:context;3\", \"@id\": \"dtmi:j:Room;1\", \"@type\": \"Interface\", \"contents\": [{\"@type\": \"Property\", \"name\": \"n\", \"schema\": \"integer\"}, {\"@type\": \"Relationship\", \"name\": \"next\"}]}\n",
    "{\"Section\": \"Twins\"}\n",
    "{\"$dtId\": \"a\", \"$metadata\": {\"$model\": \"dtmi:j:Room;1\"}, \"n\": 1}\n",
    "{\"$dtId\": \"b\", \"$metadata\": {\"$model\": \"dtmi:j:Room;1\"}, \"n\": 2}\n",
    "{\"$dtId\": \"c\", \"$metadata\": {\"$model\": \"dtmi:j:Room;1\"}, \"n\": \"three\"}\n",
    "{\"Section\": \"Relationships\"}\n",
    "{\"$dtId\": \"a\", \"$relationshipId\": \"r1\", \"$targetId\": \"b\", \"$relationshipName\": \"next\"}\n",
);

/// Polls a job until it reaches a final state (bounded).
pub(crate) async fn wait_for(server: &TestServer, id: &str) -> Value {
    for _ in 0..500 {
        let reply = server.get(&format!("/jobs/imports/{id}?{V}")).await;
        let job: Value = serde_json::from_str(&reply.body).expect("a job record");
        if matches!(job["status"].as_str(), Some("succeeded" | "failed" | "cancelled")) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("job {id} did not finish");
}

#[tokio::test]
async fn import_job_from_the_body_reports_lines() {
    let server = start_shipped().await;
    let reply = server
        .send(
            "PUT",
            &format!("/jobs/imports/j1?{V}"),
            &[("content-type", "application/x-ndjson")],
            Some(NDJSON.as_bytes().to_vec()),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let job = wait_for(&server, "j1").await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["counts"]["twinsWritten"], 2);
    assert_eq!(job["counts"]["relationshipsWritten"], 1);
    expect_test::expect![[r#"[{"line":8,"message":"twin 'c': 'n': expected an integer between -2147483648 and 2147483647, found \"three\""}]"#]]
        .assert_eq(&job["errors"].to_string());
    assert_eq!(server.get(&format!("/digitaltwins/b?{V}")).await.status, 200);
    // A second job with the same id is refused; the list shows the job.
    let again = server
        .send(
            "PUT",
            &format!("/jobs/imports/j1?{V}"),
            &[("content-type", "application/x-ndjson")],
            Some(NDJSON.as_bytes().to_vec()),
        )
        .await;
    assert_eq!(again.status, 400, "{}", again.body);
    let list: Value = serde_json::from_str(&server.get(&format!("/jobs/imports?{V}")).await.body).expect("a page");
    assert_eq!(list["value"][0]["id"], "j1");
    assert_eq!(server.send("DELETE", &format!("/jobs/imports/j1?{V}"), &[], None).await.status, 204);
    assert_eq!(server.get(&format!("/jobs/imports/j1?{V}")).await.status, 404);
    server.stop().await;
}

#[tokio::test]
async fn import_job_from_a_file_writes_a_log_and_exports_back() {
    let server = start_shipped().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let input = dir.path().join("in.ndjson");
    let output = dir.path().join("out.log");
    let good: String = NDJSON.lines().filter(|l| !l.contains("three")).map(|l| format!("{l}\n")).collect();
    std::fs::write(&input, &good).expect("write the input");
    let body = serde_json::json!({"inputBlobUri": format!("file://{}", input.display()), "outputBlobUri": output.display().to_string()});
    let reply = server
        .send(
            "PUT",
            &format!("/jobs/imports/j2?{V}"),
            &[("content-type", "application/json")],
            Some(body.to_string().into_bytes()),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let job = wait_for(&server, "j2").await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let log = std::fs::read_to_string(&output).expect("the output log");
    assert!(log.lines().count() >= 2 && log.contains("\"jobType\":\"Import\""), "{log}");
    let export = server.get(&format!("/export?{V}")).await;
    assert_eq!(export.header("content-type"), Some("application/x-ndjson"));
    assert!(
        export.body.contains("\"$dtId\":\"a\"") && export.body.contains("\"$relationshipId\":\"r1\""),
        "{}",
        export.body
    );
    let missing = serde_json::json!({"inputBlobUri": "file:///nonexistent/input.ndjson"});
    let reply = server
        .send(
            "PUT",
            &format!("/jobs/imports/j3?{V}"),
            &[("content-type", "application/json")],
            Some(missing.to_string().into_bytes()),
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    server.stop().await;
}
