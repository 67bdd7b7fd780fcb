//! `cargo xtask bench-compare`: before/after benchmark comparison that a noisy 2-core machine
//! cannot fool.
//!
//! 1. The base revision is checked out in a detached git worktree under
//!    `<target>/bench-compare/base`; the head is the working tree as it is, uncommitted changes
//!    included. The base is `--base REV`, else `$OTLP_SPOOL_BENCH_BASE` when set and non-empty,
//!    else `HEAD~1`. CI (`.ci/run`) passes no `--base`, so it compares against
//!    `$OTLP_SPOOL_BENCH_BASE` (point it at the last commit CI passed on, e.g. the target
//!    branch) or, by default, the previous commit; a base that does not exist (a one-commit
//!    clone) or does not build is reported and nothing is compared.
//! 2. Both trees build their criterion bench targets (`cargo bench --no-run`) into the same target
//!    dir, so registry dependencies build once. Cargo treats a workspace member of both trees
//!    as one unit (same artifacts, same fingerprint), so before each build the members' release
//!    artifacts are cleaned and after it the executables are copied away (see
//!    [`build::build_benches`]): each run rebuilds the members of both trees.
//! 3. First pass: the executables run in alternating rounds (which side runs first alternates by
//!    round and by executable), each run with a fresh `CRITERION_HOME` and after a `sync` (so
//!    one run's writeback does not land in the next one's measurement), and the medians criterion
//!    estimated are read back from its JSON files. [`stats::compare`] turns the paired rounds
//!    into a change and a noise figure; a slowdown beyond `max(threshold, noise)` flags the
//!    benchmark, provisionally.
//! 4. Confirmation ([`confirm`]): every flagged benchmark runs again on its own (criterion's
//!    `--exact`), with longer windows, in rounds of base, head, base again. The two base runs
//!    are an A/A control: their difference is the noise of that benchmark on this machine right
//!    now. Only a slowdown beyond `max(threshold, noise, A/A spread)` in these rounds, with the
//!    head runs outranking the base runs (exact one-sided rank-sum probability at most 2%), is
//!    a regression. Quick mode confirms with 0.6 s windows in 5 rounds. Both tables are
//!    printed, the first pass and the confirmation, so a provisional flag stays visible. With
//!    `valgrind` on `PATH`, a confirmed regression also gets callgrind instruction counts of one
//!    iteration on both sides ([`instructions`], single-threaded benchmarks only); exactly equal
//!    counts clear a marginal (below twice the allowance) timing-only slowdown.
//! 5. Only a confirmed regression makes the command exit with code 3 (code 1 means the
//!    comparison itself failed), and CI fails on either.
//!
//! Why confirmation: quick-mode A/A runs (identical bench code on both sides) flagged 5 to 11
//! of the workspace's benchmarks by +25% to +900% in the first pass alone, mostly
//! multi-threaded ones and allocation-heavy naive baselines: with 0.2 s windows and three
//! processes per side, one burst of load from another process moves a whole side, and some
//! benchmarks are bimodal per process. Re-measured alone for longer, beside an A/A control and
//! under the rank test, they fall back within the noise (figures: README.md, "Concurrency
//! models and benchmarks").
//!
//! Why the clean and the copy in step 2: before them, the base's build silently reused or
//! overwrote the head's executables, so both columns ran the same binary and no real slowdown
//! could ever be seen; a head with an injected +20% slowdown then measured as unchanged.

mod build;
mod confirm;
mod instructions;
mod measure;
mod stats;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::workspace;
use measure::{BenchCommand, Filter, Timing};
use stats::{Sample, Verdict};

/// The exit code for "measured a regression", distinct from 1 (the comparison itself failed:
/// a build error, a crashing benchmark), so a caller can tell the two apart.
pub(crate) const REGRESSION_EXIT_CODE: u8 = 3;

/// Command-line options of `bench-compare`.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    base: Option<String>,
    packages: Vec<String>,
    quick: bool,
    rounds: Option<usize>,
    threshold_pct: f64,
    measurement_secs: Option<f64>,
    filter: Option<String>,
    confirm_rounds: Option<usize>,
    confirm_measurement_secs: Option<f64>,
    /// Hidden, for xtask's own tests: compare two ready commands instead of two git trees.
    commands: Option<(String, String)>,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut opts = Options {
            base: None,
            packages: Vec::new(),
            quick: false,
            rounds: None,
            threshold_pct: 5.0,
            measurement_secs: None,
            filter: None,
            confirm_rounds: None,
            confirm_measurement_secs: None,
            commands: None,
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| {
                it.next()
                    .cloned()
                    .with_context(|| format!("`{name}` needs a value"))
            };
            match arg.as_str() {
                "--base" => opts.base = Some(value("--base")?),
                "-p" | "--package" => opts.packages.push(value("--package")?),
                "--quick" => opts.quick = true,
                "--rounds" => {
                    let n: usize = value("--rounds")?
                        .parse()
                        .context("`--rounds` takes a positive integer")?;
                    if n == 0 {
                        bail!("`--rounds` takes a positive integer");
                    }
                    opts.rounds = Some(n);
                }
                "--threshold" => {
                    let pct: f64 = value("--threshold")?
                        .trim_end_matches('%')
                        .parse()
                        .context("`--threshold` takes a percentage, e.g. 5")?;
                    if !(pct.is_finite() && pct >= 0.0) {
                        bail!("`--threshold` must be a non-negative percentage");
                    }
                    opts.threshold_pct = pct;
                }
                "--filter" => opts.filter = Some(value("--filter")?),
                "--measurement" => opts.measurement_secs = Some(secs("--measurement", value)?),
                "--confirm-rounds" => {
                    let n: usize = value("--confirm-rounds")?
                        .parse()
                        .context("`--confirm-rounds` takes a number, 0 to skip confirming")?;
                    // Fewer than three rounds can never pass the rank test (see stats::confirm).
                    if n == 1 || n == 2 {
                        bail!("`--confirm-rounds` must be 0 (skip confirming) or at least 3");
                    }
                    opts.confirm_rounds = Some(n);
                }
                "--confirm-measurement" => {
                    opts.confirm_measurement_secs = Some(secs("--confirm-measurement", value)?);
                }
                "--compare-commands" => {
                    let base = value("--compare-commands")?;
                    let head = value("--compare-commands")?;
                    opts.commands = Some((base, head));
                }
                other => bail!("unexpected argument `{other}` (see `cargo xtask help`)"),
            }
        }
        Ok(opts)
    }

    /// How the confirmation phase measures one provisionally flagged benchmark: longer windows
    /// than the first pass (three times as long in quick mode, twice as long otherwise), more
    /// samples, and only that benchmark (criterion's `--exact`).
    fn confirm_timing(&self, id: &str) -> Timing {
        let first = self.timing();
        let (warm_up_secs, measurement_secs, sample_size) = if self.quick {
            (0.1, 0.6, Some(15))
        } else {
            (first.warm_up_secs, 2.0 * first.measurement_secs, None)
        };
        Timing {
            warm_up_secs,
            measurement_secs: self.confirm_measurement_secs.unwrap_or(measurement_secs),
            sample_size,
            nresamples: first.nresamples,
            filter: Some(Filter::Exact(id.to_string())),
        }
    }

    fn confirm_rounds(&self) -> usize {
        // Five rounds: five head runs against ten base runs let the rank test (stats::confirm)
        // tolerate a disturbed run or two; three would need a perfect separation.
        self.confirm_rounds.unwrap_or(5)
    }

    fn timing(&self) -> Timing {
        // Quick mode (CI) covers every benchmark of the workspace in a few minutes: a short
        // warm-up and window, criterion's minimum of 10 samples and a 1,000-resample bootstrap
        // (instead of 100 samples and 100,000 resamples). Three rounds per side make the noise
        // estimate a median absolute deviation, robust to one disturbed round.
        let (warm_up_secs, measurement_secs, sample_size, nresamples) = if self.quick {
            (0.05, 0.2, Some(10), Some(1_000))
        } else {
            (1.0, 3.0, None, None)
        };
        Timing {
            warm_up_secs,
            measurement_secs: self.measurement_secs.unwrap_or(measurement_secs),
            sample_size,
            nresamples,
            filter: self.filter.clone().map(Filter::Substring),
        }
    }

    fn rounds(&self) -> usize {
        self.rounds.unwrap_or(if self.quick { 3 } else { 4 })
    }
}

/// Parses a positive number of seconds.
fn secs(name: &str, value: impl FnOnce(&str) -> Result<String>) -> Result<f64> {
    let secs: f64 = value(name)?
        .parse()
        .with_context(|| format!("`{name}` takes seconds, e.g. 1.5"))?;
    if !(secs.is_finite() && secs > 0.0) {
        bail!("`{name}` must be a positive number of seconds");
    }
    Ok(secs)
}

pub(crate) fn run(opts: &Options) -> Result<ExitCode> {
    let scratch = workspace::target_dir().join("bench-compare");
    std::fs::create_dir_all(&scratch)?;
    let pairs = match &opts.commands {
        Some((base, head)) => vec![(
            command_from_line("base", base)?,
            command_from_line("head", head)?,
        )],
        None => match prepare_trees(opts, &scratch)? {
            Some(pairs) => pairs,
            None => return Ok(ExitCode::SUCCESS),
        },
    };
    let threshold = opts.threshold_pct / 100.0;
    let started = Instant::now();
    let results = measure_rounds(&pairs, opts, &scratch)?;
    let flagged = report(&results, threshold);
    let first_pass = started.elapsed();
    let regressions = if flagged.is_empty() {
        0
    } else if opts.confirm_rounds() == 0 {
        eprintln!("bench-compare: --confirm-rounds 0: the first pass decides");
        flagged.len()
    } else {
        let outcomes = confirm::confirm_all(&flagged, &pairs, opts, &scratch)?;
        confirm::report(&outcomes, threshold)
    };
    eprintln!(
        "bench-compare: {} benchmarks; first pass {:.0} s, confirmation of {} flagged {:.0} s",
        results.len(),
        first_pass.as_secs_f64(),
        flagged.len(),
        (started.elapsed() - first_pass).as_secs_f64()
    );
    if let Some(base) = &opts.base
        && opts.commands.is_none()
    {
        eprintln!("bench-compare: base {base}");
    }
    if regressions > 0 {
        eprintln!("bench-compare: {regressions} regression(s) beyond max(threshold, noise)");
        Ok(ExitCode::from(REGRESSION_EXIT_CODE))
    } else {
        eprintln!(
            "bench-compare: no regression beyond max(threshold, noise) ({} flagged by the first pass, none confirmed)",
            flagged.len()
        );
        Ok(ExitCode::SUCCESS)
    }
}

/// Checks out the base, builds both trees and pairs their bench targets by crate and name.
/// Returns `None` when there is nothing to compare (no base revision, no shared benches).
fn prepare_trees(
    opts: &Options,
    scratch: &Path,
) -> Result<Option<Vec<(BenchCommand, BenchCommand)>>> {
    let root = workspace::root();
    let base_rev = opts
        .base
        .clone()
        .or_else(|| {
            std::env::var("OTLP_SPOOL_BENCH_BASE")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "HEAD~1".to_string());
    let sha = match workspace::output_checked(
        Command::new("git")
            .current_dir(&root)
            .args(["rev-parse", "--verify", "--quiet"])
            .arg(format!("{base_rev}^{{commit}}")),
    ) {
        Ok(sha) => sha.trim().to_string(),
        Err(_) => {
            eprintln!(
                "bench-compare: base revision `{base_rev}` does not exist here; nothing to compare"
            );
            return Ok(None);
        }
    };
    eprintln!("bench-compare: base {base_rev} = {sha}, head = working tree");

    let base_tree = scratch.join("base");
    add_worktree(&root, &base_tree, &sha)?;

    let head_crates = select(&root, &opts.packages)?;
    let base_crates = workspace::bench_packages(&base_tree)?;
    let (shared, head_only): (Vec<String>, Vec<String>) = head_crates
        .into_iter()
        .partition(|c| base_crates.contains(c));
    for c in &head_only {
        eprintln!("bench-compare: {c} has no benches at the base; not compared");
    }
    if shared.is_empty() {
        eprintln!("bench-compare: no crate has benches on both sides; nothing to compare");
        return Ok(None);
    }
    // The head must build; a base that does not (a broken older commit) leaves nothing to compare.
    let head = build::build_benches(&root, &shared, &scratch.join("bin-head"))?;
    let base = match build::build_benches(&base_tree, &shared, &scratch.join("bin-base")) {
        Ok(base) => base,
        Err(err) => {
            eprintln!("bench-compare: the base does not build ({err:#}); nothing to compare");
            return Ok(None);
        }
    };
    let mut pairs = Vec::new();
    for h in head {
        match base.iter().find(|b| b.label == h.label) {
            Some(b) => pairs.push((b.clone(), h)),
            None => eprintln!(
                "bench-compare: bench {} is new in head; not compared",
                h.label
            ),
        }
    }
    Ok(Some(pairs))
}

fn select(root: &Path, packages: &[String]) -> Result<Vec<String>> {
    let with_benches = workspace::bench_packages(root)?;
    if packages.is_empty() {
        return Ok(with_benches);
    }
    for p in packages {
        if !with_benches.contains(p) {
            bail!(
                "package `{p}` has no criterion benches (crates/{p}/benches, or benches/benches)"
            );
        }
    }
    Ok(packages.to_vec())
}

fn add_worktree(root: &Path, path: &Path, sha: &str) -> Result<()> {
    if path.exists() {
        // A leftover from an earlier run: drop it (and git's record of it) and start clean.
        let _ = Command::new("git")
            .current_dir(root)
            .args(["worktree", "remove", "--force"])
            .arg(path)
            .status();
        if path.exists() {
            std::fs::remove_dir_all(path)
                .with_context(|| format!("removing {}", path.display()))?;
        }
    }
    workspace::run_checked(
        Command::new("git")
            .current_dir(root)
            .args(["worktree", "prune"]),
    )?;
    workspace::run_checked(
        Command::new("git")
            .current_dir(root)
            .args(["worktree", "add", "--detach", "--quiet"])
            .arg(path)
            .arg(sha),
    )
}

fn command_from_line(label: &str, line: &str) -> Result<BenchCommand> {
    let mut words = line.split_whitespace().map(str::to_string);
    let program = words
        .next()
        .with_context(|| format!("empty {label} command"))?;
    Ok(BenchCommand {
        label: label.to_string(),
        program: program.into(),
        args: words.collect(),
        cwd: std::env::current_dir()?,
    })
}

/// First-pass samples of one benchmark: `base[i]` and `head[i]` come from round `i`.
#[derive(Debug, Default)]
struct Measured {
    /// Index into the executable pairs: which bench target holds the benchmark.
    pair: usize,
    base: Vec<Sample>,
    head: Vec<Sample>,
}

/// First-pass samples by benchmark id.
type Results = BTreeMap<String, Measured>;

fn measure_rounds(
    pairs: &[(BenchCommand, BenchCommand)],
    opts: &Options,
    scratch: &Path,
) -> Result<Results> {
    let timing = opts.timing();
    let rounds = opts.rounds();
    let mut results = Results::new();
    for round in 0..rounds {
        for (pair_index, (base, head)) in pairs.iter().enumerate() {
            // Alternate by round and by executable, so no side always runs right after the
            // same neighbour (e.g. after a benchmark that writes files).
            let base_first = (round + pair_index).is_multiple_of(2);
            let order: [(bool, &BenchCommand); 2] = if base_first {
                [(true, base), (false, head)]
            } else {
                [(false, head), (true, base)]
            };
            let mut round_samples: [BTreeMap<String, Sample>; 2] = Default::default();
            for (is_base, bench) in order {
                let side = if is_base { "base" } else { "head" };
                eprintln!(
                    "bench-compare: round {}/{rounds}: {side} {}",
                    round + 1,
                    bench.label
                );
                let home = scratch.join(format!("criterion-{side}-{pair_index}"));
                round_samples[usize::from(!is_base)] = measure::run_once(bench, &timing, &home)?;
            }
            let [base_samples, head_samples] = round_samples;
            for (id, b) in base_samples {
                if let Some(h) = head_samples.get(&id) {
                    let entry = results.entry(id).or_insert_with(|| Measured {
                        pair: pair_index,
                        ..Measured::default()
                    });
                    entry.base.push(b);
                    entry.head.push(*h);
                }
            }
        }
    }
    Ok(results)
}

/// Prints the first-pass table and returns the benchmarks it flags, the largest slowdown first.
fn report(results: &Results, threshold: f64) -> Vec<confirm::Flagged> {
    let width = results.keys().map(String::len).max().unwrap_or(9).max(9);
    println!("first pass:");
    println!(
        "{:<width$}  {:>12}  {:>12}  {:>8}  {:>7}  verdict",
        "benchmark", "base", "head", "change", "noise"
    );
    let mut flagged = Vec::new();
    for (id, m) in results {
        let Some(c) = stats::compare(&m.base, &m.head, threshold) else {
            println!("{id:<width$}  (no usable samples)");
            continue;
        };
        let verdict = match c.verdict {
            Verdict::Regression => {
                flagged.push(confirm::Flagged {
                    id: id.clone(),
                    pair: m.pair,
                    first: c,
                });
                "slower? (re-measured below)"
            }
            Verdict::Improvement => "improved",
            Verdict::Unchanged => "~",
        };
        println!(
            "{id:<width$}  {:>12}  {:>12}  {:>+7.1}%  {:>6.1}%  {verdict}",
            stats::format_ns(c.base_ns),
            stats::format_ns(c.head_ns),
            c.change * 100.0,
            c.noise * 100.0,
        );
    }
    flagged.sort_by(|a, b| b.first.change.total_cmp(&a.first.change));
    flagged
}
