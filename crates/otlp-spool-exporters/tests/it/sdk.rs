//! The SDK exporters driven by real opentelemetry_sdk providers.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{
    Link, SpanContext, SpanId, TraceFlags, TraceId, TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter as _;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::trace::{
    InMemorySpanExporter, SdkTracerProvider, SpanData, SpanExporter as _,
};
use otlp_spool_core::proto::metrics::v1::number_data_point;
use otlp_spool_exporters::{SinkLogExporter, SinkMetricExporter, SinkSpanExporter};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::common::Collect;

const LIMIT: Duration = Duration::from_secs(20);

fn resource() -> Resource {
    Resource::builder_empty()
        .with_attribute(KeyValue::new("service.name", "sdk-test"))
        .build()
}

#[test]
fn spans_with_attributes_events_and_links_arrive() {
    let sink = Arc::new(Collect::default());
    let provider = SdkTracerProvider::builder()
        .with_resource(resource())
        .with_simple_exporter(SinkSpanExporter::new(sink.clone()))
        .build();
    let tracer = provider.tracer("sdk-test");
    let linked = SpanContext::new(
        TraceId::from_bytes([1; 16]),
        SpanId::from_bytes([2; 8]),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    );
    let span = tracer
        .span_builder("work")
        .with_attributes([KeyValue::new("user", "ada"), KeyValue::new("n", 42)])
        .with_links(vec![Link::with_context(linked)])
        .start(&tracer);
    {
        use opentelemetry::trace::Span as _;
        let mut span = span;
        span.add_event("checkpoint", vec![KeyValue::new("step", 1)]);
        span.end();
    }
    provider.shutdown().expect("shutdown");
    let spans = sink.spans();
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    assert_eq!(span.name, "work");
    assert_eq!(span.trace_id.len(), 16);
    assert_eq!(span.attributes.len(), 2);
    assert_eq!(span.events.len(), 1);
    assert_eq!(span.events[0].name, "checkpoint");
    assert_eq!(span.links.len(), 1);
    assert_eq!(span.links[0].trace_id, vec![1; 16]);
    let batches = sink.batches.lock();
    let Some(otlp_spool_core::ExportRequest::Traces(request)) =
        batches.first().map(|t| t.decode().unwrap())
    else {
        panic!("a trace batch");
    };
    let attrs = &request.resource_spans[0]
        .resource
        .as_ref()
        .unwrap()
        .attributes;
    assert!(attrs.iter().any(|kv| kv.key == "service.name"));
    assert!(
        sink.flushes.load(Ordering::SeqCst) >= 1,
        "shutdown flushed the sink"
    );
}

#[test]
fn batch_processor_delivers_every_span_on_force_flush() {
    let sink = Arc::new(Collect::default());
    let exporter = SinkSpanExporter::new(sink.clone());
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter.clone())
        .build();
    let tracer = provider.tracer("batch");
    for i in 0..500 {
        tracer.in_span(format!("s{i}"), |_| {});
    }
    provider.force_flush().expect("flush");
    assert_eq!(sink.items(), 500);
    // SDK 0.33's span processors do not forward force_flush to the exporter; the exporter's
    // own force_flush reaches the sink's flush.
    exporter.force_flush().expect("exporter flush");
    assert_eq!(sink.flushes.load(Ordering::SeqCst), 1);
    provider.shutdown().expect("shutdown");
    assert_eq!(
        sink.flushes.load(Ordering::SeqCst),
        2,
        "shutdown flushed the sink"
    );
}

fn counter_values(temporality: Temporality) -> Vec<i64> {
    let sink = Arc::new(Collect::default());
    let exporter = SinkMetricExporter::with_temporality(sink.clone(), temporality);
    assert_eq!(exporter.temporality(), temporality);
    let reader = PeriodicReader::builder(exporter)
        .with_interval(Duration::from_secs(3600))
        .build();
    let provider = SdkMeterProvider::builder().with_reader(reader).build();
    let counter = provider.meter("m").u64_counter("requests").build();
    counter.add(5, &[]);
    provider.force_flush().expect("first collection");
    counter.add(2, &[]);
    provider.force_flush().expect("second collection");
    provider.shutdown().expect("shutdown");
    sink.metric_points()
        .into_iter()
        .filter(|(name, _)| name == "requests")
        .map(|(_, p)| match p.value {
            Some(number_data_point::Value::AsInt(v)) => v,
            other => panic!("int point expected, got {other:?}"),
        })
        .take(2)
        .collect()
}

#[test]
fn counter_cumulative_gives_5_then_7() {
    assert_eq!(counter_values(Temporality::Cumulative), vec![5, 7]);
}

#[test]
fn counter_delta_gives_5_then_2() {
    assert_eq!(counter_values(Temporality::Delta), vec![5, 2]);
}

#[test]
fn default_temporality_is_cumulative_and_low_memory_is_kept() {
    let sink = Arc::new(Collect::default());
    assert_eq!(
        SinkMetricExporter::new(sink.clone()).temporality(),
        Temporality::Cumulative
    );
    assert_eq!(
        SinkMetricExporter::with_temporality(sink, Temporality::LowMemory).temporality(),
        Temporality::LowMemory
    );
}

#[test]
fn logs_arrive() {
    let sink = Arc::new(Collect::default());
    let provider = SdkLoggerProvider::builder()
        .with_resource(resource())
        .with_simple_exporter(SinkLogExporter::new(sink.clone()))
        .build();
    let logger = provider.logger("app");
    for i in 0..3 {
        let mut record = logger.create_log_record();
        record.set_body(format!("hello {i}").into());
        record.set_severity_number(Severity::Warn);
        record.set_timestamp(std::time::UNIX_EPOCH + Duration::from_secs(i + 1));
        record.add_attribute("k", "v");
        logger.emit(record);
    }
    provider.shutdown().expect("shutdown");
    let records = sink.log_records();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].severity_number, Severity::Warn as i32);
    assert_eq!(records[0].attributes.len(), 1);
    assert!(sink.flushes.load(Ordering::SeqCst) >= 1);
}

/// Real SDK spans, produced once through the SDK's in-memory exporter.
fn sample_spans(n: usize) -> Vec<SpanData> {
    let memory = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(memory.clone())
        .build();
    let tracer = provider.tracer("sample");
    for i in 0..n {
        tracer.in_span(format!("span-{i}"), |_| {});
    }
    memory.get_finished_spans().expect("spans")
}

async fn concurrent_exports(tasks: usize) {
    let sink = Arc::new(Collect::default());
    let exporter = SinkSpanExporter::new(sink.clone());
    let span = sample_spans(1).remove(0);
    let barrier = Arc::new(Barrier::new(tasks));
    let mut set = JoinSet::new();
    for _ in 0..tasks {
        let exporter = exporter.clone();
        let barrier = barrier.clone();
        let batch = vec![span.clone(), span.clone()];
        set.spawn(async move {
            barrier.wait().await;
            exporter.export(batch).await
        });
    }
    tokio::time::timeout(LIMIT, async {
        while let Some(result) = set.join_next().await {
            result.expect("task").expect("export");
        }
    })
    .await
    .expect("in time");
    assert_eq!(sink.items(), tasks * 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_from_10_concurrent_tasks() {
    concurrent_exports(10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_from_100_concurrent_tasks() {
    concurrent_exports(100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_from_1000_concurrent_tasks() {
    concurrent_exports(1000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_and_shutdown_race_with_exports() {
    let sink = Arc::new(Collect::default());
    let exporter = SinkSpanExporter::new(sink.clone());
    let span = sample_spans(1).remove(0);
    let tasks = 100;
    let barrier = Arc::new(Barrier::new(tasks + 2));
    let mut set = JoinSet::new();
    for _ in 0..tasks {
        let (exporter, barrier, span) = (exporter.clone(), barrier.clone(), span.clone());
        set.spawn(async move {
            barrier.wait().await;
            let mut ok = 0usize;
            for _ in 0..20 {
                match exporter.export(vec![span.clone()]).await {
                    Ok(()) => ok += 1,
                    Err(OTelSdkError::AlreadyShutdown) => break,
                    Err(other) => panic!("unexpected {other:?}"),
                }
                tokio::task::yield_now().await;
            }
            ok
        });
    }
    let flusher = {
        let (exporter, barrier) = (exporter.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            for _ in 0..10 {
                match exporter.force_flush() {
                    Ok(()) | Err(OTelSdkError::AlreadyShutdown) => {}
                    Err(other) => panic!("unexpected {other:?}"),
                }
                tokio::task::yield_now().await;
            }
        })
    };
    barrier.wait().await;
    tokio::task::yield_now().await;
    exporter.shutdown().expect("first shutdown");
    let at_shutdown = sink.items();
    assert!(matches!(
        exporter.shutdown(),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    let ok: usize = tokio::time::timeout(LIMIT, async {
        let mut total = 0;
        while let Some(n) = set.join_next().await {
            total += n.expect("task");
        }
        total
    })
    .await
    .expect("in time");
    flusher.await.expect("flusher");
    assert_eq!(
        ok, at_shutdown,
        "every Ok export was in the sink when shutdown returned"
    );
    assert_eq!(
        sink.items(),
        at_shutdown,
        "nothing reached the sink after shutdown"
    );
}

#[tokio::test]
async fn export_after_shutdown_errors_for_every_signal() {
    let sink = Arc::new(Collect::default());
    let spans = SinkSpanExporter::new(sink.clone());
    spans.shutdown().expect("shutdown");
    assert!(matches!(
        spans.export(sample_spans(1)).await,
        Err(OTelSdkError::AlreadyShutdown)
    ));
    assert!(matches!(
        spans.export(Vec::new()).await,
        Err(OTelSdkError::AlreadyShutdown)
    ));
    assert!(matches!(
        spans.force_flush(),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    let clone = spans.clone();
    assert!(matches!(
        clone.export(sample_spans(1)).await,
        Err(OTelSdkError::AlreadyShutdown)
    ));

    let metrics = SinkMetricExporter::new(sink.clone());
    metrics.shutdown().expect("shutdown");
    assert!(matches!(
        metrics.force_flush(),
        Err(OTelSdkError::AlreadyShutdown)
    ));

    // A provider shut down before its reader exported: no hang, and the exporter refuses.
    let exporter = SinkMetricExporter::new(sink.clone());
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    provider.meter("m").u64_counter("c").build().add(1, &[]);
    provider.shutdown().expect("shutdown");
    assert!(matches!(
        exporter.force_flush(),
        Err(OTelSdkError::AlreadyShutdown)
    ));

    let logs = SinkLogExporter::new(sink.clone());
    opentelemetry_sdk::logs::LogExporter::shutdown(&logs).expect("shutdown");
    assert!(matches!(
        logs.force_flush(),
        Err(OTelSdkError::AlreadyShutdown)
    ));
    assert_eq!(sink.items(), 1, "only the provider's one point arrived");
}
