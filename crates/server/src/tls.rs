//! HTTPS: loads the PEM certificate chain and key of `TlsConfig` into a rustls acceptor, with the `ring` crypto provider (the only one in the workspace) and ALPN for HTTP/2 and HTTP/1.1.
//!
//! Certificates are read once, at bind; reloading them without a restart is not supported yet.
//! The handshake itself runs per connection in `listener`, under `Config::tls_handshake_timeout`.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsConfig;
use crate::listener::StartError;

/// A TLS acceptor for `tls`'s certificate and key.
pub(crate) fn acceptor(tls: &TlsConfig) -> Result<TlsAcceptor, StartError> {
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
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
