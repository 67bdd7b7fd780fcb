//! Property test: the buffer against a simple `Mutex<VecDeque>` reference model.

use std::collections::VecDeque;
use std::sync::Mutex;

use otlp_spool_buffer::{BatchBuffer, Policy, PushError};
use proptest::prelude::*;

use crate::{Item, ids, item};

#[derive(Debug, Clone)]
enum Op {
    Push(usize),
    Drain,
    DrainAll,
    Close,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0usize..40).prop_map(Op::Push),
        2 => Just(Op::Drain),
        1 => Just(Op::DrainAll),
        1 => Just(Op::Close),
    ]
}

#[derive(Debug, Clone, Copy)]
struct Setup {
    max_bytes: u64,
    max_items: Option<u64>,
    policy: Policy,
    batch_items: u64,
    batch_bytes: u64,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        1u64..100,
        prop::option::of(1u64..10),
        prop_oneof![
            Just(Policy::Reject),
            Just(Policy::DropOldest),
            Just(Policy::Block)
        ],
    )
        .prop_flat_map(|(max_bytes, max_items, policy)| {
            (1..=max_items.unwrap_or(20), 1..=max_bytes).prop_map(
                move |(batch_items, batch_bytes)| Setup {
                    max_bytes,
                    max_items,
                    policy,
                    batch_items,
                    batch_bytes,
                },
            )
        })
}

/// What a push did, comparable between model and buffer.
#[derive(Debug, PartialEq, Eq)]
enum Pushed {
    Ok,
    Full(u64),
    TooLarge(u64),
    Closed(u64),
}

/// The reference: one lock around a deque, every rule spelled out directly.
struct Model {
    setup: Setup,
    state: Mutex<(VecDeque<Item>, bool)>,
    dropped: u64,
}

impl Model {
    fn push(&mut self, it: Item) -> Pushed {
        let s = self.setup;
        let mut state = self.state.lock().unwrap();
        let (queue, closed) = &mut *state;
        if it.weight as u64 > s.max_bytes {
            return Pushed::TooLarge(it.id);
        }
        if *closed {
            return Pushed::Closed(it.id);
        }
        let fits = |q: &VecDeque<Item>| {
            q.iter().map(|i| i.weight as u64).sum::<u64>() + it.weight as u64 <= s.max_bytes
                && s.max_items.is_none_or(|m| (q.len() as u64) < m)
        };
        if !fits(queue) {
            if s.policy != Policy::DropOldest {
                return Pushed::Full(it.id);
            }
            while !fits(queue) {
                queue.pop_front();
                self.dropped += 1;
            }
        }
        queue.push_back(it);
        Pushed::Ok
    }

    fn take(&self, only_if_ready: bool) -> Vec<u64> {
        let s = self.setup;
        let mut state = self.state.lock().unwrap();
        let (queue, closed) = &mut *state;
        let bytes: u64 = queue.iter().map(|i| i.weight as u64).sum();
        let ready = !queue.is_empty()
            && (*closed || queue.len() as u64 >= s.batch_items || bytes >= s.batch_bytes);
        if only_if_ready && !ready {
            return Vec::new();
        }
        queue.drain(..).map(|i| i.id).collect()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn behaves_like_a_locked_deque(setup in setup(), ops in prop::collection::vec(op(), 1..80)) {
        let mut builder = BatchBuffer::<Item>::builder()
            .max_bytes(setup.max_bytes)
            .policy(setup.policy)
            .max_batch_items(setup.batch_items)
            .max_batch_bytes(setup.batch_bytes);
        if let Some(m) = setup.max_items {
            builder = builder.max_items(m);
        }
        let buf = builder.build().unwrap();
        let producer = buf.producer();
        let mut model = Model { setup, state: Mutex::new((VecDeque::new(), false)), dropped: 0 };
        let (mut pushed, mut rejected, mut drained) = (0u64, 0u64, 0u64);
        for (id, op) in ops.into_iter().enumerate() {
            let id = id as u64;
            match op {
                Op::Push(weight) => {
                    let expected = model.push(item(id, weight));
                    let got = match producer.push(item(id, weight)) {
                        Ok(()) => Pushed::Ok,
                        Err(PushError::Full(it)) => Pushed::Full(it.id),
                        Err(PushError::TooLarge { item, .. }) => Pushed::TooLarge(item.id),
                        Err(PushError::Closed(it)) => Pushed::Closed(it.id),
                    };
                    if got == Pushed::Ok { pushed += 1 } else { rejected += 1 }
                    prop_assert_eq!(got, expected);
                }
                Op::Drain => {
                    let expected = model.take(true);
                    let got = buf.drain().map(ids).unwrap_or_default();
                    drained += got.len() as u64;
                    prop_assert_eq!(got, expected);
                }
                Op::DrainAll => {
                    let expected = model.take(false);
                    let got = ids(buf.drain_all());
                    drained += got.len() as u64;
                    prop_assert_eq!(got, expected);
                }
                Op::Close => {
                    model.state.lock().unwrap().1 = true;
                    buf.close();
                }
            }
            let state = model.state.lock().unwrap();
            let stats = buf.stats();
            prop_assert_eq!(stats.items, state.0.len() as u64);
            prop_assert_eq!(stats.bytes, state.0.iter().map(|i| i.weight as u64).sum::<u64>());
            prop_assert!(stats.bytes <= setup.max_bytes);
            prop_assert_eq!(
                (stats.pushed, stats.rejected, stats.drained, stats.dropped, stats.closed),
                (pushed, rejected, drained, model.dropped, state.1)
            );
        }
    }
}
