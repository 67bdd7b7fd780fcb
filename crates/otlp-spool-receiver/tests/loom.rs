//! Loom models of the receiver's synchronous core: the concurrency limit and the readiness
//! flag. Run with `RUSTFLAGS="--cfg otlp_spool_loom" cargo test -p otlp-spool-receiver
//! --release --test loom`.
#![cfg(otlp_spool_loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use otlp_spool_receiver::{ConcurrencyLimit, Readiness};

/// Three requests race for two slots: never more than two admitted at once, and every slot
/// comes back.
#[test]
fn limit_never_exceeds_max_and_frees_every_slot() {
    loom::model(|| {
        let limit = ConcurrencyLimit::new(2);
        let inside = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let limit = limit.clone();
                let inside = inside.clone();
                thread::spawn(move || {
                    if let Some(permit) = limit.try_acquire() {
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        assert!(now <= 2, "{now} requests admitted with a limit of 2");
                        inside.fetch_sub(1, Ordering::SeqCst);
                        drop(permit);
                        true
                    } else {
                        false
                    }
                })
            })
            .collect();
        let admitted = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|&a| a)
            .count();
        assert!(admitted >= 2, "a free slot was refused");
        assert_eq!(limit.in_flight(), 0);
        assert!(limit.try_acquire().is_some());
    });
}

/// What a request did while it held the last slot is visible to the request that gets the slot
/// next: the drop (release) and the acquiring CAS (acquire) order them. The other thread's
/// answer is checked where it is made, not after `join` (which orders everything anyway).
#[test]
fn the_next_holder_of_a_slot_sees_what_the_last_one_did() {
    loom::model(|| {
        let limit = ConcurrencyLimit::new(1);
        let held = limit.try_acquire().expect("first slot");
        let written = Arc::new(AtomicUsize::new(0));
        let (other, seen) = (limit.clone(), written.clone());
        let t = thread::spawn(move || match other.try_acquire() {
            Some(permit) => {
                assert_eq!(
                    seen.load(Ordering::Relaxed),
                    1,
                    "slot free before the write"
                );
                drop(permit);
                true
            }
            None => false,
        });
        written.store(1, Ordering::Relaxed);
        drop(held);
        let admitted = t.join().unwrap();
        assert_eq!(limit.in_flight(), 0, "admitted: {admitted}");
        // Some interleaving admits the other thread (loom explores it), and one refuses it; in
        // both the slot is free again now.
        assert!(limit.try_acquire().is_some());
    });
}

/// What the application did before `set_ready(true)` is visible to a reader that sees ready,
/// while the two run concurrently (checked on the reading thread, before any `join`).
#[test]
fn a_reader_that_sees_ready_sees_what_came_before() {
    loom::model(|| {
        let readiness = Readiness::new();
        readiness.set_ready(false);
        let prepared = Arc::new(AtomicUsize::new(0));
        let (writer, done) = (readiness.clone(), prepared.clone());
        let t = thread::spawn(move || {
            done.store(1, Ordering::Relaxed);
            writer.set_ready(true);
        });
        if readiness.is_ready() {
            assert_eq!(
                prepared.load(Ordering::Relaxed),
                1,
                "ready before it was prepared"
            );
        }
        t.join().unwrap();
        assert!(readiness.is_ready());
    });
}

/// Two bodies grow their leases (30 then 60 bytes each) against a budget of 100 and keep them
/// (the leases outlive their threads): the bytes held never pass it, so at most one reaches 60;
/// every byte comes back once both are dropped.
#[test]
fn body_leases_never_pass_the_budget_and_give_every_byte_back() {
    loom::model(|| {
        let budget = otlp_spool_receiver::BodyBudget::new(100);
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let budget = budget.clone();
                thread::spawn(move || {
                    let mut lease = budget.lease();
                    assert!(lease.hold(30), "30 + 30 fit in 100");
                    let grown = lease.hold(60);
                    assert!(budget.used() <= 100, "{} bytes held", budget.used());
                    assert_eq!(lease.held(), if grown { 60 } else { 30 });
                    (grown, lease)
                })
            })
            .collect();
        let leases: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let grown = leases.iter().filter(|(g, _)| *g).count();
        assert!(grown <= 1, "60 + 60 bytes held with a budget of 100");
        assert_eq!(
            budget.used(),
            leases.iter().map(|(_, l)| l.held()).sum::<usize>()
        );
        drop(leases);
        assert_eq!(budget.used(), 0);
    });
}
