//! Permits: the right to make one call, and the duty to report how it went.
//!
//! A permit is consumed by [`success`](Permit::success), [`failure`](Permit::failure),
//! [`ignore`](Permit::ignore) or [`record`](Permit::record). Dropping it without an outcome
//! (a cancelled future, an early return, a panic) reports it as *abandoned*: in HalfOpen that
//! frees its probe slot, so the breaker can never be stuck waiting for a probe that will not
//! report. Outcomes of permits issued before the latest transition are counted but change
//! nothing (see [`crate::state`]).

use std::fmt;
use std::mem::ManuallyDrop;

use crate::CircuitBreaker;
use crate::core::{Core, Resolution, Ticket};

/// How a call went, as far as the remote's health is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The remote worked.
    Success,
    /// The remote failed: counts towards opening, re-opens a HalfOpen breaker.
    Failure,
    /// Says nothing about the remote (e.g. a permanent 4xx): no effect on the state; in
    /// HalfOpen it frees the probe slot without counting as a success.
    Ignore,
}

impl From<Outcome> for Resolution {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Success => Resolution::Success,
            Outcome::Failure => Resolution::Failure,
            Outcome::Ignore => Resolution::Ignore,
        }
    }
}

/// Permission to make one call, borrowed from a [`CircuitBreaker`].
///
/// Costs nothing to create beyond the breaker's own bookkeeping (no reference count). Use
/// [`CircuitBreaker::try_acquire_owned`] for a permit that can move into a spawned task.
#[must_use = "a permit should be resolved with success(), failure() or ignore(); dropping it counts as abandoned"]
pub struct Permit<'a> {
    core: &'a Core,
    ticket: Ticket,
}

impl<'a> Permit<'a> {
    pub(crate) fn new(core: &'a Core, ticket: Ticket) -> Self {
        Self { core, ticket }
    }

    /// The call succeeded.
    #[inline]
    pub fn success(self) {
        self.record(Outcome::Success);
    }

    /// The call failed.
    #[inline]
    pub fn failure(self) {
        self.record(Outcome::Failure);
    }

    /// The call's result says nothing about the remote's health.
    #[inline]
    pub fn ignore(self) {
        self.record(Outcome::Ignore);
    }

    /// Reports `outcome`.
    #[inline]
    pub fn record(self, outcome: Outcome) {
        let this = ManuallyDrop::new(self);
        this.core.resolve(this.ticket, outcome.into());
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.core.resolve(self.ticket, Resolution::Abandon);
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("epoch", &self.ticket.epoch)
            .finish_non_exhaustive()
    }
}

/// Like [`Permit`], but owns a handle to the breaker (one reference-count increment), so it
/// is `'static` and can move into a spawned task or another thread.
#[must_use = "a permit should be resolved with success(), failure() or ignore(); dropping it counts as abandoned"]
pub struct OwnedPermit {
    breaker: CircuitBreaker,
    ticket: Ticket,
    resolved: bool,
}

impl OwnedPermit {
    pub(crate) fn new(breaker: CircuitBreaker, ticket: Ticket) -> Self {
        Self {
            breaker,
            ticket,
            resolved: false,
        }
    }

    /// The call succeeded.
    pub fn success(self) {
        self.record(Outcome::Success);
    }

    /// The call failed.
    pub fn failure(self) {
        self.record(Outcome::Failure);
    }

    /// The call's result says nothing about the remote's health.
    pub fn ignore(self) {
        self.record(Outcome::Ignore);
    }

    /// Reports `outcome`.
    pub fn record(mut self, outcome: Outcome) {
        self.resolved = true;
        self.breaker.core().resolve(self.ticket, outcome.into());
    }
}

impl Drop for OwnedPermit {
    fn drop(&mut self) {
        if !self.resolved {
            self.breaker
                .core()
                .resolve(self.ticket, Resolution::Abandon);
        }
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("epoch", &self.ticket.epoch)
            .finish_non_exhaustive()
    }
}
