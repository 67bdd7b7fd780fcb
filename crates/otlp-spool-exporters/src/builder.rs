//! [`ForwarderBuilder`]: where and how to forward, validated in `build()`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use otlp_spool_breaker::CircuitBreaker;

use crate::auth::{Auth, Secret};
use crate::error::ConfigError;
use crate::forwarder::Forwarder;
use crate::queue::Overflow;
use crate::retry::RetryPolicy;
use crate::tls::CaSource;

/// The wire protocol to the remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// OTLP/gRPC: `<endpoint>` is the server's base URL, e.g. `http://127.0.0.1:4317`.
    #[default]
    Grpc,
    /// OTLP/HTTP with protobuf bodies: `POST <endpoint>/v1/<signal>`.
    HttpProtobuf,
    /// OTLP/HTTP with JSON bodies: `POST <endpoint>/v1/<signal>`.
    HttpJson,
}

impl FromStr for Protocol {
    type Err = ConfigError;

    /// Parses `grpc`, `http/protobuf` or `http/json` (the OTLP exporter spellings).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "grpc" => Ok(Protocol::Grpc),
            "http/protobuf" => Ok(Protocol::HttpProtobuf),
            "http/json" => Ok(Protocol::HttpJson),
            other => Err(ConfigError::Protocol(other.to_owned())),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
        })
    }
}

/// Request compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Uncompressed bodies.
    #[default]
    None,
    /// gzip (`Content-Encoding: gzip`, gRPC `grpc-encoding: gzip`).
    Gzip,
}

/// Builder of a [`Forwarder`], from [`Forwarder::builder`].
///
/// Defaults: gRPC, no auth, no compression, 10 s per-attempt timeout, a 64 MiB queue with
/// [`Overflow::DropOldest`], requests of at most 4 MiB, 2 concurrent requests,
/// [`RetryPolicy::default`], and a breaker that opens after 5 consecutive failures for 1 s
/// (doubling up to 30 s) and admits one probe at a time. An `https://` endpoint is verified
/// against the system roots unless a CA is given ([`tls_ca_file`](Self::tls_ca_file),
/// [`tls_ca_pem`](Self::tls_ca_pem)).
pub struct ForwarderBuilder {
    pub(crate) endpoint: Option<String>,
    pub(crate) protocol: Protocol,
    pub(crate) headers: Vec<(String, Secret)>,
    pub(crate) auth: Option<Auth>,
    pub(crate) compression: Compression,
    pub(crate) timeout: Duration,
    pub(crate) queue_bytes: u64,
    pub(crate) overflow: Overflow,
    pub(crate) max_request_bytes: u64,
    pub(crate) concurrency: usize,
    pub(crate) retry: RetryPolicy,
    pub(crate) breaker: Option<CircuitBreaker>,
    pub(crate) tls_ca: Option<CaSource>,
}

impl Default for ForwarderBuilder {
    fn default() -> Self {
        Self {
            endpoint: None,
            protocol: Protocol::default(),
            headers: Vec::new(),
            auth: None,
            compression: Compression::default(),
            timeout: Duration::from_secs(10),
            queue_bytes: 64 << 20,
            overflow: Overflow::default(),
            max_request_bytes: 4 << 20,
            concurrency: 2,
            retry: RetryPolicy::default(),
            breaker: None,
            tls_ca: None,
        }
    }
}

impl fmt::Debug for ForwarderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForwarderBuilder")
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .field("headers", &self.headers)
            .field("auth", &self.auth)
            .field("compression", &self.compression)
            .field("timeout", &self.timeout)
            .field("queue_bytes", &self.queue_bytes)
            .field("overflow", &self.overflow)
            .field("max_request_bytes", &self.max_request_bytes)
            .field("concurrency", &self.concurrency)
            .field("retry", &self.retry)
            .field("breaker", &self.breaker)
            .field("tls_ca", &self.tls_ca.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl ForwarderBuilder {
    /// The remote's base URL: `http://host:port`, or `https://host:port` for TLS (verified
    /// against the system roots, or the CA given with [`tls_ca_file`](Self::tls_ca_file) /
    /// [`tls_ca_pem`](Self::tls_ca_pem)). `/v1/<signal>` is appended for HTTP.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The wire protocol (default gRPC).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Adds a header (gRPC metadata) sent with every request. Values are treated as secrets.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Secret>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Authentication (bearer token, API key or basic).
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Request compression (default none).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// The deadline of one attempt (connect + send + answer; default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The queue bound in bytes (OTLP protobuf size of the batches held, in flight included).
    pub fn queue_bytes(mut self, bytes: u64) -> Self {
        self.queue_bytes = bytes;
        self
    }

    /// What happens when a batch does not fit in the queue (default drop oldest).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// Queued batches of one signal are merged into requests of at most this many bytes.
    pub fn max_request_bytes(mut self, bytes: u64) -> Self {
        self.max_request_bytes = bytes;
        self
    }

    /// How many requests may be in flight at once (worker tasks; default 2).
    pub fn concurrency(mut self, workers: usize) -> Self {
        self.concurrency = workers;
        self
    }

    /// The retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The circuit breaker guarding the remote (see the type docs for the default). Give it
    /// `half_open_probes(1)` to keep one probe at a time.
    pub fn breaker(mut self, breaker: CircuitBreaker) -> Self {
        self.breaker = Some(breaker);
        self
    }

    /// Trusts the CA certificate(s) in this PEM file, *instead of* the system roots, for an
    /// `https://` endpoint. The file is read and checked in [`build`](Self::build): a file
    /// that cannot be read or holds no usable certificate is a [`ConfigError::TlsCa`] naming
    /// it. A self-signed server certificate can be its own CA. Replaces an earlier
    /// [`tls_ca_pem`](Self::tls_ca_pem).
    pub fn tls_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls_ca = Some(CaSource::File(path.into()));
        self
    }

    /// Like [`tls_ca_file`](Self::tls_ca_file) with the PEM bytes themselves.
    pub fn tls_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_ca = Some(CaSource::Pem(pem.into()));
        self
    }

    /// Validates the settings and starts the forwarder's worker tasks on the current tokio
    /// runtime (so it must be called from inside one).
    pub fn build(self) -> Result<Forwarder, ConfigError> {
        Forwarder::start(self)
    }
}
