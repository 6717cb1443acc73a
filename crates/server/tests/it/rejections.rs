//! Framework-level rejections come out in the ADT error format with `x-ms-error-code`: unknown routes, wrong methods, oversized and malformed bodies, wrong content types, missing or unknown `api-version`, panics.

use expect_test::{Expect, expect};

use crate::{TestServer, start, start_with};

const JSON: (&str, &str) = ("content-type", "application/json");

/// Sends a request and compares status, error headers and body with `expect`.
async fn check(
    server: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    expect: Expect,
) {
    let reply = server.send(method, path, headers, body.map(<[u8]>::to_vec)).await;
    expect.assert_eq(&reply.render(&["x-ms-error-code", "content-type", "allow"]));
}

#[tokio::test]
async fn unknown_route_and_wrong_method() {
    let server = start().await;
    check(
        &server,
        "GET",
        "/digitaltwins/nope?api-version=2023-10-31",
        &[],
        None,
        expect![[r#"
        404
        x-ms-error-code: NotFound
        content-type: application/json; charset=utf-8
        {"error":{"code":"NotFound","message":"No route for GET /digitaltwins/nope.","details":[]}}"#]],
    )
    .await;
    check(&server, "POST", "/healthz", &[], None, expect![[r#"
        405
        x-ms-error-code: MethodNotAllowed
        content-type: application/json; charset=utf-8
        allow: GET,HEAD
        {"error":{"code":"MethodNotAllowed","message":"The method POST is not allowed on /healthz; the Allow header lists the methods that are.","details":[]}}"#]])
    .await;
    // On the data plane the version is checked first, so a wrong method is 405 only with a valid version.
    check(&server, "PUT", "/echo?api-version=2023-10-31", &[], None, expect![[r#"
        405
        x-ms-error-code: MethodNotAllowed
        content-type: application/json; charset=utf-8
        allow: POST
        {"error":{"code":"MethodNotAllowed","message":"The method PUT is not allowed on /echo; the Allow header lists the methods that are.","details":[]}}"#]])
    .await;
    check(&server, "PUT", "/echo", &[], None, expect![[r#"
        400
        x-ms-error-code: MissingArgument
        content-type: application/json; charset=utf-8
        allow: POST
        {"error":{"code":"MissingArgument","message":"The api-version query parameter is required; supported versions: 2020-10-31, 2021-06-30-preview, 2022-05-31, 2023-06-30, 2023-10-31.","details":[]}}"#]])
    .await;
    server.stop().await;
}

#[tokio::test]
async fn api_version_is_required_on_the_data_plane() {
    let server = start().await;
    check(
        &server,
        "GET",
        "/echo/room-1?api-version=2022-05-31",
        &[],
        None,
        expect![[r#"
        200
        content-type: text/plain; charset=utf-8
        room-1 at 2022-05-31"#]],
    )
    .await;
    check(&server, "GET", "/echo/room-1", &[], None, expect![[r#"
        400
        x-ms-error-code: MissingArgument
        content-type: application/json; charset=utf-8
        {"error":{"code":"MissingArgument","message":"The api-version query parameter is required; supported versions: 2020-10-31, 2021-06-30-preview, 2022-05-31, 2023-06-30, 2023-10-31.","details":[]}}"#]])
    .await;
    check(&server, "GET", "/echo/room-1?api-version=2019-01-01", &[], None, expect![[r#"
        400
        x-ms-error-code: InvalidArgument
        content-type: application/json; charset=utf-8
        {"error":{"code":"InvalidArgument","message":"The api-version `2019-01-01` is not supported; supported versions: 2020-10-31, 2021-06-30-preview, 2022-05-31, 2023-06-30, 2023-10-31.","details":[]}}"#]])
    .await;
    // The version is checked before the body is read.
    check(&server, "POST", "/echo", &[JSON], Some(b"{"), expect![[r#"
        400
        x-ms-error-code: MissingArgument
        content-type: application/json; charset=utf-8
        {"error":{"code":"MissingArgument","message":"The api-version query parameter is required; supported versions: 2020-10-31, 2021-06-30-preview, 2022-05-31, 2023-06-30, 2023-10-31.","details":[]}}"#]])
    .await;
    // Operational routes take no version.
    check(
        &server,
        "GET",
        "/healthz",
        &[],
        None,
        expect![[r#"
        200
        content-type: application/json
        {"status":"ok"}"#]],
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let server = start_with(|config| config.limits.body_bytes_max = 64.try_into().expect("positive"), None).await;
    let fits = format!(r#"{{"text":"{}"}}"#, "x".repeat(40));
    let too_big = format!(r#"{{"text":"{}"}}"#, "x".repeat(100));
    check(
        &server,
        "POST",
        "/echo?api-version=2023-10-31",
        &[JSON],
        Some(fits.as_bytes()),
        expect![[r#"
        200
        content-type: application/json
        {"text":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#]],
    )
    .await;
    check(&server, "POST", "/echo?api-version=2023-10-31", &[JSON], Some(too_big.as_bytes()), expect![[r#"
        413
        x-ms-error-code: LimitExceeded
        content-type: application/json; charset=utf-8
        {"error":{"code":"LimitExceeded","message":"The request body is larger than this route accepts.","details":[]}}"#]])
    .await;
    // A route with a limit of its own (as model uploads will have) overrides the server-wide one.
    check(&server, "POST", "/echo/large?api-version=2023-10-31", &[JSON], Some(too_big.as_bytes()), expect![[r#"
        200
        content-type: application/json
        {"text":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}"#]])
    .await;
    // Without Content-Length (a streamed body), the limit holds all the same.
    expect![[r#"
        HTTP/1.1 413 Payload Too Large
        {"error":{"code":"LimitExceeded","message":"The request body is larger than this route accepts.","details":[]}}"#]]
    .assert_eq(&server.send_chunked("/echo?api-version=2023-10-31", too_big.as_bytes()).await);
    server.stop().await;
}

#[tokio::test]
async fn unreadable_bodies_are_400_with_serde_message() {
    let server = start().await;
    check(&server, "POST", "/echo?api-version=2023-10-31", &[JSON], Some(b"{\"a\": 1,}"), expect![[r#"
        400
        x-ms-error-code: InvalidArgument
        content-type: application/json; charset=utf-8
        {"error":{"code":"InvalidArgument","message":"Failed to parse the request body as JSON: trailing comma at line 1 column 9","details":[]}}"#]])
    .await;
    check(&server, "POST", "/names?api-version=2023-10-31", &[JSON], Some(br#"{"$dtId": "a", "names": [1]}"#), expect![[r#"
        400
        x-ms-error-code: InvalidArgument
        content-type: application/json; charset=utf-8
        {"error":{"code":"InvalidArgument","message":"Failed to deserialize the JSON body into the target type: names[0]: invalid type: integer `1`, expected a string at line 1 column 26","details":[]}}"#]])
    .await;
    check(&server, "POST", "/names?api-version=2023-10-31", &[JSON], Some(br#"{"names": []}"#), expect![[r#"
        400
        x-ms-error-code: InvalidArgument
        content-type: application/json; charset=utf-8
        {"error":{"code":"InvalidArgument","message":"Failed to deserialize the JSON body into the target type: missing field `$dtId` at line 1 column 13","details":[]}}"#]])
    .await;
    check(&server, "POST", "/echo?api-version=2023-10-31", &[("content-type", "text/plain")], Some(b"{}"), expect![[r#"
        415
        x-ms-error-code: UnsupportedMediaType
        content-type: application/json; charset=utf-8
        {"error":{"code":"UnsupportedMediaType","message":"The request body must be JSON, with Content-Type: application/json.","details":[]}}"#]])
    .await;
    // JSON Patch bodies are JSON too.
    check(
        &server,
        "POST",
        "/echo?api-version=2023-10-31",
        &[("content-type", "application/json-patch+json")],
        Some(b"[]"),
        expect![[r#"
        200
        content-type: application/json
        []"#]],
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_answers_500_and_the_server_stays_up() {
    let mut server = start().await;
    server.expect_log("a handler bug");
    check(&server, "GET", "/panic?api-version=2023-10-31", &[], None, expect![[r#"
        500
        x-ms-error-code: InternalServerError
        content-type: application/json; charset=utf-8
        {"error":{"code":"InternalServerError","message":"The server failed to handle the request; the failure is logged.","details":[]}}"#]])
    .await;
    assert_eq!(server.get("/healthz").await.status, 200);
    server.stop().await;
}
