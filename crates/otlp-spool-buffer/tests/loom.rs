//! loom models of the concurrent core (run by `cargo xtask loom`).
//!
//! Small on purpose: at most three threads, bounds of 2 to 4 items.
#![cfg(otlp_spool_loom)]

use loom::thread;
use otlp_spool_buffer::{BatchBuffer, Policy, PushError, Weighted};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Item {
    id: u64,
    weight: usize,
}

impl Weighted for Item {
    fn weight(&self) -> usize {
        self.weight
    }
}

fn buffer(max_bytes: u64, shards: usize) -> BatchBuffer<Item> {
    BatchBuffer::builder()
        .max_bytes(max_bytes)
        .shards(shards)
        .policy(Policy::Reject)
        .build()
        .unwrap()
}

/// Two producers push while a drainer drains: every accepted item is drained exactly
/// once, every refused item came back, and order per producer holds.
#[test]
fn two_producers_and_a_drainer_lose_and_duplicate_nothing() {
    loom::model(|| {
        let buf = buffer(3, 2);
        let handles: Vec<_> = (0..2u64)
            .map(|p| {
                let producer = buf.producer();
                thread::spawn(move || {
                    let mut accepted = Vec::new();
                    for j in 0..2 {
                        let id = p * 10 + j;
                        match producer.push(Item { id, weight: 1 }) {
                            Ok(()) => accepted.push(id),
                            Err(err) => assert_eq!(err.into_inner().id, id),
                        }
                    }
                    accepted
                })
            })
            .collect();
        let drainer = {
            let buf = buf.clone();
            thread::spawn(move || {
                let batch = buf.drain_all();
                assert!(batch.bytes() <= 3);
                batch.into_iter().map(|it| it.id).collect::<Vec<_>>()
            })
        };
        let mut accepted: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        let mut drained = drainer.join().unwrap();
        drained.extend(buf.drain_all().into_iter().map(|it| it.id));
        for p in 0..2 {
            let mine: Vec<_> = drained.iter().filter(|id| *id / 10 == p).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]));
        }
        accepted.sort_unstable();
        drained.sort_unstable();
        assert_eq!(drained, accepted);
        let stats = buf.stats();
        assert_eq!((stats.items, stats.bytes), (0, 0));
        assert_eq!(stats.pushed, accepted.len() as u64);
        assert_eq!(stats.pushed + stats.rejected, 4);
    });
}

/// Concurrent reservations never pass the bound: two pushes of 2 bytes into a 3-byte
/// buffer, watched by a third thread; exactly one wins.
#[test]
fn concurrent_reservations_never_exceed_the_bound() {
    loom::model(|| {
        let buf = buffer(3, 2);
        let pushers: Vec<_> = (0..2u64)
            .map(|id| {
                let producer = buf.producer();
                thread::spawn(move || producer.push(Item { id, weight: 2 }).is_ok())
            })
            .collect();
        let watcher = {
            let buf = buf.clone();
            thread::spawn(move || {
                for _ in 0..2 {
                    assert!(buf.bytes() <= 3);
                    assert!(buf.len() <= 1);
                }
            })
        };
        let wins = pushers
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|&ok| ok)
            .count();
        watcher.join().unwrap();
        assert_eq!(wins, 1);
        assert_eq!(buf.bytes(), 2);
        assert_eq!(buf.drain_all().len(), 1);
    });
}

/// Close racing a push: the item is either accepted (and a later drain returns it) or
/// handed back as `Closed`; it is never lost.
#[test]
fn close_racing_a_push_accepts_or_hands_back() {
    loom::model(|| {
        let buf = buffer(4, 2);
        let pusher = {
            let producer = buf.producer();
            thread::spawn(move || producer.push(Item { id: 7, weight: 1 }))
        };
        let closer = {
            let buf = buf.clone();
            thread::spawn(move || {
                buf.close();
                // A drain that starts after close returned sees every accepted item.
                buf.drain_all()
                    .into_iter()
                    .map(|it| it.id)
                    .collect::<Vec<_>>()
            })
        };
        let pushed = pusher.join().unwrap();
        let drained_after_close = closer.join().unwrap();
        assert!(buf.drain_all().is_empty(), "nothing enters after close");
        match pushed {
            Ok(()) => assert_eq!(drained_after_close, vec![7]),
            Err(PushError::Closed(it)) => {
                assert_eq!(it.id, 7);
                assert!(drained_after_close.is_empty());
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
        assert!(buf.is_closed());
    });
}

/// `DropOldest` eviction racing a producer on another shard and a drain: nothing is
/// duplicated, and every pushed item is either drained or counted as dropped.
#[test]
fn drop_oldest_eviction_races_a_drain() {
    loom::model(|| {
        let buf = BatchBuffer::builder()
            .max_bytes(2)
            .shards(2)
            .policy(Policy::DropOldest)
            .build()
            .unwrap();
        let seed = buf.producer();
        seed.push(Item { id: 1, weight: 1 }).unwrap();
        seed.push(Item { id: 2, weight: 1 }).unwrap();
        let evictor = {
            let producer = buf.producer();
            thread::spawn(move || producer.push(Item { id: 3, weight: 1 }).is_ok())
        };
        let drainer = {
            let buf = buf.clone();
            thread::spawn(move || {
                buf.drain_all()
                    .into_iter()
                    .map(|it| it.id)
                    .collect::<Vec<_>>()
            })
        };
        assert!(evictor.join().unwrap());
        let mut drained = drainer.join().unwrap();
        drained.extend(buf.drain_all().into_iter().map(|it| it.id));
        drained.sort_unstable();
        let len = drained.len();
        drained.dedup();
        assert_eq!(drained.len(), len, "duplicate");
        assert!(drained.contains(&3));
        let stats = buf.stats();
        assert_eq!(stats.pushed, 3);
        assert_eq!(stats.drained + stats.dropped, 3);
        assert_eq!((stats.items, stats.bytes), (0, 0));
    });
}

/// A `Block` producer waiting in `push_wait` is woken by a racing drain: no lost wakeup
/// (loom reports a deadlock if the waker registration and the drain's notify miss each
/// other).
#[test]
fn blocked_push_wait_is_woken_by_a_racing_drain() {
    loom::model(|| {
        let buf = BatchBuffer::builder()
            .max_bytes(1)
            .shards(1)
            .policy(Policy::Block)
            .build()
            .unwrap();
        buf.push(Item { id: 1, weight: 1 }).unwrap();
        let waiter = {
            let producer = buf.producer();
            thread::spawn(move || {
                loom::future::block_on(
                    producer.push_wait(Item { id: 2, weight: 1 }, std::future::pending()),
                )
                .is_ok()
            })
        };
        let drained: Vec<u64> = buf.drain_all().into_iter().map(|it| it.id).collect();
        assert!(waiter.join().unwrap());
        let mut all = drained;
        all.extend(buf.drain_all().into_iter().map(|it| it.id));
        all.sort_unstable();
        assert_eq!(all, vec![1, 2]);
    });
}

/// A consumer waiting on `ready()` is woken by a racing first push (no lost wakeup).
#[test]
fn ready_future_is_woken_by_a_racing_push() {
    loom::model(|| {
        let buf = buffer(4, 1);
        let consumer = {
            let buf = buf.clone();
            thread::spawn(move || {
                // The documented pattern: create the future, check, then wait.
                let ready = buf.ready();
                if buf.is_empty() {
                    loom::future::block_on(ready);
                }
                buf.len()
            })
        };
        buf.push(Item { id: 1, weight: 1 }).unwrap();
        // Woken by the first-item signal, or saw the item before waiting.
        assert_eq!(consumer.join().unwrap(), 1);
        assert_eq!(buf.drain_all().len(), 1);
    });
}

/// A buffer whose drained batches keep their bytes until their lease gives them back.
fn leasing(max_bytes: u64, shards: usize, policy: Policy) -> BatchBuffer<Item> {
    BatchBuffer::builder()
        .max_bytes(max_bytes)
        .shards(shards)
        .policy(policy)
        .lease_drained(true)
        .build()
        .unwrap()
}

/// With leases (`lease_drained`), what the buffer holds plus what a consumer has drained
/// and not released never passes the bound, whatever the interleaving of two producers and
/// a consumer: a ghost counter goes up after each accepted push and down before each
/// release, so it never reads more than the reservation word, and the word never passes 3.
/// Without the lease (a drain freeing its bytes at once) the second producer's push fits
/// while the consumer still holds the first item, and the ghost reads 4.
#[test]
fn leased_bytes_count_against_the_bound_until_released() {
    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicI64, Ordering};
    loom::model(|| {
        let buf = leasing(3, 2, Policy::Reject);
        let held = Arc::new(AtomicI64::new(0));
        let producers: Vec<_> = (0..2u64)
            .map(|id| {
                let producer = buf.producer();
                let held = Arc::clone(&held);
                thread::spawn(move || match producer.push(Item { id, weight: 2 }) {
                    Ok(()) => {
                        let now = held.fetch_add(2, Ordering::SeqCst) + 2;
                        assert!(now <= 3, "held {now} bytes against a bound of 3");
                        true
                    }
                    Err(err) => {
                        assert!(matches!(err, PushError::Full(_)));
                        false
                    }
                })
            })
            .collect();
        let mut batch = buf.drain_all();
        let mut lease = batch.take_lease();
        assert_eq!(lease.bytes(), batch.bytes());
        let mut drained = batch.len();
        for item in batch {
            held.fetch_sub(item.weight as i64, Ordering::SeqCst);
            lease.release(item.weight as u64);
        }
        assert_eq!(lease.bytes(), 0);
        let accepted = producers
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|&ok| ok)
            .count();
        drained += buf.drain_all().len();
        assert_eq!(drained, accepted, "every accepted item drained once");
        assert!(accepted >= 1);
        assert_eq!((buf.bytes(), buf.leased_bytes()), (0, 0));
    });
}

/// A `Block` producer waiting for room that only a lease holds is woken when the lease
/// gives it back (no lost wakeup: loom reports a deadlock otherwise).
#[test]
fn blocked_push_wait_is_woken_by_a_lease_release() {
    loom::model(|| {
        let buf = leasing(1, 1, Policy::Block);
        buf.push(Item { id: 1, weight: 1 }).unwrap();
        let mut batch = buf.drain_all();
        let lease = batch.take_lease();
        let waiter = {
            let producer = buf.producer();
            thread::spawn(move || {
                loom::future::block_on(
                    producer.push_wait(Item { id: 2, weight: 1 }, std::future::pending()),
                )
                .is_ok()
            })
        };
        drop(batch);
        drop(lease);
        assert!(waiter.join().unwrap());
        assert_eq!(
            buf.drain_all()
                .into_iter()
                .map(|it| it.id)
                .collect::<Vec<_>>(),
            [2]
        );
    });
}
