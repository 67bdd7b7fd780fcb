//! Crashes of a real process appending under load.
//!
//! `sigkill_at_random_moments_loses_and_duplicates_nothing`: a child (this binary, role
//! `appender`) appends from four threads and prints `ACK <lsn> <id>` once a ticket completed;
//! the parent SIGKILLs it at a random moment (one cycle in five within the first 20 ms, so
//! during start-up and recovery), 20 cycles on the same directory. After every cycle a fresh
//! open must find every acknowledged record exactly once, at its LSN, with good checksums, in
//! LSN order, and no payload twice.
//!
//! `every_crash_point_of_the_append_path`: the same child aborts itself at each crash point of
//! the append path (batch written / synced, segment created / header written / synced), at the
//! first and a later occurrence; the same checks follow.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use otlp_spool_core::Signal;
use otlp_spool_wal::Wal;

use crate::util::{Rng, acks, child, child_dir, end_child, read_all, small, spawn_capturing};

const ROLE: &str = "appender";
const TEST: &str = "crash::appender_child";

fn options(dir: &Path) -> otlp_spool_wal::WalOptions {
    small(dir)
        .segment_bytes(64 * 1024)
        .max_bytes(512 << 20)
        .build()
        .unwrap()
}

/// A payload that checks itself: `<id>|<pad>|` then `pad` bytes of `x`.
fn payload(id: &str, i: u64) -> Vec<u8> {
    let pad = (i * 7919 % 3000) as usize;
    let mut v = format!("{id}|{pad}|").into_bytes();
    v.resize(v.len() + pad, b'x');
    v
}

fn parse_payload(bytes: &[u8]) -> String {
    let text = std::str::from_utf8(bytes).expect("utf-8 payload");
    let mut parts = text.splitn(3, '|');
    let id = parts.next().unwrap();
    let pad: usize = parts.next().unwrap().parse().unwrap();
    let rest = parts.next().unwrap();
    assert_eq!(
        rest.len(),
        pad,
        "payload of {id} has the length it declares"
    );
    assert!(rest.bytes().all(|b| b == b'x'));
    id.to_owned()
}

/// The child: appends from four threads until killed (or a bound of records per thread).
#[test]
fn appender_child() {
    let Some(dir) = child_dir(ROLE) else {
        return;
    };
    let cycle = std::env::var("CYCLE").unwrap_or_default();
    let wal = Wal::open(options(&dir)).unwrap();
    println!("OPEN {}", wal.stats().next_lsn);
    std::thread::scope(|s| {
        for t in 0..4 {
            let wal = &wal;
            let cycle = &cycle;
            s.spawn(move || {
                for i in 0..20_000u64 {
                    let id = format!("c{cycle}-t{t}-{i}");
                    let signal = Signal::ALL[(i % 3) as usize];
                    let lsn = wal
                        .append(signal, &payload(&id, i))
                        .unwrap()
                        .wait()
                        .unwrap();
                    println!("ACK {lsn} {id}");
                }
            });
        }
    });
}

/// Runs the child, killed after `kill_after` (or aborting at its crash point), and returns the
/// acknowledgements it printed.
fn run_child(
    dir: &Path,
    cycle: usize,
    crash: Option<&str>,
    kill_after: Duration,
) -> Vec<(u64, String)> {
    let mut cmd = child(TEST, ROLE, dir, crash);
    cmd.env("CYCLE", cycle.to_string());
    let (mut proc, lines) = spawn_capturing(cmd);
    end_child(&mut proc, crash, kill_after);
    acks(lines.join().unwrap())
}

/// Opens the log as a restart would and checks every acknowledged record; returns the number
/// of records in the log and whether recovery cut a torn tail.
fn verify(dir: &Path, acked: &BTreeMap<u64, String>) -> (usize, bool) {
    let wal = Wal::open(options(dir)).unwrap();
    let report = wal.recovery_report().clone();
    assert!(report.holes.is_empty(), "{report:?}");
    assert!(report.quarantined.is_empty(), "{report:?}");
    let all = read_all(&wal);
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0), "LSN order");
    let mut by_lsn = BTreeMap::new();
    let mut ids = std::collections::HashSet::new();
    for (lsn, _, bytes) in &all {
        let id = parse_payload(bytes);
        assert!(ids.insert(id.clone()), "payload {id} twice in the log");
        by_lsn.insert(*lsn, id);
    }
    for (lsn, id) in acked {
        assert_eq!(
            by_lsn.get(lsn),
            Some(id),
            "acknowledged record {lsn} ({id}) lost"
        );
    }
    (all.len(), !report.truncated.is_empty())
}

fn record_acks(acked: &mut BTreeMap<u64, String>, new: Vec<(u64, String)>) -> usize {
    let n = new.len();
    for (lsn, id) in new {
        if let Some(old) = acked.insert(lsn, id.clone()) {
            panic!("LSN {lsn} acknowledged twice: {old} and {id}");
        }
    }
    n
}

#[test]
fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wal");
    let mut rng = Rng::from_env(u64::from(std::process::id()) * 2_654_435_761);
    let mut acked = BTreeMap::new();
    let mut torn_cycles = 0;
    for cycle in 0..20 {
        let early = rng.range(0, 5) == 0;
        let after = Duration::from_millis(if early {
            rng.range(0, 20)
        } else {
            rng.range(50, 400)
        });
        let new = run_child(&dir, cycle, None, after);
        let n = record_acks(&mut acked, new);
        let (in_log, torn) = verify(&dir, &acked);
        torn_cycles += usize::from(torn);
        eprintln!(
            "cycle {cycle}: killed after {after:?}, {n} acknowledged, {} in total, {in_log} in the log",
            acked.len()
        );
    }
    eprintln!(
        "20 SIGKILLs: {} acknowledged records, all present once; {torn_cycles} recoveries cut a torn tail",
        acked.len()
    );
    assert!(acked.len() > 100, "the children did work");
}

#[test]
fn every_crash_point_of_the_append_path() {
    let points = [
        "append.written",
        "append.synced",
        "segment.created",
        "segment.header_written",
        "segment.synced",
    ];
    for point in points {
        for n in [1, 3] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("wal");
            let mut acked = BTreeMap::new();
            // A first run that the crash point ends, then a second one killed, on one directory.
            let spec = format!("{point}:{n}");
            record_acks(
                &mut acked,
                run_child(&dir, 0, Some(&spec), Duration::from_secs(20)),
            );
            verify(&dir, &acked);
            record_acks(
                &mut acked,
                run_child(&dir, 1, None, Duration::from_millis(100)),
            );
            let (in_log, _) = verify(&dir, &acked);
            assert!(in_log >= acked.len());
        }
    }
}
