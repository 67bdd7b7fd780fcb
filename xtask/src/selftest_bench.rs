//! `cargo xtask selftest-bench --work N`: a minimal benchmark harness with a known cost, used by
//! xtask's own tests to show that `bench-compare` passes an A/A comparison and catches an injected
//! slowdown. It takes criterion's flags, times real work, and writes its results in criterion's
//! layout (`$CRITERION_HOME/<id>/new/{benchmark,estimates}.json`), so the comparison reads it
//! exactly as it reads criterion.
//!
//! Two benchmarks: `selftest/spin` costs `--work` units, `selftest/fixed` always 1000 units. With
//! `--exact ID` only that one runs (other filters run both).
//!
//! `--slow-first N --slow-work W --state FILE` makes the first `N` invocations (counted in
//! `FILE`) cost `W` units instead: a first pass disturbed by load that has gone when the
//! benchmark is measured again.
//!
//! `--simulate` replaces the timing by a model of it: each sample is `units` x 100 ns plus
//! interference that only ever adds time (up to 3%, and one sample in ten up to 40% more), drawn
//! from a generator seeded per process. xtask's tests use it, so what they check is the
//! comparison's statistics and decisions, not how busy the machine running them is (on a
//! loaded 2-core machine real timings of this harness varied by 27% between processes, and a
//! 20% slowdown is then rightly "not confirmed"). Without it the harness times real work.

use std::hint::black_box;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    let mut work: u64 = 1000;
    let mut measurement = 0.5_f64;
    let mut exact = None;
    let mut slow_first: u64 = 0;
    let mut slow_work: u64 = 0;
    let mut state = None;
    let mut simulate = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("`{name}` needs a value"));
        match arg.as_str() {
            "--work" => work = value("--work")?.parse()?,
            "--measurement-time" => measurement = value("--measurement-time")?.parse()?,
            "--slow-first" => slow_first = value("--slow-first")?.parse()?,
            "--slow-work" => slow_work = value("--slow-work")?.parse()?,
            "--state" => state = Some(value("--state")?.clone()),
            "--exact" => exact = Some(value("--exact")?.clone()),
            "--warm-up-time" | "--sample-size" | "--nresamples" => {
                value(arg)?;
            }
            "--simulate" => simulate = true,
            "--bench" | "--noplot" => {}
            other if other.starts_with('-') => bail!("unexpected flag `{other}`"),
            _ => {} // a regex filter: both benchmarks run
        }
    }
    if slow_first > 0 {
        let state = state.context("`--slow-first` needs `--state FILE`")?;
        let runs: u64 = std::fs::read_to_string(&state)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        std::fs::write(&state, (runs + 1).to_string())?;
        if runs < slow_first {
            work = slow_work;
        }
    }
    let home = std::env::var_os("CRITERION_HOME").context("CRITERION_HOME is not set")?;
    let home = Path::new(&home);
    let per_bench = Duration::from_secs_f64(measurement / 2.0);
    for (id, units) in [("selftest/spin", work), ("selftest/fixed", 1000)] {
        if exact.as_deref().is_none_or(|e| e == id) {
            let samples = if simulate {
                simulated(units)
            } else {
                measure(units, per_bench)
            };
            write(home, id, &samples)?;
        }
    }
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

/// Per-iteration times (ns), sorted: one iteration per sample, as many as fit in `budget` (at
/// least 20). Short samples matter on a loaded machine: one that no other process interrupted
/// is likely among hundreds of one-iteration samples, rarely among twenty long ones.
fn measure(units: u64, budget: Duration) -> Vec<f64> {
    let start = Instant::now();
    let mut samples = Vec::new();
    while samples.len() < 20 || start.elapsed() < budget {
        let t = Instant::now();
        spin(units);
        samples.push(t.elapsed().as_nanos() as f64);
    }
    samples.sort_by(f64::total_cmp);
    samples
}

/// 200 modelled per-iteration times (ns), sorted; see the module docs.
fn simulated(units: u64) -> Vec<f64> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut x = u64::from(std::process::id()) << 32 | u64::from(nanos) | 1;
    let mut uniform = move || {
        // xorshift64*
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    };
    let base = units as f64 * 100.0;
    let mut samples: Vec<f64> = (0..200)
        .map(|_| {
            let spike = if uniform() < 0.1 {
                0.4 * uniform()
            } else {
                0.0
            };
            base * (1.0 + 0.03 * uniform() + spike)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples
}

fn write(home: &Path, id: &str, sorted: &[f64]) -> Result<()> {
    // The estimate is the fastest sample: the work is pure CPU, so interference (another
    // process, a vCPU stolen by the host) only ever adds time, and the minimum is what stays
    // put between processes on this shared VM. The interval spans the fastest 1% of samples:
    // under load most samples are interrupted, and a wider slice would measure the load rather
    // than the work. How well the minimum repeats between processes, the comparison measures.
    let estimate = sorted[0];
    let (lower, upper) = (sorted[0], sorted[sorted.len() / 100]);
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
