//! OTLP <-> Arrow conversion throughput, beside prost decode and encode of the same requests.
//!
//! Each signal has one group (`traces`, `metrics`, `logs`) with `Throughput::Elements` = spans /
//! data points / log records per request (512), so criterion reports elements per second:
//! - `bytes_to_arrow`: protobuf bytes -> RecordBatch by the streaming `Converter` walking the
//!   bytes (the path under test; one converter reused), one batch per request;
//! - `bytes_to_arrow_stream`: the same, but requests stream into the converter and batches are
//!   cut by the default 4 MiB limit, as the writer uses it (batch costs amortized);
//! - `prost_decode_to_arrow_stream`: its baseline, prost decode + the prost converter, streaming;
//! - `prost_decode`: protobuf bytes -> prost request (the baseline every prost design pays);
//! - `prost_decode_to_arrow`: bytes -> prost request -> RecordBatch (the previous design);
//! - `otlp_to_arrow`: prost request -> RecordBatch (the prost converter alone);
//! - `arrow_to_otlp`: RecordBatch -> request (replay / forwarding from files).
//!
//! Records are realistic: 10 attributes of mixed types and ~370 encoded bytes each,
//! 512 per request under one resource (5 attributes) and one scope.

use std::hint::black_box;

use arrow_array::RecordBatch;
use criterion::{Criterion, Throughput, criterion_group};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use otlp_spool_storage::{
    BatchLimits, Converter, Signal, arrow_to_logs, arrow_to_metrics, arrow_to_traces,
    logs_to_arrow, metrics_to_arrow, traces_to_arrow,
};
use prost::Message;

const PER_REQUEST: usize = 512;

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        key_strindex: 0,
    }
}

fn s(v: &str) -> Value {
    Value::StringValue(v.to_string())
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            kv("service.name", s("checkout")),
            kv("service.version", s("1.27.3")),
            kv("service.instance.id", s("checkout-7d9f8c6b5-x2k4q")),
            kv("host.name", s("node-17.eu-west-1.internal")),
            kv("telemetry.sdk.language", s("rust")),
        ],
        dropped_attributes_count: 0,
        entity_refs: Vec::new(),
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "opentelemetry-http".to_string(),
        version: "0.33.0".to_string(),
        attributes: Vec::new(),
        dropped_attributes_count: 0,
    })
}

/// Ten attributes of mixed types, varying per record.
fn attributes(i: usize) -> Vec<KeyValue> {
    vec![
        kv(
            "http.request.method",
            s(if i.is_multiple_of(3) { "POST" } else { "GET" }),
        ),
        kv("http.route", s("/users/{id}")),
        kv(
            "http.response.status_code",
            Value::IntValue(200 + (i % 5) as i64),
        ),
        kv("url.path", s(&format!("/users/{}", 1000 + i))),
        kv("server.address", s("api.internal")),
        kv("server.port", Value::IntValue(8443)),
        kv(
            "client.address",
            s(&format!("10.0.{}.{}", i % 256, (i * 7) % 256)),
        ),
        kv("user_agent.original", s("curl/8.5.0")),
        kv("thread.id", Value::IntValue((i % 16) as i64)),
        kv("sampled", Value::BoolValue(i.is_multiple_of(2))),
    ]
}

fn id(i: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|b| (i.wrapping_mul(31) + b * 17) as u8)
        .collect()
}

fn traces_request() -> ExportTraceServiceRequest {
    let spans = (0..PER_REQUEST)
        .map(|i| Span {
            trace_id: id(i / 8, 16),
            span_id: id(i, 8),
            trace_state: String::new(),
            parent_span_id: if i % 8 == 0 { Vec::new() } else { id(i - 1, 8) },
            flags: 0x301,
            name: "GET /users/{id}".to_string(),
            kind: 2,
            start_time_unix_nano: 1_764_000_000_000_000_000 + i as u64 * 1000,
            end_time_unix_nano: 1_764_000_000_000_500_000 + i as u64 * 1000,
            attributes: attributes(i),
            dropped_attributes_count: 0,
            events: Vec::new(),
            dropped_events_count: 0,
            links: Vec::new(),
            dropped_links_count: 0,
            status: Some(Status {
                message: String::new(),
                code: 1,
            }),
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
            schema_url: "https://opentelemetry.io/schemas/1.26.0".to_string(),
        }],
    }
}

fn logs_request() -> ExportLogsServiceRequest {
    let log_records = (0..PER_REQUEST)
        .map(|i| LogRecord {
            time_unix_nano: 1_764_000_000_000_000_000 + i as u64 * 1000,
            observed_time_unix_nano: 1_764_000_000_000_000_100 + i as u64 * 1000,
            severity_number: 9,
            severity_text: "INFO".to_string(),
            body: Some(AnyValue {
                value: Some(s(&format!("served request {i} in {} us", 400 + i))),
            }),
            attributes: attributes(i),
            dropped_attributes_count: 0,
            flags: 1,
            trace_id: id(i / 8, 16),
            span_id: id(i, 8),
            event_name: String::new(),
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

/// 512 data points: 64 metrics of 8 points each, alternating sums and histograms.
fn metrics_request() -> ExportMetricsServiceRequest {
    let metrics = (0..PER_REQUEST / 8)
        .map(|m| {
            let points = 0..8;
            let data = if m % 2 == 0 {
                metric::Data::Sum(Sum {
                    data_points: points
                        .map(|p| NumberDataPoint {
                            attributes: attributes(m * 8 + p),
                            start_time_unix_nano: 1_764_000_000_000_000_000,
                            time_unix_nano: 1_764_000_060_000_000_000,
                            exemplars: Vec::new(),
                            flags: 0,
                            value: Some(number_data_point::Value::AsInt((m * p) as i64)),
                        })
                        .collect(),
                    aggregation_temporality: 2,
                    is_monotonic: true,
                })
            } else {
                metric::Data::Histogram(Histogram {
                    data_points: points
                        .map(|p| HistogramDataPoint {
                            attributes: attributes(m * 8 + p),
                            start_time_unix_nano: 1_764_000_000_000_000_000,
                            time_unix_nano: 1_764_000_060_000_000_000,
                            count: 100,
                            sum: Some(12.5),
                            bucket_counts: vec![10, 20, 30, 20, 10, 10],
                            explicit_bounds: vec![0.005, 0.01, 0.05, 0.1, 0.5],
                            exemplars: Vec::new(),
                            flags: 0,
                            min: Some(0.001),
                            max: Some(0.9),
                        })
                        .collect(),
                    aggregation_temporality: 2,
                })
            };
            Metric {
                name: format!("http.server.metric_{m}"),
                description: "HTTP server requests.".to_string(),
                unit: "s".to_string(),
                metadata: Vec::new(),
                data: Some(data),
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

/// Converts one request's bytes with a reused converter; returns the batch.
fn bytes_to_arrow(converter: &mut Converter, bytes: &[u8]) -> RecordBatch {
    let mut out = None;
    converter.push(bytes, |b| out = Some(b)).expect("convert");
    converter.finish(|b| out = Some(b)).expect("finish");
    out.expect("one batch")
}

/// Pushes a prost request of any signal into a streaming converter, dropping full batches.
trait StreamProst {
    fn push_into(&self, c: &mut Converter) -> Result<usize, otlp_spool_storage::PushError>;
}

impl StreamProst for ExportTraceServiceRequest {
    fn push_into(&self, c: &mut Converter) -> Result<usize, otlp_spool_storage::PushError> {
        c.push_traces(self, |b| drop(black_box(b)))
    }
}

impl StreamProst for ExportMetricsServiceRequest {
    fn push_into(&self, c: &mut Converter) -> Result<usize, otlp_spool_storage::PushError> {
        c.push_metrics(self, |b| drop(black_box(b)))
    }
}

impl StreamProst for ExportLogsServiceRequest {
    fn push_into(&self, c: &mut Converter) -> Result<usize, otlp_spool_storage::PushError> {
        c.push_logs(self, |b| drop(black_box(b)))
    }
}

fn stream_prost(
    c: &mut Converter,
    req: &impl StreamProst,
) -> Result<usize, otlp_spool_storage::PushError> {
    req.push_into(c)
}

macro_rules! signal_group {
    ($c:expr, $name:literal, $signal:expr, $req:expr, $ty:ty, $to_arrow:path, $from_arrow:path) => {{
        let req: $ty = $req;
        let bytes = req.encode_to_vec();
        eprintln!(
            "{}: {} items, {} bytes encoded ({} bytes per item)",
            $name,
            PER_REQUEST,
            bytes.len(),
            bytes.len() / PER_REQUEST
        );
        let batch = $to_arrow(&req).expect("convert");
        let mut group = $c.benchmark_group($name);
        group.throughput(Throughput::Elements(PER_REQUEST as u64));
        group.bench_function("bytes_to_arrow", |b| {
            let mut converter = Converter::new($signal, BatchLimits::default());
            b.iter(|| bytes_to_arrow(&mut converter, black_box(bytes.as_slice())))
        });
        group.bench_function("bytes_to_arrow_stream", |b| {
            let mut converter = Converter::new($signal, BatchLimits::default());
            b.iter(|| {
                converter
                    .push(black_box(bytes.as_slice()), |batch| drop(black_box(batch)))
                    .expect("convert")
            })
        });
        group.bench_function("prost_decode", |b| {
            b.iter(|| <$ty>::decode(black_box(bytes.as_slice())).expect("decode"))
        });
        group.bench_function("prost_decode_to_arrow", |b| {
            b.iter(|| {
                let req = <$ty>::decode(black_box(bytes.as_slice())).expect("decode");
                $to_arrow(&req).expect("convert")
            })
        });
        group.bench_function("prost_decode_to_arrow_stream", |b| {
            let mut converter = Converter::new($signal, BatchLimits::default());
            b.iter(|| {
                let req = <$ty>::decode(black_box(bytes.as_slice())).expect("decode");
                stream_prost(&mut converter, &req).expect("convert")
            })
        });
        group.bench_function("otlp_to_arrow", |b| {
            b.iter(|| $to_arrow(black_box(&req)).expect("convert"))
        });
        group.bench_function("arrow_to_otlp", |b| {
            b.iter(|| $from_arrow(black_box(&batch)).expect("convert back"))
        });
        group.finish();
    }};
}

fn traces(c: &mut Criterion) {
    signal_group!(
        c,
        "traces",
        Signal::Traces,
        traces_request(),
        ExportTraceServiceRequest,
        traces_to_arrow,
        arrow_to_traces
    );
}

fn metrics(c: &mut Criterion) {
    signal_group!(
        c,
        "metrics",
        Signal::Metrics,
        metrics_request(),
        ExportMetricsServiceRequest,
        metrics_to_arrow,
        arrow_to_metrics
    );
}

fn logs(c: &mut Criterion) {
    signal_group!(
        c,
        "logs",
        Signal::Logs,
        logs_request(),
        ExportLogsServiceRequest,
        logs_to_arrow,
        arrow_to_logs
    );
}

criterion_group!(benches, traces, metrics, logs);

/// `criterion_main!` plus a probe mode for instruction and CPU-time counts, which stay
/// meaningful on a loaded machine where wall time does not:
/// `OTLP_SPOOL_CONVERT_PROBE=traces/otlp_to_arrow:3000 <bench binary>` runs that operation on
/// the bench's request 3000 times and exits (use `none:1` for the setup-only baseline).
fn main() {
    if let Ok(spec) = std::env::var("OTLP_SPOOL_CONVERT_PROBE") {
        if spec == "sizes" {
            sizes();
        } else {
            probe(&spec);
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

fn probe(spec: &str) {
    let (op, n) = spec.split_once(':').unwrap_or((spec, "1000"));
    let n: usize = n
        .parse()
        .expect("OTLP_SPOOL_CONVERT_PROBE=<group>/<function>:<iterations>");
    let (t, m, l) = (traces_request(), metrics_request(), logs_request());
    let (tb, mb, lb) = (t.encode_to_vec(), m.encode_to_vec(), l.encode_to_vec());
    let tbatch = traces_to_arrow(&t).expect("convert");
    let mbatch = metrics_to_arrow(&m).expect("convert");
    let lbatch = logs_to_arrow(&l).expect("convert");
    let mut tc = Converter::new(Signal::Traces, BatchLimits::default());
    let mut mc = Converter::new(Signal::Metrics, BatchLimits::default());
    let mut lc = Converter::new(Signal::Logs, BatchLimits::default());
    for _ in 0..n {
        match op {
            "none" => {}
            "traces/bytes_to_arrow" => drop(black_box(bytes_to_arrow(&mut tc, black_box(&tb)))),
            "traces/bytes_to_arrow_stream" => {
                drop(black_box(tc.push(black_box(&tb), |b| drop(black_box(b)))))
            }
            "traces/prost_decode_to_arrow_stream" => drop(black_box(stream_prost(
                &mut tc,
                &ExportTraceServiceRequest::decode(black_box(tb.as_slice())).expect("decode"),
            ))),
            "traces/prost_decode" => drop(black_box(
                ExportTraceServiceRequest::decode(black_box(tb.as_slice())).expect("decode"),
            )),
            "traces/prost_decode_to_arrow" => drop(black_box(traces_to_arrow(
                &ExportTraceServiceRequest::decode(black_box(tb.as_slice())).expect("decode"),
            ))),
            "traces/otlp_to_arrow" => drop(black_box(traces_to_arrow(black_box(&t)))),
            "traces/arrow_to_otlp" => drop(black_box(arrow_to_traces(black_box(&tbatch)))),
            "metrics/bytes_to_arrow" => drop(black_box(bytes_to_arrow(&mut mc, black_box(&mb)))),
            "metrics/bytes_to_arrow_stream" => {
                drop(black_box(mc.push(black_box(&mb), |b| drop(black_box(b)))))
            }
            "metrics/prost_decode_to_arrow_stream" => drop(black_box(stream_prost(
                &mut mc,
                &ExportMetricsServiceRequest::decode(black_box(mb.as_slice())).expect("decode"),
            ))),
            "metrics/prost_decode" => drop(black_box(
                ExportMetricsServiceRequest::decode(black_box(mb.as_slice())).expect("decode"),
            )),
            "metrics/prost_decode_to_arrow" => drop(black_box(metrics_to_arrow(
                &ExportMetricsServiceRequest::decode(black_box(mb.as_slice())).expect("decode"),
            ))),
            "metrics/otlp_to_arrow" => drop(black_box(metrics_to_arrow(black_box(&m)))),
            "metrics/arrow_to_otlp" => drop(black_box(arrow_to_metrics(black_box(&mbatch)))),
            "logs/bytes_to_arrow" => drop(black_box(bytes_to_arrow(&mut lc, black_box(&lb)))),
            "logs/bytes_to_arrow_stream" => {
                drop(black_box(lc.push(black_box(&lb), |b| drop(black_box(b)))))
            }
            "logs/prost_decode_to_arrow_stream" => drop(black_box(stream_prost(
                &mut lc,
                &ExportLogsServiceRequest::decode(black_box(lb.as_slice())).expect("decode"),
            ))),
            "logs/prost_decode" => drop(black_box(
                ExportLogsServiceRequest::decode(black_box(lb.as_slice())).expect("decode"),
            )),
            "logs/prost_decode_to_arrow" => drop(black_box(logs_to_arrow(
                &ExportLogsServiceRequest::decode(black_box(lb.as_slice())).expect("decode"),
            ))),
            "logs/otlp_to_arrow" => drop(black_box(logs_to_arrow(black_box(&l)))),
            "logs/arrow_to_otlp" => drop(black_box(arrow_to_logs(black_box(&lbatch)))),
            other => panic!("unknown probe operation {other:?}"),
        }
    }
}

/// `OTLP_SPOOL_CONVERT_PROBE=sizes`: bytes per item of 40 bench requests (20,480 items, ids
/// unique) converted with the default limits, as Arrow memory, as an IPC stream (no
/// compression, lz4, zstd) and as zstd Parquet; then the zstd IPC bytes of each column alone.
fn sizes() {
    use arrow_ipc::CompressionType;
    use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};

    fn ipc(batches: &[RecordBatch], compression: Option<CompressionType>) -> usize {
        let options = IpcWriteOptions::default()
            .try_with_compression(compression)
            .expect("options");
        let mut out = Vec::new();
        let mut w = StreamWriter::try_new_with_options(&mut out, &batches[0].schema(), options)
            .expect("writer");
        for b in batches {
            w.write(b).expect("write");
        }
        w.finish().expect("finish");
        drop(w);
        out.len()
    }
    fn parquet_zstd(batches: &[RecordBatch]) -> usize {
        use parquet::basic::{Compression, ZstdLevel};
        let props = parquet::file::properties::WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let mut out = Vec::new();
        let mut w =
            parquet::arrow::ArrowWriter::try_new(&mut out, batches[0].schema(), Some(props))
                .expect("writer");
        for b in batches {
            w.write(b).expect("write");
        }
        w.close().expect("close");
        out.len()
    }
    fn report(name: &str, signal: Signal, requests: Vec<Vec<u8>>) {
        let mut c = Converter::new(signal, BatchLimits::default());
        let mut batches = Vec::new();
        let mut items = 0;
        let wire: usize = requests.iter().map(Vec::len).sum();
        for r in &requests {
            items += c.push(r, |b| batches.push(b)).expect("convert");
        }
        c.finish(|b| batches.push(b)).expect("finish");
        let memory: usize = batches.iter().map(RecordBatch::get_array_memory_size).sum();
        let per = |bytes: usize| bytes as f64 / items as f64;
        println!(
            "{name}: {items} items in {} batches; bytes/item: wire {:.0}, arrow memory {:.0}, \
             ipc {:.0}, ipc lz4 {:.0}, ipc zstd {:.0}, parquet zstd {:.0}",
            batches.len(),
            per(wire),
            per(memory),
            per(ipc(&batches, None)),
            per(ipc(&batches, Some(CompressionType::LZ4_FRAME))),
            per(ipc(&batches, Some(CompressionType::ZSTD))),
            per(parquet_zstd(&batches)),
        );
        let empty = RecordBatch::new_empty(batches[0].schema());
        let baseline = ipc(std::slice::from_ref(&empty), Some(CompressionType::ZSTD));
        let schema = batches[0].schema();
        let mut columns: Vec<(String, f64)> = (0..schema.fields().len())
            .map(|i| {
                let one: Vec<RecordBatch> = batches
                    .iter()
                    .map(|b| b.project(&[i]).expect("project"))
                    .collect();
                let empty = RecordBatch::new_empty(one[0].schema());
                let base = ipc(std::slice::from_ref(&empty), Some(CompressionType::ZSTD));
                let bytes = ipc(&one, Some(CompressionType::ZSTD)).saturating_sub(base);
                (schema.field(i).name().clone(), per(bytes))
            })
            .collect();
        columns.sort_by(|a, b| b.1.total_cmp(&a.1));
        let list: Vec<String> = columns
            .iter()
            .take(8)
            .map(|(n, b)| format!("{n} {b:.1}"))
            .collect();
        println!(
            "  zstd ipc bytes/item by column, top 8 (schema message of {baseline} bytes aside): {}",
            list.join(", ")
        );
        attribute_leaves(&batches, items);
    }
    /// The bench request with ids made unique per copy.
    fn copies<M: Message + Clone>(req: &M, n: usize, bump: impl Fn(&mut M, usize)) -> Vec<Vec<u8>> {
        (0..n)
            .map(|k| {
                let mut r = req.clone();
                bump(&mut r, k);
                r.encode_to_vec()
            })
            .collect()
    }
    // Ids unique and incompressible (splitmix64 of the copy and the old id), as real ids are.
    let unique = |id: &mut Vec<u8>, k: usize| {
        let mut x = (k as u64) << 40;
        for (i, &b) in id.iter().enumerate() {
            x ^= u64::from(b) << (8 * (i % 5));
        }
        for chunk in id.chunks_mut(8) {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    };
    report(
        "traces",
        Signal::Traces,
        copies(&traces_request(), 40, |r, k| {
            for s in &mut r.resource_spans[0].scope_spans[0].spans {
                unique(&mut s.trace_id, k);
                unique(&mut s.span_id, k);
                unique(&mut s.parent_span_id, k);
            }
        }),
    );
    report(
        "metrics",
        Signal::Metrics,
        copies(&metrics_request(), 40, |_, _| {}),
    );
    report(
        "logs",
        Signal::Logs,
        copies(&logs_request(), 40, |r, k| {
            for l in &mut r.resource_logs[0].scope_logs[0].log_records {
                unique(&mut l.trace_id, k);
                unique(&mut l.span_id, k);
            }
        }),
    );
}

/// The zstd IPC bytes per item of each leaf of the `attributes` column, alone.
fn attribute_leaves(batches: &[RecordBatch], items: usize) {
    use arrow_array::cast::AsArray;
    use arrow_array::{Array, ArrayRef};
    use arrow_ipc::CompressionType;
    use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};

    let mut leaves: Vec<(String, Vec<ArrayRef>)> = Vec::new();
    for b in batches {
        let list = b
            .column_by_name("attributes")
            .expect("attributes")
            .as_list::<i32>();
        let entries = list.values().as_struct();
        let mut add = |name: String, a: ArrayRef| match leaves.iter_mut().find(|(n, _)| *n == name)
        {
            Some((_, v)) => v.push(a),
            None => leaves.push((name, vec![a])),
        };
        add(
            "key".into(),
            entries.column_by_name("key").expect("key").clone(),
        );
        add(
            "key_strindex".into(),
            entries.column_by_name("key_strindex").expect("k").clone(),
        );
        let value = entries.column_by_name("value").expect("value").as_struct();
        for (f, a) in value.fields().iter().zip(value.columns()) {
            add(format!("value.{}", f.name()), a.clone());
        }
    }
    let options = IpcWriteOptions::default()
        .try_with_compression(Some(CompressionType::ZSTD))
        .expect("options");
    let list: Vec<String> = leaves
        .into_iter()
        .map(|(name, arrays)| {
            let batches: Vec<RecordBatch> = arrays
                .iter()
                .map(|a| RecordBatch::try_from_iter([("c", a.clone())]).expect("batch"))
                .collect();
            let write = |bs: &[RecordBatch]| {
                let mut out = Vec::new();
                let mut w =
                    StreamWriter::try_new_with_options(&mut out, &bs[0].schema(), options.clone())
                        .expect("writer");
                for b in bs {
                    w.write(b).expect("write");
                }
                w.finish().expect("finish");
                drop(w);
                out.len()
            };
            let empty = RecordBatch::new_empty(batches[0].schema());
            let bytes = write(&batches).saturating_sub(write(std::slice::from_ref(&empty)));
            let memory: usize = arrays.iter().map(|a| a.get_array_memory_size()).sum();
            format!(
                "{name} {:.1} ({:.0} in memory)",
                bytes as f64 / items as f64,
                memory as f64 / items as f64
            )
        })
        .collect();
    println!(
        "  attributes leaves, zstd ipc bytes/item (memory): {}",
        list.join(", ")
    );
}
