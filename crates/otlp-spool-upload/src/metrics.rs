//! The uploader's self-metrics: a collector the service registers in its one registry.

use otlp_spool_breaker::State;
use otlp_spool_core::metrics::{self, Collector, DescriptorEncoder, Stat};

use crate::Uploader;
use crate::state::UploadStats;

/// Reads the uploader's counters at every scrape.
#[derive(Debug)]
pub(crate) struct UploadCollector(pub(crate) Uploader);

const COUNTERS: [Stat<UploadStats>; 10] = [
    (
        "otlp_spool_upload_files_total",
        "Files confirmed in the bucket (uploaded, or found there already).",
        |s| s.uploaded_files,
    ),
    (
        "otlp_spool_upload_bytes_total",
        "Bytes of those files.",
        |s| s.uploaded_bytes,
    ),
    (
        "otlp_spool_upload_already_present_total",
        "Files found in the bucket with the same content (re-upload after a crash).",
        |s| s.already_present,
    ),
    (
        "otlp_spool_upload_multipart_total",
        "Files sent as multipart uploads.",
        |s| s.multipart_uploads,
    ),
    (
        "otlp_spool_upload_failures_total",
        "Failed upload attempts (retried with back-off; the file waits on disk).",
        |s| s.failures,
    ),
    (
        "otlp_spool_upload_conflicts_total",
        "Files whose object name held other content: not overwritten, kept locally.",
        |s| s.conflicts,
    ),
    (
        "otlp_spool_upload_deleted_before_upload_total",
        "Files deleted locally before they were uploaded.",
        |s| s.deleted_before_upload,
    ),
    (
        "otlp_spool_upload_deleted_after_upload_total",
        "Local files deleted after a confirmed upload (delete_after_upload).",
        |s| s.deleted_after_upload,
    ),
    (
        "otlp_spool_upload_manifest_errors_total",
        "Uploads that could not be recorded in the manifest.",
        |s| s.manifest_errors,
    ),
    (
        "otlp_spool_upload_scan_errors_total",
        "Failed listings of the output directory.",
        |s| s.scan_errors,
    ),
];

const GAUGES: [Stat<UploadStats>; 3] = [
    (
        "otlp_spool_upload_pending_files",
        "Finalized files not uploaded yet.",
        |s| s.pending_files,
    ),
    ("otlp_spool_upload_pending_bytes", "Their bytes.", |s| {
        s.pending_bytes
    }),
    (
        "otlp_spool_upload_breaker_state",
        "Circuit breaker in front of the object store: 0 closed, 1 open, 2 half-open.",
        |s| match s.breaker_state {
            State::Closed => 0,
            State::Open => 1,
            State::HalfOpen => 2,
        },
    ),
];

impl Collector for UploadCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        metrics::encode_snapshot(&mut encoder, &self.0.stats(), &COUNTERS, &GAUGES)
    }
}
