//! loom models of the breaker's concurrent core (run with `--cfg otlp_spool_loom`).
//!
//! Time is stubbed: the mock clock is set before any thread starts. Models stay within 3
//! threads so `LOOM_MAX_PREEMPTIONS=3` finishes quickly in release mode.
#![cfg(otlp_spool_loom)]

use std::time::Duration;

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use otlp_spool_breaker::{CircuitBreaker, MockClock, State};

const WAIT: Duration = Duration::from_secs(1);

/// A breaker opened by `threshold` failures, with the open duration already over.
fn opened_and_waited(probes: u32) -> CircuitBreaker {
    let clock = MockClock::new();
    let breaker = CircuitBreaker::builder()
        .failure_threshold(1)
        .half_open_probes(probes)
        .open_duration(WAIT)
        .clock(clock.clone())
        .build()
        .unwrap();
    breaker.try_acquire().unwrap().failure();
    clock.advance(WAIT);
    breaker
}

/// Three threads race for the single probe of a breaker whose wait is over: exactly one wins,
/// whichever of them makes the Open -> HalfOpen transition or takes the slot after it.
#[test]
fn single_probe_among_three_threads() {
    loom::model(|| {
        let breaker = opened_and_waited(1);
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let b = breaker.clone();
                thread::spawn(move || b.try_acquire_owned().ok())
            })
            .collect();
        let permits: Vec<_> = handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect();
        assert_eq!(permits.len(), 1);
        assert_eq!(breaker.state(), State::HalfOpen);
        assert_eq!(breaker.counters().transitions, 2);
        for p in permits {
            p.success();
        }
        assert_eq!(breaker.state(), State::Closed);
    });
}

/// Three Closed permits fail at once with a threshold of 2: one Closed -> Open transition,
/// reported once, and the third failure is stale.
#[test]
fn concurrent_failures_open_once() {
    loom::model(|| {
        let opened = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&opened);
        let breaker = CircuitBreaker::builder()
            .failure_threshold(2)
            .clock(MockClock::new())
            .on_transition(move |_| {
                seen.fetch_add(1, Ordering::SeqCst);
            })
            .build()
            .unwrap();
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let permit = breaker.try_acquire_owned().unwrap();
                thread::spawn(move || permit.failure())
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(opened.load(Ordering::SeqCst), 1);
        assert_eq!(breaker.state(), State::Open);
        let c = breaker.counters();
        assert_eq!((c.transitions, c.failures, c.stale), (1, 3, 1));
        // The deadline was published: a caller is told the full wait (the clock stands still).
        assert_eq!(
            breaker.try_acquire().unwrap_err().retry_after(),
            Duration::from_secs(30)
        );
    });
}

/// A stale permit (a Closed permit and a probe of an earlier HalfOpen period) is dropped
/// while another thread makes the Open -> HalfOpen transition: the drop must not free a
/// slot of the new HalfOpen period, and the breaker stays usable.
#[test]
fn stale_drop_racing_open_to_half_open() {
    loom::model(|| {
        let clock = MockClock::new();
        let breaker = CircuitBreaker::builder()
            .failure_threshold(1)
            .half_open_probes(2)
            .open_duration(WAIT)
            .max_open_duration(WAIT)
            .clock(clock.clone())
            .build()
            .unwrap();
        let closed_permit = breaker.try_acquire_owned().unwrap();
        breaker.try_acquire().unwrap().failure(); // Open
        clock.advance(WAIT);
        let probe = breaker.try_acquire_owned().unwrap(); // HalfOpen
        let stale_probe = breaker.try_acquire_owned().unwrap();
        probe.failure(); // Open again; `stale_probe` is now stale
        clock.advance(WAIT);

        let dropper = thread::spawn(move || {
            drop(closed_permit);
            drop(stale_probe);
        });
        let b = breaker.clone();
        let prober = thread::spawn(move || b.try_acquire_owned().expect("wait is over"));
        dropper.join().unwrap();
        let new_probe = prober.join().unwrap();

        assert_eq!(breaker.state(), State::HalfOpen);
        // Exactly one slot of two is taken: one more probe fits, a third does not.
        let second = breaker.try_acquire().expect("second slot");
        assert!(breaker.try_acquire().is_err(), "stale drops freed a slot");
        second.success(); // closes (successes_to_close = 1)
        assert_eq!(breaker.state(), State::Closed);
        new_probe.success(); // from the HalfOpen period just left: stale
        // Stale: the two drops and the late probe success.
        assert_eq!(breaker.counters().stale, 3);
    });
}

/// The in-flight probe is dropped while another thread asks for a probe: whichever order,
/// afterwards a probe is admitted (the breaker is never stuck in HalfOpen).
#[test]
fn dropped_probe_racing_acquire_frees_the_slot() {
    loom::model(|| {
        let breaker = opened_and_waited(1);
        let probe = breaker.try_acquire_owned().unwrap();
        let dropper = thread::spawn(move || drop(probe));
        let b = breaker.clone();
        let other = thread::spawn(move || b.try_acquire_owned().ok());
        dropper.join().unwrap();
        let got = other.join().unwrap();
        let probe = match got {
            Some(p) => p,
            None => breaker.try_acquire_owned().expect("slot freed by the drop"),
        };
        assert!(breaker.try_acquire().is_err(), "one probe at a time");
        probe.success();
        assert_eq!(breaker.state(), State::Closed);
    });
}

/// A probe fails (HalfOpen -> Open, back-off level 1) while another thread asks for a permit.
/// The previous opening's deadline has already passed, so a caller that paired the new Open
/// epoch with the old deadline would wrongly start a probe: the `armed_epoch` protocol must
/// make every such caller wait.
#[test]
fn reopening_publishes_its_own_deadline() {
    loom::model(|| {
        let breaker = opened_and_waited(1);
        let probe = breaker.try_acquire_owned().unwrap();
        let failer = thread::spawn(move || probe.failure());
        let b = breaker.clone();
        let asker = thread::spawn(move || {
            b.try_acquire()
                .map(|p| p.ignore())
                .map_err(|r| r.retry_after())
        });
        failer.join().unwrap();
        let asked = asker.join().unwrap();
        // Rejected either because the probe was still in flight or because the breaker had
        // re-opened for 2 s (the full wait, armed or not yet armed): never admitted.
        assert!(
            asked == Err(Duration::ZERO) || asked == Err(2 * WAIT),
            "{asked:?}"
        );
        assert_eq!(breaker.state(), State::Open);
        assert_eq!(breaker.try_acquire().unwrap_err().retry_after(), 2 * WAIT);
    });
}
