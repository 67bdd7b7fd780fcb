//! Running one benchmark executable and reading what criterion wrote.
//!
//! Each run gets a fresh `CRITERION_HOME`, so criterion never compares against an older run of
//! its own and the results of base and head can never mix. Criterion leaves one
//! `<id>/new/benchmark.json` (holding `full_id`) and `<id>/new/estimates.json` (holding the
//! median with its confidence interval) per benchmark.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::stats::Sample;
use crate::workspace;

/// A runnable benchmark: the program and the arguments before criterion's own flags.
#[derive(Debug, Clone)]
pub(crate) struct BenchCommand {
    /// Short label for reports, e.g. `otlp-spool-breaker/breaker`.
    pub(crate) label: String,
    /// The executable.
    pub(crate) program: PathBuf,
    /// Arguments placed before the criterion flags.
    pub(crate) args: Vec<String>,
    /// Working directory (cargo runs benches from their package root).
    pub(crate) cwd: PathBuf,
}

/// How long criterion warms up and measures each benchmark.
#[derive(Debug, Clone)]
pub(crate) struct Timing {
    pub(crate) warm_up_secs: f64,
    pub(crate) measurement_secs: f64,
    /// Criterion's `--sample-size` (at least 10) and `--nresamples` for the bootstrap.
    pub(crate) sample_size: Option<u32>,
    pub(crate) nresamples: Option<u32>,
    pub(crate) filter: Option<Filter>,
}

/// Which benchmarks of an executable to run.
#[derive(Debug, Clone)]
pub(crate) enum Filter {
    /// Every benchmark whose id contains this text (`--filter`).
    Substring(String),
    /// Exactly the benchmark with this id: criterion's `--exact` (criterion 0.8, the
    /// workspace's version, has it).
    Exact(String),
}

/// Runs `bench` once with `home` as `CRITERION_HOME` and returns its samples by benchmark id.
pub(crate) fn run_once(
    bench: &BenchCommand,
    timing: &Timing,
    home: &Path,
) -> Result<BTreeMap<String, Sample>> {
    if home.exists() {
        std::fs::remove_dir_all(home).with_context(|| format!("clearing {}", home.display()))?;
    }
    std::fs::create_dir_all(home)?;
    let mut cmd = Command::new(&bench.program);
    cmd.args(&bench.args)
        .arg("--bench")
        .arg("--warm-up-time")
        .arg(timing.warm_up_secs.to_string())
        .arg("--measurement-time")
        .arg(timing.measurement_secs.to_string())
        .arg("--noplot");
    if let Some(n) = timing.sample_size {
        cmd.arg("--sample-size").arg(n.to_string());
    }
    if let Some(n) = timing.nresamples {
        cmd.arg("--nresamples").arg(n.to_string());
    }
    match &timing.filter {
        Some(Filter::Substring(text)) => {
            cmd.arg(regex_escape(text));
        }
        Some(Filter::Exact(id)) => {
            cmd.arg("--exact").arg(id);
        }
        None => {}
    }
    cmd.current_dir(&bench.cwd).env("CRITERION_HOME", home);
    settle();
    let out = cmd
        .output()
        .with_context(|| format!("could not start {}", workspace::display(&cmd)))?;
    if !out.status.success() {
        bail!(
            "`{}` failed with {}:\n{}",
            workspace::display(&cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    read_results(home)
}

/// Flushes dirty pages (`sync`) before a measurement starts. A benchmark that writes files (the
/// storage `write` bench writes and fsyncs Arrow files; the build writes executables) leaves
/// writeback behind that would otherwise land in the next process's measurement, and with a
/// fixed order of executables that is always the same side. Before this and the alternation by
/// executable (see `measure_rounds`), a head with a real +20% slowdown measured 16% faster than
/// its base in the first pass; which of the two mattered more was not isolated. Failing to sync
/// only costs accuracy, so errors are ignored.
fn settle() {
    let _ = Command::new("sync").status();
}

/// Reads every `*/new/{benchmark,estimates}.json` pair under `home`.
pub(crate) fn read_results(home: &Path) -> Result<BTreeMap<String, Sample>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![home.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|n| n == "new") {
                if let Some((id, sample)) = read_pair(&path)? {
                    found.insert(id, sample);
                }
            } else {
                stack.push(path);
            }
        }
    }
    Ok(found)
}

fn read_pair(new_dir: &Path) -> Result<Option<(String, Sample)>> {
    let bench = new_dir.join("benchmark.json");
    let estimates = new_dir.join("estimates.json");
    if !bench.exists() || !estimates.exists() {
        return Ok(None);
    }
    let bench: Value = read_json(&bench)?;
    let estimates: Value = read_json(&estimates)?;
    let id = bench["full_id"]
        .as_str()
        .context("benchmark.json has no full_id")?
        .to_string();
    let median = &estimates["median"];
    let ns = median["point_estimate"]
        .as_f64()
        .context("estimates.json has no median.point_estimate")?;
    let lower = median["confidence_interval"]["lower_bound"]
        .as_f64()
        .unwrap_or(ns);
    let upper = median["confidence_interval"]["upper_bound"]
        .as_f64()
        .unwrap_or(ns);
    let rel_ci = if ns > 0.0 {
        (upper - lower) / 2.0 / ns
    } else {
        0.0
    };
    Ok(Some((id, Sample { ns, rel_ci })))
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Criterion filters are regular expressions; ours are plain substrings.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
