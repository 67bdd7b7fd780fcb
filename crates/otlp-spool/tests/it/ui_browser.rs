//! The viewer in a real browser: the Python OpenTelemetry SDK feeds the real binary over
//! OTLP/gRPC, then Playwright drives Debian's Chromium through every page
//! (`tests/python/ui_browser.py`): each page must show the data sent and raise no JavaScript
//! or console error. Screenshots of each page land in `<target dir>/ui-screenshots/` (kept as
//! CI artifacts).
//!
//! Needs `$OTLP_SPOOL_PYTHON` with `requirements-test.txt` installed (playwright included) and
//! `chromium` on the PATH (`.ci/run` installs both); locally without them it prints a skip
//! notice, under CI their absence is a failure.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Server, python, python_script};

fn screenshot_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target dir>/tmp.
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|p| p.join("ui-screenshots"))
        .expect("target dir")
}

fn browser_available(py: &std::path::Path) -> bool {
    let playwright = Command::new(py)
        .args(["-c", "import playwright.sync_api"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let chromium = Command::new("sh")
        .args(["-c", "command -v chromium"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if playwright && chromium {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but playwright ({playwright}) or chromium ({chromium}) is missing: bash .ci/run installs them"
    );
    eprintln!(
        "SKIPPED: the browser test needs playwright in $OTLP_SPOOL_PYTHON ({playwright}) and chromium on the PATH ({chromium})"
    );
    false
}

#[test]
fn every_viewer_page_in_chromium_shows_what_the_python_sdk_sent() {
    let Some(py) = python() else { return };
    if !browser_available(&py) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]);
    let shots = screenshot_dir();
    let _ = std::fs::remove_dir_all(&shots);
    let mut child = Command::new(&py)
        .arg(python_script("ui_browser.py"))
        .args(["--otlp", &format!("http://{}", server.grpc)])
        .args(["--ui", &format!("http://{}", server.http)])
        .arg("--screenshots")
        .arg(&shots)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    let deadline = Instant::now() + Duration::from_secs(240);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the browser test did not finish in 240 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "ui_browser.py failed:\n{}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["errors"].as_array().unwrap().len(), 0, "{report}");
    let pages: Vec<&str> = report["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["page"].as_str().unwrap())
        .collect();
    assert_eq!(pages, ["traces", "trace", "metrics", "logs", "logs-errors"]);
    for page in pages {
        let png = std::fs::read(shots.join(format!("{page}.png"))).expect("screenshot");
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{page}.png"
        );
    }
    assert!(server.terminate().success());
}
