//! [`ConcurrencyLimit`]: at most `max` export requests in flight across both ports; and
//! [`BodyBudget`]: at most `max` bytes of request bodies buffered at once across both ports.
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

/// A cap on the bytes of request bodies being read (and then handled) at once, over every
/// connection of both ports.
///
/// Bodies are read before a concurrency slot is taken (a slow body must not hold one), so
/// without this cap the memory of bodies in flight was bounded only by `max_connections` x
/// `max_body_size` (4096 x 20 MiB). Invariants: the bytes taken never exceed `max` (one CAS that
/// only succeeds within it); every [`BodyLease`] gives back exactly what it took, once, on drop.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    inner: Arc<BudgetInner>,
}

#[derive(Debug)]
struct BudgetInner {
    max: usize,
    used: AtomicUsize,
}

/// Bytes of the [`BodyBudget`] held by one request; dropping it gives them back.
#[derive(Debug)]
pub struct BodyLease {
    inner: Arc<BudgetInner>,
    held: usize,
}

impl BodyBudget {
    /// A budget of `max` bytes (`max` >= 1).
    pub fn new(max: usize) -> Self {
        BodyBudget {
            inner: Arc::new(BudgetInner {
                max: max.max(1),
                used: AtomicUsize::new(0),
            }),
        }
    }

    /// An empty lease, to grow as the body arrives.
    pub fn lease(&self) -> BodyLease {
        BodyLease {
            inner: self.inner.clone(),
            held: 0,
        }
    }

    /// Bytes held right now.
    pub fn used(&self) -> usize {
        self.inner.used.load(Ordering::Relaxed)
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.inner.max
    }
}

impl BodyLease {
    /// Makes the lease hold at least `total` bytes; `false` (and no change) when the budget
    /// cannot give the difference.
    pub fn hold(&mut self, total: usize) -> bool {
        let Some(more) = total.checked_sub(self.held).filter(|&m| m > 0) else {
            return true;
        };
        let inner = &self.inner;
        let mut current = inner.used.load(Ordering::Relaxed);
        loop {
            if current
                .checked_add(more)
                .is_none_or(|next| next > inner.max)
            {
                return false;
            }
            match inner.used.compare_exchange_weak(
                current,
                current + more,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.held = total;
                    return true;
                }
                Err(actual) => current = actual,
            }
        }
    }

    /// Bytes this lease holds.
    pub fn held(&self) -> usize {
        self.held
    }
}

impl Drop for BodyLease {
    fn drop(&mut self) {
        if self.held > 0 {
            self.inner.used.fetch_sub(self.held, Ordering::Release);
        }
    }
}
