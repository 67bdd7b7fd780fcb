//! `bench-compare` end to end on a harness with a known, modelled cost (`xtask selftest-bench
//! --simulate`: the samples are computed, with interference, rather than timed): an A/A
//! comparison reports no regression; a 20% and a 30% slowdown of one benchmark are caught (after
//! confirmation) while its unchanged neighbour is not; and a first pass disturbed by a burst of
//! load, gone when the benchmark is measured again, is not reported as a regression.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The scenarios run one at a time: two measurements at once would load the two cores against
/// each other.
static SERIAL: Mutex<()> = Mutex::new(());

fn xtask() -> &'static str {
    env!("CARGO_BIN_EXE_xtask")
}

/// The harness in its simulated mode: the tests check the comparison's decisions, which real
/// timings on a loaded machine cannot hold still for (see `selftest_bench.rs`).
fn harness(args: &str) -> String {
    format!("{} selftest-bench --simulate {args}", xtask())
}

/// Runs `bench-compare` on two harness command lines; returns the exit code and all output.
fn compare(base: &str, head: &str, target: &Path) -> (Option<i32>, String) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new(xtask())
        .args([
            "bench-compare",
            "--measurement",
            "0.6",
            "--rounds",
            "5",
            "--threshold",
            "5",
            "--confirm-rounds",
            "5",
            "--confirm-measurement",
            "0.4",
            "--compare-commands",
        ])
        .arg(harness(base))
        .arg(harness(head))
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("xtask runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// A scratch dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "xtask-bench-compare-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The row of `id` in the first-pass table.
fn first_pass<'a>(text: &'a str, id: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_else(|| panic!("no first-pass row for {id} in:\n{text}"))
}

/// The row of `id` in the confirmation table, if it was re-measured.
fn confirmation<'a>(text: &'a str, id: &str) -> Option<&'a str> {
    text.lines()
        .skip_while(|l| !l.starts_with("confirmation"))
        .find(|l| l.starts_with(id))
}

fn assert_slowdown_caught(head_work: u32) {
    let scratch = Scratch::new("slow");
    let (code, text) = compare("--work 2000", &format!("--work {head_work}"), &scratch.0);
    assert_eq!(
        code,
        Some(3),
        "a slowdown to {head_work}/2000 must be reported as a regression (exit 3):\n{text}"
    );
    let row = confirmation(&text, "selftest/spin")
        .unwrap_or_else(|| panic!("selftest/spin was not re-measured:\n{text}"));
    assert!(row.contains("REGRESSION"), "{text}");
    assert!(
        !first_pass(&text, "selftest/fixed").contains("slower")
            || confirmation(&text, "selftest/fixed").is_some_and(|l| !l.contains("REGRESSION")),
        "{text}"
    );
    assert!(text.contains("1 regression(s)"), "{text}");
}

#[test]
fn a_a_comparison_reports_no_regression() {
    let scratch = Scratch::new("aa");
    let (code, text) = compare("--work 2000", "--work 2000", &scratch.0);
    assert_eq!(code, Some(0), "A/A comparison must pass:\n{text}");
    assert!(!text.contains("REGRESSION"), "{text}");
}

#[test]
fn a_30_percent_slowdown_is_caught() {
    assert_slowdown_caught(2600);
}

#[test]
fn a_20_percent_slowdown_is_caught() {
    assert_slowdown_caught(2400);
}

#[test]
fn a_noisy_first_pass_is_not_confirmed() {
    // The head's first five runs (the whole first pass) are 50% slower, as if another process
    // had loaded the machine; when re-measured it costs what the base costs.
    let scratch = Scratch::new("noisy");
    let state = scratch.0.join("head-runs");
    let head = format!(
        "--work 2000 --slow-first 5 --slow-work 3000 --state {}",
        state.display()
    );
    let (code, text) = compare("--work 2000", &head, &scratch.0);
    assert!(
        first_pass(&text, "selftest/spin").contains("slower"),
        "the first pass should flag the disturbed benchmark:\n{text}"
    );
    let row = confirmation(&text, "selftest/spin")
        .unwrap_or_else(|| panic!("selftest/spin was not re-measured:\n{text}"));
    assert!(row.contains("not confirmed"), "{text}");
    assert_eq!(
        code,
        Some(0),
        "a first-pass slowdown that re-measuring does not confirm must pass:\n{text}"
    );
}
