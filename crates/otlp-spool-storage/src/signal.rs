//! The three OTLP signals: the shared `otlp_spool_core::Signal`, re-exported so that storage
//! users need not depend on the core crate for it. Each signal has its own lane, schema and
//! folder (`traces`, `metrics`, `logs`: [`Signal::as_str`]).

pub use otlp_spool_core::Signal;
