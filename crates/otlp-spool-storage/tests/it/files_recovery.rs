//! Crash recovery: temporary files cut at random byte offsets are recovered (complete batches
//! kept, torn tail cut and counted), undecodable files are quarantined, nothing panics.

use std::path::Path;

use arrow_ipc::CompressionType;
use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
use otlp_spool_storage::{FileReader, Format, QUARANTINE_DIR, Signal};
use proptest::prelude::*;

use crate::files_util::{batch, clock, ids, names, open, test_schema};

/// An IPC stream of `n` batches of 10 rows (ids 0..10n), and the offsets where the schema and
/// each batch end.
fn stream(n: u64, compression: Option<CompressionType>) -> (Vec<u8>, u64, Vec<u64>) {
    let opts = IpcWriteOptions::default()
        .try_with_compression(compression)
        .unwrap();
    let mut w = StreamWriter::try_new_with_options(Vec::new(), &test_schema(), opts).unwrap();
    let schema_end = w.get_ref().len() as u64;
    let mut ends = Vec::new();
    for i in 0..n {
        w.write(&batch(i * 10, 10)).unwrap();
        ends.push(w.get_ref().len() as u64);
    }
    w.finish().unwrap();
    (w.into_inner().unwrap(), schema_end, ends)
}

fn temp_name(signal: Signal, format: Format) -> String {
    format!(
        ".{signal}-20261127T000000Z-000003.{}.tmp",
        format.extension()
    )
}

fn place(dir: &Path, signal: Signal, name: &str, bytes: &[u8]) {
    let d = dir.join(signal.as_str());
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(name), bytes).unwrap();
}

fn check_cut(cut: usize, compression: Option<CompressionType>, format: Format) {
    let (bytes, schema_end, ends) = stream(6, compression);
    let cut = cut.min(bytes.len());
    let tmp = tempfile::tempdir().unwrap();
    place(
        tmp.path(),
        Signal::Traces,
        &temp_name(Signal::Traces, format),
        &bytes[..cut],
    );
    let clock = clock();
    let store = open(tmp.path(), &clock);
    let report = store.recovery_report().clone();
    let complete = ends.iter().filter(|&&e| e <= cut as u64).count() as u64;

    let left = names(&tmp.path().join("traces"));
    assert!(
        left.iter().all(|n| !n.starts_with('.')),
        "temp left: {left:?}"
    );
    let seen = ids(tmp.path(), Signal::Traces);
    assert_eq!(seen.len() as u64, complete * 10, "cut {cut}: {report:?}");
    assert!(seen.values().all(|&n| n == 1));
    if cut > 0 && (cut as u64) < schema_end {
        // Not even a schema: moved aside, not deleted.
        assert_eq!(report.quarantined.len(), 1, "cut {cut}: {report:?}");
        assert!(report.quarantined[0].starts_with(tmp.path().join(QUARANTINE_DIR)));
        return;
    }
    assert!(report.quarantined.is_empty(), "cut {cut}: {report:?}");
    assert_eq!(report.recovered_batches, complete);
    assert_eq!(report.recovered_rows, complete * 10);
    let boundary = if complete == 0 {
        schema_end
    } else {
        ends[complete as usize - 1]
    };
    let expected_torn = if cut as u64 == bytes.len() as u64 {
        0
    } else {
        cut as u64 - boundary.min(cut as u64)
    };
    let expected_torn = if cut == 0 { 0 } else { expected_torn };
    assert_eq!(report.torn_bytes, expected_torn, "cut {cut}: {report:?}");
    assert_eq!(report.torn_files, u64::from(expected_torn > 0));
    if complete > 0 {
        assert_eq!(report.recovered_files.len(), 1);
        let f = &report.recovered_files[0];
        assert_eq!(f.extension().unwrap(), format.extension());
        assert!(f.ends_with(format!(
            "traces-20261127T000000Z-000003.{}",
            format.extension()
        )));
    } else {
        assert_eq!(report.removed_empty, 1);
    }
    // Writing goes on with the next sequence number.
    let w = store.writer(Signal::Traces);
    w.write(batch(1000, 1)).unwrap();
    let p = w.rotate().unwrap().unwrap();
    assert!(p.to_string_lossy().contains("-000004."), "{p:?}");
}

#[test]
fn every_cut_of_a_small_stream_is_recovered() {
    let (bytes, _, _) = stream(6, None);
    for cut in (0..=bytes.len())
        .step_by(37)
        .chain([bytes.len() - 8, bytes.len() - 1])
    {
        check_cut(cut, None, Format::Arrow);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_cuts_are_recovered(
        cut in 0usize..20_000,
        codec in prop_oneof![Just(None), Just(Some(CompressionType::ZSTD)), Just(Some(CompressionType::LZ4_FRAME))],
        parquet in any::<bool>(),
    ) {
        let format = if parquet { Format::Parquet } else { Format::Arrow };
        let codec = if parquet { None } else { codec };
        check_cut(cut, codec, format);
    }
}

#[test]
fn corrupt_bytes_keep_the_good_prefix_and_quarantine_the_file() {
    let (mut bytes, _, ends) = stream(4, None);
    // Smash the flatbuffer metadata of the third batch (its length prefix stays intact, so
    // this is not mistaken for a torn tail).
    let at = ends[1] as usize + 8;
    bytes[at..at + 16].copy_from_slice(&[0xAB; 16]);
    let tmp = tempfile::tempdir().unwrap();
    place(
        tmp.path(),
        Signal::Logs,
        &temp_name(Signal::Logs, Format::Arrow),
        &bytes,
    );
    let store = open(tmp.path(), &clock());
    let r = store.recovery_report();
    assert_eq!(r.recovered_batches, 2, "{r:?}");
    assert_eq!(r.quarantined.len(), 1, "{r:?}");
    assert!(r.quarantined[0].exists());
    assert_eq!(ids(tmp.path(), Signal::Logs).len(), 20);
}

#[test]
fn garbage_is_quarantined_never_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    let garbage = b"this is not an arrow stream at all, but someone's bytes".repeat(10);
    place(
        tmp.path(),
        Signal::Metrics,
        &temp_name(Signal::Metrics, Format::Arrow),
        &garbage,
    );
    let store = open(tmp.path(), &clock());
    let r = store.recovery_report();
    assert_eq!(r.quarantined.len(), 1, "{r:?}");
    assert_eq!(std::fs::read(&r.quarantined[0]).unwrap(), garbage);
    assert!(
        FileReader::new(tmp.path(), Signal::Metrics)
            .files()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn stale_partial_copies_are_handled() {
    let tmp = tempfile::tempdir().unwrap();
    let (bytes, _, _) = stream(2, None);
    // A part with its source: removed, the source recovered.
    place(
        tmp.path(),
        Signal::Logs,
        &temp_name(Signal::Logs, Format::Parquet),
        &bytes,
    );
    place(
        tmp.path(),
        Signal::Logs,
        ".logs-20261127T000000Z-000003.parquet.part",
        b"half",
    );
    // A part without a source: quarantined.
    place(
        tmp.path(),
        Signal::Logs,
        ".logs-20261127T000000Z-000009.parquet.part",
        b"orphan",
    );
    let store = open(tmp.path(), &clock());
    let r = store.recovery_report();
    assert_eq!(r.recovered_rows, 20, "{r:?}");
    assert_eq!(r.quarantined.len(), 1, "{r:?}");
    assert_eq!(
        names(&tmp.path().join("logs")),
        ["logs-20261127T000000Z-000003.parquet"]
    );
    // Sequence numbers continue after the highest seen, quarantined ones included.
    let w = store.writer(Signal::Logs);
    w.write(batch(0, 1)).unwrap();
    assert!(
        w.rotate()
            .unwrap()
            .unwrap()
            .to_string_lossy()
            .contains("-000010.")
    );
}

#[test]
fn a_clean_restart_reports_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let clock = clock();
    let store = open(tmp.path(), &clock);
    store.writer(Signal::Traces).write(batch(0, 3)).unwrap();
    drop(store); // finalizes at drop
    let store = open(tmp.path(), &clock);
    assert!(
        store.recovery_report().is_clean(),
        "{:?}",
        store.recovery_report()
    );
    assert_eq!(ids(tmp.path(), Signal::Traces).len(), 3);
}

#[test]
fn names_that_are_not_ours_are_skipped_at_start_in_retention_and_by_the_reader() {
    let tmp = tempfile::tempdir().unwrap();
    // A multi-byte character inside the timestamp once panicked the name parser; the others
    // are near misses and plain strangers.
    let strangers: [&str; 5] = [
        "traces-2026é101T00000Z-000001.arrow",
        ".traces-20261127T0000é0Z-000002.arrow.tmp",
        "traces-20261127T000000Z-000003.arrow.bak",
        "traces-20261127T000000Z-x.arrow",
        "README.txt",
    ];
    for name in strangers {
        place(tmp.path(), Signal::Traces, name, b"someone's bytes");
    }
    let clock = clock();
    let opts = crate::files_util::options(tmp.path(), &clock)
        .retention_max_age(Some(std::time::Duration::from_secs(1)))
        .build()
        .unwrap();
    let store = otlp_spool_storage::FileStore::open(opts).unwrap();
    assert!(
        store.recovery_report().is_clean(),
        "{:?}",
        store.recovery_report()
    );
    let w = store.writer(Signal::Traces);
    w.write(batch(0, 10)).unwrap();
    w.rotate().unwrap();
    clock.advance(std::time::Duration::from_secs(3600));
    let t = store.tick().unwrap();
    assert_eq!(
        t.retention.deleted.len(),
        1,
        "only our own expired file: {t:?}"
    );
    assert!(
        FileReader::new(tmp.path(), Signal::Traces)
            .files()
            .unwrap()
            .is_empty()
    );
    for name in strangers {
        let path = tmp.path().join(Signal::Traces.as_str()).join(name);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"someone's bytes",
            "{name} untouched"
        );
    }
}

/// Found by the `recovery` fuzz target: a dictionary batch whose buffer offset points past its
/// body panicked arrow-ipc's decoder, and with it the start-up. The file is quarantined now,
/// byte for byte, and the store opens.
#[test]
fn a_message_that_panics_the_ipc_decoder_is_quarantined_not_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = include_bytes!("data/recovery-crash-5577eaec.bin");
    place(
        tmp.path(),
        Signal::Traces,
        &temp_name(Signal::Traces, Format::Arrow),
        bytes,
    );
    let store = open(tmp.path(), &clock());
    let r = store.recovery_report();
    assert_eq!(r.quarantined.len(), 1, "{r:?}");
    assert_eq!(std::fs::read(&r.quarantined[0]).unwrap(), bytes);
}

/// Found by the `recovery` fuzz target next: a zstd buffer declaring 5 TB uncompressed made
/// arrow-ipc allocate that much before decompressing, and the failed allocation aborted the
/// process (no unwinding to catch). The message is refused before the decoder sees it; the
/// file is quarantined and the store opens.
#[test]
fn a_buffer_declaring_an_impossible_uncompressed_size_is_quarantined_before_decoding() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = include_bytes!("data/recovery-crash-04fad206.bin");
    place(
        tmp.path(),
        Signal::Traces,
        &temp_name(Signal::Traces, Format::Arrow),
        bytes,
    );
    let store = open(tmp.path(), &clock());
    let r = store.recovery_report();
    assert_eq!(r.quarantined.len(), 1, "{r:?}");
    assert_eq!(std::fs::read(&r.quarantined[0]).unwrap(), bytes);
}

/// Found by the `recovery` fuzz target in CI: a stream whose batches the IPC decoder accepts
/// (three rows) but whose Parquet copy reads back without them (a batch Parquet cannot carry).
/// Recovery published the copy and reported three recovered rows no reader could see. The copy
/// is read back before it is published now: this one is not, and the file is quarantined.
#[test]
fn a_parquet_copy_that_does_not_read_back_is_not_published() {
    let tmp = tempfile::tempdir().unwrap();
    // The fuzz input's first byte picked Parquet; the rest is the temporary file.
    let input = include_bytes!("data/recovery-crash-bfdcbbfe.bin");
    let bytes = &input[1..];
    place(
        tmp.path(),
        Signal::Traces,
        &temp_name(Signal::Traces, Format::Parquet),
        bytes,
    );
    let store = otlp_spool_storage::StoreOptions::builder(tmp.path())
        .format(Format::Parquet)
        .max_file_age(None)
        .build()
        .map(|o| otlp_spool_storage::FileStore::open(o).unwrap())
        .unwrap();
    let r = store.recovery_report().clone();
    store.close().unwrap();
    let mut rows = 0;
    for batch in FileReader::new(tmp.path(), Signal::Traces)
        .batches()
        .unwrap()
    {
        rows += batch.unwrap().num_rows() as u64;
    }
    assert_eq!(rows, r.recovered_rows, "{r:?}");
    assert_eq!(r.quarantined.len(), 1, "{r:?}");
    assert_eq!(std::fs::read(&r.quarantined[0]).unwrap(), bytes);
}

/// A fuzz finding (`recovery`, out of memory): a damaged temporary file whose batch declares
/// far more rows than its buffers can hold (no column backs them) is damage, not rows to
/// re-encode: re-encoding it to Parquet allocated without bound. It is cut at that batch.
#[test]
fn a_batch_whose_rows_no_buffer_backs_is_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let input = include_bytes!("data/recovery-oom-f454f45f.bin");
    let bytes = &input[1..];
    place(
        tmp.path(),
        Signal::Traces,
        &temp_name(Signal::Traces, Format::Parquet),
        bytes,
    );
    let store = otlp_spool_storage::StoreOptions::builder(tmp.path())
        .format(Format::Parquet)
        .max_file_age(None)
        .build()
        .map(|o| otlp_spool_storage::FileStore::open(o).unwrap())
        .unwrap();
    let r = store.recovery_report().clone();
    store.close().unwrap();
    assert_eq!(r.recovered_rows, 0, "{r:?}");
    let rows: usize = FileReader::new(tmp.path(), Signal::Traces)
        .batches()
        .unwrap()
        .map(|b| b.unwrap().num_rows())
        .sum();
    assert_eq!(rows, 0);
}
