//! Project automation for otlp-spool, run as `cargo xtask <command>`.
//!
//! Commands:
//! - `loom [-p CRATE]...`: runs every crate's loom models (`tests/loom.rs`, or the in-crate
//!   `src/loom_models.rs`) under `--cfg otlp_spool_loom`, in release, in a separate target dir.
//! - `bench-compare [--base REV] [-p CRATE]... [--quick] [--threshold PCT] [--rounds N]
//!   [--filter SUBSTR]`: builds the base revision in a git worktree and the working tree, runs their
//!   criterion benchmarks alternately and reports base, head, change and measured noise per
//!   benchmark; re-measures every flagged benchmark alone beside an A/A control. Exits 3 only for
//!   a confirmed slowdown beyond `max(threshold, noise)`.
//! - `load [LOADGEN FLAGS]`: release-builds the binary and `loadgen`, then runs the load
//!   generator against a spawned server.
//!
//! Everything here shells out to `cargo` and `git`; the only logic worth testing in isolation (the
//! regression verdict) lives in `bench_compare::stats`.
#![forbid(unsafe_code)]

mod bench_compare;
mod load;
mod loom;
mod selftest_bench;
mod workspace;

use std::process::ExitCode;

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  loom [-p CRATE]...            run the loom models of every crate (or the named ones)
  bench-compare [options]       compare criterion benchmarks of a base revision and the work tree
      --base REV                base revision (default: $OTLP_SPOOL_BENCH_BASE, else HEAD~1)
      -p, --package CRATE       only this crate (repeatable; default: every crate with benches/)
      --quick                   short warm-up/measurement and 3 rounds (what CI runs)
      --rounds N                alternating rounds per side (default 4, quick 3)
      --threshold PCT           smallest slowdown ever called a regression (default 5)
      --filter SUBSTR           only benchmarks whose id contains SUBSTR
      --measurement SECS        criterion's measurement time per benchmark (default 3, quick 0.2)
      --confirm-rounds N        rounds (base, head, base again) re-measuring each flagged
                                benchmark alone (default 5; at least 3, or 0:
                                the first pass decides)
      --confirm-measurement SECS
                                measurement time when re-measuring (default 2x, quick 0.6)
  load [LOADGEN FLAGS]          build release binaries and run the load generator against a
                                spawned server, or against --server-cmd CMD (another OTLP
                                server, e.g. Rotel) (flags: see benches/README.md)
";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode> {
    let mut args = std::env::args().skip(1);
    let Some(command) = args.next() else {
        eprint!("{USAGE}");
        bail!("no command given");
    };
    let rest: Vec<String> = args.collect();
    match command.as_str() {
        "loom" => loom::run(&parse_packages(&rest)?),
        "bench-compare" => {
            let opts = bench_compare::Options::parse(&rest)?;
            bench_compare::run(&opts)
        }
        "load" => load::run(&rest),
        // Used by xtask's own tests: a minimal benchmark harness with a known cost.
        "selftest-bench" => selftest_bench::run(&rest),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => {
            eprint!("{USAGE}");
            bail!("unknown command `{other}`")
        }
    }
}

/// Parses `-p CRATE` / `--package CRATE` pairs and nothing else.
fn parse_packages(args: &[String]) -> Result<Vec<String>> {
    let mut packages = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-p" | "--package" => {
                let name = it.next().context("`-p` needs a crate name")?;
                packages.push(name.clone());
            }
            other => bail!("unexpected argument `{other}`"),
        }
    }
    Ok(packages)
}
