//! Self-metrics of the pipeline: lock-free counters per signal, rendered as Prometheus text.
//!
//! Invariant (what makes "never a silent drop" checkable): for every signal,
//! `accepted_items = written_items + dropped_items + items still buffered or in flight`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use otlp_spool_core::Signal;

/// Counters of one signal's lane.
#[derive(Debug, Default)]
pub(crate) struct LaneMetrics {
    /// Requests offered to the pipeline.
    pub(crate) received_requests: AtomicU64,
    /// Requests taken (acknowledged).
    pub(crate) accepted_requests: AtomicU64,
    /// Items (spans, data points, log records) in accepted requests.
    pub(crate) accepted_items: AtomicU64,
    /// Requests refused because the lane was full.
    pub(crate) rejected_full: AtomicU64,
    /// Requests refused because the pipeline was shutting down.
    pub(crate) rejected_closed: AtomicU64,
    /// Requests refused because they were larger than the whole lane.
    pub(crate) rejected_too_large: AtomicU64,
    /// Rows written to files.
    pub(crate) written_items: AtomicU64,
    /// Bytes written to files (Arrow IPC / Parquet bytes on disk).
    pub(crate) written_bytes: AtomicU64,
    /// Failed write attempts (each is retried; the data is kept).
    pub(crate) write_errors: AtomicU64,
    /// Accepted items that could not be written and were given up (conversion failure, or
    /// the writer still failing when shutdown's deadline passed).
    pub(crate) dropped_items: AtomicU64,
}

impl LaneMetrics {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// A gauge reading taken at render time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LaneGauges {
    pub(crate) buffer_bytes: u64,
    pub(crate) writing_bytes: u64,
    pub(crate) buffer_requests: u64,
    pub(crate) buffer_capacity_bytes: u64,
}

/// A counter's name (optionally with extra labels), help text and where to read it.
type CounterDef = (&'static str, &'static str, fn(&LaneMetrics) -> &AtomicU64);
/// A gauge's name, help text and how to read it.
type GaugeDef = (&'static str, &'static str, fn(&LaneGauges) -> u64);

/// Renders every lane in the Prometheus text exposition format.
pub(crate) fn render(out: &mut String, lanes: &[(Signal, &LaneMetrics, LaneGauges)]) {
    let counters: [CounterDef; 10] = [
        (
            "otlp_spool_received_requests_total",
            "Requests offered to the pipeline.",
            |m| &m.received_requests,
        ),
        (
            "otlp_spool_accepted_requests_total",
            "Requests acknowledged (held by the pipeline).",
            |m| &m.accepted_requests,
        ),
        (
            "otlp_spool_accepted_items_total",
            "Spans, data points or log records acknowledged.",
            |m| &m.accepted_items,
        ),
        (
            "otlp_spool_rejected_requests_total{reason=\"full\"}",
            "Requests refused with backpressure.",
            |m| &m.rejected_full,
        ),
        (
            "otlp_spool_rejected_requests_total{reason=\"closed\"}",
            "",
            |m| &m.rejected_closed,
        ),
        (
            "otlp_spool_rejected_requests_total{reason=\"too_large\"}",
            "",
            |m| &m.rejected_too_large,
        ),
        (
            "otlp_spool_written_items_total",
            "Rows written to files.",
            |m| &m.written_items,
        ),
        (
            "otlp_spool_written_bytes_total",
            "Bytes written to files.",
            |m| &m.written_bytes,
        ),
        (
            "otlp_spool_write_errors_total",
            "Failed write attempts (retried, data kept).",
            |m| &m.write_errors,
        ),
        (
            "otlp_spool_dropped_items_total",
            "Acknowledged items given up, counted.",
            |m| &m.dropped_items,
        ),
    ];
    for (name, help, get) in counters {
        let (base, extra) = match name.split_once('{') {
            Some((base, rest)) => (base, Some(rest.trim_end_matches('}'))),
            None => (name, None),
        };
        if !help.is_empty() {
            let _ = writeln!(out, "# HELP {base} {help}");
            let _ = writeln!(out, "# TYPE {base} counter");
        }
        for (signal, metrics, _) in lanes {
            let labels = match extra {
                Some(extra) => format!("signal=\"{signal}\",{extra}"),
                None => format!("signal=\"{signal}\""),
            };
            let _ = writeln!(
                out,
                "{base}{{{labels}}} {}",
                get(metrics).load(Ordering::Relaxed)
            );
        }
    }
    let gauges: [GaugeDef; 4] = [
        (
            "otlp_spool_buffer_bytes",
            "Memory held by the requests in the buffer, in bytes.",
            |g| g.buffer_bytes,
        ),
        (
            "otlp_spool_lane_writing_bytes",
            "Memory held by requests drained from the buffer and not yet written, in bytes.",
            |g| g.writing_bytes,
        ),
        (
            "otlp_spool_buffer_requests",
            "Requests held in the buffer.",
            |g| g.buffer_requests,
        ),
        (
            "otlp_spool_buffer_capacity_bytes",
            "The buffer's byte bound.",
            |g| g.buffer_capacity_bytes,
        ),
    ];
    for (name, help, get) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (signal, _, g) in lanes {
            let _ = writeln!(out, "{name}{{signal=\"{signal}\"}} {}", get(g));
        }
    }
}
