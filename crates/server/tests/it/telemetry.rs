//! Telemetry from a device to a stored sensor value: the occupancy sample's topology provisioned through the 2018 API, a real MQTT client (rumqttc, MQTT 3.1.1 and 5) over loopback authenticating with its connection string's key, PUBACKs, the sensor values and DeviceMessage events; refusals (bad tokens, unknown hardware ids); the HTTP routes; and a PUBACKed value surviving a restart.
//!
//! SAS tokens are computed here from the connection string, independently of the server's code.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use expect_test::expect;
use rumqttc::{AsyncClient, ConnectReturnCode, ConnectionError, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};

use crate::TestServer;
use crate::management::{Names, call};

/// How long an MQTT exchange may take before the test fails.
pub(crate) const MQTT_TIMEOUT: Duration = Duration::from_secs(10);

/// The occupancy sample's device and sensors, as provisioned.
pub(crate) struct Topology {
    pub(crate) names: Names,
    pub(crate) device: String,
    pub(crate) host: String,
    pub(crate) key: String,
    pub(crate) motion: String,
}

/// Provisions a building with an IoT Hub, a room, the sample's device (hardware id 1234567890AB) and its Motion and CarbonDioxide sensors; reads the device's connection string.
pub(crate) async fn provision(server: &TestServer) -> Topology {
    let mut names = Names::default();
    let mut create = async |path: &str, body: Value, name: &str| {
        let (status, id) = call(server, "POST", path, Some(body)).await;
        assert_eq!(status, 201, "POST {path}: {id}");
        let id = id.as_str().expect("an id").to_owned();
        names.add(&id, name);
        id
    };
    let building = create("spaces", json!({"Name": "Quickstart Building"}), "building").await;
    create("resources", json!({"SpaceId": building, "Type": "IoTHub"}), "hub").await;
    let room = create("spaces", json!({"Name": "Focus Room A1", "ParentSpaceId": building}), "room").await;
    let device = create(
        "devices",
        json!({"HardwareId": "1234567890AB", "Name": "Raspberry Pi 3 A1", "SpaceId": room}),
        "device",
    )
    .await;
    let motion = create(
        "sensors",
        json!({"DataType": "Motion", "DeviceId": device, "HardwareId": "SAMPLE_SENSOR_MOTION"}),
        "motion",
    )
    .await;
    create(
        "sensors",
        json!({"DataType": "CarbonDioxide", "DeviceId": device, "HardwareId": "SAMPLE_SENSOR_CARBONDIOXIDE"}),
        "co2",
    )
    .await;
    let (status, found) = call(server, "GET", &format!("devices/{device}?includes=ConnectionString"), None).await;
    assert_eq!(status, 200);
    let connection_string = found["connectionString"].as_str().expect("a connection string");
    let part = |name: &str| {
        connection_string
            .split(';')
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} in {connection_string}"))
            .to_owned()
    };
    assert_eq!(part("DeviceId"), device);
    Topology { names, device, host: part("HostName"), key: part("SharedAccessKey"), motion }
}

/// An IoT Hub device SAS token, as the Azure IoT device SDKs compute it: HMAC-SHA256 with the decoded key over the URL-encoded `{host}/devices/{device}`, a newline and the expiry.
pub(crate) fn sas_token(host: &str, device: &str, key: &str, expiry: i64) -> String {
    let resource = format!("{host}/devices/{device}").replace(':', "%3A").replace('/', "%2F");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &STANDARD.decode(key).expect("a base64 key"));
    let signature = STANDARD.encode(ring::hmac::sign(&key, format!("{resource}\n{expiry}").as_bytes()).as_ref());
    let signature = signature.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
    format!("SharedAccessSignature sr={resource}&sig={signature}&se={expiry}")
}

pub(crate) fn in_an_hour() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
    i64::try_from(now.as_secs()).expect("seconds fit") + 3600
}

/// The telemetry topic of `device` with the sample's properties for `hardware_id`.
pub(crate) fn topic(device: &str, hardware_id: &str) -> String {
    format!(
        "devices/{device}/messages/events/DigitalTwins-Telemetry=1.0&DigitalTwins-SensorHardwareId={hardware_id}&CreationTimeUtc=2018-09-20T07%3A35%3A00.8587882-07%3A00&x-ms-client-request-id=6f1a2b3c/"
    )
}

/// An MQTT 3.1.1 client of `device` with `password`, its event loop, and what CONNACK said.
async fn connect(
    server: &TestServer,
    t: &Topology,
    password: &str,
) -> (AsyncClient, rumqttc::EventLoop, Result<(), String>) {
    let address = server.mqtt.expect("the test server listens for MQTT");
    connect_with(device_options(t, address, password)).await
}

/// The MQTT 3.1.1 options of `t`'s device connecting to `address` with `password`, over plain TCP.
pub(crate) fn device_options(t: &Topology, address: std::net::SocketAddr, password: &str) -> MqttOptions {
    let mut options = MqttOptions::new(t.device.clone(), address.ip().to_string(), address.port());
    options.set_credentials(format!("{}/{}/?api-version=2018-06-30", t.host, t.device), password);
    options.set_keep_alive(Duration::from_secs(30));
    options
}

/// An MQTT 3.1.1 client with `options`, its event loop, and what CONNACK said.
pub(crate) async fn connect_with(options: MqttOptions) -> (AsyncClient, rumqttc::EventLoop, Result<(), String>) {
    let (client, mut events) = AsyncClient::new(options, 16);
    let connected = tokio::time::timeout(MQTT_TIMEOUT, async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    return if ack.code == ConnectReturnCode::Success {
                        Ok(())
                    } else {
                        Err(format!("{:?}", ack.code))
                    };
                }
                Ok(_) => {}
                Err(ConnectionError::ConnectionRefused(code)) => return Err(format!("refused: {code:?}")),
                Err(err) => return Err(format!("error: {err}")),
            }
        }
    })
    .await
    .expect("CONNACK in time");
    (client, events, connected)
}

/// Publishes `body` on `topic` with QoS 1 and waits for its PUBACK; what happened instead otherwise.
pub(crate) async fn publish(client: &AsyncClient, events: &mut rumqttc::EventLoop, topic: &str, body: &str) -> String {
    client.publish(topic, QoS::AtLeastOnce, false, body.as_bytes().to_vec()).await.expect("queued");
    tokio::time::timeout(MQTT_TIMEOUT, async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => return "PUBACK".to_owned(),
                Ok(_) => {}
                Err(err) => return format!("no PUBACK: {err}"),
            }
        }
    })
    .await
    .expect("an answer in time")
}

/// The DeviceMessage events in the log, with ids named and the times left out.
async fn device_messages(server: &TestServer, names: &Names) -> String {
    let reply = server.get("/events?limit=1000").await;
    let events: Value = serde_json::from_str(&reply.body).expect("JSON");
    let messages: Vec<String> = events["value"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["eventType"] == "DeviceMessage")
        .map(|e| {
            let mut e = e.clone();
            e["id"] = json!("<id>");
            e["eventTime"] = json!("<now>");
            names.show(&serde_json::to_string_pretty(&e).expect("JSON"))
        })
        .collect();
    messages.join("\n")
}

#[tokio::test]
async fn the_occupancy_device_publishes_over_mqtt_and_its_values_are_stored_durably() {
    let server = crate::start_shipped().await;
    let t = provision(&server).await;
    let token = sas_token(&t.host, &t.device, &t.key, in_an_hour());
    let (client, mut events, connected) = connect(&server, &t, &token).await;
    assert_eq!(connected, Ok(()));
    let published = [
        publish(&client, &mut events, &topic(&t.device, "SAMPLE_SENSOR_MOTION"), r#"{"SensorValue":"false"}"#).await,
        publish(&client, &mut events, &topic(&t.device, "SAMPLE_SENSOR_CARBONDIOXIDE"), r#"{"SensorValue":"812"}"#)
            .await,
        publish(&client, &mut events, &topic(&t.device, "SAMPLE_SENSOR_MOTION"), r#"{"SensorValue":"true"}"#).await,
    ];
    assert_eq!(published, ["PUBACK"; 3]);
    let (status, value) = call(&server, "GET", &format!("sensors/{}/value", t.motion), None).await;
    expect![[r#"
        200 {
          "type": "Motion",
          "value": "true",
          "timestamp": "2018-09-20T14:35:00.8587882Z",
          "historicalValues": [
            {
              "value": "true",
              "timestamp": "2018-09-20T14:35:00.8587880Z"
            },
            {
              "value": "false",
              "timestamp": "2018-09-20T14:35:00.8587880Z"
            }
          ]
        }"#]]
    .assert_eq(&format!("{status} {}", serde_json::to_string_pretty(&value).expect("JSON")));
    let (_, sensors) =
        call(&server, "GET", &format!("sensors?spaceId={}&traverse=Down&includes=value", t.names.0[2].0), None).await;
    let values: Vec<String> = sensors
        .as_array()
        .expect("sensors")
        .iter()
        .map(|s| format!("{}: {}", s["hardwareId"], s["value"]["value"]))
        .collect();
    expect![[r#"
        "SAMPLE_SENSOR_MOTION": "true"
        "SAMPLE_SENSOR_CARBONDIOXIDE": "812""#]]
    .assert_eq(&values.join("\n"));
    let log = device_messages(&server, &t.names).await;
    let first = log.split("\n}\n").next().unwrap_or_default();
    expect![[r#"
        {
          "id": "<id>",
          "subject": "DeviceMessage",
          "data": {
            "DeviceId": "<device>",
            "SensorId": "<motion>",
            "HardwareId": "SAMPLE_SENSOR_MOTION",
            "CreationTimeUtc": "2018-09-20T14:35:00.8587882Z",
            "CorrelationId": null,
            "Properties": {
              "DigitalTwins-Telemetry": "1.0",
              "DigitalTwins-SensorHardwareId": "SAMPLE_SENSOR_MOTION",
              "CreationTimeUtc": "2018-09-20T07:35:00.8587882-07:00",
              "x-ms-client-request-id": "6f1a2b3c"
            },
            "Payload": "{\"SensorValue\":\"false\"}"
          },
          "eventType": "DeviceMessage",
          "eventTime": "<now>",
          "dataVersion": "1",
          "metadataVersion": "1",
          "topic": "twinscape""#]]
    .assert_eq(first);
    assert_eq!(log.matches("\"eventType\": \"DeviceMessage\"").count(), 3);
    expect![[r#"
        mqtt_connections_total{result="accepted"} 1
        telemetry_messages_total{transport="mqtt",result="stored",reason=""} 3"#]]
    .assert_eq(&crate::mqtt_tls::counted(&server).await);
    let _ = client.disconnect().await;

    // What was acknowledged is durable: a restart on the same data serves it.
    let dir = server.stop_keeping_data().await;
    let server = crate::start_shipped_in(dir).await;
    let (status, value) = call(&server, "GET", &format!("sensors/{}/value", t.motion), None).await;
    assert_eq!((status, &value["value"]), (200, &json!("true")), "{value}");
    assert_eq!(device_messages(&server, &t.names).await.matches("\"eventType\": \"DeviceMessage\"").count(), 3);
    server.stop().await;
}

#[tokio::test]
async fn bad_credentials_are_refused_in_connack() {
    let server = crate::start_shipped().await;
    let t = provision(&server).await;
    let other_key = STANDARD.encode([7u8; 32]);
    let cases = [
        ("wrong key", sas_token(&t.host, &t.device, &other_key, in_an_hour())),
        ("expired", sas_token(&t.host, &t.device, &t.key, 1_000_000_000)),
        ("another device's resource", sas_token(&t.host, "someone-else", &t.key, in_an_hour())),
        ("not a token", "hunter2".to_owned()),
    ];
    let mut verdicts = Vec::new();
    for (case, password) in cases {
        let (_, _, connected) = connect(&server, &t, &password).await;
        verdicts.push(format!("{case}: {connected:?}"));
    }
    expect![[r#"
        wrong key: Err("refused: NotAuthorized")
        expired: Err("refused: NotAuthorized")
        another device's resource: Err("refused: NotAuthorized")
        not a token: Err("refused: NotAuthorized")"#]]
    .assert_eq(&verdicts.join("\n"));
    let metrics = server.get("/metrics").await.body;
    assert!(metrics.contains(r#"mqtt_connections_total{result="refused_not_authorized"} 4"#), "{metrics}");
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_hardware_id_is_refused_in_puback_over_mqtt_5_and_counted_over_mqtt_3() {
    let server = crate::start_shipped().await;
    let t = provision(&server).await;
    let token = sas_token(&t.host, &t.device, &t.key, in_an_hour());

    // MQTT 3.1.1 cannot refuse a message in its PUBACK: a message no resend could cure is acknowledged and counted, so the device does not send it for ever, and the connection goes on.
    let (client, mut events, connected) = connect(&server, &t, &token).await;
    assert_eq!(connected, Ok(()));
    let answer = publish(&client, &mut events, &topic(&t.device, "NO_SUCH_SENSOR"), r#"{"SensorValue":"1"}"#).await;
    assert_eq!(answer, "PUBACK");
    let answer =
        publish(&client, &mut events, &topic(&t.device, "SAMPLE_SENSOR_MOTION"), r#"{"SensorValue":"true"}"#).await;
    assert_eq!(answer, "PUBACK", "the same connection carries the next message");
    let metrics = server.get("/metrics").await.body;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("telemetry_messages_total") && l.contains("unknown_sensor") && l.contains("mqtt")),
        "the refusal is counted: {metrics}"
    );

    // MQTT 5 says why in the PUBACK, and the connection stays.
    use rumqttc::v5::mqttbytes::v5::{Packet as Packet5, PubAckReason};
    let address = server.mqtt.expect("MQTT is on");
    let mut options = rumqttc::v5::MqttOptions::new(t.device.clone(), address.ip().to_string(), address.port());
    options.set_credentials(format!("{}/{}/?api-version=2018-06-30", t.host, t.device), token.clone());
    let (client, mut events) = rumqttc::v5::AsyncClient::new(options, 16);
    let properties = |hardware_id: &str| rumqttc::v5::mqttbytes::v5::PublishProperties {
        user_properties: vec![
            ("DigitalTwins-Telemetry".to_owned(), "1.0".to_owned()),
            ("DigitalTwins-SensorHardwareId".to_owned(), hardware_id.to_owned()),
        ],
        ..Default::default()
    };
    let mut acks = Vec::new();
    for (hardware_id, body) in [("NO_SUCH_SENSOR", "1"), ("SAMPLE_SENSOR_CARBONDIOXIDE", "1042")] {
        let topic = format!("devices/{}/messages/events/", t.device);
        client
            .publish_with_properties(
                topic,
                rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
                false,
                body.as_bytes().to_vec(),
                properties(hardware_id),
            )
            .await
            .expect("queued");
        let ack = tokio::time::timeout(MQTT_TIMEOUT, async {
            loop {
                match events.poll().await {
                    Ok(rumqttc::v5::Event::Incoming(Packet5::PubAck(ack))) => {
                        let reason = ack.properties.and_then(|p| p.reason_string).unwrap_or_default();
                        return format!("{:?} {reason}", ack.reason);
                    }
                    Ok(_) => {}
                    Err(err) => return format!("error: {err}"),
                }
            }
        })
        .await
        .expect("an answer in time");
        acks.push(ack);
    }
    expect![[r#"
        ImplementationSpecificError no sensor has the hardware id 'NO_SUCH_SENSOR'
        Success "#]]
    .assert_eq(&acks.join("\n"));
    let _ = PubAckReason::Success;
    let metrics = server.get("/metrics").await.body;
    assert!(
        metrics.contains(r#"telemetry_messages_total{transport="mqtt",result="refused",reason="unknown_sensor"} 2"#),
        "{metrics}"
    );
    let (_, sensors) = call(&server, "GET", "sensors?includes=value", None).await;
    let co2 = sensors.as_array().into_iter().flatten().find(|s| s["hardwareId"] == "SAMPLE_SENSOR_CARBONDIOXIDE");
    assert_eq!(co2.map(|s| &s["value"]["value"]), Some(&json!("1042")), "{sensors}");
    server.stop().await;
}

#[tokio::test]
async fn http_telemetry_one_message_and_a_batch() {
    let server = crate::start_shipped().await;
    let t = provision(&server).await;
    let token = sas_token(&t.host, &t.device, &t.key, in_an_hour());
    let send = async |path: &str, headers: &[(&str, &str)], body: &str| {
        let reply =
            server.send("POST", &format!("/management/api/v1.0/{path}"), headers, Some(body.as_bytes().to_vec())).await;
        t.names.show(&reply.render(&[]))
    };
    let one = [
        ("Authorization", token.as_str()),
        ("DigitalTwins-Telemetry", "1.0"),
        ("DigitalTwins-SensorHardwareId", "SAMPLE_SENSOR_MOTION"),
        ("CorrelationId", "cec16751-ab27-405d-8fe6-c68e1412ce1f"),
    ];
    let unknown = [
        ("Authorization", token.as_str()),
        ("DigitalTwins-Telemetry", "1.0"),
        ("DigitalTwins-SensorHardwareId", "NOPE"),
    ];
    let bad_token = sas_token(&t.host, &t.device, &STANDARD.encode([1u8; 32]), in_an_hour());
    let replies = [
        send("telemetry", &one, r#"{"SensorValue":"true"}"#).await,
        send("telemetry", &unknown, "1").await,
        send("telemetry", &[("Authorization", bad_token.as_str()), ("DigitalTwins-Telemetry", "1.0")], "1").await,
        send("telemetry", &one[..2], "1").await,
    ];
    expect![[r#"
        204

        404
        {"error":{"code":"404.600.000.000","message":"no sensor has the hardware id 'NOPE'"}}
        401
        {"error":{"code":"401.600.000.000","message":"the device is not authenticated: the token's signature does not match the device's key"}}
        400
        {"error":{"code":"400.600.000.000","message":"the message has no `DigitalTwins-SensorHardwareId` property naming its sensor"}}"#]]
    .assert_eq(&replies.join("\n"));

    let line = |hardware_id: &str, value: &str| {
        json!({"properties": {"DigitalTwins-Telemetry": "1.0", "DigitalTwins-SensorHardwareId": hardware_id}, "body": {"SensorValue": value}}).to_string()
    };
    let auth = [("Authorization", token.as_str()), ("Content-Type", "application/x-ndjson")];
    let good = format!("{}\n{}\n", line("SAMPLE_SENSOR_MOTION", "false"), line("SAMPLE_SENSOR_CARBONDIOXIDE", "999"));
    let bad = format!("{}\n{}\n", line("SAMPLE_SENSOR_MOTION", "true"), line("NOPE", "1"));
    let batches = [send("telemetry/batch", &auth, &good).await, send("telemetry/batch", &auth, &bad).await];
    expect![[r#"
        204

        404
        {"error":{"code":"404.600.000.000","message":"line 2: no sensor has the hardware id 'NOPE'"}}"#]]
    .assert_eq(&batches.join("\n"));
    // The refused batch stored nothing: the motion sensor still has the good batch's value.
    let (_, value) = call(&server, "GET", &format!("sensors/{}/value", t.motion), None).await;
    assert_eq!(value["value"], json!("false"), "{value}");
    let log = device_messages(&server, &t.names).await;
    assert_eq!(log.matches("\"eventType\": \"DeviceMessage\"").count(), 3, "{log}");
    assert!(log.contains(r#""CorrelationId": "cec16751-ab27-405d-8fe6-c68e1412ce1f""#), "{log}");
    server.stop().await;
}

/// An HTTP batch is all or nothing even when it is the graph that refuses a line (here a value that takes its sensor past the twin size limit): the earlier lines are not stored either.
#[tokio::test]
async fn a_batch_the_graph_refuses_a_line_of_stores_nothing() {
    let dir = tempfile::tempdir().expect("a data directory");
    let server = crate::start_shipped_configured(dir, |config| {
        config.limits.twin_bytes_max = std::num::NonZeroUsize::new(4096).expect("not zero");
    })
    .await;
    let t = provision(&server).await;
    let token = sas_token(&t.host, &t.device, &t.key, in_an_hour());
    let line = |hardware_id: &str, value: &str| {
        json!({"properties": {"DigitalTwins-Telemetry": "1.0", "DigitalTwins-SensorHardwareId": hardware_id}, "body": {"SensorValue": value}}).to_string()
    };
    let headers = [("Authorization", token.as_str()), ("Content-Type", "application/x-ndjson")];
    let body = format!(
        "{}\n{}\n",
        line("SAMPLE_SENSOR_MOTION", "true"),
        line("SAMPLE_SENSOR_CARBONDIOXIDE", &"9".repeat(3900))
    );
    let reply = server.send("POST", "/management/api/v1.0/telemetry/batch", &headers, Some(body.into_bytes())).await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert!(reply.body.contains("line 2: "), "{}", reply.body);
    let (status, value) = call(&server, "GET", &format!("sensors/{}/value", t.motion), None).await;
    assert_eq!(status, 404, "the first line's value was not stored either: {value}");
    assert_eq!(device_messages(&server, &t.names).await.matches("DeviceMessage").count(), 0);
    server.stop().await;
}

/// Our own availability function, written to the same client library as the occupancy sample's: it stores the reading, then sets the room's `AvailableAndFresh` from its motion and CO2 sensors, and notifies when the room is taken or stuffy.
const AVAILABILITY: &str = r#"
function process(telemetry, executionContext) {
    const sensor = getSensorMetadata(telemetry.SensorId);
    setSensorValue(telemetry.SensorId, sensor.DataType, JSON.parse(telemetry.Message).SensorValue);
    const room = sensor.Space();
    const sensors = room.ChildSensors();
    const motion = sensors.find((s) => s.DataType === "Motion");
    const co2 = sensors.find((s) => s.dataType === "CarbonDioxide");
    const presence = motion ? motion.Value().Value : null;
    const level = co2 ? co2.Value().Value : null;
    if (presence == null || level == null) {
        sendNotification(telemetry.SensorId, "Sensor", "Error: a reading is missing");
        return;
    }
    if (presence.toLowerCase() !== "true" && parseFloat(level) < 1000) {
        setSpaceValue(room.Id, "AvailableAndFresh", "Room is available and air is fresh");
    } else {
        setSpaceValue(room.Id, "AvailableAndFresh", "Room is not available or air quality is poor");
        room.Notify(JSON.stringify("Room is not available or air quality is poor"));
    }
}
"#;

/// The id the topology gave the object named `name`.
fn id_named(names: &Names, name: &str) -> String {
    names.0.iter().find(|(_, n)| n == name).map(|(id, _)| id.clone()).expect("a named object")
}

/// The sample's matchers and our availability function on the room, with its role assignment (Space Administrator on the room's path); answers the room's id and path.
async fn install_availability(server: &TestServer, t: &mut Topology) -> (String, String) {
    install_function(server, t, AVAILABILITY).await
}

/// The sample's matchers and `script` as a function on the room, with its role assignment (Space Administrator on the room's path); answers the room's id and path.
async fn install_function(server: &TestServer, t: &mut Topology, script: &str) -> (String, String) {
    let room = id_named(&t.names, "room");
    let mut matchers = Vec::new();
    for data_type in ["Motion", "CarbonDioxide"] {
        let body = json!({"Name": format!("Matcher {data_type} A1"), "SpaceId": room,
            "Conditions": [{"Target": "Sensor", "Path": "$.dataType", "Value": format!("\"{data_type}\""), "Comparison": "Equals"}]});
        let (status, id) = call(server, "POST", "matchers", Some(body)).await;
        assert_eq!(status, 201, "{id}");
        matchers.push(id.as_str().expect("an id").to_owned());
    }
    let metadata = json!({"Matchers": matchers, "Name": "Motion Processor", "SpaceId": room});
    let (status, function) =
        crate::management_functions::upload(server, "POST", "userdefinedfunctions", &metadata, Some(script)).await;
    assert_eq!(status, 201, "{function}");
    let function = function.as_str().expect("an id").to_owned();
    t.names.add(&function, "function");
    let (_, room_with_path) = call(server, "GET", &format!("spaces/{room}?includes=fullpath"), None).await;
    let path = room_with_path["spacePaths"][0].as_str().expect("a path").to_owned();
    let grant = json!({"ObjectId": function, "ObjectIdType": "UserDefinedFunctionId", "Path": path, "RoleId": "98e44ad7-28d4-4007-853b-b9968ad132d1", "TenantId": null});
    assert_eq!(call(server, "POST", "roleassignments", Some(grant)).await.0, 201);
    (room, path)
}

/// Sends one reading of the sensor with `hardware_id` over HTTP as the device whose token is `token`, and asserts it was stored.
async fn send_reading(server: &TestServer, token: &str, hardware_id: &str, value: &str) {
    let headers =
        [("Authorization", token), ("DigitalTwins-Telemetry", "1.0"), ("DigitalTwins-SensorHardwareId", hardware_id)];
    let body = format!(r#"{{"SensorValue":"{value}"}}"#).into_bytes();
    let reply = server.send("POST", "/management/api/v1.0/telemetry", &headers, Some(body)).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
}

/// The events of `kind` the server logged, each as `show` renders its data, one per line.
async fn events_of(server: &TestServer, kind: &str, show: impl Fn(&Value) -> String) -> String {
    let reply = server.get("/events?limit=1000").await;
    let log: Value = serde_json::from_str(&reply.body).expect("JSON");
    let events = log["value"].as_array().expect("events");
    events.iter().filter(|e| e["eventType"] == kind).map(|e| show(&e["data"])).collect::<Vec<_>>().join("\n")
}

/// What the availability function announced for the sample's pattern: one UdfCustom per "not available" and the error of the first message, and a SensorChange per message naming the value before the message as its previous value.
async fn assert_announced(server: &TestServer, names: &Names) {
    let custom = events_of(server, "UdfCustom", |data| names.show(&data.to_string())).await;
    expect![[r#"
        {"TopologyObjectId":"<motion>","ResourceType":"Sensor","Payload":"Error: a reading is missing","CorrelationId":"6f1a2b3c"}
        {"TopologyObjectId":"<room>","ResourceType":"Space","Payload":"\"Room is not available or air quality is poor\"","CorrelationId":"6f1a2b3c"}
        {"TopologyObjectId":"<room>","ResourceType":"Space","Payload":"\"Room is not available or air quality is poor\"","CorrelationId":"6f1a2b3c"}"#]].assert_eq(&custom);
    let changes =
        events_of(server, "SensorChange", |d| format!("{} {} <- {}", d["DataType"], d["Value"], d["PreviousValue"]))
            .await;
    expect![[r#"
        "Motion" "false" <- null
        "CarbonDioxide" "850" <- null
        "Motion" "true" <- "false"
        "Motion" "false" <- "true"
        "CarbonDioxide" "1050" <- "850""#]]
    .assert_eq(&changes);
    let spaces = events_of(server, "SpaceChange", |d| format!("{} <- {}", d["Value"], d["PreviousValue"])).await;
    expect![[r#"
        "Room is available and air is fresh" <- null
        "Room is not available or air quality is poor" <- "Room is available and air is fresh"
        "Room is available and air is fresh" <- "Room is not available or air quality is poor"
        "Room is not available or air quality is poor" <- "Room is available and air is fresh""#]]
    .assert_eq(&spaces);
}

/// The sample's pattern as one HTTP batch: its runs go to a worker as one job and are applied in one write, yet each run sees the batch as if the messages came one at a time (the first message's run does not see the motion the third sets), so the events are those of the same pattern sent message by message.
#[tokio::test]
async fn a_batch_runs_its_functions_as_if_its_messages_came_one_at_a_time() {
    let server = crate::start_shipped().await;
    let mut t = provision(&server).await;
    let (room, _) = install_availability(&server, &mut t).await;
    let token = sas_token(&t.host, &t.device, &t.key, in_an_hour());
    let line = |hardware_id: &str, value: &str| {
        json!({"properties": {"DigitalTwins-Telemetry": "1.0", "DigitalTwins-SensorHardwareId": hardware_id, "CorrelationId": "6f1a2b3c"}, "body": {"SensorValue": value}}).to_string()
    };
    let batch: Vec<String> = [
        ("SAMPLE_SENSOR_MOTION", "false"),
        ("SAMPLE_SENSOR_CARBONDIOXIDE", "850"),
        ("SAMPLE_SENSOR_MOTION", "true"),
        ("SAMPLE_SENSOR_MOTION", "false"),
        ("SAMPLE_SENSOR_CARBONDIOXIDE", "1050"),
    ]
    .iter()
    .map(|(hardware_id, value)| line(hardware_id, value))
    .collect();
    let headers = [("Authorization", token.as_str()), ("Content-Type", "application/x-ndjson")];
    let body = batch.join("\n").into_bytes();
    let reply = server.send("POST", "/management/api/v1.0/telemetry/batch", &headers, Some(body)).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_announced(&server, &t.names).await;
    let (_, values) = call(&server, "GET", &format!("spaces/{room}/values"), None).await;
    assert_eq!(values[0]["value"], json!("Room is not available or air quality is poor"), "{values}");
    let (_, motion) = call(&server, "GET", &format!("sensors/{}/value", t.motion), None).await;
    assert_eq!(motion["value"], json!("false"), "{motion}");
    server.stop().await;
}

/// The HTTP routes hold at most `limits.telemetry_http_inflight_max` messages: while a batch of that many waits for its functions (each runs into its time limit), one more message is turned away with 429 and `Retry-After`, in the 2018 error format, and changes nothing; once the batch is done it is taken.
#[tokio::test]
async fn http_telemetry_past_the_inflight_limit_is_turned_away_with_retry_after() {
    const INFLIGHT: usize = 8;
    let dir = tempfile::tempdir().expect("a data directory");
    let server = crate::start_shipped_configured(dir, |config| {
        config.limits.telemetry_http_inflight_max = std::num::NonZeroUsize::new(INFLIGHT).expect("not zero");
    })
    .await;
    let mut t = provision(&server).await;
    install_function(&server, &mut t, ENDLESS).await;
    let token = sas_token(&t.host, &t.device, &t.key, in_an_hour());
    let line = |value: &str| {
        json!({"properties": {"DigitalTwins-Telemetry": "1.0", "DigitalTwins-SensorHardwareId": "SAMPLE_SENSOR_MOTION"}, "body": {"SensorValue": value}}).to_string()
    };
    let batch: Vec<String> = (1..=INFLIGHT).map(|n| line(&format!("batch {n}"))).collect();
    let batch_headers = [("Authorization", token.as_str()), ("Content-Type", "application/x-ndjson")];
    let one_headers = [
        ("Authorization", token.as_str()),
        ("DigitalTwins-Telemetry", "1.0"),
        ("DigitalTwins-SensorHardwareId", "SAMPLE_SENSOR_MOTION"),
    ];
    let motion_value = async || {
        let (_, value) = call(&server, "GET", &format!("sensors/{}/value", t.motion), None).await;
        value["value"].as_str().unwrap_or_default().to_owned()
    };
    let sent = server.send(
        "POST",
        "/management/api/v1.0/telemetry/batch",
        &batch_headers,
        Some(batch.join("\n").into_bytes()),
    );
    let refused = async {
        // A message to a hardware id no sensor has changes nothing either way: it is refused as unknown while the pipeline has room, and turned away once the batch holds every permit (its functions run some 50 ms each).
        let deadline = std::time::Instant::now() + MQTT_TIMEOUT;
        let probe_headers = [
            ("Authorization", token.as_str()),
            ("DigitalTwins-Telemetry", "1.0"),
            ("DigitalTwins-SensorHardwareId", "NO_SUCH_SENSOR"),
        ];
        loop {
            let probe =
                server.send("POST", "/management/api/v1.0/telemetry", &probe_headers, Some(b"1".to_vec())).await;
            if probe.status == 429 {
                break;
            }
            assert_eq!(probe.status, 404, "{}", probe.body);
            assert!(std::time::Instant::now() < deadline, "the batch did not take the permits");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let body = br#"{"SensorValue":"refused"}"#.to_vec();
        server.send("POST", "/management/api/v1.0/telemetry", &one_headers, Some(body)).await
    };
    let (batch_reply, refused) = tokio::join!(sent, refused);
    assert_eq!(batch_reply.status, 204, "{}", batch_reply.body);
    assert_eq!(
        (refused.status, refused.header("retry-after"), refused.body.as_str()),
        (
            429,
            Some("1"),
            r#"{"error":{"code":"429.600.000.000","message":"the server holds as many telemetry messages over HTTP as it may (8); send again later"}}"#
        )
    );
    assert_eq!(motion_value().await, format!("batch {INFLIGHT}"), "the refused message changed nothing");
    let body = br#"{"SensorValue":"taken"}"#.to_vec();
    let taken = server.send("POST", "/management/api/v1.0/telemetry", &one_headers, Some(body)).await;
    assert_eq!(taken.status, 204, "{}", taken.body);
    assert_eq!(motion_value().await, "taken");
    // Every message of the batch ran the function into its time limit; the refused one ran nothing.
    let failures = events_of(&server, "UdfFailed", |d| d["Status"].to_string()).await;
    assert_eq!(failures.lines().filter(|s| *s == "\"timed_out\"").count(), INFLIGHT + 1, "{failures}");
    server.stop().await;
}

/// A function that stores twice the reading as its sensor's value.
const DOUBLING: &str = r#"
function process(telemetry, executionContext) {
    const sensor = getSensorMetadata(telemetry.SensorId);
    setSensorValue(telemetry.SensorId, sensor.DataType, 2 * JSON.parse(telemetry.Message).SensorValue);
}
"#;

/// In a batch, the value a run's SensorChange replaces is the one before its message as one message at a time would leave it: what the run before set, not the message before.
#[tokio::test]
async fn a_batch_names_the_value_each_run_replaced() {
    let server = crate::start_shipped().await;
    let mut t = provision(&server).await;
    install_function(&server, &mut t, DOUBLING).await;
    let token = sas_token(&t.host, &t.device, &t.key, in_an_hour());
    let line = |value: u32| {
        json!({"properties": {"DigitalTwins-Telemetry": "1.0", "DigitalTwins-SensorHardwareId": "SAMPLE_SENSOR_CARBONDIOXIDE"}, "body": {"SensorValue": value.to_string()}}).to_string()
    };
    let headers = [("Authorization", token.as_str()), ("Content-Type", "application/x-ndjson")];
    let body = format!("{}\n{}\n", line(1), line(3)).into_bytes();
    let reply = server.send("POST", "/management/api/v1.0/telemetry/batch", &headers, Some(body)).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let changes = events_of(&server, "SensorChange", |d| format!("{} <- {}", d["Value"], d["PreviousValue"])).await;
    expect![[r#"
        "2" <- null
        "6" <- "2""#]]
    .assert_eq(&changes);
    let co2 = id_named(&t.names, "co2");
    let (_, value) = call(&server, "GET", &format!("sensors/{co2}/value"), None).await;
    assert_eq!(value["value"], json!("6"), "{value}");
    // The sensor's history holds every value it took, newest first, in the order the messages and runs set them: the newest point is the value the sensor holds.
    let (_, history) = call(&server, "GET", &format!("sensors/{co2}/history"), None).await;
    let values: Vec<&Value> = history["value"].as_array().expect("points").iter().map(|p| &p["value"]).collect();
    assert_eq!(values, [&json!("6"), &json!("3"), &json!("2"), &json!("1")], "{history}");
    // The batch went through each stage of the pipeline once; the time of each is a histogram.
    let metrics = server.get("/metrics").await.body;
    let mut counts: Vec<&str> =
        metrics.lines().filter(|line| line.starts_with("telemetry_batch_stage_seconds_count")).collect();
    counts.sort_unstable();
    expect![[r#"
        telemetry_batch_stage_seconds_count{stage="functions"} 1
        telemetry_batch_stage_seconds_count{stage="prepare"} 1
        telemetry_batch_stage_seconds_count{stage="write"} 1"#]]
    .assert_eq(&counts.join("\n"));
    server.stop().await;
}

/// A function that sets ten 4,000-character values on its room, together past the twin size limit.
const BLOATING: &str = r#"
function process(telemetry, executionContext) {
    const room = getSensorMetadata(telemetry.SensorId).Space();
    for (let i = 0; i < 10; i++) {
        setSpaceValue(room.Id, "Bloat" + i, "x".repeat(4000));
    }
}
"#;

/// When the graph refuses what a run set (here a room grown past the twin size limit), that run fails alone: nothing of it is applied, its UdfFailed event says why, and the other function the message ran is applied and the message acknowledged.
#[tokio::test]
async fn a_run_whose_values_the_graph_refuses_fails_alone() {
    let server = crate::start_shipped().await;
    let mut t = provision(&server).await;
    let (room, path) = install_availability(&server, &mut t).await;
    let (_, matchers) = call(&server, "GET", &format!("matchers?spaceIds={room}"), None).await;
    let matchers: Vec<Value> = matchers.as_array().expect("matchers").iter().map(|m| m["id"].clone()).collect();
    let metadata = json!({"Matchers": matchers, "Name": "Bloating", "SpaceId": room});
    let (status, bloating) =
        crate::management_functions::upload(&server, "POST", "userdefinedfunctions", &metadata, Some(BLOATING)).await;
    assert_eq!(status, 201, "{bloating}");
    t.names.add(bloating.as_str().expect("an id"), "bloating");
    let grant = json!({"ObjectId": bloating, "ObjectIdType": "UserDefinedFunctionId", "Path": path, "RoleId": "98e44ad7-28d4-4007-853b-b9968ad132d1"});
    assert_eq!(call(&server, "POST", "roleassignments", Some(grant)).await.0, 201);
    let token = sas_token(&t.host, &t.device, &t.key, in_an_hour());
    for (hardware_id, value) in [("SAMPLE_SENSOR_MOTION", "false"), ("SAMPLE_SENSOR_CARBONDIOXIDE", "500")] {
        send_reading(&server, &token, hardware_id, value).await;
    }
    let (_, values) = call(&server, "GET", &format!("spaces/{room}/values"), None).await;
    let names: Vec<&str> = values.as_array().expect("values").iter().filter_map(|v| v["type"].as_str()).collect();
    assert_eq!(names, ["AvailableAndFresh"], "{values}");
    let failures =
        events_of(&server, "UdfFailed", |d| t.names.show(&format!("{} {}", d["UserDefinedFunctionId"], d["Message"])))
            .await;
    // The size depends on the twin's timestamps and ids; the limit does not.
    let failures: String = failures
        .split("exceeded: ")
        .enumerate()
        .map(|(i, part)| match i {
            0 => part.to_owned(),
            _ => format!("<size>{}", part.trim_start_matches(|c: char| c.is_ascii_digit())),
        })
        .collect::<Vec<_>>()
        .join("exceeded: ");
    expect![[r#"
        "<bloating>" "Error: what the function set was refused: twin bytes limit exceeded: <size> > 32768"
        "<bloating>" "Error: what the function set was refused: twin bytes limit exceeded: <size> > 32768""#]]
    .assert_eq(&failures);
    server.stop().await;
}

/// A function that records the name of its sensor's room as the room sees it.
const NAMING: &str = r#"
function process(telemetry, executionContext) {
    const room = getSensorMetadata(telemetry.SensorId).Space();
    setSpaceValue(room.Id, "SeenName", room.Name);
}
"#;

/// The objects functions read are rendered once and kept, but never outlive a change: after the room is renamed, the next run reads the new name.
#[tokio::test]
async fn functions_read_objects_as_they_are_now() {
    let server = crate::start_shipped().await;
    let mut t = provision(&server).await;
    let (room, _) = install_function(&server, &mut t, NAMING).await;
    let token = sas_token(&t.host, &t.device, &t.key, in_an_hour());
    let mut seen = Vec::new();
    for rename in [None, None, Some("Huddle Room A1")] {
        if let Some(name) = rename {
            let (status, reply) = call(&server, "PATCH", &format!("spaces/{room}"), Some(json!({"Name": name}))).await;
            assert_eq!(status, 204, "{reply}");
        }
        send_reading(&server, &token, "SAMPLE_SENSOR_MOTION", "true").await;
        let (_, values) = call(&server, "GET", &format!("spaces/{room}/values"), None).await;
        seen.push(values[0]["value"].as_str().unwrap_or("(none)").to_owned());
    }
    assert_eq!(seen, ["Focus Room A1", "Focus Room A1", "Huddle Room A1"]);
    server.stop().await;
}

/// Which functions a sensor's value runs is computed once and kept, and follows every change that bears on it: the sensor's own fields (its data type, which the matchers test), its place in the tree (a relationship deleted and put back through the data plane) and the matchers.
#[tokio::test]
async fn the_functions_a_sensor_runs_follow_changes_to_the_sensor_and_its_matchers() {
    let server = crate::start_shipped().await;
    let mut t = provision(&server).await;
    let (room, _) = install_availability(&server, &mut t).await;
    let token = sas_token(&t.host, &t.device, &t.key, in_an_hour());
    let mut seen = Vec::new();
    let mut send = async |step: &str| {
        send_reading(&server, &token, "SAMPLE_SENSOR_MOTION", "true").await;
        let function = id_named(&t.names, "function");
        let (_, found) =
            call(&server, "GET", &format!("userdefinedfunctions/{function}?includes=statistics"), None).await;
        let runs = &found["statistics"]["runs"];
        seen.push(format!("{step}: {runs} runs"));
    };
    send("selected").await;
    let patch = async |body: Value| {
        let (status, reply) = call(&server, "PATCH", &format!("sensors/{}", t.motion), Some(body)).await;
        assert_eq!(status, 204, "{reply}");
    };
    patch(json!({"DataType": "Temperature"})).await;
    send("a Temperature sensor").await;
    patch(json!({"DataType": "Motion"})).await;
    send("a Motion sensor again").await;
    // Through the data plane: the device's place is its room's `hasDevice` relationship.
    let relationships = server.get(&format!("/digitaltwins/{room}/relationships?api-version=2023-10-31")).await;
    let relationships: Value = serde_json::from_str(&relationships.body).expect("JSON");
    let placed = relationships["value"]
        .as_array()
        .expect("relationships")
        .iter()
        .find(|r| r["$targetId"] == json!(t.device))
        .expect("the room's relationship to the device")
        .clone();
    let link = format!(
        "/digitaltwins/{room}/relationships/{}?api-version=2023-10-31",
        placed["$relationshipId"].as_str().expect("an id")
    );
    let removed = server.send("DELETE", &link, &[], None).await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    send("its device out of the room").await;
    let body =
        json!({"$targetId": t.device, "$relationshipName": placed["$relationshipName"]}).to_string().into_bytes();
    let restored = server.send("PUT", &link, &[("content-type", "application/json")], Some(body)).await;
    assert_eq!(restored.status, 200, "{}", restored.body);
    send("its device back in the room").await;
    let (_, matchers) = call(&server, "GET", &format!("matchers?spaceIds={room}"), None).await;
    let motion_matcher = matchers
        .as_array()
        .expect("matchers")
        .iter()
        .find(|m| m["name"] == "Matcher Motion A1")
        .and_then(|m| m["id"].as_str())
        .expect("the motion matcher")
        .to_owned();
    assert_eq!(call(&server, "DELETE", &format!("matchers/{motion_matcher}"), None).await.0, 204);
    send("its matcher deleted").await;
    expect![[r#"
        selected: 1 runs
        a Temperature sensor: 1 runs
        a Motion sensor again: 2 runs
        its device out of the room: 2 runs
        its device back in the room: 3 runs
        its matcher deleted: 3 runs"#]]
    .assert_eq(&seen.join("\n"));
    server.stop().await;
}

#[tokio::test]
async fn the_occupancy_function_turns_telemetry_into_the_rooms_availability() {
    let server = crate::start_shipped().await;
    let mut t = provision(&server).await;
    let (room, path) = install_availability(&server, &mut t).await;
    // The device sends the sample's pattern over MQTT: each message is acknowledged once the function's effects are durable.
    let token = sas_token(&t.host, &t.device, &t.key, in_an_hour());
    let (client, mut events, connected) = connect(&server, &t, &token).await;
    assert_eq!(connected, Ok(()));
    let availability = async |server: &crate::TestServer| {
        let (_, values) = call(server, "GET", &format!("spaces/{room}/values"), None).await;
        values[0]["value"].as_str().unwrap_or("(none)").to_owned()
    };
    let mut seen = Vec::new();
    for (hardware_id, body) in [
        ("SAMPLE_SENSOR_MOTION", r#"{"SensorValue":"false"}"#),
        ("SAMPLE_SENSOR_CARBONDIOXIDE", r#"{"SensorValue":"850"}"#),
        ("SAMPLE_SENSOR_MOTION", r#"{"SensorValue":"true"}"#),
        ("SAMPLE_SENSOR_MOTION", r#"{"SensorValue":"false"}"#),
        ("SAMPLE_SENSOR_CARBONDIOXIDE", r#"{"SensorValue":"1050"}"#),
    ] {
        let acked = publish(&client, &mut events, &topic(&t.device, hardware_id), body).await;
        seen.push(format!("{hardware_id} {body}: {acked}, room {}", availability(&server).await));
    }
    expect![[r#"
        SAMPLE_SENSOR_MOTION {"SensorValue":"false"}: PUBACK, room (none)
        SAMPLE_SENSOR_CARBONDIOXIDE {"SensorValue":"850"}: PUBACK, room Room is available and air is fresh
        SAMPLE_SENSOR_MOTION {"SensorValue":"true"}: PUBACK, room Room is not available or air quality is poor
        SAMPLE_SENSOR_MOTION {"SensorValue":"false"}: PUBACK, room Room is available and air is fresh
        SAMPLE_SENSOR_CARBONDIOXIDE {"SensorValue":"1050"}: PUBACK, room Room is not available or air quality is poor"#]].assert_eq(&seen.join("\n"));
    assert_announced(&server, &t.names).await;
    // Without its role assignment the function may not read the room: nothing changes.
    let (_, grants) = call(&server, "GET", &format!("roleassignments?path={path}"), None).await;
    let grant = grants[0]["id"].as_str().expect("a grant").to_owned();
    assert_eq!(call(&server, "DELETE", &format!("roleassignments/{grant}"), None).await.0, 204);
    let acked =
        publish(&client, &mut events, &topic(&t.device, "SAMPLE_SENSOR_CARBONDIOXIDE"), r#"{"SensorValue":"400"}"#)
            .await;
    assert_eq!(
        (acked.as_str(), availability(&server).await.as_str()),
        ("PUBACK", "Room is not available or air quality is poor")
    );
    server.stop().await;
}

/// A function that logs each motion reading and throws on `true`.
const PICKY: &str = r#"
function process(telemetry, executionContext) {
    const value = JSON.parse(telemetry.Message).SensorValue;
    log("motion " + value);
    if (value === "true") {
        throw new Error("motion is not expected here");
    }
}
"#;

/// A function that never returns.
const ENDLESS: &str = r#"
function process(telemetry, executionContext) {
    log("spinning");
    while (true) {}
}
"#;

/// A function that allocates ever larger buffers and keeps them all.
const HUNGRY: &str = r#"
function process(telemetry, executionContext) {
    const kept = [];
    for (let n = 1 << 16; ; n *= 2) {
        kept.push(new ArrayBuffer(n));
    }
}
"#;

/// A function that sets the room's `LastReading` to the reading's data type and value.
const HEALTHY: &str = r#"
function process(telemetry, executionContext) {
    const sensor = getSensorMetadata(telemetry.SensorId);
    const value = JSON.parse(telemetry.Message).SensorValue;
    setSpaceValue(sensor.Space().Id, "LastReading", sensor.DataType + " " + value);
}
"#;

/// A function's statistics or kept runs as one line of JSON per item, with ids named and times and durations left out.
fn runs_shown(names: &Names, value: &Value) -> String {
    let mut value = value.clone();
    let items = match &mut value {
        Value::Array(items) => items.iter_mut().collect::<Vec<_>>(),
        other => vec![other],
    };
    let mut lines = Vec::new();
    for item in items {
        if let Some(object) = item.as_object_mut() {
            for (name, field) in object.iter_mut() {
                if name.starts_with("duration") || name.ends_with("Utc") {
                    *field = json!(format!("<{name}>"));
                }
            }
        }
        lines.push(names.show(&item.to_string()));
    }
    lines.join("\n")
}

#[tokio::test]
async fn failing_functions_are_stopped_counted_logged_and_announced_and_the_pipeline_goes_on() {
    let server = crate::start_shipped().await;
    let mut t = provision(&server).await;
    let room = id_named(&t.names, "room");
    let mut matchers = Vec::new();
    for data_type in ["Motion", "CarbonDioxide"] {
        let body = json!({"Name": format!("Matcher {data_type}"), "SpaceId": room,
            "Conditions": [{"Target": "Sensor", "Path": "$.dataType", "Value": format!("\"{data_type}\""), "Comparison": "Equals"}]});
        let (status, id) = call(&server, "POST", "matchers", Some(body)).await;
        assert_eq!(status, 201, "{id}");
        matchers.push(id.as_str().expect("an id").to_owned());
    }
    let (motion, co2) = (&matchers[..1], &matchers[1..]);
    let mut functions = Vec::new();
    for (name, script, on) in [
        ("picky", PICKY, motion),
        ("endless", ENDLESS, co2),
        ("hungry", HUNGRY, co2),
        ("healthy", HEALTHY, &matchers[..]),
    ] {
        let metadata = json!({"Matchers": on, "Name": format!("{name} function"), "SpaceId": room});
        let (status, id) =
            crate::management_functions::upload(&server, "POST", "userdefinedfunctions", &metadata, Some(script)).await;
        assert_eq!(status, 201, "{name}: {id}");
        let id = id.as_str().expect("an id").to_owned();
        t.names.add(&id, name);
        functions.push(id);
    }
    let healthy = &functions[3];
    let (_, room_with_path) = call(&server, "GET", &format!("spaces/{room}?includes=fullpath"), None).await;
    let path = room_with_path["spacePaths"][0].as_str().expect("a path").to_owned();
    let grant = json!({"ObjectId": healthy, "ObjectIdType": "UserDefinedFunctionId", "Path": path, "RoleId": "98e44ad7-28d4-4007-853b-b9968ad132d1", "TenantId": null});
    assert_eq!(call(&server, "POST", "roleassignments", Some(grant)).await.0, 201);

    // Every message is acknowledged, and the healthy function runs on each, whatever the others did before it.
    let token = sas_token(&t.host, &t.device, &t.key, in_an_hour());
    let (client, mut events, connected) = connect(&server, &t, &token).await;
    assert_eq!(connected, Ok(()));
    let last_reading = async |server: &crate::TestServer| {
        let (_, values) = call(server, "GET", &format!("spaces/{room}/values"), None).await;
        values[0]["value"].as_str().unwrap_or("(none)").to_owned()
    };
    let mut seen = Vec::new();
    for (hardware_id, body) in [("SAMPLE_SENSOR_MOTION", "false"), ("SAMPLE_SENSOR_MOTION", "true")] {
        let body = format!(r#"{{"SensorValue":"{body}"}}"#);
        let acked = publish(&client, &mut events, &topic(&t.device, hardware_id), &body).await;
        seen.push(format!("MQTT {hardware_id} {body}: {acked}, room {}", last_reading(&server).await));
    }
    let headers = [
        ("Authorization", token.as_str()),
        ("DigitalTwins-Telemetry", "1.0"),
        ("DigitalTwins-SensorHardwareId", "SAMPLE_SENSOR_CARBONDIOXIDE"),
        ("CorrelationId", "co2-over-http"),
    ];
    let body = r#"{"SensorValue":"900"}"#;
    let reply = server.send("POST", "/management/api/v1.0/telemetry", &headers, Some(body.as_bytes().to_vec())).await;
    seen.push(format!(
        "HTTP SAMPLE_SENSOR_CARBONDIOXIDE {body}: {}, room {}",
        reply.status,
        last_reading(&server).await
    ));
    let body = r#"{"SensorValue":"700"}"#;
    let acked = publish(&client, &mut events, &topic(&t.device, "SAMPLE_SENSOR_CARBONDIOXIDE"), body).await;
    seen.push(format!("MQTT SAMPLE_SENSOR_CARBONDIOXIDE {body}: {acked}, room {}", last_reading(&server).await));
    expect![[r#"
        MQTT SAMPLE_SENSOR_MOTION {"SensorValue":"false"}: PUBACK, room Motion false
        MQTT SAMPLE_SENSOR_MOTION {"SensorValue":"true"}: PUBACK, room Motion true
        HTTP SAMPLE_SENSOR_CARBONDIOXIDE {"SensorValue":"900"}: 204, room CarbonDioxide 900
        MQTT SAMPLE_SENSOR_CARBONDIOXIDE {"SensorValue":"700"}: PUBACK, room CarbonDioxide 700"#]]
    .assert_eq(&seen.join("\n"));

    // The statistics of each function, and the runs each kept with their log lines.
    let mut statistics = Vec::new();
    for id in &functions {
        let (status, function) =
            call(&server, "GET", &format!("userdefinedfunctions/{id}?includes=statistics"), None).await;
        assert_eq!(status, 200, "{function}");
        statistics.push(format!("{}: {}", t.names.show(id), runs_shown(&t.names, &function["statistics"])));
    }
    expect![[r#"
        <picky>: {"runs":2,"ok":1,"errors":1,"threw":1,"timedOut":0,"outOfMemory":0,"stackOverflow":0,"durationMsTotal":"<durationMsTotal>","durationMsMax":"<durationMsMax>","lastRunUtc":"<lastRunUtc>"}
        <endless>: {"runs":2,"ok":0,"errors":2,"threw":0,"timedOut":2,"outOfMemory":0,"stackOverflow":0,"durationMsTotal":"<durationMsTotal>","durationMsMax":"<durationMsMax>","lastRunUtc":"<lastRunUtc>"}
        <hungry>: {"runs":2,"ok":0,"errors":2,"threw":0,"timedOut":0,"outOfMemory":2,"stackOverflow":0,"durationMsTotal":"<durationMsTotal>","durationMsMax":"<durationMsMax>","lastRunUtc":"<lastRunUtc>"}
        <healthy>: {"runs":4,"ok":4,"errors":0,"threw":0,"timedOut":0,"outOfMemory":0,"stackOverflow":0,"durationMsTotal":"<durationMsTotal>","durationMsMax":"<durationMsMax>","lastRunUtc":"<lastRunUtc>"}"#]].assert_eq(&statistics.join("\n"));
    let (_, endless) =
        call(&server, "GET", &format!("userdefinedfunctions/{}?includes=statistics", functions[1]), None).await;
    let longest = endless["statistics"]["durationMsMax"].as_f64().expect("a duration");
    assert!(longest >= 50.0, "the endless function stopped after {longest} ms, before its time limit");
    let mut logs = Vec::new();
    for id in &functions[..3] {
        let (status, runs) = call(&server, "GET", &format!("userdefinedfunctions/{id}/logs"), None).await;
        assert_eq!(status, 200, "{runs}");
        logs.push(format!("{}:\n{}", t.names.show(id), runs_shown(&t.names, &runs)));
    }
    expect![[r#"
        <picky>:
        {"timeUtc":"<timeUtc>","sensorId":"<motion>","correlationId":"6f1a2b3c","status":"ok","message":null,"durationMs":"<durationMs>","log":["motion false"],"logLinesDropped":0}
        {"timeUtc":"<timeUtc>","sensorId":"<motion>","correlationId":"6f1a2b3c","status":"threw","message":"Error: motion is not expected here (at process (function.js:6:19))","durationMs":"<durationMs>","log":["motion true"],"logLinesDropped":0}
        <endless>:
        {"timeUtc":"<timeUtc>","sensorId":"<co2>","correlationId":"co2-over-http","status":"timed_out","message":"timed out","durationMs":"<durationMs>","log":["spinning"],"logLinesDropped":0}
        {"timeUtc":"<timeUtc>","sensorId":"<co2>","correlationId":"6f1a2b3c","status":"timed_out","message":"timed out","durationMs":"<durationMs>","log":["spinning"],"logLinesDropped":0}
        <hungry>:
        {"timeUtc":"<timeUtc>","sensorId":"<co2>","correlationId":"co2-over-http","status":"out_of_memory","message":"out of memory","durationMs":"<durationMs>","log":[],"logLinesDropped":0}
        {"timeUtc":"<timeUtc>","sensorId":"<co2>","correlationId":"6f1a2b3c","status":"out_of_memory","message":"out of memory","durationMs":"<durationMs>","log":[],"logLinesDropped":0}"#]].assert_eq(&logs.join("\n"));

    // Each failed run raised a UdfFailed event.
    let reply = server.get("/events?limit=1000").await;
    let log: Value = serde_json::from_str(&reply.body).expect("JSON");
    let mut failed: Vec<String> = log["value"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["eventType"] == "UdfFailed")
        .map(|e| t.names.show(&e["data"].to_string()))
        .collect();
    failed.sort();
    expect![[r#"
        {"UserDefinedFunctionId":"<endless>","SensorId":"<co2>","CorrelationId":"6f1a2b3c","Status":"timed_out","Message":"timed out"}
        {"UserDefinedFunctionId":"<endless>","SensorId":"<co2>","CorrelationId":"co2-over-http","Status":"timed_out","Message":"timed out"}
        {"UserDefinedFunctionId":"<hungry>","SensorId":"<co2>","CorrelationId":"6f1a2b3c","Status":"out_of_memory","Message":"out of memory"}
        {"UserDefinedFunctionId":"<hungry>","SensorId":"<co2>","CorrelationId":"co2-over-http","Status":"out_of_memory","Message":"out of memory"}
        {"UserDefinedFunctionId":"<picky>","SensorId":"<motion>","CorrelationId":"6f1a2b3c","Status":"threw","Message":"Error: motion is not expected here (at process (function.js:6:19))"}"#]].assert_eq(&failed.join("\n"));
    let metrics = server.get("/metrics").await.body;
    let mut counted: Vec<&str> = metrics.lines().filter(|l| l.starts_with("function_runs_total")).collect();
    counted.sort_unstable();
    expect![[r#"
        function_runs_total{status="ok"} 5
        function_runs_total{status="out_of_memory"} 2
        function_runs_total{status="threw"} 1
        function_runs_total{status="timed_out"} 2"#]]
    .assert_eq(&counted.join("\n"));

    // A deleted function's statistics and logs go with it.
    let picky = &functions[0];
    assert_eq!(call(&server, "DELETE", &format!("userdefinedfunctions/{picky}"), None).await.0, 204);
    let (status, _) = call(&server, "GET", &format!("userdefinedfunctions/{picky}/logs"), None).await;
    assert_eq!(status, 404);
    let _ = client.disconnect().await;
    server.stop().await;
}

/// A function that tries to announce more than a run may and to set a value too large to keep, catching what the host refuses.
const GREEDY: &str = r#"
function process(telemetry, executionContext) {
    let refused = 0;
    for (let i = 0; i < 150; i++) {
        try { sendNotification(telemetry.SensorId, "Sensor", "note " + i); } catch (e) { refused++; }
    }
    log("notifications refused: " + refused);
    try { setSpaceValue(getSensorMetadata(telemetry.SensorId).spaceId, "Big", "x".repeat(5000)); } catch (e) { log(String(e)); }
}
"#;

#[tokio::test]
async fn what_one_run_may_set_and_send_is_bounded() {
    let server = crate::start_shipped().await;
    let t = provision(&server).await;
    let room = id_named(&t.names, "room");
    let body = json!({"Name": "Every sensor", "SpaceId": room, "Conditions": []});
    let (status, matcher) = call(&server, "POST", "matchers", Some(body)).await;
    assert_eq!(status, 201, "{matcher}");
    let metadata = json!({"Matchers": [matcher], "Name": "Greedy", "SpaceId": room});
    let (status, function) =
        crate::management_functions::upload(&server, "POST", "userdefinedfunctions", &metadata, Some(GREEDY)).await;
    assert_eq!(status, 201, "{function}");
    let function = function.as_str().expect("an id").to_owned();
    let (_, with_path) = call(&server, "GET", &format!("spaces/{room}?includes=fullpath"), None).await;
    let grant = json!({"ObjectId": function, "ObjectIdType": "UserDefinedFunctionId", "Path": with_path["spacePaths"][0], "RoleId": "98e44ad7-28d4-4007-853b-b9968ad132d1"});
    assert_eq!(call(&server, "POST", "roleassignments", Some(grant)).await.0, 201);
    let token = sas_token(&t.host, &t.device, &t.key, in_an_hour());
    let (client, mut events, connected) = connect(&server, &t, &token).await;
    assert_eq!(connected, Ok(()));
    let acked =
        publish(&client, &mut events, &topic(&t.device, "SAMPLE_SENSOR_MOTION"), r#"{"SensorValue":"true"}"#).await;
    assert_eq!(acked, "PUBACK");
    let (_, logs) = call(&server, "GET", &format!("userdefinedfunctions/{function}/logs"), None).await;
    expect![[r#"["notifications refused: 50","Error: the value has 5000 bytes; at most 4096 are accepted"]"#]]
        .assert_eq(&logs[0]["log"].to_string());
    let reply = server.get("/events?limit=1000").await;
    let log: Value = serde_json::from_str(&reply.body).expect("JSON");
    let notes = log["value"].as_array().expect("events").iter().filter(|e| e["eventType"] == "UdfCustom").count();
    assert_eq!(notes, 100, "a run sends at most 100 notifications");
    let (_, values) = call(&server, "GET", &format!("spaces/{room}/values"), None).await;
    assert_eq!(values, json!([]), "the oversized value was refused to the function");
    server.stop().await;
}

#[tokio::test]
async fn a_device_that_connects_again_takes_over_its_old_connection() {
    let server = crate::start_shipped().await;
    let t = provision(&server).await;
    let token = sas_token(&t.host, &t.device, &t.key, in_an_hour());
    let (first, mut first_events, connected) = connect(&server, &t, &token).await;
    assert_eq!(connected, Ok(()));
    assert_eq!(
        publish(&first, &mut first_events, &topic(&t.device, "SAMPLE_SENSOR_MOTION"), r#"{"SensorValue":"true"}"#)
            .await,
        "PUBACK"
    );
    let (second, mut second_events, connected) = connect(&server, &t, &token).await;
    assert_eq!(connected, Ok(()));
    // The first connection is closed by the server once the second is in.
    let closed = tokio::time::timeout(MQTT_TIMEOUT, async {
        loop {
            if first_events.poll().await.is_err() {
                return;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the old connection is closed");
    let answer =
        publish(&second, &mut second_events, &topic(&t.device, "SAMPLE_SENSOR_MOTION"), r#"{"SensorValue":"false"}"#)
            .await;
    assert_eq!(answer, "PUBACK");
    let (_, value) = call(&server, "GET", &format!("sensors/{}/value", t.motion), None).await;
    assert_eq!(value["value"], "false");
    server.stop().await;
}

#[tokio::test]
async fn a_connection_closes_when_its_token_expires() {
    let server = crate::start_shipped().await;
    let t = provision(&server).await;
    let now = in_an_hour() - 3600;
    let token = sas_token(&t.host, &t.device, &t.key, now + 2);
    let (client, mut events, connected) = connect(&server, &t, &token).await;
    assert_eq!(connected, Ok(()));
    assert_eq!(
        publish(&client, &mut events, &topic(&t.device, "SAMPLE_SENSOR_MOTION"), r#"{"SensorValue":"true"}"#).await,
        "PUBACK"
    );
    // The server closes the connection once the token's expiry passes, as an IoT Hub does; the device reconnects with a new token.
    let started = std::time::Instant::now();
    let closed = tokio::time::timeout(MQTT_TIMEOUT, async {
        loop {
            if events.poll().await.is_err() {
                return;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection is closed when its token expires");
    assert!(started.elapsed() < Duration::from_secs(5), "within a moment of the expiry");
    server.stop().await;
}
