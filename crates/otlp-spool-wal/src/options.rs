//! Settings of a log, validated by [`WalOptionsBuilder::build`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::ConfigError;
use crate::format::RECORD_HEADER_LEN;

/// Default bound of the whole log: 1 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;
/// Default segment size: 64 MiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;
/// Default largest record: 32 MiB (above the receiver's 20 MiB decoded-body limit).
pub const DEFAULT_MAX_RECORD_BYTES: usize = 32 << 20;
/// Default group-commit wait: at most 1 ms, and only while fewer records are pending than the
/// last group held (a lone appender never waits). See the README's measurements.
pub const DEFAULT_GROUP_COMMIT_MAX_DELAY: Duration = Duration::from_millis(1);
/// Default group-commit size trigger: 1 MiB pending ends the wait at once.
pub const DEFAULT_GROUP_COMMIT_MAX_BYTES: usize = 1 << 20;

/// Settings of a [`Wal`](crate::Wal). Build with [`WalOptions::builder`].
#[derive(Debug, Clone)]
pub struct WalOptions {
    pub(crate) dir: PathBuf,
    pub(crate) max_bytes: u64,
    pub(crate) segment_bytes: u64,
    pub(crate) max_record_bytes: usize,
    pub(crate) group_commit_max_delay: Duration,
    pub(crate) group_commit_max_bytes: usize,
}

impl WalOptions {
    /// Settings for a log in `dir` (created if missing), every other setting at its default.
    pub fn builder(dir: impl Into<PathBuf>) -> WalOptionsBuilder {
        WalOptionsBuilder {
            opts: WalOptions {
                dir: dir.into(),
                max_bytes: DEFAULT_MAX_BYTES,
                segment_bytes: DEFAULT_SEGMENT_BYTES,
                max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
                group_commit_max_delay: DEFAULT_GROUP_COMMIT_MAX_DELAY,
                group_commit_max_bytes: DEFAULT_GROUP_COMMIT_MAX_BYTES,
            },
        }
    }

    /// The log directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The bound on segment bytes plus records waiting for their sync.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The size after which the committer starts a new segment.
    pub fn segment_bytes(&self) -> u64 {
        self.segment_bytes
    }

    /// The largest payload `append` takes.
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    /// The committer's extra wait for more records before a sync.
    pub fn group_commit_max_delay(&self) -> Duration {
        self.group_commit_max_delay
    }

    /// Pending bytes that end the committer's extra wait at once.
    pub fn group_commit_max_bytes(&self) -> usize {
        self.group_commit_max_bytes
    }
}

/// Builder of [`WalOptions`].
#[derive(Debug, Clone)]
pub struct WalOptionsBuilder {
    opts: WalOptions,
}

impl WalOptionsBuilder {
    /// Bound on the log's bytes: segments on disk plus records waiting for their sync. An
    /// append that would pass it is refused with [`AppendError::Full`](crate::AppendError::Full).
    /// At least twice `segment_bytes`, so a consumed segment can be freed while the next fills.
    /// Spare files (at most [`MAX_SPARE_SEGMENTS`](crate::MAX_SPARE_SEGMENTS) consumed
    /// segments kept for reuse) take disk space beyond this bound.
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.opts.max_bytes = bytes;
        self
    }

    /// Size after which the committer seals the active segment and starts a new one (a soft
    /// limit: the batch that crosses it is written whole). Segments are the unit of deletion.
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.opts.segment_bytes = bytes;
        self
    }

    /// Largest payload `append` takes; larger ones get
    /// [`AppendError::TooLarge`](crate::AppendError::TooLarge).
    pub fn max_record_bytes(mut self, bytes: usize) -> Self {
        self.opts.max_record_bytes = bytes;
        self
    }

    /// How long the committer may wait for more records after the first one arrived, before it
    /// writes and syncs. It waits only while fewer records are pending than its last group
    /// held, and stops as soon as that many are (`0`: never wait; records arriving during a
    /// sync still share the next one). Bounded to one second.
    pub fn group_commit_max_delay(mut self, delay: Duration) -> Self {
        self.opts.group_commit_max_delay = delay;
        self
    }

    /// Pending bytes that end the group-commit wait at once.
    pub fn group_commit_max_bytes(mut self, bytes: usize) -> Self {
        self.opts.group_commit_max_bytes = bytes;
        self
    }

    /// Checks the settings.
    pub fn build(self) -> Result<WalOptions, ConfigError> {
        let o = self.opts;
        let bad = |option, problem: String| Err(ConfigError { option, problem });
        if o.dir.as_os_str().is_empty() {
            return bad("dir", "must not be empty".into());
        }
        if o.segment_bytes < 4096 {
            return bad(
                "segment_bytes",
                format!("{} is below 4096", o.segment_bytes),
            );
        }
        if o.max_bytes < 2 * o.segment_bytes {
            return bad(
                "max_bytes",
                format!(
                    "{} must be at least twice segment_bytes ({})",
                    o.max_bytes, o.segment_bytes
                ),
            );
        }
        if o.max_record_bytes == 0 || o.max_record_bytes > u32::MAX as usize - RECORD_HEADER_LEN {
            return bad(
                "max_record_bytes",
                format!("{} is not between 1 and 4 GiB", o.max_record_bytes),
            );
        }
        if (o.max_record_bytes + RECORD_HEADER_LEN) as u64 > o.max_bytes / 2 {
            return bad(
                "max_record_bytes",
                format!(
                    "{} must be at most half of max_bytes ({})",
                    o.max_record_bytes, o.max_bytes
                ),
            );
        }
        if o.group_commit_max_delay > Duration::from_secs(1) {
            return bad(
                "group_commit_max_delay",
                format!("{:?} is above one second", o.group_commit_max_delay),
            );
        }
        if o.group_commit_max_bytes == 0 {
            return bad("group_commit_max_bytes", "must be greater than zero".into());
        }
        Ok(o)
    }
}
