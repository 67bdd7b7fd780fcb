//! [`Buffered`]: an accepted [`Item`] while it sits in a lane's buffer, counting itself as
//! evicted if the buffer drops it.
//!
//! The buffer's `DropOldest` policy drops the oldest items inside `push` to make room; it
//! counts them in its own stats (requests), but the pipeline counts *items* (spans, data
//! points, log records) by reason in `otlp_spool_dropped_items_total`. So an item is armed
//! when it enters the buffer and disarmed when the flusher drains it (or the push refuses it
//! and hands it back); one dropped while still armed was evicted, and adds its item count.
//!
//! Invariant: every accepted item is counted exactly once, as drained (then written or dropped
//! with a reason by the flusher) or as evicted here.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use otlp_spool_buffer::Weighted;

use super::item::Item;

/// An item in a lane's buffer. See the module docs.
#[derive(Debug)]
pub(crate) struct Buffered {
    item: Option<Item>,
    weight: usize,
    evicted: Arc<AtomicU64>,
}

impl Buffered {
    /// Arms `item`: dropped without [`Buffered::into_item`], it counts into `evicted`.
    pub(crate) fn new(item: Item, evicted: Arc<AtomicU64>) -> Self {
        Self {
            weight: item.weight(),
            item: Some(item),
            evicted,
        }
    }

    /// The item, while it is buffered (a read-only look: `Pipeline::peek`).
    pub(crate) fn item(&self) -> Option<&Item> {
        self.item.as_ref()
    }

    /// Disarms and unwraps: the item left the buffer the normal way.
    pub(crate) fn into_item(mut self) -> Option<Item> {
        self.item.take()
    }
}

impl Drop for Buffered {
    fn drop(&mut self) {
        if let Some(item) = &self.item {
            self.evicted.fetch_add(item.items, Ordering::Relaxed);
        }
    }
}

impl Weighted for Buffered {
    fn weight(&self) -> usize {
        self.weight
    }
}
