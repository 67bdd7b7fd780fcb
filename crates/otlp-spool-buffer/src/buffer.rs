//! [`BatchBuffer`]: the concurrent core (push, drain, close, readiness) and
//! [`Producer`] handles.
//!
//! Design constraints and invariants (the "why it is right" lives in the crate docs):
//! 1. **Bound**: every insert is preceded by a successful `Reservation::try_reserve`
//!    made *while holding the target shard's lock*; every removal is followed by a
//!    `release`. The reservation word therefore always covers what the shards hold
//!    and never exceeds the configured bounds.
//! 2. **No loss, no duplication**: an item is moved into exactly one segment under that
//!    segment's lock, and a segment leaves the buffer only by being swapped out whole
//!    under the same lock (drain) or by having its front popped (eviction, counted).
//!    A swapped-out segment is owned by exactly one `Batch`.
//! 3. **Close is final**: the closed bit lives in the reservation word and is checked by
//!    the same CAS that reserves room, under the shard lock. A push whose CAS succeeded
//!    inserted its item before releasing the lock, so a drain that starts after
//!    `close()` returned and takes every shard lock sees every accepted item.
//! 4. **Order per producer**: a producer handle always pushes into the same shard, and a
//!    shard is a FIFO whose prefix is taken by each drain.
//! 5. **Leases** (`lease_drained(true)`): a drain releases its items but not its bytes; the
//!    bytes move to `counters.leased` and the batch's `Lease` gives them back. So the word's
//!    byte count is buffered + leased, and invariant 1 bounds both with one CAS.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use crate::batch::Batch;
use crate::config::{Builder, Config, Policy};
use crate::error::PushError;
use crate::lease::Lease;
use crate::reservation::{Reservation, ReserveError, Usage};
use crate::shard::{Segment, Shard};
use crate::signal::Signal;
use crate::stats::Stats;
use crate::sync::{AtomicU64, AtomicUsize, Mutex, Ordering, Padded};
use crate::weight::Weighted;

/// A bounded, concurrent buffer that groups items into batches.
///
/// Cloning is cheap and yields another handle to the same buffer (like a channel).
/// See the crate docs for the design, the guarantees and an example.
pub struct BatchBuffer<T> {
    pub(crate) inner: Arc<Inner<T>>,
}

impl<T> Clone for BatchBuffer<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> std::fmt::Debug for BatchBuffer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchBuffer")
            .field("config", &self.inner.config)
            .field("stats", &self.inner.stats())
            .finish_non_exhaustive()
    }
}

/// Counters written off the hot path, kept away from the reservation word's line.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) rejected: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) drained: AtomicU64,
    pub(crate) next_producer: AtomicUsize,
    /// Bytes of drained batches their leases have not given back (`lease_drained` only):
    /// part of the reservation word's byte count, not of what the shards hold.
    pub(crate) leased: AtomicU64,
}

/// The shared state behind every handle.
#[derive(Debug)]
pub(crate) struct Inner<T> {
    pub(crate) config: Config,
    pub(crate) reservation: Padded<Reservation>,
    pub(crate) shards: Box<[Padded<Shard<T>>]>,
    pub(crate) counters: Padded<Counters>,
    /// Consumers: "a batch may be ready" (first item, size threshold crossed, close).
    pub(crate) ready: Signal,
    /// `Block` producers: "room was freed" (drain, close).
    pub(crate) space: Signal,
    /// Whether pushes must stamp `first_at` (age trigger or `DropOldest` victim choice).
    track_age: bool,
    /// Empty segments handed back by `recycle`, swapped in by the next drain.
    pool: Mutex<Vec<VecDeque<T>>>,
}

impl<T: Weighted> BatchBuffer<T> {
    /// A builder with default settings.
    pub fn builder() -> Builder<T> {
        Builder::new()
    }

    pub(crate) fn from_config(config: Config) -> Self {
        let shards = (0..config.shards).map(|_| Padded(Shard::new())).collect();
        let track_age = config.batch_age.is_some() || config.policy == Policy::DropOldest;
        Self {
            inner: Arc::new(Inner {
                reservation: Padded(Reservation::new(config.max_bytes, config.max_items)),
                shards,
                counters: Padded(Counters {
                    rejected: AtomicU64::new(0),
                    dropped: AtomicU64::new(0),
                    drained: AtomicU64::new(0),
                    next_producer: AtomicUsize::new(0),
                    leased: AtomicU64::new(0),
                }),
                ready: Signal::new(),
                space: Signal::new(),
                track_age,
                pool: Mutex::new(Vec::new()),
                config,
            }),
        }
    }

    /// Pushes `item` into the shard of the calling thread.
    ///
    /// Ordering: items pushed by one OS thread keep their order. A tokio task can move
    /// between threads, so use a [`Producer`] (one per task or connection) when the
    /// order of one logical producer matters.
    ///
    /// Never waits: with [`Policy::Block`] a full buffer returns [`PushError::Full`]
    /// (use [`push_wait`](Self::push_wait) to wait).
    #[inline]
    pub fn push(&self, item: T) -> Result<(), PushError<T>> {
        let shard = crate::sync::thread_hint() % self.inner.shards.len();
        self.inner.push_counted(shard, item)
    }

    /// A handle pinned to one shard (assigned round-robin): everything pushed through it
    /// is drained in push order.
    pub fn producer(&self) -> Producer<T> {
        let n = self
            .inner
            .counters
            .next_producer
            .fetch_add(1, Ordering::Relaxed);
        Producer {
            buffer: self.clone(),
            shard: n % self.inner.shards.len(),
        }
    }

    /// Takes everything buffered if a batch is ready (see [`is_ready`](Self::is_ready)).
    ///
    /// The batch holds every item buffered at the time each shard was swapped, so it can
    /// be larger than `max_batch_items`/`max_batch_bytes` (those are triggers, not caps);
    /// it is never larger than the buffer's bound.
    pub fn drain(&self) -> Option<Batch<T>> {
        if !self.inner.is_ready() {
            return None;
        }
        let batch = self.take_all();
        (!batch.is_empty()).then_some(batch)
    }

    /// Hands a processed batch back so its segments' memory is reused: the next drains
    /// swap these (emptied) segments in, so producers refill memory that is already
    /// allocated instead of growing fresh segments. Drops the remaining items (which
    /// is O(batch length) here, on the consumer, not in the drain). Optional.
    pub fn recycle(&self, batch: Batch<T>) {
        self.inner.recycle(batch);
    }

    /// Takes everything buffered, ready or not (shutdown, flush). After [`close`](Self::close)
    /// has returned, this returns every item that was accepted and not yet drained.
    pub fn drain_all(&self) -> Batch<T> {
        self.take_all()
    }

    /// `take_all`, with the lease on the batch's bytes when the buffer leases.
    fn take_all(&self) -> Batch<T> {
        let mut batch = self.inner.take_all();
        if self.inner.config.lease_drained && batch.bytes() > 0 {
            batch.set_lease(Lease::new(Arc::clone(&self.inner), batch.bytes()));
        }
        batch
    }

    /// Closes the buffer for good: later pushes fail with the item handed back, blocked
    /// `push_wait`s return [`PushWaitError::Closed`](crate::PushWaitError::Closed), and
    /// consumers are notified. Returns whether this call closed it.
    pub fn close(&self) -> bool {
        let closed = self.inner.reservation.close();
        self.inner.ready.notify();
        self.inner.space.notify();
        closed
    }
}

impl<T> BatchBuffer<T> {
    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.reservation.usage().closed
    }

    /// Whether a batch is ready: the buffer holds at least `max_batch_items` items or
    /// `max_batch_bytes` bytes, or its oldest item is at least `max_batch_age` old, or it
    /// is closed and not empty.
    pub fn is_ready(&self) -> bool {
        self.inner.is_ready()
    }

    /// Number of buffered items (lock-free).
    pub fn len(&self) -> usize {
        usize::try_from(self.inner.reservation.usage().items).unwrap_or(usize::MAX)
    }

    /// Whether the buffer holds no item.
    pub fn is_empty(&self) -> bool {
        self.inner.reservation.usage().items == 0
    }

    /// Total weight of the buffered items (lock-free). Leased bytes of drained batches are
    /// not in it (see [`leased_bytes`](Self::leased_bytes)).
    pub fn bytes(&self) -> u64 {
        self.inner.buffered_bytes(self.inner.reservation.usage())
    }

    /// Bytes of drained batches still counted against the bound because their
    /// [`Lease`](crate::Lease)s hold them (always 0 unless built with
    /// [`lease_drained(true)`](crate::Builder::lease_drained)). `bytes() + leased_bytes()` is
    /// what the bound limits.
    pub fn leased_bytes(&self) -> u64 {
        self.inner.counters.leased.load(Ordering::SeqCst)
    }

    /// The clock reading at which the oldest buffered item reaches `max_batch_age`, if
    /// an age trigger is configured and the buffer holds an item.
    pub fn next_age_deadline(&self) -> Option<Duration> {
        let age = self.inner.config.batch_age?;
        Some(self.inner.oldest_at()? + age)
    }

    /// How long a consumer may sleep before a batch becomes ready by age: `Some(ZERO)`
    /// if a batch is ready now, `None` if only a push can make one ready (then wait on
    /// [`ready`](Self::ready)).
    pub fn time_until_ready(&self) -> Option<Duration> {
        self.inner.time_until_ready()
    }

    /// Lock-free statistics.
    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    /// Looks at the buffered items without taking them, shard by shard (each shard's items
    /// in push order; no order across shards), until `visit` returns `false`. Nothing is
    /// removed, reserved or counted: the items stay for the consumer's next drain.
    ///
    /// `visit` runs under each shard's lock, so producers of that shard wait while it runs:
    /// keep it to a few instructions per item (clone a reference-counted handle). An item
    /// drained or pushed meanwhile may be missed or seen; the view is not atomic across
    /// shards.
    pub fn peek(&self, mut visit: impl FnMut(&T) -> bool) {
        for shard in self.inner.shards.iter() {
            let segment = shard.segment.lock();
            for item in segment.items.iter() {
                if !visit(item) {
                    return;
                }
            }
        }
    }

    /// Registers a callback run whenever a batch may have become ready: first item into
    /// an empty buffer (a new age deadline), `max_batch_items` or `max_batch_bytes`
    /// crossed, close. It runs on the pushing (or closing) thread, outside every buffer
    /// lock; keep it short (wake a thread, send on a channel). Replaces any previous hook.
    pub fn set_ready_hook(&self, hook: impl Fn() + Send + Sync + 'static) {
        self.inner.ready.set_hook(Some(Arc::new(hook)));
    }

    /// Removes the ready hook.
    pub fn clear_ready_hook(&self) {
        self.inner.ready.set_hook(None);
    }
}

/// A push handle pinned to one shard: items pushed through one `Producer` are drained
/// in push order, whichever threads it moves across. Cheap to create; not `Clone` on
/// purpose (two clones pushing concurrently have no order between them anyway; create
/// another with [`BatchBuffer::producer`]).
pub struct Producer<T> {
    pub(crate) buffer: BatchBuffer<T>,
    pub(crate) shard: usize,
}

impl<T> std::fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("shard", &self.shard)
            .finish_non_exhaustive()
    }
}

impl<T: Weighted> Producer<T> {
    /// Pushes `item`; same policy rules as [`BatchBuffer::push`].
    #[inline]
    pub fn push(&self, item: T) -> Result<(), PushError<T>> {
        self.buffer.inner.push_counted(self.shard, item)
    }

    /// The buffer this handle pushes into.
    pub fn buffer(&self) -> &BatchBuffer<T> {
        &self.buffer
    }

    /// The shard this handle is pinned to.
    pub fn shard(&self) -> usize {
        self.shard
    }
}

impl<T: Weighted> Inner<T> {
    #[inline]
    pub(crate) fn push_counted(&self, shard: usize, item: T) -> Result<(), PushError<T>> {
        let result = self.push_raw(shard, item);
        if result.is_err() {
            self.counters.rejected.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// One push attempt, applying the policy; does not count rejections.
    #[inline]
    pub(crate) fn push_raw(&self, index: usize, item: T) -> Result<(), PushError<T>> {
        let weight = item.weight();
        let w = u64::try_from(weight).unwrap_or(u64::MAX);
        if w > self.config.max_bytes {
            return Err(PushError::TooLarge {
                item,
                weight,
                max_bytes: self.config.max_bytes,
            });
        }
        let shard = &self.shards[index];
        let mut segment = shard.segment.lock();
        match self.reservation.try_reserve(w) {
            Ok(before) => {
                self.insert(shard, &mut segment, item, w);
                drop(segment);
                self.after_insert(before, w);
                Ok(())
            }
            Err(ReserveError::Closed) => Err(PushError::Closed(item)),
            Err(ReserveError::Full) if self.config.policy == Policy::DropOldest => {
                drop(segment);
                self.push_evicting(index, item, w)
            }
            Err(ReserveError::Full) => Err(PushError::Full(item)),
        }
    }

    /// Inserts an item whose room is reserved; the caller holds `shard`'s lock.
    #[inline]
    fn insert(&self, shard: &Shard<T>, segment: &mut Segment<T>, item: T, weight: u64) {
        let evicts = self.config.policy == Policy::DropOldest;
        if self.track_age && (segment.items.is_empty() || evicts) {
            let now = self.config.clock.now();
            let stamp = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX - 1) + 1;
            if segment.items.is_empty() {
                shard.first_at.store(stamp, Ordering::SeqCst);
            }
            if evicts {
                segment.stamps.push_back(stamp);
            }
        }
        segment.items.push_back(item);
        segment.bytes += weight;
        // Single writer (we hold the lock): a plain load + store, no read-modify-write.
        let pushed = shard.pushed.load(Ordering::Relaxed);
        shard.pushed.store(pushed + 1, Ordering::Relaxed);
    }

    /// Notifies consumers when this insert is an edge they care about.
    #[inline]
    fn after_insert(&self, before: Usage, weight: u64) {
        let (items, bytes) = (before.items + 1, before.bytes + weight);
        let crossed_items =
            before.items < self.config.batch_items && items >= self.config.batch_items;
        let crossed_bytes =
            before.bytes < self.config.batch_bytes && bytes >= self.config.batch_bytes;
        if before.items == 0 || crossed_items || crossed_bytes {
            self.ready.notify();
        }
    }

    /// `DropOldest` slow path: evict from the shard whose segment started earliest until
    /// the item fits. Evicted items are dropped outside every lock.
    ///
    /// Leased bytes cannot be evicted: when the item would not fit even in an empty buffer
    /// beside them, the push is refused (`Full`) instead of evicting for nothing or waiting
    /// for the consumer.
    #[cold]
    fn push_evicting(&self, index: usize, item: T, weight: u64) -> Result<(), PushError<T>> {
        let mut evicted: Vec<T> = Vec::new();
        loop {
            if self.reservation.usage().closed {
                return Err(PushError::Closed(item));
            }
            let leased = self.counters.leased.load(Ordering::SeqCst);
            if weight > self.config.max_bytes.saturating_sub(leased) {
                return Err(PushError::Full(item));
            }
            let victim = self.oldest_shard().unwrap_or(index);
            let shard = &self.shards[victim];
            let mut segment = shard.segment.lock();
            let evicted_one = match segment.items.pop_front() {
                Some(old) => {
                    let w = u64::try_from(old.weight())
                        .unwrap_or(u64::MAX)
                        .min(segment.bytes);
                    segment.bytes -= w;
                    segment.stamps.pop_front();
                    // The victim of the next eviction is the shard whose oldest item *now*
                    // is oldest: this one's front changed.
                    let front = match segment.stamps.front() {
                        Some(&stamp) if !segment.items.is_empty() => stamp,
                        _ => 0,
                    };
                    shard.first_at.store(front, Ordering::SeqCst);
                    self.reservation.release(w, 1);
                    self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    evicted.push(old);
                    true
                }
                None => false,
            };
            if victim != index {
                drop(segment);
                segment = self.shards[index].segment.lock();
            }
            match self.reservation.try_reserve(weight) {
                Ok(before) => {
                    self.insert(&self.shards[index], &mut segment, item, weight);
                    drop(segment);
                    drop(evicted);
                    self.after_insert(before, weight);
                    return Ok(());
                }
                Err(ReserveError::Closed) => return Err(PushError::Closed(item)),
                Err(ReserveError::Full) => {
                    drop(segment);
                    if !evicted_one {
                        // Everything reserved is held by a drain that has not released
                        // it yet, or by a racing producer; let it finish.
                        crate::sync::yield_now();
                    }
                }
            }
        }
    }

    /// Swaps every non-empty segment out; releases their room in one step.
    ///
    /// Each segment is replaced by a recycled empty one (see `BatchBuffer::recycle`) or
    /// by `VecDeque::new()`, which does not allocate: the drain never allocates (besides
    /// the batch's small segment list) and never touches items.
    pub(crate) fn take_all(&self) -> Batch<T> {
        let mut batch = Batch::with_segments(self.shards.len());
        let mut recycled = std::mem::take(&mut *self.pool.lock());
        let (mut bytes, mut items) = (0u64, 0u64);
        for shard in self.shards.iter() {
            let mut segment = shard.segment.lock();
            if segment.items.is_empty() {
                continue;
            }
            let fresh = recycled.pop().unwrap_or_default();
            let taken = std::mem::replace(&mut segment.items, fresh);
            let taken_bytes = std::mem::take(&mut segment.bytes);
            segment.stamps.clear();
            shard.first_at.store(0, Ordering::SeqCst);
            drop(segment);
            items += taken.len() as u64;
            bytes += taken_bytes;
            batch.add_segment(taken, taken_bytes);
        }
        if !recycled.is_empty() {
            let mut pool = self.pool.lock();
            if pool.is_empty() {
                *pool = recycled;
            }
        }
        if items > 0 {
            if self.config.lease_drained {
                // The bytes stay reserved, now as leased (the caller attaches the lease).
                self.counters.leased.fetch_add(bytes, Ordering::SeqCst);
                self.reservation.release(0, items);
            } else {
                self.reservation.release(bytes, items);
            }
            self.counters.drained.fetch_add(items, Ordering::Relaxed);
            self.space.notify();
        }
        batch
    }

    /// Keeps the (emptied) segments of `batch` for later drains; see `BatchBuffer::recycle`.
    pub(crate) fn recycle(&self, batch: Batch<T>) {
        let mut segments = batch.into_segments();
        for segment in &mut segments {
            segment.clear();
        }
        segments.retain(|segment| segment.capacity() > 0);
        if segments.is_empty() {
            return;
        }
        let mut pool = self.pool.lock();
        let room = self.shards.len().saturating_sub(pool.len());
        segments.truncate(room);
        pool.append(&mut segments);
    }
}

impl<T> Inner<T> {
    pub(crate) fn is_ready(&self) -> bool {
        let usage = self.reservation.usage();
        if usage.items == 0 {
            return false;
        }
        if usage.closed || self.size_ready(usage) {
            return true;
        }
        match (self.config.batch_age, self.oldest_at()) {
            (Some(age), Some(oldest)) => self.config.clock.now().saturating_sub(oldest) >= age,
            _ => false,
        }
    }

    /// What the shards hold of the word's bytes: the word minus the leased bytes.
    fn buffered_bytes(&self, usage: Usage) -> u64 {
        usage
            .bytes
            .saturating_sub(self.counters.leased.load(Ordering::SeqCst))
    }

    /// The size triggers read the word, leased bytes included: only a push raises it, and
    /// each push that crosses a trigger notifies, so no wakeup is lost (a consumer draining
    /// while it still holds a lease may get a smaller batch sooner).
    fn size_ready(&self, usage: Usage) -> bool {
        usage.items >= self.config.batch_items || usage.bytes >= self.config.batch_bytes
    }

    pub(crate) fn time_until_ready(&self) -> Option<Duration> {
        let usage = self.reservation.usage();
        if usage.items == 0 {
            return None;
        }
        if usage.closed || self.size_ready(usage) {
            return Some(Duration::ZERO);
        }
        let age = self.config.batch_age?;
        let oldest = self.oldest_at()?;
        let elapsed = self.config.clock.now().saturating_sub(oldest);
        Some(age.saturating_sub(elapsed))
    }

    /// Clock reading of the oldest segment start, if any segment is non-empty.
    pub(crate) fn oldest_at(&self) -> Option<Duration> {
        self.shards
            .iter()
            .map(|shard| shard.first_at.load(Ordering::SeqCst))
            .filter(|&stamp| stamp != 0)
            .min()
            .map(|stamp| Duration::from_nanos(stamp - 1))
    }

    fn oldest_shard(&self) -> Option<usize> {
        (0..self.shards.len())
            .map(|i| (self.shards[i].first_at.load(Ordering::SeqCst), i))
            .filter(|&(stamp, _)| stamp != 0)
            .min()
            .map(|(_, i)| i)
    }

    pub(crate) fn stats(&self) -> Stats {
        let usage = self.reservation.usage();
        Stats {
            items: usage.items,
            bytes: self.buffered_bytes(usage),
            pushed: self
                .shards
                .iter()
                .map(|shard| shard.pushed.load(Ordering::Relaxed))
                .sum(),
            rejected: self.counters.rejected.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            drained: self.counters.drained.load(Ordering::Relaxed),
            closed: usage.closed,
        }
    }
}
