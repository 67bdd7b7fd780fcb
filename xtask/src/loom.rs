//! `cargo xtask loom`: every crate's loom models, under the project's own cfg.
//!
//! The cfg is `otlp_spool_loom`, never a bare `loom`: tokio and other dependencies switch on
//! `cfg(loom)` and stop compiling. The models build in release into `<target>/loom`, so the
//! changed RUSTFLAGS never invalidate the normal build.

use std::process::{Command, ExitCode};

use anyhow::{Result, bail};

use crate::workspace;

/// Default preemption bound: 3 explores the interleavings our small models need in seconds.
const DEFAULT_MAX_PREEMPTIONS: &str = "3";

pub(crate) fn run(packages: &[String]) -> Result<ExitCode> {
    let root = workspace::root();
    let with_models = workspace::crates_with(&root, "tests/loom.rs")?;
    let selected: Vec<String> = if packages.is_empty() {
        with_models
    } else {
        for p in packages {
            if !with_models.contains(p) {
                bail!("crate `{p}` has no loom models (crates/{p}/tests/loom.rs)");
            }
        }
        packages.to_vec()
    };
    if selected.is_empty() {
        bail!("no crate has loom models (crates/*/tests/loom.rs)");
    }
    let preemptions = std::env::var("LOOM_MAX_PREEMPTIONS")
        .unwrap_or_else(|_| DEFAULT_MAX_PREEMPTIONS.to_string());
    let target = workspace::target_dir().join("loom");
    let mut cmd = Command::new(workspace::cargo());
    cmd.current_dir(&root)
        .args(["test", "--profile", "loom", "--test", "loom"])
        .env("RUSTFLAGS", "--cfg otlp_spool_loom")
        .env("LOOM_MAX_PREEMPTIONS", &preemptions)
        .env("CARGO_TARGET_DIR", &target);
    for krate in &selected {
        cmd.args(["-p", krate]);
    }
    workspace::run_checked(&mut cmd)?;
    eprintln!(
        "loom: models passed for {} (LOOM_MAX_PREEMPTIONS={preemptions})",
        selected.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
