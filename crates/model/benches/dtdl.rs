//! DTDL parse-and-validate benchmarks: the RealEstateCore ontology (v3 and v2) parsed as one model set each, and the DTDL v3 conformance suite parsed case by case.
//!
//! Inputs come from `../shared/testdata` beside the repository and are read once, outside the timed loop; the size is part of each benchmark name.
//! When the shared test data is absent the bench says so loudly and registers no benchmarks.

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use model::{Document, Options, UndefinedExtensions};
use serde_json::Value;

/// One conformance case, ready to parse: its documents and its options.
struct Case {
    documents: Vec<Document>,
    options: Options,
}

/// The shared test data folder, or `None` (after saying so loudly) when it is absent.
fn testdata() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata");
    if root.is_dir() {
        return Some(root);
    }
    eprintln!("==================================================================");
    eprintln!("SKIPPED: DTDL benchmarks: shared test data not found at {}", root.display());
    eprintln!("(expected ../shared beside the repository); no benchmarks registered");
    eprintln!("==================================================================");
    None
}

/// Every `*.json` file under `dir`, recursively, sorted by path.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Every `*.json` file under `dir` as one document each.
fn read_folder(dir: &Path) -> Vec<Document> {
    json_files(dir)
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).expect("read an ontology file");
            Document { name: path.display().to_string(), text }
        })
        .collect()
}

/// Every case of the conformance files in `dir`, each input element as its own document.
fn read_conformance(dir: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for path in json_files(dir) {
        let text = fs::read_to_string(&path).expect("read a conformance file");
        let file: Value =
            serde_json::from_str(text.trim_start_matches('\u{feff}')).expect("conformance files are JSON");
        for case in file.as_array().expect("a conformance file is an array") {
            let options = case["options"].as_array().map(Vec::as_slice).unwrap_or_default();
            let undefined_extensions = if options.iter().any(|o| o == "AllowUndefinedExtensions") {
                UndefinedExtensions::Allow
            } else if options.iter().any(|o| o == "DisallowUndefinedExtensions") {
                UndefinedExtensions::Disallow
            } else {
                UndefinedExtensions::VersionDefault
            };
            let documents = case["input"]
                .as_array()
                .expect("each case has input documents")
                .iter()
                .enumerate()
                .map(|(i, v)| Document {
                    name: format!("input{i}.json"),
                    text: serde_json::to_string(v).expect("JSON values serialize"),
                })
                .collect();
            cases.push(Case { documents, options: Options { undefined_extensions } });
        }
    }
    cases
}

fn parse_validate(c: &mut Criterion) {
    let Some(root) = testdata() else { return };
    let mut group = c.benchmark_group("parse_validate");
    group.sample_size(20).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(8));

    for version in ["v3", "v2"] {
        let documents = read_folder(&root.join("ontologies/realestatecore").join(format!("dtdl-{version}")));
        let interfaces = model::parse(&documents, &Options::default()).set.len();
        let name = format!("realestatecore_{version}_{interfaces}_interfaces");
        group.bench_function(name, |b| b.iter(|| model::parse(black_box(&documents), &Options::default())));
    }

    let cases = read_conformance(&root.join("dtdl/DTDL/v3/spec"));
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.bench_function(format!("conformance_v3_{}_cases", cases.len()), |b| {
        b.iter(|| {
            for case in &cases {
                black_box(model::parse(black_box(&case.documents), &case.options));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, parse_validate);
criterion_main!(benches);
