//! Test support shared by the workspace's integration tests (a dev-dependency only, never
//! published).
//!
//! [`python()`] gives the interpreter that the Python-driven tests run (the OpenTelemetry
//! Python SDK, pyarrow, DuckDB, Playwright, maturin, pytest: `requirements-test.txt`), so that
//! `cargo test --workspace` on a fresh machine runs every test with no step before it:
//!
//! ```no_run
//! let Some(py) = otlp_spool_testkit::python() else { return }; // None only on an explicit opt-out
//! let out = std::process::Command::new(&py).args(["-c", "import pyarrow"]).output().unwrap();
//! assert!(out.status.success());
//! ```

#![forbid(unsafe_code)]

mod lock;
mod python;

pub use lock::FileLock;
pub use python::{python, target_dir, workspace_root};
