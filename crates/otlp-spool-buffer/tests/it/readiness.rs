//! Batch readiness (items, bytes, age), the notify hook, the `ready` future, order.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use otlp_spool_buffer::{BatchBuffer, ManualClock};

use crate::{Item, ids, item};

fn with_clock(clock: &Arc<ManualClock>) -> BatchBuffer<Item> {
    BatchBuffer::builder()
        .max_bytes(1000)
        .max_batch_items(3)
        .max_batch_bytes(100)
        .max_batch_age(Duration::from_secs(5))
        .clock(clock.clone())
        .build()
        .unwrap()
}

#[test]
fn ready_by_item_count() {
    let buf = with_clock(&Arc::new(ManualClock::new()));
    buf.push(item(1, 1)).unwrap();
    buf.push(item(2, 1)).unwrap();
    assert!(!buf.is_ready());
    assert!(buf.drain().is_none());
    buf.push(item(3, 1)).unwrap();
    assert!(buf.is_ready());
    assert_eq!(buf.drain().unwrap().len(), 3);
    assert!(!buf.is_ready());
}

#[test]
fn ready_by_bytes() {
    let buf = with_clock(&Arc::new(ManualClock::new()));
    buf.push(item(1, 99)).unwrap();
    assert!(!buf.is_ready());
    buf.push(item(2, 1)).unwrap();
    assert!(buf.is_ready());
    assert_eq!(buf.drain().unwrap().bytes(), 100);
}

#[test]
fn ready_by_age_of_the_oldest_item() {
    let clock = Arc::new(ManualClock::new());
    let buf = with_clock(&clock);
    assert_eq!(buf.time_until_ready(), None);
    assert_eq!(buf.next_age_deadline(), None);
    clock.advance(Duration::from_secs(10));
    buf.push(item(1, 1)).unwrap();
    assert_eq!(buf.next_age_deadline(), Some(Duration::from_secs(15)));
    assert_eq!(buf.time_until_ready(), Some(Duration::from_secs(5)));
    clock.advance(Duration::from_secs(3));
    buf.push(item(2, 1)).unwrap(); // not the oldest: the deadline stays
    assert_eq!(buf.time_until_ready(), Some(Duration::from_secs(2)));
    assert!(!buf.is_ready());
    clock.advance(Duration::from_secs(2));
    assert!(buf.is_ready());
    assert_eq!(buf.time_until_ready(), Some(Duration::ZERO));
    assert_eq!(ids(buf.drain().unwrap()), vec![1, 2]);
    assert_eq!(buf.next_age_deadline(), None);
}

#[test]
fn hook_fires_on_edges_only() {
    let buf = with_clock(&Arc::new(ManualClock::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    buf.set_ready_hook(move || {
        c.fetch_add(1, Ordering::SeqCst);
    });
    buf.push(item(1, 1)).unwrap(); // first item: a new age deadline
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    buf.push(item(2, 1)).unwrap(); // nothing new
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    buf.push(item(3, 1)).unwrap(); // max_batch_items crossed
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    buf.push(item(4, 1)).unwrap(); // still above: no edge
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    buf.close();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    buf.clear_ready_hook();
    buf.drain_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_future_wakes_on_a_push_from_another_task() {
    let buf = BatchBuffer::<Item>::builder()
        .max_bytes(1000)
        .max_batch_items(2)
        .build()
        .unwrap();
    let mut ready = std::pin::pin!(buf.ready());
    // Polled once first: nothing is queued, so the future registers and is pending; only the
    // other task's pushes can wake it.
    let first = std::future::poll_fn(|cx| {
        std::task::Poll::Ready(std::future::Future::poll(ready.as_mut(), cx))
    })
    .await;
    assert!(first.is_pending());
    let b = buf.clone();
    let producer = tokio::spawn(async move {
        b.push(item(1, 1)).unwrap();
        b.push(item(2, 1)).unwrap();
    });
    tokio::time::timeout(Duration::from_secs(5), ready)
        .await
        .expect("ready resolved");
    producer.await.unwrap();
    // The first wake may be the "first item" edge; the consumer loops until a batch.
    tokio::time::timeout(Duration::from_secs(5), buf.wait_ready(tokio::time::sleep))
        .await
        .unwrap();
    assert_eq!(ids(buf.drain().unwrap()), vec![1, 2]);
}

#[tokio::test]
async fn wait_ready_sleeps_until_the_age_deadline() {
    let clock = Arc::new(ManualClock::new());
    let buf = with_clock(&clock);
    buf.push(item(1, 1)).unwrap();
    let sleeps = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (s, c) = (sleeps.clone(), clock.clone());
    // A fake timer: "sleeping" advances the manual clock.
    let sleep = move |d: Duration| {
        s.lock().unwrap().push(d);
        c.advance(d);
        std::future::ready(())
    };
    tokio::time::timeout(Duration::from_secs(5), buf.wait_ready(sleep))
        .await
        .unwrap();
    assert_eq!(*sleeps.lock().unwrap(), vec![Duration::from_secs(5)]);
    assert!(buf.is_ready());
}

#[tokio::test]
async fn wait_ready_returns_when_closed() {
    let buf = with_clock(&Arc::new(ManualClock::new()));
    buf.close();
    tokio::time::timeout(Duration::from_secs(5), buf.wait_ready(tokio::time::sleep))
        .await
        .unwrap();
}

#[test]
fn order_is_kept_per_producer_across_batches() {
    let buf = BatchBuffer::<Item>::builder()
        .max_bytes(10_000)
        .max_batch_items(7)
        .shards(3)
        .build()
        .unwrap();
    let producers: Vec<_> = (0..5).map(|_| buf.producer()).collect();
    let mut out = Vec::new();
    for round in 0..100u64 {
        for (p, producer) in producers.iter().enumerate() {
            producer.push(item(p as u64 * 1000 + round, 1)).unwrap();
        }
        if let Some(batch) = buf.drain() {
            out.extend(ids(batch));
        }
    }
    out.extend(ids(buf.drain_all()));
    assert_eq!(out.len(), 500);
    for p in 0..5u64 {
        let mine: Vec<u64> = out.iter().copied().filter(|id| id / 1000 == p).collect();
        assert!(
            mine.windows(2).all(|w| w[0] < w[1]),
            "producer {p} reordered"
        );
        assert_eq!(mine.len(), 100);
    }
}

#[test]
fn plain_push_keeps_order_within_a_thread() {
    let buf = BatchBuffer::<Item>::builder()
        .max_bytes(10_000)
        .shards(4)
        .build()
        .unwrap();
    let mut out = Vec::new();
    for id in 0..1000 {
        buf.push(item(id, 1)).unwrap();
        if id % 97 == 0 {
            out.extend(ids(buf.drain_all()));
        }
    }
    out.extend(ids(buf.drain_all()));
    assert_eq!(out, (0..1000).collect::<Vec<_>>());
}
