//! Files: one writer per signal spooling Arrow IPC stream (or Parquet) files under
//! `<dir>/{traces,metrics,logs}/`, with crash-safe finalization, rotation, retention, start-up
//! recovery and a reader.
//!
//! Invariants of the whole part:
//! - a name matching `*.arrow` / `*.parquet` only ever appears through `rename` of a complete
//!   file; files being written are hidden `.<name>.tmp` files;
//! - a batch is either in exactly one file (write returned `Ok`) or handed back (write returned
//!   `Err`); rotation never splits, duplicates or drops rows;
//! - nothing is deleted without a log line: retention deletes only finalized files, recovery
//!   removes only temporary files whose complete prefix it published, unreadable files go to
//!   `<dir>/quarantine/<signal>/`;
//! - time comes from the injected [`Clock`] only.
//!
//! Code map: `options` (builder, validation), `clock`, `name` (file names, listing), `lock`
//! (directory lock), `segment` (the active temp file), `ipc` (the defensive IPC stream
//! reader), `stats` (what a file holds, stored in it at finalization), `durable` (fsync,
//! rename, Parquet encoding), `finalize` (caller-driven finalization: the hook, finishing or
//! removing temporary files at start-up), `lane` (per-signal writer core, rotation hand-over),
//! `store` (FileStore and
//! SignalWriter), `retention`, `recovery` (start-up recovery, quarantine), `reader`, `error`,
//! `sync` (loom shim).

mod clock;
mod durable;
mod error;
mod finalize;
mod ipc;
mod lane;
mod lock;
mod name;
mod options;
mod reader;
mod recovery;
mod retention;
mod segment;
mod stats;
mod store;
mod sync;

#[cfg(feature = "test-util")]
pub use clock::MockClock;
pub use clock::{Clock, SystemClock};
pub use error::{FileError, OpenError, ReadError, WriteError, WriteErrorKind};
pub use finalize::{FinalizeHook, FinalizeInfo, TempOutcome};
pub use ipc::{BatchEntry, IpcStream};
pub use lane::WriteReceipt;
pub use lock::LOCK_FILE_NAME;
pub use name::FileInfo;
pub use options::{
    Compression, ConfigError, Finalization, Format, FsyncPolicy, ParseOptionError, RetentionGuard,
    StoreOptions, StoreOptionsBuilder,
};
pub use reader::{Batches, FileReader, OtlpRequest, Requests};
pub use recovery::{QUARANTINE_DIR, RecoveryReport};
pub use retention::RetentionReport;
pub use stats::{FileStats, MAX_LISTED, MetricStat, STATS_KEY, file_stats, read_ipc_stats};
pub use store::{FileStore, SignalWriter, TickReport};
