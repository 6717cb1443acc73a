//! What the tests of the 2018 management face share: the one function that sends them to the server (`call`), and `Names`, which shows the GUIDs the server makes as the names the test gave the objects.

use serde_json::Value;

use crate::TestServer;

/// Where the face is mounted.
pub(crate) const BASE: &str = "/management/api/v1.0";

/// Ids the server gave, with the names they stand for in snapshots.
#[derive(Default)]
pub(crate) struct Names(pub(crate) Vec<(String, String)>);

impl Names {
    pub(crate) fn add(&mut self, id: &str, name: &str) {
        self.0.push((id.to_owned(), name.to_owned()));
    }

    /// `text` with every id replaced by `<name>`.
    pub(crate) fn show(&self, text: &str) -> String {
        self.0.iter().fold(text.to_owned(), |text, (id, name)| text.replace(id, &format!("<{name}>")))
    }
}

/// Sends a request to the management face (`path` relative to its base, a JSON body if any); the status and the body as JSON (a body that is not JSON as a JSON string, none as `null`).
pub(crate) async fn call(server: &TestServer, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let headers: &[(&str, &str)] = if body.is_some() { &[("content-type", "application/json")] } else { &[] };
    let reply = server.send(method, &format!("{BASE}/{path}"), headers, body.map(|b| b.to_string().into_bytes())).await;
    let value = if reply.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&reply.body).unwrap_or(Value::String(reply.body.clone()))
    };
    (reply.status, value)
}
