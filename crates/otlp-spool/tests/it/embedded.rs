//! The embedded API: a Spool's own SDK exporters plugged into SDK providers write straight to
//! files, with the temporality the program chose.

use std::time::Duration;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use otlp_spool::{Spool, Temporality};
use otlp_spool_core::proto::metrics::v1::{
    AggregationTemporality, metric::Data, number_data_point,
};
use otlp_spool_storage::{FileReader, OtlpRequest, Signal};

/// The `requests` counter's points as (temporality, value), in file order.
fn counter_points(dir: &std::path::Path) -> Vec<(i32, i64)> {
    let mut points = Vec::new();
    for request in FileReader::new(dir, Signal::Metrics).requests().unwrap() {
        let OtlpRequest::Metrics(request) = request.unwrap() else {
            panic!("not metrics")
        };
        for m in request
            .resource_metrics
            .into_iter()
            .flat_map(|r| r.scope_metrics)
            .flat_map(|s| s.metrics)
        {
            if m.name != "requests" {
                continue;
            }
            let Some(Data::Sum(sum)) = m.data else {
                panic!("a counter is a sum")
            };
            for p in sum.data_points {
                let Some(number_data_point::Value::AsInt(v)) = p.value else {
                    panic!("u64 counter")
                };
                points.push((sum.aggregation_temporality, v));
            }
        }
    }
    points
}

async fn counter_with(temporality: Option<Temporality>) -> Vec<(i32, i64)> {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::builder()
        .output_dir(dir.path())
        .build()
        .await
        .unwrap();
    let exporter = match temporality {
        Some(t) => spool.metric_exporter(t),
        None => spool.metric_exporter(Temporality::default()),
    };
    let reader = PeriodicReader::builder(exporter)
        .with_interval(Duration::from_secs(3600))
        .build();
    let provider = SdkMeterProvider::builder().with_reader(reader).build();
    let counter = provider.meter("embedded").u64_counter("requests").build();
    let provider = tokio::task::spawn_blocking(move || {
        counter.add(5, &[]);
        provider.force_flush().unwrap();
        counter.add(2, &[]);
        provider.force_flush().unwrap();
        provider
    })
    .await
    .unwrap();
    tokio::task::spawn_blocking(move || provider.shutdown())
        .await
        .unwrap()
        .ok();
    spool.shutdown().await.unwrap();
    counter_points(dir.path())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_keep_the_chosen_temporality_in_the_files() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let cumulative = AggregationTemporality::Cumulative as i32;
        let delta = AggregationTemporality::Delta as i32;
        let points = counter_with(None).await;
        assert_eq!(
            &points[..2],
            &[(cumulative, 5), (cumulative, 7)],
            "default is cumulative"
        );
        let points = counter_with(Some(Temporality::Delta)).await;
        assert_eq!(&points[..2], &[(delta, 5), (delta, 2)]);
        assert_eq!(points.iter().map(|p| p.1).sum::<i64>(), 7);
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn span_exporter_flush_reaches_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::builder()
        .output_dir(dir.path())
        .build()
        .await
        .unwrap();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(spool.span_exporter())
        .build();
    let provider = tokio::task::spawn_blocking(move || {
        let tracer = provider.tracer("embedded");
        for i in 0..100 {
            let mut span = tracer.start(format!("work-{i}"));
            span.end();
        }
        // SDK 0.33's batch processor exports on force_flush but does not call the exporter's
        // own force_flush, so the spans are in the pipeline, not yet in a finalized file.
        provider.force_flush().unwrap();
        provider
    })
    .await
    .unwrap();
    spool.flush().await.unwrap();
    let rows = stored_spans(dir.path());
    assert_eq!(
        rows, 100,
        "Spool::flush returned before the spans were in finalized files"
    );
    tokio::task::spawn_blocking(move || provider.shutdown())
        .await
        .unwrap()
        .ok();
    spool.shutdown().await.unwrap();
}

/// Counts the spans in the finalized trace files of `dir`.
fn stored_spans(dir: &std::path::Path) -> usize {
    FileReader::new(dir, Signal::Traces)
        .requests()
        .unwrap()
        .map(|r| match r.unwrap() {
            OtlpRequest::Traces(t) => t
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum(),
            _ => 0,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_shutdown_alone_reaches_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::builder()
        .output_dir(dir.path())
        .build()
        .await
        .unwrap();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(spool.span_exporter())
        .build();
    tokio::task::spawn_blocking(move || {
        let tracer = provider.tracer("embedded");
        for i in 0..10 {
            tracer.start(format!("work-{i}")).end();
        }
        // The exporter's shutdown flushes the sink: the spans are in finalized files now.
        provider.shutdown().unwrap();
    })
    .await
    .unwrap();
    assert_eq!(stored_spans(dir.path()), 10);
    spool.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_shutdown_flush_and_accept_fail_at_once() {
    use otlp_spool_core::{Sink, SinkError, Telemetry};
    let request = Telemetry::from(crate::traffic::request(1, 1));
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::builder()
        .output_dir(dir.path())
        .build()
        .await
        .unwrap();
    spool.shutdown().await.unwrap();
    let started = std::time::Instant::now();
    assert!(spool.flush().await.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "flush after shutdown must not wait"
    );
    let refused = spool.sink().accept(request.clone()).unwrap_err();
    assert_eq!(refused.error(), &SinkError::Closed);
    assert_eq!(
        refused.into_inner(),
        request,
        "the refused request comes back"
    );
    spool.shutdown().await.unwrap(); // idempotent
}
