//! `otlp-spool inspect` and `otlp-spool ui` as a user runs them, and the viewer mounted under
//! `/ui` on `serve`'s HTTP port.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::spool_data::write_spool;
use crate::support::{Server, binary};

/// A plain HTTP/1.1 GET: (status, body).
fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: t\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    (status, body)
}

fn inspect(dir: &Path, json: bool) -> String {
    let mut cmd = Command::new(binary());
    cmd.arg("inspect").arg(dir);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "no progress bar without a terminal: {out:?}"
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Leaves what a `kill -9` leaves: a temporary traces file with one complete batch and a torn
/// tail, and a temporary logs file of garbage.
fn crash_leftovers(dir: &Path) {
    let (done, _) = crate::support::files(dir, "traces");
    let bytes = std::fs::read(&done[0]).unwrap();
    // The file is a schema message (continuation marker, length L, L bytes), one batch
    // message, the end-of-stream marker, the file's stats. Drop the marker and what follows
    // and append the first 40 bytes of the batch message again: a message cut short, as a
    // crash mid-write leaves it.
    let schema_len = 8 + u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    let batch = &bytes[schema_len..schema_len + 40];
    let eos = bytes
        .windows(8)
        .rposition(|w| w == [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])
        .unwrap();
    let torn = [&bytes[..eos], batch].concat();
    std::fs::write(
        dir.join("traces/.traces-20991231T000000Z-000001.arrow.tmp"),
        torn,
    )
    .unwrap();
    std::fs::write(
        dir.join("logs/.logs-20991231T000000Z-000001.arrow.tmp"),
        b"\xff\xff\xff\xff\x10\x00\x00\x00not an arrow message",
    )
    .unwrap();
}

#[test]
fn inspect_reports_crash_leftovers_then_what_recovery_did() {
    let dir = tempfile::tempdir().unwrap();
    write_spool(dir.path(), 2, 10);
    // One real run of the service, so the lock file names a process that is gone.
    let mut server = Server::start(dir.path(), &[]);
    assert!(server.terminate().success());
    crash_leftovers(dir.path());

    let before = inspect(dir.path(), false);
    assert!(
        before.contains("owner: pid ") && before.contains("(not running)"),
        "{before}"
    );
    assert!(before.contains("traces: 2 files, 20 rows"), "{before}");
    assert!(before.contains("services: alpha, beta"), "{before}");
    assert!(
        before.contains("metric h (histogram) [ms]: 20 points"),
        "{before}"
    );
    assert!(
        before.contains("10 complete rows, torn tail (cut off by recovery); left by a crash"),
        "{before}"
    );
    assert!(
        before.contains(".logs-20991231T000000Z-000001.arrow.tmp"),
        "{before}"
    );

    // The next start recovers: the complete batch is published, the garbage quarantined.
    let mut server = Server::start(dir.path(), &[]);
    assert!(server.terminate().success());
    let after = inspect(dir.path(), false);
    assert!(after.contains("traces: 3 files, 30 rows"), "{after}");
    assert!(!after.contains("temporary:"), "{after}");
    assert!(after.contains("quarantined: "), "{after}");
    let json: serde_json::Value = serde_json::from_str(&inspect(dir.path(), true)).unwrap();
    assert_eq!(json["signals"][0]["rows"], 30);
    assert_eq!(json["signals"][0]["files"].as_array().unwrap().len(), 3);
    assert_eq!(
        json["signals"][2]["quarantined"].as_array().unwrap().len(),
        1
    );
}

#[test]
fn inspect_of_a_missing_directory_fails() {
    let out = Command::new(binary())
        .args(["inspect", "/nonexistent/otlp-spool"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/otlp-spool"));
}

#[test]
fn ui_serves_a_directory_without_locking_it() {
    let dir = tempfile::tempdir().unwrap();
    write_spool(dir.path(), 1, 8);
    // A running instance owns the directory; the viewer reads beside it.
    let mut server = Server::start(dir.path(), &[]);
    let mut ui = Command::new(binary())
        .args(["ui", "--addr", "127.0.0.1:0"])
        .arg(dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(ui.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr: SocketAddr = loop {
        assert!(Instant::now() < deadline, "no address line");
        let line = lines.next().expect("ui stderr").unwrap();
        if let Some(rest) = line.strip_prefix("otlp-spool viewer: http://") {
            break rest.trim_end_matches("/ui").parse().unwrap();
        }
    };
    let (status, body) = get(addr, "/ui", None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("op 0") && body.contains("alpha"), "{body}");
    let (status, body) = get(addr, "/ui/metrics?name=h", None);
    assert_eq!(status, 200);
    assert!(body.contains("<polyline"), "{body}");
    assert_eq!(get(addr, "/v1/traces", None).0, 404);
    let _ = Command::new("kill")
        .args(["-TERM", &ui.id().to_string()])
        .status();
    let status = ui.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(server.terminate().success());
}

#[test]
fn serve_mounts_the_viewer_under_ui_behind_the_token() {
    let dir = tempfile::tempdir().unwrap();
    write_spool(dir.path(), 1, 4);
    let cfg = dir.path().join("token.yaml");
    std::fs::write(&cfg, "receiver: { bearer_token: v1ew }\n").unwrap();
    let mut server = Server::start(dir.path(), &["--config", cfg.to_str().unwrap()]);
    assert_eq!(get(server.http, "/ui", None).0, 401);
    let (status, body) = get(server.http, "/ui/logs?q=line", Some("v1ew"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("line 0.0"), "{body}");
    assert_eq!(get(server.http, "/health", None).0, 200);
    assert!(server.terminate().success());
}

/// A plain HTTP/1.1 POST of an OTLP protobuf body: the status.
fn post_protobuf(addr: SocketAddr, path: &str, body: &[u8]) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-protobuf\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
}

#[test]
fn the_viewer_shows_what_is_still_in_the_lanes() {
    use prost::Message as _;
    let dir = tempfile::tempdir().unwrap();
    // Nothing leaves the lanes for ten minutes (no batch trigger is reached), so what the
    // pages show can only come from the lanes' snapshot.
    let cfg = dir.path().join("slow.yaml");
    std::fs::write(&cfg, "buffer: { max_batch_age: 600s }\n").unwrap();
    let mut server = Server::start(dir.path(), &["--config", cfg.to_str().unwrap()]);
    let request = crate::spool_data::traces(0, 8).encode_to_vec();
    assert_eq!(post_protobuf(server.http, "/v1/traces", &request), 200);

    let (status, body) = get(server.http, "/ui", None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("op 0") && body.contains("alpha"), "{body}");
    assert!(body.contains("are accepted and not written yet"), "{body}");
    let trace_id = "01010101010101010000000000000000";
    let (status, body) = get(server.http, &format!("/ui/traces/{trace_id}"), None);
    assert_eq!(status, 200, "{body}");
    for span in ["op 0", "op 1", "op 2", "op 3"] {
        assert!(body.contains(span), "{span}: {body}");
    }
    // No file holds it yet: neither a finalized file nor a temporary one.
    let traces_dir = dir.path().join("traces");
    let on_disk: Vec<_> = std::fs::read_dir(&traces_dir)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(on_disk.is_empty(), "{on_disk:?}");

    // Shutdown drains the lanes into a file; the same trace is then read from it, once.
    assert!(server.terminate().success());
    let (done, _) = crate::support::files(dir.path(), "traces");
    assert_eq!(done.len(), 1);
}
