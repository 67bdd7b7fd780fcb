//! What a lane holds: one accepted OTLP request with its weight measured once, at the door.

use otlp_spool_buffer::Weighted;
use otlp_spool_core::Telemetry;

/// One accepted request. Its weight is the memory the decoded request holds
/// ([`Telemetry::memory_size`]), measured once at the door; the buffer budgets memory with it.
/// A request larger than the whole lane weighs exactly the lane: it is admitted only into an
/// empty lane (the receiver's body limit, not the lane, bounds a single request).
#[derive(Debug)]
pub(crate) struct Item {
    pub(crate) telemetry: Telemetry,
    pub(crate) items: u64,
    weight: usize,
}

impl Item {
    pub(crate) fn new(telemetry: Telemetry, lane_capacity: u64) -> Self {
        let weight = telemetry
            .memory_size()
            .min(usize::try_from(lane_capacity).unwrap_or(usize::MAX));
        let items = telemetry.item_count() as u64;
        Self {
            telemetry,
            items,
            weight,
        }
    }
}

impl Weighted for Item {
    fn weight(&self) -> usize {
        self.weight
    }
}
