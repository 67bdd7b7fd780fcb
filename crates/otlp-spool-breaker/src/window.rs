//! Sliding window of the last N Closed-state outcomes, for the failure-rate policy.
//!
//! A fixed ring of `AtomicU32` slots. Recording an outcome claims the next slot with one
//! `fetch_add` on `head` and stores a tag `epoch << 2 | outcome` in it. Counting scans the ring
//! and keeps only slots tagged with the current epoch, so:
//!
//! * the window needs no reset: a transition bumps the epoch and every older slot stops
//!   counting, which is exactly "the last N calls of this Closed period";
//! * an outcome from an earlier epoch cannot be counted (its tag is stale), even when it lands
//!   after the transition;
//! * there are no running totals that could drift under races: counts are recomputed from the
//!   slots, O(N) per evaluation. The breaker only evaluates on a failure, the cold path.
//!
//! Under concurrency the scan is a snapshot: a slot written a moment ago by another thread may
//! or may not be counted, as with any sampling of a moving window. Failures are never lost
//! together, though: a thread records its failure, issues a `SeqCst` fence, then scans, so of
//! several failures racing, the one whose fence comes last sees all the others (the classic
//! store-buffering race cannot hide them from each other). The decision to open is a CAS on
//! the state word, so a racy count can at most move the opening by a call; it cannot produce
//! two openings.

use crate::sync::{AtomicU32, AtomicU64, Ordering};

const SUCCESS: u32 = 1;
const FAILURE: u32 = 2;

/// Ring of tagged outcomes.
#[derive(Debug)]
pub(crate) struct Window {
    head: AtomicU64,
    slots: Box<[AtomicU32]>,
}

impl Window {
    pub(crate) fn new(size: u32) -> Self {
        Self {
            head: AtomicU64::new(0),
            slots: (0..size.max(1)).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    /// Records one outcome of a call admitted in `epoch`.
    pub(crate) fn record(&self, epoch: u32, failed: bool) {
        let i = self.head.fetch_add(1, Ordering::Relaxed) % self.slots.len() as u64;
        let tag = (epoch << 2) | if failed { FAILURE } else { SUCCESS };
        self.slots[i as usize].store(tag, Ordering::Relaxed);
    }

    /// `(calls, failures)` recorded in `epoch` among the last N.
    pub(crate) fn count(&self, epoch: u32) -> (u32, u32) {
        let (mut calls, mut failures) = (0, 0);
        for slot in self.slots.iter() {
            let tag = slot.load(Ordering::Relaxed);
            if tag != 0 && tag >> 2 == epoch {
                calls += 1;
                failures += u32::from(tag & 0b11 == FAILURE);
            }
        }
        (calls, failures)
    }
}

#[cfg(all(test, not(otlp_spool_loom)))]
mod tests {
    use super::*;

    #[test]
    fn keeps_last_n_of_the_epoch() {
        let w = Window::new(4);
        for failed in [true, true, false, false, false] {
            w.record(3, failed);
        }
        assert_eq!(w.count(3), (4, 1));
        assert_eq!(w.count(4), (0, 0));
        w.record(4, true);
        assert_eq!(w.count(4), (1, 1));
        assert_eq!(w.count(3), (3, 0));
    }
}
