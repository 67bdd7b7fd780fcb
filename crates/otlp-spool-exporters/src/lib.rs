//! OpenTelemetry SDK exporters that hand telemetry to an otlp-spool [`Sink`] in-process, and a
//! [`Forwarder`] that delivers batches to a remote OTLP endpoint behind retries and a circuit
//! breaker.
//!
//! * **Embedded mode**: [`SinkSpanExporter`], [`SinkMetricExporter`] (temporality
//!   configurable: Cumulative by default, Delta, LowMemory) and [`SinkLogExporter`] implement the
//!   SDK 0.33 exporter traits. They convert SDK data into OTLP requests (spans are moved,
//!   metrics are read by reference) and call [`Sink::accept`]; `force_flush` and `shutdown` call
//!   [`Sink::flush`], so they return once the data is durable.
//! * **Forwarding**: [`Forwarder`] is itself a [`Sink`]: `accept` puts the batch in its own
//!   byte-bounded queue and returns; tokio workers send it over OTLP/gRPC or OTLP/HTTP
//!   (protobuf or JSON), in plain text or TLS (`https://`: system roots or a configured CA,
//!   rustls on ring), with auth, gzip, retries (exponential back-off with jitter, honouring
//!   `Retry-After` and gRPC `RetryInfo`) and an `otlp-spool-breaker` [`CircuitBreaker`].
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use opentelemetry::trace::{Tracer, TracerProvider as _};
//! use opentelemetry_sdk::trace::SdkTracerProvider;
//! use otlp_spool_core::{Refusal, Sink, Telemetry};
//! use otlp_spool_exporters::SinkSpanExporter;
//!
//! #[derive(Debug, Default)]
//! struct Collect(Mutex<Vec<Telemetry>>);
//! impl Sink for Collect {
//!     fn accept(&self, telemetry: Telemetry) -> Result<(), Refusal> {
//!         self.0.lock().unwrap().push(telemetry);
//!         Ok(())
//!     }
//! }
//!
//! let sink = Arc::new(Collect::default());
//! let provider = SdkTracerProvider::builder()
//!     .with_simple_exporter(SinkSpanExporter::new(sink.clone()))
//!     .build();
//! provider.tracer("demo").in_span("work", |_cx| {});
//! provider.shutdown().unwrap();
//! assert_eq!(sink.0.lock().unwrap()[0].item_count(), 1);
//! ```
//!
//! # Invariants
//! * The forwarder's `accept` never waits on the network; a slow or dead remote only fills
//!   its bounded queue.
//! * Nothing is lost silently: every accepted item is counted once as forwarded, rejected
//!   (`partial_success`), failed (permanent error) or dropped (overflow policy, attempts
//!   exhausted, shutdown deadline) — see [`ForwarderStats`].
//! * While the breaker is open, batches wait in the queue; the default breaker admits one
//!   probe at a time.
//! * After `shutdown`, SDK exports fail at once with `AlreadyShutdown`; they never hang.
//!
//! [`CircuitBreaker`]: otlp_spool_breaker::CircuitBreaker
#![forbid(unsafe_code)]

mod auth;
mod builder;
mod catch;
mod error;
mod exporter_state;
mod forwarder;
mod log_exporter;
#[cfg(all(test, otlp_spool_loom))]
mod loom_models;
mod metric_exporter;
mod queue;
mod redact;
mod retry;
mod settings;
mod span_exporter;
mod sync;
mod tls;
mod transport;

pub use auth::{Auth, Secret};
pub use builder::{Compression, ForwarderBuilder, Protocol};
pub use error::ConfigError;
pub use forwarder::{Fate, Forwarder, ForwarderStats, ShutdownReport, Tracker};
pub use log_exporter::SinkLogExporter;
pub use metric_exporter::SinkMetricExporter;
pub use queue::Overflow;
pub use redact::redact_url_userinfo;
pub use retry::RetryPolicy;
pub use span_exporter::SinkSpanExporter;

pub use opentelemetry_sdk::metrics::Temporality;
pub use otlp_spool_core::{Refusal, Sink, SinkError, Telemetry};
