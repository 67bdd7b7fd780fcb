//! The uploader's durable state in the output directory: the instance id
//! (`.otlp-spool-instance-id`) and the manifest of uploaded files (`.otlp-spool-uploaded`).
//!
//! Invariants:
//! - The instance id file is created once, by rename of a synced temporary file (then the
//!   directory is synced), and never rewritten; an operator may put their own id in it before
//!   the first start.
//! - The manifest is append-only while running: one line `<signal>/<file name>\n` per file
//!   whose upload was confirmed, synced (`fdatasync`) before the file counts as uploaded
//!   anywhere (retention guard, `delete_after_upload`). A crash can only leave a torn last line
//!   (no newline), which is ignored.
//! - At open, entries whose local file is gone and torn lines are compacted away by writing a
//!   new manifest and renaming it over the old one (synced, then the directory synced), so the
//!   manifest stays as small as the directory.
//! - Both names start with a dot and sit beside `traces/`, `metrics/`, `logs/`: no storage
//!   reader, retention or recovery pass ever looks at them.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::StartError;

/// Name of the instance id file in the output directory.
pub const INSTANCE_ID_FILE: &str = ".otlp-spool-instance-id";
/// Name of the upload manifest in the output directory.
pub const MANIFEST_FILE: &str = ".otlp-spool-uploaded";

const MANIFEST_HEADER: &str =
    "# otlp-spool upload manifest v1: <signal>/<file name> per uploaded file\n";

/// Reads the instance id of `dir`, creating it on first use.
pub(crate) fn instance_id(dir: &Path) -> Result<String, StartError> {
    let path = dir.join(INSTANCE_ID_FILE);
    let io = |what, source| StartError::State {
        what,
        path: path.clone(),
        source,
    };
    match fs::read_to_string(&path) {
        Ok(text) => {
            let id = text.trim();
            if valid_instance_id(id) {
                Ok(id.to_owned())
            } else {
                Err(StartError::BadInstanceId {
                    path: path.clone(),
                    found: id.chars().take(80).collect(),
                })
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut hasher = std::hash::RandomState::new().build_hasher();
            hasher.write_u32(std::process::id());
            let id = format!("{:016x}", hasher.finish());
            write_atomically(dir, &path, format!("{id}\n").as_bytes())
                .map_err(|e| io("creating the instance id", e))?;
            tracing::info!(instance_id = %id, path = %path.display(), "upload: new instance id");
            Ok(id)
        }
        Err(e) => Err(io("reading the instance id", e)),
    }
}

/// 1 to 64 characters of `A-Z a-z 0-9 . _ -`, not starting with `.` or `_` (so an object
/// key's last segment never looks hidden to a dataset reader).
pub(crate) fn valid_instance_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && !id.starts_with(['.', '_'])
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Writes `bytes` to `path` through a synced temporary file and a rename; syncs `dir`.
fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

/// The append-only manifest of uploaded files.
#[derive(Debug)]
pub(crate) struct Manifest {
    path: PathBuf,
    file: File,
}

impl Manifest {
    /// Opens (or creates) the manifest of `dir`; returns it with the recorded entries whose
    /// local file still exists, after compacting away the others.
    pub(crate) fn open(dir: &Path) -> Result<(Manifest, HashSet<String>), StartError> {
        let path = dir.join(MANIFEST_FILE);
        let io = |what, source| StartError::State {
            what,
            path: path.clone(),
            source,
        };
        let text = match fs::read(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io("reading the upload manifest", e)),
        };
        let mut kept = HashSet::new();
        let mut dropped = 0usize;
        let complete = match text.rfind('\n') {
            Some(end) => &text[..=end],
            None => "",
        };
        let torn = complete.len() != text.len();
        for line in complete.lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if entry_is_valid(line) && dir.join(line).is_file() {
                kept.insert(line.to_owned());
            } else {
                dropped += 1;
            }
        }
        if torn || dropped > 0 || text.is_empty() {
            let mut body = String::from(MANIFEST_HEADER);
            let mut sorted: Vec<&String> = kept.iter().collect();
            sorted.sort();
            for entry in sorted {
                body.push_str(entry);
                body.push('\n');
            }
            write_atomically(dir, &path, body.as_bytes())
                .map_err(|e| io("compacting the upload manifest", e))?;
            if torn || dropped > 0 {
                tracing::info!(
                    kept = kept.len(),
                    dropped,
                    torn,
                    "upload: manifest compacted"
                );
            }
        }
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| io("opening the upload manifest", e))?;
        Ok((Manifest { path, file }, kept))
    }

    /// Appends `entry` (`<signal>/<file name>`) and syncs it.
    pub(crate) fn record(&mut self, entry: &str) -> std::io::Result<()> {
        let mut line = String::with_capacity(entry.len() + 1);
        line.push_str(entry);
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.sync_data()
    }

    /// The manifest's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// `<signal>/<name>` with a known signal folder and a plain file name.
fn entry_is_valid(line: &str) -> bool {
    match line.split_once('/') {
        Some((signal, name)) => {
            ["traces", "metrics", "logs"].contains(&signal)
                && !name.is_empty()
                && !name.contains(['/', '\\'])
                && !name.starts_with('.')
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_id_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let first = instance_id(dir.path()).unwrap();
        assert!(valid_instance_id(&first), "{first}");
        assert_eq!(instance_id(dir.path()).unwrap(), first);
        fs::write(dir.path().join(INSTANCE_ID_FILE), "edge-eu-1\n").unwrap();
        assert_eq!(instance_id(dir.path()).unwrap(), "edge-eu-1");
        fs::write(dir.path().join(INSTANCE_ID_FILE), "../evil").unwrap();
        let err = instance_id(dir.path()).unwrap_err();
        assert!(matches!(err, StartError::BadInstanceId { .. }), "{err}");
    }

    #[test]
    fn manifest_survives_torn_lines_and_compacts() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("traces")).unwrap();
        for name in ["a.parquet", "b.parquet"] {
            fs::write(dir.path().join("traces").join(name), b"x").unwrap();
        }
        {
            let (mut m, entries) = Manifest::open(dir.path()).unwrap();
            assert!(entries.is_empty());
            m.record("traces/a.parquet").unwrap();
            m.record("traces/gone.parquet").unwrap();
        }
        // A crash in the middle of an append leaves a torn line.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join(MANIFEST_FILE))
            .unwrap();
        f.write_all(b"traces/b.par").unwrap();
        drop(f);
        let (_m, entries) = Manifest::open(dir.path()).unwrap();
        assert_eq!(
            entries,
            HashSet::from(["traces/a.parquet".to_owned()]),
            "the torn line and the entry of a deleted file are gone"
        );
        let text = fs::read_to_string(dir.path().join(MANIFEST_FILE)).unwrap();
        assert_eq!(text, format!("{MANIFEST_HEADER}traces/a.parquet\n"));
    }
}
