//! OTLP <-> Arrow conversion: one fixed, versioned schema per signal and lossless converters
//! in both directions.
//!
//! Invariants:
//! - `schema(signal)` is the one schema of a signal; its metadata carries
//!   [`SCHEMA_VERSION_KEY`] = [`SCHEMA_VERSION`] and [`SIGNAL_KEY`] = the signal name.
//! - OTLP -> Arrow -> OTLP returns an equal message (prost `PartialEq`, NaN compared by bits)
//!   for every request whose containers are non-empty: a resource or scope container (or a
//!   metric) without any span / data point / log record yields no row and so does not come back.
//! - Conversion never panics on input: bad batches give a [`ConvertError`] naming the column.
//! - Building is one pass over the request straight into column builders (no row structs).

mod anyvalue;
mod attributes;
mod columns;
mod error;
mod ids;
mod logs;
mod metrics;
mod metrics_read;
mod resource;
mod schema;
mod traces;

pub use error::ConvertError;
pub use logs::{arrow_to_logs, logs_to_arrow};
pub use metrics::metrics_to_arrow;
pub use metrics_read::arrow_to_metrics;
pub use schema::{SCHEMA_VERSION, SCHEMA_VERSION_KEY, SIGNAL_KEY, schema};
pub use traces::{arrow_to_traces, traces_to_arrow};
