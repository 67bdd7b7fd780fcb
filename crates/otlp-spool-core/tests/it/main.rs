//! Integration tests of otlp-spool-core.

mod oracle;
mod sink;
mod telemetry;
mod walk;
mod walk_gen;
mod walk_mutate;
mod walk_props;
mod wire;
