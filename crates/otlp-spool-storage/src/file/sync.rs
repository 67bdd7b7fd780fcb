//! The concurrency shim of the files part: `Arc` and `Mutex` come from loom under
//! `--cfg otlp_spool_loom` (so `tests/loom.rs` can explore every interleaving of the writer
//! hand-over) and from std otherwise. Every lock the writer takes goes through [`lock`].

#[cfg(otlp_spool_loom)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};
#[cfg(not(otlp_spool_loom))]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

/// Locks `mutex`, ignoring poisoning: a panic in another writer thread must not make the
/// spooled data unreachable (the lane state stays consistent between statements that can panic).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
