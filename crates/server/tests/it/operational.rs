//! The operational routes and the layers every request passes: `/healthz`, `/metrics` counting by route template, and the request id.

use expect_test::{Expect, expect};

use crate::{Reply, TestServer, start};

fn check(reply: &Reply, expect: Expect) {
    expect.assert_eq(&reply.render(&["content-type", "x-ms-error-code"]));
}

#[tokio::test]
async fn healthz() {
    let server = start().await;
    check(
        &server.get("/healthz").await,
        expect![[r#"
            200
            content-type: application/json
            {"status":"ok"}"#]],
    );
    server.stop().await;
}

/// The HTTP metrics lines of a `/metrics` scrape, sorted, leaving out buckets and sums (whose values are timings).
async fn http_metrics(server: &TestServer) -> String {
    let reply = server.get("/metrics").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    let mut lines: Vec<&str> = reply
        .body
        .lines()
        .filter(|line| {
            line.starts_with("http_requests_total") || line.starts_with("http_request_duration_seconds_count")
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let server = start().await;
    server.get("/healthz").await;
    server.get("/healthz").await;
    server.get("/echo/room-1?api-version=2023-10-31").await;
    server.get("/echo/room-2?api-version=2023-10-31").await;
    server.get("/echo/room-3").await;
    server.get("/no/such/route").await;
    server.send("DELETE", "/healthz", &[], None).await;
    expect![[r#"
        http_request_duration_seconds_count{method="DELETE",route="/healthz"} 1
        http_request_duration_seconds_count{method="GET",route="/echo/{id}"} 3
        http_request_duration_seconds_count{method="GET",route="/healthz"} 2
        http_request_duration_seconds_count{method="GET",route="unmatched"} 1
        http_requests_total{method="DELETE",route="/healthz",status="405"} 1
        http_requests_total{method="GET",route="/echo/{id}",status="200"} 2
        http_requests_total{method="GET",route="/echo/{id}",status="400"} 1
        http_requests_total{method="GET",route="/healthz",status="200"} 2
        http_requests_total{method="GET",route="unmatched",status="404"} 1"#]]
    .assert_eq(&http_metrics(&server).await);
    // The scrape itself is counted once it has been answered.
    assert!(
        http_metrics(&server).await.contains(r#"http_requests_total{method="GET",route="/metrics",status="200"} 1"#)
    );
    server.stop().await;
}

#[tokio::test]
async fn every_response_carries_a_fresh_request_id() {
    let server = start().await;
    let ids: Vec<String> = [server.get("/healthz").await, server.get("/nowhere").await]
        .iter()
        .map(|reply| reply.header("x-request-id").expect("a request id").to_owned())
        .collect();
    assert!(ids.iter().all(|id| id.len() == 36), "UUIDs: {ids:?}");
    assert_ne!(ids[0], ids[1]);
    server.stop().await;
}
