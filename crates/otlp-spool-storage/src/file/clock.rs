//! The injected wall clock. Rotation by age, retention by age and the timestamp in file names
//! all read a [`Clock`]; nothing else in the files part reads the system time.
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
use std::time::SystemTime;

/// A source of wall-clock time.
///
/// [`SystemClock`] is the default; tests use `MockClock` (feature `test-util`) and move time
/// forward by hand instead of sleeping.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The real clock: [`SystemTime::now`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one place that reads the system clock.
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

#[cfg(feature = "test-util")]
pub use mock::MockClock;

#[cfg(feature = "test-util")]
mod mock {
    use super::Clock;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, SystemTime};

    /// A clock that only moves when told to. Clones share the same time.
    #[derive(Debug, Clone)]
    pub struct MockClock {
        now: Arc<Mutex<SystemTime>>,
    }

    impl MockClock {
        /// A clock standing at `start`.
        pub fn new(start: SystemTime) -> Self {
            Self {
                now: Arc::new(Mutex::new(start)),
            }
        }

        /// A clock standing at `secs` seconds after the Unix epoch.
        pub fn at_unix_secs(secs: u64) -> Self {
            Self::new(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        }

        /// Moves the clock forward by `by`.
        pub fn advance(&self, by: Duration) {
            let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
            *now += by;
        }

        /// Sets the clock to `to` (may go backwards).
        pub fn set(&self, to: SystemTime) {
            *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
        }
    }

    impl Clock for MockClock {
        fn now(&self) -> SystemTime {
            *self.now.lock().unwrap_or_else(|e| e.into_inner())
        }
    }
}
