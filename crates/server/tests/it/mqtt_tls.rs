//! MQTT over TLS (`[mqtt] tls_listen`): the occupancy sample's device connecting over TLS with rumqttc (MQTT 3.1.1 and 5), trusting only a certificate the test generates, its PUBACKs and stored values; plain MQTT and a silent client on the TLS port failing on their own while the port goes on serving; a bad certificate stopping the start.
//!
//! The telemetry helpers (provisioning, SAS tokens, the telemetry topic, publishing) are `telemetry`'s, so the two transports are driven alike.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use expect_test::expect;
use rumqttc::{AsyncClient, EventLoop, TlsConfiguration, Transport};
use server::config::MqttTlsConfig;
use server::{Config, TlsConfig};

use crate::TestServer;
use crate::management::call;
use crate::telemetry::{
    MQTT_TIMEOUT, Topology, connect_with, device_options, in_an_hour, provision, publish, sas_token, topic,
};
use crate::tls::start_error;

#[tokio::test]
async fn a_device_publishes_over_tls_and_its_values_are_stored() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (certificate, cert_pem) = self_signed(dir.path());
    let server = start(certificate, |config| config.mqtt.inflight_max = 7.try_into().expect("not zero")).await;
    assert!(server.mqtt.is_some() && server.mqtt_tls.is_some(), "plain MQTT and MQTT over TLS side by side");
    let t = provision(&server).await;
    let token = sas_token(&t.host, &t.device, &t.key, in_an_hour());

    // MQTT 3.1.1, as the Azure IoT device SDKs speak it.
    let address = server.mqtt_tls.expect("MQTT over TLS is on");
    assert_eq!(publish_motion_over_tls(&t, address, &token, &cert_pem).await, "PUBACK");
    let (status, value) = call(&server, "GET", &format!("sensors/{}/value", t.motion), None).await;
    assert_eq!((status, &value["value"]), (200, &serde_json::json!("true")), "{value}");

    // MQTT 5: its CONNACK announces `[mqtt] inflight_max` as Receive Maximum.
    assert_eq!(connect_v5_and_publish(&server, &t, &token, &cert_pem).await, "receive maximum Some(7), Success");
    let (_, value) = call(&server, "GET", &format!("sensors/{}/value", t.motion), None).await;
    assert_eq!(value["value"], "false", "{value}");

    expect![[r#"
        mqtt_connections_total{result="accepted"} 2
        telemetry_messages_total{transport="mqtt",result="stored",reason=""} 2"#]]
    .assert_eq(&counted(&server).await);
    server.stop().await;
}

#[tokio::test]
async fn plain_mqtt_on_the_tls_port_fails_alone_and_the_port_goes_on() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (certificate, cert_pem) = self_signed(dir.path());
    let server = start(certificate, |_| {}).await;
    let t = provision(&server).await;
    let token = sas_token(&t.host, &t.device, &t.key, in_an_hour());
    let address = server.mqtt_tls.expect("MQTT over TLS is on");

    // A device that forgot TLS: its CONNECT is not a TLS ClientHello, so the handshake fails and only that connection closes.
    let (_client, _events, connected) = connect_with(device_options(&t, address, &token)).await;
    assert!(connected.is_err(), "plain MQTT is not served on the TLS port: {connected:?}");

    // A client that trusts another certificate gives up the handshake itself.
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("rcgen makes a certificate");
    let (_client, _events, connected) = connect_over_tls(&t, address, &token, &other.cert.pem()).await;
    assert!(connected.is_err(), "a certificate the client does not trust: {connected:?}");

    assert_eq!(publish_motion_over_tls(&t, address, &token, &cert_pem).await, "PUBACK");
    expect![[r#"
        mqtt_connections_total{result="accepted"} 1
        mqtt_connections_total{result="tls_handshake_failed"} 2
        telemetry_messages_total{transport="mqtt",result="stored",reason=""} 1"#]]
    .assert_eq(&counted(&server).await);
    server.stop().await;
}

#[tokio::test]
async fn a_silent_client_on_the_tls_port_is_closed_after_the_handshake_timeout() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (certificate, _) = self_signed(dir.path());
    let server = start(certificate, |config| config.tls_handshake_timeout = Duration::from_millis(50)).await;
    let mut stream = tokio::net::TcpStream::connect(server.mqtt_tls.expect("MQTT over TLS is on"))
        .await
        .expect("connect to the TLS port");
    let mut received = Vec::new();
    let read = tokio::time::timeout(MQTT_TIMEOUT, stream.read_to_end(&mut received))
        .await
        .expect("the server closes the connection in time");
    assert!(read.is_ok_and(|n| n == 0), "nothing is said to a client that never began the handshake");
    expect![[r#"mqtt_connections_total{result="tls_handshake_timeout"} 1"#]].assert_eq(&counted(&server).await);
    server.stop().await;
}

#[tokio::test]
async fn a_bad_mqtt_certificate_stops_the_start() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("an address"),
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    config.mqtt.listen = Some("127.0.0.1:0".parse().expect("an address"));
    config.mqtt.tls = Some(MqttTlsConfig {
        listen: "127.0.0.1:0".parse().expect("an address"),
        certificate: TlsConfig { cert_path: dir.path().join("missing.pem"), key_path: dir.path().join("key.pem") },
    });
    expect!["read TLS certificate <dir>/missing.pem: I/O error: No such file or directory (os error 2)"]
        .assert_eq(&start_error(config, dir.path()).await);
}

/// A server with the shipped routes, plain MQTT and MQTT over TLS with `certificate` (the HTTP face stays plain), changed by `configure`.
async fn start(certificate: TlsConfig, configure: impl FnOnce(&mut Config)) -> TestServer {
    let data_dir = tempfile::tempdir().expect("create a data directory");
    crate::start_shipped_configured(data_dir, |config| {
        config.mqtt.tls = Some(MqttTlsConfig { listen: "127.0.0.1:0".parse().expect("an address"), certificate });
        configure(config);
    })
    .await
}

/// Writes a fresh self-signed certificate for `127.0.0.1` and `localhost` and its key into `dir`; returns their paths and the certificate PEM.
fn self_signed(dir: &Path) -> (TlsConfig, String) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("rcgen makes a certificate");
    let cert_pem = certified.cert.pem();
    let tls = TlsConfig { cert_path: dir.join("mqtt-cert.pem"), key_path: dir.join("mqtt-key.pem") };
    std::fs::write(&tls.cert_path, &cert_pem).expect("write the certificate");
    std::fs::write(&tls.key_path, certified.signing_key.serialize_pem()).expect("write the key");
    (tls, cert_pem)
}

/// rumqttc's TLS transport with a rustls client on ring (the workspace's one crypto provider) trusting only `root_pem`.
fn tls_transport(root_pem: &str) -> Transport {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let root = CertificateDer::from_pem_slice(root_pem.as_bytes()).expect("the test certificate parses");
    roots.add(root).expect("the test certificate is a valid root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Transport::tls_with_config(TlsConfiguration::Rustls(Arc::new(config)))
}

/// Connects `t`'s device to `address` with MQTT 3.1.1 over TLS, trusting only `root_pem`.
async fn connect_over_tls(
    t: &Topology,
    address: SocketAddr,
    token: &str,
    root_pem: &str,
) -> (AsyncClient, EventLoop, Result<(), String>) {
    let mut options = device_options(t, address, token);
    options.set_transport(tls_transport(root_pem));
    connect_with(options).await
}

/// Connects `t`'s device over TLS trusting `root_pem` (which must succeed), publishes a Motion value of `true`, disconnects and says what PUBACK answered.
async fn publish_motion_over_tls(t: &Topology, address: SocketAddr, token: &str, root_pem: &str) -> String {
    let (client, mut events, connected) = connect_over_tls(t, address, token, root_pem).await;
    assert_eq!(connected, Ok(()));
    let answer =
        publish(&client, &mut events, &topic(&t.device, "SAMPLE_SENSOR_MOTION"), r#"{"SensorValue":"true"}"#).await;
    let _ = client.disconnect().await;
    answer
}

/// Connects `t`'s device over TLS with MQTT 5, publishes a Motion value of `false` with the sample's user properties and says what CONNACK announced and what PUBACK answered.
async fn connect_v5_and_publish(server: &TestServer, t: &Topology, token: &str, root_pem: &str) -> String {
    use rumqttc::v5::mqttbytes::v5::{Packet, PublishProperties};
    use rumqttc::v5::{AsyncClient, Event, MqttOptions};
    let address: SocketAddr = server.mqtt_tls.expect("MQTT over TLS is on");
    let mut options = MqttOptions::new(t.device.clone(), address.ip().to_string(), address.port());
    options.set_credentials(format!("{}/{}/?api-version=2018-06-30", t.host, t.device), token);
    options.set_transport(tls_transport(root_pem));
    let (client, mut events) = AsyncClient::new(options, 16);
    let properties = PublishProperties {
        user_properties: vec![
            ("DigitalTwins-Telemetry".to_owned(), "1.0".to_owned()),
            ("DigitalTwins-SensorHardwareId".to_owned(), "SAMPLE_SENSOR_MOTION".to_owned()),
        ],
        ..PublishProperties::default()
    };
    client
        .publish_with_properties(
            format!("devices/{}/messages/events/", t.device),
            rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
            false,
            br#"{"SensorValue":"false"}"#.to_vec(),
            properties,
        )
        .await
        .expect("queued");
    let mut said = Vec::new();
    tokio::time::timeout(MQTT_TIMEOUT, async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    said.push(format!("receive maximum {:?}", ack.properties.and_then(|p| p.receive_max)));
                }
                Ok(Event::Incoming(Packet::PubAck(ack))) => {
                    said.push(format!("{:?}", ack.reason));
                    return;
                }
                Ok(_) => {}
                Err(err) => {
                    said.push(format!("error: {err}"));
                    return;
                }
            }
        }
    })
    .await
    .expect("an answer in time");
    let _ = client.disconnect().await;
    said.join(", ")
}

/// The lines of `/metrics` counting MQTT connections and stored or refused messages, sorted.
pub(crate) async fn counted(server: &TestServer) -> String {
    let metrics = server.get("/metrics").await.body;
    let mut counted: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("telemetry_messages_total") || l.starts_with("mqtt_connections_total"))
        .collect();
    counted.sort_unstable();
    counted.join("\n")
}
