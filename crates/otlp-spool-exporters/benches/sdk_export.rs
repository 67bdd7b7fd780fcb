//! SDK export into a sink: spans/s and allocations per span beside two baselines, the SDK's
//! in-memory span exporter and `opentelemetry-otlp`'s gRPC (tonic) span exporter sending the
//! same `SpanData` to a local otlp-spool receiver (in-process, 127.0.0.1, a counting sink
//! behind it); metric export by reference beside the SDK's in-memory metric exporter (which
//! clones the `ResourceMetrics`, i.e. clone-then-export).
//!
//! `cargo bench -p otlp-spool-exporters --bench sdk_export`

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData, SpanExporter};
use otlp_spool_exporters::{SinkMetricExporter, SinkSpanExporter};

use common::{Counting, CountingSink, allocations, local_receiver, thread_allocations};

#[global_allocator]
static GLOBAL: Counting = Counting;

const BATCH: usize = 512;

/// Realistic SDK spans: 10 attributes, one event.
fn spans(n: usize) -> Vec<SpanData> {
    let memory = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(memory.clone())
        .build();
    let tracer = provider.tracer("bench");
    for i in 0..n {
        let mut span = tracer.start(format!("GET /api/items/{}", i % 32));
        for a in 0..10 {
            span.set_attribute(KeyValue::new(format!("attr.{a}"), format!("value-{i}-{a}")));
        }
        span.add_event("cache.miss", vec![]);
        span.end();
    }
    memory.get_finished_spans().unwrap()
}

/// One collection of 20 counters with 5 attribute sets each.
fn resource_metrics() -> ResourceMetrics {
    let memory = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(
            PeriodicReader::builder(memory.clone())
                .with_interval(Duration::from_secs(3600))
                .build(),
        )
        .build();
    let meter = provider.meter("bench");
    for c in 0..20 {
        let counter = meter.u64_counter(format!("counter.{c}")).build();
        for k in 0..5 {
            counter.add(k + 1, &[KeyValue::new("route", format!("/r/{k}"))]);
        }
    }
    provider.force_flush().unwrap();
    memory.get_finished_metrics().unwrap().remove(0)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    // The exporters' futures are ready at once; a no-op waker polls them.
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// Allocations per span of one export (the clone of the input batch excluded), in the whole
/// process and on the exporting thread, after one warm-up export.
fn allocations_per_span(label: &str, export: impl Fn(Vec<SpanData>)) {
    let template = spans(BATCH);
    export(template.clone());
    let rounds = 20;
    let (mut total, mut on_thread) = (0, 0);
    for _ in 0..rounds {
        let batch = template.clone();
        let (before, before_thread) = (allocations(), thread_allocations());
        export(batch);
        total += allocations() - before;
        on_thread += thread_allocations() - before_thread;
    }
    let per_span = |n: u64| n as f64 / (rounds * BATCH) as f64;
    println!(
        "allocations per span, {label}: {:.2} in the process, {:.2} on the exporting thread",
        per_span(total),
        per_span(on_thread)
    );
}

fn span_export(c: &mut Criterion) {
    let sink_exporter = SinkSpanExporter::new(Arc::new(CountingSink::default()));
    let memory = InMemorySpanExporter::default();
    // The tonic exporter needs a runtime (DEPENDENCIES.md trap 4); the receiver shares it.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (running, target) = local_receiver(&runtime);
    let otlp = {
        let _guard = runtime.enter();
        opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(format!("http://{}", running.grpc_addr().unwrap()))
            .build()
            .unwrap()
    };
    allocations_per_span("SinkSpanExporter", |b| {
        block_on(sink_exporter.export(b)).unwrap()
    });
    allocations_per_span("InMemorySpanExporter (baseline)", |b| {
        block_on(memory.export(b)).unwrap();
        memory.reset();
    });
    allocations_per_span(
        "opentelemetry-otlp gRPC to a local otlp-spool (baseline)",
        |b| runtime.block_on(otlp.export(b)).unwrap(),
    );

    let template = spans(BATCH);
    let mut group = c.benchmark_group("span_export");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("sink_exporter", |b| {
        b.iter_batched(
            || template.clone(),
            |batch| block_on(sink_exporter.export(batch)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("in_memory_exporter_baseline", |b| {
        b.iter_batched(
            || template.clone(),
            |batch| {
                block_on(memory.export(batch)).unwrap();
                memory.reset();
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("otlp_grpc_exporter_baseline", |b| {
        b.iter_batched(
            || template.clone(),
            |batch| runtime.block_on(otlp.export(batch)).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
    println!(
        "the local otlp-spool received {} spans from opentelemetry-otlp",
        target.0.load(std::sync::atomic::Ordering::Relaxed)
    );
    runtime.block_on(async {
        let _ = otlp.shutdown();
        running.shutdown_and_wait().await.unwrap();
    });
}

fn metric_export(c: &mut Criterion) {
    let rm = resource_metrics();
    let sink_exporter = SinkMetricExporter::new(Arc::new(CountingSink::default()));
    let memory = InMemoryMetricExporter::default();
    let mut group = c.benchmark_group("metric_export");
    group.throughput(Throughput::Elements(100));
    group.bench_function("by_reference", |b| {
        b.iter(|| block_on(sink_exporter.export(black_box(&rm))).unwrap())
    });
    // The SDK's in-memory exporter clones the ResourceMetrics (and stores the clone).
    group.bench_function("in_memory_clone_only_baseline", |b| {
        b.iter(|| {
            block_on(memory.export(black_box(&rm))).unwrap();
            memory.reset();
        })
    });
    // Clone-then-export: the clone above, plus the same conversion and hand-over.
    group.bench_function("clone_then_export_baseline", |b| {
        b.iter(|| {
            block_on(memory.export(black_box(&rm))).unwrap();
            block_on(sink_exporter.export(black_box(&rm))).unwrap();
            memory.reset();
        })
    });
    group.finish();
}

criterion_group!(benches, span_export, metric_export);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
