//! [`ReceiverBuilder`] and [`Receiver`]: configuration, validated in `build()`.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::rustls::ServerConfig;

use crate::auth::BearerToken;
use crate::conn::ConnConfig;
use crate::extension::HttpExtension;
use crate::health::Health;
use crate::metrics::ReceiverMetrics;
use crate::readiness::Readiness;
use otlp_spool_core::metrics::Collector;

/// Default maximum body size, checked after decompression: 20 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 20 * 1024 * 1024;
/// Default cap on the bytes of request bodies buffered at once, over every connection of both
/// ports: 64 MiB (three bodies of the largest size; a 512-span request is ~200 KB). Bodies
/// past it get 503 / UNAVAILABLE with a retry hint.
pub const DEFAULT_MAX_BODY_BUFFER: usize = 64 * 1024 * 1024;
/// Default maximum write cost of one request (`Telemetry::write_cost`): 64 MiB.
pub const DEFAULT_MAX_DECODED_BYTES: usize = 64 * 1024 * 1024;
/// Default limit of AnyValue nesting (an attribute's value is level 1): 31, the deepest that
/// prost's recursion limit of 100 message levels accepts on every path, so whatever the walker
/// accepts still decodes wherever prost structs are needed (OTLP/JSON out).
pub const DEFAULT_MAX_NESTING_DEPTH: u32 = otlp_spool_core::wire::WalkLimits::DEFAULT_MAX_DEPTH;
/// Default maximum number of export requests handled at once, both ports together.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 1024;
/// Default time a new connection has to deliver its first request head (HTTP/1) or its
/// connection preface (HTTP/2), and an HTTP/1 keep-alive connection to finish a request head
/// once its first byte arrived: 10 s. (The Collector's `read_header_timeout` defaults to 1 min;
/// OTLP clients send their headers in one write, so a shorter wait sheds slow-header clients
/// sooner at no cost to real ones.)
pub const DEFAULT_READ_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a request body has to arrive completely once its head did: 30 s (the
/// Collector's `read_timeout` has no default; without one a client trickling its body holds its
/// connection for ever). A 20 MiB body needs at least 0.7 MiB/s to make it.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time a connection may stay open without a request in flight: 60 s (the Collector's
/// `idle_timeout`; gRPC's `max_connection_idle`). HTTP/1 connections are closed, HTTP/2 ones get
/// a GOAWAY.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default time a TLS handshake may take: 10 s.
pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on open connections, both ports together: 4096. Connections past it are closed
/// as soon as they are accepted.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Default cap on concurrent streams per HTTP/2 connection: 100 (the smallest value RFC 9113
/// recommends a server to allow).
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 100;
/// Default interval of the HTTP/2 keep-alive pings a server sends: 30 s.
pub const DEFAULT_KEEPALIVE_TIME: Duration = Duration::from_secs(30);
/// Default time an HTTP/2 keep-alive ping may go unanswered before the connection is closed:
/// 20 s (gRPC's default `keepalive.timeout`).
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// Default time a request waits for room in a full sink before it is refused with 503 /
/// UNAVAILABLE: 100 ms. A full lane frees room as soon as its writer finishes a batch (a few
/// to some tens of milliseconds at saturation), so a short wait turns most refusals into a
/// little latency; a client refused at once would send the whole request again, and the
/// server would receive and validate it again, spending on the refusal the CPU that the
/// writer, which makes the room, needs.
pub const DEFAULT_BACKPRESSURE_WAIT: Duration = Duration::from_millis(100);
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
    /// `max_nesting_depth` was 0 or above [`DEFAULT_MAX_NESTING_DEPTH`].
    #[error("max_nesting_depth must be between 1 and {DEFAULT_MAX_NESTING_DEPTH}, got {0}")]
    NestingDepth(u32),
    /// `max_body_buffer` is below `max_body_bytes`: a body of the largest size could never be
    /// read.
    #[error("max_body_buffer ({buffer}) must be at least max_body_size ({body})")]
    BodyBufferBelowBodyLimit {
        /// `max_body_buffer`.
        buffer: usize,
        /// `max_body_bytes`.
        body: usize,
    },
    /// `max_concurrent_requests` was 0.
    #[error("max_concurrent_requests must be at least 1")]
    ZeroConcurrency,
    /// A connection limit (`max_connections`, `max_concurrent_streams`) was 0.
    #[error("{0} must be at least 1")]
    ZeroLimit(&'static str),
    /// A timeout was zero.
    #[error("{0} must be greater than zero")]
    ZeroTimeout(&'static str),
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
/// 20 MiB body limit, 64 MiB write-cost limit, 1024 concurrent requests, the connection
/// timeouts and caps of the `DEFAULT_*` constants, no TLS, no token, always ready and healthy,
/// no extra metrics.
pub struct ReceiverBuilder {
    grpc_addr: Option<SocketAddr>,
    http_addr: Option<SocketAddr>,
    max_body_bytes: usize,
    max_body_buffer: usize,
    max_decoded_bytes: usize,
    max_nesting_depth: u32,
    max_concurrent_requests: usize,
    backpressure_wait: Duration,
    conn: ConnConfig,
    bearer_token: Option<String>,
    tls: Option<(PathBuf, PathBuf)>,
    readiness: Readiness,
    health: Health,
    collectors: Vec<Box<dyn Collector>>,
    extension: Option<Arc<dyn HttpExtension>>,
}

impl ReceiverBuilder {
    fn new() -> Self {
        ReceiverBuilder {
            grpc_addr: Some(DEFAULT_GRPC_ADDR),
            http_addr: Some(DEFAULT_HTTP_ADDR),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_body_buffer: DEFAULT_MAX_BODY_BUFFER,
            max_decoded_bytes: DEFAULT_MAX_DECODED_BYTES,
            max_nesting_depth: DEFAULT_MAX_NESTING_DEPTH,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            backpressure_wait: DEFAULT_BACKPRESSURE_WAIT,
            conn: ConnConfig {
                read_header_timeout: DEFAULT_READ_HEADER_TIMEOUT,
                read_timeout: DEFAULT_READ_TIMEOUT,
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
                tls_handshake_timeout: DEFAULT_TLS_HANDSHAKE_TIMEOUT,
                max_connections: DEFAULT_MAX_CONNECTIONS,
                max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
                keepalive: Some((DEFAULT_KEEPALIVE_TIME, DEFAULT_KEEPALIVE_TIMEOUT)),
            },
            bearer_token: None,
            tls: None,
            readiness: Readiness::new(),
            health: Health::new(),
            collectors: Vec::new(),
            extension: None,
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

    /// Cap on the bytes of request bodies buffered at once, over every connection of both
    /// ports (default [`DEFAULT_MAX_BODY_BUFFER`]); at least `max_body_bytes`. A body that would
    /// pass it is answered 503 / UNAVAILABLE (retry later) before more of it is read.
    pub fn max_body_buffer(mut self, bytes: usize) -> Self {
        self.max_body_buffer = bytes;
        self
    }

    /// The largest write cost of one request (`Telemetry::write_cost`: the memory the storage
    /// writer needs to turn it into Arrow), so that no request shape can amplify past it.
    /// Costlier ones get 413 / RESOURCE_EXHAUSTED naming `receiver.max_decoded_size`.
    pub fn max_decoded_bytes(mut self, bytes: usize) -> Self {
        self.max_decoded_bytes = bytes;
        self
    }

    /// How deep AnyValues may nest inside a request (an attribute's or a log body's value is
    /// level 1, each array or key-value list inside one more); deeper requests get 400 /
    /// INVALID_ARGUMENT naming the limit. 1 to [`DEFAULT_MAX_NESTING_DEPTH`] (the default).
    pub fn max_nesting_depth(mut self, depth: u32) -> Self {
        self.max_nesting_depth = depth;
        self
    }

    /// How many export requests may be in flight at once, both ports together; more get
    /// 503 / UNAVAILABLE with a one-second retry hint.
    pub fn max_concurrent_requests(mut self, max: usize) -> Self {
        self.max_concurrent_requests = max;
        self
    }

    /// How long a valid request that finds the sink full ([`SinkError::Full`]) waits for room,
    /// trying again every few milliseconds, before it is refused with 503 / UNAVAILABLE and
    /// the sink's retry hint. It holds its concurrency slot and its body's share of
    /// `max_body_buffer` meanwhile, so the wait adds no unbounded memory. `Duration::ZERO`
    /// refuses at once. Default [`DEFAULT_BACKPRESSURE_WAIT`].
    ///
    /// [`SinkError::Full`]: otlp_spool_core::SinkError::Full
    pub fn backpressure_wait(mut self, wait: Duration) -> Self {
        self.backpressure_wait = wait;
        self
    }

    /// How long a new connection has to deliver its first request head (HTTP/1) or its
    /// connection preface (HTTP/2), and an HTTP/1 keep-alive connection to complete a request
    /// head once its first byte arrived. Past it the connection is closed (nothing was asked,
    /// so nothing is answered). Default [`DEFAULT_READ_HEADER_TIMEOUT`].
    pub fn read_header_timeout(mut self, timeout: Duration) -> Self {
        self.conn.read_header_timeout = timeout;
        self
    }

    /// How long a request body has to arrive completely once its head did. A body still
    /// incomplete then is answered 408 (HTTP/1 also closes the connection) or
    /// DEADLINE_EXCEEDED. The body is read *before* the request takes a concurrency slot, so a
    /// slow body never holds one. Default [`DEFAULT_READ_TIMEOUT`].
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.conn.read_timeout = timeout;
        self
    }

    /// How long a connection may stay open without a request in flight before it is closed
    /// (HTTP/1) or sent a GOAWAY (HTTP/2). Default [`DEFAULT_IDLE_TIMEOUT`].
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.conn.idle_timeout = timeout;
        self
    }

    /// How long a TLS handshake may take before the connection is closed. Default
    /// [`DEFAULT_TLS_HANDSHAKE_TIMEOUT`].
    pub fn tls_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.conn.tls_handshake_timeout = timeout;
        self
    }

    /// How many connections may be open at once, both ports together; a connection past the
    /// cap is closed as soon as it is accepted. Default [`DEFAULT_MAX_CONNECTIONS`].
    pub fn max_connections(mut self, max: usize) -> Self {
        self.conn.max_connections = max;
        self
    }

    /// How many streams (requests) one HTTP/2 connection may have open at once (the
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` the server announces). Default
    /// [`DEFAULT_MAX_CONCURRENT_STREAMS`].
    pub fn max_concurrent_streams(mut self, max: u32) -> Self {
        self.conn.max_concurrent_streams = max;
        self
    }

    /// HTTP/2 keep-alive: send a PING every `time` and close the connection when one is not
    /// answered within `timeout`; `None` sends no pings. Default every
    /// [`DEFAULT_KEEPALIVE_TIME`], answered within [`DEFAULT_KEEPALIVE_TIMEOUT`].
    pub fn http2_keepalive(mut self, keepalive: Option<(Duration, Duration)>) -> Self {
        self.conn.keepalive = keepalive;
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

    /// The health checks `GET /health` reports (liveness): 200 while every check passes, else
    /// 503 naming what failed.
    pub fn health(mut self, health: Health) -> Self {
        self.health = health;
        self
    }

    /// Adds a collector to the registry of `GET /metrics`, after the receiver's own; call once
    /// per collector, they are encoded in order (see `otlp_spool_core::metrics`).
    pub fn metrics_collector(mut self, collector: Box<dyn Collector>) -> Self {
        self.collectors.push(collector);
        self
    }

    /// Serves the paths `extension` claims on the HTTP port (after the bearer-token check, as
    /// for `/metrics`); the receiver's own paths always win.
    pub fn http_extension(mut self, extension: Arc<dyn HttpExtension>) -> Self {
        self.extension = Some(extension);
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
        if self.max_body_buffer < self.max_body_bytes {
            return Err(BuildError::BodyBufferBelowBodyLimit {
                buffer: self.max_body_buffer,
                body: self.max_body_bytes,
            });
        }
        if self.max_decoded_bytes == 0 {
            return Err(BuildError::ZeroDecodedLimit);
        }
        if !(1..=DEFAULT_MAX_NESTING_DEPTH).contains(&self.max_nesting_depth) {
            return Err(BuildError::NestingDepth(self.max_nesting_depth));
        }
        if self.max_concurrent_requests == 0 {
            return Err(BuildError::ZeroConcurrency);
        }
        self.conn.validate()?;
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
            max_body_buffer: self.max_body_buffer,
            max_decoded_bytes: self.max_decoded_bytes,
            max_nesting_depth: self.max_nesting_depth,
            max_concurrent_requests: self.max_concurrent_requests,
            backpressure_wait: self.backpressure_wait,
            conn: self.conn,
            auth,
            tls,
            readiness: self.readiness,
            health: self.health,
            collectors: self.collectors,
            extension: self.extension,
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
            .field("max_body_buffer", &self.max_body_buffer)
            .field("max_decoded_bytes", &self.max_decoded_bytes)
            .field("max_nesting_depth", &self.max_nesting_depth)
            .field("max_concurrent_requests", &self.max_concurrent_requests)
            .field("backpressure_wait", &self.backpressure_wait)
            .field("conn", &self.conn)
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "<redacted>"),
            )
            .field("tls", &self.tls)
            .field("collectors", &self.collectors.len())
            .field("extension", &self.extension.is_some())
            .finish()
    }
}

/// A configured, not yet serving OTLP receiver. Start it with [`Receiver::serve`].
pub struct Receiver {
    pub(crate) grpc_addr: Option<SocketAddr>,
    pub(crate) http_addr: Option<SocketAddr>,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_body_buffer: usize,
    pub(crate) max_decoded_bytes: usize,
    pub(crate) max_nesting_depth: u32,
    pub(crate) max_concurrent_requests: usize,
    pub(crate) backpressure_wait: Duration,
    pub(crate) conn: ConnConfig,
    pub(crate) auth: Option<BearerToken>,
    pub(crate) tls: Option<Arc<ServerConfig>>,
    pub(crate) readiness: Readiness,
    pub(crate) health: Health,
    pub(crate) collectors: Vec<Box<dyn Collector>>,
    pub(crate) extension: Option<Arc<dyn HttpExtension>>,
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
            .field("conn", &self.conn)
            .field("auth", &self.auth.is_some())
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}
