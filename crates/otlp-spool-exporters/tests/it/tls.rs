//! TLS to a REAL otlp-spool-receiver serving https on 127.0.0.1 with the self-signed test
//! certificate in `tests/fixtures` (valid for `127.0.0.1` and `localhost`, see its README).
//!
//! * With the fixture configured as the CA, every span reaches the receiver over gRPC and
//!   over HTTP (protobuf).
//! * With the system roots (no CA configured), the handshake fails: the attempts are counted
//!   in `tls_failures`, nothing is delivered, nothing panics, and the batches stay in the
//!   queue until the shutdown deadline counts them as dropped.
//! * Bad CA settings fail `build()` naming the file or the setting.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use otlp_spool_core::Sink;
use otlp_spool_exporters::{ConfigError, Forwarder, Protocol, RetryPolicy};
use otlp_spool_receiver::RunningReceiver;

use crate::common::{Collect, endpoint_of, eventually, spans_of, start_receiver, traces};

const LIMIT: Duration = Duration::from_secs(20);

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A real receiver serving TLS on both ports, writing into a collecting sink.
async fn tls_receiver() -> (RunningReceiver, Arc<Collect>) {
    start_receiver(|b| b.tls(fixture("cert.pem"), fixture("key.pem"))).await
}

fn https_endpoint(running: &RunningReceiver, protocol: Protocol) -> String {
    endpoint_of(running, protocol, "https")
}

/// Forwards 20 batches of 25 spans with the fixture trusted, by file or as PEM bytes.
async fn delivers_with_the_fixture_ca(protocol: Protocol, by_file: bool) {
    let (running, target) = tls_receiver().await;
    let builder = Forwarder::builder()
        .endpoint(https_endpoint(&running, protocol))
        .protocol(protocol);
    let builder = if by_file {
        builder.tls_ca_file(fixture("cert.pem"))
    } else {
        builder.tls_ca_pem(std::fs::read(fixture("cert.pem")).unwrap())
    };
    let forwarder = builder.build().expect("forwarder");
    let mut sent = Vec::new();
    for i in 0..20 {
        let batch = traces(&format!("tls{i:02}"), 25);
        sent.push(batch.clone());
        forwarder.accept(batch).expect("accepted");
    }
    assert!(forwarder.flush(LIMIT).await, "flushed in time");
    let stats = forwarder.stats();
    assert_eq!(stats.accepted_items, 500);
    assert_eq!(stats.forwarded_items, 500, "{stats:?}");
    assert_eq!(stats.tls_failures, 0, "{stats:?}");
    assert_eq!(
        stats.dropped_items + stats.failed_items + stats.rejected_items,
        0
    );
    assert_eq!(
        target.spans(),
        spans_of(&sent),
        "the TLS target holds exactly the spans sent ({protocol})"
    );
    let report = forwarder.shutdown(Duration::from_secs(2)).await;
    assert!(report.drained);
    assert_eq!(report.dropped_items, 0);
    running.shutdown_and_wait().await.expect("receiver stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_over_tls_with_the_fixture_ca_delivers_every_span() {
    tokio::time::timeout(LIMIT, delivers_with_the_fixture_ca(Protocol::Grpc, true))
        .await
        .expect("in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_protobuf_over_tls_with_the_fixture_ca_delivers_every_span() {
    tokio::time::timeout(
        LIMIT,
        delivers_with_the_fixture_ca(Protocol::HttpProtobuf, false),
    )
    .await
    .expect("in time");
}

/// No CA configured: the system roots do not know the self-signed fixture.
async fn system_roots_refuse_the_fixture(protocol: Protocol) {
    let (running, target) = tls_receiver().await;
    let forwarder = Forwarder::builder()
        .endpoint(https_endpoint(&running, protocol))
        .protocol(protocol)
        .retry(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(10))
                .max_backoff(Duration::from_millis(50)),
        )
        .build()
        .expect("https with the system roots builds");
    for i in 0..4 {
        forwarder
            .accept(traces(&format!("untrusted{i}"), 25))
            .expect("accepted: accept never touches the network");
    }
    assert!(
        eventually(LIMIT, || forwarder.stats().tls_failures >= 2).await,
        "handshake failures are counted ({protocol}): {:?}",
        forwarder.stats()
    );
    let stats = forwarder.stats();
    assert_eq!(stats.accepted_items, 100);
    assert_eq!(stats.forwarded_items, 0, "{stats:?}");
    assert_eq!(
        stats.failed_items + stats.dropped_items + stats.rejected_items,
        0,
        "a handshake failure is retryable, not a permanent error: {stats:?}"
    );
    assert!(stats.queue_bytes > 0, "the batches wait in the queue");
    assert_eq!(target.items(), 0, "nothing was delivered ({protocol})");
    // Still held, still accepted: nothing is lost until the shutdown deadline counts it.
    forwarder
        .accept(traces("late", 5))
        .expect("the queue still takes batches");
    let report = forwarder.shutdown(Duration::from_millis(200)).await;
    assert!(!report.drained);
    assert_eq!(report.dropped_items, 105, "{report:?}");
    let stats = forwarder.stats();
    assert_eq!(stats.accepted_items, stats.settled_items(), "{stats:?}");
    assert_eq!(stats.queue_bytes, 0);
    assert_eq!(target.items(), 0);
    running.shutdown_and_wait().await.expect("receiver stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_with_system_roots_counts_the_failed_handshake_and_keeps_the_queue() {
    tokio::time::timeout(LIMIT, system_roots_refuse_the_fixture(Protocol::Grpc))
        .await
        .expect("in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_with_system_roots_counts_the_failed_handshake_and_keeps_the_queue() {
    tokio::time::timeout(
        LIMIT,
        system_roots_refuse_the_fixture(Protocol::HttpProtobuf),
    )
    .await
    .expect("in time");
}

#[tokio::test]
async fn bad_tls_settings_fail_the_build_naming_them() {
    let build = |endpoint: &str, ca: Option<PathBuf>| {
        let mut builder = Forwarder::builder().endpoint(endpoint);
        if let Some(ca) = ca {
            builder = builder.tls_ca_file(ca);
        }
        builder.build().map(drop)
    };
    let missing = build("https://127.0.0.1:1", Some(fixture("missing.pem"))).unwrap_err();
    assert!(matches!(missing, ConfigError::TlsCa { .. }), "{missing:?}");
    let message = missing.to_string();
    assert!(
        message.contains("forward.tls.ca_file") && message.contains("missing.pem"),
        "{message}"
    );
    // A private key is PEM, but not a certificate.
    let not_a_cert = build("https://127.0.0.1:1", Some(fixture("key.pem"))).unwrap_err();
    assert!(not_a_cert.to_string().contains("key.pem"), "{not_a_cert}");
    let plain = build("http://127.0.0.1:1", Some(fixture("cert.pem"))).unwrap_err();
    assert!(matches!(plain, ConfigError::Tls(_)), "{plain:?}");
    let scheme = build("ftp://127.0.0.1:1", None).unwrap_err();
    assert!(matches!(scheme, ConfigError::Endpoint { .. }), "{scheme:?}");
    assert!(build("https://127.0.0.1:1", Some(fixture("cert.pem"))).is_ok());
    assert!(build("https://127.0.0.1:1", None).is_ok());
}
