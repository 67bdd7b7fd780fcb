//! One signal's lane: a `BatchBuffer` of accepted requests and the flusher thread that turns
//! ready batches into Arrow record batches and hands them to the storage writer.
//!
//! Invariants:
//! - Nothing accepted is lost silently. A failed write keeps its batch and is retried with
//!   back-off (the buffer fills meanwhile and the receivers answer with backpressure); only at
//!   shutdown, once the drain deadline has passed, or when conversion itself fails, are items
//!   given up, and then they are counted in `dropped_items{reason}` and logged.
//! - Writing memory is bounded whatever the request shape: the lane's [`Converter`] walks each
//!   request's bytes straight into Arrow builders and hands out record batches bounded in
//!   bytes and rows (`buffer.max_batch_bytes`, 65,536 rows), each written as soon as it is
//!   full; a request leaves the lane's weight as soon as it is converted.
//! - The lane's bound covers what it buffers *and* what its flusher has drained but not yet
//!   converted, in one check: the buffer leases drained batches (`lease_drained`), so their
//!   bytes stay in the reservation a push must fit beside until the flusher releases each
//!   request's weight. No admission check runs before the push, so concurrent accepts cannot
//!   overshoot the bound (the buffer's loom models check the lease).
//! - A panic in a conversion or a write is caught: the rows it held are counted as dropped
//!   (`reason="panic"`), the converter starts afresh, and the flusher goes on. A panic in the
//!   housekeeping tick is caught too. Each outcome feeds the lane's [`Progress`] records, which
//!   `/health` reads (three failures in a row, or one attempt running past a minute, is
//!   unhealthy). A panic anywhere else in the flusher restarts its loop.
//! - The flusher never spins: it parks until the buffer's ready hook, a flush request, the age
//!   deadline of the oldest item, or the next housekeeping tick wakes it.
//! - A flush request is answered only after everything accepted before it is in a finalized
//!   file (drain all, write, rotate).

use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use otlp_spool_buffer::{Batch, BatchBuffer, Weighted as _};
use otlp_spool_core::Signal;
use otlp_spool_storage::{BatchLimits, Converter, SignalWriter, WriteReceipt};

mod wal;
pub(crate) use wal::{WalFeed, resolve};

use super::buffered::Buffered;
use super::error::LaneFlushError;
use super::fault::{Fault, Faults};
use super::health::{Progress, panic_message};
use super::item::Item;
use super::metrics::{DropReason, LaneMetrics};

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
    pub(crate) buffer: BatchBuffer<Buffered>,
    /// The buffer's byte bound.
    pub(crate) capacity: u64,
    pub(crate) metrics: LaneMetrics,
    pub(crate) retry_after: Duration,
    /// Where record batches are cut (`buffer.max_batch_bytes` of Arrow memory, 65,536 rows).
    limits: BatchLimits,
    /// Turns the drained requests' bytes into bounded record batches; only the flusher uses it.
    converter: Mutex<Converter>,
    writer: SignalWriter,
    flush: Mutex<FlushState>,
    flushed: Condvar,
    /// Set at shutdown: past this instant a failing write is given up (and counted).
    give_up_after: Mutex<Option<Instant>>,
    /// Test hook: while set, the flusher leaves the buffer alone (a stalled disk).
    paused: AtomicBool,
    thread: Mutex<Option<thread::Thread>>,
    written_files: AtomicU64,
    /// Weight of the latest request offered to this lane (accepted or not): readiness asks
    /// whether one more like it would fit.
    last_weight: AtomicU64,
    /// Progress of the conversions and writes, and of the housekeeping ticks (`/health`).
    pub(crate) writer_progress: Progress,
    pub(crate) housekeeping_progress: Progress,
    /// Test hook: faults armed by `Pipeline::inject_fault`.
    pub(crate) faults: Faults,
    /// `durability: wal`: the flusher reads the log instead of `buffer` (see `lane/wal.rs`).
    pub(crate) wal: Option<WalFeed>,
}

impl Lane {
    pub(crate) fn new(
        signal: Signal,
        buffer: BatchBuffer<Buffered>,
        capacity: u64,
        writer: SignalWriter,
        retry_after: Duration,
        limits: BatchLimits,
        wal: Option<WalFeed>,
    ) -> Self {
        if let Some(feed) = &wal {
            writer.set_finalize_hook(Some(feed.hook()));
        }
        Self {
            signal,
            buffer,
            capacity,
            metrics: LaneMetrics::default(),
            retry_after,
            limits,
            converter: Mutex::new(Converter::new(signal, limits)),
            writer,
            flush: Mutex::new(FlushState::default()),
            flushed: Condvar::new(),
            give_up_after: Mutex::new(None),
            paused: AtomicBool::new(false),
            thread: Mutex::new(None),
            written_files: AtomicU64::new(0),
            last_weight: AtomicU64::new(0),
            writer_progress: Progress::new(format!("{signal}_writer")),
            housekeeping_progress: Progress::new(format!("{signal}_housekeeping")),
            faults: Faults::default(),
            wal,
        }
    }

    /// Starts the flusher thread. Its loop is supervised: a panic that escapes it (every write
    /// and tick catches its own) is logged and the loop starts again.
    pub(crate) fn spawn(self: &Arc<Self>) -> std::io::Result<JoinHandle<()>> {
        let lane = Arc::clone(self);
        let handle = thread::Builder::new()
            .name(format!("otlp-spool-flush-{}", self.signal))
            .spawn(move || {
                let run = || match &lane.wal {
                    Some(feed) => lane.run_wal(feed),
                    None => lane.run(),
                };
                while let Err(payload) = panic::catch_unwind(AssertUnwindSafe(run)) {
                    let message = panic_message(payload.as_ref());
                    lane.writer_progress.panicked(&message);
                    tracing::error!(signal = %lane.signal, panic = %message,
                        "the flusher panicked outside a write; restarting its loop");
                    thread::sleep(MIN_BACKOFF);
                }
            })?;
        *self.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(handle.thread().clone());
        let waker = handle.thread().clone();
        self.buffer.set_ready_hook(move || waker.unpark());
        Ok(handle)
    }

    fn wake(&self) {
        if let Some(feed) = &self.wal {
            feed.wal.notify_readers();
        }
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
    pub(crate) fn flush(&self, timeout: Duration) -> Result<(), LaneFlushError> {
        let deadline = Instant::now() + timeout;
        let mut state = self.flush.lock().unwrap_or_else(|e| e.into_inner());
        state.requested += 1;
        state.error = None;
        let ticket = state.requested;
        self.wake();
        while state.done < ticket {
            let now = Instant::now();
            if now >= deadline {
                return Err(LaneFlushError::TimedOut {
                    signal: self.signal,
                    timeout,
                });
            }
            state = self
                .flushed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        match state.error.take() {
            Some(e) => Err(LaneFlushError::Write(e)),
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

    /// Bytes drained from the buffer that the flusher has not converted yet: its lease.
    pub(crate) fn writing_bytes(&self) -> u64 {
        self.buffer.leased_bytes()
    }

    /// Bytes the lane holds in memory: buffered plus drained-but-unwritten.
    pub(crate) fn held_bytes(&self) -> u64 {
        self.buffer.bytes() + self.writing_bytes()
    }

    /// Remembers the weight of a request offered to the lane (accepted or not), for
    /// [`has_room`](Self::has_room). Admission itself is the buffer's push: its bound covers
    /// the drained batch the flusher still holds (a lease), so a slow write cannot let the
    /// lane hold more than its bound.
    pub(crate) fn offered(&self, weight: u64) {
        self.last_weight.store(weight, Ordering::Relaxed);
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

    /// Age rotation and retention; a failure or a panic is logged, counted in the
    /// housekeeping progress and retried at the next tick.
    fn tick(&self) {
        let progress = &self.housekeeping_progress;
        progress.begin();
        let ticked = panic::catch_unwind(AssertUnwindSafe(|| {
            self.faults.maybe_panic(Fault::HousekeepingPanic);
            self.writer.tick()
        }));
        match ticked {
            Ok(Ok(report)) => {
                progress.succeeded();
                self.count_finalized(&report.finalized);
            }
            Ok(Err(e)) => {
                progress.failed(&e.to_string());
                tracing::warn!(signal = %self.signal, error = %e, "storage housekeeping failed");
            }
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                progress.panicked(&message);
                tracing::error!(signal = %self.signal, panic = %message,
                    "storage housekeeping panicked; it runs again at the next tick");
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

    /// Converts a drained batch request by request into bounded record batches, writing each
    /// as soon as it is full, retrying failed writes; the last, partial batch is written at the
    /// end. A request's weight leaves the batch's lease (so the lane's bound) once it is
    /// converted (its rows then live in the converter, bounded by the batch limits). Returns the
    /// first error, after trying everything.
    fn write(&self, mut batch: Batch<Buffered>) -> Result<(), String> {
        let mut lease = batch.take_lease();
        let mut first_error = None;
        let mut converter = self.converter.lock().unwrap_or_else(|e| e.into_inner());
        for item in batch.into_iter().filter_map(Buffered::into_item) {
            let weight = item.weight() as u64;
            self.convert(&mut converter, &item, &mut first_error);
            drop(item);
            lease.release(weight);
        }
        drop(lease);
        self.finish(&mut converter, &mut first_error);
        first_error.map_or(Ok(()), Err)
    }

    /// Converts one request, writing every record batch it fills. A conversion error drops
    /// what of the request was not handed out yet; a panic drops every row the converter held
    /// (this request's and the pending rows of earlier ones) and starts a fresh converter.
    fn convert(&self, converter: &mut Converter, item: &Item, first_error: &mut Option<String>) {
        self.writer_progress.begin();
        let pending = converter.pending_rows() as u64;
        let mut emitted = 0u64;
        let pushed = panic::catch_unwind(AssertUnwindSafe(|| {
            self.faults.maybe_panic(Fault::ConversionPanic);
            converter.push(item.telemetry.bytes(), |rb| {
                emitted += rb.num_rows() as u64;
                self.write_batch(rb, first_error);
            })
        }));
        match pushed {
            // The writes inside reported their own outcomes.
            Ok(Ok(_rows)) => self.writer_progress.settled(),
            Ok(Err(e)) => {
                let lost = item.items.saturating_sub(e.emitted as u64);
                let message = self.give_up(lost, DropReason::Conversion, e.to_string());
                first_error.get_or_insert(message);
            }
            Err(payload) => {
                let lost = (pending + item.items).saturating_sub(emitted);
                *converter = Converter::new(self.signal, self.limits);
                let message = self.give_up_panic(lost, "conversion", payload.as_ref());
                first_error.get_or_insert(message);
            }
        }
    }

    /// Writes the converter's pending rows as a last batch.
    fn finish(&self, converter: &mut Converter, first_error: &mut Option<String>) {
        let pending = converter.pending_rows() as u64;
        let mut batches = Vec::with_capacity(1);
        let finished =
            panic::catch_unwind(AssertUnwindSafe(|| converter.finish(|rb| batches.push(rb))));
        match finished {
            Ok(Ok(())) => {
                for rb in batches {
                    self.write_batch(rb, first_error);
                }
            }
            Ok(Err(e)) => {
                let message = self.give_up(pending, DropReason::Conversion, e.to_string());
                first_error.get_or_insert(message);
            }
            Err(payload) => {
                *converter = Converter::new(self.signal, self.limits);
                let message = self.give_up_panic(pending, "conversion", payload.as_ref());
                first_error.get_or_insert(message);
            }
        }
    }

    /// Writes one record batch, retrying failures with back-off until the shutdown deadline.
    /// A panic, or a write still failing at the deadline, drops its rows (counted).
    fn write_batch(&self, record_batch: RecordBatch, first_error: &mut Option<String>) {
        if let Err(e) = self.write_with_retries(record_batch) {
            first_error.get_or_insert(e);
        }
    }

    fn write_with_retries(&self, record_batch: RecordBatch) -> Result<(), String> {
        let progress = &self.writer_progress;
        let rows = record_batch.num_rows() as u64;
        let mut backoff = MIN_BACKOFF;
        loop {
            progress.begin();
            // A clone is a few reference counts; it keeps the batch for a retry whatever
            // happens inside the write.
            let attempt =
                panic::catch_unwind(AssertUnwindSafe(|| -> Result<WriteReceipt, String> {
                    self.faults.maybe_panic(Fault::WritePanic);
                    if self.faults.fire(Fault::WriteError) {
                        return Err("injected fault: WriteError".to_owned());
                    }
                    self.writer
                        .write(record_batch.clone())
                        .map_err(|e| e.to_string())
                }));
            match attempt {
                Ok(Ok(receipt)) => {
                    progress.succeeded();
                    LaneMetrics::add(&self.metrics.written_items, receipt.rows as u64);
                    self.count_finalized(&receipt.finalized);
                    return Ok(());
                }
                Ok(Err(message)) => {
                    LaneMetrics::add(&self.metrics.write_errors, 1);
                    progress.failed(&message);
                    let give_up = *self.give_up_after.lock().unwrap_or_else(|e| e.into_inner());
                    if give_up.is_some_and(|d| Instant::now() >= d) {
                        return Err(self.give_up(rows, DropReason::WriteFailedAtShutdown, message));
                    }
                    // Never sleep past the shutdown deadline: the last attempt is due then.
                    let wait = give_up.map_or(backoff, |d| {
                        backoff.min(d.saturating_duration_since(Instant::now()))
                    });
                    tracing::warn!(signal = %self.signal, error = %message, retry_in = ?wait,
                        "write failed; the batch is kept and retried");
                    thread::park_timeout(wait);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(payload) => return Err(self.give_up_panic(rows, "write", payload.as_ref())),
            }
        }
    }

    /// Counts `items` as dropped for `reason` and logs it; the error for the flush waiting on it.
    fn give_up(&self, items: u64, reason: DropReason, message: String) -> String {
        self.metrics.add_dropped(reason, items);
        if reason == DropReason::Conversion {
            self.writer_progress.failed(&message);
        }
        tracing::error!(signal = %self.signal, items, reason = reason.as_str(), error = %message,
            "items dropped");
        message
    }

    /// A caught panic of `step`: the `items` it held are dropped, the lane carries on.
    fn give_up_panic(
        &self,
        items: u64,
        step: &str,
        payload: &(dyn std::any::Any + Send),
    ) -> String {
        let message = panic_message(payload);
        self.writer_progress.panicked(&message);
        self.metrics.add_dropped(DropReason::Panic, items);
        tracing::error!(signal = %self.signal, items, step, panic = %message,
            "a chunk's {step} panicked: its items are dropped; the lane goes on with the next chunk");
        format!("{} {step} panicked: {message}", self.signal)
    }
}
