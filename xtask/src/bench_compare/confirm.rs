//! The confirmation phase: every benchmark the first pass flags is measured again, on its own,
//! before anything is called a regression.
//!
//! The first pass runs every benchmark of an executable in one process with short windows, so a
//! burst of load from another process, or a multi-threaded benchmark that lands badly on two
//! shared cores, can make one side look slow in all of its few rounds. Re-measuring differs in
//! three ways:
//! - only the flagged benchmark runs (criterion's `--exact` on its full id), with a longer
//!   window and more samples;
//! - each round runs base, head, base again: the head sits between two runs of the base, which
//!   cancels a linear drift, and the two base runs are an A/A control whose difference is the
//!   noise this benchmark shows right now with identical code on both sides;
//! - the verdict is [`stats::confirm`]: a slowdown beyond `max(threshold, noise, A/A spread)`
//!   in the re-measured rounds alone (the first pass's figures are shown, not reused), with the
//!   head runs outranking the base runs (exact rank-sum probability at most 2%).
//!
//! Instruction counts ([`instructions`]) then act as a second signal, in one direction only: a
//! timing-confirmed slowdown of a single-threaded benchmark whose base and head executed exactly
//! the same number of instructions, and whose change is less than twice its allowance, is
//! reported as "timing only" and does not count. Identical instruction counts mean the code that
//! ran did not change; a marginal slowdown then comes from where memory landed in that process.
//! (An A/A run of two builds of the same source, before the rank test existed, confirmed
//! +15.5% on the 10 ns `push_uncontended/crossbeam_array_queue` against a 15.1% allowance, with
//! 241,834 instructions on both sides.) A slowdown beyond twice the allowance counts whatever
//! the instructions say.
//!
//! Benchmarks are confirmed largest first-pass slowdown first; once [`CONFIRM_LIMIT`] are
//! confirmed the outcome (exit 3) is settled and the rest are listed as not re-measured, so a
//! change that slows everything down does not re-measure the whole workspace.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use super::Options;
use super::instructions::{self, Instructions};
use super::measure::{self, BenchCommand};
use super::stats::{self, Comparison, Confirmation, Sample, Verdict};

/// Confirmed regressions after which the rest of the flagged benchmarks are not re-measured.
pub(crate) const CONFIRM_LIMIT: usize = 3;

/// A benchmark the first pass flagged as slower.
#[derive(Debug, Clone)]
pub(crate) struct Flagged {
    /// Criterion's full id.
    pub(crate) id: String,
    /// Index into the executable pairs.
    pub(crate) pair: usize,
    /// The first-pass comparison that flagged it.
    pub(crate) first: Comparison,
}

/// What re-measuring a flagged benchmark concluded.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// Still slower beyond the allowance: a regression. Instruction counts when measurable.
    Confirmed(Confirmation, Option<Instructions>),
    /// Within the allowance (or faster) when measured again: first-pass noise.
    Cleared(Confirmation),
    /// Slower by timing, but less than twice the allowance, and base and head executed exactly
    /// the same instructions: not counted (see the module doc).
    TimingOnly(Confirmation, Instructions),
    /// The re-run produced no usable estimate for this id; it counts as a regression, since
    /// nothing contradicts the first pass.
    NoSamples,
    /// Not re-measured: enough regressions were confirmed already.
    Skipped,
}

impl Outcome {
    fn is_regression(&self) -> bool {
        !matches!(self, Outcome::Cleared(_) | Outcome::TimingOnly(..))
    }
}

/// Re-measures every flagged benchmark (see the module doc).
pub(crate) fn confirm_all(
    flagged: &[Flagged],
    pairs: &[(BenchCommand, BenchCommand)],
    opts: &Options,
    scratch: &Path,
) -> Result<Vec<(Flagged, Outcome)>> {
    let rounds = opts.confirm_rounds();
    let threshold = opts.threshold_pct / 100.0;
    // `--compare-commands` (xtask's own tests) runs arbitrary programs, not criterion
    // executables: nothing for callgrind to find.
    let counter = if opts.commands.is_some() {
        None
    } else {
        instructions::Counter::detect()
    };
    let mut confirmed = 0;
    let mut outcomes = Vec::new();
    for (i, f) in flagged.iter().enumerate() {
        if confirmed >= CONFIRM_LIMIT {
            outcomes.push((f.clone(), Outcome::Skipped));
            continue;
        }
        let (base, head) = &pairs[f.pair];
        let timing = opts.confirm_timing(&f.id);
        let mut sides: [Vec<Sample>; 3] = Default::default();
        for round in 0..rounds {
            eprintln!(
                "bench-compare: confirming {}/{} {} (round {}/{rounds}: base, head, base again)",
                i + 1,
                flagged.len(),
                f.id,
                round + 1
            );
            let mut round_samples = [None; 3];
            for (slot, (name, bench)) in [("base", base), ("head", head), ("base-again", base)]
                .into_iter()
                .enumerate()
            {
                let home = scratch.join(format!("criterion-confirm-{name}"));
                round_samples[slot] = measure::run_once(bench, &timing, &home)?
                    .get(&f.id)
                    .copied();
            }
            // Keep the three sides paired: a round counts only when all three measured the id.
            if let [Some(b), Some(h), Some(c)] = round_samples {
                sides[0].push(b);
                sides[1].push(h);
                sides[2].push(c);
            }
        }
        let [b, h, c] = &sides;
        let outcome = match stats::confirm(b, h, c, threshold) {
            Some(c) if c.comparison.verdict == Verdict::Regression => {
                let counts = match &counter {
                    Some(counter) => counter.compare(base, head, &f.id, scratch),
                    None => None,
                };
                match counts {
                    Some(counts @ Instructions::Counted { base, head })
                        if base == head && c.comparison.change < 2.0 * c.allowance =>
                    {
                        Outcome::TimingOnly(c, counts)
                    }
                    counts => {
                        confirmed += 1;
                        Outcome::Confirmed(c, counts)
                    }
                }
            }
            Some(c) => Outcome::Cleared(c),
            None => Outcome::NoSamples,
        };
        outcomes.push((f.clone(), outcome));
    }
    if counter.is_none() && opts.commands.is_none() {
        eprintln!("bench-compare: valgrind not on PATH: no instruction counts");
    }
    Ok(outcomes)
}

/// Prints the confirmation table and returns how many benchmarks count as regressions.
pub(crate) fn report(outcomes: &[(Flagged, Outcome)], threshold: f64) -> usize {
    let width = outcomes
        .iter()
        .map(|(f, _)| f.id.len())
        .max()
        .unwrap_or(9)
        .max(9);
    println!();
    println!(
        "confirmation (each flagged benchmark alone; per round: base, head, base again; \
         regression = slower than max({:.0}%, noise, A/A) with rank p <= {}):",
        threshold * 100.0,
        stats::RANK_ALPHA
    );
    println!(
        "{:<width$}  {:>8}  {:>12}  {:>12}  {:>8}  {:>7}  {:>7}  {:>6}  verdict",
        "benchmark", "1st pass", "base", "head", "change", "noise", "A/A", "rank p"
    );
    let mut regressions = 0;
    let mut notes = BTreeMap::new();
    for (f, outcome) in outcomes {
        if outcome.is_regression() {
            regressions += 1;
        }
        let first = format!("{:+.1}%", f.first.change * 100.0);
        match outcome {
            Outcome::Confirmed(c, _) | Outcome::Cleared(c) | Outcome::TimingOnly(c, _) => {
                let verdict = match outcome {
                    Outcome::Confirmed(..) => "REGRESSION",
                    Outcome::TimingOnly(..) => "timing only (same instructions)",
                    _ => "not confirmed",
                };
                let cmp = &c.comparison;
                println!(
                    "{:<width$}  {first:>8}  {:>12}  {:>12}  {:>+7.1}%  {:>6.1}%  {:>6.1}%  {:>6.3}  {verdict}",
                    f.id,
                    stats::format_ns(cmp.base_ns),
                    stats::format_ns(cmp.head_ns),
                    cmp.change * 100.0,
                    cmp.noise * 100.0,
                    c.control_noise * 100.0,
                    c.rank_p,
                );
                match outcome {
                    Outcome::Confirmed(_, Some(counts)) | Outcome::TimingOnly(_, counts) => {
                        notes.insert(f.id.clone(), counts.describe());
                    }
                    _ => {}
                }
            }
            Outcome::NoSamples => println!(
                "{:<width$}  {first:>8}  (no estimate when re-run alone)  REGRESSION",
                f.id
            ),
            Outcome::Skipped => println!(
                "{:<width$}  {first:>8}  (not re-measured: {CONFIRM_LIMIT} regressions confirmed already)  REGRESSION",
                f.id
            ),
        }
    }
    for (id, note) in notes {
        println!("  {id}: {note}");
    }
    regressions
}
