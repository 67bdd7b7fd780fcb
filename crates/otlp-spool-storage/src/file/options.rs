//! Options of a [`FileStore`](super::FileStore): output directory, format, compression, fsync
//! policy, rotation and retention. Built with [`StoreOptions::builder`], validated in
//! [`StoreOptionsBuilder::build`]; an invalid combination never reaches the writer.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use super::clock::{Clock, SystemClock};

/// The on-disk format of finalized files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Arrow IPC **stream** format, extension `.arrow` (the default).
    #[default]
    Arrow,
    /// Apache Parquet, extension `.parquet`. Batches are spooled to an Arrow IPC temporary file
    /// (so crash recovery is the same as for `Arrow`) and encoded to Parquet when the file is
    /// finalized.
    Parquet,
}

impl Format {
    /// The file extension without the dot: `arrow` or `parquet`.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Arrow => "arrow",
            Format::Parquet => "parquet",
        }
    }
}

/// Body compression: Arrow IPC buffer compression, or the Parquet column codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// No compression (the default).
    #[default]
    None,
    /// Zstandard at level 1 (IPC `ZSTD`, Parquet `ZSTD`).
    Zstd,
    /// LZ4 (IPC `LZ4_FRAME`, Parquet `LZ4_RAW`).
    Lz4,
}

/// Who decides when files are finalized and what becomes of the temporary files a crash left.
///
/// `Store` (the default) is the store on its own: it rotates by size and age, a failed write
/// publishes the complete prefix of its file, and start-up recovery publishes every leftover
/// temporary file. `Caller` is for a caller that can replay what it wrote from its own log
/// (otlp-spool's `durability: wal`), so it can make files exactly once:
/// - the store never rotates by itself (`max_file_bytes`, `max_file_age` are not applied:
///   the caller reads [`SignalWriter::active_file`](super::SignalWriter::active_file) and calls
///   [`SignalWriter::rotate`](super::SignalWriter::rotate) between its records);
/// - start-up recovery leaves temporary files where they are (the caller finishes one with
///   [`FileStore::finish_temp`](super::FileStore::finish_temp) and removes the others with
///   [`FileStore::remove_temps`](super::FileStore::remove_temps));
/// - a failed write removes the active temporary file instead of publishing its prefix
///   (the caller writes its records again);
/// - the fsync policy is at least `OnRotate`;
/// - a file is finalized through the writer's finalize hook
///   ([`SignalWriter::set_finalize_hook`](super::SignalWriter::set_finalize_hook)), called
///   once the temporary file is complete and fsynced, before its rename (or Parquet encoding);
///   a finalization that failed is retried (hook first, if it had not succeeded) by the next
///   `rotate` or `tick`, and the store writes nothing else meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Finalization {
    /// The store rotates and recovers on its own (the default).
    #[default]
    Store,
    /// The caller rotates and resolves temporary files (see the type's docs).
    Caller,
}

/// When written bytes are forced to stable storage with `fsync`.
///
/// Whatever the policy, a *process* crash loses nothing that a `write` call accepted: the bytes
/// are in the operating system's page cache and the next start recovers the temporary file.
/// The policies differ in what an *operating-system crash or power loss* can cost:
///
/// | policy | cost | what power loss can do |
/// |---|---|---|
/// | `None` | no fsync at all | lose the active file, and even leave *finalized* files empty or cut (the rename may reach the disk before the data); such files are then unreadable |
/// | `OnRotate` (default) | one fsync of the file and one of the directory per finalized file | lose the batches of the active (temporary) file only; finalized files are complete |
/// | `EveryBatch` | an fsync after every batch | lose at most the batch being written |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FsyncPolicy {
    /// Never call fsync.
    None,
    /// fsync a file before it is renamed to its final name, then its directory.
    #[default]
    OnRotate,
    /// fsync after every batch, and as `OnRotate` at finalization.
    EveryBatch,
}

/// A string that names no known value of an option.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {option} {value:?}; expected one of: {expected}")]
pub struct ParseOptionError {
    option: &'static str,
    value: String,
    expected: &'static str,
}

macro_rules! from_str {
    ($ty:ty, $option:literal, $expected:literal, { $($text:literal => $value:expr),* $(,)? }) => {
        impl FromStr for $ty {
            type Err = ParseOptionError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($value),)*
                    _ => Err(ParseOptionError { option: $option, value: s.to_owned(), expected: $expected }),
                }
            }
        }
    };
}

from_str!(Format, "format", "arrow, parquet", { "arrow" => Format::Arrow, "parquet" => Format::Parquet });
from_str!(Compression, "compression", "none, zstd, lz4", {
    "none" => Compression::None, "zstd" => Compression::Zstd, "lz4" => Compression::Lz4,
});
from_str!(FsyncPolicy, "fsync policy", "none, on_rotate, every_batch", {
    "none" => FsyncPolicy::None, "on_rotate" => FsyncPolicy::OnRotate, "every_batch" => FsyncPolicy::EveryBatch,
});

/// An option combination that [`StoreOptionsBuilder::build`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The output directory path is empty.
    #[error("output_dir must not be empty")]
    EmptyDir,
    /// A size or duration that must be positive is zero.
    #[error("{option} must be greater than zero")]
    Zero {
        /// The option's name.
        option: &'static str,
    },
    /// Retention by bytes is smaller than one file, so every file would be deleted at once.
    #[error(
        "retention_max_bytes ({retention}) must be at least max_file_bytes ({file}), or every finalized file is deleted as soon as it appears"
    )]
    RetentionBelowFileSize {
        /// `retention_max_bytes`.
        retention: u64,
        /// `max_file_bytes`.
        file: u64,
    },
}

/// Validated options of a [`FileStore`](super::FileStore).
#[derive(Clone)]
pub struct StoreOptions {
    pub(crate) dir: PathBuf,
    pub(crate) format: Format,
    pub(crate) compression: Compression,
    pub(crate) fsync: FsyncPolicy,
    pub(crate) max_file_bytes: u64,
    pub(crate) max_file_age: Option<Duration>,
    pub(crate) retention_max_age: Option<Duration>,
    pub(crate) retention_max_bytes: Option<u64>,
    pub(crate) retention_guard: Option<Arc<dyn RetentionGuard>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) finalization: Finalization,
}

/// What retention asks before it deletes a finalized file (for example: "is it uploaded?").
///
/// Retention by age never deletes a file the guard keeps. The byte budget
/// (`retention_max_bytes`) is a disk limit, so it deletes files the guard does not keep first
/// (even newer ones) and only then, if the signal is still over budget, the kept files, oldest
/// first: those are reported in [`RetentionReport::forced`](super::RetentionReport::forced) and
/// passed to [`deleted_anyway`](RetentionGuard::deleted_anyway).
pub trait RetentionGuard: Send + Sync + fmt::Debug {
    /// Whether retention must keep the finalized file at `path` (called from the retention
    /// pass, under no storage lock; keep it cheap).
    fn keep(&self, path: &Path) -> bool;
    /// Files the byte budget deleted although [`keep`](RetentionGuard::keep) said to keep
    /// them, once per pass that deleted any.
    fn deleted_anyway(&self, paths: &[PathBuf]) {
        let _ = paths;
    }
}

impl fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreOptions")
            .field("dir", &self.dir)
            .field("format", &self.format)
            .field("compression", &self.compression)
            .field("fsync", &self.fsync)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("max_file_age", &self.max_file_age)
            .field("retention_max_age", &self.retention_max_age)
            .field("retention_max_bytes", &self.retention_max_bytes)
            .field("retention_guard", &self.retention_guard)
            .field("clock", &self.clock)
            .field("finalization", &self.finalization)
            .finish()
    }
}

impl StoreOptions {
    /// Default size at which a file is rotated: 64 MiB.
    pub const DEFAULT_MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
    /// Default age at which a file is rotated: 5 minutes.
    pub const DEFAULT_MAX_FILE_AGE: Duration = Duration::from_secs(300);

    /// Starts options for the output directory `dir`.
    pub fn builder(dir: impl Into<PathBuf>) -> StoreOptionsBuilder {
        StoreOptionsBuilder {
            opts: StoreOptions {
                dir: dir.into(),
                format: Format::default(),
                compression: Compression::default(),
                fsync: FsyncPolicy::default(),
                max_file_bytes: Self::DEFAULT_MAX_FILE_BYTES,
                max_file_age: Some(Self::DEFAULT_MAX_FILE_AGE),
                retention_max_age: None,
                retention_max_bytes: None,
                retention_guard: None,
                clock: Arc::new(SystemClock),
                finalization: Finalization::Store,
            },
            zero_age: false,
            zero_retention_age: false,
        }
    }

    /// The output directory (holding `traces/`, `metrics/`, `logs/`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// The format of finalized files.
    pub fn format(&self) -> Format {
        self.format
    }
    /// The body compression.
    pub fn compression(&self) -> Compression {
        self.compression
    }
    /// The fsync policy.
    pub fn fsync(&self) -> FsyncPolicy {
        self.fsync
    }
    /// Size (bytes spooled, before Parquet encoding) at which a file is rotated.
    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_bytes
    }
    /// Age at which a file is rotated, if any.
    pub fn max_file_age(&self) -> Option<Duration> {
        self.max_file_age
    }
    /// Age (from the time in the file name) after which finalized files are deleted, if any.
    pub fn retention_max_age(&self) -> Option<Duration> {
        self.retention_max_age
    }
    /// Total bytes of finalized files per signal above which the oldest are deleted, if any.
    pub fn retention_max_bytes(&self) -> Option<u64> {
        self.retention_max_bytes
    }
    /// The retention guard, if any.
    pub fn retention_guard(&self) -> Option<&Arc<dyn RetentionGuard>> {
        self.retention_guard.as_ref()
    }
    /// Who finalizes files (see [`Finalization`]).
    pub fn finalization(&self) -> Finalization {
        self.finalization
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

/// Builder of [`StoreOptions`]; see [`StoreOptions::builder`].
#[derive(Debug, Clone)]
pub struct StoreOptionsBuilder {
    opts: StoreOptions,
    zero_age: bool,
    zero_retention_age: bool,
}

impl StoreOptionsBuilder {
    /// Format of finalized files (default `Arrow`).
    pub fn format(mut self, format: Format) -> Self {
        self.opts.format = format;
        self
    }
    /// Body compression (default `None`).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.opts.compression = compression;
        self
    }
    /// fsync policy (default `OnRotate`).
    pub fn fsync(mut self, fsync: FsyncPolicy) -> Self {
        self.opts.fsync = fsync;
        self
    }
    /// Rotate a file once it holds at least this many bytes (default 64 MiB). A file can exceed
    /// it by at most one batch.
    pub fn max_file_bytes(mut self, bytes: u64) -> Self {
        self.opts.max_file_bytes = bytes;
        self
    }
    /// Rotate a file once it is this old (default 5 minutes); `None` disables rotation by age.
    pub fn max_file_age(mut self, age: Option<Duration>) -> Self {
        self.zero_age = age == Some(Duration::ZERO);
        self.opts.max_file_age = age;
        self
    }
    /// Delete finalized files older than this (default: never).
    pub fn retention_max_age(mut self, age: Option<Duration>) -> Self {
        self.zero_retention_age = age == Some(Duration::ZERO);
        self.opts.retention_max_age = age;
        self
    }
    /// Keep at most this many bytes of finalized files per signal, deleting the oldest first
    /// (default: unbounded).
    pub fn retention_max_bytes(mut self, bytes: Option<u64>) -> Self {
        self.opts.retention_max_bytes = bytes;
        self
    }
    /// What retention asks before deleting a file (default: nothing; every file may go).
    pub fn retention_guard(mut self, guard: Arc<dyn RetentionGuard>) -> Self {
        self.opts.retention_guard = Some(guard);
        self
    }
    /// The clock (default [`SystemClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.opts.clock = clock;
        self
    }
    /// Who finalizes files and resolves leftover temporary files (default
    /// [`Finalization::Store`]).
    pub fn finalization(mut self, finalization: Finalization) -> Self {
        self.opts.finalization = finalization;
        self
    }

    /// Validates the options. Under [`Finalization::Caller`] an fsync policy of `None` becomes
    /// `OnRotate`: the caller records a file as holding its data, so the file and its rename
    /// must reach the disk.
    pub fn build(self) -> Result<StoreOptions, ConfigError> {
        let mut o = self.opts;
        if o.finalization == Finalization::Caller && o.fsync == FsyncPolicy::None {
            o.fsync = FsyncPolicy::OnRotate;
        }
        if o.dir.as_os_str().is_empty() {
            return Err(ConfigError::EmptyDir);
        }
        if o.max_file_bytes == 0 {
            return Err(ConfigError::Zero {
                option: "max_file_bytes",
            });
        }
        if self.zero_age {
            return Err(ConfigError::Zero {
                option: "max_file_age",
            });
        }
        if self.zero_retention_age {
            return Err(ConfigError::Zero {
                option: "retention_max_age",
            });
        }
        if let Some(retention) = o.retention_max_bytes {
            if retention == 0 {
                return Err(ConfigError::Zero {
                    option: "retention_max_bytes",
                });
            }
            if retention < o.max_file_bytes {
                return Err(ConfigError::RetentionBelowFileSize {
                    retention,
                    file: o.max_file_bytes,
                });
            }
        }
        Ok(o)
    }
}
