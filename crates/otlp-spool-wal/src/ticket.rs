//! Commit groups and the [`Ticket`] an append returns.
//!
//! Every record appended between two flushes of the committer joins the same [`Group`]; the
//! committer writes the group's bytes, syncs them once, and completes the group, which wakes
//! every waiter of every ticket in it (threads parked in [`Ticket::wait`] and tasks that polled
//! the ticket as a `Future`). No runtime is needed: the wakers are kept and called by hand.
//!
//! Invariants:
//! - a group is completed exactly once, by the committer that wrote it (or, if that committer
//!   stops without writing it, with [`TicketError::Stopped`]); the outcome never changes after;
//! - the outcome and the waker list sit under one lock, so a waiter that found no outcome has
//!   registered itself before the committer can take the list: no wake-up is lost.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::error::TicketError;
use crate::sync::{Condvar, Mutex};

/// The records of one flush of the committer and their common outcome.
#[derive(Debug)]
pub(crate) struct Group {
    inner: Mutex<GroupInner>,
    done: Condvar,
}

#[derive(Debug, Default)]
struct GroupInner {
    outcome: Option<Result<(), TicketError>>,
    /// One slot per ticket polled as a future (a slot keeps its index for re-polls).
    wakers: Vec<Option<Waker>>,
    /// Threads parked in `wait`.
    sleepers: usize,
}

impl Group {
    pub(crate) fn new() -> Self {
        Group {
            inner: Mutex::new(GroupInner::default()),
            done: Condvar::new(),
        }
    }

    /// Sets the outcome (the first call wins) and wakes every waiter.
    pub(crate) fn complete(&self, outcome: Result<(), TicketError>) {
        let wakers = {
            let mut g = self.inner.lock();
            if g.outcome.is_some() {
                return;
            }
            g.outcome = Some(outcome);
            if g.sleepers > 0 {
                self.done.notify_all();
            }
            std::mem::take(&mut g.wakers)
        };
        for waker in wakers.into_iter().flatten() {
            waker.wake();
        }
    }
}

/// The promise of one appended record: it completes once the record is in a segment that has
/// been synced to disk (`Ok(lsn)`), or once writing it failed (`Err`, and the record is in no
/// segment). Wait for it with [`Ticket::wait`], or `.await` it (no runtime needed).
///
/// Dropping a ticket does not cancel the record: it is written all the same.
#[derive(Debug)]
#[must_use = "a record is acknowledged only once its ticket completes"]
pub struct Ticket {
    lsn: u64,
    group: Arc<Group>,
    slot: Option<usize>,
}

impl Ticket {
    pub(crate) fn new(lsn: u64, group: Arc<Group>) -> Self {
        Ticket {
            lsn,
            group,
            slot: None,
        }
    }

    /// The record's log sequence number (known at once; the record is durable only once the
    /// ticket completes with `Ok`).
    pub fn lsn(&self) -> u64 {
        self.lsn
    }

    /// The outcome if it is known, without waiting.
    pub fn try_result(&self) -> Option<Result<u64, TicketError>> {
        let g = self.group.inner.lock();
        self.outcome(&g)
    }

    /// Blocks the thread until the record is durable (`Ok(lsn)`) or failed.
    pub fn wait(self) -> Result<u64, TicketError> {
        let mut g = self.group.inner.lock();
        loop {
            if let Some(done) = self.outcome(&g) {
                return done;
            }
            g.sleepers += 1;
            self.group.done.wait(&mut g);
            g.sleepers -= 1;
        }
    }

    /// Like [`Ticket::wait`], but gives up after about `timeout` with `None` (the record may
    /// still become durable later).
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Result<u64, TicketError>> {
        let mut g = self.group.inner.lock();
        if let Some(done) = self.outcome(&g) {
            return Some(done);
        }
        g.sleepers += 1;
        self.group.done.wait_for(&mut g, timeout);
        g.sleepers -= 1;
        self.outcome(&g)
    }

    fn outcome(&self, g: &GroupInner) -> Option<Result<u64, TicketError>> {
        g.outcome.as_ref().map(|o| o.clone().map(|()| self.lsn))
    }
}

impl Future for Ticket {
    type Output = Result<u64, TicketError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut g = this.group.inner.lock();
        if let Some(done) = this.outcome(&g) {
            return Poll::Ready(done);
        }
        match this.slot {
            Some(i) => match &mut g.wakers[i] {
                Some(w) if w.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            },
            None => {
                this.slot = Some(g.wakers.len());
                g.wakers.push(Some(cx.waker().clone()));
            }
        }
        Poll::Pending
    }
}
