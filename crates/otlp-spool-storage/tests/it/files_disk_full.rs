//! A write that fails half-way through a batch (a real I/O error from the kernel: the file-size
//! limit `ulimit -f`, which fails `write(2)` with EFBIG like a full disk fails it with ENOSPC):
//! the batch is handed back with the path, the complete batches before it stay in a finalized
//! file, and the writer goes on with a fresh file.
//!
//! The limit applies to the whole process, so the test re-runs this test binary in a child
//! (`sh -c 'trap "" XFSZ; ulimit -f N; exec ...'`) restricted to `fsize_child`.

use std::process::Command;

use otlp_spool_storage::{FileStore, Signal, WriteErrorKind};

use crate::files_util::{batch, clock, ids, options};

const CHILD_ENV: &str = "OTLP_SPOOL_FSIZE_CHILD_DIR";

#[test]
fn a_write_cut_by_the_file_size_limit_hands_the_batch_back() {
    let tmp = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"trap '' XFSZ; ulimit -f 256 || exit 97; exec "$0" "$@""#)
        .arg(&exe)
        .args([
            "--exact",
            "files_disk_full::fsize_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, tmp.path())
        .output()
        .expect("run sh");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child failed:\n{text}");
    assert!(
        text.contains("FSIZE-CHILD-OK"),
        "child did not run:\n{text}"
    );
}

/// Runs only inside the child started above.
#[test]
fn fsize_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let clock = clock();
    let store = FileStore::open(options(&dir, &clock).build().unwrap()).unwrap();
    let w = store.writer(Signal::Traces);
    let mut acked = 0u64;
    let err = loop {
        match w.write(batch(acked, 200)) {
            Ok(_) => acked += 200,
            Err(e) => break e,
        }
        assert!(acked < 1_000_000, "the file-size limit never hit");
    };
    assert!(acked > 0);
    let WriteErrorKind::File(file_err) = err.kind() else {
        panic!("{err:?}");
    };
    assert!(file_err.io_kind().is_some(), "{file_err:?}");
    assert!(err.path().unwrap().starts_with(dir.join("traces")), "{err}");
    let back = err.into_batch();
    assert_eq!(back.num_rows(), 200);
    // The prefix was published at once, and the writer continues in a fresh file.
    let report = w.recovery_report();
    assert_eq!(report.recovered_rows, acked, "{report:?}");
    w.write(batch(1_000_000, 5)).unwrap();
    store.close().unwrap();
    let seen = ids(&dir, Signal::Traces);
    assert_eq!(seen.len() as u64, acked + 5);
    assert!(seen.values().all(|&n| n == 1));
    assert!(!seen.contains_key(&acked), "the failed batch is in no file");
    println!("FSIZE-CHILD-OK acked={acked}");
}
