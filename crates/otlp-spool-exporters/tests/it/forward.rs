//! Forwarding to a REAL otlp-spool-receiver (in-process, 127.0.0.1:0) over gRPC, HTTP
//! protobuf and HTTP JSON, and bearer-token auth against it.

use std::sync::Arc;
use std::time::Duration;

use otlp_spool_core::{ExportRequest, Sink};
use otlp_spool_exporters::{Auth, Compression, Forwarder, Protocol, RetryPolicy};
use otlp_spool_receiver::RunningReceiver;

use crate::common::{
    Collect, endpoint_of, eventually, logs, metrics, spans_of, start_receiver, traces,
};

const LIMIT: Duration = Duration::from_secs(20);

/// A real receiver on both ports, writing into a collecting sink.
pub(crate) async fn receiver(token: Option<&str>) -> (RunningReceiver, Arc<Collect>) {
    start_receiver(|b| match token {
        Some(token) => b.bearer_token(token),
        None => b,
    })
    .await
}

fn endpoint(running: &RunningReceiver, protocol: Protocol) -> String {
    endpoint_of(running, protocol, "http")
}

async fn round_trip(protocol: Protocol, compression: Compression) {
    let (running, target) = receiver(None).await;
    let forwarder = Forwarder::builder()
        .endpoint(endpoint(&running, protocol))
        .protocol(protocol)
        .compression(compression)
        .build()
        .expect("forwarder");
    let mut sent = Vec::new();
    for i in 0..20 {
        let batch = traces(&format!("b{i:02}"), 25);
        sent.push(batch.clone());
        forwarder.accept(batch).expect("accepted");
    }
    forwarder.accept(metrics("requests", 10)).expect("metrics");
    forwarder.accept(logs(7)).expect("logs");
    assert!(forwarder.flush(LIMIT).await, "flushed in time");
    let stats = forwarder.stats();
    assert_eq!(stats.accepted_items, 500 + 10 + 7);
    assert_eq!(stats.forwarded_items, 517, "{stats:?}");
    assert_eq!(
        stats.dropped_items + stats.failed_items + stats.rejected_items,
        0
    );
    assert_eq!(stats.queue_bytes, 0);
    assert_eq!(
        target.spans(),
        spans_of(&sent),
        "the target holds exactly the spans sent"
    );
    assert_eq!(target.metric_points().len(), 10);
    assert_eq!(target.log_records().len(), 7);
    let ExportRequest::Metrics(expected) = metrics("requests", 10).decode().unwrap() else {
        unreachable!()
    };
    let got: Vec<_> = target
        .batches
        .lock()
        .iter()
        .filter_map(|t| match t.decode().unwrap() {
            ExportRequest::Metrics(m) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(got, vec![expected], "metrics arrive unchanged");
    assert_sent_as_given(&target, &sent);
    let report = forwarder.shutdown(Duration::from_secs(2)).await;
    assert!(report.drained);
    assert_eq!(report.dropped_items, 0);
    running.shutdown_and_wait().await.expect("receiver stops");
}

/// The bytes form goes through unchanged: every trace request the target got is the
/// concatenation of whole batches as they were accepted (merging concatenates, nothing is
/// re-encoded), and each accepted batch arrives exactly once.
fn assert_sent_as_given(target: &Collect, sent: &[otlp_spool_core::Telemetry]) {
    let mut unused: Vec<&[u8]> = sent.iter().map(|t| &t.bytes()[..]).collect();
    for received in target.batches.lock().iter() {
        if received.signal() != otlp_spool_core::Signal::Traces {
            continue;
        }
        let mut rest = &received.bytes()[..];
        while !rest.is_empty() {
            let at = unused
                .iter()
                .position(|part| rest.starts_with(part))
                .expect("a received request is made of whole sent batches");
            rest = &rest[unused.remove(at).len()..];
        }
    }
    assert!(unused.is_empty(), "{} batches never arrived", unused.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_over_grpc_to_a_real_receiver() {
    tokio::time::timeout(LIMIT, round_trip(Protocol::Grpc, Compression::None))
        .await
        .expect("in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_over_grpc_gzip_to_a_real_receiver() {
    tokio::time::timeout(LIMIT, round_trip(Protocol::Grpc, Compression::Gzip))
        .await
        .expect("in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_over_http_protobuf_to_a_real_receiver() {
    tokio::time::timeout(LIMIT, round_trip(Protocol::HttpProtobuf, Compression::Gzip))
        .await
        .expect("in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_over_http_json_to_a_real_receiver() {
    tokio::time::timeout(LIMIT, round_trip(Protocol::HttpJson, Compression::None))
        .await
        .expect("in time");
}

async fn bearer(protocol: Protocol, token: &str) -> (u64, u64, u64, usize) {
    let (running, target) = receiver(Some("right-token")).await;
    let forwarder = Forwarder::builder()
        .endpoint(endpoint(&running, protocol))
        .protocol(protocol)
        .auth(Auth::bearer(token))
        .retry(RetryPolicy::default().initial_backoff(Duration::from_millis(10)))
        .build()
        .expect("forwarder");
    forwarder.accept(traces("auth", 5)).expect("accepted");
    assert!(forwarder.flush(LIMIT).await);
    let stats = forwarder.stats();
    let _ = forwarder.shutdown(Duration::from_secs(1)).await;
    running.shutdown_and_wait().await.expect("receiver stops");
    (
        stats.forwarded_items,
        stats.failed_items,
        stats.retried_requests,
        target.items(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_right_is_accepted_wrong_is_counted_and_not_retried() {
    tokio::time::timeout(LIMIT, async {
        for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
            assert_eq!(
                bearer(protocol, "right-token").await,
                (5, 0, 0, 5),
                "{protocol}"
            );
            assert_eq!(
                bearer(protocol, "wrong-token").await,
                (0, 5, 0, 0),
                "{protocol}"
            );
        }
    })
    .await
    .expect("in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_after_shutdown_is_refused_and_counted() {
    let (running, _target) = receiver(None).await;
    let forwarder = Forwarder::builder()
        .endpoint(endpoint(&running, Protocol::Grpc))
        .build()
        .expect("forwarder");
    forwarder.shutdown(Duration::from_secs(1)).await;
    assert!(forwarder.accept(traces("late", 3)).is_err());
    assert_eq!(forwarder.stats().refused_items, 3);
    assert!(
        eventually(Duration::from_secs(1), || forwarder.stats().queue_bytes
            == 0)
        .await
    );
    running.shutdown_and_wait().await.expect("receiver stops");
}
