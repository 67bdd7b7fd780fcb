//! Forwarding between two real `otlp-spool` processes on loopback: what the source acknowledged
//! is in the source's files and, after the source's shutdown delivered its queue, in the
//! target's files too, exactly once, over gRPC and over HTTP.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::Server;
use crate::traffic::{ids, post, request, stored_ids};

async fn check(protocol: &str) {
    let target_dir = tempfile::tempdir().unwrap();
    let source_dir = tempfile::tempdir().unwrap();
    let mut target = Server::start(target_dir.path(), &[]);
    let endpoint = match protocol {
        "grpc" => format!("http://{}", target.grpc),
        _ => format!("http://{}", target.http),
    };
    let mut source = Server::start(
        source_dir.path(),
        &[
            "--forward-endpoint",
            &endpoint,
            "--forward-protocol",
            protocol,
        ],
    );
    let client = reqwest::Client::new();
    let mut acknowledged = BTreeSet::new();
    for batch in 0..40 {
        let req = request(batch, 25);
        let answer = post(&client, source.http, &req).await.unwrap();
        assert_eq!(answer.status, 200);
        acknowledged.extend(ids(&req));
    }
    let metrics_url = format!("http://{}/metrics", source.http);
    // Wait (bounded) until the forwarder reports everything forwarded.
    let want = acknowledged.len() as u64;
    let mut forwarded = 0;
    for _ in 0..100 {
        let text = client
            .get(&metrics_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        forwarded = text
            .lines()
            .find_map(|l| l.strip_prefix("otlp_spool_forward_forwarded_items_total "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if forwarded >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(forwarded, want, "forwarded items ({protocol})");
    let (s, t) = tokio::task::spawn_blocking(move || (source.terminate(), target.terminate()))
        .await
        .unwrap();
    assert!(s.success() && t.success());
    assert_eq!(
        stored_ids(source_dir.path()),
        acknowledged,
        "source files ({protocol})"
    );
    assert_eq!(
        stored_ids(target_dir.path()),
        acknowledged,
        "target files ({protocol})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_to_a_second_instance_over_grpc() {
    tokio::time::timeout(Duration::from_secs(120), check("grpc"))
        .await
        .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_to_a_second_instance_over_http_protobuf() {
    tokio::time::timeout(Duration::from_secs(120), check("http/protobuf"))
        .await
        .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_to_a_second_instance_over_http_json() {
    tokio::time::timeout(Duration::from_secs(120), check("http/json"))
        .await
        .expect("timed out");
}
