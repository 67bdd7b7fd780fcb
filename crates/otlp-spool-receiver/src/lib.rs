//! OTLP/gRPC and OTLP/HTTP servers that decode, validate and limit requests, then hand them to
//! a [`Sink`]. Usable on its own by anyone who wants an OTLP endpoint.
//!
//! ```no_run
//! use std::sync::Arc;
//! use otlp_spool_core::{Refusal, Sink, Telemetry};
//! use otlp_spool_receiver::Receiver;
//!
//! #[derive(Debug)]
//! struct Print;
//! impl Sink for Print {
//!     fn accept(&self, telemetry: Telemetry) -> Result<(), Refusal> {
//!         println!("{} {} items", telemetry.signal(), telemetry.item_count());
//!         Ok(())
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let receiver = Receiver::builder()
//!     .grpc_addr("127.0.0.1:0".parse()?)
//!     .http_addr("127.0.0.1:0".parse()?)
//!     .max_body_bytes(20 << 20)
//!     .build()?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let running = receiver.serve(Arc::new(Print), async {
//!     let _ = stopped.await;
//! }).await?;
//! println!("gRPC on {:?}, HTTP on {:?}", running.grpc_addr(), running.http_addr());
//! // ... later, from anywhere: stop.send(()) (or running.shutdown())
//! # let _ = stop.send(());
//! running.wait().await?; // returns once in-flight requests are answered
//! # Ok(()) }
//! ```
//!
//! # Contract (DESIGN.md, "OTLP endpoints")
//!
//! | input | HTTP | gRPC |
//! |---|---|---|
//! | accepted (sink returned `Ok`) | 200, `Export*ServiceResponse` in the request's format | OK |
//! | some items with invalid ids | 200 with `partial_success` (count, message) | OK with `partial_success` |
//! | malformed protobuf / JSON (nesting too deep included), corrupt gzip or zstd | 400, `google.rpc.Status` | INVALID_ARGUMENT |
//! | body over the limit after decompression (default 20 MiB) | 413 | RESOURCE_EXHAUSTED |
//! | body not complete within `read_timeout` (default 30 s) | 408 | DEADLINE_EXCEEDED |
//! | write cost over `max_decoded_bytes` (default 64 MiB) | 413 | RESOURCE_EXHAUSTED |
//! | wrong `Content-Type` or `Content-Encoding` | 415 | UNIMPLEMENTED (encoding) |
//! | missing or wrong bearer token | 401 | UNAUTHENTICATED |
//! | sink full, too many concurrent requests | 503 + `Retry-After` | UNAVAILABLE + `google.rpc.RetryInfo` |
//! | sink closed (shutting down) | 503 | UNAVAILABLE |
//! | unknown path / wrong method | 404 / 405 | UNIMPLEMENTED |
//!
//! An empty body is a valid empty protobuf message (every OTLP field is optional): it gets
//! 200 / OK and the sink is not called. An empty JSON body is invalid JSON (400).
//! `GET /health` is 200 while every [`Health`] check passes and 503 naming the failures
//! otherwise, `GET /ready` is 200 or 503 (see [`Readiness`]), `GET /metrics` is Prometheus
//! text ([`ReceiverMetrics`] then every collector given to
//! [`ReceiverBuilder::metrics_collector`], one `otlp_spool_core::metrics` registry).
//!
//! # Design
//! * One accept loop per port on hyper-util's auto (HTTP/1.1 + HTTP/2) connection builder,
//!   optional rustls TLS, graceful shutdown through hyper-util's `GracefulShutdown`.
//! * Request bytes flow on as bytes: the sink gets a [`Telemetry`] holding the decompressed
//!   protobuf request exactly as it arrived whenever nothing inside it was refused.
//! * gRPC: tonic's server machinery (framing, gzip/zstd, message size limit) over a
//!   pass-through codec, behind a router that checks the token and the concurrency limit and
//!   maps tonic's own errors onto the contract.
//! * HTTP: a hand-written hyper service; the body is read into one `Bytes` (no copy when it
//!   arrives in one chunk) and decompressed through a capped reader; OTLP/JSON is decoded by
//!   serde and encoded into protobuf once.
//! * Both transports validate the bytes with one function, [`validate_protobuf`]: spans with
//!   invalid ids are dropped one by one; the sink sees only the rest, and only when there is
//!   something left.
//! * Connection hygiene after the Collector's server settings: header, body, idle and
//!   TLS-handshake timeouts, a cap on open connections, HTTP/2 stream cap and keep-alive
//!   pings; bodies are read before a request takes a concurrency slot (see the builder).
#![forbid(unsafe_code)]

mod auth;
mod body;
mod builder;
mod conn;
mod decode;
mod extension;
mod grpc;
mod health;
mod http;
mod limit;
mod metrics;
mod readiness;
mod reject;
mod server;
mod shared;
mod sync;
mod tls;

pub use builder::{
    BuildError, DEFAULT_BACKPRESSURE_WAIT, DEFAULT_GRPC_ADDR, DEFAULT_HTTP_ADDR,
    DEFAULT_IDLE_TIMEOUT, DEFAULT_KEEPALIVE_TIME, DEFAULT_KEEPALIVE_TIMEOUT,
    DEFAULT_MAX_BODY_BUFFER, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_DECODED_BYTES,
    DEFAULT_MAX_NESTING_DEPTH, DEFAULT_READ_HEADER_TIMEOUT, DEFAULT_READ_TIMEOUT,
    DEFAULT_TLS_HANDSHAKE_TIMEOUT, Receiver, ReceiverBuilder,
};
#[doc(hidden)]
pub use decode::decompress;
pub use decode::{
    DecodeError, Decoded, Encoding, Format, Limits, decode_request, validate_protobuf,
};
pub use extension::{ExtensionFuture, HttpExtension};
pub use health::Health;
pub use limit::{BodyBudget, BodyLease, ConcurrencyLimit, Permit};
pub use metrics::{CloseReason, ReceiverMetrics, RejectReason, Transport};
pub use otlp_spool_core::rpc_status::retry_delay_from_status_details;
pub use otlp_spool_core::wire::Refused;
pub use readiness::Readiness;
pub use server::{RunningReceiver, ServeError};

pub use otlp_spool_core::{ExportRequest, Refusal, Signal, Sink, SinkError, Telemetry};
