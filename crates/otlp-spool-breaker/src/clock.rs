//! Time source of the breaker.
//!
//! The breaker never reads the wall clock itself: it asks a [`Clock`] for the time elapsed since
//! the clock's own origin, as a monotonic [`Duration`]. [`SystemClock`] (the default) is the only
//! place in the crate that calls `Instant::now()`. With the `test-util` feature, [`MockClock`]
//! stands still until a test calls [`MockClock::advance`], so tests never sleep.
//!
//! The Closed-state hot path does not read the clock at all; it is read when the breaker opens,
//! while it is open (to compute `retry_after` and to notice that the wait is over) and to
//! timestamp transitions.
//!
//! # Why this crate has its own `Clock`
//! The workspace has three `Clock` traits and shares none of them on purpose. The breaker's and
//! the buffer's are the same shape (a monotonic `Duration` since the clock's origin), but both
//! crates depend on nothing of the workspace (DESIGN.md: `breaker -> ()`, `buffer -> ()`), so
//! that each can be used, and modelled by loom, on its own; a shared trait would need a crate
//! that both depend on just for one method. Storage's clock is a different thing: wall-clock
//! `SystemTime`, for file names and age-based rotation and retention, which a monotonic clock
//! cannot give. The facade hands each component its real clock; tests pass each a mock.

use std::fmt;
use std::time::{Duration, Instant};

/// A monotonic time source.
///
/// `now` returns the time elapsed since an arbitrary, fixed origin chosen by the clock. It must
/// never go backwards; the breaker saturates if it does, but back-off waits would then stretch.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Time elapsed since this clock's origin.
    fn now(&self) -> Duration;
}

/// The default clock: [`Instant`] relative to the moment the clock was created.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose origin is now.
    #[allow(clippy::disallowed_methods)] // the one sanctioned reader of the system clock
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
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// Converts a clock reading into the nanosecond count the state machine stores.
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(feature = "test-util")]
pub use mock::MockClock;

#[cfg(feature = "test-util")]
mod mock {
    use super::Clock;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    /// A clock that only moves when told to (feature `test-util`).
    ///
    /// Clones share the same time, so a test keeps one handle and gives a clone to the breaker.
    /// Time is stubbed even under loom: it is a plain std atomic that models set before they
    /// spawn threads.
    #[derive(Debug, Clone, Default)]
    pub struct MockClock {
        nanos: Arc<AtomicU64>,
    }

    impl MockClock {
        /// A clock at time zero.
        pub fn new() -> Self {
            Self::default()
        }

        /// Moves the clock forward by `by` (saturating).
        pub fn advance(&self, by: Duration) {
            let by = super::nanos(by);
            // fetch_update cannot fail with a closure that always returns Some.
            let _ = self
                .nanos
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                    Some(n.saturating_add(by))
                });
        }
    }

    impl Clock for MockClock {
        fn now(&self) -> Duration {
            Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
        }
    }
}
