//! The binary's shutdown contract, with real faults: writes that fail because the process may
//! not grow a file (`ulimit -f`, as a full disk would), and a forward remote that never
//! answers. A shutdown that loses acknowledged data logs the counts and exits 2; a second
//! signal exits at once with 130 / 143; `shutdown_timeout` bounds the whole shutdown, the
//! forwarder included. (Exit 0 for a clean stop: `shutdown.rs`; exit 1 for start-up errors:
//! `cli.rs`.)

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::contained::{get, sample};
use crate::support::{Server, binary, serve_args};
use crate::traffic::{post, request};

/// The binary under `ulimit -f 2` (1 KiB per file; SIGXFSZ ignored, so a write past it fails
/// with EFBIG): every data file write fails, the lock file still works.
fn start_with_failing_writes(dir: &Path, extra: &[&str]) -> Server {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(r#"trap '' XFSZ; ulimit -f 2 || exit 97; exec "$0" "$@""#)
        .arg(binary())
        .args(serve_args(dir))
        .args(extra);
    Server::spawn(command)
}

/// Sends one request of 20 spans and waits until the traces writer has failed three times.
async fn acknowledge_then_fail(server: &Server) {
    let client = reqwest::Client::new();
    let answer = post(&client, server.http, &request(1, 20)).await.unwrap();
    assert_eq!(answer.status, 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, page) = get(server.http, "/metrics").await;
        if sample(&page, "otlp_spool_write_errors_total{signal=\"traces\"}") >= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "writes never failed:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, body) = get(server.http, "/health").await;
    assert_eq!(status, 503);
    assert!(body.contains("traces_writer"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_that_loses_acknowledged_data_logs_the_counts_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_with_failing_writes(dir.path(), &["--shutdown-timeout", "2s"]);
    acknowledge_then_fail(&server).await;
    let started = Instant::now();
    let (status, log) = tokio::task::spawn_blocking(move || {
        server.signal("TERM");
        let status = server.wait(Duration::from_secs(30));
        (status, server.log())
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(2), "{log}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(
        log.contains("acknowledged data was lost")
            && log.contains("dropped 20 traces (write_failed_at_shutdown)"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once_with_130_or_143_logging_what_was_abandoned() {
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let dir = tempfile::tempdir().unwrap();
        // The first signal starts a shutdown that would retry the failing write for a minute.
        let mut server = start_with_failing_writes(dir.path(), &["--shutdown-timeout", "60s"]);
        acknowledge_then_fail(&server).await;
        let (status, log, took) = tokio::task::spawn_blocking(move || {
            server.signal(signal);
            // The second signal must land during the shutdown the first one started: wait
            // for the service to say it began (bounded), not for a guessed time.
            let deadline = Instant::now() + Duration::from_secs(30);
            while !server.log().contains("shutting down: draining buffers") {
                assert!(
                    Instant::now() < deadline,
                    "no shutdown began:\n{}",
                    server.log()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            let started = Instant::now();
            server.signal(signal);
            let status = server.wait(Duration::from_secs(30));
            (status, server.log(), started.elapsed())
        })
        .await
        .unwrap();
        assert_eq!(status.code(), Some(code), "{log}");
        assert!(took < Duration::from_secs(3), "{took:?}");
        assert!(
            log.contains("second signal: exiting at once") && log.contains("lanes: 20 traces"),
            "{log}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_timeout_bounds_the_forwarder_too() {
    // A remote that accepts TCP connections (the kernel does) and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let remote = format!("http://{}", silent.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &["--forward-endpoint", &remote, "--shutdown-timeout", "3s"],
    );
    let client = reqwest::Client::new();
    let answer = post(&client, server.http, &request(1, 20)).await.unwrap();
    assert_eq!(answer.status, 200);
    let started = Instant::now();
    let (status, log) = server.terminated().await;
    let took = started.elapsed();
    // The forwarder used to get a fixed 10 s on top of the lanes' 30 s.
    assert!(took < Duration::from_secs(7), "{took:?}\n{log}");
    // What the remote did not take is kept in the forward spool for the next start, not
    // lost (it used to be dropped at the deadline, exit code 2).
    assert_eq!(
        status.code(),
        Some(0),
        "the forwarder kept its copy:\n{log}"
    );
    assert!(log.contains("forwarder kept 20"), "{log}");
    assert!(dir.path().join("forward-spool").is_dir(), "{log}");
    // The local files have everything.
    assert_eq!(crate::traffic::stored_ids(dir.path()).len(), 20);
    drop(silent);
}
