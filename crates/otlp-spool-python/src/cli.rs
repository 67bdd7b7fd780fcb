//! `python -m otlp_spool ...`: the `otlp-spool` binary's command line, run in-process.
//!
//! It calls the facade's [`otlp_spool::cli::run`], so flags, configuration precedence, logs
//! and exit codes are the binary's. The GIL is released for the whole run; the Python side
//! restores the default SIGINT/SIGTERM dispositions first, so the service's own signal handling
//! decides, as in the binary.

use std::process::ExitCode;

use pyo3::prelude::*;

/// Runs the command line `argv` (`argv[0]` is the program name) and returns its exit status.
#[pyfunction]
pub(crate) fn run_cli(py: Python<'_>, argv: Vec<String>) -> i32 {
    let code = py.detach(|| otlp_spool::cli::run(argv));
    exit_status(code)
}

/// The number behind an [`ExitCode`] (std has no stable accessor; codes are 0..=255).
pub fn exit_status(code: ExitCode) -> i32 {
    (0..=u8::MAX)
        .find(|n| ExitCode::from(*n) == code)
        .map_or(1, i32::from)
}
