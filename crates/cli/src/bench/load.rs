//! The load side of `twinscape bench`: one HTTP/1.1 keep-alive connection per worker task, each request timed, phases bounded in count and time.
//!
//! Each connection has its own reqwest client whose pool keeps at most one idle connection; a worker sends one request at a time on it, so the server sees exactly `--connections` connections, each reused.
//! A request counts as an operation only when the server answered 2xx and its body was read (and, for a query, held the rows the portfolio implies); anything else is an error, kept out of the histogram and the throughput, and its first few messages are kept for the report.
//! What is sent is derived from the `portfolio`; checking that the target is allowed and rendering results belong to `bench`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, Method, StatusCode};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use portfolio::{Kind, Portfolio, Rng};

/// The ADT data-plane version every request names.
pub(crate) const API_VERSION: &str = "2023-10-31";
/// Error messages kept per phase for the report.
pub(crate) const ERROR_SAMPLES_MAX: usize = 5;
/// Characters of an error response body kept in a message.
const ERROR_BODY_CHARS_MAX: usize = 300;
/// How long one request may take before it counts as an error; also bounds the histograms.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The highest latency the histograms record, in microseconds; longer ones (only possible in the instant before a timeout) are clamped.
const LATENCY_US_MAX: u64 = 60_000_000;
/// Mixed traffic, in percent: reads below the first threshold, patches below the second, creates above.
const MIXED_READ_PERCENT: usize = 70;
const MIXED_PATCH_PERCENT: usize = 95;

/// One kind of traffic, reported as one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// PUT every twin of the portfolio, one level after another (parents before children).
    Create,
    /// PUT the relationship from every twin's parent to it.
    Relate,
    /// GET random twins of the portfolio.
    Read,
    /// JSON Patch `replace` of the numeric property of random twins.
    Patch,
    /// 70% read, 25% patch, 5% create of extra sensors.
    Mixed,
    /// The whole portfolio (models, twins, relationships) as one import job; one "operation" per record.
    Import,
    /// `POST /query` of a random twin by `$dtId` (`SELECT *`); the answer must be that one twin.
    QueryLookup,
    /// `POST /query` with two JOINs from a random building through its floors to its rooms (`$dtId` and `area` of each); the answer must hold exactly that building's rooms.
    QueryJoin,
    /// 2018 face: `GET spaces?spaceId=<tower>&traverse=Down&includes=values`, one at a time (sent by `spaces`).
    SpacesDown,
    /// 2018 face: `PATCH spaces/{floor}` moving a floor of the tower to another building and back, one at a time (sent by `spaces`).
    FloorMove,
    /// 2018 face: the telemetry scenario's rooms, devices (with keys) and sensors, and each device's connection string (sent by `telemetry`).
    Provision,
    /// MQTT: QoS 1 telemetry as fast as PUBACKs come back, no function on the topology (sent by `telemetry`).
    Mqtt,
    /// MQTT: the same at a fixed rate, no function.
    MqttRate,
    /// MQTT: as fast as PUBACKs come back, with the availability function on the topology's root.
    MqttFunction,
    /// MQTT: the same at a fixed rate, with the function.
    MqttFunctionRate,
    /// MQTT: the `mqtt` phase's load against a plain broker (`--broker`), the ceiling it is compared with; nothing is stored, so nothing is read back.
    Broker,
}

impl Phase {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Phase::Create => "create",
            Phase::Relate => "relate",
            Phase::Read => "read",
            Phase::Patch => "patch",
            Phase::Mixed => "mixed",
            Phase::Import => "import",
            Phase::QueryLookup => "query-lookup",
            Phase::QueryJoin => "query-join",
            Phase::SpacesDown => "spaces-down",
            Phase::FloorMove => "floor-move",
            Phase::Provision => "provision",
            Phase::Mqtt => "mqtt",
            Phase::MqttRate => "mqtt-rate",
            Phase::MqttFunction => "mqtt-function",
            Phase::MqttFunctionRate => "mqtt-function-rate",
            Phase::Broker => "broker",
        }
    }

    /// Whether the phase sends requests chosen at random until its bound, rather than going through the portfolio once.
    pub(crate) fn is_open(self) -> bool {
        match self {
            Phase::Read | Phase::Patch | Phase::Mixed | Phase::QueryLookup | Phase::QueryJoin => true,
            Phase::SpacesDown | Phase::FloorMove => true,
            Phase::Create | Phase::Relate | Phase::Import | Phase::Provision => false,
            Phase::Mqtt | Phase::MqttRate | Phase::MqttFunction | Phase::MqttFunctionRate | Phase::Broker => false,
        }
    }
}

/// Where a phase stops: after `operations` requests or at `time`, whichever comes first.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bound {
    /// Requests of a read, patch or mixed phase; create and relate send one request per twin instead.
    pub(crate) operations: u64,
    pub(crate) time: Duration,
    /// Whether `time` is the plan (`--duration-secs`) rather than a safety cap; only a cap that cuts a phase short is reported.
    pub(crate) timed: bool,
}

/// The server to drive.
pub(crate) struct Target {
    /// `http://HOST:PORT`, without a trailing slash.
    pub(crate) base: String,
    /// A host name and the checked address it must connect to, so the connection goes where the loopback check looked.
    pub(crate) pin: Option<(String, SocketAddr)>,
}

/// What one phase measured.
pub(crate) struct PhaseReport {
    pub(crate) phase: Phase,
    /// Requests answered 2xx.
    pub(crate) ops: u64,
    /// Requests that failed or were answered otherwise.
    pub(crate) errors: u64,
    pub(crate) elapsed: Duration,
    /// Latencies of the `ops`, in microseconds.
    pub(crate) histogram: Histogram<u64>,
    pub(crate) error_samples: Vec<String>,
    /// The time cap stopped the phase before it sent everything it planned.
    pub(crate) cut_short: bool,
}

impl PhaseReport {
    pub(crate) fn ops_per_s(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// A latency quantile (0.5, 0.99, 1.0 for the maximum) in milliseconds; zero when nothing succeeded.
    pub(crate) fn latency_ms(&self, quantile: f64) -> f64 {
        if self.histogram.is_empty() {
            return 0.0;
        }
        let us = if quantile >= 1.0 { self.histogram.max() } else { self.histogram.value_at_quantile(quantile) };
        us as f64 / 1_000.0
    }
}

/// The connections to one server and the portfolio they send.
pub(crate) struct Driver {
    base: String,
    clients: Vec<Client>,
    portfolio: Arc<Portfolio>,
    /// Rooms below each building, in the order of the buildings' level: the rows a join query from that building answers.
    rooms_per_building: Arc<[usize]>,
}

impl Driver {
    pub(crate) fn new(target: &Target, connections: usize, portfolio: Arc<Portfolio>) -> Result<Driver> {
        let clients = (0..connections).map(|_| client(target)).collect::<Result<Vec<_>>>()?;
        let rooms_per_building = rooms_per_building(&portfolio);
        Ok(Driver { base: target.base.clone(), clients, portfolio, rooms_per_building })
    }

    /// Uploads the built-in models; `false` when the server has them already (409 `…AlreadyExists`).
    pub(crate) async fn upload_models(&self) -> Result<bool> {
        let body = serde_json::to_vec(&portfolio::models()).context("encode the bench models")?;
        let response = self.clients[0]
            .post(format!("{}/models?api-version={API_VERSION}", self.base))
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|err| anyhow::anyhow!("{}", chain(&err)))
            .context("upload the bench models")?;
        let status = response.status();
        let text = response.text().await.context("read the model upload's answer")?;
        match status.as_u16() {
            200..=299 => Ok(true),
            409 if text.contains("AlreadyExists") => Ok(false),
            _ => bail!("upload the bench models: {status}: {}", truncate(&text)),
        }
    }

    /// Runs one phase on every connection until its work is done or its bound is reached.
    pub(crate) async fn run(&self, phase: Phase, bound: Bound) -> PhaseReport {
        let portfolio = &self.portfolio;
        // Each slice is (first twin index, requests); create goes level by level so that parents exist before their children.
        let slices: Vec<(usize, u64)> = match phase {
            Phase::Create => portfolio.levels.iter().map(|level| (level.start, level.len() as u64)).collect(),
            Phase::Relate => {
                let first = portfolio.levels[1].start;
                vec![(first, (portfolio.twins.len() - first) as u64)]
            }
            Phase::Read | Phase::Patch | Phase::Mixed | Phase::QueryLookup | Phase::QueryJoin => {
                vec![(0, bound.operations)]
            }
            // An import is one job, sent by `bench::import_phase`, the 2018 phases are sent by `spaces` and the telemetry phases by `telemetry`; no connection of the driver sends anything for them.
            Phase::Import | Phase::SpacesDown | Phase::FloorMove | Phase::Provision => Vec::new(),
            Phase::Mqtt | Phase::MqttRate | Phase::MqttFunction | Phase::MqttFunctionRate | Phase::Broker => Vec::new(),
        };
        let started = Instant::now();
        let deadline = started + bound.time;
        let mut total = Tally::new();
        let mut error_samples = Vec::new();
        let planned: u64 = slices.iter().map(|(_, operations)| operations).sum();
        for (start, operations) in slices {
            if Instant::now() >= deadline {
                break;
            }
            let job = Arc::new(Job {
                phase,
                base: self.base.clone(),
                portfolio: Arc::clone(portfolio),
                rooms_per_building: Arc::clone(&self.rooms_per_building),
                next: AtomicU64::new(0),
                start,
                operations,
                deadline,
                samples: Mutex::new(Vec::new()),
            });
            let workers: Vec<_> = self
                .clients
                .iter()
                .enumerate()
                .map(|(connection, client)| tokio::spawn(work(Arc::clone(&job), client.clone(), connection)))
                .collect();
            for worker in workers {
                total.merge(worker.await.expect("bench workers do not panic"));
            }
            let samples = std::mem::take(&mut *job.samples.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
            error_samples.extend(samples);
        }
        error_samples.truncate(ERROR_SAMPLES_MAX);
        let sent = total.ops + total.errors;
        let cut_short = sent < planned && !(bound.timed && phase.is_open());
        PhaseReport {
            phase,
            ops: total.ops,
            errors: total.errors,
            elapsed: started.elapsed(),
            histogram: total.histogram,
            error_samples,
            cut_short,
        }
    }
}

/// The work of one phase slice, shared by its workers.
struct Job {
    phase: Phase,
    base: String,
    portfolio: Arc<Portfolio>,
    rooms_per_building: Arc<[usize]>,
    /// Operations handed out so far; a worker claims the next one before each request.
    next: AtomicU64,
    /// For create and relate, operation `i` concerns twin `start + i`.
    start: usize,
    operations: u64,
    deadline: Instant,
    samples: Mutex<Vec<String>>,
}

impl Job {
    fn sample(&self, message: String) {
        let mut samples = self.samples.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if samples.len() < ERROR_SAMPLES_MAX {
            samples.push(message);
        }
    }

    /// The request of operation `claimed` on `connection`; random choices come from the connection's own generator.
    fn call(&self, claimed: u64, rng: &mut Rng, connection: usize, extras: &mut u64) -> Call {
        let portfolio = &self.portfolio;
        let phase = match self.phase {
            Phase::Mixed => match rng.below(100) {
                p if p < MIXED_READ_PERCENT => Phase::Read,
                p if p < MIXED_PATCH_PERCENT => Phase::Patch,
                _ => Phase::Mixed,
            },
            phase => phase,
        };
        match phase {
            Phase::Create => {
                let index = self.start + claimed as usize;
                let body = portfolio.twin_body(index);
                Call::json(Method::PUT, format!("/digitaltwins/{}", portfolio.twins[index].id), &body)
            }
            // Ids are `[a-z0-9_-]` only, so they need no escaping inside a query's string literal.
            Phase::QueryLookup => {
                let twin = &portfolio.twins[rng.below(portfolio.twins.len())];
                Call::query(format!("SELECT * FROM DIGITALTWINS T WHERE T.$dtId = '{}'", twin.id), 1)
            }
            Phase::QueryJoin => {
                let buildings = &portfolio.levels[Kind::Building as usize];
                let offset = rng.below(buildings.len());
                let building = &portfolio.twins[buildings.start + offset];
                let text = format!(
                    "SELECT R.$dtId, R.area FROM DIGITALTWINS B JOIN F RELATED B.contains JOIN R RELATED F.contains \
                     WHERE B.$dtId = '{}'",
                    building.id
                );
                Call::query(text, self.rooms_per_building[offset])
            }
            Phase::Relate => {
                let index = self.start + claimed as usize;
                let (source, id, body) = portfolio.relationship(index).expect("only tenants lack a parent");
                Call::json(Method::PUT, format!("/digitaltwins/{source}/relationships/{id}"), &body)
            }
            // Import, the 2018 and the telemetry phases have no slices (see `run`), so no worker ever builds a call for them.
            Phase::Read | Phase::Import | Phase::SpacesDown | Phase::FloorMove | Phase::Provision => {
                let twin = &portfolio.twins[rng.below(portfolio.twins.len())];
                Call { method: Method::GET, path: format!("/digitaltwins/{}", twin.id), body: None, rows: None }
            }
            Phase::Mqtt | Phase::MqttRate | Phase::MqttFunction | Phase::MqttFunctionRate | Phase::Broker => {
                let twin = &portfolio.twins[rng.below(portfolio.twins.len())];
                Call { method: Method::GET, path: format!("/digitaltwins/{}", twin.id), body: None, rows: None }
            }
            Phase::Patch => {
                let twin = &portfolio.twins[portfolio.patchable[rng.below(portfolio.patchable.len())]];
                let property = twin.kind.numeric_property().expect("patchable twins have a numeric property");
                let patch =
                    json!([{ "op": "replace", "path": format!("/{property}"), "value": twin.kind.numeric_value(rng) }]);
                let body = serde_json::to_vec(&patch).expect("a JSON value encodes");
                Call {
                    method: Method::PATCH,
                    path: format!("/digitaltwins/{}", twin.id),
                    body: Some(("application/json-patch+json", body)),
                    rows: None,
                }
            }
            // The create share of mixed traffic: extra sensors, named by seed and connection so that a rerun replaces them instead of piling up.
            Phase::Mixed => {
                *extras += 1;
                let id = format!("extra-s{}-c{connection}-{extras}", portfolio.seed);
                let body = json!({
                    "$metadata": { "$model": Kind::Sensor.model() },
                    "name": id,
                    "temperature": Kind::Sensor.numeric_value(rng),
                });
                Call::json(Method::PUT, format!("/digitaltwins/{id}"), &body)
            }
        }
    }
}

/// One request, built before its clock starts.
struct Call {
    method: Method,
    /// The path below the server's base, without the query.
    path: String,
    /// Content type and bytes.
    body: Option<(&'static str, Vec<u8>)>,
    /// For a query: the rows its one page must hold, and its text for error messages.
    rows: Option<(usize, String)>,
}

impl Call {
    fn json(method: Method, path: String, body: &serde_json::Value) -> Call {
        let body = serde_json::to_vec(body).expect("a JSON value encodes");
        Call { method, path, body: Some(("application/json", body)), rows: None }
    }

    /// `POST /query` of `text`, whose answer must be one page of `rows` rows.
    fn query(text: String, rows: usize) -> Call {
        let mut call = Call::json(Method::POST, "/query".to_owned(), &json!({ "query": text }));
        call.rows = Some((rows, text));
        call
    }
}

/// The rows of a one-page `POST /query` answer, counted without building them; `None` unless `body` is a page whose `continuationToken` is null.
fn page_rows(body: &[u8]) -> Option<usize> {
    // Borrowed raw values: the page is checked as JSON, but no row is copied or turned into a tree.
    let page: std::collections::BTreeMap<&str, &RawValue> = serde_json::from_slice(body).ok()?;
    if page.get("continuationToken")?.get() != "null" {
        return None;
    }
    let rows: Vec<&RawValue> = serde_json::from_str(page.get("value")?.get()).ok()?;
    Some(rows.len())
}

/// What one worker counted.
struct Tally {
    ops: u64,
    errors: u64,
    histogram: Histogram<u64>,
}

impl Tally {
    fn new() -> Tally {
        let histogram = Histogram::new_with_bounds(1, LATENCY_US_MAX, 3).expect("the histogram bounds are valid");
        Tally { ops: 0, errors: 0, histogram }
    }

    fn merge(&mut self, other: Tally) {
        self.ops += other.ops;
        self.errors += other.errors;
        self.histogram.add(&other.histogram).expect("histograms with the same bounds merge");
    }
}

/// A worker: claims operations of `job` and sends them on its one connection until the job is done or its deadline passes.
async fn work(job: Arc<Job>, client: Client, connection: usize) -> Tally {
    let salt = match job.phase {
        Phase::Create => 1,
        Phase::Relate => 2,
        Phase::Read => 3,
        Phase::Patch => 4,
        Phase::Mixed => 5,
        Phase::Import => 6,
        Phase::QueryLookup => 7,
        Phase::QueryJoin => 8,
        Phase::SpacesDown => 9,
        Phase::FloorMove => 10,
        Phase::Provision => 11,
        Phase::Mqtt => 12,
        Phase::MqttRate => 13,
        Phase::MqttFunction => 14,
        Phase::MqttFunctionRate => 15,
        Phase::Broker => 16,
    };
    let mut rng = Rng::new(job.portfolio.seed ^ (salt << 32 | connection as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93));
    let mut tally = Tally::new();
    let mut extras = 0;
    loop {
        let claimed = job.next.fetch_add(1, Ordering::Relaxed);
        if claimed >= job.operations || Instant::now() >= job.deadline {
            break;
        }
        let call = job.call(claimed, &mut rng, connection, &mut extras);
        match send(&client, &job.base, call).await {
            Ok(latency) => {
                tally.ops += 1;
                tally.histogram.saturating_record(latency.as_micros().max(1).try_into().unwrap_or(u64::MAX));
            }
            Err(message) => {
                tally.errors += 1;
                job.sample(message);
            }
        }
    }
    tally
}

/// Sends `call` and reads the whole answer; the latency when it was 2xx, a message otherwise.
async fn send(client: &Client, base: &str, call: Call) -> Result<Duration, String> {
    let Call { method, path, body, rows } = call;
    let url = format!("{base}{path}?api-version={API_VERSION}");
    let Answer { status, body, latency } = exchange(client, &method, &url, &format!("{method} {path}"), body).await?;
    if !status.is_success() {
        return Err(format!("{method} {path}: {status}: {}", truncate(&String::from_utf8_lossy(&body))));
    }
    // The check runs after the clock stopped: the latency is the server's answer, not bench's reading of it.
    if let Some((expected, query)) = rows {
        match page_rows(&body) {
            Some(found) if found == expected => {}
            Some(found) => return Err(format!("{query}: {found} rows where the portfolio has {expected}")),
            None => {
                let text = truncate(&String::from_utf8_lossy(&body));
                return Err(format!("{query}: not one page of rows: {text}"));
            }
        }
    }
    Ok(latency)
}

/// Rooms below each building (through its floors), in the order of the buildings' level.
/// (`levels` follows `Kind::ALL`, which is the kinds' declaration order, so `Kind::Room as usize` is the rooms' level.)
fn rooms_per_building(portfolio: &Portfolio) -> Arc<[usize]> {
    let buildings = &portfolio.levels[Kind::Building as usize];
    let mut rooms = vec![0; buildings.len()];
    for room in &portfolio.twins[portfolio.levels[Kind::Room as usize].clone()] {
        let floor = room.parent.expect("rooms have a floor");
        let building = portfolio.twins[floor].parent.expect("floors have a building");
        rooms[building - buildings.start] += 1;
    }
    rooms.into()
}

/// A client with one keep-alive connection to the target, HTTP/1.1 only.
pub(crate) fn client(target: &Target) -> Result<Client> {
    // Bench speaks plain HTTP, but reqwest builds a TLS backend regardless: give it the workspace's one crypto provider (ring) and no roots.
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("set up the TLS backend")?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let mut builder = Client::builder()
        .no_proxy()
        .http1_only()
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .connect_timeout(REQUEST_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .tls_backend_preconfigured(tls);
    if let Some((host, address)) = &target.pin {
        builder = builder.resolve(host, *address);
    }
    builder.build().context("build the HTTP client")
}

/// A whole answer and how long it took, from sending the request to reading the last byte.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Vec<u8>,
    pub(crate) latency: Duration,
}

impl Answer {
    /// The body as text, cut to what an error message shows.
    pub(crate) fn text(&self) -> String {
        truncate(&String::from_utf8_lossy(&self.body))
    }
}

/// Sends one request with an optional JSON body and reads the whole answer, for the scenarios that time requests one by one; an error only when no answer came.
pub(crate) async fn call(client: &Client, method: Method, url: &str, body: Option<&Value>) -> Result<Answer, String> {
    let body = body.map(|body| ("application/json", serde_json::to_vec(body).expect("a JSON value encodes")));
    exchange(client, &method, url, &format!("{method} {url}"), body).await
}

/// Sends a request with `body` (content type and bytes) and reads the whole answer, timed from sending to the last byte; an error that kept it from being answered is a message that starts with `what`.
async fn exchange(
    client: &Client,
    method: &Method,
    url: &str,
    what: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Result<Answer, String> {
    let mut request = client.request(method.clone(), url);
    if let Some((content_type, body)) = body {
        request = request.header(CONTENT_TYPE, content_type).body(body);
    }
    let request = request.build().map_err(|err| format!("{what}: {}", chain(&err)))?;
    let started = Instant::now();
    let response = client.execute(request).await.map_err(|err| format!("{what}: {}", chain(&err)))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|err| format!("{what}: read the answer: {}", chain(&err)))?;
    let latency = started.elapsed();
    Ok(Answer { status, body: body.to_vec(), latency })
}

/// An error and its sources, joined with `: `.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `text` cut to `ERROR_BODY_CHARS_MAX` characters, for an error message.
pub(crate) fn truncate(text: &str) -> String {
    match text.char_indices().nth(ERROR_BODY_CHARS_MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pages_are_counted_and_only_single_pages_pass() {
        assert_eq!(
            page_rows(br#"{"value":[{"$dtId":"a","area":1.5},{"$dtId":"b"}],"continuationToken":null}"#),
            Some(2)
        );
        assert_eq!(page_rows(br#"{"value":[],"continuationToken":null}"#), Some(0));
        assert_eq!(page_rows(br#"{"value":[{}],"continuationToken":"next"}"#), None, "a second page would be missed");
        assert_eq!(page_rows(br#"{"value":[{}]}"#), None);
        assert_eq!(page_rows(b"not json"), None);
    }

    #[test]
    fn every_room_is_below_one_building() {
        let portfolio = Portfolio::generate(5_000, 7);
        let rooms = rooms_per_building(&portfolio);
        assert_eq!(rooms.len(), portfolio.levels[Kind::Building as usize].len());
        assert_eq!(rooms.iter().sum::<usize>(), portfolio.levels[Kind::Room as usize].len());
        assert!(rooms.iter().all(|&n| n > 0), "every building has a floor, and every floor a room: {rooms:?}");
    }
}
