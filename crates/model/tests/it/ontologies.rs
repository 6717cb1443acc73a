//! Real model sets load as one set each with no errors: the RealEstateCore ontology (DTDL v3 and v2) and the sample models of `../shared/testdata/graphs`.
//!
//! Counts of interfaces and contents are computed independently here, by walking the JSON text, and compared with what the engine resolved.

use std::fs;
use std::path::{Path, PathBuf};

use model::set::ContentKind;
use model::{Document, Options, Severity};
use serde_json::Value;

use crate::corpus::testdata;

#[test]
fn realestatecore_v3_loads_as_one_set() {
    let Some(root) = testdata("RealEstateCore v3") else { return };
    check_ontology(&root.join("ontologies/realestatecore/dtdl-v3"), 768);
}

#[test]
fn realestatecore_v2_loads_as_one_set() {
    let Some(root) = testdata("RealEstateCore v2") else { return };
    check_ontology(&root.join("ontologies/realestatecore/dtdl-v2"), 768);
}

/// Every DTDL model file of the sample graphs loads with no errors; a file that depends on models defined in other files of its folder is loaded together with those files.
#[test]
fn sample_graph_models_load() {
    let Some(root) = testdata("sample graph models") else { return };
    let files: Vec<(PathBuf, String)> = json_files(&root.join("graphs"))
        .into_iter()
        .filter_map(|p| {
            let text = fs::read_to_string(&p).ok()?;
            is_dtdl(&text).then_some((p, text))
        })
        .collect();
    assert!(files.len() >= 40, "expected many sample model files, found {}", files.len());
    for (path, text) in &files {
        let mut documents = vec![Document { name: path.display().to_string(), text: text.clone() }];
        let mut outcome = model::parse(&documents, &Options::default());
        // Bring in, from the same folder, the files that define what this one references.
        let mut rounds = 0;
        while !outcome.unresolved.is_empty() && rounds < 10 {
            rounds += 1;
            for missing in &outcome.unresolved {
                let provider = files.iter().find(|(p, t)| p.parent() == path.parent() && top_ids(t).contains(missing));
                if let Some((p, t)) = provider
                    && !documents.iter().any(|d| d.name == p.display().to_string())
                {
                    documents.push(Document { name: p.display().to_string(), text: t.clone() });
                }
            }
            outcome = model::parse(&documents, &Options::default());
        }
        let errors: Vec<String> = outcome
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| format!("{}: {d}", documents[d.document].name))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        assert!(outcome.unresolved.is_empty(), "{}: unresolved {:?}", path.display(), outcome.unresolved);
        let expected = documents.iter().map(|d| count_json(&d.text).interfaces).sum::<usize>();
        assert_eq!(outcome.set.len(), expected, "{}", path.display());
    }
}

/// The `@id`s of the top-level elements of a document.
fn top_ids(text: &str) -> Vec<String> {
    let value: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).unwrap_or(Value::Null);
    let tops = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    tops.iter().filter_map(|t| t["@id"].as_str().map(str::to_owned)).collect()
}

fn check_ontology(dir: &Path, interfaces: usize) {
    let documents: Vec<Document> = json_files(dir)
        .into_iter()
        .map(|p| Document {
            name: p.display().to_string(),
            text: fs::read_to_string(&p).expect("read an ontology file"),
        })
        .filter(|d| is_dtdl(&d.text))
        .collect();
    let outcome = model::parse(&documents, &Options::default());
    let errors: Vec<String> = outcome
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}: {d}", documents[d.document].name))
        .take(20)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(outcome.unresolved.is_empty(), "unresolved: {:?}", outcome.unresolved);
    assert!(outcome.is_valid());

    let expected = documents.iter().map(|d| count_json(&d.text)).fold(Counts::default(), Counts::add);
    let mut actual = Counts::default();
    for interface in outcome.set.interfaces() {
        actual.interfaces += 1;
        for content in &interface.contents {
            match content.kind {
                ContentKind::Property { .. } => actual.properties += 1,
                ContentKind::Relationship { .. } => actual.relationships += 1,
                ContentKind::Component { .. } => actual.components += 1,
                ContentKind::Telemetry { .. } => actual.telemetries += 1,
                ContentKind::Command { .. } => actual.commands += 1,
            }
        }
    }
    eprintln!("{}: {actual:?}", dir.display());
    assert_eq!(actual, expected);
    assert_eq!(actual.interfaces, interfaces);
}

#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
struct Counts {
    interfaces: usize,
    properties: usize,
    relationships: usize,
    components: usize,
    telemetries: usize,
    commands: usize,
}

impl Counts {
    fn add(self, o: Counts) -> Counts {
        Counts {
            interfaces: self.interfaces + o.interfaces,
            properties: self.properties + o.properties,
            relationships: self.relationships + o.relationships,
            components: self.components + o.components,
            telemetries: self.telemetries + o.telemetries,
            commands: self.commands + o.commands,
        }
    }
}

/// Counts top-level interfaces and the classes of their direct `contents`, straight from the JSON.
fn count_json(text: &str) -> Counts {
    let value: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).expect("ontology files are JSON");
    let tops = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut c = Counts::default();
    for top in &tops {
        if !has_type(top, "Interface") {
            continue;
        }
        c.interfaces += 1;
        let contents = match &top["contents"] {
            Value::Array(items) => items.clone(),
            Value::Null => Vec::new(),
            other => vec![other.clone()],
        };
        for item in &contents {
            for (class, slot) in [
                ("Property", &mut c.properties),
                ("Relationship", &mut c.relationships),
                ("Component", &mut c.components),
                ("Telemetry", &mut c.telemetries),
                ("Command", &mut c.commands),
            ] {
                if has_type(item, class) {
                    *slot += 1;
                }
            }
        }
    }
    c
}

fn has_type(value: &Value, class: &str) -> bool {
    match &value["@type"] {
        Value::String(s) => s == class,
        Value::Array(items) => items.iter().any(|t| t == class),
        _ => false,
    }
}

/// Whether a JSON text is DTDL: an object or array of objects with a DTDL `@context`.
fn is_dtdl(text: &str) -> bool {
    let Ok(value) = serde_json::from_str::<Value>(text.trim_start_matches('\u{feff}')) else { return false };
    let first = match &value {
        Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    let context = first["@context"].to_string();
    context.contains("dtmi:dtdl:context;")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
