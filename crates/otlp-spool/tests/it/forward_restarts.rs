//! Forwarding across restarts with the remote down (issue 14), real binaries on loopback: the
//! sender is a `otlp-spool serve` forwarding over gRPC to a second `otlp-spool serve` that is
//! not running yet. In `wal` mode the sender is stopped gracefully and then SIGKILLed under
//! load, in memory mode stopped gracefully twice; once the remote comes up, every span the
//! sender acknowledged reaches it (at least once: duplicates only for batches in flight at a
//! kill, counted as redelivered). And a remote that stays down does not stop a `wal` sender:
//! retention skips what the forwarder could not send, counted, and clients keep getting 200.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::contained::{get, sample};
use crate::support::{Server, binary};
use crate::traffic::{ids, post, request, stored_ids};

/// A loopback port nothing listens on (bound once by the OS, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The sender's configuration: forwarding to `remote` with short backoffs, so that delivery
/// resumes within a second of the remote coming up.
fn sender_config(dir: &Path, durability: &str, remote: u16, wal: &str) -> String {
    let path = dir.join(format!("sender-{durability}.yaml"));
    std::fs::write(
        &path,
        format!(
            "durability: {durability}\n\
             {wal}\
             shutdown_timeout: 2s\n\
             storage:\n  rotate_age: 1s\n\
             forward:\n  endpoint: http://127.0.0.1:{remote}\n  protocol: grpc\n  timeout: 1s\n\
             \x20 retry: {{ initial_backoff: 50ms, max_backoff: 300ms }}\n\
             \x20 breaker: {{ open_duration: 100ms, max_open_duration: 300ms }}\n"
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

fn start_sender(dir: &Path, config: &str) -> Server {
    Server::start(dir, &["--config", config])
}

/// The remote, on the fixed gRPC port the sender forwards to.
fn start_remote(dir: &Path, grpc: u16) -> Server {
    let mut command = Command::new(binary());
    command.args(["serve", "--grpc-addr"]);
    command.arg(format!("127.0.0.1:{grpc}"));
    command.args(["--http-addr", "127.0.0.1:0", "--output-dir"]);
    command.arg(dir);
    Server::spawn(command)
}

/// Sends `requests` 20-span requests numbered from `first`; the span ids acknowledged.
async fn send(server: &Server, first: u32, requests: u32) -> BTreeSet<u64> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut acked = BTreeSet::new();
    for n in first..first + requests {
        let req = request(n, 20);
        if matches!(post(&client, server.http, &req).await, Ok(a) if a.status == 200) {
            acked.extend(ids(&req));
        }
    }
    acked
}

/// Polls the remote until it accepted at least `want` spans (at most `within`).
async fn remote_accepts(remote: &Server, want: usize, within: Duration) -> u64 {
    let deadline = Instant::now() + within;
    loop {
        let (_, page) = get(remote.http, "/metrics").await;
        let got = sample(&page, "otlp_spool_accepted_items_total{signal=\"traces\"}");
        if got >= want as u64 || Instant::now() >= deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn terminate(mut server: Server) -> (std::process::ExitStatus, String) {
    tokio::task::spawn_blocking(move || {
        let status = server.terminate();
        (status, server.log())
    })
    .await
    .unwrap()
}

/// The scenario in `wal` mode: remote down; the sender takes load and is stopped
/// gracefully; started again, takes load and is SIGKILLed; started a third time; then the
/// remote comes up, and everything acknowledged arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wal_mode_delivers_everything_accepted_across_a_graceful_restart_and_a_kill() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let tmp = tempfile::tempdir().unwrap();
        let (sender_dir, remote_dir) = (tmp.path().join("sender"), tmp.path().join("remote"));
        let port = free_port();
        let config = sender_config(tmp.path(), "wal", port, "");

        let sender = start_sender(&sender_dir, &config);
        let mut acked = send(&sender, 1, 30).await;
        let (status, log) = terminate(sender).await;
        assert!(status.success(), "a graceful stop with the remote down exits 0:\n{log}");
        assert!(log.contains("forwarder kept"), "the report says what was kept:\n{log}");

        let sender = start_sender(&sender_dir, &config);
        acked.extend(send(&sender, 1_000, 30).await);
        drop(sender); // SIGKILL

        let sender = start_sender(&sender_dir, &config);
        acked.extend(send(&sender, 2_000, 10).await);
        assert_eq!(acked.len(), 70 * 20, "every request was acknowledged");
        let remote = start_remote(&remote_dir, port);
        let got = remote_accepts(&remote, acked.len(), Duration::from_secs(60)).await;
        assert!(got >= acked.len() as u64, "the remote accepted {got} of {}", acked.len());
        let (_, page) = get(sender.http, "/metrics").await;
        let redelivered = sample(&page, "otlp_spool_forward_redelivered_items_total");
        let (status, log) = terminate(sender).await;
        assert!(status.success(), "{log}");
        let (status, log) = terminate(remote).await;
        assert!(status.success(), "{log}");
        let stored = stored_ids(&remote_dir);
        let missing: Vec<_> = acked.difference(&stored).take(5).collect();
        assert!(missing.is_empty(), "acknowledged, never forwarded: {missing:x?} ...");
        eprintln!(
            "wal forwarding across restarts: {} spans acknowledged, {got} accepted by the remote ({} duplicates), {redelivered} counted as redelivered",
            acked.len(),
            got - acked.len() as u64
        );
        assert!(
            got - acked.len() as u64 <= redelivered,
            "every duplicate is a counted redelivery"
        );
    })
    .await
    .expect("test timed out");
}

/// Memory mode: remote down, two graceful restarts; what the forwarder held goes to the
/// forward spool at each shutdown and is sent once the remote is up; the spool then goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_mode_keeps_the_forward_queue_across_graceful_restarts() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let tmp = tempfile::tempdir().unwrap();
        let (sender_dir, remote_dir) = (tmp.path().join("sender"), tmp.path().join("remote"));
        let port = free_port();
        let config = sender_config(tmp.path(), "memory", port, "");
        let mut acked = BTreeSet::new();
        for round in 0..2 {
            let sender = start_sender(&sender_dir, &config);
            acked.extend(send(&sender, 1 + round * 1_000, 25).await);
            let (status, log) = terminate(sender).await;
            assert!(
                status.success(),
                "round {round}: exit 0 (kept, not lost):\n{log}"
            );
            assert!(log.contains("forward spool"), "round {round}:\n{log}");
            assert!(sender_dir.join("forward-spool").is_dir());
        }
        let sender = start_sender(&sender_dir, &config);
        let remote = start_remote(&remote_dir, port);
        let got = remote_accepts(&remote, acked.len(), Duration::from_secs(60)).await;
        assert_eq!(got, acked.len() as u64, "everything kept is sent once");
        // The spool is removed once everything in it was delivered.
        let deadline = Instant::now() + Duration::from_secs(10);
        let spool = sender_dir.join("forward-spool");
        while std::fs::read_dir(&spool).is_ok_and(|mut d| d.next().is_some())
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            std::fs::read_dir(&spool).is_ok_and(|mut d| d.next().is_none()),
            "the forward spool is gone once sent"
        );
        let (status, log) = terminate(sender).await;
        assert!(status.success(), "{log}");
        let (status, log) = terminate(remote).await;
        assert!(status.success(), "{log}");
        assert_eq!(stored_ids(&remote_dir), acked);
        assert_eq!(
            stored_ids(&sender_dir),
            acked,
            "local files hold everything too"
        );
    })
    .await
    .expect("test timed out");
}

/// A spool kept for an endpoint that is then configured away is named in a warning at every
/// start and left on disk, unsent and undeleted (configuring that endpoint again sends it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spool_of_an_endpoint_no_longer_configured_is_named_and_kept() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let tmp = tempfile::tempdir().unwrap();
        let sender_dir = tmp.path().join("sender");
        let first = sender_config(tmp.path(), "memory", free_port(), "");
        let sender = start_sender(&sender_dir, &first);
        assert!(!send(&sender, 1, 5).await.is_empty());
        let (status, log) = terminate(sender).await;
        assert!(status.success(), "{log}");
        let spools = || {
            std::fs::read_dir(sender_dir.join("forward-spool"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect::<Vec<_>>()
        };
        let kept = spools();
        assert_eq!(kept.len(), 1, "one spool, for the first endpoint");

        // Now forwarding elsewhere: the first endpoint's spool is named, not sent, not removed.
        let other_dir = tmp.path().join("other");
        std::fs::create_dir_all(&other_dir).unwrap();
        let second = sender_config(&other_dir, "memory", free_port(), "");
        let sender = start_sender(&sender_dir, &second);
        let (status, log) = terminate(sender).await;
        assert!(status.success(), "{log}");
        assert!(log.contains("not configured now"), "{log}");
        assert!(log.contains(&kept[0].display().to_string()), "{log}");
        assert!(spools().contains(&kept[0]), "left on disk");
    })
    .await
    .expect("test timed out");
}

/// A remote that stays down does not turn a `wal` sender's answers into 503s for good: once
/// the log is 90% full, retention skips what the forwarder has not read (counted), the
/// file writer keeps up, and clients keep getting 200; local files hold everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_down_for_long_costs_forwarded_data_not_ingestion() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let tmp = tempfile::tempdir().unwrap();
        let sender_dir = tmp.path().join("sender");
        let port = free_port();
        let config = sender_config(
            tmp.path(),
            "wal",
            port,
            "wal:\n  max_bytes: 1MiB\n  segment_bytes: 64KiB\n",
        );
        let sender = start_sender(&sender_dir, &config);
        let client = reqwest::Client::new();
        let mut acked = BTreeSet::new();
        let (mut refused, mut n) = (0u32, 0u32);
        // About 3 MiB of requests through a 1 MiB log.
        while acked.len() < 1_000 * 20 {
            let req = request(n, 20);
            n += 1;
            let answer = post(&client, sender.http, &req).await.unwrap();
            if answer.status == 200 {
                acked.extend(ids(&req));
            } else {
                assert_eq!(answer.status, 503, "{}", answer.body);
                refused += 1;
                assert!(refused < 2_000, "the sender keeps refusing: retention does not make room");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let (_, page) = get(sender.http, "/metrics").await;
        let shed = sample(&page, "otlp_spool_forward_shed_items_total");
        assert!(shed > 0, "retention skipped undelivered items, counted:\n{page}");
        let (status, log) = terminate(sender).await;
        assert!(status.success(), "{log}");
        assert!(log.contains("records not yet forwarded are skipped"), "{log}");
        assert_eq!(stored_ids(&sender_dir), acked, "the files hold everything acknowledged");
        eprintln!("remote down: {} spans acknowledged through a 1 MiB log, {refused} requests answered 503 on the way, {shed} spans never forwarded (counted)", acked.len());
    })
    .await
    .expect("test timed out");
}
