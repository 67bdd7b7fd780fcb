//! Spool directories written by today's writer (`FileStore`), with known traces, metrics and
//! logs.

use std::path::Path;
use std::time::{Duration, SystemTime};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as NumberValue;
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use otlp_spool_storage::{
    FileStore, Signal, StoreOptions, logs_to_arrow, metrics_to_arrow, traces_to_arrow,
};

/// 2025-12-03T00:00:00Z in ns: the fixtures' time base.
pub(crate) const T0: u64 = 1_764_720_000_000_000_000;
pub(crate) const MS: u64 = 1_000_000;

pub(crate) fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

pub(crate) fn s(v: &str) -> Value {
    Value::StringValue(v.into())
}

pub(crate) fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv("service.name", s(service)), kv("host.name", s("box-1"))],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "fixture".into(),
        version: "1.0".into(),
        ..Default::default()
    })
}

/// Trace `n`: id `[n; 16]`, a root `GET /<root>` at `T0 + n s` lasting 100 ms with `children`
/// child spans (the last one failing when `error`), one event and one link on the root.
pub(crate) fn trace(n: u8, service: &str, root: &str, children: u8, error: bool) -> ResourceSpans {
    let start = T0 + u64::from(n) * 1_000 * MS;
    let root_id = vec![n, 0, 0, 0, 0, 0, 0, 1];
    let mut spans = vec![Span {
        trace_id: vec![n; 16],
        span_id: root_id.clone(),
        name: root.into(),
        kind: 2,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 100 * MS,
        attributes: vec![
            kv("http.route", s(root)),
            kv("http.status_code", Value::IntValue(200)),
            kv("evil", s("<script>alert(1)</script>")),
        ],
        events: vec![Event {
            time_unix_nano: start + 5 * MS,
            name: "cache miss".into(),
            attributes: vec![kv("key", s("user:42"))],
            ..Default::default()
        }],
        links: vec![Link {
            trace_id: vec![0xee; 16],
            span_id: vec![0xee; 8],
            attributes: vec![kv("link.kind", s("follows"))],
            ..Default::default()
        }],
        status: Some(Status {
            code: 1,
            message: String::new(),
        }),
        ..Default::default()
    }];
    for c in 0..children {
        let failing = error && c + 1 == children;
        spans.push(Span {
            trace_id: vec![n; 16],
            span_id: vec![n, c + 1, 0, 0, 0, 0, 0, 2],
            parent_span_id: root_id.clone(),
            name: format!("db query {c}"),
            kind: 3,
            start_time_unix_nano: start + u64::from(c) * 10 * MS + MS,
            end_time_unix_nano: start + u64::from(c) * 10 * MS + 9 * MS,
            status: Some(Status {
                code: if failing { 2 } else { 0 },
                message: if failing {
                    "deadlock".into()
                } else {
                    String::new()
                },
            }),
            ..Default::default()
        });
    }
    ResourceSpans {
        resource: resource(service),
        scope_spans: vec![ScopeSpans {
            scope: scope(),
            spans,
            ..Default::default()
        }],
        ..Default::default()
    }
}

pub(crate) fn traces(resource_spans: Vec<ResourceSpans>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest { resource_spans }
}

/// `http.requests` (a cumulative sum, attribute `route`), `cpu.temp` (a gauge) and
/// `latency` (a histogram), each point at `T0 + i s`.
pub(crate) fn metrics(service: &str, points: u64) -> ExportMetricsServiceRequest {
    let sum_points = (0..points)
        .flat_map(|i| {
            ["/users", "/orders"].map(|route| NumberDataPoint {
                attributes: vec![kv("route", s(route))],
                start_time_unix_nano: T0,
                time_unix_nano: T0 + i * 1_000 * MS,
                value: Some(NumberValue::AsInt((i as i64 + 1) * 10)),
                ..Default::default()
            })
        })
        .collect();
    let gauge_points = (0..points)
        .map(|i| NumberDataPoint {
            time_unix_nano: T0 + i * 1_000 * MS,
            value: Some(NumberValue::AsDouble(40.0 + i as f64 / 2.0)),
            ..Default::default()
        })
        .collect();
    let hist_points = (0..points)
        .map(|i| HistogramDataPoint {
            time_unix_nano: T0 + i * 1_000 * MS,
            count: 4,
            sum: Some(100.0 + i as f64),
            bucket_counts: vec![1, 3],
            explicit_bounds: vec![10.0],
            ..Default::default()
        })
        .collect();
    let metric = |name: &str, unit: &str, data: Data| Metric {
        name: name.into(),
        unit: unit.into(),
        description: format!("{name} of the fixture"),
        data: Some(data),
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(service),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics: vec![
                    metric(
                        "http.requests",
                        "1",
                        Data::Sum(Sum {
                            data_points: sum_points,
                            aggregation_temporality: 2,
                            is_monotonic: true,
                        }),
                    ),
                    metric(
                        "cpu.temp",
                        "Cel",
                        Data::Gauge(Gauge {
                            data_points: gauge_points,
                        }),
                    ),
                    metric(
                        "latency",
                        "ms",
                        Data::Histogram(Histogram {
                            data_points: hist_points,
                            aggregation_temporality: 1,
                        }),
                    ),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Log records: `(severity_number, body, trace n or 0)` at `T0 + i s`.
pub(crate) fn logs(service: &str, records: &[(i32, &str, u8)]) -> ExportLogsServiceRequest {
    let log_records = records
        .iter()
        .enumerate()
        .map(|(i, &(sev, body, trace))| LogRecord {
            time_unix_nano: T0 + i as u64 * 1_000 * MS,
            observed_time_unix_nano: T0 + i as u64 * 1_000 * MS + MS,
            severity_number: sev,
            severity_text: otlp_spool_viewer::severity_name(sev).into(),
            body: Some(AnyValue {
                value: Some(s(body)),
            }),
            attributes: vec![kv("thread", Value::IntValue(i as i64))],
            trace_id: if trace == 0 {
                Vec::new()
            } else {
                vec![trace; 16]
            },
            span_id: if trace == 0 {
                Vec::new()
            } else {
                vec![trace, 0, 0, 0, 0, 0, 0, 1]
            },
            ..Default::default()
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(service),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A store on `dir` whose clock-named files are one second apart (`rotate` after each write
/// gives one file per call).
pub(crate) fn store(dir: &Path) -> FileStore {
    FileStore::open(
        StoreOptions::builder(dir)
            .max_file_age(None)
            .build()
            .expect("options"),
    )
    .expect("store opens")
}

/// Writes each request into its own finalized file.
pub(crate) fn write_files(store: &FileStore, requests: Vec<Request>) {
    for r in requests {
        let (signal, batch) = match r {
            Request::Traces(t) => (Signal::Traces, traces_to_arrow(&t).unwrap()),
            Request::Metrics(m) => (Signal::Metrics, metrics_to_arrow(&m).unwrap()),
            Request::Logs(l) => (Signal::Logs, logs_to_arrow(&l).unwrap()),
        };
        let writer = store.writer(signal);
        writer.write(batch).expect("write");
        writer.rotate().expect("rotate");
    }
}

pub(crate) enum Request {
    Traces(ExportTraceServiceRequest),
    Metrics(ExportMetricsServiceRequest),
    Logs(ExportLogsServiceRequest),
}

/// The standard spool: 3 trace files (traces 1..=6 over services `checkout` and `users`,
/// trace 3 failing), 2 metric files, 1 log file. Returns the directory.
pub(crate) fn standard() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    write_files(
        &store,
        vec![
            Request::Traces(traces(vec![
                trace(1, "checkout", "GET /cart", 2, false),
                trace(2, "users", "GET /users/{id}", 1, false),
            ])),
            Request::Traces(traces(vec![trace(3, "checkout", "POST /pay", 3, true)])),
            Request::Traces(traces(vec![
                trace(4, "users", "GET /users", 0, false),
                trace(5, "users", "DELETE /users/{id}", 1, false),
                trace(6, "checkout", "GET /cart", 4, false),
            ])),
            Request::Metrics(metrics("checkout", 3)),
            Request::Metrics(metrics("users", 2)),
            Request::Logs(logs(
                "checkout",
                &[
                    (9, "cart loaded", 1),
                    (13, "payment slow: retrying", 3),
                    (17, "payment failed: deadlock", 3),
                    (5, "cache warm", 0),
                ],
            )),
        ],
    );
    store.close().unwrap();
    dir
}

/// Waits `d` of wall time (for file names one second apart when that matters).
#[allow(dead_code)]
pub(crate) fn pause(d: Duration) {
    std::thread::sleep(d);
}

#[allow(dead_code)]
pub(crate) fn now() -> SystemTime {
    otlp_spool_storage::Clock::now(&otlp_spool_storage::SystemClock)
}
