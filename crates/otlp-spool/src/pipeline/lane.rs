//! One signal's lane: a `BatchBuffer` of accepted requests and the flusher thread that turns
//! ready batches into Arrow record batches and hands them to the storage writer.
//!
//! Invariants:
//! - Nothing accepted is lost silently. A failed write gets its batch back and is retried with
//!   back-off (the buffer fills meanwhile and the receivers answer with backpressure); only at
//!   shutdown, once the drain deadline has passed, or when conversion itself fails, are items
//!   given up, and then they are counted in `dropped_items` and logged.
//! - The flusher never spins: it parks until the buffer's ready hook, a flush request, the age
//!   deadline of the oldest item, or the next housekeeping tick wakes it.
//! - A flush request is answered only after everything accepted before it is in a finalized
//!   file (drain all, write, rotate).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use otlp_spool_buffer::{Batch, BatchBuffer, Weighted as _};
use otlp_spool_core::{ExportRequest, Signal, Telemetry};
use otlp_spool_storage::SignalWriter;

use super::item::Item;
use super::metrics::LaneMetrics;

/// How often the flusher runs the writer's housekeeping (rotation by age, retention).
const TICK: Duration = Duration::from_secs(1);
/// Back-off bounds between attempts of a failing write.
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Flush bookkeeping: requests are numbered; `done` is the last number served.
#[derive(Debug, Default)]
struct FlushState {
    requested: u64,
    done: u64,
    /// The first failure seen while serving flushes since the last request, if any.
    error: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Lane {
    pub(crate) signal: Signal,
    pub(crate) buffer: BatchBuffer<Item>,
    /// The buffer's byte bound.
    pub(crate) capacity: u64,
    pub(crate) metrics: LaneMetrics,
    pub(crate) retry_after: Duration,
    /// A drained batch is converted and written in chunks of about this many bytes (by weight:
    /// the buffer's `max_batch_bytes`), so the merged request and its record batch stay
    /// batch-sized even when a slow write let the whole buffer accumulate.
    chunk_bytes: usize,
    writer: SignalWriter,
    flush: Mutex<FlushState>,
    flushed: Condvar,
    /// Set at shutdown: past this instant a failing write is given up (and counted).
    give_up_after: Mutex<Option<Instant>>,
    /// Test hook: while set, the flusher leaves the buffer alone (a stalled disk).
    paused: AtomicBool,
    thread: Mutex<Option<thread::Thread>>,
    written_files: AtomicU64,
    /// Bytes (by weight) drained from the buffer and not yet written: they still hold memory,
    /// so admission counts them against the lane's bound (see [`Lane::admits`]).
    writing: AtomicU64,
    /// Weight of the latest request offered to this lane (accepted or not): readiness asks
    /// whether one more like it would fit.
    last_weight: AtomicU64,
}

impl Lane {
    pub(crate) fn new(
        signal: Signal,
        buffer: BatchBuffer<Item>,
        capacity: u64,
        writer: SignalWriter,
        retry_after: Duration,
        chunk_bytes: usize,
    ) -> Self {
        Self {
            signal,
            buffer,
            capacity,
            metrics: LaneMetrics::default(),
            retry_after,
            chunk_bytes,
            writer,
            flush: Mutex::new(FlushState::default()),
            flushed: Condvar::new(),
            give_up_after: Mutex::new(None),
            paused: AtomicBool::new(false),
            thread: Mutex::new(None),
            written_files: AtomicU64::new(0),
            writing: AtomicU64::new(0),
            last_weight: AtomicU64::new(0),
        }
    }

    /// Starts the flusher thread.
    pub(crate) fn spawn(self: &Arc<Self>) -> std::io::Result<JoinHandle<()>> {
        let lane = Arc::clone(self);
        let handle = thread::Builder::new()
            .name(format!("otlp-spool-flush-{}", self.signal))
            .spawn(move || lane.run())?;
        *self.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle.thread().clone());
        let waker = handle.thread().clone();
        self.buffer.set_ready_hook(move || waker.unpark());
        Ok(handle)
    }

    fn wake(&self) {
        if let Some(t) = self
            .thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            t.unpark();
        }
    }

    /// Asks the flusher to write and finalize everything accepted so far; waits up to
    /// `timeout` for it.
    pub(crate) fn flush(&self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut state = self.flush.lock().unwrap_or_else(|e| e.into_inner());
        state.requested += 1;
        state.error = None;
        let ticket = state.requested;
        self.wake();
        while state.done < ticket {
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "{} flush did not finish within {timeout:?}",
                    self.signal
                ));
            }
            state = self
                .flushed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        match state.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Stops accepting; the flusher drains what is left, retrying failed writes until
    /// `deadline`, then exits.
    pub(crate) fn close(&self, deadline: Instant) {
        *self.give_up_after.lock().unwrap_or_else(|e| e.into_inner()) = Some(deadline);
        self.buffer.close();
        self.wake();
    }

    pub(crate) fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
        self.wake();
    }

    /// Bytes drained from the buffer that the flusher has not written yet.
    pub(crate) fn writing_bytes(&self) -> u64 {
        self.writing.load(Ordering::Relaxed)
    }

    /// Bytes the lane holds in memory: buffered plus drained-but-unwritten.
    pub(crate) fn held_bytes(&self) -> u64 {
        self.buffer.bytes() + self.writing_bytes()
    }

    /// Whether a request of `weight` fits beside what the flusher is still writing. The
    /// buffer's own bound covers the buffered part; this extends it to drained batches, so
    /// a slow write cannot let the lane hold twice its bound. (Checked before the push, so
    /// concurrent accepts may overshoot by at most one request each.)
    pub(crate) fn admits(&self, weight: u64) -> bool {
        self.last_weight.store(weight, Ordering::Relaxed);
        let writing = self.writing_bytes();
        writing == 0 || self.buffer.bytes() + writing + weight <= self.capacity
    }

    /// Whether one more request like the latest one (and at least 5% of the bound) fits.
    pub(crate) fn has_room(&self) -> bool {
        let next = self
            .last_weight
            .load(Ordering::Relaxed)
            .max(self.capacity / 20);
        self.held_bytes() + next <= self.capacity
    }

    /// Finalized files this lane produced.
    pub(crate) fn files_finalized(&self) -> u64 {
        self.written_files.load(Ordering::Relaxed)
    }

    fn run(&self) {
        let mut next_tick = Instant::now() + TICK;
        loop {
            let closed = self.buffer.is_closed();
            if self.paused.load(Ordering::SeqCst) && !closed {
                thread::park_timeout(Duration::from_millis(20));
                continue;
            }
            let pending_flush = {
                let s = self.flush.lock().unwrap_or_else(|e| e.into_inner());
                (s.requested > s.done).then_some(s.requested)
            };
            if pending_flush.is_some() || closed {
                let batch = self.buffer.drain_all();
                let mut outcome = self.write(batch);
                if let Some(ticket) = pending_flush {
                    if outcome.is_ok() {
                        outcome = self.rotate();
                    }
                    let mut s = self.flush.lock().unwrap_or_else(|e| e.into_inner());
                    s.done = ticket;
                    if let Err(e) = outcome {
                        s.error.get_or_insert(e);
                    }
                    self.flushed.notify_all();
                }
                if closed && self.buffer.is_empty() {
                    return;
                }
                continue;
            }
            if let Some(batch) = self.buffer.drain() {
                let _ = self.write(batch);
                continue;
            }
            let now = Instant::now();
            if now >= next_tick {
                self.tick();
                next_tick = now + TICK;
            }
            let wait = self
                .buffer
                .time_until_ready()
                .unwrap_or(TICK)
                .min(next_tick.saturating_duration_since(now));
            // Never spin: even a deadline that is already due waits a millisecond.
            thread::park_timeout(wait.max(Duration::from_millis(1)));
        }
    }

    fn tick(&self) {
        match self.writer.tick() {
            Ok(report) => self.count_finalized(&report.finalized),
            Err(e) => {
                tracing::warn!(signal = %self.signal, error = %e, "storage housekeeping failed")
            }
        }
    }

    fn rotate(&self) -> Result<(), String> {
        match self.writer.rotate() {
            Ok(path) => {
                self.count_finalized(path.as_slice());
                Ok(())
            }
            Err(e) => Err(format!("finalizing the {} file: {e}", self.signal)),
        }
    }

    fn count_finalized(&self, paths: &[PathBuf]) {
        for path in paths {
            self.written_files.fetch_add(1, Ordering::Relaxed);
            if let Ok(meta) = std::fs::metadata(path) {
                LaneMetrics::add(&self.metrics.written_bytes, meta.len());
            }
            tracing::debug!(signal = %self.signal, path = %path.display(), "file finalized");
        }
    }

    /// Converts a drained batch chunk by chunk and writes each, retrying failures. Items leave
    /// memory as soon as their chunk is written. Returns the first error, after trying every
    /// chunk.
    fn write(&self, batch: Batch<Item>) -> Result<(), String> {
        self.writing.fetch_add(batch.bytes(), Ordering::Relaxed);
        let mut first_error = None;
        let mut chunk = Vec::new();
        let (mut bytes, mut items) = (0usize, 0u64);
        for item in batch {
            bytes += item.weight();
            items += item.items;
            chunk.push(item);
            if bytes >= self.chunk_bytes {
                if let Err(e) = self.write_chunk(std::mem::take(&mut chunk), items) {
                    first_error.get_or_insert(e);
                }
                self.writing.fetch_sub(bytes as u64, Ordering::Relaxed);
                (bytes, items) = (0, 0);
            }
        }
        if !chunk.is_empty() {
            if let Err(e) = self.write_chunk(chunk, items) {
                first_error.get_or_insert(e);
            }
            self.writing.fetch_sub(bytes as u64, Ordering::Relaxed);
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Converts one chunk into one record batch and writes it, retrying failures.
    fn write_chunk(&self, chunk: Vec<Item>, items: u64) -> Result<(), String> {
        let record_batch = match merge_and_convert(self.signal, chunk) {
            Ok(rb) => rb,
            Err(e) => {
                LaneMetrics::add(&self.metrics.dropped_items, items);
                tracing::error!(signal = %self.signal, items, error = %e, "conversion failed; items dropped");
                return Err(e);
            }
        };
        let mut record_batch = record_batch;
        let mut backoff = MIN_BACKOFF;
        loop {
            match self.writer.write(record_batch) {
                Ok(receipt) => {
                    LaneMetrics::add(&self.metrics.written_items, receipt.rows as u64);
                    self.count_finalized(&receipt.finalized);
                    return Ok(());
                }
                Err(err) => {
                    LaneMetrics::add(&self.metrics.write_errors, 1);
                    let message = err.to_string();
                    record_batch = err.into_batch();
                    let give_up = *self.give_up_after.lock().unwrap_or_else(|e| e.into_inner());
                    if give_up.is_some_and(|d| Instant::now() >= d) {
                        LaneMetrics::add(&self.metrics.dropped_items, items);
                        tracing::error!(signal = %self.signal, items, error = %message,
                            "write still failing at the shutdown deadline; items dropped");
                        return Err(message);
                    }
                    tracing::warn!(signal = %self.signal, error = %message, retry_in = ?backoff,
                        "write failed; the batch is kept and retried");
                    thread::park_timeout(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

/// Converts one chunk of a lane's requests into one record batch: the seam where the
/// bytes -> Arrow converter of `otlp-spool-storage` plugs in.
///
/// The chunk's request bytes are concatenated into one merged request of the lane's signal
/// (requests of one signal concatenate into a valid request). **Stand-in**: the merged bytes
/// are decoded with prost and converted by the prost-based `*_to_arrow`; the streaming
/// converter will walk the bytes instead. An error means none of the chunk was written.
fn merge_and_convert(signal: Signal, chunk: Vec<Item>) -> Result<RecordBatch, String> {
    let merged =
        Telemetry::concat(chunk.iter().map(|item| &item.telemetry)).map_err(|e| e.to_string())?;
    drop(chunk);
    if merged.signal() != signal {
        return Err(format!(
            "a {} request in the {signal} lane",
            merged.signal()
        ));
    }
    let converted = match merged.decode().map_err(|e| e.to_string())? {
        ExportRequest::Traces(r) => otlp_spool_storage::traces_to_arrow(&r),
        ExportRequest::Metrics(r) => otlp_spool_storage::metrics_to_arrow(&r),
        ExportRequest::Logs(r) => otlp_spool_storage::logs_to_arrow(&r),
    };
    converted.map_err(|e| e.to_string())
}
