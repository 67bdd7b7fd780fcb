//! otlp-spool: receive OpenTelemetry data, hold it in a bounded buffer, spool it to Arrow files
//! and forward it.
//!
//! - [`Spool`]: the embedded API (a pipeline in your own process).
//! - [`Pipeline`]: buffer lanes and writers behind the [`Sink`](otlp_spool_core::Sink) trait.
//! - [`config`]: the configuration model shared with the `otlp-spool` binary.
//! - [`run_service`]: what `otlp-spool serve` runs; [`cli::run`]: the whole command line.

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
