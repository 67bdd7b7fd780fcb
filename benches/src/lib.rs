//! otlp-spool-benches: end-to-end load generation and measurement for otlp-spool.
//!
//! - [`RequestPool`]: realistic OTLP trace requests (512 spans of ~300 encoded bytes with 10
//!   attributes each), encoded once; every body handed out carries ids never handed out before.
//! - [`Sender`]: one connection to an otlp-spool endpoint (OTLP/gRPC or OTLP/HTTP protobuf)
//!   that posts pre-encoded bodies and classifies the answer as an [`Outcome`].
//! - [`Latencies`]: request latencies and their percentiles.
//! - [`ProcSample`]: CPU time and memory of a process, from `/proc`.
//! - [`metric_value`]: one sample out of a Prometheus text page (`/metrics`).
//!
//! The `loadgen` binary drives these; `benches/e2e.rs` measures the in-process pipeline.
//!
//! ```
//! let pool = otlp_spool_benches::RequestPool::new(2, 512, 1_700_000_000_000_000_000);
//! let (body, spans) = pool.next_body();
//! assert_eq!(spans, 512);
//! assert!(body.len() > 512 * 250);
//! ```
#![forbid(unsafe_code)]

mod client;
mod latency;
mod metrics;
mod procfs;
mod workload;

pub use client::{Outcome, Protocol, SendError, Sender};
pub use latency::Latencies;
pub use metrics::metric_value;
pub use procfs::{ProcSample, clock_ticks_per_second};
pub use workload::{ATTRIBUTES_PER_SPAN, RequestPool, SPANS_PER_TRACE, build_request};
