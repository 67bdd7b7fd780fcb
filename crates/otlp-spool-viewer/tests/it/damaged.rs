//! Damaged finalized files (a bad disk, a bad copy): every reader path of the viewer turns
//! one into an error naming it or skips it with a warning (the page says so), never a panic.

use std::path::{Path, PathBuf};

use otlp_spool_storage::Signal;
use otlp_spool_viewer::{FileState, Viewer, inspect, list_files, read_batches, row_count};

use crate::fixture::standard;

/// Keeps the schema message of `path` and overwrites the rest with 0xAB, size unchanged (an
/// index entry keyed by path and size still matches): the next message claims ~2.9 GB.
fn garble(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let schema_end = 8 + u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    bytes[schema_end..].fill(0xAB);
    std::fs::write(path, bytes).unwrap();
}

fn truncate(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::write(path, &bytes[..bytes.len() / 2]).unwrap();
}

fn finalized(dir: &Path, signal: Signal) -> Vec<PathBuf> {
    list_files(dir, signal, false)
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect()
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn inspect_names_a_damaged_file_and_reports_the_others() {
    let dir = standard();
    let traces = finalized(dir.path(), Signal::Traces);
    truncate(&traces[0]);
    garble(&finalized(dir.path(), Signal::Logs)[0]);
    let report = inspect(dir.path(), false, &mut |_, _| {}).unwrap();
    let t = &report.signals[0];
    assert_eq!(t.finalized_files, 3);
    assert_eq!(t.unreadable.len(), 1);
    assert_eq!(t.unreadable[0].path, traces[0]);
    let text = report.to_text();
    assert!(
        text.contains(&format!("unreadable: {}", traces[0].display())),
        "{text}"
    );
    assert!(text.contains("truncated Arrow IPC stream"), "{text}");
    assert_eq!(report.signals[2].unreadable.len(), 1, "{text}");
    // The two intact trace files still give their rows and services.
    assert!(t.rows > 0 && !t.services.is_empty(), "{text}");
}

#[test]
fn file_helpers_return_errors_naming_the_file() {
    let dir = standard();
    let traces = list_files(dir.path(), Signal::Traces, false).unwrap();
    truncate(&traces[0].path);
    garble(&traces[1].path);
    for file in &traces[..2] {
        let err = row_count(file).unwrap_err().to_string();
        assert!(err.contains(&name(&file.path)), "{err}");
        let errors: Vec<String> = read_batches(file)
            .unwrap()
            .filter_map(Result::err)
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains(&name(&file.path)), "{}", errors[0]);
    }
    assert_eq!(traces[2].state, FileState::Finalized);
    assert!(row_count(&traces[2]).unwrap() > 0);
}

#[test]
fn pages_skip_a_damaged_file_and_say_so() {
    let dir = standard();
    let viewer = Viewer::new(dir.path());
    // Indexed while intact, damaged afterwards (same size: the index still trusts it).
    viewer.index_all().unwrap();
    let logs = finalized(dir.path(), Signal::Logs);
    garble(&logs[0]);
    for m in finalized(dir.path(), Signal::Metrics) {
        garble(&m);
    }
    for target in [
        "/ui/logs?q=payment",
        "/ui/logs?severity=error",
        "/ui/metrics?name=http.requests",
    ] {
        let page = viewer.respond("GET", target);
        let body = String::from_utf8(page.body).unwrap();
        // Every file holding the metric is damaged: "no points found" (404), not a failure.
        let want = if target.contains("metrics") { 404 } else { 200 };
        assert_eq!(page.status, want, "{target}: {body}");
        assert!(body.contains("damaged files skipped"), "{target}: {body}");
    }
    // A trace whose only file is damaged: not found, not a failure.
    let traces = finalized(dir.path(), Signal::Traces);
    garble(&traces[0]);
    let page = viewer.respond("GET", &format!("/ui/traces/{}", "01".repeat(16)));
    assert_ne!(page.status, 500);
    // A fresh viewer indexes the damaged files without failing any page.
    let fresh = Viewer::new(dir.path());
    for target in ["/ui", "/ui/metrics", "/ui/logs"] {
        assert_eq!(fresh.respond("GET", target).status, 200, "{target}");
    }
}
