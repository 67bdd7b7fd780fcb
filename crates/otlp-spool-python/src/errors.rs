//! The Python exceptions of `otlp_spool`, and how the Rust errors map onto them.
//!
//! Every exception derives from `otlp_spool.SpoolError`. The SDK exporters of the Python
//! package catch them all and answer `FAILURE`; only the `Spool` methods raise them.

use otlp_spool_core::SinkError;
use pyo3::PyErr;
use pyo3::exceptions::PyException;

pyo3::create_exception!(
    otlp_spool,
    SpoolError,
    PyException,
    "Base class of every otlp_spool error."
);
pyo3::create_exception!(
    otlp_spool,
    ConfigError,
    SpoolError,
    "A configuration key or value was refused, or the output directory cannot be used."
);
pyo3::create_exception!(
    otlp_spool,
    BufferFullError,
    SpoolError,
    "The signal's buffer lane is full (backpressure); nothing was kept, retry later."
);
pyo3::create_exception!(
    otlp_spool,
    SpoolClosedError,
    SpoolError,
    "The spool is shut down and takes nothing more."
);
pyo3::create_exception!(
    otlp_spool,
    BatchTooLargeError,
    SpoolError,
    "One batch is larger than the whole buffer lane; retrying cannot help."
);
pyo3::create_exception!(
    otlp_spool,
    InvalidDataError,
    SpoolError,
    "The bytes were not a valid OTLP export request of the signal; nothing was kept."
);
pyo3::create_exception!(
    otlp_spool,
    FlushError,
    SpoolError,
    "A flush or shutdown did not complete in time (or the spool is shut down)."
);
pyo3::create_exception!(
    otlp_spool,
    ServeError,
    SpoolError,
    "The OTLP endpoints could not start (address in use, already serving...)."
);
pyo3::create_exception!(
    otlp_spool,
    ForkedProcessError,
    SpoolError,
    "The Spool was created in another process: a forked child cannot use its parent's spool."
);
pyo3::create_exception!(
    otlp_spool,
    ReadError,
    SpoolError,
    "The files of a signal could not be read."
);

/// The exception for a refusal of the spool's sink.
pub(crate) fn sink_error(err: &SinkError) -> PyErr {
    let message = err.to_string();
    match err {
        SinkError::Full { .. } => BufferFullError::new_err(message),
        SinkError::Closed => SpoolClosedError::new_err(message),
        SinkError::TooLarge { .. } => BatchTooLargeError::new_err(message),
        // `SinkError` is non-exhaustive.
        _ => SpoolError::new_err(message),
    }
}
