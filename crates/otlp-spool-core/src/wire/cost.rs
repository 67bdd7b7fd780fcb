//! [`write_cost`]: how much memory the storage writer needs to turn a request into Arrow.
//!
//! PLACEHOLDER coefficients, replaced after measurement.

use crate::Signal;

/// The estimated memory, in bytes, that converting one serialized request of `signal`
/// (`wire_len` bytes, `items` spans / data points / log records) into Arrow record batches
/// takes.
pub fn write_cost(signal: Signal, wire_len: usize, items: usize) -> usize {
    let (per_wire_byte, per_item) = match signal {
        Signal::Traces => (3, 256),
        Signal::Metrics => (3, 256),
        Signal::Logs => (3, 256),
    };
    wire_len
        .saturating_mul(per_wire_byte)
        .saturating_add(items.saturating_mul(per_item))
}
