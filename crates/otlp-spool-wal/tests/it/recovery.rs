//! Start-up recovery: torn tails, damaged records and headers, leftover files.

use std::fs::{self, OpenOptions};
use std::io::Write;

use otlp_spool_core::Signal;
use otlp_spool_wal::{RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};

use crate::util::{open, put, read_all, segment_files};

fn append_bytes(path: &std::path::Path, bytes: &[u8]) {
    OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

fn flip(path: &std::path::Path, at: u64) {
    let mut data = fs::read(path).unwrap();
    data[at as usize] ^= 0x5a;
    fs::write(path, data).unwrap();
}

/// Ten records of 100 bytes in one segment (bigger segments than `small`'s).
fn ten(dir: &std::path::Path) -> Vec<u64> {
    let wal = otlp_spool_wal::Wal::open(
        crate::util::small(dir)
            .segment_bytes(1 << 20)
            .build()
            .unwrap(),
    )
    .unwrap();
    (0..10u8)
        .map(|i| put(&wal, Signal::Traces, &[i; 100]))
        .collect()
}

const FRAME: u64 = (RECORD_HEADER_LEN + 100) as u64;

#[test]
fn a_torn_tail_is_cut_off_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let lsns = ten(tmp.path());
    let seg = segment_files(tmp.path()).pop().unwrap();
    let good = fs::metadata(&seg).unwrap().len();
    append_bytes(&seg, &[0xAB; 37]);
    let wal = open(tmp.path());
    let report = wal.recovery_report().clone();
    assert_eq!(report.truncated.len(), 1, "{report:?}");
    assert_eq!(
        (report.truncated[0].offset, report.truncated[0].bytes),
        (good, 37)
    );
    assert_eq!(report.records, 10);
    assert_eq!(report.last_lsn, Some(lsns[9]));
    assert_eq!(fs::metadata(&seg).unwrap().len(), good, "truncated on disk");
    // The log goes on after the cut.
    let next = put(&wal, Signal::Traces, b"after");
    assert_eq!(next, lsns[9] + 1);
    assert_eq!(read_all(&wal).len(), 11);
    drop(wal);
    assert!(open(tmp.path()).recovery_report().is_clean());
}

#[test]
fn a_damaged_record_in_the_middle_is_skipped_and_reported_never_silently() {
    let tmp = tempfile::tempdir().unwrap();
    ten(tmp.path());
    let seg = segment_files(tmp.path()).pop().unwrap();
    // The payload of the fourth record.
    let at = SEGMENT_HEADER_LEN as u64 + 3 * FRAME + RECORD_HEADER_LEN as u64 + 5;
    flip(&seg, at);
    let wal = open(tmp.path());
    let report = wal.recovery_report().clone();
    assert_eq!(report.holes.len(), 1, "{report:?}");
    assert_eq!(
        report.holes[0].offset,
        SEGMENT_HEADER_LEN as u64 + 3 * FRAME
    );
    assert_eq!(report.holes[0].bytes, FRAME);
    assert!(report.truncated.is_empty());
    assert!(!report.is_clean());
    let got: Vec<u8> = read_all(&wal).iter().map(|r| r.2[0]).collect();
    assert_eq!(got, vec![0, 1, 2, 4, 5, 6, 7, 8, 9]);
}

#[test]
fn damage_found_while_reading_is_reported_skipped_and_the_cursor_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = otlp_spool_wal::Wal::open(
        crate::util::small(tmp.path())
            .segment_bytes(1 << 20)
            .build()
            .unwrap(),
    )
    .unwrap();
    for i in 0..10u8 {
        put(&wal, Signal::Traces, &[i; 100]);
    }
    let seg = segment_files(tmp.path()).pop().unwrap();
    // Damage after open (the page cache sees the write): the length of the sixth record.
    let at = SEGMENT_HEADER_LEN as u64 + 5 * FRAME;
    flip(&seg, at);
    let mut c = wal.cursor("reader").unwrap();
    let mut got = Vec::new();
    let mut damaged = 0;
    loop {
        match c.next_record() {
            Ok(Some(r)) => got.push(r.bytes()[0]),
            Ok(None) => break,
            Err(otlp_spool_wal::ReadError::Corrupt {
                offset,
                skipped_bytes,
                ..
            }) => {
                assert_eq!((offset, skipped_bytes), (at, FRAME));
                damaged += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(damaged, 1);
    assert_eq!(got, vec![0, 1, 2, 3, 4, 6, 7, 8, 9]);
}

#[test]
fn a_segment_whose_creation_was_cut_short_is_removed_and_one_with_a_bad_header_set_aside() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = open(tmp.path());
    for i in 0..40u8 {
        put(&wal, Signal::Logs, &[i; 500]);
    }
    drop(wal);
    let segs = segment_files(tmp.path());
    assert!(segs.len() >= 3);
    // A newest segment that only got its name: empty file.
    let stub = tmp.path().join("seg-09999999999999999999.wal");
    fs::write(&stub, b"").unwrap();
    // An older segment whose header is damaged.
    flip(&segs[0], 3);
    let wal = open(tmp.path());
    let report = wal.recovery_report().clone();
    assert_eq!(report.removed_incomplete, vec![stub.clone()], "{report:?}");
    assert!(!stub.exists());
    assert_eq!(report.quarantined.len(), 1);
    assert!(
        report.quarantined[0]
            .to_string_lossy()
            .ends_with(".wal.corrupt")
    );
    assert!(report.quarantined[0].exists(), "kept for inspection");
    let got = read_all(&wal);
    assert!(!got.is_empty() && got.len() < 40);
    assert!(got.windows(2).all(|w| w[0].0 < w[1].0));
    // And the log continues after the highest LSN it still has.
    assert_eq!(put(&wal, Signal::Logs, b"x"), 41);
}

#[test]
fn cursor_leftovers_are_cleaned_a_torn_update_reverts_and_a_damaged_cursor_replays() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let wal = open(tmp.path());
        for i in 0..5u8 {
            put(&wal, Signal::Logs, &[i]);
        }
        for name in ["files-logs", "forward-1", "forward-2"] {
            let mut c = wal.cursor(name).unwrap();
            c.next_batch(2, usize::MAX).unwrap();
            c.commit(2, b"first").unwrap();
            c.next_batch(2, usize::MAX).unwrap();
            c.commit(4, b"second").unwrap();
        }
    }
    let cdir = tmp.path().join("cursors");
    fs::write(cdir.join(".forward-9.tmp"), b"half a cursor file").unwrap();
    // seq 1 (creation) in slot 1, seq 2 in slot 0, seq 3 (the last commit) in slot 1.
    flip(&cdir.join("forward-1.pos"), 4096 + 20); // the last update, torn
    flip(&cdir.join("forward-2.pos"), 20); // both slots damaged
    flip(&cdir.join("forward-2.pos"), 4096 + 20);
    let wal = open(tmp.path());
    let report = wal.recovery_report().clone();
    assert_eq!(report.removed_temp, vec![cdir.join(".forward-9.tmp")]);
    assert_eq!(
        report.interrupted_cursor_updates,
        vec!["forward-1".to_string()]
    );
    assert_eq!(report.reset_cursors, vec!["forward-2".to_string()]);
    assert_eq!(report.cursors.len(), 3);
    let c = wal.cursor("files-logs").unwrap();
    assert_eq!((c.position(), c.payload()), (4, &b"second"[..]));
    let c = wal.cursor("forward-1").unwrap();
    assert_eq!(
        (c.position(), c.payload()),
        (2, &b"first"[..]),
        "the state before"
    );
    let mut d = wal.cursor("forward-2").unwrap();
    assert_eq!(d.position(), 0);
    assert_eq!(
        d.next_batch(10, usize::MAX).unwrap().len(),
        5,
        "replays everything"
    );
}

#[test]
fn the_lsn_sequence_survives_a_log_whose_records_were_all_consumed() {
    let tmp = tempfile::tempdir().unwrap();
    let last = {
        let wal = open(tmp.path());
        let mut c = wal.cursor("all").unwrap();
        let mut last = 0;
        for i in 0..50u8 {
            last = put(&wal, Signal::Logs, &[i; 400]);
        }
        while let Some(r) = c.next_record().unwrap() {
            c.commit(r.lsn(), b"").unwrap();
        }
        drop(c);
        wal.drop_cursor("all").unwrap();
        last
    };
    assert_eq!(segment_files(tmp.path()).len(), 1);
    let wal = open(tmp.path());
    assert_eq!(put(&wal, Signal::Logs, b"next"), last + 1);
}

#[test]
fn files_that_are_not_the_logs_own_are_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("notes.txt"), b"hello").unwrap();
    fs::write(tmp.path().join("seg-12.wal"), b"not ours").unwrap();
    let wal = open(tmp.path());
    assert!(wal.recovery_report().is_clean());
    put(&wal, Signal::Logs, b"x");
    drop(wal);
    assert_eq!(
        fs::read(tmp.path().join("seg-12.wal")).unwrap(),
        b"not ours"
    );
}
