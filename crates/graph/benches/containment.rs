//! Containment tree benchmarks on a synthetic portfolio: moving a floor of 2,000 descendants to another building (the graph operations a move takes, validated as the server runs them, without the store), in a graph of 10,000 twins and in one of 1,000,000, and walking and testing a subtree of 20,000.
//!
//! `cargo bench -p graph --bench containment`; the size is part of each benchmark name, and a move must cost the same in both graphs.
//! The graphs are built once, through the load path (`load_twin`, `load_relationship`), outside the timed loops.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use graph::{Containment, Limits, Precondition, Relationship, TenantGraph, Twin};
use serde_json::{Map, Value, json};

const NOW: &str = "2026-11-26T12:00:00.0000000Z";

/// Rooms per floor, devices per room, sensors per device: 40 × (1 + 7 + 7 × 6) = 2,000 twins below a floor.
const ROOMS: usize = 40;
const DEVICES: usize = 7;
const SENSORS: usize = 6;
const FLOOR_DESCENDANTS: usize = ROOMS * (1 + DEVICES * (1 + SENSORS));

fn model() -> Value {
    json!({
        "@context": "dtmi:dtdl:context;3", "@id": "dtmi:bench:Thing;1", "@type": "Interface",
        "contents": [
            { "@type": "Relationship", "name": "contains" },
            { "@type": "Relationship", "name": "isPartOf" }
        ]
    })
}

/// Builds a site of buildings of floors of `FLOOR_DESCENDANTS` twins each, until the graph holds at least `twins`; ids are `b<i>`, `b<i>-f<j>`, and so on.
struct Builder {
    graph: TenantGraph,
    doc: Map<String, Value>,
    version: u64,
}

impl Builder {
    fn new() -> Builder {
        let containment = Containment::new(["contains"], ["isPartOf"]).expect("a valid declaration");
        let mut graph = TenantGraph::with_containment(Limits::default(), containment);
        graph.upload_models(vec![model()], NOW).expect("the bench model is valid");
        let Value::Object(doc) = json!({ "$metadata": { "$model": "dtmi:bench:Thing;1" } }) else { unreachable!() };
        let mut builder = Builder { graph, doc, version: 10 };
        builder.twin("site");
        builder
    }

    fn twin(&mut self, id: &str) {
        self.version += 1;
        self.graph.load_twin(Twin::new(id.to_owned(), self.version, &self.doc));
    }

    fn contains(&mut self, parent: &str, child: &str) {
        self.version += 1;
        let relationship = Relationship {
            id: format!("c-{child}"),
            source: parent.to_owned(),
            target: child.to_owned(),
            name: "contains".to_owned(),
            etag: self.version,
            properties: Map::new(),
        };
        assert!(self.graph.load_relationship(relationship), "both twins are loaded");
    }

    /// A child twin of `parent`.
    fn place(&mut self, parent: &str, child: &str) {
        self.twin(child);
        self.contains(parent, child);
    }

    fn build(twins: usize, floors_per_building: usize) -> TenantGraph {
        let mut b = Builder::new();
        let mut building = 0;
        while b.graph.twin_count() < twins {
            let bid = format!("b{building}");
            b.place("site", &bid);
            for floor in 0..floors_per_building {
                let fid = format!("{bid}-f{floor}");
                b.place(&bid, &fid);
                for room in 0..ROOMS {
                    let rid = format!("{fid}-r{room}");
                    b.place(&fid, &rid);
                    for device in 0..DEVICES {
                        let did = format!("{rid}-d{device}");
                        b.place(&rid, &did);
                        for sensor in 0..SENSORS {
                            b.place(&did, &format!("{did}-s{sensor}"));
                        }
                    }
                }
            }
            building += 1;
        }
        assert_eq!(b.graph.containment_violations().count, 0);
        b.graph
    }
}

/// Moves floor `b0-f0` from `b0` to `b1` and back, one move per iteration, as the server would: delete the old `contains`, put the new one.
fn move_floor(c: &mut Criterion, graph: &mut TenantGraph, name: &str) {
    let floor = graph.slot("b0-f0").expect("the floor exists");
    assert_eq!(graph.subtree_size_at(floor), FLOOR_DESCENDANTS + 1);
    let mut at = 0;
    c.bench_function(name, |bench| {
        bench.iter(|| {
            let (from, to) = if at == 0 { ("b0", "b1") } else { ("b1", "b0") };
            graph.delete_relationship(from, "c-b0-f0", &Precondition::None).expect("the floor's relationship");
            let body = json!({ "$targetId": "b0-f0", "$relationshipName": "contains" });
            graph.put_relationship(to, "c-b0-f0", body, &Precondition::None, NOW).expect("an allowed move");
            at = 1 - at;
            black_box(graph.depth_at(floor))
        })
    });
    let building = graph.slot(if at == 0 { "b0" } else { "b1" }).expect("the building exists");
    assert!(graph.is_within(floor, building), "the floor moved");
}

fn moves(c: &mut Criterion) {
    let mut small = Builder::build(10_000, 2);
    let twins = small.twin_count();
    move_floor(c, &mut small, &format!("move_floor_2000/twins_{}k", twins / 1000));
    drop(small);
    let mut large = Builder::build(1_000_000, 10);
    let twins = large.twin_count();
    move_floor(c, &mut large, &format!("move_floor_2000/twins_{}k", twins / 1000));
    // A tower: a building the moves left alone, with 10 floors, 20,010 twins below it.
    let tower = large.slot("b2").expect("a third building");
    let size = large.subtree_size_at(tower);
    c.bench_function(&format!("subtree_walk/descendants_{}k", size / 1000), |bench| {
        bench.iter(|| black_box(large.subtree_at(tower).count()))
    });
    let members: Vec<u32> = large.subtree_at(tower).collect();
    c.bench_function(&format!("is_within/descendants_{}k", size / 1000), |bench| {
        bench.iter(|| black_box(members.iter().filter(|&&slot| large.is_within(slot, tower)).count()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = moves
}
criterion_main!(benches);
