//! The MQTT listener devices send telemetry to: `Listener::bind` binds `[mqtt] listen` (plain TCP; TLS is still to come), `Listener::run` accepts connections until shutdown, each served by `session`.
//!
//! At most `limits.connections_max` MQTT connections are served at once (a pool of its own, beside the HTTP face's); further clients wait in the listen backlog.
//! At shutdown the listener stops accepting and each session finishes the writes it has in flight, acknowledges them and closes; sessions still open after the grace period are dropped.
//! The wire format is `codec`'s (an MQTT codec crate); when a message is acknowledged is `session`'s; what a message does is `telemetry`'s.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::config::MqttConfig;
use crate::listener::StartError;
use crate::router::AppState;

mod codec;
mod session;

/// Bytes a packet may have beyond its body: the fixed header, a topic (at most 65,535 bytes) and MQTT 5 properties.
const PACKET_OVERHEAD_BYTES_MAX: usize = 96 * 1024;

/// A bound MQTT listener, not yet accepting.
pub(crate) struct Listener {
    listener: TcpListener,
    local_addr: SocketAddr,
    config: MqttConfig,
}

impl Listener {
    /// Binds `config.listen`; `None` when MQTT is off.
    pub(crate) async fn bind(config: &MqttConfig) -> Result<Option<Listener>, StartError> {
        let Some(address) = config.listen else { return Ok(None) };
        let listener = TcpListener::bind(address).await.map_err(|source| StartError::Bind { address, source })?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Bind { address, source })?;
        Ok(Some(Listener { listener, local_addr, config: config.clone() }))
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves connections until `shutdown` turns true, then lets open sessions finish within `grace`.
    pub(crate) async fn run(self, state: AppState, mut shutdown: watch::Receiver<bool>, grace: Duration) {
        let Listener { listener, local_addr, config } = self;
        let payload_bytes_max = state.limits.telemetry_payload_bytes_max.get();
        let settings = Arc::new(session::Settings {
            inflight_max: config.inflight_max.get(),
            connect_timeout: config.connect_timeout,
            packet_bytes_max: payload_bytes_max.saturating_add(PACKET_OVERHEAD_BYTES_MAX),
            limits: ingest::Limits { payload_bytes_max, ..ingest::Limits::default() },
            sessions: session::Sessions::default(),
        });
        tracing::info!(address = %local_addr, "serving MQTT");
        let slots = Arc::new(Semaphore::new(state.limits.connections_max.get()));
        let mut sessions = JoinSet::new();
        loop {
            // Finished sessions are reaped as they go, so the set holds only open ones.
            while sessions.try_join_next().is_some() {}
            let slot = tokio::select! {
                _ = stopping(&mut shutdown) => break,
                slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            };
            let (stream, peer) = tokio::select! {
                _ = stopping(&mut shutdown) => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        tracing::debug!(error = %err, "MQTT accept failed");
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                },
            };
            let span = tracing::debug_span!("mqtt", %peer);
            let (state, settings, shutdown) = (state.clone(), Arc::clone(&settings), shutdown.clone());
            sessions.spawn(
                async move {
                    let _slot = slot;
                    session::serve(stream, state, settings, shutdown).await;
                }
                .instrument(span),
            );
        }
        drop(listener);
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
