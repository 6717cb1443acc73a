//! Setting a sensor's value, the write every telemetry message makes: a 2018 sensor twin (thirteen properties, each with its `$metadata` entry, as the management face makes them) patched with a new `value`, prepared (checked and made, not stored) and applied; and setting one entry of a `values` map, as a function's `setSpaceValue` does to a space.
//!
//! `cargo bench -p graph --bench patch`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use graph::{Limits, Precondition, TenantGraph};
use serde_json::{Value, json};

const NOW: &str = "2026-11-26T12:00:00.0000000Z";

fn model() -> Value {
    let mut contents: Vec<Value> = ["type", "dataType", "dataSubtype", "dataUnitType", "portType", "hardwareId"]
        .iter()
        .flat_map(|name| {
            [
                json!({ "@type": "Property", "name": name, "schema": "string" }),
                json!({ "@type": "Property", "name": format!("{name}Id"), "schema": "integer" }),
            ]
        })
        .collect();
    contents.push(json!({ "@type": "Property", "name": "value", "schema": { "@type": "Object", "fields": [
        { "name": "value", "schema": "string" }, { "name": "timestamp", "schema": "string" } ] } }));
    contents.push(json!({ "@type": "Property", "name": "values", "schema": { "@type": "Map",
        "mapKey": { "name": "name", "schema": "string" },
        "mapValue": { "name": "entry", "schema": { "@type": "Object", "fields": [
            { "name": "value", "schema": "string" }, { "name": "timestamp", "schema": "string" } ] } } } }));
    json!({ "@context": "dtmi:dtdl:context;3", "@id": "dtmi:bench:Sensor;1", "@type": "Interface", "contents": contents })
}

fn graph() -> TenantGraph {
    let mut graph = TenantGraph::new(Limits::default());
    graph.upload_models(vec![model()], NOW).expect("the bench model is valid");
    let twin = json!({
        "$metadata": { "$model": "dtmi:bench:Sensor;1" },
        "typeId": 100000, "type": "None", "dataTypeId": 111000, "dataType": "Motion", "dataSubtypeId": 120000,
        "dataSubtype": "None", "dataUnitTypeId": 130000, "dataUnitType": "None", "portTypeId": 140000,
        "portType": "None", "hardwareId": "SENSOR_MOTION_101",
        "value": { "value": "true", "timestamp": NOW },
        "values": { "Occupied": { "value": "false", "timestamp": NOW }, "AvailableAndFresh": { "value": "yes", "timestamp": NOW } }
    });
    graph.put_twin("sensor", twin, &Precondition::None, NOW).expect("the bench twin is valid");
    graph
}

fn patch(graph: &mut Criterion) {
    let mut sensor = self::graph();
    let value = json!([{ "op": "add", "path": "/value", "value": { "value": "false", "timestamp": NOW } }]);
    graph.bench_function("patch/prepare_value", |b| {
        b.iter(|| black_box(sensor.prepare_patch("sensor", &value, &Precondition::None, NOW).expect("valid")))
    });
    graph.bench_function("patch/patch_twin_value", |b| {
        b.iter(|| black_box(sensor.patch_twin("sensor", &value, &Precondition::None, NOW).expect("valid")))
    });
    // What a function's `setSpaceValue` makes: one entry of the `values` map.
    let entry =
        json!([{ "op": "add", "path": "/values/AvailableAndFresh", "value": { "value": "no", "timestamp": NOW } }]);
    graph.bench_function("patch/prepare_map_entry", |b| {
        b.iter(|| black_box(sensor.prepare_patch("sensor", &entry, &Precondition::None, NOW).expect("valid")))
    });
}

criterion_group!(benches, patch);
criterion_main!(benches);
