//! Lake upload (`storage.upload`) with the real binary and a real S3 API server (s3s-fs) on
//! loopback: spans sent over OTLP end up as Parquet objects under hive keys that pyarrow
//! (`S3FileSystem` + `dataset(partitioning="hive")`) and DuckDB read back with exact row
//! counts; a `kill -9` during an upload and a restart skip nothing and show nothing partial;
//! three instances share one bucket without a collision.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use otlp_spool_upload::INSTANCE_ID_FILE;
use otlp_spool_upload::testing::{ACCESS_KEY, S3TestServer, SECRET_KEY};
use serde_json::Value;

use crate::support::{Server, files, python};
use crate::traffic::{post, request};

const BUCKET: &str = "lake";
const PREFIX: &str = "otel";

fn credentials() -> [(&'static str, &'static str); 2] {
    [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
    ]
}

/// A config file uploading Parquet files to `server`; `extra` goes into `storage.upload`.
fn config(dir: &Path, server: &S3TestServer, extra: &str) -> PathBuf {
    let path = dir.join("otlp-spool.yaml");
    let yaml = format!(
        "storage:\n  format: parquet\n  rotate_age: 1s\n  upload:\n    url: s3://{BUCKET}/{PREFIX}\n    \
         endpoint: {}\n    allow_http: true\n    scan_interval: 100ms\n    \
         retry: {{ initial_backoff: 50ms, max_backoff: 500ms }}\n    \
         breaker: {{ open_duration: 200ms, max_open_duration: 1s }}\n{extra}",
        server.endpoint()
    );
    std::fs::write(&path, yaml).unwrap();
    path
}

fn start(dir: &Path, config: &Path) -> Server {
    Server::start_with_env(dir, &["--config", config.to_str().unwrap()], &credentials())
}

/// Sends `batches` requests of 25 spans, batch numbers from `first`; all must be accepted.
async fn send(server: &Server, first: u32, batches: u32) {
    let client = reqwest::Client::new();
    for batch in first..first + batches {
        let answer = post(&client, server.http, &request(batch, 25))
            .await
            .unwrap();
        assert_eq!(answer.status, 200);
    }
}

fn instance_id(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(INSTANCE_ID_FILE))
        .unwrap()
        .trim()
        .to_owned()
}

/// Every finalized traces file of `dir` is in the bucket under its key, byte for byte.
fn assert_in_lake(lake: &S3TestServer, dir: &Path) -> usize {
    let id = instance_id(dir);
    let objects: BTreeMap<String, String> = lake
        .objects()
        .into_iter()
        .filter_map(|(key, _)| {
            let name = key.rsplit('/').next()?.strip_prefix(&format!("{id}-"))?;
            Some((name.to_owned(), key))
        })
        .collect();
    let (local, _) = files(dir, "traces");
    assert!(!local.is_empty());
    for file in &local {
        let name = file.file_name().unwrap().to_str().unwrap();
        let stamp = &name["traces-".len().."traces-".len() + 16];
        let key = objects
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not in the lake: {objects:?}"));
        assert_eq!(
            key,
            &format!(
                "{PREFIX}/traces/date={}-{}-{}/hour={}/{id}-{name}",
                &stamp[0..4],
                &stamp[4..6],
                &stamp[6..8],
                &stamp[9..11]
            )
        );
        assert!(
            lake.object_bytes(key).unwrap() == std::fs::read(file).unwrap(),
            "{key} differs from the local file"
        );
    }
    local.len()
}

fn read_lake(py: &Path, lake: &S3TestServer) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../otlp-spool-upload/tests/python/read_lake.py");
    let out = Command::new(py)
        .arg(script)
        .args([
            &lake.endpoint(),
            BUCKET,
            PREFIX,
            ACCESS_KEY,
            SECRET_KEY,
            "traces",
        ])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "read_lake.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn metric(server: &Server, name: &str) -> u64 {
    let text = reqwest::get(format!("http://{}/metrics", server.http))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_sent_to_the_binary_read_back_from_the_lake() {
    let Some(py) = python() else { return };
    tokio::time::timeout(Duration::from_secs(180), async {
        let root = tempfile::tempdir().unwrap();
        let lake = S3TestServer::start(&root.path().join("s3"), BUCKET).unwrap();
        let dir = root.path().join("data");
        let cfg = config(root.path(), &lake, "");
        let mut server = start(&dir, &cfg);
        send(&server, 0, 40).await;
        // Files rotate after a second and are uploaded while the service runs.
        let mut uploaded = 0;
        for _ in 0..100 {
            uploaded = metric(&server, "otlp_spool_upload_files_total").await;
            if uploaded > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(uploaded > 0, "a file was uploaded while running");
        assert_eq!(metric(&server, "otlp_spool_upload_failures_total").await, 0);
        assert_eq!(metric(&server, "otlp_spool_upload_breaker_state").await, 0);
        let status = tokio::task::spawn_blocking(move || server.terminate())
            .await
            .unwrap();
        assert!(status.success(), "exit status {status:?}");
        // Shutdown finalized the last file and uploaded it before exiting.
        let files = assert_in_lake(&lake, &dir);
        let got = read_lake(&py, &lake);
        let traces = &got["traces"];
        assert_eq!(traces["rows"], 1000, "{got}");
        assert_eq!(traces["duckdb_rows"], 1000, "{got}");
        assert_eq!(traces["distinct_span_ids"], 1000, "{got}");
        assert_eq!(traces["files"].as_array().unwrap().len(), files);
    })
    .await
    .expect("the test finished in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_an_upload_then_restart_skips_nothing() {
    let Some(py) = python() else { return };
    tokio::time::timeout(Duration::from_secs(240), async {
        let root = tempfile::tempdir().unwrap();
        let lake = S3TestServer::start(&root.path().join("s3"), BUCKET).unwrap();
        let dir = root.path().join("data");
        // Multipart from 1 KiB on: the crash hits a part upload of the staging object.
        let cfg = config(root.path(), &lake, "    multipart_threshold: 1KiB\n");
        lake.hold_writes(true);
        let server = start(&dir, &cfg);
        send(&server, 0, 20).await;
        for _ in 0..300 {
            if lake.held_writes() > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(lake.held_writes() > 0, "an upload is in flight");
        drop(server); // SIGKILL
        lake.hold_writes(false);
        // The held write goes on (or is abandoned with the killed client's connection) once the
        // gate opens; nothing it could do is missed by the check below.
        for _ in 0..300 {
            if lake.writes_in_flight() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(lake.writes_in_flight(), 0, "the held write ended");
        let visible: Vec<String> = lake
            .objects()
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| !k.contains("/_staging/"))
            .collect();
        assert!(
            visible.is_empty(),
            "no object is visible before its copy: {visible:?}"
        );

        let mut server = start(&dir, &cfg);
        send(&server, 20, 20).await;
        let status = tokio::task::spawn_blocking(move || server.terminate())
            .await
            .unwrap();
        assert!(status.success(), "exit status {status:?}");
        assert_in_lake(&lake, &dir);
        let got = read_lake(&py, &lake);
        assert_eq!(got["traces"]["rows"], 1000, "{got}");
        assert_eq!(got["traces"]["distinct_span_ids"], 1000, "{got}");
        let staging: Vec<String> = lake
            .objects()
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| k.contains("/_staging/"))
            .collect();
        assert!(staging.is_empty(), "{staging:?}");
    })
    .await
    .expect("the test finished in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_one_bucket_without_collisions() {
    let Some(py) = python() else { return };
    tokio::time::timeout(Duration::from_secs(240), async {
        let root = tempfile::tempdir().unwrap();
        let lake = S3TestServer::start(&root.path().join("s3"), BUCKET).unwrap();
        let cfg = config(root.path(), &lake, "");
        let dirs: Vec<PathBuf> = (0..3)
            .map(|i| root.path().join(format!("node-{i}")))
            .collect();
        let mut servers: Vec<Server> = dirs.iter().map(|d| start(d, &cfg)).collect();
        for (i, server) in servers.iter().enumerate() {
            send(server, 1000 * i as u32, 10).await;
        }
        let statuses = tokio::task::spawn_blocking(move || {
            servers
                .iter_mut()
                .map(|s| s.terminate())
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
        assert!(statuses.iter().all(|s| s.success()), "{statuses:?}");
        let ids: std::collections::BTreeSet<String> = dirs.iter().map(|d| instance_id(d)).collect();
        assert_eq!(ids.len(), 3, "three instance ids");
        let local: usize = dirs.iter().map(|d| assert_in_lake(&lake, d)).sum();
        assert_eq!(
            lake.objects().len(),
            local,
            "one object per file, no collision"
        );
        let got = read_lake(&py, &lake);
        let traces = &got["traces"];
        assert_eq!(traces["rows"], 750, "{got}");
        assert_eq!(traces["duckdb_rows"], 750, "{got}");
        assert_eq!(traces["distinct_span_ids"], 750, "{got}");
        let files = traces["files"].as_array().unwrap();
        for id in &ids {
            assert!(
                files
                    .iter()
                    .any(|f| f.as_str().unwrap().contains(&format!("/{id}-traces-"))),
                "{id} in {files:?}"
            );
        }
    })
    .await
    .expect("the test finished in time");
}

#[test]
fn bad_upload_settings_name_their_key() {
    use otlp_spool::config::Config;
    let check = |yaml: &str, key: &str, words: &str| {
        let err = Config::from_yaml(yaml)
            .and_then(|c| c.validate().map(|()| c))
            .unwrap_err();
        assert_eq!(err.key, key, "{yaml}: {err}");
        assert!(err.to_string().contains(words), "{yaml}: {err}");
    };
    let upload = |extra: &str| format!("storage:\n  upload:\n    url: s3://lake/p\n{extra}");
    check(
        "storage:\n  upload:\n    url: lake/p\n",
        "storage.upload.url",
        "s3://BUCKET/PREFIX",
    );
    check(
        &upload("    endpoint: http://10.1.2.3:9000\n    allow_http: true\n"),
        "storage.upload.allow_http",
        "loopback",
    );
    check(
        &upload("    endpoint: http://127.0.0.1:9000\n"),
        "storage.upload.allow_http",
        "plain http",
    );
    check(
        &upload("    part_size: 1MiB\n"),
        "storage.upload.part_size",
        "5MiB",
    );
    check(
        &upload("    concurrency: 0\n"),
        "storage.upload.concurrency",
        "between",
    );
    check(
        &upload("    bogus: 1\n"),
        "storage.upload.bogus",
        "unknown field",
    );
    check(
        &upload("    retry: { initial_backoff: 2s, max_backoff: 1s }\n"),
        "storage.upload.retry.max_backoff",
        "shorter",
    );
    check(
        "storage:\n  rotate_size: 6GiB\n  upload:\n    url: s3://lake/p\n",
        "storage.rotate_size",
        "5GiB",
    );
    let ok = Config::from_yaml(&upload(
        "    endpoint: http://127.0.0.1:9000\n    allow_http: true\n",
    ))
    .unwrap();
    ok.validate().unwrap();
    let shown = ok.to_redacted_yaml();
    assert!(shown.contains("url: s3://lake/p"), "{shown}");
}

#[test]
fn the_binary_refuses_a_bad_upload_section_before_binding() {
    let root = tempfile::tempdir().unwrap();
    let cfg = root.path().join("bad.yaml");
    std::fs::write(&cfg, "storage:\n  upload:\n    url: s3://Lake\n").unwrap();
    let out = crate::support::serve_command(&root.path().join("data"))
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a start-up error exits non-zero");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("storage.upload.url"), "{stderr}");
    assert!(!stderr.contains("otlp-spool listening"), "{stderr}");
}

/// How long ago the file was last written (for a finalized file: since it was finalized, so
/// its name's open time is at least that long ago too).
fn age(path: &Path) -> Duration {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_by_age_keeps_files_until_they_are_uploaded() {
    tokio::time::timeout(Duration::from_secs(180), async {
        let root = tempfile::tempdir().unwrap();
        let lake = S3TestServer::start(&root.path().join("s3"), BUCKET).unwrap();
        let dir = root.path().join("data");
        let path = config(root.path(), &lake, "");
        let yaml = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            yaml.replace("storage:\n", "storage:\n  retention_age: 1s\n"),
        )
        .unwrap();
        // The bucket takes no write: every file stays "not uploaded".
        lake.hold_writes(true);
        let mut server = start(&dir, &path);
        send(&server, 0, 20).await;
        // Wait until a file was finalized 3 s ago: retention (1 s, checked every housekeeping
        // tick of 1 s) has seen it expired more than once, and kept it.
        let mut expired = Vec::new();
        for _ in 0..200 {
            let (done, _) = files(&dir, "traces");
            expired = done
                .into_iter()
                .filter(|f| age(f) >= Duration::from_secs(3))
                .collect();
            if !expired.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(!expired.is_empty(), "a file was finalized and expired");
        assert!(
            lake.held_writes() > 0,
            "its upload is waiting at the bucket"
        );
        for f in &expired {
            assert!(f.exists(), "retention kept {} (not uploaded)", f.display());
        }
        assert_eq!(
            metric(&server, "otlp_spool_upload_deleted_before_upload_total").await,
            0
        );

        // Once the bucket takes writes, the files are uploaded and then retention deletes them.
        lake.hold_writes(false);
        let mut left = usize::MAX;
        for _ in 0..300 {
            left = files(&dir, "traces").0.len();
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(left, 0, "every uploaded expired file was deleted");
        let uploaded = metric(&server, "otlp_spool_upload_files_total").await;
        assert!(uploaded >= expired.len() as u64, "{uploaded} uploaded");
        let in_lake = lake
            .objects()
            .iter()
            .filter(|(k, _)| k.contains("/traces/") && !k.contains("/_staging/"))
            .count();
        assert!(
            in_lake as u64 >= uploaded,
            "every uploaded file is an object"
        );
        assert_eq!(
            metric(&server, "otlp_spool_upload_deleted_before_upload_total").await,
            0
        );
        let status = tokio::task::spawn_blocking(move || server.terminate())
            .await
            .unwrap();
        assert!(status.success(), "exit status {status:?}");
    })
    .await
    .expect("the test finished in time");
}
