//! The MQTT listener devices send telemetry to: `Listener::bind` binds `[mqtt] listen` (plain TCP) and `[mqtt] tls_listen` (TLS), either or both, and `Listener::run` accepts connections on them until shutdown, each served by `session`.
//!
//! Both addresses share one pool of `limits.connections_max` connections served at once (beside the HTTP face's; further clients wait in the listen backlog) and one table of sessions, so a device that reconnects over the other takes over its session all the same.
//! A TLS connection first completes its handshake (rustls through `tls`, no ALPN, no client certificates) within `[server] tls_handshake_timeout_ms`, holding a connection slot meanwhile; a failed or late handshake is counted (`mqtt_connections_total`), logged at DEBUG (a wrong port or a scanner is the client's problem) and closes that connection only.
//! `session` then serves the decrypted stream exactly as a plain one: it is generic over the stream.
//! At shutdown the listener stops accepting, handshakes under way are dropped, and each session finishes the writes it has in flight, acknowledges them and closes; sessions still open after the grace period are dropped.
//! The wire format is `codec`'s (an MQTT codec crate); when a message is acknowledged is `session`'s; what a message does is `telemetry`'s.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use crate::config::MqttConfig;
use crate::listener::StartError;
use crate::router::AppState;
use crate::tls;

mod codec;
mod session;

/// Bytes a packet may have beyond its body: the fixed header, a topic (at most 65,535 bytes) and MQTT 5 properties.
const PACKET_OVERHEAD_BYTES_MAX: usize = 96 * 1024;

/// A bound MQTT listener, not yet accepting.
pub(crate) struct Listener {
    /// Plain MQTT (`[mqtt] listen`).
    plain: Option<Port>,
    /// MQTT over TLS (`[mqtt] tls_listen`) and its acceptor.
    secure: Option<(Port, TlsAcceptor)>,
    config: MqttConfig,
    tls_handshake_timeout: Duration,
}

/// A bound socket and its address.
struct Port {
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl Listener {
    /// Binds `config.listen` and `config.tls`'s address, after reading the TLS certificate (so a bad one never leaves a port half open); `None` when both are off.
    pub(crate) async fn bind(
        config: &MqttConfig,
        tls_handshake_timeout: Duration,
    ) -> Result<Option<Listener>, StartError> {
        let secure = match &config.tls {
            Some(tls) => Some((tls.listen, tls::acceptor(&tls.certificate, &[])?)),
            None => None,
        };
        let plain = match config.listen {
            Some(address) => Some(Port::bind(address).await?),
            None => None,
        };
        let secure = match secure {
            Some((address, acceptor)) => Some((Port::bind(address).await?, acceptor)),
            None => None,
        };
        if plain.is_none() && secure.is_none() {
            return Ok(None);
        }
        Ok(Some(Listener { plain, secure, config: config.clone(), tls_handshake_timeout }))
    }

    /// The bound address of plain MQTT; `None` when it is off.
    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        self.plain.as_ref().map(|port| port.local_addr)
    }

    /// The bound address of MQTT over TLS; `None` when it is off.
    pub(crate) fn tls_local_addr(&self) -> Option<SocketAddr> {
        self.secure.as_ref().map(|(port, _)| port.local_addr)
    }

    /// Serves connections until `shutdown` turns true, then lets open sessions finish within `grace`.
    pub(crate) async fn run(self, state: AppState, mut shutdown: watch::Receiver<bool>, grace: Duration) {
        let Listener { plain, secure, config, tls_handshake_timeout } = self;
        let payload_bytes_max = state.limits.telemetry_payload_bytes_max.get();
        let settings = Arc::new(session::Settings {
            inflight_max: config.inflight_max.get(),
            connect_timeout: config.connect_timeout,
            packet_bytes_max: payload_bytes_max.saturating_add(PACKET_OVERHEAD_BYTES_MAX),
            limits: ingest::Limits { payload_bytes_max, ..ingest::Limits::default() },
            sessions: session::Sessions::default(),
        });
        if let Some(port) = &plain {
            tracing::info!(address = %port.local_addr, "serving MQTT");
        }
        if let Some((port, _)) = &secure {
            tracing::info!(address = %port.local_addr, "serving MQTT over TLS");
        }
        let slots = Arc::new(Semaphore::new(state.limits.connections_max.get()));
        let mut sessions = JoinSet::new();
        loop {
            // Finished sessions are reaped as they go, so the set holds only open ones.
            while sessions.try_join_next().is_some() {}
            let slot = tokio::select! {
                _ = stopping(&mut shutdown) => break,
                slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            };
            let (accepted, acceptor) = tokio::select! {
                _ = stopping(&mut shutdown) => break,
                accepted = accept(plain.as_ref()) => (accepted, None),
                accepted = accept(secure.as_ref().map(|(port, _)| port)) => {
                    (accepted, secure.as_ref().map(|(_, acceptor)| acceptor.clone()))
                }
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::debug!(error = %err, "MQTT accept failed");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
            };
            let span = tracing::debug_span!("mqtt", %peer, tls = acceptor.is_some());
            let (state, settings, shutdown) = (state.clone(), Arc::clone(&settings), shutdown.clone());
            sessions.spawn(
                async move {
                    let _slot = slot;
                    serve(stream, acceptor, tls_handshake_timeout, state, settings, shutdown).await;
                }
                .instrument(span),
            );
        }
        drop((plain, secure));
        let open = sessions.len();
        if tokio::time::timeout(grace, async { while sessions.join_next().await.is_some() {} }).await.is_err() {
            tracing::info!(open, "MQTT sessions still open after the grace period are dropped");
        }
        sessions.shutdown().await;
    }
}

/// Completes once the server shuts down (`true` is sent, or the sender is gone).
pub(crate) async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

impl Port {
    async fn bind(address: SocketAddr) -> Result<Port, StartError> {
        let listener = TcpListener::bind(address).await.map_err(|source| StartError::Bind { address, source })?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Bind { address, source })?;
        Ok(Port { listener, local_addr })
    }
}

/// The next connection on `port`; never, when it is off.
async fn accept(port: Option<&Port>) -> io::Result<(TcpStream, SocketAddr)> {
    match port {
        Some(port) => port.listener.accept().await,
        None => std::future::pending().await,
    }
}

/// Serves one accepted connection: over TLS once the handshake completes when `acceptor` is given, as it is otherwise.
async fn serve(
    stream: TcpStream,
    acceptor: Option<TlsAcceptor>,
    handshake_timeout: Duration,
    state: AppState,
    settings: Arc<session::Settings>,
    mut shutdown: watch::Receiver<bool>,
) {
    // Acknowledgements are small and latency matters more than packet count.
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = acceptor else {
        return session::serve(stream, state, settings, shutdown).await;
    };
    let handshake = tokio::select! {
        // Nothing is in flight before the handshake, so shutdown does not wait for it.
        _ = stopping(&mut shutdown) => return,
        handshake = tokio::time::timeout(handshake_timeout, acceptor.accept(stream)) => handshake,
    };
    match handshake {
        Ok(Ok(stream)) => session::serve(stream, state, settings, shutdown).await,
        // A failed handshake is the client's problem (plain MQTT on the TLS port, an untrusted certificate, a scanner); it is not worth a warning.
        Ok(Err(err)) => {
            tracing::debug!(error = %err, "TLS handshake failed");
            session::connected(&state, "tls_handshake_failed");
        }
        Err(_) => {
            tracing::debug!(timeout_ms = handshake_timeout.as_millis(), "TLS handshake timed out");
            session::connected(&state, "tls_handshake_timeout");
        }
    }
}
