//! Integration tests of otlp-spool-exporters (one binary; 127.0.0.1 only).

mod common;
mod faults;
mod forward;
mod panics;
mod sdk;
mod tls;
