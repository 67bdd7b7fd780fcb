//! Drain cost of a full batch at 1024, 8192 and 65536 items: our swap of whole
//! segments beside baselines that swap (`Mutex<Vec>` + `mem::take`), copy
//! (`Vec::drain(..).collect()`) or pop item by item (`ArrayQueue`, `mpsc`).
//! Only the drain is timed (one drain per timing, `BatchSize::PerIteration`, so every
//! drain sees a buffer fresh from its setup); filling and dropping the batch are not.

// Measuring wall time is this target's job; the injected-clock rule is for the library.
#![allow(clippy::disallowed_methods)]

mod common;

use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{Item, block_on, item};
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use crossbeam_queue::ArrayQueue;
use otlp_spool_buffer::{BatchBuffer, MAX_BYTES_LIMIT};

const SIZES: [u64; 3] = [1024, 8192, 65536];

/// A buffer in its steady state: filled once, drained and recycled (so drains swap in
/// pooled segments), filled again with `n` items spread over 4 producers.
fn filled_buffer(n: u64) -> BatchBuffer<Item> {
    let buffer = BatchBuffer::builder()
        .max_bytes(MAX_BYTES_LIMIT)
        .build()
        .unwrap();
    let producers: Vec<_> = (0..4).map(|_| buffer.producer()).collect();
    for round in 0..2 {
        for i in 0..n {
            producers[(i % 4) as usize].push(item(i)).unwrap();
        }
        if round == 0 {
            buffer.recycle(buffer.drain_all());
        }
    }
    // Warm the lines a drain touches, as a consumer that just woke on `ready` has.
    black_box(buffer.stats());
    buffer
}

fn filled_vec(n: u64) -> Vec<Item> {
    (0..n).map(item).collect()
}

fn drain(c: &mut Criterion) {
    let mut group = c.benchmark_group("drain");
    for n in SIZES {
        group.bench_with_input(BenchmarkId::new("batch_buffer", n), &n, |b, &n| {
            b.iter_batched(
                || filled_buffer(n),
                |buffer| {
                    let batch = buffer.drain_all();
                    (buffer, batch)
                },
                BatchSize::PerIteration,
            )
        });
        group.bench_with_input(BenchmarkId::new("batch_buffer_steady", n), &n, |b, &n| {
            // One long-lived buffer, the consumer's loop: fill (untimed), drain (timed),
            // recycle (untimed).
            let buffer = filled_buffer(n);
            buffer.recycle(buffer.drain_all());
            let producers: Vec<_> = (0..4).map(|_| buffer.producer()).collect();
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    for i in 0..n {
                        producers[(i % 4) as usize].push(item(i)).unwrap();
                    }
                    let start = Instant::now();
                    let batch = black_box(buffer.drain_all());
                    total += start.elapsed();
                    buffer.recycle(batch);
                }
                total
            })
        });
        group.bench_with_input(BenchmarkId::new("std_mutex_vec_take", n), &n, |b, &n| {
            b.iter_batched(
                || Mutex::new(filled_vec(n)),
                |m| {
                    let batch = std::mem::take(&mut *m.lock().unwrap());
                    (m, batch)
                },
                BatchSize::PerIteration,
            )
        });
        group.bench_with_input(BenchmarkId::new("tokio_mutex_vec_take", n), &n, |b, &n| {
            b.iter_batched(
                || tokio::sync::Mutex::new(filled_vec(n)),
                |m| {
                    let batch = std::mem::take(&mut *block_on(m.lock()));
                    (m, batch)
                },
                BatchSize::PerIteration,
            )
        });
        group.bench_with_input(BenchmarkId::new("std_mutex_vec_copy", n), &n, |b, &n| {
            b.iter_batched(
                || Mutex::new(filled_vec(n)),
                |m| {
                    let batch: Vec<Item> = m.lock().unwrap().drain(..).collect();
                    (m, batch)
                },
                BatchSize::PerIteration,
            )
        });
        group.bench_with_input(BenchmarkId::new("crossbeam_array_queue", n), &n, |b, &n| {
            b.iter_batched(
                || {
                    let q = ArrayQueue::new(n as usize);
                    for i in 0..n {
                        q.push(item(i)).unwrap();
                    }
                    q
                },
                |q| {
                    let mut batch = Vec::with_capacity(q.len());
                    while let Some(it) = q.pop() {
                        batch.push(it);
                    }
                    (q, batch)
                },
                BatchSize::PerIteration,
            )
        });
        group.bench_with_input(BenchmarkId::new("tokio_mpsc", n), &n, |b, &n| {
            b.iter_batched(
                || {
                    let (tx, rx) = tokio::sync::mpsc::channel(n as usize);
                    for i in 0..n {
                        tx.try_send(item(i)).unwrap();
                    }
                    (tx, rx)
                },
                |(tx, mut rx)| {
                    let mut batch = Vec::with_capacity(n as usize);
                    while let Ok(it) = rx.try_recv() {
                        batch.push(it);
                    }
                    black_box(&batch);
                    (tx, rx, batch)
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Short defaults keep the full run near one minute; command-line flags
    // (--warm-up-time, --measurement-time, --sample-size) still override them.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = drain
}
criterion_main!(benches);
