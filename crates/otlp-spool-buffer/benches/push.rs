//! Push throughput: uncontended (one thread) and with 1, 2 and 4 producer threads plus
//! a draining consumer, each beside the baselines of `common`. Reported time is wall
//! time per pushed item (all producers together).

// Measuring wall time is this target's job; the injected-clock rule is for the library.
#![allow(clippy::disallowed_methods)]

mod common;

use std::hint::black_box;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{Contender, CrossbeamArrayQueue, Ours, StdMutexVec, TokioMpsc, TokioMutexVec, item};
use criterion::{
    BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main, measurement::WallTime,
};

/// One thread pushes `iters` items, draining every 4096 (drains included).
fn uncontended<C: Contender>(iters: u64) -> Duration {
    let contender = C::new();
    let mut handle = contender.handle();
    let start = Instant::now();
    for i in 0..iters {
        contender.push(&mut handle, black_box(item(i)));
        if i % 4096 == 4095 {
            black_box(contender.drain());
        }
    }
    black_box(contender.drain());
    start.elapsed()
}

/// `producers` threads push `iters` items in total while a consumer drains.
fn contended<C: Contender>(producers: u64, iters: u64) -> Duration {
    let contender = C::new();
    let done = AtomicBool::new(false);
    let barrier = Barrier::new(producers as usize + 1);
    thread::scope(|s| {
        let consumer = s.spawn(|| {
            let mut total = 0;
            while !done.load(Ordering::Acquire) {
                let n = contender.drain();
                total += n;
                if n < 1024 {
                    thread::sleep(Duration::from_micros(50));
                }
            }
            total + contender.drain()
        });
        let workers: Vec<_> = (0..producers)
            .map(|p| {
                let mut handle = contender.handle();
                let (contender, barrier) = (&contender, &barrier);
                let share = iters / producers + u64::from(p < iters % producers);
                s.spawn(move || {
                    barrier.wait();
                    for i in 0..share {
                        contender.push(&mut handle, item(p << 40 | i));
                    }
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for worker in workers {
            worker.join().unwrap();
        }
        let elapsed = start.elapsed();
        done.store(true, Ordering::Release);
        assert_eq!(consumer.join().unwrap() as u64, iters);
        elapsed
    })
}

fn add<C: Contender>(group: &mut BenchmarkGroup<'_, WallTime>, producers: Option<u64>) {
    group.bench_function(C::NAME, |b| {
        b.iter_custom(|iters| match producers {
            None => uncontended::<C>(iters),
            Some(p) => contended::<C>(p, iters),
        })
    });
}

fn all<'a>(group: &mut BenchmarkGroup<'a, WallTime>, producers: Option<u64>) {
    group.throughput(Throughput::Elements(1));
    add::<Ours>(group, producers);
    add::<StdMutexVec>(group, producers);
    add::<TokioMutexVec>(group, producers);
    add::<CrossbeamArrayQueue>(group, producers);
    add::<TokioMpsc>(group, producers);
}

fn push_uncontended(c: &mut Criterion) {
    let mut group = c.benchmark_group("push_uncontended");
    all(&mut group, None);
    group.finish();
}

fn push_producers(c: &mut Criterion) {
    for producers in [1u64, 2, 4] {
        let mut group = c.benchmark_group(format!("push_{producers}_producers"));
        all(&mut group, Some(producers));
        group.finish();
    }
}

criterion_group! {
    name = benches;
    // Short defaults keep the full run near two minutes; command-line flags
    // (--warm-up-time, --measurement-time, --sample-size) still override them.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = push_uncontended, push_producers
}
criterion_main!(benches);
