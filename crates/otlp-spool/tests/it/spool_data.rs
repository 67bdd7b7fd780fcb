//! Spool directories with varied telemetry (every metric type, events, links, typed
//! attributes, several resources and scopes), written by the real `FileStore`, and a
//! per-item comparison of two directories' contents.

use std::path::Path;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as Num;
use opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile;
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use otlp_spool_storage::{
    FileReader, FileStore, OtlpRequest, Signal, StoreOptions, logs_to_arrow, metrics_to_arrow,
    traces_to_arrow,
};
use prost::Message;

const T0: u64 = 1_764_720_000_000_000_000;

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn attrs(i: u64) -> Vec<KeyValue> {
    vec![
        kv("str", Value::StringValue(format!("v{i}"))),
        kv("int", Value::IntValue(-(i as i64))),
        kv("dbl", Value::DoubleValue(i as f64 / 3.0)),
        kv("bool", Value::BoolValue(i.is_multiple_of(2))),
        kv("bytes", Value::BytesValue(vec![i as u8, 0, 255])),
        kv(
            "arr",
            Value::ArrayValue(ArrayValue {
                values: vec![AnyValue {
                    value: Some(Value::IntValue(i as i64)),
                }],
            }),
        ),
        kv(
            "map",
            Value::KvlistValue(KeyValueList {
                values: vec![kv("k", Value::StringValue("x".into()))],
            }),
        ),
    ]
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![kv("service.name", Value::StringValue(service.into()))],
        dropped_attributes_count: 1,
        ..Default::default()
    })
}

fn scope(name: &str) -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: name.into(),
        version: "2.1".into(),
        attributes: vec![kv("scope.attr", Value::BoolValue(true))],
        ..Default::default()
    })
}

/// `n` spans over two resources and two scopes, request number `r`.
pub(crate) fn traces(r: u64, n: u64) -> ExportTraceServiceRequest {
    let span = |i: u64| Span {
        trace_id: [[r as u8 + 1; 8], (i / 4).to_be_bytes()].concat(),
        span_id: ((r + 1) << 32 | i).to_be_bytes().to_vec(),
        parent_span_id: if i.is_multiple_of(4) {
            Vec::new()
        } else {
            ((r + 1) << 32 | (i / 4 * 4)).to_be_bytes().to_vec()
        },
        trace_state: "k=v".into(),
        flags: 1,
        name: format!("op {i}"),
        kind: (i % 6) as i32,
        start_time_unix_nano: T0 + (r * 1000 + i) * 1_000_000,
        end_time_unix_nano: T0 + (r * 1000 + i) * 1_000_000 + 500_000,
        attributes: attrs(i),
        dropped_attributes_count: (i % 3) as u32,
        events: vec![Event {
            time_unix_nano: T0 + i,
            name: "ev".into(),
            attributes: attrs(i + 1),
            dropped_attributes_count: 2,
        }],
        dropped_events_count: 1,
        links: vec![Link {
            trace_id: vec![7; 16],
            span_id: vec![8; 8],
            trace_state: "l=1".into(),
            attributes: attrs(i + 2),
            dropped_attributes_count: 3,
            flags: 257,
        }],
        dropped_links_count: 2,
        status: (!i.is_multiple_of(3)).then(|| Status {
            message: if i % 3 == 2 {
                "bad".into()
            } else {
                String::new()
            },
            code: (i % 3) as i32,
        }),
    };
    let half = n / 2;
    ExportTraceServiceRequest {
        resource_spans: vec![
            ResourceSpans {
                resource: resource("alpha"),
                scope_spans: vec![ScopeSpans {
                    scope: scope("s1"),
                    spans: (0..half).map(span).collect(),
                    schema_url: "https://opentelemetry.io/schemas/1.0".into(),
                }],
                schema_url: "https://r".into(),
            },
            ResourceSpans {
                resource: resource("beta"),
                scope_spans: vec![ScopeSpans {
                    scope: scope("s2"),
                    spans: (half..n).map(span).collect(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        ],
    }
}

/// Every metric type, `n` points each, request number `r`.
pub(crate) fn metrics(r: u64, n: u64) -> ExportMetricsServiceRequest {
    let t = |i: u64| T0 + (r * 1000 + i) * 1_000_000;
    let number = |i: u64| NumberDataPoint {
        attributes: attrs(i % 3),
        start_time_unix_nano: T0,
        time_unix_nano: t(i),
        flags: 1,
        value: Some(if i.is_multiple_of(2) {
            Num::AsInt(i as i64)
        } else {
            Num::AsDouble(i as f64 + 0.5)
        }),
        ..Default::default()
    };
    let metric = |name: &str, data: Data| Metric {
        name: name.into(),
        description: "d".into(),
        unit: "ms".into(),
        data: Some(data),
        metadata: vec![kv("m", Value::IntValue(1))],
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource("alpha"),
            scope_metrics: vec![ScopeMetrics {
                scope: scope("meter"),
                metrics: vec![
                    metric(
                        "g",
                        Data::Gauge(Gauge {
                            data_points: (0..n).map(number).collect(),
                        }),
                    ),
                    metric(
                        "s",
                        Data::Sum(Sum {
                            data_points: (0..n).map(number).collect(),
                            aggregation_temporality: 2,
                            is_monotonic: true,
                        }),
                    ),
                    metric(
                        "h",
                        Data::Histogram(Histogram {
                            data_points: (0..n)
                                .map(|i| HistogramDataPoint {
                                    attributes: attrs(i % 2),
                                    time_unix_nano: t(i),
                                    count: 3,
                                    sum: (i.is_multiple_of(2)).then_some(7.5),
                                    bucket_counts: vec![1, 2],
                                    explicit_bounds: vec![5.0],
                                    min: Some(1.0),
                                    max: None,
                                    ..Default::default()
                                })
                                .collect(),
                            aggregation_temporality: 1,
                        }),
                    ),
                    metric(
                        "e",
                        Data::ExponentialHistogram(ExponentialHistogram {
                            data_points: (0..n)
                                .map(|i| ExponentialHistogramDataPoint {
                                    time_unix_nano: t(i),
                                    count: 4,
                                    sum: Some(2.0),
                                    scale: -1,
                                    zero_count: 1,
                                    positive: Some(Buckets {
                                        offset: 2,
                                        bucket_counts: vec![1, 2],
                                    }),
                                    zero_threshold: 0.001,
                                    ..Default::default()
                                })
                                .collect(),
                            aggregation_temporality: 2,
                        }),
                    ),
                    metric(
                        "q",
                        Data::Summary(Summary {
                            data_points: (0..n)
                                .map(|i| SummaryDataPoint {
                                    time_unix_nano: t(i),
                                    count: 2,
                                    sum: 3.0,
                                    quantile_values: vec![ValueAtQuantile {
                                        quantile: 0.5,
                                        value: 1.5,
                                    }],
                                    ..Default::default()
                                })
                                .collect(),
                        }),
                    ),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// `n` log records with bodies of several kinds, request number `r`.
pub(crate) fn logs(r: u64, n: u64) -> ExportLogsServiceRequest {
    let record = |i: u64| LogRecord {
        time_unix_nano: if i.is_multiple_of(5) {
            0
        } else {
            T0 + (r * 1000 + i) * 1_000_000
        },
        observed_time_unix_nano: T0 + (r * 1000 + i) * 1_000_000 + 1,
        severity_number: (i % 24 + 1) as i32,
        severity_text: format!("S{i}"),
        body: match i % 3 {
            0 => Some(AnyValue {
                value: Some(Value::StringValue(format!("line {r}.{i}"))),
            }),
            1 => Some(AnyValue {
                value: Some(Value::KvlistValue(KeyValueList { values: attrs(i) })),
            }),
            _ => None,
        },
        attributes: attrs(i),
        dropped_attributes_count: 1,
        flags: 1,
        trace_id: if i.is_multiple_of(2) {
            vec![3; 16]
        } else {
            Vec::new()
        },
        span_id: if i.is_multiple_of(2) {
            vec![4; 8]
        } else {
            Vec::new()
        },
        event_name: if i.is_multiple_of(4) {
            "e".into()
        } else {
            String::new()
        },
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource("gamma"),
            scope_logs: vec![ScopeLogs {
                scope: scope("logger"),
                log_records: (0..n).map(record).collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Writes `files` requests of each signal (each into its own finalized file) with `n` items
/// each (metrics: `n` points per metric type).
pub(crate) fn write_spool(dir: &Path, files: u64, n: u64) {
    let store = FileStore::open(StoreOptions::builder(dir).build().unwrap()).unwrap();
    for r in 0..files {
        for (signal, batch) in [
            (Signal::Traces, traces_to_arrow(&traces(r, n)).unwrap()),
            (Signal::Metrics, metrics_to_arrow(&metrics(r, n)).unwrap()),
            (Signal::Logs, logs_to_arrow(&logs(r, n)).unwrap()),
        ] {
            let w = store.writer(signal);
            w.write(batch).unwrap();
            w.rotate().unwrap();
        }
    }
    store.close().unwrap();
}

fn one_point(m: &Metric) -> Vec<Metric> {
    let with = |data: Data| Metric {
        data: Some(data),
        ..m.clone()
    };
    match &m.data {
        Some(Data::Gauge(g)) => g
            .data_points
            .iter()
            .map(|p| {
                with(Data::Gauge(Gauge {
                    data_points: vec![p.clone()],
                }))
            })
            .collect(),
        Some(Data::Sum(s)) => s
            .data_points
            .iter()
            .map(|p| {
                with(Data::Sum(Sum {
                    data_points: vec![p.clone()],
                    ..s.clone()
                }))
            })
            .collect(),
        Some(Data::Histogram(h)) => h
            .data_points
            .iter()
            .map(|p| {
                with(Data::Histogram(Histogram {
                    data_points: vec![p.clone()],
                    ..h.clone()
                }))
            })
            .collect(),
        Some(Data::ExponentialHistogram(h)) => h
            .data_points
            .iter()
            .map(|p| {
                with(Data::ExponentialHistogram(ExponentialHistogram {
                    data_points: vec![p.clone()],
                    ..h.clone()
                }))
            })
            .collect(),
        Some(Data::Summary(s)) => s
            .data_points
            .iter()
            .map(|p| {
                with(Data::Summary(Summary {
                    data_points: vec![p.clone()],
                }))
            })
            .collect(),
        None => vec![m.clone()],
    }
}

/// Every stored item of `signal` as the protobuf encoding of a one-item request (its resource,
/// scope, and for metrics the metric, with every field), sorted: two directories hold the
/// same data exactly when these lists are equal, however the items were grouped into
/// requests, batches and files.
pub(crate) fn items(dir: &Path, signal: Signal) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for request in FileReader::new(dir, signal).requests().unwrap() {
        match request.unwrap() {
            OtlpRequest::Traces(t) => {
                for rs in t.resource_spans {
                    for ss in &rs.scope_spans {
                        for span in &ss.spans {
                            let one = ResourceSpans {
                                scope_spans: vec![ScopeSpans {
                                    spans: vec![span.clone()],
                                    ..ss.clone()
                                }],
                                ..rs.clone()
                            };
                            out.push(one.encode_to_vec());
                        }
                    }
                }
            }
            OtlpRequest::Metrics(m) => {
                for rm in m.resource_metrics {
                    for sm in &rm.scope_metrics {
                        for metric in &sm.metrics {
                            for point in one_point(metric) {
                                let one = ResourceMetrics {
                                    scope_metrics: vec![ScopeMetrics {
                                        metrics: vec![point],
                                        ..sm.clone()
                                    }],
                                    ..rm.clone()
                                };
                                out.push(one.encode_to_vec());
                            }
                        }
                    }
                }
            }
            OtlpRequest::Logs(l) => {
                for rl in l.resource_logs {
                    for sl in &rl.scope_logs {
                        for record in &sl.log_records {
                            let one = ResourceLogs {
                                scope_logs: vec![ScopeLogs {
                                    log_records: vec![record.clone()],
                                    ..sl.clone()
                                }],
                                ..rl.clone()
                            };
                            out.push(one.encode_to_vec());
                        }
                    }
                }
            }
        }
    }
    out.sort();
    out
}
