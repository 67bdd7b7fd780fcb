//! What the index buys: a trace lookup and a log search on a small spool (8 trace files of
//! 10 batches, 8 log files), each beside the naive way a user would do it with the storage
//! reader alone (decode every file back to OTLP and look through it). And what stored stats
//! buy `inspect`: reading headers and each file's stats beside the projected scan of every
//! file that `inspect` did before (the viewer's summary of each file, as `index_all` builds).
//!
//! ```sh
//! cargo bench -p otlp-spool-viewer --bench lookup
//! ```

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_spool_storage::{
    FileReader, FileStore, OtlpRequest, Signal, StoreOptions, logs_to_arrow, traces_to_arrow,
};
use otlp_spool_viewer::{LogQuery, TraceQuery, Viewer};

fn kv(key: &str, v: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn trace_id(file: u64, batch: u64, t: u64) -> Vec<u8> {
    [(file << 32 | batch).to_be_bytes(), (t + 1).to_be_bytes()].concat()
}

/// 500 spans (100 traces of 5) of file `f`, batch `b`.
fn traces(f: u64, b: u64) -> ExportTraceServiceRequest {
    let spans = (0..500u64)
        .map(|i| Span {
            trace_id: trace_id(f, b, i / 5),
            span_id: (f << 40 | b << 20 | i | 1 << 60).to_be_bytes().to_vec(),
            name: format!("op {}", i % 7),
            start_time_unix_nano: 1_764_720_000_000_000_000 + (f * 10 + b) * 1_000_000_000 + i,
            end_time_unix_nano: 1_764_720_000_000_000_000 + (f * 10 + b) * 1_000_000_000 + i + 5000,
            attributes: (0..8)
                .map(|k| kv(&format!("attr.{k}"), &format!("value {i} {k}")))
                .collect(),
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "bench")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn logs(f: u64, b: u64) -> ExportLogsServiceRequest {
    let log_records = (0..500u64)
        .map(|i| LogRecord {
            time_unix_nano: 1_764_720_000_000_000_000 + (f * 10 + b) * 1_000_000_000 + i,
            severity_number: 9,
            body: Some(AnyValue {
                value: Some(Value::StringValue(if f == 2 && b == 3 && i == 7 {
                    "needle in the spool".into()
                } else {
                    format!("request {i} handled in {} ms", i % 300)
                })),
            }),
            attributes: vec![kv("thread", "main")],
            ..Default::default()
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "bench")],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn spool() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = FileStore::open(StoreOptions::builder(dir.path()).build().expect("options"))
        .expect("store");
    for f in 0..8 {
        for b in 0..10 {
            store
                .writer(Signal::Traces)
                .write(traces_to_arrow(&traces(f, b)).expect("arrow"))
                .expect("write");
            store
                .writer(Signal::Logs)
                .write(logs_to_arrow(&logs(f, b)).expect("arrow"))
                .expect("write");
        }
        store.writer(Signal::Traces).rotate().expect("rotate");
        store.writer(Signal::Logs).rotate().expect("rotate");
    }
    store.close().expect("close");
    dir
}

fn naive_trace(dir: &std::path::Path, id: &[u8]) -> usize {
    let mut found = 0;
    for r in FileReader::new(dir, Signal::Traces)
        .requests()
        .expect("reader")
    {
        if let Ok(OtlpRequest::Traces(t)) = r {
            for rs in &t.resource_spans {
                for ss in &rs.scope_spans {
                    found += ss.spans.iter().filter(|s| s.trace_id == id).count();
                }
            }
        }
    }
    found
}

fn naive_logs(dir: &std::path::Path, needle: &str) -> usize {
    let mut found = 0;
    for r in FileReader::new(dir, Signal::Logs)
        .requests()
        .expect("reader")
    {
        if let Ok(OtlpRequest::Logs(l)) = r {
            for rl in &l.resource_logs {
                for sl in &rl.scope_logs {
                    found += sl
                        .log_records
                        .iter()
                        .filter(|r| match r.body.as_ref().and_then(|b| b.value.as_ref()) {
                            Some(Value::StringValue(s)) => s.contains(needle),
                            _ => false,
                        })
                        .count();
                }
            }
        }
    }
    found
}

fn bench(c: &mut Criterion) {
    let dir = spool();
    let viewer = Viewer::new(dir.path());
    // Warm the index once, as a running viewer has it.
    viewer.traces(&TraceQuery::default()).expect("traces");
    viewer.logs(&LogQuery::default()).expect("logs");
    let id = trace_id(3, 4, 50);
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        viewer
            .trace(&hex)
            .expect("lookup")
            .expect("found")
            .spans
            .len(),
        5
    );
    assert_eq!(naive_trace(dir.path(), &id), 5);

    let mut g = c.benchmark_group("trace_lookup");
    g.bench_function("viewer_index", |b| {
        b.iter(|| black_box(viewer.trace(black_box(&hex)).expect("lookup")))
    });
    g.bench_function("naive_decode_all_baseline", |b| {
        b.iter(|| black_box(naive_trace(dir.path(), black_box(&id))))
    });
    g.finish();

    let q = LogQuery {
        text: Some("needle".into()),
        ..LogQuery::default()
    };
    assert_eq!(viewer.logs(&q).expect("logs").rows.len(), 1);
    let mut g = c.benchmark_group("log_search");
    g.bench_function("viewer_projected", |b| {
        b.iter(|| black_box(viewer.logs(black_box(&q)).expect("logs")))
    });
    g.bench_function("naive_decode_all_baseline", |b| {
        b.iter(|| black_box(naive_logs(dir.path(), black_box("needle"))))
    });
    g.finish();

    let report = otlp_spool_viewer::inspect(dir.path(), false, &mut |_, _| {}).expect("inspect");
    assert_eq!(report.signals[0].rows, 8 * 10 * 500);
    assert_eq!(
        report.signals[0].scanned_files, 0,
        "every file has stored stats"
    );
    let mut g = c.benchmark_group("inspect");
    g.bench_function("metadata_and_stored_stats", |b| {
        b.iter(|| {
            black_box(otlp_spool_viewer::inspect(
                dir.path(),
                false,
                &mut |_, _| {},
            ))
        })
    });
    g.bench_function("projected_scan_of_every_file_baseline", |b| {
        b.iter(|| black_box(Viewer::new(dir.path()).index_all().expect("index")))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
