//! Errors: one type per operation.
//!
//! * [`ConfigError`]: building a breaker or a [`Policy`](crate::Policy) with invalid settings.
//! * [`Rejected`]: `try_acquire` refused a call; carries `retry_after`.
//! * [`CallError`]: [`CircuitBreaker::call`](crate::CircuitBreaker::call) either was rejected or
//!   ran the call and it failed; the two are kept apart so callers never confuse a breaker
//!   refusal with a remote error.

use std::time::Duration;

use crate::State;

/// Invalid breaker settings, reported by `build()` instead of a panic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A count that must be at least 1 was 0.
    #[error("`{setting}` must be at least 1")]
    Zero {
        /// Name of the builder setting.
        setting: &'static str,
    },
    /// A count exceeded what the packed state word can hold.
    #[error("`{setting}` is {value}, above the maximum of {max}")]
    TooLarge {
        /// Name of the builder setting.
        setting: &'static str,
        /// The value given.
        value: u64,
        /// The largest accepted value.
        max: u64,
    },
    /// `open_duration` was zero.
    #[error("`open_duration` must be greater than zero")]
    ZeroOpenDuration,
    /// `max_open_duration` was shorter than `open_duration`.
    #[error("`max_open_duration` ({max:?}) is shorter than `open_duration` ({base:?})")]
    MaxOpenDurationBelowBase {
        /// The configured `open_duration`.
        base: Duration,
        /// The configured `max_open_duration`.
        max: Duration,
    },
    /// The back-off multiplier was below 1, NaN or infinite.
    #[error("`backoff_multiplier` must be a finite number >= 1.0, got {0}")]
    BackoffMultiplier(f64),
    /// The failure-rate threshold was outside (0, 1].
    #[error("failure-rate threshold must be in (0, 1], got {0}")]
    FailureRateThreshold(f64),
    /// `minimum_calls` of the failure-rate policy exceeded the window size.
    #[error("failure-rate `minimum_calls` ({minimum_calls}) exceeds the window size ({window})")]
    MinimumCallsAboveWindow {
        /// The configured minimum.
        minimum_calls: u32,
        /// The configured window size.
        window: u32,
    },
}

/// Why a call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker is {state}; retry after {retry_after:?}")]
pub struct Rejected {
    pub(crate) state: State,
    pub(crate) retry_after: Duration,
}

impl Rejected {
    /// Time left until the breaker admits a probe.
    ///
    /// While Open this is the rest of the open duration. While HalfOpen with every probe slot
    /// taken it is [`Duration::ZERO`]: a slot frees as soon as an in-flight probe reports, which
    /// the breaker cannot predict, so the caller picks its own pacing.
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }

    /// The state that refused the call: [`State::Open`] or [`State::HalfOpen`].
    pub fn state(&self) -> State {
        self.state
    }
}

/// Error of [`CircuitBreaker::call`](crate::CircuitBreaker::call).
#[derive(Debug, thiserror::Error)]
pub enum CallError<E> {
    /// The breaker refused the call; the future was dropped without being polled.
    #[error(transparent)]
    Rejected(#[from] Rejected),
    /// The call ran and returned this error.
    #[error("call failed: {0}")]
    Inner(E),
}

impl<E> CallError<E> {
    /// The inner error, if the call ran.
    pub fn into_inner(self) -> Option<E> {
        match self {
            CallError::Rejected(_) => None,
            CallError::Inner(e) => Some(e),
        }
    }

    /// The rejection, if the breaker refused the call.
    pub fn rejected(&self) -> Option<&Rejected> {
        match self {
            CallError::Rejected(r) => Some(r),
            CallError::Inner(_) => None,
        }
    }
}
