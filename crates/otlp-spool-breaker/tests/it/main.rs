//! Integration tests of `otlp-spool-breaker`, all on the mock clock (nothing sleeps).

mod call;
mod concurrency;
mod config;
mod model;
mod observe;
mod outcomes;
mod transitions;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use otlp_spool_breaker::{Builder, CircuitBreaker, MockClock, State, Transition};

/// Builds `builder` on a fresh mock clock, recording transitions.
pub(crate) struct Fixture {
    pub(crate) breaker: CircuitBreaker,
    pub(crate) clock: MockClock,
    pub(crate) transitions: Arc<Mutex<Vec<Transition>>>,
}

pub(crate) fn fixture(builder: Builder) -> Fixture {
    let clock = MockClock::new();
    let transitions = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&transitions);
    let breaker = builder
        .clock(clock.clone())
        .on_transition(move |t| sink.lock().unwrap().push(*t))
        .build()
        .expect("valid settings");
    Fixture {
        breaker,
        clock,
        transitions,
    }
}

impl Fixture {
    /// Reports `n` failures, each on a fresh permit.
    pub(crate) fn fail(&self, n: u32) {
        for _ in 0..n {
            self.breaker.try_acquire().expect("admitted").failure();
        }
    }

    /// Reports `n` successes, each on a fresh permit.
    pub(crate) fn succeed(&self, n: u32) {
        for _ in 0..n {
            self.breaker.try_acquire().expect("admitted").success();
        }
    }

    /// `(from, to)` of every transition so far.
    pub(crate) fn path(&self) -> Vec<(State, State)> {
        self.transitions
            .lock()
            .unwrap()
            .iter()
            .map(|t| (t.from, t.to))
            .collect()
    }

    /// Checks the state and how long a rejected caller is told to wait.
    pub(crate) fn check_rejected(&self, retry_after: Duration) {
        let rejected = self.breaker.try_acquire().expect_err("rejected");
        assert_eq!(rejected.state(), self.breaker.state());
        assert_eq!(rejected.retry_after(), retry_after);
    }
}

pub(crate) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}
