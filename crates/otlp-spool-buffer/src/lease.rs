//! [`Lease`]: the bytes of a drained batch that stay reserved in the buffer until the
//! consumer has processed them (buffers built with `lease_drained(true)`).
//!
//! Invariants:
//! - A leasing drain moves a batch's bytes from "buffered" to "leased" without releasing
//!   them from the reservation word: the word's byte count is buffered plus leased bytes at
//!   every instant, so the one CAS that admits a push checks the bound against both. There
//!   is no second counter to check first and no window between check and push.
//! - A lease gives back at most what it holds, exactly once: [`Lease::release`] takes from
//!   its remainder and `Drop` releases the rest. The `leased` counter is lowered before the
//!   word, so `buffered = word - leased` never reads low (it may read high for an instant).
//! - Giving bytes back wakes `Block` producers waiting for room, as a drain does.

use std::fmt;
use std::sync::Arc;

use crate::buffer::Inner;
use crate::sync::Ordering;

/// Bytes of a drained [`Batch`](crate::Batch) still counted against the buffer's bound.
///
/// Only buffers built with [`lease_drained(true)`](crate::Builder::lease_drained) lease;
/// other buffers' batches carry an empty lease (no bytes, nothing to give back). Take it out
/// of the batch with [`Batch::take_lease`](crate::Batch::take_lease) before consuming the
/// batch, [`release`](Self::release) each item's weight once its processing no longer
/// holds memory, and drop it (which releases whatever is left) when done.
///
/// ```
/// use otlp_spool_buffer::{BatchBuffer, PushError, Weighted};
///
/// struct Req(usize);
/// impl Weighted for Req {
///     fn weight(&self) -> usize { self.0 }
/// }
///
/// let buffer = BatchBuffer::<Req>::builder().max_bytes(100).lease_drained(true).build()?;
/// buffer.push(Req(60)).unwrap();
/// let mut batch = buffer.drain_all();
/// let mut lease = batch.take_lease();
/// assert_eq!((buffer.bytes(), buffer.leased_bytes()), (0, 60));
/// // The drained item still holds its room: a second one does not fit beside it.
/// assert!(matches!(buffer.push(Req(60)), Err(PushError::Full(_))));
/// for item in batch {
///     // ... write `item` ...
///     lease.release(item.weight() as u64);
/// }
/// assert!(buffer.push(Req(60)).is_ok());
/// # Ok::<(), otlp_spool_buffer::ConfigError>(())
/// ```
#[must_use = "dropping a lease gives its bytes back at once"]
pub struct Lease<T> {
    inner: Option<Arc<Inner<T>>>,
    bytes: u64,
}

impl<T> Lease<T> {
    /// A lease of `bytes` that the drain has moved to `inner`'s leased counter.
    pub(crate) fn new(inner: Arc<Inner<T>>, bytes: u64) -> Self {
        Self {
            inner: Some(inner),
            bytes,
        }
    }

    /// A lease of nothing (a buffer that does not lease, or an empty batch).
    pub(crate) fn empty() -> Self {
        Self {
            inner: None,
            bytes: 0,
        }
    }

    /// Bytes still held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Gives `bytes` back to the buffer (at most what the lease still holds).
    pub fn release(&mut self, bytes: u64) {
        let bytes = bytes.min(self.bytes);
        if bytes == 0 {
            return;
        }
        self.bytes -= bytes;
        if let Some(inner) = &self.inner {
            inner.counters.leased.fetch_sub(bytes, Ordering::SeqCst);
            inner.reservation.release(bytes, 0);
            inner.space.notify();
        }
    }
}

impl<T> Drop for Lease<T> {
    fn drop(&mut self) {
        self.release(self.bytes);
    }
}

impl<T> fmt::Debug for Lease<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease").field("bytes", &self.bytes).finish()
    }
}
