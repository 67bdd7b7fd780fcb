//! [`CircuitBreaker`]: the shareable handle over the concurrent core.
//!
//! A handle is one `Arc`; clones share the state. All methods take `&self` and never block.

use std::fmt;
use std::future::IntoFuture;

use crate::builder::Builder;
use crate::core::Core;
use crate::error::{CallError, ConfigError, Rejected};
use crate::permit::{Outcome, OwnedPermit, Permit};
use crate::policy::Policy;
use crate::sync::Arc;
use crate::{Counters, State};

/// A lock-free circuit breaker. `Send + Sync`, cloned by one reference-count increment.
///
/// ```
/// use std::time::Duration;
/// use otlp_spool_breaker::{CircuitBreaker, State};
///
/// let breaker = CircuitBreaker::builder()
///     .failure_threshold(2)
///     .open_duration(Duration::from_secs(30))
///     .build()?;
/// for _ in 0..2 {
///     breaker.try_acquire().expect("closed").failure();
/// }
/// assert_eq!(breaker.state(), State::Open);
/// let rejected = breaker.try_acquire().unwrap_err();
/// assert!(rejected.retry_after() <= Duration::from_secs(30));
/// # Ok::<(), otlp_spool_breaker::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct CircuitBreaker {
    core: Arc<Core>,
}

impl CircuitBreaker {
    /// A builder with default settings.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A breaker with `policy` and the system clock.
    pub fn new(policy: &Policy) -> Result<Self, ConfigError> {
        Self::builder().policy(policy).build()
    }

    pub(crate) fn from_core(core: Arc<Core>) -> Self {
        Self { core }
    }

    pub(crate) fn core(&self) -> &Core {
        &self.core
    }

    /// Asks to make one call.
    ///
    /// Closed: always admitted (no lock, no allocation). Open: rejected with the time left,
    /// unless the open duration has passed, in which case this call becomes the first probe
    /// and the breaker turns HalfOpen. HalfOpen: admitted while fewer than `half_open_probes`
    /// probes are in flight.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_>, Rejected> {
        self.core
            .try_acquire()
            .map(|ticket| Permit::new(&self.core, ticket))
    }

    /// Like [`try_acquire`](Self::try_acquire), for a permit that owns a handle to the
    /// breaker and can move to another task or thread.
    pub fn try_acquire_owned(&self) -> Result<OwnedPermit, Rejected> {
        self.core
            .try_acquire()
            .map(|ticket| OwnedPermit::new(self.clone(), ticket))
    }

    /// Runs `future` if the breaker admits it, and reports `classify(&result)`.
    ///
    /// When rejected, `future` is dropped without being polled. If the returned future is
    /// dropped before completion (cancelled), the permit is abandoned, which frees a
    /// half-open probe slot. No runtime is needed: this is plain `async`.
    pub async fn call<F, T, E, C>(&self, future: F, classify: C) -> Result<T, CallError<E>>
    where
        F: IntoFuture<Output = Result<T, E>>,
        C: FnOnce(&Result<T, E>) -> Outcome,
    {
        let permit = self.try_acquire()?;
        let result = future.await;
        permit.record(classify(&result));
        result.map_err(CallError::Inner)
    }

    /// The current state. Open turns HalfOpen lazily, on the first `try_acquire` after the
    /// open duration, so a breaker whose wait is over still reports Open until then.
    pub fn state(&self) -> State {
        self.core.state()
    }

    /// The counters, read without a lock.
    pub fn counters(&self) -> Counters {
        self.core.counters()
    }

    /// The current policy.
    pub fn policy(&self) -> Policy {
        self.core.policy()
    }

    /// Replaces the policy while callers keep going. The state is kept; the new settings
    /// apply to the next decision (a breaker that is Open now keeps the wait it opened with),
    /// and the failure-rate window starts empty.
    pub fn set_policy(&self, policy: Policy) {
        self.core.set_policy(policy);
    }

    /// The clock the breaker reads.
    pub fn clock(&self) -> &dyn crate::Clock {
        self.core.clock()
    }
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("state", &self.state())
            .field("counters", &self.counters())
            .finish_non_exhaustive()
    }
}
