//! Synchronisation shim: loom types under `--cfg otlp_spool_loom`; std atomics,
//! parking_lot (waker lists) and a small spin lock (shards) otherwise.
//!
//! Everything the concurrent core shares between threads (the reservation word, the
//! shard locks, the counters and the waker lists) goes through this module, so loom
//! sees every interleaving that matters. `Arc` stays std's: reference counting is not
//! part of what the models check.

#[cfg(not(otlp_spool_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

#[cfg(otlp_spool_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

#[cfg(not(otlp_spool_loom))]
pub(crate) use spin::SpinMutex;

/// A mutual-exclusion lock whose `lock()` never fails (no poisoning); parks waiters.
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

/// Under loom the shard lock is loom's mutex too.
#[cfg(otlp_spool_loom)]
pub(crate) use Mutex as SpinMutex;

#[cfg(not(otlp_spool_loom))]
#[allow(unsafe_code)] // the spin lock's `Send`/`Sync` and guard derefs; each has its SAFETY comment
mod spin {
    //! A test-and-test-and-set lock for the shards' tiny critical sections.
    //!
    //! Why not parking_lot: its unlock is a compare-and-swap (it must check for parked
    //! threads), ours is a plain release store, which saves one atomic
    //! read-modify-write per push. The critical sections guarded here are a handful of
    //! instructions (a `push_back`, a `mem::replace`), so a waiter spins briefly, then
    //! yields its time slice instead of parking.

    use std::cell::UnsafeCell;
    use std::ops::{Deref, DerefMut};
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A spinning mutual-exclusion lock whose `lock()` never fails (no poisoning).
    pub(crate) struct SpinMutex<T> {
        locked: AtomicBool,
        value: UnsafeCell<T>,
    }

    // SAFETY: the lock hands out access to `value` to one thread at a time (the
    // `locked` flag is acquired with `Acquire` and released with `Release`), so sharing
    // the lock is sound whenever moving the value between threads is.
    unsafe impl<T: Send> Sync for SpinMutex<T> {}
    // SAFETY: as above; the lock owns its value.
    unsafe impl<T: Send> Send for SpinMutex<T> {}

    impl<T> std::fmt::Debug for SpinMutex<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("SpinMutex")
                .field("locked", &self.locked.load(Ordering::Relaxed))
                .finish_non_exhaustive()
        }
    }

    impl<T> SpinMutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self {
                locked: AtomicBool::new(false),
                value: UnsafeCell::new(value),
            }
        }

        #[inline]
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                self.lock_contended();
            }
            MutexGuard { lock: self }
        }

        #[cold]
        fn lock_contended(&self) {
            let mut spins = 0u32;
            loop {
                while self.locked.load(Ordering::Relaxed) {
                    if spins < 64 {
                        spins += 1;
                        std::hint::spin_loop();
                    } else {
                        std::thread::yield_now();
                    }
                }
                if self
                    .locked
                    .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return;
                }
            }
        }
    }

    /// Exclusive access to a [`SpinMutex`]'s value; unlocks on drop.
    pub(crate) struct MutexGuard<'a, T> {
        lock: &'a SpinMutex<T>,
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;

        #[inline]
        fn deref(&self) -> &T {
            // SAFETY: the guard exists only while this thread holds the lock.
            unsafe { &*self.lock.value.get() }
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        #[inline]
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: the guard exists only while this thread holds the lock, and
            // `&mut self` makes this the only reference derived from the guard.
            unsafe { &mut *self.lock.value.get() }
        }
    }

    impl<T> Drop for MutexGuard<'_, T> {
        #[inline]
        fn drop(&mut self) {
            self.lock.locked.store(false, Ordering::Release);
        }
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
        // A panic while a lock is held already fails the model; ignore poisoning.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A per-thread shard hint for [`crate::BatchBuffer::push`].
///
/// Threads are numbered in the order they first push; the buffer takes the number
/// modulo its shard count. Under loom every model thread runs on one OS thread, so
/// the hint is constant there (models use explicit `Producer` handles instead).
#[cfg(not(otlp_spool_loom))]
#[inline]
pub(crate) fn thread_hint() -> usize {
    use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};
    static NEXT: StdAtomicUsize = StdAtomicUsize::new(0);
    std::thread_local! {
        static HINT: usize = NEXT.fetch_add(1, StdOrdering::Relaxed);
    }
    HINT.with(|hint| *hint)
}

/// A per-thread shard hint (constant under loom).
#[cfg(otlp_spool_loom)]
#[inline]
pub(crate) fn thread_hint() -> usize {
    0
}

/// Yields the processor to another (model) thread while spinning on a transient state.
#[cfg(not(otlp_spool_loom))]
pub(crate) fn yield_now() {
    std::thread::yield_now();
}

/// Yields to another model thread.
#[cfg(otlp_spool_loom)]
pub(crate) fn yield_now() {
    loom::thread::yield_now();
}

/// Aligns its content to 128 bytes (two cache lines, the prefetch pair on x86), so
/// independently written fields never share a line.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}
