//! `buffer.policy: drop_oldest` under overload against the real HTTP server: every eviction
//! reaches `otlp_spool_dropped_items_total{reason="evicted"}`, and accepted = written +
//! dropped, both on `/metrics` and in the files.

use std::collections::BTreeSet;
use std::time::Duration;

use otlp_spool::Spool;
use otlp_spool::config::{BufferPolicy, Config};
use otlp_spool_core::{Signal, Telemetry};

use crate::contained::{get, sample};
use crate::traffic::{ids, post, request, stored_ids};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_oldest_evictions_are_counted_and_accepted_equals_written_plus_dropped() {
    tokio::time::timeout(Duration::from_secs(60), async {
        // What one request weighs in its lane (its bytes plus its write cost), as the
        // receiver hands it over.
        let one = Telemetry::from(request(0, 20));
        let one = (one.weight() + one.write_cost()) as u64;
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.buffer.policy = BufferPolicy::DropOldest;
        let spool = Spool::builder()
            .config(config)
            .output_dir(dir.path())
            .grpc_addr("127.0.0.1:0".parse().unwrap())
            .http_addr("127.0.0.1:0".parse().unwrap())
            .buffer_max_bytes(3 * one + one / 2)
            .build()
            .await
            .unwrap();
        let http = spool.serve().await.unwrap().http;
        // A stalled disk: the lane fills, and every further request evicts the oldest.
        spool.pipeline().pause_writers(true);
        let client = reqwest::Client::new();
        for batch in 0..10 {
            let answer = post(&client, http, &request(batch, 20)).await.unwrap();
            assert_eq!(
                answer.status, 200,
                "drop_oldest makes room instead of refusing"
            );
        }
        let (_, page) = get(http, "/metrics").await;
        let evicted = "otlp_spool_dropped_items_total{signal=\"traces\",reason=\"evicted\"}";
        assert_eq!(
            sample(&page, "otlp_spool_accepted_items_total{signal=\"traces\"}"),
            200
        );
        assert_eq!(
            sample(&page, evicted),
            140,
            "seven requests evicted:\n{page}"
        );

        spool.pipeline().pause_writers(false);
        spool.flush().await.unwrap();
        let (_, page) = get(http, "/metrics").await;
        let accepted = sample(&page, "otlp_spool_accepted_items_total{signal=\"traces\"}");
        let written = sample(&page, "otlp_spool_written_items_total{signal=\"traces\"}");
        let dropped: u64 = ["evicted", "conversion", "panic", "write_failed_at_shutdown"]
            .iter()
            .map(|r| {
                sample(
                    &page,
                    &format!("otlp_spool_dropped_items_total{{signal=\"traces\",reason=\"{r}\"}}"),
                )
            })
            .sum();
        assert_eq!(accepted, written + dropped);
        // The files hold exactly the written items: the newest three requests.
        let newest: BTreeSet<u64> = (7..10).flat_map(|b| ids(&request(b, 20))).collect();
        let stored = stored_ids(dir.path());
        assert_eq!(stored.len() as u64, written);
        assert_eq!(stored, newest);

        // Configured eviction is loss the user asked for: the shutdown reports it, the
        // process would still exit 0.
        let report = spool.shutdown().await.unwrap();
        assert_eq!(
            report.dropped,
            [(Signal::Traces, otlp_spool::DropReason::Evicted, 140)]
        );
        assert!(!report.lost_data(), "{report}");
    })
    .await
    .expect("test timed out");
}
