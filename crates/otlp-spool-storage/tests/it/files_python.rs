//! Real readers: OTLP data converted by this crate and spooled by the writer (Arrow IPC with
//! zstd, and Parquet) is read by pyarrow and queried with DuckDB: row counts, a lookup by hex
//! trace id, and an attribute filter, for all three signals.
//!
//! Python: `otlp_spool_testkit::python()` (`$OTLP_SPOOL_PYTHON`, `./.venv`, or a venv it builds
//! from `requirements-test.txt`); skipped, loudly, only with `OTLP_SPOOL_SKIP_PYTHON=1`.

use std::path::Path;
use std::process::Command;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_spool_storage::{
    Compression, FileReader, FileStore, Format, OtlpRequest, Signal, logs_to_arrow,
    metrics_to_arrow, traces_to_arrow,
};

use crate::files_util::{clock, options};

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv("service.name", service)],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "files-python-test".to_owned(),
        version: "1.0".to_owned(),
        ..Default::default()
    })
}

/// Two spans share each trace id: trace `t` is `[t; 16]` as bytes.
fn trace_request(req: u8) -> ExportTraceServiceRequest {
    let spans = (0..10u8)
        .map(|i| {
            let n = req * 10 + i;
            Span {
                trace_id: vec![n / 2 + 1; 16],
                span_id: vec![n + 1; 8],
                name: format!("span-{n}"),
                kind: 2,
                start_time_unix_nano: 1_795_737_600_000_000_000 + u64::from(n),
                end_time_unix_nano: 1_795_737_600_000_000_000 + u64::from(n) + 1000,
                attributes: vec![kv(
                    "http.route",
                    if n.is_multiple_of(3) {
                        "/checkout"
                    } else {
                        "/cart"
                    },
                )],
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource("shop"),
            scope_spans: vec![ScopeSpans {
                scope: scope(),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn point(i: u64, host: &str) -> NumberDataPoint {
    NumberDataPoint {
        attributes: vec![kv("host", host)],
        time_unix_nano: 1_795_737_600_000_000_000 + i,
        value: Some(number_data_point::Value::AsDouble(i as f64)),
        ..Default::default()
    }
}

/// A gauge of 4 points and a sum of 3; hosts `a`, `b` alternate.
fn metrics_request() -> ExportMetricsServiceRequest {
    let host = |i: u64| if i.is_multiple_of(2) { "a" } else { "b" };
    let gauge = Metric {
        name: "cpu".to_owned(),
        data: Some(metric::Data::Gauge(Gauge {
            data_points: (0..4).map(|i| point(i, host(i))).collect(),
        })),
        ..Default::default()
    };
    let sum = Metric {
        name: "requests".to_owned(),
        data: Some(metric::Data::Sum(Sum {
            data_points: (0..3).map(|i| point(i, host(i))).collect(),
            aggregation_temporality: 2,
            is_monotonic: true,
        })),
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource("shop"),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics: vec![gauge, sum],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// 10 log records per request; every fifth has `user.id = u42`; record i carries trace `[1; 16]`
/// when i < 3.
fn logs_request() -> ExportLogsServiceRequest {
    let records = (0..10u8)
        .map(|i| LogRecord {
            time_unix_nano: 1_795_737_600_000_000_000 + u64::from(i),
            severity_number: 9,
            severity_text: "INFO".to_owned(),
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(format!("message {i}"))),
            }),
            attributes: vec![kv(
                "user.id",
                if i.is_multiple_of(5) { "u42" } else { "u7" },
            )],
            trace_id: if i < 3 { vec![1; 16] } else { Vec::new() },
            ..Default::default()
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource("shop"),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

const SCRIPT: &str = r#"
import glob, os, sys
import duckdb, polars as pl, pyarrow as pa, pyarrow.ipc as ipc

root, fmt, trace_hex = sys.argv[1], sys.argv[2], sys.argv[3]
def rel(signal):
    files = sorted(glob.glob(os.path.join(root, signal, "*." + fmt)))
    assert files, f"no {fmt} files for {signal}"
    if fmt == "arrow":
        tables = [ipc.open_stream(f).read_all() for f in files]
        # Each file ends with its stats after the end-of-stream marker: stream readers stop
        # at the marker (pyarrow above, Polars here) and read exactly the rows.
        for f, t in zip(files, tables):
            assert open(f, "rb").read()[-8:] == b"OTSPSTA1", f
            assert pl.read_ipc_stream(f).height == t.num_rows, f
        t = pa.concat_tables(tables)
        globals()["t_" + signal] = t
        return "t_" + signal
    return "read_parquet('%s')" % os.path.join(root, signal, "*.parquet")

def one(q):
    return duckdb.sql(q).fetchall()[0][0]

def has(attr, key, value):
    return f"len(list_filter({attr}, lambda a: a.key = '{key}' and a.value.string_value = '{value}')) > 0"

tr, me, lo = rel("traces"), rel("metrics"), rel("logs")
print("traces_count", one(f"select count(*) from {tr}"))
print("traces_by_id", one(f"select count(*) from {tr} where trace_id = '{trace_hex}'"))
print("traces_checkout", one(f"select count(*) from {tr} where {has('attributes', 'http.route', '/checkout')}"))
print("traces_service", one(f"select count(*) from {tr} where {has('resource_attributes', 'service.name', 'shop')}"))
print("metrics_count", one(f"select count(*) from {me}"))
print("metrics_host_a", one(f"select count(*) from {me} where {has('attributes', 'host', 'a')}"))
print("metrics_cpu", one(f"select count(*) from {me} where metric_name = 'cpu'"))
print("logs_count", one(f"select count(*) from {lo}"))
print("logs_by_id", one(f"select count(*) from {lo} where trace_id = '{trace_hex}'"))
print("logs_u42", one(f"select count(*) from {lo} where {has('attributes', 'user.id', 'u42')}"))
"#;

fn spool(dir: &Path, format: Format) {
    let clock = clock();
    let opts = options(dir, &clock)
        .format(format)
        .compression(Compression::Zstd)
        .build()
        .unwrap();
    let store = FileStore::open(opts).unwrap();
    for req in 0..3u8 {
        let t = traces_to_arrow(&trace_request(req)).unwrap();
        store.writer(Signal::Traces).write(t).unwrap();
        let m = metrics_to_arrow(&metrics_request()).unwrap();
        store.writer(Signal::Metrics).write(m).unwrap();
        let l = logs_to_arrow(&logs_request()).unwrap();
        store.writer(Signal::Logs).write(l).unwrap();
        if req == 1 {
            store.writer(Signal::Traces).rotate().unwrap(); // several files per signal
        }
    }
    store.close().unwrap();
}

#[test]
fn pyarrow_and_duckdb_read_the_files() {
    let Some(py) = otlp_spool_testkit::python() else {
        return;
    };
    let trace_hex = "01".repeat(16);
    for format in [Format::Arrow, Format::Parquet] {
        let tmp = tempfile::tempdir().unwrap();
        spool(tmp.path(), format);

        // The Rust reader gives the requests back.
        let back: Vec<OtlpRequest> = FileReader::new(tmp.path(), Signal::Traces)
            .requests()
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let spans: usize = back
            .iter()
            .map(|r| match r {
                OtlpRequest::Traces(t) => t.resource_spans[0].scope_spans[0].spans.len(),
                other => panic!("not traces: {other:?}"),
            })
            .sum();
        assert_eq!(spans, 30, "{format:?}");
        if format == Format::Arrow {
            // IPC keeps batch boundaries: one request per batch written.
            assert_eq!(back.len(), 3);
            assert_eq!(back[0], OtlpRequest::Traces(trace_request(0)));
        }

        let out = Command::new(&py)
            .arg("-c")
            .arg(SCRIPT)
            .arg(tmp.path())
            .arg(format.extension())
            .arg(&trace_hex)
            .output()
            .expect("run python");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "python failed ({format:?}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let get = |key: &str| -> u64 {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
                .unwrap_or_else(|| panic!("{key} missing in:\n{stdout}"))
        };
        let check = |key: &str, want: u64| assert_eq!(get(key), want, "{key} ({format:?})");
        check("traces_count", 30);
        check("traces_by_id", 2); // spans 0 and 1 of request 0
        check("traces_checkout", 10); // n.is_multiple_of(3) for n in 0..30
        check("traces_service", 30);
        check("metrics_count", 21);
        check("metrics_host_a", 12); // 2 of 4 gauge points + 2 of 3 sum points, per request
        check("metrics_cpu", 12);
        check("logs_count", 30);
        check("logs_by_id", 9);
        check("logs_u42", 6);
    }
}
