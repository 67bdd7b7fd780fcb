//! One test (or a few) per full-buffer policy.

use std::future::{Future, pending, poll_fn, ready};
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::Duration;

use std::sync::Arc;

use otlp_spool_buffer::{BatchBuffer, ManualClock, Policy, PushError, PushWaitError};

use crate::{Item, ids, item};

/// Polls `f` exactly once (registering its waker), returning what that poll said.
async fn poll_once<F: Future>(mut f: Pin<&mut F>) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(f.as_mut().poll(cx))).await
}

fn buffer(policy: Policy, max_bytes: u64) -> BatchBuffer<Item> {
    BatchBuffer::builder()
        .max_bytes(max_bytes)
        .policy(policy)
        .shards(1)
        .build()
        .unwrap()
}

#[test]
fn reject_is_the_default_and_hands_the_item_back() {
    let buf = BatchBuffer::<Item>::builder()
        .max_bytes(10)
        .build()
        .unwrap();
    buf.push(item(1, 6)).unwrap();
    match buf.push(item(2, 5)) {
        Err(PushError::Full(back)) => assert_eq!(back, item(2, 5)),
        other => panic!("expected Full, got {other:?}"),
    }
    buf.push(item(3, 4)).unwrap();
    let stats = buf.stats();
    assert_eq!(
        (stats.pushed, stats.rejected, stats.items, stats.bytes),
        (2, 1, 2, 10)
    );
    assert_eq!(ids(buf.drain_all()), vec![1, 3]);
}

#[test]
fn reject_by_item_count() {
    let buf = BatchBuffer::<Item>::builder()
        .max_bytes(1000)
        .max_items(2)
        .build()
        .unwrap();
    buf.push(item(1, 1)).unwrap();
    buf.push(item(2, 1)).unwrap();
    assert!(matches!(buf.push(item(3, 1)), Err(PushError::Full(it)) if it.id == 3));
    buf.drain_all();
    buf.push(item(4, 1)).unwrap();
}

#[test]
fn block_push_does_not_wait() {
    let buf = buffer(Policy::Block, 4);
    buf.push(item(1, 4)).unwrap();
    assert!(matches!(buf.push(item(2, 1)), Err(PushError::Full(_))));
}

#[tokio::test]
async fn block_push_wait_times_out_and_hands_back() {
    let buf = buffer(Policy::Block, 4);
    buf.push(item(1, 4)).unwrap();
    match buf.push_wait(item(2, 1), ready(())).await {
        Err(PushWaitError::TimedOut(back)) => assert_eq!(back.id, 2),
        other => panic!("expected TimedOut, got {other:?}"),
    }
    assert_eq!(buf.stats().rejected, 1);
}

#[tokio::test]
async fn block_push_wait_succeeds_at_once_when_there_is_room() {
    let buf = buffer(Policy::Block, 4);
    buf.push_wait(item(1, 4), pending()).await.unwrap();
    assert_eq!(buf.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_push_wait_resolves_when_a_drain_frees_room() {
    let buf = buffer(Policy::Block, 4);
    let producer = buf.producer();
    producer.push(item(1, 3)).unwrap();
    let mut waiter =
        pin!(producer.push_wait(item(2, 3), tokio::time::sleep(Duration::from_secs(30))));
    // Polled once: the buffer is full, so the waiter registers and stays pending.
    assert!(poll_once(waiter.as_mut()).await.is_pending());
    assert_eq!(ids(buf.drain_all()), vec![1]);
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("push_wait woke up")
        .unwrap();
    assert_eq!(ids(buf.drain_all()), vec![2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_push_wait_is_released_by_close() {
    let buf = buffer(Policy::Block, 4);
    buf.push(item(1, 4)).unwrap();
    let mut waiter = pin!(buf.push_wait(item(2, 1), pending()));
    assert!(poll_once(waiter.as_mut()).await.is_pending());
    buf.close();
    let result = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("close woke the waiter");
    assert!(matches!(result, Err(PushWaitError::Closed(it)) if it.id == 2));
    assert_eq!(ids(buf.drain_all()), vec![1]);
}

#[tokio::test]
async fn push_wait_under_reject_does_not_wait() {
    let buf = buffer(Policy::Reject, 4);
    buf.push(item(1, 4)).unwrap();
    let result = buf.push_wait(item(2, 1), pending()).await;
    assert!(matches!(result, Err(PushWaitError::Full(it)) if it.id == 2));
}

#[test]
fn drop_oldest_evicts_the_oldest_and_counts_them() {
    let buf = BatchBuffer::<Item>::builder()
        .max_bytes(1000)
        .max_items(3)
        .policy(Policy::DropOldest)
        .shards(1)
        .build()
        .unwrap();
    for id in 0..5 {
        buf.push(item(id, 1)).unwrap();
    }
    let stats = buf.stats();
    assert_eq!(
        (stats.pushed, stats.dropped, stats.rejected, stats.items),
        (5, 2, 0, 3)
    );
    assert_eq!(ids(buf.drain_all()), vec![2, 3, 4]);
}

#[test]
fn drop_oldest_evicts_as_many_as_the_bytes_need() {
    let buf = buffer(Policy::DropOldest, 100);
    buf.push(item(1, 40)).unwrap();
    buf.push(item(2, 40)).unwrap();
    buf.push(item(3, 10)).unwrap();
    buf.push(item(4, 70)).unwrap(); // 90 + 70 > 100: evict 1 (50+70 > 100), then 2 (10+70)
    assert_eq!(buf.stats().dropped, 2);
    assert_eq!(buf.bytes(), 80);
    assert_eq!(ids(buf.drain_all()), vec![3, 4]);
}

#[test]
fn drop_oldest_across_shards_keeps_the_bound() {
    let buf = BatchBuffer::<Item>::builder()
        .max_bytes(10)
        .policy(Policy::DropOldest)
        .shards(2)
        .build()
        .unwrap();
    let (a, b) = (buf.producer(), buf.producer());
    assert_ne!(a.shard(), b.shard());
    for id in 0..10 {
        a.push(item(id, 1)).unwrap();
    }
    // b's shard is empty: b must evict from a's shard.
    b.push(item(100, 5)).unwrap();
    assert_eq!(buf.bytes(), 10);
    assert_eq!(buf.stats().dropped, 5);
    let mut got = ids(buf.drain_all());
    got.sort_unstable();
    assert_eq!(got, vec![5, 6, 7, 8, 9, 100]);
}

/// The victim is the globally oldest item even after evictions changed a shard's front: a
/// shard whose first item was evicted is judged by its next item, not by the evicted one's
/// age (the facade's `drop_oldest` test saw request 4 of 10 survive while 7 was evicted).
#[test]
fn drop_oldest_follows_each_shards_current_front_across_evictions() {
    let clock = Arc::new(ManualClock::new());
    let buf = BatchBuffer::<Item>::builder()
        .max_bytes(3)
        .policy(Policy::DropOldest)
        .shards(2)
        .clock(clock.clone())
        .build()
        .unwrap();
    let (a, b) = (buf.producer(), buf.producer());
    assert_ne!(a.shard(), b.shard());
    let push = |p: &otlp_spool_buffer::Producer<Item>, id| {
        clock.advance(Duration::from_millis(1));
        p.push(item(id, 1)).unwrap();
    };
    push(&a, 1); // a: [1]
    push(&b, 2); // b: [2]
    push(&a, 3); // a: [1, 3]
    push(&a, 4); // full: evicts 1 (oldest); a: [3, 4], b: [2]
    push(&a, 5); // full: the oldest left is 2 (in b), not 3 (a's front is younger now)
    assert_eq!(buf.stats().dropped, 2);
    let mut got = ids(buf.drain_all());
    got.sort_unstable();
    assert_eq!(got, vec![3, 4, 5]);
}

#[test]
fn drop_oldest_still_refuses_oversize_and_closed() {
    let buf = buffer(Policy::DropOldest, 10);
    buf.push(item(1, 5)).unwrap();
    assert!(matches!(
        buf.push(item(2, 11)),
        Err(PushError::TooLarge { .. })
    ));
    buf.close();
    assert!(matches!(buf.push(item(3, 1)), Err(PushError::Closed(_))));
    assert_eq!(buf.stats().dropped, 0);
    assert_eq!(ids(buf.drain_all()), vec![1]);
}
