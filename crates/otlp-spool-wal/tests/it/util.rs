//! Helpers shared by the test modules.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use otlp_spool_core::Signal;
use otlp_spool_wal::{Wal, WalOptions, WalOptionsBuilder, failpoint};

/// Environment variable telling a re-run of this binary which child role to play.
pub(crate) const ROLE_ENV: &str = "OTLP_SPOOL_WAL_TEST_ROLE";
/// Environment variable with the directory a child works in.
pub(crate) const DIR_ENV: &str = "OTLP_SPOOL_WAL_TEST_DIR";

/// Small segments so that tests cross segment boundaries.
pub(crate) fn small(dir: &Path) -> WalOptionsBuilder {
    WalOptions::builder(dir)
        .segment_bytes(8 * 1024)
        .max_bytes(4 << 20)
        .max_record_bytes(64 * 1024)
}

pub(crate) fn open(dir: &Path) -> Wal {
    Wal::open(small(dir).build().unwrap()).unwrap()
}

/// Appends and waits.
pub(crate) fn put(wal: &Wal, signal: Signal, bytes: &[u8]) -> u64 {
    wal.append(signal, bytes).unwrap().wait().unwrap()
}

/// Every durable record from the start, through a throw-away cursor (dropped again so that it
/// holds nothing back).
pub(crate) fn read_all(wal: &Wal) -> Vec<(u64, Signal, Vec<u8>)> {
    let name = "test-read-all";
    let mut c = wal.cursor(name).unwrap();
    let mut out = Vec::new();
    while let Some(r) = c.next_record().unwrap() {
        out.push((r.lsn(), r.signal(), r.bytes().to_vec()));
    }
    drop(c);
    wal.drop_cursor(name).unwrap();
    out
}

/// Segment files of a log directory, in order.
pub(crate) fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .collect();
    v.sort();
    v
}

/// Runs an async test body on a multi-threaded runtime, bounded in time.
pub(crate) fn run_async<F: std::future::Future<Output = ()>>(limit: Duration, f: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(limit, f)
                .await
                .expect("test timed out");
        });
}

/// A command re-running this test binary as child `role` (the test function `test`) in `dir`,
/// crashing at `crash` (`point:n`) if given.
pub(crate) fn child(test: &str, role: &str, dir: &Path, crash: Option<&str>) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(ROLE_ENV, role)
        .env(DIR_ENV, dir)
        .env_remove(failpoint::CRASH_AT_ENV)
        .stdin(Stdio::null());
    if let Some(spec) = crash {
        cmd.env(failpoint::CRASH_AT_ENV, spec);
    }
    cmd
}

/// The directory when this process is the child playing `role`.
pub(crate) fn child_dir(role: &str) -> Option<PathBuf> {
    if std::env::var(ROLE_ENV).ok()? != role {
        return None;
    }
    std::env::var_os(DIR_ENV).map(PathBuf::from)
}

/// A small deterministic generator (xorshift64*), seeded from `OTLP_SPOOL_WAL_SEED` or the
/// given default; tests print the seed they used.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn from_env(default: u64) -> Self {
        let seed = std::env::var("OTLP_SPOOL_WAL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default);
        eprintln!("seed {seed} (set OTLP_SPOOL_WAL_SEED to repeat)");
        Rng(seed.max(1))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// Starts `cmd` with its stdout captured on a thread of its own (stderr discarded).
pub(crate) fn spawn_capturing(
    mut cmd: Command,
) -> (std::process::Child, std::thread::JoinHandle<Vec<String>>) {
    use std::io::{BufRead, BufReader};
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut proc = cmd.spawn().unwrap();
    let stdout = proc.stdout.take().unwrap();
    let lines = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    (proc, lines)
}

/// The `ACK <lsn> <id>` lines a child printed.
pub(crate) fn acks(lines: Vec<String>) -> Vec<(u64, String)> {
    lines
        .into_iter()
        .filter_map(|l| {
            let (lsn, id) = l.strip_prefix("ACK ")?.split_once(' ')?;
            Some((lsn.parse().ok()?, id.to_owned()))
        })
        .collect()
}

/// Ends a child started with a crash point (it aborts by itself: waits up to `kill_after`)
/// or without one (killed after `kill_after`), and checks it died by SIGABRT or SIGKILL.
pub(crate) fn end_child(proc: &mut std::process::Child, crash: Option<&str>, kill_after: Duration) {
    use std::os::unix::process::ExitStatusExt;
    if crash.is_some() {
        for _ in 0..(kill_after.as_millis() / 10) {
            if proc.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    } else {
        std::thread::sleep(kill_after);
    }
    let _ = proc.kill();
    let status = proc.wait().unwrap();
    let expected = if crash.is_some() { 6 } else { 9 }; // SIGABRT at the crash point, or SIGKILL
    assert_eq!(
        status.signal(),
        Some(expected),
        "child ended otherwise: {status:?} ({crash:?})"
    );
}
