//! Append throughput of the write-ahead log: group commit from 1, 4 and 16 threads beside the
//! naive baseline in the same group (a mutex-guarded file, `write` + `fdatasync` per append).
//!
//! Every thread appends a 4 KiB record and waits for its ticket before the next one (a
//! receiver acknowledges only then), so the figure per element is the time per acknowledged
//! append across all threads. `group_commit/*` runs the default options (group-commit delay
//! of at most 1 ms), `group_commit_no_delay/*` sets it to 0. After each group-commit benchmark the bench prints how many
//! `fdatasync`s the log made for how many appends (the group commit at work).
//!
//! The logs live in a fresh directory under `$OTLP_SPOOL_WAL_BENCH_DIR` (default: the system
//! temp dir), which must be on the disk being measured (not a tmpfs).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otlp_spool_core::Signal;
use otlp_spool_wal::{Wal, WalOptions};

const RECORD: usize = 4096;
const THREADS: [usize; 3] = [1, 4, 16];

fn bench_dir() -> tempfile::TempDir {
    let base = std::env::var_os("OTLP_SPOOL_WAL_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    tempfile::tempdir_in(base).expect("bench dir")
}

/// Runs `per_thread` appends on each of `threads` threads and returns the elapsed time.
#[allow(clippy::disallowed_methods)] // a benchmark measures wall time
fn timed(threads: usize, per_thread: u64, append: impl Fn(usize) + Sync) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let append = &append;
            s.spawn(move || {
                for _ in 0..per_thread {
                    append(t);
                }
            });
        }
    });
    start.elapsed()
}

/// Totals of appends and syncs over every measurement of one benchmark.
#[derive(Default)]
struct Syncs {
    appends: u64,
    syncs: u64,
}

/// `delay`: `None` keeps the default group-commit delay.
fn group_commit(
    threads: usize,
    delay: Option<Duration>,
    iters: u64,
    syncs: &Mutex<Syncs>,
) -> Duration {
    let dir = bench_dir();
    let mut opts = WalOptions::builder(dir.path().join("wal")).max_bytes(16 << 30);
    if let Some(delay) = delay {
        opts = opts.group_commit_max_delay(delay);
    }
    let opts = opts.build().unwrap();
    let wal = Wal::open(opts).unwrap();
    let body = vec![0x5a; RECORD];
    let per_thread = iters.div_ceil(threads as u64);
    let elapsed = timed(threads, per_thread, |_| {
        wal.append(Signal::Traces, &body).unwrap().wait().unwrap();
    });
    let stats = wal.stats();
    let mut s = syncs.lock().unwrap();
    s.appends += stats.appended_records;
    s.syncs += stats.data_syncs;
    elapsed.mul_f64(iters as f64 / (per_thread * threads as u64) as f64)
}

fn fsync_each(threads: usize, iters: u64) -> Duration {
    let dir = bench_dir();
    let file: Mutex<File> = Mutex::new(
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("naive.log"))
            .unwrap(),
    );
    let body = vec![0x5a; RECORD + 24];
    let per_thread = iters.div_ceil(threads as u64);
    let elapsed = timed(threads, per_thread, |_| {
        let mut f = file.lock().unwrap();
        f.write_all(&body).unwrap();
        f.sync_data().unwrap();
    });
    elapsed.mul_f64(iters as f64 / (per_thread * threads as u64) as f64)
}

fn report(id: &str, syncs: &Mutex<Syncs>) {
    let s = syncs.lock().unwrap();
    if s.appends > 0 {
        eprintln!(
            "{id}: {} appends, {} fdatasyncs: {:.2} appends per sync",
            s.appends,
            s.syncs,
            s.appends as f64 / s.syncs.max(1) as f64
        );
    }
}

fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append_4k");
    g.throughput(Throughput::Elements(1));
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));
    let variants = THREADS
        .iter()
        .map(|&t| (format!("group_commit/{t}"), t, None))
        .chain([4, 16].map(|t| {
            (
                format!("group_commit_no_delay/{t}"),
                t,
                Some(Duration::ZERO),
            )
        }));
    for (id, threads, delay) in variants {
        let syncs = Mutex::new(Syncs::default());
        g.bench_function(&id, |b| {
            b.iter_custom(|iters| group_commit(threads, delay, iters, &syncs))
        });
        report(&id, &syncs);
    }
    for threads in THREADS {
        g.bench_function(format!("fsync_each_baseline/{threads}"), |b| {
            b.iter_custom(|iters| fsync_each(threads, iters))
        });
    }
    g.finish();
}

criterion_group!(benches, append);
criterion_main!(benches);
