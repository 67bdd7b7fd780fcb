//! What a lane holds: one accepted OTLP request with its weight measured once, at the door.

use otlp_spool_buffer::Weighted;
use otlp_spool_core::Telemetry;

/// One accepted request. The weight (its protobuf size) is computed once when it is accepted;
/// the buffer budgets memory with it.
#[derive(Debug)]
pub(crate) struct Item {
    pub(crate) telemetry: Telemetry,
    pub(crate) items: u64,
    weight: usize,
}

impl Item {
    pub(crate) fn new(telemetry: Telemetry) -> Self {
        let weight = telemetry.weight();
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
