//! Connection hygiene against real sockets: silent, slow-header, slow-body, idle and TLS-silent
//! clients are shed within their timeouts (and counted), a slow body never holds the
//! concurrency slot a normal client needs, `max_connections` refuses the excess at once, HTTP/2
//! announces its stream cap and pings, and `shutdown_within` is bounded. Timeouts are shortened
//! to fractions of a second so every test stays short.

use std::time::{Duration, Instant};

use bytes::Bytes;
use otlp_spool_receiver::{CloseReason, Health, ServeError, Signal, Transport};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Every hygiene test runs under this bound.
async fn bounded<F: std::future::Future<Output = ()>>(test: F) {
    tokio::time::timeout(Duration::from_secs(60), test)
        .await
        .expect("test timed out");
}

/// Reads (and discards) until the server closes the connection; how long that took, or
/// `None` if it was still open after `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.checked_sub(start.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => continue,
        }
    }
}

/// Reads until the end of a response head; the status code.
async fn read_status(stream: &mut TcpStream) -> u16 {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.unwrap();
        assert_eq!(n, 1, "connection closed before a response: {head:?}");
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head);
    text.split(' ').nth(1).unwrap().parse().unwrap()
}

fn export_head(len: usize) -> String {
    format!(
        "POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-protobuf\r\ncontent-length: {len}\r\n\r\n"
    )
}

fn body() -> Vec<u8> {
    traces(vec![good_span(1, "hygiene")]).encode_to_vec()
}

/// A kept-alive connection that has had one request answered 200.
async fn answered(server: &Server) -> TcpStream {
    let mut conn = TcpStream::connect(server.http()).await.unwrap();
    let b = body();
    conn.write_all(export_head(b.len()).as_bytes())
        .await
        .unwrap();
    conn.write_all(&b).await.unwrap();
    assert_eq!(read_status(&mut conn).await, 200);
    conn
}

/// A connection that sent a request head and one byte of its body.
async fn slow_body(server: &Server) -> TcpStream {
    let b = body();
    let mut slow = TcpStream::connect(server.http()).await.unwrap();
    slow.write_all(export_head(b.len()).as_bytes())
        .await
        .unwrap();
    slow.write_all(&b[..1]).await.unwrap();
    slow
}

fn closed(server: &Server, reason: CloseReason) -> u64 {
    server.running.metrics().connections_closed(reason)
}

#[tokio::test]
async fn a_silent_connection_is_closed_at_read_header_timeout_on_both_ports() {
    bounded(async {
        let server = start_with(
            builder()
                .read_header_timeout(Duration::from_millis(300))
                .idle_timeout(Duration::from_secs(30)),
        )
        .await;
        for addr in [server.http(), server.grpc()] {
            let mut silent = TcpStream::connect(addr).await.unwrap();
            let took = closed_within(&mut silent, Duration::from_secs(5))
                .await
                .expect("a silent connection is closed");
            assert!(took >= Duration::from_millis(250), "{took:?}");
        }
        assert_eq!(closed(&server, CloseReason::ReadHeaderTimeout), 2);
        // The page shows it.
        let page = send(client().get(server.http_url("/metrics"))).await.text();
        assert!(
            page.contains(
                "otlp_spool_receiver_connections_closed_total{reason=\"read_header_timeout\"} 2"
            ),
            "{page}"
        );
    })
    .await;
}

#[tokio::test]
async fn slow_headers_are_cut_at_read_header_timeout_even_on_a_kept_alive_connection() {
    bounded(async {
        let server = start_with(
            builder()
                .read_header_timeout(Duration::from_millis(400))
                .idle_timeout(Duration::from_secs(30)),
        )
        .await;
        // First request: headers trickled one byte every 100 ms never finish in time.
        let mut slow = TcpStream::connect(server.http()).await.unwrap();
        let start = Instant::now();
        for byte in export_head(10).bytes() {
            if slow.write_all(&[byte]).await.is_err() || start.elapsed() > Duration::from_secs(5) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        assert!(
            closed_within(&mut slow, Duration::from_secs(2))
                .await
                .is_some()
        );

        // A second request on a kept-alive connection: one full request, then a head that
        // starts and never ends.
        let mut conn = answered(&server).await;
        conn.write_all(b"POST /v1/tra").await.unwrap();
        let took = closed_within(&mut conn, Duration::from_secs(5)).await;
        assert!(took.is_some_and(|t| t < Duration::from_secs(2)), "{took:?}");
        assert_eq!(closed(&server, CloseReason::ReadHeaderTimeout), 2);
    })
    .await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_idle_timeout_not_at_the_header_timeout() {
    bounded(async {
        let server = start_with(
            builder()
                .read_header_timeout(Duration::from_millis(200))
                .idle_timeout(Duration::from_millis(1200)),
        )
        .await;
        let mut conn = answered(&server).await;
        let took = closed_within(&mut conn, Duration::from_secs(10))
            .await
            .expect("closed when idle");
        assert!(
            took >= Duration::from_millis(1000) && took < Duration::from_secs(4),
            "{took:?}"
        );
        assert_eq!(closed(&server, CloseReason::IdleTimeout), 1);
        assert_eq!(closed(&server, CloseReason::ReadHeaderTimeout), 0);
    })
    .await;
}

/// Raw HTTP/2: the client preface and an empty SETTINGS frame.
async fn h2_connect(server: &Server) -> TcpStream {
    let mut conn = TcpStream::connect(server.grpc()).await.unwrap();
    conn.write_all(PREFACE).await.unwrap();
    conn.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap();
    conn
}

/// Reads one HTTP/2 frame: (type, flags, payload); `None` at the end of the connection.
async fn h2_frame(conn: &mut TcpStream) -> Option<(u8, u8, Vec<u8>)> {
    let mut header = [0u8; 9];
    conn.read_exact(&mut header).await.ok()?;
    let len = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
    let mut payload = vec![0u8; len];
    conn.read_exact(&mut payload).await.ok()?;
    Some((header[3], header[4], payload))
}

const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;

#[tokio::test]
async fn http2_announces_max_concurrent_streams_and_sends_goaway_when_idle() {
    bounded(async {
        let server = start_with(
            builder()
                .max_concurrent_streams(7)
                .read_header_timeout(Duration::from_millis(200))
                .idle_timeout(Duration::from_millis(800))
                .http2_keepalive(None),
        )
        .await;
        let start = Instant::now();
        let mut conn = h2_connect(&server).await;
        let (kind, _, payload) = h2_frame(&mut conn).await.unwrap();
        assert_eq!(kind, SETTINGS);
        let streams = payload
            .chunks(6)
            .find(|p| u16::from_be_bytes([p[0], p[1]]) == 0x3)
            .map(|p| u32::from_be_bytes([p[2], p[3], p[4], p[5]]));
        assert_eq!(streams, Some(7), "SETTINGS_MAX_CONCURRENT_STREAMS");
        // Past read_header_timeout the connection lives on (its preface came); at idle_timeout
        // it gets a GOAWAY.
        loop {
            let (kind, _, _) = h2_frame(&mut conn).await.expect("a GOAWAY before the end");
            if kind == GOAWAY {
                break;
            }
        }
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(700), "{took:?}");
        assert_eq!(closed(&server, CloseReason::IdleTimeout), 1);
        assert_eq!(closed(&server, CloseReason::ReadHeaderTimeout), 0);
    })
    .await;
}

#[tokio::test]
async fn http2_keepalive_pings_and_closes_a_peer_that_does_not_answer() {
    bounded(async {
        let server = start_with(
            builder()
                .idle_timeout(Duration::from_secs(30))
                .http2_keepalive(Some((
                    Duration::from_millis(300),
                    Duration::from_millis(300),
                ))),
        )
        .await;
        let start = Instant::now();
        let mut conn = h2_connect(&server).await;
        let mut pinged = false;
        // Never acknowledge anything: the first PING goes unanswered, so the server hangs up.
        while let Some((kind, flags, _)) = h2_frame(&mut conn).await {
            if kind == PING && flags & 1 == 0 {
                pinged = true;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "still open");
        }
        assert!(pinged, "the server sent a PING");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    })
    .await;
}

#[tokio::test]
async fn a_slow_body_gets_408_and_never_holds_the_only_concurrency_slot() {
    bounded(async {
        let server = start_with(
            builder()
                .max_concurrent_requests(1)
                .read_timeout(Duration::from_millis(800)),
        )
        .await;
        let mut slow = slow_body(&server).await;
        requests_reach(&server, Transport::Http, 1).await;

        // The only slot is free: a normal client is served at once.
        let started = Instant::now();
        let reply = post(
            &server,
            "/v1/traces",
            "application/x-protobuf",
            None,
            body(),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert!(started.elapsed() < Duration::from_secs(1));

        // The slow one is answered 408 at its deadline and its connection closed.
        assert_eq!(read_status(&mut slow).await, 408);
        assert!(
            closed_within(&mut slow, Duration::from_secs(2))
                .await
                .is_some()
        );
        let rejected = server
            .running
            .metrics()
            .rejected_requests(otlp_spool_receiver::RejectReason::Timeout);
        assert_eq!(rejected, 1);
        assert_eq!(server.sink.calls(), 1);
    })
    .await;
}

/// An HTTP body that never yields anything.
struct Stalled;

impl hyper::body::Body for Stalled {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Pending
    }
}

#[tokio::test]
async fn a_stalled_grpc_message_gets_deadline_exceeded_and_never_holds_the_slot() {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    bounded(async {
        let server = start_with(
            builder()
                .max_concurrent_requests(1)
                .read_timeout(Duration::from_millis(800)),
        )
        .await;
        let tcp = TcpStream::connect(server.grpc()).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
                .await
                .unwrap();
        tokio::spawn(conn);
        let request = tonic::codegen::http::Request::post(format!(
            "http://{}/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            server.grpc()
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Stalled)
        .unwrap();
        let stalled = tokio::spawn(sender.send_request(request));
        requests_reach(&server, Transport::Grpc, 1).await;

        let started = Instant::now();
        let mut grpc = TraceServiceClient::connect(server.grpc_url())
            .await
            .unwrap();
        grpc.export(traces(vec![good_span(1, "fast")]))
            .await
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(1));

        let response = stalled.await.unwrap().unwrap();
        let status = response.headers().get("grpc-status").unwrap();
        assert_eq!(status, &(tonic::Code::DeadlineExceeded as i32).to_string());
        assert_eq!(server.sink.calls(), 1);
    })
    .await;
}

#[tokio::test]
async fn connections_past_max_connections_are_closed_at_once() {
    bounded(async {
        let server = start_with(
            builder()
                .max_connections(2)
                .read_header_timeout(Duration::from_secs(30)),
        )
        .await;
        let first = TcpStream::connect(server.http()).await.unwrap();
        let _second = TcpStream::connect(server.grpc()).await.unwrap();
        open_connections_reach(&server, 2).await;
        let mut third = TcpStream::connect(server.http()).await.unwrap();
        let took = closed_within(&mut third, Duration::from_secs(2)).await;
        assert!(took.is_some(), "the third connection is closed at once");
        assert_eq!(server.running.metrics().connections_refused(), 1);

        drop(first);
        open_connections_reach(&server, 1).await;
        let reply = post(
            &server,
            "/v1/traces",
            "application/x-protobuf",
            None,
            body(),
        )
        .await;
        assert_eq!(reply.status, 200);
    })
    .await;
}

#[tokio::test]
async fn a_silent_tls_client_is_closed_at_tls_handshake_timeout() {
    bounded(async {
        let fixture = |name: &str| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(name)
        };
        let server = start_with(
            builder()
                .tls(fixture("cert.pem"), fixture("key.pem"))
                .tls_handshake_timeout(Duration::from_millis(300))
                .read_header_timeout(Duration::from_secs(30)),
        )
        .await;
        let mut silent = TcpStream::connect(server.grpc()).await.unwrap();
        let took = closed_within(&mut silent, Duration::from_secs(5))
            .await
            .expect("closed");
        assert!(took >= Duration::from_millis(250), "{took:?}");
        assert_eq!(closed(&server, CloseReason::TlsHandshakeTimeout), 1);

        let mut not_tls = TcpStream::connect(server.http()).await.unwrap();
        not_tls.write_all(export_head(0).as_bytes()).await.unwrap();
        assert!(
            closed_within(&mut not_tls, Duration::from_secs(5))
                .await
                .is_some()
        );
        assert_eq!(closed(&server, CloseReason::TlsHandshakeFailed), 1);
    })
    .await;
}

#[tokio::test]
async fn shutdown_within_drops_connections_still_open_at_its_deadline() {
    bounded(async {
        let server = start_with(builder().read_timeout(Duration::from_secs(30))).await;
        let mut slow = slow_body(&server).await;
        requests_reach(&server, Transport::Http, 1).await;
        let started = Instant::now();
        let result = server
            .running
            .shutdown_within(Duration::from_millis(400))
            .await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        match result {
            Err(ServeError::ShutdownTimeout {
                open_connections, ..
            }) => assert_eq!(open_connections, 1),
            other => panic!("expected a shutdown timeout, got {other:?}"),
        }
        assert!(
            closed_within(&mut slow, Duration::from_secs(2))
                .await
                .is_some()
        );
    })
    .await;
}

#[tokio::test]
async fn health_answers_503_naming_every_failing_check() {
    bounded(async {
        let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let flag = failing.clone();
        let health = Health::new().with_check(|| None).with_check(move || {
            flag.load(std::sync::atomic::Ordering::SeqCst)
                .then(|| "traces writer: stuck".to_owned())
        });
        let server = start_with(builder().health(health)).await;
        let reply = send(client().get(server.http_url("/health"))).await;
        assert_eq!(reply.status, 503);
        assert!(
            reply.text().contains("traces writer: stuck"),
            "{}",
            reply.text()
        );
        failing.store(false, std::sync::atomic::Ordering::SeqCst);
        let reply = send(client().get(server.http_url("/health"))).await;
        assert_eq!(reply.status, 200);
    })
    .await;
}

/// A traces request of about `bytes` bytes (spans with a long name).
fn body_of(bytes: usize) -> Vec<u8> {
    let name = "b".repeat(1000);
    let spans = (0..bytes / 1030 + 1)
        .map(|i| good_span((i % 250) as u8 + 1, &name))
        .collect();
    traces(spans).encode_to_vec()
}

/// Posts `body` until it is answered `want` or `limit` passes; the last reply.
async fn post_until(server: &Server, body: &[u8], want: u16, limit: Duration) -> Reply {
    let deadline = Instant::now() + limit;
    loop {
        let reply = post(
            server,
            "/v1/traces",
            "application/x-protobuf",
            None,
            body.to_vec(),
        )
        .await;
        if reply.status == want || Instant::now() >= deadline {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn bodies_in_flight_share_one_byte_budget_and_the_excess_gets_503_naming_it() {
    bounded(async {
        // Bodies up to 64 KiB, 64 KiB of them in flight at once.
        let server = start_with(
            builder()
                .max_body_bytes(64 << 10)
                .max_body_buffer(64 << 10)
                .read_timeout(Duration::from_secs(30)),
        )
        .await;
        let other = body_of(30 << 10);

        // 1. A declared 40 KiB body that trickles: its whole length is held from the head on.
        let mut declared = TcpStream::connect(server.http()).await.unwrap();
        declared.write_all(export_head(40 << 10).as_bytes()).await.unwrap();
        declared.write_all(b"\x0a").await.unwrap();
        // The slow head reaches the server soon after the write: poll until it holds the budget.
        let reply = post_until(&server, &other, 503, Duration::from_secs(2)).await;
        assert_eq!(reply.status, 503, "the 30 KiB request found the budget held by the slow body");
        assert!(reply.text().contains("receiver.max_body_buffer"), "{}", reply.text());
        assert!(reply.header("retry-after").is_some());
        drop(declared);
        // The closed connection gives its bytes back: the same request now goes through.
        assert_eq!(post_until(&server, &other, 200, Duration::from_secs(5)).await.status, 200);

        // 2. A chunked body that sent 40 KiB and stalls: what arrived is held.
        let mut chunked = TcpStream::connect(server.http()).await.unwrap();
        chunked
            .write_all(
                b"POST /v1/traces HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-protobuf\r\ntransfer-encoding: chunked\r\n\r\n",
            )
            .await
            .unwrap();
        let part = vec![0u8; 40 << 10];
        chunked.write_all(format!("{:x}\r\n", part.len()).as_bytes()).await.unwrap();
        chunked.write_all(&part).await.unwrap();
        chunked.write_all(b"\r\n").await.unwrap();
        let status = post_until(&server, &other, 503, Duration::from_secs(2)).await.status;
        assert_eq!(status, 503, "the chunked body's 40 KiB are held as they arrive");
        drop(chunked);
        assert_eq!(post_until(&server, &other, 200, Duration::from_secs(5)).await.status, 200);
        assert_eq!(server.sink.calls(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_body_buffer_below_the_body_limit_is_refused_naming_both() {
    let err = builder()
        .max_body_bytes(2 << 20)
        .max_body_buffer(1 << 20)
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("max_body_buffer") && text.contains("max_body_size"),
        "{text}"
    );
}

/// Waits (polling, at most 5 s) until the server counts `n` open connections: the accept loop
/// and the close of a dropped connection happen on the server's tasks, after the client's call.
/// Waits until `n` export requests over `transport` reached their handler (the request head is
/// parsed and the body is being read): the point a slow body is holding what it can hold.
async fn requests_reach(server: &Server, transport: Transport, n: u64) {
    let metrics = server.running.metrics();
    let reached = tokio::time::timeout(Duration::from_secs(5), async {
        while metrics.requests(transport, Signal::Traces) < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(
        reached.is_ok(),
        "{transport:?} trace requests: {} (waited for {n})",
        metrics.requests(transport, Signal::Traces)
    );
}

async fn open_connections_reach(server: &Server, n: u64) {
    let metrics = server.running.metrics();
    let reached = tokio::time::timeout(Duration::from_secs(5), async {
        while metrics.open_connections() != n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(
        reached.is_ok(),
        "open connections: {} (waited for {n})",
        metrics.open_connections()
    );
}
