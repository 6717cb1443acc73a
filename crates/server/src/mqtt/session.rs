//! One MQTT connection: CONNECT and its authentication, then PUBLISH → telemetry → PUBACK, PINGREQ, SUBSCRIBE (refused), DISCONNECT and the keep-alive.
//!
//! The client id is the device's GUID, the username `{HostName}/{DeviceId}/?api-version=…` and the password an IoT Hub SAS token or a 2018 key-store token; anything else is refused in CONNACK and the connection closed.
//! Messages are stored in order, in batches: while one batch is being written, the next PUBLISH packets queue, and when the write is durable their PUBACKs go out in the order the packets came (as MQTT requires), and the queue becomes the next batch.
//! At most `Settings::inflight_max` messages are queued or being written; while that many are, nothing more is read from the socket, so a slow store slows the sender through TCP flow control rather than filling memory.
//! A refused message gets a negative PUBACK with a reason string in MQTT 5; MQTT 3.1.1 has none, so the connection is closed without acknowledging it (as its specification allows a server that will not take a message); a refused QoS 0 message is only counted.
//! A store failure closes the connection without acknowledging the batch: the device sends it again when it reconnects.
//! The stream is anything that reads and writes bytes (a TCP socket, or TLS over one): what is said on it does not depend on how it is carried.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use ingest::Telemetry;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::Instant;

use super::codec::{
    Closing, Codec, Connect, DecodeError, Incoming, Outgoing, PubAckRefusal, Publish, QoS, Refused, Version,
};
use super::stopping;
use crate::error::ApiError;
use crate::router::AppState;
use crate::telemetry::{self, Mode, Reason, Refusal, Transport};

/// Counts connections by result (`accepted`, or why they were refused).
const CONNECTIONS_TOTAL: &str = "mqtt_connections_total";

/// Bytes read from the socket at a time.
const READ_CHUNK_BYTES: usize = 16 * 1024;

/// How long a write to a client may wait for it to read.
const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What every session of a listener shares.
pub(crate) struct Settings {
    pub(crate) inflight_max: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) packet_bytes_max: usize,
    pub(crate) limits: ingest::Limits,
    pub(crate) sessions: Sessions,
}

/// The open session of each device, so a device that connects again takes over from its old connection (MQTT-3.1.4-2), which finishes what it has in flight and closes.
#[derive(Default)]
pub(crate) struct Sessions(std::sync::Mutex<std::collections::HashMap<String, (u64, watch::Sender<bool>)>>);

impl Sessions {
    /// Registers a new session of `device`, telling its previous one to close; the receiver turns true when a later one takes over.
    fn enter(&self, device: &str, serial: u64) -> watch::Receiver<bool> {
        let (taken_over, watch) = watch::channel(false);
        let mut sessions = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, previous)) = sessions.insert(device.to_owned(), (serial, taken_over)) {
            let _ = previous.send(true);
        }
        watch
    }

    /// Forgets a session that ended, unless a later one of the device has taken its place.
    fn leave(&self, device: &str, serial: u64) {
        let mut sessions = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if sessions.get(device).is_some_and(|(current, _)| *current == serial) {
            sessions.remove(device);
        }
    }
}

/// Numbers sessions, so a session leaving does not forget a newer one of the same device.
static SESSION_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Serves one connection until it closes or the server shuts down.
pub(crate) async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    state: AppState,
    settings: Arc<Settings>,
    shutdown: watch::Receiver<bool>,
) {
    let mut connection = Connection {
        stream,
        codec: Codec::new(settings.packet_bytes_max, settings.inflight_max),
        input: BytesMut::new(),
        output: BytesMut::new(),
    };
    let connect = match tokio::time::timeout(settings.connect_timeout, connection.next()).await {
        Err(_) => return tracing::debug!("no CONNECT in time; closing"),
        Ok(Ok(Some(Incoming::Connect(connect)))) => connect,
        Ok(Ok(_)) => return,
        Ok(Err(DecodeError::ProtocolLevel(level))) => {
            tracing::debug!(level, "refusing a protocol level this server does not speak");
            connected(&state, "refused_protocol_version");
            connection.send(Outgoing::ConnAck(Some(Refused::ProtocolVersion))).await;
            return connection.close().await;
        }
        Ok(Err(err)) => return tracing::debug!(error = %err, "closing a connection that did not CONNECT"),
    };
    let (device, token_expiry) = match admit(&state, &connect) {
        Ok(admitted) => admitted,
        Err((refused, why)) => {
            tracing::debug!(client_id = %connect.client_id, reason = %why, "refusing a connection");
            let label = match refused {
                Refused::ProtocolVersion => "refused_protocol_version",
                Refused::ClientId => "refused_client_id",
                Refused::BadCredentials => "refused_credentials",
                Refused::NotAuthorized => "refused_not_authorized",
            };
            connected(&state, label);
            connection.send(Outgoing::ConnAck(Some(refused))).await;
            return connection.close().await;
        }
    };
    connected(&state, "accepted");
    connection.send(Outgoing::ConnAck(None)).await;
    tracing::debug!(device = %device, version = ?connection.codec.version(), "device connected");
    let serial = SESSION_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let taken_over = settings.sessions.enter(&device, serial);
    let (sessions, leaving) = (Arc::clone(&settings), device.clone());
    let session = Session {
        state,
        settings,
        device,
        keep_alive: (connect.keep_alive > 0).then(|| Duration::from_millis(u64::from(connect.keep_alive) * 1500)),
        // An IoT Hub closes a device's connection when its token expires; the device reconnects with a new one.
        token_expires: Instant::now()
            + Duration::from_secs(u64::try_from(token_expiry.saturating_sub(telemetry::unix_now())).unwrap_or(0)),
        queue: VecDeque::new(),
        writing: None,
    };
    session.run(connection, shutdown, taken_over).await;
    sessions.sessions.leave(&leaving, serial);
}

/// Checks a CONNECT: the device it names and the token it carries.
fn admit(state: &AppState, connect: &Connect) -> Result<(String, i64), (Refused, String)> {
    if connect.client_id.is_empty() {
        return Err((Refused::ClientId, "the client id is empty; it is the device id".to_owned()));
    }
    let Some(username) = &connect.username else {
        return Err((Refused::BadCredentials, "no username".to_owned()));
    };
    let username = ingest::sas::parse_username(username).map_err(|err| (Refused::BadCredentials, err.to_string()))?;
    if username.device_id != connect.client_id {
        return Err((
            Refused::BadCredentials,
            format!("the username names device '{}', the client id '{}'", username.device_id, connect.client_id),
        ));
    }
    let Some(password) = &connect.password else {
        return Err((Refused::BadCredentials, "no password; it is the device's SAS token".to_owned()));
    };
    let now = telemetry::unix_now();
    state
        .data
        .tenant()
        .read_all(|tenant| telemetry::authenticate(tenant, Some(&connect.client_id), password, now))
        .map_err(|err| (Refused::NotAuthorized, err.to_string()))
}

/// Counts a connection by its result: `accepted`, why it was refused, or why its TLS handshake failed (`mqtt`).
pub(super) fn connected(state: &AppState, result: &'static str) {
    state.metrics.record(|| metrics::counter!(CONNECTIONS_TOTAL, "result" => result).increment(1));
}

/// The stream and its buffers.
///
/// It is never read and written at the same time: the session reads, decodes, then writes what it has to say, so the stream is not split.
struct Connection<S> {
    stream: S,
    codec: Codec,
    input: BytesMut,
    output: BytesMut,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// The next packet, reading as needed; `None` at the end of the stream.
    async fn next(&mut self) -> Result<Option<Incoming>, DecodeError> {
        loop {
            if let Some(packet) = self.codec.decode(&mut self.input)? {
                return Ok(Some(packet));
            }
            if !self.read().await {
                return Ok(None);
            }
        }
    }

    /// Reads more bytes; false at the end of the stream or on an error.
    async fn read(&mut self) -> bool {
        self.input.reserve(READ_CHUNK_BYTES);
        matches!(self.stream.read_buf(&mut self.input).await, Ok(n) if n > 0)
    }

    fn queue(&mut self, packet: Outgoing) {
        self.codec.encode(packet, &mut self.output);
    }

    /// Writes what is queued, through any buffer of the stream (TLS keeps records until flushed); false when the peer is gone, or reads nothing of it for `WRITE_TIMEOUT` (a client that stops reading would otherwise hold its session and its connection slot for ever).
    async fn flush(&mut self) -> bool {
        if self.output.is_empty() {
            return true;
        }
        let stream = &mut self.stream;
        let output = &self.output;
        let written = tokio::time::timeout(WRITE_TIMEOUT, async move {
            stream.write_all(output).await?;
            stream.flush().await
        })
        .await;
        self.output.clear();
        matches!(written, Ok(Ok(())))
    }

    /// Ends the stream (over TLS, with its close_notify alert first), within `WRITE_TIMEOUT`.
    async fn close(&mut self) {
        let _ = tokio::time::timeout(WRITE_TIMEOUT, self.stream.shutdown()).await;
    }

    async fn send(&mut self, packet: Outgoing) {
        self.queue(packet);
        self.flush().await;
    }
}

/// A PUBLISH waiting for its turn: the packet id to acknowledge (QoS 1) and the message, or why it was refused on arrival.
struct Entry {
    pkid: Option<u16>,
    message: Result<Telemetry, Refusal>,
}

/// The batch being written: its entries, and the write that answers for those with a message.
type Writing = (Vec<Entry>, Pin<Box<dyn Future<Output = Result<Vec<Result<(), Refusal>>, ApiError>> + Send>>);

/// An admitted connection.
struct Session {
    state: AppState,
    settings: Arc<Settings>,
    device: String,
    /// 1.5 times the client's keep-alive; `None` when it turned the keep-alive off.
    keep_alive: Option<Duration>,
    /// When the token the device connected with expires.
    token_expires: Instant,
    queue: VecDeque<Entry>,
    writing: Option<Writing>,
}

/// What the loop does next.
enum Step {
    Go,
    /// Close at once, with a DISCONNECT in MQTT 5 when there is a reason to give.
    Close(Option<Closing>),
    /// Read no more; close once the writes in flight are durable and acknowledged.
    Drain(Option<Closing>),
}

impl Session {
    async fn run<S: AsyncRead + AsyncWrite + Unpin>(
        mut self,
        mut connection: Connection<S>,
        mut shutdown: watch::Receiver<bool>,
        mut taken_over: watch::Receiver<bool>,
    ) {
        let mut deadline = self.keep_alive.map(|k| Instant::now() + k);
        let closing = loop {
            if self.writing.is_none() && !self.queue.is_empty() {
                self.start_batch();
            }
            let in_flight = self.queue.len() + self.writing.as_ref().map_or(0, |(entries, _)| entries.len());
            // Whole packets left in the input when the window filled are read as soon as it has room again, not when the client next sends.
            if in_flight < self.settings.inflight_max && !connection.input.is_empty() {
                match self.decode(&mut connection) {
                    Step::Go => {}
                    Step::Close(closing) => break closing,
                    Step::Drain(closing) => break self.drain(&mut connection, closing).await,
                }
                if self.writing.is_none() && !self.queue.is_empty() {
                    self.start_batch();
                }
            }
            let in_flight = self.queue.len() + self.writing.as_ref().map_or(0, |(entries, _)| entries.len());
            let can_read = in_flight < self.settings.inflight_max;
            if !can_read {
                // The client waits on us, not the other way round: its keep-alive is not counted meanwhile.
                deadline = self.keep_alive.map(|k| Instant::now() + k);
            }
            let step = tokio::select! {
                _ = stopping(&mut shutdown) => Step::Drain(Some(Closing::ShuttingDown)),
                _ = stopping(&mut taken_over) => Step::Drain(Some(Closing::SessionTakenOver)),
                () = sleep_until(Some(self.token_expires)) => {
                    tracing::debug!(device = %self.device, "the device's token expired; closing");
                    Step::Drain(Some(Closing::TokenExpired))
                }
                outcome = async { (&mut self.writing.as_mut().expect("polled only while writing").1).await }, if self.writing.is_some() => {
                    let (entries, _) = self.writing.take().expect("a batch was being written");
                    self.acknowledge(&mut connection, entries, outcome)
                }
                read = connection.read(), if can_read => {
                    if read {
                        deadline = self.keep_alive.map(|k| Instant::now() + k);
                        self.decode(&mut connection)
                    } else {
                        Step::Drain(None)
                    }
                }
                () = sleep_until(deadline), if can_read => {
                    tracing::debug!(device = %self.device, "keep-alive expired; closing");
                    Step::Close(Some(Closing::KeepAliveTimeout))
                }
            };
            if !connection.flush().await {
                break None;
            }
            match step {
                Step::Go => {}
                Step::Close(closing) => break closing,
                Step::Drain(closing) => break self.drain(&mut connection, closing).await,
            }
        };
        if let Some(closing) = closing {
            connection.send(Outgoing::Disconnect(closing)).await;
        }
        connection.close().await;
    }

    /// Reads every whole packet in the input, as long as the window has room.
    fn decode<S: AsyncRead + AsyncWrite + Unpin>(&mut self, connection: &mut Connection<S>) -> Step {
        loop {
            let in_flight = self.queue.len() + self.writing.as_ref().map_or(0, |(entries, _)| entries.len());
            if in_flight >= self.settings.inflight_max {
                return Step::Go;
            }
            let packet = match connection.codec.decode(&mut connection.input) {
                Ok(Some(packet)) => packet,
                Ok(None) => return Step::Go,
                Err(err) => {
                    tracing::debug!(device = %self.device, error = %err, "closing a connection that sent a malformed packet");
                    let closing = match err {
                        DecodeError::SecondConnect | DecodeError::NotConnect => Closing::ProtocolError,
                        _ => Closing::Malformed,
                    };
                    return Step::Close(Some(closing));
                }
            };
            match packet {
                Incoming::Publish(publish) => {
                    if let Some(closing) = self.accept(publish) {
                        return Step::Close(Some(closing));
                    }
                }
                Incoming::PingReq => connection.queue(Outgoing::PingResp),
                Incoming::Subscribe { pkid, filters } => connection.queue(Outgoing::SubAck { pkid, filters }),
                Incoming::Unsubscribe { pkid, filters } => connection.queue(Outgoing::UnsubAck { pkid, filters }),
                Incoming::Disconnect => return Step::Drain(None),
                Incoming::Connect(_) => return Step::Close(Some(Closing::ProtocolError)),
                Incoming::Unexpected(name) => {
                    tracing::debug!(device = %self.device, packet = name, "closing a connection that sent a packet a device never sends");
                    return Step::Close(Some(Closing::ProtocolError));
                }
            }
        }
    }

    /// Queues a PUBLISH, read into a message or refused on arrival; a QoS or alias this server does not take closes the connection.
    fn accept(&mut self, publish: Publish) -> Option<Closing> {
        let Publish { qos, pkid, topic, payload, user_properties, topic_alias } = publish;
        let pkid = match qos {
            QoS::AtMostOnce => None,
            QoS::AtLeastOnce => Some(pkid),
            QoS::ExactlyOnce => return Some(Closing::QoSNotSupported),
        };
        if topic_alias {
            return Some(Closing::TopicAliasInvalid);
        }
        let message = Telemetry::from_mqtt(&topic, user_properties, payload, &self.settings.limits)
            .map_err(Refusal::from)
            .and_then(|message| {
                if message.device_id == self.device {
                    Ok(message)
                } else {
                    Err(Refusal {
                        reason: Reason::NotTheDevice,
                        message: format!(
                            "device '{}' publishes on its own topic, not on device '{}''s",
                            self.device, message.device_id
                        ),
                    })
                }
            });
        if let Err(refusal) = &message {
            telemetry::count(&self.state, Transport::Mqtt, Err(refusal.reason));
        }
        self.queue.push_back(Entry { pkid, message });
        None
    }

    /// Starts writing everything queued as one batch.
    fn start_batch(&mut self) {
        let entries: Vec<Entry> = self.queue.drain(..).collect();
        let messages: Vec<Telemetry> = entries.iter().filter_map(|e| e.message.as_ref().ok().cloned()).collect();
        let (state, device) = (self.state.clone(), self.device.clone());
        let write: Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(async move {
            if messages.is_empty() {
                return Ok(Vec::new());
            }
            telemetry::store(&state, Transport::Mqtt, &device, messages, Mode::Each).await
        });
        self.writing = Some((entries, write));
    }

    /// Acknowledges a written batch in order; a refusal MQTT 3.1.1 cannot say, or a store failure, closes the connection.
    fn acknowledge<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        connection: &mut Connection<S>,
        entries: Vec<Entry>,
        outcome: Result<Vec<Result<(), Refusal>>, ApiError>,
    ) -> Step {
        let mut outcomes = match outcome {
            Ok(outcomes) => outcomes.into_iter(),
            Err(err) => {
                tracing::debug!(device = %self.device, error = %err, "the store failed; closing without acknowledging");
                return Step::Close(Some(Closing::Unavailable));
            }
        };
        let version = connection.codec.version();
        for entry in entries {
            let result = match entry.message {
                Ok(_) => outcomes.next().unwrap_or_else(|| {
                    Err(Refusal {
                        reason: Reason::NotTried,
                        message: "the batch lost track of this message".to_owned(),
                    })
                }),
                Err(refusal) => Err(refusal),
            };
            let Some(pkid) = entry.pkid else { continue };
            match result {
                Ok(()) => connection.queue(Outgoing::PubAck { pkid, refusal: None }),
                Err(refusal) if version == Some(Version::V5) => {
                    tracing::debug!(device = %self.device, pkid, reason = refusal.reason.label(), "refusing a message");
                    connection.queue(Outgoing::PubAck {
                        pkid,
                        refusal: Some((puback_refusal(refusal.reason), refusal.message)),
                    });
                }
                // MQTT 3.1.1 has no negative PUBACK. A refusal that sending again cannot cure (no such sensor, a bad message, the device deleted) is acknowledged, having been counted, so a device does not resend it for ever; one that might pass later closes the connection unacknowledged, so the device sends it again.
                Err(refusal) if refusal.reason != Reason::NotTried => {
                    tracing::debug!(device = %self.device, pkid, reason = refusal.reason.label(), message = %refusal.message, "acknowledging a refused message: MQTT 3.1.1 cannot refuse it in its PUBACK");
                    connection.queue(Outgoing::PubAck { pkid, refusal: None });
                }
                Err(refusal) => {
                    tracing::debug!(device = %self.device, pkid, reason = refusal.reason.label(), message = %refusal.message, "closing: MQTT 3.1.1 cannot refuse a message in its PUBACK");
                    return Step::Close(Some(Closing::NotAccepted));
                }
            }
        }
        Step::Go
    }

    /// Stops reading, lets the batches in flight become durable and acknowledges them, then closes with `closing`.
    async fn drain<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        connection: &mut Connection<S>,
        closing: Option<Closing>,
    ) -> Option<Closing> {
        loop {
            if self.writing.is_none() && !self.queue.is_empty() {
                self.start_batch();
            }
            let Some((entries, write)) = self.writing.take() else { return closing };
            let outcome = write.await;
            let step = self.acknowledge(connection, entries, outcome);
            if !connection.flush().await {
                return None;
            }
            if let Step::Close(early) | Step::Drain(early) = step {
                return early;
            }
        }
    }
}

/// How MQTT 5 says a refusal.
fn puback_refusal(reason: Reason) -> PubAckRefusal {
    match reason {
        Reason::InvalidTopic => PubAckRefusal::TopicNameInvalid,
        Reason::NotTheDevice => PubAckRefusal::NotAuthorized,
        Reason::InvalidMessage => PubAckRefusal::PayloadFormatInvalid,
        Reason::TooLarge | Reason::Busy => PubAckRefusal::QuotaExceeded,
        Reason::UnknownSensor
        | Reason::OtherDevicesSensor
        | Reason::UnknownDevice
        | Reason::Refused
        | Reason::NotTried => PubAckRefusal::ImplementationSpecific,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
