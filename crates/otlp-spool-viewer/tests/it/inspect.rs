//! `inspect` on a directory with a crash leftover (a torn temporary file), a file recovery
//! will quarantine, then the same directory after a real recovery by `FileStore::open`.

use std::path::Path;

use arrow_ipc::writer::StreamWriter;
use otlp_spool_storage::traces_to_arrow;
use otlp_spool_viewer::{Owner, inspect};

use crate::fixture::{standard, store, trace, traces};

/// A temporary traces file as a crash leaves it: two complete batches (3 spans), then half a
/// message.
fn torn_temp(dir: &Path) -> std::path::PathBuf {
    let batches = [
        traces_to_arrow(&traces(vec![trace(7, "checkout", "GET /crash", 1, false)])).unwrap(),
        traces_to_arrow(&traces(vec![trace(8, "crashy", "GET /late", 0, false)])).unwrap(),
        traces_to_arrow(&traces(vec![trace(9, "crashy", "GET /torn", 3, false)])).unwrap(),
    ];
    let mut w = StreamWriter::try_new(Vec::new(), &batches[0].schema()).unwrap();
    w.write(&batches[0]).unwrap();
    w.write(&batches[1]).unwrap();
    let complete = w.get_ref().len();
    w.write(&batches[2]).unwrap();
    let mut bytes = w.into_inner().unwrap();
    bytes.truncate(complete + 40);
    let path = dir.join("traces/.traces-20991231T000000Z-000009.arrow.tmp");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn reports_temporaries_then_recovered_and_quarantined_files() {
    let dir = standard();
    torn_temp(dir.path());
    std::fs::write(
        dir.path()
            .join("logs/.logs-20991231T000000Z-000009.arrow.tmp"),
        b"\xff\xff\xff\xff\x10\x00\x00\x00garbage, not a flatbuffer message",
    )
    .unwrap();

    let mut calls = Vec::new();
    let before = inspect(dir.path(), true, &mut |done, total| {
        calls.push((done, total))
    })
    .unwrap();
    assert_eq!(calls.last(), Some(&(8, 8)), "progress per file");
    let traces_report = &before.signals[0];
    assert_eq!((traces_report.finalized_files, traces_report.rows), (3, 17));
    assert_eq!(traces_report.services, ["checkout", "users"]);
    assert_eq!(traces_report.active.len(), 1);
    let temp = &traces_report.active[0].summary;
    assert_eq!(
        (temp.rows, temp.torn),
        (3, true),
        "two complete batches kept, torn tail noted"
    );
    let logs_report = &before.signals[2];
    assert_eq!(logs_report.active[0].summary.rows, 0);
    let text = before.to_text();
    assert!(text.contains("traces: 3 files, 17 rows"), "{text}");
    assert!(text.contains("3 complete rows, torn tail"), "{text}");
    assert!(
        text.contains("metric http.requests (sum) [1]: 10 points"),
        "{text}"
    );
    assert!(
        text.contains("time: 2025-12-03T00:00:01.000Z .. "),
        "{text}"
    );

    // A real start-up recovery: the complete prefix is published, the garbage quarantined.
    let recovered = store(dir.path());
    let report = recovered.recovery_report().clone();
    assert_eq!(report.recovered_rows, 3);
    assert_eq!(report.quarantined.len(), 1);
    recovered.close().unwrap();

    let after = inspect(dir.path(), false, &mut |_, _| {}).unwrap();
    assert_eq!(
        after.owner,
        Owner::Running {
            pid: std::process::id()
        }
    );
    let t = &after.signals[0];
    assert_eq!((t.finalized_files, t.rows, t.active.len()), (4, 20, 0));
    assert_eq!(t.services, ["checkout", "crashy", "users"]);
    let l = &after.signals[2];
    assert!(l.active.is_empty());
    assert_eq!(l.quarantined.len(), 1);
    assert!(after.to_text().contains("quarantined: "));
    let json: serde_json::Value = serde_json::from_str(&after.to_json()).unwrap();
    assert_eq!(json["signals"][0]["rows"], 20);
    assert_eq!(json["signals"][2]["quarantined"][0]["bytes"], 41);
    assert_eq!(json["owner"]["state"], "running");
}

#[test]
fn a_missing_directory_is_an_error() {
    let err = inspect(Path::new("/nonexistent/spool"), false, &mut |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/spool"), "{err}");
}
