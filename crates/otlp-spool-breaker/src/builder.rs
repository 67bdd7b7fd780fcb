//! [`Builder`]: policy settings plus the clock and the transition listener.
//!
//! Every policy setting forwards to a [`PolicyBuilder`]; `build()` validates them all and
//! returns a [`ConfigError`] instead of panicking.

use std::sync::Arc as StdArc;
use std::time::Duration;

use crate::CircuitBreaker;
use crate::clock::{Clock, SystemClock};
use crate::core::Core;
use crate::error::ConfigError;
use crate::listener::{Listener, Transition};
use crate::policy::{FailureRate, Policy, PolicyBuilder};
use crate::sync::Arc;

/// Builder of a [`CircuitBreaker`], from [`CircuitBreaker::builder`].
///
/// Defaults: those of [`PolicyBuilder`], the [`SystemClock`], no listener.
#[derive(Debug, Default)]
pub struct Builder {
    policy: PolicyBuilder,
    clock: Option<StdArc<dyn Clock>>,
    listener: Option<Listener>,
}

impl Builder {
    /// Consecutive failures that open the breaker (1 ..= 65535; default 5).
    pub fn failure_threshold(mut self, failures: u32) -> Self {
        self.policy = self.policy.failure_threshold(failures);
        self
    }

    /// Also open on a failure rate over a sliding window of recent calls.
    pub fn failure_rate(mut self, rate: FailureRate) -> Self {
        self.policy = self.policy.failure_rate(rate);
        self
    }

    /// How long the first opening lasts (> 0; default 30 s).
    pub fn open_duration(mut self, duration: Duration) -> Self {
        self.policy = self.policy.open_duration(duration);
        self
    }

    /// Cap of the exponential back-off (>= `open_duration`; default 5 min).
    pub fn max_open_duration(mut self, duration: Duration) -> Self {
        self.policy = self.policy.max_open_duration(duration);
        self
    }

    /// Growth factor of the open duration per re-opening (finite, >= 1.0; default 2.0).
    pub fn backoff_multiplier(mut self, multiplier: f64) -> Self {
        self.policy = self.policy.backoff_multiplier(multiplier);
        self
    }

    /// Probes admitted at a time while HalfOpen (1 ..= 65535; default 1).
    pub fn half_open_probes(mut self, probes: u32) -> Self {
        self.policy = self.policy.half_open_probes(probes);
        self
    }

    /// Probe successes that close the breaker (1 ..= 65535; default 1).
    pub fn successes_to_close(mut self, successes: u32) -> Self {
        self.policy = self.policy.successes_to_close(successes);
        self
    }

    /// Starts from a complete policy (replacing any policy setting made so far).
    pub fn policy(mut self, policy: &Policy) -> Self {
        let mut b = Policy::builder()
            .failure_threshold(policy.failure_threshold())
            .open_duration(policy.open_duration())
            .max_open_duration(policy.max_open_duration())
            .backoff_multiplier(policy.backoff_multiplier())
            .half_open_probes(policy.half_open_probes())
            .successes_to_close(policy.successes_to_close());
        if let Some(rate) = policy.failure_rate() {
            b = b.failure_rate(*rate);
        }
        self.policy = b;
        self
    }

    /// The time source (default: [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(StdArc::new(clock));
        self
    }

    /// Called once per transition by the thread that made it; see [`Transition`].
    pub fn on_transition(mut self, listener: impl Fn(&Transition) + Send + Sync + 'static) -> Self {
        self.listener = Some(Listener(Box::new(listener)));
        self
    }

    /// Validates the settings and builds the breaker, Closed.
    pub fn build(self) -> Result<CircuitBreaker, ConfigError> {
        let policy = self.policy.build()?;
        let clock = self
            .clock
            .unwrap_or_else(|| StdArc::new(SystemClock::new()));
        Ok(CircuitBreaker::from_core(Arc::new(Core::new(
            policy,
            clock,
            self.listener,
        ))))
    }
}
