//! The concurrent core: the state machine over the packed state word.
//!
//! Design constraints, in order:
//!
//! 1. **Closed-state calls take no lock, allocate nothing and make no atomic
//!    read-modify-write.** `try_acquire` is one load of the state word and a bump of the
//!    calling thread's own counter shard (a thread-local lookup, a relaxed load and store: see
//!    [`crate::counters`]); a success is the same bump, one load of the word and one of the
//!    window flag. The word is only *written* when something changes (a failure, a success
//!    after failures, a transition), so concurrent callers share its cache line read-only.
//!    (A thread's first call on a breaker registers its shard: one lock, one allocation.)
//! 2. **Every transition is one CAS on the word** (see [`crate::state`]), so concurrent
//!    threads racing to make the same transition produce it exactly once, and the thread that
//!    won the CAS is the only one that reports it (counter, listener).
//! 3. **Outcomes are tied to epochs.** A permit carries the epoch it was issued in; an outcome
//!    re-validates state and epoch inside its CAS loop and is only counted (as `stale`) when the
//!    breaker has moved on. A permit dropped without an outcome is an `abandoned` outcome: in
//!    HalfOpen it frees its probe slot, so the breaker cannot be stuck there.
//! 4. **The open deadline is published after the opening.** The CAS winner that opens the
//!    breaker then stores `open_until` (its clock reading plus the back-off wait) and, with
//!    release ordering, `armed_epoch = new epoch`. A caller that sees Open reads
//!    `armed_epoch` (acquire) first: until it matches the word's epoch the opening is a few
//!    instructions old and the caller is rejected with the full wait; once it matches,
//!    `open_until` is the one of this opening (or of a later one, in which case the CAS that
//!    would leave Open fails on the epoch). Leaving Open therefore waits for the opener's two
//!    stores; this is the one place where a thread depends on another one making progress.
//!    An Open-state rejection reads no policy: word, `armed_epoch`, `open_until`, clock.
//! 5. **The policy is read once per operation** from a swap cell and never stored in the word;
//!    replacing it affects the next decision, never the state already reached (the wait of an
//!    opening is fixed when it opens).

use std::sync::Arc as StdArc;
use std::time::Duration;

use crate::clock::{Clock, nanos};
use crate::counters::{Counters, Event, Sharded};
use crate::error::Rejected;
use crate::listener::{Listener, Transition};
use crate::policy::Policy;
use crate::state::{MAX_COUNT, State, Word};
use crate::sync::{AtomicBool, AtomicU32, AtomicU64, Ordering, SwapCell, fence};
use crate::window::Window;

/// What a permit reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    Success,
    Failure,
    Ignore,
    Abandon,
}

/// What a permit needs to report back: the epoch it was issued in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    pub(crate) epoch: u32,
}

/// The policy snapshot, with the window that belongs to it.
#[derive(Debug)]
pub(crate) struct PolicyState {
    pub(crate) policy: Policy,
    window: Option<Window>,
}

impl PolicyState {
    fn new(policy: Policy) -> Self {
        let window = policy.failure_rate().map(|r| Window::new(r.window_size()));
        Self { policy, window }
    }
}

/// Read-mostly fields of the hot path, on their own cache line.
#[repr(align(128))]
struct Hot {
    word: AtomicU64,
    window_on: AtomicBool,
}

pub(crate) struct Core {
    hot: Hot,
    open_until: AtomicU64,
    armed_epoch: AtomicU32,
    policy: SwapCell<PolicyState>,
    counters: Sharded,
    clock: StdArc<dyn Clock>,
    listener: Option<Listener>,
}

/// Not an epoch (epochs are 24 bits): nothing is armed yet.
const UNARMED: u32 = u32::MAX;

impl Core {
    pub(crate) fn new(
        policy: Policy,
        clock: StdArc<dyn Clock>,
        listener: Option<Listener>,
    ) -> Self {
        let state = PolicyState::new(policy);
        Self {
            hot: Hot {
                word: AtomicU64::new(Word::INITIAL.0),
                window_on: AtomicBool::new(state.window.is_some()),
            },
            open_until: AtomicU64::new(0),
            armed_epoch: AtomicU32::new(UNARMED),
            policy: SwapCell::new(StdArc::new(state)),
            counters: Sharded::new(),
            clock,
            listener,
        }
    }

    #[inline]
    fn word(&self) -> Word {
        Word(self.hot.word.load(Ordering::Acquire))
    }

    fn cas(&self, current: Word, new: Word) -> Result<(), Word> {
        self.hot
            .word
            .compare_exchange(current.0, new.0, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ())
            .map_err(Word)
    }

    pub(crate) fn state(&self) -> State {
        self.word().state()
    }

    pub(crate) fn counters(&self) -> Counters {
        self.counters.snapshot()
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    pub(crate) fn policy(&self) -> Policy {
        self.policy.load_full().policy.clone()
    }

    pub(crate) fn set_policy(&self, policy: Policy) {
        let state = PolicyState::new(policy);
        let window_on = state.window.is_some();
        self.policy.store(StdArc::new(state));
        // A reader that sees the flag before the new policy finds no window and skips it.
        self.hot.window_on.store(window_on, Ordering::Release);
    }

    /// Admits a call or says why not.
    #[inline]
    pub(crate) fn try_acquire(&self) -> Result<Ticket, Rejected> {
        let w = self.word();
        if w.state() == State::Closed {
            // Nothing to count: `permitted` is the sum of the outcomes (see `counters`).
            return Ok(Ticket { epoch: w.epoch() });
        }
        self.acquire_slow(w)
    }

    #[cold]
    fn acquire_slow(&self, mut w: Word) -> Result<Ticket, Rejected> {
        let result = loop {
            match w.state() {
                State::Closed => break Ok(w.epoch()),
                State::Open => match self.try_leave_open(w) {
                    Ok(epoch) => break Ok(epoch),
                    Err(Some(rejected)) => break Err(rejected),
                    Err(None) => w = self.word(),
                },
                State::HalfOpen => {
                    let probes = self.policy.load().policy.half_open_probes();
                    if w.count() >= probes {
                        break Err(Rejected {
                            state: State::HalfOpen,
                            retry_after: Duration::ZERO,
                        });
                    }
                    match self.cas(w, w.with_counts(w.count() + 1, w.successes())) {
                        Ok(()) => break Ok(w.epoch()),
                        Err(actual) => w = actual,
                    }
                }
            }
        };
        result.map(|epoch| Ticket { epoch }).inspect_err(|_| {
            self.counters.bump(Event::Rejected);
        })
    }

    /// In Open: rejects until the deadline, then tries Open -> HalfOpen, taking the first
    /// probe. `Err(None)` means the word changed under us: reload and retry.
    fn try_leave_open(&self, w: Word) -> Result<u32, Option<Rejected>> {
        let rejected = |retry_after| {
            Some(Rejected {
                state: State::Open,
                retry_after,
            })
        };
        if self.armed_epoch.load(Ordering::Acquire) != w.epoch() {
            // The opener has not published the deadline yet: it opened just now.
            let wait = self.policy.load().policy.open_duration_at(w.level());
            return Err(rejected(wait));
        }
        let deadline = self.open_until.load(Ordering::Relaxed);
        let now = nanos(self.clock.now());
        if now < deadline {
            return Err(rejected(Duration::from_nanos(deadline - now)));
        }
        let new = w.to_half_open_with_probe();
        match self.cas(w, new) {
            Ok(()) => {
                self.transitioned(w, new, now, None);
                Ok(new.epoch())
            }
            Err(_) => Err(None),
        }
    }

    /// Applies a permit's outcome.
    #[inline]
    pub(crate) fn resolve(&self, ticket: Ticket, outcome: Resolution) {
        // The common case, a success that changes nothing: Closed in the permit's epoch, no
        // failures to reset, no window to record in. One compare of the whole word.
        if outcome == Resolution::Success
            && self.word() == Word::closed_clean(ticket.epoch)
            && !self.hot.window_on.load(Ordering::Acquire)
        {
            self.counters.bump(Event::Success);
            return;
        }
        self.resolve_slow(ticket, outcome);
    }

    /// Every other outcome: the full check of state and epoch.
    #[cold]
    fn resolve_slow(&self, ticket: Ticket, outcome: Resolution) {
        self.counters.bump(match outcome {
            Resolution::Success => Event::Success,
            Resolution::Failure => Event::Failure,
            Resolution::Ignore => Event::Ignored,
            Resolution::Abandon => Event::Abandoned,
        });
        let w = self.word();
        if w.epoch() != ticket.epoch {
            self.counters.bump(Event::Stale);
            return;
        }
        match (w.state(), outcome) {
            (State::Closed, Resolution::Success) => {
                if self.hot.window_on.load(Ordering::Acquire) {
                    self.record_in_window(ticket.epoch);
                }
                if w.count() != 0 {
                    self.reset_failures(w, ticket);
                }
            }
            (State::Closed, Resolution::Failure) => self.closed_failure(w, ticket),
            (State::Closed, Resolution::Ignore | Resolution::Abandon) => {}
            (State::HalfOpen, _) => self.probe_outcome(w, ticket, outcome),
            // No permit is ever issued in an Open epoch (leaving Open bumps the epoch).
            (State::Open, _) => self.counters.bump(Event::Stale),
        }
    }

    #[cold]
    fn record_in_window(&self, epoch: u32) {
        if let Some(window) = &self.policy.load().window {
            window.record(epoch, false);
        }
    }

    #[cold]
    fn reset_failures(&self, mut w: Word, ticket: Ticket) {
        while w.is(State::Closed, ticket.epoch) && w.count() != 0 {
            match self.cas(w, w.with_counts(0, 0)) {
                Ok(()) => return,
                Err(actual) => w = actual,
            }
        }
        if w.epoch() != ticket.epoch {
            self.counters.bump(Event::Stale);
        }
    }

    #[cold]
    fn closed_failure(&self, mut w: Word, ticket: Ticket) {
        let snapshot = self.policy.load();
        let by_rate = match (&snapshot.window, snapshot.policy.failure_rate()) {
            (Some(window), Some(rate)) => {
                window.record(ticket.epoch, true);
                // Store, fence, scan: see the window module on racing failures.
                fence(Ordering::SeqCst);
                let (calls, failures) = window.count(ticket.epoch);
                rate.trips(calls, failures)
            }
            _ => false,
        };
        loop {
            if !w.is(State::Closed, ticket.epoch) {
                self.counters.bump(Event::Stale);
                return;
            }
            let failures = (w.count() + 1).min(MAX_COUNT);
            let open = by_rate || failures >= snapshot.policy.failure_threshold();
            let new = if open {
                w.to_open(0)
            } else {
                w.with_counts(failures, 0)
            };
            match self.cas(w, new) {
                Ok(()) => {
                    if open {
                        self.opened(w, new, &snapshot.policy);
                    }
                    return;
                }
                Err(actual) => w = actual,
            }
        }
    }

    #[cold]
    fn probe_outcome(&self, mut w: Word, ticket: Ticket, outcome: Resolution) {
        let snapshot = self.policy.load();
        loop {
            if !w.is(State::HalfOpen, ticket.epoch) {
                self.counters.bump(Event::Stale);
                return;
            }
            // Invariant 3 of the word: this live probe is counted in `count`.
            debug_assert!(
                w.count() > 0,
                "probe outcome with no probe in flight: {w:?}"
            );
            let in_flight = w.count().saturating_sub(1);
            let new = match outcome {
                Resolution::Success => {
                    let successes = w.successes() + 1;
                    if successes >= snapshot.policy.successes_to_close() {
                        w.to_closed()
                    } else {
                        w.with_counts(in_flight, successes.min(MAX_COUNT))
                    }
                }
                Resolution::Failure => w.to_open(w.level() + 1),
                Resolution::Ignore | Resolution::Abandon => w.with_counts(in_flight, w.successes()),
            };
            match self.cas(w, new) {
                Ok(()) => {
                    match new.state() {
                        State::Open => self.opened(w, new, &snapshot.policy),
                        State::Closed => {
                            let now = nanos(self.clock.now());
                            self.transitioned(w, new, now, None);
                        }
                        State::HalfOpen => {}
                    }
                    return;
                }
                Err(actual) => w = actual,
            }
        }
    }

    /// After a CAS into Open: publish the deadline, then report.
    fn opened(&self, from: Word, new: Word, policy: &Policy) {
        let now = nanos(self.clock.now());
        let open_for = policy.open_duration_at(new.level());
        self.open_until
            .store(now.saturating_add(nanos(open_for)), Ordering::Relaxed);
        self.armed_epoch.store(new.epoch(), Ordering::Release);
        self.transitioned(from, new, now, Some(open_for));
    }

    /// After a winning CAS: count the transition and tell the listener.
    fn transitioned(&self, from: Word, to: Word, now: u64, open_for: Option<Duration>) {
        self.counters.transition();
        if let Some(listener) = &self.listener {
            (listener.0)(&Transition {
                from: from.state(),
                to: to.state(),
                at: Duration::from_nanos(now),
                epoch: to.epoch(),
                open_for,
            });
        }
    }
}
