//! `twinscape bench`: generates the synthetic portfolio, drives a running server through a scenario over HTTP, and reports each phase's throughput and p50/p99/max latency as a table or as one JSON document.
//!
//! Traffic goes only to `--server`, and only when it is a loopback address (or a name that resolves only to loopback addresses) unless `--allow-remote` is given; the check happens before any connection is made.
//! Every phase is bounded in count and in time and stops by itself: create and relate send one request per twin, read, patch, mixed, the query phases and the 2018 phases of `spaces` send `--operations` requests or run `--duration-secs`, and no phase runs longer than `PHASE_TIME_MAX`.
//! A run takes minutes, so progress lines go to the writer `main` hands over (stderr) as phases finish; the results come back as `Output`, and the exit code is 0 only when no request failed.
//! The telemetry scenario publishes over MQTT to `--mqtt` (loopback too unless `--allow-remote`), each device once per phase, bounded by `--rooms` × `--messages` and the same cap.
//! The portfolio and its models are the `portfolio` crate's; connections, timing and counting are `load`'s; the 2018 management face's scenario is `spaces`'s; the MQTT scenario is `telemetry`'s.

mod load;
mod spaces;
mod telemetry;

use std::io::Write;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use serde_json::json;

use crate::Output;
use load::{Bound, Driver, Phase, PhaseReport, Target};
use portfolio::{Kind, Portfolio, TOWER_DESCENDANTS_MAX, TOWER_DESCENDANTS_MIN, TWINS_MAX, TWINS_MIN};

/// The longest any phase runs; create and relate of a large portfolio on a slow server stop here and are reported as cut short.
const PHASE_TIME_MAX: Duration = Duration::from_secs(600);
/// The most requests of a read, patch, mixed or query phase.
const OPERATIONS_MAX: u64 = 100_000_000;
/// Requests of each phase of the spaces scenario without --operations or --duration-secs: each is sent alone, and a few hundred give a steady median and p99.
const SPACES_OPERATIONS_DEFAULT: u64 = 200;
/// Twins below the tower of the spaces scenario without --tower.
const SPACES_TOWER_DEFAULT: u64 = 20_000;
/// Twins per floor of the tower (with everything below it) without --tower-floors: the size of the floor that moves.
const SPACES_FLOOR_TWINS: u64 = 2_000;
/// Concurrent connections without --connections: HTTP for every scenario but telemetry.
const CONNECTIONS_DEFAULT: u64 = 16;
/// Concurrent MQTT connections of the telemetry scenario without --connections: enough that the server's batches of many devices share commits.
const TELEMETRY_CONNECTIONS_DEFAULT: u64 = 100;

#[derive(Args)]
pub(crate) struct BenchArgs {
    /// The server to drive, as http://HOST:PORT (plain HTTP). Only loopback addresses (127.0.0.0/8, ::1, or a name resolving only to them) are accepted unless --allow-remote is given.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Allow a --server that is not a loopback address. Without it, bench refuses to send traffic off this machine.
    #[arg(long)]
    allow_remote: bool,
    /// Twins in the synthetic portfolio (tenants → sites → buildings → floors → rooms → devices → sensors, one site per 2,000 twins); create and relate send one request per twin.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(TWINS_MIN..=TWINS_MAX))]
    twins: u64,
    /// Concurrent HTTP/1.1 keep-alive connections, one request in flight on each; for telemetry, devices connected over MQTT at once [default: 16; 100 for telemetry].
    #[arg(long, value_name = "C", value_parser = clap::value_parser!(u64).range(1..=1024))]
    connections: Option<u64>,
    /// Seed of the portfolio (its shape, ids and property values) and of the random choices of each connection.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// What to send; `all` runs create, relate, read, patch and query in that order. relate, read, patch, mixed and query expect the twins (and for query the relationships) of the same --twins and --seed to exist.
    #[arg(long, value_enum, default_value_t = Scenario::All)]
    scenario: Scenario,
    /// Twins below the tower, one more building of the first site, added to the portfolio of the spaces scenario (the only one with a tower) [default: 20000].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(TOWER_DESCENDANTS_MIN as u64..=TOWER_DESCENDANTS_MAX as u64))]
    tower: Option<u64>,
    /// Floors of the tower, over which its rooms, devices and sensors are spread evenly; at most a quarter of --tower [default: one per 2,000 twins of the tower].
    #[arg(long, value_name = "F", value_parser = clap::value_parser!(u64).range(1..))]
    tower_floors: Option<u64>,
    /// Run each read, patch, mixed or query phase for this many seconds (at most 600).
    #[arg(long, value_name = "D", conflicts_with = "operations", value_parser = clap::value_parser!(u64).range(1..=600))]
    duration_secs: Option<u64>,
    /// Send this many requests in each read, patch, mixed, query or 2018 phase [default: as many as --twins; 200 for spaces]; a phase stops after 600 s regardless.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=OPERATIONS_MAX))]
    operations: Option<u64>,
    /// Rooms of the telemetry scenario's topology, each with a device and a Motion and a CarbonDioxide sensor.
    #[arg(long, value_name = "N", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    rooms: u64,
    /// QoS 1 messages each device of the telemetry scenario publishes in each phase, alternately to its two sensors, on one connection.
    #[arg(long, value_name = "M", default_value_t = 100, value_parser = clap::value_parser!(u64).range(2..=1_000_000))]
    messages: u64,
    /// Messages a connection of the telemetry scenario has waiting for their PUBACK at most (the server's default [mqtt] inflight_max is 64).
    #[arg(long, value_name = "W", default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=1024))]
    inflight: u64,
    /// Messages per second, over all connections, of the telemetry scenario's rate-limited phases.
    #[arg(long, value_name = "R", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    rate: u64,
    /// The server's MQTT listener as HOST:PORT, for the telemetry scenario; loopback only unless --allow-remote is given.
    #[arg(long, value_name = "ADDRESS", default_value = "127.0.0.1:1883")]
    mqtt: String,
    /// A plain MQTT broker as HOST:PORT (one that takes any client without a password), for the telemetry scenario: its first phase, `broker`, publishes the `mqtt` phase's load to it, the ceiling that phase is compared with; loopback only unless --allow-remote is given.
    #[arg(long, value_name = "ADDRESS")]
    broker: Option<String>,
    /// Print one JSON document instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Scenario {
    /// PUT every twin, parents before children.
    Create,
    /// PUT the containment relationships (contains, hasDevice, hasSensor).
    Relate,
    /// GET random twins.
    Read,
    /// JSON Patch replace of a numeric property of random twins.
    Patch,
    /// 70% read, 25% patch, 5% create.
    Mixed,
    /// The whole portfolio (models, twins, relationships) sent as one bulk import job; reports records per second.
    Import,
    /// POST /query, two phases: a random twin by $dtId, then two JOINs from a random building to its rooms; each answer's row count is checked against the portfolio.
    Query,
    /// The 2018 management face on one connection, one request at a time: installs the built-in models, imports the portfolio with a tower as their spaces, devices and sensors, then lists the tower's spaces (traverse=Down, includes=values) and moves one of its floors to another building and back.
    Spaces,
    /// MQTT telemetry: provisions --rooms rooms with a device and two sensors each through the 2018 face, then each device publishes --messages QoS 1 messages per phase: as fast as PUBACKs come, at --rate, and both again with the availability function on the topology; a sample of rooms is read back after each phase.
    Telemetry,
    /// create, relate, read, patch, query in order, each reported.
    All,
}

/// Runs the benchmark and returns the report; `progress` gets a line as each step finishes.
pub(crate) fn run(args: BenchArgs, progress: &mut dyn Write) -> Result<Output> {
    let target = target(&args.server, args.allow_remote)?;
    let portfolio = Arc::new(portfolio(&args)?);
    let phases = match args.scenario {
        Scenario::Create => vec![Phase::Create],
        Scenario::Relate => vec![Phase::Relate],
        Scenario::Read => vec![Phase::Read],
        Scenario::Patch => vec![Phase::Patch],
        Scenario::Mixed => vec![Phase::Mixed],
        Scenario::Import => vec![Phase::Import],
        Scenario::Query => vec![Phase::QueryLookup, Phase::QueryJoin],
        Scenario::Spaces => vec![Phase::Import, Phase::SpacesDown, Phase::FloorMove],
        Scenario::Telemetry => Vec::new(),
        Scenario::All => {
            vec![Phase::Create, Phase::Relate, Phase::Read, Phase::Patch, Phase::QueryLookup, Phase::QueryJoin]
        }
    };
    let connections = match args.scenario {
        Scenario::Telemetry => args.connections.unwrap_or(TELEMETRY_CONNECTIONS_DEFAULT),
        _ => args.connections.unwrap_or(CONNECTIONS_DEFAULT),
    };
    let telemetry = match args.scenario {
        Scenario::Telemetry => Some(telemetry::Settings {
            rooms: args.rooms as usize,
            messages: args.messages,
            inflight: args.inflight as usize,
            connections: connections as usize,
            rate: args.rate,
            mqtt: mqtt_address("--mqtt", &args.mqtt, args.allow_remote)?,
            broker: args
                .broker
                .as_deref()
                .map(|broker| mqtt_address("--broker", broker, args.allow_remote))
                .transpose()?,
        }),
        _ => None,
    };
    // Progress is a courtesy; a closed stderr must not stop a run, so write errors are ignored.
    let _ = match &telemetry {
        Some(t) => writeln!(
            progress,
            "bench: {} rooms, {} messages per device and phase, {} MQTT connections to {} ({} in flight each), {} msg/s when rate-limited; management at {}",
            t.rooms, t.messages, t.connections, t.mqtt, t.inflight, t.rate, target.base
        ),
        None => writeln!(
            progress,
            "bench: {} twins ({}), seed {}, {connections} connections to {}",
            args.twins,
            portfolio.summary(),
            args.seed,
            target.base
        ),
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("start the async runtime")?;
    let reports = runtime.block_on(async {
        if let Some(settings) = &telemetry {
            return telemetry::run(&target, settings, progress).await;
        }
        if matches!(args.scenario, Scenario::Spaces) {
            return spaces::run(&target, &portfolio, bound(&args, Phase::SpacesDown), progress).await;
        }
        let driver = Driver::new(&target, connections as usize, Arc::clone(&portfolio))?;
        let uploaded = driver.upload_models().await?;
        let _ = writeln!(progress, "bench: models {}", if uploaded { "uploaded" } else { "already there" });
        let mut reports = Vec::new();
        for phase in phases {
            let report = if phase == Phase::Import {
                import_phase(&target, &portfolio, Flavor::Bench, progress).await?
            } else {
                driver.run(phase, bound(&args, phase)).await
            };
            let _ = writeln!(
                progress,
                "bench: {}: {} ops, {} errors in {:.1} s",
                phase.name(),
                report.ops,
                report.errors,
                report.elapsed.as_secs_f64()
            );
            reports.push(report);
        }
        anyhow::Ok(reports)
    })?;
    let success = reports.iter().all(|r| r.errors == 0 && !r.cut_short);
    let shape = match &telemetry {
        Some(t) => json!({"rooms": t.rooms, "devices": t.rooms, "sensors": 2 * t.rooms}),
        None => portfolio_counts(&portfolio),
    };
    let stdout =
        if args.json { json_report(&args, &target, connections, shape, &reports) } else { table_report(&reports) };
    Ok(Output { stdout, stderr: String::new(), success })
}

/// The MQTT listener an option (`--mqtt`, `--broker`) names, checked like `--server`: unless `allow_remote`, every address it stands for must be a loopback address.
fn mqtt_address(option: &str, mqtt: &str, allow_remote: bool) -> Result<SocketAddr> {
    let addresses: Vec<SocketAddr> =
        mqtt.to_socket_addrs().with_context(|| format!("resolve {option} {mqtt}"))?.collect();
    let Some(first) = addresses.first().copied() else { bail!("{option} {mqtt} resolves to no address") };
    if !allow_remote && let Some(remote) = addresses.iter().find(|address| !address.ip().is_loopback()) {
        bail!(
            "{option} {mqtt} is not a loopback address ({}); bench sends traffic only to this machine unless --allow-remote is given",
            remote.ip()
        );
    }
    Ok(first)
}

/// The portfolio of `args`: with the tower of --tower and --tower-floors for the spaces scenario, without one for the others.
fn portfolio(args: &BenchArgs) -> Result<Portfolio> {
    let plain = Portfolio::generate(args.twins as usize, args.seed);
    if !matches!(args.scenario, Scenario::Spaces) {
        if args.tower.is_some() || args.tower_floors.is_some() {
            bail!("--tower and --tower-floors shape the portfolio of the spaces scenario; the others have no tower");
        }
        return Ok(plain);
    }
    let tower = args.tower.unwrap_or(SPACES_TOWER_DEFAULT);
    let floors = args.tower_floors.unwrap_or((tower / SPACES_FLOOR_TWINS).max(1));
    if floors > tower / 4 {
        bail!(
            "--tower-floors {floors}: a tower of {tower} twins has at most {} floors (a quarter of its twins)",
            tower / 4
        );
    }
    Ok(plain.with_tower_floors(tower as usize, floors as usize))
}

/// Where a phase stops: create and relate go through the portfolio under the time cap; the others by the flags.
fn bound(args: &BenchArgs, phase: Phase) -> Bound {
    let operations = match phase {
        Phase::SpacesDown | Phase::FloorMove => args.operations.unwrap_or(SPACES_OPERATIONS_DEFAULT),
        _ => args.operations.unwrap_or(args.twins),
    };
    match (phase, args.duration_secs) {
        (Phase::Create | Phase::Relate, _) => Bound { operations: 0, time: PHASE_TIME_MAX, timed: false },
        (_, Some(secs)) => Bound { operations: OPERATIONS_MAX, time: Duration::from_secs(secs), timed: true },
        (_, None) => Bound { operations, time: PHASE_TIME_MAX, timed: false },
    }
}

/// Checks `--server` and, unless `allow_remote`, that every address it stands for is a loopback address.
fn target(server: &str, allow_remote: bool) -> Result<Target> {
    let url = reqwest::Url::parse(server).with_context(|| format!("read --server {server}"))?;
    if url.scheme() != "http" {
        bail!("--server {server}: bench speaks plain http:// (serve without TLS for a load test)");
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        bail!("--server {server}: give only http://HOST:PORT");
    }
    let host = url.host_str().with_context(|| format!("--server {server} names no host"))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let literal = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
    let addresses: Vec<SocketAddr> = match literal {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => (host, port).to_socket_addrs().with_context(|| format!("resolve {host}"))?.collect(),
    };
    let Some(first) = addresses.first().copied() else { bail!("{host} resolves to no address") };
    if !allow_remote && let Some(remote) = addresses.iter().find(|address| !address.ip().is_loopback()) {
        bail!(
            "--server {server} is not a loopback address ({}); bench sends traffic only to this machine unless --allow-remote is given",
            remote.ip()
        );
    }
    let pin = literal.is_none().then(|| (host.to_owned(), first));
    Ok(Target { base: url.origin().ascii_serialization(), pin })
}

fn table_report(reports: &[PhaseReport]) -> String {
    let mut rows =
        vec![["scenario", "ops", "errors", "ops/s", "p50 ms", "p99 ms", "max ms"].map(String::from).to_vec()];
    for r in reports {
        rows.push(vec![
            r.phase.name().to_owned(),
            r.ops.to_string(),
            r.errors.to_string(),
            format!("{:.0}", r.ops_per_s()),
            format!("{:.3}", r.latency_ms(0.5)),
            format!("{:.3}", r.latency_ms(0.99)),
            format!("{:.3}", r.latency_ms(1.0)),
        ]);
    }
    let mut out = crate::table::render(&rows, "");
    for r in reports {
        if r.cut_short {
            out.push_str(&format!(
                "{} stopped at the {} s cap before sending everything\n",
                r.phase.name(),
                PHASE_TIME_MAX.as_secs()
            ));
        }
        if !r.error_samples.is_empty() {
            out.push_str(&format!("first errors of {} ({} in all):\n", r.phase.name(), r.errors));
            for sample in &r.error_samples {
                out.push_str(&format!("  {sample}\n"));
            }
        }
    }
    out
}

/// How many twins of each kind the portfolio has, and the tower's size when it has one.
fn portfolio_counts(portfolio: &Portfolio) -> serde_json::Value {
    let mut counts: serde_json::Map<String, serde_json::Value> = Kind::ALL
        .iter()
        .zip(&portfolio.levels)
        .map(|(kind, range)| (kind.plural().to_owned(), json!(range.len())))
        .collect();
    if let Some(tower) = &portfolio.tower {
        counts.insert("tower".to_owned(), json!(tower.len() - 1));
    }
    serde_json::Value::Object(counts)
}

/// The report as one JSON document; `shape` is what was loaded (the portfolio's counts, or the telemetry topology's).
fn json_report(
    args: &BenchArgs,
    target: &Target,
    connections: u64,
    shape: serde_json::Value,
    reports: &[PhaseReport],
) -> String {
    let round = |value: f64, places: i32| {
        let scale = 10f64.powi(places);
        (value * scale).round() / scale
    };
    let scenarios: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            json!({
                "scenario": r.phase.name(),
                "ops": r.ops,
                "errors": r.errors,
                "elapsed_s": round(r.elapsed.as_secs_f64(), 3),
                "ops_per_s": round(r.ops_per_s(), 1),
                "latency_ms_p50": round(r.latency_ms(0.5), 3),
                "latency_ms_p99": round(r.latency_ms(0.99), 3),
                "latency_ms_max": round(r.latency_ms(1.0), 3),
                "cut_short": r.cut_short,
                "error_samples": r.error_samples,
            })
        })
        .collect();
    let document = json!({
        "server": target.base,
        "twins": args.twins,
        "connections": connections,
        "seed": args.seed,
        "portfolio": shape,
        "scenarios": scenarios,
    });
    let mut text = serde_json::to_string_pretty(&document).expect("a JSON value encodes");
    text.push('\n');
    text
}

/// Which models an import's twins are of.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// The bench models, sent in the job's Models section, with a `locatedIn` relationship of every device and sensor.
    Bench,
    /// The built-in 2018 models, which the server must have already: no Models section, containment relationships only.
    Spatial,
}

/// Sends the whole portfolio as one import job (the NDJSON as the body): its twins, their containment relationships, and in the bench flavor the models and a `locatedIn` relationship of every device and sensor, and waits for it to end; the latency recorded is the whole job's.
async fn import_phase(
    target: &Target,
    portfolio: &Portfolio,
    flavor: Flavor,
    progress: &mut dyn Write,
) -> Result<PhaseReport> {
    let mut body = String::with_capacity(portfolio.twins.len() * 200);
    let mut line = |v: &serde_json::Value| {
        body.push_str(&v.to_string());
        body.push('\n');
    };
    line(&serde_json::json!({"Section": "Header"}));
    line(&serde_json::json!({"fileVersion": "1.0.0", "author": "twinscape bench", "organization": "twinscape"}));
    if flavor == Flavor::Bench {
        line(&serde_json::json!({"Section": "Models"}));
        for model in portfolio::models().as_array().into_iter().flatten() {
            line(model);
        }
    }
    line(&serde_json::json!({"Section": "Twins"}));
    for i in 0..portfolio.twins.len() {
        let mut twin = match flavor {
            Flavor::Bench => portfolio.twin_body(i),
            Flavor::Spatial => portfolio.spatial_twin_body(i),
        };
        twin["$dtId"] = serde_json::json!(portfolio.twins[i].id);
        line(&twin);
    }
    line(&serde_json::json!({"Section": "Relationships"}));
    let mut records = portfolio.twins.len() as u64;
    for i in 0..portfolio.twins.len() {
        let location = if flavor == Flavor::Bench { portfolio.location(i) } else { None };
        for (source, id, mut rel) in [portfolio.relationship(i), location].into_iter().flatten() {
            rel["$dtId"] = serde_json::json!(source);
            rel["$relationshipId"] = serde_json::json!(id);
            line(&rel);
            records += 1;
        }
    }
    let _ = writeln!(progress, "bench: import: {} records, {} MB of NDJSON", records, body.len() / 1_000_000);
    let client = load::client(target)?;
    let job = format!(
        "bench-{}-{}",
        portfolio.seed,
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
    );
    let url = format!("{}/jobs/imports/{job}?api-version=2023-10-31", target.base);
    let started = std::time::Instant::now();
    let response = client
        .put(&url)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .context("send the import job")?;
    if !response.status().is_success() {
        bail!("the server refused the import job: {}", response.text().await.unwrap_or_default());
    }
    let record = loop {
        if started.elapsed() > PHASE_TIME_MAX {
            bail!("the import job did not end within {} s", PHASE_TIME_MAX.as_secs());
        }
        let record: serde_json::Value =
            client.get(&url).send().await.context("poll the import job")?.json().await.context("read the job")?;
        if matches!(record["status"].as_str(), Some("succeeded" | "failed" | "cancelled")) {
            break record;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let elapsed = started.elapsed();
    let errors = record["counts"]["errors"].as_u64().unwrap_or(0);
    let mut histogram = hdrhistogram::Histogram::<u64>::new(3).context("make a histogram")?;
    let _ = histogram.record(elapsed.as_micros() as u64);
    let error_samples =
        record["errors"].as_array().map(|e| e.iter().take(5).map(ToString::to_string).collect()).unwrap_or_default();
    Ok(PhaseReport {
        phase: Phase::Import,
        ops: records.saturating_sub(errors),
        errors,
        elapsed,
        histogram,
        error_samples,
        cut_short: false,
    })
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    /// Renders what `target` makes of a --server value: its base and pinned address, or its error.
    fn check_target(server: &str, allow_remote: bool, expect: Expect) {
        let actual = match super::target(server, allow_remote) {
            Ok(target) => format!("{} {:?}", target.base, target.pin),
            Err(err) => format!("error: {err:#}"),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn only_loopback_servers_unless_allowed() {
        check_target("http://127.0.0.1:8080", false, expect!["http://127.0.0.1:8080 None"]);
        check_target("http://[::1]:9000/", false, expect!["http://[::1]:9000 None"]);
        check_target(
            "http://192.0.2.1:8080",
            false,
            expect![
                "error: --server http://192.0.2.1:8080 is not a loopback address (192.0.2.1); bench sends traffic only to this machine unless --allow-remote is given"
            ],
        );
        check_target("http://192.0.2.1:8080", true, expect!["http://192.0.2.1:8080 None"]);
        check_target(
            "https://127.0.0.1:8443",
            false,
            expect![
                "error: --server https://127.0.0.1:8443: bench speaks plain http:// (serve without TLS for a load test)"
            ],
        );
        check_target(
            "http://127.0.0.1:8080/digitaltwins",
            false,
            expect!["error: --server http://127.0.0.1:8080/digitaltwins: give only http://HOST:PORT"],
        );
    }
}
