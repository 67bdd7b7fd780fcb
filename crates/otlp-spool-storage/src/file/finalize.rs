//! Caller-driven finalization ([`Finalization::Caller`](super::Finalization::Caller)): the
//! finalize hook a caller sets on a writer, and the two start-up operations it resolves its
//! leftover temporary files with.
//!
//! Invariants:
//! - the hook runs only once the temporary file is complete (end-of-stream written) and
//!   fsynced, and before the rename or Parquet encoding that publishes it: whatever the hook
//!   records, a crash after it finds either the final file or its complete temporary file;
//! - [`finish_temp`] publishes exactly the named file (its complete batches) and is
//!   idempotent: a final file already there is left as it is (its stale temporary copy, if
//!   any, removed);
//! - [`remove_temps`] removes only temporary and partial files of one signal, each with a log
//!   line, and fsyncs the directory after.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::durable;
use super::error::FileError;
use super::name::{FileName, Kind, list_entries};
use super::options::StoreOptions;
use super::recovery::{self, RecoveryReport};
use crate::Signal;

/// What a finalize hook is told about the file about to be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalizeInfo {
    /// The signal.
    pub signal: Signal,
    /// The path the file will have once finalized (`.arrow` or `.parquet`).
    pub final_path: PathBuf,
    /// Rows in the file.
    pub rows: u64,
    /// Bytes of its (IPC) temporary file.
    pub bytes: u64,
}

/// Called between "temporary file complete and synced" and "rename" (see
/// [`Finalization::Caller`](super::Finalization::Caller)). An `Err` keeps the file temporary
/// and the finalization is retried later, hook first.
pub type FinalizeHook = Arc<dyn Fn(&FinalizeInfo) -> Result<(), String> + Send + Sync>;

/// What [`FileStore::finish_temp`](super::FileStore::finish_temp) found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TempOutcome {
    /// The final file was already there.
    AlreadyFinal(PathBuf),
    /// The temporary file was published now (under this path).
    Finished(PathBuf),
    /// Neither the final nor the temporary file exists (deleted since, by retention say).
    Absent,
}

/// Publishes the temporary file of `final_name` (see [`TempOutcome`]).
pub(crate) fn finish_temp(
    opts: &StoreOptions,
    signal: Signal,
    final_name: &str,
    report: &mut RecoveryReport,
) -> Result<TempOutcome, FileError> {
    let root = &opts.dir;
    let dir = root.join(signal.as_str());
    let bad = || FileError::BadName {
        path: dir.join(final_name),
    };
    let name = match FileName::parse(signal, final_name) {
        Some((name, Kind::Final)) => name,
        _ => return Err(bad()),
    };
    let final_path = dir.join(name.final_name());
    let temp = dir.join(name.temp_name());
    if final_path.exists() {
        if temp.exists() {
            // Published, then the process stopped before removing the source (Parquet).
            remove_logged(&temp, "its final file exists")?;
            durable::sync_dir(&dir, opts.fsync)?;
        }
        return Ok(TempOutcome::AlreadyFinal(final_path));
    }
    if !temp.exists() {
        return Ok(TempOutcome::Absent);
    }
    let part = dir.join(name.part_name());
    if part.exists() {
        remove_logged(
            &part,
            "an interrupted partial copy; its source is published again",
        )?;
    }
    recovery::recover_temp(root, name, None, opts, report)?;
    if final_path.exists() {
        Ok(TempOutcome::Finished(final_path))
    } else {
        // Nothing complete in it (it was quarantined or held no batch): report the state.
        Ok(TempOutcome::Absent)
    }
}

/// Publishes every temporary file of `signal` as start-up recovery does under
/// `Finalization::Store`; returns the files published.
pub(crate) fn finish_temps(
    opts: &StoreOptions,
    signal: Signal,
    report: &mut RecoveryReport,
) -> Result<Vec<PathBuf>, FileError> {
    let dir = opts.dir.join(signal.as_str());
    let mut temps = Vec::new();
    for (_, parsed) in list_entries(&dir, signal).map_err(|e| FileError::io("list", &dir, e))? {
        if let Some((name, Kind::Temp)) = parsed {
            temps.push(name);
        }
    }
    temps.sort_by_key(|n| (n.unix_secs, n.seq));
    let before = report.recovered_files.len();
    for name in temps {
        recovery::recover_temp(&opts.dir, name, None, opts, report)?;
    }
    Ok(report.recovered_files[before..].to_vec())
}

/// Removes every temporary and partial file of `signal`; returns their paths.
pub(crate) fn remove_temps(opts: &StoreOptions, signal: Signal) -> Result<Vec<PathBuf>, FileError> {
    let dir = opts.dir.join(signal.as_str());
    let mut removed = Vec::new();
    for (path, parsed) in list_entries(&dir, signal).map_err(|e| FileError::io("list", &dir, e))? {
        if let Some((_, Kind::Temp | Kind::Part)) = parsed {
            remove_logged(&path, "its records are written again by the caller")?;
            removed.push(path);
        }
    }
    if !removed.is_empty() {
        durable::sync_dir(&dir, opts.fsync)?;
    }
    Ok(removed)
}

/// Removes `path` (already gone is fine) with a log line.
pub(crate) fn remove_logged(path: &Path, why: &str) -> Result<(), FileError> {
    tracing::info!(path = %path.display(), why, "otlp-spool: removing a temporary file");
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(FileError::io("remove", path, e)),
    }
}
