//! [`Batch`]: what a drain returns: the swapped-out shard segments, kept as they are.
//!
//! Invariant: a batch owns whole segments taken by `mem::replace`; building it never
//! moves individual items. Within a segment items are in push order; segments are in
//! shard order. A leasing buffer's batch also owns the [`Lease`] on its bytes until the
//! consumer takes it out.

use std::collections::VecDeque;

use crate::lease::Lease;

/// Items taken from the buffer by one drain.
///
/// A batch is a list of segments, one per non-empty shard; each segment holds the items
/// of one shard in the order they were pushed. Iterating a batch visits segment after
/// segment. [`Batch::into_vec`] concatenates (this one copies; iterate to avoid it).
///
/// From a buffer built with [`lease_drained(true)`](crate::Builder::lease_drained), the
/// batch holds a [`Lease`] on its bytes: they stay counted against the buffer's bound until
/// the lease gives them back. Dropping or consuming the batch with its lease still inside
/// gives them all back at once; [`take_lease`](Self::take_lease) first to give them back item
/// by item.
#[derive(Debug)]
pub struct Batch<T> {
    segments: Vec<VecDeque<T>>,
    len: usize,
    bytes: u64,
    lease: Lease<T>,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Self::with_segments(0)
    }
}

impl<T> Batch<T> {
    pub(crate) fn with_segments(capacity: usize) -> Self {
        Self {
            segments: Vec::with_capacity(capacity),
            len: 0,
            bytes: 0,
            lease: Lease::empty(),
        }
    }

    pub(crate) fn set_lease(&mut self, lease: Lease<T>) {
        self.lease = lease;
    }

    /// Takes the lease on this batch's bytes out (an empty one if the buffer does not
    /// lease, or if it was taken already), so that they stay reserved while the items are
    /// processed; see [`Lease`].
    pub fn take_lease(&mut self) -> Lease<T> {
        std::mem::replace(&mut self.lease, Lease::empty())
    }

    pub(crate) fn add_segment(&mut self, segment: VecDeque<T>, bytes: u64) {
        self.len += segment.len();
        self.bytes += bytes;
        self.segments.push(segment);
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch holds no item.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Total weight of the items, as accounted when they were pushed.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The segments (one per shard that held items), each in push order.
    pub fn segments(&self) -> &[VecDeque<T>] {
        &self.segments
    }

    /// Takes the segments out (a lease still inside gives its bytes back).
    pub fn into_segments(self) -> Vec<VecDeque<T>> {
        self.segments
    }

    /// Iterates over the items by reference.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.segments.iter().flatten()
    }

    /// Moves the items out in batch order, leaving the batch empty but keeping its
    /// segments' memory, so it can go back to the buffer through
    /// [`BatchBuffer::recycle`](crate::BatchBuffer::recycle).
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.len = 0;
        self.bytes = 0;
        self.segments
            .iter_mut()
            .flat_map(|segment| segment.drain(..))
    }

    /// All items in one `Vec` (free for a single contiguous segment, a copy otherwise).
    pub fn into_vec(self) -> Vec<T> {
        if self.segments.len() == 1 {
            let mut segments = self.segments;
            return Vec::from(segments.pop().unwrap_or_default());
        }
        let mut out = Vec::with_capacity(self.len);
        for segment in self.segments {
            out.extend(segment);
        }
        out
    }
}

impl<T> IntoIterator for Batch<T> {
    type Item = T;
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<VecDeque<T>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.segments.into_iter().flatten()
    }
}

impl<'a, T> IntoIterator for &'a Batch<T> {
    type Item = &'a T;
    type IntoIter = std::iter::Flatten<std::slice::Iter<'a, VecDeque<T>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.segments.iter().flatten()
    }
}
