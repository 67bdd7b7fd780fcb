//! The contenders of the breaker benches: the lock-free breaker and three naive baselines
//! (the same state machine behind one `tokio::sync::Mutex`, one `parking_lot::Mutex`, and one
//! `std::sync::Mutex` locked once per call).
#![allow(dead_code, unreachable_pub, missing_docs)] // each bench target uses part of it

use std::hint::black_box;
use std::time::Duration;

use otlp_spool_breaker::{CircuitBreaker, Clock, FailureRate, SystemClock};

/// The naive breaker's state: every field behind one lock.
#[derive(Debug, Default)]
struct Naive {
    open: bool,
    consecutive_failures: u32,
    opened_at: Duration,
    permitted: u64,
    rejected: u64,
    successes: u64,
    failures: u64,
}

pub const THRESHOLD: u32 = 5;
pub const OPEN_FOR: Duration = Duration::from_secs(3600);

impl Naive {
    fn acquire(&mut self, clock: &SystemClock) -> Result<(), Duration> {
        if self.open {
            let left = (self.opened_at + OPEN_FOR).saturating_sub(clock.now());
            if !left.is_zero() {
                self.rejected += 1;
                return Err(left);
            }
            self.open = false; // half-open handling elided: never reached in these benches
        }
        self.permitted += 1;
        Ok(())
    }

    fn success(&mut self) {
        self.successes += 1;
        self.consecutive_failures = 0;
    }

    fn failure(&mut self, clock: &SystemClock) {
        self.failures += 1;
        self.consecutive_failures += 1;
        if self.consecutive_failures >= THRESHOLD {
            self.open = true;
            self.opened_at = clock.now();
        }
    }
}

/// Naive design 1: one `tokio::sync::Mutex` (as a naive async caller would hold it).
#[derive(Debug, Default)]
pub struct TokioBreaker {
    state: tokio::sync::Mutex<Naive>,
    clock: SystemClock,
}

/// Naive design 2: one `parking_lot::Mutex`.
#[derive(Debug, Default)]
pub struct ParkingLotBreaker {
    state: parking_lot::Mutex<Naive>,
    clock: SystemClock,
}

/// Naive design 3: one `std::sync::Mutex`, locked once per call (acquire and report under
/// the same guard): the cheapest a lock can make it, and the baseline the Closed path must beat.
#[derive(Debug, Default)]
pub struct StdMutexBreaker {
    state: std::sync::Mutex<Naive>,
    clock: SystemClock,
}

/// The operations every contender implements.
pub trait Contender: Sync {
    /// Closed: acquire, then report success. Open: acquire is rejected.
    fn op(&self) -> bool;
    fn force_open(&self);
}

impl Contender for CircuitBreaker {
    #[inline]
    fn op(&self) -> bool {
        match self.try_acquire() {
            Ok(permit) => {
                permit.success();
                true
            }
            Err(rejected) => {
                black_box(rejected.retry_after());
                false
            }
        }
    }

    fn force_open(&self) {
        while let Ok(p) = self.try_acquire() {
            p.failure();
        }
    }
}

/// A baseline's lock: `with` runs `f` on the state under one lock.
trait Locked: Sync {
    fn with<R>(&self, f: impl FnOnce(&mut Naive, &SystemClock) -> R) -> R;
}

impl Locked for TokioBreaker {
    fn with<R>(&self, f: impl FnOnce(&mut Naive, &SystemClock) -> R) -> R {
        f(&mut self.state.blocking_lock(), &self.clock)
    }
}

impl Locked for ParkingLotBreaker {
    fn with<R>(&self, f: impl FnOnce(&mut Naive, &SystemClock) -> R) -> R {
        f(&mut self.state.lock(), &self.clock)
    }
}

impl Locked for StdMutexBreaker {
    fn with<R>(&self, f: impl FnOnce(&mut Naive, &SystemClock) -> R) -> R {
        f(&mut self.state.lock().expect("never poisoned"), &self.clock)
    }
}

/// Acquire, then report success, each under its own lock (the breaker's two steps).
fn two_locks(l: &impl Locked) -> bool {
    match l.with(|s, clock| s.acquire(clock)) {
        Ok(()) => {
            l.with(|s, _| s.success());
            true
        }
        Err(left) => {
            black_box(left);
            false
        }
    }
}

fn force_open_locked(l: &impl Locked) {
    l.with(|s, clock| {
        for _ in 0..THRESHOLD {
            s.failure(clock);
        }
    });
}

impl Contender for TokioBreaker {
    fn op(&self) -> bool {
        two_locks(self)
    }

    fn force_open(&self) {
        force_open_locked(self);
    }
}

impl Contender for ParkingLotBreaker {
    fn op(&self) -> bool {
        two_locks(self)
    }

    fn force_open(&self) {
        force_open_locked(self);
    }
}

impl Contender for StdMutexBreaker {
    /// Acquire and report under one lock.
    fn op(&self) -> bool {
        self.with(|s, clock| match s.acquire(clock) {
            Ok(()) => {
                s.success();
                true
            }
            Err(left) => {
                black_box(left);
                false
            }
        })
    }

    fn force_open(&self) {
        force_open_locked(self);
    }
}

pub fn lock_free() -> CircuitBreaker {
    CircuitBreaker::builder()
        .failure_threshold(THRESHOLD)
        .open_duration(OPEN_FOR)
        .build()
        .expect("valid")
}

pub fn lock_free_with_rate() -> CircuitBreaker {
    CircuitBreaker::builder()
        .failure_threshold(THRESHOLD)
        .failure_rate(FailureRate::new(0.5).window(100).minimum_calls(20))
        .open_duration(OPEN_FOR)
        .build()
        .expect("valid")
}
