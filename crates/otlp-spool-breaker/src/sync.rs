//! Synchronisation shim: std (and arc-swap) normally, loom under `--cfg otlp_spool_loom`.
//!
//! Everything the state machine shares between threads goes through this module, so the loom
//! models in `tests/loom.rs` see every atomic access of the concurrent core. arc-swap is
//! invisible to loom (it uses real atomics and hazard-style debts), so under the loom cfg the
//! policy cell is a loom `Mutex<Arc<T>>` instead: the same `load`/`store` contract, modelled.

#[cfg(otlp_spool_loom)]
pub(crate) use loom::sync::Arc;
#[cfg(otlp_spool_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering, fence};

#[cfg(not(otlp_spool_loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(otlp_spool_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering, fence};

/// A cell holding an `Arc<T>` that readers load without blocking writers.
///
/// Outside loom this is an [`arc_swap::ArcSwap`]: a load is a few thread-local operations and
/// never blocks, a store never waits for readers.
#[cfg(not(otlp_spool_loom))]
#[derive(Debug)]
pub(crate) struct SwapCell<T>(arc_swap::ArcSwap<T>);

#[cfg(not(otlp_spool_loom))]
impl<T> SwapCell<T> {
    pub(crate) fn new(value: std::sync::Arc<T>) -> Self {
        Self(arc_swap::ArcSwap::new(value))
    }

    pub(crate) fn load(&self) -> Loaded<T> {
        // The guard is a cheap, short-lived reference: the caller uses it within one operation.
        Loaded(self.0.load())
    }

    pub(crate) fn load_full(&self) -> std::sync::Arc<T> {
        self.0.load_full()
    }

    pub(crate) fn store(&self, value: std::sync::Arc<T>) {
        self.0.store(value);
    }
}

/// A loaded value of a [`SwapCell`].
#[cfg(not(otlp_spool_loom))]
pub(crate) struct Loaded<T>(arc_swap::Guard<std::sync::Arc<T>>);

#[cfg(not(otlp_spool_loom))]
impl<T> std::ops::Deref for Loaded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// Loom-visible stand-in for the arc-swap cell: a loom mutex around the `Arc`.
#[cfg(otlp_spool_loom)]
#[derive(Debug)]
pub(crate) struct SwapCell<T>(loom::sync::Mutex<std::sync::Arc<T>>);

#[cfg(otlp_spool_loom)]
impl<T> SwapCell<T> {
    pub(crate) fn new(value: std::sync::Arc<T>) -> Self {
        Self(loom::sync::Mutex::new(value))
    }

    pub(crate) fn load(&self) -> std::sync::Arc<T> {
        self.load_full()
    }

    pub(crate) fn load_full(&self) -> std::sync::Arc<T> {
        std::sync::Arc::clone(&self.0.lock().unwrap())
    }

    pub(crate) fn store(&self, value: std::sync::Arc<T>) {
        *self.0.lock().unwrap() = value;
    }
}
