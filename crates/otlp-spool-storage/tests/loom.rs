//! loom models of the concurrent part of the file writer: the per-signal lane shared by a
//! flusher (writes) and a housekeeping task (age rotation via `tick`, explicit `rotate`,
//! retention). The lane's mutex and the store's `Arc` come from the crate's `sync` shim, so
//! loom explores every interleaving of the hand-over. File I/O is real (a temporary directory
//! per execution); time is a `MockClock`.
//!
//! Run: `RUSTFLAGS="--cfg otlp_spool_loom" LOOM_MAX_PREEMPTIONS=3 \
//!   cargo test -p otlp-spool-storage --release --test loom`
#![cfg(otlp_spool_loom)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::{ArrayRef, RecordBatch, UInt64Array};
use loom::thread;
use otlp_spool_storage::{FileReader, FileStore, MockClock, Signal, StoreOptions};

fn batch(first: u64, rows: u64) -> RecordBatch {
    let ids: ArrayRef = Arc::new(UInt64Array::from_iter_values(first..first + rows));
    RecordBatch::try_from_iter([("id", ids)]).unwrap()
}

fn ids(dir: &std::path::Path) -> BTreeMap<u64, usize> {
    let mut seen = BTreeMap::new();
    for b in FileReader::new(dir, Signal::Traces).batches().unwrap() {
        for id in b.unwrap().column(0).as_primitive::<UInt64Type>().values() {
            *seen.entry(*id).or_insert(0) += 1;
        }
    }
    seen
}

fn no_temp_files(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir.join("traces"))
        .unwrap()
        .all(|e| !e.unwrap().file_name().to_string_lossy().starts_with('.'))
}

/// A flusher writes while a housekeeper ticks (age rotation) and rotates: after close, every
/// row written is in exactly one finalized file and no temporary file is left.
#[test]
fn rotation_hand_over_keeps_every_row_exactly_once() {
    loom::model(|| {
        let tmp = tempfile::tempdir().unwrap();
        let clock = MockClock::at_unix_secs(1_795_737_600);
        let opts = StoreOptions::builder(tmp.path())
            .clock(Arc::new(clock.clone()))
            .max_file_age(Some(Duration::from_secs(10)))
            .build()
            .unwrap();
        let store = FileStore::open(opts).unwrap();

        let flusher = {
            let w = store.writer(Signal::Traces);
            thread::spawn(move || {
                w.write(batch(0, 2)).unwrap();
                w.write(batch(2, 2)).unwrap();
            })
        };
        let housekeeper = {
            let store = store.clone();
            let clock = clock.clone();
            thread::spawn(move || {
                clock.advance(Duration::from_secs(10));
                store.tick().unwrap();
                store.writer(Signal::Traces).rotate().unwrap();
            })
        };
        store.writer(Signal::Traces).write(batch(4, 1)).unwrap();
        flusher.join().unwrap();
        housekeeper.join().unwrap();
        store.close().unwrap();
        drop(store);

        let seen = ids(tmp.path());
        assert_eq!(
            seen.keys().copied().collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 4]
        );
        assert!(seen.values().all(|&n| n == 1), "{seen:?}");
        assert!(no_temp_files(tmp.path()));
    });
}

/// Retention racing with size rotation: it only ever deletes whole finalized files (rows are
/// never duplicated, the active file is never touched), and the budget holds afterwards.
#[test]
fn retention_races_rotation_without_touching_the_active_file() {
    loom::model(|| {
        let tmp = tempfile::tempdir().unwrap();
        let clock = MockClock::at_unix_secs(1_795_737_600);
        let opts = StoreOptions::builder(tmp.path())
            .clock(Arc::new(clock.clone()))
            .max_file_bytes(1) // every write finalizes its file
            .retention_max_bytes(Some(1_000_000))
            .build()
            .unwrap();
        let store = FileStore::open(opts).unwrap();
        let housekeeper = {
            let store = store.clone();
            thread::spawn(move || {
                store.tick().unwrap();
            })
        };
        let w = store.writer(Signal::Traces);
        w.write(batch(0, 1)).unwrap();
        w.write(batch(1, 1)).unwrap();
        housekeeper.join().unwrap();
        store.close().unwrap();
        drop((w, store));
        let seen = ids(tmp.path());
        assert_eq!(seen.len(), 2);
        assert!(seen.values().all(|&n| n == 1));
        assert!(no_temp_files(tmp.path()));
    });
}
