//! `read_signal`: finalized files of a signal, written through the facade's `Spool`.

use std::time::Duration;

use otlp_spool_core::{Signal, Telemetry};
use otlp_spool_python::{load_config, read_signal};

use crate::requests::traces;

#[test]
fn an_empty_directory_reads_as_no_batches_of_the_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    let (schema, batches) = read_signal(dir.path(), Signal::Logs).unwrap();
    assert!(batches.is_empty());
    assert_eq!(schema, otlp_spool_storage::schema(Signal::Logs));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_spool_accepted_reads_back_after_a_flush() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let dir = tempfile::tempdir().unwrap();
        let config = load_config(dir.path(), None, &[]).unwrap();
        let spool = otlp_spool::Spool::builder()
            .config(config)
            .build()
            .await
            .unwrap();
        spool.sink().accept(Telemetry::from(traces(3))).unwrap();
        spool.sink().accept(Telemetry::from(traces(2))).unwrap();
        spool.flush().await.unwrap();
        let (schema, batches) = read_signal(dir.path(), Signal::Traces).unwrap();
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, 5);
        assert!(
            batches
                .iter()
                .all(|b| b.schema().fields() == schema.fields())
        );
        spool
            .shutdown_within(Duration::from_secs(10))
            .await
            .unwrap();
        let (_, after) = read_signal(dir.path(), Signal::Traces).unwrap();
        assert_eq!(after.iter().map(|b| b.num_rows()).sum::<usize>(), 5);
    })
    .await
    .expect("bounded in time");
}

#[test]
fn exit_codes_are_read_back_as_numbers() {
    use std::process::ExitCode;
    assert_eq!(otlp_spool_python::exit_status(ExitCode::SUCCESS), 0);
    assert_eq!(otlp_spool_python::exit_status(ExitCode::from(2)), 2);
    assert_eq!(otlp_spool_python::exit_status(ExitCode::from(143)), 143);
}

/// A damaged finalized file (cut short, or holding a message that crashed arrow-ipc) is an
/// error of `read` that names the file, never a panic or an abort of the Python process.
#[test]
fn a_damaged_file_is_an_error_naming_it() {
    use otlp_spool_storage::{FileStore, StoreOptions, traces_to_arrow};
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(StoreOptions::builder(dir.path()).build().unwrap()).unwrap();
    store
        .writer(Signal::Traces)
        .write(traces_to_arrow(&traces(4)).unwrap())
        .unwrap();
    store.close().unwrap();
    assert_eq!(read_signal(dir.path(), Signal::Traces).unwrap().1.len(), 1);
    let file = std::fs::read_dir(dir.path().join("traces"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "arrow"))
        .unwrap();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let whole = std::fs::read(&file).unwrap();
    let crash =
        include_bytes!("../../../otlp-spool-storage/tests/it/data/recovery-crash-04fad206.bin");
    for damaged in [&whole[..whole.len() / 2], &crash[..]] {
        std::fs::write(&file, damaged).unwrap();
        let err = read_signal(dir.path(), Signal::Traces)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&name), "{err}");
    }
}
