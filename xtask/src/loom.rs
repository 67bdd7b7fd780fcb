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
    // Models either in an integration test (`tests/loom.rs`, public API only) or inside the
    // crate (`src/loom_models.rs`, a `#[cfg(all(test, otlp_spool_loom))]` module that may use
    // private items, as tokio keeps its loom tests).
    let with_test = workspace::crates_with(&root, "tests/loom.rs")?;
    let with_lib = workspace::crates_with(&root, "src/loom_models.rs")?;
    let has_models = |p: &String| with_test.contains(p) || with_lib.contains(p);
    let selected: Vec<String> = if packages.is_empty() {
        let mut all: Vec<String> = with_test.iter().chain(&with_lib).cloned().collect();
        all.sort();
        all.dedup();
        all
    } else {
        for p in packages {
            if !has_models(p) {
                bail!(
                    "crate `{p}` has no loom models (crates/{p}/tests/loom.rs or src/loom_models.rs)"
                );
            }
        }
        packages.to_vec()
    };
    if selected.is_empty() {
        bail!("no crate has loom models (crates/*/tests/loom.rs or src/loom_models.rs)");
    }
    let preemptions = std::env::var("LOOM_MAX_PREEMPTIONS")
        .unwrap_or_else(|_| DEFAULT_MAX_PREEMPTIONS.to_string());
    let target = workspace::target_dir().join("loom");
    // `cargo test --profile loom <targets> -p CRATE... <test args>`
    let loom_cargo = |targets: &[&str], crates: &[&String], test_args: &[&str]| -> Result<()> {
        let mut cmd = Command::new(workspace::cargo());
        cmd.current_dir(&root)
            .args(["test", "--profile", "loom"])
            .args(targets)
            .env("RUSTFLAGS", "--cfg otlp_spool_loom")
            .env("LOOM_MAX_PREEMPTIONS", &preemptions)
            .env("CARGO_TARGET_DIR", &target);
        for krate in crates {
            cmd.args(["-p", krate]);
        }
        cmd.args(test_args);
        workspace::run_checked(&mut cmd)
    };
    let tests: Vec<&String> = selected.iter().filter(|p| with_test.contains(p)).collect();
    if !tests.is_empty() {
        loom_cargo(&["--test", "loom"], &tests, &[])?;
    }
    let libs: Vec<&String> = selected.iter().filter(|p| with_lib.contains(p)).collect();
    if !libs.is_empty() {
        // Only the models: the crate's other unit tests are not written for loom.
        loom_cargo(&["--lib"], &libs, &["--", "loom_models::"])?;
    }
    eprintln!(
        "loom: models passed for {} (LOOM_MAX_PREEMPTIONS={preemptions})",
        selected.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
