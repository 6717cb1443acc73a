//! The telemetry scenario of `twinscape bench`: the occupancy sample's topology scaled up, provisioned through the 2018 management face, and MQTT publishers driving the server's listener, each message timed from its publish to its PUBACK.
//!
//! Provisioning makes a root space with an IoT Hub resource, then per room a space, a device (which the hub gives a key) with a Motion and a CarbonDioxide sensor inline, and reads the device's connection string; every run makes a new root, with hardware ids of its own, so reruns against one server do not collide.
//! Then four phases, each connecting every device once (one MQTT 3.1.1 connection per device, `--connections` of them at a time) and publishing `--messages` QoS 1 messages on it, alternately to its two sensors, with at most `--inflight` waiting for their PUBACK:
//! `mqtt` as fast as PUBACKs come back, `mqtt-rate` at `--rate` messages a second over all connections, then, after the availability function, its two matchers and a Space Administrator role assignment are put on the root, `mqtt-function` and `mqtt-function-rate` the same.
//! The server acknowledges a message once its value and the function's effects are durable, so a latency is publish to stored value; in the rate-limited phases it is taken from when the message was due, so a sender that fell behind counts its wait.
//! After each phase a sample of rooms is read back through the 2018 face: every sensor must hold the last value its device sent in that phase, and with the function every room its `AvailableAndFresh`; a mismatch counts as an error of the phase.
//! With `--broker`, a phase `broker` comes first: the `mqtt` phase's load published to a plain MQTT broker (Mosquitto, say), the ceiling that phase is compared with on the same machine.
//! Checking the target and rendering results belong to `bench`; HTTP clients and the report type to `load`.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, Method, StatusCode};
use rumqttc::{AsyncClient, ConnectReturnCode, Event, MqttOptions, Outgoing, Packet, QoS};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};

use super::load::{self, ERROR_SAMPLES_MAX, Phase, PhaseReport, Target, call};

/// Where the 2018 management face is mounted.
const MANAGEMENT: &str = "/management/api/v1.0";
/// The highest latency the histograms record, in microseconds.
const LATENCY_US_MAX: u64 = 60_000_000;
/// How long a connection may wait for any packet (CONNACK, a PUBACK) before it counts as failed.
const MQTT_TIMEOUT: Duration = Duration::from_secs(30);
/// Concurrent HTTP connections of provisioning; each room is three requests in a row.
const PROVISION_CONNECTIONS: usize = 8;
/// Rooms read back after each phase, spread evenly over the topology.
const CHECK_ROOMS: usize = 20;
/// The role that lets the function read and write the topology: Space Administrator.
const SPACE_ADMINISTRATOR: &str = "98e44ad7-28d4-4007-853b-b9968ad132d1";
/// The longest any phase runs; devices not connected by then are reported as cut short.
const PHASE_TIME_MAX: Duration = Duration::from_secs(600);

/// The availability function of the demo building (`twinscape serve --demo`): it stores the reading, then sets the room's `AvailableAndFresh` from its motion and CO2 sensors, and notifies when the room is taken or stuffy.
const AVAILABILITY: &str = include_str!("../../../server/demo/availability.js");

/// What the scenario sends, from the command line.
pub(crate) struct Settings {
    pub(crate) rooms: usize,
    /// Messages each device publishes in each phase; at least 2, so both sensors get a value.
    pub(crate) messages: u64,
    /// Messages a connection has waiting for their PUBACK at most.
    pub(crate) inflight: usize,
    /// Devices connected at once.
    pub(crate) connections: usize,
    /// Messages a second over all connections in the rate-limited phases.
    pub(crate) rate: u64,
    /// The server's MQTT listener.
    pub(crate) mqtt: SocketAddr,
    /// A plain broker to publish the `mqtt` phase's load to first, as its ceiling.
    pub(crate) broker: Option<SocketAddr>,
}

/// One room of the topology, with what its device needs to connect.
struct Room {
    id: String,
    device: String,
    /// `{HostName}/{DeviceId}/?api-version=2018-06-30`.
    username: String,
    /// An IoT Hub SAS token computed from the connection string's key.
    token: String,
    /// The hardware ids of the Motion and the CarbonDioxide sensor, in that order.
    hardware_ids: [String; 2],
    /// The telemetry topics naming each sensor.
    topics: [String; 2],
}

/// Runs the scenario against `target` and reports provisioning and the four phases.
pub(crate) async fn run(target: &Target, settings: &Settings, progress: &mut dyn Write) -> Result<Vec<PhaseReport>> {
    let client = load::client(target)?;
    let base = format!("{}{MANAGEMENT}", target.base);
    // Models are installed by the first 2018 write; the line is there so every scenario says where its models came from.
    let _ = writeln!(progress, "bench: models are the built-in 2018 models");
    let tag = format!(
        "{:x}",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
    );
    let (root, rooms, provision) = provision(target, &client, &base, &tag, settings.rooms).await?;
    let _ = writeln!(
        progress,
        "bench: provision: {} rooms with a device and 2 sensors each below {root}, {} requests, {} errors in {:.1} s",
        rooms.len(),
        provision.ops,
        provision.errors,
        provision.elapsed.as_secs_f64()
    );
    let rooms = Arc::new(rooms);
    let mut reports = vec![provision];
    if let Some(broker) = settings.broker {
        // The same connections, client ids, credentials, topics and payloads as the `mqtt` phase; the broker checks nothing and stores nothing.
        let plan = Plan {
            phase: Phase::Broker,
            index: 0,
            messages: settings.messages,
            inflight: settings.inflight,
            connections: settings.connections.min(rooms.len()),
            rate: None,
            mqtt: broker,
        };
        let report = publish_phase(Arc::clone(&rooms), Arc::new(plan)).await;
        let _ = writeln!(
            progress,
            "bench: broker at {broker}: {} messages, {} errors in {:.1} s ({:.0}/s)",
            report.ops,
            report.errors,
            report.elapsed.as_secs_f64(),
            report.ops_per_s()
        );
        reports.push(report);
    }
    let phases =
        [(Phase::Mqtt, false), (Phase::MqttRate, true), (Phase::MqttFunction, false), (Phase::MqttFunctionRate, true)];
    for (index, (phase, rated)) in phases.into_iter().enumerate() {
        let function = matches!(phase, Phase::MqttFunction | Phase::MqttFunctionRate);
        if phase == Phase::MqttFunction {
            install_function(&client, &base, &root, &tag).await?;
            let _ = writeln!(progress, "bench: the availability function, its matchers and its role are on {root}");
        }
        let plan = Plan {
            phase,
            index: index as u64,
            messages: settings.messages,
            inflight: settings.inflight,
            connections: settings.connections.min(rooms.len()),
            rate: rated.then_some(settings.rate),
            mqtt: settings.mqtt,
        };
        let mut report = publish_phase(Arc::clone(&rooms), Arc::new(plan)).await;
        let checked = check(&client, &base, &rooms, index as u64, settings.messages, function, &mut report).await;
        let _ = writeln!(
            progress,
            "bench: {}: {} messages, {} errors in {:.1} s ({:.0}/s); {checked} rooms read back",
            phase.name(),
            report.ops,
            report.errors,
            report.elapsed.as_secs_f64(),
            report.ops_per_s()
        );
        reports.push(report);
    }
    Ok(reports)
}

/// Parameters of one publishing phase.
struct Plan {
    phase: Phase,
    /// The phase's place in the run, which picks the values it sends.
    index: u64,
    messages: u64,
    inflight: usize,
    connections: usize,
    rate: Option<u64>,
    mqtt: SocketAddr,
}

/// The sensor (0 Motion, 1 CarbonDioxide) and value of message `k` of room `room` in phase `phase`: deterministic, so the check knows the last value of each sensor, and different from phase to phase.
fn message(phase: u64, room: usize, k: u64) -> (usize, String) {
    let mix = (phase.wrapping_mul(1_000_003) ^ (room as u64).wrapping_mul(7_919) ^ k.wrapping_mul(104_729))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        >> 40;
    if k.is_multiple_of(2) {
        (0, if mix.is_multiple_of(3) { "true" } else { "false" }.to_owned())
    } else {
        (1, (400 + mix % 900).to_string())
    }
}

/// The last values a room's Motion and CarbonDioxide sensors got in `phase`.
fn last_values(phase: u64, room: usize, messages: u64) -> [String; 2] {
    let last_even = (messages - 1) & !1;
    let last_odd = if !(messages - 1).is_multiple_of(2) { messages - 1 } else { messages - 2 };
    [message(phase, room, last_even).1, message(phase, room, last_odd).1]
}

/// The availability the function sets from a room's last values.
fn availability(values: &[String; 2]) -> &'static str {
    let level: f64 = values[1].parse().unwrap_or(f64::MAX);
    if !values[0].eq_ignore_ascii_case("true") && level < 1000.0 {
        "Room is available and air is fresh"
    } else {
        "Room is not available or air quality is poor"
    }
}

/// Creates the root with its IoT Hub and the rooms with their devices and sensors, and reads each device's connection string; reports every request.
async fn provision(
    target: &Target,
    client: &Client,
    base: &str,
    tag: &str,
    rooms: usize,
) -> Result<(String, Vec<Room>, PhaseReport)> {
    let mut tally = Tally::new(Phase::Provision);
    let root = create(client, base, "spaces", &json!({"Name": format!("twinscape bench telemetry {tag}")}), &mut tally)
        .await
        .context("create the root space")?;
    create(client, base, "resources", &json!({"SpaceId": root, "Type": "IoTHub"}), &mut tally)
        .await
        .context("create the root's IoT Hub")?;
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..PROVISION_CONNECTIONS.min(rooms) {
        let (client, base, tag, root, next) =
            (load::client(target)?, base.to_owned(), tag.to_owned(), root.clone(), Arc::clone(&next));
        workers.spawn(async move {
            let mut tally = Tally::new(Phase::Provision);
            let mut made = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= rooms {
                    break;
                }
                match provision_room(&client, &base, &tag, &root, index, &mut tally).await {
                    Ok(room) => made.push((index, room)),
                    Err(err) => return Err(err.context(format!("provision room {index}"))),
                }
            }
            Ok((made, tally))
        });
    }
    let mut made = Vec::with_capacity(rooms);
    while let Some(joined) = workers.join_next().await {
        let (rooms, worker) = joined.context("a provisioning worker panicked")??;
        made.extend(rooms);
        tally.merge(worker);
    }
    made.sort_by_key(|(index, _)| *index);
    let report = tally.report(false);
    Ok((root, made.into_iter().map(|(_, room)| room).collect(), report))
}

/// One room: its space, its device with both sensors, and the device's connection string.
async fn provision_room(
    client: &Client,
    base: &str,
    tag: &str,
    root: &str,
    index: usize,
    tally: &mut Tally,
) -> Result<Room> {
    let room =
        create(client, base, "spaces", &json!({"Name": format!("Room {index}"), "ParentSpaceId": root}), tally).await?;
    let hardware_ids = [format!("{tag}-{index}-MOTION"), format!("{tag}-{index}-CO2")];
    let body = json!({
        "HardwareId": format!("{tag}-{index}"),
        "Name": format!("Device {index}"),
        "SpaceId": room,
        "Sensors": [
            {"DataType": "Motion", "HardwareId": hardware_ids[0]},
            {"DataType": "CarbonDioxide", "HardwareId": hardware_ids[1]},
        ],
    });
    let device = create(client, base, "devices", &body, tally).await?;
    let url = format!("{base}/devices/{device}?includes=ConnectionString");
    let answer = call(client, Method::GET, &url, None).await.map_err(anyhow::Error::msg)?;
    tally.ok(answer.latency);
    let found: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    let Some(connection_string) = found["connectionString"].as_str().filter(|_| answer.status == StatusCode::OK) else {
        bail!("GET {url}: {}: {}", answer.status, answer.text());
    };
    let part = |name: &str| {
        connection_string
            .split(';')
            .find_map(|p| p.strip_prefix(name).and_then(|p| p.strip_prefix('=')))
            .with_context(|| format!("{name} in the connection string {connection_string}"))
    };
    let (host, key) = (part("HostName")?, part("SharedAccessKey")?);
    if part("DeviceId")? != device {
        bail!("the connection string of {device} names another device: {connection_string}");
    }
    let token = sas_token(host, &device, key, in_a_day())?;
    let topics = hardware_ids.clone().map(|hardware_id| {
        format!(
            "devices/{device}/messages/events/DigitalTwins-Telemetry=1.0&DigitalTwins-SensorHardwareId={hardware_id}"
        )
    });
    Ok(Room {
        id: room,
        username: format!("{host}/{device}/?api-version=2018-06-30"),
        device,
        token,
        hardware_ids,
        topics,
    })
}

/// `POST {what}` with `body`, which must answer 201 with the new object's id.
async fn create(client: &Client, base: &str, what: &str, body: &Value, tally: &mut Tally) -> Result<String> {
    let url = format!("{base}/{what}");
    let answer = call(client, Method::POST, &url, Some(body)).await.map_err(anyhow::Error::msg)?;
    match serde_json::from_slice::<Value>(&answer.body) {
        Ok(Value::String(id)) if answer.status == StatusCode::CREATED => {
            tally.ok(answer.latency);
            Ok(id)
        }
        _ => bail!("POST {url} {body}: {}: {}", answer.status, answer.text()),
    }
}

/// Puts the availability function on `root`: a matcher for each sensor type, the function (multipart, as the samples upload it) and a Space Administrator role assignment on the root's path.
async fn install_function(client: &Client, base: &str, root: &str, tag: &str) -> Result<()> {
    let mut tally = Tally::new(Phase::Provision);
    let mut matchers = Vec::new();
    for data_type in ["Motion", "CarbonDioxide"] {
        let body = json!({"Name": format!("Matcher {data_type} {tag}"), "SpaceId": root,
            "Conditions": [{"Target": "Sensor", "Path": "$.dataType", "Value": format!("\"{data_type}\""), "Comparison": "Equals"}]});
        matchers.push(create(client, base, "matchers", &body, &mut tally).await?);
    }
    let metadata = json!({"Matchers": matchers, "Name": format!("Availability {tag}"), "SpaceId": root});
    const BOUNDARY: &str = "twinscape-bench-boundary";
    let body = format!(
        "--{BOUNDARY}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Disposition: form-data; name=metadata\r\n\r\n{metadata}\r\n\
         --{BOUNDARY}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: form-data; name=contents\r\n\r\n{AVAILABILITY}\r\n\
         --{BOUNDARY}--\r\n"
    );
    let url = format!("{base}/userdefinedfunctions");
    let response = client
        .post(&url)
        .header(CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(body)
        .send()
        .await
        .map_err(|err| anyhow::anyhow!("POST {url}: {}", load::chain(&err)))?;
    let status = response.status();
    let text = response.text().await.context("read the function upload's answer")?;
    let Some(Value::String(function)) =
        serde_json::from_str::<Value>(&text).ok().filter(|_| status == StatusCode::CREATED)
    else {
        bail!("POST {url}: {status}: {}", load::truncate(&text));
    };
    let url = format!("{base}/spaces/{root}?includes=fullpath");
    let answer = call(client, Method::GET, &url, None).await.map_err(anyhow::Error::msg)?;
    let space: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    let Some(path) = space["spacePaths"][0].as_str() else {
        bail!("GET {url}: {}: {}", answer.status, answer.text());
    };
    let grant = json!({"ObjectId": function, "ObjectIdType": "UserDefinedFunctionId", "Path": path,
        "RoleId": SPACE_ADMINISTRATOR, "TenantId": null});
    create(client, base, "roleassignments", &grant, &mut tally).await?;
    Ok(())
}

/// Connects every room's device once, `plan.connections` at a time, each publishing `plan.messages` messages.
async fn publish_phase(rooms: Arc<Vec<Room>>, plan: Arc<Plan>) -> PhaseReport {
    let started = Instant::now();
    let deadline = started + PHASE_TIME_MAX;
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for connection in 0..plan.connections {
        let (rooms, plan, next) = (Arc::clone(&rooms), Arc::clone(&plan), Arc::clone(&next));
        workers.spawn(async move {
            let mut tally = Tally::new(plan.phase);
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= rooms.len() || Instant::now() >= deadline {
                    break;
                }
                // Spreads the connections' schedules over one interval, so a rate-limited phase does not send in bursts.
                let offset = connection as f64 / plan.connections as f64;
                session(&rooms[index], index, &plan, offset, &mut tally).await;
            }
            tally
        });
    }
    let mut tally = Tally::new(plan.phase);
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(worker) => tally.merge(worker),
            Err(err) => tally.error(format!("a publishing connection panicked: {err}")),
        }
    }
    let planned = rooms.len() as u64 * plan.messages;
    tally.started = started;
    let cut_short = tally.ops + tally.errors < planned;
    tally.report(cut_short)
}

/// One device's connection: CONNECT with its SAS token, `plan.messages` QoS 1 messages, DISCONNECT; every PUBACK's latency and every message not acknowledged go to `tally`.
async fn session(room: &Room, index: usize, plan: &Plan, offset: f64, tally: &mut Tally) {
    let mut options = MqttOptions::new(room.device.clone(), plan.mqtt.ip().to_string(), plan.mqtt.port());
    options.set_credentials(room.username.clone(), room.token.clone());
    options.set_keep_alive(Duration::from_secs(60));
    options.set_inflight(u16::try_from(plan.inflight).unwrap_or(u16::MAX));
    let (client, mut events) = AsyncClient::new(options, plan.inflight + 1);
    let connected = tokio::time::timeout(MQTT_TIMEOUT, async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) if ack.code == ConnectReturnCode::Success => return Ok(()),
                Ok(Event::Incoming(Packet::ConnAck(ack))) => return Err(format!("refused: {:?}", ack.code)),
                Ok(_) => {}
                Err(err) => return Err(err.to_string()),
            }
        }
    })
    .await
    .unwrap_or_else(|_| Err(format!("no CONNACK within {} s", MQTT_TIMEOUT.as_secs())));
    if let Err(err) = connected {
        tally.errors += plan.messages;
        tally.sample(format!("connect {}: {err}", room.device));
        return;
    }
    // The event loop runs on a task of its own, so waiting for a PUBACK never interrupts a write; it returns a permit to the publisher for every PUBACK and closes the permits when the connection fails.
    let permits = Arc::new(Semaphore::new(plan.inflight));
    let (starts, mut started) = mpsc::unbounded_channel::<Instant>();
    let messages = plan.messages;
    let acks = {
        let permits = Arc::clone(&permits);
        let client = client.clone();
        tokio::spawn(async move {
            let mut latencies = Histogram::<u64>::new_with_bounds(1, LATENCY_US_MAX, 3).expect("valid bounds");
            let mut acked = 0u64;
            let mut failure = None;
            while acked < messages {
                match tokio::time::timeout(MQTT_TIMEOUT, events.poll()).await {
                    Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => {
                        let start = started.try_recv().expect("a message's start is sent before the message");
                        latencies.saturating_record(start.elapsed().as_micros().max(1).try_into().unwrap_or(u64::MAX));
                        acked += 1;
                        permits.add_permits(1);
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(err)) => {
                        failure = Some(format!("after {acked} PUBACKs: {err}"));
                        break;
                    }
                    Err(_) => {
                        failure = Some(format!("after {acked} PUBACKs: none more within {} s", MQTT_TIMEOUT.as_secs()));
                        break;
                    }
                }
            }
            permits.close();
            if failure.is_none() && client.try_disconnect().is_ok() {
                // DISCONNECT goes out on the next polls; the server closes the connection after it.
                let _ = tokio::time::timeout(MQTT_TIMEOUT, async {
                    while let Ok(event) = events.poll().await {
                        if matches!(event, Event::Outgoing(Outgoing::Disconnect)) {
                            break;
                        }
                    }
                })
                .await;
            }
            (latencies, acked, failure)
        })
    };
    let interval = plan.rate.map(|rate| Duration::from_secs_f64(plan.connections as f64 / rate as f64));
    let schedule = Instant::now() + interval.map(|i| i.mul_f64(offset)).unwrap_or_default();
    for k in 0..messages {
        let due = interval.map(|i| schedule + i * u32::try_from(k).unwrap_or(u32::MAX));
        if let Some(due) = due {
            tokio::time::sleep_until(due.into()).await;
        }
        let Ok(permit) = permits.acquire().await else { break };
        permit.forget();
        let (sensor, value) = message(plan.index, index, k);
        let payload = format!(r#"{{"SensorValue":"{value}"}}"#).into_bytes();
        let _ = starts.send(due.unwrap_or_else(Instant::now));
        if client.try_publish(room.topics[sensor].as_str(), QoS::AtLeastOnce, false, payload).is_err() {
            break;
        }
    }
    match acks.await {
        Ok((latencies, acked, failure)) => {
            tally.ops += acked;
            tally.histogram.add(&latencies).expect("histograms with the same bounds merge");
            if let Some(failure) = failure {
                tally.errors += messages - acked;
                tally.sample(format!("{}: {failure}", room.device));
            }
        }
        Err(err) => {
            tally.errors += messages;
            tally.sample(format!("{}: the event loop panicked: {err}", room.device));
        }
    }
}

/// Reads back `CHECK_ROOMS` rooms spread over the topology: each sensor's value must be the last its device sent in phase `phase`, and with the function each room's `AvailableAndFresh` must follow from them; a mismatch is an error of `report`. Returns how many rooms were read.
async fn check(
    client: &Client,
    base: &str,
    rooms: &[Room],
    phase: u64,
    messages: u64,
    function: bool,
    report: &mut PhaseReport,
) -> usize {
    let count = CHECK_ROOMS.min(rooms.len());
    let mut problems = Vec::new();
    for i in 0..count {
        let index = i * rooms.len() / count;
        let room = &rooms[index];
        let expected = last_values(phase, index, messages);
        let url = format!("{base}/sensors?spaceId={}&includes=value", room.id);
        let sensors = match call(client, Method::GET, &url, None).await {
            Ok(answer) if answer.status == StatusCode::OK => serde_json::from_slice::<Value>(&answer.body).ok(),
            Ok(answer) => {
                problems.push(format!("GET {url}: {}: {}", answer.status, answer.text()));
                continue;
            }
            Err(message) => {
                problems.push(message);
                continue;
            }
        };
        for (hardware_id, value) in room.hardware_ids.iter().zip(&expected) {
            let sensor = sensors.as_ref().and_then(Value::as_array).and_then(|all| {
                all.iter().find(|s| s["hardwareId"].as_str().is_some_and(|h| h.eq_ignore_ascii_case(hardware_id)))
            });
            let stored = sensor.and_then(|s| s["value"]["value"].as_str());
            if stored != Some(value.as_str()) {
                problems.push(format!("sensor {hardware_id} holds {stored:?}, its device last sent {value:?}"));
            }
        }
        if function {
            let url = format!("{base}/spaces/{}/values", room.id);
            let values = match call(client, Method::GET, &url, None).await {
                Ok(answer) => serde_json::from_slice::<Value>(&answer.body).unwrap_or(Value::Null),
                Err(message) => {
                    problems.push(message);
                    continue;
                }
            };
            let stored = values
                .as_array()
                .and_then(|all| all.iter().find(|v| v["type"] == "AvailableAndFresh"))
                .and_then(|v| v["value"].as_str());
            let want = availability(&expected);
            if stored != Some(want) {
                problems.push(format!(
                    "room {} has AvailableAndFresh {stored:?}, where its last values give {want:?}",
                    room.id
                ));
            }
        }
    }
    report.errors += problems.len() as u64;
    for problem in problems {
        if report.error_samples.len() < ERROR_SAMPLES_MAX {
            report.error_samples.push(format!("check: {problem}"));
        }
    }
    count
}

/// An IoT Hub device SAS token, as the Azure IoT device SDKs compute it: HMAC-SHA256 with the decoded key over the URL-encoded `{host}/devices/{device}`, a newline and the expiry.
fn sas_token(host: &str, device: &str, key: &str, expiry: u64) -> Result<String> {
    let resource = format!("{host}/devices/{device}").replace(':', "%3A").replace('/', "%2F");
    let key = STANDARD.decode(key).context("decode the device key")?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let signature = STANDARD.encode(ring::hmac::sign(&key, format!("{resource}\n{expiry}").as_bytes()).as_ref());
    let signature = signature.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
    Ok(format!("SharedAccessSignature sr={resource}&sig={signature}&se={expiry}"))
}

/// A token expiry a day from now, in seconds since 1970; a run never takes that long.
fn in_a_day() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    now.as_secs() + 86_400
}

/// A phase's operations, latencies and errors, merged across connections.
struct Tally {
    phase: Phase,
    started: Instant,
    ops: u64,
    errors: u64,
    histogram: Histogram<u64>,
    error_samples: Vec<String>,
}

impl Tally {
    fn new(phase: Phase) -> Tally {
        let histogram = Histogram::new_with_bounds(1, LATENCY_US_MAX, 3).expect("the histogram bounds are valid");
        Tally { phase, started: Instant::now(), ops: 0, errors: 0, histogram, error_samples: Vec::new() }
    }

    fn ok(&mut self, latency: Duration) {
        self.ops += 1;
        self.histogram.saturating_record(latency.as_micros().max(1).try_into().unwrap_or(u64::MAX));
    }

    fn error(&mut self, message: String) {
        self.errors += 1;
        self.sample(message);
    }

    fn sample(&mut self, message: String) {
        if self.error_samples.len() < ERROR_SAMPLES_MAX {
            self.error_samples.push(message);
        }
    }

    fn merge(&mut self, other: Tally) {
        self.ops += other.ops;
        self.errors += other.errors;
        self.histogram.add(&other.histogram).expect("histograms with the same bounds merge");
        for message in other.error_samples {
            self.sample(message);
        }
    }

    fn report(self, cut_short: bool) -> PhaseReport {
        PhaseReport {
            phase: self.phase,
            ops: self.ops,
            errors: self.errors,
            elapsed: self.started.elapsed(),
            histogram: self.histogram,
            error_samples: self.error_samples,
            cut_short,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_sensor_gets_values_and_the_last_ones_are_known() {
        let sent: Vec<String> = (0..6).map(|k| format!("{:?}", message(2, 7, k))).collect();
        expect_test::expect![[r#"(0, "true") (1, "854") (0, "false") (1, "500") (0, "true") (1, "719")"#]]
            .assert_eq(&sent.join(" "));
        assert_eq!(last_values(2, 7, 6), ["true", "719"]);
        assert_eq!(last_values(2, 7, 5), ["true", "500"]);
        assert_eq!(availability(&last_values(2, 7, 6)), "Room is not available or air quality is poor");
        assert_eq!(availability(&last_values(2, 7, 4)), "Room is available and air is fresh");
        assert_eq!(availability(&["false".to_owned(), "999".to_owned()]), "Room is available and air is fresh");
    }
}
