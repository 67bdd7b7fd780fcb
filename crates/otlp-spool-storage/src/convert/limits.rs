//! [`BatchLimits`]: how large a record batch of the streaming converter may grow.
//!
//! Invariants (checked by [`BatchLimitsBuilder::build`]):
//! `1 <= max_batch_rows <= i32::MAX`, `1 <= max_batch_bytes <= hard_batch_bytes <= 1 GiB`.
//! With every batch held under the 1 GiB cap, every offset buffer of every column stays below
//! half of `i32::MAX`.

/// The most any batch may hold, in Arrow bytes: keeps every i32 offset far from overflow.
pub const MAX_HARD_BATCH_BYTES: usize = 1 << 30;

/// Where the streaming converter cuts record batches.
///
/// A batch is handed out after the row that brings it to `max_batch_rows` rows, or to
/// `max_batch_bytes` of Arrow memory of its own: the container entries (resource, scope,
/// metric) it had to repeat from the previous batch are not counted against it, as long as
/// they are smaller than the rows, so a container larger than a batch is repeated at most once
/// per as many bytes of rows. Rows are never split, so one row larger than `max_batch_bytes`
/// makes a batch of its own size. `hard_batch_bytes` is absolute: a row that brings its batch
/// past it is refused ([`ConvertError::ItemTooLarge`](crate::ConvertError::ItemTooLarge)).
///
/// ```
/// use otlp_spool_storage::BatchLimits;
/// let limits = BatchLimits::builder().max_batch_bytes(1 << 20).build()?;
/// assert_eq!(limits.max_batch_bytes(), 1 << 20);
/// assert_eq!(BatchLimits::default().max_batch_bytes(), 4 << 20);
/// # Ok::<(), otlp_spool_storage::LimitsError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    max_batch_bytes: usize,
    max_batch_rows: usize,
    hard_batch_bytes: usize,
}

impl Default for BatchLimits {
    /// 4 MiB and 65,536 rows per batch; hard cap 256 MiB.
    fn default() -> Self {
        BatchLimits {
            max_batch_bytes: 4 << 20,
            max_batch_rows: 1 << 16,
            hard_batch_bytes: 256 << 20,
        }
    }
}

impl BatchLimits {
    /// A builder starting from the defaults.
    pub fn builder() -> BatchLimitsBuilder {
        BatchLimitsBuilder {
            limits: BatchLimits::default(),
        }
    }

    /// No size or row limit short of the hard cap: one batch per stream, as
    /// `traces_to_arrow` and its siblings produce.
    pub fn unbounded() -> Self {
        BatchLimits {
            max_batch_bytes: MAX_HARD_BATCH_BYTES,
            max_batch_rows: i32::MAX as usize,
            hard_batch_bytes: MAX_HARD_BATCH_BYTES,
        }
    }

    /// Arrow bytes of its own after which a batch is handed out.
    pub fn max_batch_bytes(&self) -> usize {
        self.max_batch_bytes
    }

    /// Rows after which a batch is handed out.
    pub fn max_batch_rows(&self) -> usize {
        self.max_batch_rows
    }

    /// The absolute cap on a batch's Arrow bytes.
    pub fn hard_batch_bytes(&self) -> usize {
        self.hard_batch_bytes
    }
}

/// Builds [`BatchLimits`]; [`build`](Self::build) validates.
#[derive(Debug, Clone)]
pub struct BatchLimitsBuilder {
    limits: BatchLimits,
}

impl BatchLimitsBuilder {
    /// Arrow bytes of its own after which a batch is handed out (default 4 MiB).
    pub fn max_batch_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_batch_bytes = bytes;
        self
    }

    /// Rows after which a batch is handed out (default 65,536).
    pub fn max_batch_rows(mut self, rows: usize) -> Self {
        self.limits.max_batch_rows = rows;
        self
    }

    /// The absolute cap on a batch's Arrow bytes (default 256 MiB, at most 1 GiB).
    pub fn hard_batch_bytes(mut self, bytes: usize) -> Self {
        self.limits.hard_batch_bytes = bytes;
        self
    }

    /// The limits, if they are consistent.
    pub fn build(self) -> Result<BatchLimits, LimitsError> {
        let l = self.limits;
        if l.max_batch_rows == 0 || l.max_batch_rows > i32::MAX as usize {
            return Err(LimitsError {
                option: "max_batch_rows",
                reason: format!("{} is not in 1..=i32::MAX", l.max_batch_rows),
            });
        }
        if l.hard_batch_bytes > MAX_HARD_BATCH_BYTES {
            return Err(LimitsError {
                option: "hard_batch_bytes",
                reason: format!(
                    "{} is over the maximum of {MAX_HARD_BATCH_BYTES}",
                    l.hard_batch_bytes
                ),
            });
        }
        if l.max_batch_bytes == 0 || l.max_batch_bytes > l.hard_batch_bytes {
            return Err(LimitsError {
                option: "max_batch_bytes",
                reason: format!(
                    "{} is not in 1..=hard_batch_bytes ({})",
                    l.max_batch_bytes, l.hard_batch_bytes
                ),
            });
        }
        Ok(l)
    }
}

/// Inconsistent [`BatchLimits`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("batch limit `{option}`: {reason}")]
pub struct LimitsError {
    /// The option at fault.
    pub option: &'static str,
    /// What is wrong with its value.
    pub reason: String,
}
