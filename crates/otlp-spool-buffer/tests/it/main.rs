//! Integration tests of `otlp-spool-buffer` (one binary, one module per topic).

mod concurrency;
mod edges;
mod lease;
mod model;
mod policies;
mod readiness;

use otlp_spool_buffer::Weighted;

/// A test item: a unique id and a declared weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Item {
    pub(crate) id: u64,
    pub(crate) weight: usize,
}

impl Weighted for Item {
    fn weight(&self) -> usize {
        self.weight
    }
}

pub(crate) fn item(id: u64, weight: usize) -> Item {
    Item { id, weight }
}

/// Ids of a batch, in batch order.
pub(crate) fn ids(batch: otlp_spool_buffer::Batch<Item>) -> Vec<u64> {
    batch.into_iter().map(|item| item.id).collect()
}
