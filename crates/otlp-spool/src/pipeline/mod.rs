//! The Pipeline: receivers and SDK exporters hand it telemetry (it is a [`Sink`]); one
//! `BatchBuffer` lane per signal holds it; one flusher thread per lane writes it to the
//! storage writers; the forwarder, when configured, gets its own copy.
//!
//! In `durability: wal` mode the lanes' buffers stay empty: `accept`/`submit` append the
//! request's bytes to the write-ahead log and acknowledge once its ticket completes (after
//! the group commit's fsync), and each flusher reads its signal's records from its log
//! cursor and finalizes files exactly once (`lane/wal.rs`).
//!
//! Invariants:
//! - `accept` returns `Ok` only once the request is in its lane's buffer (`wal`: in the
//!   synced log): that is the
//!   acknowledgement the receiver passes on. It never blocks: a full lane answers `Full` with a
//!   retry hint at once (or, with `drop_oldest`, makes room and counts what it dropped).
//! - Local storage never waits on the forwarder: the forwarder's copy goes into its own bounded
//!   queue, and a refusal there is counted by the forwarder, not passed back to the client.
//! - After `shutdown` returns within its deadline, every lane is closed and drained, every
//!   file is finalized, and every accepted item is either in a file or counted in
//!   `dropped_items{reason}`. A shutdown that reaches its deadline first stops waiting: what the
//!   lanes still hold is reported as abandoned ([`Pipeline::abandoned_items`]).
//! - A lane's worker never dies of a panic (see `lane.rs`); `health_problems` names the
//!   workers that cannot make progress (see `health.rs`).

mod buffered;
mod error;
mod fault;
mod health;
mod item;
mod lane;
mod metrics;

pub use error::{FlushError, LaneFlushError, StartError};
#[doc(hidden)]
pub use fault::Fault;
pub use metrics::DropReason;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use otlp_spool_buffer::{BatchBuffer, Policy, PushError, Weighted as _};
use otlp_spool_core::metrics::{Collector, Registry};
use otlp_spool_core::{Ack, Refusal, Signal, Sink, SinkError, Telemetry};
use otlp_spool_storage::{BatchLimits, FileStore, Finalization, RetentionGuard, StoreOptions};
use otlp_spool_wal::{AppendError, Ticket, TicketError, Wal};
use parking_lot::Mutex;

use crate::config::{
    BufferPolicy, Config, Durability, FileCompression, FileFormat, FsyncPolicy, WAL_DIR,
};
use buffered::Buffered;
use item::Item;
use lane::Lane;
use metrics::{LaneMetrics, PipelineCollector};

/// The running pipeline. Cheap to share behind an `Arc`; see the module docs.
pub struct Pipeline {
    lanes: [Arc<Lane>; 3],
    store: FileStore,
    threads: Mutex<Vec<JoinHandle<()>>>,
    closing: AtomicBool,
    forward: Option<Arc<dyn Sink>>,
    /// Items each lane still held when a shutdown's deadline passed (fate unknown: a stuck
    /// writer may still write them).
    abandoned: [AtomicU64; 3],
    /// `durability: wal`: the log every request is acknowledged from (`None` in memory mode).
    wal: Option<Wal>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("output_dir", &self.store.dir())
            .field("closing", &self.closing.load(Ordering::Relaxed))
            .field("forwarding", &self.forward.is_some())
            .field("wal", &self.wal.is_some())
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Opens the output directory (lock, crash recovery) and starts one flusher per signal.
    pub fn start(
        config: &Config,
        forward: Option<Arc<dyn Sink>>,
        retention_guard: Option<Arc<dyn RetentionGuard>>,
    ) -> Result<Arc<Self>, StartError> {
        let store = FileStore::open(store_options(config, retention_guard)?)
            .map_err(StartError::Storage)?;
        let recovery = store.recovery_report();
        if !recovery.is_clean() {
            tracing::warn!(?recovery, "recovered leftovers of an earlier run");
        }
        let (wal, mut feeds) = match config.durability {
            Durability::Wal => {
                let (wal, feeds) = open_wal(config, &store)?;
                (Some(wal), feeds.map(Some))
            }
            Durability::Memory => {
                let dir = config.output_dir.join(WAL_DIR);
                if dir.is_dir() {
                    tracing::warn!(dir = %dir.display(),
                        "a write-ahead log is here but durability is memory: records it holds that are not in files yet stay there until a start with durability: wal");
                }
                (None, [None, None, None])
            }
        };
        let b = &config.buffer;
        let mut lane = |signal: Signal| -> Result<Arc<Lane>, StartError> {
            let buffer = BatchBuffer::builder()
                .max_bytes(b.max_bytes.0)
                .max_batch_items(b.max_batch_items as u64)
                .max_batch_bytes(b.max_batch_bytes.0)
                .max_batch_age(b.max_batch_age.0)
                // The flusher's drained batch stays under the lane's bound until converted.
                .lease_drained(true)
                .policy(match b.policy {
                    BufferPolicy::Reject => Policy::Reject,
                    BufferPolicy::DropOldest => Policy::DropOldest,
                })
                .build()
                .map_err(|e| StartError::Config {
                    key: "buffer",
                    problem: e.to_string(),
                })?;
            Ok(Arc::new(Lane::new(
                signal,
                buffer,
                b.max_bytes.0,
                store.writer(signal),
                b.retry_after.0,
                batch_limits(b)?,
                feeds[signal_index(signal)].take(),
            )))
        };
        let lanes = [
            lane(Signal::Traces)?,
            lane(Signal::Metrics)?,
            lane(Signal::Logs)?,
        ];
        let pipeline = Arc::new(Self {
            lanes,
            store,
            threads: Mutex::new(Vec::new()),
            closing: AtomicBool::new(false),
            forward,
            abandoned: Default::default(),
            wal,
        });
        for lane in &pipeline.lanes {
            let handle = lane.spawn()?;
            pipeline.threads.lock().push(handle);
        }
        Ok(pipeline)
    }

    fn lane(&self, signal: Signal) -> &Arc<Lane> {
        &self.lanes[signal_index(signal)]
    }

    /// The write-ahead log, in `durability: wal` mode.
    pub fn wal(&self) -> Option<&Wal> {
        self.wal.as_ref()
    }

    /// The output directory.
    pub fn output_dir(&self) -> &std::path::Path {
        self.store.dir()
    }

    /// Writes and finalizes everything accepted so far, in every lane; waits up to `timeout`.
    pub fn flush(&self, timeout: Duration) -> Result<(), FlushError> {
        // After shutdown the flushers are gone: answer at once instead of waiting out `timeout`.
        if self.closing.load(Ordering::SeqCst) {
            return Err(FlushError::ShutDown);
        }
        let deadline = Instant::now() + timeout;
        let mut errors = Vec::new();
        for lane in &self.lanes {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Err(e) = lane.flush(left) {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(FlushError::Lanes(errors))
        }
    }

    /// Stops accepting, drains every lane (retrying failing writes until `timeout`), waits for
    /// the flushers and finalizes every file. Bounded: past `timeout` it stops waiting for a
    /// flusher that is still busy (a hung disk), records what that lane still holds in
    /// [`abandoned_items`](Self::abandoned_items), leaves its files to crash recovery and
    /// returns an error. Idempotent.
    pub fn shutdown(&self, timeout: Duration) -> Result<(), FlushError> {
        self.closing.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + timeout;
        if let Some(wal) = &self.wal {
            // Appends stop; every ticket handed out completes; the lanes read the rest.
            if let Err(e) = wal.close() {
                tracing::error!(error = %e, "closing the write-ahead log");
            }
        }
        for lane in &self.lanes {
            lane.close(deadline);
        }
        let threads: Vec<_> = std::mem::take(&mut *self.threads.lock());
        let mut stuck = Vec::new();
        for t in threads {
            // The write deadline is `deadline`; give the last write a moment to report.
            while !t.is_finished() && Instant::now() < deadline + Duration::from_millis(500) {
                std::thread::sleep(Duration::from_millis(5));
            }
            if t.is_finished() {
                let _ = t.join();
            } else {
                stuck.push(t);
            }
        }
        let dropped: u64 = self.lanes.iter().map(|l| l.metrics.dropped_total()).sum();
        if !stuck.is_empty() {
            let mut lanes = Vec::new();
            for (i, lane) in self.lanes.iter().enumerate() {
                if !lane.buffer.is_empty() || lane.writing_bytes() > 0 {
                    self.abandoned[i].store(self.held_items(lane.signal), Ordering::SeqCst);
                    lanes.push(lane.signal);
                }
            }
            tracing::error!(
                dropped_items = dropped,
                ?lanes,
                "pipeline shutdown timed out: writers still busy, their data abandoned"
            );
            // The stuck threads keep running detached; their files are recovered at next start.
            self.threads.lock().extend(stuck);
            return Err(FlushError::WritersBusy { timeout, lanes });
        }
        let closed = self.store.close().map_err(FlushError::Finalize);
        tracing::info!(dropped_items = dropped, "pipeline stopped");
        closed.map(|_| ())
    }

    /// Acknowledged items of `signal` given up for `reason`, since start.
    pub fn dropped_items(&self, signal: Signal, reason: DropReason) -> u64 {
        self.lane(signal).metrics.dropped(reason)
    }

    /// Acknowledged items of `signal` neither written nor dropped (yet): buffered or being
    /// written.
    pub fn held_items(&self, signal: Signal) -> u64 {
        let m = &self.lane(signal).metrics;
        let accepted = m.accepted_items.load(Ordering::SeqCst);
        let settled = m.written_items.load(Ordering::SeqCst) + m.dropped_total();
        accepted.saturating_sub(settled)
    }

    /// Items of `signal` a shutdown left behind when its deadline passed (0 after a shutdown
    /// that finished in time).
    pub fn abandoned_items(&self, signal: Signal) -> u64 {
        let i = self
            .lanes
            .iter()
            .position(|l| l.signal == signal)
            .unwrap_or(0);
        self.abandoned[i].load(Ordering::SeqCst)
    }

    /// The workers that cannot make progress right now, each named with its problem (empty
    /// when all are healthy). See `health.rs` for the definition.
    pub fn health_problems(&self) -> Vec<String> {
        self.progress().filter_map(|p| p.problem()).collect()
    }

    fn progress(&self) -> impl Iterator<Item = &health::Progress> + Clone {
        self.lanes
            .iter()
            .flat_map(|l| [&l.writer_progress, &l.housekeeping_progress])
    }

    /// Arms a fault in `signal`'s lane for its next `times` occasions. For tests of failure
    /// containment only.
    #[doc(hidden)]
    pub fn inject_fault(&self, signal: Signal, fault: Fault, times: u32) {
        self.lane(signal).faults.arm(fault, times);
    }

    /// False while shutting down or while any lane is full: it has no room for one more
    /// request like its latest one (or for 5% of its bound); in `wal` mode, while the log is
    /// more than 90% full.
    pub fn is_ready(&self) -> bool {
        if self.closing.load(Ordering::SeqCst) {
            return false;
        }
        match &self.wal {
            // In `wal` mode the log is the buffer: not ready past 90% of its bound.
            Some(wal) => {
                let stats = wal.stats();
                stats.used_bytes.saturating_mul(10) <= stats.max_bytes.saturating_mul(9)
            }
            None => self.lanes.iter().all(|l| l.has_room()),
        }
    }

    /// The pipeline's self-metrics (per-lane counters and gauges, workers' progress), read at
    /// every scrape: register it in the service's one registry.
    pub fn metrics_collector(self: &Arc<Self>) -> Box<dyn Collector> {
        Box::new(PipelineCollector(Arc::clone(self)))
    }

    /// Appends the pipeline's self-metrics, alone, in the Prometheus text format.
    pub fn render_metrics(self: &Arc<Self>, out: &mut String) {
        let mut registry = Registry::default();
        registry.register_collector(self.metrics_collector());
        out.push_str(&otlp_spool_core::metrics::render(&registry));
    }

    /// What a lane holds that is not in any file yet: (requests buffered, bytes held in memory,
    /// buffered and being written). A read-only look at counters; the viewer shows it beside
    /// the files it reads.
    pub fn buffered(&self, signal: Signal) -> (u64, u64) {
        let lane = self.lane(signal);
        (lane.buffer.len() as u64, lane.held_bytes())
    }

    /// A read-only snapshot of the requests buffered in `signal`'s lane (not yet drained by
    /// its flusher), up to `max_bytes` of request bytes: clones of their `Telemetry` (shared
    /// bytes, a reference count each), taken under each buffer shard's lock and nothing else,
    /// so producers wait for a few instructions per request at most. Requests the flusher
    /// has drained but not written yet are not in it.
    pub fn peek(&self, signal: Signal, max_bytes: u64) -> Vec<Telemetry> {
        let mut out = Vec::new();
        let mut bytes = 0u64;
        self.lane(signal).buffer.peek(|b| {
            if let Some(item) = b.item() {
                let len = item.telemetry.bytes().len() as u64;
                if bytes + len > max_bytes {
                    return false;
                }
                bytes += len;
                out.push(item.telemetry.clone());
            }
            true
        });
        out
    }

    /// Pauses (or resumes) the flushers, as a stalled disk would. For tests of backpressure.
    #[doc(hidden)]
    pub fn pause_writers(&self, paused: bool) {
        for lane in &self.lanes {
            lane.set_paused(paused);
        }
    }
}

impl Sink for Pipeline {
    /// In `wal` mode this waits for the log's fsync (one group commit, typically well under
    /// 10 ms): the SDK exporters' acknowledgement is durable too.
    fn accept(&self, telemetry: Telemetry) -> Result<(), Refusal> {
        if let Some(wal) = &self.wal {
            let logged = self.log(wal, telemetry)?;
            let result = logged.ticket.wait();
            return logged.settle.settle(result);
        }
        self.accept_memory(telemetry)
    }

    fn submit(&self, telemetry: Telemetry) -> Result<Ack, Refusal> {
        let Some(wal) = &self.wal else {
            return self.accept_memory(telemetry).map(|()| Ack::Now);
        };
        let logged = self.log(wal, telemetry)?;
        Ok(Ack::pending(Acknowledging(Some(logged))))
    }

    fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        Pipeline::flush(self, timeout).map_err(|_| SinkError::Closed)
    }
}

/// A request appended to the log, its acknowledgement still to come.
struct Logged {
    ticket: Ticket,
    settle: Settle,
}

/// The acknowledgement of a logged request as a future. The log writes the record whether or
/// not anyone waits, so its outcome is settled (counted, the forwarder fed) even when the
/// future is dropped first (a client that disconnects before the fsync): the rest of the wait
/// goes to the runtime, or to a thread outside one.
struct Acknowledging(Option<Logged>);

impl std::future::Future for Acknowledging {
    type Output = Result<(), SinkError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let Some(logged) = self.0.as_mut() else {
            return std::task::Poll::Ready(Err(SinkError::Closed));
        };
        let result = std::task::ready!(std::pin::Pin::new(&mut logged.ticket).poll(cx));
        let logged = self.0.take().expect("still pending");
        // An acknowledgement's error is the reason alone (`Ack`'s contract).
        std::task::Poll::Ready(logged.settle.settle(result).map_err(Refusal::into_error))
    }
}

impl Drop for Acknowledging {
    fn drop(&mut self) {
        let Some(Logged { ticket, settle }) = self.0.take() else {
            return;
        };
        if let Some(result) = ticket.try_result() {
            let _ = settle.settle(result);
        } else if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = settle.settle(ticket.await);
            });
        } else {
            std::thread::spawn(move || {
                let _ = settle.settle(ticket.wait());
            });
        }
    }
}

/// What happens once a logged request's ticket completes. It keeps the request (shared
/// bytes, a reference count) until then: the forwarder's copy on success, the refusal's
/// hand-back on failure.
struct Settle {
    lane: Arc<Lane>,
    items: u64,
    telemetry: Telemetry,
    forward: Option<Arc<dyn Sink>>,
}

impl Settle {
    /// Counts the outcome; on success hands the forwarder its copy (forwarding is fed from
    /// the acknowledgement in `wal` mode too, see the crate README).
    fn settle(self, result: Result<u64, TicketError>) -> Result<(), Refusal> {
        let m = &self.lane.metrics;
        match result {
            Ok(_lsn) => {
                LaneMetrics::add(&m.accepted_requests, 1);
                LaneMetrics::add(&m.accepted_items, self.items);
                if let Some(forward) = self.forward {
                    let _ = forward.accept(self.telemetry);
                }
                Ok(())
            }
            Err(e) => {
                LaneMetrics::add(&m.rejected_storage, 1);
                tracing::warn!(signal = %self.lane.signal, error = %e,
                    "a request could not be logged; the client is told to retry");
                let error = SinkError::Unavailable {
                    reason: e.to_string(),
                    retry_after: self.lane.retry_after,
                };
                Err(Refusal::new(error, self.telemetry))
            }
        }
    }
}

impl Pipeline {
    /// Appends a request to the log (`wal` mode); refusals are answered at once.
    fn log(&self, wal: &Wal, telemetry: Telemetry) -> Result<Logged, Refusal> {
        let lane = self.lane(telemetry.signal());
        LaneMetrics::add(&lane.metrics.received_requests, 1);
        if self.closing.load(Ordering::SeqCst) {
            LaneMetrics::add(&lane.metrics.rejected_closed, 1);
            return Err(Refusal::new(SinkError::Closed, telemetry));
        }
        let error = match wal.append(telemetry.signal(), telemetry.bytes()) {
            Ok(ticket) => {
                return Ok(Logged {
                    ticket,
                    settle: Settle {
                        lane: Arc::clone(lane),
                        items: telemetry.item_count() as u64,
                        telemetry,
                        forward: self.forward.clone(),
                    },
                });
            }
            Err(AppendError::Full { .. }) => {
                LaneMetrics::add(&lane.metrics.rejected_full, 1);
                SinkError::Full {
                    retry_after: lane.retry_after,
                }
            }
            Err(AppendError::TooLarge { len, max }) => {
                LaneMetrics::add(&lane.metrics.rejected_too_large, 1);
                SinkError::TooLarge {
                    weight: len as u64,
                    capacity: max as u64,
                }
            }
            Err(_) => {
                LaneMetrics::add(&lane.metrics.rejected_closed, 1);
                SinkError::Closed
            }
        };
        Err(Refusal::new(error, telemetry))
    }

    fn accept_memory(&self, telemetry: Telemetry) -> Result<(), Refusal> {
        let lane = self.lane(telemetry.signal());
        LaneMetrics::add(&lane.metrics.received_requests, 1);
        // The forwarder's copy shares the request's bytes (a reference count, no copy); it is
        // handed over only once the lane has taken the request, and dropped otherwise.
        let forward_copy = self.forward.as_ref().map(|_| telemetry.clone());
        let item = Item::new(telemetry, lane.capacity);
        let items = item.items;
        let item = Buffered::new(item, lane.metrics.evicted_items.clone());
        lane.offered(item.weight() as u64);
        // One step: the buffer's reservation admits the request against everything the lane
        // holds, buffered and being converted (its lease).
        let refused = match lane.buffer.push(item) {
            Ok(()) => {
                LaneMetrics::add(&lane.metrics.accepted_requests, 1);
                LaneMetrics::add(&lane.metrics.accepted_items, items);
                if let (Some(forward), Some(copy)) = (&self.forward, forward_copy) {
                    // The forwarder counts its own refusals; local storage already holds the data.
                    let _ = forward.accept(copy);
                }
                return Ok(());
            }
            Err(refused) => refused,
        };
        let error = match &refused {
            PushError::Full(_) => {
                LaneMetrics::add(&lane.metrics.rejected_full, 1);
                SinkError::Full {
                    retry_after: lane.retry_after,
                }
            }
            PushError::Closed(_) => {
                LaneMetrics::add(&lane.metrics.rejected_closed, 1);
                SinkError::Closed
            }
            PushError::TooLarge {
                weight, max_bytes, ..
            } => {
                LaneMetrics::add(&lane.metrics.rejected_too_large, 1);
                SinkError::TooLarge {
                    weight: *weight as u64,
                    capacity: *max_bytes,
                }
            }
        };
        // A refused item comes back: it was never accepted, so it is no eviction; the
        // request goes back to the caller.
        let item = refused
            .into_inner()
            .into_item()
            .expect("a refused item is still armed");
        Err(Refusal::new(error, item.telemetry))
    }
}

fn signal_index(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
    }
}

/// Opens `<output_dir>/wal/` and resolves every signal's cursor against the files (the
/// start-up of `wal` mode, before any port is bound).
fn open_wal(config: &Config, store: &FileStore) -> Result<(Wal, [lane::WalFeed; 3]), StartError> {
    let opts = config
        .wal
        .to_options(&config.output_dir, config.receiver.max_body_size.0)
        .map_err(|e| StartError::Config {
            key: "wal",
            problem: e.to_string(),
        })?;
    let dir = opts.dir().to_path_buf();
    let fail = |problem: String| StartError::Wal {
        dir: dir.clone(),
        problem,
    };
    let first_start = !dir.exists();
    let wal = Wal::open(opts).map_err(|e| fail(e.to_string()))?;
    let report = wal.recovery_report();
    if report.is_clean() {
        tracing::info!(dir = %dir.display(), durable_lsn = wal.durable_lsn(), "write-ahead log opened");
    } else {
        tracing::warn!(dir = %dir.display(), ?report, "write-ahead log recovered damage left by the last run");
    }
    let b = &config.buffer;
    let s = &config.storage;
    let limits = (
        s.rotate_size.0,
        s.rotate_age.0,
        b.max_batch_items,
        usize::try_from(b.max_batch_bytes.0).unwrap_or(usize::MAX),
    );
    let feed = |signal| {
        lane::resolve(store, &wal, signal, first_start, limits).map_err(|p| fail(p.clone()))
    };
    let feeds = [
        feed(Signal::Traces)?,
        feed(Signal::Metrics)?,
        feed(Signal::Logs)?,
    ];
    Ok((wal, feeds))
}

/// Where the lanes' converters cut record batches: `buffer.max_batch_bytes` of Arrow memory
/// (at least 64 KiB) or 65,536 rows, whichever comes first.
fn batch_limits(b: &crate::config::BufferConfig) -> Result<BatchLimits, StartError> {
    let bytes = usize::try_from(b.max_batch_bytes.0)
        .unwrap_or(usize::MAX)
        .clamp(64 << 10, otlp_spool_storage::MAX_HARD_BATCH_BYTES / 4);
    BatchLimits::builder()
        .max_batch_bytes(bytes)
        .max_batch_rows(1 << 16)
        .hard_batch_bytes(otlp_spool_storage::MAX_HARD_BATCH_BYTES / 4)
        .build()
        .map_err(|e| StartError::Config {
            key: "buffer.max_batch_bytes",
            problem: e.to_string(),
        })
}

fn store_options(
    config: &Config,
    retention_guard: Option<Arc<dyn RetentionGuard>>,
) -> Result<StoreOptions, StartError> {
    let s = &config.storage;
    let mut builder = StoreOptions::builder(&config.output_dir);
    if let Some(guard) = retention_guard {
        builder = builder.retention_guard(guard);
    }
    builder
        .format(match s.format {
            FileFormat::Arrow => otlp_spool_storage::Format::Arrow,
            FileFormat::Parquet => otlp_spool_storage::Format::Parquet,
        })
        .compression(match s.compression {
            FileCompression::None => otlp_spool_storage::Compression::None,
            FileCompression::Zstd => otlp_spool_storage::Compression::Zstd,
            FileCompression::Lz4 => otlp_spool_storage::Compression::Lz4,
        })
        .fsync(match s.fsync {
            FsyncPolicy::None => otlp_spool_storage::FsyncPolicy::None,
            FsyncPolicy::OnRotate => otlp_spool_storage::FsyncPolicy::OnRotate,
            FsyncPolicy::EveryBatch => otlp_spool_storage::FsyncPolicy::EveryBatch,
        })
        .max_file_bytes(s.rotate_size.0)
        .max_file_age(Some(s.rotate_age.0))
        .retention_max_age(s.retention_age.map(|d| d.0))
        .retention_max_bytes(s.retention_size.map(|b| b.0))
        .finalization(match config.durability {
            Durability::Memory => Finalization::Store,
            Durability::Wal => Finalization::Caller,
        })
        .build()
        .map_err(|e| StartError::Config {
            key: "storage",
            problem: e.to_string(),
        })
}
