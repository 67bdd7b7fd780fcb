//! Start-up recovery of a temporary spool file (`FileStore::open`): the first byte picks the
//! format of the store (Arrow or Parquet), the rest is what a crash left in
//! `traces/.traces-<ts>-000001.<ext>.tmp`. Nothing panics; whatever recovery publishes reads
//! back whole with the storage's own reader, exactly the rows it reports; a file it cannot use
//! is quarantined byte for byte, never deleted with data in it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use otlp_spool_storage::{FileReader, FileStore, Format, FsyncPolicy, Signal, StoreOptions};

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys's hook aborts on every panic, even one the code under test catches
    // (recovery contains arrow-ipc's panics on bad offsets); the default hook lets those be
    // caught, and a panic that escapes still fails the run (libfuzzer-sys aborts on it).
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let _ = std::panic::take_hook();
        std::panic::set_hook(Box::new(|info| eprintln!("{info}")));
    });
    let [selector, body @ ..] = data else {
        return;
    };
    let format = if selector & 1 == 0 {
        Format::Arrow
    } else {
        Format::Parquet
    };
    let ext = if format == Format::Arrow { "arrow" } else { "parquet" };
    let dir = tempfile::tempdir().expect("a scratch directory");
    let traces = dir.path().join("traces");
    std::fs::create_dir_all(&traces).unwrap();
    let temp = traces.join(format!(".traces-20261203T120000Z-000001.{ext}.tmp"));
    std::fs::write(&temp, body).unwrap();

    let opts = StoreOptions::builder(dir.path())
        .format(format)
        .fsync(FsyncPolicy::None)
        .max_file_age(None)
        .build()
        .unwrap();
    let store = FileStore::open(opts).expect("recovery never fails on a file's contents");
    let report = store.recovery_report().clone();
    store.close().unwrap();
    drop(store);

    assert!(!temp.exists(), "the temporary file is dealt with: {report:?}");
    let mut rows = 0;
    for batch in FileReader::new(dir.path(), Signal::Traces).batches().unwrap() {
        rows += batch.expect("a published file reads back").num_rows() as u64;
    }
    assert_eq!(rows, report.recovered_rows, "{report:?}");
    for q in &report.quarantined {
        assert_eq!(std::fs::read(q).unwrap(), body, "quarantined byte for byte");
    }
    if report.recovered_rows == 0 && report.quarantined.is_empty() {
        // Removed: only a file with no complete batch may go, and that is said.
        assert!(
            report.removed_empty + report.recovered_files.len() as u64 == 1,
            "{report:?}"
        );
    }
});
