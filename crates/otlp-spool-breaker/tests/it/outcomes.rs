//! Outcomes that must not corrupt the state: stale epochs, dropped permits, ignore.

use otlp_spool_breaker::{CircuitBreaker, State};

use crate::{fixture, secs};

fn builder() -> otlp_spool_breaker::Builder {
    CircuitBreaker::builder()
        .failure_threshold(2)
        .open_duration(secs(10))
}

#[test]
fn stale_failure_after_opening_changes_nothing() {
    let f = fixture(builder());
    let old = f.breaker.try_acquire().unwrap();
    f.fail(2);
    f.clock.advance(secs(10));
    let probe = f.breaker.try_acquire().unwrap();
    // A failure from the first Closed period must not re-open the HalfOpen breaker...
    old.failure();
    assert_eq!(f.breaker.state(), State::HalfOpen);
    // ...nor release the probe's slot.
    f.check_rejected(secs(0));
    probe.success();
    assert_eq!(f.breaker.state(), State::Closed);
    assert_eq!(f.breaker.counters().stale, 1);
}

#[test]
fn stale_success_cannot_close() {
    let f = fixture(builder().successes_to_close(2));
    let old = f.breaker.try_acquire().unwrap();
    f.fail(2);
    f.clock.advance(secs(10));
    let probe = f.breaker.try_acquire().unwrap();
    probe.success(); // 1 of 2
    old.success(); // counted as stale, not as the second success
    assert_eq!(f.breaker.state(), State::HalfOpen);
    assert_eq!(f.breaker.counters().stale, 1);
    f.succeed(1);
    assert_eq!(f.breaker.state(), State::Closed);
}

#[test]
fn stale_failure_in_a_new_closed_period_does_not_count() {
    let f = fixture(builder());
    let old = f.breaker.try_acquire().unwrap();
    f.fail(2);
    f.clock.advance(secs(10));
    f.succeed(1); // closed, new epoch
    f.fail(1);
    old.failure(); // would be the second failure if it counted
    assert_eq!(f.breaker.state(), State::Closed);
}

#[test]
fn dropped_probe_frees_its_slot() {
    let f = fixture(builder());
    f.fail(2);
    f.clock.advance(secs(10));
    let probe = f.breaker.try_acquire().unwrap();
    f.check_rejected(secs(0));
    drop(probe);
    assert_eq!(f.breaker.state(), State::HalfOpen);
    f.breaker.try_acquire().expect("slot freed").success();
    assert_eq!(f.breaker.state(), State::Closed);
    assert_eq!(f.breaker.counters().abandoned, 1);
}

#[test]
fn dropped_owned_probe_frees_its_slot() {
    let f = fixture(builder());
    f.fail(2);
    f.clock.advance(secs(10));
    let probe = f.breaker.try_acquire_owned().unwrap();
    let moved = std::thread::spawn(move || drop(probe));
    moved.join().unwrap();
    f.breaker.try_acquire_owned().expect("slot freed").success();
    assert_eq!(f.breaker.state(), State::Closed);
}

#[test]
fn dropped_closed_permit_changes_nothing() {
    let f = fixture(builder());
    f.fail(1);
    drop(f.breaker.try_acquire().unwrap());
    f.fail(1);
    assert_eq!(
        f.breaker.state(),
        State::Open,
        "a drop is neither success nor failure"
    );
}

#[test]
fn ignore_neither_resets_nor_counts() {
    let f = fixture(builder());
    f.fail(1);
    f.breaker.try_acquire().unwrap().ignore();
    assert_eq!(f.breaker.state(), State::Closed);
    f.fail(1);
    assert_eq!(f.breaker.state(), State::Open);
}

#[test]
fn ignored_probe_frees_the_slot_without_closing() {
    let f = fixture(builder());
    f.fail(2);
    f.clock.advance(secs(10));
    f.breaker.try_acquire().unwrap().ignore();
    assert_eq!(f.breaker.state(), State::HalfOpen);
    f.breaker.try_acquire().expect("slot freed").success();
    assert_eq!(f.breaker.state(), State::Closed);
}
