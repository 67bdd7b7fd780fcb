//! otlp-spool-upload: puts every finalized file of an otlp-spool output directory into
//! S3-compatible object storage, as one hive-partitioned lake that DuckDB, Spark, Trino and
//! pyarrow read as a dataset per signal:
//!
//! ```text
//! s3://BUCKET/PREFIX/<signal>/date=YYYY-MM-DD/hour=HH/<instance id>-<file name>
//! ```
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use otlp_spool_upload::{UploadOptions, Uploader};
//!
//! let options = UploadOptions::builder("s3://telemetry/otel")
//!     .endpoint(Some("http://127.0.0.1:9000".into()))
//!     .allow_http(true) // loopback only
//!     .build()?;
//! // The output directory is locked by the process's FileStore; the uploader only reads it
//! // (and deletes uploaded files when `delete_after_upload` is set).
//! let uploader = Uploader::start("./otlp-spool-data", options)?;
//! // ... files are finalized and uploaded ...
//! uploader.shutdown(Duration::from_secs(10)).await;
//! # Ok(()) }
//! ```
//!
//! # Invariants
//! - **Nothing is overwritten.** Small files go up in one create-only `PUT`
//!   (`If-None-Match: *`), large ones as a multipart upload to a staging key followed by a
//!   create-only copy. A name that is taken is compared with the local file: the same bytes
//!   count as uploaded (the re-upload after a crash), other bytes as a counted conflict.
//! - **The queue is the directory.** Finalized names appear only by rename of complete files;
//!   what is uploaded is recorded, synced, in `<dir>/.otlp-spool-uploaded` before the file
//!   counts as uploaded anywhere. `kill -9` at any moment skips no file and leaves no partial
//!   object: S3 publishes puts and completed multipart uploads atomically.
//! - **Names never collide.** The instance id (`<dir>/.otlp-spool-instance-id`, created once)
//!   plus the file name (unique within a directory) is unique across a fleet.
//! - **Outages wait on disk.** Attempts retry with exponential back-off and jitter behind an
//!   `otlp-spool-breaker` circuit breaker, forever; every failure is counted.
//! - **Retention.** [`UploadState`] is the storage's `RetentionGuard`: files not uploaded
//!   yet are kept by retention-by-age and deleted last by the disk budget, which counts them
//!   (`otlp_spool_upload_deleted_before_upload_total`).
//! - **No reqwest, no aws-lc.** object_store talks through hyper-util + hyper-rustls on the
//!   ring provider; plain HTTP is allowed only to a loopback endpoint. Credentials come from
//!   the AWS environment variables or profile files and are never logged.
//!
//! Code map: `options` (settings, validation), `credentials` (environment, profiles), `http`
//! (object_store's HTTP client), `store` (the S3 client), `key` (object names), `local`
//! (instance id, manifest), `state` (what is uploaded, pending, conflicted; counters),
//! `transfer` (one attempt for one file), `uploader` (scanner and workers, retries, breaker),
//! `metrics` (Prometheus text), `testing` (an S3 test server, feature `test-util`).
#![forbid(unsafe_code)]

mod credentials;
mod error;
mod http;
mod key;
mod local;
mod metrics;
mod options;
mod state;
mod store;
#[cfg(feature = "test-util")]
pub mod testing;
mod transfer;
mod uploader;

pub use credentials::Credentials;
pub use error::{ConfigError, StartError};
pub use local::{INSTANCE_ID_FILE, MANIFEST_FILE};
pub use options::{Destination, MAX_PART_SIZE, MIN_PART_SIZE, UploadOptions, UploadOptionsBuilder};
pub use state::{UploadState, UploadStats};
pub use uploader::{ShutdownReport, Uploader};
