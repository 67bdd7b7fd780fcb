//! `Telemetry::memory_size` against what the allocator really handed out while decoding.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics,
    ScopeMetrics, Sum, metric::Data,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use otlp_spool_core::Telemetry;
use prost::Message;

/// Counts the live bytes allocated by the current thread, so parallel tests do not disturb it.
struct PerThreadCounting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn add(n: isize) {
    // `try_with`: allocations during thread teardown find the slot gone; they do not matter.
    let _ = LIVE.try_with(|c| c.set(c.get() + n));
}

// SAFETY: forwards every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for PerThreadCounting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: PerThreadCounting = PerThreadCounting;

/// Heap bytes the decoded value owns, as the allocator saw them.
fn measured_heap<T>(decode: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.with(Cell::get);
    let value = decode();
    let after = LIVE.with(Cell::get);
    (value, usize::try_from(after - before).unwrap())
}

fn kv(key: String, value: Value) -> KeyValue {
    KeyValue {
        key,
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn attrs(n: usize) -> Vec<KeyValue> {
    (0..n)
        .map(|i| match i % 4 {
            0 => kv(format!("key.{i}"), Value::StringValue("v".repeat(i * 3))),
            1 => kv(format!("int.{i}"), Value::IntValue(i as i64)),
            2 => kv(format!("bytes.{i}"), Value::BytesValue(vec![1; i])),
            _ => kv(
                format!("list.{i}"),
                Value::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(Value::StringValue("nested".into())),
                        };
                        3
                    ],
                }),
            ),
        })
        .collect()
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: attrs(5),
        ..Default::default()
    })
}

fn traces() -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                spans: (0..37)
                    .map(|i| Span {
                        trace_id: vec![7; 16],
                        span_id: vec![i as u8 + 1; 8],
                        parent_span_id: vec![9; 8],
                        name: format!("operation-{i}"),
                        attributes: attrs(i % 13),
                        events: vec![Event {
                            name: "event".into(),
                            attributes: attrs(2),
                            ..Default::default()
                        }],
                        links: vec![Link {
                            trace_id: vec![1; 16],
                            span_id: vec![2; 8],
                            trace_state: "k=v".into(),
                            attributes: attrs(1),
                            ..Default::default()
                        }],
                        status: Some(Status {
                            message: "boom".into(),
                            code: 2,
                        }),
                        ..Default::default()
                    })
                    .collect(),
                schema_url: "https://opentelemetry.io/schemas/1.30.0".into(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metrics() -> ExportMetricsServiceRequest {
    let point = |i: usize| NumberDataPoint {
        attributes: attrs(i % 5),
        exemplars: vec![Exemplar {
            filtered_attributes: attrs(1),
            span_id: vec![1; 8],
            trace_id: vec![2; 16],
            ..Default::default()
        }],
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![
                    Metric {
                        name: "requests".into(),
                        unit: "1".into(),
                        data: Some(Data::Sum(Sum {
                            data_points: (0..9).map(point).collect(),
                            ..Default::default()
                        })),
                        ..Default::default()
                    },
                    Metric {
                        name: "latency".into(),
                        description: "how long".into(),
                        data: Some(Data::Histogram(Histogram {
                            data_points: (0..5)
                                .map(|i| HistogramDataPoint {
                                    attributes: attrs(i),
                                    bucket_counts: vec![1; 11],
                                    explicit_bounds: vec![0.5; 10],
                                    ..Default::default()
                                })
                                .collect(),
                            ..Default::default()
                        })),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn logs() -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                log_records: (0..23)
                    .map(|i| LogRecord {
                        severity_text: "INFO".into(),
                        body: Some(AnyValue {
                            value: Some(Value::StringValue(format!("message number {i}"))),
                        }),
                        attributes: attrs(i % 7),
                        trace_id: vec![3; 16],
                        span_id: vec![4; 8],
                        event_name: "app.event".into(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// `memory_size` = the value's inline size + exactly what decoding it allocated.
fn check_exact(telemetry: impl FnOnce() -> Telemetry) {
    let (telemetry, heap) = measured_heap(telemetry);
    assert_eq!(
        telemetry.memory_size(),
        std::mem::size_of::<Telemetry>() + heap,
        "{:?}",
        telemetry.signal()
    );
    // And a decoded batch is several times its protobuf size, the reason lanes budget this.
    assert!(telemetry.memory_size() > 2 * telemetry.weight());
}

#[test]
fn memory_size_is_exactly_what_decoding_allocated() {
    let bytes = traces().encode_to_vec();
    check_exact(|| Telemetry::Traces(ExportTraceServiceRequest::decode(&bytes[..]).unwrap()));
    let bytes = metrics().encode_to_vec();
    check_exact(|| Telemetry::Metrics(ExportMetricsServiceRequest::decode(&bytes[..]).unwrap()));
    let bytes = logs().encode_to_vec();
    check_exact(|| Telemetry::Logs(ExportLogsServiceRequest::decode(&bytes[..]).unwrap()));
}

#[test]
fn memory_size_counts_capacity_not_length() {
    let mut request = traces();
    let tight = Telemetry::Traces(request.clone()).memory_size();
    request.resource_spans[0].scope_spans[0].spans.reserve(1000);
    let roomy = Telemetry::Traces(request).memory_size();
    assert!(roomy >= tight + 1000 * std::mem::size_of::<Span>());
}
