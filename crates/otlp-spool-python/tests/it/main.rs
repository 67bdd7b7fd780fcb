//! Integration tests of the Rust side of the Python bindings (no Python needed). The Python
//! package itself is tested by the pytest suite beside this folder (`tests/test_*.py`).

mod config;
mod read;
mod requests;
mod telemetry;
