//! Whether a worker (a lane's writer, a lane's housekeeping, the forwarder) makes progress,
//! for `GET /health` and the `otlp_spool_worker_*` self-metrics.
//!
//! A worker **cannot make progress** when either
//! - its last [`FAILURES_UNHEALTHY`] attempts in a row failed or panicked (an attempt is one
//!   conversion, one write call, or one housekeeping tick; a failing write retried with
//!   back-off counts each retry), or
//! - one attempt has been running for longer than [`STALL_UNHEALTHY`] (a hung disk).
//!
//! One successful attempt makes it healthy again. Being idle is healthy; so is a lane that is
//! full because clients send faster than the disk takes (that is readiness, not liveness).
//!
//! Invariants: recording an outcome is a couple of relaxed atomic operations (plus a short
//! lock to keep the last failure's text); reading the state never blocks the worker.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Attempts failing in a row that make a worker unhealthy.
pub(crate) const FAILURES_UNHEALTHY: u32 = 3;
/// How long one attempt may run before its worker counts as stuck.
pub(crate) const STALL_UNHEALTHY: Duration = Duration::from_secs(60);

/// The progress record of one worker.
#[derive(Debug)]
pub(crate) struct Progress {
    name: String,
    epoch: Instant,
    /// Milliseconds since `epoch` (plus one) at which the running attempt began; 0 when idle.
    busy_since: AtomicU64,
    consecutive_failures: AtomicU32,
    panics: AtomicU64,
    last_failure: Mutex<String>,
}

impl Progress {
    pub(crate) fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            epoch: Instant::now(),
            busy_since: AtomicU64::new(0),
            consecutive_failures: AtomicU32::new(0),
            panics: AtomicU64::new(0),
            last_failure: Mutex::new(String::new()),
        }
    }

    /// The worker's label (`traces_writer`, `forwarder`, ...).
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// An attempt begins.
    pub(crate) fn begin(&self) {
        let now = self.epoch.elapsed().as_millis() as u64 + 1;
        self.busy_since.store(now, Ordering::Relaxed);
    }

    /// The attempt ended without an outcome of its own (a conversion whose writes reported
    /// theirs): no longer busy, failures left as they are.
    pub(crate) fn settled(&self) {
        self.busy_since.store(0, Ordering::Relaxed);
    }

    /// The attempt succeeded.
    pub(crate) fn succeeded(&self) {
        self.busy_since.store(0, Ordering::Relaxed);
        self.consecutive_failures.store(0, Ordering::Relaxed);
    }

    /// The attempt failed (an error it reported).
    pub(crate) fn failed(&self, why: &str) {
        self.busy_since.store(0, Ordering::Relaxed);
        self.consecutive_failures.fetch_add(1, Ordering::Relaxed);
        *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) = why.to_owned();
    }

    /// The attempt panicked.
    pub(crate) fn panicked(&self, message: &str) {
        self.panics.fetch_add(1, Ordering::Relaxed);
        self.failed(&format!("panic: {message}"));
    }

    /// Attempts that failed in a row, up to now.
    pub(crate) fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures.load(Ordering::Relaxed)
    }

    /// Panics caught in this worker.
    pub(crate) fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }

    /// `None` while the worker makes progress, else what is wrong, naming the worker.
    pub(crate) fn problem(&self) -> Option<String> {
        let failures = self.consecutive_failures();
        if failures >= FAILURES_UNHEALTHY {
            let last = self
                .last_failure
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            return Some(format!(
                "{}: the last {failures} attempts failed (last: {last})",
                self.name
            ));
        }
        let busy_since = self.busy_since.load(Ordering::Relaxed);
        if busy_since > 0 {
            let now = self.epoch.elapsed().as_millis() as u64 + 1;
            let running = Duration::from_millis(now.saturating_sub(busy_since));
            if running >= STALL_UNHEALTHY {
                return Some(format!(
                    "{}: one attempt has been running for {}s",
                    self.name,
                    running.as_secs()
                ));
            }
        }
        None
    }
}

/// The text of a caught panic's payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_failures_in_a_row_are_unhealthy_and_one_success_heals() {
        let p = Progress::new("traces_writer");
        assert_eq!(p.problem(), None);
        p.begin();
        p.failed("disk full");
        p.begin();
        p.panicked("boom");
        assert_eq!(p.problem(), None);
        p.begin();
        p.failed("disk full");
        let problem = p.problem().unwrap();
        assert!(problem.starts_with("traces_writer: the last 3 attempts failed"));
        assert!(problem.contains("disk full"), "{problem}");
        assert_eq!(p.panics(), 1);
        p.begin();
        p.succeeded();
        assert_eq!(p.problem(), None);
    }

    #[test]
    fn panic_payloads_become_text() {
        let payload = std::panic::catch_unwind(|| panic!("with {}", "format")).unwrap_err();
        assert_eq!(panic_message(payload.as_ref()), "with format");
        let payload = std::panic::catch_unwind(|| panic!("static")).unwrap_err();
        assert_eq!(panic_message(payload.as_ref()), "static");
    }
}
