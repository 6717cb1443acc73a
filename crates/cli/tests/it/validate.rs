//! `twinscape models validate`: which files make the model set, the exit codes, the JSON report's shape and the human summary line.

use serde_json::{Value, json};

use crate::{THERMOSTAT_V3, fixture, repository, run};

/// Validates `paths` in `dir` with `--json`, checks the report's shape and returns the exit code and the report.
fn check_json(dir: &std::path::Path, args: &[&str]) -> (i32, Value) {
    let mut full = vec!["models", "validate", "--json"];
    full.extend_from_slice(args);
    let run = run(dir, &full);
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("report is JSON ({e}): {}\nstderr: {}", run.stdout, run.stderr));
    assert_report_shape(&report);
    (run.code, report)
}

/// Validates `args` in `dir` without `--json` and returns the exit code and the last line (the summary).
fn check_summary(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let mut full = vec!["models", "validate"];
    full.extend_from_slice(args);
    let run = run(dir, &full);
    let summary = run.stdout.lines().last().unwrap_or_default().to_owned();
    (run.code, summary)
}

fn assert_report_shape(report: &Value) {
    let keys: Vec<&str> = report.as_object().expect("report is an object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["valid", "incomplete", "diagnostics"]);
    assert!(report["valid"].is_boolean());
    assert!(report["incomplete"].as_array().expect("incomplete is a list").iter().all(Value::is_string));
    for diagnostic in report["diagnostics"].as_array().expect("diagnostics is a list") {
        let keys: Vec<&str> =
            diagnostic.as_object().expect("diagnostic is an object").keys().map(String::as_str).collect();
        assert_eq!(keys, ["code", "rule", "severity", "document", "pointer", "message"]);
        assert!(diagnostic["code"].as_str().is_some_and(|c| c.starts_with("DTDL")), "{diagnostic}");
        assert!(diagnostic["rule"].is_string() || diagnostic["rule"].is_null(), "{diagnostic}");
        assert!(matches!(diagnostic["severity"].as_str(), Some("error" | "warning")), "{diagnostic}");
        assert!(
            diagnostic["document"].is_string()
                && diagnostic["pointer"].is_string()
                && diagnostic["message"].is_string(),
            "{diagnostic}"
        );
    }
}

fn errors_in<'a>(report: &'a Value, document: &str) -> Vec<&'a Value> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics is a list")
        .iter()
        .filter(|d| d["document"] == document && d["severity"] == "error")
        .collect()
}

#[test]
fn valid_v3_interface_exits_0() {
    let dir = fixture("valid_v3_interface_exits_0", &[("thermostat.json", THERMOSTAT_V3.as_bytes())]);
    let (code, report) = check_json(&dir, &["thermostat.json"]);
    assert_eq!(report, json!({"valid": true, "incomplete": [], "diagnostics": []}));
    assert_eq!(code, 0);
}

#[test]
fn valid_v3_interface_summary() {
    let dir = fixture("valid_v3_interface_summary", &[("thermostat.json", THERMOSTAT_V3.as_bytes())]);
    let (code, summary) = check_summary(&dir, &["thermostat.json"]);
    assert_eq!(summary, "1 document, 1 interface, 0 errors, 0 warnings; valid");
    assert_eq!(code, 0);
}

#[test]
fn invalid_id_exits_1_with_an_error_in_its_document() {
    let bad = THERMOSTAT_V3.replace("dtmi:example:Thermostat;1", "not a dtmi");
    let dir = fixture(
        "invalid_id",
        &[
            ("models/good.json", THERMOSTAT_V3.replace("Thermostat", "Other").as_bytes()),
            ("models/bad.json", bad.as_bytes()),
        ],
    );
    let (code, report) = check_json(&dir, &["models"]);
    assert_eq!(report["valid"], false);
    assert!(!errors_in(&report, "models/bad.json").is_empty(), "{report:#}");
    assert!(errors_in(&report, "models/good.json").is_empty(), "{report:#}");
    assert_eq!(code, 1);
    let (code, summary) = check_summary(&dir, &["models"]);
    assert!(summary.starts_with("2 documents, 1 interface, ") && summary.ends_with("; invalid"), "{summary}");
    assert_eq!(code, 1);
}

#[test]
fn missing_base_interface_is_incomplete() {
    let room = r#"{
      "@context": "dtmi:dtdl:context;3",
      "@id": "dtmi:example:Room;1",
      "@type": "Interface",
      "extends": "dtmi:example:Missing;1"
    }"#;
    let dir = fixture("missing_base_interface_is_incomplete", &[("room.json", room.as_bytes())]);
    let (code, report) = check_json(&dir, &["room.json"]);
    assert_eq!(report["valid"], false);
    assert_eq!(report["incomplete"], json!(["dtmi:example:Missing;1"]));
    assert_eq!(code, 1);
    let (code, summary) = check_summary(&dir, &["room.json"]);
    assert!(summary.ends_with("; incomplete: missing dtmi:example:Missing;1"), "{summary}");
    assert_eq!(code, 1);
}

#[test]
fn folders_are_searched_recursively_in_sorted_order() {
    let space = r#"{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:example:Space;1", "@type": "Interface"}"#;
    let room = r#"{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:example:Room;1", "@type": "Interface", "extends": "dtmi:example:Space;1"}"#;
    let dir = fixture(
        "folders_are_searched_recursively",
        &[
            ("models/b/c/room.json", room.as_bytes()),
            ("models/a/space.JSON", space.as_bytes()),
            ("models/notes.txt", b"not a model"),
            ("extra/thermostat.json", THERMOSTAT_V3.as_bytes()),
        ],
    );
    // `models/a/space.JSON` is also reached through the folder; it counts once.
    let run = run(&dir, &["models", "validate", "models", "extra/thermostat.json", "models/a/space.JSON"]);
    assert_eq!(
        run.stdout,
        "models/a/space.JSON: ok\nmodels/b/c/room.json: ok\nextra/thermostat.json: ok\n3 documents, 3 interfaces, 0 errors, 0 warnings; valid\n"
    );
    assert_eq!(run.code, 0);
}

#[test]
fn byte_order_mark_is_ignored() {
    let text = format!("\u{feff}{THERMOSTAT_V3}");
    let dir = fixture("byte_order_mark_is_ignored", &[("thermostat.json", text.as_bytes())]);
    let (code, summary) = check_summary(&dir, &["thermostat.json"]);
    assert_eq!(summary, "1 document, 1 interface, 0 errors, 0 warnings; valid");
    assert_eq!(code, 0);
}

#[test]
fn undefined_extensions_follow_the_flags() {
    // From the DTDL v3 conformance case `Completion-ClassInterfacePropertyUndefinedTermV3`.
    let text = r#"{
      "@context": ["dtmi:dtdl:context;3", "dtmi:undefinedExtension:context;1"],
      "@id": "dtmi:example:fuddle_chi;1",
      "@type": ["Interface", "Foobar"],
      "foobar": {}
    }"#;
    let dir = fixture("undefined_extensions_follow_the_flags", &[("model.json", text.as_bytes())]);
    let valid = |flags: &[&str]| {
        let mut args = flags.to_vec();
        args.push("model.json");
        let (code, report) = check_json(&dir, &args);
        assert_eq!(report["valid"] == true, code == 0, "{report:#}");
        report["valid"] == true
    };
    // DTDL v3 rejects undefined extensions unless told otherwise.
    assert!(!valid(&[]));
    assert!(!valid(&["--disallow-undefined-extensions"]));
    assert!(valid(&["--allow-undefined-extensions"]));
}

#[test]
fn repository_examples_are_valid() {
    let run = run(&repository(), &["models", "validate", "crates/model/test_data/examples"]);
    assert_eq!(
        run.stdout,
        "crates/model/test_data/examples/room.json: ok\n\
         crates/model/test_data/examples/space.json: ok\n\
         crates/model/test_data/examples/thermostat.json: ok\n\
         3 documents, 3 interfaces, 0 errors, 0 warnings; valid\n"
    );
    assert_eq!(run.code, 0);
}

#[test]
fn file_that_is_not_utf8_exits_2_naming_it() {
    let dir = fixture("file_that_is_not_utf8", &[("models/latin1.json", b"{\"displayName\": \"caf\xe9\"}")]);
    let run = run(&dir, &["models", "validate", "models"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("models/latin1.json") && run.stderr.contains("UTF-8"), "{}", run.stderr);
}

#[test]
fn missing_path_exits_2() {
    let dir = fixture("missing_path_exits_2", &[]);
    let run = run(&dir, &["models", "validate", "nowhere.json"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.starts_with("error: read model path nowhere.json: "), "{}", run.stderr);
}

#[test]
fn folder_without_models_exits_2() {
    let dir = fixture("folder_without_models_exits_2", &[("models/readme.txt", b"nothing here")]);
    let run = run(&dir, &["models", "validate", "models"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no *.json file in models"), "{}", run.stderr);
}

#[test]
fn usage_errors_exit_2() {
    let dir = fixture("usage_errors_exit_2", &[("thermostat.json", THERMOSTAT_V3.as_bytes())]);
    let both = run(
        &dir,
        &["models", "validate", "--allow-undefined-extensions", "--disallow-undefined-extensions", "thermostat.json"],
    );
    assert_eq!(both.code, 2, "{}", both.stderr);
    let nothing = run(&dir, &["models", "validate"]);
    assert_eq!(nothing.code, 2, "{}", nothing.stderr);
}
