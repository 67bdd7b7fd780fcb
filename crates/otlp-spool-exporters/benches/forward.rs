//! Forwarder throughput to a local otlp-spool-receiver (gRPC, in-process, 127.0.0.1), in
//! spans/s, beside a naive baseline: the generated tonic client sending each batch itself and
//! awaiting the answer (no queue, no merging, one request in flight).
//!
//! `cargo bench -p otlp-spool-exporters --bench forward`

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group};
use otlp_spool_core::proto::collector::trace::v1::ExportTraceServiceRequest;
use otlp_spool_core::proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlp_spool_core::proto::common::v1::{AnyValue, KeyValue, any_value};
use otlp_spool_core::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_spool_core::{Sink, Telemetry};
use otlp_spool_exporters::{Forwarder, Protocol};

use common::{Counting, local_receiver};

#[global_allocator]
static GLOBAL: Counting = Counting;

const SPANS: usize = 512;
const BATCHES: usize = 8;

/// A request of 512 spans with 10 attributes each (~300 bytes per span).
fn request(seed: u64) -> ExportTraceServiceRequest {
    let spans = (0..SPANS as u64)
        .map(|i| {
            let mut trace_id = [0u8; 16];
            trace_id[..8].copy_from_slice(&(seed * 10_000 + i + 1).to_be_bytes());
            Span {
                trace_id: trace_id.to_vec(),
                span_id: (i + 1).to_be_bytes().to_vec(),
                name: format!("GET /api/items/{}", i % 32),
                start_time_unix_nano: 1_700_000_000_000_000_000 + i,
                end_time_unix_nano: 1_700_000_000_000_100_000 + i,
                attributes: (0..10)
                    .map(|a| KeyValue {
                        key: format!("attr.{a}"),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(format!("value-{i}-{a}"))),
                        }),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn forward(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (running, target) = local_receiver(&runtime);
    let endpoint = format!("http://{}", running.grpc_addr().unwrap());
    let forwarder = runtime.block_on(async {
        Forwarder::builder()
            .endpoint(endpoint.clone())
            .protocol(Protocol::Grpc)
            .build()
            .unwrap()
    });
    let mut client =
        runtime.block_on(async { TraceServiceClient::connect(endpoint.clone()).await.unwrap() });
    let requests: Vec<_> = (0..BATCHES as u64).map(request).collect();
    // What the forwarder is handed in the pipeline: the bytes form (encoded once upstream).
    let batches: Vec<Telemetry> = requests.iter().cloned().map(Telemetry::from).collect();

    let mut group = c.benchmark_group("forward_grpc");
    group.throughput(Throughput::Elements((SPANS * BATCHES) as u64));
    group.bench_function("forwarder", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for t in &batches {
                    forwarder.accept(t.clone()).unwrap();
                }
                assert!(forwarder.flush(Duration::from_secs(30)).await);
            })
        })
    });
    group.bench_function("direct_client_baseline", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for r in &requests {
                    client.export(r.clone()).await.unwrap();
                }
            })
        })
    });
    group.finish();
    let stats = forwarder.stats();
    assert_eq!(stats.dropped_items + stats.failed_items, 0);
    println!(
        "forwarded {} spans in {} requests; target received {}",
        stats.forwarded_items,
        stats.forwarded_requests,
        target.0.load(Ordering::Relaxed)
    );
    runtime.block_on(async {
        forwarder.shutdown(Duration::from_secs(5)).await;
        running.shutdown_and_wait().await.unwrap();
    });
}

criterion_group!(benches, forward);

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
