//! Closed-state acquire + success and Open-state rejection, each beside three naive baselines
//! (`common/mod.rs`): the same state machine behind one `tokio::sync::Mutex` (the naive design,
//! locked with `blocking_lock` from plain threads), behind one `parking_lot::Mutex` (both locked
//! twice per call, like the breaker's two steps) and behind one `std::sync::Mutex` locked once
//! per call.
//!
//! On a shared machine wall time includes time the thread spent descheduled. With
//! `BREAKER_BENCH_CPU_TIME=1` the single-threaded groups measure the thread's on-CPU time
//! instead (`CLOCK_THREAD_CPUTIME_ID`, Linux only); multi-threaded groups always measure wall
//! time, since time spent waiting for a lock is the very cost they compare.
//!
//! Multi-threaded cases use `iter_custom` with std threads started behind a barrier; the
//! reported time is wall time divided by the total number of operations of all threads
//! (aggregate cost per operation: lower is better, perfect scaling halves it per doubling of
//! cores).

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

mod common;
use common::{
    Contender, ParkingLotBreaker, StdMutexBreaker, TokioBreaker, lock_free, lock_free_with_rate,
};

/// `iters` calls on each of `threads` threads; returns wall time / threads, so criterion's
/// per-iteration figure is wall time per operation over all threads.
#[allow(clippy::disallowed_methods)] // the bench measures wall time itself
fn on_threads<C: Contender>(contender: &C, threads: u32, iters: u64) -> Duration {
    let barrier = Barrier::new(threads as usize + 1);
    let elapsed = std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                barrier.wait();
                for _ in 0..iters {
                    black_box(contender.op());
                }
            });
        }
        barrier.wait();
        let start = Instant::now();
        // Leaving the scope joins every thread.
        start
    })
    .elapsed();
    elapsed / threads
}

/// On-CPU time of the calling thread.
#[cfg(target_os = "linux")]
fn thread_cpu_time() -> Duration {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is valid on Linux.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu_time() -> Duration {
    panic!("BREAKER_BENCH_CPU_TIME needs Linux")
}

/// Single-threaded measurement: wall time, or on-CPU time with `BREAKER_BENCH_CPU_TIME=1`.
fn single<C: Contender>(b: &mut criterion::Bencher<'_>, contender: &C) {
    if std::env::var_os("BREAKER_BENCH_CPU_TIME").is_some_and(|v| v == "1") {
        b.iter_custom(|iters| {
            let start = thread_cpu_time();
            for _ in 0..iters {
                black_box(contender.op());
            }
            thread_cpu_time() - start
        });
    } else {
        b.iter(|| contender.op());
    }
}

fn closed(c: &mut Criterion) {
    let lf = lock_free();
    let lf_rate = lock_free_with_rate();
    let pl = ParkingLotBreaker::default();
    let tk = TokioBreaker::default();
    let sm = StdMutexBreaker::default();

    let mut g = c.benchmark_group("closed_acquire_success_1_thread");
    g.bench_function("lock_free", |b| single(b, &lf));
    g.bench_function("lock_free_rate_window", |b| single(b, &lf_rate));
    g.bench_function("std_mutex", |b| single(b, &sm));
    g.bench_function("parking_lot_mutex", |b| single(b, &pl));
    g.bench_function("tokio_mutex", |b| single(b, &tk));
    g.finish();

    for threads in [2, 4] {
        let mut g = c.benchmark_group(format!("closed_acquire_success_{threads}_threads"));
        g.bench_function("lock_free", |b| {
            b.iter_custom(|iters| on_threads(&lf, threads, iters))
        });
        g.bench_function("std_mutex", |b| {
            b.iter_custom(|iters| on_threads(&sm, threads, iters))
        });
        g.bench_function("parking_lot_mutex", |b| {
            b.iter_custom(|iters| on_threads(&pl, threads, iters))
        });
        g.bench_function("tokio_mutex", |b| {
            b.iter_custom(|iters| on_threads(&tk, threads, iters))
        });
        g.finish();
    }
    assert!(lf.try_acquire().is_ok(), "benches never opened the breaker");
}

fn open(c: &mut Criterion) {
    let lf = lock_free();
    let pl = ParkingLotBreaker::default();
    let tk = TokioBreaker::default();
    let sm = StdMutexBreaker::default();
    lf.force_open();
    pl.force_open();
    tk.force_open();
    sm.force_open();

    let mut g = c.benchmark_group("open_rejection_1_thread");
    assert!(
        !lf.op() && !pl.op() && !tk.op() && !sm.op(),
        "all four are open"
    );
    g.bench_function("lock_free", |b| single(b, &lf));
    g.bench_function("std_mutex", |b| single(b, &sm));
    g.bench_function("parking_lot_mutex", |b| single(b, &pl));
    g.bench_function("tokio_mutex", |b| single(b, &tk));
    g.finish();
}

criterion_group!(benches, closed, open);
criterion_main!(benches);
