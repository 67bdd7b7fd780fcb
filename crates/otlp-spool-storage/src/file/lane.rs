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
use super::name::FileName;
use super::options::StoreOptions;
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

#[derive(Debug)]
pub(crate) struct Lane {
    signal: Signal,
    root: PathBuf,
    dir: PathBuf,
    active: Option<Segment>,
    next_seq: u64,
    /// Temporary files to finalize, with the number of leading bytes known to be good.
    pending: Vec<(FileName, u64)>,
    closed: bool,
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
            recovery: RecoveryReport::default(),
        }
    }

    fn too_old(seg: &Segment, now: SystemTime, opts: &StoreOptions) -> bool {
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
        if seg.bytes() >= opts.max_file_bytes {
            self.finish_logged(opts, &mut receipt.finalized);
        }
        Ok(receipt)
    }

    /// Finalizes the active segment; on failure it goes to `pending` and the error is returned.
    fn finish_active(&mut self, opts: &StoreOptions) -> Result<Option<PathBuf>, FileError> {
        let Some(seg) = self.active.take() else {
            return Ok(None);
        };
        let (name, good) = (seg.name, seg.bytes());
        match seg.finish(&self.dir, opts) {
            Ok(path) => Ok(Some(path)),
            Err(e) => {
                self.pending.push((name, good));
                Err(e)
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

    /// After a failed append: cut the file back to its last complete batch and publish that.
    fn abandon(&mut self, seg: Segment, opts: &StoreOptions) {
        let (name, good, temp) = (seg.name, seg.bytes(), seg.temp_path.clone());
        drop(seg);
        if let Ok(f) = std::fs::OpenOptions::new().write(true).open(&temp) {
            let _ = f.set_len(good);
        }
        if let Err(e) =
            recovery::recover_temp(&self.root, name, Some(good), opts, &mut self.recovery)
        {
            tracing::warn!(error = %e, "otlp-spool: cannot recover a file after a failed write; will retry");
            self.pending.push((name, good));
        }
    }

    fn retry_pending(&mut self, opts: &StoreOptions) -> Result<(), FileError> {
        let mut first_err = None;
        for (name, good) in std::mem::take(&mut self.pending) {
            if let Err(e) =
                recovery::recover_temp(&self.root, name, Some(good), opts, &mut self.recovery)
            {
                self.pending.push((name, good));
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Finalizes the active file now (if any).
    pub(crate) fn rotate(&mut self, opts: &StoreOptions) -> Result<Option<PathBuf>, FileError> {
        let retried = self.retry_pending(opts);
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

    /// Bytes and rows in the active file.
    pub(crate) fn active_stats(&self) -> Option<(u64, u64)> {
        self.active.as_ref().map(|s| (s.bytes(), s.rows))
    }
}
