//! Loom models of the forwarder's concurrent core (the byte-bounded queue, the breaker's
//! probe admission, close/abort) and of the SDK exporters' shutdown gate.
//!
//! They live inside the crate (`#[cfg(all(test, otlp_spool_loom))]`, as tokio keeps its loom
//! tests), so the queue and the gate stay private. Run with `cargo xtask loom -p
//! otlp-spool-exporters`, or by hand: `RUSTFLAGS="--cfg otlp_spool_loom" LOOM_MAX_PREEMPTIONS=3
//! cargo test -p otlp-spool-exporters --profile loom --lib loom_models::`.

use std::time::Duration;

use crate::Overflow;
use crate::exporter_state::Gate;
use crate::queue::{MergeFrom, PushError, Queue};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicU64, Ordering};
use loom::thread;
use otlp_spool_breaker::{CircuitBreaker, MockClock, State};

/// A batch in the models: its item count.
#[derive(Debug)]
struct Items(u64);

impl MergeFrom for Items {
    fn merge_from(&mut self, other: Self) {
        self.0 += other.0;
    }
}

/// An open breaker whose wait is over: the next `try_acquire` is the (single) probe.
fn breaker_ready_to_probe() -> CircuitBreaker {
    let clock = MockClock::new();
    let breaker = CircuitBreaker::builder()
        .failure_threshold(1)
        .open_duration(Duration::from_secs(1))
        .half_open_probes(1)
        .successes_to_close(1)
        .clock(clock.clone())
        .build()
        .unwrap();
    breaker.try_acquire().unwrap().failure();
    assert_eq!(breaker.state(), State::Open);
    clock.advance(Duration::from_secs(1));
    breaker
}

/// One worker's step: permit first, then a batch; delivered items are counted.
fn worker_step(queue: &Queue<Items>, breaker: &CircuitBreaker, delivered: &AtomicU64) {
    let Ok(permit) = breaker.try_acquire() else {
        return;
    };
    match queue.take(u64::MAX, |_, _| true) {
        Some(taken) => {
            delivered.fetch_add(taken.items, Ordering::SeqCst);
            permit.success();
            queue.finish(taken.weight);
        }
        None => permit.ignore(),
    }
}

/// An in-flight probe, a new batch and shutdown race: every accepted item is delivered or
/// counted as dropped, never both, never neither; nothing is held afterwards.
#[test]
fn probe_new_batch_and_shutdown_race() {
    loom::model(|| {
        let queue = Arc::new(Queue::<Items>::new(4, Overflow::DropOldest));
        let breaker = breaker_ready_to_probe();
        let delivered = Arc::new(AtomicU64::new(0));
        queue.push(Items(1), 1, 1).unwrap();

        let probe = {
            let (queue, breaker, delivered) = (queue.clone(), breaker.clone(), delivered.clone());
            thread::spawn(move || worker_step(&queue, &breaker, &delivered))
        };
        let producer = {
            let queue = queue.clone();
            thread::spawn(move || match queue.push(Items(2), 2, 2) {
                Ok(()) => {}
                Err(r) if r.kind == PushError::Closed => {}
                Err(other) => panic!("unexpected {other:?}"),
            })
        };
        // Shutdown: close, then (the deadline having passed) abort.
        queue.close();
        queue.abort();
        probe.join().unwrap();
        producer.join().unwrap();

        let counts = queue.counts();
        let accepted = counts.accepted_items.load(Ordering::SeqCst);
        let dropped = counts.dropped_items.load(Ordering::SeqCst);
        let refused = counts.refused_items.load(Ordering::SeqCst);
        assert_eq!(accepted + refused, 3);
        assert_eq!(accepted, delivered.load(Ordering::SeqCst) + dropped);
        assert_eq!(counts.held_bytes.load(Ordering::SeqCst), 0);
        assert!(queue.is_idle());
        assert!(queue.push(Items(1), 1, 1).is_err(), "closed for good");
    });
}

/// Two workers race for the single half-open probe: at most one holds a permit at a time,
/// and the queue only loses what the policy evicts.
#[test]
fn one_probe_at_a_time() {
    loom::model(|| {
        let queue = Arc::new(Queue::<Items>::new(2, Overflow::DropOldest));
        let breaker = breaker_ready_to_probe();
        let in_probe = Arc::new(AtomicU64::new(0));
        let delivered = Arc::new(AtomicU64::new(0));
        queue.push(Items(1), 1, 1).unwrap();
        queue.push(Items(1), 1, 1).unwrap();

        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (queue, breaker, in_probe, delivered) = (
                    queue.clone(),
                    breaker.clone(),
                    in_probe.clone(),
                    delivered.clone(),
                );
                thread::spawn(move || {
                    if let Ok(permit) = breaker.try_acquire() {
                        let was = in_probe.fetch_add(1, Ordering::SeqCst);
                        if breaker.state() == State::HalfOpen {
                            assert_eq!(was, 0, "a second probe was admitted");
                        }
                        let taken = queue.take(1, |_, _| true);
                        in_probe.fetch_sub(1, Ordering::SeqCst);
                        match taken {
                            Some(taken) => {
                                delivered.fetch_add(taken.items, Ordering::SeqCst);
                                permit.success();
                                queue.finish(taken.weight);
                            }
                            None => permit.ignore(),
                        }
                    }
                })
            })
            .collect();
        // A new batch arrives meanwhile: it evicts the oldest queued batch if full, or is
        // refused (and counted) when everything held is in flight.
        match queue.push(Items(1), 1, 1) {
            Ok(()) => {}
            Err(r) if r.kind == PushError::Full => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
        for worker in workers {
            worker.join().unwrap();
        }
        let counts = queue.counts();
        let held = counts.held_bytes.load(Ordering::SeqCst);
        assert_eq!(
            counts.accepted_items.load(Ordering::SeqCst),
            delivered.load(Ordering::SeqCst) + counts.dropped_items.load(Ordering::SeqCst) + held
        );
        assert!(held <= 2);
        assert_eq!(
            counts.accepted_items.load(Ordering::SeqCst)
                + counts.refused_items.load(Ordering::SeqCst),
            3
        );
    });
}

/// The SDK exporters' gate: once `close` returns, no export is inside and none can enter,
/// so what the sink holds at that moment is final.
#[test]
fn gate_close_waits_for_exports_inside() {
    loom::model(|| {
        let gate = Arc::new(Gate::default());
        let accepted = Arc::new(AtomicU64::new(0));
        let exporter = {
            let (gate, accepted) = (gate.clone(), accepted.clone());
            thread::spawn(move || {
                let mut ok = 0;
                for _ in 0..2 {
                    if gate.enter() {
                        accepted.fetch_add(1, Ordering::SeqCst);
                        gate.leave();
                        ok += 1;
                    }
                }
                ok
            })
        };
        assert!(gate.close());
        let at_close = accepted.load(Ordering::SeqCst);
        let ok = exporter.join().unwrap();
        assert_eq!(ok, at_close);
        assert_eq!(accepted.load(Ordering::SeqCst), at_close);
        assert!(!gate.close(), "closing twice reports it");
    });
}
