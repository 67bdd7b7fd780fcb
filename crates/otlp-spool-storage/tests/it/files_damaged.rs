//! Damaged *finalized* files (a disk error, a bad copy, a hand edit): `FileReader` turns each
//! into one error naming the file and goes on with the next file; it never panics or aborts.
//! Also the stats a finalized file carries (`file_stats`), and that stream readers skip them.

use std::path::{Path, PathBuf};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_spool_storage::{
    Compression, FileReader, FileStore, Format, IpcStream, Signal, file_stats, traces_to_arrow,
};

use crate::files_util::{T0, clock, options};

fn request(service: &str, first: u64, spans: u64) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(Value::StringValue(service.into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: (first..first + spans)
                    .map(|i| Span {
                        trace_id: vec![(i % 251) as u8 + 1; 16],
                        span_id: (i + 1).to_le_bytes().to_vec(),
                        name: format!("span {i}"),
                        start_time_unix_nano: (T0 + i) * 1_000_000_000,
                        end_time_unix_nano: (T0 + i) * 1_000_000_000 + 5_000,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Two finalized traces files of three batches each (zstd or plain), oldest first.
fn two_files(dir: &Path, format: Format, compression: Compression) -> Vec<PathBuf> {
    let store = FileStore::open(
        options(dir, &clock())
            .format(format)
            .compression(compression)
            .build()
            .unwrap(),
    )
    .unwrap();
    let w = store.writer(Signal::Traces);
    for file in 0..2u64 {
        for b in 0..3u64 {
            let service = if file == 0 { "checkout" } else { "users" };
            w.write(traces_to_arrow(&request(service, file * 100 + b * 10, 10)).unwrap())
                .unwrap();
        }
        w.rotate().unwrap();
    }
    store.close().unwrap();
    FileReader::new(dir, Signal::Traces)
        .files()
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect()
}

/// Where the end-of-stream marker of a finalized IPC file starts (its stats follow it).
fn eos_at(bytes: &[u8]) -> usize {
    bytes
        .windows(8)
        .rposition(|w| w == [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])
        .unwrap()
}

/// Reads every batch; returns (rows read, error messages), panicking only if the reader did.
fn read_all(dir: &Path) -> (usize, Vec<String>) {
    let mut rows = 0;
    let mut errors = Vec::new();
    for b in FileReader::new(dir, Signal::Traces).requests().unwrap() {
        match b {
            Ok(otlp_spool_storage::OtlpRequest::Traces(r)) => {
                rows += r.resource_spans[0].scope_spans[0].spans.len();
            }
            Ok(_) => unreachable!(),
            Err(e) => errors.push(e.to_string()),
        }
    }
    (rows, errors)
}

#[test]
fn finalized_files_carry_their_stats_and_readers_skip_them() {
    for format in [Format::Arrow, Format::Parquet] {
        let tmp = tempfile::tempdir().unwrap();
        let files = two_files(tmp.path(), format, Compression::Zstd);
        let stats = file_stats(&files[0], format)
            .unwrap()
            .expect("stats stored");
        assert_eq!((stats.rows, stats.batches), (30, 3), "{format:?}");
        assert_eq!(stats.services, ["checkout"]);
        assert!(stats.services_complete);
        assert_eq!(stats.min_time, T0 * 1_000_000_000);
        assert_eq!(stats.max_time, (T0 + 29) * 1_000_000_000 + 5_000);
        let second = file_stats(&files[1], format).unwrap().unwrap();
        assert_eq!(second.services, ["users"]);
        // The trailer after the end-of-stream marker is invisible to the readers.
        assert_eq!(read_all(tmp.path()), (60, vec![]), "{format:?}");
        if format == Format::Arrow {
            let headers: u64 = IpcStream::open(&files[0], None)
                .unwrap()
                .headers_only()
                .map(|_| 1)
                .sum::<u64>();
            assert_eq!(headers, 0, "headers-only mode hands out no batches");
        }
    }
}

#[test]
fn a_file_without_stats_reads_as_none() {
    let tmp = tempfile::tempdir().unwrap();
    let files = two_files(tmp.path(), Format::Arrow, Compression::None);
    let bytes = std::fs::read(&files[0]).unwrap();
    // Cut the trailer: the stream still ends with its end-of-stream marker.
    let eos = eos_at(&bytes);
    std::fs::write(&files[0], &bytes[..eos + 8]).unwrap();
    assert_eq!(file_stats(&files[0], Format::Arrow).unwrap(), None);
    assert_eq!(read_all(tmp.path()), (60, vec![]));
}

#[test]
fn a_truncated_file_is_an_error_naming_it_and_the_next_file_is_read() {
    for compression in [Compression::None, Compression::Zstd, Compression::Lz4] {
        let tmp = tempfile::tempdir().unwrap();
        let files = two_files(tmp.path(), Format::Arrow, compression);
        let whole = std::fs::read(&files[0]).unwrap();
        let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
        for cut in (0..eos_at(&whole)).step_by(211) {
            std::fs::write(&files[0], &whole[..cut]).unwrap();
            let (rows, errors) = read_all(tmp.path());
            assert_eq!(errors.len(), 1, "cut at {cut}: {errors:?}");
            assert!(errors[0].contains(&name), "{}", errors[0]);
            // Complete batches before the cut, then every row of the second file.
            assert!((30..60).contains(&rows), "cut at {cut}: {rows}");
        }
    }
}

#[test]
fn flipped_bytes_never_panic_the_reader() {
    for compression in [Compression::None, Compression::Zstd] {
        let tmp = tempfile::tempdir().unwrap();
        let files = two_files(tmp.path(), Format::Arrow, compression);
        let whole = std::fs::read(&files[0]).unwrap();
        let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
        let mut failures = 0;
        for at in (0..whole.len()).step_by(61) {
            let mut bytes = whole.clone();
            bytes[at] ^= 0xA5;
            std::fs::write(&files[0], &bytes).unwrap();
            let (rows, errors) = read_all(tmp.path());
            failures += usize::from(!errors.is_empty());
            for e in &errors {
                assert!(e.contains(&name), "{e}");
            }
            assert!(rows >= 30, "the second file is always read whole");
        }
        assert!(failures > 0, "some flips hit headers");
    }
}

#[test]
fn messages_that_crashed_arrow_ipc_are_errors_in_finalized_files() {
    // The two inputs the `recovery` fuzz target found: a buffer offset past its body (a
    // panic in arrow-ipc) and a zstd buffer declaring 5 TB (an abort on the allocation).
    for bytes in [
        &include_bytes!("data/recovery-crash-5577eaec.bin")[..],
        &include_bytes!("data/recovery-crash-04fad206.bin")[..],
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("traces");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("traces-20261127T000000Z-000001.arrow");
        std::fs::write(&path, bytes).unwrap();
        let (_, errors) = read_all(tmp.path());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains("traces-20261127T000000Z-000001.arrow"),
            "{}",
            errors[0]
        );
    }
}

#[test]
fn a_damaged_parquet_file_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let files = two_files(tmp.path(), Format::Parquet, Compression::Zstd);
    let whole = std::fs::read(&files[0]).unwrap();
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    for cut in [0, 4, whole.len() / 2, whole.len() - 9, whole.len() - 1] {
        std::fs::write(&files[0], &whole[..cut]).unwrap();
        let (rows, errors) = read_all(tmp.path());
        assert_eq!((rows, errors.len()), (30, 1), "cut at {cut}: {errors:?}");
        assert!(errors[0].contains(&name), "{}", errors[0]);
        assert!(file_stats(&files[0], Format::Parquet).is_err());
    }
    for at in (0..whole.len()).step_by(97) {
        let mut bytes = whole.clone();
        bytes[at] ^= 0xA5;
        std::fs::write(&files[0], &bytes).unwrap();
        let (rows, errors) = read_all(tmp.path());
        assert!(rows >= 30, "flip at {at}: {errors:?}");
        for e in &errors {
            assert!(e.contains(&name), "{e}");
        }
    }
}
