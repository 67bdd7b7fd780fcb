//! Leases (`lease_drained(true)`): a drained batch's bytes count against the bound until the
//! consumer gives them back.

use otlp_spool_buffer::{BatchBuffer, Policy, PushError};

use crate::{Item, ids, item};

fn leasing(policy: Policy, max_bytes: u64) -> BatchBuffer<Item> {
    BatchBuffer::builder()
        .max_bytes(max_bytes)
        .policy(policy)
        .shards(1)
        .lease_drained(true)
        .build()
        .unwrap()
}

#[test]
fn a_drained_batch_holds_its_room_until_its_lease_gives_it_back() {
    let buf = leasing(Policy::Reject, 10);
    buf.push(item(1, 4)).unwrap();
    buf.push(item(2, 4)).unwrap();
    let mut batch = buf.drain_all();
    let mut lease = batch.take_lease();
    assert_eq!(lease.bytes(), 8);
    assert_eq!((buf.len(), buf.bytes(), buf.leased_bytes()), (0, 0, 8));
    assert_eq!(buf.stats().bytes, 0, "stats count buffered bytes only");
    // 8 leased + 4 > 10: refused, the item handed back.
    match buf.push(item(3, 4)) {
        Err(PushError::Full(back)) => assert_eq!(back, item(3, 4)),
        other => panic!("expected Full, got {other:?}"),
    }
    buf.push(item(4, 2)).unwrap();
    let mut processed = Vec::new();
    for it in batch {
        processed.push(it.id);
        lease.release(it.weight as u64);
        assert_eq!(buf.leased_bytes(), lease.bytes());
    }
    assert_eq!(processed, [1, 2]);
    lease.release(100); // nothing more to give back
    assert_eq!((buf.bytes(), buf.leased_bytes()), (2, 0));
    buf.push(item(5, 8)).unwrap();
    assert_eq!(ids(buf.drain_all()), [4, 5]);
}

#[test]
fn dropping_a_batch_or_its_lease_gives_everything_back() {
    let buf = leasing(Policy::Reject, 10);
    buf.push(item(1, 6)).unwrap();
    drop(buf.drain_all());
    assert_eq!(buf.leased_bytes(), 0);
    buf.push(item(2, 6)).unwrap();
    let mut batch = buf.drain_all();
    let lease = batch.take_lease();
    assert!(batch.take_lease().bytes() == 0, "taken once");
    drop(batch);
    assert_eq!(
        buf.leased_bytes(),
        6,
        "the lease, not the batch, holds the bytes"
    );
    drop(lease);
    assert_eq!(buf.leased_bytes(), 0);
    buf.push(item(3, 10)).unwrap();
}

#[test]
fn a_buffer_that_does_not_lease_frees_room_at_the_drain() {
    let buf = BatchBuffer::<Item>::builder()
        .max_bytes(10)
        .shards(1)
        .build()
        .unwrap();
    buf.push(item(1, 8)).unwrap();
    let mut batch = buf.drain_all();
    assert_eq!(batch.take_lease().bytes(), 0);
    assert_eq!(buf.leased_bytes(), 0);
    buf.push(item(2, 8)).unwrap();
    assert_eq!(ids(batch), [1]);
}

/// `DropOldest` evicts buffered items to fit beside a lease, but never waits for the lease
/// or evicts for nothing: an item that cannot fit beside the leased bytes is refused.
#[test]
fn drop_oldest_evicts_buffered_items_but_not_leased_bytes() {
    let buf = leasing(Policy::DropOldest, 10);
    buf.push(item(1, 6)).unwrap();
    let mut batch = buf.drain_all();
    let lease = batch.take_lease();
    buf.push(item(2, 2)).unwrap();
    buf.push(item(3, 2)).unwrap();
    // 6 leased + 4 buffered: a 2-byte item evicts the oldest buffered one.
    buf.push(item(4, 2)).unwrap();
    assert_eq!(buf.stats().dropped, 1);
    // 5 bytes can never fit beside 6 leased: refused at once, nothing evicted.
    match buf.push(item(5, 5)) {
        Err(PushError::Full(back)) => assert_eq!(back, item(5, 5)),
        other => panic!("expected Full, got {other:?}"),
    }
    assert_eq!(buf.stats().dropped, 1);
    drop(lease);
    assert_eq!(ids(batch), [1]);
    buf.push(item(6, 5)).unwrap();
    assert_eq!(ids(buf.drain_all()), [3, 4, 6]);
}
