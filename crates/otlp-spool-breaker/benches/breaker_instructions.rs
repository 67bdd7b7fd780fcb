//! Runs one contender of the breaker bench a given number of times, for instruction counts
//! under callgrind (stable where wall time on a shared machine is not). The setup is the same
//! for every run, so `(I(n) - I(0)) / n` is the count per call:
//!
//! ```text
//! cargo bench -p otlp-spool-breaker --bench breaker_instructions --no-run
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null BINARY closed lock_free 0
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null BINARY closed lock_free 1000000
//! ```
//!
//! States: `closed` (acquire + success), `open` (a rejection). Contenders: `lock_free`,
//! `lock_free_rate_window`, `std_mutex`, `parking_lot_mutex`, `tokio_mutex`. Run without
//! arguments, or with harness flags (`cargo bench` passes `--bench`; `cargo xtask
//! bench-compare` passes criterion's `--warm-up-time` and others), it checks every contender
//! once, prints this usage and measures nothing: it is not a criterion benchmark.

use std::hint::black_box;

mod common;
use common::{
    Contender, ParkingLotBreaker, StdMutexBreaker, TokioBreaker, lock_free, lock_free_with_rate,
};

const CONTENDERS: [&str; 5] = [
    "lock_free",
    "lock_free_rate_window",
    "std_mutex",
    "parking_lot_mutex",
    "tokio_mutex",
];

fn run(state: &str, name: &str, times: u64) -> Result<(), String> {
    match name {
        "lock_free" => run_with(&lock_free(), state, times),
        "lock_free_rate_window" => run_with(&lock_free_with_rate(), state, times),
        "std_mutex" => run_with(&StdMutexBreaker::default(), state, times),
        "parking_lot_mutex" => run_with(&ParkingLotBreaker::default(), state, times),
        "tokio_mutex" => run_with(&TokioBreaker::default(), state, times),
        other => Err(format!("unknown contender {other}")),
    }
}

/// Generic, like the criterion bench, so the contender's calls inline into the loop.
fn run_with<C: Contender>(c: &C, state: &str, times: u64) -> Result<(), String> {
    let admitted = match state {
        "closed" => true,
        "open" => {
            c.force_open();
            false
        }
        other => return Err(format!("unknown state {other}")),
    };
    // One call outside the count, so first-use set-up (a thread's counter shard) is in I(0).
    if c.op() != admitted {
        return Err(format!("not {state}"));
    }
    for _ in 0..times {
        black_box(c.op());
    }
    Ok(())
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // A harness's flags (`--bench`, criterion's options): not a callgrind run.
    let harness = args.iter().any(|a| a.starts_with("--"));
    let (false, Some(state), Some(name)) = (harness, args.first(), args.get(1)) else {
        for state in ["closed", "open"] {
            for name in CONTENDERS {
                run(state, name, 1)?;
            }
        }
        eprintln!("usage: breaker_instructions closed|open CONTENDER TIMES");
        return Ok(());
    };
    let times = args.get(2).and_then(|t| t.parse().ok()).unwrap_or(1);
    run(state, name, times)
}
