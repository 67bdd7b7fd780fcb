//! A sink that says Full / Closed / TooLarge: 503 + Retry-After, UNAVAILABLE + RetryInfo,
//! 413 / RESOURCE_EXHAUSTED; and nothing is acknowledged that the sink did not take.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlp_spool_receiver::{RejectReason, SinkError, retry_delay_from_status_details};
use prost::Message;
use tonic::Code;

use crate::support::*;

#[tokio::test]
async fn full_sink_gives_503_with_retry_after_and_unavailable_with_retry_info() {
    let server = start().await;
    server.sink.set_mode(Mode::Refuse(SinkError::Full {
        retry_after: Duration::from_millis(1500),
    }));
    let body = traces(vec![good_span(1, "x")]).encode_to_vec();

    let reply = post(
        &server,
        "/v1/traces",
        "application/x-protobuf",
        None,
        body.clone(),
    )
    .await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.header("retry-after"), Some("2"), "1.5 s rounds up");

    let status = TraceServiceClient::new(crate::grpc::channel(&server).await)
        .export(traces(vec![good_span(1, "x")]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(
        retry_delay_from_status_details(status.details()),
        Some(Duration::from_millis(1500)),
        "google.rpc.RetryInfo in grpc-status-details-bin"
    );
    assert_eq!(
        server
            .running
            .metrics()
            .rejected_requests(RejectReason::Backpressure),
        2
    );

    // Room again: the retry is accepted.
    server.sink.set_mode(Mode::Accept);
    let reply = post(&server, "/v1/traces", "application/x-protobuf", None, body).await;
    assert_eq!(reply.status, 200);
    assert_eq!(server.sink.calls(), 1);
}

#[tokio::test]
async fn closed_and_too_large_sinks() {
    let server = start().await;
    let body = traces(vec![good_span(1, "x")]).encode_to_vec();
    server.sink.set_mode(Mode::Refuse(SinkError::Closed));
    let reply = post(
        &server,
        "/v1/traces",
        "application/x-protobuf",
        None,
        body.clone(),
    )
    .await;
    assert_eq!(reply.status, 503);
    let status = TraceServiceClient::new(crate::grpc::channel(&server).await)
        .export(traces(vec![good_span(1, "x")]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);

    server.sink.set_mode(Mode::Refuse(SinkError::TooLarge {
        weight: 100,
        capacity: 10,
    }));
    let reply = post(&server, "/v1/traces", "application/json", None, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\"}]}]}]}").await;
    assert_eq!(reply.status, 413, "{}", reply.text());
    let status = TraceServiceClient::new(crate::grpc::channel(&server).await)
        .export(traces(vec![good_span(1, "x")]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(server.sink.calls(), 0);
}

/// With a limit of one request in flight and a sink that holds the first one, the second
/// is refused at once with a retry hint.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency_limit_sheds_load_with_a_retry_hint() {
    use otlp_spool_receiver::{Receiver, Refusal, Sink, Telemetry};
    use std::sync::{Arc, Barrier};

    use std::sync::atomic::{AtomicBool, Ordering};

    struct Slow(Arc<Barrier>, Arc<AtomicBool>);
    impl Sink for Slow {
        fn accept(&self, _: Telemetry) -> Result<(), Refusal> {
            self.1.store(true, Ordering::SeqCst);
            // Held until the test has seen the refusal. `block_in_place` hands this worker's
            // queued tasks to another thread first: a plain blocking wait here could strand
            // the accept loop in this worker's LIFO slot and hang the test.
            tokio::task::block_in_place(|| self.0.wait());
            Ok(())
        }
    }
    let gate = Arc::new(Barrier::new(2));
    let entered = Arc::new(AtomicBool::new(false));
    let running = Receiver::builder()
        .grpc_addr(local())
        .http_addr(local())
        .max_concurrent_requests(1)
        .build()
        .unwrap()
        .serve(
            Arc::new(Slow(gate.clone(), entered.clone())),
            std::future::pending(),
        )
        .await
        .unwrap();
    let url = format!("http://{}/v1/traces", running.http_addr().unwrap());
    let body = traces(vec![good_span(1, "x")]).encode_to_vec();
    let first = tokio::spawn({
        let (url, body) = (url.clone(), body.clone());
        async move {
            send(
                client()
                    .post(url)
                    .header("content-type", "application/x-protobuf")
                    .body(body),
            )
            .await
        }
    });
    // Wait until the first request holds the only slot.
    let metrics = running.metrics();
    tokio::time::timeout(Duration::from_secs(10), async {
        while !entered.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    let second = send(
        client()
            .post(url)
            .header("content-type", "application/x-protobuf")
            .body(body),
    )
    .await;
    assert_eq!(second.status, 503);
    assert_eq!(second.header("retry-after"), Some("1"));
    tokio::task::spawn_blocking(move || gate.wait())
        .await
        .unwrap();
    assert_eq!(first.await.unwrap().status, 200);
    assert_eq!(metrics.rejected_requests(RejectReason::TooManyRequests), 1);
}

/// A sink that is full for its first `full_for` attempts, then takes everything; counts
/// attempts and what it holds.
struct FullAtFirst {
    full_for: usize,
    attempts: std::sync::atomic::AtomicUsize,
    held: std::sync::Mutex<Vec<otlp_spool_receiver::Telemetry>>,
}

impl FullAtFirst {
    fn new(full_for: usize) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self {
            full_for,
            attempts: std::sync::atomic::AtomicUsize::new(0),
            held: std::sync::Mutex::new(Vec::new()),
        })
    }

    fn attempts(&self) -> usize {
        self.attempts.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn held_items(&self) -> usize {
        let held = self.held.lock().unwrap();
        held.iter().map(|t| t.item_count()).sum()
    }
}

impl otlp_spool_receiver::Sink for FullAtFirst {
    fn accept(
        &self,
        telemetry: otlp_spool_receiver::Telemetry,
    ) -> Result<(), otlp_spool_receiver::Refusal> {
        let attempt = self
            .attempts
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if attempt < self.full_for {
            let full = SinkError::Full {
                retry_after: Duration::from_secs(1),
            };
            return Err(otlp_spool_receiver::Refusal::new(full, telemetry));
        }
        self.held.lock().unwrap().push(telemetry);
        Ok(())
    }
}

async fn serve_with(
    sink: std::sync::Arc<FullAtFirst>,
    wait: Duration,
) -> otlp_spool_receiver::RunningReceiver {
    otlp_spool_receiver::Receiver::builder()
        .grpc_addr(local())
        .http_addr(local())
        .backpressure_wait(wait)
        .build()
        .unwrap()
        .serve(sink, std::future::pending())
        .await
        .unwrap()
}

/// POSTs protobuf `body` to `/v1/traces` of `running`, within 10 s.
async fn post_traces(running: &otlp_spool_receiver::RunningReceiver, body: Vec<u8>) -> Reply {
    let url = format!("http://{}/v1/traces", running.http_addr().unwrap());
    let request = client()
        .post(url)
        .header("content-type", "application/x-protobuf")
        .body(body);
    tokio::time::timeout(Duration::from_secs(10), send(request))
        .await
        .expect("the request was answered within 10 s")
}

/// A request that finds the sink full waits for room and is acknowledged once the sink takes
/// it: no refusal reaches the client, the sink holds it once, and the wait is counted.
#[tokio::test]
async fn a_request_that_finds_the_sink_full_waits_for_room_and_is_acknowledged() {
    use otlp_spool_receiver::Signal;
    let sink = FullAtFirst::new(3);
    let running = serve_with(sink.clone(), Duration::from_secs(5)).await;
    let body = traces(vec![good_span(1, "x"), good_span(2, "y")]).encode_to_vec();
    let reply = post_traces(&running, body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(sink.attempts(), 4, "three refusals, then taken");
    assert_eq!(sink.held_items(), 2, "held once");

    // gRPC: the sink takes it at the first attempt now, nothing waits.
    let channel =
        tonic::transport::Channel::from_shared(format!("http://{}", running.grpc_addr().unwrap()))
            .unwrap()
            .connect()
            .await
            .unwrap();
    TraceServiceClient::new(channel)
        .export(traces(vec![good_span(3, "z")]))
        .await
        .unwrap();
    assert_eq!(sink.held_items(), 3);
    let metrics = running.metrics();
    assert_eq!(metrics.backpressure_waits(Signal::Traces), 1);
    assert_eq!(metrics.rejected_requests(RejectReason::Backpressure), 0);
    assert_eq!(metrics.items_accepted(Signal::Traces), 3);
}

/// `backpressure_wait(0)` refuses at once (one attempt); a sink still full when the wait has
/// run out gets the refusal with the sink's retry hint, after trying again, and holds nothing.
#[tokio::test]
async fn a_full_sink_refuses_at_once_without_a_wait_and_after_it_with_one() {
    use otlp_spool_receiver::Signal;
    let body = traces(vec![good_span(1, "x")]).encode_to_vec();
    for (wait, least_attempts) in [(Duration::ZERO, 1), (Duration::from_millis(60), 3)] {
        let sink = FullAtFirst::new(usize::MAX);
        let running = serve_with(sink.clone(), wait).await;
        let started = std::time::Instant::now();
        let reply = post_traces(&running, body.clone()).await;
        assert_eq!(reply.status, 503, "wait {wait:?}");
        assert_eq!(reply.header("retry-after"), Some("1"));
        assert!(
            started.elapsed() >= wait,
            "refused only once the wait ran out"
        );
        if wait.is_zero() {
            assert_eq!(sink.attempts(), 1, "no second attempt without a wait");
        } else {
            assert!(sink.attempts() >= least_attempts, "{}", sink.attempts());
        }
        assert_eq!(sink.held_items(), 0);
        let metrics = running.metrics();
        assert_eq!(metrics.rejected_requests(RejectReason::Backpressure), 1);
        assert_eq!(
            metrics.backpressure_waits(Signal::Traces),
            u64::from(!wait.is_zero())
        );
    }
}
