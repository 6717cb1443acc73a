//! The connection side of the server: `Server::bind` binds the listening socket (so callers learn the real port before serving), `BoundServer::run` accepts connections until a shutdown future completes, then drains them.
//!
//! Each connection is served by hyper's HTTP/1.1 + HTTP/2 auto builder, after a TLS handshake when `Config::tls` is set.
//! At most `limits.connections_max` connections are served at once; further clients wait in the listen backlog rather than being accepted and starved.
//! After shutdown, open connections get `Config::shutdown_grace` to finish their requests (idle keep-alive connections close at once).
//! What is served on a connection is `router::app`'s business, not this file's.
//! Background work runs beside it until the server stops: the upkeep of metrics and query cursors, the history retention sweep (`history::sweeper`), and the demo simulation when asked for.
//! Beside the HTTP face, `Server::bind` binds the MQTT listener of `[mqtt] listen` and `tls_listen` (those not off), and `run` serves it until the same shutdown (`mqtt`).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use store::StoreError;

use crate::config::Config;
use crate::cursors::Cursors;
use crate::data::DataPlane;
use crate::http_metrics::{Metrics, UPKEEP_INTERVAL};
use crate::jobs::Jobs;
use crate::router::{self, AppState};
use crate::{routes, tls};

/// How long a client may take to send a request's head on HTTP/1.1 (slow-header protection).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest pause of the accept loop after an error such as running out of file descriptors.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Starts servers.
pub struct Server;

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("bind {address}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("read TLS certificate {}", path.display())]
    Certificate {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("read TLS private key {}", path.display())]
    PrivateKey {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("set up TLS")]
    Tls(#[source] rustls::Error),
    #[error("open the store")]
    Store(#[source] StoreError),
}

/// A server whose socket is bound but which does not accept connections until `run`.
pub struct BoundServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    app: Router,
    metrics: Metrics,
    config: Config,
    /// The data plane, for background work such as the demo simulation.
    data: Arc<DataPlane>,
    /// Swept of expired query results by the upkeep task.
    cursors: Arc<Cursors>,
    /// The bound MQTT listener and the state its sessions use; `None` when MQTT is off.
    mqtt: Option<(crate::mqtt::Listener, AppState)>,
}

impl Server {
    /// Opens the embedded store in `config.data_dir` (created when missing), loads every tenant's graph, binds `config.listen` and prepares the shipped routes.
    pub async fn bind(config: Config) -> Result<BoundServer, StartError> {
        let dir = config.data_dir.clone();
        let demo = config.demo;
        let graph_limits = config.limits.graph();
        let containment = config.containment.clone();
        let opened = tokio::task::spawn_blocking(move || -> Result<(DataPlane, Jobs), StoreError> {
            let data = DataPlane::open_dir(&dir, graph_limits, containment)?;
            if demo {
                crate::demo::load(&data)
                    .map_err(|e| StoreError::Internal { what: format!("load the demo building: {e}") })?;
            }
            let jobs = Jobs::load(&data)?;
            Ok((data, jobs))
        })
        .await
        .map_err(|join| {
            StartError::Store(StoreError::Internal { what: format!("loading the store panicked: {join}") })
        })?;
        let (data, jobs) = opened.map_err(StartError::Store)?;
        let data_plane = routes::data_plane(&config.limits);
        let state = AppState::with_data(&config, Arc::new(data), Arc::new(jobs));
        Server::bind_state(config, state, data_plane).await
    }

    /// Binds `config.listen` and prepares `data_plane` in place of the shipped data-plane routes, framed as `router::app` frames them; for tests of the HTTP machinery.
    pub async fn bind_with_data_plane(config: Config, data_plane: Router<AppState>) -> Result<BoundServer, StartError> {
        let state = AppState::new(&config);
        Server::bind_state(config, state, data_plane).await
    }

    async fn bind_state(
        config: Config,
        state: AppState,
        data_plane: Router<AppState>,
    ) -> Result<BoundServer, StartError> {
        let metrics = state.metrics.clone();
        let data = Arc::clone(&state.data);
        let cursors = Arc::clone(&state.cursors);
        let mqtt_state = state.clone();
        let app = router::app(state, data_plane);
        // TLS files are read before the socket is bound, so a bad certificate never leaves a port half open.
        let acceptor = config.tls.as_ref().map(|tls| tls::acceptor(tls, tls::ALPN_HTTP)).transpose()?;
        let address = config.listen;
        let listener = TcpListener::bind(address).await.map_err(|source| StartError::Bind { address, source })?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Bind { address, source })?;
        let mqtt = crate::mqtt::Listener::bind(&config.mqtt, config.tls_handshake_timeout)
            .await?
            .map(|listener| (listener, mqtt_state));
        Ok(BoundServer { listener, local_addr, acceptor, app, metrics, config, data, cursors, mqtt })
    }
}

impl BoundServer {
    /// The bound address; with port 0 in the config, the port the OS picked.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The bound address of plain MQTT (port 0 in the config: the port the OS picked); `None` when it is off.
    pub fn mqtt_local_addr(&self) -> Option<SocketAddr> {
        self.mqtt.as_ref().and_then(|(listener, _)| listener.local_addr())
    }

    /// `mqtt://ADDR` with the bound address of plain MQTT; `None` when it is off.
    pub fn mqtt_url(&self) -> Option<String> {
        self.mqtt_local_addr().map(|address| format!("mqtt://{address}"))
    }

    /// The bound address of MQTT over TLS (port 0 in the config: the port the OS picked); `None` when it is off.
    pub fn mqtt_tls_local_addr(&self) -> Option<SocketAddr> {
        self.mqtt.as_ref().and_then(|(listener, _)| listener.tls_local_addr())
    }

    /// `mqtts://ADDR` with the bound address of MQTT over TLS; `None` when it is off.
    pub fn mqtt_tls_url(&self) -> Option<String> {
        self.mqtt_tls_local_addr().map(|address| format!("mqtts://{address}"))
    }

    /// `http://ADDR` or `https://ADDR` with the bound address.
    pub fn url(&self) -> String {
        let scheme = if self.acceptor.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.local_addr)
    }

    /// Serves connections until `shutdown` completes, then stops accepting and waits up to `Config::shutdown_grace` for open connections.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let BoundServer { listener, local_addr, acceptor, app, metrics, config, data, cursors, mqtt } = self;
        let (stop_mqtt, mqtt_stopped) = tokio::sync::watch::channel(false);
        let mqtt = mqtt.map(|(listener, state)| tokio::spawn(listener.run(state, mqtt_stopped, config.shutdown_grace)));
        let _history_sweep = AbortOnDrop(tokio::spawn(crate::history::sweeper(Arc::clone(&data), config.history)));
        let _demo = config.demo.then(|| AbortOnDrop(tokio::spawn(crate::demo::run(app.clone()))));
        tracing::info!(address = %local_addr, tls = acceptor.is_some(), data_dir = %config.data_dir.display(), "serving");
        let _upkeep = AbortOnDrop(tokio::spawn(async move {
            let mut interval = tokio::time::interval(UPKEEP_INTERVAL);
            loop {
                interval.tick().await;
                metrics.run_upkeep();
                cursors.sweep(std::time::Instant::now());
            }
        }));
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
        builder.http2().timer(TokioTimer::new());
        let connection = Connection {
            builder: Arc::new(builder),
            acceptor,
            app,
            tls_handshake_timeout: config.tls_handshake_timeout,
        };
        let graceful = GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(config.limits.connections_max.get()));
        let mut backoff = Duration::ZERO;
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let slot = tokio::select! {
                () = &mut shutdown => break,
                slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            };
            let (stream, peer) = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        backoff = accept_failed(&err, backoff);
                        tokio::time::sleep(backoff).await;
                        continue;
                    }
                },
            };
            backoff = Duration::ZERO;
            let connection = connection.clone();
            let watcher = graceful.watcher();
            let span = tracing::debug_span!("connection", %peer);
            tokio::spawn(
                async move {
                    let _slot = slot;
                    connection.serve(stream, watcher).await;
                }
                .instrument(span),
            );
        }
        drop(listener);
        let _ = stop_mqtt.send(true);
        data.stop();
        tracing::info!(open_connections = graceful.count(), "shutting down: no new connections");
        match tokio::time::timeout(config.shutdown_grace, graceful.shutdown()).await {
            Ok(()) => tracing::info!("stopped"),
            Err(_) => tracing::warn!(
                grace_ms = config.shutdown_grace.as_millis(),
                "stopped with connections still open after the grace period"
            ),
        }
        // The MQTT listener got the same grace and stops within it.
        if let Some(mqtt) = mqtt
            && let Err(err) = mqtt.await
        {
            tracing::error!(error = %err, "the MQTT listener panicked");
        }
    }
}

/// What serving one connection needs; cloned into each connection's task.
#[derive(Clone)]
struct Connection {
    builder: Arc<auto::Builder<TokioExecutor>>,
    acceptor: Option<TlsAcceptor>,
    app: Router,
    tls_handshake_timeout: Duration,
}

impl Connection {
    async fn serve(self, stream: TcpStream, watcher: hyper_util::server::graceful::Watcher) {
        // Responses are small and latency matters more than packet count.
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(self.app);
        let served = match self.acceptor {
            None => watcher.watch(self.builder.serve_connection_with_upgrades(TokioIo::new(stream), service)).await,
            Some(acceptor) => match tokio::time::timeout(self.tls_handshake_timeout, acceptor.accept(stream)).await {
                Ok(Ok(stream)) => {
                    watcher.watch(self.builder.serve_connection_with_upgrades(TokioIo::new(stream), service)).await
                }
                // A failed handshake is the client's problem (a wrong certificate, a port scan); it is not worth a warning.
                Ok(Err(err)) => {
                    tracing::debug!(error = %err, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!("TLS handshake timed out");
                    return;
                }
            },
        };
        if let Err(err) = served {
            tracing::debug!(error = %err, "connection closed with an error");
        }
    }
}

/// Logs a failed `accept` and returns how long to pause: not at all for a connection the peer abandoned, increasingly for resource exhaustion.
fn accept_failed(err: &io::Error, backoff: Duration) -> Duration {
    match err.kind() {
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted => {
            tracing::debug!(error = %err, "accept failed");
            Duration::ZERO
        }
        _ => {
            let backoff = (backoff * 2).clamp(Duration::from_millis(5), ACCEPT_BACKOFF_MAX);
            tracing::warn!(error = %err, backoff_ms = backoff.as_millis(), "accept failed; pausing");
            backoff
        }
    }
}

/// Aborts a background task when the owner goes away, including when `run`'s future is dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
