//! An exclusive lock on a file, held until dropped: what keeps several test binaries (of this
//! workspace or of another checkout sharing the target dir or the venv) from building or
//! installing into the same place at once. `std::fs::File::lock` (`flock` on Linux): two opens
//! of the same path conflict even inside one process, and the kernel drops the lock when its
//! holder dies, so a crashed test leaves nothing to clean up.

use std::fs::{File, OpenOptions};
use std::path::Path;

/// Holds the lock on its file until dropped.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Creates `path` (and its parent folders) if needed and waits for its exclusive lock.
    ///
    /// # Panics
    /// When the file cannot be created or locked: a test cannot go on without it.
    pub fn acquire(path: &Path) -> Self {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .unwrap_or_else(|e| panic!("cannot open the lock file {}: {e}", path.display()));
        file.lock()
            .unwrap_or_else(|e| panic!("cannot lock {}: {e}", path.display()));
        Self { _file: file }
    }
}
