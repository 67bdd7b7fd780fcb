//! TLS to the remote: which roots an `https://` endpoint is verified against, and how a failed
//! handshake is recognised.
//!
//! Invariants:
//! * One trust decision per forwarder, made in `build()`: either the configured CA (PEM, every
//!   certificate in it, nothing else) or the system roots (read once with
//!   `rustls-native-certs`). gRPC (tonic) and HTTP (hyper-rustls) are given the same anchors.
//! * The crypto provider is rustls' *ring* provider; aws-lc is never built. HTTP passes it
//!   explicitly; tonic (gRPC) takes a process-wide default provider if the host installed
//!   one, else ring. The forwarder never installs a process-wide default itself.
//! * A CA that cannot be read or holds no usable certificate is a [`ConfigError::TlsCa`]
//!   naming its source; it is never skipped silently.
//! * A handshake that fails at run time is not an error of the forwarder: the attempt is
//!   retryable (a connection failure in OTLP terms), counted in `tls_failures`, and nothing
//!   panics.

use std::path::PathBuf;
use std::sync::Arc;

use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, TrustAnchor};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::error::ConfigError;

/// Where a configured CA comes from (the last `tls_ca_*` call on the builder wins).
#[derive(Debug, Clone)]
pub(crate) enum CaSource {
    /// PEM bytes given directly (`tls_ca_pem`).
    Pem(Vec<u8>),
    /// A PEM file read in `build()` (`tls_ca_file`).
    File(PathBuf),
}

impl CaSource {
    fn name(&self) -> String {
        match self {
            CaSource::Pem(_) => "(PEM given to tls_ca_pem)".to_owned(),
            CaSource::File(path) => path.display().to_string(),
        }
    }
}

/// The trust anchors of an `https://` endpoint.
#[derive(Debug, Clone)]
pub(crate) struct TrustRoots {
    store: Arc<RootCertStore>,
}

impl TrustRoots {
    /// Loads the configured CA, or the system roots when `ca` is `None`.
    pub(crate) fn load(ca: Option<&CaSource>) -> Result<Self, ConfigError> {
        match ca {
            Some(source) => Self::from_ca(source),
            None => Ok(Self::system()),
        }
    }

    /// No anchors: the TLS side of an `http://` endpoint's client, which never handshakes.
    pub(crate) fn empty() -> Self {
        Self {
            store: Arc::new(RootCertStore::empty()),
        }
    }

    fn from_ca(source: &CaSource) -> Result<Self, ConfigError> {
        let error = |reason: String| ConfigError::TlsCa {
            file: source.name(),
            reason,
        };
        let pem = match source {
            CaSource::Pem(bytes) => bytes.clone(),
            CaSource::File(path) => {
                std::fs::read(path).map_err(|e| error(format!("cannot be read: {e}")))?
            }
        };
        let mut store = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| error(format!("not valid PEM: {e}")))?;
            store
                .add(cert)
                .map_err(|e| error(format!("not a usable CA certificate: {e}")))?;
        }
        if store.is_empty() {
            return Err(error("holds no PEM certificate".to_owned()));
        }
        Ok(Self {
            store: Arc::new(store),
        })
    }

    /// The system roots. If none can be found, the store stays empty and every handshake
    /// fails (and is counted) instead of the build: a warning says so.
    fn system() -> Self {
        let found = rustls_native_certs::load_native_certs();
        let mut store = RootCertStore::empty();
        let (added, ignored) = store.add_parsable_certificates(found.certs);
        if !found.errors.is_empty() || ignored > 0 {
            tracing::debug!(
                errors = ?found.errors,
                ignored,
                "forwarder: some system root certificates could not be used"
            );
        }
        if added == 0 {
            tracing::warn!(
                "forwarder: no system root certificates found; https handshakes will fail \
                 until forward.tls.ca_file is set"
            );
        }
        Self {
            store: Arc::new(store),
        }
    }

    /// The anchors, for tonic's `ClientTlsConfig::trust_anchors`.
    pub(crate) fn anchors(&self) -> Vec<TrustAnchor<'static>> {
        self.store.roots.clone()
    }

    /// A rustls client configuration on the ring provider (TLS 1.2 and 1.3, no client
    /// certificate, no ALPN: hyper-rustls sets none for HTTP/1.1).
    pub(crate) fn client_config(&self) -> Result<ClientConfig, ConfigError> {
        Ok(
            ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| ConfigError::Tls(e.to_string()))?
                .with_root_certificates(Arc::clone(&self.store))
                .with_no_client_auth(),
        )
    }
}

/// The TLS cause of a failed request, if any: walks the error's `source()` chain (looking
/// inside `io::Error`s too, whose `source()` skips the error they wrap) for a `rustls::Error`.
pub(crate) fn tls_cause(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current = Some(error);
    let mut depth = 0;
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<tokio_rustls::rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
        {
            if let Some(tls) = inner.downcast_ref::<tokio_rustls::rustls::Error>() {
                return Some(tls.to_string());
            }
            if let Some(found) = tls_cause(inner) {
                return Some(found);
            }
        }
        depth += 1;
        if depth > 16 {
            return None;
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_ca_sources_are_named() {
        let missing = TrustRoots::load(Some(&CaSource::File("/nonexistent/ca.pem".into())));
        let message = missing.unwrap_err().to_string();
        assert!(message.contains("/nonexistent/ca.pem"), "{message}");
        let empty = TrustRoots::load(Some(&CaSource::Pem(b"no certificate here".to_vec())));
        assert!(
            empty
                .unwrap_err()
                .to_string()
                .contains("no PEM certificate")
        );
        let garbage = b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
        assert!(TrustRoots::load(Some(&CaSource::Pem(garbage.to_vec()))).is_err());
    }

    #[test]
    fn tls_errors_are_found_inside_io_errors() {
        let rustls = tokio_rustls::rustls::Error::InvalidCertificate(
            tokio_rustls::rustls::CertificateError::UnknownIssuer,
        );
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, rustls);
        let outer = std::io::Error::other(io);
        assert!(tls_cause(&outer).is_some_and(|r| r.contains("UnknownIssuer")));
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(tls_cause(&plain), None);
    }
}
