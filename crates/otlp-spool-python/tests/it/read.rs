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
