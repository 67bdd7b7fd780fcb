//! Drain cost versus batch length, hot and cold cache, outside criterion.
//!
//! For each length, a long-lived buffer is filled (untimed), optionally a 16 MiB scratch
//! buffer is swept to evict every cache line (untimed), then one `drain_all` is timed;
//! 400 rounds, median and 10th/90th percentiles printed. The drain touches a fixed set
//! of cache lines and never an item, so its instruction count is the same at every
//! length (check with callgrind: `--toggle-collect='*take_all*'`, arguments `N 10`);
//! its wall time depends on whether those lines are still cached after the fill.
//! Run: `cargo run --release -p otlp-spool-buffer --example drain_probe [N ROUNDS]`.

// Measuring wall time is this target's job; the injected-clock rule is for the library.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::Instant;

use otlp_spool_buffer::{BatchBuffer, MAX_BYTES_LIMIT, Weighted};

#[derive(Clone, Copy)]
struct Item {
    _id: u64,
    weight: u32,
}

impl Weighted for Item {
    fn weight(&self) -> usize {
        self.weight as usize
    }
}

fn main() {
    // Optional arguments `N ROUNDS` (e.g. to run one length under callgrind).
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let lengths = match args.first() {
        Some(&n) => vec![n],
        None => vec![1024, 8192, 65536],
    };
    let rounds = args.get(1).copied().unwrap_or(400) as usize;
    let mut scratch = vec![0u8; 16 << 20];
    for cold in [false, true] {
        for &n in &lengths {
            let buffer = BatchBuffer::<Item>::builder()
                .max_bytes(MAX_BYTES_LIMIT)
                .build()
                .expect("valid bound");
            let producers: Vec<_> = (0..4).map(|_| buffer.producer()).collect();
            let mut times = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                for i in 0..n {
                    let item = Item {
                        _id: i,
                        weight: 100,
                    };
                    if producers[(i % 4) as usize].push(item).is_err() {
                        unreachable!("the bound is far away");
                    }
                }
                if cold {
                    for byte in scratch.iter_mut().step_by(64) {
                        *byte = byte.wrapping_add(1);
                    }
                    black_box(&scratch);
                }
                let start = Instant::now();
                let batch = black_box(buffer.drain_all());
                times.push(start.elapsed().as_nanos());
                assert_eq!(batch.len() as u64, n);
                buffer.recycle(batch);
            }
            times.sort_unstable();
            println!(
                "cache={} n={n:>6} median={:>5} ns p10={:>5} ns p90={:>5} ns",
                if cold { "cold" } else { "hot " },
                times[rounds / 2],
                times[rounds / 10],
                times[rounds * 9 / 10]
            );
        }
    }
}
