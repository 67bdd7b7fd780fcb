//! Many tasks share one signal writer while another task rotates and ticks: at 10, 100 and
//! 1000 tasks, released together by a barrier, every row ends up in exactly one finalized file.

use std::sync::Arc;
use std::time::Duration;

use otlp_spool_storage::{FileStore, Signal};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::files_util::{batch, clock, ids, options};

async fn run(tasks: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let clock = clock();
    let opts = options(tmp.path(), &clock)
        .max_file_bytes(32 * 1024)
        .max_file_age(Some(Duration::from_secs(1)))
        .build()
        .unwrap();
    let store = FileStore::open(opts).unwrap();
    let barrier = Arc::new(Barrier::new(tasks as usize + 1));
    let mut set = JoinSet::new();
    for t in 0..tasks {
        let w = store.writer(Signal::Logs);
        let barrier = Arc::clone(&barrier);
        set.spawn(async move {
            barrier.wait().await;
            // File I/O blocks: keep it off the async workers, as the facade does.
            tokio::task::spawn_blocking(move || {
                for i in 0..3 {
                    w.write(batch(t * 30 + i * 10, 10)).unwrap();
                }
            })
            .await
            .unwrap();
        });
    }
    let housekeeper = {
        let (store, clock, barrier) = (store.clone(), clock.clone(), Arc::clone(&barrier));
        tokio::spawn(async move {
            barrier.wait().await;
            for _ in 0..20 {
                clock.advance(Duration::from_millis(500));
                let s = store.clone();
                tokio::task::spawn_blocking(move || s.tick().unwrap())
                    .await
                    .unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    housekeeper.await.unwrap();
    store.close().unwrap();
    let seen = ids(tmp.path(), Signal::Logs);
    assert_eq!(seen.len() as u64, tasks * 30);
    assert!(seen.values().all(|&n| n == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_writer_at_10_100_1000_tasks() {
    for tasks in [10, 100, 1000] {
        tokio::time::timeout(Duration::from_secs(60), run(tasks))
            .await
            .unwrap_or_else(|_| panic!("{tasks} tasks timed out"));
    }
}
