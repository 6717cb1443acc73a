//! `POST /query` end to end: pages and continuation tokens, pages that keep the snapshot their query ran on while writes go on, expired and unknown tokens, ADT's error bodies, `query-charge`, read-your-writes for several clients at once, and queries that outgrow the time they may run on the request's thread.
//!
//! Queries stay within what the engine runs today (SELECT `*`, projections, WHERE, `$dtId`, `IS_OF_MODEL`, JOIN, `COUNT()`); MATCH, ORDER BY and GROUP BY are the engine's own tests' business.
//! Engine messages are being reworded as the engine grows, so engine errors are checked by ADT code and engine code; the server's own messages are snapshots.

use std::collections::BTreeSet;
use std::time::Duration;

use expect_test::{Expect, expect};
use serde_json::{Value, json};

use crate::jobs::wait_for;
use crate::{Reply, TestServer, start_shipped, start_shipped_configured, start_shipped_in};

const V: &str = "api-version=2023-10-31";

const MODELS: &str = r#"[
    {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:q:Space;1", "@type": "Interface",
     "contents": [{"@type": "Property", "name": "name", "schema": "string"},
                  {"@type": "Relationship", "name": "contains", "target": "dtmi:q:Space;1"}]},
    {"@context": "dtmi:dtdl:context;3", "@id": "dtmi:q:Room;1", "@type": "Interface", "extends": "dtmi:q:Space;1",
     "contents": [{"@type": "Property", "name": "temperature", "schema": "double"}]}
]"#;

/// The one caller of `POST /query`: sends `body` with `headers` (content type added).
async fn query(server: &TestServer, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut all = headers.to_vec();
    all.push(("content-type", "application/json"));
    server.send("POST", &format!("/query?{V}"), &all, Some(body.as_bytes().to_vec())).await
}

/// Status, error code and body of a reply, for snapshots.
fn check(reply: &Reply, expect: Expect) {
    expect.assert_eq(&reply.render(&["x-ms-error-code"]));
}

/// A 200 page: its rows, its continuation token and its charge.
struct Page {
    rows: Vec<Value>,
    token: Option<String>,
    charge: f64,
}

fn page(reply: &Reply) -> Page {
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let charge = reply.header("query-charge").expect("every page has query-charge");
    let charge: f64 = charge.parse().unwrap_or_else(|_| panic!("query-charge is a number: {charge}"));
    let body: Value = serde_json::from_str(&reply.body).expect("a JSON page");
    let object = body.as_object().expect("a page is an object");
    assert_eq!(object.keys().collect::<Vec<_>>(), ["value", "continuationToken"], "{body}");
    let token = match &body["continuationToken"] {
        Value::Null => None,
        Value::String(token) => Some(token.clone()),
        other => panic!("a token is a string or null: {other}"),
    };
    Page { rows: body["value"].as_array().expect("value is a list").clone(), token, charge }
}

/// Runs `text` to its last page with `headers` on every request; the pages in order.
async fn pages(server: &TestServer, headers: &[(&str, &str)], text: &str) -> Vec<Page> {
    let mut pages = vec![page(&query(server, headers, &json!({ "query": text }).to_string()).await)];
    while let Some(token) = pages.last().and_then(|p| p.token.clone()) {
        assert!(pages.len() < 100, "a query of this test has fewer than 100 pages");
        pages.push(page(&query(server, headers, &json!({ "continuationToken": token }).to_string()).await));
    }
    pages
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter().map(|row| row["$dtId"].as_str().expect("a row with $dtId").to_owned()).collect()
}

/// Creates the models and `count` rooms `room-0000`, `room-0001`, … (temperature = index) through one import job.
async fn seed_rooms(server: &TestServer, count: usize) {
    let models: Vec<Value> = serde_json::from_str(MODELS).expect("the test models are JSON");
    let mut ndjson =
        String::from("{\"Section\": \"Header\"}\n{\"fileVersion\": \"1.0.0\"}\n{\"Section\": \"Models\"}\n");
    for model in models {
        ndjson.push_str(&format!("{model}\n"));
    }
    ndjson.push_str("{\"Section\": \"Twins\"}\n");
    for i in 0..count {
        let twin = json!({"$dtId": format!("room-{i:04}"), "$metadata": {"$model": "dtmi:q:Room;1"}, "temperature": i});
        ndjson.push_str(&format!("{twin}\n"));
    }
    let path = format!("/jobs/imports/seed?{V}");
    let reply = server.send("PUT", &path, &[("content-type", "application/x-ndjson")], Some(ndjson.into_bytes())).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let job = wait_for(server, "seed").await;
    assert_eq!(job["status"], "succeeded", "{job}");
}

async fn write(server: &TestServer, method: &str, path: &str, body: Value) -> Reply {
    let content_type = if method == "PATCH" { "application/json-patch+json" } else { "application/json" };
    let path = format!("{path}{}{V}", if path.contains('?') { '&' } else { '?' });
    let body = (!body.is_null()).then(|| body.to_string().into_bytes());
    let reply = server.send(method, &path, &[("content-type", content_type)], body).await;
    assert!(reply.status < 300, "{method} {path}: {} {}", reply.status, reply.body);
    reply
}

#[tokio::test]
async fn pages_follow_continuation_tokens() {
    let server = start_shipped().await;
    seed_rooms(&server, 2500).await;
    let all = pages(&server, &[], "SELECT * FROM DIGITALTWINS").await;
    assert_eq!(all.iter().map(|p| p.rows.len()).collect::<Vec<_>>(), [1000, 1000, 500]);
    let seen: BTreeSet<String> = all.iter().flat_map(|p| ids(&p.rows)).collect();
    assert_eq!(seen.len(), 2500, "every twin once");
    assert_eq!(all[0].rows[0]["$metadata"]["$model"], "dtmi:q:Room;1", "SELECT * returns twin documents");
    // The last page can be retried at once (the result is kept a few seconds more for that).
    let last = json!({ "continuationToken": all[1].token }).to_string();
    let retried = page(&query(&server, &[], &last).await);
    assert_eq!((retried.rows.len(), retried.token), (500, None), "the last page, retried");

    // A smaller max-items-per-page is honoured on every page; a larger one is capped at query_page_items_max.
    let small = pages(&server, &[("max-items-per-page", "700")], "SELECT T.$dtId FROM DIGITALTWINS T").await;
    assert_eq!(small.iter().map(|p| p.rows.len()).collect::<Vec<_>>(), [700, 700, 700, 400]);
    assert_eq!(small[0].rows[0].as_object().map(|o| o.len()), Some(1), "a projection: {}", small[0].rows[0]);
    let large = pages(&server, &[("max-items-per-page", "5000")], "SELECT * FROM DIGITALTWINS").await;
    assert_eq!(large.iter().map(|p| p.rows.len()).collect::<Vec<_>>(), [1000, 1000, 500]);

    // Without the header, later pages keep the first page's size; with it, they change size.
    let first =
        page(&query(&server, &[("max-items-per-page", "100")], r#"{"query": "SELECT * FROM DIGITALTWINS"}"#).await);
    let token = first.token.expect("more pages");
    let body = json!({ "continuationToken": token }).to_string();
    assert_eq!(page(&query(&server, &[], &body).await).rows.len(), 100);
    assert_eq!(page(&query(&server, &[("max-items-per-page", "7")], &body).await).rows.len(), 7, "a retried page");

    // A result within one page ends at once; the query is ignored when a token is given.
    let count = pages(&server, &[], "SELECT COUNT() FROM DIGITALTWINS WHERE IS_OF_MODEL('dtmi:q:Space;1')").await;
    assert_eq!(count.len(), 1);
    assert_eq!(count[0].rows, [json!({"COUNT": 2500})]);
    let ignored = json!({ "query": "SELECT COUNT() FROM DIGITALTWINS", "continuationToken": token }).to_string();
    assert_eq!(page(&query(&server, &[], &ignored).await).rows.len(), 100);

    // Queries are counted under their route; the results still kept (the one being read, and those whose last page
    // was served moments ago, kept for a retry) show in the cursor gauges.
    let metrics = server.get("/metrics").await.body;
    assert!(metrics.contains(r#"http_requests_total{method="POST",route="/query",status="200"}"#), "{metrics}");
    let kept = metrics.lines().find_map(|l| l.strip_prefix("twinscape_query_cursors ")).map(str::parse::<u64>);
    assert!(matches!(kept, Some(Ok(n)) if n >= 1), "{metrics}");
    server.stop().await;
}

#[tokio::test]
async fn later_pages_come_from_the_snapshot_of_the_first() {
    let server = start_shipped().await;
    seed_rooms(&server, 10).await;
    let text = "SELECT T.$dtId, T.temperature FROM DIGITALTWINS T WHERE IS_OF_MODEL(T, 'dtmi:q:Room;1')";
    let first = page(&query(&server, &[("max-items-per-page", "4")], &json!({ "query": text }).to_string()).await);
    let served: BTreeSet<String> = ids(&first.rows).into_iter().collect();
    let unserved: Vec<String> = (0..10).map(|i| format!("room-{i:04}")).filter(|id| !served.contains(id)).collect();
    assert_eq!(unserved.len(), 6);
    // Change the graph under the rest of the result: delete one unserved twin, patch another, add a new one.
    write(&server, "DELETE", &format!("/digitaltwins/{}", unserved[0]), Value::Null).await;
    let patch = json!([{"op": "replace", "path": "/temperature", "value": -1.0}]);
    write(&server, "PATCH", &format!("/digitaltwins/{}", unserved[1]), patch).await;
    let new = json!({"$metadata": {"$model": "dtmi:q:Room;1"}, "temperature": 99.0});
    write(&server, "PUT", "/digitaltwins/room-new", new).await;

    let mut rows = first.rows.clone();
    let mut token = first.token;
    while let Some(t) = token {
        let next = page(&query(&server, &[], &json!({ "continuationToken": t }).to_string()).await);
        rows.extend(next.rows);
        token = next.token;
    }
    let mut before: Vec<(String, f64)> = rows
        .iter()
        .map(|r| (r["$dtId"].as_str().expect("an id").to_owned(), r["temperature"].as_f64().expect("a temperature")))
        .collect();
    before.sort_by(|a, b| a.0.cmp(&b.0));
    let expected: Vec<(String, f64)> = (0..10).map(|i| (format!("room-{i:04}"), f64::from(i))).collect();
    assert_eq!(before, expected, "every page shows the graph as the query first saw it");

    // A new query sees the writes.
    let after = pages(&server, &[], text).await;
    let after: BTreeSet<String> = ids(&after[0].rows).into_iter().collect();
    assert!(after.contains("room-new") && !after.contains(&unserved[0]) && after.len() == 10, "{after:?}");
    server.stop().await;
}

#[tokio::test]
async fn expired_and_unknown_tokens_are_bad_requests() {
    let dir = tempfile::tempdir().expect("create a data directory");
    let server = start_shipped_configured(dir, |config| config.query.cursor_idle = Duration::from_millis(50)).await;
    seed_rooms(&server, 5).await;

    // Idle longer than cursor_idle_ms: the rest of the result is gone.
    let stale = first_token(&server, "2").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let expired = query(&server, &[], &stale).await;
    check(
        &expired,
        expect![[r#"
        400
        x-ms-error-code: BadRequest
        {"error":{"code":"BadRequest","message":"The continuation token has expired or is unknown: the rest of a query's result is kept until its last page is read, at most 50ms between pages (setting `query.cursor_idle_ms`), and is dropped sooner when the results kept reach `query.cursor_bytes_max`. Run the query again.","details":[]}}"#]],
    );

    check(
        &query(&server, &[], r#"{"continuationToken": "bm90IGEgdG9rZW4"}"#).await,
        expect![[r#"
        400
        x-ms-error-code: BadRequest
        {"error":{"code":"BadRequest","message":"The continuation token is not valid: corrupted.","details":[]}}"#]],
    );
    // The token of a list's nextLink is well formed but names no query.
    let models = server.send("GET", &format!("/models?{V}"), &[("max-items-per-page", "1")], None).await;
    let link: Value = serde_json::from_str(&models.body).expect("a page of models");
    let link = link["nextLink"].as_str().expect("a second page of models");
    let list_token = link.split("continuationToken=").nth(1).expect("a token in the link");
    check(
        &query(&server, &[], &json!({ "continuationToken": list_token }).to_string()).await,
        expect![[r#"
        400
        x-ms-error-code: BadRequest
        {"error":{"code":"BadRequest","message":"The continuation token is not valid: it is not a query's token.","details":[]}}"#]],
    );
    server.stop().await;
}

/// The body that asks for the second page of all twins, with pages of `size`.
async fn first_token(server: &TestServer, size: &str) -> String {
    let reply = query(server, &[("max-items-per-page", size)], r#"{"query": "SELECT * FROM DIGITALTWINS"}"#).await;
    json!({ "continuationToken": page(&reply).token.expect("more pages") }).to_string()
}

#[tokio::test]
async fn errors_in_adt_format() {
    let dir = tempfile::tempdir().expect("create a data directory");
    let server = start_shipped_configured(dir, |config| {
        config.query.rows_max = std::num::NonZeroUsize::new(3).expect("positive");
        config.query.cursor_bytes_max = std::num::NonZeroUsize::new(200).expect("positive");
    })
    .await;
    seed_rooms(&server, 3).await;
    check(
        &query(&server, &[], r#"{"query": "foo"}"#).await,
        expect![[r#"
            400
            x-ms-error-code: SqlQueryError
            {"error":{"code":"SqlQueryError","message":"SQL query parse failed: line 1, column 1: expected SELECT at the start of the query, found 'foo' (Q0101).","details":[]}}"#]],
    );
    check(
        &query(&server, &[], r#"{"query": "SELECT *\nFROM DIGITALTWINS T\nWHERE T.name = "}"#).await,
        expect![[r#"
            400
            x-ms-error-code: SqlQueryError
            {"error":{"code":"SqlQueryError","message":"SQL query parse failed: line 3, column 16: expected a value, a property path or a function call, found the end of the query (Q0101).","details":[]}}"#]],
    );
    let star_with_join = query(
        &server,
        &[],
        r#"{"query": "SELECT * FROM DIGITALTWINS T JOIN U RELATED T.contains WHERE T.$dtId = 'room-0000'"}"#,
    )
    .await;
    assert_eq!(star_with_join.status, 400);
    assert_eq!(star_with_join.header("x-ms-error-code"), Some("SqlQueryError"));
    assert!(star_with_join.body.contains("(Q0302)."), "{}", star_with_join.body);

    // Budgets: rows larger than cursor_bytes_max (stopped while computed), and more rows than rows_max.
    let three = "SELECT * FROM DIGITALTWINS WHERE $dtId IN ['room-0000', 'room-0001', 'room-0002']";
    check(
        &query(&server, &[("max-items-per-page", "1")], &json!({ "query": three }).to_string()).await,
        expect![[r#"
            400
            x-ms-error-code: LimitExceeded
            {"error":{"code":"LimitExceeded","message":"The query's rows take more than the limit of 200 bytes (Q0403). The limit is the setting `query.cursor_bytes_max` (environment variable TWINSCAPE__QUERY__CURSOR_BYTES_MAX).","details":[]}}"#]],
    );
    seed_more(&server).await;
    let rows = query(&server, &[], r#"{"query": "SELECT T.$dtId FROM DIGITALTWINS T"}"#).await;
    assert_eq!(rows.status, 400, "{}", rows.body);
    assert_eq!(rows.header("x-ms-error-code"), Some("LimitExceeded"));
    let hint = "(Q0401). The limit is the setting `query.rows_max` (environment variable TWINSCAPE__QUERY__ROWS_MAX).";
    assert!(rows.body.contains(hint), "{}", rows.body);

    // The body: missing or empty query, malformed JSON, a wrong shape.
    let empty = query(&server, &[], "{}").await;
    check(
        &empty,
        expect![[r#"
            400
            x-ms-error-code: BadRequest
            {"error":{"code":"BadRequest","message":"The request body needs a non-empty `query`, or the `continuationToken` of an earlier page.","details":[]}}"#]],
    );
    let blank = query(&server, &[], r#"{"query": "  ", "continuationToken": ""}"#).await;
    assert_eq!((blank.status, &blank.body), (empty.status, &empty.body));
    check(
        &query(&server, &[], r#"{"query": "SELECT"#).await,
        expect![[r#"
        400
        x-ms-error-code: InvalidArgument
        {"error":{"code":"InvalidArgument","message":"Failed to parse the request body as JSON: query: EOF while parsing a string at line 1 column 17","details":[]}}"#]],
    );
    check(
        &query(&server, &[], r#"{"query": 5}"#).await,
        expect![[r#"
        400
        x-ms-error-code: InvalidArgument
        {"error":{"code":"InvalidArgument","message":"Failed to deserialize the JSON body into the target type: query: invalid type: integer `5`, expected a string at line 1 column 11","details":[]}}"#]],
    );
    let unversioned =
        server.send("POST", "/query", &[("content-type", "application/json")], Some(b"{}".to_vec())).await;
    assert_eq!(unversioned.header("x-ms-error-code"), Some("MissingArgument"));
    server.stop().await;
}

/// One more room, so `seed_rooms(3)` plus this exceed `rows_max = 3`.
async fn seed_more(server: &TestServer) {
    let twin = json!({"$metadata": {"$model": "dtmi:q:Space;1"}, "name": "extra"});
    write(server, "PUT", "/digitaltwins/space-extra", twin).await;
}

#[tokio::test]
async fn query_charge_grows_with_work() {
    let server = start_shipped().await;
    seed_rooms(&server, 500).await;
    let one = pages(&server, &[], "SELECT * FROM DIGITALTWINS WHERE $dtId = 'room-0001'").await;
    let all = pages(&server, &[], "SELECT * FROM DIGITALTWINS").await;
    assert_eq!((one[0].rows.len(), all[0].rows.len()), (1, 500));
    assert!(one[0].charge >= 1.0, "a query costs at least one unit: {}", one[0].charge);
    assert!(all[0].charge > one[0].charge, "{} > {}", all[0].charge, one[0].charge);
    // A later page is charged for serving its rows, not for the query again.
    let paged = pages(&server, &[("max-items-per-page", "100")], "SELECT * FROM DIGITALTWINS").await;
    assert_eq!(paged.len(), 5);
    assert!(
        paged[0].charge >= all[0].charge && paged[1].charge < paged[0].charge,
        "{} {}",
        paged[0].charge,
        paged[1].charge
    );
    server.stop().await;
}

/// Several clients at once, each interleaving writes with queries: a query sent after a write's response sees that write.
///
/// The server runs on two worker threads so requests really overlap; its log lines there escape the test thread's capture.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_your_writes_across_concurrent_clients() {
    let server = start_shipped().await;
    seed_rooms(&server, 0).await;
    tokio::join!(interleave(&server, 0), interleave(&server, 1), interleave(&server, 2), interleave(&server, 3));
    let count = pages(&server, &[], "SELECT COUNT() FROM DIGITALTWINS").await;
    assert_eq!(count[0].rows, [json!({"COUNT": 4})], "each client leaves its last twin");
    server.stop().await;
}

/// One client's rounds: create a twin, patch it, relate it to the previous one and delete the previous one, checking each write with a query sent after its response.
async fn interleave(server: &TestServer, client: usize) {
    let mut previous: Option<String> = None;
    for step in 0..12_u32 {
        let id = format!("c{client}-{step:02}");
        let twin = json!({"$metadata": {"$model": "dtmi:q:Room;1"}, "temperature": 0.0, "name": id});
        write(server, "PUT", &format!("/digitaltwins/{id}"), twin).await;
        let created = format!("SELECT T.$dtId, T.temperature FROM DIGITALTWINS T WHERE T.$dtId = '{id}'");
        assert_eq!(rows(server, &created).await, [json!({"$dtId": id, "temperature": 0.0})], "the created twin");

        let temperature = f64::from(step) + 0.5;
        let patch = json!([{"op": "replace", "path": "/temperature", "value": temperature}]);
        write(server, "PATCH", &format!("/digitaltwins/{id}"), patch).await;
        let by_name = format!(
            "SELECT T.temperature FROM DIGITALTWINS T WHERE T.name = '{id}' AND IS_OF_MODEL(T, 'dtmi:q:Room;1')"
        );
        assert_eq!(rows(server, &by_name).await, [json!({ "temperature": temperature })], "the patched property");

        let Some(prev) = previous.replace(id.clone()) else { continue };
        let rel = json!({"$targetId": prev, "$relationshipName": "contains"});
        write(server, "PUT", &format!("/digitaltwins/{id}/relationships/to-prev"), rel).await;
        let related = format!("SELECT U.$dtId FROM DIGITALTWINS T JOIN U RELATED T.contains WHERE T.$dtId = '{id}'");
        assert_eq!(rows(server, &related).await, [json!({ "$dtId": prev })], "the new relationship");

        write(server, "DELETE", &format!("/digitaltwins/{prev}?cascade=true"), Value::Null).await;
        let gone = rows(server, &format!("SELECT * FROM DIGITALTWINS WHERE $dtId IN ['{prev}', '{id}']")).await;
        assert_eq!(ids(&gone), [id.as_str()], "the deleted twin");
        let count = format!("SELECT COUNT() FROM DIGITALTWINS T JOIN U RELATED T.contains WHERE T.$dtId = '{id}'");
        assert_eq!(rows(server, &count).await, [json!({"COUNT": 0})], "no relationship to the deleted twin");
    }
}

/// A query runs on the request's thread until it runs out of `inline_time_max`, then again on a blocking thread with the whole `time_max`; with inline runs off, every query runs on a blocking thread.
/// Either way the answer is the same, and later writes are seen.
#[tokio::test]
async fn long_queries_move_to_a_blocking_thread() {
    let dir = tempfile::tempdir().expect("create a data directory");
    let server = start_shipped_configured(dir, |config| config.query.inline_time_max = Duration::from_micros(1)).await;
    seed_rooms(&server, 5000).await;
    // The engine looks at the clock every few thousand twins, so this count (which reads every twin's temperature) outlasts 1 µs; the lookup ends before it looks.
    let count = "SELECT COUNT() FROM DIGITALTWINS T WHERE T.temperature >= 0";
    assert_eq!(rows(&server, count).await, [json!({"COUNT": 5000})]);
    let one = "SELECT T.temperature FROM DIGITALTWINS T WHERE T.$dtId = 'room-4321'";
    assert_eq!(rows(&server, one).await, [json!({"temperature": 4321})]);
    let patch = json!([{"op": "replace", "path": "/temperature", "value": 42.5}]);
    write(&server, "PATCH", "/digitaltwins/room-4321", patch).await;
    write(&server, "DELETE", "/digitaltwins/room-0000", Value::Null).await;
    assert_eq!(rows(&server, one).await, [json!({"temperature": 42.5})]);
    assert_eq!(rows(&server, count).await, [json!({"COUNT": 4999})]);
    expect![[r#"
        twinscape_query_runs_total{thread="blocking"} 2
        twinscape_query_runs_total{thread="inline"} 2"#]]
    .assert_eq(&runs(&server).await);
    server.stop().await;

    let dir = tempfile::tempdir().expect("create a data directory");
    let server = start_shipped_configured(dir, |config| config.query.inline_time_max = Duration::ZERO).await;
    seed_rooms(&server, 3).await;
    assert_eq!(rows(&server, one).await, Vec::<Value>::new());
    assert_eq!(rows(&server, count).await, [json!({"COUNT": 3})]);
    expect![[r#"twinscape_query_runs_total{thread="blocking"} 2"#]].assert_eq(&runs(&server).await);
    server.stop().await;
}

/// The lines of `twinscape_query_runs_total` in `/metrics`, sorted.
async fn runs(server: &TestServer) -> String {
    let metrics = server.get("/metrics").await.body;
    let mut lines: Vec<&str> = metrics.lines().filter(|line| line.starts_with("twinscape_query_runs_total{")).collect();
    lines.sort_unstable();
    lines.join("\n")
}

/// Every row of `text`, over all its pages.
async fn rows(server: &TestServer, text: &str) -> Vec<Value> {
    pages(server, &[], text).await.into_iter().flat_map(|p| p.rows).collect()
}

/// The twins `IN_SPACE(T, space)` finds, sorted.
async fn in_space(server: &TestServer, space: &str) -> Vec<String> {
    let mut found =
        ids(&rows(server, &format!("SELECT T.$dtId FROM DIGITALTWINS T WHERE IN_SPACE(T, '{space}')")).await);
    found.sort();
    found
}

/// PUTs `source -contains-> target` as relationship `id`, whatever the answer.
async fn contain(server: &TestServer, source: &str, id: &str, target: &str) -> Reply {
    let body = json!({"$targetId": target, "$relationshipName": "contains"}).to_string().into_bytes();
    let path = format!("/digitaltwins/{source}/relationships/{id}?{V}");
    server.send("PUT", &path, &[("content-type", "application/json")], Some(body)).await
}

#[tokio::test]
async fn in_space_follows_the_containment_tree_which_refuses_second_parents_and_cycles() {
    let server = start_shipped().await;
    seed_rooms(&server, 4).await;
    for (source, id, target) in [("room-0000", "a", "room-0001"), ("room-0001", "b", "room-0002")] {
        assert_eq!(contain(&server, source, id, target).await.status, 200);
    }
    check(
        &contain(&server, "room-0003", "c", "room-0002").await,
        expect![[r#"
        409
        x-ms-error-code: InvalidRelationship
        {"error":{"code":"InvalidRelationship","message":"twin 'room-0002' is contained in 'room-0001'; relationship 'c' (contains) of twin 'room-0003' would also place it in 'room-0003', and a twin has at most one containment parent","details":[]}}"#]],
    );
    check(
        &contain(&server, "room-0002", "c", "room-0000").await,
        expect![[r#"
        409
        x-ms-error-code: InvalidRelationship
        {"error":{"code":"InvalidRelationship","message":"relationship 'c' (contains) of twin 'room-0002' would place 'room-0000' inside 'room-0002', which lies within 'room-0000' (through room-0002 < room-0001): containment cannot form a cycle","details":[]}}"#]],
    );
    assert_eq!(in_space(&server, "room-0000").await, ["room-0000", "room-0001", "room-0002"]);
    // A move: the old parent's relationship goes first, then the new one comes.
    write(&server, "DELETE", "/digitaltwins/room-0001/relationships/b", Value::Null).await;
    assert_eq!(contain(&server, "room-0003", "c", "room-0002").await.status, 200);
    assert_eq!(in_space(&server, "room-0000").await, ["room-0000", "room-0001"]);
    assert_eq!(in_space(&server, "room-0003").await, ["room-0002", "room-0003"]);
    server.stop().await;
}

#[tokio::test]
async fn stored_relationships_that_break_the_rule_load_with_a_warning() {
    // Written without containment, then served with the shipped declaration, under which room-0002 has two parents.
    let server = start_shipped_configured(tempfile::tempdir().expect("a data directory"), |config| {
        config.containment = graph::Containment::none();
    })
    .await;
    seed_rooms(&server, 3).await;
    for (source, id, target) in [("room-0000", "a", "room-0002"), ("room-0001", "b", "room-0002")] {
        assert_eq!(contain(&server, source, id, target).await.status, 200);
    }
    let dir = server.stop_keeping_data().await;
    // The warning the load logs comes from the blocking thread that opens the store, which this capture does not see;
    // `server::data`'s own test checks it.
    let server = start_shipped_in(dir).await;
    assert_eq!(in_space(&server, "room-0000").await, ["room-0000", "room-0002"], "the first parent found is kept");
    assert_eq!(in_space(&server, "room-0001").await, ["room-0001"]);
    let count = "SELECT COUNT() FROM RELATIONSHIPS R";
    assert_eq!(rows(&server, count).await, [json!({"COUNT": 2})], "no relationship is lost");
    server.stop().await;
}

#[tokio::test]
async fn the_parser_bounds_are_settings() {
    let dir = tempfile::tempdir().expect("create a data directory");
    let server = start_shipped_configured(dir, |config| {
        config.query.text_chars_max = std::num::NonZeroUsize::new(60).expect("positive");
        config.query.in_items_max = std::num::NonZeroUsize::new(2).expect("positive");
    })
    .await;
    let long = query(
        &server,
        &[],
        r#"{"query": "SELECT * FROM DIGITALTWINS WHERE name = 'a name longer than the limit allows'"}"#,
    )
    .await;
    assert_eq!((long.status, long.header("x-ms-error-code")), (400, Some("SqlQueryError")), "{}", long.body);
    assert!(long.body.contains("(Q0201). The limit is the setting `query.text_chars_max`"), "{}", long.body);
    let list = query(&server, &[], r#"{"query": "SELECT * FROM DIGITALTWINS WHERE $dtId IN ['a','b','c']"}"#).await;
    assert!(list.body.contains("(Q0203). The limit is the setting `query.in_items_max`"), "{}", list.body);
    let short = query(&server, &[], r#"{"query": "SELECT * FROM DIGITALTWINS"}"#).await;
    assert_eq!(short.status, 200, "{}", short.body);
    server.stop().await;
}
