//! The DTDL conformance suites (`DTDL/v2/spec` and `DTDL/v3/spec`): every case parsed as one model with its options, its validity compared with the expected one.
//!
//! Prints the pass rate per version and per category; fails on any failure that is not in `test_data/conformance-known-failures.txt`, and on any listed failure that now passes (the list only shrinks).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use model::{Document, Options, Severity, UndefinedExtensions};
use serde_json::Value;

use crate::corpus::testdata;

const KNOWN_FAILURES: &str = include_str!("../../test_data/conformance-known-failures.txt");

#[test]
fn dtdl_v2_conformance() {
    check_version("v2", 6_624);
}

#[test]
fn dtdl_v3_conformance() {
    check_version("v3", 6_760);
}

/// The outcome of one case.
struct Trial {
    key: String,
    category: String,
    passed: bool,
    detail: String,
}

fn check_version(version: &str, expected_cases: usize) {
    let Some(root) = testdata("DTDL conformance suite") else { return };
    let dir = root.join("dtdl/DTDL").join(version).join("spec");
    let trials = run_suite(&dir);
    assert_eq!(trials.len(), expected_cases, "the {version} suite should have {expected_cases} cases");

    let known: BTreeSet<&str> = KNOWN_FAILURES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|k| k.starts_with(&format!("{version}/")))
        .collect();

    let mut per_category: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for t in &trials {
        let entry = per_category.entry(&t.category).or_default();
        entry.0 += usize::from(t.passed);
        entry.1 += 1;
    }
    let passed = trials.iter().filter(|t| t.passed).count();
    let rate = 100.0 * passed as f64 / trials.len() as f64;
    eprintln!("DTDL {version} conformance: {passed}/{} cases pass ({rate:.2}%)", trials.len());
    for (category, (p, n)) in &per_category {
        eprintln!("  {category:<16} {p:>5}/{n:<5} ({:.2}%)", 100.0 * *p as f64 / *n as f64);
    }

    let unexpected: Vec<&Trial> = trials.iter().filter(|t| !t.passed && !known.contains(t.key.as_str())).collect();
    let fixed: Vec<&str> = known.iter().copied().filter(|k| trials.iter().any(|t| t.passed && t.key == *k)).collect();
    for t in &unexpected {
        eprintln!("FAIL {} {}", t.key, t.detail);
    }
    assert!(rate >= 99.5, "DTDL {version}: {rate:.2}% of cases pass; at least 99.5% must");
    assert!(unexpected.is_empty(), "{} {version} cases fail that are not in the known-failures list", unexpected.len());
    assert!(fixed.is_empty(), "these known failures now pass; remove them from the list: {fixed:?}");
}

fn run_suite(dir: &Path) -> Vec<Trial> {
    let mut files: Vec<_> =
        fs::read_dir(dir).expect("read the conformance folder").filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    let mut trials = Vec::new();
    for path in files {
        let file = path.file_stem().and_then(|s| s.to_str()).expect("file names are UTF-8").to_owned();
        let category = file.split('-').next().unwrap_or_default().to_owned();
        let text = fs::read_to_string(&path).expect("read a conformance file");
        let cases: Value =
            serde_json::from_str(text.trim_start_matches('\u{feff}')).expect("conformance files are JSON");
        let version =
            path.parent().and_then(Path::parent).and_then(Path::file_name).and_then(|s| s.to_str()).unwrap_or_default();
        for (i, case) in cases.as_array().expect("a conformance file is an array").iter().enumerate() {
            let rule = file
                .split_once('-')
                .map(|(_, r)| r)
                .unwrap_or_default()
                .trim_end_matches(version.trim_start_matches('v'))
                .trim_end_matches('V');
            let (passed, detail) = check_case(case, rule);
            trials.push(Trial { key: format!("{version}/{file}#{i}"), category: category.clone(), passed, detail });
        }
    }
    trials
}

/// Whether a diagnostic's rule is the rule a case is about.
/// The specification states "prefer the term to the DTMI" for standard schema values once in general (`ValuePrimitiveSchemaTerm`, `ValueGeospatialSchemaTerm`) and again for each member that takes them (`ClassTelemetryPropertySchemaPreferTermToDtmi`); our diagnostic names the member, so it serves both.
fn same_rule(case_rule: &str, diagnostic_rule: &str) -> bool {
    case_rule.ends_with(diagnostic_rule)
        || (matches!(case_rule, "ValuePrimitiveSchemaTerm" | "ValueGeospatialSchemaTerm")
            && diagnostic_rule.ends_with("SchemaPreferTermToDtmi"))
}

/// Runs one case; returns whether it passed and, if not, what went wrong.
fn check_case(case: &Value, rule: &str) -> (bool, String) {
    let expect_valid = case["valid"].as_bool().expect("each case says whether it is valid");
    let options = case["options"].as_array().map(Vec::as_slice).unwrap_or_default();
    let undefined_extensions = if options.iter().any(|o| o == "AllowUndefinedExtensions") {
        UndefinedExtensions::Allow
    } else if options.iter().any(|o| o == "DisallowUndefinedExtensions") {
        UndefinedExtensions::Disallow
    } else {
        UndefinedExtensions::VersionDefault
    };
    let documents: Vec<Document> = case["input"]
        .as_array()
        .expect("each case has input documents")
        .iter()
        .enumerate()
        .map(|(i, v)| Document { name: format!("input{i}.json"), text: v.to_string() })
        .collect();
    let outcome = model::parse(&documents, &Options { undefined_extensions });
    let errors: Vec<String> =
        outcome.diagnostics.iter().filter(|d| d.severity == Severity::Error).map(ToString::to_string).collect();
    // A warning for the rule of this case: the diagnostic's rule name ends the case's rule name (`ClassArrayTypeDuplicatesMaterial` ends with `TypeDuplicatesMaterial`).
    let warned = outcome
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Warning && d.rule.as_deref().is_some_and(|r| same_rule(rule, r)));

    if let Some(expected) = case.pointer("/expect/unresolvedIdentifiers").and_then(Value::as_array) {
        let expected: BTreeSet<&str> = expected.iter().filter_map(Value::as_str).collect();
        let actual: BTreeSet<&str> = outcome.unresolved.iter().map(String::as_str).collect();
        if expected != actual {
            return (false, format!("unresolved {actual:?}, expected {expected:?}; errors {errors:?}"));
        }
        return (true, String::new());
    }
    if expect_valid != outcome.is_valid() {
        let why = if expect_valid {
            format!("rejected: {errors:?} unresolved {:?}", outcome.unresolved)
        } else {
            "accepted".to_owned()
        };
        return (false, format!("{why} input {}", case["input"]));
    }
    if case["desirable"] == Value::Bool(false) && !warned {
        let given: Vec<String> = outcome.diagnostics.iter().map(ToString::to_string).collect();
        return (
            false,
            format!("valid but undesirable, and no warning for {rule} was given ({given:?}); input {}", case["input"]),
        );
    }
    (true, String::new())
}
