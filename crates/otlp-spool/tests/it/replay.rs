//! `otlp-spool replay`: the real binary sends a spool directory to a second real instance;
//! what the second one stores equals the first directory item by item (every field), over
//! gRPC, HTTP/protobuf and HTTP/JSON; interrupted runs resume and send the rest exactly once;
//! an unreachable remote gives a non-zero exit with counts.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use otlp_spool_storage::Signal;

use crate::spool_data::{items, write_spool};
use crate::support::{Server, binary};

fn replay(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(binary())
        .arg("replay")
        .arg(dir)
        .args(args)
        .output()
        .expect("replay runs");
    eprintln!(
        "replay {args:?}: {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn assert_same(a: &Path, b: &Path) {
    for signal in Signal::ALL {
        let (left, right) = (items(a, signal), items(b, signal));
        assert!(!left.is_empty(), "no {signal} in the source");
        assert_eq!(left.len(), right.len(), "{signal}: item counts differ");
        assert!(left == right, "{signal}: items differ");
    }
}

fn endpoint(server: &Server, protocol: &str) -> String {
    match protocol {
        "grpc" => format!("http://{}", server.grpc),
        _ => format!("http://{}", server.http),
    }
}

fn round_trip(protocol: &str, extra_server: &[&str], extra_replay: &[&str]) {
    let source = tempfile::tempdir().unwrap();
    write_spool(source.path(), 3, 40);
    let target = tempfile::tempdir().unwrap();
    let mut server = Server::start(target.path(), extra_server);
    let to = endpoint(&server, protocol);
    let mut args = vec![
        "--to",
        to.as_str(),
        "--protocol",
        protocol,
        "--batch-items",
        "25",
    ];
    args.extend_from_slice(extra_replay);
    let out = replay(source.path(), &args);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // 3 files x (40 spans + 5 x 40 points + 40 logs).
    assert!(
        stdout.contains("delivered 840 items (traces 120, metrics 600, logs 120)"),
        "{stdout}"
    );
    assert!(server.terminate().success(), "{}", server.log());
    assert_same(source.path(), target.path());
}

#[test]
fn round_trip_over_grpc() {
    round_trip("grpc", &[], &[]);
}

#[test]
fn round_trip_over_http_protobuf() {
    round_trip("http/protobuf", &[], &[]);
}

#[test]
fn round_trip_over_http_json_with_the_forward_sections_auth() {
    let configs = tempfile::tempdir().unwrap();
    let server_cfg = configs.path().join("server.yaml");
    std::fs::write(&server_cfg, "receiver: { bearer_token: r3play }\n").unwrap();
    let replay_cfg = configs.path().join("replay.yaml");
    std::fs::write(
        &replay_cfg,
        "forward:\n  endpoint: http://placeholder:1\n  auth: { bearer_token: r3play }\n  compression: gzip\n",
    )
    .unwrap();
    round_trip(
        "http/json",
        &["--config", server_cfg.to_str().unwrap()],
        &["--config", replay_cfg.to_str().unwrap()],
    );
}

#[test]
fn a_limited_run_resumes_and_sends_the_rest_exactly_once() {
    let source = tempfile::tempdir().unwrap();
    write_spool(source.path(), 2, 30);
    let target = tempfile::tempdir().unwrap();
    let mut server = Server::start(target.path(), &[]);
    let to = endpoint(&server, "grpc");
    // A relative --since resumes with the instant of the first run.
    let base = [
        "--to",
        to.as_str(),
        "--batch-items",
        "7",
        "--since",
        "3650d",
    ];
    // Stops in the middle of a batch, then twice more, then finishes.
    for limit in ["45", "100", "1"] {
        let mut args = base.to_vec();
        args.extend(["--limit", limit]);
        let out = replay(source.path(), &args);
        assert!(out.status.success(), "{out:?}");
    }
    let out = replay(source.path(), &base);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("delivered 274 items"));
    // Nothing is left: a further run sends nothing.
    let again = replay(source.path(), &base);
    assert!(String::from_utf8_lossy(&again.stdout).contains("delivered 0 items"));
    // Another run with other filters is refused rather than mixing states.
    let other = replay(source.path(), &[&base[..], &["--signal", "logs"]].concat());
    assert_eq!(other.status.code(), Some(1));
    assert!(server.terminate().success());
    assert_same(source.path(), target.path());
}

#[test]
fn a_signal_interrupts_between_requests_and_the_rerun_completes() {
    let source = tempfile::tempdir().unwrap();
    write_spool(source.path(), 2, 30);
    let target = tempfile::tempdir().unwrap();
    let mut server = Server::start(target.path(), &[]);
    let to = endpoint(&server, "http/protobuf");
    let args = [
        "--to",
        to.as_str(),
        "--protocol",
        "http/protobuf",
        "--batch-items",
        "10",
    ];
    // 200 items/s: the run needs about a second; SIGTERM lands in the middle of it.
    let mut child = Command::new(binary())
        .arg("replay")
        .arg(source.path())
        .args(args)
        .args(["--rate", "200"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // SIGTERM once the run is under way: the target has taken its first items.
    let deadline = Instant::now() + Duration::from_secs(30);
    while accepted_items(&server) == 0 {
        assert!(Instant::now() < deadline, "replay delivered nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "replay did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(status.code(), Some(143), "{stdout}");
    assert!(
        !stdout.contains("delivered 420 items"),
        "it finished before the signal: {stdout}"
    );
    let rest = replay(source.path(), &args);
    assert!(rest.status.success());
    assert!(server.terminate().success());
    assert_same(source.path(), target.path());
}

#[test]
fn an_unreachable_remote_stops_with_counts_and_a_non_zero_exit() {
    let source = tempfile::tempdir().unwrap();
    write_spool(source.path(), 1, 5);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let to = format!("http://127.0.0.1:{port}");
    let out = replay(source.path(), &["--to", &to, "--timeout", "1s"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("did not take 5 traces items"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("delivered 0 items"));
}

#[test]
fn bad_arguments_are_named() {
    let source = tempfile::tempdir().unwrap();
    let check = |args: &[&str], want: &str| {
        let out = replay(source.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    };
    check(
        &["--to", "http://127.0.0.1:1", "--since", "soon"],
        "--since `soon`",
    );
    check(
        &["--to", "http://127.0.0.1:1", "--signal", "spans"],
        "--signal `spans`",
    );
    check(
        &["--to", "http://127.0.0.1:1", "--protocol", "carrier-pigeon"],
        "unknown protocol",
    );
    check(&["--to", "ftp://x"], "forward.endpoint");
}

/// Items the target spool has acknowledged so far, read from its `/metrics` with a plain
/// HTTP/1.0 GET (0 while it cannot be read).
fn accepted_items(server: &Server) -> u64 {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(server.http) else {
        return 0;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.write_all(b"GET /metrics HTTP/1.0\r\nhost: x\r\n\r\n");
    let mut page = String::new();
    let _ = stream.read_to_string(&mut page);
    page.lines()
        .filter(|l| l.starts_with("otlp_spool_accepted_items_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn a_damaged_file_is_skipped_with_its_name_and_the_rest_is_delivered() {
    let source = tempfile::tempdir().unwrap();
    write_spool(source.path(), 2, 10);
    let (traces, _) = crate::support::files(source.path(), "traces");
    let whole = std::fs::read(&traces[0]).unwrap();
    std::fs::write(&traces[0], &whole[..whole.len() / 2]).unwrap();
    let name = traces[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let target = tempfile::tempdir().unwrap();
    let mut server = Server::start(target.path(), &[]);
    let to = endpoint(&server, "grpc");
    let out = replay(source.path(), &["--to", &to]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("damaged file") && stderr.contains(&name),
        "{stderr}"
    );
    // The other traces file and every metric and log went out.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("(traces 10, metrics 100, logs 20)"),
        "{stdout}"
    );
    assert!(server.terminate().success());
}
