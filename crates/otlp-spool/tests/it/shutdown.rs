//! SIGTERM to the real binary while clients send: exit code 0, no temporary file left, and every
//! acknowledged span in a finalized file (nothing acknowledged lost, nothing stored twice).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{Server, files};
use crate::traffic::{ids, post, request, stored_ids};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_keeps_every_acknowledged_item() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]);
    let http = server.http;
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    // SIGTERM goes out once the load is under way: after this many acknowledged requests.
    let under_way = Arc::new(tokio::sync::Semaphore::new(0));
    let mut senders = tokio::task::JoinSet::new();
    for client_id in 0..4u32 {
        let acknowledged = acknowledged.clone();
        let under_way = under_way.clone();
        senders.spawn(async move {
            let client = reqwest::Client::new();
            // Bounded: at most 2000 requests per client, and stop at the first refusal.
            for n in 0..2000u32 {
                let req = request(client_id * 100_000 + n, 50);
                match post(&client, http, &req).await {
                    Ok(a) if a.status == 200 => {
                        acknowledged.lock().unwrap().extend(ids(&req));
                        under_way.add_permits(1);
                    }
                    Ok(a) if a.status == 503 => tokio::time::sleep(Duration::from_millis(20)).await,
                    _ => break, // connection refused or reset: the server is going away
                }
            }
        });
    }
    // Every client keeps sending after this: the signal lands in the middle of the load.
    tokio::time::timeout(Duration::from_secs(60), under_way.acquire_many(40))
        .await
        .unwrap_or_else(|_| panic!("40 requests were not acknowledged:\n{}", server.log()))
        .unwrap()
        .forget();
    let before = acknowledged.lock().unwrap().len();
    assert!(
        before > 0,
        "no request was acknowledged before SIGTERM:\n{}",
        server.log()
    );
    let status = tokio::task::spawn_blocking(move || {
        let status = server.terminate();
        (status, server.log())
    })
    .await
    .unwrap();
    tokio::time::timeout(Duration::from_secs(60), async {
        while senders.join_next().await.is_some() {}
    })
    .await
    .expect("senders stop once the server is gone");
    assert!(
        status.0.success(),
        "exit status {:?}\n{}",
        status.0,
        status.1
    );

    for signal in ["traces", "metrics", "logs"] {
        let (_, tmp) = files(dir.path(), signal);
        assert!(
            tmp.is_empty(),
            "temporary files left after shutdown: {tmp:?}"
        );
    }
    let stored = stored_ids(dir.path());
    let acknowledged = acknowledged.lock().unwrap();
    let missing: Vec<_> = acknowledged.difference(&stored).take(5).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:x?} ..."
    );
    assert!(stored.len() >= acknowledged.len());
}

/// A receiver that cannot drain in time (a client trickling its body holds a connection) does
/// not skip the rest of the shutdown: the lanes still drain, every acknowledged span is stored,
/// and the whole shutdown stays within `shutdown_timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_cannot_drain_does_not_skip_draining_the_lanes() {
    use tokio::io::AsyncWriteExt;
    tokio::time::timeout(Duration::from_secs(60), async {
        let mut config = otlp_spool::config::Config::default();
        config.shutdown_timeout = otlp_spool::config::HumanDuration(Duration::from_secs(2));
        config.receiver.read_timeout = otlp_spool::config::HumanDuration(Duration::from_secs(60));
        let (spool, http, dir) = crate::contained::served(config).await;
        let client = reqwest::Client::new();
        let req = request(1, 50);
        assert_eq!(post(&client, http, &req).await.unwrap().status, 200);
        // Headers, then one byte of a body that never completes.
        let open_before = spool.held().open_connections;
        let mut slow = tokio::net::TcpStream::connect(http).await.unwrap();
        slow.write_all(b"POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-protobuf\r\ncontent-length: 100\r\n\r\n!")
            .await
            .unwrap();
        // The server holds the slow connection and its request has reached the handler (the
        // head is parsed, the body is being read) before shutdown starts: a connection that is
        // only accepted has no request in flight, and a graceful shutdown may close it at once.
        let series = r#"otlp_spool_receiver_requests_total{transport="http",signal="traces"}"#;
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let (_, page) = crate::contained::get(http, "/metrics").await;
                if spool.held().open_connections > open_before
                    && crate::contained::sample(&page, series) >= 2
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the slow request reaches its handler");

        let started = std::time::Instant::now();
        let report = spool.shutdown().await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
        assert!(report.timed_out, "{report}");
        assert_eq!(report.dropped_connections, 1, "{report}");
        assert!(!report.lost_data(), "{report}");
        let stored = stored_ids(dir.path());
        assert_eq!(stored, ids(&req).into_iter().collect::<BTreeSet<_>>());
        for signal in ["traces", "metrics", "logs"] {
            assert!(files(dir.path(), signal).1.is_empty(), "temporary files left");
        }
    })
    .await
    .expect("test timed out");
}
