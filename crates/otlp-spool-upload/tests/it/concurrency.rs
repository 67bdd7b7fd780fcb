//! Many tasks finalizing files at once (JoinSet + Barrier at 10, 100 and 1000 tasks) while
//! others ask `is_uploaded`: every file is uploaded exactly once, under its own key.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::support::{Lake, bounded, key_of, spool_file};

async fn check(tasks: usize) {
    let lake = Lake::new();
    let dir = tempfile::tempdir().unwrap();
    let uploader = lake.start(dir.path(), lake.options().concurrency(4));
    let barrier = Arc::new(Barrier::new(tasks));
    let mut set = JoinSet::new();
    for i in 0..tasks {
        let barrier = Arc::clone(&barrier);
        let root = dir.path().to_path_buf();
        let uploader = uploader.clone();
        set.spawn(async move {
            barrier.wait().await;
            let signal = ["traces", "metrics", "logs"][i % 3];
            let path = tokio::task::spawn_blocking(move || {
                spool_file(&root, signal, "20261227T220000Z", i as u64, 200 + i % 50)
            })
            .await
            .unwrap();
            uploader.scan_now();
            // Asked while the file may be anywhere between pending and uploaded.
            let _ = uploader.state().is_uploaded(&path);
            path
        });
    }
    let mut files = Vec::new();
    while let Some(path) = set.join_next().await {
        files.push(path.unwrap());
    }
    uploader.sync(Duration::from_secs(120)).await.unwrap();
    let s = uploader.stats();
    assert_eq!(
        (s.uploaded_files, s.pending_files, s.conflicts),
        (tasks as u64, 0, 0)
    );
    let expected: BTreeSet<String> = files
        .iter()
        .map(|f| key_of(uploader.instance_id(), f))
        .collect();
    let found: BTreeSet<String> = lake.keys().into_iter().collect();
    assert_eq!(found, expected);
    assert!(files.iter().all(|f| uploader.state().is_uploaded(f)));
    uploader.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_tasks() {
    bounded(check(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_tasks() {
    bounded(check(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_tasks() {
    bounded(check(1000)).await;
}
