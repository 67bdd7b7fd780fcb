//! Fault injection with test OTLP servers this file controls: an axum HTTP server and a
//! tonic gRPC TraceService, both scripted per request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use otlp_spool_breaker::{CircuitBreaker, State};
use otlp_spool_core::Sink;
use otlp_spool_core::proto::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use otlp_spool_core::proto::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use otlp_spool_core::rpc_status::encode_status;
use otlp_spool_exporters::{Forwarder, Overflow, Protocol, RetryPolicy};
use parking_lot::Mutex;
use prost::Message;

use crate::common::{eventually, traces};

const LIMIT: Duration = Duration::from_secs(20);

/// What the server does with a request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    /// 503 / UNAVAILABLE, with an optional retry hint.
    Unavailable(Option<Duration>),
    /// 400 / INVALID_ARGUMENT.
    BadRequest,
    /// Answers only after this long.
    Hang(Duration),
    /// 200 with `partial_success` rejecting this many spans.
    Partial(i64),
}

/// The server's script and its observations.
#[derive(Debug, Default)]
struct Script {
    /// Faults for the next requests, in order; then every request succeeds.
    faults: Mutex<Vec<Fault>>,
    /// When set, every request fails with this fault (until cleared).
    down: Mutex<Option<Fault>>,
    requests: AtomicU64,
    delivered_spans: AtomicU64,
    arrivals: Mutex<Vec<Instant>>,
    breaker: Mutex<Option<CircuitBreaker>>,
    half_open_in_flight: AtomicU64,
    max_half_open_in_flight: AtomicU64,
}

impl Script {
    fn with_faults(faults: Vec<Fault>) -> Arc<Self> {
        let script = Self::default();
        *script.faults.lock() = faults;
        Arc::new(script)
    }

    /// Records a request and decides its fate.
    async fn on_request(&self, spans: u64) -> Option<Fault> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.arrivals.lock().push(Instant::now());
        let probing = self
            .breaker
            .lock()
            .as_ref()
            .is_some_and(|b| b.state() == State::HalfOpen);
        if probing {
            let n = self.half_open_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_half_open_in_flight.fetch_max(n, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            self.half_open_in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        let fault = match *self.down.lock() {
            Some(fault) => Some(fault),
            None => {
                let mut faults = self.faults.lock();
                (!faults.is_empty()).then(|| faults.remove(0))
            }
        };
        match fault {
            Some(Fault::Hang(d)) => {
                tokio::time::sleep(d).await;
                None
            }
            Some(Fault::Partial(n)) => {
                self.delivered_spans
                    .fetch_add(spans - n as u64, Ordering::SeqCst);
                Some(Fault::Partial(n))
            }
            None => {
                self.delivered_spans.fetch_add(spans, Ordering::SeqCst);
                None
            }
            other => other,
        }
    }

    fn gaps(&self) -> Vec<Duration> {
        let arrivals = self.arrivals.lock();
        arrivals.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

fn span_count(request: &ExportTraceServiceRequest) -> u64 {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len() as u64)
        .sum()
}

async fn http_traces(AxumState(script): AxumState<Arc<Script>>, body: Bytes) -> Response {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, "not protobuf").into_response();
    };
    let protobuf = |response: ExportTraceServiceResponse| {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/x-protobuf".parse().unwrap());
        (StatusCode::OK, headers, response.encode_to_vec()).into_response()
    };
    match script.on_request(span_count(&request)).await {
        None | Some(Fault::Hang(_)) => protobuf(ExportTraceServiceResponse::default()),
        Some(Fault::Partial(n)) => protobuf(ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: n,
                error_message: "bad spans".into(),
            }),
        }),
        Some(Fault::Unavailable(hint)) => {
            let mut headers = HeaderMap::new();
            if let Some(hint) = hint {
                headers.insert("retry-after", hint.as_secs().to_string().parse().unwrap());
            }
            (StatusCode::SERVICE_UNAVAILABLE, headers, "busy").into_response()
        }
        Some(Fault::BadRequest) => (StatusCode::BAD_REQUEST, "bad").into_response(),
    }
}

async fn http_server_on(listener: tokio::net::TcpListener, script: Arc<Script>) {
    let app = axum::Router::new()
        .route("/v1/traces", axum::routing::post(http_traces))
        .with_state(script);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
}

async fn http_server(script: Arc<Script>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    http_server_on(listener, script).await;
    addr
}

struct GrpcFaults(Arc<Script>);

#[tonic::async_trait]
impl TraceService for GrpcFaults {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        match self.0.on_request(span_count(request.get_ref())).await {
            None | Some(Fault::Hang(_)) => Ok(tonic::Response::new(Default::default())),
            Some(Fault::Partial(n)) => Ok(tonic::Response::new(ExportTraceServiceResponse {
                partial_success: Some(ExportTracePartialSuccess {
                    rejected_spans: n,
                    error_message: "bad spans".into(),
                }),
            })),
            Some(Fault::Unavailable(None)) => Err(tonic::Status::unavailable("busy")),
            Some(Fault::Unavailable(Some(hint))) => Err(tonic::Status::with_details(
                tonic::Code::Unavailable,
                "busy",
                encode_status(14, "busy", Some(hint)),
            )),
            Some(Fault::BadRequest) => Err(tonic::Status::invalid_argument("bad")),
        }
    }
}

async fn grpc_server(script: Arc<Script>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(GrpcFaults(script)))
            .serve_with_incoming(incoming)
            .await;
    });
    addr
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(10))
        .max_backoff(Duration::from_millis(50))
}

fn breaker(threshold: u32, open: Duration) -> CircuitBreaker {
    CircuitBreaker::builder()
        .failure_threshold(threshold)
        .open_duration(open)
        .max_open_duration(open * 2)
        .half_open_probes(1)
        .successes_to_close(1)
        .build()
        .unwrap()
}

/// Every accepted item is settled exactly once.
fn assert_books_balance(forwarder: &Forwarder) {
    let s = forwarder.stats();
    assert_eq!(s.accepted_items, s.settled_items(), "{s:?}");
    assert_eq!(s.queue_bytes, 0, "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_open_the_breaker_and_everything_is_delivered_once_back() {
    tokio::time::timeout(LIMIT, async {
        // A port nobody listens on (yet).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let breaker = breaker(3, Duration::from_millis(100));
        let forwarder = Forwarder::builder()
            .endpoint(format!("http://{addr}"))
            .protocol(Protocol::HttpProtobuf)
            .timeout(Duration::from_millis(500))
            .retry(fast_retry())
            .breaker(breaker.clone())
            .concurrency(3)
            .build()
            .unwrap();
        for i in 0..30 {
            forwarder.accept(traces(&format!("r{i}"), 10)).unwrap();
        }
        assert!(eventually(LIMIT, || breaker.state() == State::Open).await);
        assert!(forwarder.stats().retried_requests >= 3);
        assert_eq!(forwarder.stats().forwarded_items, 0);
        // The remote comes up on that port.
        let script = Script::with_faults(vec![]);
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        http_server_on(listener, script.clone()).await;
        assert!(forwarder.flush(LIMIT).await);
        let stats = forwarder.stats();
        assert_eq!(stats.forwarded_items, 300, "{stats:?}");
        assert_eq!(script.delivered_spans.load(Ordering::SeqCst), 300);
        assert_eq!(stats.dropped_items, 0);
        assert_eq!(breaker.state(), State::Closed);
        assert_books_balance(&forwarder);
        forwarder.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .expect("in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_503_with_retry_after_is_honoured() {
    tokio::time::timeout(LIMIT, async {
        let script = Script::with_faults(vec![Fault::Unavailable(Some(Duration::from_secs(1)))]);
        let addr = http_server(script.clone()).await;
        let forwarder = Forwarder::builder()
            .endpoint(format!("http://{addr}"))
            .protocol(Protocol::HttpProtobuf)
            .retry(fast_retry())
            .concurrency(1)
            .build()
            .unwrap();
        forwarder.accept(traces("a", 4)).unwrap();
        assert!(forwarder.flush(LIMIT).await);
        let stats = forwarder.stats();
        assert_eq!((stats.forwarded_items, stats.retried_requests), (4, 1));
        assert_eq!(script.requests.load(Ordering::SeqCst), 2);
        let gaps = script.gaps();
        assert!(
            gaps[0] >= Duration::from_millis(900),
            "waited {:?}",
            gaps[0]
        );
        assert_books_balance(&forwarder);
        forwarder.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .expect("in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_unavailable_with_retry_info_is_retried_after_the_hint() {
    tokio::time::timeout(LIMIT, async {
        let hint = Duration::from_millis(300);
        let script = Script::with_faults(vec![
            Fault::Unavailable(Some(hint)),
            Fault::Unavailable(None),
        ]);
        let addr = grpc_server(script.clone()).await;
        let forwarder = Forwarder::builder()
            .endpoint(format!("http://{addr}"))
            .retry(fast_retry())
            .concurrency(1)
            .build()
            .unwrap();
        forwarder.accept(traces("g", 6)).unwrap();
        assert!(forwarder.flush(LIMIT).await);
        let stats = forwarder.stats();
        assert_eq!(
            (stats.forwarded_items, stats.retried_requests),
            (6, 2),
            "{stats:?}"
        );
        assert_eq!(script.requests.load(Ordering::SeqCst), 3);
        let gaps = script.gaps();
        assert!(
            gaps[0] >= Duration::from_millis(280),
            "RetryInfo honoured: {gaps:?}"
        );
        assert!(
            gaps[1] < Duration::from_millis(280),
            "then plain back-off: {gaps:?}"
        );
        assert_books_balance(&forwarder);
        forwarder.shutdown(Duration::from_secs(1)).await;
    })
    .await
    .expect("in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_hanging_past_the_timeout_is_retried() {
    tokio::time::timeout(LIMIT, async {
        for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
            let script = Script::with_faults(vec![Fault::Hang(Duration::from_secs(3))]);
            let addr = match protocol {
                Protocol::Grpc => grpc_server(script.clone()).await,
                _ => http_server(script.clone()).await,
            };
            let forwarder = Forwarder::builder()
                .endpoint(format!("http://{addr}"))
                .protocol(protocol)
                .timeout(Duration::from_millis(200))
                .retry(fast_retry())
                .concurrency(1)
                .build()
                .unwrap();
            let started = Instant::now();
            for i in 0..100 {
                forwarder.accept(traces(&format!("h{i}"), 1)).unwrap();
            }
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "accept never waits"
            );
            assert!(forwarder.flush(LIMIT).await);
            let stats = forwarder.stats();
            assert_eq!(stats.forwarded_items, 100, "{protocol}: {stats:?}");
            assert_eq!(stats.retried_requests, 1, "{protocol}: {stats:?}");
            assert_books_balance(&forwarder);
            forwarder.shutdown(Duration::from_secs(1)).await;
        }
    })
    .await
    .expect("in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_errors_are_counted_and_not_retried() {
    tokio::time::timeout(LIMIT, async {
        for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
            let script = Script::with_faults(vec![]);
            *script.down.lock() = Some(Fault::BadRequest);
            let addr = match protocol {
                Protocol::Grpc => grpc_server(script.clone()).await,
                _ => http_server(script.clone()).await,
            };
            let breaker = breaker(2, Duration::from_secs(10));
            let forwarder = Forwarder::builder()
                .endpoint(format!("http://{addr}"))
                .protocol(protocol)
                .retry(fast_retry())
                .breaker(breaker.clone())
                .max_request_bytes(1)
                .build()
                .unwrap();
            for i in 0..5 {
                forwarder.accept(traces(&format!("p{i}"), 3)).unwrap();
            }
            assert!(forwarder.flush(LIMIT).await);
            let stats = forwarder.stats();
            assert_eq!(stats.failed_items, 15, "{protocol}: {stats:?}");
            assert_eq!(stats.failed_requests, 5);
            assert_eq!(stats.retried_requests, 0);
            assert_eq!(
                script.requests.load(Ordering::SeqCst),
                5,
                "one request per batch"
            );
            assert_eq!(
                breaker.state(),
                State::Closed,
                "a 400 says nothing about health"
            );
            assert_books_balance(&forwarder);
            forwarder.shutdown(Duration::from_secs(1)).await;
        }
    })
    .await
    .expect("in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_success_is_counted_and_not_retried() {
    tokio::time::timeout(LIMIT, async {
        for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
            let script = Script::with_faults(vec![Fault::Partial(2)]);
            let addr = match protocol {
                Protocol::Grpc => grpc_server(script.clone()).await,
                _ => http_server(script.clone()).await,
            };
            let forwarder = Forwarder::builder()
                .endpoint(format!("http://{addr}"))
                .protocol(protocol)
                .build()
                .unwrap();
            forwarder.accept(traces("ps", 10)).unwrap();
            assert!(forwarder.flush(LIMIT).await);
            let stats = forwarder.stats();
            assert_eq!(
                (stats.forwarded_items, stats.rejected_items),
                (8, 2),
                "{stats:?}"
            );
            assert_eq!(stats.retried_requests, 0);
            assert_eq!(script.requests.load(Ordering::SeqCst), 1);
            assert_books_balance(&forwarder);
            forwarder.shutdown(Duration::from_secs(1)).await;
        }
    })
    .await
    .expect("in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flapping_remote_opens_the_breaker_and_recovers_through_one_probe() {
    tokio::time::timeout(LIMIT, async {
        for protocol in [Protocol::Grpc, Protocol::HttpProtobuf] {
            let script = Script::with_faults(vec![]);
            let breaker = breaker(2, Duration::from_millis(60));
            *script.breaker.lock() = Some(breaker.clone());
            *script.down.lock() = Some(Fault::Unavailable(None));
            let addr = match protocol {
                Protocol::Grpc => grpc_server(script.clone()).await,
                _ => http_server(script.clone()).await,
            };
            let forwarder = Forwarder::builder()
                .endpoint(format!("http://{addr}"))
                .protocol(protocol)
                .retry(fast_retry())
                .breaker(breaker.clone())
                .concurrency(4)
                .max_request_bytes(2000)
                .build()
                .unwrap();
            let mut sent = 0;
            // Down, up, down, up: data keeps coming all along.
            for phase in 0..4 {
                *script.down.lock() = (phase % 2 == 0).then_some(Fault::Unavailable(None));
                for i in 0..20 {
                    forwarder
                        .accept(traces(&format!("f{phase}-{i}"), 5))
                        .unwrap();
                    sent += 5;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                if phase % 2 == 0 {
                    assert!(
                        eventually(LIMIT, || breaker.counters().transitions >= 1
                            && breaker.state() != State::Closed)
                        .await
                    );
                }
            }
            *script.down.lock() = None;
            assert!(forwarder.flush(LIMIT).await);
            let stats = forwarder.stats();
            assert_eq!(stats.forwarded_items, sent, "{protocol}: {stats:?}");
            assert_eq!(script.delivered_spans.load(Ordering::SeqCst), sent);
            assert_eq!(stats.dropped_items + stats.failed_items, 0);
            assert!(
                breaker.counters().transitions >= 3,
                "opened and closed again"
            );
            assert_eq!(breaker.state(), State::Closed);
            assert_eq!(
                script.max_half_open_in_flight.load(Ordering::SeqCst),
                1,
                "one probe at a time"
            );
            assert_books_balance(&forwarder);
            forwarder.shutdown(Duration::from_secs(1)).await;
        }
    })
    .await
    .expect("in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overflow_policies_count_what_they_drop_and_shutdown_counts_the_rest() {
    tokio::time::timeout(LIMIT, async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        // Every pushed batch ("o00".."o19") weighs exactly `one`, so the queue holds 5.
        let one = traces("o00", 10).weight() as u64;
        for overflow in [Overflow::DropOldest, Overflow::Reject] {
            let forwarder = Forwarder::builder()
                .endpoint(format!("http://{addr}"))
                .protocol(Protocol::HttpProtobuf)
                .retry(fast_retry())
                .breaker(breaker(1, Duration::from_secs(30)))
                .queue_bytes(one * 5)
                .overflow(overflow)
                .build()
                .unwrap();
            // The first batch goes alone, and the rest only once the breaker is open: a
            // worker then holds exactly that batch in flight (waiting for the breaker) and
            // the other four slots are queued, evictable data. Pushing all 20 at once would
            // let a late worker merge every queued batch into one in-flight request that
            // fills the whole bound; `DropOldest` cannot evict bytes in flight, so it would
            // refuse (`PushError::Full`) a timing-dependent number of the later batches.
            forwarder.accept(traces("o00", 10)).unwrap();
            assert!(
                eventually(LIMIT, || forwarder.breaker().state() == State::Open).await,
                "{overflow:?}: the refused connection opens the breaker"
            );
            let mut refused = 0;
            for i in 1..20 {
                if forwarder.accept(traces(&format!("o{i:02}"), 10)).is_err() {
                    refused += 10;
                }
            }
            let stats = forwarder.stats();
            assert_eq!(stats.queue_bytes, one * 5, "{overflow:?}: {stats:?}");
            assert_eq!(stats.queued_batches, 4, "{overflow:?}: {stats:?}");
            match overflow {
                Overflow::DropOldest => {
                    assert_eq!(refused, 0, "{stats:?}");
                    assert_eq!(stats.accepted_items, 200);
                    assert_eq!(stats.dropped_items, 150, "{stats:?}");
                }
                Overflow::Reject => {
                    assert_eq!(refused, 150, "{stats:?}");
                    assert_eq!(stats.refused_items, refused);
                    assert_eq!(stats.accepted_items, 50);
                    assert_eq!(stats.dropped_items, 0, "{stats:?}");
                }
            }
            let report = forwarder.shutdown(Duration::from_millis(100)).await;
            assert!(!report.drained);
            assert!(report.dropped_items > 0);
            let stats = forwarder.stats();
            assert_eq!(stats.accepted_items + stats.refused_items, 200);
            assert_eq!(stats.forwarded_items, 0);
            assert_books_balance(&forwarder);
        }
    })
    .await
    .expect("in time");
}

/// Tracked batches (the log feeder's) are never evicted, their fates reach the tracker once,
/// and a keeping shutdown hands the untracked rest back instead of dropping it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracked_batches_are_reported_and_a_keeping_shutdown_drops_nothing() {
    use otlp_spool_exporters::Fate;
    tokio::time::timeout(LIMIT, async {
        // Up: tracked batches are reported delivered, each tag once.
        let script = Script::with_faults(Vec::new());
        let addr = http_server(script.clone()).await;
        let forwarder = Forwarder::builder()
            .endpoint(format!("http://{addr}"))
            .protocol(Protocol::HttpProtobuf)
            .retry(fast_retry())
            .build()
            .unwrap();
        let fates = Arc::new(Mutex::new(Vec::new()));
        let seen = fates.clone();
        assert!(forwarder.track(Arc::new(move |tags: &[u64], fate| {
            seen.lock().extend(tags.iter().map(|&t| (t, fate)));
        })));
        for tag in 1..=5 {
            forwarder
                .accept_tracked(traces(&format!("t{tag}"), 10), tag)
                .unwrap();
        }
        forwarder.accept(traces("u", 10)).unwrap();
        assert!(forwarder.flush(LIMIT).await);
        let mut got = fates.lock().clone();
        got.sort_unstable_by_key(|&(t, _)| t);
        assert_eq!(
            got,
            (1..=5).map(|t| (t, Fate::Delivered)).collect::<Vec<_>>()
        );
        assert_eq!(script.delivered_spans.load(Ordering::SeqCst), 60);
        forwarder.shutdown(LIMIT).await;

        // Down, with room for 3 batches under DropOldest: tracked pushes are refused, not
        // evicting; a keeping shutdown keeps everything held and reports no fate.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead = listener.local_addr().unwrap();
        drop(listener);
        let one = traces("k0", 10).weight() as u64;
        let forwarder = Forwarder::builder()
            .endpoint(format!("http://{dead}"))
            .protocol(Protocol::HttpProtobuf)
            .retry(fast_retry())
            .queue_bytes(one * 3)
            .overflow(Overflow::DropOldest)
            .breaker(breaker(1, Duration::from_secs(30)))
            .build()
            .unwrap();
        let fates = Arc::new(Mutex::new(Vec::new()));
        let seen = fates.clone();
        forwarder.track(Arc::new(move |tags: &[u64], fate| {
            seen.lock().extend(tags.iter().map(|&t| (t, fate)));
        }));
        // k0 goes alone and stays in flight (the breaker opens on its first failure).
        forwarder.accept(traces("k0", 10)).unwrap();
        assert!(eventually(LIMIT, || forwarder.breaker().state() == State::Open).await);
        forwarder.accept_tracked(traces("k1", 10), 1).unwrap();
        forwarder.accept(traces("k2", 10)).unwrap();
        assert!(
            matches!(
                forwarder
                    .accept_tracked(traces("k3", 10), 2)
                    .map_err(|r| r.into_error()),
                Err(otlp_spool_exporters::SinkError::Full { .. })
            ),
            "a tracked batch never evicts"
        );
        // An untracked batch evicts the oldest *untracked* one (k2), never the tracked k1.
        forwarder.accept(traces("k4", 10)).unwrap();
        let (report, kept) = forwarder.shutdown_keeping(Duration::from_millis(200)).await;
        assert!(!report.drained);
        assert_eq!(
            (report.dropped_items, report.kept_items),
            (0, 30),
            "k0, k1 and k4 are kept: {report:?}"
        );
        let kept_spans: usize = kept.iter().map(|t| t.item_count()).sum();
        assert_eq!(
            kept_spans, 20,
            "the untracked k0 (in flight) and k4 come back"
        );
        assert!(fates.lock().is_empty(), "kept batches report no fate");
        let stats = forwarder.stats();
        assert_eq!(stats.accepted_items, stats.settled_items(), "{stats:?}");
        assert_eq!(stats.dropped_items, 10, "k2, evicted: {stats:?}");
    })
    .await
    .expect("in time");
}
