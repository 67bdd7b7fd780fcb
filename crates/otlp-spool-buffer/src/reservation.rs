//! The reservation word: the buffer's byte count, item count and closed flag packed in
//! one `AtomicU64`, updated only by compare-and-swap or fetch operations.
//!
//! Layout: bits 0..40 bytes, bits 40..63 items, bit 63 closed.
//!
//! Invariants:
//! - `bytes <= max_bytes` and `items <= max_items` at every instant: `try_reserve`
//!   checks the bound and adds in one CAS, so no interleaving of producers can
//!   overshoot, not even transiently.
//! - The word counts every item between the start of its insertion and the end of the
//!   drain that takes it out (reserved before insert, released after removal), so it is
//!   always an upper bound of what the shards hold.
//! - Once the closed bit is set it is never cleared, and no reservation succeeds after
//!   it (`try_reserve` fails on a word with the bit set).

use crate::sync::{AtomicU64, Ordering};

/// Largest byte bound the packed word can represent (1 TiB - 1).
pub const MAX_BYTES_LIMIT: u64 = (1 << BYTES_BITS) - 1;
/// Largest item bound the packed word can represent (2^23 - 1).
pub const MAX_ITEMS_LIMIT: u64 = (1 << ITEMS_BITS) - 1;

const BYTES_BITS: u32 = 40;
const ITEMS_BITS: u32 = 23;
const ITEM_ONE: u64 = 1 << BYTES_BITS;
const CLOSED: u64 = 1 << 63;

/// A decoded reading of the reservation word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) bytes: u64,
    pub(crate) items: u64,
    pub(crate) closed: bool,
}

impl Usage {
    fn decode(word: u64) -> Self {
        Self {
            bytes: word & MAX_BYTES_LIMIT,
            items: (word >> BYTES_BITS) & MAX_ITEMS_LIMIT,
            closed: word & CLOSED != 0,
        }
    }
}

/// Why a reservation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReserveError {
    Full,
    Closed,
}

/// The packed counter; see the module docs.
#[derive(Debug)]
pub(crate) struct Reservation {
    word: AtomicU64,
    max_bytes: u64,
    max_items: u64,
}

impl Reservation {
    pub(crate) fn new(max_bytes: u64, max_items: u64) -> Self {
        debug_assert!(max_bytes <= MAX_BYTES_LIMIT && max_items <= MAX_ITEMS_LIMIT);
        Self {
            word: AtomicU64::new(0),
            max_bytes,
            max_items,
        }
    }

    /// Reserves room for one item of `weight` bytes; returns the usage before it.
    /// `weight` must be at most `max_bytes` (checked by the caller).
    #[inline]
    pub(crate) fn try_reserve(&self, weight: u64) -> Result<Usage, ReserveError> {
        let mut current = self.word.load(Ordering::SeqCst);
        loop {
            let usage = Usage::decode(current);
            if usage.closed {
                return Err(ReserveError::Closed);
            }
            if usage.items >= self.max_items || self.max_bytes - usage.bytes < weight {
                return Err(ReserveError::Full);
            }
            match self.word.compare_exchange_weak(
                current,
                current + ITEM_ONE + weight,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return Ok(usage),
                Err(actual) => current = actual,
            }
        }
    }

    /// Gives back `items` items weighing `bytes` bytes, previously reserved.
    #[inline]
    pub(crate) fn release(&self, bytes: u64, items: u64) {
        if items == 0 && bytes == 0 {
            return;
        }
        let prev = self
            .word
            .fetch_sub(items * ITEM_ONE + bytes, Ordering::SeqCst);
        debug_assert!({
            let usage = Usage::decode(prev);
            usage.bytes >= bytes && usage.items >= items
        });
    }

    /// Sets the closed bit; returns whether this call set it.
    pub(crate) fn close(&self) -> bool {
        self.word.fetch_or(CLOSED, Ordering::SeqCst) & CLOSED == 0
    }

    /// Current usage.
    #[inline]
    pub(crate) fn usage(&self) -> Usage {
        Usage::decode(self.word.load(Ordering::SeqCst))
    }
}
