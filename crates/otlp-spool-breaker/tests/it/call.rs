//! The async convenience `call`.

use std::future::{Future, pending, ready};
use std::task::{Context, Waker};

use otlp_spool_breaker::{CallError, CircuitBreaker, Outcome, State};

use crate::{fixture, secs};

fn classify(r: &Result<u32, &'static str>) -> Outcome {
    match r {
        Ok(_) => Outcome::Success,
        Err("bad request") => Outcome::Ignore,
        Err(_) => Outcome::Failure,
    }
}

#[tokio::test]
async fn call_reports_the_classified_outcome() {
    let f = fixture(
        CircuitBreaker::builder()
            .failure_threshold(2)
            .open_duration(secs(3)),
    );
    assert_eq!(f.breaker.call(ready(Ok(7)), classify).await.unwrap(), 7);
    let e = f.breaker.call(ready(Err("bad request")), classify).await;
    assert!(matches!(e, Err(CallError::Inner("bad request"))));
    for _ in 0..2 {
        let e = f.breaker.call(ready(Err("unavailable")), classify).await;
        assert_eq!(e.unwrap_err().into_inner(), Some("unavailable"));
    }
    assert_eq!(f.breaker.state(), State::Open);
    let e = f.breaker.call(ready(Ok(1)), classify).await.unwrap_err();
    assert_eq!(e.rejected().map(|r| r.retry_after()), Some(secs(3)));
    let c = f.breaker.counters();
    assert_eq!(
        (c.successes, c.ignored, c.failures, c.rejected),
        (1, 1, 2, 1)
    );
}

#[tokio::test]
async fn cancelled_call_releases_the_probe() {
    let f = fixture(
        CircuitBreaker::builder()
            .failure_threshold(1)
            .open_duration(secs(1)),
    );
    f.fail(1);
    f.clock.advance(secs(1));
    {
        // Poll the call once (it takes the probe and waits forever), then cancel it.
        let mut stuck = Box::pin(f.breaker.call(pending::<Result<u32, &str>>(), classify));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(stuck.as_mut().poll(&mut cx).is_pending());
        assert!(f.breaker.try_acquire().is_err(), "the probe is in flight");
    }
    assert_eq!(f.breaker.state(), State::HalfOpen);
    assert_eq!(f.breaker.call(ready(Ok(1)), classify).await.unwrap(), 1);
    assert_eq!(f.breaker.state(), State::Closed);
}
