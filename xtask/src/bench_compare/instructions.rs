//! Instruction counts as a second signal for a confirmed regression, from callgrind.
//!
//! Wall time on a shared 2-core machine moves with everything else running there; the number of
//! instructions one iteration executes does not. For a confirmed regression, when `valgrind` is
//! on `PATH`, both executables run the benchmark once more under
//! `valgrind --tool=callgrind` in criterion's test mode (`--test --exact ID`: exactly one
//! iteration), collecting only inside criterion's timing loops (`Bencher::iter*`, which criterion
//! marks `#[inline(never)]`), so process start-up and the benchmark's own setup are not counted.
//!
//! What it can and cannot say, and so how it is used:
//! - The count is for the thread that runs the timing loop. Work handed to other threads is
//!   invisible to it, so a benchmark whose process started a second thread (callgrind's
//!   `--separate-threads=yes` writes one file per thread) gets no count: "multi-threaded".
//! - It is one cold iteration: first-call costs (a lazy initialisation, a growing allocation)
//!   are in it, on both sides alike.
//! - The same instructions can take longer (cache misses, contention, layout), so the count
//!   never makes a regression and clears one only when it is marginal: exactly equal counts on
//!   both sides and a timing change below twice its allowance (see [`super::confirm`]). A count
//!   that grew by about the slowdown confirms it independently of the machine's load.
//! - It is deterministic: the same executable and benchmark gave the same count run after run
//!   (e.g. `traces/otlp_to_arrow`: 2,582,838 both times).
//!
//! It runs for timing-confirmed regressions only (2-4 s per side), so an A/A run that confirms
//! nothing pays nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use super::measure::BenchCommand;

/// The callgrind toggle: criterion's timing loops (`iter`, `iter_batched`, `iter_custom`, ...).
const TIMING_LOOPS: &str = "criterion::bencher::Bencher*::iter*";

/// Instruction counts of one benchmark iteration, base and head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Instructions {
    /// Instructions executed in one iteration on the benchmark's thread.
    Counted { base: u64, head: u64 },
    /// The process ran more than one thread, so the count would miss work: not counted.
    MultiThreaded,
    /// Callgrind did not give a count (the message says why).
    Failed(String),
}

impl Instructions {
    /// One line for the report.
    pub(crate) fn describe(&self) -> String {
        match self {
            Instructions::Counted { base, head } => {
                let change = if *base > 0 {
                    format!("{:+.1}%", (*head as f64 / *base as f64 - 1.0) * 100.0)
                } else {
                    "n/a".to_string()
                };
                format!(
                    "instructions per iteration (callgrind, 1 iteration): base {base}, head {head} ({change})"
                )
            }
            Instructions::MultiThreaded => {
                "instructions not counted: the benchmark's process runs more than one thread"
                    .to_string()
            }
            Instructions::Failed(why) => format!("instructions not counted: {why}"),
        }
    }
}

/// Runs callgrind, when it is installed.
#[derive(Debug, Clone)]
pub(crate) struct Counter {
    valgrind: PathBuf,
}

impl Counter {
    /// A counter if `valgrind --version` runs, else `None`.
    pub(crate) fn detect() -> Option<Counter> {
        let valgrind = PathBuf::from("valgrind");
        let ok = Command::new(&valgrind)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Counter { valgrind })
    }

    /// Counts benchmark `id` in both executables.
    pub(crate) fn compare(
        &self,
        base: &BenchCommand,
        head: &BenchCommand,
        id: &str,
        scratch: &Path,
    ) -> Option<Instructions> {
        let count = |bench: &BenchCommand, side: &str| {
            self.count(bench, id, &scratch.join(format!("callgrind-{side}")))
        };
        Some(match (count(base, "base"), count(head, "head")) {
            (Ok(Some(base)), Ok(Some(head))) => Instructions::Counted { base, head },
            (Ok(None), _) | (_, Ok(None)) => Instructions::MultiThreaded,
            (Err(err), _) | (_, Err(err)) => Instructions::Failed(format!("{err:#}")),
        })
    }

    /// Instructions of one iteration of `id`, or `None` when the process ran several threads.
    fn count(&self, bench: &BenchCommand, id: &str, dir: &Path) -> Result<Option<u64>> {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::create_dir_all(dir)?;
        let out_file = dir.join("callgrind.out");
        let mut cmd = Command::new(&self.valgrind);
        cmd.arg("--tool=callgrind")
            .arg("--separate-threads=yes")
            .arg("--collect-atstart=no")
            .arg(format!("--toggle-collect={TIMING_LOOPS}"))
            .arg(format!("--callgrind-out-file={}", out_file.display()))
            .arg(&bench.program)
            .args(&bench.args)
            .args(["--bench", "--test", "--exact", id])
            .current_dir(&bench.cwd)
            .env("CRITERION_HOME", dir.join("criterion"));
        eprintln!("bench-compare: counting instructions: {}", bench.label);
        let out = cmd.output().context("could not start valgrind")?;
        if !out.status.success() {
            bail!(
                "valgrind exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            );
        }
        // One output file per thread, `callgrind.out-01`, `callgrind.out-02`, ... (beside an
        // empty `callgrind.out`).
        let mut totals = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let per_thread = name
                .strip_prefix("callgrind.out-")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if per_thread {
                totals.push(read_total(&path)?);
            }
        }
        match totals.as_slice() {
            [] => bail!("callgrind wrote no output"),
            [total] if *total > 0 => Ok(Some(*total)),
            [_] => bail!("no instructions counted inside criterion's timing loop"),
            _ => Ok(None),
        }
    }
}

/// The `summary:` (or `totals:`) line of a callgrind output file: instructions collected.
fn read_total(path: &Path) -> Result<u64> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    for prefix in ["summary:", "totals:"] {
        if let Some(line) = text.lines().find(|l| l.starts_with(prefix)) {
            return line[prefix.len()..]
                .split_whitespace()
                .next()
                .unwrap_or("0")
                .parse()
                .with_context(|| format!("parsing `{line}` in {}", path.display()));
        }
    }
    Ok(0)
}
