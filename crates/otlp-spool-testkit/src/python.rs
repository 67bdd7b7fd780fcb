//! The Python interpreter of the Python-driven tests, found or made.
//!
//! In order: `$OTLP_SPOOL_PYTHON` (it must exist), else `<workspace>/.venv/bin/python`, else a
//! venv this module builds itself from `requirements-test.txt` under the target directory:
//! `<target>/python-venv/<key>/`, `<key>` a hash of that file's bytes, so a change of a pin
//! builds a new one and an unchanged file reuses it.
//!
//! Invariants:
//! - A venv is used only once its stamp file exists, and the stamp is written last, after pip
//!   succeeded. A venv without its stamp (an interrupted build) is deleted and built again.
//! - Only the holder of `<target>/python-venv/<key>.lock` builds or deletes that venv, so
//!   several test binaries starting at once build it once: the others wait for the lock, then
//!   find the stamp. The venv is built in place, not in a temporary folder renamed at the end:
//!   a venv is not relocatable (pip writes its absolute path into every console script's
//!   shebang), and the stamp already keeps a half-built one from being used.
//! - Each process resolves the interpreter once; a failure (no `python3`, no `venv` module, pip
//!   unable to reach the registry) fails every test that asks, with one message naming what to
//!   install, and is not retried by each of them.
//! - Nothing is skipped silently: `OTLP_SPOOL_SKIP_PYTHON=1` is the only way to skip, and each
//!   test it skips says so on stderr.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use crate::lock::FileLock;

const SKIP_VAR: &str = "OTLP_SPOOL_SKIP_PYTHON";
const PYTHON_VAR: &str = "OTLP_SPOOL_PYTHON";
const REQUIREMENTS: &str = "requirements-test.txt";
const STAMP: &str = "otlp-spool-venv-complete";

/// The workspace's root folder (where `Cargo.toml`, `requirements-test.txt` and `.venv` are).
pub fn workspace_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        // This crate is <workspace>/crates/otlp-spool-testkit.
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = here.join("../..");
        root.canonicalize().unwrap_or(root)
    })
}

/// The cargo target directory of the running test: the ancestor of the test binary that holds
/// cargo's `CACHEDIR.TAG`, else `$CARGO_TARGET_DIR` (relative to the workspace root when
/// relative), else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    let built_in = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .skip(1)
            .find(|dir| dir.join("CACHEDIR.TAG").is_file())
            .map(Path::to_path_buf)
    });
    if let Some(dir) = built_in {
        return dir;
    }
    match std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// The Python with every package of `requirements-test.txt`, building a venv for it when
/// neither `$OTLP_SPOOL_PYTHON` nor `<workspace>/.venv` is there (see the module docs).
///
/// `None` only when `OTLP_SPOOL_SKIP_PYTHON=1`, after a `SKIPPED` line on stderr naming the
/// test: the caller returns.
///
/// # Panics
/// When no interpreter can be had, with a message saying what to install.
pub fn python() -> Option<PathBuf> {
    if std::env::var_os(SKIP_VAR).is_some_and(|v| v == "1") {
        let test = std::thread::current().name().unwrap_or("?").to_owned();
        eprintln!(
            "\n!!!!!!!! SKIPPED {test}: {SKIP_VAR}=1 (this test drives Python: unset it to run it) !!!!!!!!\n"
        );
        return None;
    }
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PYTHON.get_or_init(resolve) {
        Ok(py) => Some(py.clone()),
        Err(msg) => panic!("{msg}"),
    }
}

fn resolve() -> Result<PathBuf, String> {
    if let Some(py) = std::env::var_os(PYTHON_VAR).filter(|v| !v.is_empty()) {
        let py = PathBuf::from(py);
        return if py.exists() {
            Ok(py)
        } else {
            Err(format!(
                "{PYTHON_VAR} is {}, which does not exist: point it at a Python with \
                 {REQUIREMENTS} installed, or unset it (the tests then build a venv themselves)",
                py.display()
            ))
        };
    }
    let dot_venv = workspace_root().join(".venv/bin/python");
    if dot_venv.exists() {
        return Ok(dot_venv);
    }
    test_venv()
}

/// `<target>/python-venv/<key>/bin/python`, built first if it is not complete.
fn test_venv() -> Result<PathBuf, String> {
    let requirements = workspace_root().join(REQUIREMENTS);
    let text = std::fs::read(&requirements)
        .map_err(|e| format!("cannot read {}: {e}", requirements.display()))?;
    let key = format!("{:016x}", fnv1a(&text));
    let base = target_dir().join("python-venv");
    let venv = base.join(&key);
    let py = venv.join("bin/python");
    if complete(&venv, &py) {
        return Ok(py);
    }
    let _lock = FileLock::acquire(&base.join(format!("{key}.lock")));
    if complete(&venv, &py) {
        return Ok(py); // another process built it while this one waited
    }
    build(&venv, &py, &requirements)?;
    Ok(py)
}

/// The stamp is there and the interpreter runs (its base Python may have been removed since).
fn complete(venv: &Path, py: &Path) -> bool {
    venv.join(STAMP).exists()
        && Command::new(py)
            .args(["-c", ""])
            .output()
            .is_ok_and(|o| o.status.success())
}

fn build(venv: &Path, py: &Path, requirements: &Path) -> Result<(), String> {
    let started = Instant::now();
    eprintln!(
        "otlp-spool-testkit: building the test venv {} from {REQUIREMENTS} (once per version of that file)",
        venv.display()
    );
    if venv.exists() {
        std::fs::remove_dir_all(venv)
            .map_err(|e| format!("cannot remove the unfinished venv {}: {e}", venv.display()))?;
    }
    let created = Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv)
        .output()
        .map_err(|e| {
            format!(
                "cannot run python3 ({e}) to build the test venv: install Python 3.10 or newer \
                 with its venv module (`apt-get install -y python3 python3-venv`)"
            )
        })?;
    if !created.status.success() {
        return Err(format!(
            "`python3 -m venv {}` failed: install Python's venv module \
             (`apt-get install -y python3-venv`)\n{}",
            venv.display(),
            tail(&created.stderr, 20)
        ));
    }
    let pip = Command::new(py)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
        ])
        .args(["--timeout", "30", "--retries", "2", "-r"])
        .arg(requirements)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", py.display()))?;
    if !pip.status.success() {
        let mut out = pip.stdout;
        out.extend_from_slice(&pip.stderr);
        return Err(format!(
            "pip could not install {} into the test venv {} (is PyPI reachable?). Make it \
             reachable, or install the packages yourself and point the tests at them: \
             `python3 -m venv .venv && .venv/bin/pip install -r {REQUIREMENTS}` in the workspace \
             (the tests use ./.venv), or set {PYTHON_VAR} to a Python that has them. \
             {SKIP_VAR}=1 skips the Python-driven tests.\n--- pip's last lines ---\n{}",
            requirements.display(),
            venv.display(),
            tail(&out, 30)
        ));
    }
    std::fs::write(venv.join(STAMP), b"complete\n")
        .map_err(|e| format!("cannot write the stamp in {}: {e}", venv.display()))?;
    eprintln!(
        "otlp-spool-testkit: test venv ready in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The last `n` lines of a command's output.
fn tail(out: &[u8], n: usize) -> String {
    let text = String::from_utf8_lossy(out);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// 64-bit FNV-1a: a stable key for the requirements' bytes (std's hashers may change between
/// Rust releases, and a new key would only cost a rebuild, but a stable one costs nothing).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
