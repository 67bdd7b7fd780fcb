//! OTLP <-> Arrow conversion: one fixed, versioned schema per signal, a streaming converter
//! that walks request bytes (or prost messages) into bounded record batches, and lossless
//! readers back to OTLP.
//!
//! Invariants:
//! - `schema(signal)` is the one schema of a signal; its metadata carries
//!   [`SCHEMA_VERSION_KEY`] = [`SCHEMA_VERSION`] and [`SIGNAL_KEY`] = the signal name.
//!   Container columns are dictionaries whose values hold each container once per batch.
//! - OTLP -> Arrow -> OTLP returns an equal message (prost `PartialEq`, NaN compared by bits)
//!   for every request whose containers are non-empty: a resource or scope container (or a
//!   metric) without any span / data point / log record yields no row and so does not come back.
//! - The bytes converter (`wire/`) and the prost converter append into the same column
//!   builders through the same batcher, so for one request they emit equal batches; the bytes
//!   converter fails exactly where prost's decode fails.
//! - No batch grows past [`BatchLimits`]; every row is in exactly one batch.
//! - Conversion never panics on input: bad bytes or batches give a [`ConvertError`] naming
//!   the field or column.

mod anyvalue;
mod attributes;
mod batch;
mod columns;
mod converter;
mod error;
mod ids;
mod limits;
mod logs;
mod metrics;
mod metrics_read;
mod resource;
mod schema;
mod traces;
mod traces_read;
mod wire;

pub use converter::Converter;
pub use error::{ConvertError, PushError};
pub use limits::{BatchLimits, BatchLimitsBuilder, LimitsError, MAX_HARD_BATCH_BYTES};
pub use logs::{arrow_to_logs, logs_to_arrow};
pub use metrics::metrics_to_arrow;
pub use metrics_read::arrow_to_metrics;
pub use schema::{SCHEMA_VERSION, SCHEMA_VERSION_KEY, SIGNAL_KEY, schema};
pub use traces::traces_to_arrow;
pub use traces_read::arrow_to_traces;
