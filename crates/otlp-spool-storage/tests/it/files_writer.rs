//! Writer basics: names, visibility, formats, compression, lock, options, error path.

use std::time::Duration;

use otlp_spool_storage::{
    Compression, ConfigError, FileReader, FileStore, Format, FsyncPolicy, OpenError, Signal,
    StoreOptions, WriteErrorKind,
};

use crate::files_util::{T0, batch, clock, ids, names, open, options};

#[test]
fn files_are_hidden_until_finalized_and_named_by_contract() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = clock();
    let store = open(tmp.path(), &clock);
    let w = store.writer(Signal::Traces);
    assert_eq!(w.write(batch(0, 10)).unwrap().rows, 10);
    let traces = tmp.path().join("traces");
    assert_eq!(
        names(&traces),
        [".traces-20261127T000000Z-000001.arrow.tmp"]
    );
    assert!(
        FileReader::new(tmp.path(), Signal::Traces)
            .files()
            .unwrap()
            .is_empty()
    );
    let done = w.rotate().unwrap().unwrap();
    assert_eq!(done, traces.join("traces-20261127T000000Z-000001.arrow"));
    assert_eq!(names(&traces), ["traces-20261127T000000Z-000001.arrow"]);
    assert_eq!(w.rotate().unwrap(), None, "no empty files");
    for s in Signal::ALL {
        assert!(tmp.path().join(s.as_str()).is_dir());
    }
    assert_eq!(ids(tmp.path(), Signal::Traces).len(), 10);
}

#[test]
fn every_format_and_compression_round_trips() {
    for format in [Format::Arrow, Format::Parquet] {
        for compression in [Compression::None, Compression::Zstd, Compression::Lz4] {
            let tmp = tempfile::tempdir().unwrap();
            let clock = clock();
            let opts = options(tmp.path(), &clock)
                .format(format)
                .compression(compression)
                .fsync(FsyncPolicy::EveryBatch)
                .build()
                .unwrap();
            let store = FileStore::open(opts).unwrap();
            let w = store.writer(Signal::Logs);
            for i in 0..5 {
                w.write(batch(i * 100, 100)).unwrap();
            }
            let path = w.rotate().unwrap().unwrap();
            assert_eq!(path.extension().unwrap(), format.extension());
            let seen = ids(tmp.path(), Signal::Logs);
            assert_eq!(seen.len(), 500, "{format:?} {compression:?}");
            assert!(seen.values().all(|&n| n == 1));
            assert_eq!(names(&tmp.path().join("logs")).len(), 1, "no leftovers");
        }
    }
}

#[test]
fn a_second_store_on_the_same_directory_fails_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = clock();
    let first = open(tmp.path(), &clock);
    let err = FileStore::open(options(tmp.path(), &clock).build().unwrap()).unwrap_err();
    assert!(matches!(err, OpenError::Locked { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("already in use") && msg.contains(".otlp-spool.lock"),
        "{msg}"
    );
    drop(first);
    open(tmp.path(), &clock);
}

#[test]
fn options_are_validated() {
    let check = |b: otlp_spool_storage::StoreOptionsBuilder, want: ConfigError| {
        assert_eq!(b.build().unwrap_err(), want);
    };
    check(StoreOptions::builder(""), ConfigError::EmptyDir);
    check(
        StoreOptions::builder("d").max_file_bytes(0),
        ConfigError::Zero {
            option: "max_file_bytes",
        },
    );
    check(
        StoreOptions::builder("d").max_file_age(Some(Duration::ZERO)),
        ConfigError::Zero {
            option: "max_file_age",
        },
    );
    check(
        StoreOptions::builder("d").retention_max_age(Some(Duration::ZERO)),
        ConfigError::Zero {
            option: "retention_max_age",
        },
    );
    check(
        StoreOptions::builder("d")
            .max_file_bytes(1000)
            .retention_max_bytes(Some(10)),
        ConfigError::RetentionBelowFileSize {
            retention: 10,
            file: 1000,
        },
    );
    assert_eq!("parquet".parse::<Format>().unwrap(), Format::Parquet);
    assert_eq!(
        "every_batch".parse::<FsyncPolicy>().unwrap(),
        FsyncPolicy::EveryBatch
    );
    let e = "gzip".parse::<Compression>().unwrap_err().to_string();
    assert!(e.contains("gzip") && e.contains("zstd"), "{e}");
}

#[test]
fn schema_change_starts_a_new_file() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = clock();
    let store = open(tmp.path(), &clock);
    let w = store.writer(Signal::Metrics);
    w.write(batch(0, 3)).unwrap();
    let other = arrow_array::RecordBatch::try_from_iter([(
        "x",
        std::sync::Arc::new(arrow_array::Int32Array::from(vec![1, 2])) as arrow_array::ArrayRef,
    )])
    .unwrap();
    let r = w.write(other).unwrap();
    assert_eq!(r.finalized.len(), 1);
    store.close().unwrap();
    assert_eq!(
        FileReader::new(tmp.path(), Signal::Metrics)
            .files()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn a_failed_write_hands_the_batch_back_and_the_writer_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = clock();
    let store = open(tmp.path(), &clock);
    let w = store.writer(Signal::Traces);
    w.write(batch(0, 5)).unwrap();
    w.rotate().unwrap();
    // The signal folder becomes a file: creating the next file fails (ENOTDIR).
    let traces = tmp.path().join("traces");
    let saved = tmp.path().join("saved");
    std::fs::rename(&traces, &saved).unwrap();
    std::fs::write(&traces, b"not a directory").unwrap();

    let err = w.write(batch(5, 7)).unwrap_err();
    assert!(matches!(err.kind(), WriteErrorKind::File(_)), "{err:?}");
    assert!(err.path().unwrap().starts_with(&traces), "{err}");
    assert!(err.to_string().contains("traces"), "{err}");
    let back = err.into_batch();
    assert_eq!(back.num_rows(), 7);

    // The condition clears; the same batch goes through and nothing was lost or doubled.
    std::fs::remove_file(&traces).unwrap();
    std::fs::rename(&saved, &traces).unwrap();
    w.write(back).unwrap();
    w.rotate().unwrap();
    let seen = ids(tmp.path(), Signal::Traces);
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        (0..12).collect::<Vec<_>>()
    );
    assert!(seen.values().all(|&n| n == 1));
}

#[test]
fn opening_on_a_path_that_is_a_file_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("plain");
    std::fs::write(&file, b"x").unwrap();
    let clock = clock();
    let err = FileStore::open(options(&file, &clock).build().unwrap()).unwrap_err();
    assert!(err.to_string().contains("plain"), "{err}");
}

#[test]
fn closed_store_refuses_writes_and_returns_the_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = clock();
    let store = open(tmp.path(), &clock);
    let w = store.writer(Signal::Logs);
    w.write(batch(0, 2)).unwrap();
    assert_eq!(store.close().unwrap().len(), 1);
    let err = w.write(batch(2, 3)).unwrap_err();
    assert!(matches!(err.kind(), WriteErrorKind::Closed));
    assert_eq!(err.into_batch().num_rows(), 3);
}

#[test]
fn reader_filters_by_the_time_in_the_name() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = clock();
    let store = open(tmp.path(), &clock);
    let w = store.writer(Signal::Logs);
    for hour in 0..4 {
        w.write(batch(hour * 10, 10)).unwrap();
        w.rotate().unwrap();
        clock.advance(Duration::from_secs(3600));
    }
    let at = |h: u64| std::time::UNIX_EPOCH + Duration::from_secs(T0 + h * 3600);
    let r = FileReader::new(tmp.path(), Signal::Logs)
        .since(at(1))
        .until(at(3));
    let files = r.files().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].opened_at, at(1));
    let rows: usize = r.batches().unwrap().map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 20);
}
