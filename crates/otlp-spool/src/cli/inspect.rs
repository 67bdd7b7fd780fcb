//! `otlp-spool inspect DIR [--json]`: what a spool directory holds (see
//! `otlp_spool_viewer::inspect_with`): file metadata and stored stats, no column scans
//! beyond `--scan-budget`. Read-only and lock-free: safe on a directory a running
//! instance owns. A progress bar goes to stderr when it is a terminal.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug, clap::Args)]
pub(super) struct InspectArgs {
    /// The output directory (the folder holding traces/, metrics/, logs/).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Print JSON (with one entry per file) instead of text.
    #[arg(long)]
    json: bool,
    /// MiB of files without stored stats (older or recovered files) that may be scanned for
    /// their time range, services and metrics; the others are only counted.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    scan_budget: u64,
}

/// A bar on stderr when it is a terminal, hidden otherwise.
pub(super) fn progress_bar(len: u64, template: &str) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

pub(super) fn run(args: InspectArgs) -> ExitCode {
    let bar = progress_bar(0, "{msg} [{bar:30}] {pos}/{len} files, ETA {eta}");
    bar.set_message("reading");
    let opts = otlp_spool_viewer::InspectOptions::default()
        .with_files(args.json)
        .scan_budget(args.scan_budget.saturating_mul(1 << 20));
    let report = otlp_spool_viewer::inspect_with(&args.dir, &opts, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    match report {
        Ok(report) if args.json => {
            println!("{}", report.to_json());
            ExitCode::SUCCESS
        }
        Ok(report) => {
            print!("{}", report.to_text());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("otlp-spool inspect: {e}");
            ExitCode::FAILURE
        }
    }
}
