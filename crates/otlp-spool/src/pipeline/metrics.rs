//! Self-metrics of the pipeline: lock-free counters per signal, and the collector that reads
//! them (with the lanes' gauges and the workers' progress) at every scrape.
//!
//! Invariant (what makes "never a silent drop" checkable): for every signal,
//! `accepted_items = written_items + dropped_items (all reasons) + items still buffered or in
//! flight`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use otlp_spool_core::metrics::{self, Collector, DescriptorEncoder};

use super::Pipeline;
use super::health::Progress;
use super::lane::Lane;

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
    /// Requests whose write-ahead-log write or fsync failed (`wal` mode; a full disk).
    pub(crate) rejected_storage: AtomicU64,
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

/// The pipeline's self-metrics as a collector: every scrape reads the lanes' counters and
/// gauges and the workers' progress (register it with [`Pipeline::metrics_collector`]).
#[derive(Debug)]
pub(crate) struct PipelineCollector(pub(crate) Arc<Pipeline>);

/// A per-lane metric: its name, help text and how to read it.
type LaneDef = (&'static str, &'static str, fn(&Lane) -> u64);
/// A `reason` label value and the counter it reads.
type ReasonDef = (&'static str, fn(&LaneMetrics) -> &AtomicU64);

const LANE_COUNTERS: [LaneDef; 7] = [
    (
        "otlp_spool_received_requests_total",
        "Requests offered to the pipeline.",
        |l| load(&l.metrics.received_requests),
    ),
    (
        "otlp_spool_accepted_requests_total",
        "Requests acknowledged (held by the pipeline).",
        |l| load(&l.metrics.accepted_requests),
    ),
    (
        "otlp_spool_accepted_items_total",
        "Spans, data points or log records acknowledged.",
        |l| load(&l.metrics.accepted_items),
    ),
    (
        "otlp_spool_written_items_total",
        "Rows written to files.",
        |l| load(&l.metrics.written_items),
    ),
    (
        "otlp_spool_written_bytes_total",
        "Bytes written to files.",
        |l| load(&l.metrics.written_bytes),
    ),
    (
        "otlp_spool_write_errors_total",
        "Failed write attempts (retried, data kept).",
        |l| load(&l.metrics.write_errors),
    ),
    (
        "otlp_spool_files_finalized_total",
        "Files finalized.",
        Lane::files_finalized,
    ),
];

const LANE_GAUGES: [LaneDef; 4] = [
    (
        "otlp_spool_buffer_bytes",
        "Memory held by the requests in the buffer, in bytes.",
        |l| l.buffer.bytes(),
    ),
    (
        "otlp_spool_lane_writing_bytes",
        "Memory held by requests drained from the buffer and not yet written, in bytes.",
        Lane::writing_bytes,
    ),
    (
        "otlp_spool_buffer_requests",
        "Requests held in the buffer.",
        |l| l.buffer.len() as u64,
    ),
    (
        "otlp_spool_buffer_capacity_bytes",
        "The buffer's byte bound.",
        |l| l.capacity,
    ),
];

/// The `reason` label of `otlp_spool_rejected_requests_total`, and where to read it.
const REJECTIONS: [ReasonDef; 4] = [
    ("full", |m| &m.rejected_full),
    ("closed", |m| &m.rejected_closed),
    ("too_large", |m| &m.rejected_too_large),
    ("storage", |m| &m.rejected_storage),
];

fn load(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl Collector for PipelineCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let lanes = &self.0.lanes;
        per_lane(&mut encoder, lanes, &LANE_COUNTERS, metrics::counter)?;
        let mut rejected = metrics::counter(
            &mut encoder,
            "otlp_spool_rejected_requests_total",
            "Requests refused, by reason (full: backpressure).",
        )?;
        for (reason, get) in REJECTIONS {
            for lane in lanes {
                let labels = [("signal", lane.signal.as_str()), ("reason", reason)];
                rejected.sample(labels, load(get(&lane.metrics)))?;
            }
        }
        let mut dropped = metrics::counter(
            &mut encoder,
            "otlp_spool_dropped_items_total",
            "Acknowledged items given up, by reason.",
        )?;
        for lane in lanes {
            for reason in DropReason::ALL {
                let labels = [
                    ("signal", lane.signal.as_str()),
                    ("reason", reason.as_str()),
                ];
                dropped.sample(labels, lane.metrics.dropped(reason))?;
            }
        }
        per_lane(&mut encoder, lanes, &LANE_GAUGES, metrics::gauge)?;
        if let Some(wal) = self.0.wal() {
            encode_wal(&mut encoder, &wal.stats())?;
        }
        encode_workers(&mut encoder, self.0.progress())
    }
}

/// Starts a family (`metrics::counter` or `metrics::gauge`).
type Start = for<'a, 'e> fn(
    &'a mut DescriptorEncoder<'e>,
    &'a str,
    &str,
) -> Result<metrics::Family<'a>, fmt::Error>;

/// One family per definition, one sample per lane labelled with its signal.
fn per_lane(
    encoder: &mut DescriptorEncoder<'_>,
    lanes: &[Arc<Lane>],
    defs: &[LaneDef],
    start: Start,
) -> fmt::Result {
    for (name, help, get) in defs {
        let mut family = start(encoder, name, help)?;
        for lane in lanes {
            family.sample([("signal", lane.signal.as_str())], get(lane))?;
        }
    }
    Ok(())
}

/// The write-ahead log (`wal` mode): its fill, its fsyncs (group commit: `data_syncs` far
/// below `appended_records` under concurrency) and its refusals.
fn encode_wal(encoder: &mut DescriptorEncoder<'_>, s: &otlp_spool_wal::WalStats) -> fmt::Result {
    let gauges: [(&str, &str, u64); 4] = [
        (
            "otlp_spool_wal_used_bytes",
            "Bytes of the write-ahead log in use (segments and records waiting for their sync).",
            s.used_bytes,
        ),
        (
            "otlp_spool_wal_max_bytes",
            "The write-ahead log's bound (wal.max_bytes).",
            s.max_bytes,
        ),
        (
            "otlp_spool_wal_segments",
            "Segment files retained.",
            s.segments as u64,
        ),
        (
            "otlp_spool_wal_spare_segments",
            "Consumed segment files kept on disk for reuse as new segments (at most 2).",
            s.spare_segments as u64,
        ),
    ];
    for (name, help, value) in gauges {
        metrics::gauge(encoder, name, help)?.value(value)?;
    }
    let counters: [(&str, &str, u64); 8] = [
        (
            "otlp_spool_wal_appended_records_total",
            "Requests appended to the log.",
            s.appended_records,
        ),
        (
            "otlp_spool_wal_appended_bytes_total",
            "Their bytes.",
            s.appended_bytes,
        ),
        (
            "otlp_spool_wal_data_syncs_total",
            "fdatasync calls on segments (one per commit group).",
            s.data_syncs,
        ),
        (
            "otlp_spool_wal_meta_syncs_total",
            "fsync calls on new files and directories.",
            s.meta_syncs,
        ),
        (
            "otlp_spool_wal_commit_groups_total",
            "Groups of records written together.",
            s.commit_groups,
        ),
        (
            "otlp_spool_wal_failed_records_total",
            "Records whose write or sync failed (the client got 503 / UNAVAILABLE).",
            s.failed_records,
        ),
        (
            "otlp_spool_wal_deleted_segments_total",
            "Segments removed from the log once every cursor was past them (deleted or kept as spares).",
            s.deleted_segments,
        ),
        (
            "otlp_spool_wal_recycled_segments_total",
            "Of those, the ones kept as spare files and reused as new segments.",
            s.recycled_segments,
        ),
    ];
    for (name, help, value) in counters {
        metrics::counter(encoder, name, help)?.value(value)?;
    }
    let mut refused = metrics::counter(
        encoder,
        "otlp_spool_wal_refused_total",
        "Appends refused at once, by reason (full: the log is at wal.max_bytes).",
    )?;
    refused.sample([("reason", "full")], s.refused_full)?;
    refused.sample([("reason", "too_large")], s.refused_too_large)?;
    Ok(())
}

/// The progress of every worker: healthy (1/0), failures in a row, panics caught.
fn encode_workers<'a>(
    encoder: &mut DescriptorEncoder<'_>,
    workers: impl Iterator<Item = &'a Progress> + Clone,
) -> fmt::Result {
    type WorkerDef = (&'static str, &'static str, bool, fn(&Progress) -> u64);
    let defs: [WorkerDef; 3] = [
        (
            "otlp_spool_worker_healthy",
            "1 while the worker makes progress, 0 while it cannot (see /health).",
            false,
            |p| u64::from(p.problem().is_none()),
        ),
        (
            "otlp_spool_worker_consecutive_failures",
            "Attempts of the worker that failed or panicked in a row.",
            false,
            |p| u64::from(p.consecutive_failures()),
        ),
        (
            "otlp_spool_worker_panics_total",
            "Panics caught in the worker (its batch dropped, the worker carried on).",
            true,
            Progress::panics,
        ),
    ];
    for (name, help, is_counter, get) in defs {
        let mut family = if is_counter {
            metrics::counter(encoder, name, help)?
        } else {
            metrics::gauge(encoder, name, help)?
        };
        for p in workers.clone() {
            family.sample([("worker", p.name())], get(p))?;
        }
    }
    Ok(())
}
