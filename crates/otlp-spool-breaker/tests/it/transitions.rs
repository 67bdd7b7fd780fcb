//! Every transition of the state machine, on the mock clock.

use otlp_spool_breaker::{CircuitBreaker, FailureRate, State};

use crate::{fixture, secs};

fn consecutive() -> otlp_spool_breaker::Builder {
    CircuitBreaker::builder()
        .failure_threshold(3)
        .open_duration(secs(10))
        .max_open_duration(secs(35))
}

#[test]
fn closed_to_open_by_consecutive_failures() {
    let f = fixture(consecutive());
    f.fail(2);
    assert_eq!(f.breaker.state(), State::Closed);
    f.fail(1);
    assert_eq!(f.breaker.state(), State::Open);
    assert_eq!(f.path(), [(State::Closed, State::Open)]);
    assert_eq!(f.transitions.lock().unwrap()[0].open_for, Some(secs(10)));
}

#[test]
fn a_success_resets_the_consecutive_count() {
    let f = fixture(consecutive());
    f.fail(2);
    f.succeed(1);
    f.fail(2);
    assert_eq!(f.breaker.state(), State::Closed);
    f.fail(1);
    assert_eq!(f.breaker.state(), State::Open);
}

#[test]
fn closed_to_open_by_failure_rate() {
    let f = fixture(
        CircuitBreaker::builder()
            .failure_threshold(100)
            .failure_rate(FailureRate::new(0.5).window(10).minimum_calls(6)),
    );
    // Alternating: never two failures in a row, but half of the calls fail.
    for _ in 0..2 {
        f.succeed(1);
        f.fail(1);
    }
    f.succeed(1);
    assert_eq!(f.breaker.state(), State::Closed, "below minimum_calls");
    f.fail(1); // 6 calls, 3 failures: 50%.
    assert_eq!(f.breaker.state(), State::Open);
}

#[test]
fn failure_rate_only_counts_the_last_n_calls() {
    let f = fixture(
        CircuitBreaker::builder()
            .failure_threshold(100)
            .failure_rate(FailureRate::new(0.5).window(4).minimum_calls(4)),
    );
    f.fail(1);
    f.succeed(4); // the failure has left the window
    f.fail(1); // 1 of 4
    assert_eq!(f.breaker.state(), State::Closed);
    f.fail(1); // 2 of 4
    assert_eq!(f.breaker.state(), State::Open);
}

#[test]
fn open_stays_open_until_the_wait_is_over() {
    let f = fixture(consecutive());
    f.fail(3);
    f.check_rejected(secs(10));
    f.clock.advance(secs(4));
    f.check_rejected(secs(6));
    f.clock
        .advance(secs(6) - std::time::Duration::from_nanos(1));
    f.check_rejected(std::time::Duration::from_nanos(1));
    assert_eq!(f.breaker.state(), State::Open);
}

#[test]
fn open_to_half_open_after_the_wait() {
    let f = fixture(consecutive());
    f.fail(3);
    f.clock.advance(secs(10));
    // Lazily: still Open until somebody asks.
    assert_eq!(f.breaker.state(), State::Open);
    let probe = f.breaker.try_acquire().expect("probe");
    assert_eq!(f.breaker.state(), State::HalfOpen);
    // One probe at a time by default.
    f.check_rejected(secs(0));
    drop(probe);
    assert_eq!(
        f.path(),
        [(State::Closed, State::Open), (State::Open, State::HalfOpen)]
    );
}

#[test]
fn half_open_to_closed_after_enough_successes() {
    let f = fixture(consecutive().half_open_probes(2).successes_to_close(3));
    f.fail(3);
    f.clock.advance(secs(10));
    let (a, b) = (
        f.breaker.try_acquire().unwrap(),
        f.breaker.try_acquire().unwrap(),
    );
    f.check_rejected(secs(0));
    a.success();
    b.success();
    assert_eq!(f.breaker.state(), State::HalfOpen);
    f.succeed(1);
    assert_eq!(f.breaker.state(), State::Closed);
    assert_eq!(f.path().last(), Some(&(State::HalfOpen, State::Closed)));
    // Closed again: the failure count starts over.
    f.fail(2);
    assert_eq!(f.breaker.state(), State::Closed);
}

#[test]
fn half_open_to_open_on_any_failure() {
    let f = fixture(consecutive().half_open_probes(2).successes_to_close(2));
    f.fail(3);
    f.clock.advance(secs(10));
    let (a, b) = (
        f.breaker.try_acquire().unwrap(),
        f.breaker.try_acquire().unwrap(),
    );
    a.success();
    b.failure();
    assert_eq!(f.breaker.state(), State::Open);
    assert_eq!(
        f.path(),
        [
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Open)
        ]
    );
}

#[test]
fn back_off_grows_and_is_capped() {
    let f = fixture(consecutive());
    f.fail(3);
    // 10 s, then 20 s, then 35 s (cap; 40 s uncapped), then 35 s again.
    for wait in [10, 20, 35, 35] {
        f.check_rejected(secs(wait));
        f.clock.advance(secs(wait));
        f.breaker.try_acquire().expect("probe").failure();
    }
    let opens: Vec<_> = f
        .transitions
        .lock()
        .unwrap()
        .iter()
        .filter_map(|t| t.open_for)
        .collect();
    assert_eq!(opens, [secs(10), secs(20), secs(35), secs(35), secs(35)]);
}

#[test]
fn back_off_resets_when_closed() {
    let f = fixture(consecutive());
    f.fail(3);
    f.clock.advance(secs(10));
    f.breaker.try_acquire().unwrap().failure(); // re-open: 20 s
    f.clock.advance(secs(20));
    f.breaker.try_acquire().unwrap().success(); // closed
    assert_eq!(f.breaker.state(), State::Closed);
    f.fail(3);
    f.check_rejected(secs(10));
}
