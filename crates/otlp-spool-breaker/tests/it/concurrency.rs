//! Many tasks at once (JoinSet + Barrier at 10, 100 and 1000 tasks, each under a timeout).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use otlp_spool_breaker::{CircuitBreaker, FailureRate, MockClock, State};
use tokio::sync::Barrier;
use tokio::task::JoinSet;
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

/// In HalfOpen, exactly `probes` of `tasks` racing callers get a permit.
async fn half_open_admits_exactly(tasks: usize, probes: u32) {
    let clock = MockClock::new();
    let breaker = CircuitBreaker::builder()
        .failure_threshold(1)
        .half_open_probes(probes)
        .open_duration(Duration::from_secs(1))
        .clock(clock.clone())
        .build()
        .unwrap();
    breaker.try_acquire().unwrap().failure();
    clock.advance(Duration::from_secs(1));

    let barrier = Arc::new(Barrier::new(tasks));
    let mut set = JoinSet::new();
    for _ in 0..tasks {
        let (breaker, barrier) = (breaker.clone(), Arc::clone(&barrier));
        set.spawn(async move {
            barrier.wait().await;
            // Held until every task is done, so no slot is freed during the race.
            breaker.try_acquire_owned().ok()
        });
    }
    let permits: Vec<_> = timeout(LIMIT, set.join_all())
        .await
        .expect("no deadlock")
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(
        permits.len(),
        probes as usize,
        "{tasks} tasks, {probes} probes"
    );
    assert_eq!(breaker.state(), State::HalfOpen);
    let c = breaker.counters();
    assert_eq!(c.rejected as usize, tasks - probes as usize);
    for p in permits {
        p.success();
    }
    assert_eq!(breaker.state(), State::Closed);
}

/// `tasks` callers holding Closed permits fail at once: exactly one Closed -> Open.
async fn threshold_opens_once(tasks: usize, rate: bool) {
    let threshold = (tasks as u32 / 2).max(1);
    let opened = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&opened);
    let mut builder = CircuitBreaker::builder()
        .clock(MockClock::new())
        .on_transition(move |t| {
            assert_eq!((t.from, t.to), (State::Closed, State::Open));
            seen.fetch_add(1, Ordering::SeqCst);
        });
    builder = if rate {
        builder.failure_threshold(65_535).failure_rate(
            FailureRate::new(0.5)
                .window(tasks as u32)
                .minimum_calls(threshold),
        )
    } else {
        builder.failure_threshold(threshold)
    };
    let breaker = builder.build().unwrap();

    let barrier = Arc::new(Barrier::new(tasks));
    let mut set = JoinSet::new();
    for _ in 0..tasks {
        let permit = breaker.try_acquire_owned().expect("closed");
        let barrier = Arc::clone(&barrier);
        set.spawn(async move {
            barrier.wait().await;
            permit.failure();
        });
    }
    timeout(LIMIT, set.join_all()).await.expect("no deadlock");
    assert_eq!(opened.load(Ordering::SeqCst), 1, "{tasks} tasks");
    assert_eq!(breaker.state(), State::Open);
    let c = breaker.counters();
    assert_eq!((c.failures, c.transitions), (tasks as u64, 1));
    if !rate {
        // Exactly `threshold` failures were applied; the rest arrived after the opening.
        assert_eq!(c.stale, tasks as u64 - u64::from(threshold));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn half_open_admits_exactly_the_probes() {
    for tasks in [10, 100, 1000] {
        for probes in [1, 3] {
            half_open_admits_exactly(tasks, probes).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn consecutive_failures_open_exactly_once() {
    for tasks in [10, 100, 1000] {
        threshold_opens_once(tasks, false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failure_rate_opens_exactly_once() {
    for tasks in [10, 100, 1000] {
        threshold_opens_once(tasks, true).await;
    }
}

/// Mixed traffic with time moving: no task hangs, and the counters add up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_traffic_keeps_the_books() {
    for tasks in [10, 100, 1000] {
        let clock = MockClock::new();
        let breaker = CircuitBreaker::builder()
            .failure_threshold(3)
            .half_open_probes(2)
            .open_duration(Duration::from_millis(5))
            .clock(clock.clone())
            .build()
            .unwrap();
        let barrier = Arc::new(Barrier::new(tasks));
        let mut set = JoinSet::new();
        for i in 0..tasks {
            let (breaker, barrier, clock) = (breaker.clone(), Arc::clone(&barrier), clock.clone());
            set.spawn(async move {
                barrier.wait().await;
                for round in 0..20 {
                    clock.advance(Duration::from_millis(1));
                    if let Ok(p) = breaker.try_acquire() {
                        match (i + round) % 4 {
                            0 => p.failure(),
                            1 => p.ignore(),
                            2 => drop(p),
                            _ => p.success(),
                        }
                    }
                    tokio::task::yield_now().await;
                }
            });
        }
        timeout(LIMIT, set.join_all()).await.expect("no deadlock");
        let c = breaker.counters();
        assert_eq!(c.permitted + c.rejected, tasks as u64 * 20);
        assert_eq!(
            c.permitted,
            c.successes + c.failures + c.ignored + c.abandoned
        );
        // Never stuck: once the wait is over, a probe gets through or the breaker is closed.
        clock.advance(Duration::from_secs(3600));
        breaker.try_acquire().expect("usable").success();
    }
}

/// Policies are swapped while callers keep going: nobody blocks, the books stay exact, and the
/// last policy is the one in force.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn policy_swaps_under_load() {
    use otlp_spool_breaker::Policy;

    for tasks in [10, 100, 1000] {
        let clock = MockClock::new();
        let breaker = CircuitBreaker::builder()
            .failure_threshold(2)
            .open_duration(Duration::from_millis(2))
            .clock(clock.clone())
            .build()
            .unwrap();
        let policies: Vec<Policy> = (1..=4)
            .map(|i| {
                let b = Policy::builder()
                    .failure_threshold(i)
                    .half_open_probes(i)
                    .open_duration(Duration::from_millis(u64::from(i)));
                if i % 2 == 0 {
                    b.failure_rate(FailureRate::new(0.5).window(8).minimum_calls(4))
                } else {
                    b
                }
                .build()
                .unwrap()
            })
            .collect();
        let barrier = Arc::new(Barrier::new(tasks + 1));
        let mut set = JoinSet::new();
        for i in 0..tasks {
            let (breaker, barrier, clock) = (breaker.clone(), Arc::clone(&barrier), clock.clone());
            set.spawn(async move {
                barrier.wait().await;
                for round in 0..10 {
                    clock.advance(Duration::from_millis(1));
                    if let Ok(p) = breaker.try_acquire() {
                        if (i + round) % 3 == 0 {
                            p.failure()
                        } else {
                            p.success()
                        }
                    }
                    tokio::task::yield_now().await;
                }
            });
        }
        let swapper = {
            let (breaker, barrier, policies) =
                (breaker.clone(), Arc::clone(&barrier), policies.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                for p in policies.iter().cycle().take(200) {
                    breaker.set_policy(p.clone());
                    tokio::task::yield_now().await;
                }
            })
        };
        timeout(LIMIT, set.join_all()).await.expect("no deadlock");
        timeout(LIMIT, swapper).await.expect("no deadlock").unwrap();
        assert_eq!(breaker.policy(), policies[(200 - 1) % 4]);
        let c = breaker.counters();
        assert_eq!(c.permitted + c.rejected, tasks as u64 * 10);
        assert_eq!(c.permitted, c.successes + c.failures);
    }
}

/// Counter shards belong to threads (see `src/counters.rs`): counts survive threads exiting and
/// their slots passing to new threads, and more threads alive than slots fall back to a shared
/// shard. 200 threads alive at once, then 200 threads one after another.
#[test]
fn counters_stay_exact_across_thread_exits_and_more_threads_than_slots() {
    let breaker = CircuitBreaker::builder().build().unwrap();
    let all_alive = std::sync::Barrier::new(200);
    std::thread::scope(|s| {
        for _ in 0..200 {
            s.spawn(|| {
                all_alive.wait();
                for _ in 0..10 {
                    breaker.try_acquire().unwrap().success();
                }
                breaker.try_acquire().unwrap().ignore();
            });
        }
    });
    for _ in 0..200 {
        std::thread::scope(|s| {
            s.spawn(|| drop(breaker.try_acquire().unwrap()));
        });
    }
    let c = breaker.counters();
    assert_eq!(
        (c.successes, c.ignored, c.abandoned, c.permitted),
        (2000, 200, 200, 2400)
    );
}
