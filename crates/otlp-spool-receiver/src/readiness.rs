//! [`Readiness`]: what `GET /ready` answers.
//!
//! Ready means: the embedding application says so (the flag, initially true), every check it
//! registered passes (for example "the buffer has room"), and the receiver is not shutting
//! down. The receiver clears its own shutting-down state itself; the flag and checks belong to
//! the application.

use std::fmt;

use crate::sync::{Arc, AtomicBool, Ordering};

type Check = dyn Fn() -> bool + Send + Sync;

/// A shared readiness switch, cheap to clone; every clone sees the same state.
///
/// ```
/// use otlp_spool_receiver::Readiness;
///
/// let readiness = Readiness::new();
/// assert!(readiness.is_ready());
/// readiness.set_ready(false); // the application is shutting down
/// assert!(!readiness.is_ready());
///
/// // A dynamic check, evaluated on every GET /ready.
/// let buffer_has_room = || true;
/// let readiness = Readiness::new().with_check(buffer_has_room);
/// assert!(readiness.is_ready());
/// ```
#[derive(Clone)]
pub struct Readiness {
    flag: Arc<AtomicBool>,
    checks: Vec<std::sync::Arc<Check>>,
}

impl Readiness {
    /// A readiness switch that starts out ready, with no checks.
    pub fn new() -> Self {
        Readiness {
            flag: Arc::new(AtomicBool::new(true)),
            checks: Vec::new(),
        }
    }

    /// Adds a check that must return true for the receiver to be ready. Checks run on every
    /// `GET /ready`; keep them cheap and non-blocking.
    pub fn with_check(mut self, check: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        self.checks.push(std::sync::Arc::new(check));
        self
    }

    /// Sets the flag (for example `false` while the application drains and shuts down).
    pub fn set_ready(&self, ready: bool) {
        self.flag.store(ready, Ordering::Release);
    }

    /// The flag and every check.
    pub fn is_ready(&self) -> bool {
        self.flag.load(Ordering::Acquire) && self.checks.iter().all(|check| check())
    }
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness::new()
    }
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness")
            .field("flag", &self.flag.load(Ordering::Relaxed))
            .field("checks", &self.checks.len())
            .finish()
    }
}
