//! `cargo xtask load [LOADGEN FLAGS]`: builds the `otlp-spool` binary and the `loadgen` load
//! generator in release, then runs `loadgen --spawn-server <otlp-spool>` with the given flags
//! (see `benches/README.md`; e.g. `--protocol grpc --connections 4 --server-cpu 0 --client-cpu 1
//! --duration 15`). Everything it starts stops by itself.

use std::process::{Command, ExitCode};

use anyhow::Result;

use crate::workspace;

pub(crate) fn run(args: &[String]) -> Result<ExitCode> {
    let root = workspace::root();
    workspace::run_checked(Command::new(workspace::cargo()).current_dir(&root).args([
        "build",
        "--release",
        "-p",
        "otlp-spool",
        "-p",
        "otlp-spool-benches",
        "--bins",
    ]))?;
    let release = workspace::target_dir().join("release");
    let mut cmd = Command::new(release.join("loadgen"));
    cmd.current_dir(&root)
        .arg("--spawn-server")
        .arg(release.join("otlp-spool"))
        .args(args);
    eprintln!("$ {}", workspace::display(&cmd));
    let status = cmd.status()?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
