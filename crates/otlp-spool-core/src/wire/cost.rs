//! [`write_cost`]: how much memory the storage writer needs to turn a request into Arrow.
//!
//! The estimate is a function of figures known at the door without a walk (the request's
//! signal, its length on the wire and its item count), so the receiver can refuse a request
//! that would cost too much (`receiver.max_decoded_size`) and a lane can weigh what it holds
//! before anything is converted. It is meant to be simple and conservative: for requests of
//! hundreds of items or more it must never be below what the converter really builds.
//!
//! Calibrated on the peak heap of the streaming bytes converter (`otlp_spool_storage::Converter`,
//! default limits, as the writer runs it: builders, finished batches and the buffers reserved
//! for the next batch), counted by a counting allocator in `cargo test -p otlp-spool-benches
//! --test it write_cost -- --nocapture --test-threads 1` (figures in the core README). That
//! peak is about 1.7x the Arrow memory of the batches (builders grow by doubling, and a
//! finished batch and the next batch's reserve live side by side): 318-373 bytes per item for
//! spans of 33 wire bytes, 3.5-5.7 bytes per wire byte for spans and records with attributes
//! (5.65 for spans of 50 attributes). Hence 400 bytes per item (450 for metrics) plus 6 per
//! wire byte, which covers every measured shape of 512 items or more (estimate / peak between
//! 1.13 and 2.1).
//!
//! What it does not model: a record batch's fixed cost (20 to 50 KB of column buffers whatever
//! the row count) is paid once per written chunk, not per request, so a one-span request is
//! estimated at ~3 KB although converting it alone peaks at ~30-50 KB; attributes far smaller
//! on the wire than their Arrow slot (an empty `KeyValue` is 2 wire bytes and ~40 Arrow bytes);
//! and resource or scope fields repeated on every row, which schema v2 stores once per batch.
//! The validating walker can feed finer counts later (attributes, string bytes, containers).

use crate::Signal;

/// Estimated Arrow memory per item (span, data point, log record), in bytes.
const fn per_item(signal: Signal) -> usize {
    match signal {
        Signal::Traces | Signal::Logs => 400,
        Signal::Metrics => 450,
    }
}

/// Estimated Arrow memory per byte of the serialized request.
const PER_WIRE_BYTE: usize = 6;

/// The estimated memory, in bytes, that converting one serialized request of `signal`
/// (`wire_len` bytes, `items` spans / data points / log records) into Arrow record batches
/// takes at its peak: `items * per_item(signal) + 6 * wire_len`, with per-item figures of 400
/// bytes (traces, logs) and 450 bytes (metrics). Saturates instead of overflowing.
///
/// ```
/// use otlp_spool_core::Signal;
/// use otlp_spool_core::wire::write_cost;
///
/// assert_eq!(write_cost(Signal::Traces, 1000, 2), 2 * 400 + 6 * 1000);
/// assert_eq!(write_cost(Signal::Logs, 0, 0), 0);
/// assert_eq!(write_cost(Signal::Metrics, usize::MAX, 1), usize::MAX);
/// ```
pub fn write_cost(signal: Signal, wire_len: usize, items: usize) -> usize {
    items
        .saturating_mul(per_item(signal))
        .saturating_add(wire_len.saturating_mul(PER_WIRE_BYTE))
}
