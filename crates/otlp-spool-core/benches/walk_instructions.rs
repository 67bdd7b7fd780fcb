//! Runs one operation of the walk bench a given number of times, for instruction counts under
//! callgrind (stable where wall time on a shared machine is not). The setup is the same for
//! every run, so `(I(n) - I(0)) / (n * 512)` is the count per item:
//!
//! ```text
//! cargo bench -p otlp-spool-core --bench walk_instructions --no-run
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null BINARY traces walk 0
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null BINARY traces walk 20
//! ```
//!
//! Operations: `walk`, `prost_decode`, `prost_decode_validate`. Run without arguments (as
//! `cargo bench` does) it checks every operation once and prints this usage.

use std::hint::black_box;

use bytes::Bytes;
use otlp_spool_core::Signal;
use otlp_spool_core::wire::{WalkLimits, walk};

mod common;
#[path = "../tests/it/oracle.rs"]
mod oracle;

fn run(signal: Signal, op: &str, body: &Bytes, times: usize) -> Result<(), String> {
    let limits = WalkLimits::default();
    for _ in 0..times {
        match op {
            "walk" => {
                black_box(
                    walk(signal, black_box(body.clone()), &limits).map_err(|e| e.to_string())?,
                );
            }
            "prost_decode" => {
                black_box(oracle::decode(signal, black_box(body)).map_err(|e| e.to_string())?);
            }
            "prost_decode_validate" => {
                let mut t = oracle::decode(signal, black_box(body)).map_err(|e| e.to_string())?;
                black_box(oracle::validate(&mut t));
                black_box(t);
            }
            other => return Err(format!("unknown operation {other}")),
        }
    }
    Ok(())
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let signal = match args.first().map(String::as_str) {
        Some("traces") => Signal::Traces,
        Some("metrics") => Signal::Metrics,
        Some("logs") => Signal::Logs,
        _ => {
            for signal in Signal::ALL {
                let body = Bytes::from(common::encoded(signal));
                for op in ["walk", "prost_decode", "prost_decode_validate"] {
                    run(signal, op, &body, 1)?;
                }
            }
            eprintln!("usage: walk_instructions traces|metrics|logs OPERATION TIMES");
            return Ok(());
        }
    };
    let op = args.get(1).map_or("walk", String::as_str);
    let times = args.get(2).and_then(|t| t.parse().ok()).unwrap_or(1);
    let body = Bytes::from(common::encoded(signal));
    run(signal, op, &body, times)
}
