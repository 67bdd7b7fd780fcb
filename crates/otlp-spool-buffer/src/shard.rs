//! A shard: one lock-protected segment (`VecDeque<T>`) plus the lock-free facts a
//! consumer reads without taking the lock.
//!
//! Invariants (all under the shard lock):
//! - `segment.bytes` is the sum of the weights (as read at push) of `segment.items`.
//! - `first_at` is non-zero exactly when the segment was non-empty at the last change
//!   made under the lock *and* the buffer tracks age; it then holds the clock reading
//!   (+1 ns, so that zero means "empty") taken when the segment received its first item.
//! - Items enter at the back and leave at the front (eviction) or all at once (drain),
//!   so a segment is always in push order.
//! - Under `DropOldest`, `segment.stamps` holds each item's clock reading (+1 ns), front to
//!   back like `items`; after an eviction `first_at` is the new front's stamp, so the next
//!   victim is the shard whose *current* oldest item is oldest (not the shard whose first
//!   item, long evicted, was). Empty otherwise.

use std::collections::VecDeque;

use crate::sync::{AtomicU64, SpinMutex};

/// The lock-protected part of a shard.
#[derive(Debug)]
pub(crate) struct Segment<T> {
    pub(crate) items: VecDeque<T>,
    pub(crate) bytes: u64,
    /// Arrival stamps of `items` (`DropOldest` only; see the module docs).
    pub(crate) stamps: VecDeque<u64>,
}

/// One shard; see the module docs.
#[derive(Debug)]
pub(crate) struct Shard<T> {
    pub(crate) segment: SpinMutex<Segment<T>>,
    /// Clock reading (+1 ns) when the segment got its first item, 0 when empty.
    pub(crate) first_at: AtomicU64,
    /// Items ever pushed into this shard (written under the lock, read lock-free).
    pub(crate) pushed: AtomicU64,
}

impl<T> Shard<T> {
    pub(crate) fn new() -> Self {
        Self {
            segment: SpinMutex::new(Segment {
                items: VecDeque::new(),
                bytes: 0,
                stamps: VecDeque::new(),
            }),
            first_at: AtomicU64::new(0),
            pushed: AtomicU64::new(0),
        }
    }
}
