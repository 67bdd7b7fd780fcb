//! Building the benchmark executables of one tree, without running them.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::measure::BenchCommand;
use crate::workspace;

/// Builds the criterion benches of `crates` in `tree`, copies the executables into `stash` and
/// returns one command per bench target, running the copy.
///
/// Both trees share one target dir, so registry dependencies build once. But cargo identifies a
/// workspace member by its path relative to the workspace root, so the base's and the head's
/// `otlp-spool-storage` are one unit to it, with one set of artifacts and one fingerprint:
/// - building the base overwrites the head's `convert-<hash>` executable, hence the copy, taken
///   right after each build;
/// - worse, that fingerprint lists the *other* tree's source files, so when they have not changed
///   cargo calls this tree's member fresh and hands back the other tree's executable (measured:
///   a head with an injected slowdown ran the base's code). Hence the workspace members'
///   release artifacts are cleaned (`cargo clean --release -p MEMBER...`, registry dependencies
///   untouched) before each build, which rebuilds only the members.
pub(crate) fn build_benches(
    tree: &Path,
    crates: &[String],
    stash: &Path,
) -> Result<Vec<BenchCommand>> {
    clean_members(tree)?;
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
    if stash.exists() {
        std::fs::remove_dir_all(stash).with_context(|| format!("clearing {}", stash.display()))?;
    }
    std::fs::create_dir_all(stash)?;
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
        let copy = stash.join(format!("{krate}--{target}"));
        std::fs::copy(exe, &copy)
            .with_context(|| format!("copying {exe} to {}", copy.display()))?;
        benches.push(BenchCommand {
            label: format!("{krate}/{target}"),
            program: copy,
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

/// Removes the release artifacts of every workspace member of `tree` (except xtask) from the
/// shared target dir; see [`build_benches`] for why.
fn clean_members(tree: &Path) -> Result<()> {
    let metadata = workspace::output_checked(
        Command::new(workspace::cargo())
            .current_dir(tree)
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .env("CARGO_TARGET_DIR", workspace::target_dir()),
    )?;
    let metadata: Value = serde_json::from_str(&metadata).context("parsing cargo metadata")?;
    let mut cmd = Command::new(workspace::cargo());
    cmd.current_dir(tree)
        .args(["clean", "--quiet", "--release"])
        .env("CARGO_TARGET_DIR", workspace::target_dir());
    let mut any = false;
    for package in metadata["packages"].as_array().into_iter().flatten() {
        if let Some(name) = package["name"].as_str()
            && name != "xtask"
        {
            cmd.args(["-p", name]);
            any = true;
        }
    }
    if any {
        workspace::run_checked(&mut cmd)?;
    }
    Ok(())
}
