//! Recycled segments: consumed segment files kept as spares and reused as new segments.
//!
//! A reused file still holds its earlier life's records after the new ones; these tests show
//! that no reader and no recovery ever returns them, in process and across SIGKILLs.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use otlp_spool_core::Signal;
use otlp_spool_wal::{MAX_SPARE_SEGMENTS, Wal, WalOptions};

use crate::util::{Rng, acks, child, child_dir, end_child, put, read_all, small, spawn_capturing};

const ROLE: &str = "recycler";
const TEST: &str = "recycle::recycler_child";

fn options(dir: &Path) -> WalOptions {
    small(dir)
        .segment_bytes(64 * 1024)
        .max_bytes(16 << 20)
        .build()
        .unwrap()
}

/// Files of `dir` by kind: segments whose header carries the recycled flag, all segments, and
/// spare files.
fn census(dir: &Path) -> (usize, usize, usize) {
    let (mut recycled, mut segments, mut spares) = (0, 0, 0);
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name.starts_with("spare-") {
            spares += 1;
        } else if name.starts_with("seg-") {
            segments += 1;
            let head = std::fs::read(entry.path()).unwrap();
            if head.len() >= 16 && head[12] & 1 == 1 {
                recycled += 1;
            }
        }
    }
    (recycled, segments, spares)
}

fn payload(id: &str) -> Vec<u8> {
    let mut v = format!("{id}|").into_bytes();
    v.resize(v.len() + 900, b'r');
    v
}

fn id_of(bytes: &[u8]) -> String {
    let text = std::str::from_utf8(bytes).unwrap();
    let (id, pad) = text.split_once('|').unwrap();
    assert!(pad.len() == 900 && pad.bytes().all(|b| b == b'r'), "{id}");
    id.to_owned()
}

#[test]
fn consumed_segments_are_reused_and_their_old_records_never_read_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wal");
    let wal = Wal::open(options(&dir)).unwrap();
    let mut files = wal.cursor("files").unwrap();
    // Ten rounds of 200 records (about three segments each), consumed after each round.
    let mut expected = Vec::new();
    let mut reused = 0;
    for round in 0..10 {
        for i in 0..200 {
            let id = format!("r{round}-{i}");
            let lsn = put(&wal, Signal::Logs, &payload(&id));
            expected.push((lsn, id));
        }
        let (recycled, _, spares) = census(&dir);
        assert!(spares <= MAX_SPARE_SEGMENTS);
        reused += recycled;
        let mut last = 0;
        while let Some(r) = files.next_record().unwrap() {
            last = r.lsn();
        }
        files.commit(last, b"").unwrap();
    }
    let stats = wal.stats();
    assert!(stats.recycled_segments >= 5, "{stats:?}");
    assert!(stats.spare_segments <= MAX_SPARE_SEGMENTS, "{stats:?}");
    assert!(reused >= 5, "segments made from spare files: {reused}");
    // Twenty more records stay unconsumed; a restart finds exactly those (and the consumed
    // ones still in retained segments), none from a reused file's earlier life.
    for i in 0..20 {
        let id = format!("tail-{i}");
        let lsn = put(&wal, Signal::Logs, &payload(&id));
        expected.push((lsn, id));
    }
    drop(files);
    wal.close().unwrap();
    drop(wal);

    let wal = Wal::open(options(&dir)).unwrap();
    let report = wal.recovery_report().clone();
    assert!(report.is_clean(), "{report:?}");
    let by_lsn: BTreeMap<u64, String> = expected.into_iter().collect();
    let found = read_all(&wal);
    assert!(found.len() >= 20);
    for (lsn, _, bytes) in &found {
        assert_eq!(by_lsn.get(lsn), Some(&id_of(bytes)), "record {lsn}");
    }
    let tail: Vec<String> = found.iter().rev().take(20).map(|r| id_of(&r.2)).collect();
    assert_eq!(tail.last().map(String::as_str), Some("tail-0"));
    assert!(wal.stats().spare_segments <= MAX_SPARE_SEGMENTS);
}

/// The child: two appenders print `ACK <lsn> <id>`; a consumer commits its cursor `files`
/// as it reads, so segments are consumed, kept as spares and reused while the parent kills.
#[test]
fn recycler_child() {
    let Some(dir) = child_dir(ROLE) else {
        return;
    };
    let cycle = std::env::var("CYCLE").unwrap_or_default();
    let wal = Wal::open(options(&dir)).unwrap();
    let mut files = wal.cursor("files").unwrap();
    std::thread::scope(|s| {
        for t in 0..2 {
            let (wal, cycle) = (&wal, &cycle);
            s.spawn(move || {
                for i in 0..50_000u64 {
                    let id = format!("c{cycle}-t{t}-{i}");
                    let lsn = put(wal, Signal::Traces, &payload(&id));
                    println!("ACK {lsn} {id}");
                }
            });
        }
        s.spawn(move || {
            loop {
                let mut last = None;
                for _ in 0..50 {
                    match files.next_record().unwrap() {
                        Some(r) => last = Some(r.lsn()),
                        None => break,
                    }
                }
                match last {
                    Some(lsn) => files.commit(lsn, b"").unwrap(),
                    None => std::thread::sleep(Duration::from_millis(1)),
                }
            }
        });
    });
}

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

/// Opens the log as a restart would and checks it against what the children acknowledged:
/// every acknowledged record the cursor has not consumed is there, at its LSN, once; nothing
/// from a reused file's earlier life is read. Returns the records in the log.
fn verify(dir: &Path, acked: &HashMap<String, u64>) -> usize {
    let wal = Wal::open(options(dir)).unwrap();
    let report = wal.recovery_report().clone();
    assert!(
        report.holes.is_empty() && report.quarantined.is_empty(),
        "{report:?}"
    );
    let position = wal
        .cursors()
        .into_iter()
        .find(|c| c.name == "files")
        .map_or(0, |c| c.position);
    let found = read_all(&wal);
    assert!(found.windows(2).all(|w| w[0].0 < w[1].0), "LSN order");
    let mut seen = HashMap::new();
    for (lsn, _, bytes) in &found {
        let id = id_of(bytes);
        if let Some(&acked_at) = acked.get(&id) {
            assert_eq!(acked_at, *lsn, "{id} read at another LSN: a stale record");
        }
        assert!(seen.insert(id, *lsn).is_none(), "a record twice");
    }
    let found_lsns: std::collections::HashSet<u64> = found.iter().map(|r| r.0).collect();
    for (id, lsn) in acked {
        assert!(
            *lsn <= position || found_lsns.contains(lsn),
            "acknowledged {id} at {lsn} (unconsumed: position {position}) lost"
        );
    }
    found.len()
}

fn record_acks(acked: &mut HashMap<String, u64>, new: Vec<(u64, String)>) {
    for (lsn, id) in new {
        assert!(acked.insert(id, lsn).is_none(), "acknowledged twice");
    }
}

#[test]
fn sigkill_while_segments_are_reused_loses_nothing_and_reads_nothing_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wal");
    let mut rng = Rng::from_env(u64::from(std::process::id()) * 40_503);
    let mut acked: HashMap<String, u64> = HashMap::new();
    let mut reused_seen = 0;
    for cycle in 0..12 {
        let after = Duration::from_millis(rng.range(80, 500));
        record_acks(&mut acked, run_child(&dir, cycle, None, after));
        let (recycled, _, spares) = census(&dir);
        assert!(spares <= MAX_SPARE_SEGMENTS, "{spares} spare files");
        reused_seen += recycled;
        let in_log = verify(&dir, &acked);
        eprintln!(
            "cycle {cycle}: killed after {after:?}; {} acknowledged in all, {in_log} in the log, {recycled} reused segment files",
            acked.len()
        );
    }
    assert!(acked.len() > 1000, "the children did work");
    assert!(reused_seen > 0, "segments were reused");
}

/// The child aborts itself at each step of turning a consumed segment into a spare and a
/// spare into a segment (first and a later occurrence), then runs again and is killed; after
/// each run the log is checked.
#[test]
fn every_crash_point_of_segment_reuse() {
    let points = [
        "reclaim.unlinked",
        "segment.reuse_header_synced",
        "segment.reused",
    ];
    for point in points {
        for n in [1, 3] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("wal");
            let mut acked = HashMap::new();
            let spec = format!("{point}:{n}");
            record_acks(
                &mut acked,
                run_child(&dir, 0, Some(&spec), Duration::from_secs(20)),
            );
            verify(&dir, &acked);
            record_acks(
                &mut acked,
                run_child(&dir, 1, None, Duration::from_millis(300)),
            );
            verify(&dir, &acked);
            assert!(!acked.is_empty(), "{spec}: the children did work");
        }
    }
}
