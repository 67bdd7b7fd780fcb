//! Lock-free counters, sharded so that concurrent callers do not share a cache line.
//!
//! Every call bumps a counter, so one shared `AtomicU64` per counter would make all threads
//! fight over one cache line and erase what the lock-free state word buys. Instead each breaker
//! owns [`SHARDS`] cache-line-aligned shards; a thread picks its shard once (a thread-local
//! index handed out round-robin) and a [`Permit`](crate::Permit) remembers it, so the outcome
//! bumps the same shard. Counters are relaxed `fetch_add`s: exact totals, no ordering
//! promises between different counters. [`Counters`] sums the shards on read.
//!
//! Under loom there is a single shard and no thread-local lookup.

use crate::sync::{AtomicU64, Ordering};

#[cfg(not(otlp_spool_loom))]
const SHARDS: usize = 16;
#[cfg(otlp_spool_loom)]
const SHARDS: usize = 1;

/// A snapshot of a breaker's counters, summed over all shards.
///
/// Each field is exact, but fields are read one after another while other threads may be
/// counting, so a snapshot taken under load is not one instant (for example `successes +
/// failures` can briefly exceed `permitted`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// Calls admitted (permits issued).
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
    permitted: AtomicU64,
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
    Permitted,
    Rejected,
    Success,
    Failure,
    Ignored,
    Abandoned,
    Stale,
}

#[derive(Debug)]
pub(crate) struct Sharded {
    shards: Box<[Shard]>,
    transitions: AtomicU64,
}

impl Sharded {
    pub(crate) fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            transitions: AtomicU64::new(0),
        }
    }

    #[inline]
    pub(crate) fn bump(&self, shard: usize, event: Event) {
        // `shard` comes from `shard_index`, always < SHARDS; `get` keeps this panic-free.
        let Some(s) = self.shards.get(shard) else {
            return;
        };
        let c = match event {
            Event::Permitted => &s.permitted,
            Event::Rejected => &s.rejected,
            Event::Success => &s.successes,
            Event::Failure => &s.failures,
            Event::Ignored => &s.ignored,
            Event::Abandoned => &s.abandoned,
            Event::Stale => &s.stale,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn transition(&self) {
        self.transitions.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Counters {
        let mut c = Counters::default();
        for s in self.shards.iter() {
            c.permitted += s.permitted.load(Ordering::Relaxed);
            c.rejected += s.rejected.load(Ordering::Relaxed);
            c.successes += s.successes.load(Ordering::Relaxed);
            c.failures += s.failures.load(Ordering::Relaxed);
            c.ignored += s.ignored.load(Ordering::Relaxed);
            c.abandoned += s.abandoned.load(Ordering::Relaxed);
            c.stale += s.stale.load(Ordering::Relaxed);
        }
        c.transitions = self.transitions.load(Ordering::Relaxed);
        c
    }
}

/// The calling thread's shard.
#[cfg(not(otlp_spool_loom))]
#[inline]
pub(crate) fn shard_index() -> usize {
    use std::cell::Cell;
    use std::sync::atomic::AtomicUsize;

    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    INDEX.with(|i| {
        let v = i.get();
        if v < SHARDS {
            v
        } else {
            let v = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % SHARDS;
            i.set(v);
            v
        }
    })
}

/// The calling thread's shard (always 0 under loom).
#[cfg(otlp_spool_loom)]
#[inline]
pub(crate) fn shard_index() -> usize {
    0
}
