//! The demo's devices at work: each room's occupancy as a small random process (people come and go, CO2 rises with them and decays when they leave, the temperature follows), and each device sending its readings as telemetry, as an IoT Hub device does over HTTP (`POST telemetry` with a SAS token signed with its key).
//!
//! A reading goes through the whole pipeline: the sensor's value and history, a DeviceMessage event, and the availability function with what it sets and announces.
//! The process is deterministic for its seeds, so two runs of the demo tell the same story.
//! A motion sensor reports when presence changes (and once at start), the CO2 sensor every tick, the temperature sensor every `TEMPERATURE_TICKS`.
//! A reading the server refuses is detail (DEBUG), but a demo that keeps failing says so at WARN (`Refusals`): the first refusal of each kind, then at most one line per `REFUSAL_WARN_INTERVAL` while that kind goes on, never one per reading.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::json;

use super::Room;
use super::client::Api;
use super::provision::{Device, SENSORS, sensor_hardware_id};

/// How often every device reports.
pub(crate) const TICK: Duration = Duration::from_secs(2);

/// Outdoor air, in ppm of CO2: where an empty room's air settles.
const CO2_OUTDOOR_PPM: f64 = 420.0;
/// How much a full room's CO2 rises in a tick; a room's share of it is its share of people.
const CO2_RISE_FULL_PPM: f64 = 60.0;
/// The share of the CO2 above outdoor air that ventilation removes in a tick (a full room settles near 1,400 ppm).
const CO2_DECAY: f64 = 0.06;
/// The chance in a tick that people come into an empty room (one is empty for 50 s on average).
const ARRIVE: f64 = 0.04;
/// The shortest meeting, in ticks (30 s); a meeting lasts up to `MEETING_TICKS_SPREAD` more.
const MEETING_TICKS_MIN: u32 = 15;
const MEETING_TICKS_SPREAD: f64 = 45.0;
/// The chance in a tick that one person comes or goes in an occupied room.
const DRIFT: f64 = 0.1;
/// Ticks between two temperature readings.
const TEMPERATURE_TICKS: u64 = 5;
/// How long a device's SAS token is valid, in seconds; a new one is signed every tick.
const TOKEN_SECONDS: i64 = 3600;
/// The least time between two WARN lines about one kind of refusal.
const REFUSAL_WARN_INTERVAL: Duration = Duration::from_secs(60);

/// One room as its sensors see it.
#[derive(Clone, Debug)]
pub(crate) struct Occupancy {
    capacity: u32,
    people: u32,
    /// Ticks until the people in the room leave.
    meeting_ticks: u32,
    co2_ppm: f64,
    temperature_c: f64,
    /// The presence the motion sensor last reported; `None` before its first report.
    motion_sent: Option<bool>,
    ticks: u64,
    /// xorshift64* state; never 0.
    rng: u64,
}

/// One reading a device sends: its sensor's data type and the value, as the sample's devices write it (`SensorValue` text).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Reading {
    pub(crate) data_type: &'static str,
    pub(crate) value: String,
}

/// Why the simulation stopped: a device or sensor it sends for is gone (deleted by hand), so the demo provisions again.
#[derive(Debug)]
pub(crate) struct Gone(pub(crate) String);

/// The readings the server did not take, by kind, to report them at WARN without a line per reading.
/// It outlives one `run`, so provisioning again does not start the rate limit over.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    /// Each kind seen so far; a handful at most (a status code each, and readings that could not be sent).
    kinds: Vec<RefusalKind>,
}

/// Why a reading was not taken: one kind of refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// The request could not be built or its answer not read.
    Unsent,
    /// The server answered with this status (not a success, and not one that means the device is gone).
    Status(StatusCode),
}

/// One kind of refusal and when it was last reported.
#[derive(Debug)]
struct RefusalKind {
    refusal: Refusal,
    /// When a WARN line last reported this kind.
    warned_at: Instant,
    /// Refusals of this kind since that line, which it did not report.
    unreported: u64,
}

impl Occupancy {
    /// The room at `index` of the building, of `capacity` people: every other room starts half full, the rest empty.
    pub(crate) fn new(index: usize, capacity: u32) -> Occupancy {
        let capacity = capacity.max(1);
        let people = if index.is_multiple_of(2) { capacity.div_ceil(2) } else { 0 };
        let share = f64::from(people) / f64::from(capacity);
        let seed = (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        Occupancy {
            capacity,
            people,
            meeting_ticks: if people > 0 { MEETING_TICKS_MIN + 2 * index as u32 } else { 0 },
            co2_ppm: CO2_OUTDOOR_PPM + 400.0 * share,
            temperature_c: 20.5 + 2.0 * share,
            motion_sent: None,
            ticks: 0,
            rng: seed | 1,
        }
    }

    /// Advances the room by one tick and says what its sensors report.
    pub(crate) fn tick(&mut self) -> Vec<Reading> {
        self.ticks += 1;
        let chance = self.next();
        if self.people == 0 {
            if chance < ARRIVE {
                let wanted = 1 + (self.next() * f64::from(self.capacity)) as u32;
                self.people = wanted.min(self.capacity);
                self.meeting_ticks = MEETING_TICKS_MIN + (self.next() * MEETING_TICKS_SPREAD) as u32;
            }
        } else if self.meeting_ticks <= 1 {
            self.meeting_ticks = 0;
            self.people = 0;
        } else if chance < DRIFT {
            self.meeting_ticks -= 1;
            self.people = if self.next() < 0.5 { self.people - 1 } else { self.people + 1 }.clamp(1, self.capacity);
        } else {
            self.meeting_ticks -= 1;
        }
        let share = f64::from(self.people) / f64::from(self.capacity);
        let noise = (self.next() - 0.5) * 8.0;
        self.co2_ppm += share * CO2_RISE_FULL_PPM - (self.co2_ppm - CO2_OUTDOOR_PPM) * CO2_DECAY + noise;
        self.co2_ppm = self.co2_ppm.clamp(CO2_OUTDOOR_PPM - 20.0, 2500.0);
        let noise = (self.next() - 0.5) * 0.1;
        self.temperature_c += (20.5 + 2.5 * share - self.temperature_c) * 0.05 + noise;
        let mut readings = Vec::with_capacity(3);
        let present = self.people > 0;
        if self.motion_sent != Some(present) {
            self.motion_sent = Some(present);
            readings.push(Reading { data_type: "Motion", value: present.to_string() });
        }
        readings.push(Reading { data_type: "CarbonDioxide", value: format!("{:.0}", self.co2_ppm) });
        if self.ticks % TEMPERATURE_TICKS == 1 {
            readings.push(Reading { data_type: "Temperature", value: format!("{:.1}", self.temperature_c) });
        }
        readings
    }

    /// A number in [0, 1).
    fn next(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let bits = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
        bits as f64 / (1u64 << 53) as f64
    }
}

/// Sends every room's readings every `TICK`, until a device or sensor is found gone; the readings not taken are noted in `refusals`.
pub(crate) async fn run(
    api: &Api,
    rooms: &[Room],
    devices: &[Device],
    occupancy: &mut [Occupancy],
    refusals: &mut Refusals,
) -> Gone {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        for ((room, device), occupancy) in rooms.iter().zip(devices).zip(occupancy.iter_mut()) {
            let expiry = jiff::Timestamp::now().as_second() + TOKEN_SECONDS;
            // The host is the one a connection string names; this server does not check it.
            let token = match ingest::sas::sign_device_token("localhost", &device.id, &device.key, expiry) {
                Ok(token) => token,
                Err(err) => return Gone(format!("device {} of room {}: its key: {err}", device.id, room.id)),
            };
            for reading in occupancy.tick() {
                if let Err(gone) = send(api, room, &token, &reading, refusals).await {
                    return gone;
                }
            }
        }
    }
}

/// Sends one reading as the device: a device or sensor not found stops the simulation; any other refusal is logged at DEBUG and noted in `refusals`, which reports it at WARN when it is due.
async fn send(api: &Api, room: &Room, token: &str, reading: &Reading, refusals: &mut Refusals) -> Result<(), Gone> {
    let prefix = SENSORS.iter().find(|(data_type, ..)| *data_type == reading.data_type).map_or("", |(.., p)| p);
    let hardware_id = sensor_hardware_id(prefix, room);
    let headers = [
        ("authorization", token),
        ("content-type", "application/json"),
        ("digitaltwins-telemetry", "1.0"),
        ("digitaltwins-sensorhardwareid", hardware_id.as_str()),
    ];
    let body = json!({ "SensorValue": reading.value }).to_string();
    let answer = match api.send(Method::POST, "telemetry", &headers, body.into()).await {
        Ok(answer) => answer,
        Err(err) => {
            tracing::debug!(room = %room.id, error = %err, "demo reading not sent");
            if let Some(unreported) = refusals.note(Refusal::Unsent, Instant::now()) {
                tracing::warn!(
                    room = %room.id,
                    error = %err,
                    unreported,
                    "the demo's readings cannot be sent; reported at most once a minute while it goes on"
                );
            }
            return Ok(());
        }
    };
    match answer.status {
        status if status.is_success() => Ok(()),
        StatusCode::NOT_FOUND | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            Err(Gone(format!("{hardware_id} of room {}: {} {}", room.id, answer.status, answer.text)))
        }
        status => {
            tracing::debug!(room = %room.id, sensor = %hardware_id, %status, answer = %answer.text, "demo reading refused");
            if let Some(unreported) = refusals.note(Refusal::Status(status), Instant::now()) {
                tracing::warn!(
                    room = %room.id,
                    sensor = %hardware_id,
                    %status,
                    answer = %answer.text,
                    unreported,
                    "the server refuses the demo's readings; reported at most once a minute per status while it goes on"
                );
            }
            Ok(())
        }
    }
}

impl Refusals {
    /// Notes a refusal at `now`; says whether to report it at WARN, with how many refusals of its kind went unreported since the last line.
    /// The first of a kind is reported, then one at most every `REFUSAL_WARN_INTERVAL`.
    fn note(&mut self, refusal: Refusal, now: Instant) -> Option<u64> {
        let Some(kind) = self.kinds.iter_mut().find(|k| k.refusal == refusal) else {
            self.kinds.push(RefusalKind { refusal, warned_at: now, unreported: 0 });
            return Some(0);
        };
        if now.saturating_duration_since(kind.warned_at) < REFUSAL_WARN_INTERVAL {
            kind.unreported += 1;
            return None;
        }
        kind.warned_at = now;
        Some(std::mem::take(&mut kind.unreported))
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::{Occupancy, Refusal, Refusals};

    /// A room's story over its first minutes: people come and go, CO2 follows them with a lag, motion reports only changes.
    #[test]
    fn a_room_fills_and_empties_and_its_air_follows() {
        let mut room = Occupancy::new(0, 4);
        let mut story = Vec::new();
        for tick in 1..=120 {
            let readings = room.tick();
            if tick % 10 == 0 || readings.iter().any(|r| r.data_type == "Motion") {
                let shown: Vec<String> = readings.iter().map(|r| format!("{} {}", r.data_type, r.value)).collect();
                story.push(format!("{tick:>3} people {}: {}", room.people, shown.join(", ")));
            }
        }
        expect![[r#"
              1 people 1: Motion true, CarbonDioxide 624, Temperature 21.5
             10 people 1: CarbonDioxide 647
             15 people 0: Motion false, CarbonDioxide 694
             20 people 0: CarbonDioxide 620
             30 people 1: Motion true, CarbonDioxide 550
             40 people 3: CarbonDioxide 731
             50 people 4: CarbonDioxide 1027
             60 people 4: CarbonDioxide 1211
             70 people 4: CarbonDioxide 1283
             80 people 4: CarbonDioxide 1348
             87 people 0: Motion false, CarbonDioxide 1276
             90 people 0: CarbonDioxide 1139
            100 people 0: CarbonDioxide 794
            103 people 1: Motion true, CarbonDioxide 745
            110 people 2: CarbonDioxide 767
            120 people 1: CarbonDioxide 772"#]]
        .assert_eq(&story.join("\n"));
    }

    #[test]
    fn readings_stay_plausible() {
        for index in 0..8 {
            let mut room = Occupancy::new(index, 4 * (index as u32 % 4 + 1));
            for _ in 0..5000 {
                for reading in room.tick() {
                    let value: f64 = match reading.value.as_str() {
                        "true" => 1.0,
                        "false" => 0.0,
                        number => number.parse().expect("a number"),
                    };
                    let range = match reading.data_type {
                        "Motion" => 0.0..=1.0,
                        "CarbonDioxide" => 400.0..=1600.0,
                        _ => 19.0..=24.0,
                    };
                    assert!(range.contains(&value), "{} {value}", reading.data_type);
                }
                assert!(room.people <= room.capacity);
            }
        }
    }

    /// A demo whose readings keep being refused says so once per kind, then once per interval with what it left out, not once per reading.
    #[test]
    fn refusals_are_reported_once_per_kind_then_at_most_once_per_interval() {
        let mut refusals = Refusals::default();
        let start = std::time::Instant::now();
        let busy = Refusal::Status(axum::http::StatusCode::SERVICE_UNAVAILABLE);
        let mut reported = Vec::new();
        // A 503 on every reading for three minutes (24 readings a tick), a 500 after a minute, and once a reading that could not be sent.
        for tick in 0..90u32 {
            let now = start + super::TICK * tick;
            for _ in 0..24 {
                if let Some(unreported) = refusals.note(busy, now) {
                    reported.push(format!("{:>3}s 503, {unreported} unreported", now.duration_since(start).as_secs()));
                }
            }
            if (30..33).contains(&tick) {
                let failed = Refusal::Status(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
                if let Some(unreported) = refusals.note(failed, now) {
                    reported.push(format!("{:>3}s 500, {unreported} unreported", now.duration_since(start).as_secs()));
                }
            }
            if tick == 40
                && let Some(unreported) = refusals.note(Refusal::Unsent, now)
            {
                reported.push(format!("{:>3}s unsent, {unreported} unreported", now.duration_since(start).as_secs()));
            }
        }
        expect![[r#"
              0s 503, 0 unreported
             60s 503, 719 unreported
             60s 500, 0 unreported
             80s unsent, 0 unreported
            120s 503, 719 unreported"#]]
        .assert_eq(&reported.join("\n"));
    }
}
