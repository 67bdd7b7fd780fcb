//! Contained failures against the real HTTP server of a `Spool`: a panic in a lane's
//! conversion or write, a failing write, a panic in housekeeping or in a forwarder delivery is
//! caught; its items are counted as dropped with a reason and the worker carries on with the
//! next batch; `/health` answers 503 naming the worker while it cannot make progress, and
//! `/metrics` shows it. Faults come from the hidden test hooks, never from corrupted input.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use otlp_spool::config::{Config, ForwardConfig};
use otlp_spool::{DropReason, Fault, Spool};
use otlp_spool_core::{Refusal, Signal, Sink, Telemetry};

use crate::traffic::{ids, post, request, stored_ids};

/// One Prometheus sample of `/metrics` (the exact series, labels included).
pub(crate) fn sample(page: &str, series: &str) -> u64 {
    page.lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no sample {series} in:\n{page}"))
}

pub(crate) async fn get(http: SocketAddr, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{http}{path}")).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Polls `/health` until it answers `status` (at most `within`); its body then.
async fn health_turns(http: SocketAddr, status: u16, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let (got, body) = get(http, "/health").await;
        if got == status {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/health never answered {status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A logs request of `n` records.
fn logs(n: usize) -> Telemetry {
    use otlp_spool_core::proto::collector::logs::v1::ExportLogsServiceRequest;
    use otlp_spool_core::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    Telemetry::from(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: (0..n)
                    .map(|i| LogRecord {
                        time_unix_nano: 1_700_000_000_000_000_000 + i as u64,
                        severity_number: 9,
                        ..LogRecord::default()
                    })
                    .collect(),
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    })
}

pub(crate) async fn served(config: Config) -> (Spool, SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config;
    config.output_dir = dir.path().to_path_buf();
    config.grpc_addr = "127.0.0.1:0".parse().unwrap();
    config.http_addr = "127.0.0.1:0".parse().unwrap();
    let spool = Spool::builder().config(config).build().await.unwrap();
    let addrs = spool.serve().await.unwrap();
    (spool, addrs.http, dir)
}

/// POSTs request `batch` (20 spans), expects 200, then flushes; whether the flush succeeded.
async fn send_and_flush(spool: &Spool, http: SocketAddr, batch: u32) -> bool {
    let client = reqwest::Client::new();
    let answer = post(&client, http, &request(batch, 20)).await.unwrap();
    assert_eq!(answer.status, 200);
    spool.flush().await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_in_conversion_or_write_drop_only_their_batch_and_health_names_the_lane() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let (spool, http, dir) = served(Config::default()).await;
        let pipeline = spool.pipeline();
        let mut stored = BTreeSet::new();

        // One panic in a conversion, one in a write: each costs its own batch only.
        pipeline.inject_fault(Signal::Traces, Fault::ConversionPanic, 1);
        assert!(
            !send_and_flush(&spool, http, 1).await,
            "the flush reports the lost batch"
        );
        assert!(send_and_flush(&spool, http, 2).await);
        stored.extend(ids(&request(2, 20)));
        pipeline.inject_fault(Signal::Traces, Fault::WritePanic, 1);
        assert!(!send_and_flush(&spool, http, 3).await);
        assert!(send_and_flush(&spool, http, 4).await);
        stored.extend(ids(&request(4, 20)));
        assert_eq!(stored_ids(dir.path()), stored);
        assert_eq!(
            get(http, "/health").await.0,
            200,
            "a failure then a success is healthy"
        );

        // Three in a row: the writer cannot make progress, and /health says which one.
        pipeline.inject_fault(Signal::Traces, Fault::ConversionPanic, 3);
        for batch in 5..8 {
            assert!(!send_and_flush(&spool, http, batch).await);
        }
        let (status, body) = get(http, "/health").await;
        assert_eq!(status, 503, "{body}");
        assert!(
            body.contains("traces_writer: the last 3 attempts failed")
                && body.contains("panic: injected fault: ConversionPanic"),
            "{body}"
        );
        let (_, page) = get(http, "/metrics").await;
        assert_eq!(
            sample(&page, "otlp_spool_worker_healthy{worker=\"traces_writer\"}"),
            0
        );
        assert_eq!(
            sample(&page, "otlp_spool_worker_healthy{worker=\"logs_writer\"}"),
            1
        );
        assert_eq!(
            sample(
                &page,
                "otlp_spool_worker_panics_total{worker=\"traces_writer\"}"
            ),
            5
        );
        let dropped = "otlp_spool_dropped_items_total{signal=\"traces\",reason=\"panic\"}";
        assert_eq!(sample(&page, dropped), 100);
        // Other signals are not affected while traces are stuck.
        assert_eq!(get(http, "/ready").await.0, 200);

        // The next batch goes through and heals it.
        assert!(send_and_flush(&spool, http, 8).await);
        stored.extend(ids(&request(8, 20)));
        assert_eq!(get(http, "/health").await.0, 200);
        let (_, page) = get(http, "/metrics").await;
        let accepted = sample(&page, "otlp_spool_accepted_items_total{signal=\"traces\"}");
        let written = sample(&page, "otlp_spool_written_items_total{signal=\"traces\"}");
        assert_eq!((accepted, written), (160, 60));
        assert_eq!(accepted, written + sample(&page, dropped));
        assert_eq!(stored_ids(dir.path()), stored);

        let report = spool.shutdown().await.unwrap();
        assert!(report.lost_data(), "{report}");
        assert_eq!(report.dropped, [(Signal::Traces, DropReason::Panic, 100)]);
        assert!(report.abandoned.is_empty() && !report.timed_out, "{report}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_write_is_kept_and_retried_while_health_reports_it() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let (spool, http, dir) = served(Config::default()).await;
        // Five failed attempts (about 1.5 s of back-off), then the disk "comes back".
        spool
            .pipeline()
            .inject_fault(Signal::Logs, Fault::WriteError, 5);
        spool
            .sink()
            .accept(Telemetry::from(request(1, 20)))
            .unwrap();
        spool.sink().accept(logs(10)).unwrap();
        let flushing = tokio::spawn({
            let spool = spool.clone();
            async move { spool.flush().await }
        });
        let body = health_turns(http, 503, Duration::from_secs(10)).await;
        assert!(
            body.contains("logs_writer") && body.contains("injected fault: WriteError"),
            "{body}"
        );
        flushing.await.unwrap().expect("the write succeeds at last");
        assert_eq!(get(http, "/health").await.0, 200);
        let (_, page) = get(http, "/metrics").await;
        assert_eq!(
            sample(&page, "otlp_spool_write_errors_total{signal=\"logs\"}"),
            5
        );
        assert_eq!(
            sample(&page, "otlp_spool_written_items_total{signal=\"logs\"}"),
            10
        );
        for reason in DropReason::ALL {
            assert_eq!(spool.pipeline().dropped_items(Signal::Logs, reason), 0);
        }
        assert_eq!(stored_ids(dir.path()).len(), 20);
        let report = spool.shutdown().await.unwrap();
        assert!(report.is_clean(), "{report}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn housekeeping_panics_are_caught_and_the_lane_keeps_writing() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let (spool, http, dir) = served(Config::default()).await;
        spool
            .pipeline()
            .inject_fault(Signal::Metrics, Fault::HousekeepingPanic, 3);
        // Ticks run every second: after three, the housekeeping of metrics is unhealthy.
        let body = health_turns(http, 503, Duration::from_secs(15)).await;
        assert!(body.contains("metrics_housekeeping"), "{body}");
        // Writing goes on meanwhile, in every lane.
        assert!(send_and_flush(&spool, http, 1).await);
        assert_eq!(stored_ids(dir.path()).len(), 20);
        // The next tick succeeds and heals it.
        health_turns(http, 200, Duration::from_secs(5)).await;
        let (_, page) = get(http, "/metrics").await;
        assert_eq!(
            sample(
                &page,
                "otlp_spool_worker_panics_total{worker=\"metrics_housekeeping\"}"
            ),
            3
        );
        assert!(spool.shutdown().await.unwrap().is_clean());
    })
    .await
    .expect("test timed out");
}

/// A plain OTLP receiver that takes everything: the forwarder's remote.
#[derive(Debug, Default)]
struct Remote(std::sync::atomic::AtomicUsize);

impl Sink for Remote {
    fn accept(&self, telemetry: Telemetry) -> Result<(), Refusal> {
        self.0
            .fetch_add(telemetry.item_count(), std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarder_panics_are_contained_and_named_by_health() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let remote = Arc::new(Remote::default());
        let running = otlp_spool_receiver::Receiver::builder()
            .grpc_addr("127.0.0.1:0".parse().unwrap())
            .disable_http()
            .build()
            .unwrap()
            .serve(remote.clone(), std::future::pending())
            .await
            .unwrap();
        let config = Config {
            forward: Some(ForwardConfig::new(format!(
                "http://{}",
                running.grpc_addr().unwrap()
            ))),
            ..Config::default()
        };
        let (spool, http, _dir) = served(config).await;
        let forwarder = spool.forwarder().unwrap().clone();
        forwarder.inject_panics(3);
        let client = reqwest::Client::new();
        for batch in 0..3 {
            assert_eq!(
                post(&client, http, &request(batch, 5))
                    .await
                    .unwrap()
                    .status,
                200
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            while forwarder.stats().panics < u64::from(batch) + 1 {
                assert!(Instant::now() < deadline, "{:?}", forwarder.stats());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        let (status, body) = get(http, "/health").await;
        assert_eq!(status, 503);
        assert!(
            body.contains("forwarder: the last 3 deliveries panicked"),
            "{body}"
        );
        let (_, page) = get(http, "/metrics").await;
        assert_eq!(sample(&page, "otlp_spool_forward_healthy"), 0);
        assert_eq!(sample(&page, "otlp_spool_forward_panics_total"), 3);
        assert_eq!(sample(&page, "otlp_spool_forward_dropped_items_total"), 15);

        // The forwarder goes on: the next batch reaches the remote and health comes back.
        assert_eq!(
            post(&client, http, &request(9, 5)).await.unwrap().status,
            200
        );
        assert!(otlp_spool_exporters::Forwarder::flush(&forwarder, Duration::from_secs(10)).await);
        assert_eq!(remote.0.load(std::sync::atomic::Ordering::SeqCst), 5);
        assert_eq!(get(http, "/health").await.0, 200);
        // Local files got everything regardless.
        spool.flush().await.unwrap();
        assert_eq!(spool.pipeline().held_items(Signal::Traces), 0);
        spool.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}
