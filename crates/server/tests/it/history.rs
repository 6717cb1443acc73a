//! History end to end: telemetry over HTTP records points in the sensors' series, read back as raw pages with continuations, hourly aggregates, `historicalValues` and the data plane's route; a function's space values are recorded and its host reads them back; points survive a restart; points of one microsecond are all kept.

use expect_test::expect;
use serde_json::{Value, json};

use crate::TestServer;
use crate::management::{Names, call};

/// A building with a hub and a room, a device in the room with a Motion and a Temperature sensor, and the device's SAS token.
struct Topology {
    names: Names,
    building: String,
    room: String,
    motion: String,
    temperature: String,
    token: String,
}

async fn provision(server: &TestServer) -> Topology {
    let mut names = Names::default();
    let mut create = async |path: &str, body: Value, name: &str| {
        let (status, id) = call(server, "POST", path, Some(body)).await;
        assert_eq!(status, 201, "POST {path}: {id}");
        let id = id.as_str().expect("an id").to_owned();
        names.add(&id, name);
        id
    };
    let building = create("spaces", json!({"Name": "Building"}), "building").await;
    create("resources", json!({"SpaceId": building, "Type": "IoTHub"}), "hub").await;
    let room = create("spaces", json!({"Name": "Room", "ParentSpaceId": building}), "room").await;
    let device =
        create("devices", json!({"HardwareId": "DEVICE1", "Name": "Raspberry Pi", "SpaceId": room}), "device").await;
    let motion =
        create("sensors", json!({"DataType": "Motion", "DeviceId": device, "HardwareId": "MOTION1"}), "motion").await;
    let temperature =
        create("sensors", json!({"DataType": "Temperature", "DeviceId": device, "HardwareId": "TEMP1"}), "temperature")
            .await;
    let (_, found) = call(server, "GET", &format!("devices/{device}?includes=ConnectionString"), None).await;
    let connection_string = found["connectionString"].as_str().expect("a connection string").to_owned();
    let part = |name: &str| {
        connection_string.split(';').find_map(|p| p.strip_prefix(&format!("{name}="))).expect("a part").to_owned()
    };
    let token = sas_token(&part("HostName"), &device, &part("SharedAccessKey"));
    Topology { names, building, room, motion, temperature, token }
}

/// An IoT Hub device SAS token valid for an hour.
fn sas_token(host: &str, device: &str, key: &str) -> String {
    crate::telemetry::sas_token(host, device, key, crate::telemetry::in_an_hour())
}

/// Sends `(hardware id, CreationTimeUtc, value)` messages as one NDJSON batch; 204 once durable.
async fn send(server: &TestServer, t: &Topology, messages: &[(&str, &str, &str)]) {
    let lines: Vec<String> = messages
        .iter()
        .map(|(hardware_id, time, value)| {
            json!({"properties": {"DigitalTwins-Telemetry": "1.0", "DigitalTwins-SensorHardwareId": hardware_id,
                "CreationTimeUtc": time}, "body": {"SensorValue": value}})
            .to_string()
        })
        .collect();
    let headers = [("Authorization", t.token.as_str()), ("Content-Type", "application/x-ndjson")];
    let body = lines.join("\n").into_bytes();
    let reply = server.send("POST", "/management/api/v1.0/telemetry/batch", &headers, Some(body)).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
}

/// A GET of the management face (`path` relative to its base), shown as status and compact JSON with ids named.
async fn show(server: &TestServer, names: &Names, path: &str) -> String {
    let (status, value) = call(server, "GET", path, None).await;
    names.show(&format!("{status} {value}"))
}

const TEMPERATURES: [(&str, &str, &str); 6] = [
    ("TEMP1", "2026-01-01T00:10:00Z", "20"),
    ("TEMP1", "2026-01-01T00:40:00Z", "22"),
    ("TEMP1", "2026-01-01T01:05:00Z", "19"),
    ("TEMP1", "2026-01-01T01:50:00Z", "21.5"),
    ("TEMP1", "2026-01-01T03:00:00Z", "Offline"),
    ("TEMP1", "2026-01-01T03:30:00-01:00", "25"),
];

const MOTIONS: [(&str, &str, &str); 4] = [
    ("MOTION1", "2026-01-01T00:00:00Z", "True"),
    ("MOTION1", "2026-01-01T00:30:00Z", "False"),
    ("MOTION1", "2026-01-01T00:45:00Z", "false"),
    ("MOTION1", "2026-01-01T01:15:00Z", "TRUE"),
];

#[tokio::test]
async fn telemetry_records_history_read_as_pages_aggregates_and_historical_values() {
    let server = crate::start_shipped().await;
    let t = provision(&server).await;
    send(&server, &t, &TEMPERATURES[..3]).await;
    send(&server, &t, &TEMPERATURES[3..]).await;
    send(&server, &t, &MOTIONS).await;
    let temperature = &t.temperature;
    // Newest first by default, two a page: the continuation token leads to the next page, the last page has none.
    let first = show(&server, &t.names, &format!("sensors/{temperature}/history?limit=2")).await;
    let token = first.split("\"continuationToken\":\"").nth(1).and_then(|rest| rest.split('"').next());
    let token = token.expect("a continuation").to_owned();
    let second = show(&server, &t.names, &format!("sensors/{temperature}/history?limit=2&after={token}")).await;
    let range = "from=2026-01-01T00:30:00Z&to=2026-01-01T02:00:00Z";
    let oldest_first = show(&server, &t.names, &format!("sensors/{temperature}/history?order=asc&{range}")).await;
    expect![[r#"
        200 {"value":[{"timestamp":"2026-01-01T04:30:00.0000000Z","value":"25","number":25.0},{"timestamp":"2026-01-01T03:00:00.0000000Z","value":"Offline"}],"continuationToken":"1767236400000000.0"}
        200 {"value":[{"timestamp":"2026-01-01T01:50:00.0000000Z","value":"21.5","number":21.5},{"timestamp":"2026-01-01T01:05:00.0000000Z","value":"19","number":19.0}],"continuationToken":"1767229500000000.0"}
        200 {"value":[{"timestamp":"2026-01-01T00:40:00.0000000Z","value":"22","number":22.0},{"timestamp":"2026-01-01T01:05:00.0000000Z","value":"19","number":19.0},{"timestamp":"2026-01-01T01:50:00.0000000Z","value":"21.5","number":21.5}],"continuationToken":null}"#]]
    .assert_eq(&[first, second, oldest_first].join("\n"));

    // Hourly aggregates of a day; text values count but have no number; motion's True/False are 1/0, so `avg` is the share of readings with motion.
    let day = "from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z";
    let aggregates = [
        show(&server, &t.names, &format!("sensors/{temperature}/history/aggregate?{day}&interval=PT1H")).await,
        show(&server, &t.names, &format!("sensors/{}/history/aggregate?{day}&interval=3600&functions=avg,count", t.motion))
            .await,
        show(
            &server,
            &t.names,
            &format!(
                "spaces/{}/sensors/history/aggregate?dataType=temperature&traverse=Down&{day}&interval=P1D&functions=count,min,max,last",
                t.building
            ),
        )
        .await,
        show(&server, &t.names, &format!("spaces/{}/sensors/history/aggregate?dataType=Temperature&{day}", t.building))
            .await,
        show(&server, &t.names, &format!("sensors/{temperature}/history/aggregate?{day}&interval=P1M")).await,
        show(&server, &t.names, &format!("sensors/{temperature}/history/aggregate?{day}&functions=median")).await,
        show(&server, &t.names, &format!("sensors/{temperature}/history/aggregate?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&interval=PT1M")).await,
        show(&server, &t.names, "sensors/nope/history").await,
    ];
    expect![[r#"
        200 {"interval":3600.0,"value":[{"start":"2026-01-01T00:00:00.0000000Z","end":"2026-01-01T01:00:00.0000000Z","avg":21.0,"min":20.0,"max":22.0,"count":2,"last":{"timestamp":"2026-01-01T00:40:00.0000000Z","value":"22","number":22.0}},{"start":"2026-01-01T01:00:00.0000000Z","end":"2026-01-01T02:00:00.0000000Z","avg":20.25,"min":19.0,"max":21.5,"count":2,"last":{"timestamp":"2026-01-01T01:50:00.0000000Z","value":"21.5","number":21.5}},{"start":"2026-01-01T03:00:00.0000000Z","end":"2026-01-01T04:00:00.0000000Z","avg":null,"min":null,"max":null,"count":1,"last":{"timestamp":"2026-01-01T03:00:00.0000000Z","value":"Offline"}},{"start":"2026-01-01T04:00:00.0000000Z","end":"2026-01-01T05:00:00.0000000Z","avg":25.0,"min":25.0,"max":25.0,"count":1,"last":{"timestamp":"2026-01-01T04:30:00.0000000Z","value":"25","number":25.0}}]}
        200 {"interval":3600.0,"value":[{"start":"2026-01-01T00:00:00.0000000Z","end":"2026-01-01T01:00:00.0000000Z","avg":0.3333333333333333,"count":3},{"start":"2026-01-01T01:00:00.0000000Z","end":"2026-01-01T02:00:00.0000000Z","avg":1.0,"count":1}]}
        200 {"interval":86400.0,"value":[{"start":"2026-01-01T00:00:00.0000000Z","end":"2026-01-02T00:00:00.0000000Z","count":6,"min":19.0,"max":25.0,"last":{"timestamp":"2026-01-01T04:30:00.0000000Z","value":"25","number":25.0}}]}
        200 {"interval":3600.0,"value":[]}
        400 {"error":{"code":"400.600.000.000","message":"`interval` is `P1M`, not a fixed length: years and months are not"}}
        400 {"error":{"code":"400.600.000.000","message":"`functions` names `median`; it takes a list of avg, min, max, count, last"}}
        400 {"error":{"code":"400.600.000.000","message":"limit exceeded: buckets_max is 10000, got 3156480"}}
        404 {"error":{"code":"404.600.000.000","message":"sensor 'nope' was not found"}}"#]]
    .assert_eq(&aggregates.join("\n"));

    // `historicalValues`: the newest points, newest first, wherever the value is shown.
    let (_, sensor) = call(&server, "GET", &format!("sensors/{}?includes=value", t.motion), None).await;
    let (_, value) = call(&server, "GET", &format!("sensors/{temperature}/value"), None).await;
    let historical = [sensor["value"]["historicalValues"].to_string(), value["historicalValues"].to_string()];
    // The same in a list and nested in another object: a space's sensors with their values.
    let (_, listed) = call(&server, "GET", &format!("sensors?ids={}&includes=value", t.motion), None).await;
    let (_, room) = call(&server, "GET", &format!("spaces/{}?includes=sensors,sensorsvalues", t.room), None).await;
    let nested = room["sensors"].as_array().expect("the room's sensors").iter().find(|s| s["id"] == json!(t.motion));
    assert_eq!(listed[0]["value"]["historicalValues"], sensor["value"]["historicalValues"], "{listed}");
    assert_eq!(nested.map(|s| &s["value"]["historicalValues"]), Some(&sensor["value"]["historicalValues"]), "{room}");
    expect![[r#"
        [{"value":"TRUE","timestamp":"2026-01-01T01:15:00.0000000Z"},{"value":"false","timestamp":"2026-01-01T00:45:00.0000000Z"},{"value":"False","timestamp":"2026-01-01T00:30:00.0000000Z"},{"value":"True","timestamp":"2026-01-01T00:00:00.0000000Z"}]
        [{"value":"25","timestamp":"2026-01-01T04:30:00.0000000Z"},{"value":"Offline","timestamp":"2026-01-01T03:00:00.0000000Z"},{"value":"21.5","timestamp":"2026-01-01T01:50:00.0000000Z"},{"value":"19","timestamp":"2026-01-01T01:05:00.0000000Z"},{"value":"22","timestamp":"2026-01-01T00:40:00.0000000Z"},{"value":"20","timestamp":"2026-01-01T00:10:00.0000000Z"}]"#]]
    .assert_eq(&historical.join("\n"));

    // The data plane: the sensor twin's series, ADT's error format.
    let data_plane = [
        server.get(&format!("/digitaltwins/{}/history?api-version=2023-10-31&limit=1&order=asc", t.motion)).await,
        server
            .get(&format!(
                "/digitaltwins/{}/history/aggregate?api-version=2023-10-31&{day}&interval=P1D&functions=count",
                t.motion
            ))
            .await,
        server.get("/digitaltwins/nope/history?api-version=2023-10-31").await,
        server.get(&format!("/digitaltwins/{}/history?api-version=2023-10-31&from=yesterday", t.motion)).await,
    ];
    let shown: Vec<String> = data_plane.iter().map(|reply| format!("{} {}", reply.status, reply.body)).collect();
    expect![[r#"
        200 {"value":[{"timestamp":"2026-01-01T00:00:00.0000000Z","value":"True","number":1.0}],"continuationToken":"1767225600000000.0"}
        200 {"interval":86400.0,"value":[{"start":"2026-01-01T00:00:00.0000000Z","end":"2026-01-02T00:00:00.0000000Z","count":4}]}
        404 {"error":{"code":"DigitalTwinNotFound","message":"there is no twin with id 'nope'","details":[]}}
        400 {"error":{"code":"InvalidArgument","message":"`from` is `yesterday`, not an RFC 3339 time with an offset: failed to parse four digit integer as year: invalid digit, expected 0-9 but got y","details":[]}}"#]]
    .assert_eq(&t.names.show(&shown.join("\n")));
    server.stop().await;
}

#[tokio::test]
async fn points_of_one_microsecond_are_all_kept_across_batches_and_a_restart() {
    let server = crate::start_shipped().await;
    let t = provision(&server).await;
    let same = |value: &'static str| ("TEMP1", "2026-01-01T00:00:00.000001Z", value);
    send(&server, &t, &[same("1"), same("2"), same("3")]).await;
    send(&server, &t, &[same("4")]).await;
    // Concurrent batches of the same series: each plans under the tenant's lock, seeing the points of the others before they are durable.
    let (running, topology) = (&server, &t);
    let sends = ["5", "6", "7", "8", "9", "10", "11", "12", "13", "14"]
        .into_iter()
        .map(|n| async move { send(running, topology, &[same(n)]).await });
    futures_join(sends).await;
    let data_dir = server.stop_keeping_data().await;
    let server = crate::start_shipped_in(data_dir).await;
    send(&server, &t, &[same("15")]).await;
    let (_, page) = call(&server, "GET", &format!("sensors/{}/history?order=asc&limit=100", t.temperature), None).await;
    let mut values: Vec<u32> = page["value"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["value"].as_str().expect("text").parse().expect("a number"))
        .collect();
    assert!(values.len() >= 4, "{page}");
    let in_order = values[..4].to_vec();
    values.sort_unstable();
    assert_eq!(in_order, [1, 2, 3, 4], "points of one microsecond keep the order they were sent in");
    assert_eq!(values, (1..=15).collect::<Vec<u32>>(), "every point is kept: {page}");
    server.stop().await;
}

/// Runs the futures concurrently and waits for all.
async fn futures_join<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    std::future::poll_fn(move |cx| {
        set.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if set.is_empty() { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await;
}

/// A function that records the motion reading as the room's `Occupied` value, and announces how much history its host sees.
const OCCUPANCY: &str = r#"
function process(telemetry, executionContext) {
    const sensor = getSensorMetadata(telemetry.SensorId);
    const room = sensor.Space();
    setSpaceValue(room.Id, "Occupied", JSON.parse(telemetry.Message).SensorValue);
    const sensorHistory = getSensorHistoryValues(telemetry.SensorId, sensor.DataType);
    const roomHistory = getSpaceHistoryValues(room.Id, "occupied");
    sendNotification(room.Id, "Space", JSON.stringify({
        sensor: sensorHistory.map((r) => r.Value === undefined ? r.value : r.Value),
        room: roomHistory.map((r) => r.Value === undefined ? r.value : r.Value),
    }));
}
"#;

#[tokio::test]
async fn a_functions_space_values_are_recorded_and_its_host_reads_history() {
    let server = crate::start_shipped().await;
    let mut t = provision(&server).await;
    let room = t.room.clone();
    let body = json!({"Name": "Motion", "SpaceId": room,
        "Conditions": [{"Target": "Sensor", "Path": "$.dataType", "Value": "\"Motion\"", "Comparison": "Equals"}]});
    let (status, matcher) = call(&server, "POST", "matchers", Some(body)).await;
    assert_eq!(status, 201, "{matcher}");
    let metadata = json!({"Matchers": [matcher], "Name": "Occupancy", "SpaceId": room});
    let (status, function) =
        crate::management_functions::upload(&server, "POST", "userdefinedfunctions", &metadata, Some(OCCUPANCY)).await;
    assert_eq!(status, 201, "{function}");
    let function = function.as_str().expect("an id").to_owned();
    t.names.add(&function, "function");
    let (_, with_path) = call(&server, "GET", &format!("spaces/{room}?includes=fullpath"), None).await;
    let path = with_path["spacePaths"][0].as_str().expect("a path").to_owned();
    let grant = json!({"ObjectId": function, "ObjectIdType": "UserDefinedFunctionId", "Path": path, "RoleId": "98e44ad7-28d4-4007-853b-b9968ad132d1", "TenantId": null});
    assert_eq!(call(&server, "POST", "roleassignments", Some(grant)).await.0, 201);
    for (i, value) in ["True", "False", "True"].into_iter().enumerate() {
        send(&server, &t, &[("MOTION1", &format!("2026-01-01T0{i}:00:00Z"), value)]).await;
    }
    let reply = server.get("/events?limit=1000").await;
    let log: Value = serde_json::from_str(&reply.body).expect("JSON");
    let payloads: Vec<String> = log["value"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["eventType"] == "UdfCustom")
        .map(|e| e["data"]["Payload"].as_str().unwrap_or_default().to_owned())
        .collect();
    // The host's history is newest first and holds what is durable: the run's own space value is not in it yet.
    expect![[r#"
        {"sensor":["True"],"room":[]}
        {"sensor":["False","True"],"room":["True"]}
        {"sensor":["True","False","True"],"room":["False","True"]}"#]]
    .assert_eq(&payloads.join("\n"));
    let (_, values) = call(&server, "GET", &format!("spaces/{room}/values"), None).await;
    let (_, listed) =
        call(&server, "GET", &format!("spaces?spaceId={}&traverse=Down&minLevel=2&includes=values", t.building), None)
            .await;
    let (_, page) = call(&server, "GET", &format!("spaces/{room}/values/OCCUPIED/history?order=asc"), None).await;
    let shown = [
        values[0]["historicalValues"].as_array().map_or(0, Vec::len).to_string(),
        listed[0]["values"][0]["historicalValues"][0]["value"].to_string(),
        page["value"].as_array().map_or(0, Vec::len).to_string(),
    ];
    assert_eq!(shown, ["3", "\"True\"", "3"], "{values} {listed} {page}");
    server.stop().await;
}
