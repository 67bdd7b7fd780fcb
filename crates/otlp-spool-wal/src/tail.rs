//! The tail notifier: how cursors learn that new records became durable, or that they were
//! asked to wake up.
//!
//! The committer publishes the last durable LSN after every successful flush;
//! [`Wal::notify_readers`](crate::Wal::notify_readers) bumps a generation number. A cursor
//! waits until the durable LSN passes what it has read, the generation moves past the one it
//! last saw, the log closes, or its timeout runs out; as a thread ([`Tail::wait`]) or as a
//! future ([`Tail::poll`]). State and waker list share one lock, so no wake-up is lost.

use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::sync::{Condvar, Mutex};

/// Why a cursor's wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Records past the cursor's read position are durable: `next_record` has something to look at
    /// (with a signal filter, possibly only records it skips).
    Ready,
    /// [`Wal::notify_readers`](crate::Wal::notify_readers) was called.
    Woken,
    /// The timeout ran out first.
    TimedOut,
    /// The log was closed: nothing more will arrive.
    Closed,
}

#[derive(Debug, Default)]
struct TailState {
    durable: u64,
    generation: u64,
    closed: bool,
    sleepers: usize,
    wakers: Vec<Waker>,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Tail {
    state: Mutex<TailState>,
    cv: Condvar,
}

impl Tail {
    pub(crate) fn new(durable: u64) -> Self {
        Tail {
            state: Mutex::new(TailState {
                durable,
                ..TailState::default()
            }),
            cv: Condvar::new(),
        }
    }

    /// The last durable LSN (0 when the log never held a record).
    pub(crate) fn durable(&self) -> u64 {
        self.state.lock().durable
    }

    /// The current wake-up generation.
    pub(crate) fn generation(&self) -> u64 {
        self.state.lock().generation
    }

    fn update(&self, f: impl FnOnce(&mut TailState)) {
        let wakers = {
            let mut s = self.state.lock();
            f(&mut s);
            if s.sleepers > 0 {
                self.cv.notify_all();
            }
            std::mem::take(&mut s.wakers)
        };
        for w in wakers {
            w.wake();
        }
    }

    /// Records up to `lsn` are durable.
    pub(crate) fn publish(&self, lsn: u64) {
        self.update(|s| s.durable = s.durable.max(lsn));
    }

    /// Wakes every waiting cursor once.
    pub(crate) fn notify(&self) {
        self.update(|s| s.generation += 1);
    }

    /// Nothing more will be published.
    pub(crate) fn close(&self) {
        self.update(|s| s.closed = true);
    }

    fn check(s: &TailState, read: u64, seen_generation: u64) -> Option<WaitOutcome> {
        if s.durable > read {
            Some(WaitOutcome::Ready)
        } else if s.generation != seen_generation {
            Some(WaitOutcome::Woken)
        } else if s.closed {
            Some(WaitOutcome::Closed)
        } else {
            None
        }
    }

    /// Blocks until a record past `read` is durable, the generation differs from
    /// `seen_generation`, the log closes, or about `timeout` passed. Returns the outcome and
    /// the generation now current.
    pub(crate) fn wait(
        &self,
        read: u64,
        seen_generation: u64,
        timeout: Duration,
    ) -> (WaitOutcome, u64) {
        let mut s = self.state.lock();
        loop {
            if let Some(out) = Self::check(&s, read, seen_generation) {
                return (out, s.generation);
            }
            s.sleepers += 1;
            // A wake-up that brings nothing new for this reader (a publish of records it had
            // already read: readers may run ahead of the publish by one batch) waits again.
            let timed_out = self.cv.wait_for(&mut s, timeout);
            s.sleepers -= 1;
            if timed_out {
                let out = Self::check(&s, read, seen_generation).unwrap_or(WaitOutcome::TimedOut);
                return (out, s.generation);
            }
        }
    }

    /// The future form of [`Tail::wait`], without a timeout (wrap it in the runtime's).
    pub(crate) fn poll(
        &self,
        read: u64,
        seen_generation: u64,
        cx: &mut Context<'_>,
    ) -> Poll<(WaitOutcome, u64)> {
        let mut s = self.state.lock();
        if let Some(out) = Self::check(&s, read, seen_generation) {
            return Poll::Ready((out, s.generation));
        }
        if !s.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            s.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}
