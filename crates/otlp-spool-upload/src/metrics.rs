//! The uploader's self-metrics as Prometheus text, appended to the service's `/metrics`.

use std::fmt::Write as _;

use otlp_spool_breaker::State;

use crate::state::UploadStats;

/// Appends `stats` to `out`.
pub(crate) fn render(stats: &UploadStats, out: &mut String) {
    let counters = [
        (
            "otlp_spool_upload_files_total",
            "Files confirmed in the bucket (uploaded, or found there already).",
            stats.uploaded_files,
        ),
        (
            "otlp_spool_upload_bytes_total",
            "Bytes of those files.",
            stats.uploaded_bytes,
        ),
        (
            "otlp_spool_upload_already_present_total",
            "Files found in the bucket with the same content (re-upload after a crash).",
            stats.already_present,
        ),
        (
            "otlp_spool_upload_multipart_total",
            "Files sent as multipart uploads.",
            stats.multipart_uploads,
        ),
        (
            "otlp_spool_upload_failures_total",
            "Failed upload attempts (retried with back-off; the file waits on disk).",
            stats.failures,
        ),
        (
            "otlp_spool_upload_conflicts_total",
            "Files whose object name held other content: not overwritten, kept locally.",
            stats.conflicts,
        ),
        (
            "otlp_spool_upload_deleted_before_upload_total",
            "Files deleted locally before they were uploaded.",
            stats.deleted_before_upload,
        ),
        (
            "otlp_spool_upload_deleted_after_upload_total",
            "Local files deleted after a confirmed upload (delete_after_upload).",
            stats.deleted_after_upload,
        ),
        (
            "otlp_spool_upload_manifest_errors_total",
            "Uploads that could not be recorded in the manifest.",
            stats.manifest_errors,
        ),
        (
            "otlp_spool_upload_scan_errors_total",
            "Failed listings of the output directory.",
            stats.scan_errors,
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    }
    let breaker = match stats.breaker_state {
        State::Closed => 0,
        State::Open => 1,
        State::HalfOpen => 2,
    };
    let gauges = [
        (
            "otlp_spool_upload_pending_files",
            "Finalized files not uploaded yet.",
            stats.pending_files,
        ),
        (
            "otlp_spool_upload_pending_bytes",
            "Their bytes.",
            stats.pending_bytes,
        ),
        (
            "otlp_spool_upload_breaker_state",
            "Circuit breaker in front of the object store: 0 closed, 1 open, 2 half-open.",
            breaker,
        ),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    }
}
