//! Backpressure: with a tiny buffer and stalled writers, clients get 503 / UNAVAILABLE with a
//! retry hint, and every request that was acknowledged ends up on disk exactly once.

use std::collections::BTreeSet;
use std::time::Duration;

use otlp_spool::Spool;
use otlp_spool_core::proto::collector::trace::v1::trace_service_client::TraceServiceClient;

use crate::traffic::{ids, post, request, stored_ids};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_buffer_answers_with_a_retry_hint_and_loses_nothing_acknowledged() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::builder()
            .output_dir(dir.path())
            .grpc_addr("127.0.0.1:0".parse().unwrap())
            .http_addr("127.0.0.1:0".parse().unwrap())
            .buffer_max_bytes(64 * 1024)
            .build()
            .await
            .unwrap();
        let addrs = spool.serve().await.unwrap();
        spool.pipeline().pause_writers(true);

        let client = reqwest::Client::new();
        let mut acknowledged = BTreeSet::new();
        let mut got_503 = false;
        for batch in 0..200 {
            let req = request(batch, 20); // ~7 KiB encoded
            let answer = post(&client, addrs.http, &req).await.unwrap();
            match answer.status {
                200 => acknowledged.extend(ids(&req)),
                503 => {
                    let retry = answer.retry_after.expect("503 carries Retry-After");
                    assert!(retry.parse::<u64>().unwrap() >= 1, "Retry-After: {retry}");
                    got_503 = true;
                    break;
                }
                other => panic!("unexpected status {other}"),
            }
        }
        assert!(got_503, "the buffer never filled");
        assert!(!acknowledged.is_empty());

        // gRPC sees the same full buffer: UNAVAILABLE with a RetryInfo delay.
        let mut grpc = TraceServiceClient::connect(format!("http://{}", addrs.grpc))
            .await
            .unwrap();
        let status = grpc.export(request(10_000, 20)).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        let delay = otlp_spool_receiver::retry_delay_from_status_details(status.details());
        assert!(
            delay.is_some_and(|d| d >= Duration::from_secs(1)),
            "{delay:?}"
        );

        // Readiness reflects the full buffer.
        let ready = client
            .get(format!("http://{}/ready", addrs.http))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status().as_u16(), 503);

        // The disk comes back: everything acknowledged is written, nothing else.
        spool.pipeline().pause_writers(false);
        spool.flush().await.unwrap();
        assert_eq!(stored_ids(dir.path()), acknowledged);

        let metrics = client
            .get(format!("http://{}/metrics", addrs.http))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics
                .contains("otlp_spool_rejected_requests_total{signal=\"traces\",reason=\"full\"}"),
            "{metrics}"
        );
        spool.shutdown().await.unwrap();
        assert_eq!(stored_ids(dir.path()), acknowledged);
    })
    .await
    .expect("test timed out");
}

/// A request that finds its lane full waits (`receiver.backpressure_wait`) instead of being
/// refused at once: the writers resume while it waits, and it is acknowledged and stored,
/// with the wait counted and no backpressure refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waits_for_room_and_is_stored_once_the_writers_free_it() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let dir = tempfile::tempdir().unwrap();
        let mut config = otlp_spool::config::Config::default();
        config.receiver.backpressure_wait =
            otlp_spool::config::HumanDuration(Duration::from_secs(5));
        let spool = Spool::builder()
            .config(config)
            .output_dir(dir.path())
            .grpc_addr("127.0.0.1:0".parse().unwrap())
            .http_addr("127.0.0.1:0".parse().unwrap())
            .buffer_max_bytes(64 * 1024)
            .build()
            .await
            .unwrap();
        let addrs = spool.serve().await.unwrap();
        spool.pipeline().pause_writers(true);
        let client = reqwest::Client::new();
        let mut acknowledged = BTreeSet::new();
        // Fill the lane: each request is taken at once until one has to wait.
        let waiting = loop {
            let batch = u32::try_from(acknowledged.len()).unwrap();
            let req = request(batch, 20);
            let send = tokio::spawn({
                let client = client.clone();
                let req = req.clone();
                async move { post(&client, addrs.http, &req).await.unwrap() }
            });
            tokio::time::sleep(Duration::from_millis(200)).await;
            if !send.is_finished() {
                break (send, req);
            }
            let answer = send.await.unwrap();
            assert_eq!(answer.status, 200, "nothing is refused within the wait");
            acknowledged.extend(ids(&req));
            assert!(acknowledged.len() < 200 * 20, "the lane never filled");
        };
        let (send, req) = waiting;
        spool.pipeline().pause_writers(false);
        let answer = send.await.unwrap();
        assert_eq!(answer.status, 200, "taken once the writers made room");
        acknowledged.extend(ids(&req));
        spool.flush().await.unwrap();
        assert_eq!(stored_ids(dir.path()), acknowledged);
        let metrics = client
            .get(format!("http://{}/metrics", addrs.http))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("otlp_spool_receiver_backpressure_waits_total{signal=\"traces\"} 1"),
            "{metrics}"
        );
        assert!(
            metrics
                .contains("otlp_spool_receiver_rejected_requests_total{reason=\"backpressure\"} 0"),
            "{metrics}"
        );
        spool.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}
