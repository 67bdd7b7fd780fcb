//! Rotation by size and age, retention by age and bytes (mock clock), and rotation racing
//! writers: every row ends up in exactly one finalized file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use otlp_spool_storage::{FileReader, FileStore, RetentionGuard, Signal};

use crate::files_util::{batch, clock, ids, names, options};

#[test]
fn rotates_by_size() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = clock();
    let opts = options(tmp.path(), &clock)
        .max_file_bytes(4096)
        .build()
        .unwrap();
    let store = FileStore::open(opts).unwrap();
    let w = store.writer(Signal::Traces);
    let mut finalized = 0;
    for i in 0..40 {
        finalized += w.write(batch(i * 10, 10)).unwrap().finalized.len();
    }
    assert!(finalized >= 5, "{finalized}");
    store.close().unwrap();
    let files = FileReader::new(tmp.path(), Signal::Traces).files().unwrap();
    // At most one batch past the limit (a batch here is well under 4 KiB).
    assert!(files.iter().all(|f| f.bytes < 4096 + 4096), "{files:?}");
    let seqs: Vec<u64> = files.iter().map(|f| f.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(ids(tmp.path(), Signal::Traces).len(), 400);
}

#[test]
fn rotates_by_age_on_write_and_on_tick() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = clock();
    let opts = options(tmp.path(), &clock)
        .max_file_age(Some(Duration::from_secs(60)))
        .build()
        .unwrap();
    let store = FileStore::open(opts).unwrap();
    let w = store.writer(Signal::Logs);
    w.write(batch(0, 1)).unwrap();
    clock.advance(Duration::from_secs(59));
    assert!(store.tick().unwrap().finalized.is_empty());
    assert!(w.write(batch(1, 1)).unwrap().finalized.is_empty());
    clock.advance(Duration::from_secs(1));
    // The write past the age finalizes the old file first, then opens a new one.
    let r = w.write(batch(2, 1)).unwrap();
    assert_eq!(r.finalized.len(), 1);
    clock.advance(Duration::from_secs(60));
    let t = store.tick().unwrap();
    assert_eq!(t.finalized.len(), 1);
    assert_eq!(
        names(&tmp.path().join("logs")),
        [
            "logs-20261127T000000Z-000001.arrow",
            "logs-20261127T000100Z-000002.arrow"
        ]
    );
    assert_eq!(ids(tmp.path(), Signal::Logs).len(), 3);
}

#[test]
fn retention_deletes_by_age_then_by_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = clock();
    let opts = options(tmp.path(), &clock)
        .max_file_bytes(1024)
        .retention_max_age(Some(Duration::from_secs(3600)))
        .build()
        .unwrap();
    let store = FileStore::open(opts).unwrap();
    let w = store.writer(Signal::Metrics);
    for i in 0..6 {
        w.write(batch(i * 10, 10)).unwrap();
        w.rotate().unwrap();
        clock.advance(Duration::from_secs(1200)); // 20 minutes
    }
    // Now T0 + 2h; files opened at 0, 20, 40, 60, 80, 100 minutes: the first three are more
    // than 1h old (the one at 60 minutes is exactly 1h old and stays).
    let t = store.tick().unwrap();
    assert_eq!(t.retention.deleted.len(), 3, "{t:?}");
    assert!(t.retention.deleted[0].ends_with("metrics-20261127T000000Z-000001.arrow"));
    assert_eq!(
        FileReader::new(tmp.path(), Signal::Metrics)
            .files()
            .unwrap()
            .len(),
        3
    );
    // The lock lives as long as any handle: the store and its writers.
    drop((store, w));

    // Reopen with a byte budget of two files.
    let one = FileReader::new(tmp.path(), Signal::Metrics)
        .files()
        .unwrap()[0]
        .bytes;
    let opts = options(tmp.path(), &clock)
        .max_file_bytes(one)
        .max_file_age(None)
        .retention_max_bytes(Some(2 * one + one / 2))
        .build()
        .unwrap();
    let store = FileStore::open(opts).unwrap();
    let t = store.tick().unwrap();
    assert_eq!(t.retention.deleted.len(), 1);
    assert_eq!(t.retention.deleted_bytes, one);
    let left: Vec<u64> = ids(tmp.path(), Signal::Metrics).keys().copied().collect();
    assert_eq!(left, (40..60).collect::<Vec<_>>(), "the newest survive");
    // Retention never touches the active file.
    store.writer(Signal::Metrics).write(batch(100, 1)).unwrap();
    clock.advance(Duration::from_secs(100_000));
    store.tick().unwrap();
    assert_eq!(store.writer(Signal::Metrics).active_file().unwrap().1, 1);
}

/// Writers and a rotating/ticking thread race; every row is in exactly one finalized file.
#[test]
fn rotation_while_writing_keeps_every_row_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = clock();
    let opts = options(tmp.path(), &clock)
        .max_file_bytes(16 * 1024)
        .max_file_age(Some(Duration::from_secs(1)))
        .build()
        .unwrap();
    let store = FileStore::open(opts).unwrap();
    const WRITERS: u64 = 3;
    const BATCHES: u64 = 200;
    let start = Arc::new(Barrier::new(WRITERS as usize + 1));
    let done = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for t in 0..WRITERS {
        let w = store.writer(Signal::Traces);
        let start = Arc::clone(&start);
        handles.push(std::thread::spawn(move || {
            start.wait();
            for i in 0..BATCHES {
                w.write(batch((t * BATCHES + i) * 7, 7)).unwrap();
            }
        }));
    }
    let rotator = {
        let store = store.clone();
        let clock = clock.clone();
        let (start, done) = (Arc::clone(&start), Arc::clone(&done));
        std::thread::spawn(move || {
            start.wait();
            let mut rotations = 0;
            while !done.load(Ordering::Relaxed) {
                clock.advance(Duration::from_millis(700));
                rotations += store.tick().unwrap().finalized.len();
                rotations += usize::from(store.writer(Signal::Traces).rotate().unwrap().is_some());
            }
            rotations
        })
    };
    for h in handles {
        h.join().unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let rotations = rotator.join().unwrap();
    store.close().unwrap();
    let seen = ids(tmp.path(), Signal::Traces);
    assert_eq!(seen.len() as u64, WRITERS * BATCHES * 7);
    assert!(seen.values().all(|&n| n == 1), "a row appears twice");
    let files = FileReader::new(tmp.path(), Signal::Traces).files().unwrap();
    assert!(
        files.len() > 2,
        "rotation happened ({rotations} by the rotator)"
    );
    assert!(
        names(&tmp.path().join("traces"))
            .iter()
            .all(|n| !n.starts_with('.'))
    );
}

/// A guard that keeps the files whose name ends in one of `keep`, and records what it is told
/// was deleted anyway.
#[derive(Debug, Default)]
struct KeepSome {
    keep: Vec<&'static str>,
    forced: Mutex<Vec<PathBuf>>,
}

impl RetentionGuard for KeepSome {
    fn keep(&self, path: &Path) -> bool {
        self.keep
            .iter()
            .any(|k| path.to_string_lossy().ends_with(k))
    }
    fn deleted_anyway(&self, paths: &[PathBuf]) {
        self.forced.lock().unwrap().extend_from_slice(paths);
    }
}

fn file_names(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_retention_guard_keeps_files_from_age_and_yields_to_the_byte_budget_last() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = clock();
    // Five files, 20 minutes apart; the guard keeps the first two (say, not uploaded yet).
    let guard = Arc::new(KeepSome {
        keep: vec!["-000001.arrow", "-000002.arrow"],
        ..KeepSome::default()
    });
    let opts = options(tmp.path(), &clock)
        .max_file_age(None)
        .retention_max_age(Some(Duration::from_secs(3600)))
        .retention_guard(guard.clone())
        .build()
        .unwrap();
    let store = FileStore::open(opts).unwrap();
    let w = store.writer(Signal::Logs);
    for i in 0..5 {
        w.write(batch(i * 10, 10)).unwrap();
        w.rotate().unwrap();
        clock.advance(Duration::from_secs(1200));
    }
    // At T0 + 110 min files 1-3 (opened at 0, 20, 40 min) are over an hour old; the guard
    // keeps 1 and 2 from age.
    clock.advance(Duration::from_secs(600));
    let t = store.tick().unwrap();
    assert_eq!(
        file_names(&t.retention.deleted),
        ["logs-20261127T004000Z-000003.arrow"]
    );
    assert!(t.retention.forced.is_empty());
    assert!(guard.forced.lock().unwrap().is_empty());
    drop((store, w));

    // A byte budget of one and a half files with four left (1, 2, 4, 5): it deletes the
    // unguarded files 4 and 5 first, although they are newer, then the oldest kept one, and
    // reports that one as forced.
    let one = FileReader::new(tmp.path(), Signal::Logs).files().unwrap()[0].bytes;
    let opts = options(tmp.path(), &clock)
        .max_file_age(None)
        .max_file_bytes(one)
        .retention_max_age(Some(Duration::from_secs(3600)))
        .retention_max_bytes(Some(one + one / 2))
        .retention_guard(guard.clone())
        .build()
        .unwrap();
    let store = FileStore::open(opts).unwrap();
    let t = store.tick().unwrap();
    assert_eq!(
        file_names(&t.retention.deleted),
        [
            "logs-20261127T010000Z-000004.arrow",
            "logs-20261127T012000Z-000005.arrow",
            "logs-20261127T000000Z-000001.arrow"
        ]
    );
    assert_eq!(
        file_names(&t.retention.forced),
        ["logs-20261127T000000Z-000001.arrow"]
    );
    assert_eq!(*guard.forced.lock().unwrap(), t.retention.forced);
    let left = file_names(
        &FileReader::new(tmp.path(), Signal::Logs)
            .files()
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect::<Vec<_>>(),
    );
    assert_eq!(left, ["logs-20261127T002000Z-000002.arrow"]);
}

/// `temp_files` lists the stream a live writer appends to (its complete batches readable
/// with `IpcStream`, which then reports the missing end), and nothing once it is finalized;
/// `files` lists only finalized ones.
#[test]
fn temp_files_list_the_active_stream_until_it_is_finalized() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = clock();
    let store = FileStore::open(options(tmp.path(), &clock).build().unwrap()).unwrap();
    let w = store.writer(Signal::Traces);
    w.write(batch(0, 3)).unwrap();
    let reader = FileReader::new(tmp.path(), Signal::Traces);
    let temps = reader.temp_files().unwrap();
    assert_eq!(temps.len(), 1, "{temps:?}");
    let name = temps[0].path.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with(".traces-") && name.ends_with(".tmp"),
        "{name}"
    );
    assert_eq!(temps[0].signal, Signal::Traces);
    assert!(reader.files().unwrap().is_empty());
    let rows: usize = otlp_spool_storage::IpcStream::open(&temps[0].path, None)
        .unwrap()
        .map_while(Result::ok)
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(rows, 3);
    store.close().unwrap();
    assert!(reader.temp_files().unwrap().is_empty());
    let files = reader.files().unwrap();
    assert_eq!((files.len(), files[0].seq), (1, temps[0].seq));
    assert!(
        FileReader::new(tmp.path(), Signal::Logs)
            .temp_files()
            .unwrap()
            .is_empty()
    );
}
