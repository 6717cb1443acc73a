//! Telemetry pipeline benchmarks: one device's batch of readings through `POST /management/api/v1.0/telemetry/batch`, in process (the server's router through `tower`'s `oneshot`, no socket), on the demo building (`server::demo::provision`), so the cost of a batch shows without MQTT and without the load generator sharing the machine.
//!
//! `cargo bench -p server --bench telemetry`; each benchmark's name carries the store (`memory`, or `embedded`: the embedded store in a temp directory, each batch one fsync'd commit) and the readings:
//! - `batch32/temperature`: 32 readings of the Temperature sensor, which runs no function;
//! - `batch32/availability`: 32 readings alternating between the Motion and CarbonDioxide sensors, each running the availability function (`demo/availability.js`), which sets the sensor's value and the room's `AvailableAndFresh`.
//!
//! Throughput is in messages; a batch is answered once it is durable, its functions' effects included, so an iteration is a batch's whole latency on an idle server.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use server::data::DataPlane;
use server::{AppState, Config};
use tempfile::TempDir;
use tower::ServiceExt;

const BATCH: usize = 32;

/// A server's router on the demo building with its first room's device provisioned, and what a batch needs.
struct Demo {
    runtime: tokio::runtime::Runtime,
    app: Router,
    token: String,
    device: server::demo::DemoDevice,
    _dir: Option<TempDir>,
}

impl Demo {
    fn new(embedded: bool) -> Demo {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
        let config = Config::default();
        let (data, dir) = if embedded {
            let dir = tempfile::tempdir().expect("a temp directory");
            let data = DataPlane::open_dir(dir.path(), graph::Limits::default(), config.containment.clone());
            (data.expect("the embedded store opens"), Some(dir))
        } else {
            let store = store::MemoryBackend::new(store::Limits::default()).expect("a memory store");
            let data =
                DataPlane::open(Arc::new(store), graph::Limits::default(), config.containment.clone(), "bench".into());
            (data.expect("the memory store opens"), None)
        };
        server::demo::load(&data).expect("the demo building");
        let jobs = server::jobs::Jobs::load(&data).expect("no jobs");
        let state = AppState::with_data(&config, Arc::new(data), Arc::new(jobs));
        let app = server::router(state);
        let devices = runtime.block_on(server::demo::provision(app.clone(), 1)).expect("the demo's objects");
        let device = devices.into_iter().next().expect("a device");
        let token =
            ingest::sas::sign_device_token("twinscape", &device.id, &device.key, i64::MAX / 2).expect("a token");
        Demo { runtime, app, token, device, _dir: dir }
    }

    /// The hardware id of the device's sensor of `data_type`.
    fn sensor(&self, data_type: &str) -> &str {
        self.device.sensors.iter().find(|(t, _)| *t == data_type).map(|(_, h)| h.as_str()).expect("a sensor")
    }

    /// One NDJSON line setting the sensor of `hardware_id` to `value`.
    fn line(hardware_id: &str, value: &str) -> String {
        serde_json::json!({
            "properties": {"DigitalTwins-Telemetry": "1.0", "DigitalTwins-SensorHardwareId": hardware_id},
            "body": {"SensorValue": value},
        })
        .to_string()
    }

    /// Sends one batch and checks that every line was stored.
    fn send(&self, body: &str) {
        let request = Request::post("/management/api/v1.0/telemetry/batch")
            .header("Authorization", &self.token)
            .header("Content-Type", "application/x-ndjson")
            .body(Body::from(body.to_owned()))
            .expect("a request");
        let reply = self.runtime.block_on(self.app.clone().oneshot(request)).expect("an answer");
        assert_eq!(reply.status(), StatusCode::NO_CONTENT, "the batch was stored");
    }
}

fn batches(c: &mut Criterion) {
    let mut group = c.benchmark_group("batch32");
    group.throughput(Throughput::Elements(BATCH as u64));
    for embedded in [false, true] {
        let demo = Demo::new(embedded);
        let store = if embedded { "embedded" } else { "memory" };
        let temperature = demo.sensor("Temperature").to_owned();
        let (motion, co2) = (demo.sensor("Motion").to_owned(), demo.sensor("CarbonDioxide").to_owned());
        let mut n = 0u64;
        group.bench_function(BenchmarkId::new("temperature", store), |b| {
            b.iter(|| {
                n += 1;
                let lines: Vec<String> =
                    (0..BATCH).map(|i| Demo::line(&temperature, &format!("{}.{i}", 18 + n % 8))).collect();
                demo.send(&lines.join("\n"));
            })
        });
        group.bench_function(BenchmarkId::new("availability", store), |b| {
            b.iter(|| {
                n += 1;
                let lines: Vec<String> = (0..BATCH)
                    .map(|i| match i % 2 {
                        0 => Demo::line(&motion, if (n + i as u64).is_multiple_of(3) { "true" } else { "false" }),
                        _ => Demo::line(&co2, &format!("{}", 400 + (n * 7 + i as u64) % 900)),
                    })
                    .collect();
                demo.send(&lines.join("\n"));
            })
        });
    }
    group.finish();
}

criterion_group!(benches, batches);
criterion_main!(benches);
