//! The exactly-once protocol of the README ("Exactly-once file recovery"), run by a fake file
//! writer against a real log, with a crash at every step.
//!
//! The fake writer (this binary, role `writer`) plays what part 2's file writer will do: read a
//! batch from its cursor, write it to `.f-<seq>.tmp`, fsync it, commit
//! `pending f-<seq>.dat <last lsn>`, rename the temp file to `f-<seq>.dat`, fsync the directory,
//! commit `committed`. At start-up it resolves a `pending` payload first (the final file exists:
//! done; only the temp file: finish the rename; neither: it was published and deleted since),
//! then removes every other temp file (their records come again from the log).
//!
//! The crash points are the writer's own steps and the log's (`cursor.slot_*` inside each
//! commit, `replace.*` while the cursor file is created, `reclaim.unlinked` when a commit frees
//! a segment). After each crash the finalized files must
//! hold a prefix of the log exactly once; after a clean run, the whole log exactly once.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

use otlp_spool_core::Signal;
use otlp_spool_wal::{Cursor, Wal, failpoint};

use crate::util::{Rng, child, child_dir, small};

const ROLE: &str = "writer";
const TEST: &str = "protocol::writer_child";
const BATCH: usize = 7;

/// The crash points a writer run passes through.
const POINTS: [&str; 14] = [
    "writer.tmp_written",
    "writer.tmp_synced",
    "writer.pending_committed",
    "writer.renamed",
    "writer.dir_synced",
    "writer.committed",
    "writer.resolve.renamed",
    "writer.resolve.committed",
    "writer.resolve.cleaned",
    "cursor.slot_written",
    "cursor.slot_synced",
    "replace.temp_synced",
    "replace.renamed",
    "reclaim.unlinked",
];

fn options(dir: &Path) -> otlp_spool_wal::WalOptions {
    small(&dir.join("wal")).segment_bytes(4096).build().unwrap()
}

fn files_dir(dir: &Path) -> PathBuf {
    dir.join("files")
}

fn final_name(seq: u64) -> String {
    format!("f-{seq:06}.dat")
}

fn temp_name(name: &str) -> String {
    format!(".{}.tmp", name.trim_end_matches(".dat"))
}

fn sync_dir(dir: &Path) {
    File::open(dir).unwrap().sync_all().unwrap();
}

/// The finalized files in order, each with the LSNs it holds.
fn finals(files: &Path) -> Vec<(String, Vec<u64>)> {
    let mut names: Vec<String> = fs::read_dir(files)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("f-") && n.ends_with(".dat"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let text = fs::read_to_string(files.join(&n)).unwrap();
            let lsns = text
                .lines()
                .map(|l| {
                    let (lsn, body) = l.split_once(' ').unwrap();
                    let lsn: u64 = lsn.parse().unwrap();
                    assert_eq!(body, body_of(lsn), "content of {n}");
                    lsn
                })
                .collect();
            (n, lsns)
        })
        .collect()
}

/// Start-up: resolves a pending file, then removes every other temp file.
fn resolve(cursor: &mut Cursor, files: &Path) {
    let payload = String::from_utf8(cursor.payload().to_vec()).unwrap();
    if let Some(rest) = payload.strip_prefix("pending ") {
        let (name, lsn) = rest.split_once(' ').unwrap();
        assert_eq!(lsn.parse::<u64>().unwrap(), cursor.position());
        let fin = files.join(name);
        let tmp = files.join(temp_name(name));
        if !fin.exists() && tmp.exists() {
            fs::rename(&tmp, &fin).unwrap();
            failpoint::hit("writer.resolve.renamed");
            sync_dir(files);
        }
        cursor.commit(cursor.position(), b"committed").unwrap();
        failpoint::hit("writer.resolve.committed");
    }
    for entry in fs::read_dir(files).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".tmp") {
            fs::remove_file(files.join(&name)).unwrap();
            failpoint::hit("writer.resolve.cleaned");
        }
    }
    sync_dir(files);
}

/// The child: resolves, then writes every durable record into finalized files.
#[test]
fn writer_child() {
    let Some(dir) = child_dir(ROLE) else {
        return;
    };
    let files = files_dir(&dir);
    fs::create_dir_all(&files).unwrap();
    let wal = Wal::open(options(&dir)).unwrap();
    let mut cursor = wal.cursor("files-traces").unwrap();
    resolve(&mut cursor, &files);
    let mut seq = finals(&files)
        .last()
        .map_or(0, |(n, _)| n[2..8].parse::<u64>().unwrap());
    loop {
        let batch = cursor.next_batch(BATCH, usize::MAX).unwrap();
        let Some(last) = batch.last().map(|r| r.lsn()) else {
            break;
        };
        seq += 1;
        let name = final_name(seq);
        let tmp = files.join(temp_name(&name));
        let mut f = File::create(&tmp).unwrap();
        for r in &batch {
            writeln!(f, "{} {}", r.lsn(), std::str::from_utf8(r.bytes()).unwrap()).unwrap();
        }
        failpoint::hit("writer.tmp_written");
        f.sync_all().unwrap();
        failpoint::hit("writer.tmp_synced");
        cursor
            .commit(last, format!("pending {name} {last}").as_bytes())
            .unwrap();
        failpoint::hit("writer.pending_committed");
        fs::rename(&tmp, files.join(&name)).unwrap();
        failpoint::hit("writer.renamed");
        sync_dir(&files);
        failpoint::hit("writer.dir_synced");
        cursor.commit(last, b"committed").unwrap();
        failpoint::hit("writer.committed");
    }
    println!("WRITER-DONE {}", cursor.position());
}

/// The payload of record `lsn`: long enough that 30 records span several segments, so commits
/// delete segments (crash point `reclaim.unlinked`).
fn body_of(lsn: u64) -> String {
    format!("record-{lsn}-{}", "p".repeat(400))
}

/// Appends records `body_of(lsn)` until the log holds `upto` LSNs.
fn append_upto(dir: &Path, upto: u64) {
    let wal = Wal::open(options(dir)).unwrap();
    while wal.stats().next_lsn <= upto {
        let lsn = wal.stats().next_lsn;
        let got = wal
            .append(Signal::Traces, body_of(lsn).as_bytes())
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!(got, lsn);
    }
}

/// Runs the writer; `true` if it finished, `false` if it aborted at its crash point.
fn run_writer(dir: &Path, crash: Option<&str>) -> bool {
    let out = child(TEST, ROLE, dir, crash).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    if out.status.success() && text.contains("WRITER-DONE") {
        return true;
    }
    assert_eq!(
        out.status.signal(),
        Some(6),
        "writer failed: {:?}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    false
}

/// The finalized files hold LSNs `1..=n` exactly once, in order, for some `n`; returns `n`.
fn check_prefix(dir: &Path) -> u64 {
    let all: Vec<u64> = finals(&files_dir(dir))
        .into_iter()
        .flat_map(|(_, l)| l)
        .collect();
    let expect: Vec<u64> = (1..=all.len() as u64).collect();
    assert_eq!(
        all, expect,
        "finalized files hold a prefix of the log exactly once"
    );
    all.len() as u64
}

/// After a clean run: everything exactly once, nothing left over, the cursor at the end.
fn check_complete(dir: &Path, n: u64) {
    assert_eq!(check_prefix(dir), n, "every record in a finalized file");
    let leftovers: Vec<_> = fs::read_dir(files_dir(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let wal = Wal::open(options(dir)).unwrap();
    let c = wal.cursor("files-traces").unwrap();
    assert_eq!((c.position(), c.payload()), (n, &b"committed"[..]));
}

#[test]
fn a_crash_at_every_step_of_the_protocol_and_during_the_recovery_after_it() {
    const N: u64 = 30;
    let mut crashed = 0;
    let mut reached_first_time = Vec::new();
    for point in POINTS {
        for n in [1, 2, 4] {
            let tmp = tempfile::tempdir().unwrap();
            fs::create_dir_all(files_dir(tmp.path())).unwrap();
            append_upto(tmp.path(), N);
            let spec = format!("{point}:{n}");
            if !run_writer(tmp.path(), Some(&spec)) {
                crashed += 1;
                if n == 1 {
                    reached_first_time.push(point);
                }
                check_prefix(tmp.path());
                // Killed again while recovering from that crash, at a resolve step.
                for again in [
                    "writer.resolve.renamed:1",
                    "writer.resolve.committed:1",
                    "writer.resolve.cleaned:1",
                    "cursor.slot_written:1",
                ] {
                    if run_writer(tmp.path(), Some(again)) {
                        break;
                    }
                    check_prefix(tmp.path());
                }
            }
            assert!(run_writer(tmp.path(), None), "{spec}: a clean run finishes");
            check_complete(tmp.path(), N);
        }
    }
    // Every point is on the path of a first run, except the resolve steps, which only a run
    // after a crash takes (the inner loop above and the random test below crash there).
    let missed: Vec<_> = POINTS
        .iter()
        .filter(|p| !p.starts_with("writer.resolve") && !reached_first_time.contains(p))
        .collect();
    assert!(missed.is_empty(), "crash points never reached: {missed:?}");
    eprintln!(
        "{crashed} crashes over {} crash point settings",
        POINTS.len() * 3
    );
}

#[test]
fn kills_at_random_steps_while_records_keep_arriving() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir_all(files_dir(tmp.path())).unwrap();
    let mut rng = Rng::from_env(u64::from(std::process::id()) * 40_503);
    let mut n = 0;
    let mut crashes = 0;
    for _ in 0..20 {
        n += rng.range(5, 25);
        append_upto(tmp.path(), n);
        let point = POINTS[rng.range(0, POINTS.len() as u64) as usize];
        let spec = format!("{point}:{}", rng.range(1, 3));
        if !run_writer(tmp.path(), Some(&spec)) {
            crashes += 1;
        }
        check_prefix(tmp.path());
    }
    assert!(run_writer(tmp.path(), None));
    check_complete(tmp.path(), n);
    eprintln!("{crashes} crashes of 20 runs, {n} records, each in a finalized file once");
}
