//! The validating walker beside what it replaces: prost decoding of the same request, and
//! prost decoding followed by the receiver's id validation. One group per signal, 512 items a
//! request; the traces group also walks a request in which 1 span in 64 is refused (the cut
//! path: one copy of the request).
//!
//! `cargo bench -p otlp-spool-core --bench walk`; figures in the crate README.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otlp_spool_core::Signal;
use otlp_spool_core::wire::{WalkLimits, walk};
use prost::Message;

mod common;
#[path = "../tests/it/oracle.rs"]
mod oracle;

fn signal_group(c: &mut Criterion, signal: Signal) {
    let body = Bytes::from(common::encoded(signal));
    let limits = WalkLimits::default();
    let mut group = c.benchmark_group(format!("walk/{signal}"));
    group.throughput(Throughput::Elements(common::ITEMS as u64));
    group.bench_function("walk", |b| {
        b.iter(|| walk(signal, black_box(body.clone()), &limits).unwrap())
    });
    group.bench_function("prost_decode", |b| {
        b.iter(|| oracle::decode(signal, black_box(&body)).unwrap())
    });
    group.bench_function("prost_decode_validate", |b| {
        b.iter(|| {
            let mut telemetry = oracle::decode(signal, black_box(&body)).unwrap();
            let refused = oracle::validate(&mut telemetry);
            (telemetry, refused)
        })
    });
    if signal == Signal::Traces {
        let refusing = Bytes::from(common::traces(Some(64)).encode_to_vec());
        group.bench_function("walk_refusing_1_in_64", |b| {
            b.iter(|| walk(signal, black_box(refusing.clone()), &limits).unwrap())
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    for signal in Signal::ALL {
        let body = common::encoded(signal);
        eprintln!(
            "{signal}: {} bytes, {:.0} bytes/item",
            body.len(),
            body.len() as f64 / common::ITEMS as f64
        );
        // The bench measures what the tests assert: both sides agree on this request.
        let walked = walk(signal, Bytes::from(body.clone()), &WalkLimits::default()).unwrap();
        assert_eq!(walked.items, common::ITEMS as u64);
        assert_eq!(walked.bytes, body);
        assert_eq!(
            oracle::check(signal, &body, &WalkLimits::default()),
            Ok(oracle::Outcome::Accepted { refused: 0 })
        );
        signal_group(c, signal);
    }
}

criterion_group!(walk_benches, benches);
criterion_main!(walk_benches);
