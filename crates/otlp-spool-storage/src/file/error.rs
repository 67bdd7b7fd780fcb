//! Errors of the files part, one type per operation. Every I/O failure names the path it
//! happened on; a failed write hands its batch back ([`WriteError::into_batch`]).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::ArrowError;
use parquet::errors::ParquetError;

/// A failure on a file or directory of the spool (write, rotate, retention, recovery).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// An operating-system error (disk full, permission denied, path is a file, ...).
    #[error("cannot {op} {path}: {source}")]
    Io {
        /// What was being done (`create`, `write`, `rename`, ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Arrow IPC encoding or decoding failed.
    #[error("arrow ipc error on {path}: {source}")]
    Arrow {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: ArrowError,
    },
    /// Parquet encoding or decoding failed.
    #[error("parquet error on {path}: {source}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: ParquetError,
    },
    /// The caller's finalize hook refused (or failed) to let a file be finalized; the file
    /// stays temporary, complete and synced, and finalization is retried.
    #[error("the finalize hook failed for {path}: {message}")]
    Hook {
        /// The final path the file was to get.
        path: PathBuf,
        /// The hook's error.
        message: String,
    },
    /// A file name given to the store is not one of its names.
    #[error("{path} is not an otlp-spool file name of this signal")]
    BadName {
        /// The name.
        path: PathBuf,
    },
}

impl FileError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        FileError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Wraps an Arrow error, keeping an underlying I/O error visible as [`FileError::Io`].
    pub(crate) fn arrow(op: &'static str, path: impl Into<PathBuf>, source: ArrowError) -> Self {
        match source {
            ArrowError::IoError(_, io) => FileError::io(op, path, io),
            source => FileError::Arrow {
                path: path.into(),
                source,
            },
        }
    }

    pub(crate) fn parquet(
        op: &'static str,
        path: impl Into<PathBuf>,
        source: ParquetError,
    ) -> Self {
        match source {
            ParquetError::External(e) => match e.downcast::<io::Error>() {
                Ok(io) => FileError::io(op, path, *io),
                Err(e) => FileError::Parquet {
                    path: path.into(),
                    source: ParquetError::External(e),
                },
            },
            source => FileError::Parquet {
                path: path.into(),
                source,
            },
        }
    }

    /// The file or directory the error happened on.
    pub fn path(&self) -> &Path {
        match self {
            FileError::Io { path, .. }
            | FileError::Arrow { path, .. }
            | FileError::Parquet { path, .. }
            | FileError::Hook { path, .. }
            | FileError::BadName { path } => path,
        }
    }

    /// The I/O error kind, if this is an I/O error (for example `StorageFull`,
    /// `PermissionDenied`).
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            FileError::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }
}

/// [`FileStore::open`](super::FileStore::open) failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Another process (or another `FileStore` in this one) holds the directory's lock file.
    #[error(
        "output directory {dir} is already in use by another otlp-spool instance (lock file {lock} is held); stop it or choose another directory"
    )]
    Locked {
        /// The output directory.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The directory could not be created, locked or recovered.
    #[error(transparent)]
    File(#[from] FileError),
}

/// Why a write failed; see [`WriteError`].
#[derive(Debug, thiserror::Error)]
pub enum WriteErrorKind {
    /// The file could not be created or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// The store was closed.
    #[error("the file store is closed")]
    Closed,
}

/// A batch that could not be written, handed back to the caller with the reason.
///
/// The batch is in no file (the writer cut the failed bytes off), so the caller can retry it
/// once the condition (disk full, permissions) clears: the writer stays usable and the next
/// write opens a fresh file.
#[derive(thiserror::Error)]
#[error("cannot write batch of {rows} rows: {kind}", rows = batch.num_rows())]
pub struct WriteError {
    #[source]
    kind: WriteErrorKind,
    batch: RecordBatch,
}

impl fmt::Debug for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteError")
            .field("kind", &self.kind)
            .field("batch_rows", &self.batch.num_rows())
            .finish()
    }
}

impl WriteError {
    pub(crate) fn new(kind: impl Into<WriteErrorKind>, batch: RecordBatch) -> Self {
        Self {
            kind: kind.into(),
            batch,
        }
    }
    /// Why the write failed.
    pub fn kind(&self) -> &WriteErrorKind {
        &self.kind
    }
    /// The path involved, if the failure was on a file.
    pub fn path(&self) -> Option<&Path> {
        match &self.kind {
            WriteErrorKind::File(e) => Some(e.path()),
            WriteErrorKind::Closed => None,
        }
    }
    /// The batch that was not written.
    pub fn batch(&self) -> &RecordBatch {
        &self.batch
    }
    /// Takes the batch back, to retry it or spill it elsewhere.
    pub fn into_batch(self) -> RecordBatch {
        self.batch
    }
    /// Splits into the reason and the batch.
    pub fn into_parts(self) -> (WriteErrorKind, RecordBatch) {
        (self.kind, self.batch)
    }
}

/// Reading finalized files failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Listing or reading a file failed.
    #[error(transparent)]
    File(#[from] FileError),
    /// A batch could not be turned back into an OTLP request.
    #[error("cannot convert a batch of {path} to OTLP: {source}")]
    Convert {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: crate::convert::ConvertError,
    },
}
