//! End-to-end, in process: OTLP trace request bodies (as the receiver gets them) are validated
//! by the receiver's `validate_protobuf` (today a prost-based stand-in for the walker), handed
//! to an `otlp_spool::Spool`'s sink in the bytes form, and flushed into finalized Arrow files
//! (the lane's conversion is a prost-based stand-in too). Beside it, in the same group, two
//! naive baselines that prost-decode each body once: writing the raw protobuf bytes with
//! `write_all`, and pushing the decoded requests into a `Mutex<Vec<_>>`.
//!
//! Run: `CARGO_TARGET_DIR=... cargo bench -p otlp-spool-benches --bench e2e`

use std::hint::black_box;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use otlp_spool::Spool;
use otlp_spool::config::{ByteSize, Config, FsyncPolicy, StorageConfig};
use otlp_spool_benches::RequestPool;
use otlp_spool_core::proto::collector::trace::v1::ExportTraceServiceRequest;
use otlp_spool_core::{Signal, Sink, SinkError, Telemetry};
use otlp_spool_receiver::{Limits, validate_protobuf};
use prost::Message;

/// Requests per iteration: 32 x 512 spans, about 5 MB of protobuf.
const REQUESTS: usize = 32;
const SPANS: usize = 512;

fn decode(body: &[u8]) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest::decode(body).expect("the pool encodes valid requests")
}

fn e2e(c: &mut Criterion) {
    let pool = RequestPool::new(REQUESTS, SPANS, 1_700_000_000_000_000_000);
    let bodies: Vec<&[u8]> = pool.template_bodies().collect();
    // What the receiver holds after reading a request: its body as `Bytes`.
    let received: Vec<Bytes> = bodies.iter().map(|b| Bytes::copy_from_slice(b)).collect();
    let limits = Limits::default();
    let validate = |body: &Bytes| -> Telemetry {
        validate_protobuf(Signal::Traces, body.clone(), &limits)
            .expect("the pool encodes valid requests")
            .0
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");

    // Flushing every iteration finalizes a small file each time; an fsync per file would
    // measure the disk, not the pipeline (the service fsyncs once per 64 MiB file).
    let config = Config {
        output_dir: dir.path().join("spool"),
        storage: StorageConfig {
            fsync: FsyncPolicy::None,
            retention_size: Some(ByteSize(256 << 20)),
            ..StorageConfig::default()
        },
        ..Config::default()
    };
    let spool = runtime
        .block_on(Spool::builder().config(config).build())
        .expect("spool starts");
    let sink = spool.sink();

    let mut group = c.benchmark_group("e2e_traces");
    group.throughput(Throughput::Elements((REQUESTS * SPANS) as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);

    // The name predates the bytes form (then: prost decode + accept + flush); kept so that
    // `cargo xtask bench-compare` compares the same path across the change.
    group.bench_function("spool_decode_accept_flush", |b| {
        b.iter(|| {
            for body in &received {
                let mut telemetry = validate(body);
                loop {
                    match sink.accept(telemetry) {
                        Ok(()) => break,
                        Err(refused) if matches!(refused.error(), SinkError::Full { .. }) => {
                            runtime.block_on(spool.flush()).expect("flush");
                            // The refusal hands the request back: retry it as it is.
                            telemetry = refused.into_inner();
                        }
                        Err(e) => panic!("accept failed: {e}"),
                    }
                }
            }
            runtime.block_on(spool.flush()).expect("flush");
        })
    });

    let raw_path = dir.path().join("raw.bin");
    group.bench_function("naive_decode_write_raw", |b| {
        b.iter(|| {
            let mut file = std::fs::File::create(&raw_path).expect("create");
            for body in &bodies {
                black_box(decode(body));
                file.write_all(&(body.len() as u32).to_le_bytes())
                    .expect("write");
                file.write_all(body).expect("write");
            }
            file.flush().expect("flush");
        })
    });

    let held: Mutex<Vec<ExportTraceServiceRequest>> = Mutex::new(Vec::with_capacity(REQUESTS));
    group.bench_function("naive_decode_mutex_vec", |b| {
        b.iter(|| {
            for body in &bodies {
                held.lock().expect("lock").push(decode(body));
            }
            black_box(std::mem::take(&mut *held.lock().expect("lock")));
        })
    });
    group.finish();

    runtime
        .block_on(spool.shutdown())
        .expect("spool shuts down");
    runtime.shutdown_timeout(Duration::from_secs(5));
}

criterion_group!(benches, e2e);
criterion_main!(benches);
