//! Which files of a spool directory the viewer reads: the finalized files of a signal (through
//! `otlp_spool_storage::FileReader`, which takes no lock) and the *active* ones, the
//! `.<name>.tmp` Arrow IPC streams a writer is appending to (or a crash left behind), whose
//! complete record batches are already on disk. Quarantined files are listed, never read.
//!
//! Invariants: nothing here writes, locks or renames; a file that disappears between the
//! listing and the read (retention, or a temporary file being renamed into place) is skipped or
//! found again under its final name, never reported as an error; a temporary file whose final
//! name is already listed is dropped, so no batch is counted twice.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use otlp_spool_storage::{FileReader, Format, QUARANTINE_DIR, Signal};

use crate::error::ViewerError;
use crate::time::parse_compact_utc;

/// Whether a file is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Renamed into place: complete and immutable.
    Finalized,
    /// A `.tmp` stream: being written by a live instance, or left by a crash for the next
    /// start's recovery. Its complete batches are read; a torn tail is ignored.
    Active,
    /// Not a file: the requests still in a live instance's lanes, converted in memory (a
    /// snapshot taken by the query; see `Pending::peek`).
    Pending,
}

/// Record batches held in memory (the lanes' snapshot); equal only to themselves.
#[derive(Clone)]
pub(crate) struct InMemory(pub(crate) std::sync::Arc<Vec<arrow_array::RecordBatch>>);

impl PartialEq for InMemory {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for InMemory {}

impl std::fmt::Debug for InMemory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InMemory({} batches)", self.0.len())
    }
}

/// One spool file of one signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolFile {
    /// Full path.
    pub path: PathBuf,
    /// The final name (for an active file, the name it will get).
    pub name: String,
    /// Its signal.
    pub signal: Signal,
    /// When it was opened (the stamp in its name), in nanoseconds since the epoch.
    pub opened_at: u64,
    /// The sequence number in its name.
    pub seq: u64,
    /// Arrow IPC or Parquet (active files are always Arrow IPC streams).
    pub format: Format,
    /// Size in bytes when listed.
    pub bytes: u64,
    /// Finalized, active, or the lanes' pending requests.
    pub state: FileState,
    /// The batches of a [`FileState::Pending`] entry.
    pub(crate) memory: Option<InMemory>,
}

/// A file under `<dir>/quarantine/<signal>/`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QuarantinedFile {
    /// Full path.
    pub path: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
}

/// Parses `<signal>-<yyyymmddThhmmssZ>-<seq>.<arrow|parquet>` into (opened_at secs, seq, format).
fn parse_final_name(signal: Signal, name: &str) -> Option<(u64, u64, Format)> {
    let (stem, format) = if let Some(s) = name.strip_suffix(".arrow") {
        (s, Format::Arrow)
    } else {
        (name.strip_suffix(".parquet")?, Format::Parquet)
    };
    let rest = stem.strip_prefix(signal.as_str())?.strip_prefix('-')?;
    let (stamp, seq) = rest.split_once('-')?;
    if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((parse_compact_utc(stamp)?, seq.parse().ok()?, format))
}

/// The files of `signal` under the output directory `root`, newest first (by the time in the
/// name, then the sequence number). `include_active` adds the `.tmp` streams.
pub fn list_files(
    root: &Path,
    signal: Signal,
    include_active: bool,
) -> Result<Vec<SpoolFile>, ViewerError> {
    let dir = root.join(signal.as_str());
    // Temporary files first: one renamed between the two listings then shows up in both, and the
    // final name wins below; listing them second could miss it in both.
    let mut active = Vec::new();
    if include_active {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => Some(e),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(ViewerError::io("list", &dir, e)),
        };
        for entry in entries.into_iter().flatten().flatten() {
            let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let Some(name) = file_name
                .strip_prefix('.')
                .and_then(|n| n.strip_suffix(".tmp"))
            else {
                continue;
            };
            let Some((secs, seq, _)) = parse_final_name(signal, name) else {
                continue;
            };
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            active.push(SpoolFile {
                path: entry.path(),
                name: name.to_owned(),
                signal,
                opened_at: secs.saturating_mul(1_000_000_000),
                seq,
                // The temporary stream of a Parquet file is Arrow IPC too.
                format: Format::Arrow,
                bytes: meta.len(),
                state: FileState::Active,
                memory: None,
            });
        }
    }
    let finalized = FileReader::new(root, signal)
        .files()
        .map_err(|e| ViewerError::Read(e.to_string()))?;
    let mut names = HashSet::with_capacity(finalized.len());
    let mut files: Vec<SpoolFile> = finalized
        .into_iter()
        .filter_map(|f| {
            let name = f.path.file_name()?.to_str()?.to_owned();
            names.insert(name.clone());
            Some(SpoolFile {
                opened_at: crate::time::unix_nanos(f.opened_at),
                path: f.path,
                name,
                signal,
                seq: f.seq,
                format: f.format,
                bytes: f.bytes,
                state: FileState::Finalized,
                memory: None,
            })
        })
        .collect();
    files.extend(active.into_iter().filter(|a| !names.contains(&a.name)));
    files.sort_by_key(|f| std::cmp::Reverse((f.opened_at, f.seq)));
    Ok(files)
}

/// The quarantined files of `signal`, by name.
pub fn list_quarantined(root: &Path, signal: Signal) -> Result<Vec<QuarantinedFile>, ViewerError> {
    let dir = root.join(QUARANTINE_DIR).join(signal.as_str());
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ViewerError::io("list", &dir, e)),
    };
    let mut files: Vec<QuarantinedFile> = entries
        .flatten()
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            meta.is_file().then(|| QuarantinedFile {
                path: e.path(),
                bytes: meta.len(),
            })
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_names() {
        assert_eq!(
            parse_final_name(Signal::Traces, "traces-20251203T000000Z-000007.arrow"),
            Some((1_764_720_000, 7, Format::Arrow))
        );
        assert_eq!(
            parse_final_name(Signal::Logs, "logs-20251203T000000Z-000001.parquet"),
            Some((1_764_720_000, 1, Format::Parquet))
        );
        for bad in [
            "logs-20251203T000000Z-000001.parquet.part",
            "traces-20251203T000000Z-.arrow",
            "metrics-20251203T000000Z-000001.arrow",
            "traces-2025-000001.arrow",
        ] {
            assert_eq!(parse_final_name(Signal::Traces, bad), None, "{bad}");
        }
    }
}
