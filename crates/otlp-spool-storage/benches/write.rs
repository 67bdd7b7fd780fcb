//! Write path throughput (MB/s of Arrow IPC payload) of the spool writer, beside a plain
//! `write_all` of the same number of bytes to a file in the same directory (the disk's limit).
//!
//! Each iteration writes `BATCHES` record batches of span-like rows through a
//! `SignalWriter`, rotates (finalizing the file), and removes the finalized file; the baseline
//! creates a file, `write_all`s the same byte count, and removes it. Throughput is the
//! uncompressed IPC size of the batches for every variant, so the MB/s are comparable.

use std::hint::black_box;
use std::io::Write;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, FixedSizeBinaryArray, Int32Array, RecordBatch, StringArray, UInt64Array,
};
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{DataType, Field, Schema};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otlp_spool_storage::{Compression, FileStore, Format, FsyncPolicy, Signal, StoreOptions};

const ROWS: usize = 1024;
const BATCHES: usize = 8;

/// A span-like batch: ids, names, timestamps, a few attribute-ish string columns.
fn span_batch(seed: u64) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("trace_id", DataType::FixedSizeBinary(16), false),
        Field::new("span_id", DataType::FixedSizeBinary(8), false),
        Field::new("name", DataType::Utf8, false),
        Field::new("start_time_unix_nano", DataType::UInt64, false),
        Field::new("end_time_unix_nano", DataType::UInt64, false),
        Field::new("kind", DataType::Int32, false),
        Field::new("service_name", DataType::Utf8, false),
        Field::new("http_route", DataType::Utf8, true),
        Field::new("attributes_json", DataType::Utf8, true),
    ]));
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let trace: Vec<[u8; 16]> = (0..ROWS)
        .map(|_| {
            let (a, b) = (next(), next());
            let mut id = [0; 16];
            id[..8].copy_from_slice(&a.to_le_bytes());
            id[8..].copy_from_slice(&b.to_le_bytes());
            id
        })
        .collect();
    let span: Vec<[u8; 8]> = (0..ROWS).map(|_| next().to_le_bytes()).collect();
    let start: Vec<u64> = (0..ROWS)
        .map(|i| 1_795_737_600_000_000_000 + i as u64 * 1000)
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(FixedSizeBinaryArray::try_from_iter(trace.into_iter()).unwrap()),
        Arc::new(FixedSizeBinaryArray::try_from_iter(span.into_iter()).unwrap()),
        Arc::new(StringArray::from_iter_values(
            (0..ROWS).map(|i| format!("GET /api/v1/items/{}", i % 50)),
        )),
        Arc::new(UInt64Array::from(start.clone())),
        Arc::new(UInt64Array::from_iter_values(start.iter().map(|s| s + 250_000))),
        Arc::new(Int32Array::from_iter_values((0..ROWS).map(|i| (i % 5) as i32))),
        Arc::new(StringArray::from_iter_values((0..ROWS).map(|i| format!("service-{}", i % 8)))),
        Arc::new(StringArray::from_iter_values((0..ROWS).map(|i| format!("/api/v1/items/{{id}}/{}", i % 13)))),
        Arc::new(StringArray::from_iter_values((0..ROWS).map(|i| {
            format!(
                r#"{{"http.method":"GET","http.status_code":{},"net.peer.ip":"10.0.{}.{}","user.id":"u{}","retry":{}}}"#,
                200 + (i % 3) * 100,
                i % 256,
                (i * 7) % 256,
                next() % 100_000,
                i.is_multiple_of(2)
            )
        }))),
    ];
    RecordBatch::try_new(schema, columns).unwrap()
}

fn ipc_bytes(batches: &[RecordBatch]) -> Vec<u8> {
    let mut w = StreamWriter::try_new(Vec::new(), &batches[0].schema()).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.into_inner().unwrap()
}

fn write_path(c: &mut Criterion) {
    let batches: Vec<RecordBatch> = (0..BATCHES as u64).map(span_batch).collect();
    let payload = ipc_bytes(&batches);
    let mut group = c.benchmark_group("write_path");
    group.throughput(Throughput::Bytes(payload.len() as u64));

    let tmp = tempfile::tempdir_in(
        std::env::var_os("OTLP_SPOOL_BENCH_DIR").unwrap_or_else(|| ".".into()),
    )
    .expect("temporary directory for the bench");

    for fsync in [false, true] {
        let suffix = if fsync { "+fsync" } else { "" };
        let base = tmp.path().join("baseline.bin");
        group.bench_function(format!("write_all_baseline{suffix}"), |b| {
            b.iter(|| {
                let mut f = std::fs::File::create(&base).unwrap();
                f.write_all(black_box(&payload)).unwrap();
                if fsync {
                    f.sync_all().unwrap();
                }
                drop(f);
                std::fs::remove_file(&base).unwrap();
            })
        });
        let variants: &[(&str, Format, Compression)] = if fsync {
            &[("arrow_ipc", Format::Arrow, Compression::None)]
        } else {
            &[
                ("arrow_ipc", Format::Arrow, Compression::None),
                ("arrow_ipc_zstd", Format::Arrow, Compression::Zstd),
                ("arrow_ipc_lz4", Format::Arrow, Compression::Lz4),
                ("parquet", Format::Parquet, Compression::None),
                ("parquet_zstd", Format::Parquet, Compression::Zstd),
            ]
        };
        for &(name, format, compression) in variants {
            let dir = tmp.path().join(format!("{name}{suffix}"));
            let opts = StoreOptions::builder(&dir)
                .format(format)
                .compression(compression)
                .fsync(if fsync {
                    FsyncPolicy::OnRotate
                } else {
                    FsyncPolicy::None
                })
                .max_file_age(None)
                .build()
                .unwrap();
            let store = FileStore::open(opts).unwrap();
            let w = store.writer(Signal::Traces);
            group.bench_function(format!("{name}{suffix}"), |b| {
                b.iter(|| {
                    for batch in &batches {
                        w.write(batch.clone()).unwrap();
                    }
                    let path = w.rotate().unwrap().unwrap();
                    std::fs::remove_file(path).unwrap();
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, write_path);
criterion_main!(benches);
