//! DTDL fixtures with their expected diagnostics: `test_data/dtdl/{valid,invalid}/*.dtdl-test`, each holding several JSON documents introduced by `//- name.json` lines, with the rendered diagnostics in a sibling `.diagnostics` snapshot.
//!
//! `UPDATE_EXPECT=1 cargo test` rewrites the snapshots; a missing snapshot is written on the first run (and is an error under CI), and the diff is reviewed like code.

use std::fs;
use std::path::{Path, PathBuf};

use model::{Document, Options};

#[test]
fn valid_fixtures_have_no_errors() {
    check_folder("valid", true);
}

#[test]
fn invalid_fixtures_report_their_errors() {
    check_folder("invalid", false);
}

fn check_folder(kind: &str, expect_valid: bool) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test_data/dtdl").join(kind);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("read the fixture folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "dtdl-test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    let mut mismatches = Vec::new();
    for file in files {
        let documents = split(&fs::read_to_string(&file).expect("read a fixture"));
        let outcome = model::parse(&documents, &Options::default());
        assert_eq!(outcome.is_valid(), expect_valid, "{}: {:#?}", file.display(), outcome.diagnostics);
        let mut rendered: Vec<String> = outcome
            .diagnostics
            .iter()
            .map(|d| {
                format!(
                    "{} {} {}#{}: {}",
                    d.code,
                    d.severity.as_str(),
                    documents[d.document].name,
                    d.pointer,
                    d.message
                )
            })
            .collect();
        rendered.extend(outcome.unresolved.iter().map(|u| format!("unresolved {u}")));
        let actual = rendered.join("\n") + "\n";
        if let Some(problem) = compare_snapshot(&file.with_extension("diagnostics"), &actual) {
            mismatches.push(problem);
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
}

/// Splits a fixture into documents at `//- name.json` lines.
fn split(text: &str) -> Vec<Document> {
    let mut documents: Vec<Document> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("//- ") {
            documents.push(Document { name: name.trim().to_owned(), text: String::new() });
        } else if let Some(current) = documents.last_mut() {
            current.text.push_str(line);
            current.text.push('\n');
        }
    }
    documents
}

fn compare_snapshot(path: &Path, actual: &str) -> Option<String> {
    let update = std::env::var("UPDATE_EXPECT").is_ok_and(|v| v == "1");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    match fs::read_to_string(path) {
        Ok(expected) if expected == actual => None,
        Ok(_) | Err(_) if update => {
            fs::write(path, actual).expect("write a snapshot");
            None
        }
        Err(_) if !ci => {
            fs::write(path, actual).expect("write a new snapshot");
            None
        }
        Ok(expected) => {
            Some(format!("{}: snapshot differs\n--- expected\n{expected}--- actual\n{actual}", path.display()))
        }
        Err(_) => Some(format!("{}: snapshot missing under CI", path.display())),
    }
}
