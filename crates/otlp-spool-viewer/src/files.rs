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

/// The files of `signal` under the output directory `root`, newest first (by the time in the
/// name, then the sequence number). `include_active` adds the `.tmp` streams.
pub fn list_files(
    root: &Path,
    signal: Signal,
    include_active: bool,
) -> Result<Vec<SpoolFile>, ViewerError> {
    let reader = FileReader::new(root, signal);
    let read_error = |e: otlp_spool_storage::ReadError| ViewerError::Read(e.to_string());
    // Temporary files first: one renamed between the two listings then shows up in both, and the
    // final name wins below; listing them second could miss it in both.
    let mut active = Vec::new();
    if include_active {
        for f in reader.temp_files().map_err(read_error)? {
            // `.<final name>.tmp`: storage listed it by that very shape.
            let Some(name) = f
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix('.')?.strip_suffix(".tmp"))
                .map(str::to_owned)
            else {
                continue;
            };
            active.push(SpoolFile {
                opened_at: crate::time::unix_nanos(f.opened_at),
                path: f.path,
                name,
                signal,
                seq: f.seq,
                // The temporary stream of a Parquet file is Arrow IPC too.
                format: Format::Arrow,
                bytes: f.bytes,
                state: FileState::Active,
                memory: None,
            });
        }
    }
    let finalized = reader.files().map_err(read_error)?;
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

    /// The names come from storage's one parser: an active `.tmp` stream is listed under the
    /// name it will get, its stamp read from the name; other kinds, other signals and names that
    /// are not spool names are not listed; a stream whose final name is there already is not
    /// listed twice.
    #[test]
    fn active_streams_are_listed_by_storage_names() {
        let dir = tempfile::tempdir().unwrap();
        let traces = dir.path().join("traces");
        std::fs::create_dir_all(&traces).unwrap();
        for name in [
            ".traces-20251203T000000Z-000007.parquet.tmp",
            ".traces-20251203T000000Z-000008.arrow.tmp",
            "traces-20251203T000000Z-000008.arrow",
            ".traces-20251203T000000Z-000009.parquet.part",
            ".metrics-20251203T000000Z-000001.arrow.tmp",
            ".traces-20250230T000000Z-000002.arrow.tmp",
            ".traces-2025-000001.arrow.tmp",
        ] {
            std::fs::write(traces.join(name), b"x").unwrap();
        }
        let files = list_files(dir.path(), Signal::Traces, true).unwrap();
        let seen: Vec<_> = files
            .iter()
            .map(|f| (f.name.as_str(), f.seq, f.format, f.state, f.opened_at))
            .collect();
        let at = 1_764_720_000 * 1_000_000_000;
        assert_eq!(
            seen,
            [
                (
                    "traces-20251203T000000Z-000008.arrow",
                    8,
                    Format::Arrow,
                    FileState::Finalized,
                    at
                ),
                (
                    "traces-20251203T000000Z-000007.parquet",
                    7,
                    Format::Arrow,
                    FileState::Active,
                    at
                ),
            ]
        );
        assert!(
            files[1]
                .path
                .ends_with(".traces-20251203T000000Z-000007.parquet.tmp")
        );
        assert_eq!(
            list_files(dir.path(), Signal::Traces, false).unwrap().len(),
            1
        );
    }
}
