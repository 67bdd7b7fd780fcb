//! `Finalization::Caller`: the store never rotates by itself, runs the finalize hook between
//! "temporary file complete and synced" and "rename", retries a failed finalization hook first
//! and writes nothing past it, leaves leftover temporary files to the caller at start-up, and
//! finishes (or removes) them on request; Parquet included.

use std::path::Path;
use std::sync::{Arc, Mutex};

use otlp_spool_storage::{
    FileStore, Finalization, FinalizeHook, FinalizeInfo, Format, FsyncPolicy, Signal, TempOutcome,
};

use crate::files_util::{batch, clock, ids, names, options};

fn open_caller(dir: &Path, format: Format) -> FileStore {
    let clock = clock();
    let opts = options(dir, &clock)
        .format(format)
        .fsync(FsyncPolicy::None)
        .max_file_bytes(1)
        .max_file_age(Some(std::time::Duration::from_secs(1)))
        .finalization(Finalization::Caller)
        .build()
        .unwrap();
    assert_eq!(opts.fsync(), FsyncPolicy::OnRotate, "raised for the caller");
    FileStore::open(opts).unwrap()
}

/// What the hook saw: the info, whether the final file existed then, whether the temp did.
type Seen = Arc<Mutex<Vec<(FinalizeInfo, bool, bool)>>>;

/// A hook that records what it saw, failing while `fail` is set.
fn recording_hook(dir: &Path) -> (FinalizeHook, Seen, Arc<Mutex<bool>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let fail = Arc::new(Mutex::new(false));
    let traces = dir.join("traces");
    let hook: FinalizeHook = {
        let (seen, fail) = (seen.clone(), fail.clone());
        Arc::new(move |info: &FinalizeInfo| {
            let name = info
                .final_path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let temp_there = traces.join(format!(".{name}.tmp")).exists();
            seen.lock()
                .unwrap()
                .push((info.clone(), info.final_path.exists(), temp_there));
            if *fail.lock().unwrap() {
                Err("refused".to_owned())
            } else {
                Ok(())
            }
        })
    };
    (hook, seen, fail)
}

#[test]
fn the_caller_rotates_and_the_hook_runs_before_the_rename() {
    for format in [Format::Arrow, Format::Parquet] {
        let dir = tempfile::tempdir().unwrap();
        let store = open_caller(dir.path(), format);
        let writer = store.writer(Signal::Traces);
        let (hook, seen, _) = recording_hook(dir.path());
        writer.set_finalize_hook(Some(hook));
        // max_file_bytes is 1 and the age 1s: the store rotates nothing by itself.
        for i in 0..3 {
            let receipt = writer.write(batch(i * 10, 10)).unwrap();
            assert!(receipt.finalized.is_empty());
        }
        assert_eq!(
            store.tick().unwrap().finalized,
            Vec::<std::path::PathBuf>::new()
        );
        let path = writer.rotate().unwrap().expect("a file");
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        let (info, final_existed, temp_there) = &seen[0];
        assert_eq!((info.final_path.clone(), info.rows), (path.clone(), 30));
        assert!(!final_existed && *temp_there, "hook ran before the rename");
        assert_eq!(ids(dir.path(), Signal::Traces).len(), 30, "{format:?}");
    }
}

#[test]
fn a_failed_hook_keeps_the_file_temporary_and_is_retried_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_caller(dir.path(), Format::Arrow);
    let writer = store.writer(Signal::Traces);
    let (hook, seen, fail) = recording_hook(dir.path());
    writer.set_finalize_hook(Some(hook));
    writer.write(batch(0, 5)).unwrap();
    *fail.lock().unwrap() = true;
    assert!(writer.rotate().is_err());
    assert_eq!(writer.pending_files(), 1);
    assert!(
        ids(dir.path(), Signal::Traces).is_empty(),
        "nothing published"
    );
    // Nothing is written past a file whose finalization failed.
    assert!(writer.write(batch(100, 5)).is_err());
    *fail.lock().unwrap() = false;
    writer.rotate().unwrap();
    assert_eq!(writer.pending_files(), 0);
    assert_eq!(
        seen.lock().unwrap().len(),
        3,
        "hook: failed, failed (write), then ok"
    );
    assert_eq!(ids(dir.path(), Signal::Traces).len(), 5);
}

#[test]
fn leftover_temporary_files_wait_for_the_caller() {
    for format in [Format::Arrow, Format::Parquet] {
        let dir = tempfile::tempdir().unwrap();
        let (keep, other) = {
            let store = open_caller(dir.path(), format);
            let writer = store.writer(Signal::Traces);
            let names_of = || {
                names(&dir.path().join("traces"))
                    .into_iter()
                    .find(|n| n.ends_with(".tmp"))
                    .unwrap()
            };
            writer.write(batch(0, 7)).unwrap();
            let first = names_of();
            // Simulate a crash: keep a copy of the temp file, then let the store go.
            let traces = dir.path().join("traces");
            std::fs::copy(traces.join(&first), dir.path().join("keep")).unwrap();
            writer.rotate().unwrap();
            writer.write(batch(50, 3)).unwrap();
            let second = names_of();
            std::fs::copy(traces.join(&second), dir.path().join("other")).unwrap();
            drop(writer);
            drop(store);
            // Back to the state of a crash: both temp files on disk, no final files.
            for n in names(&traces) {
                std::fs::remove_file(traces.join(n)).unwrap();
            }
            std::fs::rename(dir.path().join("keep"), traces.join(&first)).unwrap();
            std::fs::rename(dir.path().join("other"), traces.join(&second)).unwrap();
            (first, second)
        };
        let final_of = |temp: &str| {
            temp.trim_start_matches('.')
                .trim_end_matches(".tmp")
                .to_owned()
        };
        let store = open_caller(dir.path(), format);
        assert!(
            store.recovery_report().is_clean(),
            "recovery left them alone"
        );
        assert_eq!(names(&dir.path().join("traces")).len(), 2);
        let outcome = store.finish_temp(Signal::Traces, &final_of(&keep)).unwrap();
        assert!(matches!(outcome, TempOutcome::Finished(_)), "{outcome:?}");
        // Idempotent.
        let again = store.finish_temp(Signal::Traces, &final_of(&keep)).unwrap();
        assert!(matches!(again, TempOutcome::AlreadyFinal(_)), "{again:?}");
        assert_eq!(
            store
                .finish_temp(Signal::Traces, "traces-20200101T000000Z-000099.arrow")
                .unwrap(),
            TempOutcome::Absent
        );
        assert!(store.finish_temp(Signal::Traces, "not-a-name").is_err());
        let removed = store.remove_temps(Signal::Traces).unwrap();
        assert_eq!(removed.len(), 1, "{removed:?}");
        assert!(removed[0].ends_with(&other));
        let stored = ids(dir.path(), Signal::Traces);
        assert_eq!(
            stored.keys().copied().collect::<Vec<_>>(),
            (0..7).collect::<Vec<_>>()
        );
    }
}
