//! A lane's memory accounting: its bound counts each request's bytes plus what writing it
//! will cost, and a large drained batch is written in record batches bounded in size.

use std::time::Duration;

use arrow_array::RecordBatch;
use otlp_spool::Spool;
use otlp_spool::config::{ByteSize, Config};
use otlp_spool_core::wire::write_cost;
use otlp_spool_core::{SinkError, Telemetry};
use otlp_spool_storage::{FileReader, Signal};

use crate::traffic::{ids, request, stored_ids};

/// A request in the bytes form, as the receiver and the SDK exporters hand it over.
fn encoded(batch: u32) -> Telemetry {
    Telemetry::from(request(batch, 20))
}

/// What one request of [`encoded`] weighs in a lane: its bytes plus its write cost.
fn lane_weight(telemetry: &Telemetry) -> u64 {
    let cost = write_cost(Signal::Traces, telemetry.weight(), telemetry.item_count());
    assert_eq!(telemetry.write_cost(), cost);
    (telemetry.weight() + cost) as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lane_bound_counts_bytes_plus_write_cost() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let one = encoded(0);
        let memory = lane_weight(&one);
        // Every request of this test weighs the same.
        assert!((1..10).all(|b| lane_weight(&encoded(b)) == memory));
        // Room for 3.5 requests by weight, but for many more by protobuf size alone.
        assert!(
            memory > 3 * one.weight() as u64,
            "{memory} vs {}",
            one.weight()
        );
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::builder()
            .output_dir(dir.path())
            .buffer_max_bytes(3 * memory + memory / 2)
            .build()
            .await
            .unwrap();
        spool.pipeline().pause_writers(true);
        let sink = spool.sink();
        let mut accepted = Vec::new();
        let mut refused = None;
        for batch in 0..10 {
            match sink.accept(encoded(batch)) {
                Ok(()) => accepted.push(batch),
                Err(refusal) if matches!(refusal.error(), SinkError::Full { .. }) => {
                    refused = Some((batch, refusal.into_inner()));
                    break;
                }
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(accepted, [0, 1, 2]);
        // The refusal handed the request back whole: the caller retries it without a copy.
        let (batch, back) = refused.expect("the fourth request is refused");
        assert_eq!(back, encoded(batch));
        assert!(!spool.pipeline().is_ready(), "a full lane is not ready");
        let mut page = String::new();
        spool.pipeline().render_metrics(&mut page);
        assert!(
            page.contains(&format!(
                "otlp_spool_buffer_bytes{{signal=\"traces\"}} {}",
                3 * memory
            )),
            "{page}"
        );
        assert!(
            page.contains("otlp_spool_lane_writing_bytes{signal=\"traces\"} 0"),
            "{page}"
        );

        spool.pipeline().pause_writers(false);
        spool.flush().await.unwrap();
        assert!(spool.pipeline().is_ready());
        sink.accept(back)
            .expect("room again: the handed-back request is taken");
        accepted.push(batch);
        spool.flush().await.unwrap();
        let expected: std::collections::BTreeSet<u64> = accepted
            .iter()
            .flat_map(|&b| ids(&request(b, 20)))
            .collect();
        assert_eq!(stored_ids(dir.path()), expected);
        spool.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_drained_batch_is_written_in_record_batches_bounded_by_max_batch_bytes() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        // The smallest batch the lanes allow: 64 KiB of Arrow memory (a few hundred spans).
        config.buffer.max_batch_bytes = ByteSize(64 << 10);
        let spool = Spool::builder()
            .config(config)
            .output_dir(dir.path())
            .build()
            .await
            .unwrap();
        // The writer stalls while thirty requests pile up, then the flusher drains them at once.
        spool.pipeline().pause_writers(true);
        let sink = spool.sink();
        for batch in 0..30 {
            sink.accept(encoded(batch)).unwrap();
        }
        spool.pipeline().pause_writers(false);
        spool.flush().await.unwrap();

        let batches: Vec<RecordBatch> = FileReader::new(dir.path(), Signal::Traces)
            .batches()
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let rows: Vec<usize> = batches.iter().map(RecordBatch::num_rows).collect();
        // Cut by size, not one batch per drain and not one per request: every full batch holds
        // about as many rows (the last one takes the rest).
        assert!(rows.len() >= 3, "{rows:?}");
        let (last, full) = rows.split_last().unwrap();
        assert!(
            full.iter()
                .all(|&n| n > 20 && n.abs_diff(full[0]) <= full[0] / 5 && n >= *last),
            "{rows:?}"
        );
        assert_eq!(rows.iter().sum::<usize>(), 600);
        assert_eq!(stored_ids(dir.path()).len(), 600);
        spool.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_costlier_than_receiver_max_decoded_size_is_413_and_nothing_is_stored() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let dir = tempfile::tempdir().unwrap();
        let small = encoded(1);
        let mut config = Config::default();
        // Room for the write cost of a 20-span request, not for one of 200 spans.
        config.receiver.max_decoded_size = ByteSize(2 * small.write_cost() as u64);
        let spool = Spool::builder()
            .config(config)
            .output_dir(dir.path())
            .grpc_addr("127.0.0.1:0".parse().unwrap())
            .http_addr("127.0.0.1:0".parse().unwrap())
            .build()
            .await
            .unwrap();
        let addrs = spool.serve().await.unwrap();
        let response = reqwest::Client::new()
            .post(format!("http://{}/v1/traces", addrs.http))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&request(0, 200)).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 413);
        let body: serde_json::Value =
            serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("receiver.max_decoded_size"), "{message}");

        let answer = crate::traffic::post(&reqwest::Client::new(), addrs.http, &request(1, 20))
            .await
            .unwrap();
        assert_eq!(answer.status, 200);
        spool.flush().await.unwrap();
        let expected: std::collections::BTreeSet<u64> = ids(&request(1, 20)).into_iter().collect();
        assert_eq!(stored_ids(dir.path()), expected);
        spool.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}
