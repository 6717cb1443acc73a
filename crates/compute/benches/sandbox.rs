//! Sandbox benchmarks: whole runs (the function's top level, compiled once, then `process`, then the reset of the shared context) of an empty function and of an availability-style function, the first run of a function (compiling it) and the first run of a sandbox (building its runtime and locked-down context), and raw host calls made from JavaScript.
//!
//! `cargo bench -p compute --bench sandbox`; a `host_calls` benchmark makes 10,000 calls in one run and reports calls per second (criterion's element throughput).
//! A run leaves cycles for a later collection (one when earlier runs left 1 MiB), so the `run/` figures include the collections' cost spread over the runs.
//! The host answers from memory, so the figures are the sandbox's own cost; a server's host adds its graph lookups and permission checks.

use std::hint::black_box;
use std::time::Duration;

use compute::sandbox::{
    ExecutionContext, ExtendedProperty, Host, HostError, Limits, Metadata, ObjectType, Reading, Sandbox, Telemetry,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

/// A room with a motion and a carbon dioxide sensor, answered from memory.
struct MemoryHost {
    room: Metadata,
    sensors: Vec<Metadata>,
    values: Vec<(String, Reading)>,
    notifications: usize,
}

impl MemoryHost {
    fn new() -> MemoryHost {
        let object = |value: Value| match value {
            Value::Object(members) => std::sync::Arc::new(members),
            _ => unreachable!("fixtures are objects"),
        };
        let sensor = |id: &str, data_type: &str| {
            object(json!({
                "id": id, "dataType": data_type, "dataTypeId": 27, "hardwareId": format!("HW_{id}"),
                "deviceId": "device-a1", "spaceId": "room-a1", "port": "30", "pollRate": 3600
            }))
        };
        MemoryHost {
            room: object(json!({ "id": "room-a1", "name": "Focus Room A1", "typeId": 16, "parentSpaceId": "floor-1" })),
            sensors: vec![sensor("sensor-motion", "Motion"), sensor("sensor-co2", "CarbonDioxide")],
            values: Vec::new(),
            notifications: 0,
        }
    }

    fn sensor(&self, id: &str) -> Result<Metadata, HostError> {
        self.sensors.iter().find(|sensor| sensor["id"] == id).cloned().ok_or(HostError::DataNotFound)
    }

    fn latest(&self, id: &str, data_type: &str) -> Option<Reading> {
        let found = self.values.iter().find(|(object, reading)| object == id && reading.data_type == data_type);
        found.map(|(_, reading)| reading.clone())
    }

    fn set(&mut self, id: &str, data_type: &str, value: Value) {
        self.values.retain(|(object, reading)| !(object == id && reading.data_type == data_type));
        let reading = Reading { data_type: data_type.to_owned(), value, timestamp: "2026-11-26T12:00:00Z".to_owned() };
        self.values.push((id.to_owned(), reading));
    }
}

impl Host for MemoryHost {
    fn get_sensor_metadata(&mut self, sensor_id: &str) -> Result<Metadata, HostError> {
        self.sensor(sensor_id)
    }
    fn get_space_metadata(&mut self, _: &str) -> Result<Metadata, HostError> {
        Ok(self.room.clone())
    }
    fn get_device_metadata(&mut self, _: &str) -> Result<Metadata, HostError> {
        Err(HostError::DataNotFound)
    }
    fn get_sensor_value(&mut self, sensor_id: &str, data_type: &str) -> Result<Option<Reading>, HostError> {
        Ok(self.latest(sensor_id, data_type))
    }
    fn get_space_value(&mut self, space_id: &str, value_name: &str) -> Result<Option<Reading>, HostError> {
        Ok(self.latest(space_id, value_name))
    }
    fn get_sensor_history_values(&mut self, _: &str, _: &str) -> Result<Vec<Reading>, HostError> {
        Ok(Vec::new())
    }
    fn get_space_history_values(&mut self, _: &str, _: &str) -> Result<Vec<Reading>, HostError> {
        Ok(Vec::new())
    }
    fn get_space_child_spaces(&mut self, _: &str) -> Result<Vec<Metadata>, HostError> {
        Ok(Vec::new())
    }
    fn get_space_child_sensors(&mut self, _: &str) -> Result<Vec<Metadata>, HostError> {
        Ok(self.sensors.clone())
    }
    fn get_space_child_devices(&mut self, _: &str) -> Result<Vec<Metadata>, HostError> {
        Ok(Vec::new())
    }
    fn get_device_child_sensors(&mut self, _: &str) -> Result<Vec<Metadata>, HostError> {
        Ok(self.sensors.clone())
    }
    fn get_space_parent_space(&mut self, _: &str) -> Result<Option<Metadata>, HostError> {
        Ok(None)
    }
    fn get_sensor_parent_space(&mut self, _: &str) -> Result<Metadata, HostError> {
        Ok(self.room.clone())
    }
    fn get_device_parent_space(&mut self, _: &str) -> Result<Metadata, HostError> {
        Ok(self.room.clone())
    }
    fn get_sensor_parent_device(&mut self, _: &str) -> Result<Metadata, HostError> {
        Err(HostError::DataNotFound)
    }
    fn get_space_extended_property(&mut self, _: &str, _: &str) -> Result<ExtendedProperty, HostError> {
        Err(HostError::DataNotFound)
    }
    fn get_sensor_extended_property(&mut self, _: &str, _: &str) -> Result<ExtendedProperty, HostError> {
        Err(HostError::DataNotFound)
    }
    fn get_device_extended_property(&mut self, _: &str, _: &str) -> Result<ExtendedProperty, HostError> {
        Err(HostError::DataNotFound)
    }
    fn set_sensor_value(&mut self, sensor_id: &str, data_type: &str, value: Value) -> Result<(), HostError> {
        self.set(sensor_id, data_type, value);
        Ok(())
    }
    fn set_space_value(&mut self, space_id: &str, value_name: &str, value: Value) -> Result<(), HostError> {
        self.set(space_id, value_name, value);
        Ok(())
    }
    fn send_notification(&mut self, _: &str, _: ObjectType, _: &str) -> Result<(), HostError> {
        self.notifications += 1;
        Ok(())
    }
}

/// An availability-style function (the occupancy sample's host API): store the reading, read the room's two sensors, set the room's value, notify when it is not available.
const AVAILABILITY: &str = r#"
function process(telemetry, executionContext) {
  const sensor = getSensorMetadata(telemetry.SensorId);
  const reading = JSON.parse(telemetry.Message);
  setSensorValue(telemetry.SensorId, sensor.DataType, reading.SensorValue);
  const room = sensor.Space();
  const sensors = room.ChildSensors();
  const motion = sensors.find((other) => other.DataType === "Motion");
  const carbonDioxide = sensors.find((other) => other.DataType === "CarbonDioxide");
  const presence = motion.Value().Value;
  const ppm = parseFloat(carbonDioxide.Value().Value);
  if (!presence || Number.isNaN(ppm)) {
    sendNotification(telemetry.SensorId, "Sensor", "Error: no reading yet");
    return;
  }
  if (presence.toLowerCase() !== "true" && ppm < 1000) {
    setSpaceValue(room.Id, "AvailableAndFresh", "Room is available and air is fresh");
  } else {
    setSpaceValue(room.Id, "AvailableAndFresh", "Room is not available or air quality is poor");
    room.Notify(JSON.stringify("Room is not available or air quality is poor"));
  }
}
"#;

/// Host calls made in one run by the `host_calls` benchmarks.
const CALLS: u64 = 10_000;

fn context() -> ExecutionContext {
    ExecutionContext {
        enqueued_time_unix_ms: 1_795_694_400_000,
        processor_received_time_unix_ms: 1_795_694_400_000,
        user_defined_function_id: "udf".to_owned(),
        correlation_id: "correlation".to_owned(),
    }
}

fn runs(c: &mut Criterion) {
    let mut sandbox = Sandbox::new(Limits::default());
    let mut host = MemoryHost::new();
    let context = context();
    let motion = Telemetry { sensor_id: "sensor-motion".to_owned(), message: r#"{"SensorValue":"true"}"#.to_owned() };
    let co2 = Telemetry { sensor_id: "sensor-co2".to_owned(), message: r#"{"SensorValue":"850"}"#.to_owned() };
    // Both sensors have a value, so every availability run takes the full path.
    for telemetry in [&motion, &co2] {
        assert!(sandbox.run(AVAILABILITY, telemetry, &context, &mut host).status == compute::sandbox::RunStatus::Ok);
    }
    let mut group = c.benchmark_group("run");
    group.throughput(Throughput::Elements(1));
    group.bench_function("empty_process", |bench| {
        bench.iter(|| {
            black_box(sandbox.run("function process(telemetry, executionContext) {}", &motion, &context, &mut host))
        })
    });
    let mut at = 0;
    group.bench_function("availability", |bench| {
        bench.iter(|| {
            at = 1 - at;
            let telemetry = if at == 0 { &motion } else { &co2 };
            black_box(sandbox.run(AVAILABILITY, telemetry, &context, &mut host))
        })
    });
    // A source the sandbox has not seen (a comment numbers it): checked, compiled and kept, the oldest kept one dropped.
    let mut version = 0_u64;
    group.bench_function("availability_first_run", |bench| {
        bench.iter(|| {
            version += 1;
            let source = format!("// version {version}\n{AVAILABILITY}");
            black_box(sandbox.run(&source, &motion, &context, &mut host))
        })
    });
    assert_eq!(sandbox.runtimes_created(), 1, "no run hit a limit");
    // A sandbox's first run, as after a run that hit a limit: a runtime, its locked-down context, compiling the function.
    group.bench_function("availability_new_runtime", |bench| {
        bench.iter(|| black_box(Sandbox::new(Limits::default()).run(AVAILABILITY, &co2, &context, &mut host)))
    });
    group.finish();
}

fn host_calls(c: &mut Criterion) {
    // 10,000 calls in one run take longer than the default 50 ms in a debug build.
    let mut sandbox = Sandbox::new(Limits { time_ms: 2_000, ..Limits::default() });
    let mut host = MemoryHost::new();
    let context = context();
    let telemetry = Telemetry { sensor_id: "sensor-motion".to_owned(), message: "{}".to_owned() };
    let loops = [
        ("js_loop_only", "let n = 0; for (let i = 0; i < CALLS; i++) n += i;"),
        ("set_sensor_value", "for (let i = 0; i < CALLS; i++) setSensorValue('sensor-motion', 'Motion', i);"),
        ("get_sensor_value", "for (let i = 0; i < CALLS; i++) getSensorValue('sensor-motion', 'Motion').Value;"),
        ("get_sensor_metadata", "for (let i = 0; i < CALLS; i++) getSensorMetadata('sensor-motion').DataType;"),
    ];
    let mut group = c.benchmark_group("host_calls");
    group.throughput(Throughput::Elements(CALLS));
    for (name, body) in loops {
        let source = format!("function process() {{ {} }}", body.replace("CALLS", &CALLS.to_string()));
        let outcome = sandbox.run(&source, &telemetry, &context, &mut host);
        assert_eq!(outcome.status, compute::sandbox::RunStatus::Ok, "{name}");
        group.bench_function(format!("{name}_x{}k", CALLS / 1000), |bench| {
            bench.iter(|| black_box(sandbox.run(&source, &telemetry, &context, &mut host)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = runs, host_calls
}
criterion_main!(benches);
