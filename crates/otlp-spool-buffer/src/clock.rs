//! Injected time: the [`Clock`] trait, the real [`SystemClock`] and a [`ManualClock`]
//! for tests.
//!
//! Invariant: the buffer never reads the system time itself; batch age is measured only
//! through the `Clock` it was built with. `SystemClock` is the one place that calls
//! `Instant::now()`.
//!
//! # Why this crate has its own `Clock`
//! The workspace has three `Clock` traits and shares none of them on purpose. The breaker's and
//! the buffer's are the same shape (a monotonic `Duration` since the clock's origin), but both
//! crates depend on nothing of the workspace (DESIGN.md: `breaker -> ()`, `buffer -> ()`), so
//! that each can be used, and modelled by loom, on its own; a shared trait would need a crate
//! that both depend on just for one method. Storage's clock is a different thing: wall-clock
//! `SystemTime`, for file names and age-based rotation and retention, which a monotonic clock
//! cannot give. The facade hands each component its real clock; tests pass each a mock.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic clock. `now()` is the time elapsed since the clock's own origin.
///
/// The buffer reads it when a shard receives its first item after a drain, on every push
/// under `DropOldest` (the arrival stamp that picks the next victim), and when a consumer
/// asks whether a batch is ready; with the other policies a slow clock does not slow pushes.
pub trait Clock: Debug + Send + Sync {
    /// Monotonic time since an arbitrary, fixed origin. Must never go backwards.
    fn now(&self) -> Duration;
}

/// The real clock, backed by [`Instant`].
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose origin is the moment of this call.
    #[allow(clippy::disallowed_methods)] // The one place that reads the system clock.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one place that reads the system clock.
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that only moves when told to; for tests and simulations.
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// A clock standing at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(by, Ordering::SeqCst);
    }

    /// Sets the clock to `to` (must not be earlier than the current reading).
    pub fn set(&self, to: Duration) {
        let to = u64::try_from(to.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_max(to, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}
