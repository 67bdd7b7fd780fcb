//! A lane's memory accounting: its bound counts the decoded requests' memory, and a large
//! drained batch is written in bounded chunks.

use std::time::Duration;

use otlp_spool::Spool;
use otlp_spool::config::{ByteSize, Config};
use otlp_spool_core::proto::collector::trace::v1::ExportTraceServiceRequest;
use otlp_spool_core::{SinkError, Telemetry};
use otlp_spool_storage::{FileReader, OtlpRequest, Signal};
use prost::Message;

use crate::traffic::{ids, request, stored_ids};

/// A request as the receiver hands it over: decoded from its protobuf bytes.
fn decoded(batch: u32) -> Telemetry {
    let bytes = request(batch, 20).encode_to_vec();
    Telemetry::Traces(ExportTraceServiceRequest::decode(&bytes[..]).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lane_bound_counts_decoded_memory_not_protobuf_bytes() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let one = decoded(0);
        let memory = one.memory_size() as u64;
        // Room for 3.5 requests by memory, but for about 17 by protobuf size.
        assert!(
            memory > 4 * one.weight() as u64,
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
        for batch in 0..10 {
            match sink.accept(decoded(batch)) {
                Ok(()) => accepted.push(batch),
                Err(SinkError::Full { .. }) => break,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(accepted, [0, 1, 2]);
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
async fn a_large_drained_batch_is_written_in_chunks_of_max_batch_bytes() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let memory = decoded(0).memory_size() as u64;
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        // A chunk closes once it reaches two requests' worth of memory.
        config.buffer.max_batch_bytes = ByteSize(2 * memory);
        let spool = Spool::builder()
            .config(config)
            .output_dir(dir.path())
            .build()
            .await
            .unwrap();
        // The writer stalls while ten requests pile up, then the flusher drains them at once.
        spool.pipeline().pause_writers(true);
        let sink = spool.sink();
        for batch in 0..10 {
            sink.accept(decoded(batch)).unwrap();
        }
        spool.pipeline().pause_writers(false);
        spool.flush().await.unwrap();

        let spans_per_record_batch: Vec<usize> = FileReader::new(dir.path(), Signal::Traces)
            .requests()
            .unwrap()
            .map(|r| match r.unwrap() {
                OtlpRequest::Traces(r) => ids(&r).len(),
                _ => panic!("not traces"),
            })
            .collect();
        assert_eq!(spans_per_record_batch, [40; 5]);
        assert_eq!(stored_ids(dir.path()).len(), 200);
        spool.shutdown().await.unwrap();
    })
    .await
    .expect("test timed out");
}
