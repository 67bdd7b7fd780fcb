//! A full disk (ENOSPC from the kernel), on a 1 MiB tmpfs the test mounts (tests run as root
//! here and on CI; where mounting is refused the test says so loudly and does nothing).
//!
//! The log fills the filesystem: the append that no longer fits fails its ticket with a
//! disk-full error, later appends fail the same way, but a consumer still records its progress
//! (cursor files are updated in place); nothing acknowledged is harmed. Then space returns, first by deleting a filler
//! file, then by a consumer committing (segments deleted): appends succeed again by themselves,
//! and a restart finds exactly the acknowledged records, with no torn bytes to cut (the failed
//! writes were cut back).

use std::path::{Path, PathBuf};
use std::process::Command;

use otlp_spool_core::Signal;
use otlp_spool_wal::{TicketError, Wal, WalOptions};

use crate::util::read_all;

/// A tmpfs mounted for the test's lifetime.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn options(dir: &Path) -> WalOptions {
    WalOptions::builder(dir)
        .segment_bytes(64 * 1024)
        .max_bytes(64 << 20)
        .max_record_bytes(16 * 1024)
        .build()
        .unwrap()
}

/// Appends 10 KiB records until one fails; returns the acknowledged LSNs and the failure.
fn fill(wal: &Wal, acked: &mut Vec<u64>) -> TicketError {
    for i in 0..10_000u32 {
        let body = vec![(i % 251) as u8; 10 * 1024];
        match wal.append(Signal::Logs, &body).unwrap().wait() {
            Ok(lsn) => acked.push(lsn),
            Err(e) => return e,
        }
    }
    panic!("a 1 MiB filesystem never filled");
}

#[test]
fn a_full_disk_fails_appends_harms_nothing_and_clears_by_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(_mount) = Tmpfs::mount(&tmp.path().join("mnt"), "1m") else {
        eprintln!("SKIPPED a_full_disk_fails_appends...: mounting a tmpfs is not permitted here");
        return;
    };
    let mnt = tmp.path().join("mnt");
    let filler = mnt.join("filler");
    std::fs::write(&filler, vec![0u8; 256 * 1024]).unwrap();
    let dir = mnt.join("wal");
    let wal = Wal::open(options(&dir)).unwrap();
    let mut c = wal.cursor("files").unwrap();
    let mut acked = Vec::new();

    let err = fill(&wal, &mut acked);
    assert!(err.is_disk_full(), "{err}");
    assert!(
        acked.len() > 20,
        "{} records before the disk filled",
        acked.len()
    );
    let again = wal.append(Signal::Logs, &[1; 10 * 1024]).unwrap().wait();
    assert!(again.is_err_and(|e| e.is_disk_full()), "still full");
    // A consumer records its progress on the full disk (its cursor file is updated in place).
    let first = c.next_record().unwrap().unwrap();
    c.commit(first.lsn(), b"x").unwrap();
    let stats = wal.stats();
    assert!(stats.failed_records >= 2, "{stats:?}");

    // Space returns (a file is deleted): appends work again with no intervention.
    std::fs::remove_file(&filler).unwrap();
    let after = wal
        .append(Signal::Logs, &[2; 10 * 1024])
        .unwrap()
        .wait()
        .unwrap();
    acked.push(after);

    // Full again; this time space returns because the consumer catches up.
    let err = fill(&wal, &mut acked);
    assert!(err.is_disk_full(), "{err}");
    while let Some(r) = c.next_record().unwrap() {
        c.commit(r.lsn(), b"x").unwrap();
    }
    assert!(wal.stats().deleted_segments > 0);
    let mut tail = Vec::new();
    for _ in 0..5 {
        tail.push(
            wal.append(Signal::Logs, &[3; 10 * 1024])
                .unwrap()
                .wait()
                .unwrap(),
        );
    }
    drop(c);
    wal.drop_cursor("files").unwrap();
    wal.close().unwrap();
    drop(wal);

    // A restart: exactly what was acknowledged (what the consumer freed is gone, as it should
    // be), and the failed writes left nothing to cut.
    let wal = Wal::open(options(&dir)).unwrap();
    let report = wal.recovery_report().clone();
    assert!(
        report.truncated.is_empty() && report.holes.is_empty(),
        "{report:?}"
    );
    let lsns: Vec<u64> = read_all(&wal).into_iter().map(|r| r.0).collect();
    let oldest = lsns[0];
    let expect: Vec<u64> = acked
        .iter()
        .chain(&tail)
        .copied()
        .filter(|&l| l >= oldest)
        .collect();
    assert_eq!(lsns, expect);
    eprintln!(
        "disk full twice: {} records acknowledged, none lost, none of the failed ones kept",
        acked.len() + tail.len()
    );
}
