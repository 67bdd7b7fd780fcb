//! [`write_cost`]: how much memory the storage writer needs to turn a request into Arrow.
//!
//! The estimate is a function of figures known at the door without a walk (the request's
//! signal, its length on the wire and its item count), so the receiver can refuse a request
//! that would cost too much (`receiver.max_decoded_size`) and a lane can weigh what it holds
//! before anything is converted. It is meant to be simple and conservative: for requests of
//! hundreds of items or more it must never be below what the converter really builds.
//!
//! Measured against today's prost-based converter (`otlp_spool_storage::*_to_arrow`,
//! `RecordBatch::get_array_memory_size`; `cargo test -p otlp-spool-benches --test it
//! write_cost -- --nocapture`, figures in the core README): every signal costs about 1.4 to
//! 1.6 KB of Arrow memory per row whatever the row holds (1.40 KB for a span of 33 wire bytes,
//! 1.43 KB for a span of 315), plus about 3.4 bytes per wire byte of attributes beyond that
//! (spans of 987 wire bytes with 50 attributes: 4.6 KB per row). Hence 1.6-1.7 KB per item plus
//! 4 bytes per wire byte, which covers every measured shape of 512 items or more (estimate /
//! Arrow between 1.16 and 2.0).
//!
//! What it does not model: a record batch's fixed cost (30 to 60 KB of column buffers whatever
//! the row count) is paid once per written chunk, not per request, so a one-span request is
//! estimated at ~1.7 KB although converting it alone builds ~54 KB; and resource or scope
//! fields repeated on every row (a 20 KiB `schema_url` above 110,000 spans) are not seen in the
//! wire length. The validating walker can feed finer counts later (attributes, string bytes,
//! containers); the dictionary-encoded schema being built makes the repetition cheap.

use crate::Signal;

/// Estimated Arrow memory per item (span, data point, log record), in bytes.
const fn per_item(signal: Signal) -> usize {
    match signal {
        Signal::Traces | Signal::Logs => 1600,
        Signal::Metrics => 1700,
    }
}

/// Estimated Arrow memory per byte of the serialized request.
const PER_WIRE_BYTE: usize = 4;

/// The estimated memory, in bytes, that converting one serialized request of `signal`
/// (`wire_len` bytes, `items` spans / data points / log records) into Arrow record batches
/// takes: `items * per_item(signal) + 4 * wire_len`, with per-item figures of 1,600 bytes
/// (traces, logs) and 1,700 bytes (metrics). Saturates instead of overflowing.
///
/// ```
/// use otlp_spool_core::Signal;
/// use otlp_spool_core::wire::write_cost;
///
/// assert_eq!(write_cost(Signal::Traces, 1000, 2), 2 * 1600 + 4 * 1000);
/// assert_eq!(write_cost(Signal::Logs, 0, 0), 0);
/// assert_eq!(write_cost(Signal::Metrics, usize::MAX, 1), usize::MAX);
/// ```
pub fn write_cost(signal: Signal, wire_len: usize, items: usize) -> usize {
    items
        .saturating_mul(per_item(signal))
        .saturating_add(wire_len.saturating_mul(PER_WIRE_BYTE))
}
