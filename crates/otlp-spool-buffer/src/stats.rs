//! [`Stats`]: a lock-free snapshot of the buffer's counters.
//!
//! Each field is read with one atomic load; fields are not read at one instant, so
//! identities such as `pushed == items + drained + dropped` hold only when the buffer
//! is quiescent (they are what the tests check then).

/// Counters of a [`BatchBuffer`](crate::BatchBuffer), read without taking a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Items buffered now.
    pub items: u64,
    /// Bytes buffered now.
    pub bytes: u64,
    /// Items ever accepted.
    pub pushed: u64,
    /// Pushes refused (full, too large, closed, timed out); the item went back.
    pub rejected: u64,
    /// Items evicted by `DropOldest`.
    pub dropped: u64,
    /// Items handed out by drains.
    pub drained: u64,
    /// Whether the buffer is closed.
    pub closed: bool,
}
