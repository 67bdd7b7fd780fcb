//! `inspect` on a spool directory: metadata and stored stats (today) beside the projected scan
//! of every file it did before (the viewer's per-file summary, as `Viewer::index_all` builds
//! it), alternating, three rounds each; then the recent-traces query (`Viewer::traces`, the
//! `/ui` page) cold and warm, for the DataFusion comparison in ARCHITECTURE.md.
//!
//! ```sh
//! cargo run --release -p otlp-spool-viewer --example inspect_time -- /tmp/spool-1g
//! ```
//! Wall time and this process's CPU time (user + system, `/proc/self/stat`); the page cache
//! is warm after the first round (the files were just written or read).

#![allow(clippy::disallowed_methods)] // Measuring wall time is the point of this example.

mod common;

use std::path::Path;

use common::Stopwatch;
use otlp_spool_viewer::{TraceQuery, Viewer, inspect};

/// Runs `f`, printing its wall and CPU milliseconds under `label`.
fn timed<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let watch = Stopwatch::start();
    let out = f();
    let (wall, cpu) = watch.seconds();
    println!(
        "{label}: {:.0} ms wall, {:.0} ms CPU",
        wall * 1e3,
        cpu * 1e3
    );
    out
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: inspect_time DIR");
    let dir = Path::new(&dir);
    for round in 1..=3 {
        let report = timed(
            &format!("round {round} inspect (metadata + stored stats)"),
            || inspect(dir, false, &mut |_, _| {}).expect("inspect"),
        );
        if round == 1 {
            let bytes: u64 = report.signals.iter().map(|s| s.finalized_bytes).sum();
            let rows: u64 = report.signals.iter().map(|s| s.rows).sum();
            let scanned: u64 = report.signals.iter().map(|s| s.scanned_files).sum();
            println!(
                "  {} files, {:.0} MiB, {rows} rows, {scanned} files scanned for lack of stats",
                report.work.files,
                bytes as f64 / 1_048_576.0
            );
        }
        timed(
            &format!("round {round} baseline: projected scan of every file"),
            || Viewer::new(dir).index_all().expect("index"),
        );
    }
    let viewer = Viewer::new(dir);
    for pass in ["cold", "warm", "warm"] {
        let list = timed(&format!("Viewer::traces (recent 50), {pass}"), || {
            viewer.traces(&TraceQuery::default()).expect("traces")
        });
        println!(
            "  {} traces; files read {}, {:.0} MiB",
            list.traces.len(),
            list.work.files_scanned,
            list.work.bytes_scanned as f64 / 1_048_576.0
        );
    }
}
