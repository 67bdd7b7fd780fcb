//! Integration tests of the Python bindings: the Rust side (no Python needed), and
//! `pytest_suite`, which builds the wheel and runs the package's pytest suite beside this folder
//! (`tests/test_*.py`) against it.

mod config;
mod pytest_suite;
mod read;
mod requests;
mod telemetry;
