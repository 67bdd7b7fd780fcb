//! Counters that the Closed-state hot path bumps without an atomic read-modify-write.
//!
//! Every call is counted, so a shared `AtomicU64` per counter would make every call a
//! `lock`-prefixed instruction on a cache line other threads write too. Instead:
//!
//! * **One count per call, when it resolves.** Every permit is resolved exactly once (success,
//!   failure, ignore, or abandoned by `Drop`), so `permitted` is not counted at all: a snapshot
//!   computes it as the sum of those four. Closed `try_acquire` counts nothing; a permit still
//!   in flight is counted when it resolves. (Rejections and stale outcomes are counted where
//!   they happen.)
//! * **Slots belong to threads, process-wide.** A thread's first count takes a slot number in
//!   `0..SLOTS` from a global free list (one lock, once per thread) and keeps it in a
//!   thread-local `Cell`; a thread-local guard gives it back when the thread exits. At any
//!   time a slot number belongs to at most one live thread.
//! * **Each breaker has a cache-line-aligned shard per slot**, so a shard has one writer: the
//!   thread that owns the slot. A bump is a thread-local load, a bounds check, and a relaxed
//!   load and store of the counter (on x86-64 a plain `inc` of memory), not a `fetch_add`.
//!   Counts survive the hand-over of a slot: the exiting thread's last stores happen before it
//!   releases the slot (the free list's lock), and the next owner takes it under that lock.
//! * **Fallback.** A thread that finds no free slot (more than `SLOTS` threads alive), or whose
//!   slot is already given back (a permit dropped by a later thread-local destructor), bumps a
//!   `shared` shard with `fetch_add`.
//! * **Reading sums the shards** (relaxed loads): exact once the counting threads are quiet, no
//!   ordering promises between different counters.
//!
//! Under loom there are no thread-locals: every bump is a `fetch_add` on the `shared` shard,
//! which the models can see.

use crate::sync::{AtomicU64, Ordering};

/// A snapshot of a breaker's counters, summed over all shards.
///
/// Each field is exact once the counting threads are quiet, but fields are read one after
/// another while other threads may be counting, so a snapshot taken under load is not one
/// instant. `permitted` is always `successes + failures + ignored + abandoned`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// Calls admitted, counted when their permit resolves (reported or dropped): permits still
    /// in flight are not in it yet.
    pub permitted: u64,
    /// Calls refused.
    pub rejected: u64,
    /// Permits reported as success.
    pub successes: u64,
    /// Permits reported as failure.
    pub failures: u64,
    /// Permits reported as ignored.
    pub ignored: u64,
    /// Permits dropped without an outcome.
    pub abandoned: u64,
    /// Outcomes that arrived after a transition and were not applied to the state.
    pub stale: u64,
    /// State transitions.
    pub transitions: u64,
}

#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard {
    rejected: AtomicU64,
    successes: AtomicU64,
    failures: AtomicU64,
    ignored: AtomicU64,
    abandoned: AtomicU64,
    stale: AtomicU64,
}

/// Which counter an event bumps.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Event {
    Rejected,
    Success,
    Failure,
    Ignored,
    Abandoned,
    Stale,
}

impl Shard {
    #[inline]
    fn counter(&self, event: Event) -> &AtomicU64 {
        match event {
            Event::Rejected => &self.rejected,
            Event::Success => &self.successes,
            Event::Failure => &self.failures,
            Event::Ignored => &self.ignored,
            Event::Abandoned => &self.abandoned,
            Event::Stale => &self.stale,
        }
    }

    /// Bump by the shard's only writer: no read-modify-write.
    #[cfg(not(otlp_spool_loom))]
    #[inline]
    fn bump_owned(&self, event: Event) {
        let c = self.counter(event);
        c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }

    /// Bump by any thread.
    fn bump_shared(&self, event: Event) {
        self.counter(event).fetch_add(1, Ordering::Relaxed);
    }

    fn add_to(&self, c: &mut Counters) {
        c.rejected += self.rejected.load(Ordering::Relaxed);
        c.successes += self.successes.load(Ordering::Relaxed);
        c.failures += self.failures.load(Ordering::Relaxed);
        c.ignored += self.ignored.load(Ordering::Relaxed);
        c.abandoned += self.abandoned.load(Ordering::Relaxed);
        c.stale += self.stale.load(Ordering::Relaxed);
    }
}

/// Shards a breaker keeps, one per slot: `SLOTS * 128` bytes.
#[cfg(not(otlp_spool_loom))]
const SLOTS: usize = 64;

/// The calling thread's slot (`< SLOTS`), [`UNCLAIMED`] or [`NO_SLOT`].
#[cfg(not(otlp_spool_loom))]
mod slot {
    use std::cell::Cell;
    use std::sync::{Mutex, PoisonError};

    use super::SLOTS;

    /// Not asked for a slot yet.
    pub(super) const UNCLAIMED: usize = usize::MAX;
    /// Asked and found none free, or gave it back on exit: count on the shared shard.
    pub(super) const NO_SLOT: usize = usize::MAX - 1;

    /// Slot numbers never handed out start at `next`; `free` holds those given back.
    struct FreeList {
        next: usize,
        free: Vec<usize>,
    }

    static FREE: Mutex<FreeList> = Mutex::new(FreeList {
        next: 0,
        free: Vec::new(),
    });

    thread_local! {
        /// No destructor and a const initialiser: reading it is one thread-relative load.
        static SLOT: Cell<usize> = const { Cell::new(UNCLAIMED) };
        /// Gives the slot back when the thread exits.
        static GUARD: Guard = const { Guard(Cell::new(NO_SLOT)) };
    }

    struct Guard(Cell<usize>);

    impl Drop for Guard {
        fn drop(&mut self) {
            let slot = self.0.get();
            // From here on this thread counts on the shared shard.
            let _ = SLOT.try_with(|s| s.set(NO_SLOT));
            if slot < SLOTS {
                FREE.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .free
                    .push(slot);
            }
        }
    }

    #[inline]
    pub(super) fn current() -> usize {
        SLOT.try_with(Cell::get).unwrap_or(NO_SLOT)
    }

    /// Takes a slot for this thread if it has none yet; returns what [`current`] now says.
    #[cold]
    pub(super) fn claim() -> usize {
        let now = current();
        if now != UNCLAIMED {
            return now;
        }
        let taken = {
            let mut list = FREE.lock().unwrap_or_else(PoisonError::into_inner);
            match list.free.pop() {
                Some(slot) => Some(slot),
                None if list.next < SLOTS => {
                    list.next += 1;
                    Some(list.next - 1)
                }
                None => None,
            }
        };
        let slot = taken.unwrap_or(NO_SLOT);
        if GUARD.try_with(|g| g.0.set(slot)).is_err() {
            // The thread is exiting: give the slot straight back.
            if slot < SLOTS {
                FREE.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .free
                    .push(slot);
            }
            return NO_SLOT;
        }
        let _ = SLOT.try_with(|s| s.set(slot));
        slot
    }
}

#[derive(Debug)]
pub(crate) struct Sharded {
    /// One shard per slot, written only by the slot's owner.
    #[cfg(not(otlp_spool_loom))]
    shards: [Shard; SLOTS],
    shared: Shard,
    transitions: AtomicU64,
}

impl Sharded {
    pub(crate) fn new() -> Self {
        Self {
            #[cfg(not(otlp_spool_loom))]
            shards: std::array::from_fn(|_| Shard::default()),
            shared: Shard::default(),
            transitions: AtomicU64::new(0),
        }
    }

    /// Counts `event` in the calling thread's shard.
    #[cfg(not(otlp_spool_loom))]
    #[inline]
    pub(crate) fn bump(&self, event: Event) {
        match self.shards.get(slot::current()) {
            Some(shard) => shard.bump_owned(event),
            None => self.bump_slow(event),
        }
    }

    /// Counts `event` (under loom: always on the shared shard).
    #[cfg(otlp_spool_loom)]
    pub(crate) fn bump(&self, event: Event) {
        self.shared.bump_shared(event);
    }

    /// The thread has no slot: take one, or count on the shared shard.
    #[cfg(not(otlp_spool_loom))]
    #[cold]
    #[inline(never)]
    fn bump_slow(&self, event: Event) {
        match self.shards.get(slot::claim()) {
            Some(shard) => shard.bump_owned(event),
            None => self.shared.bump_shared(event),
        }
    }

    pub(crate) fn transition(&self) {
        self.transitions.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Counters {
        let mut c = Counters::default();
        self.shared.add_to(&mut c);
        #[cfg(not(otlp_spool_loom))]
        for shard in self.shards.iter() {
            shard.add_to(&mut c);
        }
        c.transitions = self.transitions.load(Ordering::Relaxed);
        // Every permit is resolved exactly once, as one of these four.
        c.permitted = c.successes + c.failures + c.ignored + c.abandoned;
        c
    }
}
