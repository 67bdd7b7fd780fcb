//! Errors of the forwarder's configuration.

/// Why [`ForwarderBuilder::build`](crate::ForwarderBuilder::build) refused the settings. The
/// message names the setting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No endpoint was given.
    #[error("forward.endpoint is required")]
    MissingEndpoint,
    /// The endpoint is not a usable URL.
    #[error("forward.endpoint {endpoint:?}: {reason}")]
    Endpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An unknown protocol name.
    #[error("forward.protocol {0:?}: expected grpc, http/protobuf or http/json")]
    Protocol(String),
    /// A header name or value that cannot be sent.
    #[error("forward.headers {name:?}: {reason}")]
    Header {
        /// The header name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A numeric setting out of range.
    #[error("forward.{setting}: {reason}")]
    Invalid {
        /// The setting's name.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The configured CA (`tls_ca_file` / `tls_ca_pem`) cannot be used.
    #[error("forward.tls.ca_file {file:?}: {reason}")]
    TlsCa {
        /// The CA file's path (or a note that the PEM was given directly).
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS client could not be set up, or a CA was given for an `http://` endpoint.
    #[error("forward.tls: {0}")]
    Tls(String),
    /// The default breaker could not be built.
    #[error("forward.breaker: {0}")]
    Breaker(#[from] otlp_spool_breaker::ConfigError),
    /// `build()` was called outside a tokio runtime.
    #[error("the forwarder must be built inside a tokio runtime")]
    NoRuntime,
}
