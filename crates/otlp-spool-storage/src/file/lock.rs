//! The output directory's lock file. One process (one `FileStore`) owns a directory: the lock is
//! an exclusive advisory lock (`File::try_lock`, `flock` on Unix) on `<dir>/.otlp-spool.lock`,
//! held for the store's lifetime and released by the OS when the process dies, so a stale lock
//! file from a crash never blocks a restart. The file itself is never deleted.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::{FileError, OpenError};

/// File name of the lock file inside the output directory.
pub const LOCK_FILE_NAME: &str = ".otlp-spool.lock";

/// An acquired directory lock; released on drop.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock of `dir` (which must exist) or fails with [`OpenError::Locked`].
    pub(crate) fn acquire(dir: &Path) -> Result<DirLock, OpenError> {
        let path: PathBuf = dir.join(LOCK_FILE_NAME);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| FileError::io("open lock file", &path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(OpenError::Locked {
                    dir: dir.to_path_buf(),
                    lock: path,
                });
            }
            Err(TryLockError::Error(e)) => return Err(FileError::io("lock", &path, e).into()),
        }
        // Informational only: who holds the lock.
        let _ = file.set_len(0);
        let _ = writeln!(file, "pid {}", std::process::id());
        Ok(DirLock { _file: file })
    }
}
