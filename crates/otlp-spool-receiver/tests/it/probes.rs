//! /health, /ready, /metrics, bound addresses, configuration errors and graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use otlp_spool_core::metrics::{self, Collector, DescriptorEncoder};
use otlp_spool_receiver::{BuildError, Readiness, Receiver, ServeError};
use prost::Message;

use crate::support::*;

#[tokio::test]
async fn ready_follows_the_flag_the_checks_and_shutdown() {
    let room = Arc::new(AtomicBool::new(true));
    let readiness = Readiness::new().with_check({
        let room = room.clone();
        move || room.load(Ordering::SeqCst)
    });
    let server = start_with(builder().readiness(readiness.clone())).await;
    let ready = || send(client().get(server.http_url("/ready")));
    assert_eq!(ready().await.status, 200);
    room.store(false, Ordering::SeqCst);
    assert_eq!(ready().await.status, 503);
    room.store(true, Ordering::SeqCst);
    readiness.set_ready(false);
    assert_eq!(ready().await.status, 503);
    readiness.set_ready(true);
    assert_eq!(ready().await.status, 200);
    assert_eq!(
        send(client().get(server.http_url("/health"))).await.text(),
        "ok\n"
    );
}

#[tokio::test]
async fn metrics_page_has_receiver_counters_then_the_providers() {
    /// The embedding application's part of the page.
    #[derive(Debug)]
    struct Buffer;
    impl Collector for Buffer {
        fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
            metrics::gauge(&mut encoder, "otlp_spool_buffer_bytes", "Bytes held.")?.value(42)
        }
    }
    let server = start_with(builder().metrics_collector(Box::new(Buffer))).await;
    let body = traces(vec![good_span(1, "x"), span(&[1], &[1; 8], "bad")]).encode_to_vec();
    post(&server, "/v1/traces", "application/x-protobuf", None, body).await;
    post(&server, "/v1/traces", "text/plain", None, "x").await;
    let page = send(client().get(server.http_url("/metrics"))).await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = page.text();
    for line in [
        "otlp_spool_receiver_requests_total{transport=\"http\",signal=\"traces\"} 2",
        "otlp_spool_receiver_accepted_requests_total{signal=\"traces\"} 1",
        "otlp_spool_receiver_items_received_total{signal=\"traces\"} 2",
        "otlp_spool_receiver_items_accepted_total{signal=\"traces\"} 1",
        "otlp_spool_receiver_items_refused_total{signal=\"traces\"} 1",
        "otlp_spool_receiver_rejected_requests_total{reason=\"unsupported_media_type\"} 1",
        "otlp_spool_receiver_in_flight_requests 0",
        "otlp_spool_buffer_bytes 42",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(text.find("otlp_spool_receiver").unwrap() < text.find("otlp_spool_buffer").unwrap());
}

#[tokio::test]
async fn configuration_errors_and_bind_errors() {
    assert!(matches!(
        Receiver::builder().max_body_bytes(0).build(),
        Err(BuildError::ZeroBodyLimit)
    ));
    assert!(matches!(
        Receiver::builder().max_concurrent_requests(0).build(),
        Err(BuildError::ZeroConcurrency)
    ));
    assert!(matches!(
        Receiver::builder().disable_grpc().disable_http().build(),
        Err(BuildError::NothingToServe)
    ));
    let taken = start().await;
    let error = Receiver::builder()
        .grpc_addr(local())
        .http_addr(taken.http())
        .build()
        .unwrap()
        .serve(CollectSink::new(), std::future::pending())
        .await
        .unwrap_err();
    assert!(
        matches!(error, ServeError::Bind { server: "HTTP", .. }),
        "{error}"
    );
    assert!(error.to_string().contains(&taken.http().to_string()));
}

#[tokio::test]
async fn only_one_port_when_asked() {
    let server = Receiver::builder()
        .disable_grpc()
        .http_addr(local())
        .build()
        .unwrap()
        .serve(CollectSink::new(), std::future::pending())
        .await
        .unwrap();
    assert!(server.grpc_addr().is_none());
    assert_ne!(server.http_addr().unwrap().port(), 0);
    server.shutdown_and_wait().await.unwrap();
}

/// Shutdown stops accepting, answers the request in flight, then `wait` returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let sink = CollectSink::new();
    let running = builder()
        .build()
        .unwrap()
        .serve(sink.clone(), async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    let addr = running.http_addr().unwrap();
    let grpc = running.grpc_addr().unwrap();

    // A request whose body is still arriving when shutdown starts.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = traces(vec![good_span(1, "in-flight")]).encode_to_vec();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nhost: t\r\ncontent-type: application/x-protobuf\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..4]).await.unwrap();
    // The request reached its handler (its body is being read) before shutdown starts.
    let metrics = running.metrics();
    tokio::time::timeout(Duration::from_secs(5), async {
        while metrics.requests(
            otlp_spool_receiver::Transport::Http,
            otlp_spool_receiver::Signal::Traces,
        ) == 0
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the slow request reached its handler");

    stop.send(()).unwrap();
    let waiting = tokio::spawn(running.wait());
    // New connections are refused once the listeners close.
    tokio::time::timeout(Duration::from_secs(5), async {
        while tokio::net::TcpStream::connect(grpc).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the gRPC listener closes");
    assert!(
        !waiting.is_finished(),
        "wait returned with a request in flight"
    );

    stream.write_all(&body[4..]).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("wait returns after the last request")
        .unwrap()
        .unwrap();
    assert_eq!(sink.items(), 1);
}
