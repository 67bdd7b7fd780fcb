//! Shared vocabulary of otlp-spool: what a batch of telemetry is ([`Telemetry`], tagged by
//! [`Signal`]) and where it goes ([`Sink`]). No tokio, no I/O.
//!
//! A [`Telemetry`] is a serialized OTLP export request (`bytes::Bytes`): the receiver
//! validates request bytes and hands them on as they arrived, the SDK exporters and the
//! OTLP/JSON edge encode a prost request once, and the pipeline behind the [`Sink`] sees one
//! kind of input whatever its source. prost structs ([`ExportRequest`]) appear only at the
//! edges that need them, through [`Telemetry::decode`].
//!
//! ```
//! use std::sync::Mutex;
//! use otlp_spool_core::{Refusal, Signal, Sink, Telemetry};
//! use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
//!
//! /// A sink that keeps everything (tests do this); a real one puts it in a bounded buffer.
//! #[derive(Debug, Default)]
//! struct Collect(Mutex<Vec<Telemetry>>);
//!
//! impl Sink for Collect {
//!     fn accept(&self, telemetry: Telemetry) -> Result<(), Refusal> {
//!         self.0.lock().unwrap().push(telemetry);
//!         Ok(())
//!     }
//! }
//!
//! let sink = Collect::default();
//! let batch = Telemetry::from(ExportTraceServiceRequest::default());
//! assert_eq!(batch.signal(), Signal::Traces);
//! assert_eq!(batch.item_count(), 0);
//! sink.accept(batch)?; // Ok: the data is held, the sender may be acknowledged.
//! # Ok::<(), Refusal>(())
//! ```
//!
//! # Invariants
//! * `Ok(())` from [`Sink::accept`] is the acknowledgement: the data is held by the sink
//!   (buffered, written or otherwise owned) and the caller may tell its client so.
//! * `Err(_)` means the sink took nothing: the batch comes back untouched inside the
//!   [`Refusal`], and the caller retries it or answers its client with the matching retryable
//!   or permanent error (see [`SinkError`]).
//! * `accept` never blocks for long: it either takes the batch or refuses it at once (a
//!   durable sink's `accept` waits for its fsync; servers call [`Sink::submit`] instead and
//!   await the [`Ack`] before answering).
//! * A [`Telemetry`]'s bytes are a valid request of its signal, and its item count and write
//!   cost describe those bytes (see the `telemetry` module).
#![forbid(unsafe_code)]

pub mod civil;
pub mod metrics;
pub mod rpc_status;
mod signal;
mod sink;
mod telemetry;
pub mod wire;

pub use signal::Signal;
pub use sink::{Ack, AckFuture, Refusal, Sink, SinkError};
pub use telemetry::{ConcatError, DecodeError, ExportRequest, Telemetry};

/// The OTLP protobuf types this crate speaks, re-exported so that users need not depend on
/// `opentelemetry-proto` with the same features.
pub use opentelemetry_proto::tonic as proto;
