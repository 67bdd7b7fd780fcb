//! Configuration: the full-buffer [`Policy`] and the validating [`Builder`].
//!
//! Invariant: a built buffer always has `1 <= max_batch_bytes <= max_bytes`,
//! `1 <= max_batch_items <= max_items`, and bounds that fit the packed reservation
//! word (see `reservation.rs`).

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::buffer::BatchBuffer;
use crate::clock::{Clock, SystemClock};
use crate::error::ConfigError;
use crate::reservation::{MAX_BYTES_LIMIT, MAX_ITEMS_LIMIT};
use crate::weight::Weighted;

/// What a push does when the buffer is at its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// Refuse the item and hand it back in [`PushError::Full`](crate::PushError::Full).
    #[default]
    Reject,
    /// [`push_wait`](crate::BatchBuffer::push_wait) waits (until a deadline) for room to
    /// free up; the non-waiting `push` behaves like `Reject`.
    Block,
    /// Evict the oldest buffered items until the new one fits, counting them in
    /// [`Stats::dropped`](crate::Stats::dropped).
    DropOldest,
}

/// The resolved, validated configuration a buffer runs with.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) max_bytes: u64,
    pub(crate) max_items: u64,
    pub(crate) policy: Policy,
    pub(crate) batch_items: u64,
    pub(crate) batch_bytes: u64,
    pub(crate) batch_age: Option<Duration>,
    pub(crate) shards: usize,
    pub(crate) clock: Arc<dyn Clock>,
    /// Drained batches keep their bytes reserved until their [`Lease`](crate::Lease) gives
    /// them back.
    pub(crate) lease_drained: bool,
}

/// Builds a [`BatchBuffer`]; every setter is optional and `build` validates the whole.
///
/// Defaults: 64 MiB byte bound, no item bound (beyond [`MAX_ITEMS_LIMIT`]), policy
/// `Reject`, a batch is ready at 8192 items or half the byte bound (both clamped to the
/// bounds), no age trigger, 4 shards, [`SystemClock`].
pub struct Builder<T> {
    max_bytes: Option<u64>,
    max_items: Option<u64>,
    policy: Policy,
    batch_items: Option<u64>,
    batch_bytes: Option<u64>,
    batch_age: Option<Duration>,
    shards: Option<usize>,
    clock: Option<Arc<dyn Clock>>,
    lease_drained: bool,
    item: PhantomData<fn() -> T>,
}

impl<T> Default for Builder<T> {
    fn default() -> Self {
        Self {
            max_bytes: None,
            max_items: None,
            policy: Policy::default(),
            batch_items: None,
            batch_bytes: None,
            batch_age: None,
            shards: None,
            clock: None,
            lease_drained: false,
            item: PhantomData,
        }
    }
}

impl<T> Clone for Builder<T> {
    fn clone(&self) -> Self {
        Self {
            clock: self.clock.clone(),
            item: PhantomData,
            ..*self
        }
    }
}

impl<T> std::fmt::Debug for Builder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("max_bytes", &self.max_bytes)
            .field("max_items", &self.max_items)
            .field("policy", &self.policy)
            .field("max_batch_items", &self.batch_items)
            .field("max_batch_bytes", &self.batch_bytes)
            .field("max_batch_age", &self.batch_age)
            .field("shards", &self.shards)
            .field("clock", &self.clock)
            .field("lease_drained", &self.lease_drained)
            .finish()
    }
}

impl<T: Weighted> Builder<T> {
    /// A builder with the defaults above.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bound on the total weight of buffered items, in bytes.
    pub fn max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = Some(bytes);
        self
    }

    /// Optional bound on the number of buffered items.
    pub fn max_items(mut self, items: u64) -> Self {
        self.max_items = Some(items);
        self
    }

    /// What a push does when the buffer is full.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// A batch is ready once this many items are buffered.
    pub fn max_batch_items(mut self, items: u64) -> Self {
        self.batch_items = Some(items);
        self
    }

    /// A batch is ready once the buffered items weigh this many bytes.
    pub fn max_batch_bytes(mut self, bytes: u64) -> Self {
        self.batch_bytes = Some(bytes);
        self
    }

    /// A batch is ready once its oldest item is this old (by the buffer's clock).
    pub fn max_batch_age(mut self, age: Duration) -> Self {
        self.batch_age = Some(age);
        self
    }

    /// Number of internal shards (1..=64). More shards mean less lock contention
    /// between producers and a slightly more expensive drain (one lock per shard).
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// The clock batch age is measured with.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Whether a drained batch keeps its bytes reserved until the consumer gives them back
    /// (default `false`: a drain frees its room at once). With `true`, each [`Batch`]
    /// carries a [`Lease`] on its bytes; take it with [`Batch::take_lease`] and
    /// [`release`](Lease::release) each item's weight once it is processed (dropping the
    /// lease releases the rest). The byte bound then covers buffered *and* drained but
    /// unprocessed items, checked by the same reservation that admits a push: a consumer
    /// that is slow with a batch gets backpressure instead of the producers filling the
    /// buffer again behind it. Items are not leased: the item bound still counts buffered
    /// items only.
    ///
    /// [`Batch`]: crate::Batch
    /// [`Batch::take_lease`]: crate::Batch::take_lease
    /// [`Lease`]: crate::Lease
    /// [`Lease::release`]: crate::Lease::release
    pub fn lease_drained(mut self, lease: bool) -> Self {
        self.lease_drained = lease;
        self
    }

    /// Validates the settings and builds the buffer.
    pub fn build(self) -> Result<BatchBuffer<T>, ConfigError> {
        Ok(BatchBuffer::from_config(self.resolve()?))
    }

    fn resolve(self) -> Result<Config, ConfigError> {
        let max_bytes = self.max_bytes.unwrap_or(64 << 20);
        if max_bytes == 0 || max_bytes > MAX_BYTES_LIMIT {
            return Err(ConfigError::MaxBytes(max_bytes));
        }
        let max_items = self.max_items.unwrap_or(MAX_ITEMS_LIMIT);
        if max_items == 0 || max_items > MAX_ITEMS_LIMIT {
            return Err(ConfigError::MaxItems(max_items));
        }
        let batch_items = match self.batch_items {
            Some(value) if value == 0 || value > max_items => {
                return Err(ConfigError::MaxBatchItems {
                    value,
                    bound: max_items,
                });
            }
            Some(value) => value,
            None => 8192.min(max_items),
        };
        let batch_bytes = match self.batch_bytes {
            Some(value) if value == 0 || value > max_bytes => {
                return Err(ConfigError::MaxBatchBytes {
                    value,
                    bound: max_bytes,
                });
            }
            Some(value) => value,
            None => (max_bytes / 2).max(1),
        };
        if self.batch_age == Some(Duration::ZERO) {
            return Err(ConfigError::MaxBatchAge);
        }
        let shards = self.shards.unwrap_or(4);
        if shards == 0 || shards > 64 {
            return Err(ConfigError::Shards(shards));
        }
        Ok(Config {
            max_bytes,
            max_items,
            policy: self.policy,
            batch_items,
            batch_bytes,
            batch_age: self.batch_age,
            shards,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock::new())),
            lease_drained: self.lease_drained,
        })
    }
}
