//! Retention: deletes the oldest *finalized* files of a signal by age and by total bytes.
//!
//! Invariants: only names matching `<signal>-<ts>-<seq>.{arrow,parquet}` in the signal's
//! folder are ever deleted (never temporary files, never quarantine); age is measured from the
//! time in the file name, read against the injected clock (so tests need no sleeping and
//! file-system mtimes play no part); every deletion is logged.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::durable;
use super::error::FileError;
use super::name::list_finalized;
use super::options::StoreOptions;
use crate::Signal;

/// What one retention pass deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Deleted files.
    pub deleted: Vec<PathBuf>,
    /// Their total size.
    pub deleted_bytes: u64,
}

impl RetentionReport {
    pub(crate) fn merge(&mut self, other: RetentionReport) {
        self.deleted.extend(other.deleted);
        self.deleted_bytes += other.deleted_bytes;
    }
}

/// Applies `opts`' retention to the finalized files of `signal` under `root`, as of `now`.
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
    for file in files {
        let expired = match (opts.retention_max_age, now.duration_since(file.opened_at)) {
            (Some(max), Ok(age)) => age > max,
            _ => false,
        };
        let over = opts.retention_max_bytes.is_some_and(|max| total > max);
        if !expired && !over {
            // Files are oldest first: nothing later is older, and the total now fits.
            break;
        }
        match std::fs::remove_file(&file.path) {
            Ok(()) => {
                tracing::info!(path = %file.path.display(), bytes = file.bytes, expired, "otlp-spool: retention deleted a file");
                report.deleted_bytes += file.bytes;
                report.deleted.push(file.path);
            }
            // Someone else (another retention pass) got there first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(FileError::io("remove", &file.path, e)),
        }
        total -= file.bytes;
    }
    if !report.deleted.is_empty() {
        durable::sync_dir(&dir, opts.fsync)?;
    }
    Ok(report)
}
