//! loom models of the group-commit core (run by `cargo xtask loom`): appenders, the committer
//! and waiters (threads and futures) on the same `Core` the log uses, with an in-memory sink.
//!
//! Small on purpose: at most three threads, one or two records each.
#![cfg(otlp_spool_loom)]

use loom::thread;
use otlp_spool_core::Signal;
use otlp_spool_wal::model::{MemorySink, Model};
use otlp_spool_wal::{AppendError, RECORD_HEADER_LEN, TicketError, WaitOutcome};

const FRAME: u64 = RECORD_HEADER_LEN as u64 + 1;

fn committer(model: &Model, fail_next: usize) -> thread::JoinHandle<MemorySink> {
    let model = model.clone();
    thread::spawn(move || {
        let mut sink = MemorySink {
            fail_next,
            ..MemorySink::default()
        };
        model.run_committer(&mut sink);
        sink
    })
}

/// A thread appending one record and waiting for its ticket: `(lsn, outcome)`.
fn appender(model: &Model) -> thread::JoinHandle<(u64, Result<u64, TicketError>)> {
    let model = model.clone();
    thread::spawn(move || {
        let t = model.append(Signal::Logs, b"b").unwrap();
        (t.lsn(), t.wait())
    })
}

/// The LSNs the sink wrote, in order (batches are contiguous LSN ranges).
fn written(sink: &MemorySink) -> Vec<u64> {
    sink.batches.iter().flat_map(|&(a, b, _)| a..=b).collect()
}

/// An appender racing the committer and a second appender: every ticket completes `Ok` with
/// its LSN, the sink got every record exactly once in LSN order, and nothing else.
#[test]
fn every_ticket_completes_and_the_log_is_in_lsn_order() {
    loom::model(|| {
        let model = Model::new(1024);
        let commit = committer(&model, 0);
        let other = appender(&model);
        let mine = model.append(Signal::Traces, b"a").unwrap();
        let mine_lsn = mine.lsn();
        assert_eq!(mine.wait().unwrap(), mine_lsn);
        let (other_lsn, outcome) = other.join().unwrap();
        assert_eq!(outcome.unwrap(), other_lsn);
        model.close();
        let sink = commit.join().unwrap();
        let mut acked = vec![mine_lsn, other_lsn];
        acked.sort_unstable();
        assert_eq!(written(&sink), acked);
        assert_eq!(acked, vec![1, 2]);
        assert!(sink.batches.len() <= 2);
        assert_eq!(model.durable(), 2);
        assert_eq!(model.used(), 2 * FRAME);
    });
}

/// A failed batch fails exactly its own tickets and gives its bytes back; records in later
/// batches succeed.
#[test]
fn a_failed_batch_fails_its_tickets_and_frees_its_bytes() {
    loom::model(|| {
        let model = Model::new(1024);
        let commit = committer(&model, 1);
        let other = appender(&model);
        let t = model.append(Signal::Logs, b"a").unwrap();
        let mine = (t.lsn(), t.wait());
        let theirs = other.join().unwrap();
        model.close();
        let sink = commit.join().unwrap();
        let mut ok = Vec::new();
        let mut failed = 0;
        for (lsn, outcome) in [mine, theirs] {
            match outcome {
                Ok(l) => {
                    assert_eq!(l, lsn);
                    ok.push(lsn);
                }
                Err(e) => {
                    assert!(matches!(e, TicketError::Io(_)) && e.is_disk_full(), "{e}");
                    failed += 1;
                }
            }
        }
        assert!(failed >= 1, "the first batch failed");
        ok.sort_unstable();
        assert_eq!(
            written(&sink),
            ok,
            "only the successful records are in the log"
        );
        assert_eq!(model.used(), ok.len() as u64 * FRAME);
    });
}

/// `close` racing an append: the append is either refused (`Closed`) or its ticket completes
/// `Ok`; the committer exits only after writing it.
#[test]
fn close_racing_an_append_loses_no_ticket() {
    loom::model(|| {
        let model = Model::new(1024);
        let commit = committer(&model, 0);
        let appender = {
            let model = model.clone();
            thread::spawn(move || match model.append(Signal::Metrics, b"m") {
                Ok(t) => Some(t.wait().unwrap()),
                Err(AppendError::Closed) => None,
                Err(e) => panic!("{e}"),
            })
        };
        model.close();
        let acked = appender.join().unwrap();
        let sink = commit.join().unwrap();
        assert_eq!(written(&sink), acked.into_iter().collect::<Vec<_>>());
        assert!(matches!(
            model.append(Signal::Metrics, b"late"),
            Err(AppendError::Closed)
        ));
    });
}

/// Racing appends never pass the byte bound, not even transiently: with room for one record,
/// exactly one of two is taken.
#[test]
fn racing_appends_never_pass_the_bound() {
    loom::model(|| {
        let model = Model::new(FRAME + FRAME / 2);
        let other = {
            let model = model.clone();
            thread::spawn(move || model.append(Signal::Logs, b"b").map(|t| t.lsn()))
        };
        let mine = model.append(Signal::Logs, b"a").map(|t| t.lsn());
        let theirs = other.join().unwrap();
        let taken = [&mine, &theirs].iter().filter(|r| r.is_ok()).count();
        assert_eq!(taken, 1, "{mine:?} {theirs:?}");
        let refused = if mine.is_err() { mine } else { theirs };
        assert!(matches!(refused, Err(AppendError::Full { .. })));
        assert_eq!(model.used(), FRAME);
        // Drain: close and let a committer write the one record.
        model.close();
        let mut sink = MemorySink::default();
        model.run_committer(&mut sink);
        assert_eq!(written(&sink), vec![1]);
    });
}

/// A ticket awaited as a future (hand-made waker, no runtime) and a reader waiting on the tail
/// are both woken by the committer: no lost wake-up.
#[test]
fn a_future_and_a_tail_reader_are_woken() {
    loom::model(|| {
        let model = Model::new(1024);
        let commit = committer(&model, 0);
        let reader = {
            let model = model.clone();
            thread::spawn(move || model.wait_tail(0))
        };
        let t = model.append(Signal::Traces, b"t").unwrap();
        assert_eq!(loom::future::block_on(t).unwrap(), 1);
        assert_eq!(reader.join().unwrap(), WaitOutcome::Ready);
        model.close();
        commit.join().unwrap();
    });
}
