//! [`ReceiverBuilder`] and [`Receiver`]: configuration, validated in `build()`.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use tokio_rustls::rustls::ServerConfig;

use crate::auth::BearerToken;
use crate::metrics::{MetricsProvider, ReceiverMetrics};
use crate::readiness::Readiness;

/// Default maximum body size, checked after decompression: 20 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 20 * 1024 * 1024;
/// Default maximum write cost of one request (`Telemetry::write_cost`): 64 MiB.
pub const DEFAULT_MAX_DECODED_BYTES: usize = 64 * 1024 * 1024;
/// Default maximum number of export requests handled at once, both ports together.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 1024;
/// Default gRPC address: `127.0.0.1:4317`.
pub const DEFAULT_GRPC_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 4317);
/// Default HTTP address: `127.0.0.1:4318`.
pub const DEFAULT_HTTP_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 4318);

/// An invalid receiver configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Both servers were disabled.
    #[error("both the gRPC and the HTTP server are disabled: nothing to serve")]
    NothingToServe,
    /// `max_body_bytes` was 0.
    #[error("max_body_bytes must be at least 1")]
    ZeroBodyLimit,
    /// `max_decoded_bytes` was 0.
    #[error("max_decoded_bytes must be at least 1")]
    ZeroDecodedLimit,
    /// `max_concurrent_requests` was 0.
    #[error("max_concurrent_requests must be at least 1")]
    ZeroConcurrency,
    /// The bearer token was empty or held characters a header value cannot carry.
    #[error("bearer_token must be non-empty visible ASCII without spaces")]
    InvalidBearerToken,
    /// A TLS certificate or key file could not be used.
    #[error("TLS file {path}: {message}")]
    Tls {
        /// The certificate or key file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

/// Configures a [`Receiver`]. Defaults: gRPC on `127.0.0.1:4317`, HTTP on `127.0.0.1:4318`,
/// 20 MiB body limit, 64 MiB write-cost limit, 1024 concurrent requests, no TLS, no token, always ready, no extra
/// metrics.
pub struct ReceiverBuilder {
    grpc_addr: Option<SocketAddr>,
    http_addr: Option<SocketAddr>,
    max_body_bytes: usize,
    max_decoded_bytes: usize,
    max_concurrent_requests: usize,
    bearer_token: Option<String>,
    tls: Option<(PathBuf, PathBuf)>,
    readiness: Readiness,
    providers: Vec<Arc<dyn MetricsProvider>>,
}

impl ReceiverBuilder {
    fn new() -> Self {
        ReceiverBuilder {
            grpc_addr: Some(DEFAULT_GRPC_ADDR),
            http_addr: Some(DEFAULT_HTTP_ADDR),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_decoded_bytes: DEFAULT_MAX_DECODED_BYTES,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            bearer_token: None,
            tls: None,
            readiness: Readiness::new(),
            providers: Vec::new(),
        }
    }

    /// The OTLP/gRPC address (port 0 picks a free port; see [`RunningReceiver::grpc_addr`]).
    ///
    /// [`RunningReceiver::grpc_addr`]: crate::RunningReceiver::grpc_addr
    pub fn grpc_addr(mut self, addr: SocketAddr) -> Self {
        self.grpc_addr = Some(addr);
        self
    }

    /// The OTLP/HTTP address, also serving `/health`, `/ready` and `/metrics`.
    pub fn http_addr(mut self, addr: SocketAddr) -> Self {
        self.http_addr = Some(addr);
        self
    }

    /// Serve no gRPC.
    pub fn disable_grpc(mut self) -> Self {
        self.grpc_addr = None;
        self
    }

    /// Serve no HTTP (and so no `/health`, `/ready`, `/metrics`).
    pub fn disable_http(mut self) -> Self {
        self.http_addr = None;
        self
    }

    /// The largest request body accepted, counted after decompression (gRPC: the largest
    /// message). Larger ones get 413 / RESOURCE_EXHAUSTED.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The largest write cost of one request (`Telemetry::write_cost`: the memory the storage
    /// writer needs to turn it into Arrow), so that no request shape can amplify past it.
    /// Costlier ones get 413 / RESOURCE_EXHAUSTED naming `receiver.max_decoded_size`.
    pub fn max_decoded_bytes(mut self, bytes: usize) -> Self {
        self.max_decoded_bytes = bytes;
        self
    }

    /// How many export requests may be in flight at once, both ports together; more get
    /// 503 / UNAVAILABLE with a one-second retry hint.
    pub fn max_concurrent_requests(mut self, max: usize) -> Self {
        self.max_concurrent_requests = max;
        self
    }

    /// Require `authorization: Bearer <token>` on every export request and on `/metrics`
    /// (401 / UNAUTHENTICATED otherwise). `/health` and `/ready` stay open for probes.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// Serve both ports over TLS with this PEM certificate chain and PEM private key.
    pub fn tls(mut self, cert_path: impl Into<PathBuf>, key_path: impl Into<PathBuf>) -> Self {
        self.tls = Some((cert_path.into(), key_path.into()));
        self
    }

    /// The readiness switch `GET /ready` reports (the receiver adds "not shutting down").
    pub fn readiness(mut self, readiness: Readiness) -> Self {
        self.readiness = readiness;
        self
    }

    /// Adds a provider whose lines `GET /metrics` appends after the receiver's own; call
    /// once per provider, they render in order.
    pub fn metrics_provider(mut self, provider: Arc<dyn MetricsProvider>) -> Self {
        self.providers.push(provider);
        self
    }

    /// Validates the configuration and loads the TLS files.
    pub fn build(self) -> Result<Receiver, BuildError> {
        if self.grpc_addr.is_none() && self.http_addr.is_none() {
            return Err(BuildError::NothingToServe);
        }
        if self.max_body_bytes == 0 {
            return Err(BuildError::ZeroBodyLimit);
        }
        if self.max_decoded_bytes == 0 {
            return Err(BuildError::ZeroDecodedLimit);
        }
        if self.max_concurrent_requests == 0 {
            return Err(BuildError::ZeroConcurrency);
        }
        let auth = match &self.bearer_token {
            None => None,
            Some(token) if !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic()) => {
                Some(BearerToken::new(token))
            }
            Some(_) => return Err(BuildError::InvalidBearerToken),
        };
        let tls = match &self.tls {
            None => None,
            Some((cert, key)) => Some(crate::tls::server_config(cert, key)?),
        };
        Ok(Receiver {
            grpc_addr: self.grpc_addr,
            http_addr: self.http_addr,
            max_body_bytes: self.max_body_bytes,
            max_decoded_bytes: self.max_decoded_bytes,
            max_concurrent_requests: self.max_concurrent_requests,
            auth,
            tls,
            readiness: self.readiness,
            providers: self.providers,
            metrics: Arc::new(ReceiverMetrics::default()),
        })
    }
}

impl fmt::Debug for ReceiverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverBuilder")
            .field("grpc_addr", &self.grpc_addr)
            .field("http_addr", &self.http_addr)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_decoded_bytes", &self.max_decoded_bytes)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "<redacted>"),
            )
            .field("tls", &self.tls)
            .field("providers", &self.providers.len())
            .finish()
    }
}

/// A configured, not yet serving OTLP receiver. Start it with [`Receiver::serve`].
pub struct Receiver {
    pub(crate) grpc_addr: Option<SocketAddr>,
    pub(crate) http_addr: Option<SocketAddr>,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_decoded_bytes: usize,
    pub(crate) max_concurrent_requests: usize,
    pub(crate) auth: Option<BearerToken>,
    pub(crate) tls: Option<Arc<ServerConfig>>,
    pub(crate) readiness: Readiness,
    pub(crate) providers: Vec<Arc<dyn MetricsProvider>>,
    pub(crate) metrics: Arc<ReceiverMetrics>,
}

impl Receiver {
    /// A builder with the defaults.
    pub fn builder() -> ReceiverBuilder {
        ReceiverBuilder::new()
    }

    /// The receiver's counters (the same object `GET /metrics` renders), readable before and
    /// after serving.
    pub fn metrics(&self) -> Arc<ReceiverMetrics> {
        self.metrics.clone()
    }

    /// The readiness switch (a clone sharing the same state).
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("grpc_addr", &self.grpc_addr)
            .field("http_addr", &self.http_addr)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("auth", &self.auth.is_some())
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}
