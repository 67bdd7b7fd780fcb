//! The Python package's pytest suite (`tests/test_*.py`: the real OpenTelemetry SDK against a
//! wheel of this crate), run by `cargo test` so that the one test command runs it too.
//!
//! The wheel is built by maturin (from the test venv, `otlp_spool_testkit::python()`) into this
//! test's own cargo target directory, `<target>/otlp-spool-python-wheel/`, so it never waits on
//! the build lock that the running `cargo test` holds on `<target>/debug`. Profile: dev without
//! debug info, the cheapest build of the whole tree (debug assertions stay on; the suite times
//! nothing). It is installed into the venv with `pip install --force-reinstall --no-deps` and
//! tested under a lock on that venv, so two checkouts sharing one venv never test each other's
//! wheel. A failure shows maturin's or pytest's output.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use otlp_spool_testkit::FileLock;

/// A cold build of the whole dependency tree on a loaded 2-core machine takes minutes.
const BUILD_LIMIT: Duration = Duration::from_secs(45 * 60);
const PYTEST_LIMIT: Duration = Duration::from_secs(15 * 60);

/// Runs `cmd` with its output in `log`, killing it past `limit`; its status and output.
fn run_logged(mut cmd: Command, log: &Path, limit: Duration, what: &str) -> (ExitStatus, String) {
    let out = File::create(log).expect("log file");
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone().expect("log file"))
        .stderr(out);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{what} did not finish in {} s; its output:\n{}",
                limit.as_secs(),
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    (status, std::fs::read_to_string(log).unwrap_or_default())
}

/// Builds the wheel into `own_target`; the wheel's path.
fn build_wheel(py: &Path, own_target: &Path) -> PathBuf {
    let wheels = own_target.join("wheels");
    let _ = std::fs::remove_dir_all(&wheels);
    let mut maturin = Command::new(py);
    maturin
        .args([
            "-m",
            "maturin",
            "build",
            "--locked",
            "--strip",
            "--manifest-path",
        ])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--interpreter")
        .arg(py)
        .arg("--out")
        .arg(&wheels)
        .arg("--target-dir")
        .arg(own_target)
        .env("CARGO_PROFILE_DEV_DEBUG", "false")
        .env("CARGO_TERM_COLOR", "never")
        // One interpreter for pyo3's build script in this target dir, or it rebuilds.
        .env("PYO3_PYTHON", py)
        .env_remove("CARGO_TARGET_DIR");
    let started = Instant::now();
    let (status, log) = run_logged(
        maturin,
        &own_target.join("maturin.log"),
        BUILD_LIMIT,
        "maturin build",
    );
    assert!(status.success(), "maturin build failed ({status}):\n{log}");
    eprintln!("wheel built in {:.0} s", started.elapsed().as_secs_f64());
    let mut found: Vec<PathBuf> = std::fs::read_dir(&wheels)
        .expect("wheels folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one wheel in {}: {found:?}",
        wheels.display()
    );
    found.pop().unwrap()
}

fn python_prefix(py: &Path) -> PathBuf {
    let out = Command::new(py)
        .args(["-c", "import sys; print(sys.prefix)"])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn the_pytest_suite_passes_against_a_fresh_wheel() {
    let Some(py) = otlp_spool_testkit::python() else {
        return;
    };
    let own_target = otlp_spool_testkit::target_dir().join("otlp-spool-python-wheel");
    // Lock order: this target dir, then the venv (every caller takes both in this order).
    let _build = FileLock::acquire(&own_target.join("wheel.lock"));
    let wheel = build_wheel(&py, &own_target);
    let _venv = FileLock::acquire(&python_prefix(&py).join("otlp-spool-wheel.lock"));

    let mut pip = Command::new(&py);
    pip.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
    ])
    .args(["--force-reinstall", "--no-deps"])
    .arg(&wheel);
    let (status, log) = run_logged(
        pip,
        &own_target.join("pip.log"),
        Duration::from_secs(300),
        "pip install",
    );
    assert!(status.success(), "pip install of the wheel failed:\n{log}");

    let mut pytest = Command::new(&py);
    pytest
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    let (status, log) = run_logged(
        pytest,
        &own_target.join("pytest.log"),
        PYTEST_LIMIT,
        "pytest",
    );
    // Exit 5 (no test collected) is a failure too.
    assert!(status.success(), "pytest failed ({status}):\n{log}");
    eprintln!("{}", log.lines().last().unwrap_or_default());
}
