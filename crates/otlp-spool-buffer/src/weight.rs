//! The [`Weighted`] trait: how much of the byte bound an item uses.
//!
//! Invariant the buffer relies on: an item's weight does not change while the item
//! is inside the buffer (the buffer reads it once on push and may read it again when
//! it evicts the item under `DropOldest`).

/// An item that reports its size in bytes, used to bound the buffer's memory.
///
/// The weight is an accounting figure, not necessarily `size_of`: for a decoded
/// request it is typically the encoded length. Zero is allowed (such items are bounded
/// only by the optional item-count bound).
pub trait Weighted {
    /// The item's weight in bytes. Must return the same value every time it is called.
    fn weight(&self) -> usize;
}

impl Weighted for Vec<u8> {
    fn weight(&self) -> usize {
        self.len()
    }
}

impl Weighted for Box<[u8]> {
    fn weight(&self) -> usize {
        self.len()
    }
}

impl Weighted for String {
    fn weight(&self) -> usize {
        self.len()
    }
}

impl<T: Weighted + ?Sized> Weighted for Box<T> {
    fn weight(&self) -> usize {
        (**self).weight()
    }
}

impl<T: Weighted + ?Sized> Weighted for std::sync::Arc<T> {
    fn weight(&self) -> usize {
        (**self).weight()
    }
}
