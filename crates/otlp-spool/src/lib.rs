//! otlp-spool: receive OpenTelemetry data, hold it in a bounded buffer, spool it to Arrow files
//! and forward it.
//!
//! - [`Spool`] ([`SpoolBuilder`]): the embedded API, a pipeline in your own process; its SDK
//!   exporters, [`Spool::serve`] (OTLP/gRPC and OTLP/HTTP with `/health`, `/ready`, `/metrics`
//!   and the viewer), flush and a bounded [`Spool::shutdown`] with its [`ShutdownReport`].
//! - [`Pipeline`]: one buffer lane per signal and its writer, behind the
//!   [`Sink`](otlp_spool_core::Sink) trait; the forwarder gets its copy from
//!   [`Sink::accept`](otlp_spool_core::Sink::accept).
//! - [`config`]: the configuration model shared with the `otlp-spool` binary (defaults < YAML
//!   < environment < flags, every error naming its key).
//! - [`run_service`]: what `otlp-spool serve` runs; [`cli::run`]: the whole command line.
//! - Errors, one type per operation: [`SpoolError`] (with [`ServeError`]), [`StartError`],
//!   [`FlushError`]; each keeps its cause as `source()`.
//!
//! ```
//! use otlp_spool::Spool;
//! use otlp_spool_core::proto::collector::trace::v1::ExportTraceServiceRequest;
//! use otlp_spool_core::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
//! use otlp_spool_core::Telemetry;
//! use otlp_spool_storage::{FileReader, Signal};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let runtime = tokio::runtime::Runtime::new()?;
//! runtime.block_on(async {
//!     let spool = Spool::builder().output_dir(dir.path()).build().await?;
//!     let span = Span { trace_id: vec![1; 16], span_id: vec![2; 8], ..Default::default() };
//!     let request = ExportTraceServiceRequest {
//!         resource_spans: vec![ResourceSpans {
//!             scope_spans: vec![ScopeSpans { spans: vec![span], ..Default::default() }],
//!             ..Default::default()
//!         }],
//!     };
//!     // Ok: the request is held by its lane (the acknowledgement a receiver passes on).
//!     spool.sink().accept(Telemetry::from(request))?;
//!     spool.flush().await?; // written and finalized
//!     let report = spool.shutdown().await?;
//!     assert!(report.dropped.is_empty());
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })?;
//! let rows: usize = FileReader::new(dir.path(), Signal::Traces)
//!     .batches()?
//!     .map(|batch| batch.map(|b| b.num_rows()))
//!     .sum::<Result<_, _>>()?;
//! assert_eq!(rows, 1);
//! # Ok(()) }
//! ```
//!
//! # Invariants
//! - `accept` returns `Ok` only once the request is in its lane; a full lane refuses at once
//!   (backpressure), never blocks and never drops silently: for every signal, accepted items
//!   = written + dropped (by reason, counted) + still held.
//! - With `durability: wal`, a request is acknowledged (`Sink::submit`'s `Ack` resolves, or
//!   `accept` returns) only once it is in a synced write-ahead log under `<output_dir>/wal/`;
//!   the file writers read the log and put every record in exactly one finalized file, across
//!   crashes at any point (the protocol of `crates/otlp-spool-wal/README.md`).
//! - Local files never wait on the forwarder: it gets its own copy of each accepted request
//!   into its own bounded queue, and its refusals are its own counts.
//! - A setting is checked once, at start-up, by the builder that takes it; the error names
//!   the configuration key. The output directory belongs to one process (its lock).
//! - Shutdown is bounded by `shutdown_timeout`: what it could not write or deliver in time is
//!   reported, not waited for.

pub mod cli;
pub mod config;
mod error;
mod forward;
mod pipeline;
mod report;
mod service;
mod spool;

pub use error::{ServeError, SpoolError};
#[doc(hidden)]
pub use pipeline::Fault;
pub use pipeline::{DropReason, FlushError, LaneFlushError, Pipeline, StartError};
pub use report::{Held, ShutdownReport};
pub use service::run_service;
pub use spool::{ServeAddrs, Spool, SpoolBuilder};

/// The SDK exporters' temporality setting, re-exported for `Spool::metric_exporter`.
pub use otlp_spool_exporters::Temporality;
