//! Integration tests of the facade and the `otlp-spool` binary, one test binary.

mod backpressure;
mod cli;
mod config;
mod e2e_python;
mod e2e_rust;
mod embedded;
mod forward;
mod lanes;
mod shutdown;
mod support;
mod traffic;
mod upload;
