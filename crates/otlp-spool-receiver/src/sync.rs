//! The atomics the concurrency limit and the readiness flag use: loom's under
//! `--cfg otlp_spool_loom` (so `tests/loom.rs` can model them), std's otherwise.

#[cfg(otlp_spool_loom)]
pub(crate) use loom::sync::Arc;
#[cfg(otlp_spool_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[cfg(not(otlp_spool_loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(otlp_spool_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
