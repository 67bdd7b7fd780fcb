//! Errors, one type per operation. Every I/O failure names what was being done and the path.

use std::io;
use std::path::PathBuf;

/// A failed operating-system call on a file or directory of the log.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot {op} {path}: {message}")]
pub struct IoFailure {
    /// What was being done (`write`, `fdatasync`, `rename`, ...).
    pub op: &'static str,
    /// The file or directory.
    pub path: PathBuf,
    /// The kind of the underlying error.
    pub kind: io::ErrorKind,
    /// The underlying error's text.
    pub message: String,
}

impl IoFailure {
    pub(crate) fn new(op: &'static str, path: impl Into<PathBuf>, err: &io::Error) -> Self {
        IoFailure {
            op,
            path: path.into(),
            kind: err.kind(),
            message: err.to_string(),
        }
    }

    /// Whether the disk (or a quota, or a file-size limit) is full: a condition that clears by
    /// itself once space returns, so the caller should answer "retry later" (503).
    pub fn is_disk_full(&self) -> bool {
        matches!(
            self.kind,
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge
        )
    }
}

/// [`WalOptions::builder`](crate::WalOptions::builder) refused a setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("wal option `{option}`: {problem}")]
pub struct ConfigError {
    /// The option's name.
    pub option: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// [`Wal::open`](crate::Wal::open) failed: nothing was changed in a way that loses data.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Another process (or another `Wal` in this one) holds the directory's lock.
    #[error("write-ahead log {dir} is in use by another instance (lock file {lock})")]
    Locked {
        /// The log directory.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The directory cannot be created, read or written.
    #[error(transparent)]
    Io(#[from] IoFailure),
}

/// [`Wal::append`](crate::Wal::append) refused a record at once. Nothing was stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// The log holds `max_bytes` already: the same backpressure as a full lane (503 /
    /// UNAVAILABLE). Room returns when every cursor has moved past the oldest segment.
    #[error("write-ahead log full: {used} of {max} bytes in use, record needs {needed}")]
    Full {
        /// Bytes in use (segments on disk and records waiting for their fsync).
        used: u64,
        /// The bound.
        max: u64,
        /// What this record would take (payload and frame).
        needed: u64,
    },
    /// The record is larger than `max_record_bytes` (a permanent refusal: 413).
    #[error("record of {len} bytes exceeds max_record_bytes ({max})")]
    TooLarge {
        /// The payload length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The log was closed (shutdown).
    #[error("write-ahead log closed")]
    Closed,
}

/// A record that was taken by [`Wal::append`](crate::Wal::append) but could not be made durable:
/// it is in no segment, and will not appear after a restart. The caller answers 503.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TicketError {
    /// Writing or syncing the segment failed (disk full: see [`IoFailure::is_disk_full`]).
    /// The partial write was cut back; records acknowledged earlier are untouched.
    #[error("record not written: {0}")]
    Io(IoFailure),
    /// The committer stopped before it could write the record (it panicked, or the log was
    /// dropped while the record waited).
    #[error("record not written: the write-ahead log's committer stopped")]
    Stopped,
}

impl TicketError {
    /// Whether the failure is a full disk (retry later) rather than a broken one.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, TicketError::Io(io) if io.is_disk_full())
    }
}

/// [`Wal::cursor`](crate::Wal::cursor) or [`Wal::drop_cursor`](crate::Wal::drop_cursor) failed.
#[derive(Debug, thiserror::Error)]
pub enum CursorError {
    /// The name is not 1 to 64 of `[A-Za-z0-9._-]` (not starting with a dot).
    #[error("invalid cursor name {0:?}: use 1 to 64 of [A-Za-z0-9._-], not starting with '.'")]
    BadName(String),
    /// A live [`Cursor`](crate::Cursor) of that name exists already.
    #[error("cursor {0:?} is open already")]
    InUse(String),
    /// Creating, reading or removing the cursor file failed.
    #[error(transparent)]
    Io(#[from] IoFailure),
}

/// [`Cursor::next_record`](crate::Cursor::next_record) could not return a record.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Reading a segment failed.
    #[error(transparent)]
    Io(#[from] IoFailure),
    /// A record failed its checksum after start-up (damage on disk since it was written). The
    /// damaged bytes were skipped and counted: the next call goes on after them.
    #[error("damaged record in {path} at offset {offset}: {skipped_bytes} bytes skipped")]
    Corrupt {
        /// The segment.
        path: PathBuf,
        /// Where the damage starts.
        offset: u64,
        /// How many bytes were skipped to the next good record (or the end of the segment).
        skipped_bytes: u64,
    },
}

/// [`Cursor::commit`](crate::Cursor::commit) or [`Cursor::skip_to`](crate::Cursor::skip_to)
/// refused or failed. The cursor's durable position is what it was before the call.
#[derive(Debug, thiserror::Error)]
pub enum PositionError {
    /// A position below the durable one: cursors only move forward.
    #[error("position {lsn} is behind the cursor's durable position {current}")]
    Backwards {
        /// The position asked for.
        lsn: u64,
        /// The durable position.
        current: u64,
    },
    /// `commit` of a position the cursor has not read up to yet (use `skip_to` to skip).
    #[error("position {lsn} is past what the cursor has read ({read})")]
    Unread {
        /// The position asked for.
        lsn: u64,
        /// The highest LSN the cursor has read or passed.
        read: u64,
    },
    /// `skip_to` a position past the last durable record.
    #[error("position {lsn} is past the last durable record ({durable})")]
    Beyond {
        /// The position asked for.
        lsn: u64,
        /// The last durable LSN.
        durable: u64,
    },
    /// The payload exceeds [`MAX_CURSOR_PAYLOAD`](crate::MAX_CURSOR_PAYLOAD).
    #[error("cursor payload of {len} bytes exceeds {max}")]
    PayloadTooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Writing the cursor file failed (disk full: see [`IoFailure::is_disk_full`]).
    #[error(transparent)]
    Io(#[from] IoFailure),
    /// Counting the skipped records failed while reading the log.
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// [`Wal::close`](crate::Wal::close) could not finish cleanly.
#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    /// The committer thread panicked; records it had not written failed their tickets.
    #[error("the write-ahead log's committer thread panicked")]
    CommitterPanicked,
}
