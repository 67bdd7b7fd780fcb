//! Page times of the viewer on a spool directory, cold (empty index) then warm, with the work
//! each page did; also `inspect`. Prints a Markdown table for the crate README.
//!
//! ```sh
//! cargo run --release -p otlp-spool-viewer --example measure -- /tmp/spool-1g <trace id> [<trace id>]
//! ```
//! Wall time and this process's CPU time (user + system, from `/proc/self/stat`) per request;
//! the machine is shared, so CPU time is the steadier figure.

#![allow(clippy::disallowed_methods)] // Measuring wall time is the point of this example.

mod common;

use common::Stopwatch;
use otlp_spool_viewer::Viewer;

fn footer(html: &str) -> String {
    html.split_once("<footer><p>")
        .and_then(|(_, rest)| rest.split_once("</p>"))
        .map_or(String::new(), |(f, _)| {
            f.replace(" Answered in", "; answered in")
        })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: measure DIR TRACE_ID...");
    let ids: Vec<String> = args.collect();
    let watch = Stopwatch::start();
    let report = otlp_spool_viewer::inspect(std::path::Path::new(&dir), false, &mut |_, _| {})
        .expect("inspect");
    let (wall, cpu) = watch.seconds();
    let bytes: u64 = report.signals.iter().map(|s| s.finalized_bytes).sum();
    let rows: u64 = report.signals.iter().map(|s| s.rows).sum();
    println!(
        "inspect: {} files, {:.0} MiB, {rows} rows: {:.2} s wall, {:.2} s CPU",
        report.work.files,
        bytes as f64 / 1_048_576.0,
        wall,
        cpu
    );

    let viewer = Viewer::new(&dir);
    let mut targets = vec![
        "/ui".to_owned(),
        "/ui?service=payments&min_duration=40ms".to_owned(),
        "/ui/metrics".to_owned(),
        "/ui/metrics?name=http.server.requests".to_owned(),
        "/ui/logs".to_owned(),
        "/ui/logs?severity=error&q=POST%20%2Fcheckout".to_owned(),
        "/ui/logs?q=no-such-text".to_owned(),
    ];
    targets.extend(ids.iter().map(|id| format!("/ui/traces/{id}")));
    println!("\n| page | pass | status | wall ms | CPU ms | work |\n|---|---|---|---|---|---|");
    for pass in ["cold", "warm"] {
        for t in &targets {
            let watch = Stopwatch::start();
            let r = viewer.respond("GET", t);
            let (wall, cpu) = watch.seconds();
            let (ms, cpu) = (wall * 1e3, cpu * 1e3);
            let html = String::from_utf8_lossy(&r.body);
            println!(
                "| `{t}` | {pass} | {} | {ms:.0} | {cpu:.0} | {} |",
                r.status,
                footer(&html)
            );
        }
    }
    let (files, summary_bytes, agg_bytes) = viewer.index_stats();
    println!(
        "\nindex: {files} file summaries, {:.1} MiB; trace aggregates cached: {:.1} MiB",
        summary_bytes as f64 / 1_048_576.0,
        agg_bytes as f64 / 1_048_576.0
    );
}
