//! Synchronisation shim: parking_lot locks and std atomics and threads normally, loom's under
//! `--cfg otlp_spool_loom`.
//!
//! Everything the group-commit core shares between threads (the log state, the commit groups,
//! the tail notifier, the counters) goes through this module, so the loom models in
//! `tests/loom.rs` see every lock, wait and notification of that core. `Arc` stays std's:
//! reference counting is not part of what the models check.
//!
//! Both flavours offer the same small surface: `Mutex::lock()` never fails (no poisoning) and
//! `Condvar::wait(&mut guard)` takes the guard by reference, parking_lot style.

#[cfg(not(otlp_spool_loom))]
use std::time::Duration;

#[cfg(not(otlp_spool_loom))]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(otlp_spool_loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};

#[cfg(not(otlp_spool_loom))]
pub(crate) use parking_lot::{Mutex, MutexGuard};

/// A condition variable paired with [`Mutex`].
#[cfg(not(otlp_spool_loom))]
#[derive(Debug, Default)]
pub(crate) struct Condvar(parking_lot::Condvar);

#[cfg(not(otlp_spool_loom))]
impl Condvar {
    pub(crate) fn new() -> Self {
        Self(parking_lot::Condvar::new())
    }

    /// Releases the lock, waits for a notification (or a spurious wake-up), locks again.
    pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
        self.0.wait(guard);
    }

    /// Like [`Condvar::wait`], but for at most `timeout`; `true` when the time ran out.
    pub(crate) fn wait_for<T>(&self, guard: &mut MutexGuard<'_, T>, timeout: Duration) -> bool {
        self.0.wait_for(guard, timeout).timed_out()
    }

    pub(crate) fn notify_one(&self) {
        self.0.notify_one();
    }

    pub(crate) fn notify_all(&self) {
        self.0.notify_all();
    }
}

/// Starts an OS thread (a loom thread under the loom cfg).
#[cfg(not(otlp_spool_loom))]
pub(crate) fn spawn<F>(name: String, f: F) -> std::io::Result<std::thread::JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    std::thread::Builder::new().name(name).spawn(f)
}

#[cfg(otlp_spool_loom)]
pub(crate) use loom_impl::{Condvar, Mutex, spawn};

#[cfg(otlp_spool_loom)]
mod loom_impl {
    use std::ops::{Deref, DerefMut};
    use std::time::Duration;

    /// A mutual-exclusion lock whose `lock()` never fails.
    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    /// Exclusive access to a [`Mutex`]'s value; the inner guard is lent to the condvar while
    /// it waits.
    pub(crate) struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            // A panic while a lock is held already fails the model; ignore poisoning.
            MutexGuard(Some(
                self.0
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
            ))
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;

        fn deref(&self) -> &T {
            self.0.as_ref().expect("guard present outside a wait")
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.0.as_mut().expect("guard present outside a wait")
        }
    }

    /// A condition variable paired with [`Mutex`].
    #[derive(Debug, Default)]
    pub(crate) struct Condvar(loom::sync::Condvar);

    impl Condvar {
        pub(crate) fn new() -> Self {
            Self(loom::sync::Condvar::new())
        }

        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let inner = guard.0.take().expect("guard present before a wait");
            guard.0 = Some(
                self.0
                    .wait(inner)
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
            );
        }

        /// loom has no time: a timed wait is an untimed one that may also return spuriously.
        /// The models never rely on a timeout firing.
        pub(crate) fn wait_for<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            _timeout: Duration,
        ) -> bool {
            self.wait(guard);
            false
        }

        pub(crate) fn notify_one(&self) {
            self.0.notify_one();
        }

        pub(crate) fn notify_all(&self) {
            self.0.notify_all();
        }
    }

    /// Starts a loom thread; never fails.
    pub(crate) fn spawn<F>(_name: String, f: F) -> std::io::Result<loom::thread::JoinHandle<()>>
    where
        F: FnOnce() + Send + 'static,
    {
        Ok(loom::thread::spawn(f))
    }
}

/// The join handle [`spawn`] returns.
#[cfg(not(otlp_spool_loom))]
pub(crate) type JoinHandle = std::thread::JoinHandle<()>;

/// The join handle [`spawn`] returns.
#[cfg(otlp_spool_loom)]
pub(crate) type JoinHandle = loom::thread::JoinHandle<()>;
