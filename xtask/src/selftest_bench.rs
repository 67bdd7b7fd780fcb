//! `cargo xtask selftest-bench --work N`: a minimal benchmark harness with a known cost, used by
//! xtask's own tests to show that `bench-compare` passes an A/A comparison and catches an injected
//! slowdown. It takes criterion's flags, times real work, and writes its results in criterion's
//! layout (`$CRITERION_HOME/<id>/new/{benchmark,estimates}.json`), so the comparison reads it
//! exactly as it reads criterion.
//!
//! Two benchmarks: `selftest/spin` costs `--work` units, `selftest/fixed` always 1000 units.

use std::hint::black_box;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    let mut work: u64 = 1000;
    let mut measurement = 0.5_f64;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--work" => work = it.next().context("`--work` needs a value")?.parse()?,
            "--measurement-time" => {
                measurement = it
                    .next()
                    .context("`--measurement-time` needs a value")?
                    .parse()?
            }
            "--warm-up-time" | "--sample-size" | "--nresamples" => {
                it.next();
            }
            "--bench" | "--noplot" => {}
            other if other.starts_with('-') => bail!("unexpected flag `{other}`"),
            _ => {} // a filter: both benchmarks always run
        }
    }
    let home = std::env::var_os("CRITERION_HOME").context("CRITERION_HOME is not set")?;
    let home = Path::new(&home);
    let per_bench = Duration::from_secs_f64(measurement / 2.0);
    write(home, "selftest/spin", &measure(work, per_bench))?;
    write(home, "selftest/fixed", &measure(1000, per_bench))?;
    Ok(ExitCode::SUCCESS)
}

/// A dependent chain of multiply-adds: `units * 64` steps the optimizer cannot skip.
fn spin(units: u64) -> u64 {
    let mut x = black_box(0x9E37_79B9_7F4A_7C15_u64);
    for _ in 0..units * 64 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
    }
    black_box(x)
}

/// Per-iteration times (ns) of 20 samples spread over `budget`.
fn measure(units: u64, budget: Duration) -> Vec<f64> {
    // Calibrate: how many iterations fill one twentieth of the budget.
    let start = Instant::now();
    spin(units);
    let one = start.elapsed().max(Duration::from_nanos(1));
    let iters = ((budget.as_secs_f64() / 20.0) / one.as_secs_f64()).max(1.0) as u64;
    let mut samples: Vec<f64> = (0..20)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                spin(units);
            }
            start.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples
}

fn write(home: &Path, id: &str, sorted: &[f64]) -> Result<()> {
    // The estimate is the fastest sample: the work is pure CPU, so interference (another
    // process, a vCPU stolen by the host) only ever adds time, and the minimum is what stays
    // put between processes on this shared VM. The interval spans the five fastest samples.
    let estimate = sorted[0];
    let (lower, upper) = (sorted[0], sorted[4]);
    let dir = home.join(id).join("new");
    std::fs::create_dir_all(&dir)?;
    let bench = serde_json::json!({ "full_id": id });
    let estimates = serde_json::json!({
        "median": {
            "point_estimate": estimate,
            "confidence_interval": { "lower_bound": lower, "upper_bound": upper, "confidence_level": 0.9 },
        }
    });
    std::fs::write(dir.join("benchmark.json"), bench.to_string())?;
    std::fs::write(dir.join("estimates.json"), estimates.to_string())?;
    Ok(())
}
