//! Self-metrics of the pipeline: lock-free counters per signal, rendered as Prometheus text.
//!
//! Invariant (what makes "never a silent drop" checkable): for every signal,
//! `accepted_items = written_items + dropped_items (all reasons) + items still buffered or in
//! flight`.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use otlp_spool_core::Signal;

use super::health::Progress;

/// Why acknowledged items were given up (the `reason` label of
/// `otlp_spool_dropped_items_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Evicted from a full lane by `buffer.policy: drop_oldest` (configured loss).
    Evicted,
    /// The conversion to Arrow failed with an error.
    Conversion,
    /// The conversion or the write panicked (a bug); the chunk was dropped and the lane went
    /// on with the next one.
    Panic,
    /// The write was still failing when the shutdown deadline passed.
    WriteFailedAtShutdown,
}

impl DropReason {
    /// Every reason, in the order `/metrics` shows them.
    pub const ALL: [DropReason; 4] = [
        DropReason::Evicted,
        DropReason::Conversion,
        DropReason::Panic,
        DropReason::WriteFailedAtShutdown,
    ];

    /// The label value: `evicted`, `conversion`, `panic` or `write_failed_at_shutdown`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::Evicted => "evicted",
            DropReason::Conversion => "conversion",
            DropReason::Panic => "panic",
            DropReason::WriteFailedAtShutdown => "write_failed_at_shutdown",
        }
    }

    /// Whether this loss was asked for by configuration (`drop_oldest`) rather than a failure.
    pub const fn is_configured(self) -> bool {
        matches!(self, DropReason::Evicted)
    }
}

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
    /// Items evicted by `drop_oldest` (counted by the evicted items themselves, see
    /// `buffered.rs`, hence shared).
    pub(crate) evicted_items: Arc<AtomicU64>,
    /// Accepted items the flusher gave up, by reason (all but `Evicted`).
    dropped_items: [AtomicU64; 3],
}

impl LaneMetrics {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_dropped(&self, reason: DropReason, n: u64) {
        match reason {
            DropReason::Evicted => Self::add(&self.evicted_items, n),
            DropReason::Conversion => Self::add(&self.dropped_items[0], n),
            DropReason::Panic => Self::add(&self.dropped_items[1], n),
            DropReason::WriteFailedAtShutdown => Self::add(&self.dropped_items[2], n),
        }
    }

    pub(crate) fn dropped(&self, reason: DropReason) -> u64 {
        let counter = match reason {
            DropReason::Evicted => &*self.evicted_items,
            DropReason::Conversion => &self.dropped_items[0],
            DropReason::Panic => &self.dropped_items[1],
            DropReason::WriteFailedAtShutdown => &self.dropped_items[2],
        };
        counter.load(Ordering::Relaxed)
    }

    /// Dropped items, every reason.
    pub(crate) fn dropped_total(&self) -> u64 {
        DropReason::ALL.iter().map(|&r| self.dropped(r)).sum()
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
    let counters: [CounterDef; 9] = [
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
    let _ = writeln!(
        out,
        "# HELP otlp_spool_dropped_items_total Acknowledged items given up, by reason.\n# TYPE otlp_spool_dropped_items_total counter"
    );
    for (signal, metrics, _) in lanes {
        for reason in DropReason::ALL {
            let _ = writeln!(
                out,
                "otlp_spool_dropped_items_total{{signal=\"{signal}\",reason=\"{}\"}} {}",
                reason.as_str(),
                metrics.dropped(reason)
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

/// Renders the progress of every worker: healthy (1/0), failures in a row, panics caught.
pub(crate) fn render_workers<'a>(
    out: &mut String,
    workers: impl Iterator<Item = &'a Progress> + Clone,
) {
    type WorkerDef = (
        &'static str,
        &'static str,
        &'static str,
        fn(&Progress) -> u64,
    );
    let defs: [WorkerDef; 3] = [
        (
            "otlp_spool_worker_healthy",
            "gauge",
            "1 while the worker makes progress, 0 while it cannot (see /health).",
            |p| u64::from(p.problem().is_none()),
        ),
        (
            "otlp_spool_worker_consecutive_failures",
            "gauge",
            "Attempts of the worker that failed or panicked in a row.",
            |p| u64::from(p.consecutive_failures()),
        ),
        (
            "otlp_spool_worker_panics_total",
            "counter",
            "Panics caught in the worker (its batch dropped, the worker carried on).",
            Progress::panics,
        ),
    ];
    for (name, kind, help, get) in defs {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for p in workers.clone() {
            let _ = writeln!(out, "{name}{{worker=\"{}\"}} {}", p.name(), get(p));
        }
    }
}
