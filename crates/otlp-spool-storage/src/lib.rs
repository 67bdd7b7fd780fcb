//! otlp-spool-storage: OTLP <-> Arrow conversion and crash-safe rotating files.
//! (table of contents; filled in as the modules land)
// Unsafe code only where a module allows it, each block with its SAFETY comment.
#![deny(unsafe_code)]

mod convert;
mod file;
mod signal;

pub use convert::{
    BatchLimits, BatchLimitsBuilder, ConvertError, Converter, LimitsError, MAX_HARD_BATCH_BYTES,
    PushError, SCHEMA_VERSION, SCHEMA_VERSION_KEY, SIGNAL_KEY, arrow_to_logs, arrow_to_metrics,
    arrow_to_traces, logs_to_arrow, metrics_to_arrow, schema, traces_to_arrow,
};
#[cfg(feature = "test-util")]
pub use file::MockClock;
pub use file::{
    Batches, Clock, Compression, ConfigError, FileError, FileInfo, FileReader, FileStore, Format,
    FsyncPolicy, LOCK_FILE_NAME, OpenError, OtlpRequest, ParseOptionError, QUARANTINE_DIR,
    ReadError, RecoveryReport, Requests, RetentionGuard, RetentionReport, SignalWriter,
    StoreOptions, StoreOptionsBuilder, SystemClock, TickReport, WriteError, WriteErrorKind,
    WriteReceipt,
};
pub use signal::Signal;
