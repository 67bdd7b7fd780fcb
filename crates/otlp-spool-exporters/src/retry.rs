//! [`RetryPolicy`]: exponential back-off with jitter, bounded by the server's own hint.
//!
//! Invariant: the wait before retry `n` (1-based) is `initial * multiplier^(n-1)`, capped at
//! `max_backoff`, scaled by a random factor in `[1 - jitter, 1 + jitter)`; a server hint
//! (`Retry-After`, gRPC `RetryInfo`) raises it to at least the hint (itself capped at
//! `max_retry_after`). Randomness is a small per-worker xorshift: no global state, no syscalls.

use std::time::Duration;

/// How the forwarder retries a batch after a retryable failure.
///
/// Defaults: 200 ms initial back-off, doubling, capped at 30 s, ±20 % jitter, server hints
/// honoured up to 5 minutes, and no attempt limit (a batch waits, within the queue bound,
/// until the remote is back or the forwarder shuts down).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    initial_backoff: Duration,
    max_backoff: Duration,
    multiplier: f64,
    jitter: f64,
    max_retry_after: Duration,
    max_attempts: Option<u32>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            multiplier: 2.0,
            jitter: 0.2,
            max_retry_after: Duration::from_secs(300),
            max_attempts: None,
        }
    }
}

impl RetryPolicy {
    /// The wait before the first retry.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The longest back-off.
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The growth factor between retries (>= 1).
    pub fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier;
        self
    }

    /// The relative jitter, in `[0, 1]` (0.2 = ±20 %).
    pub fn jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// The longest server hint (`Retry-After`, `RetryInfo`) honoured.
    pub fn max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }

    /// Gives up on a batch after `attempts` tries (the batch is then counted as dropped);
    /// `None` (the default) retries until delivered or shut down.
    pub fn max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The attempt limit, if any.
    pub fn attempt_limit(&self) -> Option<u32> {
        self.max_attempts
    }

    /// Checks the settings; the message names the bad one.
    /// The first setting out of range, as (setting, reason).
    pub(crate) fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(self.multiplier.is_finite() && self.multiplier >= 1.0) {
            return Err((
                "retry.multiplier",
                format!("must be >= 1, got {}", self.multiplier),
            ));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err((
                "retry.jitter",
                format!("must be in [0, 1], got {}", self.jitter),
            ));
        }
        if self.max_backoff < self.initial_backoff {
            return Err((
                "retry.max_backoff",
                "must be >= retry.initial_backoff".into(),
            ));
        }
        if self.max_attempts == Some(0) {
            return Err(("retry.max_attempts", "must be >= 1".into()));
        }
        Ok(())
    }

    /// The wait before retry number `retry` (1-based), given a server hint and a random
    /// number in `[0, 1)`.
    pub fn backoff(&self, retry: u32, hint: Option<Duration>, random: f64) -> Duration {
        let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let base = self.initial_backoff.as_secs_f64() * self.multiplier.powi(exponent);
        let base = base.min(self.max_backoff.as_secs_f64());
        let factor = 1.0 - self.jitter + 2.0 * self.jitter * random;
        let wait = Duration::from_secs_f64((base * factor).max(0.0));
        match hint {
            Some(hint) => wait.max(hint.min(self.max_retry_after)),
            None => wait,
        }
    }
}

/// A small xorshift generator for jitter (not cryptographic).
#[derive(Debug, Clone)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new(seed: u64) -> Self {
        // splitmix64 of the seed, never zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    /// A number in `[0, 1)`.
    pub(crate) fn next(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}
