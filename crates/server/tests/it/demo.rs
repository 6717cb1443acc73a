//! `--demo`: the occupancy sample, alive. The demo building loads over the built-in models, so it is one building to the data plane, `POST /query` and the 2018 management face; each room's simulated device reports through the telemetry pipeline, the availability function sets the rooms' `AvailableAndFresh`, and events flow.
//!
//! The demo's devices report every two seconds, the first time as soon as they are provisioned, so each test polls (within `WAIT_MAX`) for what the first readings make.
//! The README's queries are run here as the README shows them, so the quick start cannot drift from what the server answers.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{TestServer, start_shipped_configured};

const BASE: &str = "/management/api/v1.0";

/// How long a test waits for what the demo's first readings make.
const WAIT_MAX: Duration = Duration::from_secs(15);

/// The demo's function, as the server ships it.
const AVAILABILITY: &str = include_str!("../../demo/availability.js");

/// The README, whose demo queries must answer.
const README: &str = include_str!("../../../../README.md");

#[tokio::test]
async fn the_demo_building_is_the_same_through_both_faces() {
    let server = start_demo(tempfile::tempdir().expect("a data directory")).await;
    let names = |list: Value| -> Vec<String> {
        list.as_array()
            .expect("a list")
            .iter()
            .map(|o| format!("{} ({})", o["name"].as_str().unwrap_or("?"), o["type"].as_str().unwrap_or("?")))
            .collect()
    };
    let spaces =
        get(&server, &format!("{BASE}/spaces?spaceId=demo-building&traverse=Down&maxLevel=2&includes=types")).await;
    assert_eq!(names(spaces), ["Harbour House (Building)", "Floor 1 (Floor)", "Floor 2 (Floor)"]);
    let rooms = get(
        &server,
        &format!("{BASE}/spaces?spaceId=demo-floor-2&traverse=Down&minLevel=1&minRelative=true&includes=types"),
    )
    .await;
    assert_eq!(names(rooms), ["Room 201 (Room)", "Room 202 (Room)", "Room 203 (Room)", "Room 204 (Room)"]);
    // Each room's device and its sensors, under the room as the 2018 face expects them; the demo provisions the rooms one after another.
    wait_for(&server, "the demo's devices", async |server| {
        let devices = get(server, &format!("{BASE}/devices?spaceId=demo-building&traverse=Down")).await;
        (devices.as_array().map(Vec::len) == Some(8)).then_some(())
    })
    .await;
    let devices = get(&server, &format!("{BASE}/devices?spaceId=demo-room-101&includes=sensors,sensorstypes")).await;
    let device = &devices[0];
    assert_eq!(
        (device["name"].as_str(), device["hardwareId"].as_str()),
        (Some("Raspberry Pi 101"), Some("02:7D:00:00:01:01"))
    );
    let mut sensors: Vec<String> = device["sensors"]
        .as_array()
        .expect("the device's sensors")
        .iter()
        .map(|s| format!("{} {}", s["dataType"].as_str().unwrap_or("?"), s["hardwareId"].as_str().unwrap_or("?")))
        .collect();
    sensors.sort();
    assert_eq!(
        sensors,
        ["CarbonDioxide SENSOR_CARBONDIOXIDE_101", "Motion SENSOR_MOTION_101", "Temperature SENSOR_TEMPERATURE_101"]
    );
    // The same objects are twins to the query language.
    let count = query(
        &server,
        "SELECT COUNT() FROM DIGITALTWINS T WHERE IN_SPACE(T, 'demo-building') AND IS_OF_MODEL(T, 'dtmi:twinscape:Sensor;1')",
    )
    .await;
    assert_eq!(count, json!([{"COUNT": 24}]));
    server.stop().await;
}

#[tokio::test]
async fn the_rooms_change_state_from_their_devices_readings() {
    let server = start_demo(tempfile::tempdir().expect("a data directory")).await;
    // The availability function sets each room's value from its motion and CO2 readings.
    let availability = wait_for(&server, "room 101's AvailableAndFresh", async |server| {
        let values = get(server, &format!("{BASE}/spaces/demo-room-101/values")).await;
        let value = values.as_array()?.iter().find(|v| v["type"] == "AvailableAndFresh")?.clone();
        Some(value)
    })
    .await;
    let text = availability["value"].as_str().expect("a text value");
    assert!(
        ["Room is available and air is fresh", "Room is not available or air quality is poor"].contains(&text),
        "{availability}"
    );
    // Its sensors have plausible values.
    let sensors = wait_for(&server, "room 101's sensor values", async |server| {
        let sensors = get(server, &format!("{BASE}/sensors?spaceId=demo-room-101&includes=value,types")).await;
        let all = sensors.as_array()?;
        (all.len() == 3 && all.iter().all(|s| s["value"]["value"].is_string())).then(|| all.clone())
    })
    .await;
    for sensor in &sensors {
        let value = sensor["value"]["value"].as_str().expect("a value");
        let plausible = match sensor["dataType"].as_str() {
            Some("Motion") => value == "true" || value == "false",
            Some("CarbonDioxide") => value.parse::<f64>().is_ok_and(|ppm| (400.0..=2500.0).contains(&ppm)),
            Some("Temperature") => value.parse::<f64>().is_ok_and(|c| (18.0..=26.0).contains(&c)),
            _ => false,
        };
        assert!(plausible, "{sensor}");
    }
    // The readings and what the function made of them are events; rooms that start occupied are announced.
    let seen = wait_for(&server, "every kind of event the pipeline raises", async |server| {
        let kinds = event_types(server).await;
        let wanted = ["DeviceMessage", "SensorChange", "SpaceChange", "UdfCustom"];
        wanted.iter().all(|w| kinds.iter().any(|k| k == w)).then_some(kinds)
    })
    .await;
    assert!(!seen.iter().any(|k| k == "UdfFailed"), "the function does not fail: {seen:?}");
    // A CO2 sensor reports every tick, so its value moves on.
    let co2 = async |server: &TestServer| {
        let sensors = get(server, &format!("{BASE}/sensors?spaceId=demo-room-102&includes=value,types")).await;
        let sensors = sensors.as_array().cloned().unwrap_or_default();
        let sensor = sensors.iter().find(|s| s["dataType"] == "CarbonDioxide").cloned().unwrap_or_default();
        sensor["value"]["timestamp"].as_str().map(str::to_owned)
    };
    let first = wait_for(&server, "room 102's CO2", async |server| co2(server).await).await;
    wait_for(&server, "a later CO2 reading", async |server| co2(server).await.filter(|t| *t != first)).await;
    // Every value is kept as history.
    let history = get(
        &server,
        &format!(
            "{BASE}/spaces/demo-room-101/sensors/history/aggregate?dataType=CarbonDioxide&interval=PT1H&functions=max"
        ),
    )
    .await;
    assert!(history.to_string().contains("max"), "{history}");
    server.stop().await;
}

#[tokio::test]
async fn every_query_the_readme_shows_answers_on_the_demo() {
    let server = start_demo(tempfile::tempdir().expect("a data directory")).await;
    // The queries read the rooms' values, so they wait for the function's first runs.
    wait_for(&server, "every room's AvailableAndFresh", async |server| {
        let rows = query(server, "SELECT R.$dtId FROM DIGITALTWINS R WHERE IS_OF_MODEL(R, 'dtmi:twinscape:demo:Room;1') AND IS_DEFINED(R.values.AvailableAndFresh)").await;
        (rows.as_array().map(Vec::len) == Some(8)).then_some(())
    })
    .await;
    let queries = readme_queries();
    assert!(queries.len() >= 7, "the README shows its queries as `q \"…\"` lines: {queries:?}");
    for text in queries {
        let rows = query(&server, &text).await;
        assert!(rows.as_array().is_some_and(|r| !r.is_empty()), "the README's query answers no rows: {text}\n{rows}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_second_start_on_the_same_data_adds_nothing() {
    let server = start_demo(tempfile::tempdir().expect("a data directory")).await;
    wait_for(&server, "the demo's first readings", async |server| {
        event_types(server).await.iter().any(|k| k == "SpaceChange").then_some(())
    })
    .await;
    let before = inventory(&server).await;
    let cursor = event_cursor(&server).await;
    let data = server.stop_keeping_data().await;
    let server = start_demo(data).await;
    // The demo of the second start is running once its devices report again.
    wait_for(&server, "readings after the restart", async |server| {
        let page = get(server, &format!("/events?cursor={cursor}&limit=1000")).await;
        page["value"].as_array()?.iter().any(|e| e["eventType"] == "DeviceMessage").then_some(())
    })
    .await;
    let after = inventory(&server).await;
    assert_eq!(after, before);
    // Nothing is sent again that agrees already: the function's script keeps its first version.
    let function = demo_function(&server).await;
    let id = function["id"].as_str().expect("the function's id");
    let shown = get(&server, &format!("{BASE}/userdefinedfunctions/{id}?includes=contentinfo")).await;
    assert_eq!(shown["contentInfo"]["version"], "1", "{shown}");
    expect_test::expect![[r#"
        twins 43
        rooms 8
        devices 8
        sensors 24
        resources 1
        matchers 2
        userdefinedfunctions 1
        roleassignments 1"#]]
    .assert_eq(&after);
    server.stop().await;
}

#[tokio::test]
async fn a_matcher_deleted_by_hand_is_made_again_and_the_function_follows_it() {
    // The demo used to give an existing function the shipped matchers only when its script differed, so a matcher deleted by hand and made again at the next start (with a new id) was never listed again and its readings ran nothing.
    let server = start_demo(tempfile::tempdir().expect("a data directory")).await;
    wait_for(&server, "the function with both matchers", async |server| {
        (function_matchers(server).await.len() == 2).then_some(())
    })
    .await;
    let motion = get(&server, &format!("{BASE}/matchers?spaceId=demo-building&names=Matcher%20Motion")).await;
    let deleted = motion[0]["id"].as_str().expect("the demo's motion matcher").to_owned();
    let reply = server.send("DELETE", &format!("{BASE}/matchers/{deleted}"), &[], None).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(function_matchers(&server).await, ["Matcher CarbonDioxide"]);
    let data = server.stop_keeping_data().await;
    let server = start_demo(data).await;
    let stamps_at_start = availability_stamps(&server).await;
    let function = wait_for(&server, "the function listing a motion matcher again", async |server| {
        let function = demo_function(server).await;
        let names = function_matchers(server).await;
        (names == ["Matcher CarbonDioxide", "Matcher Motion"]).then_some(function)
    })
    .await;
    let listed: Vec<&str> =
        function["matchers"].as_array().expect("its matchers").iter().filter_map(|m| m["id"].as_str()).collect();
    assert!(!listed.iter().any(|id| id.eq_ignore_ascii_case(&deleted)), "{function}");
    // The function runs for motion readings again: each device's first tick reports its room's presence.
    let id = function["id"].as_str().expect("the function's id").to_owned();
    let motion_sensors =
        get(&server, &format!("{BASE}/sensors?spaceId=demo-building&traverse=Down&includes=types")).await;
    let motion_sensors: Vec<String> = motion_sensors
        .as_array()
        .expect("a list")
        .iter()
        .filter(|s| s["dataType"] == "Motion")
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(motion_sensors.len(), 8);
    wait_for(&server, "a run of the function for a motion reading", async |server| {
        let runs = get(server, &format!("{BASE}/userdefinedfunctions/{id}/logs")).await;
        runs.as_array()?
            .iter()
            .any(|run| {
                run["sensorId"].as_str().is_some_and(|s| motion_sensors.iter().any(|m| m.eq_ignore_ascii_case(s)))
            })
            .then_some(())
    })
    .await;
    // And every room keeps getting its `AvailableAndFresh`.
    wait_for(&server, "every room's AvailableAndFresh set after the restart", async |server| {
        let stamps = availability_stamps(server).await;
        (stamps.len() == 8
            && stamps.iter().all(|(room, stamp)| stamps_at_start.get(room).is_none_or(|before| stamp != before)))
        .then_some(())
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_script_edited_by_hand_is_the_shipped_one_again_after_a_restart() {
    let server = start_demo(tempfile::tempdir().expect("a data directory")).await;
    let function = wait_for(&server, "the function with both matchers", async |server| {
        let function = demo_function(server).await;
        (function_matchers(server).await.len() == 2).then_some(function)
    })
    .await;
    let id = function["id"].as_str().expect("the function's id").to_owned();
    let edited = format!("{AVAILABILITY}\n// Edited by hand.\n");
    let body = format!(
        "--b\r\nContent-Disposition: form-data; name=\"metadata\"\r\nContent-Type: application/json\r\n\r\n{{}}\r\n\
         --b\r\nContent-Disposition: form-data; name=\"contents\"; filename=\"a.js\"\r\nContent-Type: text/javascript\r\n\r\n{edited}\r\n--b--\r\n"
    );
    let headers = [("content-type", "multipart/form-data; boundary=b")];
    let reply =
        server.send("PATCH", &format!("{BASE}/userdefinedfunctions/{id}"), &headers, Some(body.into_bytes())).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(server.get(&format!("{BASE}/userdefinedfunctions/{id}/contents")).await.body, edited);
    let data = server.stop_keeping_data().await;
    let server = start_demo(data).await;
    wait_for(&server, "the shipped script again", async |server| {
        (server.get(&format!("{BASE}/userdefinedfunctions/{id}/contents")).await.body == AVAILABILITY).then_some(())
    })
    .await;
    // Only the script was sent again: the matchers are the same two, and the version is one past the hand edit's.
    assert_eq!(function_matchers(&server).await, ["Matcher CarbonDioxide", "Matcher Motion"]);
    let shown = get(&server, &format!("{BASE}/userdefinedfunctions/{id}?includes=contentinfo")).await;
    assert_eq!(shown["contentInfo"]["version"], "3", "{shown}");
    server.stop().await;
}

/// A server with the demo on, over the embedded store in `data`.
async fn start_demo(data: tempfile::TempDir) -> TestServer {
    start_shipped_configured(data, |config| config.demo = true).await
}

/// Polls `probe` until it finds something, for at most `WAIT_MAX`.
async fn wait_for<T>(server: &TestServer, what: &str, probe: impl AsyncFn(&TestServer) -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = probe(server).await {
            return found;
        }
        assert!(started.elapsed() < WAIT_MAX, "the demo did not make {what} within {WAIT_MAX:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A GET that answers 200 with JSON.
async fn get(server: &TestServer, path: &str) -> Value {
    let reply = server.get(path).await;
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.body);
    serde_json::from_str(&reply.body).expect("JSON")
}

/// The rows of a query (written as in JSON text: `\\$dtId`), from all its pages.
async fn query(server: &TestServer, text: &str) -> Value {
    let body = json!({ "query": text.replace("\\$", "$") }).to_string();
    let reply = server
        .send("POST", "/query?api-version=2023-10-31", &[("content-type", "application/json")], Some(body.into_bytes()))
        .await;
    assert_eq!(reply.status, 200, "{text}: {}", reply.body);
    let page: Value = serde_json::from_str(&reply.body).expect("JSON");
    assert!(page["continuationToken"].is_null(), "the demo's queries fit one page");
    page["value"].clone()
}

/// The `eventType`s of the tenant's event log so far.
async fn event_types(server: &TestServer) -> Vec<String> {
    let mut kinds = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = get(server, &format!("/events?cursor={cursor}&limit=1000")).await;
        let events = page["value"].as_array().cloned().unwrap_or_default();
        if events.is_empty() {
            return kinds;
        }
        for event in events {
            if let Some(kind) = event["eventType"].as_str().filter(|k| !kinds.iter().any(|seen| seen == k)) {
                kinds.push(kind.to_owned());
            }
        }
        cursor = page["nextCursor"].as_str().expect("a cursor").to_owned();
    }
}

/// The cursor after the last event so far.
async fn event_cursor(server: &TestServer) -> String {
    let mut cursor = String::new();
    loop {
        let page = get(server, &format!("/events?cursor={cursor}&limit=1000")).await;
        let next = page["nextCursor"].as_str().expect("a cursor").to_owned();
        if page["value"].as_array().is_none_or(Vec::is_empty) {
            return next;
        }
        cursor = next;
    }
}

/// How many of each demo object there are, one kind a line.
async fn inventory(server: &TestServer) -> String {
    let twins = query(server, "SELECT COUNT() FROM DIGITALTWINS").await;
    let mut lines = vec![format!("twins {}", twins[0]["COUNT"])];
    let rooms =
        query(server, "SELECT COUNT() FROM DIGITALTWINS R WHERE IS_OF_MODEL(R, 'dtmi:twinscape:demo:Room;1')").await;
    lines.push(format!("rooms {}", rooms[0]["COUNT"]));
    for (kind, route) in [
        ("devices", "devices?spaceId=demo-building&traverse=Down"),
        ("sensors", "sensors?spaceId=demo-building&traverse=Down"),
        ("resources", "resources"),
        ("matchers", "matchers"),
        ("userdefinedfunctions", "userdefinedfunctions"),
        ("roleassignments", "roleassignments?path=/&traverse=Down"),
    ] {
        let list = get(server, &format!("{BASE}/{route}")).await;
        lines.push(format!("{kind} {}", list.as_array().map_or(0, Vec::len)));
    }
    lines.join("\n")
}

/// The queries of the README: its `q "…"` lines, with the shell's escapes undone and the 2018 section's `$building` as the demo building.
fn readme_queries() -> Vec<String> {
    README
        .lines()
        .filter_map(|line| line.trim().strip_prefix("q \"")?.strip_suffix('"').map(str::to_owned))
        .map(|text| text.replace("\\\"", "\"").replace("$building", "demo-building"))
        .collect()
}

/// The demo's function, with its matchers.
async fn demo_function(server: &TestServer) -> Value {
    let found = get(
        server,
        &format!("{BASE}/userdefinedfunctions?spaceId=demo-building&names=Room%20Availability&includes=matchers"),
    )
    .await;
    found[0].clone()
}

/// The names of the matchers the demo's function lists, sorted; none before the demo made its function.
async fn function_matchers(server: &TestServer) -> Vec<String> {
    let function = demo_function(server).await;
    let mut names: Vec<String> = function["matchers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// The timestamp of each room's `AvailableAndFresh`, by room, for the rooms that have one.
async fn availability_stamps(server: &TestServer) -> std::collections::BTreeMap<String, String> {
    let rooms = get(server, &format!("{BASE}/spaces?spaceId=demo-building&traverse=Down&includes=values,types")).await;
    rooms
        .as_array()
        .expect("a list")
        .iter()
        .filter(|space| space["type"] == "Room")
        .filter_map(|room| {
            let values = room["values"].as_array()?;
            let value = values.iter().find(|v| v["type"] == "AvailableAndFresh")?;
            Some((room["id"].as_str()?.to_owned(), value["timestamp"].as_str()?.to_owned()))
        })
        .collect()
}
