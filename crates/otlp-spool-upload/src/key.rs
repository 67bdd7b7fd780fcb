//! Object keys of the lake.
//!
//! `PREFIX/<signal>/date=YYYY-MM-DD/hour=HH/<instance id>-<file name>`, with the date and hour
//! of the UTC timestamp in the file name (`<signal>-yyyymmddThhmmssZ-<seq>.<ext>`: when the
//! file was opened). Multipart uploads first go to `PREFIX/_staging/<instance id>-<file name>`,
//! outside every signal's dataset and under a `_` folder that Spark, Trino and pyarrow skip.
//!
//! Invariant: two different (instance id, file name) pairs never give the same key, because
//! the key ends with both verbatim and the partition folders are a function of the name.

use otlp_spool_storage::Signal;

use crate::options::Destination;

/// The lake key of `file_name` (a finalized file of `signal`), or `None` if the name is not
/// one the storage crate writes.
pub(crate) fn object_key(
    destination: &Destination,
    instance: &str,
    signal: Signal,
    file_name: &str,
) -> Option<String> {
    let stamp = file_name
        .strip_prefix(signal.as_str())?
        .strip_prefix('-')?
        .get(..16)?;
    let b = stamp.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..8) && b[8] == b'T' && digits(9..15) && b[15] == b'Z') {
        return None;
    }
    Some(destination.key(&format!(
        "{signal}/date={}-{}-{}/hour={}/{instance}-{file_name}",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        signal = signal.as_str(),
    )))
}

/// Where a multipart upload of `file_name` is assembled before it is copied into place.
pub(crate) fn staging_key(destination: &Destination, instance: &str, file_name: &str) -> String {
    destination.key(&format!("_staging/{instance}-{file_name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let d = Destination::parse("s3://lake/otel").unwrap();
        assert_eq!(
            object_key(
                &d,
                "i1",
                Signal::Traces,
                "traces-20261227T033000Z-000007.parquet"
            )
            .as_deref(),
            Some("otel/traces/date=2026-12-27/hour=03/i1-traces-20261227T033000Z-000007.parquet")
        );
        let root = Destination::parse("s3://lake").unwrap();
        assert_eq!(
            object_key(
                &root,
                "i1",
                Signal::Logs,
                "logs-20260101T235959Z-000000.arrow"
            )
            .as_deref(),
            Some("logs/date=2026-01-01/hour=23/i1-logs-20260101T235959Z-000000.arrow")
        );
        for bad in [
            "metrics-20261227T033000Z-000007.parquet",
            "traces-2026122T0330000Z-000007.parquet",
            "traces-20261227T033000",
        ] {
            assert_eq!(object_key(&d, "i1", Signal::Traces, bad), None, "{bad}");
        }
        assert_eq!(
            staging_key(&d, "i1", "traces-x.parquet"),
            "otel/_staging/i1-traces-x.parquet"
        );
    }
}
