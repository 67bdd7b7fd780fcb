//! The lake as its users see it: Parquet files written by the storage crate, uploaded, then
//! read from the bucket by pyarrow (`S3FileSystem` + `dataset(partitioning="hive")`) and
//! queried with DuckDB over that table. Row counts and span names must be exact.
//!
//! Python: `otlp_spool_testkit::python()` (`$OTLP_SPOOL_PYTHON`, `./.venv`, or a venv it builds
//! from `requirements-test.txt`); skipped, loudly, only with `OTLP_SPOOL_SKIP_PYTHON=1`.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use otlp_spool_core::proto::collector::trace::v1::ExportTraceServiceRequest;
use otlp_spool_core::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_spool_storage::{FileStore, Format, MockClock, Signal, StoreOptions, traces_to_arrow};
use otlp_spool_upload::testing::{ACCESS_KEY, SECRET_KEY};

use crate::support::{BUCKET, Lake, PREFIX, bounded};

/// 2026-12-27T03:59:00Z.
const T0: u64 = 1_798_343_940;

pub(crate) use otlp_spool_testkit::python;

/// Runs `read_lake.py` against the lake; its JSON output.
pub(crate) fn read_lake(py: &Path, endpoint: &str) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/read_lake.py");
    let out = Command::new(py)
        .arg(script)
        .args([endpoint, BUCKET, PREFIX, ACCESS_KEY, SECRET_KEY])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "read_lake.py failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from read_lake.py")
}

fn spans(first: usize, n: usize) -> ExportTraceServiceRequest {
    let spans = (first..first + n)
        .map(|i| Span {
            trace_id: (i as u128 + 1).to_be_bytes().to_vec(),
            span_id: (i as u64 + 1).to_be_bytes().to_vec(),
            name: format!("span-{i:05}"),
            start_time_unix_nano: T0 * 1_000_000_000,
            end_time_unix_nano: T0 * 1_000_000_000 + 1000,
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_uploaded_prefix_reads_back_as_one_hive_dataset() {
    let Some(py) = python() else { return };
    bounded(async {
        let lake = Lake::new();
        let dir = tempfile::tempdir().unwrap();
        // Three Parquet files across two hours (03:59 and 04:00 UTC).
        let clock = MockClock::at_unix_secs(T0);
        let store = FileStore::open(
            StoreOptions::builder(dir.path())
                .format(Format::Parquet)
                .clock(Arc::new(clock.clone()))
                .build()
                .unwrap(),
        )
        .unwrap();
        let writer = store.writer(Signal::Traces);
        let mut total = 0;
        for (i, rows) in [(0, 300), (1, 200), (2, 100)] {
            writer
                .write(traces_to_arrow(&spans(total, rows)).unwrap())
                .unwrap();
            writer.rotate().unwrap();
            total += rows;
            if i == 0 {
                clock.advance(Duration::from_secs(60));
            }
        }
        store.close().unwrap();

        let uploader = lake.start(dir.path(), lake.options());
        uploader.sync(Duration::from_secs(60)).await.unwrap();
        assert_eq!(uploader.stats().uploaded_files, 3);
        let got = read_lake(&py, &lake.server.endpoint());
        let traces = &got["traces"];
        assert_eq!(traces["rows"], total, "{got}");
        assert_eq!(traces["duckdb_rows"], total, "{got}");
        assert_eq!(traces["distinct_span_ids"], total, "{got}");
        let names: Vec<String> = (0..total).map(|i| format!("span-{i:05}")).collect();
        assert_eq!(traces["names"], serde_json::json!(names));
        assert_eq!(
            traces["partitions"],
            serde_json::json!([["2026-12-27", 3, 300], ["2026-12-27", 4, 300]]),
            "{got}"
        );
        let files = traces["files"].as_array().unwrap();
        assert_eq!(files.len(), 3);
        let id = uploader.instance_id();
        assert!(
            files.iter().all(|f| f
                .as_str()
                .unwrap()
                .contains(&format!("/{id}-traces-2026122"))),
            "{files:?}"
        );
        uploader.shutdown(Duration::from_secs(5)).await;
    })
    .await;
}
