//! What a lane holds: one accepted OTLP request with its weight measured once, at the door.

use otlp_spool_buffer::Weighted;
use otlp_spool_core::Telemetry;

/// One accepted request, held as its protobuf bytes. It weighs what it costs the lane: the
/// bytes it holds while buffered ([`Telemetry::weight`]) plus the memory writing it will take
/// ([`Telemetry::write_cost`]), both known at the door without a walk; the buffer budgets
/// memory with that sum. A request larger than the whole lane weighs exactly the lane: it is
/// admitted only into an empty lane (the receiver's limits, not the lane, bound a single
/// request).
#[derive(Debug)]
pub(crate) struct Item {
    pub(crate) telemetry: Telemetry,
    pub(crate) items: u64,
    weight: usize,
}

impl Item {
    pub(crate) fn new(telemetry: Telemetry, lane_capacity: u64) -> Self {
        let weight = telemetry
            .weight()
            .saturating_add(telemetry.write_cost())
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
