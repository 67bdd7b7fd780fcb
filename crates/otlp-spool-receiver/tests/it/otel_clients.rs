//! End to end with clients no one here wrote: the Rust `opentelemetry-otlp` exporters (with
//! `opentelemetry_sdk`) over gRPC, HTTP protobuf and HTTP JSON. The sink must hold exactly
//! what the SDK sent: counts, names, ids, attribute values and types.

use std::collections::HashMap;

use opentelemetry::logs::{
    AnyValue as LogValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity,
};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{
    Link, Span as _, SpanContext, SpanKind, TraceContextExt, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Array, Context, KeyValue, Value};
use opentelemetry_otlp::{
    LogExporter, MetricExporter, Protocol, SpanExporter, WithExportConfig, WithTonicConfig,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Pv;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::{Metric, metric::Data, number_data_point};
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::SdkTracerProvider;
use otlp_spool_receiver::{ExportRequest, Telemetry};

use crate::support::*;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Proto {
    Grpc,
    HttpProtobuf,
    HttpJson,
}

impl Proto {
    const ALL: [Proto; 3] = [Proto::Grpc, Proto::HttpProtobuf, Proto::HttpJson];

    fn http_protocol(self) -> Protocol {
        match self {
            Proto::HttpJson => Protocol::HttpJson,
            _ => Protocol::HttpBinary,
        }
    }
}

/// Runs SDK code on its own thread: the SDK exporters block (simple processors, blocking
/// reqwest); the tonic exporter needs the runtime entered (trap 4 of DEPENDENCIES.md).
async fn client_side<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let handle = tokio::runtime::Handle::current();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _entered = handle.enter();
        let _ = tx.send(f());
    });
    tokio::time::timeout(std::time::Duration::from_secs(30), rx)
        .await
        .expect("the SDK finished in time")
        .expect("the SDK thread panicked")
}

fn resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("receiver-it")
        .with_attribute(KeyValue::new("deployment.environment", "test"))
        .build()
}

fn value(kv: &[opentelemetry_proto::tonic::common::v1::KeyValue], key: &str) -> Pv {
    kv.iter()
        .find(|kv| kv.key == key)
        .unwrap_or_else(|| panic!("no attribute {key} in {kv:?}"))
        .value
        .clone()
        .and_then(|v| v.value)
        .unwrap()
}

struct SentSpans {
    parent: SpanContext,
    child: SpanContext,
    target: SpanContext,
}

fn send_spans(server_grpc: String, server_http: String, proto: Proto) -> SentSpans {
    let exporter = match proto {
        Proto::Grpc => SpanExporter::builder()
            .with_tonic()
            .with_endpoint(server_grpc)
            .with_compression(opentelemetry_otlp::Compression::Gzip)
            .build(),
        _ => SpanExporter::builder()
            .with_http()
            .with_protocol(proto.http_protocol())
            .with_endpoint(format!("{server_http}/v1/traces"))
            .build(),
    }
    .expect("span exporter");
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .with_resource(resource())
        .build();
    let tracer = provider.tracer("receiver-it-tracer");

    let mut target = tracer.start("linked-target");
    let target_cx = target.span_context().clone();
    target.end();

    let parent = tracer
        .span_builder("parent")
        .with_kind(SpanKind::Server)
        .with_attributes(vec![
            KeyValue::new("http.route", "/cart"),
            KeyValue::new("http.status_code", 200_i64),
            KeyValue::new("ratio", 0.25_f64),
            KeyValue::new("cached", true),
            KeyValue::new(
                "tags",
                Value::Array(Array::String(vec!["a".into(), "b".into()])),
            ),
        ])
        .with_links(vec![Link::new(
            target_cx.clone(),
            vec![KeyValue::new("link.kind", "follows")],
            0,
        )])
        .start(&tracer);
    let parent_cx = Context::current_with_span(parent);
    parent_cx
        .span()
        .add_event("cache-miss", vec![KeyValue::new("key", "user:1")]);
    let mut child = tracer.start_with_context("child", &parent_cx);
    let child_sc = child.span_context().clone();
    child.end();
    let parent_sc = parent_cx.span().span_context().clone();
    parent_cx.span().end();
    provider.force_flush().expect("flush");
    provider.shutdown().expect("shutdown");
    SentSpans {
        parent: parent_sc,
        child: child_sc,
        target: target_cx,
    }
}

fn spans(
    received: &[Telemetry],
) -> HashMap<String, (Span, Vec<opentelemetry_proto::tonic::common::v1::KeyValue>)> {
    let mut spans = HashMap::new();
    for telemetry in received {
        let ExportRequest::Traces(request) = telemetry.decode().unwrap() else {
            panic!("not traces: {telemetry:?}")
        };
        for resource_spans in &request.resource_spans {
            let resource = resource_spans.resource.clone().unwrap().attributes;
            for scope in &resource_spans.scope_spans {
                assert_eq!(scope.scope.as_ref().unwrap().name, "receiver-it-tracer");
                for span in &scope.spans {
                    spans.insert(span.name.clone(), (span.clone(), resource.clone()));
                }
            }
        }
    }
    spans
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn spans_with_attributes_events_and_links() {
    for proto in Proto::ALL {
        let server = start().await;
        let (grpc, http) = (server.grpc_url(), server.http_url(""));
        let sent = client_side(move || send_spans(grpc, http, proto)).await;
        let received = spans(&server.sink.take());
        assert_eq!(received.len(), 3, "{proto:?}: {:?}", received.keys());

        let (parent, resource) = &received["parent"];
        assert_eq!(
            value(resource, "service.name"),
            Pv::StringValue("receiver-it".into())
        );
        assert_eq!(
            parent.trace_id,
            sent.parent.trace_id().to_bytes(),
            "{proto:?}"
        );
        assert_eq!(parent.span_id, sent.parent.span_id().to_bytes());
        assert!(parent.parent_span_id.is_empty());
        assert_eq!(parent.kind, 2, "SPAN_KIND_SERVER");
        assert_eq!(
            value(&parent.attributes, "http.route"),
            Pv::StringValue("/cart".into())
        );
        assert_eq!(
            value(&parent.attributes, "http.status_code"),
            Pv::IntValue(200)
        );
        assert_eq!(value(&parent.attributes, "ratio"), Pv::DoubleValue(0.25));
        assert_eq!(value(&parent.attributes, "cached"), Pv::BoolValue(true));
        let Pv::ArrayValue(tags) = value(&parent.attributes, "tags") else {
            panic!("tags is not an array")
        };
        assert_eq!(tags.values.len(), 2);
        assert_eq!(parent.events.len(), 1);
        assert_eq!(parent.events[0].name, "cache-miss");
        assert_eq!(
            value(&parent.events[0].attributes, "key"),
            Pv::StringValue("user:1".into())
        );
        assert_eq!(parent.links.len(), 1);
        assert_eq!(parent.links[0].trace_id, sent.target.trace_id().to_bytes());
        assert_eq!(parent.links[0].span_id, sent.target.span_id().to_bytes());
        assert_eq!(
            value(&parent.links[0].attributes, "link.kind"),
            Pv::StringValue("follows".into())
        );
        assert!(parent.end_time_unix_nano >= parent.start_time_unix_nano);
        assert!(parent.start_time_unix_nano > 1_600_000_000_000_000_000);

        let (child, _) = &received["child"];
        assert_eq!(child.trace_id, parent.trace_id);
        assert_eq!(child.span_id, sent.child.span_id().to_bytes());
        assert_eq!(child.parent_span_id, parent.span_id);
    }
}

fn send_metrics(server_grpc: String, server_http: String, proto: Proto, temporality: Temporality) {
    let exporter = match proto {
        Proto::Grpc => MetricExporter::builder()
            .with_tonic()
            .with_endpoint(server_grpc)
            .with_temporality(temporality)
            .build(),
        _ => MetricExporter::builder()
            .with_http()
            .with_protocol(proto.http_protocol())
            .with_endpoint(format!("{server_http}/v1/metrics"))
            .with_temporality(temporality)
            .build(),
    }
    .expect("metric exporter");
    let provider = SdkMeterProvider::builder()
        .with_periodic_exporter(exporter)
        .with_resource(resource())
        .build();
    let meter = provider.meter("receiver-it-meter");
    let counter = meter.u64_counter("it.requests").build();
    counter.add(3, &[KeyValue::new("route", "/a")]);
    counter.add(4, &[KeyValue::new("route", "/a")]);
    counter.add(1, &[KeyValue::new("route", "/b")]);
    let histogram = meter.f64_histogram("it.latency").with_unit("s").build();
    histogram.record(1.5, &[]);
    histogram.record(2.5, &[]);
    let queue = meter.i64_up_down_counter("it.queue").build();
    queue.add(5, &[]);
    queue.add(-2, &[]);
    let gauge = meter.f64_gauge("it.temperature").build();
    gauge.record(21.5, &[KeyValue::new("room", "lab")]);
    provider.force_flush().expect("flush");
    provider.shutdown().expect("shutdown");
}

fn metrics(received: &[Telemetry]) -> HashMap<String, Metric> {
    let mut metrics = HashMap::new();
    for telemetry in received {
        let ExportRequest::Metrics(request) = telemetry.decode().unwrap() else {
            panic!("not metrics")
        };
        for scope in request
            .resource_metrics
            .iter()
            .flat_map(|r| &r.scope_metrics)
        {
            for metric in &scope.metrics {
                // Later exports (shutdown after flush) may repeat a metric: keep the first.
                metrics
                    .entry(metric.name.clone())
                    .or_insert_with(|| metric.clone());
            }
        }
    }
    metrics
}

fn as_int(point: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint) -> i64 {
    match point.value {
        Some(number_data_point::Value::AsInt(v)) => v,
        other => panic!("not an int: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn counters_histograms_gauges_and_up_down_counters() {
    let cases = [
        (Proto::Grpc, Temporality::Delta),
        (Proto::HttpProtobuf, Temporality::Cumulative),
        (Proto::HttpJson, Temporality::Delta),
    ];
    for (proto, temporality) in cases {
        let server = start().await;
        let (grpc, http) = (server.grpc_url(), server.http_url(""));
        client_side(move || send_metrics(grpc, http, proto, temporality)).await;
        let received = metrics(&server.sink.take());
        let want_temporality = match temporality {
            Temporality::Delta => 1,
            _ => 2,
        };

        let Some(Data::Sum(requests)) = &received["it.requests"].data else {
            panic!("{proto:?}: it.requests is not a sum")
        };
        assert!(requests.is_monotonic);
        assert_eq!(
            requests.aggregation_temporality, want_temporality,
            "{proto:?}"
        );
        assert_eq!(requests.data_points.len(), 2, "one point per attribute set");
        let mut per_route: Vec<_> = requests
            .data_points
            .iter()
            .map(|p| (value(&p.attributes, "route"), as_int(p)))
            .collect();
        per_route.sort_by_key(|(_, v)| *v);
        assert_eq!(
            per_route,
            [
                (Pv::StringValue("/b".into()), 1),
                (Pv::StringValue("/a".into()), 7)
            ]
        );

        let Some(Data::Histogram(latency)) = &received["it.latency"].data else {
            panic!("it.latency is not a histogram")
        };
        assert_eq!(received["it.latency"].unit, "s");
        assert_eq!(latency.data_points[0].count, 2);
        assert_eq!(latency.data_points[0].sum, Some(4.0));

        let Some(Data::Sum(queue)) = &received["it.queue"].data else {
            panic!("it.queue is not a sum")
        };
        assert!(!queue.is_monotonic);
        assert_eq!(as_int(&queue.data_points[0]), 3);

        let Some(Data::Gauge(temperature)) = &received["it.temperature"].data else {
            panic!("it.temperature is not a gauge")
        };
        assert_eq!(
            temperature.data_points[0].value,
            Some(number_data_point::Value::AsDouble(21.5))
        );
        assert_eq!(
            value(&temperature.data_points[0].attributes, "room"),
            Pv::StringValue("lab".into())
        );
    }
}

fn send_logs(server_grpc: String, server_http: String, proto: Proto) -> SpanContext {
    let exporter = match proto {
        Proto::Grpc => LogExporter::builder()
            .with_tonic()
            .with_endpoint(server_grpc)
            .build(),
        _ => LogExporter::builder()
            .with_http()
            .with_protocol(proto.http_protocol())
            .with_endpoint(format!("{server_http}/v1/logs"))
            .build(),
    }
    .expect("log exporter");
    let provider = SdkLoggerProvider::builder()
        .with_simple_exporter(exporter)
        .with_resource(resource())
        .build();
    let logger = provider.logger("receiver-it-logger");

    // A span context to correlate with, made by a tracer that exports nowhere.
    let tracer_provider = SdkTracerProvider::builder().build();
    let span = tracer_provider.tracer("t").start("for-logs");
    let span_context = span.span_context().clone();

    let mut record = logger.create_log_record();
    record.set_severity_number(Severity::Warn);
    record.set_severity_text("WARN");
    record.set_body(LogValue::from("disk almost full"));
    record.add_attribute("disk", "sda");
    record.add_attribute("free_bytes", 1024_i64);
    record.set_trace_context(span_context.trace_id(), span_context.span_id(), None);
    logger.emit(record);

    let mut plain = logger.create_log_record();
    plain.set_body(LogValue::from("no context"));
    logger.emit(plain);
    provider.shutdown().expect("shutdown");
    span_context
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn log_records_with_and_without_trace_context() {
    for proto in Proto::ALL {
        let server = start().await;
        let (grpc, http) = (server.grpc_url(), server.http_url(""));
        let context = client_side(move || send_logs(grpc, http, proto)).await;
        let records: Vec<LogRecord> = server
            .sink
            .take()
            .iter()
            .flat_map(|t| match t.decode().unwrap() {
                ExportRequest::Logs(request) => request
                    .resource_logs
                    .iter()
                    .flat_map(|r| &r.scope_logs)
                    .flat_map(|s| s.log_records.clone())
                    .collect::<Vec<_>>(),
                other => panic!("not logs: {other:?}"),
            })
            .collect();
        assert_eq!(records.len(), 2, "{proto:?}");
        let warn = &records[0];
        assert_eq!(warn.severity_number, 13, "SEVERITY_NUMBER_WARN");
        assert_eq!(warn.severity_text, "WARN");
        assert_eq!(
            warn.body.as_ref().unwrap().value,
            Some(Pv::StringValue("disk almost full".into()))
        );
        assert_eq!(
            value(&warn.attributes, "disk"),
            Pv::StringValue("sda".into())
        );
        assert_eq!(value(&warn.attributes, "free_bytes"), Pv::IntValue(1024));
        assert_eq!(warn.trace_id, context.trace_id().to_bytes(), "{proto:?}");
        assert_eq!(warn.span_id, context.span_id().to_bytes());
        assert!(records[1].trace_id.is_empty() || records[1].trace_id == [0; 16]);
    }
}
