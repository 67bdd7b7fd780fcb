//! Exact-limit edges, oversize and zero-weight items, close, configuration errors.

use std::future::pending;

use otlp_spool_buffer::{
    BatchBuffer, ConfigError, MAX_BYTES_LIMIT, MAX_ITEMS_LIMIT, Policy, PushError, PushWaitError,
};

use crate::{Item, ids, item};

fn bounded(max_bytes: u64) -> BatchBuffer<Item> {
    BatchBuffer::builder().max_bytes(max_bytes).build().unwrap()
}

#[test]
fn fills_to_exactly_the_byte_bound_and_not_one_byte_more() {
    let buf = bounded(100);
    buf.push(item(1, 60)).unwrap();
    buf.push(item(2, 40)).unwrap();
    assert_eq!(buf.bytes(), 100);
    assert!(matches!(buf.push(item(3, 1)), Err(PushError::Full(_))));
    // Zero-weight items still fit: there is no item bound.
    buf.push(item(4, 0)).unwrap();
    assert_eq!((buf.len(), buf.bytes()), (3, 100));
}

#[test]
fn fills_to_exactly_the_item_bound() {
    let buf = BatchBuffer::<Item>::builder()
        .max_bytes(100)
        .max_items(3)
        .build()
        .unwrap();
    for id in 0..3 {
        buf.push(item(id, 0)).unwrap();
    }
    assert!(matches!(buf.push(item(9, 0)), Err(PushError::Full(it)) if it.id == 9));
    assert_eq!(buf.len(), 3);
}

#[test]
fn item_of_exactly_the_bound_fits_an_empty_buffer_only() {
    let buf = bounded(100);
    buf.push(item(1, 100)).unwrap();
    assert!(matches!(buf.push(item(2, 100)), Err(PushError::Full(_))));
    buf.drain_all();
    buf.push(item(3, 100)).unwrap();
}

#[test]
fn oversize_item_is_its_own_error_with_the_item() {
    let buf = bounded(100);
    match buf.push(item(1, 101)) {
        Err(PushError::TooLarge {
            item: back,
            weight,
            max_bytes,
        }) => assert_eq!((back.id, weight, max_bytes), (1, 101, 100)),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(buf.stats().rejected, 1);
    assert!(buf.is_empty());
    let message = PushError::TooLarge {
        item: (),
        weight: 101,
        max_bytes: 100,
    }
    .to_string();
    assert!(
        message.contains("101") && message.contains("100"),
        "{message}"
    );
}

#[tokio::test]
async fn oversize_item_never_waits_under_block() {
    let buf = BatchBuffer::<Item>::builder()
        .max_bytes(100)
        .policy(Policy::Block)
        .build()
        .unwrap();
    let result = buf.push_wait(item(1, 1000), pending()).await;
    assert!(matches!(
        result,
        Err(PushWaitError::TooLarge { weight: 1000, .. })
    ));
}

#[test]
fn zero_weight_items_are_bounded_by_the_count_only() {
    let buf = bounded(1);
    for id in 0..10_000 {
        buf.push(item(id, 0)).unwrap();
    }
    assert_eq!((buf.len(), buf.bytes()), (10_000, 0));
    assert_eq!(buf.drain_all().len(), 10_000);

    let counted = BatchBuffer::<Item>::builder()
        .max_bytes(1)
        .max_items(2)
        .build()
        .unwrap();
    counted.push(item(1, 0)).unwrap();
    counted.push(item(2, 0)).unwrap();
    assert!(matches!(counted.push(item(3, 0)), Err(PushError::Full(_))));
}

#[test]
fn close_is_final_and_draining_still_returns_everything() {
    let buf = bounded(100);
    let producer = buf.producer();
    producer.push(item(1, 1)).unwrap();
    producer.push(item(2, 1)).unwrap();
    assert!(buf.close());
    assert!(!buf.close(), "second close reports it was already closed");
    assert!(buf.is_closed());
    assert!(matches!(buf.push(item(3, 1)), Err(PushError::Closed(it)) if it.id == 3));
    assert!(matches!(
        producer.push(item(4, 1)),
        Err(PushError::Closed(_))
    ));
    // Closed and non-empty counts as ready.
    assert!(buf.is_ready());
    assert_eq!(ids(buf.drain().expect("closed buffer drains")), vec![1, 2]);
    assert!(buf.drain().is_none());
    assert!(buf.drain_all().is_empty());
    let stats = buf.stats();
    assert_eq!((stats.pushed, stats.rejected, stats.drained), (2, 2, 2));
    assert!(stats.closed);
}

#[tokio::test]
async fn push_wait_after_close_hands_back() {
    let buf = bounded(100);
    buf.close();
    let result = buf.push_wait(item(1, 1), pending()).await;
    assert!(matches!(result, Err(PushWaitError::Closed(it)) if it.id == 1));
}

#[test]
fn builder_validates() {
    let check = |b: otlp_spool_buffer::Builder<Item>, expected: ConfigError| {
        assert_eq!(b.build().unwrap_err(), expected);
    };
    let b = BatchBuffer::<Item>::builder;
    check(b().max_bytes(0), ConfigError::MaxBytes(0));
    check(
        b().max_bytes(MAX_BYTES_LIMIT + 1),
        ConfigError::MaxBytes(MAX_BYTES_LIMIT + 1),
    );
    check(b().max_items(0), ConfigError::MaxItems(0));
    check(
        b().max_items(MAX_ITEMS_LIMIT + 1),
        ConfigError::MaxItems(MAX_ITEMS_LIMIT + 1),
    );
    check(
        b().max_items(10).max_batch_items(11),
        ConfigError::MaxBatchItems {
            value: 11,
            bound: 10,
        },
    );
    check(
        b().max_bytes(10).max_batch_bytes(11),
        ConfigError::MaxBatchBytes {
            value: 11,
            bound: 10,
        },
    );
    check(
        b().max_batch_age(std::time::Duration::ZERO),
        ConfigError::MaxBatchAge,
    );
    check(b().shards(0), ConfigError::Shards(0));
    check(b().shards(65), ConfigError::Shards(65));
    // Defaults clamp to small bounds instead of failing.
    let small = b().max_bytes(1).max_items(1).build().unwrap();
    small.push(item(1, 1)).unwrap();
    assert!(small.is_ready());
}

#[test]
fn batch_accessors() {
    let buf = BatchBuffer::<Item>::builder()
        .max_bytes(100)
        .shards(2)
        .build()
        .unwrap();
    let (a, b) = (buf.producer(), buf.producer());
    a.push(item(1, 1)).unwrap();
    b.push(item(2, 2)).unwrap();
    a.push(item(3, 3)).unwrap();
    let batch = buf.drain_all();
    assert_eq!(
        (batch.len(), batch.bytes(), batch.segments().len()),
        (3, 6, 2)
    );
    assert_eq!(batch.iter().count(), 3);
    let mut all = batch.into_vec();
    all.sort();
    assert_eq!(all, vec![item(1, 1), item(2, 2), item(3, 3)]);
}

#[test]
fn recycled_segments_are_reused_and_hold_nothing() {
    let buf = bounded(10_000);
    let producer = buf.producer();
    for id in 0..100 {
        producer.push(item(id, 1)).unwrap();
    }
    let mut batch = buf.drain_all();
    let taken: Vec<u64> = batch.drain().map(|it| it.id).collect();
    assert_eq!(taken, (0..100).collect::<Vec<_>>());
    assert!(batch.is_empty() && batch.bytes() == 0);
    buf.recycle(batch);
    // The next drain swaps the pooled segment into the shard ...
    producer.push(item(500, 1)).unwrap();
    assert_eq!(ids(buf.drain_all()), vec![500]);
    // ... so the following pushes fill memory that is already there.
    producer.push(item(600, 1)).unwrap();
    let batch = buf.drain_all();
    assert!(
        batch.segments()[0].capacity() >= 100,
        "the recycled segment came back"
    );
    assert_eq!(ids(batch), vec![600]);
    // Recycling a batch that still holds items drops them; they were drained already.
    producer.push(item(700, 1)).unwrap();
    buf.recycle(buf.drain_all());
    assert!(buf.is_empty());
    assert_eq!(buf.stats().drained, 103);
}

#[test]
fn peek_sees_the_items_and_leaves_them_for_the_drain() {
    let buf = bounded(100);
    for id in 1..=3 {
        buf.push(item(id, 10)).unwrap();
    }
    let mut seen = Vec::new();
    buf.peek(|i| {
        seen.push(i.id);
        true
    });
    seen.sort_unstable();
    assert_eq!(seen, [1, 2, 3]);
    let mut first = 0;
    buf.peek(|_| {
        first += 1;
        false
    });
    assert_eq!(first, 1, "stops when told");
    assert_eq!((buf.len(), buf.bytes(), buf.stats().drained), (3, 30, 0));
    let mut drained = ids(buf.drain_all());
    drained.sort_unstable();
    assert_eq!(drained, [1, 2, 3]);
}
