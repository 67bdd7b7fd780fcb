//! Forwarding between two real `otlp-spool` processes on loopback: what the source acknowledged
//! is in the source's files and, after the source's shutdown delivered its queue, in the
//! target's files too, exactly once, over gRPC and over HTTP, in plain text and over TLS (the
//! target serves `receiver.tls`, the source trusts it through `forward.tls.ca_file`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::Server;
use crate::traffic::{ids, post, request, stored_ids};

/// The receiver crate's self-signed test certificate (valid for 127.0.0.1 and localhost).
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../otlp-spool-receiver/tests/fixtures")
        .join(name)
}

/// Writes a YAML config file into `dir` and returns its path.
fn config_file(dir: &Path, name: &str, yaml: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, yaml).unwrap();
    path
}

async fn check(protocol: &str, tls: bool) {
    let target_dir = tempfile::tempdir().unwrap();
    let source_dir = tempfile::tempdir().unwrap();
    let config_dir = tempfile::tempdir().unwrap();
    let target_config = config_file(
        config_dir.path(),
        "target.yaml",
        &format!(
            "receiver:\n  tls: {{ cert_file: {:?}, key_file: {:?} }}\n",
            fixture("cert.pem"),
            fixture("key.pem")
        ),
    );
    let target_config = target_config.to_str().unwrap();
    let mut target = if tls {
        Server::start(target_dir.path(), &["--config", target_config])
    } else {
        Server::start(target_dir.path(), &[])
    };
    let scheme = if tls { "https" } else { "http" };
    let endpoint = match protocol {
        "grpc" => format!("{scheme}://{}", target.grpc),
        _ => format!("{scheme}://{}", target.http),
    };
    let source_config = config_file(
        config_dir.path(),
        "source.yaml",
        &format!(
            "forward:\n  endpoint: {endpoint}\n  protocol: {protocol}\n  tls: {{ ca_file: {:?} }}\n",
            fixture("cert.pem")
        ),
    );
    let source_config = source_config.to_str().unwrap();
    let mut source = if tls {
        Server::start(source_dir.path(), &["--config", source_config])
    } else {
        Server::start(
            source_dir.path(),
            &[
                "--forward-endpoint",
                &endpoint,
                "--forward-protocol",
                protocol,
            ],
        )
    };
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
    assert_eq!(forwarded, want, "forwarded items ({protocol}, tls: {tls})");
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
    tokio::time::timeout(Duration::from_secs(120), check("grpc", false))
        .await
        .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_to_a_second_instance_over_http_protobuf() {
    tokio::time::timeout(Duration::from_secs(120), check("http/protobuf", false))
        .await
        .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_to_a_second_instance_over_http_json() {
    tokio::time::timeout(Duration::from_secs(120), check("http/json", false))
        .await
        .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_to_a_second_instance_over_grpc_with_tls() {
    tokio::time::timeout(Duration::from_secs(120), check("grpc", true))
        .await
        .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_to_a_second_instance_over_http_protobuf_with_tls() {
    tokio::time::timeout(Duration::from_secs(120), check("http/protobuf", true))
        .await
        .expect("timed out");
}

/// `forward.tls.ca_file` errors stop the start-up naming the key, before any port is bound:
/// with an `http://` endpoint, and with a PEM file that holds no certificate (a private key).
#[test]
fn unusable_forward_tls_ca_file_fails_the_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let start = |endpoint: &str, ca: PathBuf| {
        let config = config_file(
            dir.path(),
            "c.yaml",
            &format!("forward:\n  endpoint: {endpoint}\n  tls: {{ ca_file: {ca:?} }}\n"),
        );
        let out = std::process::Command::new(crate::support::binary())
            .args([
                "serve",
                "--grpc-addr",
                "127.0.0.1:0",
                "--http-addr",
                "127.0.0.1:0",
            ])
            .arg("--output-dir")
            .arg(dir.path().join("out"))
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{err}");
        assert!(err.contains("forward.tls.ca_file"), "{err}");
        assert!(!err.contains("otlp-spool listening"), "{err}");
        err
    };
    let err = start("http://127.0.0.1:9", fixture("cert.pem"));
    assert!(err.contains("https"), "{err}");
    let err = start("https://127.0.0.1:9", fixture("key.pem"));
    assert!(err.contains("key.pem"), "{err}");
}
