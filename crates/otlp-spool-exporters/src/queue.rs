//! The forwarder's concurrent core: a byte-bounded FIFO of batches with in-flight tracking,
//! an overflow policy and a two-step shutdown (close, then abort). Synchronous, no tokio, no
//! I/O, so the loom models in `tests/loom.rs` can drive it directly. (Public only for those
//! models; not a stable API.)
//!
//! Invariants:
//! * `held_bytes` (queued + in flight) never exceeds the capacity: `push` makes room first
//!   (dropping the oldest queued batches under [`Overflow::DropOldest`]) or refuses.
//! * Nothing is lost silently: every batch `push` took ends up exactly once in the caller's
//!   outcome accounting (through [`Queue::finish`], or handed back by
//!   [`Queue::abort_keeping`]) or in [`QueueCounts::dropped_items`] (evicted by the policy,
//!   or left over at [`Queue::abort`]). Refused pushes are counted in
//!   [`QueueCounts::refused_items`].
//! * After `close`, `push` refuses everything; queued batches can still be taken. After
//!   `abort`, nothing more is taken and the queue is empty.
//! * The lock is held only for O(batches moved) work: no I/O, no waiting on the network.

use std::collections::VecDeque;

use crate::sync::{AtomicU64, Condvar, Mutex, Ordering};

/// What happens to a batch that does not fit in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Evict the oldest queued batches until the new one fits (counted as dropped).
    #[default]
    DropOldest,
    /// Refuse the new batch (`SinkError::Full`, counted as refused).
    Reject,
}

/// Why [`Queue::push`] refused a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The queue is closed (shutting down).
    Closed,
    /// No room, and the policy is [`Overflow::Reject`] (or everything held is in flight).
    Full,
    /// The batch alone is larger than the whole queue.
    TooLarge,
}

/// A batch [`Queue::push`] refused, handed back with the reason.
#[derive(Debug)]
pub(crate) struct Rejected<T> {
    /// Why.
    pub(crate) kind: PushError,
    /// The batch, as it was pushed.
    pub(crate) item: T,
}

/// A batch taken for delivery; give its `weight` back to [`Queue::finish`].
#[derive(Debug)]
pub(crate) struct Taken<T> {
    /// The batch (several queued batches merged, when the merge function allowed it).
    pub(crate) item: T,
    /// Its weight in bytes, as pushed.
    pub(crate) weight: u64,
    /// Its item count, as pushed.
    pub(crate) items: u64,
}

/// Lock-free readable queue counters.
#[derive(Debug, Default)]
pub(crate) struct QueueCounts {
    /// Items taken in by `push`.
    pub(crate) accepted_items: AtomicU64,
    /// Items refused by `push` (closed, full under `Reject`, too large).
    pub(crate) refused_items: AtomicU64,
    /// Items taken in and later dropped (evicted, or left over at abort).
    pub(crate) dropped_items: AtomicU64,
    /// Bytes held: queued plus in flight.
    pub(crate) held_bytes: AtomicU64,
    /// Batches queued (not in flight).
    pub(crate) queued_batches: AtomicU64,
}

#[derive(Debug)]
struct State<T> {
    queued: VecDeque<Taken<T>>,
    queued_bytes: u64,
    in_flight: u64,
    in_flight_bytes: u64,
    closed: bool,
    aborted: bool,
}

/// The byte-bounded batch queue (see the module docs).
#[derive(Debug)]
pub(crate) struct Queue<T> {
    state: Mutex<State<T>>,
    idle: Condvar,
    capacity: u64,
    overflow: Overflow,
    counts: QueueCounts,
}

impl<T> Queue<T> {
    /// A queue holding at most `capacity` bytes.
    pub(crate) fn new(capacity: u64, overflow: Overflow) -> Self {
        Self {
            state: Mutex::new(State {
                queued: VecDeque::new(),
                queued_bytes: 0,
                in_flight: 0,
                in_flight_bytes: 0,
                closed: false,
                aborted: false,
            }),
            idle: Condvar::default(),
            capacity,
            overflow,
            counts: QueueCounts::default(),
        }
    }

    /// The bound in bytes.
    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The counters.
    pub(crate) fn counts(&self) -> &QueueCounts {
        &self.counts
    }

    /// Takes `item` (of `weight` bytes and `items` items), applying the overflow policy.
    pub(crate) fn push(&self, item: T, weight: u64, items: u64) -> Result<(), Rejected<T>>
    where
        T: MergeFrom,
    {
        self.push_with(item, weight, items, self.overflow == Overflow::DropOldest)
    }

    /// Takes `item` only if it fits without evicting anything, whatever the policy (a
    /// producer that keeps its own copy and waits for room, like the log feeder).
    pub(crate) fn push_without_eviction(
        &self,
        item: T,
        weight: u64,
        items: u64,
    ) -> Result<(), Rejected<T>>
    where
        T: MergeFrom,
    {
        self.push_with(item, weight, items, false)
    }

    fn push_with(&self, item: T, weight: u64, items: u64, evict: bool) -> Result<(), Rejected<T>>
    where
        T: MergeFrom,
    {
        let refused = |kind, item| {
            self.counts
                .refused_items
                .fetch_add(items, Ordering::Relaxed);
            Err(Rejected { kind, item })
        };
        if weight > self.capacity {
            return refused(PushError::TooLarge, item);
        }
        let mut state = self.state.lock();
        if state.closed {
            return refused(PushError::Closed, item);
        }
        let room = |s: &State<T>| s.queued_bytes + s.in_flight_bytes + weight <= self.capacity;
        if !room(&state) {
            // Evicting only helps if the evictable queued bytes alone can make the room.
            let kept_bytes: u64 = state
                .queued
                .iter()
                .filter(|t| !t.item.evictable())
                .map(|t| t.weight)
                .sum();
            let evictable = evict && state.in_flight_bytes + kept_bytes + weight <= self.capacity;
            if !evictable {
                return refused(PushError::Full, item);
            }
            while !room(&state) {
                // The oldest batch that may be evicted (a tracked one never is: its producer
                // waits for its fate).
                let Some(old) = state
                    .queued
                    .iter()
                    .position(|t| t.item.evictable())
                    .and_then(|i| state.queued.remove(i))
                else {
                    break;
                };
                state.queued_bytes -= old.weight;
                self.counts
                    .dropped_items
                    .fetch_add(old.items, Ordering::Relaxed);
            }
        }
        state.queued_bytes += weight;
        state.queued.push_back(Taken {
            item,
            weight,
            items,
        });
        self.counts
            .accepted_items
            .fetch_add(items, Ordering::Relaxed);
        self.publish(&state);
        Ok(())
    }

    /// Takes the oldest batch for delivery, merged with following batches while `merge`
    /// accepts them and the total stays within `max_bytes`. `None` if nothing is queued or
    /// the queue was aborted.
    pub(crate) fn take(
        &self,
        max_bytes: u64,
        mut merge: impl FnMut(&mut T, &T) -> bool,
    ) -> Option<Taken<T>>
    where
        T: MergeFrom,
    {
        let mut state = self.state.lock();
        if state.aborted {
            return None;
        }
        let mut first = state.queued.pop_front()?;
        while let Some(next) = state.queued.front() {
            if first.weight + next.weight > max_bytes || !merge(&mut first.item, &next.item) {
                break;
            }
            let next = state.queued.pop_front().expect("front exists");
            first.weight += next.weight;
            first.items += next.items;
            first.item.merge_from(next.item);
        }
        state.queued_bytes -= first.weight;
        state.in_flight += 1;
        state.in_flight_bytes += first.weight;
        self.publish(&state);
        Some(first)
    }

    /// A batch taken with [`take`](Self::take) has been dealt with (delivered, failed or
    /// counted as dropped by the caller): its bytes are free again.
    pub(crate) fn finish(&self, weight: u64) {
        let mut state = self.state.lock();
        state.in_flight -= 1;
        state.in_flight_bytes -= weight;
        self.publish(&state);
        if state.queued.is_empty() && state.in_flight == 0 {
            self.idle.notify_all();
        }
    }

    /// Stops taking new batches; queued ones can still be taken.
    pub(crate) fn close(&self) {
        self.state.lock().closed = true;
    }

    /// Stops handing out batches and drops every queued one; returns the items dropped.
    /// Batches in flight stay the caller's to account for.
    pub(crate) fn abort(&self) -> u64 {
        let mut state = self.state.lock();
        state.closed = true;
        state.aborted = true;
        let dropped: u64 = state.queued.drain(..).map(|t| t.items).sum();
        state.queued_bytes = 0;
        self.counts
            .dropped_items
            .fetch_add(dropped, Ordering::Relaxed);
        self.publish(&state);
        if state.in_flight == 0 {
            self.idle.notify_all();
        }
        dropped
    }

    /// Like [`abort`](Self::abort), but hands the queued batches back instead of counting
    /// them as dropped: the caller keeps them (and accounts for them).
    pub(crate) fn abort_keeping(&self) -> Vec<Taken<T>> {
        let mut state = self.state.lock();
        state.closed = true;
        state.aborted = true;
        let kept: Vec<_> = state.queued.drain(..).collect();
        state.queued_bytes = 0;
        self.publish(&state);
        if state.in_flight == 0 {
            self.idle.notify_all();
        }
        kept
    }

    /// Whether anything is queued (not counting batches in flight).
    pub(crate) fn has_queued(&self) -> bool {
        !self.state.lock().queued.is_empty()
    }

    /// Whether `close` (or `abort`) was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// Whether nothing is queued and nothing is in flight.
    pub(crate) fn is_idle(&self) -> bool {
        let state = self.state.lock();
        state.queued.is_empty() && state.in_flight == 0
    }

    /// Blocks the calling thread until the queue is idle or `timeout` passed; `true` if idle.
    #[cfg(not(otlp_spool_loom))]
    pub(crate) fn wait_idle_blocking(&self, timeout: std::time::Duration) -> bool {
        let mut state = self.state.lock();
        while !(state.queued.is_empty() && state.in_flight == 0) {
            if self.idle.wait_for(&mut state, timeout) {
                return state.queued.is_empty() && state.in_flight == 0;
            }
        }
        true
    }

    fn publish(&self, state: &State<T>) {
        self.counts.held_bytes.store(
            state.queued_bytes + state.in_flight_bytes,
            Ordering::Relaxed,
        );
        self.counts
            .queued_batches
            .store(state.queued.len() as u64, Ordering::Relaxed);
    }
}

/// Batches that can absorb a following batch of the same kind.
pub(crate) trait MergeFrom {
    /// Appends `other`'s content to `self`.
    fn merge_from(&mut self, other: Self);

    /// Whether the overflow policy may evict it (default: yes).
    fn evictable(&self) -> bool {
        true
    }
}
