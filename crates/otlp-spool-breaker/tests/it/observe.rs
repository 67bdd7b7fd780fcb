//! Listener and counters.

use otlp_spool_breaker::{CircuitBreaker, Counters, State};

use crate::{fixture, secs};

#[test]
fn counters_count_every_event() {
    let f = fixture(
        CircuitBreaker::builder()
            .failure_threshold(2)
            .open_duration(secs(1)),
    );
    f.succeed(3);
    f.breaker.try_acquire().unwrap().ignore();
    f.fail(2);
    f.check_rejected(secs(1));
    f.clock.advance(secs(1));
    drop(f.breaker.try_acquire().unwrap());
    f.succeed(1);
    let c: Counters = f.breaker.counters();
    let all = [
        c.permitted,
        c.rejected,
        c.successes,
        c.failures,
        c.ignored,
        c.abandoned,
        c.stale,
        c.transitions,
    ];
    assert_eq!(all, [8, 1, 4, 2, 1, 1, 0, 3]);
}

#[test]
fn listener_sees_each_transition_with_time_and_epoch() {
    let f = fixture(
        CircuitBreaker::builder()
            .failure_threshold(1)
            .open_duration(secs(5)),
    );
    f.clock.advance(secs(100));
    f.fail(1);
    f.clock.advance(secs(5));
    f.succeed(1);
    let t = f.transitions.lock().unwrap().clone();
    assert_eq!(t.len(), 3);
    assert_eq!(
        (t[0].from, t[0].to, t[0].at),
        (State::Closed, State::Open, secs(100))
    );
    assert_eq!(
        (t[1].to, t[1].at, t[1].open_for),
        (State::HalfOpen, secs(105), None)
    );
    assert_eq!(t[2].to, State::Closed);
    let epochs: Vec<u32> = t.iter().map(|t| t.epoch).collect();
    assert_eq!(epochs, [1, 2, 3]);
    assert_eq!(f.breaker.counters().transitions, 3);
}

#[test]
fn breaker_is_send_sync_clone_and_shares_state() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<CircuitBreaker>();
    let f = fixture(CircuitBreaker::builder().failure_threshold(1));
    let clone = f.breaker.clone();
    clone.try_acquire().unwrap().failure();
    assert_eq!(f.breaker.state(), State::Open);
    assert!(format!("{:?}", f.breaker).contains("Open"));
}

#[test]
fn a_permit_is_counted_as_permitted_when_it_resolves() {
    let f = fixture(CircuitBreaker::builder());
    let permit = f.breaker.try_acquire().unwrap();
    assert_eq!(f.breaker.counters().permitted, 0, "in flight");
    permit.success();
    assert_eq!(f.breaker.counters().permitted, 1);
}
