//! Issue 11, scenario 2, against the real binary: 400 HTTP connections that send their headers
//! and then trickle the body one byte every 2 s, plus 200 idle TCP connections on the gRPC
//! port. A normal OTLP/HTTP export and a normal gRPC export are served within a second among
//! them; the server closes every slow and idle connection within its timeouts; SIGTERM then
//! exits 0 within the shutdown timeout.
//!
//! The timeouts are shortened in this test's config so it stays bounded: `read_header_timeout`
//! 3s (default 10s), `read_timeout` 5s (default 30s), `shutdown_timeout` 10s (default 30s).
//! The mechanism is the same at the defaults, only slower to shed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use otlp_spool_core::proto::collector::trace::v1::trace_service_client::TraceServiceClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::contained::{get, sample};
use crate::support::Server;
use crate::traffic::{post, request};

const SLOW_HTTP: usize = 400;
const IDLE_GRPC: usize = 200;

/// Makes sure this process may open the sockets (each side of every connection is ours or the
/// server's child process: about 600 here plus the test harness's own).
fn raise_fd_limit(wanted: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read or write the struct passed by pointer, nothing else.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted.min(limit.rlim_max);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
    }
    assert!(
        limit.rlim_cur >= wanted,
        "the open files limit {} is below {wanted}",
        limit.rlim_cur
    );
}

/// One slow client: headers, then one body byte every 2 s until the server closes.
async fn trickle(http: std::net::SocketAddr, closed: Arc<AtomicUsize>) {
    let Ok(mut conn) = TcpStream::connect(http).await else {
        return;
    };
    let head = "POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-protobuf\r\ncontent-length: 1000\r\n\r\n";
    if conn.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let mut buf = [0u8; 1024];
    loop {
        tokio::select! {
            read = conn.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(_) => continue, // the 408 answer; the close follows
            },
            () = tokio::time::sleep(Duration::from_secs(2)) => {
                if conn.write_all(b"x").await.is_err() {
                    break;
                }
            }
        }
    }
    closed.fetch_add(1, Ordering::SeqCst);
}

/// One idle client: connects and says nothing until the server closes.
async fn idle(grpc: std::net::SocketAddr, closed: Arc<AtomicUsize>) {
    let Ok(mut conn) = TcpStream::connect(grpc).await else {
        return;
    };
    let mut buf = [0u8; 64];
    while let Ok(n) = conn.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
    closed.fetch_add(1, Ordering::SeqCst);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normal_clients_are_served_among_slow_ones_which_are_shed_and_sigterm_is_bounded() {
    raise_fd_limit(4096);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("otlp-spool.yaml");
    std::fs::write(
        &config,
        "receiver: { read_header_timeout: 3s, read_timeout: 5s }\nshutdown_timeout: 10s\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--config", config.to_str().unwrap()]);
    let (http, grpc) = (server.http, server.grpc);

    tokio::time::timeout(Duration::from_secs(90), async {
        let closed_http = Arc::new(AtomicUsize::new(0));
        let closed_grpc = Arc::new(AtomicUsize::new(0));
        let mut clients = tokio::task::JoinSet::new();
        let opened = Instant::now();
        for _ in 0..SLOW_HTTP {
            clients.spawn(trickle(http, closed_http.clone()));
        }
        for _ in 0..IDLE_GRPC {
            clients.spawn(idle(grpc, closed_grpc.clone()));
        }
        // Every slow connection is open (and none shed yet) before the normal clients come.
        loop {
            let (_, page) = get(http, "/metrics").await;
            // The metrics request itself is one more connection.
            if sample(&page, "otlp_spool_receiver_open_connections")
                > (SLOW_HTTP + IDLE_GRPC) as u64
            {
                break;
            }
            assert!(
                opened.elapsed() < Duration::from_secs(2),
                "slow clients not connected in time:\n{page}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            closed_http.load(Ordering::SeqCst) + closed_grpc.load(Ordering::SeqCst),
            0
        );

        let started = Instant::now();
        let client = reqwest::Client::new();
        let answer = post(&client, http, &request(1, 20)).await.unwrap();
        assert_eq!(answer.status, 200);
        let http_took = started.elapsed();
        let started = Instant::now();
        let mut grpc_client = TraceServiceClient::connect(format!("http://{grpc}"))
            .await
            .unwrap();
        grpc_client.export(request(2, 20)).await.unwrap();
        let grpc_took = started.elapsed();
        assert!(
            http_took < Duration::from_secs(1),
            "OTLP/HTTP took {http_took:?}"
        );
        assert!(
            grpc_took < Duration::from_secs(1),
            "OTLP/gRPC took {grpc_took:?}"
        );
        drop(grpc_client);

        // The server sheds them all: idle ones at read_header_timeout (3 s), slow bodies at
        // read_timeout (5 s after their headers) with a 408, all well before the test's bound.
        while clients.join_next().await.is_some() {}
        let shed_in = opened.elapsed();
        assert_eq!(closed_http.load(Ordering::SeqCst), SLOW_HTTP);
        assert_eq!(closed_grpc.load(Ordering::SeqCst), IDLE_GRPC);
        assert!(shed_in < Duration::from_secs(12), "shed in {shed_in:?}");
        let (_, page) = get(http, "/metrics").await;
        assert_eq!(
            sample(
                &page,
                "otlp_spool_receiver_rejected_requests_total{reason=\"timeout\"}"
            ),
            SLOW_HTTP as u64
        );
        assert!(
            sample(
                &page,
                "otlp_spool_receiver_connections_closed_total{reason=\"read_header_timeout\"}"
            ) >= IDLE_GRPC as u64
        );
        assert_eq!(
            sample(
                &page,
                "otlp_spool_receiver_rejected_requests_total{reason=\"too_many_requests\"}"
            ),
            0,
            "the slow bodies never held a concurrency slot"
        );
        assert_eq!(
            sample(&page, "otlp_spool_accepted_items_total{signal=\"traces\"}"),
            40
        );
    })
    .await
    .expect("scenario 2 timed out");

    let started = Instant::now();
    let (status, log) = server.terminated().await;
    assert!(status.success(), "{status:?}\n{log}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(crate::traffic::stored_ids(&data).len(), 40);
}
