//! Requests the walker benches measure: the shape the end-to-end load generator sends
//! (`benches/src/workload.rs`: 512 spans in traces of 8, 10 attributes a span), and metrics
//! and logs requests of 512 items each. Deterministic: no clock, no randomness.

#![allow(dead_code)]

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value::Value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum, metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use otlp_spool_core::Signal;
use prost::Message;

/// Items in every bench request.
pub(crate) const ITEMS: usize = 512;

const ROUTES: [&str; 4] = ["/orders/{id}", "/users/{id}", "/cart", "/search"];
const METHODS: [&str; 3] = ["GET", "POST", "PUT"];

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn s(v: impl Into<String>) -> Value {
    Value::StringValue(v.into())
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            kv("service.name", s("checkout")),
            kv("service.version", s("1.4.2")),
            kv("host.name", s("node-7")),
        ],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "otlp-spool-bench".into(),
        version: "0.1.0".into(),
        ..Default::default()
    })
}

/// An id of `len` bytes that is never all zeros.
fn id(len: usize, a: u64, b: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&(a | 1 << 63).to_be_bytes());
    out.extend_from_slice(&b.to_be_bytes());
    out.truncate(len);
    out
}

/// 512 spans like the load generator's: HTTP server roots and client children.
pub(crate) fn traces(refused_every: Option<usize>) -> ExportTraceServiceRequest {
    let spans = (0..ITEMS)
        .map(|i| {
            let trace = (i / 8) as u64;
            let root = i % 8 == 0;
            let route = ROUTES[i % ROUTES.len()];
            let method = METHODS[i % METHODS.len()];
            let status = if i % 50 == 0 { 500 } else { 200 };
            let start = 1_700_000_000_000_000_000 + (i as u64) * 10_000;
            let refused = refused_every.is_some_and(|n| i % n == n - 1);
            Span {
                trace_id: if refused {
                    Vec::new()
                } else {
                    id(16, trace, 7)
                },
                span_id: id(8, i as u64, 0),
                parent_span_id: if root {
                    Vec::new()
                } else {
                    id(8, (i - i % 8) as u64, 0)
                },
                flags: 1,
                name: format!("{method} {route}"),
                kind: if root { 2 } else { 3 },
                start_time_unix_nano: start,
                end_time_unix_nano: start + 150_000 + (i as u64 % 97) * 13_000,
                attributes: vec![
                    kv("http.method", s(method)),
                    kv("http.route", s(route)),
                    kv("http.target", s(format!("/orders/{}", 10_000 + i * 31))),
                    kv("http.status_code", Value::IntValue(status)),
                    kv("net.host", s("svc-1")),
                    kv("server.port", Value::IntValue(8080)),
                    kv("peer.service", s("inventory")),
                    kv("thread.id", Value::IntValue((i % 64) as i64)),
                    kv("cache.hit", Value::BoolValue(i % 3 == 0)),
                    kv("items", Value::DoubleValue((i % 17) as f64 * 1.5)),
                ],
                status: Some(Status {
                    message: String::new(),
                    code: if status == 500 { 2 } else { 1 },
                }),
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                scope: scope(),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// 64 metrics of 8 data points (3 attributes each): sums, gauges and 12-bucket histograms.
pub(crate) fn metrics() -> ExportMetricsServiceRequest {
    let attributes = |p: usize| {
        vec![
            kv("http.route", s(ROUTES[p % ROUTES.len()])),
            kv("http.method", s(METHODS[p % METHODS.len()])),
            kv(
                "http.status_code",
                Value::IntValue(200 + (p % 2) as i64 * 300),
            ),
        ]
    };
    let number = |m: usize, p: usize| NumberDataPoint {
        attributes: attributes(p),
        start_time_unix_nano: 1_700_000_000_000_000_000,
        time_unix_nano: 1_700_000_010_000_000_000,
        value: Some(number_data_point::Value::AsInt((m * 100 + p) as i64)),
        ..Default::default()
    };
    let metrics = (0..ITEMS / 8)
        .map(|m| {
            let data = match m % 3 {
                0 => Data::Sum(Sum {
                    data_points: (0..8).map(|p| number(m, p)).collect(),
                    aggregation_temporality: 2,
                    is_monotonic: true,
                }),
                1 => Data::Gauge(Gauge {
                    data_points: (0..8).map(|p| number(m, p)).collect(),
                }),
                _ => Data::Histogram(Histogram {
                    data_points: (0..8)
                        .map(|p| HistogramDataPoint {
                            attributes: attributes(p),
                            start_time_unix_nano: 1_700_000_000_000_000_000,
                            time_unix_nano: 1_700_000_010_000_000_000,
                            count: 120,
                            sum: Some(5_000.0),
                            bucket_counts: (0..12).map(|b| b * 2).collect(),
                            explicit_bounds: (1..12).map(|b| f64::from(b) * 25.0).collect(),
                            min: Some(1.0),
                            max: Some(900.0),
                            ..Default::default()
                        })
                        .collect(),
                    aggregation_temporality: 2,
                }),
            };
            Metric {
                name: format!("http.server.metric_{m}"),
                description: "a bench metric".into(),
                unit: "ms".into(),
                data: Some(data),
                ..Default::default()
            }
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// 512 log records: a ~60-byte string body, 5 attributes, trace context.
pub(crate) fn logs() -> ExportLogsServiceRequest {
    let log_records = (0..ITEMS)
        .map(|i| LogRecord {
            time_unix_nano: 1_700_000_000_000_000_000 + i as u64 * 1_000,
            observed_time_unix_nano: 1_700_000_000_000_000_000 + i as u64 * 1_000 + 50,
            severity_number: 9,
            severity_text: "INFO".into(),
            body: Some(AnyValue {
                value: Some(s(format!(
                    "order {} shipped to warehouse {} after {} ms",
                    10_000 + i,
                    i % 7,
                    i % 300
                ))),
            }),
            attributes: vec![
                kv("code.function", s("ship_order")),
                kv("code.lineno", Value::IntValue(120 + (i % 9) as i64)),
                kv("order.id", Value::IntValue(10_000 + i as i64)),
                kv("warehouse", s(format!("wh-{}", i % 7))),
                kv("retry", Value::BoolValue(i % 11 == 0)),
            ],
            flags: 1,
            trace_id: id(16, (i / 4) as u64, 9),
            span_id: id(8, i as u64, 0),
            ..Default::default()
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// The encoded bench request of `signal`.
pub(crate) fn encoded(signal: Signal) -> Vec<u8> {
    match signal {
        Signal::Traces => traces(None).encode_to_vec(),
        Signal::Metrics => metrics().encode_to_vec(),
        Signal::Logs => logs().encode_to_vec(),
    }
}
