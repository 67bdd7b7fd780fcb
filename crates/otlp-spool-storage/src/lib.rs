//! otlp-spool-storage: lossless OTLP <-> Arrow conversion and crash-safe rotating Arrow IPC
//! (or Parquet) files, one directory per signal, with retention, start-up recovery and a
//! reader. No tokio, no network.
//!
//! - Conversion (`convert/`): [`schema`] (one versioned schema per signal), [`Converter`]
//!   (request bytes or prost messages into record batches bounded by [`BatchLimits`]),
//!   `*_to_arrow` / `arrow_to_*` for one request or batch at a time.
//! - Files (`file/`): [`FileStore`] owns an output directory (lock, recovery, [`StoreOptions`]),
//!   hands out one [`SignalWriter`] per signal, and rotates, retains ([`RetentionGuard`]) and
//!   finalizes; [`FileReader`] reads the finalized files back as batches or [`OtlpRequest`]s.
//!
//! ```
//! use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
//! use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
//! use otlp_spool_storage::{FileReader, FileStore, OtlpRequest, Signal, StoreOptions};
//!
//! let dir = tempfile::tempdir()?;
//! let store = FileStore::open(StoreOptions::builder(dir.path()).build()?)?;
//! let span = Span {
//!     trace_id: vec![1; 16],
//!     span_id: vec![2; 8],
//!     name: "GET /".into(),
//!     ..Default::default()
//! };
//! let request = ExportTraceServiceRequest {
//!     resource_spans: vec![ResourceSpans {
//!         scope_spans: vec![ScopeSpans { spans: vec![span], ..Default::default() }],
//!         ..Default::default()
//!     }],
//! };
//! let batch = otlp_spool_storage::traces_to_arrow(&request)?;
//! store.writer(Signal::Traces).write(batch)?;
//! // Until it is finalized the file is a hidden temporary: readers see nothing yet.
//! assert!(FileReader::new(dir.path(), Signal::Traces).files()?.is_empty());
//! store.close()?;
//! let back = FileReader::new(dir.path(), Signal::Traces)
//!     .requests()?
//!     .collect::<Result<Vec<_>, _>>()?;
//! assert_eq!(back, [OtlpRequest::Traces(request)]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Invariants
//! - OTLP -> Arrow -> OTLP gives back an equal request (attribute types included) whenever
//!   its containers are non-empty; conversion never panics on input (a [`ConvertError`] names
//!   the field or column) and no batch grows past its [`BatchLimits`].
//! - A `*.arrow` / `*.parquet` name appears only by renaming a complete file; a batch is in
//!   exactly one file once `write` returned `Ok`, and handed back otherwise; rotation never
//!   splits, duplicates or drops rows.
//! - One process per output directory ([`LOCK_FILE_NAME`]): a second [`FileStore::open`] is
//!   [`OpenError::Locked`]. Recovery at open keeps the complete batches of temporary files
//!   left by a crash and moves unreadable files to [`QUARANTINE_DIR`].
//! - Retention deletes only finalized files, each with a log line; a file the
//!   [`RetentionGuard`] keeps goes only to the byte budget, after every file it does not keep.
//! - Time comes from the injected [`Clock`] ([`SystemClock`] by default) only.
//!
//! See `convert/mod.rs` and `file/mod.rs` for each part's own invariants and code map.
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
    BatchEntry, FileStats, IpcStream, MAX_LISTED, MetricStat, STATS_KEY, file_stats, read_ipc_stats,
};
pub use file::{
    Batches, Clock, Compression, ConfigError, FileError, FileInfo, FileReader, FileStore,
    Finalization, FinalizeHook, FinalizeInfo, Format, FsyncPolicy, LOCK_FILE_NAME, OpenError,
    OtlpRequest, ParseOptionError, QUARANTINE_DIR, ReadError, RecoveryReport, Requests,
    RetentionGuard, RetentionReport, SignalWriter, StoreOptions, StoreOptionsBuilder, SystemClock,
    TempOutcome, TickReport, WriteError, WriteErrorKind, WriteReceipt,
};
pub use signal::Signal;
