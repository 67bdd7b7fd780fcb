//! The viewer in a real browser: the Python OpenTelemetry SDK feeds the real binary over
//! OTLP/gRPC, then Playwright drives Debian's Chromium through every page
//! (`tests/python/ui_browser.py`): each page must show the data sent and raise no JavaScript
//! or console error. Screenshots of each page land in `<target dir>/ui-screenshots/` (kept as
//! CI artifacts).
//!
//! Needs the test Python (`otlp_spool_testkit::python()`, playwright included) and Debian's
//! `chromium` on the PATH: without it the test fails naming the command that installs it
//! (`apt-get install -y chromium`). Skipped, loudly, only with `OTLP_SPOOL_SKIP_PYTHON=1`.

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

/// Fails, saying what to install, unless playwright imports in `py` and `chromium` is on the
/// PATH. Chromium is a system package (Debian's), so no test can install it.
fn require_browser(py: &std::path::Path) {
    let chromium = Command::new("sh")
        .args(["-c", "command -v chromium"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        chromium,
        "chromium is not on the PATH: install it with `apt-get install -y chromium` (Debian's \
         package; `playwright install` is never used), or set OTLP_SPOOL_SKIP_PYTHON=1 to skip \
         the Python-driven tests"
    );
    let playwright = Command::new(py)
        .args(["-c", "import playwright.sync_api"])
        .output()
        .expect("python runs");
    assert!(
        playwright.status.success(),
        "playwright does not import in {}: `{} -m pip install -r requirements-test.txt`\n{}",
        py.display(),
        py.display(),
        String::from_utf8_lossy(&playwright.stderr)
    );
}

#[test]
fn every_viewer_page_in_chromium_shows_what_the_python_sdk_sent() {
    let Some(py) = python() else { return };
    require_browser(&py);
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
