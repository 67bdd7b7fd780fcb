//! Integration tests of otlp-spool-core.

mod sink;
mod telemetry;
mod wire;
