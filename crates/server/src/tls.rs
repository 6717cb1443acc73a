//! TLS of the HTTP face and of the MQTT listener: loads the PEM certificate chain and key of `TlsConfig` into a rustls acceptor, with the `ring` crypto provider (the only one in the workspace) and the ALPN protocols its caller offers (HTTP/2 and HTTP/1.1 for HTTPS, none for MQTT).
//!
//! Certificates are read once, at bind; reloading them without a restart is not supported yet.
//! The handshake itself runs per connection in `listener` and in `mqtt`, under `Config::tls_handshake_timeout`.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsConfig;
use crate::listener::StartError;

/// ALPN protocols of HTTPS, preferred first.
pub(crate) const ALPN_HTTP: &[&[u8]] = &[b"h2", b"http/1.1"];

/// A TLS acceptor for `tls`'s certificate and key, negotiating one of `alpn_protocols`.
///
/// With an empty list no protocol is negotiated and whatever a client offers is accepted; with a list, a client offering only other protocols is refused (RFC 7301), which is why MQTT, whose clients offer various names or none, passes none.
pub(crate) fn acceptor(tls: &TlsConfig, alpn_protocols: &[&[u8]]) -> Result<TlsAcceptor, StartError> {
    let certificate_error = |source: Box<dyn std::error::Error + Send + Sync>| StartError::Certificate {
        path: tls.cert_path.clone(),
        source,
    };
    let certificates = CertificateDer::pem_file_iter(&tls.cert_path)
        .map_err(|err| certificate_error(err.into()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| certificate_error(err.into()))?;
    if certificates.is_empty() {
        return Err(certificate_error("the file holds no CERTIFICATE section".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key_path)
        .map_err(|err| StartError::PrivateKey { path: tls.key_path.clone(), source: err.into() })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(StartError::Tls)?
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .map_err(StartError::Tls)?;
    config.alpn_protocols = alpn_protocols.iter().map(|protocol| protocol.to_vec()).collect();
    Ok(TlsAcceptor::from(Arc::new(config)))
}
