//! Integration tests of otlp-spool-core.

mod memory;
mod sink;
mod telemetry;
mod wire;
