//! [`ConcurrencyLimit`]: at most `max` export requests in flight across both ports.
//!
//! Invariants: the in-flight count never exceeds `max` (admission is one CAS that only
//! succeeds below the cap); every admitted request holds a [`Permit`] whose drop gives the slot
//! back exactly once, so the count returns to zero when the server is idle. A request that finds
//! no slot is refused at once (never queued): the caller answers UNAVAILABLE / 503, which OTLP
//! clients retry. Modelled with loom in `tests/loom.rs`.

use crate::sync::{Arc, AtomicUsize, Ordering};

/// A cap on concurrent export requests, shared by the gRPC and HTTP servers.
#[derive(Debug, Clone)]
pub struct ConcurrencyLimit {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    max: usize,
    in_flight: AtomicUsize,
}

/// A slot held by one request; dropping it frees the slot.
#[derive(Debug)]
pub struct Permit {
    inner: Arc<Inner>,
}

impl ConcurrencyLimit {
    /// A limit of `max` concurrent requests (`max` >= 1).
    pub fn new(max: usize) -> Self {
        ConcurrencyLimit {
            inner: Arc::new(Inner {
                max: max.max(1),
                in_flight: AtomicUsize::new(0),
            }),
        }
    }

    /// Takes a slot, or `None` when `max` requests are already in flight.
    pub fn try_acquire(&self) -> Option<Permit> {
        let mut current = self.inner.in_flight.load(Ordering::Relaxed);
        loop {
            if current >= self.inner.max {
                return None;
            }
            match self.inner.in_flight.compare_exchange_weak(
                current,
                current + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Some(Permit {
                        inner: self.inner.clone(),
                    });
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// Requests in flight right now.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Relaxed)
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.inner.max
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.inner.in_flight.fetch_sub(1, Ordering::Release);
    }
}
