//! End-to-end tests of the HTTP face: each test starts a server in process on 127.0.0.1:0 through `Server::bind*`, drives it over real HTTP with reqwest, and stops it.
//!
//! `TestServer` owns the server and a log capture: a test fails when the server logged a WARN or ERROR line the test did not declare with `expect_log`.
//! Tests compare what `Reply::render` prints with snapshots; only `TestServer::send` talks to the server.
//! Test-only routes are mounted through the same data-plane plug-in point as shipped routes (`test_data_plane`), so they get the real layers; none of them ships.

mod catalog;
mod dataplane;
mod demo;
mod events_stream;
mod history;
mod jobs;
mod management;
mod management_events;
mod management_functions;
mod management_matchers;
mod management_properties;
mod management_resources;
mod management_roleassignments;
mod management_spaces;
mod management_state;
mod management_types;
mod mqtt_tls;
mod operational;
mod query;
mod rejections;
mod telemetry;
mod tls;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;
use server::extract::Json;
use server::{ApiVersion, AppState, Config};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::field::{Field, Visit};
use tracing::subscriber::DefaultGuard;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// How long a stopping server may take before the test fails; shutdown should be immediate when no request is in flight.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A server running in this test's runtime.
pub(crate) struct TestServer {
    /// `http://127.0.0.1:PORT` or `https://localhost:PORT`.
    pub(crate) url: String,
    /// The MQTT listener's address (127.0.0.1 with a port the OS picked), when it is on.
    pub(crate) mqtt: Option<std::net::SocketAddr>,
    /// The address of MQTT over TLS, when it is on.
    pub(crate) mqtt_tls: Option<std::net::SocketAddr>,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    logs: Logs,
    expected_logs: Vec<&'static str>,
    /// Keeps the data directory alive as long as the server.
    _data_dir: tempfile::TempDir,
    /// Routes this thread's log events to `logs`; `#[tokio::test]` runs the server's tasks on this thread.
    _log_guard: DefaultGuard,
}

/// A server with the default configuration, the shipped routes and `test_data_plane`.
pub(crate) async fn start() -> TestServer {
    start_with(|_| {}, None).await
}

/// A server with the shipped routes over the embedded store in a fresh data directory.
pub(crate) async fn start_shipped() -> TestServer {
    start_shipped_in(tempfile::tempdir().expect("create a data directory")).await
}

/// A server with the shipped routes over the embedded store in `data_dir` (which may hold data from an earlier server).
pub(crate) async fn start_shipped_in(data_dir: tempfile::TempDir) -> TestServer {
    start_shipped_configured(data_dir, |_| {}).await
}

/// A server with the shipped routes over the embedded store in `data_dir`, its configuration changed by `configure`.
pub(crate) async fn start_shipped_configured(
    data_dir: tempfile::TempDir,
    configure: impl FnOnce(&mut Config),
) -> TestServer {
    let logs = Logs::default();
    let log_guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(logs.clone()));
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("a socket address"),
        data_dir: data_dir.path().to_path_buf(),
        ..Config::default()
    };
    // The MQTT listener on a port of its own, never the shipped 1883, so tests run side by side.
    config.mqtt.listen = Some("127.0.0.1:0".parse().expect("a socket address"));
    configure(&mut config);
    let bound = server::Server::bind(config).await.expect("the test server binds");
    let (url, client) = (bound.url(), client(None));
    running(bound, url, client, logs, log_guard, data_dir)
}

/// A server whose default configuration is changed by `configure`, trusted over TLS by the client when `root_pem` is given.
pub(crate) async fn start_with(configure: impl FnOnce(&mut Config), root_pem: Option<&str>) -> TestServer {
    let logs = Logs::default();
    let log_guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(logs.clone()));
    let data_dir = tempfile::tempdir().expect("create a data directory");
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("a socket address"),
        data_dir: data_dir.path().to_path_buf(),
        ..Config::default()
    };
    // The MQTT listener on a port of its own, never the shipped 1883, so tests run side by side.
    config.mqtt.listen = Some("127.0.0.1:0".parse().expect("a socket address"));
    configure(&mut config);
    let bound = server::Server::bind_with_data_plane(config, test_data_plane()).await.expect("the test server binds");
    let port = bound.local_addr().port();
    let (url, client) = match root_pem {
        None => (bound.url(), client(None)),
        // The certificate names `localhost`; the client resolves it to the bound address, so no DNS is involved.
        Some(pem) => (format!("https://localhost:{port}"), client(Some((pem, bound.local_addr())))),
    };
    running(bound, url, client, logs, log_guard, data_dir)
}

/// Runs a bound server in this test's runtime and wraps it with what the test needs to talk to it and stop it.
fn running(
    bound: server::BoundServer,
    url: String,
    client: reqwest::Client,
    logs: Logs,
    log_guard: DefaultGuard,
    data_dir: tempfile::TempDir,
) -> TestServer {
    let (shutdown, stopped) = oneshot::channel::<()>();
    let (mqtt, mqtt_tls) = (bound.mqtt_local_addr(), bound.mqtt_tls_local_addr());
    let task = tokio::spawn(bound.run(async {
        let _ = stopped.await;
    }));
    TestServer {
        url,
        mqtt,
        mqtt_tls,
        client,
        shutdown: Some(shutdown),
        task: Some(task),
        logs,
        expected_logs: Vec::new(),
        _data_dir: data_dir,
        _log_guard: log_guard,
    }
}

/// A reqwest client using rustls with the workspace's one crypto provider, trusting only `root` (a PEM certificate and the address `localhost` stands for).
fn client(root: Option<(&str, std::net::SocketAddr)>) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    let mut builder = reqwest::Client::builder().no_proxy();
    if let Some((pem, address)) = root {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let certificate = CertificateDer::from_pem_slice(pem.as_bytes()).expect("the test certificate parses");
        roots.add(certificate).expect("the test certificate is a valid root");
        builder = builder.resolve("localhost", address);
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    builder.tls_backend_preconfigured(tls).build().expect("the test client builds")
}

impl TestServer {
    /// Sends one request; `body` is sent as is, with the given headers only.
    pub(crate) async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a test method");
        let mut request = self.client.request(method, format!("{}{path}", self.url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.expect("the body reads");
        Reply { status, headers, body }
    }

    /// POSTs a JSON `body` with chunked transfer encoding (no Content-Length) over plain HTTP; returns the status line and the body.
    pub(crate) async fn send_chunked(&self, path: &str, body: &[u8]) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let address = self.url.strip_prefix("http://").expect("a plain HTTP test server");
        let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect to the test server");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        let mut request = head.into_bytes();
        for chunk in body.chunks(16) {
            request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            request.extend_from_slice(chunk);
            request.extend_from_slice(b"\r\n");
        }
        request.extend_from_slice(b"0\r\n\r\n");
        stream.write_all(&request).await.expect("send the request");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("read the response");
        let response = String::from_utf8(response).expect("a UTF-8 response");
        let status = response.lines().next().unwrap_or_default().to_owned();
        let body = response.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
        format!("{status}\n{body}")
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], None).await
    }

    /// Declares that the server will log a WARN or ERROR line containing `fragment`.
    pub(crate) fn expect_log(&mut self, fragment: &'static str) {
        self.expected_logs.push(fragment);
    }

    /// Stops the server and hands back its data directory, for a restart on the same data.
    pub(crate) async fn stop_keeping_data(mut self) -> tempfile::TempDir {
        self.halt().await;
        let dir = tempfile::tempdir().expect("create a placeholder directory");
        std::mem::replace(&mut self._data_dir, dir)
    }

    /// Signals shutdown, waits for `run` to return, and checks the logs.
    pub(crate) async fn stop(mut self) {
        self.halt().await;
    }

    async fn halt(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(STOP_TIMEOUT, task)
                .await
                .expect("the server stops promptly")
                .expect("the server task does not panic");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let unexpected: Vec<String> = self
            .logs
            .lines()
            .into_iter()
            .filter(|line| !self.expected_logs.iter().any(|fragment| line.contains(fragment)))
            .collect();
        assert!(unexpected.is_empty(), "the server logged undeclared warnings or errors:\n{}", unexpected.join("\n"));
    }
}

/// What the server answered.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: String,
}

impl Reply {
    /// Status, the headers listed in `headers` that are present, and the body, for snapshots.
    pub(crate) fn render(&self, headers: &[&str]) -> String {
        let mut out = format!("{}\n", self.status);
        for name in headers {
            if let Some(value) = self.headers.get(*name) {
                let _ = writeln!(out, "{name}: {}", value.to_str().unwrap_or("<not text>"));
            }
        }
        out.push_str(&self.body);
        out
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Data-plane routes for tests, mounted where shipped data-plane routes are: `POST /echo` returns its JSON body (`POST /echo/large` too, with a 1 KiB body limit of its own), `POST /names` reads a typed body, `GET /echo/{id}` returns the id and API version, `GET /panic` panics.
fn test_data_plane() -> Router<AppState> {
    Router::new()
        .route("/echo", post(echo))
        .route("/echo/large", post(echo).layer(DefaultBodyLimit::max(1024)))
        .route("/echo/{id}", get(echo_id))
        .route("/names", post(names))
        .route("/panic", get(panics))
}

async fn echo(Json(body): Json<Value>) -> Json<Value> {
    Json(body)
}

async fn echo_id(version: ApiVersion, Path(id): Path<String>) -> String {
    format!("{id} at {version}")
}

#[derive(Deserialize)]
struct Names {
    #[serde(rename = "$dtId")]
    id: String,
    names: Vec<String>,
}

async fn names(Json(body): Json<Names>) -> String {
    format!("{}: {}", body.id, body.names.join(", "))
}

async fn panics() -> &'static str {
    panic!("a handler bug")
}

/// WARN and ERROR events, one line each: level, target, message and fields.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<String>>>);

impl Logs {
    fn lines(&self) -> Vec<String> {
        self.0.lock().expect("the log capture is not poisoned").clone()
    }
}

impl<S: Subscriber> Layer<S> for Logs {
    fn on_event(&self, event: &Event<'_>, _context: Context<'_, S>) {
        let level = *event.metadata().level();
        // More verbose levels compare greater: this keeps WARN and ERROR.
        if level > Level::WARN {
            return;
        }
        let mut line = format!("{level} {}:", event.metadata().target());
        event.record(&mut LineVisitor(&mut line));
        self.0.lock().expect("the log capture is not poisoned").push(line);
    }
}

struct LineVisitor<'a>(&'a mut String);

impl Visit for LineVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}
