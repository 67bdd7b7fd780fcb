//! Settings: validation at build time, replacement at run time.

use std::time::Duration;

use otlp_spool_breaker::{CircuitBreaker, ConfigError, FailureRate, Policy, State};

use crate::{fixture, secs};

fn check(builder: otlp_spool_breaker::Builder, expected: ConfigError) {
    assert_eq!(builder.build().expect_err("invalid"), expected);
}

#[test]
fn invalid_settings_are_errors() {
    let b = CircuitBreaker::builder;
    check(
        b().failure_threshold(0),
        ConfigError::Zero {
            setting: "failure_threshold",
        },
    );
    check(
        b().half_open_probes(0),
        ConfigError::Zero {
            setting: "half_open_probes",
        },
    );
    check(
        b().successes_to_close(0),
        ConfigError::Zero {
            setting: "successes_to_close",
        },
    );
    check(
        b().failure_threshold(70_000),
        ConfigError::TooLarge {
            setting: "failure_threshold",
            value: 70_000,
            max: 65_535,
        },
    );
    check(
        b().open_duration(Duration::ZERO),
        ConfigError::ZeroOpenDuration,
    );
    check(
        b().open_duration(secs(10)).max_open_duration(secs(5)),
        ConfigError::MaxOpenDurationBelowBase {
            base: secs(10),
            max: secs(5),
        },
    );
    check(
        b().backoff_multiplier(0.5),
        ConfigError::BackoffMultiplier(0.5),
    );
    check(
        b().failure_rate(FailureRate::new(0.0)),
        ConfigError::FailureRateThreshold(0.0),
    );
    check(
        b().failure_rate(FailureRate::new(0.5).window(5).minimum_calls(6)),
        ConfigError::MinimumCallsAboveWindow {
            minimum_calls: 6,
            window: 5,
        },
    );
    let message = b().failure_threshold(0).build().unwrap_err().to_string();
    assert_eq!(message, "`failure_threshold` must be at least 1");
}

#[test]
fn long_open_duration_raises_the_default_cap() {
    let p = Policy::builder().open_duration(secs(600)).build().unwrap();
    assert_eq!(p.max_open_duration(), secs(600));
}

#[test]
fn policy_change_applies_to_the_next_decision() {
    let f = fixture(
        CircuitBreaker::builder()
            .failure_threshold(5)
            .open_duration(secs(10)),
    );
    f.fail(2);
    f.breaker.set_policy(
        Policy::builder()
            .failure_threshold(3)
            .open_duration(secs(60))
            .half_open_probes(2)
            .build()
            .unwrap(),
    );
    assert_eq!(f.breaker.policy().failure_threshold(), 3);
    f.fail(1); // third consecutive failure: the new threshold
    assert_eq!(f.breaker.state(), State::Open);
    f.check_rejected(secs(60));
    f.clock.advance(secs(60));
    let _a = f.breaker.try_acquire().unwrap();
    let _b = f
        .breaker
        .try_acquire()
        .expect("two probes under the new policy");
    f.check_rejected(secs(0));
}

#[test]
fn policy_change_can_enable_the_failure_rate() {
    let f = fixture(CircuitBreaker::builder().failure_threshold(100));
    f.fail(3); // not in any window: there was none
    f.breaker.set_policy(
        Policy::builder()
            .failure_threshold(100)
            .failure_rate(FailureRate::new(1.0).window(2).minimum_calls(2))
            .build()
            .unwrap(),
    );
    f.fail(1);
    assert_eq!(
        f.breaker.state(),
        State::Closed,
        "the new window starts empty"
    );
    f.fail(1);
    assert_eq!(f.breaker.state(), State::Open);
}

#[test]
fn policy_round_trips_through_the_builder() {
    let p = Policy::builder()
        .failure_threshold(7)
        .failure_rate(FailureRate::new(0.25).window(8).minimum_calls(4))
        .open_duration(secs(3))
        .max_open_duration(secs(30))
        .backoff_multiplier(1.5)
        .half_open_probes(3)
        .successes_to_close(2)
        .build()
        .unwrap();
    let b = CircuitBreaker::new(&p).unwrap();
    assert_eq!(b.policy(), p);
}
