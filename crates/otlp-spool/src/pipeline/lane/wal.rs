//! The flusher of a lane in `durability: wal` mode: it reads the signal's records from its
//! write-ahead-log cursor `files-<signal>` instead of the lane's buffer, and finalizes files
//! with the exactly-once protocol of `crates/otlp-spool-wal/README.md`.
//!
//! Invariants:
//! - The cursor's durable position `P` means: every record of this signal with an LSN at most
//!   `P` is in a finalized file, or in the one file its payload names (`pending <name> <P>`).
//!   A file is finalized as: temp file complete and fsynced (storage), `commit(L, "pending F
//!   L")` (the finalize hook), `rename` + directory fsync (storage), `commit(L, "committed")`.
//! - A file holds whole records only: the converter is finished before every rotation, and
//!   `L` is the cursor's read position then (records of other signals passed over count).
//! - Nothing is written past a file whose finalization failed: the rotation is retried (hook
//!   first) until it succeeds, so the storage never holds two files the payload could name.
//! - A failed write loses nothing: the storage removes the temporary file, the cursor is
//!   rewound to `P` and every record after it is written again (after a back-off). At the
//!   shutdown deadline the lane stops trying; the records stay in the log for the next start.
//! - Conversion errors and caught panics drop and count rows exactly as in memory mode
//!   (`dropped_items{reason}`); the position moves past them with the next file.
//! - Start-up resolution ([`resolve`]) runs before the lane starts: a `pending F L` payload
//!   finishes `F` if only its temporary file exists, then every other temporary file of the
//!   signal is removed (their records are after `P` and are written again from the log).

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use otlp_spool_core::Signal;
use otlp_spool_storage::{
    Converter, FileStore, FinalizeHook, FinalizeInfo, PushError, TempOutcome,
};
use otlp_spool_wal::{Cursor, Record, Wal};
use parking_lot::Mutex;

use super::{Lane, MAX_BACKOFF, MIN_BACKOFF, TICK};
use crate::pipeline::health::panic_message;
use crate::pipeline::metrics::{DropReason, LaneMetrics};

/// The payload of a cursor whose position is all in finalized files.
const COMMITTED: &[u8] = b"committed";

/// A lane's link to the log.
#[derive(Debug)]
pub(crate) struct WalFeed {
    pub(crate) wal: Wal,
    /// `files-<signal>`; the finalize hook commits through it too.
    cursor: Arc<Mutex<Cursor>>,
    /// The read position sealed into the file being finalized (the hook's `L`).
    sealed: Arc<AtomicU64>,
    rotate_size: u64,
    rotate_age: Duration,
    max_records: usize,
    max_bytes: usize,
}

/// The cursor name of a signal's file writer.
fn cursor_name(signal: Signal) -> String {
    format!("files-{signal}")
}

/// Start-up resolution of `signal`'s cursor payload against the store (see the module docs),
/// then the feed for its lane. `first_start`: the log did not exist before, so leftover
/// temporary files are memory mode's and are published as memory mode would.
pub(crate) fn resolve(
    store: &FileStore,
    wal: &Wal,
    signal: Signal,
    first_start: bool,
    limits: (u64, Duration, usize, usize),
) -> Result<WalFeed, String> {
    let mut cursor = wal
        .cursor(&cursor_name(signal))
        .map_err(|e| format!("opening the write-ahead log cursor of {signal}: {e}"))?;
    cursor.set_filter(Some(signal));
    let payload = String::from_utf8_lossy(cursor.payload()).into_owned();
    let mut words = payload.split_whitespace();
    if words.next() == Some("pending") {
        let name = words.next().unwrap_or_default();
        let outcome = store
            .finish_temp(signal, name)
            .map_err(|e| format!("finishing {name}: {e}"))?;
        tracing::info!(%signal, file = name, ?outcome, position = cursor.position(),
            "write-ahead log: resolved the file pending at the last stop");
        if matches!(outcome, TempOutcome::Absent) {
            tracing::info!(%signal, file = name,
                "the pending file is gone (deleted by retention since it was published)");
        }
        let position = cursor.position();
        cursor
            .commit(position, COMMITTED)
            .map_err(|e| format!("committing the {signal} cursor: {e}"))?;
    } else if !payload.is_empty() && payload != "committed" {
        tracing::warn!(%signal, payload, "write-ahead log: unknown cursor payload, read as committed");
    }
    if first_start {
        let published = store
            .finish_temps(signal)
            .map_err(|e| format!("recovering {signal} files of memory mode: {e}"))?;
        if !published.is_empty() {
            tracing::warn!(%signal, files = published.len(),
                "published temporary files left by memory mode (before the write-ahead log existed)");
        }
    } else {
        let removed = store
            .remove_temps(signal)
            .map_err(|e| format!("removing {signal} temporary files: {e}"))?;
        if !removed.is_empty() {
            tracing::info!(%signal, files = removed.len(), position = cursor.position(),
                "removed temporary files of the last run; their records are written again from the log");
        }
    }
    let (rotate_size, rotate_age, max_records, max_bytes) = limits;
    Ok(WalFeed {
        wal: wal.clone(),
        cursor: Arc::new(Mutex::new(cursor)),
        sealed: Arc::new(AtomicU64::new(0)),
        rotate_size,
        rotate_age,
        max_records,
        max_bytes,
    })
}

impl WalFeed {
    /// The finalize hook of the signal's writer: `commit(L, "pending <file> L")`.
    pub(crate) fn hook(&self) -> FinalizeHook {
        let cursor = Arc::clone(&self.cursor);
        let sealed = Arc::clone(&self.sealed);
        Arc::new(move |info: &FinalizeInfo| {
            let name = info
                .final_path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| format!("{} has no file name", info.final_path.display()))?;
            let lsn = sealed.load(Ordering::SeqCst);
            let payload = format!("pending {name} {lsn}");
            cursor
                .lock()
                .commit(lsn, payload.as_bytes())
                .map_err(|e| e.to_string())
        })
    }
}

/// What [`Lane::seal`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sealed {
    /// Everything read is in finalized files, the position committed.
    Done,
    /// A write failed: the records are being written again; seal again once caught up.
    Again,
    /// Still failing at the shutdown deadline.
    GaveUp,
}

/// The flusher's own state.
struct State {
    converter: Converter,
    /// When the open file got its first rows.
    opened: Option<Instant>,
    /// Rows in the open file (counted as written; taken back if the file is removed).
    rows_in_file: u64,
    next_tick: Instant,
    backoff: Duration,
}

impl Lane {
    /// The flusher loop in `wal` mode (see the module docs).
    pub(crate) fn run_wal(&self, feed: &WalFeed) {
        let mut st = State {
            converter: Converter::new(self.signal, self.limits),
            opened: None,
            rows_in_file: 0,
            next_tick: Instant::now() + TICK,
            backoff: MIN_BACKOFF,
        };
        loop {
            let closed = self.buffer.is_closed();
            if self.paused.load(Ordering::SeqCst) && !closed {
                feed.cursor.lock().wait(Duration::from_millis(20));
                continue;
            }
            // Read before the log: a flush requested before this point covers every record that
            // was durable when it was requested, and the read below sees all of those. (Read
            // after an empty batch, a flush requested in between would be marked done without
            // the records made durable in between: found by a test that flushes right after
            // its acknowledgements.)
            let pending_flush = {
                let s = self.flush.lock().unwrap_or_else(|e| e.into_inner());
                (s.requested > s.done).then_some(s.requested)
            };
            let batch = match feed
                .cursor
                .lock()
                .next_batch(feed.max_records, feed.max_bytes)
            {
                Ok(batch) => batch,
                Err(e) => {
                    // Damage is skipped by the log (and reported); read again.
                    tracing::warn!(signal = %self.signal, error = %e, "write-ahead log read failed");
                    continue;
                }
            };
            if !batch.is_empty() {
                if let Err(e) = self.write_records(&mut st, batch) {
                    if !self.written_again(feed, &mut st, e) {
                        return;
                    }
                    continue;
                }
                let big = self
                    .writer
                    .active_file()
                    .is_some_and(|(bytes, _)| bytes >= feed.rotate_size);
                if big && self.seal(feed, &mut st) == Sealed::GaveUp {
                    return;
                }
                continue;
            }
            // Caught up with the log: the converter's last rows go to the file.
            if let Err(e) = self.finish_rows(&mut st) {
                if !self.written_again(feed, &mut st, e) {
                    return;
                }
                continue;
            }
            let old = st.opened.is_some_and(|t| t.elapsed() >= feed.rotate_age);
            if pending_flush.is_some() || closed || old {
                let sealed = self.seal(feed, &mut st);
                if sealed == Sealed::Again {
                    continue;
                }
                if let Some(ticket) = pending_flush {
                    let mut s = self.flush.lock().unwrap_or_else(|e| e.into_inner());
                    s.done = ticket;
                    if sealed == Sealed::GaveUp {
                        s.error
                            .get_or_insert(format!("finalizing the {} file failed", self.signal));
                    }
                    self.flushed.notify_all();
                }
                if sealed == Sealed::GaveUp || closed {
                    return;
                }
                continue;
            }
            let now = Instant::now();
            if now >= st.next_tick {
                self.tick();
                // Once a tick, not at every wake-up: a commit is an fdatasync, and an idle
                // lane wakes at every group commit of the other signals.
                if st.opened.is_none() {
                    self.commit_scanned(feed);
                }
                st.next_tick = now + TICK;
            }
            let mut wait = st.next_tick.saturating_duration_since(now);
            if let Some(t) = st.opened {
                wait = wait.min(feed.rotate_age.saturating_sub(t.elapsed()));
            }
            feed.cursor.lock().wait(wait.max(Duration::from_millis(1)));
        }
    }

    /// Converts and writes a batch of records. Conversion errors and panics are counted drops
    /// (as in memory mode); the first write error stops the batch and is returned.
    fn write_records(&self, st: &mut State, batch: Vec<Record>) -> Result<(), String> {
        for record in batch {
            self.writer_progress.begin();
            let pending = st.converter.pending_rows() as u64;
            let mut emitted = 0u64;
            let mut failed = None;
            let converter = &mut st.converter;
            let rows_in_file = &mut st.rows_in_file;
            let opened = &mut st.opened;
            let pushed = panic::catch_unwind(AssertUnwindSafe(|| {
                self.faults
                    .maybe_panic(crate::pipeline::fault::Fault::ConversionPanic);
                converter.push(record.bytes(), |rb| {
                    emitted += rb.num_rows() as u64;
                    if failed.is_none() {
                        match self.write_once(rb) {
                            Ok(rows) => {
                                *rows_in_file += rows;
                                opened.get_or_insert_with(Instant::now);
                            }
                            Err(e) => failed = Some(e),
                        }
                    }
                })
            }));
            if let Some(e) = failed {
                return Err(e);
            }
            match pushed {
                Ok(Ok(_)) => self.writer_progress.settled(),
                Ok(Err(PushError { source, emitted })) => {
                    let items = record_items(self.signal, &record);
                    let lost = items.saturating_sub(emitted as u64);
                    self.give_up(lost, DropReason::Conversion, source.to_string());
                }
                Err(payload) => {
                    let items = record_items(self.signal, &record);
                    let lost = (pending + items).saturating_sub(emitted);
                    st.converter = Converter::new(self.signal, self.limits);
                    self.give_up_panic(lost, "conversion", payload.as_ref());
                }
            }
        }
        Ok(())
    }

    /// Writes the converter's pending rows.
    fn finish_rows(&self, st: &mut State) -> Result<(), String> {
        if st.converter.pending_rows() == 0 {
            return Ok(());
        }
        let pending = st.converter.pending_rows() as u64;
        let mut batches = Vec::with_capacity(1);
        let finished = panic::catch_unwind(AssertUnwindSafe(|| {
            st.converter.finish(|rb| batches.push(rb))
        }));
        match finished {
            Ok(Ok(())) => {
                for rb in batches {
                    st.rows_in_file += self.write_once(rb)?;
                    st.opened.get_or_insert_with(Instant::now);
                }
            }
            Ok(Err(e)) => {
                self.give_up(pending, DropReason::Conversion, e.to_string());
            }
            Err(payload) => {
                st.converter = Converter::new(self.signal, self.limits);
                self.give_up_panic(pending, "conversion", payload.as_ref());
            }
        }
        Ok(())
    }

    /// One write attempt of a record batch; its rows count as written.
    fn write_once(&self, rb: arrow_array::RecordBatch) -> Result<u64, String> {
        let attempt = panic::catch_unwind(AssertUnwindSafe(|| {
            self.faults
                .maybe_panic(crate::pipeline::fault::Fault::WritePanic);
            if self.faults.fire(crate::pipeline::fault::Fault::WriteError) {
                return Err("injected fault: WriteError".to_owned());
            }
            self.writer.write(rb).map_err(|e| e.to_string())
        }));
        match attempt {
            Ok(Ok(receipt)) => {
                self.writer_progress.succeeded();
                LaneMetrics::add(&self.metrics.written_items, receipt.rows as u64);
                Ok(receipt.rows as u64)
            }
            Ok(Err(e)) => Err(e),
            Err(payload) => Err(format!(
                "{} write panicked: {}",
                self.signal,
                panic_message(payload.as_ref())
            )),
        }
    }

    /// After a failed write: the storage removed the open file; rewind to the durable
    /// position so its records are written again, after a back-off. False once the shutdown
    /// deadline has passed (the records stay in the log).
    fn written_again(&self, feed: &WalFeed, st: &mut State, error: String) -> bool {
        LaneMetrics::add(&self.metrics.write_errors, 1);
        self.writer_progress.failed(&error);
        // Those rows left the disk with their file; they are written again.
        self.metrics
            .written_items
            .fetch_sub(st.rows_in_file, Ordering::Relaxed);
        st.rows_in_file = 0;
        st.opened = None;
        st.converter = Converter::new(self.signal, self.limits);
        feed.cursor.lock().rewind();
        self.back_off(
            st,
            &error,
            "write failed; the records are written again from the log",
        )
    }

    /// Sleeps the back-off (never past the shutdown deadline); false once it has passed.
    fn back_off(&self, st: &mut State, error: &str, what: &str) -> bool {
        let give_up = *self.give_up_after.lock().unwrap_or_else(|e| e.into_inner());
        if give_up.is_some_and(|d| Instant::now() >= d) {
            tracing::error!(signal = %self.signal, error,
                "still failing at the shutdown deadline; what is not in files stays in the write-ahead log for the next start");
            return false;
        }
        let wait = give_up.map_or(st.backoff, |d| {
            st.backoff.min(d.saturating_duration_since(Instant::now()))
        });
        tracing::warn!(signal = %self.signal, error, retry_in = ?wait, "{what}");
        thread::park_timeout(wait);
        st.backoff = (st.backoff * 2).min(MAX_BACKOFF);
        true
    }

    /// Finalizes the open file by the protocol, retrying the finalization until it succeeds
    /// (nothing else is written meanwhile), then commits `committed`.
    fn seal(&self, feed: &WalFeed, st: &mut State) -> Sealed {
        if let Err(e) = self.finish_rows(st) {
            return if self.written_again(feed, st, e) {
                Sealed::Again
            } else {
                Sealed::GaveUp
            };
        }
        if self.writer.active_file().is_none() && self.writer.pending_files() == 0 {
            self.commit_scanned(feed);
            return Sealed::Done;
        }
        let lsn = feed.cursor.lock().scanned();
        feed.sealed.store(lsn, Ordering::SeqCst);
        loop {
            match self.writer.rotate() {
                Ok(path) => {
                    self.count_finalized(path.as_slice());
                    st.rows_in_file = 0;
                    st.opened = None;
                    st.backoff = MIN_BACKOFF;
                    if let Err(e) = feed.cursor.lock().commit(lsn, COMMITTED) {
                        // The payload still names the file, which exists: both resolve.
                        tracing::warn!(signal = %self.signal, error = %e, "cannot commit the cursor after a file");
                    }
                    return Sealed::Done;
                }
                Err(e) => {
                    let message = format!("finalizing the {} file: {e}", self.signal);
                    LaneMetrics::add(&self.metrics.write_errors, 1);
                    self.writer_progress.failed(&message);
                    if !self.back_off(st, &message, "finalization failed; retried") {
                        return Sealed::GaveUp;
                    }
                }
            }
        }
    }

    /// With no file open, moves the position over what was read (records of other signals
    /// included), so that they do not pin segments (at most a tick longer than needed).
    fn commit_scanned(&self, feed: &WalFeed) {
        let mut cursor = feed.cursor.lock();
        let scanned = cursor.scanned();
        if scanned > cursor.position()
            && let Err(e) = cursor.commit(scanned, COMMITTED)
        {
            tracing::warn!(signal = %self.signal, error = %e, "cannot commit the cursor");
        }
    }
}

/// Items in a record (only on the failure paths: a walk of its bytes).
fn record_items(signal: Signal, record: &Record) -> u64 {
    let bytes = bytes::Bytes::copy_from_slice(record.bytes());
    otlp_spool_core::wire::walk(signal, bytes, &otlp_spool_core::wire::WalkLimits::default())
        .map_or(0, |w| w.items)
}
