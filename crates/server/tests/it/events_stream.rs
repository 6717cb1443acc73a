//! The live event stream, `GET /events/stream`: events durable after a subscriber connected reach it in order with their sequence numbers as SSE ids; `Last-Event-ID` resumes without gaps or duplicates; `eventTypes` filters; a subscriber that stops reading is cut off with a comment naming where to resume.
//! Also the data plane's telemetry to a 2018 sensor twin, which sets the sensor's value through the telemetry pipeline.
//!
//! Streams are read with reqwest's `Response::chunk`, or, for the subscriber that must not read, over a raw TCP socket with a small receive buffer; nothing sleeps, every wait has a timeout.

use std::time::Duration;

use expect_test::expect;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::TestServer;
use crate::management::call;

/// How long a stream may take to deliver what the test waits for.
const STREAM_TIMEOUT: Duration = Duration::from_secs(30);

const V: &str = "api-version=2023-10-31";

/// One SSE message of the stream.
#[derive(Debug, PartialEq)]
enum Message {
    Event { id: u64, data: Value },
    Comment(String),
}

/// The messages of an SSE text, in order; a trailing incomplete message is left in `text`.
fn parse(text: &mut String) -> Vec<Message> {
    let mut messages = Vec::new();
    while let Some(end) = text.find("\n\n") {
        let block: String = text.drain(..end + 2).collect();
        let (mut id, mut data, mut comment) = (None, None, None);
        for line in block.lines() {
            if let Some(rest) = line.strip_prefix("id:") {
                id = Some(rest.trim().parse::<u64>().expect("a numeric id"));
            } else if let Some(rest) = line.strip_prefix("data:") {
                data = Some(serde_json::from_str::<Value>(rest.trim()).expect("JSON data"));
            } else if let Some(rest) = line.strip_prefix(':') {
                comment = Some(rest.trim().to_owned());
            }
        }
        messages.push(match (id, data, comment) {
            (Some(id), Some(data), _) => Message::Event { id, data },
            (_, _, Some(comment)) => Message::Comment(comment),
            other => panic!("an SSE message that is neither an event nor a comment: {other:?} in {block:?}"),
        });
    }
    messages
}

/// A subscriber of `GET /events/stream`; only `open` sends the request.
struct Subscriber {
    response: reqwest::Response,
    text: String,
    pending: std::collections::VecDeque<Message>,
    /// The sequence number the stream started after, from its first comment.
    start: u64,
}

impl Subscriber {
    /// Opens the stream at `query` with `headers` and waits for its first comment, so it is subscribed once this returns.
    async fn open(server: &TestServer, query: &str, headers: &[(&str, &str)]) -> Subscriber {
        let mut request = server.client.get(format!("{}/events/stream{query}", server.url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("the server answers");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let mut subscriber = Subscriber { response, text: String::new(), pending: Default::default(), start: 0 };
        let greeting = match subscriber.next().await {
            Some(Message::Comment(text)) => text,
            other => panic!("the stream starts with a comment, not {other:?}"),
        };
        subscriber.start = greeting
            .strip_prefix("connected; events after id ")
            .and_then(|rest| rest.strip_suffix(" follow"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("the greeting names where the stream starts: {greeting}"));
        subscriber
    }

    /// The next message other than a keep-alive; `None` when the stream ended.
    async fn next(&mut self) -> Option<Message> {
        tokio::time::timeout(STREAM_TIMEOUT, async {
            loop {
                if let Some(message) = self.pending.pop_front() {
                    if message != Message::Comment("keep-alive".to_owned()) {
                        return Some(message);
                    }
                    continue;
                }
                let chunk = self.response.chunk().await.expect("the stream reads")?;
                self.text.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
                self.pending.extend(parse(&mut self.text));
            }
        })
        .await
        .expect("a message in time")
    }

    /// The next `n` events, each as `+<id after start> <type> <id or message id>`.
    async fn events(&mut self, n: usize) -> String {
        let mut lines = Vec::new();
        while lines.len() < n {
            match self.next().await {
                Some(Message::Event { id, data }) => lines.push(format!("+{} {}", id - self.start, describe(&data))),
                other => panic!("expected an event, got {other:?}"),
            }
        }
        lines.join("\n")
    }
}

/// An event's type and, for telemetry, the message id it carries.
fn describe(event: &Value) -> String {
    match (event["type"].as_str(), event["eventType"].as_str()) {
        (Some("microsoft.iot.telemetry"), _) => {
            format!("microsoft.iot.telemetry {}", event["id"].as_str().unwrap_or("?"))
        }
        (Some(kind), _) => kind.to_owned(),
        (None, Some(kind)) => kind.to_owned(),
        (None, None) => format!("untyped {event}"),
    }
}

/// Creates a 2018 space (a twin that is no sensor) to send data-plane telemetry to; each message adds exactly one event.
async fn space(server: &TestServer) -> String {
    let (status, id) = call(server, "POST", "spaces", Some(json!({"Name": "Stream Room"}))).await;
    assert_eq!(status, 201, "{id}");
    id.as_str().expect("an id").to_owned()
}

/// Sends data-plane telemetry `body` with `message_id` to twin `id`; the status.
async fn telemetry(server: &TestServer, id: &str, message_id: &str, body: &Value) -> u16 {
    let headers = [("content-type", "application/json"), ("message-id", message_id)];
    let path = format!("/digitaltwins/{id}/telemetry?{V}");
    server.send("POST", &path, &headers, Some(body.to_string().into_bytes())).await.status
}

#[tokio::test]
async fn a_subscriber_receives_what_is_written_after_it_connected_in_order_with_ids() {
    let server = crate::start_shipped().await;
    let room = space(&server).await;
    assert_eq!(telemetry(&server, &room, "before", &json!({"n": 0})).await, 204);
    let mut subscriber = Subscriber::open(&server, "", &[]).await;
    for n in 1..=3 {
        assert_eq!(telemetry(&server, &room, &format!("m{n}"), &json!({"n": n})).await, 204);
    }
    expect![[r#"
        +1 microsoft.iot.telemetry m1
        +2 microsoft.iot.telemetry m2
        +3 microsoft.iot.telemetry m3"#]]
    .assert_eq(&subscriber.events(3).await);
    drop(subscriber);
    server.stop().await;
}

#[tokio::test]
async fn last_event_id_resumes_without_gaps_or_duplicates() {
    let server = crate::start_shipped().await;
    let room = space(&server).await;
    let mut first = Subscriber::open(&server, "", &[]).await;
    for n in 1..=3 {
        assert_eq!(telemetry(&server, &room, &format!("m{n}"), &json!({"n": n})).await, 204);
    }
    expect![[r#"
        +1 microsoft.iot.telemetry m1
        +2 microsoft.iot.telemetry m2
        +3 microsoft.iot.telemetry m3"#]]
    .assert_eq(&first.events(3).await);
    let (start, seen) = (first.start, first.start + 3);
    drop(first);
    // Written while no one listens.
    for n in 4..=5 {
        assert_eq!(telemetry(&server, &room, &format!("m{n}"), &json!({"n": n})).await, 204);
    }
    // The header, which an EventSource sends when it reconnects, wins over the query it reconnects to.
    let seen_text = seen.to_string();
    let mut second = Subscriber::open(&server, "?after=0", &[("last-event-id", &seen_text)]).await;
    assert_eq!(second.start, seen);
    assert_eq!(telemetry(&server, &room, "m6", &json!({"n": 6})).await, 204);
    second.start = start;
    expect![[r#"
        +4 microsoft.iot.telemetry m4
        +5 microsoft.iot.telemetry m5
        +6 microsoft.iot.telemetry m6"#]]
    .assert_eq(&second.events(3).await);
    drop(second);
    let mut by_query = Subscriber::open(&server, &format!("?after={}", start + 4), &[]).await;
    by_query.start = start;
    expect!["+5 microsoft.iot.telemetry m5"].assert_eq(&by_query.events(1).await);
    drop(by_query);
    let beyond = server.get(&format!("/events/stream?after={}", start + 100)).await;
    assert_eq!(beyond.status, 400, "{}", beyond.body);
    server.stop().await;
}

#[tokio::test]
async fn the_type_filter_keeps_the_named_2018_and_cloudevents_types() {
    let server = crate::start_shipped().await;
    let sensor = sensor(&server).await;
    let mut filtered = Subscriber::open(&server, "?eventTypes=devicemessage,%20microsoft.iot.telemetry", &[]).await;
    let mut all = Subscriber::open(&server, "", &[]).await;
    assert_eq!(telemetry(&server, &sensor, "t1", &json!({"SensorValue": "true"})).await, 204);
    // The Twin.Update of the sensor's value is left out; the ids still count it.
    expect![[r#"
        +2 DeviceMessage
        +3 microsoft.iot.telemetry t1"#]]
    .assert_eq(&filtered.events(2).await);
    expect![[r#"
        +1 Microsoft.DigitalTwins.Twin.Update
        +2 DeviceMessage
        +3 microsoft.iot.telemetry t1"#]]
    .assert_eq(&all.events(3).await);
    drop((filtered, all));
    server.stop().await;
}

/// Provisions a building with an IoT Hub, a device and its motion sensor through the 2018 API; the sensor's id.
async fn sensor(server: &TestServer) -> String {
    let create = async |path: &str, body: Value| {
        let (status, id) = call(server, "POST", path, Some(body)).await;
        assert_eq!(status, 201, "POST {path}: {id}");
        id.as_str().expect("an id").to_owned()
    };
    let building = create("spaces", json!({"Name": "Stream Building"})).await;
    create("resources", json!({"SpaceId": building, "Type": "IoTHub"})).await;
    let device =
        create("devices", json!({"HardwareId": "STREAM_DEVICE", "Name": "Raspberry Pi", "SpaceId": building})).await;
    create("sensors", json!({"DataType": "Motion", "DeviceId": device, "HardwareId": "STREAM_MOTION"})).await
}

#[tokio::test]
async fn data_plane_telemetry_to_a_sensor_twin_sets_its_2018_value() {
    let server = crate::start_shipped().await;
    let sensor = sensor(&server).await;
    let body = json!({"SensorValue": "true"});
    let headers =
        [("content-type", "application/json"), ("message-id", "t1"), ("creationtimeutc", "2026-01-02T03:04:05Z")];
    let path = format!("/digitaltwins/{sensor}/telemetry?{V}");
    let reply = server.send("POST", &path, &headers, Some(body.to_string().into_bytes())).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let (status, mut value) = call(&server, "GET", &format!("sensors/{sensor}/value"), None).await;
    // History is another test's subject.
    value.as_object_mut().expect("a value").remove("historicalValues");
    expect![[r#"
        200 {
          "type": "Motion",
          "value": "true",
          "timestamp": "2026-01-02T03:04:05.0000000Z"
        }"#]]
    .assert_eq(&format!("{status} {}", serde_json::to_string_pretty(&value).expect("JSON")));
    // The ADT telemetry event is still recorded, after what the pipeline recorded.
    let events: Value = serde_json::from_str(&server.get("/events?limit=1000").await.body).expect("JSON");
    let kinds: Vec<String> = events["value"].as_array().expect("events").iter().map(describe).collect();
    expect![[r#"
        Microsoft.DigitalTwins.Twin.Update
        DeviceMessage
        microsoft.iot.telemetry t1"#]]
    .assert_eq(&kinds[kinds.len() - 3..].join("\n"));
    server.stop().await;
}

#[tokio::test]
async fn a_subscriber_that_stops_reading_is_cut_off_and_resumes_with_last_event_id() {
    const MESSAGES: u64 = 32;
    let data_dir = tempfile::tempdir().expect("create a data directory");
    let server = crate::start_shipped_configured(data_dir, |config| {
        config.limits.event_stream_lag_max = std::num::NonZeroUsize::new(2).expect("positive");
        config.limits.body_bytes_max = std::num::NonZeroUsize::new(1 << 20).expect("positive");
    })
    .await;
    let room = space(&server).await;
    // A client with a small receive buffer that reads the head and the first comment, then stops reading.
    let address: std::net::SocketAddr =
        server.url.strip_prefix("http://").expect("plain HTTP").parse().expect("a socket address");
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.set_recv_buffer_size(4096).expect("a small receive buffer");
    let mut stream = socket.connect(address).await.expect("connect");
    let request = format!("GET /events/stream HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send the request");
    let mut received = Vec::new();
    tokio::time::timeout(STREAM_TIMEOUT, async {
        while !String::from_utf8_lossy(&received).contains(" follow\n\n") {
            let mut buffer = [0; 1024];
            let n = stream.read(&mut buffer).await.expect("read");
            assert!(n > 0, "the stream ended early: {}", String::from_utf8_lossy(&received));
            received.extend_from_slice(&buffer[..n]);
        }
    })
    .await
    .expect("the stream starts in time");
    // 16 MiB of events, far more than the socket buffers between the server and the client hold.
    let padding = "x".repeat(512 * 1024);
    for n in 1..=MESSAGES {
        assert_eq!(telemetry(&server, &room, &format!("m{n}"), &json!({"n": n, "padding": padding})).await, 204);
    }
    tokio::time::timeout(STREAM_TIMEOUT, stream.read_to_end(&mut received))
        .await
        .expect("the stream ends")
        .expect("read");
    let text = String::from_utf8(received).expect("UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    assert!(head.to_ascii_lowercase().contains("transfer-encoding: chunked"), "{head}");
    let mut body = dechunk(body);
    let messages = parse(&mut body);
    let start = match messages.first() {
        Some(Message::Comment(greeting)) => greeting
            .strip_prefix("connected; events after id ")
            .and_then(|rest| rest.strip_suffix(" follow"))
            .and_then(|n| n.parse::<u64>().ok())
            .expect("the greeting names the start"),
        other => panic!("the stream starts with a comment, not {other:?}"),
    };
    let ids: Vec<u64> = messages[1..]
        .iter()
        .filter_map(|m| match m {
            Message::Event { id, .. } => Some(*id),
            Message::Comment(_) => None,
        })
        .collect();
    let last = *ids.last().unwrap_or(&start);
    assert_eq!(ids, (start + 1..=last).collect::<Vec<_>>(), "what was sent is in order, without gaps");
    assert!(last < start + MESSAGES, "the subscriber was cut off before the end");
    let Some(Message::Comment(why)) = messages.last() else { panic!("the stream ends with a comment") };
    let why = why.replace(&format!("id {last}"), "id <last>").replace(&format!("ID: {last}"), "ID: <last>");
    let why = why.split_once(" events").map(|(_, rest)| format!("too slow: <n> events{rest}")).unwrap_or(why);
    expect!["too slow: <n> events newer than id <last> are waiting, more than the limit of 2; reconnect with Last-Event-ID: <last> to resume"]
        .assert_eq(&why);
    // Resuming where it was cut off, it gets the rest: what was durable when it reconnected is always sent.
    let last_text = last.to_string();
    let mut resumed = Subscriber::open(&server, "", &[("last-event-id", &last_text)]).await;
    let mut next = last;
    while next < start + MESSAGES {
        match resumed.next().await {
            Some(Message::Event { id, data }) => {
                next += 1;
                assert_eq!(id, next, "no gap, no duplicate");
                assert_eq!(data["id"], format!("m{}", next - start));
            }
            other => panic!("expected an event, got {other:?}"),
        }
    }
    drop(resumed);
    server.stop().await;
}

/// The payload of an HTTP/1.1 chunked body, as text.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].strip_prefix("\r\n").expect("a chunk ends with CRLF");
    }
    out
}

#[tokio::test]
async fn an_open_stream_ends_when_the_server_stops() {
    let server = crate::start_shipped().await;
    let mut subscriber = Subscriber::open(&server, "", &[]).await;
    // `stop` fails the test when shutdown takes past its timeout, and the drop check fails it on the grace-period warning an open stream would cause.
    let stopping = tokio::spawn(server.stop());
    assert_eq!(subscriber.next().await, None, "the stream ends");
    stopping.await.expect("the server stops");
}
