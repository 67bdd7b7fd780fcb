//! Errors, one type per operation. Every error that refuses an item hands it back.

use std::fmt;

/// Why [`BatchBuffer::push`](crate::BatchBuffer::push) refused an item; the item is inside.
#[derive(thiserror::Error)]
pub enum PushError<T> {
    /// The buffer is at its byte or item bound (policy `Reject`, or `Block` used
    /// through the non-waiting `push`).
    #[error("buffer is full")]
    Full(T),
    /// The item alone weighs more than the whole byte bound; it can never fit.
    #[error("item weighs {weight} bytes, more than the buffer's whole bound of {max_bytes} bytes")]
    TooLarge {
        /// The refused item.
        item: T,
        /// Its weight in bytes.
        weight: usize,
        /// The buffer's byte bound.
        max_bytes: u64,
    },
    /// The buffer was closed; it accepts nothing any more.
    #[error("buffer is closed")]
    Closed(T),
}

impl<T> PushError<T> {
    /// Takes the refused item back.
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(item) | Self::Closed(item) | Self::TooLarge { item, .. } => item,
        }
    }
}

impl<T> fmt::Debug for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
            Self::TooLarge {
                weight, max_bytes, ..
            } => f
                .debug_struct("TooLarge")
                .field("weight", weight)
                .field("max_bytes", max_bytes)
                .finish_non_exhaustive(),
        }
    }
}

/// Why [`BatchBuffer::push_wait`](crate::BatchBuffer::push_wait) refused an item; the
/// item is inside.
#[derive(thiserror::Error)]
pub enum PushWaitError<T> {
    /// The deadline passed before room freed up.
    #[error("no room freed up before the deadline")]
    TimedOut(T),
    /// The buffer is full and its policy is `Reject` (only `Block` waits).
    #[error("buffer is full")]
    Full(T),
    /// The item alone weighs more than the whole byte bound; waiting would never help.
    #[error("item weighs {weight} bytes, more than the buffer's whole bound of {max_bytes} bytes")]
    TooLarge {
        /// The refused item.
        item: T,
        /// Its weight in bytes.
        weight: usize,
        /// The buffer's byte bound.
        max_bytes: u64,
    },
    /// The buffer was closed (before or while waiting).
    #[error("buffer is closed")]
    Closed(T),
}

impl<T> PushWaitError<T> {
    /// Takes the refused item back.
    pub fn into_inner(self) -> T {
        match self {
            Self::TimedOut(item) | Self::Full(item) | Self::Closed(item) => item,
            Self::TooLarge { item, .. } => item,
        }
    }
}

impl<T> From<PushError<T>> for PushWaitError<T> {
    fn from(err: PushError<T>) -> Self {
        match err {
            PushError::Full(item) => Self::Full(item),
            PushError::Closed(item) => Self::Closed(item),
            PushError::TooLarge {
                item,
                weight,
                max_bytes,
            } => Self::TooLarge {
                item,
                weight,
                max_bytes,
            },
        }
    }
}

impl<T> fmt::Debug for PushWaitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TimedOut(_) => f.write_str("TimedOut(..)"),
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
            Self::TooLarge {
                weight, max_bytes, ..
            } => f
                .debug_struct("TooLarge")
                .field("weight", weight)
                .field("max_bytes", max_bytes)
                .finish_non_exhaustive(),
        }
    }
}

/// Why [`Builder::build`](crate::Builder::build) refused a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `max_bytes` must be at least 1 and at most [`MAX_BYTES_LIMIT`](crate::MAX_BYTES_LIMIT).
    #[error("max_bytes = {0} is out of range (1..={max})", max = crate::MAX_BYTES_LIMIT)]
    MaxBytes(u64),
    /// `max_items` must be at least 1 and at most [`MAX_ITEMS_LIMIT`](crate::MAX_ITEMS_LIMIT).
    #[error("max_items = {0} is out of range (1..={max})", max = crate::MAX_ITEMS_LIMIT)]
    MaxItems(u64),
    /// `max_batch_items` must be at least 1 and no more than the item bound.
    #[error("max_batch_items = {value} is out of range (1..={bound})")]
    MaxBatchItems {
        /// The value given.
        value: u64,
        /// The largest accepted value.
        bound: u64,
    },
    /// `max_batch_bytes` must be at least 1 and no more than `max_bytes`.
    #[error("max_batch_bytes = {value} is out of range (1..={bound})")]
    MaxBatchBytes {
        /// The value given.
        value: u64,
        /// The largest accepted value.
        bound: u64,
    },
    /// `max_batch_age` must be non-zero.
    #[error("max_batch_age must be greater than zero")]
    MaxBatchAge,
    /// `shards` must be between 1 and 64.
    #[error("shards = {0} is out of range (1..=64)")]
    Shards(usize),
}
