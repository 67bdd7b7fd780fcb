//! Retention: deletes the oldest *finalized* files of a signal by age and by total bytes.
//!
//! Invariants: only names matching `<signal>-<ts>-<seq>.{arrow,parquet}` in the signal's
//! folder are ever deleted (never temporary files, never quarantine); age is measured from the
//! time in the file name, read against the injected clock (so tests need no sleeping and
//! file-system mtimes play no part); every deletion is logged; a file the
//! [`RetentionGuard`](super::RetentionGuard) keeps is deleted only by the byte budget, after
//! every file it does not keep, and is then reported as forced.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::durable;
use super::error::FileError;
use super::name::{FileInfo, list_finalized};
use super::options::StoreOptions;
use crate::Signal;

/// What one retention pass deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Deleted files.
    pub deleted: Vec<PathBuf>,
    /// Their total size.
    pub deleted_bytes: u64,
    /// The part of `deleted` that the [`RetentionGuard`](super::RetentionGuard) asked to keep
    /// and the byte budget deleted anyway.
    pub forced: Vec<PathBuf>,
}

impl RetentionReport {
    pub(crate) fn merge(&mut self, other: RetentionReport) {
        self.deleted.extend(other.deleted);
        self.deleted_bytes += other.deleted_bytes;
        self.forced.extend(other.forced);
    }
}

/// Applies `opts`' retention to the finalized files of `signal` under `root`, as of `now`.
///
/// Two passes over the files, oldest first: the first deletes what is expired or over the byte
/// budget unless the guard keeps it; the second, only while the signal is still over budget,
/// deletes kept files too (oldest first) and reports them as forced.
pub(crate) fn enforce(
    root: &Path,
    signal: Signal,
    now: SystemTime,
    opts: &StoreOptions,
) -> Result<RetentionReport, FileError> {
    let mut report = RetentionReport::default();
    if opts.retention_max_age.is_none() && opts.retention_max_bytes.is_none() {
        return Ok(report);
    }
    let dir = root.join(signal.as_str());
    let files = list_finalized(&dir, signal).map_err(|e| FileError::io("list", &dir, e))?;
    let mut total: u64 = files.iter().map(|f| f.bytes).sum();
    let over = |total: u64| opts.retention_max_bytes.is_some_and(|max| total > max);
    let mut kept = Vec::new();
    for file in files {
        let expired = match (opts.retention_max_age, now.duration_since(file.opened_at)) {
            (Some(max), Ok(age)) => age > max,
            _ => false,
        };
        if !expired && !over(total) {
            // Files are oldest first: nothing later is older, and the total now fits.
            break;
        }
        if opts
            .retention_guard
            .as_ref()
            .is_some_and(|g| g.keep(&file.path))
        {
            kept.push(file);
            continue;
        }
        remove(&file, expired, &mut report)?;
        total -= file.bytes;
    }
    for file in kept {
        if !over(total) {
            break;
        }
        if remove(&file, false, &mut report)? {
            tracing::warn!(path = %file.path.display(), bytes = file.bytes,
                "otlp-spool: retention's byte budget deleted a file its guard asked to keep (not uploaded yet?)");
            report.forced.push(file.path);
        }
        total -= file.bytes;
    }
    if !report.deleted.is_empty() {
        durable::sync_dir(&dir, opts.fsync)?;
    }
    if !report.forced.is_empty()
        && let Some(guard) = &opts.retention_guard
    {
        guard.deleted_anyway(&report.forced);
    }
    Ok(report)
}

/// Deletes one finalized file; `false` when someone else (another pass) got there first.
fn remove(file: &FileInfo, expired: bool, report: &mut RetentionReport) -> Result<bool, FileError> {
    match std::fs::remove_file(&file.path) {
        Ok(()) => {
            tracing::info!(path = %file.path.display(), bytes = file.bytes, expired, "otlp-spool: retention deleted a file");
            report.deleted_bytes += file.bytes;
            report.deleted.push(file.path.clone());
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(FileError::io("remove", &file.path, e)),
    }
}
