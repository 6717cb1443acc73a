//! `twinscape models show`: the resolved view of one interface, as a table and as JSON, and the exit codes when it cannot be shown faithfully.

use expect_test::{Expect, expect};
use serde_json::Value;

use crate::{fixture, repository, run};

/// Shows `dtmi` from the repository's example models and compares standard output with `expect`.
fn check_examples(dtmi: &str, json: bool, expect: Expect) {
    let mut args = vec!["models", "show", dtmi, "crates/model/test_data/examples"];
    if json {
        args.push("--json");
    }
    let run = run(&repository(), &args);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    if json {
        expect.assert_eq(&contents_summary(&run.stdout));
    } else {
        expect.assert_eq(&run.stdout);
    }
}

/// The JSON view in a few lines: the interface, then one line per content.
fn contents_summary(stdout: &str) -> String {
    let view: Value = serde_json::from_str(stdout).unwrap_or_else(|e| panic!("show prints JSON ({e}): {stdout}"));
    let list = |value: &Value| {
        value.as_array().expect("a list").iter().map(|v| v.as_str().expect("a string")).collect::<Vec<_>>().join(", ")
    };
    let mut out = format!(
        "{} v{} in {}\nextends: {}\nlineage: {}\n",
        view["id"].as_str().expect("id"),
        view["version"],
        view["document"].as_str().expect("document"),
        list(&view["extends"]),
        list(&view["lineage"]),
    );
    for content in view["contents"].as_array().expect("contents") {
        out.push_str(&format!(
            "{} {}: {} writable={} semantic=[{}] unit={} from {}\n",
            content["class"].as_str().expect("class"),
            content["name"].as_str().expect("name"),
            content["schema"].as_str().expect("schema"),
            content["writable"],
            list(&content["semantic_types"]),
            content["unit"],
            content["origin"].as_str().expect("origin"),
        ));
    }
    out
}

#[test]
fn room_with_inherited_contents_as_json() {
    check_examples(
        "dtmi:example:building:Room;1",
        true,
        expect![[r#"
            dtmi:example:building:Room;1 v3 in crates/model/test_data/examples/room.json
            extends: dtmi:example:building:Space;1
            lineage: dtmi:example:building:Room;1, dtmi:example:building:Space;1
            Property occupancy: Enum<string>{free,occupied} writable=false semantic=[] unit=null from dtmi:example:building:Room;1
            Component thermostat: dtmi:example:building:Thermostat;1 writable=false semantic=[] unit=null from dtmi:example:building:Room;1
            Property name: string writable=true semantic=[] unit=null from dtmi:example:building:Space;1
            Property address: Object{street: string, city: string} writable=false semantic=[] unit=null from dtmi:example:building:Space;1
            Property tags: Array<string> writable=true semantic=[] unit=null from dtmi:example:building:Space;1
            Relationship contains: -> dtmi:example:building:Space;1 writable=false semantic=[] unit=null from dtmi:example:building:Space;1
        "#]],
    );
}

#[test]
fn thermostat_as_table() {
    check_examples(
        "dtmi:example:building:Thermostat;1",
        false,
        expect![[r#"
            interface     dtmi:example:building:Thermostat;1
            version       DTDL v3
            document      crates/model/test_data/examples/thermostat.json
            display name  Thermostat
            extends       -
            lineage       dtmi:example:building:Thermostat;1

            class      name         schema  notes                                 origin
            Telemetry  temperature  double  Temperature, degreeCelsius            dtmi:example:building:Thermostat;1
            Property   setpoint     double  Temperature, degreeCelsius, writable  dtmi:example:building:Thermostat;1
        "#]],
    );
}

#[test]
fn unknown_interface_exits_1() {
    let run =
        run(&repository(), &["models", "show", "dtmi:example:building:Nowhere;1", "crates/model/test_data/examples"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("dtmi:example:building:Nowhere;1 is not defined in the given model files"),
        "{}",
        run.stderr
    );
}

#[test]
fn incomplete_set_is_shown_but_exits_1() {
    let room = r#"{"@context": "dtmi:dtdl:context;3", "@id": "dtmi:example:Room;1", "@type": "Interface", "extends": "dtmi:example:Missing;1"}"#;
    let dir = fixture("incomplete_set_is_shown_but_exits_1", &[("room.json", room.as_bytes())]);
    let run = run(&dir, &["models", "show", "dtmi:example:Room;1", "room.json"]);
    assert!(run.stdout.starts_with("interface  dtmi:example:Room;1\n"), "{}", run.stdout);
    assert!(run.stderr.starts_with("warning: the model set is not valid and complete"), "{}", run.stderr);
    assert_eq!(run.code, 1);
}

#[test]
fn malformed_dtmi_exits_2() {
    let run = run(&repository(), &["models", "show", "Room", "crates/model/test_data/examples"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("`Room` is not a DTMI"), "{}", run.stderr);
}
