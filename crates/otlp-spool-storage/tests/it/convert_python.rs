//! Real readers of schema v2: batches from the bytes converter, cut small so that one Arrow
//! IPC stream holds several batches with different dictionaries (and containers that span
//! two batches), written as zstd IPC and as zstd Parquet, then read with zero glue by pyarrow
//! (`ipc.open_stream`), Polars (`pl.read_ipc_stream`, `pl.read_parquet`) and DuckDB (over the
//! pyarrow table, and `read_parquet`): row counts, dictionary-encoded container values,
//! attribute lookups with `list_filter`, ids by hex, metric and log values.
//!
//! Python: `otlp_spool_testkit::python()` (`$OTLP_SPOOL_PYTHON`, `./.venv`, or a venv it builds
//! from `requirements-test.txt`); skipped, loudly, only with `OTLP_SPOOL_SKIP_PYTHON=1`.

use std::fs::File;
use std::path::Path;
use std::process::Command;

use arrow_array::RecordBatch;
use arrow_ipc::CompressionType;
use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
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
use otlp_spool_storage::{BatchLimits, Converter, Signal, schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use prost::Message;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_string())),
        }),
        key_strindex: 0,
    }
}

fn resource(r: usize) -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            kv("service.name", &format!("svc-{r}")),
            kv("host.name", "h"),
        ],
        ..Default::default()
    })
}

fn scope(r: usize) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: format!("lib-{}", r % 2),
        version: "1.0".into(),
        ..Default::default()
    })
}

/// Request `r`: 100 spans of service `svc-r`; span `i` has trace `[i; 16]` and route
/// `/checkout` when `i % 4 == 0`.
fn trace_request(r: usize) -> Vec<u8> {
    let spans = (0..100u8)
        .map(|i| Span {
            trace_id: vec![i; 16],
            span_id: vec![i; 8],
            name: format!("span-{i}"),
            attributes: vec![kv(
                "http.route",
                if i % 4 == 0 { "/checkout" } else { "/cart" },
            )],
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(r),
            scope_spans: vec![ScopeSpans {
                scope: scope(r),
                spans,
                ..Default::default()
            }],
            schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
        }],
    }
    .encode_to_vec()
}

/// A gauge `cpu` of 30 points and a monotonic sum `requests` of 20.
fn metrics_request(r: usize) -> Vec<u8> {
    let point = |i: i64| NumberDataPoint {
        time_unix_nano: i as u64,
        value: Some(number_data_point::Value::AsInt(i)),
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(r),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(r),
                metrics: vec![
                    Metric {
                        name: "cpu".into(),
                        description: "CPU use".into(),
                        unit: "1".into(),
                        data: Some(metric::Data::Gauge(Gauge {
                            data_points: (0..30).map(point).collect(),
                        })),
                        ..Default::default()
                    },
                    Metric {
                        name: "requests".into(),
                        data: Some(metric::Data::Sum(Sum {
                            data_points: (0..20).map(point).collect(),
                            aggregation_temporality: 2,
                            is_monotonic: true,
                        })),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// 40 log records with bodies `message i`, severity INFO.
fn logs_request(r: usize) -> Vec<u8> {
    let records = (0..40)
        .map(|i| LogRecord {
            severity_number: 9,
            severity_text: "INFO".into(),
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(format!("message {i}"))),
            }),
            ..Default::default()
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(r),
            scope_logs: vec![ScopeLogs {
                scope: scope(r),
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// Three requests of `signal` through one converter cutting batches of 70 rows.
fn batches(signal: Signal, request: fn(usize) -> Vec<u8>) -> Vec<RecordBatch> {
    let limits = BatchLimits::builder().max_batch_rows(70).build().unwrap();
    let mut c = Converter::new(signal, limits);
    let mut out = Vec::new();
    for r in 0..3 {
        c.push(&request(r), |b| out.push(b)).unwrap();
    }
    c.finish(|b| out.push(b)).unwrap();
    assert!(out.len() >= 2);
    out
}

fn write(dir: &Path, signal: Signal, batches: &[RecordBatch]) {
    let options = IpcWriteOptions::default()
        .try_with_compression(Some(CompressionType::ZSTD))
        .unwrap();
    let file = File::create(dir.join(format!("{}.arrow", signal.as_str()))).unwrap();
    let mut w = StreamWriter::try_new_with_options(file, &schema(signal), options).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap();
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let file = File::create(dir.join(format!("{}.parquet", signal.as_str()))).unwrap();
    let mut w = ArrowWriter::try_new(file, schema(signal), Some(props)).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
}

const SCRIPT: &str = r#"
import os, sys
import duckdb, polars as pl, pyarrow as pa, pyarrow.ipc as ipc

root = sys.argv[1]
def path(signal, ext):
    return os.path.join(root, f"{signal}.{ext}")

def out(key, value):
    print(key, value)

for ext in ("arrow", "parquet"):
    for signal in ("traces", "metrics", "logs"):
        if ext == "arrow":
            t = ipc.open_stream(path(signal, ext)).read_all()
            assert pa.types.is_dictionary(t.schema.field("resource_attributes").type), t.schema
            df = pl.read_ipc_stream(path(signal, ext))
            globals()["t_" + signal] = t
            rel = "t_" + signal
        else:
            df = pl.read_parquet(path(signal, ext))
            rel = "read_parquet('%s')" % path(signal, ext)
        out(f"{ext}.{signal}.polars_rows", df.height)
        out(f"{ext}.{signal}.polars_lib1", df.filter(pl.col("scope_name") == "lib-1").height)
        services = (df.select(pl.col("resource_attributes").list.first().struct.field("value").struct.field("string_value"))
                    .to_series().unique().sort().to_list())
        out(f"{ext}.{signal}.polars_services", ",".join(services))
        q = lambda sql: duckdb.sql(sql).fetchall()
        out(f"{ext}.{signal}.duckdb_rows", q(f"select count(*) from {rel}")[0][0])
        svc = q(f"""select list_filter(resource_attributes, lambda a: a.key = 'service.name')[1].value.string_value as s,
                           count(*) from {rel} group by s order by s""")
        out(f"{ext}.{signal}.duckdb_services", ",".join(f"{s}={n}" for s, n in svc))
        out(f"{ext}.{signal}.duckdb_lib0", q(f"select count(*) from {rel} where scope_name = 'lib-0'")[0][0])
        if signal == "traces":
            out(f"{ext}.traces.by_id", q(f"select count(*) from {rel} where trace_id = '{'04' * 16}'")[0][0])
            out(f"{ext}.traces.checkout", q(f"""select count(*) from {rel} where len(list_filter(attributes,
                lambda a: a.key = 'http.route' and a.value.string_value = '/checkout')) > 0""")[0][0])
            out(f"{ext}.traces.schema_url", q(f"select count(distinct resource_schema_url) from {rel}")[0][0])
        if signal == "metrics":
            out(f"{ext}.metrics.sum_rows", q(f"select count(*) from {rel} where metric_type = 'sum' and is_monotonic")[0][0])
            out(f"{ext}.metrics.cpu_description", q(f"select distinct metric_description from {rel} where metric_name = 'cpu'")[0][0])
            out(f"{ext}.metrics.polars_cpu", df.filter(pl.col("metric_name") == "cpu").height)
        if signal == "logs":
            out(f"{ext}.logs.message_7", q(f"select count(*) from {rel} where body.string_value = 'message 7'")[0][0])
"#;

#[test]
fn pyarrow_polars_and_duckdb_read_schema_v2() {
    let Some(py) = otlp_spool_testkit::python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        Signal::Traces,
        &batches(Signal::Traces, trace_request),
    );
    write(
        tmp.path(),
        Signal::Metrics,
        &batches(Signal::Metrics, metrics_request),
    );
    write(
        tmp.path(),
        Signal::Logs,
        &batches(Signal::Logs, logs_request),
    );
    let run = Command::new(&py)
        .arg("-c")
        .arg(SCRIPT)
        .arg(tmp.path())
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "python failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let get = |key: &str| -> String {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ').map(str::to_string))
            .unwrap_or_else(|| panic!("{key} missing in:\n{stdout}"))
    };
    for ext in ["arrow", "parquet"] {
        for (signal, per_request) in [("traces", 100), ("metrics", 50), ("logs", 40)] {
            let check = |key: &str, want: String| {
                assert_eq!(
                    get(&format!("{ext}.{signal}.{key}")),
                    want,
                    "{ext} {signal} {key}"
                );
            };
            check("polars_rows", (3 * per_request).to_string());
            check("duckdb_rows", (3 * per_request).to_string());
            check("polars_lib1", per_request.to_string());
            check("duckdb_lib0", (2 * per_request).to_string());
            check("polars_services", "svc-0,svc-1,svc-2".into());
            check(
                "duckdb_services",
                format!("svc-0={per_request},svc-1={per_request},svc-2={per_request}"),
            );
        }
        let check =
            |key: &str, want: &str| assert_eq!(get(&format!("{ext}.{key}")), want, "{ext} {key}");
        check("traces.by_id", "3");
        check("traces.checkout", "75");
        check("traces.schema_url", "1");
        check("metrics.sum_rows", "60");
        check("metrics.cpu_description", "CPU use");
        check("metrics.polars_cpu", "90");
        check("logs.message_7", "3");
    }
}
