//! The async edges, thin wrappers over the synchronous core: [`Ready`] (a consumer
//! waits for a batch), [`BatchBuffer::wait_ready`] (the same, plus sleeping until the
//! next age deadline) and [`BatchBuffer::push_wait`] (a `Block` producer waits for room).
//!
//! None of them depends on a runtime: they register wakers in the buffer's `Signal`s,
//! and deadlines and sleeps are futures the caller supplies (`tokio::time::sleep(..)`,
//! or any other timer).
//!
//! Invariant: every future registers its waker *before* re-checking its condition, and
//! the registration is ordered against every notify (see `signal.rs`), so no
//! notification is lost; a dropped future unregisters itself.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::buffer::{BatchBuffer, Inner, Producer};
use crate::config::Policy;
use crate::error::{PushError, PushWaitError};
use crate::signal::Signal;
use crate::sync::Ordering;
use crate::weight::Weighted;

/// Future returned by [`BatchBuffer::ready`].
///
/// Resolves when, after its creation, the buffer signalled that a batch may be ready
/// (first item into an empty buffer, a size threshold crossed, close), or when it finds a
/// batch ready (or the buffer closed) when polled. Create it *before* checking the buffer
/// to never miss a signal.
#[must_use = "futures do nothing unless polled"]
pub struct Ready<'a, T> {
    inner: &'a Inner<T>,
    seen: u64,
    key: Option<usize>,
}

impl<T> std::fmt::Debug for Ready<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ready")
            .field("seen", &self.seen)
            .field("registered", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

impl<T> Ready<'_, T> {
    fn done(&self) -> bool {
        self.inner.ready.generation() != self.seen
            || self.inner.is_ready()
            || self.inner.reservation.usage().closed
    }
}

impl<T> Future for Ready<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done() {
            this.inner.ready.unregister(&mut this.key);
            return Poll::Ready(());
        }
        let generation = this.inner.ready.register(&mut this.key, cx.waker());
        if generation != this.seen || this.done() {
            this.inner.ready.unregister(&mut this.key);
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl<T> Drop for Ready<'_, T> {
    fn drop(&mut self) {
        self.inner.ready.unregister(&mut self.key);
    }
}

/// Unregisters a waiter key when a `push_wait` completes or is dropped.
struct KeyGuard<'a> {
    signal: &'a Signal,
    key: Option<usize>,
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        self.signal.unregister(&mut self.key);
    }
}

impl<T> BatchBuffer<T> {
    /// A future that resolves on the next "a batch may be ready" signal (see [`Ready`]).
    ///
    /// It does not sleep until an age deadline by itself (the crate has no timer); use
    /// [`wait_ready`](Self::wait_ready), or race it with a sleep of
    /// [`time_until_ready`](Self::time_until_ready).
    pub fn ready(&self) -> Ready<'_, T> {
        Ready {
            inner: &self.inner,
            seen: self.inner.ready.generation(),
            key: None,
        }
    }

    /// Waits until a batch is ready or the buffer is closed, without polling: it waits
    /// on [`ready`](Self::ready) and, when an age trigger is pending, on
    /// `sleep(time_until_ready)` made by the caller's timer, e.g.
    /// `buffer.wait_ready(tokio::time::sleep).await`.
    ///
    /// Returns at once if the buffer is closed (then [`drain_all`](Self::drain_all)).
    pub async fn wait_ready<S, F>(&self, mut sleep: F)
    where
        F: FnMut(Duration) -> S,
        S: Future<Output = ()>,
    {
        loop {
            let mut notified = self.ready();
            if self.inner.is_ready() || self.is_closed() {
                return;
            }
            match self.inner.time_until_ready() {
                Some(delay) => {
                    let mut timer = pin!(sleep(delay));
                    poll_fn(|cx| {
                        if Pin::new(&mut notified).poll(cx).is_ready()
                            || timer.as_mut().poll(cx).is_ready()
                        {
                            Poll::Ready(())
                        } else {
                            Poll::Pending
                        }
                    })
                    .await;
                }
                None => notified.await,
            }
        }
    }
}

impl<T: Weighted> BatchBuffer<T> {
    /// Pushes `item`, waiting for room under [`Policy::Block`] until `deadline`
    /// resolves (pass any timer future, e.g. `tokio::time::sleep(d)`); under the other
    /// policies it behaves like [`push`](Self::push).
    ///
    /// On timeout, close, or an oversize item the item comes back in the error. Dropping
    /// this future before it completes drops the item: use the deadline rather than an
    /// outer timeout to get it back. Ordering is that of [`push`](Self::push); use
    /// [`Producer::push_wait`] for per-producer order.
    pub async fn push_wait<D>(&self, item: T, deadline: D) -> Result<(), PushWaitError<T>>
    where
        D: Future<Output = ()>,
    {
        let shard = crate::sync::thread_hint() % self.inner.shards.len();
        push_wait_at(&self.inner, shard, item, deadline).await
    }
}

impl<T: Weighted> Producer<T> {
    /// [`BatchBuffer::push_wait`] through this handle's shard (per-producer order).
    pub async fn push_wait<D>(&self, item: T, deadline: D) -> Result<(), PushWaitError<T>>
    where
        D: Future<Output = ()>,
    {
        push_wait_at(&self.buffer.inner, self.shard, item, deadline).await
    }
}

async fn push_wait_at<T: Weighted, D: Future<Output = ()>>(
    inner: &Inner<T>,
    shard: usize,
    item: T,
    deadline: D,
) -> Result<(), PushWaitError<T>> {
    let mut slot = Some(item);
    let mut guard = KeyGuard {
        signal: &inner.space,
        key: None,
    };
    let mut deadline = pin!(deadline);
    let result = poll_fn(|cx| {
        let Some(item) = slot.take() else {
            // Unreachable through `.await`; answer instead of panicking.
            return Poll::Pending;
        };
        match inner.push_raw(shard, item) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(PushError::Full(item)) if inner.config.policy == Policy::Block => {
                // Register, then retry: a drain that freed room before this point is
                // visible to the retry, one after it finds the waker.
                guard.signal.register(&mut guard.key, cx.waker());
                match inner.push_raw(shard, item) {
                    Ok(()) => Poll::Ready(Ok(())),
                    Err(PushError::Full(item)) => {
                        if deadline.as_mut().poll(cx).is_ready() {
                            Poll::Ready(Err(PushWaitError::TimedOut(item)))
                        } else {
                            slot = Some(item);
                            Poll::Pending
                        }
                    }
                    Err(err) => Poll::Ready(Err(err.into())),
                }
            }
            Err(err) => Poll::Ready(Err(err.into())),
        }
    })
    .await;
    drop(guard);
    if result.is_err() {
        inner.counters.rejected.fetch_add(1, Ordering::Relaxed);
    }
    result
}
