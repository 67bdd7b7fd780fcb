//! A minimal protobuf writer for the native span encoder: varints, fixed-width scalars,
//! length-delimited fields, and nested messages whose length is patched in when they end.
//!
//! Invariant: the writer emits exactly what the caller asks, in the order asked; choosing
//! which fields to emit (proto3 implicit presence, oneof presence) and in what order (field
//! number order, as the official encoder's `SerializeToString` does) is the caller's job.

/// Protobuf wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

/// The bytes reserved for a nested message's length before it is known (a varint of a
/// `u32` takes at most 5 bytes).
const LEN_RESERVE: usize = 5;

/// Writes one protobuf message into a growing buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

/// Where a nested message started; hand it back to [`Writer::end`].
#[must_use]
#[derive(Debug)]
pub(crate) struct Nested(usize);

impl Writer {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: Vec::with_capacity(capacity),
        }
    }

    pub(crate) fn into_vec(self) -> Vec<u8> {
        self.buf
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.buf.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.buf.push(value as u8);
    }

    fn tag(&mut self, field: u32, wire_type: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire_type));
    }

    /// A varint field (int64 as two's complement, uint32, bool, enum), written even when 0.
    pub(crate) fn uint64(&mut self, field: u32, value: u64) {
        self.tag(field, VARINT);
        self.varint(value);
    }

    pub(crate) fn fixed64(&mut self, field: u32, value: u64) {
        self.tag(field, FIXED64);
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    pub(crate) fn fixed32(&mut self, field: u32, value: u32) {
        self.tag(field, FIXED32);
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    /// A `bytes` or `string` field, written even when empty.
    pub(crate) fn bytes(&mut self, field: u32, value: &[u8]) {
        self.tag(field, LEN);
        self.varint(value.len() as u64);
        self.buf.extend_from_slice(value);
    }

    /// Starts a nested message in `field`; everything written until [`Writer::end`] is its body.
    pub(crate) fn begin(&mut self, field: u32) -> Nested {
        self.tag(field, LEN);
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; LEN_RESERVE]);
        Nested(at)
    }

    /// Ends a nested message: writes its length and moves the body next to it.
    pub(crate) fn end(&mut self, nested: Nested) {
        let at = nested.0;
        let body = at + LEN_RESERVE;
        let len = self.buf.len() - body;
        let mut prefix = [0u8; LEN_RESERVE];
        let mut n = 0;
        let mut value = len as u64;
        while value >= 0x80 {
            prefix[n] = (value as u8) | 0x80;
            value >>= 7;
            n += 1;
        }
        prefix[n] = value as u8;
        n += 1;
        self.buf[at..at + n].copy_from_slice(&prefix[..n]);
        if n < LEN_RESERVE {
            self.buf.copy_within(body.., at + n);
            self.buf.truncate(at + n + len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Writer;

    #[test]
    fn nested_lengths_of_every_varint_size_are_patched_in() {
        for len in [0usize, 1, 127, 128, 300, 16_383, 16_384, 70_000] {
            let mut w = Writer::default();
            let outer = w.begin(1);
            w.extend(&vec![7u8; len]);
            w.end(outer);
            w.uint64(2, 1);
            let mut expected = vec![0x0a];
            let mut v = len;
            while v >= 0x80 {
                expected.push((v as u8) | 0x80);
                v >>= 7;
            }
            expected.push(v as u8);
            expected.extend(vec![7u8; len]);
            expected.extend([0x10, 0x01]);
            assert_eq!(w.into_vec(), expected, "body of {len} bytes");
        }
    }

    #[test]
    fn scalars_are_little_endian_and_tags_carry_the_wire_type() {
        let mut w = Writer::default();
        w.fixed64(7, 1);
        w.fixed32(16, 0x100);
        w.uint64(3, -1i64 as u64);
        let out = w.into_vec();
        assert_eq!(&out[..9], &[0x39, 1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&out[9..15], &[0x85, 0x01, 0, 1, 0, 0]);
        assert_eq!(out[15], 0x18);
        assert_eq!(out.len(), 16 + 10);
    }
}
