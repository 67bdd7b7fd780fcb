//! Start-up recovery: what a crash (or damage) left in the directory becomes a consistent log.
//!
//! Nothing here stops the start-up because of what the files contain; only an operating-system
//! error (a directory that cannot be read, a truncate that fails) does. Every change is
//! reported in the [`RecoveryReport`] and logged (`warn`):
//! - a segment whose header never reached the disk whole (a creation cut short) is removed if
//!   it is the newest one (it holds no record: records are written only after the header was
//!   synced); an older one with a bad header is renamed `<name>.corrupt` and left alone;
//! - records are checked one by one (header checksum, length, LSN strictly increasing across
//!   segments, payload checksum); a damaged stretch followed by good records is a *hole*,
//!   reported and skipped by every reader; damage at the end of a segment (a torn tail) is cut
//!   off (`set_len`, then `fsync`); in a recycled segment the bytes after the valid content
//!   are the file's earlier life and are cut off without a report;
//! - spare files (consumed segments kept for reuse) are kept, at most `MAX_SPARE_SEGMENTS`;
//! - a cursor's leftover temporary file is removed (its creation never completed); a slot
//!   torn by an update that did not complete leaves the state before it current (reported);
//!   a cursor file with no valid slot is renamed `<name>.pos.corrupt` and the cursor is
//!   recreated at the oldest retained record, so it replays rather than skips.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::durable::{create_dir, replace_file, sync_dir};
use crate::error::IoFailure;
use crate::failpoint;
use crate::format::{
    BadHeader, CURSOR_DIR, CursorFile, OtherSlot, cursor_file_name, cursor_temp_name,
    is_spare_name, parse_segment_header, parse_segment_name, scan_segment, valid_cursor_name,
};
use crate::segment::{MAX_SPARE_SEGMENTS, SegmentMeta};

/// A stretch of a segment that recovery cut off or skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The segment.
    pub path: PathBuf,
    /// Where the stretch starts.
    pub offset: u64,
    /// Its length.
    pub bytes: u64,
}

/// What [`Wal::open`](crate::Wal::open) found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segments retained.
    pub segments: usize,
    /// Good records in them.
    pub records: u64,
    /// Their framed bytes.
    pub record_bytes: u64,
    /// LSN of the newest good record, if any.
    pub last_lsn: Option<u64>,
    /// Torn or damaged tails cut off (normal after a crash: a batch whose sync never
    /// completed; its records were never acknowledged).
    pub truncated: Vec<Damage>,
    /// Damaged stretches in the middle of a segment, skipped (not normal: disk damage).
    pub holes: Vec<Damage>,
    /// Newest segment files removed because their creation was cut short.
    pub removed_incomplete: Vec<PathBuf>,
    /// Files renamed `*.corrupt` (a segment with a bad header, a damaged cursor file).
    pub quarantined: Vec<PathBuf>,
    /// Leftover temporary cursor files (of a creation cut short) removed.
    pub removed_temp: Vec<PathBuf>,
    /// Cursors recreated at the oldest record because their file was damaged.
    pub reset_cursors: Vec<String>,
    /// Cursors whose last update did not complete (a crash during `commit`, which had not
    /// returned): the state before it stands.
    pub interrupted_cursor_updates: Vec<String>,
    /// Cursors found.
    pub cursors: Vec<String>,
}

impl RecoveryReport {
    /// Whether recovery had to repair or skip anything (a torn tail after a crash counts).
    pub fn is_clean(&self) -> bool {
        self.truncated.is_empty()
            && self.holes.is_empty()
            && self.removed_incomplete.is_empty()
            && self.quarantined.is_empty()
            && self.removed_temp.is_empty()
            && self.reset_cursors.is_empty()
            && self.interrupted_cursor_updates.is_empty()
    }
}

/// The recovered state the log starts from.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub(crate) segments: Vec<SegmentMeta>,
    pub(crate) cursors: BTreeMap<String, CursorFile>,
    pub(crate) next_lsn: u64,
    pub(crate) last_lsn: u64,
    pub(crate) used: u64,
    /// Spare files found (consumed segments kept for reuse).
    pub(crate) spares: Vec<PathBuf>,
    pub(crate) report: RecoveryReport,
}

fn quarantine(path: &Path, report: &mut RecoveryReport) -> Result<(), IoFailure> {
    let mut to = path.as_os_str().to_owned();
    to.push(".corrupt");
    let to = PathBuf::from(to);
    fs::rename(path, &to).map_err(|e| IoFailure::new("rename", path, &e))?;
    tracing::warn!(from = %path.display(), to = %to.display(), "write-ahead log: file quarantined");
    report.quarantined.push(to);
    Ok(())
}

/// Whether a bad header of the newest segment is a creation cut short: a file shorter than a
/// header, a header (or the block around it) still all zeros, or a header-sized file whose
/// write was torn. Records are written only after the header was synced, so such a file holds
/// none.
fn creation_cut_short(bad: BadHeader, len: usize) -> bool {
    match bad {
        BadHeader::Short => true,
        BadHeader::Zeroed => len <= 4096,
        BadHeader::Invalid => len <= crate::format::SEGMENT_HEADER_LEN,
    }
}

/// Lists the spare files of `dir` (consumed segments kept for reuse), keeping at most
/// `keep` and removing the others.
fn recover_spares(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, IoFailure> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| IoFailure::new("read directory", dir, &e))? {
        let entry = entry.map_err(|e| IoFailure::new("read directory", dir, &e))?;
        if entry.file_name().to_str().is_some_and(is_spare_name) {
            found.push(entry.path());
        }
    }
    found.sort();
    for extra in found.drain(keep.min(found.len())..) {
        fs::remove_file(&extra).map_err(|e| IoFailure::new("remove", &extra, &e))?;
    }
    Ok(found)
}

/// Lists `(first_lsn, path)` of the segment files in `dir`, in LSN order.
fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, IoFailure> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| IoFailure::new("read directory", dir, &e))? {
        let entry = entry.map_err(|e| IoFailure::new("read directory", dir, &e))?;
        if let Some(lsn) = entry.file_name().to_str().and_then(parse_segment_name) {
            found.push((lsn, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// Recovers the segments of `dir`: see the module docs.
fn recover_segments(
    dir: &Path,
    max_record: u32,
    report: &mut RecoveryReport,
) -> Result<Vec<SegmentMeta>, IoFailure> {
    let files = list_segments(dir)?;
    let mut segments: Vec<SegmentMeta> = Vec::new();
    let mut next_min = 1u64;
    let mut changed_dir = false;
    for (i, (named, path)) in files.iter().enumerate() {
        let newest = i + 1 == files.len();
        let data = fs::read(path).map_err(|e| IoFailure::new("read", path, &e))?;
        let header = match parse_segment_header(&data) {
            Ok(h) if h.first_lsn == *named => h,
            Err(bad) if newest && creation_cut_short(bad, data.len()) => {
                fs::remove_file(path).map_err(|e| IoFailure::new("remove", path, &e))?;
                tracing::warn!(path = %path.display(), "write-ahead log: removed a segment whose creation was cut short");
                report.removed_incomplete.push(path.clone());
                changed_dir = true;
                continue;
            }
            _ => {
                quarantine(path, report)?;
                changed_dir = true;
                continue;
            }
        };
        let first_lsn = header.first_lsn;
        let floor = first_lsn.max(next_min);
        let scan = scan_segment(&data, floor, max_record);
        for &(offset, bytes) in &scan.holes {
            tracing::warn!(path = %path.display(), offset, bytes, "write-ahead log: damaged records skipped");
            report.holes.push(Damage {
                path: path.clone(),
                offset,
                bytes,
            });
        }
        if scan.valid_len < data.len() as u64 {
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| IoFailure::new("open", path, &e))?;
            f.set_len(scan.valid_len)
                .map_err(|e| IoFailure::new("truncate", path, &e))?;
            failpoint::hit("recovery.truncated");
            f.sync_all()
                .map_err(|e| IoFailure::new("fsync", path, &e))?;
            let bytes = data.len() as u64 - scan.valid_len;
            if header.recycled {
                // The file's earlier life (records with smaller LSNs), plus at most the torn
                // batch of a crash, which was never acknowledged either.
                tracing::debug!(path = %path.display(), offset = scan.valid_len, bytes, "write-ahead log: a recycled segment's earlier content cut off");
            } else {
                tracing::warn!(path = %path.display(), offset = scan.valid_len, bytes, "write-ahead log: torn tail cut off");
                report.truncated.push(Damage {
                    path: path.clone(),
                    offset: scan.valid_len,
                    bytes,
                });
            }
        }
        if let Some(last) = scan.last_lsn {
            next_min = last + 1;
        }
        report.records += scan.records;
        report.record_bytes += scan.record_bytes;
        segments.push(SegmentMeta {
            first_lsn,
            path: path.clone(),
            len: scan.valid_len,
            records: scan.records,
            last_lsn: scan.last_lsn,
            holes: Arc::from(scan.holes),
        });
    }
    if changed_dir {
        sync_dir(dir)?;
    }
    Ok(segments)
}

/// Loads the cursor files of `dir/cursors`: see the module docs. `oldest` is the position a
/// damaged cursor is recreated at.
fn recover_cursors(
    dir: &Path,
    oldest: u64,
    report: &mut RecoveryReport,
) -> Result<BTreeMap<String, CursorFile>, IoFailure> {
    let cdir = dir.join(CURSOR_DIR);
    create_dir(&cdir)?;
    let mut cursors = BTreeMap::new();
    let mut changed_dir = false;
    for entry in fs::read_dir(&cdir).map_err(|e| IoFailure::new("read directory", &cdir, &e))? {
        let entry = entry.map_err(|e| IoFailure::new("read directory", &cdir, &e))?;
        let path = entry.path();
        let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if let Some(name) = file_name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".tmp"))
            .filter(|n| valid_cursor_name(n))
        {
            fs::remove_file(&path).map_err(|e| IoFailure::new("remove", &path, &e))?;
            tracing::info!(
                cursor = name,
                "write-ahead log: removed an unfinished cursor creation"
            );
            report.removed_temp.push(path);
            changed_dir = true;
            continue;
        }
        let Some(name) = file_name
            .strip_suffix(".pos")
            .filter(|n| valid_cursor_name(n))
        else {
            continue;
        };
        let bytes = fs::read(&path).map_err(|e| IoFailure::new("read", &path, &e))?;
        let cursor = match CursorFile::decode_file(&bytes) {
            Some((c, OtherSlot::Fine)) => c,
            Some((c, OtherSlot::Torn)) => {
                tracing::info!(
                    cursor = name,
                    position = c.lsn,
                    "write-ahead log: a cursor update did not complete; the state before it stands"
                );
                report.interrupted_cursor_updates.push(name.to_owned());
                c
            }
            None => {
                quarantine(&path, report)?;
                let fresh = CursorFile {
                    seq: 1,
                    lsn: oldest,
                    ..CursorFile::default()
                };
                replace_file(
                    &cdir,
                    &cdir.join(cursor_temp_name(name)),
                    &cdir.join(cursor_file_name(name)),
                    &fresh.encode_file(),
                )?;
                tracing::warn!(
                    cursor = name,
                    position = oldest,
                    "write-ahead log: damaged cursor file, cursor replays from the oldest record"
                );
                report.reset_cursors.push(name.to_owned());
                fresh
            }
        };
        report.cursors.push(name.to_owned());
        cursors.insert(name.to_owned(), cursor);
    }
    if changed_dir {
        sync_dir(&cdir)?;
    }
    Ok(cursors)
}

/// Recovers the log in `dir` (which exists and is locked).
pub(crate) fn recover(dir: &Path, max_record: u32) -> Result<Recovered, IoFailure> {
    let mut report = RecoveryReport::default();
    let segments = recover_segments(dir, max_record, &mut report)?;
    let oldest = segments
        .iter()
        .find(|m| m.records > 0)
        .map(|m| m.first_lsn - 1);
    let last_lsn = segments
        .iter()
        .filter_map(|m| m.last_lsn)
        .max()
        .unwrap_or(0);
    let newest_first = segments.last().map_or(1, |m| m.first_lsn);
    let cursors = recover_cursors(dir, oldest.unwrap_or(last_lsn), &mut report)?;
    let cursor_max = cursors.values().map(|c| c.lsn).max().unwrap_or(0);
    let next_lsn = (last_lsn + 1).max(newest_first).max(cursor_max + 1);
    report.segments = segments.len();
    report.last_lsn = (last_lsn > 0).then_some(last_lsn);
    let used = segments.iter().map(|m| m.len).sum();
    let spares = recover_spares(dir, MAX_SPARE_SEGMENTS)?;
    Ok(Recovered {
        segments,
        cursors,
        next_lsn,
        last_lsn,
        used,
        spares,
        report,
    })
}
