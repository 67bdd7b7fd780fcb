//! Many producer tasks (10, 100, 1000) pushing unique ids while a consumer drains.
//!
//! Checked every run: the drained multiset equals the accepted multiset exactly (no
//! loss, no duplicate), the rejected ids are exactly those handed back in errors, the
//! byte bound holds at every observation, and each producer's items come out in order.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use otlp_spool_buffer::{BatchBuffer, Policy};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::item;

const MAX_BYTES: u64 = 512;

struct Outcome {
    accepted: Vec<u64>,
    rejected: Vec<u64>,
    drained: Vec<u64>,
    stats: otlp_spool_buffer::Stats,
}

async fn run(tasks: u64, per_task: u64, policy: Policy) -> Outcome {
    let buf = BatchBuffer::builder()
        .max_bytes(MAX_BYTES)
        .max_batch_items(32)
        .policy(policy)
        .build()
        .unwrap();
    // Producers, the consumer and the monitor start together.
    let barrier = Arc::new(Barrier::new(tasks as usize + 2));
    let mut producers = JoinSet::new();
    for t in 0..tasks {
        let producer = buf.producer();
        let barrier = barrier.clone();
        producers.spawn(async move {
            barrier.wait().await;
            let (mut accepted, mut rejected) = (Vec::new(), Vec::new());
            for j in 0..per_task {
                let id = t * per_task + j;
                let it = item(id, 1 + (id % 7) as usize);
                let result = match policy {
                    Policy::Block => producer
                        .push_wait(it, tokio::time::sleep(Duration::from_secs(20)))
                        .await
                        .map_err(|e| e.into_inner()),
                    _ => producer.push(it).map_err(|e| e.into_inner()),
                };
                match result {
                    Ok(()) => accepted.push(id),
                    Err(back) => rejected.push(back.id),
                }
                if j % 4 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            (accepted, rejected)
        });
    }

    let stop = Arc::new(AtomicBool::new(false));
    let monitor = {
        let (buf, barrier, stop) = (buf.clone(), barrier.clone(), stop.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            let mut observations = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let stats = buf.stats();
                assert!(stats.bytes <= MAX_BYTES, "bound exceeded: {stats:?}");
                observations += 1;
                tokio::task::yield_now().await;
            }
            observations
        })
    };

    let consumer = {
        let (buf, barrier) = (buf.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            let mut drained = Vec::new();
            loop {
                buf.wait_ready(tokio::time::sleep).await;
                assert!(buf.bytes() <= MAX_BYTES);
                if let Some(batch) = buf.drain() {
                    assert!(batch.bytes() <= MAX_BYTES);
                    drained.extend(batch.into_iter().map(|it| it.id));
                    // A slow consumer, so that producers do meet a full buffer.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                } else if buf.is_closed() {
                    drained.extend(buf.drain_all().into_iter().map(|it| it.id));
                    return drained;
                }
            }
        })
    };

    let (mut accepted, mut rejected) = (Vec::new(), Vec::new());
    while let Some(result) = producers.join_next().await {
        let (a, r) = result.unwrap();
        accepted.extend(a);
        rejected.extend(r);
    }
    buf.close();
    let drained = consumer.await.unwrap();
    stop.store(true, Ordering::SeqCst);
    assert!(monitor.await.unwrap() > 0);
    Outcome {
        accepted,
        rejected,
        drained,
        stats: buf.stats(),
    }
}

fn check_order(drained: &[u64], per_task: u64) {
    let mut last: HashMap<u64, u64> = HashMap::new();
    for &id in drained {
        if let Some(prev) = last.insert(id / per_task, id) {
            assert!(
                prev < id,
                "producer {} reordered: {prev} then {id}",
                id / per_task
            );
        }
    }
}

fn check_lossless(outcome: &Outcome, tasks: u64, per_task: u64) {
    let mut accepted = outcome.accepted.clone();
    accepted.sort_unstable();
    let mut drained = outcome.drained.clone();
    drained.sort_unstable();
    assert_eq!(drained, accepted, "drained multiset != accepted multiset");
    let mut all: Vec<u64> = accepted.iter().chain(&outcome.rejected).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..tasks * per_task).collect::<Vec<_>>());
    let stats = outcome.stats;
    assert_eq!(stats.pushed, accepted.len() as u64);
    assert_eq!(stats.drained, accepted.len() as u64);
    assert_eq!(stats.rejected, outcome.rejected.len() as u64);
    assert_eq!((stats.items, stats.bytes, stats.dropped), (0, 0, 0));
    check_order(&outcome.drained, per_task);
}

async fn reject(tasks: u64, per_task: u64) {
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        run(tasks, per_task, Policy::Reject),
    )
    .await
    .expect("no hang");
    assert!(
        !outcome.rejected.is_empty(),
        "the run never met a full buffer"
    );
    check_lossless(&outcome, tasks, per_task);
}

async fn block(tasks: u64, per_task: u64) {
    let outcome =
        tokio::time::timeout(Duration::from_secs(60), run(tasks, per_task, Policy::Block))
            .await
            .expect("no hang");
    check_lossless(&outcome, tasks, per_task);
    assert!(
        outcome.rejected.is_empty(),
        "Block with a live consumer never times out"
    );
}

async fn drop_oldest(tasks: u64, per_task: u64) {
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        run(tasks, per_task, Policy::DropOldest),
    )
    .await
    .expect("no hang");
    assert!(outcome.rejected.is_empty());
    assert_eq!(outcome.accepted.len() as u64, tasks * per_task);
    assert!(outcome.stats.dropped > 0, "the run never met a full buffer");
    let mut drained = outcome.drained.clone();
    drained.sort_unstable();
    drained.dedup();
    assert_eq!(drained.len(), outcome.drained.len(), "duplicate drained");
    let stats = outcome.stats;
    assert_eq!(stats.pushed, tasks * per_task);
    assert_eq!(stats.drained + stats.dropped, stats.pushed);
    assert_eq!(stats.drained, outcome.drained.len() as u64);
    check_order(&outcome.drained, per_task);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_10_tasks() {
    reject(10, 2000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_100_tasks() {
    reject(100, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_1000_tasks() {
    reject(1000, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_10_tasks() {
    block(10, 2000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_100_tasks() {
    block(100, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_1000_tasks() {
    block(1000, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_oldest_10_tasks() {
    drop_oldest(10, 2000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_oldest_100_tasks() {
    drop_oldest(100, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_oldest_1000_tasks() {
    drop_oldest(1000, 20).await;
}

/// Plain `push` (thread-chosen shards) from many tasks: lossless, though not ordered
/// per task (tasks migrate between threads).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_push_from_100_tasks_is_lossless() {
    let buf = BatchBuffer::builder().max_bytes(1 << 20).build().unwrap();
    let barrier = Arc::new(Barrier::new(100));
    let mut set = JoinSet::new();
    for t in 0..100u64 {
        let (buf, barrier) = (buf.clone(), barrier.clone());
        set.spawn(async move {
            barrier.wait().await;
            for j in 0..100 {
                buf.push(item(t * 100 + j, 3)).unwrap();
                tokio::task::yield_now().await;
            }
        });
    }
    let mut drained = Vec::new();
    let all = tokio::time::timeout(Duration::from_secs(60), async {
        while !set.is_empty() {
            drained.extend(buf.drain_all().into_iter().map(|it| it.id));
            if let Some(r) = set.try_join_next() {
                r.unwrap();
            }
            tokio::task::yield_now().await;
        }
        buf.close();
        drained.extend(buf.drain_all().into_iter().map(|it| it.id));
        drained
    })
    .await
    .unwrap();
    let mut sorted = all;
    sorted.sort_unstable();
    assert_eq!(sorted, (0..10_000).collect::<Vec<_>>());
}
