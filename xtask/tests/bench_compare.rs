//! `bench-compare` end to end on a harness with a known cost: an A/A comparison reports no
//! regression, and a 30% slowdown of one benchmark is caught while its unchanged neighbour is not.

use std::process::Command;

fn xtask() -> &'static str {
    env!("CARGO_BIN_EXE_xtask")
}

fn compare(base_work: u32, head_work: u32) -> (Option<i32>, String) {
    let target = tempfile_dir();
    let out = Command::new(xtask())
        .args([
            "bench-compare",
            "--measurement",
            "1",
            "--rounds",
            "5",
            "--threshold",
            "5",
            "--compare-commands",
        ])
        .arg(format!("{} selftest-bench --work {base_work}", xtask()))
        .arg(format!("{} selftest-bench --work {head_work}", xtask()))
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("xtask runs");
    let _ = std::fs::remove_dir_all(&target);
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "xtask-bench-compare-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn line<'a>(text: &'a str, id: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_else(|| panic!("no row for {id} in:\n{text}"))
}

#[test]
fn a_a_comparison_reports_no_regression_and_a_slowdown_is_caught() {
    // Run sequentially: two measurements at once would load the two cores against each other.
    let (code, text) = compare(2000, 2000);
    assert_eq!(code, Some(0), "A/A comparison must pass:\n{text}");
    assert!(!text.contains("REGRESSION"), "{text}");

    let (code, text) = compare(2000, 2600);
    assert_eq!(
        code,
        Some(3),
        "a 30% slowdown must be reported as a regression (exit 3):\n{text}"
    );
    assert!(
        line(&text, "selftest/spin").contains("REGRESSION"),
        "{text}"
    );
    assert!(
        !line(&text, "selftest/fixed").contains("REGRESSION"),
        "{text}"
    );
}
