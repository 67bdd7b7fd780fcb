//! Bytes on disk per span, and the span rate of the whole write path (request bytes -> Arrow
//! -> file), for every file format and compression the store writes, on *unique* spans:
//! random ids, timestamps and attribute values drawn per span, so no two requests repeat
//! (repeated requests flatter every compressor).
//!
//! Criterion group `file_costs`, `Throughput::Elements` = spans per iteration
//! (`REQUESTS` x `SPANS` unique spans): each iteration streams the request bytes through one
//! `Converter` (default limits) into a `SignalWriter`, rotates (finalizing the file) and
//! removes the file. The naive baseline `write_all_wire` writes the request bytes themselves
//! to a file (no conversion, what keeping the protobuf would cost); `convert_only` converts
//! and drops the batches (the converter's share of every other row).
//!
//! Before the group runs, the bench prints bytes per span of each variant as written to disk
//! by a `FileStore`, beside the wire size and the Arrow memory. Probe mode, for CPU time and
//! instruction counts without criterion:
//! `OTLP_SPOOL_FILE_COSTS=<variant>:<iterations> <bench binary>` (`sizes` prints the table only);
//! `OTLP_SPOOL_BATCH_BYTES=<bytes>` sets the converter's `max_batch_bytes` instead of the default.

use std::hint::black_box;
use std::io::Write;
use std::path::Path;

use arrow_array::RecordBatch;
use criterion::{Criterion, Throughput, criterion_group};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use otlp_spool_storage::{
    BatchLimits, Compression, Converter, FileStore, Format, FsyncPolicy, Signal, SignalWriter,
    StoreOptions,
};
use prost::Message;

const REQUESTS: usize = 40;
const SPANS: usize = 512;
const SPANS_PER_TRACE: usize = 8;

/// splitmix64: a small deterministic generator (the bench must be repeatable).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn id(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len() as u64) as usize]
    }
}

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        key_strindex: 0,
    }
}

fn s(v: impl Into<String>) -> Value {
    Value::StringValue(v.into())
}

/// One request of `SPANS` spans shaped like the load generator's (traces of 8 spans, a root
/// server span and client children, 10 attributes of mixed types), every value drawn anew.
fn unique_request(rng: &mut Rng, base_time: u64) -> ExportTraceServiceRequest {
    const ROUTES: [&str; 6] = [
        "/orders/{id}",
        "/users/{id}",
        "/cart",
        "/search",
        "/checkout",
        "/items/{id}/reviews",
    ];
    const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];
    const PEERS: [&str; 5] = ["inventory", "payments", "users", "search", "shipping"];
    let mut spans = Vec::with_capacity(SPANS);
    let (mut trace_id, mut root_id, mut trace_start) = (Vec::new(), Vec::new(), 0);
    for i in 0..SPANS {
        let root = i % SPANS_PER_TRACE == 0;
        let span_id = rng.id(8);
        if root {
            trace_id = rng.id(16);
            root_id = span_id.clone();
            trace_start = base_time + rng.below(1_000_000_000);
        }
        let route = rng.pick(&ROUTES);
        let method = rng.pick(&METHODS);
        let status = if rng.below(50) == 0 { 500 } else { 200 };
        let start = trace_start + rng.below(5_000_000);
        let duration = 50_000 + rng.below(20_000_000);
        spans.push(Span {
            trace_id: trace_id.clone(),
            span_id,
            trace_state: String::new(),
            parent_span_id: if root { Vec::new() } else { root_id.clone() },
            flags: 1,
            name: format!("{method} {route}"),
            kind: if root { 2 } else { 3 },
            start_time_unix_nano: start,
            end_time_unix_nano: start + duration,
            attributes: vec![
                kv("http.method", s(method)),
                kv("http.route", s(route)),
                kv(
                    "http.target",
                    s(format!("/orders/{}", rng.below(10_000_000))),
                ),
                kv("http.status_code", Value::IntValue(status)),
                kv("net.host", s(format!("svc-{}", rng.below(16)))),
                kv("server.port", Value::IntValue(8080)),
                kv("peer.service", s(rng.pick(&PEERS))),
                kv("thread.id", Value::IntValue(rng.below(64) as i64)),
                kv("cache.hit", Value::BoolValue(rng.below(3) == 0)),
                kv("items", Value::DoubleValue(rng.below(200) as f64 * 0.5)),
            ],
            status: Some(Status {
                code: if status == 500 { 2 } else { 1 },
                ..Status::default()
            }),
            ..Span::default()
        });
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", s("checkout")),
                    kv("service.version", s("1.4.2")),
                    kv("host.name", s(format!("node-{}", rng.below(16)))),
                ],
                dropped_attributes_count: 0,
                entity_refs: Vec::new(),
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "opentelemetry-http".to_string(),
                    version: "0.33.0".to_string(),
                    attributes: Vec::new(),
                    dropped_attributes_count: 0,
                }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

/// `REQUESTS` encoded unique requests.
fn requests() -> Vec<Vec<u8>> {
    let mut rng = Rng(0x05f0_01ed);
    (0..REQUESTS)
        .map(|k| {
            unique_request(
                &mut rng,
                1_764_000_000_000_000_000 + k as u64 * 1_000_000_000,
            )
        })
        .map(|r| r.encode_to_vec())
        .collect()
}

/// The store variants: name, format, compression.
const VARIANTS: [(&str, Format, Compression); 6] = [
    ("arrow", Format::Arrow, Compression::None),
    ("arrow_lz4", Format::Arrow, Compression::Lz4),
    ("arrow_zstd", Format::Arrow, Compression::Zstd),
    ("parquet", Format::Parquet, Compression::None),
    ("parquet_lz4", Format::Parquet, Compression::Lz4),
    ("parquet_zstd", Format::Parquet, Compression::Zstd),
];

fn store(dir: &Path, format: Format, compression: Compression) -> FileStore {
    let opts = StoreOptions::builder(dir)
        .format(format)
        .compression(compression)
        .fsync(FsyncPolicy::None)
        .max_file_age(None)
        .build()
        .expect("options");
    FileStore::open(opts).expect("store")
}

/// Streams every request through one converter into `w`; returns the spans.
fn convert_into(requests: &[Vec<u8>], w: &SignalWriter) -> usize {
    let mut c = Converter::new(Signal::Traces, limits());
    let mut spans = 0;
    let mut write = |b: RecordBatch| {
        w.write(b).expect("write");
    };
    for r in requests {
        spans += c.push(black_box(r), &mut write).expect("convert");
    }
    c.finish(&mut write).expect("finish");
    spans
}

/// Converts and writes every request, finalizes the file and removes it.
fn write_once(requests: &[Vec<u8>], w: &SignalWriter) {
    convert_into(requests, w);
    if let Some(path) = w.rotate().expect("rotate") {
        std::fs::remove_file(path).expect("remove");
    }
}

/// Converts every request, dropping the batches.
fn convert_once(requests: &[Vec<u8>]) {
    let mut c = Converter::new(Signal::Traces, limits());
    for r in requests {
        c.push(black_box(r), |b| drop(black_box(b)))
            .expect("convert");
    }
    c.finish(|b| drop(black_box(b))).expect("finish");
}

/// The naive baseline: the request bytes themselves into a file.
fn write_wire_once(requests: &[Vec<u8>], path: &Path) {
    let mut f = std::fs::File::create(path).expect("create");
    for r in requests {
        f.write_all(black_box(r)).expect("write");
    }
    drop(f);
    std::fs::remove_file(path).expect("remove");
}

fn bench_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(std::env::var_os("OTLP_SPOOL_BENCH_DIR").unwrap_or_else(|| ".".into()))
        .expect("temporary directory for the bench")
}

/// Bytes per span on disk of every variant (finalized files of one store each).
fn sizes(requests: &[Vec<u8>]) {
    let tmp = bench_dir();
    let wire: usize = requests.iter().map(Vec::len).sum();
    let spans = (REQUESTS * SPANS) as f64;
    let mut memory = 0;
    {
        let mut c = Converter::new(Signal::Traces, limits());
        let mut add = |b: RecordBatch| memory += b.get_array_memory_size();
        for r in requests {
            c.push(r, &mut add).expect("convert");
        }
        c.finish(&mut add).expect("finish");
    }
    let mut line = format!(
        "file_costs: {} unique spans; bytes/span: wire {:.0}, arrow memory {:.0}",
        REQUESTS * SPANS,
        wire as f64 / spans,
        memory as f64 / spans
    );
    for (name, format, compression) in VARIANTS {
        let dir = tmp.path().join(name);
        let store = store(&dir, format, compression);
        convert_into(requests, &store.writer(Signal::Traces));
        store.close().expect("close");
        let on_disk: u64 = std::fs::read_dir(dir.join("traces"))
            .expect("traces folder")
            .map(|e| e.expect("entry").metadata().expect("metadata").len())
            .sum();
        line += &format!(", {name} {:.1}", on_disk as f64 / spans);
    }
    println!("{line}");
}

fn file_costs(c: &mut Criterion) {
    let requests = requests();
    let tmp = bench_dir();
    let mut group = c.benchmark_group("file_costs");
    group.throughput(Throughput::Elements((REQUESTS * SPANS) as u64));
    let wire_path = tmp.path().join("wire.bin");
    group.bench_function("write_all_wire", |b| {
        b.iter(|| write_wire_once(&requests, &wire_path))
    });
    group.bench_function("convert_only", |b| b.iter(|| convert_once(&requests)));
    for (name, format, compression) in VARIANTS {
        let store = store(&tmp.path().join(name), format, compression);
        let w = store.writer(Signal::Traces);
        group.bench_function(name, |b| b.iter(|| write_once(&requests, &w)));
    }
    group.finish();
}

criterion_group!(benches, file_costs);

fn main() {
    let requests = requests();
    match std::env::var("OTLP_SPOOL_FILE_COSTS") {
        Ok(spec) if spec == "sizes" => sizes(&requests),
        Ok(spec) => probe(&spec, &requests),
        Err(_) => {
            sizes(&requests);
            benches();
            Criterion::default().configure_from_args().final_summary();
        }
    }
}

/// `<variant>:<iterations>`: runs one variant (`none` for the setup alone).
fn probe(spec: &str, requests: &[Vec<u8>]) {
    let (op, n) = spec.split_once(':').unwrap_or((spec, "10"));
    let n: usize = n
        .parse()
        .expect("OTLP_SPOOL_FILE_COSTS=<variant>:<iterations>");
    let tmp = bench_dir();
    match op {
        "none" => {}
        "write_all_wire" => (0..n).for_each(|_| write_wire_once(requests, &tmp.path().join("w"))),
        "convert_only" => (0..n).for_each(|_| convert_once(requests)),
        _ => {
            let (_, format, compression) = VARIANTS
                .into_iter()
                .find(|v| v.0 == op)
                .unwrap_or_else(|| panic!("unknown variant {op:?}"));
            let store = store(&tmp.path().join(op), format, compression);
            let w = store.writer(Signal::Traces);
            (0..n).for_each(|_| write_once(requests, &w));
        }
    }
}

/// The converter's limits: the default ones, or `OTLP_SPOOL_BATCH_BYTES` (bytes of Arrow memory
/// per record batch) to see what the batch size does to the sizes and rates.
fn limits() -> BatchLimits {
    match std::env::var("OTLP_SPOOL_BATCH_BYTES") {
        Ok(bytes) => BatchLimits::builder()
            .max_batch_bytes(bytes.parse().expect("OTLP_SPOOL_BATCH_BYTES: a byte count"))
            .build()
            .expect("valid batch limits"),
        Err(_) => BatchLimits::default(),
    }
}
