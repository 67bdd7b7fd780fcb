//! Property test: random acquire / outcome / advance sequences against a sequential model.
//!
//! The model is the specification written as plainly as possible: explicit fields, a
//! `VecDeque` window cleared on every transition, integer back-off. After every step the
//! breaker and the model must agree on the state, on admission and on `retry_after`.

use std::collections::VecDeque;
use std::time::Duration;

use otlp_spool_breaker::{CircuitBreaker, FailureRate, MockClock, Permit, State};
use proptest::prelude::*;

#[derive(Debug, Clone, Copy)]
enum Res {
    Success,
    Failure,
    Ignore,
    Drop,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Acquire,
    Resolve(usize, Res),
    Advance(u64),
}

#[derive(Debug, Clone)]
struct Settings {
    threshold: u32,
    probes: u32,
    to_close: u32,
    base_ms: u64,
    max_ms: u64,
    /// (threshold, window, minimum calls)
    rate: Option<(f64, usize, usize)>,
}

#[derive(Debug)]
struct Model {
    s: Settings,
    state: State,
    epoch: u32,
    failures: u32,
    in_flight: u32,
    successes: u32,
    level: u32,
    opened_at_ms: u64,
    now_ms: u64,
    window: VecDeque<bool>,
    transitions: u64,
}

impl Model {
    fn new(s: Settings) -> Self {
        Model {
            s,
            state: State::Closed,
            epoch: 0,
            failures: 0,
            in_flight: 0,
            successes: 0,
            level: 0,
            opened_at_ms: 0,
            now_ms: 0,
            window: VecDeque::new(),
            transitions: 0,
        }
    }

    fn wait_ms(&self) -> u64 {
        let mut d = self.s.base_ms;
        for _ in 0..self.level {
            d = (d * 2).min(self.s.max_ms);
        }
        d.min(self.s.max_ms)
    }

    fn enter(&mut self, state: State) {
        self.state = state;
        self.epoch += 1;
        self.failures = 0;
        self.in_flight = 0;
        self.successes = 0;
        self.window.clear();
        self.transitions += 1;
    }

    fn open(&mut self, level: u32) {
        self.enter(State::Open);
        self.level = level;
        self.opened_at_ms = self.now_ms;
    }

    /// `Ok(epoch)` or `Err(retry_after)`.
    fn acquire(&mut self) -> Result<u32, Duration> {
        match self.state {
            State::Closed => Ok(self.epoch),
            State::Open => {
                let deadline = self.opened_at_ms + self.wait_ms();
                if self.now_ms < deadline {
                    return Err(Duration::from_millis(deadline - self.now_ms));
                }
                self.enter(State::HalfOpen);
                self.in_flight = 1;
                Ok(self.epoch)
            }
            State::HalfOpen if self.in_flight < self.s.probes => {
                self.in_flight += 1;
                Ok(self.epoch)
            }
            State::HalfOpen => Err(Duration::ZERO),
        }
    }

    fn resolve(&mut self, epoch: u32, res: Res) {
        if epoch != self.epoch {
            return; // stale
        }
        match self.state {
            State::Closed => match res {
                Res::Success => {
                    self.failures = 0;
                    self.push(false);
                }
                Res::Failure => {
                    self.failures += 1;
                    self.push(true);
                    let by_rate = self.s.rate.is_some_and(|(threshold, _, minimum)| {
                        let calls = self.window.len();
                        let failed = self.window.iter().filter(|f| **f).count();
                        calls >= minimum && failed as f64 >= threshold * calls as f64
                    });
                    if by_rate || self.failures >= self.s.threshold {
                        self.open(0);
                    }
                }
                Res::Ignore | Res::Drop => {}
            },
            State::HalfOpen => {
                self.in_flight -= 1;
                match res {
                    Res::Success => {
                        self.successes += 1;
                        if self.successes >= self.s.to_close {
                            self.enter(State::Closed);
                            self.level = 0;
                        }
                    }
                    Res::Failure => {
                        let level = self.level + 1;
                        self.open(level);
                    }
                    Res::Ignore | Res::Drop => {}
                }
            }
            State::Open => unreachable!("no permit is issued in an Open epoch"),
        }
    }

    fn push(&mut self, failed: bool) {
        if let Some((_, window, _)) = self.s.rate {
            self.window.push_back(failed);
            if self.window.len() > window {
                self.window.pop_front();
            }
        }
    }
}

fn settings() -> impl Strategy<Value = Settings> {
    let rate = prop_oneof![
        Just(None),
        (prop_oneof![Just(0.25), Just(0.5), Just(1.0)], 1usize..6)
            .prop_flat_map(|(t, w)| (Just(t), Just(w), 1..=w))
            .prop_map(Some),
    ];
    (1u32..4, 1u32..4, 1u32..4, 1u64..100, 1u64..10, rate).prop_map(
        |(threshold, probes, to_close, base_ms, cap_factor, rate)| Settings {
            threshold,
            probes,
            to_close,
            base_ms,
            max_ms: base_ms * cap_factor,
            rate,
        },
    )
}

fn op() -> impl Strategy<Value = Op> {
    let res = prop_oneof![
        Just(Res::Success),
        Just(Res::Failure),
        Just(Res::Ignore),
        Just(Res::Drop)
    ];
    prop_oneof![
        3 => Just(Op::Acquire),
        3 => (any::<usize>(), res).prop_map(|(i, r)| Op::Resolve(i, r)),
        1 => (0u64..400).prop_map(Op::Advance),
    ]
}

fn run(s: Settings, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let clock = MockClock::new();
    let mut builder = CircuitBreaker::builder()
        .failure_threshold(s.threshold)
        .half_open_probes(s.probes)
        .successes_to_close(s.to_close)
        .open_duration(Duration::from_millis(s.base_ms))
        .max_open_duration(Duration::from_millis(s.max_ms))
        .backoff_multiplier(2.0)
        .clock(clock.clone());
    if let Some((threshold, window, minimum)) = s.rate {
        builder = builder.failure_rate(
            FailureRate::new(threshold)
                .window(window as u32)
                .minimum_calls(minimum as u32),
        );
    }
    let breaker = builder.build().unwrap();
    let mut model = Model::new(s);
    let mut held: Vec<(Permit<'_>, u32)> = Vec::new();

    for op in ops {
        match op {
            Op::Acquire => match (breaker.try_acquire(), model.acquire()) {
                (Ok(p), Ok(epoch)) => held.push((p, epoch)),
                (Err(r), Err(retry_after)) => {
                    prop_assert_eq!(r.retry_after(), retry_after);
                    prop_assert_eq!(r.state(), model.state);
                }
                (real, expected) => {
                    prop_assert!(
                        false,
                        "admission differs: {:?} vs {:?}",
                        real.map(|_| ()),
                        expected
                    )
                }
            },
            Op::Resolve(i, res) if !held.is_empty() => {
                let (permit, epoch) = held.swap_remove(i % held.len());
                match res {
                    Res::Success => permit.success(),
                    Res::Failure => permit.failure(),
                    Res::Ignore => permit.ignore(),
                    Res::Drop => drop(permit),
                }
                model.resolve(epoch, res);
            }
            Op::Resolve(..) => {}
            Op::Advance(ms) => {
                clock.advance(Duration::from_millis(ms));
                model.now_ms += ms;
            }
        }
        prop_assert_eq!(breaker.state(), model.state, "{:?}", model);
    }
    prop_assert_eq!(breaker.counters().transitions, model.transitions);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn breaker_matches_the_model(s in settings(), ops in prop::collection::vec(op(), 0..200)) {
        run(s, ops)?;
    }
}
