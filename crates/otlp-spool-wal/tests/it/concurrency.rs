//! Many tasks appending at once (JoinSet + Barrier at 10, 100 and 1000 tasks) while a reader
//! tails the log: every ticket completes, every record is read exactly once, in LSN order, and
//! the syncs are shared.

use std::sync::Arc;
use std::time::Duration;

use otlp_spool_core::Signal;
use otlp_spool_wal::{WaitOutcome, Wal};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::util::{run_async, small};

fn many_tasks(tasks: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let wal = Wal::open(
        small(tmp.path())
            .segment_bytes(256 * 1024)
            .max_bytes(64 << 20)
            .build()
            .unwrap(),
    )
    .unwrap();
    let per_task = (2000 / tasks).max(2);
    let total = tasks * per_task;
    let mut tail = wal.cursor("tail").unwrap();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::with_capacity(total);
        while seen.len() < total {
            match tail.next_record().unwrap() {
                Some(r) => seen.push((r.lsn(), r.bytes().to_vec())),
                None => assert_ne!(tail.wait(Duration::from_secs(20)), WaitOutcome::TimedOut),
            }
        }
        seen
    });
    run_async(Duration::from_secs(60), async {
        let barrier = Arc::new(Barrier::new(tasks));
        let mut set = JoinSet::new();
        for t in 0..tasks {
            let wal = wal.clone();
            let barrier = Arc::clone(&barrier);
            set.spawn(async move {
                barrier.wait().await;
                let mut lsns = Vec::new();
                for i in 0..per_task {
                    let body = format!("{t}:{i}");
                    lsns.push(
                        wal.append(Signal::Traces, body.as_bytes())
                            .unwrap()
                            .await
                            .unwrap(),
                    );
                }
                lsns
            });
        }
        let mut acked = 0;
        while let Some(lsns) = set.join_next().await {
            let lsns = lsns.unwrap();
            assert!(lsns.windows(2).all(|w| w[0] < w[1]), "per-task order");
            acked += lsns.len();
        }
        assert_eq!(acked, total);
    });
    let seen = reader.join().unwrap();
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "LSN order");
    let mut bodies: Vec<_> = seen.into_iter().map(|(_, b)| b).collect();
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), total, "each record exactly once");
    let stats = wal.stats();
    assert_eq!(stats.appended_records, total as u64);
    if tasks >= 100 {
        assert!(stats.data_syncs < total as u64 / 2, "{stats:?}");
    }
    eprintln!(
        "{tasks} tasks: {} appends, {} syncs",
        stats.appended_records, stats.data_syncs
    );
}

#[test]
fn ten_tasks() {
    many_tasks(10);
}

#[test]
fn a_hundred_tasks() {
    many_tasks(100);
}

#[test]
fn a_thousand_tasks() {
    many_tasks(1000);
}
