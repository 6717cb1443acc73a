//! The telemetry scenario of `twinscape bench`: the occupancy sample's topology scaled up, provisioned through the 2018 management face, and MQTT publishers driving the server's listener, each message timed from its publish to its PUBACK.
//!
//! Provisioning makes a root space with an IoT Hub resource, then per room a space, a device (which the hub gives a key) with a Motion and a CarbonDioxide sensor inline, and reads the device's connection string; every run makes a new root, with hardware ids of its own, so reruns against one server do not collide.
//! Then four phases, each connecting every device once (one MQTT 3.1.1 connection per device, `--connections` of them at a time) and publishing `--messages` QoS 1 messages on it, alternately to its two sensors, with at most `--inflight` waiting for their PUBACK:
//! `mqtt` as fast as PUBACKs come back, `mqtt-rate` at `--rate` messages a second over all connections, then, after the availability function, its two matchers and a Space Administrator role assignment are put on the root, `mqtt-function` and `mqtt-function-rate` the same.
//! The server acknowledges a message once its value and the function's effects are durable, so a latency is publish to stored value; in the rate-limited phases it is taken from when the message was due, so a sender that fell behind counts its wait.
//! After each phase a sample of rooms is read back through the 2018 face: every sensor must hold the last value its device sent in that phase, and with the function every room its `AvailableAndFresh`; a mismatch counts as an error of the phase.
//! With `--broker`, a phase `broker` comes first: the `mqtt` phase's load published to a plain MQTT broker (Mosquitto, say), the ceiling that phase is compared with on the same machine.
//! A device's connection is a small client over TCP whose every packet rumqttc's MQTT 3.1.1 codec (`mqttbytes::v4`) writes and reads: each turn it writes all the messages due that its window has room for in one write and takes in every PUBACK it reads, so the generator leaves the CPU it shares with the server under test to the server.
//! Checking the target and rendering results belong to `bench`; HTTP clients and the report type to `load`.

use std::collections::VecDeque;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::{Bytes, BytesMut};
use hdrhistogram::Histogram;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, Method, StatusCode};
use rumqttc::mqttbytes::v4::{Connect, ConnectReturnCode, Disconnect, Packet, PingReq, Publish};
use rumqttc::mqttbytes::{Error as CodecError, QoS};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::load::{self, ERROR_SAMPLES_MAX, Phase, PhaseReport, Target, call};

/// Where the 2018 management face is mounted.
const MANAGEMENT: &str = "/management/api/v1.0";
/// The highest latency the histograms record, in microseconds.
const LATENCY_US_MAX: u64 = 60_000_000;
/// How long a connection may wait for any packet (CONNACK, a PUBACK), or for a write to go out, before it counts as failed.
const MQTT_TIMEOUT: Duration = Duration::from_secs(30);
/// The keep-alive a device announces in CONNECT, in seconds; a connection that has written nothing for that long sends PINGREQ.
const KEEP_ALIVE_S: u16 = 60;
const KEEP_ALIVE: Duration = Duration::from_secs(KEEP_ALIVE_S as u64);
/// The largest packet a connection takes from the server, as rumqttc's own client; the server sends it only CONNACK, PUBACK and PINGRESP, of 2 to 4 bytes.
const INCOMING_MAX: usize = 10 * 1024;
/// What a connection's buffers start with, and the room a read has at least: a thousand PUBACKs, or two dozen of the scenario's PUBLISHes.
const BUFFER_SIZE: usize = 4096;
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
    let mut connection = match Connection::open(room, plan.mqtt).await {
        Ok(connection) => connection,
        Err(err) => {
            tally.errors += plan.messages;
            tally.sample(format!("connect {}: {err}", room.device));
            return;
        }
    };
    let schedule = Schedule::new(plan, offset);
    let mut window = Window::new(plan.inflight);
    match publish_all(&mut connection, &mut window, &schedule, room, index, plan, tally).await {
        Ok(()) => connection.disconnect().await,
        Err(failure) => {
            tally.errors += plan.messages - window.acked;
            tally.sample(format!("{}: after {} PUBACKs: {failure}", room.device, window.acked));
        }
    }
}

/// Publishes room `index`'s `plan.messages` messages on `connection` as `schedule` has them due, with at most `window`'s size waiting for their PUBACK, and records each PUBACK's latency in `tally`; an error says why the messages still waiting will not be acknowledged.
///
/// Each turn writes every due message the window has room for in one write, then reads what the server sent until the next message is due, a PUBACK is overdue or a PINGREQ is, and takes in every PUBACK read: one write and a read or two a turn, where a client with an event loop of its own pays a task switch and a channel send per message.
async fn publish_all(
    connection: &mut Connection,
    window: &mut Window,
    schedule: &Schedule,
    room: &Room,
    index: usize,
    plan: &Plan,
    tally: &mut Tally,
) -> Result<(), String> {
    // One PUBLISH per sensor, of which a message changes only the packet id and the payload, so no topic is copied per message.
    let mut publishes = room.topics.clone().map(|topic| Publish::from_bytes(topic, QoS::AtLeastOnce, Bytes::new()));
    let mut sent = 0;
    // Since when the connection has waited for a PUBACK: its last PUBACK, or the turn that wrote into an empty window; `MQTT_TIMEOUT` after it with messages waiting, the connection has failed.
    let mut waiting_since = Instant::now();
    while window.acked < plan.messages {
        let now = Instant::now();
        if window.is_empty() {
            waiting_since = now;
        }
        while sent < plan.messages && window.has_room() {
            let due = schedule.due(sent);
            if due.is_some_and(|due| due > now) {
                break;
            }
            let (sensor, value) = message(plan.index, index, sent);
            let publish = &mut publishes[sensor];
            // A message's latency counts from when it was due, so a sender that fell behind counts its wait.
            publish.pkid = window.push(due.unwrap_or(now));
            publish.payload = Bytes::from(format!(r#"{{"SensorValue":"{value}"}}"#));
            connection.publish(publish)?;
            sent += 1;
        }
        connection.flush().await?;
        let mut wake = connection.last_write + KEEP_ALIVE;
        if !window.is_empty() {
            wake = wake.min(waiting_since + MQTT_TIMEOUT);
        }
        if sent < plan.messages && window.has_room() {
            wake = schedule.due(sent).map_or(wake, |due| wake.min(due));
        }
        connection.fill(wake).await?;
        let now = Instant::now();
        while let Some(packet) = connection.next_packet()? {
            match packet {
                Packet::PubAck(ack) => {
                    let Some(start) = window.ack(ack.pkid) else {
                        return Err(format!("a PUBACK for packet id {}, for which no message waits", ack.pkid));
                    };
                    tally.ok(now.saturating_duration_since(start));
                    waiting_since = now;
                }
                Packet::PingResp => {}
                other => return Err(format!("an unexpected {other:?}")),
            }
        }
        if !window.is_empty() && now >= waiting_since + MQTT_TIMEOUT {
            return Err(format!("none more within {} s", MQTT_TIMEOUT.as_secs()));
        }
        if now >= connection.last_write + KEEP_ALIVE {
            connection.ping()?;
        }
    }
    Ok(())
}

/// When a connection's messages are due: with a rate, one every `interval`, the first `offset` of an interval after the connection is up; without one, each as soon as the window has room.
struct Schedule {
    first: Instant,
    interval: Option<Duration>,
}

impl Schedule {
    fn new(plan: &Plan, offset: f64) -> Schedule {
        let interval = plan.rate.map(|rate| Duration::from_secs_f64(plan.connections as f64 / rate as f64));
        Schedule { first: Instant::now() + interval.map(|i| i.mul_f64(offset)).unwrap_or_default(), interval }
    }

    /// When message `k` is due; `None` when the phase is not rate-limited.
    fn due(&self, k: u64) -> Option<Instant> {
        self.interval.map(|i| self.first + i * u32::try_from(k).unwrap_or(u32::MAX))
    }
}

/// The messages of a connection written and not yet acknowledged, oldest first, each with its packet id and the instant its latency counts from.
struct Window {
    waiting: VecDeque<(u16, Instant)>,
    /// Messages that may wait at once: `--inflight`, which is at most 1,024, so a packet id is never reused while its message waits.
    size: usize,
    /// The last packet id given out; ids run from 1 to 65,535 and start again at 1 (0 is not a packet id).
    last_id: u16,
    /// Messages acknowledged so far.
    acked: u64,
}

impl Window {
    fn new(size: usize) -> Window {
        let size = size.clamp(1, usize::from(u16::MAX));
        Window { waiting: VecDeque::with_capacity(size), size, last_id: 0, acked: 0 }
    }

    fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    fn has_room(&self) -> bool {
        self.waiting.len() < self.size
    }

    /// Gives a message the next packet id and keeps it waiting, its latency counted from `start`.
    fn push(&mut self, start: Instant) -> u16 {
        self.last_id = self.last_id.checked_add(1).unwrap_or(1);
        self.waiting.push_back((self.last_id, start));
        self.last_id
    }

    /// Takes the message PUBACK `id` acknowledges out of the window and returns when its latency started; `None` if no message waits with that id.
    /// A connection's PUBACKs come in the order of its messages, so the search stops at the oldest, but they are matched by id all the same.
    fn ack(&mut self, id: u16) -> Option<Instant> {
        let position = self.waiting.iter().position(|&(waiting, _)| waiting == id)?;
        let (_, start) = self.waiting.remove(position)?;
        self.acked += 1;
        Some(start)
    }
}

/// A device's MQTT 3.1.1 connection over TCP, every packet of which is encoded and decoded by rumqttc's codec (`mqttbytes::v4`): packets encoded wait in `outgoing` for one write, bytes read wait in `incoming` until they make a whole packet.
struct Connection {
    stream: TcpStream,
    outgoing: BytesMut,
    incoming: BytesMut,
    /// When the last write went out; `KEEP_ALIVE` after it without another, the connection sends PINGREQ.
    last_write: Instant,
}

impl Connection {
    /// Connects to `address` as `room`'s device: CONNECT with its client id, username and SAS token, keep-alive `KEEP_ALIVE` and a clean session, then waits at most `MQTT_TIMEOUT` for a CONNACK that accepts it.
    async fn open(room: &Room, address: SocketAddr) -> Result<Connection, String> {
        let deadline = Instant::now() + MQTT_TIMEOUT;
        let late = || format!("no CONNACK within {} s", MQTT_TIMEOUT.as_secs());
        let stream = tokio::time::timeout_at(deadline.into(), TcpStream::connect(address))
            .await
            .map_err(|_| late())?
            .map_err(|err| format!("{address}: {err}"))?;
        // The connection batches its own writes, so the kernel holding a small one back for the last one's acknowledgement only adds latency; failing to turn that off costs nothing else.
        let _ = stream.set_nodelay(true);
        let mut connection = Connection {
            stream,
            outgoing: BytesMut::with_capacity(BUFFER_SIZE),
            incoming: BytesMut::with_capacity(BUFFER_SIZE),
            last_write: Instant::now(),
        };
        let mut connect = Connect::new(room.device.as_str());
        connect.keep_alive = KEEP_ALIVE_S;
        connect.clean_session = true;
        connect.set_login(room.username.as_str(), room.token.as_str());
        connect.write(&mut connection.outgoing).map_err(|err| format!("encode CONNECT: {err}"))?;
        connection.flush().await?;
        loop {
            match connection.next_packet()? {
                Some(Packet::ConnAck(ack)) if ack.code == ConnectReturnCode::Success => return Ok(connection),
                Some(Packet::ConnAck(ack)) => return Err(format!("refused: {:?}", ack.code)),
                Some(other) => return Err(format!("{other:?} before CONNACK")),
                None if Instant::now() >= deadline => return Err(late()),
                None => connection.fill(deadline).await?,
            }
        }
    }

    /// Encodes `publish` to go out with the next write.
    fn publish(&mut self, publish: &Publish) -> Result<(), String> {
        publish.write(&mut self.outgoing).map(drop).map_err(|err| format!("encode PUBLISH: {err}"))
    }

    /// Encodes a PINGREQ to go out with the next write.
    fn ping(&mut self) -> Result<(), String> {
        PingReq.write(&mut self.outgoing).map(drop).map_err(|err| format!("encode PINGREQ: {err}"))
    }

    /// Writes what was encoded since the last write, in one write that may take at most `MQTT_TIMEOUT`.
    async fn flush(&mut self) -> Result<(), String> {
        if self.outgoing.is_empty() {
            return Ok(());
        }
        match tokio::time::timeout(MQTT_TIMEOUT, self.stream.write_all(&self.outgoing)).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => return Err(format!("write: {err}")),
            Err(_) => return Err(format!("a write took over {} s", MQTT_TIMEOUT.as_secs())),
        }
        self.outgoing.clear();
        self.last_write = Instant::now();
        Ok(())
    }

    /// Reads what the server sent, waiting for it until `wake` at most; having read nothing by then is no failure, the caller decides what is late.
    async fn fill(&mut self, wake: Instant) -> Result<(), String> {
        self.incoming.reserve(BUFFER_SIZE);
        match tokio::time::timeout_at(wake.into(), self.stream.read_buf(&mut self.incoming)).await {
            Ok(Ok(0)) => Err("the server closed the connection".to_owned()),
            Ok(Ok(_)) | Err(_) => Ok(()),
            Ok(Err(err)) => Err(format!("read: {err}")),
        }
    }

    /// Decodes the next whole packet read, if there is one.
    fn next_packet(&mut self) -> Result<Option<Packet>, String> {
        match Packet::read(&mut self.incoming, INCOMING_MAX) {
            Ok(packet) => Ok(Some(packet)),
            Err(CodecError::InsufficientBytes(_)) => Ok(None),
            Err(err) => Err(format!("decode: {err}")),
        }
    }

    /// Sends DISCONNECT and closes the connection; the server or broker closes its side after it.
    async fn disconnect(mut self) {
        if Disconnect.write(&mut self.outgoing).is_ok() {
            let _ = self.flush().await;
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

    #[test]
    fn packet_ids_skip_0_when_they_wrap_and_pubacks_match_by_id() {
        let start = Instant::now();
        let mut window = Window::new(3);
        window.last_id = u16::MAX - 2;
        let ids: Vec<u16> = (0..3).map(|_| window.push(start)).collect();
        assert_eq!(ids, [65_534, 65_535, 1]);
        assert!(!window.has_room());
        // Out of order, then one that no message waits for.
        assert_eq!(window.ack(65_535), Some(start));
        assert_eq!(window.ack(65_535), None);
        assert_eq!((window.ack(65_534), window.ack(1)), (Some(start), Some(start)));
        assert!(window.is_empty());
        assert_eq!(window.acked, 3);
        assert_eq!(window.push(start), 2);
    }
}
