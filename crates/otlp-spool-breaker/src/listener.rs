//! Transition events and the listener callback.
//!
//! The thread whose CAS performed a transition calls the listener right after it, on its own
//! stack, inside `try_acquire` or a permit's outcome. Hence:
//!
//! * exactly one call per transition, never one for a CAS that lost;
//! * the listener must be quick and must not call back into the breaker's outcome methods in a
//!   way that waits for another thread; it should not panic (a panic unwinds into the caller);
//! * calls for successive transitions can reach the listener out of order when two threads
//!   race, so each [`Transition`] carries its `epoch` (the epoch it entered) to order them.

use std::fmt;
use std::time::Duration;

use crate::State;

/// One state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transition {
    /// State left.
    pub from: State,
    /// State entered.
    pub to: State,
    /// Clock reading when the transition was made.
    pub at: Duration,
    /// Epoch entered by this transition (mod 2^24), increasing by one per transition.
    pub epoch: u32,
    /// When `to` is [`State::Open`]: how long it stays open before a probe is allowed.
    pub open_for: Option<Duration>,
}

/// Boxed listener callback.
pub(crate) struct Listener(pub(crate) Box<dyn Fn(&Transition) + Send + Sync>);

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Listener(..)")
    }
}
