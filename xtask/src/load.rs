//! `cargo xtask load [LOADGEN FLAGS]`: builds the `otlp-spool` binary and the `loadgen` load
//! generator in release, then runs `loadgen --spawn-server <otlp-spool>` with the given flags
//! (see `benches/README.md`; e.g. `--protocol grpc --connections 4 --server-cpu 0 --client-cpu 1
//! --duration 15`). With `--server-cmd CMD` among the flags it runs the same load against that
//! command instead (e.g. Rotel: `--server-cmd 'rotel-agent start --exporter blackhole
//! --otlp-grpc-endpoint 127.0.0.1:{grpc_port} --otlp-http-endpoint 127.0.0.1:{http_port}'`),
//! pinned and measured the same way; `otlp-spool` is not spawned then. Everything it starts
//! stops by itself.

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
    cmd.current_dir(&root);
    if !foreign(args) {
        cmd.arg("--spawn-server").arg(release.join("otlp-spool"));
    }
    cmd.args(args);
    eprintln!("$ {}", workspace::display(&cmd));
    let status = cmd.status()?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Whether the flags ask for a foreign server (`--server-cmd CMD` or `--server-cmd=CMD`).
fn foreign(args: &[String]) -> bool {
    args.iter()
        .any(|a| a == "--server-cmd" || a.starts_with("--server-cmd="))
}

#[cfg(test)]
mod tests {
    use super::foreign;

    #[test]
    fn a_server_command_replaces_the_spawned_otlp_spool() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(!foreign(&args(&["--protocol", "grpc", "--duration", "15"])));
        assert!(foreign(&args(&["--server-cmd", "rotel-agent start"])));
        assert!(foreign(&args(&["--server-cmd=rotel-agent start"])));
        assert!(!foreign(&args(&["--server-cmdx"])));
    }
}
