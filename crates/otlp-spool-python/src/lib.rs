//! The native half of the Python package `otlp_spool` (module `otlp_spool._native`), built by
//! maturin into an abi3 wheel for CPython >= 3.10. The Python half (`python/otlp_spool/`)
//! holds the SDK exporter classes; they hand each batch here in one call: spans as the SDK's
//! objects (encoded here), metrics and logs as bytes from the official OTLP encoders.
//!
//! - [`NativeSpool`]: the facade's `otlp_spool::Spool` plus the tokio runtime it runs on;
//!   every batch goes through the spool's `sink()`, never around it.
//! - [`ArrowStream`]: finalized files handed to pyarrow through the Arrow C stream interface.
//! - [`telemetry_from_bytes`]: the one function that builds a `Telemetry` from bytes.
//! - `span_encoder`: the SDK's spans straight into OTLP protobuf bytes, equal to the official
//!   encoder's (`NativeSpool.export_spans`, `encode_spans`); [`NotEncodable`] sends a batch
//!   back to the official encoder.
//! - [`load_config`]: `Spool(output_dir, config=..., **overrides)` into a validated `Config`.
//!
//! Invariants (details in each module): the GIL is released around everything that blocks or
//! takes time; no Rust thread ever calls into Python; a forked child gets a clear error
//! instead of a hang; a refused batch raises an exception and nothing of it is kept.
//!
//! The crate is also an rlib, so `cargo test` links it without Python headers or a wheel:
//!
//! ```
//! use otlp_spool_core::Signal;
//! let (telemetry, refused) = otlp_spool_python::telemetry_from_bytes(Signal::Logs, &[]).unwrap();
//! assert_eq!((telemetry.item_count(), refused), (0, 0));
//! ```
#![forbid(unsafe_code)]

mod cli;
mod config;
mod errors;
mod protobuf;
mod read;
mod span_encoder;
mod spool;
mod telemetry;

pub use cli::exit_status;
pub use config::{ConfigLoadError, load_config};
pub use read::{ArrowStream, ReadSignalError, read_signal};
pub use span_encoder::NotEncodable;
pub use spool::NativeSpool;
pub use telemetry::{
    DecodeError, UnknownSignal, parse_signal, telemetry_from_bytes, telemetry_from_vec,
};

use pyo3::prelude::*;

/// The extension module `otlp_spool._native`.
#[pymodule]
#[pyo3(name = "_native")]
fn otlp_spool_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<NativeSpool>()?;
    m.add_class::<ArrowStream>()?;
    m.add_function(wrap_pyfunction!(spool::read_dir, m)?)?;
    m.add_function(wrap_pyfunction!(cli::run_cli, m)?)?;
    m.add_function(wrap_pyfunction!(span_encoder::encode_spans_py, m)?)?;
    m.add("SpoolError", py.get_type::<errors::SpoolError>())?;
    m.add("ConfigError", py.get_type::<errors::ConfigError>())?;
    m.add("BufferFullError", py.get_type::<errors::BufferFullError>())?;
    m.add(
        "SpoolClosedError",
        py.get_type::<errors::SpoolClosedError>(),
    )?;
    m.add(
        "BatchTooLargeError",
        py.get_type::<errors::BatchTooLargeError>(),
    )?;
    m.add(
        "InvalidDataError",
        py.get_type::<errors::InvalidDataError>(),
    )?;
    m.add("FlushError", py.get_type::<errors::FlushError>())?;
    m.add("ServeError", py.get_type::<errors::ServeError>())?;
    m.add(
        "ForkedProcessError",
        py.get_type::<errors::ForkedProcessError>(),
    )?;
    m.add("ReadError", py.get_type::<errors::ReadError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
