//! `--demo`: the demo building loads over the built-in models, so it is one building to the data plane, `POST /query` and the 2018 management face, and its simulated sensors report values the 2018 face shows.

use serde_json::Value;

use crate::start_shipped_configured;

const BASE: &str = "/management/api/v1.0";

#[tokio::test]
async fn the_demo_building_is_the_same_through_both_faces() {
    let data = tempfile::tempdir().expect("a data directory");
    let server = start_shipped_configured(data, |config| config.demo = true).await;
    let list = |reply: crate::Reply| -> Vec<String> {
        assert_eq!(reply.status, 200, "{}", reply.body);
        let value: Value = serde_json::from_str(&reply.body).expect("JSON");
        value
            .as_array()
            .expect("a list")
            .iter()
            .map(|o| format!("{} ({})", o["name"].as_str().unwrap_or("?"), o["type"].as_str().unwrap_or("?")))
            .collect()
    };
    let spaces =
        list(server.get(&format!("{BASE}/spaces?spaceId=demo-building&traverse=Down&maxLevel=2&includes=types")).await);
    assert_eq!(spaces, ["Harbour House (Building)", "Floor 1 (Floor)", "Floor 2 (Floor)"]);
    let rooms = list(
        server
            .get(&format!(
                "{BASE}/spaces?spaceId=demo-floor-2&traverse=Down&minLevel=1&minRelative=true&includes=types"
            ))
            .await,
    );
    assert_eq!(rooms, ["Room 201 (Room)", "Room 202 (Room)", "Room 203 (Room)", "Room 204 (Room)"]);
    // The simulation's first tick comes at start; its readings are the sensors' 2018 values.
    let mut polls = 0;
    let value = loop {
        let reply = server.get(&format!("{BASE}/sensors/demo-sensor-101/value")).await;
        if reply.status == 200 {
            break serde_json::from_str::<Value>(&reply.body).expect("a value");
        }
        assert_eq!(reply.status, 404, "no value yet is a 404: {}", reply.body);
        polls += 1;
        assert!(polls < 500, "the simulation reports within seconds");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(value["type"], "Temperature");
    assert!(
        value["value"].as_str().and_then(|v| v.parse::<f64>().ok()).is_some_and(|t| (18.0..=26.0).contains(&t)),
        "{value}"
    );
    let query = r#"{"query": "SELECT COUNT() FROM DIGITALTWINS T WHERE IN_SPACE(T, 'demo-building') AND IS_OF_MODEL(T, 'dtmi:twinscape:Sensor;1')"}"#;
    let reply = server
        .send(
            "POST",
            "/query?api-version=2023-10-31",
            &[("content-type", "application/json")],
            Some(query.as_bytes().to_vec()),
        )
        .await;
    assert_eq!(reply.body, r#"{"value":[{"COUNT":8}],"continuationToken":null}"#);
    server.stop().await;
}
