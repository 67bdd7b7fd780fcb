//! Issue 11, scenario 1, against the real binary: one OTLP/HTTP protobuf request of about
//! 3.6 MB, 110,000 minimal valid spans under one resource whose `schema_url` is 20 KiB. Before
//! the bounded writer, writing it repeated the resource on every row (2.2 GB of strings) and
//! the traces lane died. Now it is either refused with 413 naming the limit or stored whole in
//! bounded memory; either way the lane lives on: a later request is stored, `/health` says 200
//! and SIGTERM exits 0.
//!
//! Both outcomes are exercised: with the defaults (the write-cost estimate decides; since its
//! recalibration on the bytes converter's peak memory, ~64 MB < 64 MiB: 200), and with `receiver.max_decoded_size` raised so the request gets in (then the peak RSS
//! of the server must stay under 256 MiB and all 110,000 spans must be in the files).

use std::time::Duration;

use otlp_spool_core::proto::collector::trace::v1::ExportTraceServiceRequest;
use otlp_spool_core::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

use crate::contained::get;
use crate::support::Server;
use crate::traffic::{post, request, stored_ids};

const SPANS: u64 = 110_000;

/// The amplifying request: minimal valid spans (ids only) under one resource with a 20 KiB
/// `schema_url`.
fn amplifying() -> ExportTraceServiceRequest {
    let spans = (1..=SPANS)
        .map(|i| Span {
            trace_id: [9u8; 16].to_vec(),
            span_id: ((1u64 << 48) | i).to_be_bytes().to_vec(),
            ..Span::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            schema_url: "s".repeat(20 << 10),
            scope_spans: vec![ScopeSpans {
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// The server's peak resident set (`VmHWM`), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status");
    kib * 1024
}

async fn scenario(extra_config: Option<&str>) -> (u16, String, u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![];
    let config_path = dir.path().join("otlp-spool.yaml");
    if let Some(yaml) = extra_config {
        std::fs::write(&config_path, yaml).unwrap();
        args = vec!["--config", config_path.to_str().unwrap()];
    }
    let data = dir.path().join("data");
    let server = Server::start(&data, &args);
    let client = reqwest::Client::new();
    let body = amplifying();
    assert!(body.encoded_len() > 3_000_000, "{}", body.encoded_len());
    let answer = post(&client, server.http, &body).await.unwrap();

    // Whatever the answer, the lane lives: a later request is stored (retried on 503 like an
    // OTLP client would, while the big one is being written), the server is healthy.
    let later = request(1, 20);
    let mut second = post(&client, server.http, &later).await.unwrap();
    for _ in 0..100 {
        if second.status != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        second = post(&client, server.http, &later).await.unwrap();
    }
    assert_eq!(second.status, 200, "{}", second.body);
    let (status, page) = get(server.http, "/health").await;
    assert_eq!(status, 200, "{page}");
    let peak = peak_rss(server.pid());
    eprintln!(
        "amplifying request: answer {}, server peak RSS {} MiB",
        answer.status,
        peak >> 20
    );
    let (exit, log) = server.terminated().await;
    assert!(exit.success(), "{exit:?}\n{log}");
    assert!(!log.contains("panicked"), "{log}");

    let stored = stored_ids(&data);
    let later_ids: Vec<u64> = crate::traffic::ids(&later);
    assert!(
        later_ids.iter().all(|id| stored.contains(id)),
        "the later request is stored"
    );
    let amplified = stored.iter().filter(|&&id| id >> 48 == 1).count() as u64;
    match answer.status {
        200 => assert_eq!(amplified, SPANS, "every acknowledged span is in the files"),
        413 => assert_eq!(amplified, 0, "a refused request stores nothing"),
        other => panic!("unexpected answer {other}: {}", answer.body),
    }
    (answer.status, answer.body, peak)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_defaults_the_amplifying_request_is_refused_or_stored_and_the_lane_lives() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let (status, body, peak) = scenario(None).await;
        if status == 413 {
            assert!(body.contains("receiver.max_decoded_size"), "{body}");
        } else {
            assert!(peak < 256 << 20, "peak RSS {} MiB", peak >> 20);
        }
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn let_in_the_amplifying_request_is_stored_whole_in_bounded_memory() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let (status, body, peak) = scenario(Some("receiver: { max_decoded_size: 1GiB }\n")).await;
        assert_eq!(status, 200, "{body}");
        assert!(peak < 256 << 20, "peak RSS {} MiB", peak >> 20);
    })
    .await
    .expect("test timed out");
}
