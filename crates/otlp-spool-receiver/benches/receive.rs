//! Request handling of 512 realistic spans (~10 attributes each), beside plain prost decode
//! as the yardstick.
//!
//! * `decode_512_spans`: in process. `prost_decode` (baseline: what a server building prost
//!   structs must do at least) vs `http_protobuf` (the HTTP path: `decode_request` = body
//!   limit + `validate_protobuf`), `http_protobuf_gzip` (+ capped gzip inflate),
//!   `grpc_handler` (what the gRPC handler does with the bytes tonic hands over:
//!   `validate_protobuf`), and `http_json` beside its own baseline `serde_json_decode`.
//!   `validate_protobuf` is a prost-based stand-in today, so it costs about one prost decode.
//! * `roundtrip_512_spans`: a real receiver on 127.0.0.1 with a sink that drops everything;
//!   one request at a time over HTTP/1.1 (reqwest, keep-alive) and gRPC (tonic client).

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value::Value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use otlp_spool_receiver::{
    Encoding, Format, Limits, Receiver, Refusal, Signal, Sink, Telemetry, decode_request,
    validate_protobuf,
};
use prost::Message;

const SPANS: usize = 512;

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// 512 spans of about 350 bytes each: 10 attributes of mixed types, realistic names.
fn request() -> ExportTraceServiceRequest {
    let spans = (0..SPANS)
        .map(|i| {
            let n = i as u64;
            let mut trace_id = [0u8; 16];
            trace_id[..8].copy_from_slice(&(n + 1).to_be_bytes());
            trace_id[8..].copy_from_slice(&0x5b8e_fff7_9803_8103_u64.to_be_bytes());
            Span {
                trace_id: trace_id.to_vec(),
                span_id: (n + 1)
                    .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    .to_be_bytes()
                    .to_vec(),
                parent_span_id: (n + 7).to_be_bytes().to_vec(),
                name: format!("GET /api/v1/orders/{{id}}/items #{}", i % 16),
                kind: 2,
                start_time_unix_nano: 1_700_000_000_000_000_000 + n * 1_000,
                end_time_unix_nano: 1_700_000_000_000_000_000 + n * 1_000 + 250_000,
                attributes: vec![
                    kv("http.request.method", Value::StringValue("GET".into())),
                    kv(
                        "http.route",
                        Value::StringValue("/api/v1/orders/{id}/items".into()),
                    ),
                    kv("http.response.status_code", Value::IntValue(200)),
                    kv(
                        "server.address",
                        Value::StringValue("orders.internal".into()),
                    ),
                    kv("server.port", Value::IntValue(8080)),
                    kv("url.scheme", Value::StringValue("https".into())),
                    kv(
                        "user_agent.original",
                        Value::StringValue("okhttp/4.12.0".into()),
                    ),
                    kv("network.protocol.version", Value::StringValue("1.1".into())),
                    kv("app.cache_hit", Value::BoolValue(i % 3 == 0)),
                    kv("app.items", Value::DoubleValue(i as f64 * 0.5)),
                ],
                status: Some(Status {
                    code: 1,
                    ..Default::default()
                }),
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", Value::StringValue("orders".into())),
                    kv("service.version", Value::StringValue("1.4.2".into())),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "opentelemetry-instrumentation-http".into(),
                    version: "0.48.0".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn decode(c: &mut Criterion) {
    let request = request();
    let protobuf = Bytes::from(request.encode_to_vec());
    let gzipped = Bytes::from(gzip(&protobuf));
    let json = Bytes::from(serde_json::to_vec(&request).unwrap());
    eprintln!(
        "request: {} spans, {} bytes protobuf ({} per span), {} gzip, {} JSON",
        SPANS,
        protobuf.len(),
        protobuf.len() / SPANS,
        gzipped.len(),
        json.len()
    );

    let limits = Limits::default();
    let mut group = c.benchmark_group("decode_512_spans");
    group.throughput(Throughput::Elements(SPANS as u64));
    group.bench_function("prost_decode", |b| {
        b.iter(|| ExportTraceServiceRequest::decode(black_box(protobuf.clone())).unwrap())
    });
    group.bench_function("http_protobuf", |b| {
        b.iter(|| {
            decode_request(
                Signal::Traces,
                Format::Protobuf,
                Encoding::Identity,
                black_box(protobuf.clone()),
                &limits,
            )
            .unwrap()
        })
    });
    group.bench_function("grpc_handler", |b| {
        // tonic hands over the bytes (pass-through codec); the handler validates them.
        b.iter(|| validate_protobuf(Signal::Traces, black_box(protobuf.clone()), &limits).unwrap())
    });
    group.bench_function("http_protobuf_gzip", |b| {
        b.iter(|| {
            decode_request(
                Signal::Traces,
                Format::Protobuf,
                Encoding::Gzip,
                black_box(gzipped.clone()),
                &limits,
            )
            .unwrap()
        })
    });
    group.bench_function("serde_json_decode", |b| {
        b.iter(|| serde_json::from_slice::<ExportTraceServiceRequest>(black_box(&json)).unwrap())
    });
    group.bench_function("http_json", |b| {
        b.iter(|| {
            decode_request(
                Signal::Traces,
                Format::Json,
                Encoding::Identity,
                black_box(json.clone()),
                &limits,
            )
            .unwrap()
        })
    });
    group.finish();
}

#[derive(Debug)]
struct Drop;

impl Sink for Drop {
    fn accept(&self, telemetry: Telemetry) -> Result<(), Refusal> {
        black_box(telemetry);
        Ok(())
    }
}

fn roundtrip(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let request = request();
    let protobuf = Bytes::from(request.encode_to_vec());
    let running = runtime.block_on(async {
        Receiver::builder()
            .grpc_addr("127.0.0.1:0".parse().unwrap())
            .http_addr("127.0.0.1:0".parse().unwrap())
            .build()
            .unwrap()
            .serve(Arc::new(Drop), std::future::pending())
            .await
            .unwrap()
    });
    let url = format!("http://{}/v1/traces", running.http_addr().unwrap());
    let http = reqwest::Client::new();
    let mut grpc = runtime.block_on(async {
        TraceServiceClient::connect(format!("http://{}", running.grpc_addr().unwrap()))
            .await
            .unwrap()
    });

    let mut group = c.benchmark_group("roundtrip_512_spans");
    group.throughput(Throughput::Elements(SPANS as u64));
    group.bench_function("prost_decode", |b| {
        b.iter(|| ExportTraceServiceRequest::decode(black_box(protobuf.clone())).unwrap())
    });
    group.bench_function("http_protobuf", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let response = http
                    .post(&url)
                    .header("content-type", "application/x-protobuf")
                    .body(protobuf.clone())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap()
            })
        })
    });
    group.bench_function("grpc", |b| {
        b.iter(|| runtime.block_on(grpc.export(request.clone())).unwrap())
    });
    group.finish();
    runtime.block_on(running.shutdown_and_wait()).unwrap();
}

criterion_group!(benches, decode, roundtrip);
criterion_main!(benches);
