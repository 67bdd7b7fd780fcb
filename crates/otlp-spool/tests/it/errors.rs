//! The embedded API's errors are typed: each says which operation failed and keeps what it came
//! from as its `source()`, with the messages users see unchanged.

use std::error::Error as _;

use otlp_spool::{FlushError, ServeError, Spool, SpoolError, StartError};
use otlp_spool_storage::OpenError;

async fn spool(dir: &std::path::Path) -> Result<Spool, SpoolError> {
    Spool::builder().output_dir(dir).build().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_directory_is_a_start_error_with_the_storage_error_as_source() {
    let dir = tempfile::tempdir().unwrap();
    let first = spool(dir.path()).await.unwrap();
    let err = spool(dir.path()).await.unwrap_err();
    assert!(
        err.to_string().starts_with("config key `output_dir`: "),
        "{err}"
    );
    assert!(err.to_string().contains("already in use"), "{err}");
    let SpoolError::Start(StartError::Storage(OpenError::Locked { .. })) = &err else {
        panic!("{err:?}");
    };
    // `Start` is transparent: its source is the storage error itself.
    let source = err.source().expect("the storage error");
    assert!(source.downcast_ref::<OpenError>().is_some(), "{source:?}");
    first.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_after_shutdown_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let spool = spool(dir.path()).await.unwrap();
    spool.shutdown().await.unwrap();
    let err = spool.flush().await.unwrap_err();
    assert!(
        matches!(err, SpoolError::Flush(FlushError::ShutDown)),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "the pipeline is shut down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_errors_name_their_cause() {
    let dir = tempfile::tempdir().unwrap();
    let spool = spool(dir.path()).await.unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let err = spool.serve_at(addr, addr).await.unwrap_err();
    assert!(
        matches!(err, SpoolError::Serve(ServeError::SamePort(a)) if a == addr),
        "{err:?}"
    );
    assert!(err.to_string().contains("different ports"), "{err}");

    let free = "127.0.0.1:0".parse().unwrap();
    let err = spool.serve_at(free, addr).await.unwrap_err();
    let SpoolError::Serve(ServeError::Bind(bind)) = &err else {
        panic!("{err:?}");
    };
    let os = bind.source().expect("the OS error");
    assert!(os.downcast_ref::<std::io::Error>().is_some(), "{os:?}");
    assert!(
        err.to_string().starts_with("serving OTLP: cannot bind"),
        "{err}"
    );

    spool.serve_at(free, free).await.unwrap();
    let err = spool.serve_at(free, free).await.unwrap_err();
    assert!(
        matches!(err, SpoolError::Serve(ServeError::AlreadyServing)),
        "{err:?}"
    );
    spool.shutdown().await.unwrap();
}
