//! `twinscape import --format provision`: the occupancy example and a file using every key, each run twice against a server started in this test process on 127.0.0.1:0 (the first run creates, the second finds everything), the topology read back through the 2018 API and `POST /query`, and the errors: problems in the file with their lines (nothing sent), a server refusal with the object's place, an unreachable server.
//!
//! Object ids are GUIDs the server makes; `Ids` replaces each with a placeholder of the same length, numbered in order of appearance, so a snapshot shows which ids two runs share and tables stay aligned.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use expect_test::{Expect, expect};
use serde_json::{Value, json};

use crate::{Run, fixture, repository, run};

const MANAGEMENT: &str = "/management/api/v1.0";

/// A server running on its own runtime in this test process, with a data directory in the test's folder; stopped when dropped.
struct InProcess {
    runtime: tokio::runtime::Runtime,
    url: String,
    client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl InProcess {
    fn start(dir: &Path) -> InProcess {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("start the server's runtime");
        let mut config = server::Config {
            listen: "127.0.0.1:0".parse().expect("a socket address"),
            data_dir: dir.join("data"),
            ..server::Config::default()
        };
        config.mqtt.listen = Some("127.0.0.1:0".parse().expect("a socket address"));
        let bound = runtime.block_on(server::Server::bind(config)).expect("the test server binds");
        let url = bound.url();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        runtime.spawn(bound.run(async {
            let _ = stopped.await;
        }));
        InProcess { runtime, url, client: client(), shutdown: Some(shutdown) }
    }

    /// Sends a request to the server and returns its status and JSON body.
    fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.url);
        self.runtime.block_on(async {
            let mut request = self.client.request(method, url);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.expect("the server answers");
            let status = response.status().as_u16();
            let text = response.text().await.expect("read the answer");
            (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
        })
    }

    /// `GET` on the management face; the answer must be 200.
    fn management(&self, path_and_query: &str) -> Value {
        let (status, body) = self.send(reqwest::Method::GET, &format!("{MANAGEMENT}/{path_and_query}"), None);
        assert_eq!(status, 200, "GET {path_and_query}: {body}");
        body
    }

    /// The rows of a data-plane query.
    fn query(&self, query: &str) -> Vec<Value> {
        let (status, body) =
            self.send(reqwest::Method::POST, "/query?api-version=2023-10-31", Some(json!({ "query": query })));
        assert_eq!(status, 200, "{query}: {body}");
        body["value"].as_array().expect("the rows of the query").clone()
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A plain-HTTP client with the workspace's one crypto provider, as the CLI builds its own.
fn client() -> reqwest::Client {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder().no_proxy().tls_backend_preconfigured(tls).build().expect("build the HTTP client")
}

/// Ids in snapshots: each GUID becomes a same-length placeholder numbered by first appearance; device keys become `<key>`.
#[derive(Default)]
struct Ids(Vec<String>);

impl Ids {
    fn show(&mut self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some((at, guid)) = next_guid(rest) {
            out.push_str(&rest[..at]);
            let number = match self.0.iter().position(|known| known == guid) {
                Some(index) => index + 1,
                None => {
                    self.0.push(guid.to_owned());
                    self.0.len()
                }
            };
            out.push_str(&format!("00000000-0000-0000-0000-{number:012}"));
            rest = &rest[at + guid.len()..];
        }
        out.push_str(rest);
        out.lines()
            .map(|line| match line.split_once("SharedAccessKey=") {
                Some((before, _)) => format!("{before}SharedAccessKey=<key>\n"),
                None => format!("{line}\n"),
            })
            .collect()
    }

    /// The GUID shown as placeholder `number`.
    fn guid(&self, number: usize) -> &str {
        &self.0[number - 1]
    }
}

/// The first GUID in `text` (lowercase `8-4-4-4-12` hex) and where it starts.
fn next_guid(text: &str) -> Option<(usize, &str)> {
    let bytes = text.as_bytes();
    let is_guid = |window: &[u8]| {
        window.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(b),
        })
    };
    (0..bytes.len().saturating_sub(35)).find(|&at| is_guid(&bytes[at..at + 36])).map(|at| (at, &text[at..at + 36]))
}

/// Runs `twinscape import --format provision FILE --server URL` with `extra` flags.
fn provision(dir: &Path, served: &InProcess, file: &str, extra: &[&str]) -> Run {
    let mut args = vec!["import", "--format", "provision", file, "--server", &served.url];
    args.extend_from_slice(extra);
    run(dir, &args)
}

/// Provisions `file` and checks the exit code and what was printed (ids replaced), stdout then stderr after a `--- stderr` line.
fn check_provision(dir: &Path, served: &InProcess, file: &str, ids: &mut Ids, code: i32, expect: Expect) {
    let ran = provision(dir, served, file, &[]);
    assert_eq!(ran.code, code, "stdout:\n{}\nstderr:\n{}", ran.stdout, ran.stderr);
    let mut out = ids.show(&ran.stdout);
    if !ran.stderr.is_empty() {
        out.push_str("--- stderr\n");
        out.push_str(&ids.show(&ran.stderr));
    }
    expect.assert_eq(&out);
}

/// The spaces below `root` as `GET spaces?spaceId=…&traverse=Down&includes=types` lists them: name, type/subtype, parent.
fn spaces_below(served: &InProcess, root: &str, ids: &mut Ids) -> String {
    let spaces = served.management(&format!("spaces?spaceId={root}&traverse=Down&includes=types"));
    let mut out = String::new();
    for space in spaces.as_array().expect("a list of spaces") {
        out.push_str(&format!(
            "{} {}/{} in {}\n",
            space["name"].as_str().unwrap_or("?"),
            space["type"].as_str().unwrap_or("?"),
            space["subtype"].as_str().unwrap_or("?"),
            space["parentSpaceId"]
        ));
    }
    ids.show(&out)
}

#[test]
fn the_occupancy_example_provisions_once_and_reruns_finding_everything() {
    let example = std::fs::read(repository().join("examples/provision/occupancy.yaml")).expect("the example exists");
    let dir = fixture("provision-occupancy", &[("occupancy.yaml", &example)]);
    let served = InProcess::start(&dir);
    let mut ids = Ids::default();
    check_provision(
        &dir,
        &served,
        "occupancy.yaml",
        &mut ids,
        0,
        expect![[r#"
            kind                 name                                                            id                                    status   detail
            space                Quickstart Building                                             00000000-0000-0000-0000-000000000001  created  Venue
            resource               IoTHub                                                        00000000-0000-0000-0000-000000000002  created  Running
            space                  Floor 1                                                       00000000-0000-0000-0000-000000000003  created  Floor
            space                    Area A                                                      00000000-0000-0000-0000-000000000004  created  Area
            space                    Conference Room 11                                          00000000-0000-0000-0000-000000000005  created  Room/ConferenceRoom
            space                    Focus Room A1                                               00000000-0000-0000-0000-000000000006  created  Room/FocusRoom
            device                     Raspberry Pi 3 A1                                         00000000-0000-0000-0000-000000000007  created  HostName=127.0.0.1;DeviceId=00000000-0000-0000-0000-000000000007;SharedAccessKey=<key>
            sensor                       SAMPLE_SENSOR_MOTION                                    00000000-0000-0000-0000-000000000008  created  Motion
            sensor                       SAMPLE_SENSOR_CARBONDIOXIDE                             00000000-0000-0000-0000-000000000009  created  CarbonDioxide
            matcher                    Matcher Motion A1                                         -                                     skipped  not yet supported by this server
            matcher                    Matcher CarbonDioxide A1                                  -                                     skipped  not yet supported by this server
            userdefinedfunction        Motion Processor                                          -                                     skipped  not yet supported by this server
            roleassignment             00000000-0000-0000-0000-000000000010 to Motion Processor  -                                     skipped  not yet supported by this server
            9 created, 0 updated, 0 existing, 4 skipped (not yet supported by this server: 2 matchers, 1 userdefinedfunction, 1 roleassignment)
        "#]],
    );
    check_provision(
        &dir,
        &served,
        "occupancy.yaml",
        &mut ids,
        0,
        expect![[r#"
            kind                 name                                                            id                                    status   detail
            space                Quickstart Building                                             00000000-0000-0000-0000-000000000001  exists   Venue
            resource               IoTHub                                                        00000000-0000-0000-0000-000000000002  exists   Running
            space                  Floor 1                                                       00000000-0000-0000-0000-000000000003  exists   Floor
            space                    Area A                                                      00000000-0000-0000-0000-000000000004  exists   Area
            space                    Conference Room 11                                          00000000-0000-0000-0000-000000000005  exists   Room/ConferenceRoom
            space                    Focus Room A1                                               00000000-0000-0000-0000-000000000006  exists   Room/FocusRoom
            device                     Raspberry Pi 3 A1                                         00000000-0000-0000-0000-000000000007  exists   HostName=127.0.0.1;DeviceId=00000000-0000-0000-0000-000000000007;SharedAccessKey=<key>
            sensor                       SAMPLE_SENSOR_MOTION                                    00000000-0000-0000-0000-000000000008  exists   Motion
            sensor                       SAMPLE_SENSOR_CARBONDIOXIDE                             00000000-0000-0000-0000-000000000009  exists   CarbonDioxide
            matcher                    Matcher Motion A1                                         -                                     skipped  not yet supported by this server
            matcher                    Matcher CarbonDioxide A1                                  -                                     skipped  not yet supported by this server
            userdefinedfunction        Motion Processor                                          -                                     skipped  not yet supported by this server
            roleassignment             00000000-0000-0000-0000-000000000010 to Motion Processor  -                                     skipped  not yet supported by this server
            0 created, 0 updated, 9 existing, 4 skipped (not yet supported by this server: 2 matchers, 1 userdefinedfunction, 1 roleassignment)
        "#]],
    );

    // The JSON report of a third run: the same ids, every object found.
    let ran = provision(&dir, &served, "occupancy.yaml", &["--json"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let report: Value = serde_json::from_str(&ran.stdout).expect("one JSON document");
    let mut compact = String::new();
    for object in report["objects"].as_array().expect("a list of objects") {
        compact.push_str(&format!(
            "{} {} {} {} line {} {}\n",
            object["kind"], object["name"], object["id"], object["status"], object["line"], object["path"]
        ));
    }
    for count in ["created", "updated", "existing", "skipped"] {
        compact.push_str(&format!("{count} {}\n", report[count]));
    }
    compact.push_str(&format!("error {}\n", report["error"]));
    expect![[r#"
        "space" "Quickstart Building" "00000000-0000-0000-0000-000000000001" "exists" line 9 "[0]"
        "resource" "IoTHub" "00000000-0000-0000-0000-000000000002" "exists" line 12 "[0].resources[0]"
        "space" "Floor 1" "00000000-0000-0000-0000-000000000003" "exists" line 14 "[0].spaces[0]"
        "space" "Area A" "00000000-0000-0000-0000-000000000004" "exists" line 17 "[0].spaces[0].spaces[0]"
        "space" "Conference Room 11" "00000000-0000-0000-0000-000000000005" "exists" line 19 "[0].spaces[0].spaces[1]"
        "space" "Focus Room A1" "00000000-0000-0000-0000-000000000006" "exists" line 22 "[0].spaces[0].spaces[2]"
        "device" "Raspberry Pi 3 A1" "00000000-0000-0000-0000-000000000007" "exists" line 26 "[0].spaces[0].spaces[2].devices[0]"
        "sensor" "SAMPLE_SENSOR_MOTION" "00000000-0000-0000-0000-000000000008" "exists" line 29 "[0].spaces[0].spaces[2].devices[0].sensors[0]"
        "sensor" "SAMPLE_SENSOR_CARBONDIOXIDE" "00000000-0000-0000-0000-000000000009" "exists" line 31 "[0].spaces[0].spaces[2].devices[0].sensors[1]"
        "matcher" "Matcher Motion A1" null "skipped" line 34 "[0].spaces[0].spaces[2].matchers[0]"
        "matcher" "Matcher CarbonDioxide A1" null "skipped" line 36 "[0].spaces[0].spaces[2].matchers[1]"
        "userdefinedfunction" "Motion Processor" null "skipped" line 39 "[0].spaces[0].spaces[2].userdefinedfunctions[0]"
        "roleassignment" "00000000-0000-0000-0000-000000000010 to Motion Processor" null "skipped" line 46 "[0].spaces[0].spaces[2].roleassignments[0]"
        created 0
        updated 0
        existing 9
        skipped 4
        error null
    "#]]
    .assert_eq(&ids.show(&compact));

    // The topology as the 2018 API shows it.
    let root = ids.guid(1).to_owned();
    expect![[r#"
        Quickstart Building Venue/None in null
        Floor 1 Floor/None in "00000000-0000-0000-0000-000000000001"
        Area A Area/None in "00000000-0000-0000-0000-000000000003"
        Conference Room 11 Room/ConferenceRoom in "00000000-0000-0000-0000-000000000003"
        Focus Room A1 Room/FocusRoom in "00000000-0000-0000-0000-000000000003"
    "#]]
    .assert_eq(&spaces_below(&served, &root, &mut ids));
    let resources = served.management(&format!("resources?spaceId={root}"));
    expect![[r#"
        "IoTHub" "Running" "00000000-0000-0000-0000-000000000001"
    "#]]
    .assert_eq(
        &ids.show(&format!("{} {} {}\n", resources[0]["type"], resources[0]["status"], resources[0]["spaceId"])),
    );

    // And as the data plane's query language sees the same twins.
    let rows = served.query(
        "SELECT room.name AS room, device.name AS device, sensor.hardwareId AS sensor \
         FROM DIGITALTWINS room JOIN device RELATED room.hasDevice JOIN sensor RELATED device.hasSensor",
    );
    // The query language has no order; the rows are sorted here.
    let mut rows: Vec<String> = rows.iter().map(Value::to_string).collect();
    rows.sort();
    expect![[r#"
        {"room":"Focus Room A1","device":"Raspberry Pi 3 A1","sensor":"SAMPLE_SENSOR_CARBONDIOXIDE"}
        {"room":"Focus Room A1","device":"Raspberry Pi 3 A1","sensor":"SAMPLE_SENSOR_MOTION"}
    "#]]
    .assert_eq(&(rows.join("\n") + "\n"));
}

/// Every key of the format: custom types, property keys and values (both forms), users, `children`, a device without a hardware id and a sensor matched by its data type.
const EVERY_KEY: &str = r#"
- name: HQ
  type: Building
  description: The head office
  friendlyName: Head office
  types:
  - {category: SpaceSubtype, name: Wing, friendlyName: A wing}
  propertyKeys:
  - {name: AreaInSqMeters, primitiveDataType: Int, min: 0, max: 100000}
  - {name: Open, primitiveDataType: Bool}
  properties:
    AreaInSqMeters: 1200
    Open: True
  users:
  - {upn: ada@example.com, firstName: Ada, lastName: Lovelace}
  children:
  - name: West
    subType: Wing
    properties:
    - {name: AreaInSqMeters, value: 300}
    devices:
    - name: Thermostat West
      sensors:
      - {dataType: Temperature, dataUnitType: Celsius}
"#;

#[test]
fn every_key_provisions_and_a_changed_file_updates() {
    let dir = fixture("provision-every-key", &[("hq.yaml", EVERY_KEY.as_bytes())]);
    let served = InProcess::start(&dir);
    let mut ids = Ids::default();
    check_provision(
        &dir,
        &served,
        "hq.yaml",
        &mut ids,
        0,
        expect![[r#"
            kind         name                 id                                    status   detail
            space        HQ                   00000000-0000-0000-0000-000000000001  created  Building
            type           Wing               1000000                               created  SpaceSubtype
            propertykey    AreaInSqMeters     1                                     created  Spaces
            propertykey    Open               2                                     created  Spaces
            property       AreaInSqMeters     -                                     created  1200
            property       Open               -                                     created  true
            user           ada@example.com    00000000-0000-0000-0000-000000000002  created
            space          West               00000000-0000-0000-0000-000000000003  created  None/Wing
            property         AreaInSqMeters   -                                     created  300
            device           Thermostat West  00000000-0000-0000-0000-000000000004  created  HostName=127.0.0.1;DeviceId=00000000-0000-0000-0000-000000000004;SharedAccessKey=<key>
            sensor             Temperature    00000000-0000-0000-0000-000000000005  created  Temperature
            11 created, 0 updated, 0 existing, 0 skipped
        "#]],
    );
    check_provision(
        &dir,
        &served,
        "hq.yaml",
        &mut ids,
        0,
        expect![[r#"
            kind         name                 id                                    status  detail
            space        HQ                   00000000-0000-0000-0000-000000000001  exists  Building
            type           Wing               1000000                               exists  SpaceSubtype
            propertykey    AreaInSqMeters     1                                     exists  Spaces
            propertykey    Open               2                                     exists  Spaces
            property       AreaInSqMeters     -                                     exists  1200
            property       Open               -                                     exists  true
            user           ada@example.com    00000000-0000-0000-0000-000000000002  exists
            space          West               00000000-0000-0000-0000-000000000003  exists  None/Wing
            property         AreaInSqMeters   -                                     exists  300
            device           Thermostat West  00000000-0000-0000-0000-000000000004  exists  HostName=127.0.0.1;DeviceId=00000000-0000-0000-0000-000000000004;SharedAccessKey=<key>
            sensor             Temperature    00000000-0000-0000-0000-000000000005  exists  Temperature
            0 created, 0 updated, 11 existing, 0 skipped
        "#]],
    );
    let changed = EVERY_KEY.replace("AreaInSqMeters: 1200", "AreaInSqMeters: 1250").replace("Lovelace", "King");
    std::fs::write(dir.join("hq.yaml"), changed).expect("change the file");
    check_provision(
        &dir,
        &served,
        "hq.yaml",
        &mut ids,
        0,
        expect![[r#"
            kind         name                 id                                    status   detail
            space        HQ                   00000000-0000-0000-0000-000000000001  exists   Building
            type           Wing               1000000                               exists   SpaceSubtype
            propertykey    AreaInSqMeters     1                                     exists   Spaces
            propertykey    Open               2                                     exists   Spaces
            property       AreaInSqMeters     -                                     updated  1250
            property       Open               -                                     exists   true
            user           ada@example.com    00000000-0000-0000-0000-000000000002  updated
            space          West               00000000-0000-0000-0000-000000000003  exists   None/Wing
            property         AreaInSqMeters   -                                     exists   300
            device           Thermostat West  00000000-0000-0000-0000-000000000004  exists   HostName=127.0.0.1;DeviceId=00000000-0000-0000-0000-000000000004;SharedAccessKey=<key>
            sensor             Temperature    00000000-0000-0000-0000-000000000005  exists   Temperature
            0 created, 2 updated, 9 existing, 0 skipped
        "#]],
    );
    let root = ids.guid(1).to_owned();
    expect![[r#"
        HQ Building/None in null
        West None/Wing in "00000000-0000-0000-0000-000000000001"
    "#]]
    .assert_eq(&spaces_below(&served, &root, &mut ids));
    let properties = served.management(&format!("spaces/{root}/properties"));
    expect![[r#"
        [{"name":"AreaInSqMeters","value":"1250","dataType":"Int"},{"name":"Open","value":"true","dataType":"Bool"}]
    "#]]
    .assert_eq(&format!("{properties}\n"));
}

#[test]
fn problems_in_the_file_are_reported_with_their_lines_and_nothing_is_sent() {
    let unknown = "- name: HQ\n  type: Building\n  spaces:\n  - name: Floor 1\n    colour: blue\n  - type: Floor\n";
    let dir = fixture("provision-problems", &[("bad.yaml", unknown.as_bytes())]);
    let served = InProcess::start(&dir);
    let mut ids = Ids::default();
    check_provision(
        &dir,
        &served,
        "bad.yaml",
        &mut ids,
        1,
        expect![[r#"
            --- stderr
            bad.yaml:5: [0].spaces[0].colour: unknown key `colour` in a space; it takes name, type, subType, description, friendlyName, properties, types, propertyKeys, resources, devices, users, matchers, userDefinedFunctions, roleAssignments, spaces, children
            bad.yaml:6: [0].spaces[1]: a space needs a `name`
            2 problems in bad.yaml; nothing was sent to the server
        "#]],
    );
    let ran = provision(&dir, &served, "bad.yaml", &["--json"]);
    assert_eq!(ran.code, 1);
    expect![[r#"
        {
          "objects": [],
          "problems": [
            {
              "line": 5,
              "path": "[0].spaces[0].colour",
              "message": "unknown key `colour` in a space; it takes name, type, subType, description, friendlyName, properties, types, propertyKeys, resources, devices, users, matchers, userDefinedFunctions, roleAssignments, spaces, children"
            },
            {
              "line": 6,
              "path": "[0].spaces[1]",
              "message": "a space needs a `name`"
            }
          ],
          "error": null
        }
    "#]]
    .assert_eq(&ran.stdout);
    assert_eq!(served.management("spaces"), json!([]), "nothing was sent");
}

#[test]
fn a_refusal_stops_the_run_with_the_api_message_and_the_place_in_the_file() {
    let refused = "- name: HQ\n  type: Building\n  spaces:\n  - name: Floor 1\n    type: Floor\n  - name: Bridge\n    type: Spaceship\n  - name: Never reached\n";
    let dir = fixture("provision-refused", &[("refused.yaml", refused.as_bytes())]);
    let served = InProcess::start(&dir);
    let mut ids = Ids::default();
    check_provision(
        &dir,
        &served,
        "refused.yaml",
        &mut ids,
        1,
        expect![[r#"
            kind   name       id                                    status   detail
            space  HQ         00000000-0000-0000-0000-000000000001  created  Building
            space    Floor 1  00000000-0000-0000-0000-000000000002  created  Floor
            2 created, 0 updated, 0 existing, 0 skipped
            --- stderr
            error: space 'Bridge' at [0].spaces[1] (refused.yaml:6): POST spaces answered 400 Bad Request: SpaceType 'Spaceship' is not a type this space can use (GET types?categories=SpaceType lists them)
        "#]],
    );
    let ran = provision(&dir, &served, "refused.yaml", &["--json"]);
    assert_eq!(ran.code, 1);
    let report: Value = serde_json::from_str(&ran.stdout).expect("one JSON document");
    expect![[r#"
        {"kind":"space","name":"Bridge","path":"[0].spaces[1]","line":6,"message":"POST spaces answered 400 Bad Request: SpaceType 'Spaceship' is not a type this space can use (GET types?categories=SpaceType lists them)"}
    "#]]
    .assert_eq(&format!("{}\n", report["error"]));

    // A sensor hardware id another device holds: the create's 409 is the API's answer, not an existing sensor of this device.
    let taken = "- name: HQ\n  devices:\n  - name: Other Pi\n    sensors:\n    - {dataType: Motion, hardwareId: SAMPLE_SENSOR_MOTION}\n";
    std::fs::write(dir.join("taken.yaml"), taken).expect("write the file");
    check_provision(
        &dir,
        &served,
        "taken.yaml",
        &mut ids,
        0,
        expect![[r#"
            kind    name                      id                                    status   detail
            space   HQ                        00000000-0000-0000-0000-000000000001  exists   Building
            device    Other Pi                00000000-0000-0000-0000-000000000003  created  HostName=127.0.0.1;DeviceId=00000000-0000-0000-0000-000000000003;SharedAccessKey=<key>
            sensor      SAMPLE_SENSOR_MOTION  00000000-0000-0000-0000-000000000004  created  Motion
            2 created, 0 updated, 1 existing, 0 skipped
        "#]],
    );
    // A value with no property key for it: the `PUT` of that one value is refused, and the error points at it.
    let unkeyed = "- name: HQ\n  properties:\n    Known: 1\n    Unknown: 2\n  propertyKeys: [{name: Known}]\n";
    std::fs::write(dir.join("unkeyed.yaml"), unkeyed).expect("write the file");
    check_provision(
        &dir,
        &served,
        "unkeyed.yaml",
        &mut ids,
        1,
        expect![[r#"
            kind         name     id                                    status   detail
            space        HQ       00000000-0000-0000-0000-000000000001  exists   Building
            propertykey    Known  1                                     created  Spaces
            property       Known  -                                     created  1
            2 created, 0 updated, 1 existing, 0 skipped
            --- stderr
            error: property 'Unknown' at [0].properties.Unknown (unkeyed.yaml:4): PUT spaces/00000000-0000-0000-0000-000000000001/properties answered 404 Not Found: property key for space (scope Spaces) 'Unknown' was not found
        "#]],
    );
    let other = taken.replace("Other Pi", "Third Pi");
    std::fs::write(dir.join("taken.yaml"), other).expect("write the file");
    check_provision(
        &dir,
        &served,
        "taken.yaml",
        &mut ids,
        1,
        expect![[r#"
            kind    name        id                                    status   detail
            space   HQ          00000000-0000-0000-0000-000000000001  exists   Building
            device    Third Pi  00000000-0000-0000-0000-000000000005  created  HostName=127.0.0.1;DeviceId=00000000-0000-0000-0000-000000000005;SharedAccessKey=<key>
            1 created, 0 updated, 1 existing, 0 skipped
            --- stderr
            error: sensor 'SAMPLE_SENSOR_MOTION' at [0].devices[0].sensors[0] (taken.yaml:5): POST sensors answered 409 Conflict: sensor '00000000-0000-0000-0000-000000000004' already has the hardware id 'SAMPLE_SENSOR_MOTION'; hardware ids are unique
        "#]],
    );
}

#[test]
fn an_unreachable_server_or_a_data_directory_is_an_error_of_the_command() {
    let dir = fixture("provision-unreachable", &[("hq.yaml", b"- name: HQ\n")]);
    // A port this test held and let go: nothing listens there.
    let address = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port");
    let url = format!("http://{address}");
    let ran = run(&dir, &["import", "hq.yaml", "--server", &url]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert_eq!(ran.stdout, "");
    assert!(
        ran.stderr.starts_with(&format!("error: reach the server at {url}/management/api/v1.0/: ")),
        "{}",
        ran.stderr
    );
    let ran = run(&dir, &["import", "hq.yaml", "--data-dir", "data"]);
    assert_eq!(ran.code, 2);
    expect![[r#"
        error: --format provision creates objects through a running server's 2018 API; give --server instead of --data-dir
    "#]]
    .assert_eq(&ran.stderr);
}
