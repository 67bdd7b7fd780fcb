//! Making creations, renames and deletions survive power loss: file and directory fsyncs,
//! and the write-new-then-rename of small state files.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::error::IoFailure;
use crate::failpoint;

/// fsyncs a directory, so that a create, rename or unlink inside it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), IoFailure> {
    let d = File::open(dir).map_err(|e| IoFailure::new("open directory", dir, &e))?;
    d.sync_all()
        .map_err(|e| IoFailure::new("fsync directory", dir, &e))
}

/// Creates `dir` (and its parents) if missing, fsyncing the parent of each one created.
pub(crate) fn create_dir(dir: &Path) -> Result<(), IoFailure> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(IoFailure::new("create directory", dir, &e)),
    }
    match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

/// Replaces `path` with `bytes` atomically and durably: write `temp`, fsync it, rename it over
/// `path`, fsync the directory. On failure `path` keeps its old content or is absent (a
/// leftover `temp` is removed when possible, and at the next open otherwise). Returns the
/// fsyncs it made.
pub(crate) fn replace_file(
    dir: &Path,
    temp: &Path,
    path: &Path,
    bytes: &[u8],
) -> Result<u64, IoFailure> {
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(temp)
            .map_err(|e| IoFailure::new("create", temp, &e))?;
        f.write_all(bytes)
            .map_err(|e| IoFailure::new("write", temp, &e))?;
        failpoint::hit("replace.temp_written");
        f.sync_all()
            .map_err(|e| IoFailure::new("fsync", temp, &e))?;
        failpoint::hit("replace.temp_synced");
        fs::rename(temp, path).map_err(|e| IoFailure::new("rename", temp, &e))
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(temp);
        return Err(e);
    }
    failpoint::hit("replace.renamed");
    sync_dir(dir)?;
    failpoint::hit("replace.dir_synced");
    Ok(2)
}
