//! Synchronisation shim: loom types under `--cfg otlp_spool_loom`, std atomics and
//! parking_lot otherwise.
//!
//! The forwarder's concurrent core ([`crate::queue`]) and the SDK exporters' shutdown gate
//! ([`crate::exporter_state`]) share state only through this module, so the loom models in
//! `tests/loom.rs` see every interleaving that matters. The async wrappers around them (tokio
//! tasks, `Notify`, `watch`) are not modelled; integration tests stress them instead.

#[cfg(otlp_spool_loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};
#[cfg(not(otlp_spool_loom))]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};

/// Gives the CPU away while spinning on another thread's progress.
#[cfg(otlp_spool_loom)]
pub(crate) use loom::thread::yield_now;
#[cfg(not(otlp_spool_loom))]
pub(crate) use std::thread::yield_now;

/// A mutual-exclusion lock whose `lock()` never fails (no poisoning).
#[cfg(not(otlp_spool_loom))]
#[derive(Debug, Default)]
pub(crate) struct Mutex<T>(parking_lot::Mutex<T>);

#[cfg(not(otlp_spool_loom))]
impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(parking_lot::Mutex::new(value))
    }

    #[inline]
    pub(crate) fn lock(&self) -> parking_lot::MutexGuard<'_, T> {
        self.0.lock()
    }
}

/// A mutual-exclusion lock whose `lock()` never fails (no poisoning).
#[cfg(otlp_spool_loom)]
#[derive(Debug)]
pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

#[cfg(otlp_spool_loom)]
impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(loom::sync::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A condition variable paired with [`Mutex`] (outside loom only: the models never block on
/// it, they poll `is_idle`).
#[cfg(not(otlp_spool_loom))]
#[derive(Debug, Default)]
pub(crate) struct Condvar(parking_lot::Condvar);

#[cfg(not(otlp_spool_loom))]
impl Condvar {
    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }

    /// Waits until notified or `timeout` passed; `true` if it timed out.
    pub(crate) fn wait_for<T>(
        &self,
        guard: &mut parking_lot::MutexGuard<'_, T>,
        timeout: std::time::Duration,
    ) -> bool {
        self.0.wait_for(guard, timeout).timed_out()
    }
}

/// Loom stand-in: notifications are no-ops (nobody waits under loom).
#[cfg(otlp_spool_loom)]
#[derive(Debug, Default)]
pub(crate) struct Condvar;

#[cfg(otlp_spool_loom)]
impl Condvar {
    pub(crate) fn notify_all(&self) {}
}
