//! Appending: tickets, LSNs, bounds, group commit, closing.

use std::time::Duration;

use otlp_spool_core::Signal;
use otlp_spool_wal::{AppendError, Wal, WalOptions};

use crate::util::{open, put, read_all, run_async, small};

#[test]
fn a_ticket_completes_once_the_record_is_synced_and_the_record_reads_back() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = open(tmp.path());
    let t = wal.append(Signal::Metrics, b"one").unwrap();
    let lsn = t.lsn();
    assert_eq!(t.wait().unwrap(), lsn);
    let stats = wal.stats();
    assert_eq!(stats.durable_lsn, lsn);
    assert_eq!((stats.appended_records, stats.appended_bytes), (1, 3));
    assert!(stats.data_syncs >= 1);
    assert_eq!(
        read_all(&wal),
        vec![(lsn, Signal::Metrics, b"one".to_vec())]
    );
}

#[test]
fn tickets_are_futures_without_a_runtime_of_their_own() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = open(tmp.path());
    run_async(Duration::from_secs(20), async {
        let a = wal.append(Signal::Logs, b"a").unwrap();
        let b = wal.append(Signal::Logs, b"b").unwrap();
        let (la, lb) = (a.await.unwrap(), b.await.unwrap());
        assert!(la < lb);
    });
    let t = wal.append(Signal::Logs, b"c").unwrap();
    assert!(t.wait_timeout(Duration::from_secs(10)).unwrap().is_ok());
}

#[test]
fn lsns_increase_across_segments_and_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut last = 0;
    for round in 0..3u8 {
        let wal = open(tmp.path());
        for i in 0..50u32 {
            let lsn = put(&wal, Signal::Traces, &vec![round; 300 + i as usize]);
            assert!(lsn > last, "{lsn} after {last}");
            last = lsn;
        }
        assert!(
            wal.recovery_report().is_clean(),
            "{:?}",
            wal.recovery_report()
        );
        wal.close().unwrap();
    }
    let wal = open(tmp.path());
    let all = read_all(&wal);
    assert_eq!(all.len(), 150);
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(wal.stats().segments > 3, "small segments rotate");
}

#[test]
fn a_record_over_the_limit_is_refused_and_nothing_is_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = open(tmp.path());
    let err = wal
        .append(Signal::Traces, &vec![0; 64 * 1024 + 1])
        .unwrap_err();
    assert_eq!(
        err,
        AppendError::TooLarge {
            len: 64 * 1024 + 1,
            max: 64 * 1024
        }
    );
    assert_eq!(wal.stats().refused_too_large, 1);
    assert_eq!(wal.stats().next_lsn, 1, "no LSN taken");
    put(&wal, Signal::Traces, &vec![0; 64 * 1024]);
}

#[test]
fn a_full_log_refuses_at_once_and_takes_records_again_once_cursors_free_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = WalOptions::builder(tmp.path())
        .segment_bytes(8 * 1024)
        .max_bytes(32 * 1024)
        .max_record_bytes(1024)
        .build()
        .unwrap();
    let wal = Wal::open(opts).unwrap();
    let mut c = wal.cursor("files").unwrap();
    let mut acked = 0;
    let full = loop {
        match wal.append(Signal::Traces, &[7; 1000]) {
            Ok(t) => {
                t.wait().unwrap();
                acked += 1;
            }
            Err(e) => break e,
        }
        assert!(acked < 1000, "never full");
    };
    let AppendError::Full { used, max, needed } = full else {
        panic!("{full:?}")
    };
    assert_eq!(max, 32 * 1024);
    assert!(
        used + needed > max && used <= max,
        "{used} + {needed} vs {max}"
    );
    assert_eq!(wal.stats().refused_full, 1);
    // The consumer catches up: segments are deleted and the bound has room again.
    let mut n = 0;
    while let Some(r) = c.next_record().unwrap() {
        n += 1;
        c.commit(r.lsn(), b"").unwrap();
    }
    assert_eq!(n, acked);
    let stats = wal.stats();
    assert!(stats.deleted_segments >= 2, "{stats:?}");
    assert!(stats.used_bytes < 16 * 1024, "{stats:?}");
    put(&wal, Signal::Traces, &[8; 1000]);
}

#[test]
fn close_writes_what_is_pending_then_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = Wal::open(
        small(tmp.path())
            .group_commit_max_delay(Duration::from_millis(200))
            .build()
            .unwrap(),
    )
    .unwrap();
    let tickets: Vec<_> = (0..20u8)
        .map(|i| wal.append(Signal::Logs, &[i; 10]).unwrap())
        .collect();
    wal.close().unwrap();
    for t in tickets {
        t.wait().unwrap();
    }
    assert_eq!(
        wal.append(Signal::Logs, b"late").unwrap_err(),
        AppendError::Closed
    );
    assert!(wal.is_closed());
    wal.close().unwrap();
    drop(wal);
    let wal = open(tmp.path());
    assert_eq!(read_all(&wal).len(), 20);
}

#[test]
fn concurrent_appenders_share_syncs() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = Wal::open(
        small(tmp.path())
            .segment_bytes(1 << 20)
            .max_bytes(64 << 20)
            .group_commit_max_delay(Duration::from_millis(2))
            .build()
            .unwrap(),
    )
    .unwrap();
    std::thread::scope(|s| {
        for t in 0..8u8 {
            let wal = &wal;
            s.spawn(move || {
                for i in 0..100u8 {
                    wal.append(Signal::Traces, &[t, i]).unwrap().wait().unwrap();
                }
            });
        }
    });
    let stats = wal.stats();
    assert_eq!(stats.appended_records, 800);
    assert!(
        stats.data_syncs < stats.appended_records / 2,
        "group commit: {} syncs for {} appends",
        stats.data_syncs,
        stats.appended_records
    );
    let all = read_all(&wal);
    assert_eq!(all.len(), 800);
    for t in 0..8u8 {
        let mine: Vec<u8> = all.iter().filter(|r| r.2[0] == t).map(|r| r.2[1]).collect();
        assert_eq!(mine, (0..100).collect::<Vec<u8>>(), "per-thread order");
    }
}

#[test]
fn options_are_validated() {
    let check = |b: otlp_spool_wal::WalOptionsBuilder, option: &str| {
        let err = b.build().unwrap_err();
        assert_eq!(err.option, option, "{err}");
    };
    check(WalOptions::builder(""), "dir");
    check(WalOptions::builder("x").segment_bytes(100), "segment_bytes");
    check(
        WalOptions::builder("x")
            .segment_bytes(1 << 20)
            .max_bytes(1 << 20),
        "max_bytes",
    );
    check(
        WalOptions::builder("x").max_record_bytes(0),
        "max_record_bytes",
    );
    check(
        WalOptions::builder("x")
            .max_bytes(1 << 28)
            .segment_bytes(1 << 20)
            .max_record_bytes(1 << 27),
        "max_record_bytes",
    );
    check(
        WalOptions::builder("x").group_commit_max_delay(Duration::from_secs(2)),
        "group_commit_max_delay",
    );
    check(
        WalOptions::builder("x").group_commit_max_bytes(0),
        "group_commit_max_bytes",
    );
    let ok = WalOptions::builder("x").build().unwrap();
    assert_eq!(ok.max_bytes(), otlp_spool_wal::DEFAULT_MAX_BYTES);
}

#[test]
fn a_second_instance_on_the_same_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let _wal = open(tmp.path());
    let err = Wal::open(small(tmp.path()).build().unwrap()).unwrap_err();
    assert!(
        matches!(err, otlp_spool_wal::OpenError::Locked { .. }),
        "{err}"
    );
}
