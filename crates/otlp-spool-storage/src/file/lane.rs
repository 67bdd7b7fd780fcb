//! The writer core of one signal: the active segment, rotation and the hand-over to the next
//! file. A `Lane` is plain single-threaded state; [`SignalWriter`](super::SignalWriter) shares it
//! behind the `sync` shim's mutex, so every write, rotation and close is serialized per signal.
//!
//! Invariants:
//! - every row of a batch whose write returned `Ok` is in exactly one file: the active temporary
//!   file, or the one finalized file it was renamed/encoded to (never both, never none);
//! - a batch whose write returned `Err` is in no file (it is handed back);
//! - files are created lazily by the first batch, so rotation never leaves empty files;
//! - a temporary file the lane could not finalize (or cut back after a failed write) is kept in
//!   `pending` and retried on every later `rotate`/`tick`/`close`; after a crash, start-up
//!   recovery does the same work.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use arrow_array::RecordBatch;

use super::error::{FileError, WriteError, WriteErrorKind};
use super::finalize::{self, FinalizeHook, FinalizeInfo};
use super::name::FileName;
use super::options::{Finalization, StoreOptions};
use super::recovery::{self, RecoveryReport};
use super::segment::Segment;
use crate::Signal;

/// What a successful write did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteReceipt {
    /// Rows written.
    pub rows: usize,
    /// Files finalized by this write (rotation by size, by age, or by a schema change).
    pub finalized: Vec<PathBuf>,
}

/// A temporary file whose finalization failed, to retry.
#[derive(Debug, Clone, Copy)]
struct Pending {
    name: FileName,
    /// Leading bytes known to be good.
    good: u64,
    rows: u64,
    /// Whether the finalize hook had succeeded for it (then only the publication is retried).
    hooked: bool,
}

pub(crate) struct Lane {
    signal: Signal,
    root: PathBuf,
    dir: PathBuf,
    active: Option<Segment>,
    next_seq: u64,
    /// Temporary files to finalize, with the number of leading bytes known to be good.
    pending: Vec<Pending>,
    closed: bool,
    /// The caller's finalize hook ([`Finalization::Caller`]).
    hook: Option<FinalizeHook>,
    /// What in-process recoveries (after failed writes) did.
    pub(crate) recovery: RecoveryReport,
}

impl Lane {
    pub(crate) fn new(root: &Path, signal: Signal, next_seq: u64) -> Lane {
        Lane {
            signal,
            root: root.to_path_buf(),
            dir: root.join(signal.as_str()),
            active: None,
            next_seq,
            pending: Vec::new(),
            closed: false,
            hook: None,
            recovery: RecoveryReport::default(),
        }
    }

    pub(crate) fn set_hook(&mut self, hook: Option<FinalizeHook>) {
        self.hook = hook;
    }

    fn too_old(seg: &Segment, now: SystemTime, opts: &StoreOptions) -> bool {
        if opts.finalization == Finalization::Caller {
            return false;
        }
        match (opts.max_file_age, now.duration_since(seg.opened_at)) {
            (Some(max), Ok(age)) => age >= max,
            _ => false,
        }
    }

    pub(crate) fn write(
        &mut self,
        batch: RecordBatch,
        opts: &StoreOptions,
    ) -> Result<WriteReceipt, WriteError> {
        if self.closed {
            return Err(WriteError::new(WriteErrorKind::Closed, batch));
        }
        if opts.finalization == Finalization::Caller
            && let Err(e) = self.retry_pending(opts)
        {
            // Nothing is written past a file the caller has not seen finalized.
            return Err(WriteError::new(e, batch));
        }
        let now = opts.clock.now();
        let mut receipt = WriteReceipt {
            rows: batch.num_rows(),
            finalized: Vec::new(),
        };
        if let Some(seg) = &self.active {
            let same_schema = std::sync::Arc::ptr_eq(&seg.schema, batch.schema_ref())
                || *seg.schema == **batch.schema_ref();
            if !same_schema || Self::too_old(seg, now, opts) {
                self.finish_logged(opts, &mut receipt.finalized);
            }
        }
        let seg = match &mut self.active {
            Some(seg) => seg,
            None => {
                let name = FileName::new(self.signal, now, self.next_seq, opts.format);
                // The sequence number is spent even on failure: a husk may remain under it.
                self.next_seq += 1;
                match Segment::create(&self.dir, name, batch.schema(), now, opts) {
                    Ok(seg) => self.active.insert(seg),
                    Err(e) => return Err(WriteError::new(e, batch)),
                }
            }
        };
        if let Err(e) = seg.append(&batch, opts.fsync) {
            if let Some(dead) = self.active.take() {
                self.abandon(dead, opts);
            }
            return Err(WriteError::new(e, batch));
        }
        if seg.bytes() >= opts.max_file_bytes && opts.finalization == Finalization::Store {
            self.finish_logged(opts, &mut receipt.finalized);
        }
        Ok(receipt)
    }

    /// Finalizes the active segment; on failure it goes to `pending` and the error is returned.
    fn finish_active(&mut self, opts: &StoreOptions) -> Result<Option<PathBuf>, FileError> {
        let Some(seg) = self.active.take() else {
            return Ok(None);
        };
        let (name, good, rows) = (seg.name, seg.bytes(), seg.rows);
        match seg.finish(&self.dir, opts, self.hook.as_ref()) {
            Ok(path) => Ok(Some(path)),
            Err(e) => {
                self.pending.push(Pending {
                    name,
                    good,
                    rows,
                    hooked: e.hooked,
                });
                Err(e.error)
            }
        }
    }

    /// Like `finish_active` inside a write: the batch is safe either way, so a failure to
    /// finalize is logged and retried later rather than failing the write.
    fn finish_logged(&mut self, opts: &StoreOptions, finalized: &mut Vec<PathBuf>) {
        match self.finish_active(opts) {
            Ok(Some(path)) => finalized.push(path),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "otlp-spool: cannot finalize a file; will retry"),
        }
    }

    /// After a failed append: cut the file back to its last complete batch and publish that
    /// (under [`Finalization::Caller`]: remove it, the caller writes its records again).
    fn abandon(&mut self, seg: Segment, opts: &StoreOptions) {
        let (name, good, rows, temp) = (seg.name, seg.bytes(), seg.rows, seg.temp_path.clone());
        drop(seg);
        if opts.finalization == Finalization::Caller {
            if let Err(e) = finalize::remove_logged(&temp, "a write into it failed") {
                tracing::warn!(error = %e, "otlp-spool: cannot remove a temporary file after a failed write");
            }
            return;
        }
        if let Ok(f) = std::fs::OpenOptions::new().write(true).open(&temp) {
            let _ = f.set_len(good);
        }
        if let Err(e) =
            recovery::recover_temp(&self.root, name, Some(good), opts, &mut self.recovery)
        {
            tracing::warn!(error = %e, "otlp-spool: cannot recover a file after a failed write; will retry");
            self.pending.push(Pending {
                name,
                good,
                rows,
                hooked: true,
            });
        }
    }

    fn retry_pending(&mut self, opts: &StoreOptions) -> Result<(), FileError> {
        let mut first_err = None;
        for mut p in std::mem::take(&mut self.pending) {
            let retried = self.run_hook(&mut p).and_then(|()| {
                recovery::recover_temp(&self.root, p.name, Some(p.good), opts, &mut self.recovery)
            });
            if let Err(e) = retried {
                self.pending.push(p);
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Runs the finalize hook for a pending file whose hook had not succeeded (its temporary
    /// file fsynced first, as for a first attempt).
    fn run_hook(&self, p: &mut Pending) -> Result<(), FileError> {
        let Some(hook) = self.hook.as_ref().filter(|_| !p.hooked) else {
            return Ok(());
        };
        let temp = self.dir.join(p.name.temp_name());
        let synced = std::fs::OpenOptions::new()
            .write(true)
            .open(&temp)
            .and_then(|f| f.sync_all());
        synced.map_err(|e| FileError::io("fsync", &temp, e))?;
        let final_path = self.dir.join(p.name.final_name());
        let info = FinalizeInfo {
            signal: self.signal,
            final_path: final_path.clone(),
            rows: p.rows,
            bytes: p.good,
        };
        hook(&info).map_err(|message| FileError::Hook {
            path: final_path,
            message,
        })?;
        p.hooked = true;
        Ok(())
    }

    /// Finalizes the active file now (if any). Under [`Finalization::Caller`] a file whose
    /// earlier finalization failed is finished first, and the active one only after it.
    pub(crate) fn rotate(&mut self, opts: &StoreOptions) -> Result<Option<PathBuf>, FileError> {
        let retried = self.retry_pending(opts);
        if opts.finalization == Finalization::Caller {
            retried?;
            return self.finish_active(opts);
        }
        let finished = self.finish_active(opts)?;
        retried.map(|()| finished)
    }

    /// Rotation by age (and retries of pending files).
    pub(crate) fn tick(&mut self, opts: &StoreOptions) -> Result<Option<PathBuf>, FileError> {
        let retried = self.retry_pending(opts);
        let now = opts.clock.now();
        let finished = match &self.active {
            Some(seg) if Self::too_old(seg, now, opts) => self.finish_active(opts)?,
            _ => None,
        };
        retried.map(|()| finished)
    }

    /// Finalizes everything; later writes fail with `Closed`.
    pub(crate) fn close(&mut self, opts: &StoreOptions) -> Result<Option<PathBuf>, FileError> {
        self.closed = true;
        self.rotate(opts)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Files whose finalization failed and is to be retried.
    pub(crate) fn pending_files(&self) -> usize {
        self.pending.len()
    }

    /// Bytes and rows in the active file.
    pub(crate) fn active_stats(&self) -> Option<(u64, u64)> {
        self.active.as_ref().map(|s| (s.bytes(), s.rows))
    }
}

impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane")
            .field("signal", &self.signal)
            .field("active", &self.active)
            .field("next_seq", &self.next_seq)
            .field("pending", &self.pending)
            .field("closed", &self.closed)
            .field("hook", &self.hook.is_some())
            .finish_non_exhaustive()
    }
}
