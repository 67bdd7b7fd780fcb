//! Building the benchmark executables of one tree, without running them.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::measure::BenchCommand;
use crate::workspace;

/// Builds the criterion benches of `crates` in `tree` and returns one command per bench target.
///
/// Both trees share one target dir: registry dependencies are identical and build once, while the
/// workspace members differ by path and so get distinct artifacts.
pub(crate) fn build_benches(tree: &Path, crates: &[String]) -> Result<Vec<BenchCommand>> {
    let mut cmd = Command::new(workspace::cargo());
    cmd.current_dir(tree)
        .args([
            "bench",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .env("CARGO_TARGET_DIR", workspace::target_dir())
        .stderr(Stdio::inherit());
    for krate in crates {
        cmd.args(["-p", krate]);
    }
    eprintln!("$ (in {}) {}", tree.display(), workspace::display(&cmd));
    let stdout = workspace::output_checked(&mut cmd)?;
    let mut benches = Vec::new();
    for line in stdout.lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let is_bench = msg["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "bench"));
        let Some(exe) = msg["executable"].as_str() else {
            continue;
        };
        if !is_bench {
            continue;
        }
        let manifest = msg["manifest_path"]
            .as_str()
            .context("artifact without manifest_path")?;
        let package_dir = Path::new(manifest)
            .parent()
            .context("manifest without folder")?;
        let krate = package_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let target = msg["target"]["name"].as_str().unwrap_or("?");
        benches.push(BenchCommand {
            label: format!("{krate}/{target}"),
            program: exe.into(),
            args: Vec::new(),
            cwd: package_dir.to_path_buf(),
        });
    }
    if benches.is_empty() {
        bail!("no bench targets were built in {}", tree.display());
    }
    benches.sort_by(|a, b| a.label.cmp(&b.label));
    Ok(benches)
}
