//! `twinscape bench` against a real `twinscape serve` child: every phase of `--scenario all` sends requests and none fails, the spaces and telemetry scenarios run end to end (telemetry over the child's MQTT listener, its values read back), and a non-loopback server is refused before any traffic.
//!
//! The numbers themselves are not checked (they depend on the machine); the phases, their counts and the JSON shape are.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use expect_test::{Expect, expect};
use serde_json::Value;

use crate::{fixture, run};

/// A `twinscape serve` child on 127.0.0.1:0, killed when dropped.
struct Served {
    child: Child,
    url: String,
    /// The MQTT listener's HOST:PORT.
    mqtt: String,
}

impl Served {
    /// Starts `twinscape serve` with a data directory in `dir` (stderr goes to `dir/stderr.log`) and reads the URL it announces.
    fn start(dir: &Path) -> Served {
        let stderr = std::fs::File::create(dir.join("stderr.log")).expect("create the log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_twinscape"))
            .args(["serve", "--listen", "127.0.0.1:0", "--mqtt-listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.join("data"))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("the built binary starts");
        let (mut line, mut mqtt_line) = (String::new(), String::new());
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        stdout.read_line(&mut line).expect("read the announcement");
        stdout.read_line(&mut mqtt_line).expect("read the MQTT announcement");
        let url = line.trim_end().strip_prefix("twinscape listening on ").map(str::to_owned);
        let mqtt = mqtt_line.trim_end().strip_prefix("twinscape mqtt listening on mqtt://").map(str::to_owned);
        let served = Served { child, url: url.unwrap_or_default(), mqtt: mqtt.unwrap_or_default() };
        assert!(served.url.starts_with("http://127.0.0.1:"), "unexpected announcement {line:?}");
        assert!(served.mqtt.starts_with("127.0.0.1:"), "unexpected MQTT announcement {mqtt_line:?}");
        served
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `twinscape bench --json` with `args` against `served` and renders the model upload, the portfolio and each scenario's counts; latencies and rates only have to be positive.
fn check_bench(dir: &Path, served: &Served, args: &[&str], expect: Expect) {
    let mut all = vec!["bench", "--server", &served.url, "--json"];
    all.extend_from_slice(args);
    let ran = run(dir, &all);
    assert_eq!(ran.code, 0, "stdout:\n{}\nstderr:\n{}", ran.stdout, ran.stderr);
    let report: Value = serde_json::from_str(&ran.stdout).expect("bench prints one JSON document");
    let models = ran.stderr.lines().find(|line| line.starts_with("bench: models")).unwrap_or("no models line");
    let mut out = format!("{models}\nportfolio {}\n", report["portfolio"]);
    for scenario in report["scenarios"].as_array().expect("a list of scenarios") {
        let ops = scenario["ops"].as_u64().expect("ops is a count");
        assert!(ops > 0, "{scenario}");
        out.push_str(&format!(
            "{}: ops {ops}, errors {}, cut_short {}\n",
            scenario["scenario"].as_str().expect("a name"),
            scenario["errors"],
            scenario["cut_short"],
        ));
        for field in ["ops_per_s", "latency_ms_p50", "latency_ms_p99", "latency_ms_max", "elapsed_s"] {
            assert!(scenario[field].as_f64().is_some_and(|v| v > 0.0), "{field} in {scenario}");
        }
    }
    expect.assert_eq(&out);
}

#[test]
fn bench_all_scenarios_against_a_served_data_directory() {
    let dir = fixture("bench", &[]);
    let served = Served::start(&dir);
    check_bench(
        &dir,
        &served,
        &["--twins", "300", "--connections", "4", "--scenario", "all"],
        expect![[r#"
            bench: models uploaded
            portfolio {"tenants":1,"sites":1,"buildings":1,"floors":1,"rooms":30,"devices":60,"sensors":206}
            create: ops 300, errors 0, cut_short false
            relate: ops 299, errors 0, cut_short false
            read: ops 300, errors 0, cut_short false
            patch: ops 300, errors 0, cut_short false
            query-lookup: ops 300, errors 0, cut_short false
            query-join: ops 300, errors 0, cut_short false
        "#]],
    );
    // A second run finds the models there; mixed traffic reads and patches the portfolio and adds extra sensors.
    check_bench(
        &dir,
        &served,
        &["--twins", "300", "--connections", "4", "--scenario", "mixed", "--operations", "500"],
        expect![[r#"
            bench: models already there
            portfolio {"tenants":1,"sites":1,"buildings":1,"floors":1,"rooms":30,"devices":60,"sensors":206}
            mixed: ops 500, errors 0, cut_short false
        "#]],
    );
}

#[test]
fn bench_spaces_scenario_against_a_served_data_directory() {
    let dir = fixture("bench-spaces", &[]);
    let served = Served::start(&dir);
    // 300 twins and a tower of 400 on 2 floors: the list answers the tower, 2 floors and 40 rooms, and the floor that moves has about 200 twins below it.
    let args = ["--twins", "300", "--scenario", "spaces", "--tower", "400", "--tower-floors", "2", "--operations", "5"];
    let expected = expect![[r#"
        bench: models installed (the built-in 2018 models, by creating and deleting a space)
        portfolio {"tenants":1,"sites":1,"buildings":1,"floors":1,"rooms":30,"devices":60,"sensors":206,"tower":400}
        import: ops 1401, errors 0, cut_short false
        spaces-down: ops 5, errors 0, cut_short false
        floor-move: ops 5, errors 0, cut_short false
    "#]];
    check_bench(&dir, &served, &args, expected);
    // A second run finds the models and the twins there, and the floor back in the tower.
    check_bench(
        &dir,
        &served,
        &args,
        expect![[r#"
        bench: models already there
        portfolio {"tenants":1,"sites":1,"buildings":1,"floors":1,"rooms":30,"devices":60,"sensors":206,"tower":400}
        import: ops 1401, errors 0, cut_short false
        spaces-down: ops 5, errors 0, cut_short false
        floor-move: ops 5, errors 0, cut_short false
    "#]],
    );
    // The tower belongs to the spaces scenario.
    let refused = run(&dir, &["bench", "--server", &served.url, "--scenario", "read", "--tower", "400"]);
    assert_eq!(refused.code, 2);
    expect![[r#"
        error: --tower and --tower-floors shape the portfolio of the spaces scenario; the others have no tower
    "#]]
    .assert_eq(&refused.stderr);
}

#[test]
fn bench_telemetry_scenario_against_a_served_data_directory() {
    let dir = fixture("bench-telemetry", &[]);
    let served = Served::start(&dir);
    // 5 rooms, 3 connections at a time, 6 messages per device and phase: 30 messages a phase, each room read back after it (the check counts a stale value as an error, so `errors 0` says the values arrived).
    let args = ["--scenario", "telemetry", "--rooms", "5", "--messages", "6", "--connections", "3", "--inflight", "4"];
    let args = [&args[..], &["--rate", "300", "--mqtt", &served.mqtt]].concat();
    let expected = expect![[r#"
        bench: models are the built-in 2018 models
        portfolio {"rooms":5,"devices":5,"sensors":10}
        provision: ops 17, errors 0, cut_short false
        mqtt: ops 30, errors 0, cut_short false
        mqtt-rate: ops 30, errors 0, cut_short false
        mqtt-function: ops 30, errors 0, cut_short false
        mqtt-function-rate: ops 30, errors 0, cut_short false
    "#]];
    check_bench(&dir, &served, &args, expected);
    // A second run makes a topology of its own beside the first, whose function does not reach it.
    check_bench(
        &dir,
        &served,
        &args,
        expect![[r#"
        bench: models are the built-in 2018 models
        portfolio {"rooms":5,"devices":5,"sensors":10}
        provision: ops 17, errors 0, cut_short false
        mqtt: ops 30, errors 0, cut_short false
        mqtt-rate: ops 30, errors 0, cut_short false
        mqtt-function: ops 30, errors 0, cut_short false
        mqtt-function-rate: ops 30, errors 0, cut_short false
    "#]],
    );
}

#[test]
fn bench_refuses_a_remote_server_without_allow_remote() {
    let dir = fixture("bench-remote", &[]);
    // 192.0.2.0/24 is reserved for documentation; the refusal comes before any connection.
    let refused = run(&dir, &["bench", "--server", "http://192.0.2.1:8080"]);
    assert_eq!(refused.code, 2);
    assert_eq!(refused.stdout, "");
    expect![[r#"
        error: --server http://192.0.2.1:8080 is not a loopback address (192.0.2.1); bench sends traffic only to this machine unless --allow-remote is given
    "#]].assert_eq(&refused.stderr);
}
