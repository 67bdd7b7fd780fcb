//! [`Wal`]: opening (lock, recovery, committer thread), appending, cursors, reclamation,
//! statistics and closing.
//!
//! Invariants:
//! - one `Wal` per directory: an advisory lock on `<dir>/wal.lock` is held for its lifetime
//!   (released by the OS if the process dies);
//! - a segment is deleted only when it is not the newest one and every registered cursor
//!   (every cursor file, whether or not a handle is open in this process) has a durable
//!   position at or past its last record; with no cursor registered nothing is deleted;
//! - the registry entry of a cursor is updated only after its file was durably replaced, so
//!   reclamation never runs ahead of what a restart would see.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use otlp_spool_core::Signal;

use crate::cursor::{Cursor, Skipped, Walker};
use crate::durable::{create_dir, replace_file, sync_dir};
use crate::error::{AppendError, CloseError, CursorError, IoFailure, OpenError};
use crate::failpoint;
use crate::format::{
    CURSOR_DIR, CursorFile, LOCK_FILE, cursor_file_name, cursor_temp_name, spare_name,
    valid_cursor_name,
};
use crate::group::{Core, Counters, Limits};
use crate::options::WalOptions;
use crate::recovery::{RecoveryReport, recover};
use crate::segment::{SegmentWriter, Segments};
use crate::sync::{AtomicU64, JoinHandle, Mutex, spawn};
use crate::ticket::Ticket;

/// A snapshot of the log's counters and gauges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalStats {
    /// Records taken by `append` (durable or failed later).
    pub appended_records: u64,
    /// Their payload bytes.
    pub appended_bytes: u64,
    /// Appends refused because the log was full.
    pub refused_full: u64,
    /// Appends refused because the record was too large.
    pub refused_too_large: u64,
    /// Records whose ticket failed (write or sync error, committer stopped).
    pub failed_records: u64,
    /// Batches the committer wrote (one sync each when it succeeded).
    pub commit_groups: u64,
    /// `fdatasync` calls on segments that succeeded: group commit makes this far smaller than
    /// `appended_records` under concurrency.
    pub data_syncs: u64,
    /// `fsync` calls on new segment and cursor files and on directories.
    pub meta_syncs: u64,
    /// Segments removed from the log because every cursor moved past them (deleted, or kept
    /// as spare files: see `recycled_segments`).
    pub deleted_segments: u64,
    /// Of those, the ones kept as spare files for the committer to reuse.
    pub recycled_segments: u64,
    /// Spare files on disk now (at most [`MAX_SPARE_SEGMENTS`](crate::MAX_SPARE_SEGMENTS)): disk space beyond the
    /// retained segments.
    pub spare_segments: usize,
    /// Bytes in use: retained segments plus records waiting for their sync.
    pub used_bytes: u64,
    /// The bound on `used_bytes`.
    pub max_bytes: u64,
    /// Retained segment files.
    pub segments: usize,
    /// The last durable LSN (0: none yet).
    pub durable_lsn: u64,
    /// The LSN the next record will get.
    pub next_lsn: u64,
}

/// A registered cursor, as [`Wal::cursors`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorInfo {
    /// Its name.
    pub name: String,
    /// Its durable position.
    pub position: u64,
    /// What it skipped over its life.
    pub skipped: Skipped,
    /// Whether a [`Cursor`] handle of it is alive in this process.
    pub open: bool,
}

#[derive(Debug)]
struct CursorEntry {
    state: CursorFile,
    open: bool,
}

/// The state every handle shares.
#[derive(Debug)]
pub(crate) struct Inner {
    opts: WalOptions,
    pub(crate) core: Arc<Core>,
    pub(crate) segments: Arc<Segments>,
    counters: Arc<Counters>,
    cursors: Mutex<BTreeMap<String, CursorEntry>>,
    reclaim_lock: Mutex<()>,
    deleted_segments: AtomicU64,
    recycled_segments: AtomicU64,
    committer: Mutex<Option<JoinHandle>>,
    report: RecoveryReport,
    _lock: File,
}

/// The write-ahead log; see the crate docs. Cheap to clone: every clone is the same log.
#[derive(Debug, Clone)]
pub struct Wal {
    inner: Arc<Inner>,
}

fn lock_dir(dir: &Path) -> Result<File, OpenError> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| IoFailure::new("open lock file", &path, &e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(OpenError::Locked {
            dir: dir.to_path_buf(),
            lock: path,
        }),
        Err(TryLockError::Error(e)) => Err(IoFailure::new("lock", &path, &e).into()),
    }
}

impl Wal {
    /// Opens (or creates) the log in `opts.dir`: takes the directory lock, recovers what a
    /// crash left (see [`RecoveryReport`]), and starts the committer thread.
    pub fn open(opts: WalOptions) -> Result<Wal, OpenError> {
        create_dir(&opts.dir)?;
        let lock = lock_dir(&opts.dir)?;
        let recovered = recover(&opts.dir, opts.max_record_bytes as u32)?;
        let report = recovered.report;
        tracing::info!(
            dir = %opts.dir.display(),
            segments = report.segments,
            records = report.records,
            next_lsn = recovered.next_lsn,
            clean = report.is_clean(),
            "write-ahead log opened"
        );
        let counters = Arc::new(Counters::default());
        let last = recovered.segments.last().cloned();
        let segments = Arc::new(Segments::new(recovered.segments, recovered.spares));
        let mut writer = SegmentWriter::resume(
            &opts.dir,
            Arc::clone(&segments),
            Arc::clone(&counters),
            opts.segment_bytes,
            last.as_ref(),
        )?;
        let limits = Limits {
            max_bytes: opts.max_bytes,
            max_record_bytes: opts.max_record_bytes,
            max_delay: opts.group_commit_max_delay,
            trigger_bytes: opts.group_commit_max_bytes,
        };
        let core = Arc::new(Core::new(
            limits,
            recovered.next_lsn,
            recovered.last_lsn,
            recovered.used,
            Arc::clone(&counters),
        ));
        let committer = {
            let core = Arc::clone(&core);
            spawn("otlp-spool-wal".into(), move || {
                core.run_committer(&mut writer)
            })
            .map_err(|e| IoFailure::new("start the committer thread for", &opts.dir, &e))?
        };
        let cursors = recovered
            .cursors
            .into_iter()
            .map(|(name, state)| (name, CursorEntry { state, open: false }))
            .collect();
        Ok(Wal {
            inner: Arc::new(Inner {
                opts,
                core,
                segments,
                counters,
                cursors: Mutex::new(cursors),
                reclaim_lock: Mutex::new(()),
                deleted_segments: AtomicU64::new(0),
                recycled_segments: AtomicU64::new(0),
                committer: Mutex::new(Some(committer)),
                report,
                _lock: lock,
            }),
        })
    }

    /// Appends a record and returns at once: the [`Ticket`] completes once the record is in a
    /// synced segment. Refuses at once (nothing stored) when the log is full, the record too
    /// large, or the log closed.
    pub fn append(&self, signal: Signal, bytes: &[u8]) -> Result<Ticket, AppendError> {
        self.inner.core.append(signal, bytes)
    }

    /// Opens the cursor `name`, creating it (durably, at the oldest retained record: it skips
    /// nothing) if it does not exist. From then on it holds back the deletion of every segment
    /// it has not moved past, across restarts, until [`Wal::drop_cursor`].
    pub fn cursor(&self, name: &str) -> Result<Cursor, CursorError> {
        if !valid_cursor_name(name) {
            return Err(CursorError::BadName(name.to_owned()));
        }
        let mut cursors = self.inner.cursors.lock();
        let state = match cursors.get_mut(name) {
            Some(entry) if entry.open => return Err(CursorError::InUse(name.to_owned())),
            Some(entry) => {
                entry.open = true;
                entry.state.clone()
            }
            None => {
                // Durable LSN first: a batch that turns durable after this read is still read.
                let durable = self.inner.core.tail.durable();
                let oldest = self
                    .inner
                    .segments
                    .oldest_record()
                    .map_or(u64::MAX, |l| l - 1);
                let state = CursorFile {
                    seq: 1,
                    lsn: durable.min(oldest),
                    ..CursorFile::default()
                };
                self.inner.create_cursor_file(name, &state)?;
                cursors.insert(
                    name.to_owned(),
                    CursorEntry {
                        state: state.clone(),
                        open: true,
                    },
                );
                state
            }
        };
        let path = self.inner.cursor_path(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| IoFailure::new("open", &path, &e));
        let file = match file {
            Ok(f) => f,
            Err(e) => {
                if let Some(entry) = cursors.get_mut(name) {
                    entry.open = false;
                }
                return Err(e.into());
            }
        };
        drop(cursors);
        Ok(Cursor::new(
            Arc::clone(&self.inner),
            name.to_owned(),
            state,
            file,
        ))
    }

    /// Unregisters the cursor `name` (it must not be open), deleting its file, and frees the
    /// segments only it held. Returns what it had not consumed (durable records past its
    /// position), or `None` if no such cursor exists.
    pub fn drop_cursor(&self, name: &str) -> Result<Option<Skipped>, CursorError> {
        if !valid_cursor_name(name) {
            return Err(CursorError::BadName(name.to_owned()));
        }
        let position = {
            let mut cursors = self.inner.cursors.lock();
            let Some(entry) = cursors.get_mut(name) else {
                return Ok(None);
            };
            if entry.open {
                return Err(CursorError::InUse(name.to_owned()));
            }
            // Reserved (as if open) while it is counted and removed, without holding the lock.
            entry.open = true;
            entry.state.lsn
        };
        let path = self.inner.cursor_path(name);
        let removed = Walker::count(&self.inner, position, self.inner.core.tail.durable())
            .and_then(|skipped| {
                fs::remove_file(&path).map_err(|e| IoFailure::new("remove", &path, &e))?;
                Ok(skipped)
            });
        let skipped = match removed {
            Ok(skipped) => skipped,
            Err(e) => {
                self.inner.release_cursor(name);
                return Err(e.into());
            }
        };
        // The file is gone: the cursor is no longer registered, even if the directory sync
        // below fails (then a power loss could bring the file back, holding segments again).
        self.inner.cursors.lock().remove(name);
        failpoint::hit("cursor.removed");
        sync_dir(&self.inner.opts.dir.join(CURSOR_DIR))?;
        Counters::add(&self.inner.counters.meta_syncs, 1);
        if skipped.records > 0 {
            tracing::warn!(
                cursor = name,
                records = skipped.records,
                bytes = skipped.bytes,
                "write-ahead log: cursor dropped with records it never consumed"
            );
        }
        self.inner.reclaim();
        Ok(Some(skipped))
    }

    /// Every registered cursor, by name.
    pub fn cursors(&self) -> Vec<CursorInfo> {
        self.inner
            .cursors
            .lock()
            .iter()
            .map(|(name, e)| CursorInfo {
                name: name.clone(),
                position: e.state.lsn,
                skipped: Skipped {
                    records: e.state.skipped_records,
                    bytes: e.state.skipped_bytes,
                },
                open: e.open,
            })
            .collect()
    }

    /// Ends the current (and next) wait of every cursor with
    /// [`WaitOutcome::Woken`](crate::WaitOutcome::Woken): a shutdown hook.
    pub fn notify_readers(&self) {
        self.inner.core.tail.notify();
    }

    /// What start-up recovery found and did.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.report
    }

    /// The settings.
    pub fn options(&self) -> &WalOptions {
        &self.inner.opts
    }

    /// The last durable LSN (0: none yet).
    pub fn durable_lsn(&self) -> u64 {
        self.inner.core.tail.durable()
    }

    /// Counters and gauges.
    pub fn stats(&self) -> WalStats {
        let c = &self.inner.counters;
        WalStats {
            appended_records: Counters::get(&c.appended_records),
            appended_bytes: Counters::get(&c.appended_bytes),
            refused_full: Counters::get(&c.refused_full),
            refused_too_large: Counters::get(&c.refused_too_large),
            failed_records: Counters::get(&c.failed_records),
            commit_groups: Counters::get(&c.groups),
            data_syncs: Counters::get(&c.data_syncs),
            meta_syncs: Counters::get(&c.meta_syncs),
            deleted_segments: Counters::get(&self.inner.deleted_segments),
            recycled_segments: Counters::get(&self.inner.recycled_segments),
            spare_segments: self.inner.segments.spare_count(),
            used_bytes: self.inner.core.used(),
            max_bytes: self.inner.opts.max_bytes,
            segments: self.inner.segments.count(),
            durable_lsn: self.inner.core.tail.durable(),
            next_lsn: self.inner.core.next_lsn(),
        }
    }

    /// Refuses appends from now on, writes and syncs what is pending (every ticket handed out
    /// completes), and stops the committer. Cursors keep working on what is durable. Calling it
    /// again does nothing.
    pub fn close(&self) -> Result<(), CloseError> {
        self.inner.shut()
    }

    /// Whether [`Wal::close`] was called (or the committer stopped).
    pub fn is_closed(&self) -> bool {
        self.inner.core.is_closed()
    }
}

impl Inner {
    pub(crate) fn max_record(&self) -> u32 {
        self.opts.max_record_bytes as u32
    }

    fn shut(&self) -> Result<(), CloseError> {
        self.core.close();
        let handle = self.committer.lock().take();
        match handle.map(JoinHandle::join) {
            Some(Err(_)) => Err(CloseError::CommitterPanicked),
            _ => Ok(()),
        }
    }

    fn cursor_path(&self, name: &str) -> PathBuf {
        self.opts.dir.join(CURSOR_DIR).join(cursor_file_name(name))
    }

    /// Creates the cursor file of `name` holding `state` (new file, fsync, rename, directory
    /// fsync).
    fn create_cursor_file(&self, name: &str, state: &CursorFile) -> Result<(), IoFailure> {
        let cdir = self.opts.dir.join(CURSOR_DIR);
        let syncs = replace_file(
            &cdir,
            &cdir.join(cursor_temp_name(name)),
            &self.cursor_path(name),
            &state.encode_file(),
        )?;
        Counters::add(&self.counters.meta_syncs, syncs);
        Ok(())
    }

    /// Durably writes `next` (the cursor's state with the next sequence number) into its slot
    /// of the open cursor file, then updates the registry entry.
    pub(crate) fn persist_cursor(
        &self,
        name: &str,
        file: &File,
        next: &CursorFile,
    ) -> Result<(), IoFailure> {
        let path = self.cursor_path(name);
        file.write_all_at(&next.encode_slot(), next.slot_offset())
            .map_err(|e| IoFailure::new("write", &path, &e))?;
        failpoint::hit("cursor.slot_written");
        file.sync_data()
            .map_err(|e| IoFailure::new("fdatasync", &path, &e))?;
        failpoint::hit("cursor.slot_synced");
        Counters::add(&self.counters.meta_syncs, 1);
        if let Some(entry) = self.cursors.lock().get_mut(name) {
            entry.state = next.clone();
        }
        Ok(())
    }

    /// A cursor handle was dropped.
    pub(crate) fn release_cursor(&self, name: &str) {
        if let Some(entry) = self.cursors.lock().get_mut(name) {
            entry.open = false;
        }
    }

    /// Deletes the segments every registered cursor has moved past.
    pub(crate) fn reclaim(&self) {
        let _one_at_a_time = self.reclaim_lock.lock();
        let Some(min) = self.cursors.lock().values().map(|e| e.state.lsn).min() else {
            return;
        };
        let doomed = self.segments.take_consumed(min);
        if doomed.is_empty() {
            return;
        }
        let mut freed = 0;
        let mut deleted = 0;
        for seg in &doomed {
            // A full-size segment is kept as a spare for the committer to reuse (see
            // `MAX_SPARE_SEGMENTS`) while the pool has room; the others are deleted.
            if seg.len >= self.opts.segment_bytes / 2 && self.segments.wants_spare() {
                let spare = self.opts.dir.join(spare_name(seg.first_lsn));
                match fs::rename(&seg.path, &spare) {
                    Ok(()) => {
                        self.segments.add_spare(spare);
                        freed += seg.len;
                        deleted += 1;
                        Counters::add(&self.recycled_segments, 1);
                        failpoint::hit("reclaim.unlinked"); // the segment left the log (renamed to a spare)
                        continue;
                    }
                    Err(e) => {
                        tracing::debug!(path = %seg.path.display(), error = %e, "write-ahead log: cannot keep a consumed segment as a spare; deleting it")
                    }
                }
            }
            match fs::remove_file(&seg.path) {
                Ok(()) => {
                    freed += seg.len;
                    deleted += 1;
                    failpoint::hit("reclaim.unlinked");
                }
                // Left on disk: the next open lists it again, and every cursor is past it.
                Err(e) => {
                    tracing::warn!(path = %seg.path.display(), error = %e, "write-ahead log: cannot delete a consumed segment")
                }
            }
        }
        match sync_dir(&self.opts.dir) {
            Ok(()) => Counters::add(&self.counters.meta_syncs, 1),
            Err(e) => {
                tracing::warn!(error = %e, "write-ahead log: deleted segments may come back after a power loss")
            }
        }
        self.core.release(freed);
        Counters::add(&self.deleted_segments, deleted);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.shut();
    }
}
