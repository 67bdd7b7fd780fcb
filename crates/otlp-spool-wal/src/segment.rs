//! Segment files: the registry every thread consults, and the committer's writer.
//!
//! Invariants:
//! - the registry lists the retained segments in LSN order; a segment's `len` is the end of its
//!   durable, valid content, and only grows (by the writer, after a successful sync);
//! - readers never read past `len`, so they never see a record whose sync has not completed,
//!   nor the bytes of a failed batch;
//! - a segment appears in the registry only once its header is synced and the directory entry
//!   is durable; its predecessor is then complete (readers move on when a successor exists);
//! - a failed write or sync is cut back (`set_len` to the last good length, then `fsync`)
//!   before the next batch is written; while the cut-back has not succeeded, nothing is
//!   written, so a failed batch can never reappear after a crash behind good records.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::durable::sync_dir;
use crate::error::IoFailure;
use crate::failpoint;
use crate::format::{SEGMENT_HEADER_LEN, segment_header, segment_name};
use crate::group::{Batch, Counters, LogSink};
use crate::sync::Mutex;

/// One retained segment.
#[derive(Debug, Clone)]
pub(crate) struct SegmentMeta {
    /// No record in it has a smaller LSN (its first record's LSN when it was created by
    /// rotation).
    pub(crate) first_lsn: u64,
    pub(crate) path: PathBuf,
    /// End of the durable, valid content.
    pub(crate) len: u64,
    /// Good records in it, and the LSN of the last one.
    pub(crate) records: u64,
    pub(crate) last_lsn: Option<u64>,
    /// Damaged stretches found at open, skipped by readers: `(offset, length)`.
    pub(crate) holes: Arc<[(u64, u64)]>,
}

/// What a reader needs to know about a segment right now.
#[derive(Debug, Clone)]
pub(crate) struct View {
    pub(crate) len: u64,
    pub(crate) holes: Arc<[(u64, u64)]>,
    /// The first LSN of the next segment, once one exists (then `len` is final).
    pub(crate) next: Option<u64>,
}

/// Consumed segment files kept for reuse as new segments, at most.
///
/// Why reuse: appending to a new file grows it, so every `fdatasync` of the log must also
/// commit the file system's journal (the new size and blocks), and on ext4 that commit waits
/// for the ordered data of every other file written meanwhile (the Arrow files). Overwriting
/// the blocks of a consumed segment changes no metadata `fdatasync` cares about: it writes the
/// data and flushes the device cache, and does not wait for the others. The cost is disk
/// space: up to this many segment files beyond the retained ones.
pub const MAX_SPARE_SEGMENTS: usize = 2;

/// The retained segments, shared by the committer, the cursors and reclamation.
#[derive(Debug)]
pub(crate) struct Segments {
    list: Mutex<Vec<SegmentMeta>>,
    /// Spare files (consumed segments renamed for reuse), oldest first.
    spares: Mutex<Vec<PathBuf>>,
}

impl Segments {
    pub(crate) fn new(list: Vec<SegmentMeta>, spares: Vec<PathBuf>) -> Self {
        Segments {
            spares: Mutex::new(spares),
            list: Mutex::new(list),
        }
    }

    /// The segment starting at `first_lsn`, if it is still retained.
    pub(crate) fn view(&self, first_lsn: u64) -> Option<View> {
        let list = self.list.lock();
        let i = list
            .binary_search_by_key(&first_lsn, |m| m.first_lsn)
            .ok()?;
        Some(View {
            len: list[i].len,
            holes: Arc::clone(&list[i].holes),
            next: list.get(i + 1).map(|m| m.first_lsn),
        })
    }

    /// The segment where a reader looking for `lsn` starts: the last one whose first LSN is at
    /// most `lsn`, or the oldest. Returns its first LSN and path.
    pub(crate) fn locate(&self, lsn: u64) -> Option<(u64, PathBuf)> {
        let list = self.list.lock();
        let i = match list.binary_search_by_key(&lsn, |m| m.first_lsn) {
            Ok(i) => i,
            Err(0) => 0,
            Err(i) => i - 1,
        };
        list.get(i).map(|m| (m.first_lsn, m.path.clone()))
    }

    /// The path of the segment starting at `first_lsn`.
    pub(crate) fn path(&self, first_lsn: u64) -> Option<PathBuf> {
        let list = self.list.lock();
        let i = list
            .binary_search_by_key(&first_lsn, |m| m.first_lsn)
            .ok()?;
        Some(list[i].path.clone())
    }

    /// Number of retained segments.
    pub(crate) fn count(&self) -> usize {
        self.list.lock().len()
    }

    /// The LSN of the oldest retained record, if any.
    pub(crate) fn oldest_record(&self) -> Option<u64> {
        let list = self.list.lock();
        let first = list.iter().find(|m| m.records > 0)?;
        // The first record of a segment is at least `first_lsn`; the scan knows it exactly only
        // for the last one, so report the bound (readers skip what is below a position).
        Some(first.first_lsn.max(1))
    }

    fn push(&self, meta: SegmentMeta) {
        self.list.lock().push(meta);
    }

    fn grow(&self, first_lsn: u64, len: u64, last_lsn: u64, records: u64) {
        let mut list = self.list.lock();
        if let Some(m) = list.iter_mut().rev().find(|m| m.first_lsn == first_lsn) {
            m.len = len;
            m.last_lsn = Some(last_lsn);
            m.records += records;
        }
    }

    /// Whether another spare file would be kept.
    pub(crate) fn wants_spare(&self) -> bool {
        self.spares.lock().len() < MAX_SPARE_SEGMENTS
    }

    /// Adds a spare file to the pool.
    pub(crate) fn add_spare(&self, path: PathBuf) {
        self.spares.lock().push(path);
    }

    fn take_spare(&self) -> Option<PathBuf> {
        let mut spares = self.spares.lock();
        (!spares.is_empty()).then(|| spares.remove(0))
    }

    /// Spare files in the pool.
    pub(crate) fn spare_count(&self) -> usize {
        self.spares.lock().len()
    }

    /// Removes and returns the oldest segments whose every record is at most `position`
    /// (never the newest segment: it carries the log's next LSN across restarts).
    pub(crate) fn take_consumed(&self, position: u64) -> Vec<SegmentMeta> {
        let mut list = self.list.lock();
        let mut n = 0;
        while n + 1 < list.len() && list[n + 1].first_lsn <= position.saturating_add(1) {
            n += 1;
        }
        list.drain(..n).collect()
    }
}

/// The active segment the committer appends to.
#[derive(Debug)]
struct Active {
    file: File,
    path: PathBuf,
    first_lsn: u64,
    len: u64,
}

/// The committer's [`LogSink`]: appends batches to the active segment, rotating by size.
#[derive(Debug)]
pub(crate) struct SegmentWriter {
    dir: PathBuf,
    segments: Arc<Segments>,
    counters: Arc<Counters>,
    segment_bytes: u64,
    active: Option<Active>,
    /// A cut-back that has not succeeded yet: the active file must be truncated to this length
    /// (and synced) before anything else is written.
    cut_back: Option<u64>,
    /// Header bytes of created segments not yet reported to the core.
    unreported: u64,
}

impl SegmentWriter {
    /// A writer that continues the newest recovered segment (if any).
    pub(crate) fn resume(
        dir: &Path,
        segments: Arc<Segments>,
        counters: Arc<Counters>,
        segment_bytes: u64,
        last: Option<&SegmentMeta>,
    ) -> Result<Self, IoFailure> {
        let active = match last {
            Some(m) => {
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&m.path)
                    .map_err(|e| IoFailure::new("open", &m.path, &e))?;
                Some(Active {
                    file,
                    path: m.path.clone(),
                    first_lsn: m.first_lsn,
                    len: m.len,
                })
            }
            None => None,
        };
        Ok(SegmentWriter {
            dir: dir.to_path_buf(),
            segments,
            counters,
            segment_bytes,
            active,
            cut_back: None,
            unreported: 0,
        })
    }

    /// Makes the segment whose first record will be `first_lsn` from a spare file if there is
    /// one (falling back to a new file if reusing it fails), else a new file.
    fn create(&mut self, first_lsn: u64) -> Result<Active, IoFailure> {
        while let Some(spare) = self.segments.take_spare() {
            match self.reuse(&spare, first_lsn) {
                Ok(active) => return Ok(active),
                Err(e) => {
                    tracing::warn!(path = %spare.display(), error = %e, "write-ahead log: cannot reuse a spare segment file; removing it");
                    let _ = fs::remove_file(&spare);
                }
            }
        }
        self.create_new(first_lsn)
    }

    /// Turns the spare file `spare` into the segment `first_lsn`: its header is rewritten
    /// (flagged recycled) and synced while it still has its spare name, then it is renamed and
    /// the directory synced. A crash before the rename leaves a spare (never read); after it,
    /// a segment whose old records all have smaller LSNs than its header, which recovery
    /// treats as the empty segment it is.
    fn reuse(&mut self, spare: &Path, first_lsn: u64) -> Result<Active, IoFailure> {
        let path = self.dir.join(segment_name(first_lsn));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(spare)
            .map_err(|e| IoFailure::new("open", spare, &e))?;
        file.write_all_at(&segment_header(first_lsn, true), 0)
            .map_err(|e| IoFailure::new("write", spare, &e))?;
        file.sync_data()
            .map_err(|e| IoFailure::new("fdatasync", spare, &e))?;
        failpoint::hit("segment.reuse_header_synced");
        fs::rename(spare, &path).map_err(|e| IoFailure::new("rename", spare, &e))?;
        failpoint::hit("segment.reused");
        if let Err(e) = sync_dir(&self.dir) {
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        Counters::add(&self.counters.meta_syncs, 2);
        Ok(self.register(file, path, first_lsn))
    }

    fn register(&mut self, file: File, path: PathBuf, first_lsn: u64) -> Active {
        let len = SEGMENT_HEADER_LEN as u64;
        self.segments.push(SegmentMeta {
            first_lsn,
            path: path.clone(),
            len,
            records: 0,
            last_lsn: None,
            holes: Arc::from(Vec::new()),
        });
        self.unreported += len;
        Active {
            file,
            path,
            first_lsn,
            len,
        }
    }

    /// Creates, syncs and registers a new file for the segment `first_lsn`.
    fn create_new(&mut self, first_lsn: u64) -> Result<Active, IoFailure> {
        let path = self.dir.join(segment_name(first_lsn));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| IoFailure::new("create", &path, &e))?;
        failpoint::hit("segment.created");
        let made = (|| {
            file.write_all_at(&segment_header(first_lsn, false), 0)
                .map_err(|e| IoFailure::new("write", &path, &e))?;
            failpoint::hit("segment.header_written");
            file.sync_all()
                .map_err(|e| IoFailure::new("fsync", &path, &e))?;
            failpoint::hit("segment.synced");
            sync_dir(&self.dir)
        })();
        if let Err(e) = made {
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        Counters::add(&self.counters.meta_syncs, 2);
        Ok(self.register(file, path, first_lsn))
    }

    /// Truncates the active file back to its last good length and syncs that.
    fn finish_cut_back(&mut self) -> Result<(), IoFailure> {
        let (Some(len), Some(a)) = (self.cut_back, &self.active) else {
            return Ok(());
        };
        a.file
            .set_len(len)
            .map_err(|e| IoFailure::new("truncate", &a.path, &e))?;
        a.file
            .sync_all()
            .map_err(|e| IoFailure::new("fsync", &a.path, &e))?;
        self.cut_back = None;
        Ok(())
    }
}

impl LogSink for SegmentWriter {
    fn write(&mut self, batch: &Batch<'_>) -> Result<u64, IoFailure> {
        self.finish_cut_back()?;
        if self
            .active
            .as_ref()
            .is_some_and(|a| a.len >= self.segment_bytes)
        {
            // Sealed: every batch in it was synced already.
            self.active = None;
        }
        if self.active.is_none() {
            self.active = Some(self.create(batch.first_lsn)?);
        }
        let a = self.active.as_mut().expect("active segment just ensured");
        let at = a.len;
        let done = a
            .file
            .write_all_at(batch.bytes, at)
            .map_err(|e| IoFailure::new("write", &a.path, &e))
            .and_then(|()| {
                failpoint::hit("append.written");
                a.file
                    .sync_data()
                    .map_err(|e| IoFailure::new("fdatasync", &a.path, &e))
            });
        if let Err(e) = done {
            self.cut_back = Some(at);
            // Best effort now; retried before the next write if it fails.
            let _ = self.finish_cut_back();
            return Err(e);
        }
        failpoint::hit("append.synced");
        Counters::add(&self.counters.data_syncs, 1);
        a.len = at + batch.bytes.len() as u64;
        let records = batch.last_lsn - batch.first_lsn + 1;
        self.segments
            .grow(a.first_lsn, a.len, batch.last_lsn, records);
        Ok(std::mem::take(&mut self.unreported))
    }
}
