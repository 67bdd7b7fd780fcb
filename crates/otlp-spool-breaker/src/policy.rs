//! Policies: when to open, how long to stay open, how to probe.
//!
//! A [`Policy`] is an immutable, validated value. The breaker holds the current one in an
//! arc-swap cell, so [`CircuitBreaker::set_policy`](crate::CircuitBreaker::set_policy) replaces
//! it while callers keep going: an operation reads the policy once and acts on that snapshot.
//! Replacing a policy never changes the state word; it starts a fresh failure-rate window.

use std::time::Duration;

use crate::error::ConfigError;
use crate::state::{MAX_COUNT, MAX_LEVEL};

/// Largest accepted failure-rate window.
pub const MAX_WINDOW: u32 = 1 << 16;

/// Failure-rate policy: open when, over the last `window` calls of the current Closed period,
/// the share of failures reaches `threshold` and at least `minimum_calls` calls were seen.
///
/// The rate is evaluated when a failure is reported (a success can only lower it). Only calls
/// admitted while Closed count; ignored outcomes and dropped permits do not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FailureRate {
    threshold: f64,
    window: u32,
    minimum_calls: u32,
}

impl FailureRate {
    /// A failure rate of `threshold` (in (0, 1]) over a window of 100 calls, with at least 20.
    pub fn new(threshold: f64) -> Self {
        Self {
            threshold,
            window: 100,
            minimum_calls: 20,
        }
    }

    /// Number of most recent calls considered (1 ..= [`MAX_WINDOW`]).
    pub fn window(mut self, calls: u32) -> Self {
        self.window = calls;
        self
    }

    /// Calls that must have been seen before the rate can open the breaker (1 ..= window).
    pub fn minimum_calls(mut self, calls: u32) -> Self {
        self.minimum_calls = calls;
        self
    }

    /// The threshold, a share in (0, 1].
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The window size in calls.
    pub fn window_size(&self) -> u32 {
        self.window
    }

    /// The minimum number of calls.
    pub fn minimum(&self) -> u32 {
        self.minimum_calls
    }

    /// `true` if `failures` out of `calls` trips this policy.
    pub(crate) fn trips(&self, calls: u32, failures: u32) -> bool {
        calls >= self.minimum_calls && f64::from(failures) >= self.threshold * f64::from(calls)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(ConfigError::FailureRateThreshold(self.threshold));
        }
        check_count("failure_rate.window", self.window, MAX_WINDOW)?;
        check_count("failure_rate.minimum_calls", self.minimum_calls, MAX_WINDOW)?;
        if self.minimum_calls > self.window {
            return Err(ConfigError::MinimumCallsAboveWindow {
                minimum_calls: self.minimum_calls,
                window: self.window,
            });
        }
        Ok(())
    }
}

/// A validated set of breaker settings. Build one with [`Policy::builder`].
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    failure_threshold: u32,
    failure_rate: Option<FailureRate>,
    open_duration: Duration,
    max_open_duration: Duration,
    backoff_multiplier: f64,
    half_open_probes: u32,
    successes_to_close: u32,
}

impl Policy {
    /// A builder with the defaults listed on [`PolicyBuilder`].
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::default()
    }

    /// Consecutive failures that open a Closed breaker.
    pub fn failure_threshold(&self) -> u32 {
        self.failure_threshold
    }

    /// The failure-rate policy, if any.
    pub fn failure_rate(&self) -> Option<&FailureRate> {
        self.failure_rate.as_ref()
    }

    /// Duration of the first opening.
    pub fn open_duration(&self) -> Duration {
        self.open_duration
    }

    /// Cap of the back-off.
    pub fn max_open_duration(&self) -> Duration {
        self.max_open_duration
    }

    /// Growth factor of the open duration per re-opening from HalfOpen.
    pub fn backoff_multiplier(&self) -> f64 {
        self.backoff_multiplier
    }

    /// Probes admitted at a time while HalfOpen.
    pub fn half_open_probes(&self) -> u32 {
        self.half_open_probes
    }

    /// Probe successes that close a HalfOpen breaker.
    pub fn successes_to_close(&self) -> u32 {
        self.successes_to_close
    }

    /// Open duration at back-off `level`: `open_duration * multiplier^level`, capped at
    /// `max_open_duration`. Level 0 is an opening from Closed; each re-opening from HalfOpen
    /// without closing in between adds one.
    pub fn open_duration_at(&self, level: u32) -> Duration {
        // Computed in nanoseconds so that exact inputs (e.g. whole milliseconds times a power
        // of two) give exact results.
        let base = self.open_duration.as_nanos() as f64;
        let scaled = base * self.backoff_multiplier.powi(level.min(MAX_LEVEL) as i32);
        if scaled >= self.max_open_duration.as_nanos() as f64 {
            self.max_open_duration
        } else {
            // Below the cap, finite and non-negative: the cast cannot overflow meaningfully
            // (`as` saturates), and rounding keeps exact products exact.
            Duration::from_nanos(scaled.round() as u64)
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        // The builder's defaults, valid by construction (a unit test builds them too).
        Policy {
            failure_threshold: 5,
            failure_rate: None,
            open_duration: Duration::from_secs(30),
            max_open_duration: Duration::from_secs(300),
            backoff_multiplier: 2.0,
            half_open_probes: 1,
            successes_to_close: 1,
        }
    }
}

/// Builder of a [`Policy`]. Defaults: `failure_threshold` 5, no failure-rate policy,
/// `open_duration` 30 s, `max_open_duration` 5 min (or `open_duration` if longer and not set),
/// `backoff_multiplier` 2.0, `half_open_probes` 1, `successes_to_close` 1.
#[derive(Debug, Clone)]
pub struct PolicyBuilder {
    failure_threshold: u32,
    failure_rate: Option<FailureRate>,
    open_duration: Duration,
    max_open_duration: Option<Duration>,
    backoff_multiplier: f64,
    half_open_probes: u32,
    successes_to_close: u32,
}

impl Default for PolicyBuilder {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            failure_rate: None,
            open_duration: Duration::from_secs(30),
            max_open_duration: None,
            backoff_multiplier: 2.0,
            half_open_probes: 1,
            successes_to_close: 1,
        }
    }
}

impl PolicyBuilder {
    /// Consecutive failures that open the breaker (1 ..= 65535).
    pub fn failure_threshold(mut self, failures: u32) -> Self {
        self.failure_threshold = failures;
        self
    }

    /// Also open on a failure rate over a sliding window of recent calls.
    pub fn failure_rate(mut self, rate: FailureRate) -> Self {
        self.failure_rate = Some(rate);
        self
    }

    /// How long the first opening lasts (> 0).
    pub fn open_duration(mut self, duration: Duration) -> Self {
        self.open_duration = duration;
        self
    }

    /// Cap of the exponential back-off (>= `open_duration`).
    pub fn max_open_duration(mut self, duration: Duration) -> Self {
        self.max_open_duration = Some(duration);
        self
    }

    /// Growth factor per re-opening (finite, >= 1.0; 1.0 disables back-off).
    pub fn backoff_multiplier(mut self, multiplier: f64) -> Self {
        self.backoff_multiplier = multiplier;
        self
    }

    /// Probes admitted at a time while HalfOpen (1 ..= 65535).
    pub fn half_open_probes(mut self, probes: u32) -> Self {
        self.half_open_probes = probes;
        self
    }

    /// Probe successes needed to close (1 ..= 65535).
    pub fn successes_to_close(mut self, successes: u32) -> Self {
        self.successes_to_close = successes;
        self
    }

    /// Validates the settings.
    pub fn build(self) -> Result<Policy, ConfigError> {
        check_count("failure_threshold", self.failure_threshold, MAX_COUNT)?;
        check_count("half_open_probes", self.half_open_probes, MAX_COUNT)?;
        check_count("successes_to_close", self.successes_to_close, MAX_COUNT)?;
        if self.open_duration.is_zero() {
            return Err(ConfigError::ZeroOpenDuration);
        }
        let max_open_duration = self
            .max_open_duration
            .unwrap_or(Duration::from_secs(300).max(self.open_duration));
        if max_open_duration < self.open_duration {
            return Err(ConfigError::MaxOpenDurationBelowBase {
                base: self.open_duration,
                max: max_open_duration,
            });
        }
        if !(self.backoff_multiplier.is_finite() && self.backoff_multiplier >= 1.0) {
            return Err(ConfigError::BackoffMultiplier(self.backoff_multiplier));
        }
        if let Some(rate) = &self.failure_rate {
            rate.validate()?;
        }
        Ok(Policy {
            failure_threshold: self.failure_threshold,
            failure_rate: self.failure_rate,
            open_duration: self.open_duration,
            max_open_duration,
            backoff_multiplier: self.backoff_multiplier,
            half_open_probes: self.half_open_probes,
            successes_to_close: self.successes_to_close,
        })
    }
}

fn check_count(setting: &'static str, value: u32, max: u32) -> Result<(), ConfigError> {
    if value == 0 {
        Err(ConfigError::Zero { setting })
    } else if value > max {
        Err(ConfigError::TooLarge {
            setting,
            value: value.into(),
            max: max.into(),
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let p = Policy::default();
        assert_eq!(Policy::builder().build(), Ok(p.clone()));
        assert_eq!(p.failure_threshold(), 5);
        assert_eq!(p.open_duration_at(0), Duration::from_secs(30));
        assert_eq!(p.open_duration_at(1), Duration::from_secs(60));
        assert_eq!(p.open_duration_at(10), Duration::from_secs(300));
        assert_eq!(p.open_duration_at(MAX_LEVEL), Duration::from_secs(300));
    }

    #[test]
    fn rate_trips_at_threshold() {
        let r = FailureRate::new(0.5).window(10).minimum_calls(4);
        assert!(!r.trips(3, 3));
        assert!(r.trips(4, 2));
        assert!(!r.trips(5, 2));
    }
}
