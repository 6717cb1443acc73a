//! The MQTT wire format, through `rumqttc`'s packet codec (its `mqttbytes` modules, for MQTT 3.1.1 and 5): `Codec` reads `Incoming` packets and writes `Outgoing` ones in the version the client connected with, so the session logic is written once for both.
//!
//! The version is the protocol level of the first packet, which must be CONNECT; until then nothing else is read. MQTT 3.1 (`MQIsdp`) is refused as an unacceptable protocol version.
//! Only what the session needs crosses this file's boundary: a PUBLISH's topic, QoS, packet id, body and MQTT 5 user properties; a CONNECT's client id, keep-alive and credentials.
//! No byte is encoded or decoded by hand here, with one exception the codec needs: its MQTT 5 reader refuses a DISCONNECT without a reason code, which the specification allows, so that packet is recognised from its fixed header (type and length) as the codec frames it.

use bytes::BytesMut;
use rumqttc::mqttbytes::v4;
use rumqttc::v5::mqttbytes::v5;

/// The protocol a client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    /// MQTT 3.1.1 (protocol level 4).
    V311,
    /// MQTT 5 (protocol level 5).
    V5,
}

/// What a CONNECT says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Connect {
    pub(crate) client_id: String,
    /// Seconds; 0 turns the keep-alive off.
    pub(crate) keep_alive: u16,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
}

/// The quality of service of a PUBLISH, named as MQTT names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names, reason = "the specification's names")]
pub(crate) enum QoS {
    AtMostOnce,
    AtLeastOnce,
    ExactlyOnce,
}

/// What a PUBLISH carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Publish {
    pub(crate) qos: QoS,
    /// 0 for QoS 0.
    pub(crate) pkid: u16,
    pub(crate) topic: String,
    pub(crate) payload: Vec<u8>,
    /// MQTT 5 user properties; none in MQTT 3.1.1.
    pub(crate) user_properties: Vec<(String, String)>,
    /// An MQTT 5 topic alias, which this server never allows (it announces a maximum of 0).
    pub(crate) topic_alias: bool,
}

/// A packet from the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Incoming {
    Connect(Connect),
    Publish(Publish),
    PingReq,
    Disconnect,
    /// SUBSCRIBE: its packet id and how many filters it has.
    Subscribe {
        pkid: u16,
        filters: usize,
    },
    /// UNSUBSCRIBE: its packet id and how many filters it has.
    Unsubscribe {
        pkid: u16,
        filters: usize,
    },
    /// A packet a client never sends to a server that publishes nothing (PUBACK, PUBREL, CONNACK…), or AUTH: named for the log.
    Unexpected(&'static str),
}

/// Why a connection is refused in its CONNACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    ProtocolVersion,
    ClientId,
    BadCredentials,
    NotAuthorized,
}

/// Why a QoS 1 message is not accepted, as MQTT 5 says it in PUBACK (MQTT 3.1.1 has no negative PUBACK).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PubAckRefusal {
    /// The message is well-formed but is refused (no such sensor, not the device's sensor).
    ImplementationSpecific,
    NotAuthorized,
    TopicNameInvalid,
    PayloadFormatInvalid,
    QuotaExceeded,
}

/// Why the server closes a connection, as MQTT 5 says it in DISCONNECT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Closing {
    Malformed,
    ProtocolError,
    KeepAliveTimeout,
    ShuttingDown,
    QoSNotSupported,
    TopicAliasInvalid,
    Unavailable,
    /// The message's effect was refused and MQTT 3.1.1 cannot say so in a PUBACK.
    NotAccepted,
    /// The same device connected again (MQTT-3.1.4-2: the server disconnects the existing client).
    SessionTakenOver,
    /// The token the device connected with expired.
    TokenExpired,
}

/// A packet to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outgoing {
    /// `None` accepts the connection.
    ConnAck(Option<Refused>),
    PubAck {
        pkid: u16,
        refusal: Option<(PubAckRefusal, String)>,
    },
    PingResp,
    /// Refuses every filter: devices subscribe to nothing here yet.
    SubAck {
        pkid: u16,
        filters: usize,
    },
    UnsubAck {
        pkid: u16,
        filters: usize,
    },
    /// MQTT 5 only; an MQTT 3.1.1 connection is just closed.
    Disconnect(Closing),
}

/// Why the stream cannot be read: the connection is closed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DecodeError {
    #[error("the first packet is not CONNECT")]
    NotConnect,
    #[error("the protocol level is {0}; this server speaks MQTT 3.1.1 (4) and 5")]
    ProtocolLevel(u8),
    #[error("a packet is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("a second CONNECT")]
    SecondConnect,
    #[error("{0}")]
    Malformed(String),
}

/// Reads and writes packets in the version of the connection.
pub(crate) struct Codec {
    version: Option<Version>,
    /// Bytes of the largest packet read, from the fixed header to the end.
    packet_bytes_max: usize,
    /// QoS 1 messages a client may send before their PUBACKs, announced in an MQTT 5 CONNACK as Receive Maximum.
    receive_max: u16,
}

impl Codec {
    /// A codec reading packets up to `packet_bytes_max` bytes, announcing `inflight_max` (at most 65,535, as MQTT 5 can say) to MQTT 5 clients.
    pub(crate) fn new(packet_bytes_max: usize, inflight_max: usize) -> Codec {
        Codec { version: None, packet_bytes_max, receive_max: u16::try_from(inflight_max).unwrap_or(u16::MAX).max(1) }
    }

    /// The version, once CONNECT is read.
    pub(crate) fn version(&self) -> Option<Version> {
        self.version
    }

    /// The next packet in `buffer` (consumed from it), or `None` when more bytes are needed.
    pub(crate) fn decode(&mut self, buffer: &mut BytesMut) -> Result<Option<Incoming>, DecodeError> {
        match self.version {
            None => self.decode_connect(buffer),
            Some(Version::V311) => match v4::Packet::read(buffer, self.packet_bytes_max) {
                Ok(packet) => from_v4(packet).map(Some),
                Err(err) => self.failed(err),
            },
            Some(Version::V5) => {
                // The codec's MQTT 5 reader refuses a DISCONNECT of two bytes (no reason code, which means a normal disconnection).
                if let Ok(header) = v5::check(buffer.iter(), Some(self.max_u32()))
                    && matches!(header.packet_type(), Ok(v5::PacketType::Disconnect))
                    && header.frame_length() == 2
                {
                    let _ = buffer.split_to(2);
                    return Ok(Some(Incoming::Disconnect));
                }
                match v5::Packet::read(buffer, Some(self.max_u32())) {
                    Ok(packet) => from_v5(packet).map(Some),
                    Err(err) => self.failed_v5(err),
                }
            }
        }
    }

    /// Appends `packet` to `out` in the connection's version (MQTT 3.1.1 before CONNECT is read, for refusals of an unknown version).
    pub(crate) fn encode(&self, packet: Outgoing, out: &mut BytesMut) {
        let written = match self.version.unwrap_or(Version::V311) {
            Version::V311 => match to_v4(packet) {
                Some(packet) => packet.write(out, usize::MAX).map(drop).map_err(|e| e.to_string()),
                None => Ok(()),
            },
            Version::V5 => to_v5(packet, self.packet_bytes_max, self.receive_max)
                .write(out, None)
                .map(drop)
                .map_err(|e| e.to_string()),
        };
        if let Err(err) = written {
            // Every packet this server writes is small and complete; a failure is a bug, not the client's doing.
            tracing::error!(error = %err, "an MQTT packet could not be encoded");
        }
    }

    fn decode_connect(&mut self, buffer: &mut BytesMut) -> Result<Option<Incoming>, DecodeError> {
        let frame = match rumqttc::mqttbytes::check(buffer.iter(), self.packet_bytes_max) {
            Ok(header) => header,
            Err(err) => return self.failed(err),
        };
        if !matches!(frame.packet_type(), Ok(rumqttc::PacketType::Connect)) {
            return Err(DecodeError::NotConnect);
        }
        // The MQTT 5 reader checks the protocol level before it reads anything else, so it tells an MQTT 3.1.1 CONNECT apart without misreading it.
        let mut probe = BytesMut::from(&buffer[..frame.frame_length()]);
        match v5::Packet::read(&mut probe, Some(self.max_u32())) {
            Ok(v5::Packet::Connect(connect, _will, login)) => {
                let _ = buffer.split_to(frame.frame_length());
                self.version = Some(Version::V5);
                return Ok(Some(Incoming::Connect(Connect {
                    client_id: connect.client_id,
                    keep_alive: connect.keep_alive,
                    username: login.as_ref().map(|l| l.username.clone()),
                    password: login.map(|l| l.password),
                })));
            }
            Ok(_) => return Err(DecodeError::NotConnect),
            Err(rumqttc::v5::mqttbytes::Error::InvalidProtocolLevel(4)) => {}
            Err(err) => return self.failed_v5(err),
        }
        match v4::Packet::read(buffer, self.packet_bytes_max) {
            Ok(v4::Packet::Connect(connect)) => {
                self.version = Some(Version::V311);
                let login = connect.login;
                Ok(Some(Incoming::Connect(Connect {
                    client_id: connect.client_id,
                    keep_alive: connect.keep_alive,
                    username: login.as_ref().map(|l| l.username.clone()),
                    password: login.map(|l| l.password),
                })))
            }
            Ok(_) => Err(DecodeError::NotConnect),
            Err(err) => self.failed(err),
        }
    }

    fn max_u32(&self) -> u32 {
        u32::try_from(self.packet_bytes_max).unwrap_or(u32::MAX)
    }

    fn failed(&self, err: rumqttc::mqttbytes::Error) -> Result<Option<Incoming>, DecodeError> {
        use rumqttc::mqttbytes::Error;
        match err {
            Error::InsufficientBytes(_) => Ok(None),
            Error::PayloadSizeLimitExceeded(_) => Err(DecodeError::TooLarge { max: self.packet_bytes_max }),
            Error::InvalidProtocolLevel(level) => Err(DecodeError::ProtocolLevel(level)),
            Error::InvalidProtocol => Err(DecodeError::ProtocolLevel(3)),
            other => Err(DecodeError::Malformed(other.to_string())),
        }
    }

    fn failed_v5(&self, err: rumqttc::v5::mqttbytes::Error) -> Result<Option<Incoming>, DecodeError> {
        use rumqttc::v5::mqttbytes::Error;
        match err {
            Error::InsufficientBytes(_) => Ok(None),
            Error::PayloadSizeLimitExceeded { .. } => Err(DecodeError::TooLarge { max: self.packet_bytes_max }),
            Error::InvalidProtocolLevel(level) => Err(DecodeError::ProtocolLevel(level)),
            // MQTT 3.1 names its protocol `MQIsdp`.
            Error::InvalidProtocol => Err(DecodeError::ProtocolLevel(3)),
            other => Err(DecodeError::Malformed(other.to_string())),
        }
    }
}

fn qos_of(qos: u8) -> QoS {
    match qos {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

fn from_v4(packet: v4::Packet) -> Result<Incoming, DecodeError> {
    Ok(match packet {
        v4::Packet::Connect(_) => return Err(DecodeError::SecondConnect),
        v4::Packet::Publish(p) => Incoming::Publish(Publish {
            qos: qos_of(p.qos as u8),
            pkid: p.pkid,
            topic: p.topic,
            payload: p.payload.to_vec(),
            user_properties: Vec::new(),
            topic_alias: false,
        }),
        v4::Packet::PingReq => Incoming::PingReq,
        v4::Packet::Disconnect => Incoming::Disconnect,
        v4::Packet::Subscribe(s) => Incoming::Subscribe { pkid: s.pkid, filters: s.filters.len() },
        v4::Packet::Unsubscribe(u) => Incoming::Unsubscribe { pkid: u.pkid, filters: u.topics.len() },
        v4::Packet::ConnAck(_) => Incoming::Unexpected("CONNACK"),
        v4::Packet::PubAck(_) => Incoming::Unexpected("PUBACK"),
        v4::Packet::PubRec(_) => Incoming::Unexpected("PUBREC"),
        v4::Packet::PubRel(_) => Incoming::Unexpected("PUBREL"),
        v4::Packet::PubComp(_) => Incoming::Unexpected("PUBCOMP"),
        v4::Packet::SubAck(_) => Incoming::Unexpected("SUBACK"),
        v4::Packet::UnsubAck(_) => Incoming::Unexpected("UNSUBACK"),
        v4::Packet::PingResp => Incoming::Unexpected("PINGRESP"),
    })
}

fn from_v5(packet: v5::Packet) -> Result<Incoming, DecodeError> {
    Ok(match packet {
        v5::Packet::Connect(..) => return Err(DecodeError::SecondConnect),
        v5::Packet::Publish(p) => {
            let topic = String::from_utf8(p.topic.to_vec())
                .map_err(|_| DecodeError::Malformed("a PUBLISH topic is not UTF-8".to_owned()))?;
            let properties = p.properties.unwrap_or_default();
            Incoming::Publish(Publish {
                qos: qos_of(p.qos as u8),
                pkid: p.pkid,
                topic,
                payload: p.payload.to_vec(),
                user_properties: properties.user_properties,
                topic_alias: properties.topic_alias.is_some(),
            })
        }
        v5::Packet::PingReq(_) => Incoming::PingReq,
        v5::Packet::Disconnect(_) => Incoming::Disconnect,
        v5::Packet::Subscribe(s) => Incoming::Subscribe { pkid: s.pkid, filters: s.filters.len() },
        v5::Packet::Unsubscribe(u) => Incoming::Unsubscribe { pkid: u.pkid, filters: u.filters.len() },
        v5::Packet::Auth(_) => Incoming::Unexpected("AUTH"),
        v5::Packet::ConnAck(_) => Incoming::Unexpected("CONNACK"),
        v5::Packet::PubAck(_) => Incoming::Unexpected("PUBACK"),
        v5::Packet::PubRec(_) => Incoming::Unexpected("PUBREC"),
        v5::Packet::PubRel(_) => Incoming::Unexpected("PUBREL"),
        v5::Packet::PubComp(_) => Incoming::Unexpected("PUBCOMP"),
        v5::Packet::SubAck(_) => Incoming::Unexpected("SUBACK"),
        v5::Packet::UnsubAck(_) => Incoming::Unexpected("UNSUBACK"),
        v5::Packet::PingResp(_) => Incoming::Unexpected("PINGRESP"),
    })
}

/// MQTT 3.1.1 has no DISCONNECT from the server: `None` means write nothing and close.
fn to_v4(packet: Outgoing) -> Option<v4::Packet> {
    Some(match packet {
        Outgoing::ConnAck(refused) => {
            let code = match refused {
                None => v4::ConnectReturnCode::Success,
                Some(Refused::ProtocolVersion) => v4::ConnectReturnCode::RefusedProtocolVersion,
                Some(Refused::ClientId) => v4::ConnectReturnCode::BadClientId,
                Some(Refused::BadCredentials) => v4::ConnectReturnCode::BadUserNamePassword,
                Some(Refused::NotAuthorized) => v4::ConnectReturnCode::NotAuthorized,
            };
            v4::Packet::ConnAck(v4::ConnAck::new(code, false))
        }
        // A refusal cannot be said in MQTT 3.1.1; the session closes the connection instead of writing it.
        Outgoing::PubAck { pkid, refusal: None } => v4::Packet::PubAck(v4::PubAck::new(pkid)),
        Outgoing::PubAck { refusal: Some(_), .. } => return None,
        Outgoing::PingResp => v4::Packet::PingResp,
        Outgoing::SubAck { pkid, filters } => {
            v4::Packet::SubAck(v4::SubAck::new(pkid, vec![v4::SubscribeReasonCode::Failure; filters]))
        }
        Outgoing::UnsubAck { pkid, .. } => v4::Packet::UnsubAck(v4::UnsubAck::new(pkid)),
        Outgoing::Disconnect(_) => return None,
    })
}

fn to_v5(packet: Outgoing, packet_bytes_max: usize, receive_max: u16) -> v5::Packet {
    match packet {
        Outgoing::ConnAck(refused) => {
            let code = match refused {
                None => v5::ConnectReturnCode::Success,
                Some(Refused::ProtocolVersion) => v5::ConnectReturnCode::UnsupportedProtocolVersion,
                Some(Refused::ClientId) => v5::ConnectReturnCode::ClientIdentifierNotValid,
                Some(Refused::BadCredentials) => v5::ConnectReturnCode::BadUserNamePassword,
                Some(Refused::NotAuthorized) => v5::ConnectReturnCode::NotAuthorized,
            };
            // What the server allows, so MQTT 5 clients keep to it: QoS 1 at most, no more unacknowledged at once than the session reads (`[mqtt] inflight_max`), no retained messages, no topic aliases, packets up to the limit.
            let properties = refused.is_none().then(|| v5::ConnAckProperties {
                session_expiry_interval: None,
                receive_max: Some(receive_max),
                max_qos: Some(1),
                retain_available: Some(0),
                max_packet_size: Some(u32::try_from(packet_bytes_max).unwrap_or(u32::MAX)),
                assigned_client_identifier: None,
                topic_alias_max: Some(0),
                reason_string: None,
                user_properties: Vec::new(),
                wildcard_subscription_available: Some(0),
                subscription_identifiers_available: Some(0),
                shared_subscription_available: Some(0),
                server_keep_alive: None,
                response_information: None,
                server_reference: None,
                authentication_method: None,
                authentication_data: None,
            });
            v5::Packet::ConnAck(v5::ConnAck { session_present: false, code, properties })
        }
        Outgoing::PubAck { pkid, refusal } => {
            let (reason, properties) = match refusal {
                None => (v5::PubAckReason::Success, None),
                Some((refusal, message)) => {
                    let reason = match refusal {
                        PubAckRefusal::ImplementationSpecific => v5::PubAckReason::ImplementationSpecificError,
                        PubAckRefusal::NotAuthorized => v5::PubAckReason::NotAuthorized,
                        PubAckRefusal::TopicNameInvalid => v5::PubAckReason::TopicNameInvalid,
                        PubAckRefusal::PayloadFormatInvalid => v5::PubAckReason::PayloadFormatInvalid,
                        PubAckRefusal::QuotaExceeded => v5::PubAckReason::QuotaExceeded,
                    };
                    let properties = v5::PubAckProperties { reason_string: Some(message), user_properties: Vec::new() };
                    (reason, Some(properties))
                }
            };
            v5::Packet::PubAck(v5::PubAck { pkid, reason, properties })
        }
        Outgoing::PingResp => v5::Packet::PingResp(v5::PingResp),
        Outgoing::SubAck { pkid, filters } => v5::Packet::SubAck(v5::SubAck {
            pkid,
            return_codes: vec![v5::SubscribeReasonCode::ImplementationSpecific; filters],
            properties: None,
        }),
        Outgoing::UnsubAck { pkid, filters } => v5::Packet::UnsubAck(v5::UnsubAck {
            pkid,
            reasons: vec![v5::UnsubAckReason::NoSubscriptionExisted; filters],
            properties: None,
        }),
        Outgoing::Disconnect(closing) => {
            let reason = match closing {
                Closing::Malformed => v5::DisconnectReasonCode::MalformedPacket,
                Closing::ProtocolError => v5::DisconnectReasonCode::ProtocolError,
                Closing::KeepAliveTimeout => v5::DisconnectReasonCode::KeepAliveTimeout,
                Closing::ShuttingDown => v5::DisconnectReasonCode::ServerShuttingDown,
                Closing::SessionTakenOver => v5::DisconnectReasonCode::SessionTakenOver,
                Closing::TokenExpired => v5::DisconnectReasonCode::NotAuthorized,
                Closing::QoSNotSupported => v5::DisconnectReasonCode::QoSNotSupported,
                Closing::TopicAliasInvalid => v5::DisconnectReasonCode::TopicAliasInvalid,
                Closing::Unavailable => v5::DisconnectReasonCode::UnspecifiedError,
                Closing::NotAccepted => v5::DisconnectReasonCode::ImplementationSpecificError,
            };
            v5::Packet::Disconnect(v5::Disconnect::new(reason))
        }
    }
}
