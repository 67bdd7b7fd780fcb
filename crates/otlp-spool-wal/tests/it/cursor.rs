//! Cursors: reading, committing with a payload, filters, skips, drops, deletion of segments.

use std::time::Duration;

use otlp_spool_core::Signal;
use otlp_spool_wal::{CursorError, MAX_CURSOR_PAYLOAD, PositionError, Skipped, WaitOutcome};

use crate::util::{open, put, run_async, segment_files};

#[test]
fn a_committed_position_and_payload_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let lsns: Vec<u64> = {
        let wal = open(tmp.path());
        let lsns = (0..10u8).map(|i| put(&wal, Signal::Traces, &[i])).collect();
        let mut c = wal.cursor("files-traces").unwrap();
        assert_eq!((c.position(), c.payload()), (0, &b""[..]));
        for _ in 0..4 {
            c.next_record().unwrap().unwrap();
        }
        c.commit(c.scanned(), b"pending f-1 4").unwrap();
        lsns
    };
    let wal = open(tmp.path());
    let mut c = wal.cursor("files-traces").unwrap();
    assert_eq!(c.position(), lsns[3]);
    assert_eq!(c.payload(), b"pending f-1 4");
    let rest: Vec<u8> = std::iter::from_fn(|| c.next_record().unwrap())
        .map(|r| r.bytes()[0])
        .collect();
    assert_eq!(rest, (4..10).collect::<Vec<u8>>());
    // Only the payload changes.
    c.commit(lsns[3], b"committed").unwrap();
    assert_eq!(c.payload(), b"committed");
}

#[test]
fn commit_refuses_positions_outside_durable_and_read() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = open(tmp.path());
    let a = put(&wal, Signal::Logs, b"a");
    let b = put(&wal, Signal::Logs, b"b");
    let mut c = wal.cursor("c").unwrap();
    assert!(matches!(
        c.commit(a, b""),
        Err(PositionError::Unread { read: 0, .. })
    ));
    c.next_record().unwrap().unwrap();
    c.commit(a, b"").unwrap();
    assert!(
        matches!(c.commit(0, b""), Err(PositionError::Backwards { current, .. }) if current == a)
    );
    assert!(matches!(
        c.commit(a, &vec![0; MAX_CURSOR_PAYLOAD + 1]),
        Err(PositionError::PayloadTooLarge { .. })
    ));
    assert!(matches!(c.skip_to(b + 5), Err(PositionError::Beyond { durable, .. }) if durable == b));
    assert_eq!(c.position(), a, "refusals change nothing");
}

#[test]
fn names_are_checked_and_one_handle_per_name() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = open(tmp.path());
    assert!(matches!(wal.cursor("../x"), Err(CursorError::BadName(_))));
    let c = wal.cursor("forward-0").unwrap();
    assert!(matches!(
        wal.cursor("forward-0"),
        Err(CursorError::InUse(_))
    ));
    assert!(matches!(
        wal.drop_cursor("forward-0"),
        Err(CursorError::InUse(_))
    ));
    drop(c);
    let _again = wal.cursor("forward-0").unwrap();
    let names: Vec<_> = wal
        .cursors()
        .into_iter()
        .map(|i| (i.name, i.open))
        .collect();
    assert_eq!(names, vec![("forward-0".to_string(), true)]);
}

#[test]
fn a_filter_passes_other_signals_over_and_commit_may_cover_them() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = open(tmp.path());
    for (i, s) in [
        Signal::Traces,
        Signal::Logs,
        Signal::Traces,
        Signal::Metrics,
    ]
    .into_iter()
    .enumerate()
    {
        put(&wal, s, &[i as u8]);
    }
    let mut c = wal.cursor("files-traces").unwrap();
    c.set_filter(Some(Signal::Traces));
    let got: Vec<u8> = std::iter::from_fn(|| c.next_record().unwrap())
        .map(|r| r.bytes()[0])
        .collect();
    assert_eq!(got, vec![0, 2]);
    assert_eq!(
        c.scanned(),
        4,
        "the metrics record at the end was passed over"
    );
    c.commit(4, b"").unwrap();
}

#[test]
fn rewind_reads_again_from_the_durable_position() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = open(tmp.path());
    for i in 0..5u8 {
        put(&wal, Signal::Logs, &[i]);
    }
    let mut c = wal.cursor("forward-a").unwrap();
    let first = c.next_batch(2, usize::MAX).unwrap();
    c.commit(first[1].lsn(), b"").unwrap();
    let in_flight = c.next_batch(10, 1).unwrap();
    assert_eq!(
        in_flight.len(),
        1,
        "at least one record, then the byte limit"
    );
    c.rewind();
    let again = c.next_batch(10, usize::MAX).unwrap();
    assert_eq!(
        again.iter().map(|r| r.bytes()[0]).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
}

#[test]
fn skips_and_drops_count_what_was_never_consumed() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = open(tmp.path());
    let lsns: Vec<u64> = (0..6u8)
        .map(|i| put(&wal, Signal::Logs, &[i; 10]))
        .collect();
    let mut c = wal.cursor("forward-x").unwrap();
    c.next_record().unwrap(); // read, never committed: counts as skipped too
    let s = c.skip_to(lsns[2]).unwrap();
    assert_eq!(
        s,
        Skipped {
            records: 3,
            bytes: 30
        }
    );
    assert_eq!(c.skipped(), s);
    assert_eq!(c.next_record().unwrap().unwrap().bytes()[0], 3);
    drop(c);
    let info = &wal.cursors()[0];
    assert_eq!((info.position, info.skipped), (lsns[2], s));
    drop(wal);
    let wal = open(tmp.path());
    assert_eq!(wal.cursor("forward-x").unwrap().skipped(), s, "persisted");
    assert_eq!(
        wal.drop_cursor("forward-x").unwrap(),
        Some(Skipped {
            records: 3,
            bytes: 30
        })
    );
    assert_eq!(wal.drop_cursor("forward-x").unwrap(), None);
    assert!(wal.cursors().is_empty());
}

#[test]
fn segments_are_deleted_only_past_every_cursor_even_one_not_open() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let wal = open(tmp.path());
        wal.cursor("slow").unwrap(); // registered, then closed
    }
    let wal = open(tmp.path());
    let mut fast = wal.cursor("fast").unwrap();
    for i in 0..100u32 {
        put(&wal, Signal::Traces, &[i as u8; 500]);
    }
    let before = segment_files(tmp.path()).len();
    assert!(before > 4, "{before}");
    while let Some(r) = fast.next_record().unwrap() {
        fast.commit(r.lsn(), b"").unwrap();
    }
    assert_eq!(
        segment_files(tmp.path()).len(),
        before,
        "`slow` holds every segment"
    );
    let mut slow = wal.cursor("slow").unwrap();
    let half = slow.next_batch(50, usize::MAX).unwrap();
    slow.commit(half.last().unwrap().lsn(), b"").unwrap();
    let mid = segment_files(tmp.path()).len();
    assert!(mid < before && mid > 1, "{mid} of {before}");
    drop(slow);
    wal.drop_cursor("slow").unwrap();
    assert_eq!(
        segment_files(tmp.path()).len(),
        1,
        "only the newest segment stays"
    );
    assert_eq!(wal.stats().segments, 1);
    // The newest segment carries the next LSN across a restart.
    let last = fast.scanned();
    drop((fast, wal));
    let wal = open(tmp.path());
    assert!(put(&wal, Signal::Traces, b"x") > last);
}

#[test]
fn a_new_cursor_starts_at_the_oldest_retained_record() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = open(tmp.path());
    let mut a = wal.cursor("a").unwrap();
    for i in 0..60u32 {
        put(&wal, Signal::Traces, &[i as u8; 500]);
    }
    let batch = a.next_batch(30, usize::MAX).unwrap();
    a.commit(batch.last().unwrap().lsn(), b"").unwrap();
    let mut b = wal.cursor("b").unwrap();
    let first = b.next_record().unwrap().unwrap();
    assert!(
        first.lsn() <= batch.last().unwrap().lsn() + 1,
        "nothing retained is skipped"
    );
    let n = 1 + std::iter::from_fn(|| b.next_record().unwrap()).count() as u64;
    assert_eq!(first.lsn() + n - 1, 60);
}

#[test]
fn waits_end_on_new_records_notifications_timeouts_and_close() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = open(tmp.path());
    let mut c = wal.cursor("tail").unwrap();
    assert_eq!(c.wait(Duration::from_millis(20)), WaitOutcome::TimedOut);
    wal.notify_readers();
    assert_eq!(c.wait(Duration::from_secs(10)), WaitOutcome::Woken);
    assert_eq!(
        c.wait(Duration::from_millis(20)),
        WaitOutcome::TimedOut,
        "woken once"
    );
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(30));
            put(&wal, Signal::Logs, b"x");
        });
        assert_eq!(c.wait(Duration::from_secs(10)), WaitOutcome::Ready);
    });
    c.next_record().unwrap().unwrap();
    run_async(Duration::from_secs(20), async {
        let appender = {
            let wal = wal.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(30)).await;
                wal.append(Signal::Logs, b"y").unwrap().await.unwrap()
            })
        };
        assert_eq!(c.readable().await, WaitOutcome::Ready);
        let lsn = appender.await.unwrap();
        assert_eq!(c.next_record().unwrap().unwrap().lsn(), lsn);
        let closer = {
            let wal = wal.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(30)).await;
                wal.close().unwrap();
            })
        };
        assert_eq!(c.readable().await, WaitOutcome::Closed);
        closer.await.unwrap();
    });
    // Reading and committing go on after close.
    c.commit(c.scanned(), b"done").unwrap();
}
