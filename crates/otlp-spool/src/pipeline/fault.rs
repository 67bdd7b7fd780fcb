//! Test-only fault injection: make a lane's conversion, write or housekeeping panic (or a
//! write fail) the next N times, as a bug or a broken disk would, without corrupting any
//! input. Reached through the hidden [`Pipeline::inject_fault`](super::Pipeline::inject_fault).
//!
//! Invariant: with no fault armed (always, outside tests) a check is one relaxed load.

use std::sync::atomic::{AtomicU32, Ordering};

/// Where to inject a fault.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Panic inside the conversion of a chunk to Arrow.
    ConversionPanic,
    /// Panic inside a write of a record batch.
    WritePanic,
    /// Make a write attempt fail with an error (it is retried, as a full disk would be).
    WriteError,
    /// Panic inside the housekeeping tick (age rotation, retention).
    HousekeepingPanic,
}

/// Armed fault counts of one lane.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    counts: [AtomicU32; 4],
}

impl Faults {
    fn slot(fault: Fault) -> usize {
        match fault {
            Fault::ConversionPanic => 0,
            Fault::WritePanic => 1,
            Fault::WriteError => 2,
            Fault::HousekeepingPanic => 3,
        }
    }

    pub(crate) fn arm(&self, fault: Fault, times: u32) {
        self.counts[Self::slot(fault)].fetch_add(times, Ordering::SeqCst);
    }

    /// Consumes one armed `fault`; `true` when the caller must now fail.
    pub(crate) fn fire(&self, fault: Fault) -> bool {
        let count = &self.counts[Self::slot(fault)];
        count.load(Ordering::Relaxed) > 0
            && count
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
    }

    /// Panics if `fault` is armed.
    pub(crate) fn maybe_panic(&self, fault: Fault) {
        if self.fire(fault) {
            panic!("injected fault: {fault:?}");
        }
    }
}
