//! Where things are: the workspace root, the target dir, the member crates; and a command runner
//! that echoes what it runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The workspace root (the folder holding the virtual manifest).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// `$CARGO_TARGET_DIR` if set (CI points it at a cache outside the clone), else `<root>/target`.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root().join(dir)
            }
        }
        _ => root().join("target"),
    }
}

/// Member crates under `<tree>/crates/` that have `rel` (a file or folder) inside them.
pub(crate) fn crates_with(tree: &Path, rel: &str) -> Result<Vec<String>> {
    let crates = tree.join("crates");
    let mut names = Vec::new();
    if !crates.is_dir() {
        return Ok(names);
    }
    for entry in
        std::fs::read_dir(&crates).with_context(|| format!("reading {}", crates.display()))?
    {
        let entry = entry?;
        if entry.path().join(rel).exists() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// The root `benches/` folder's package: the service's end-to-end benchmarks.
pub(crate) const E2E_BENCH_PACKAGE: &str = "otlp-spool-benches";

/// Packages with criterion benches in `tree`: every `crates/*` with a `benches/` folder, plus
/// the root `benches/` package when it has `benches/benches/`.
pub(crate) fn bench_packages(tree: &Path) -> Result<Vec<String>> {
    let mut names = crates_with(tree, "benches")?;
    if tree.join("benches").join("benches").is_dir() {
        names.push(E2E_BENCH_PACKAGE.to_owned());
    }
    Ok(names)
}

/// Runs `cmd`, echoing it first; fails with the command line if it exits non-zero.
pub(crate) fn run_checked(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {}", display(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("could not start {}", display(cmd)))?;
    if !status.success() {
        bail!("`{}` failed with {status}", display(cmd));
    }
    Ok(())
}

/// Runs `cmd` and returns its standard output; fails with stderr included if it exits non-zero.
pub(crate) fn output_checked(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("could not start {}", display(cmd)))?;
    if !out.status.success() {
        bail!(
            "`{}` failed with {}: {}",
            display(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// The command line of `cmd` for logs.
pub(crate) fn display(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// The cargo that runs us (`$CARGO`, set by `cargo xtask`), else `cargo` from `PATH`.
pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}
