//! Reading the protobuf wire format: tags, varints, fixed-width values and length-delimited
//! slices, borrowed from the input without copying.
//!
//! This is the one protobuf reader of the workspace. The receiver's validating walker and the
//! storage crate's bytes-to-Arrow converter both sit on it, so that both accept exactly the same
//! framing, with the same limits, and report the same errors.
//!
//! Invariants:
//! * Accepts exactly the framing prost accepts: varints of at most 10 bytes whose value fits in
//!   64 bits, field numbers 1..=2^29-1, wire types 0, 1, 2, 3 (groups, skipped as a whole with
//!   their nesting bounded by [`MAX_GROUP_DEPTH`], as prost's recursion limit bounds them), 5.
//! * Never reads past the end of its buffer and never panics on any input; every failure is a
//!   [`WireError`] carrying the byte offset (relative to the buffer the reader was made from)
//!   where the bad field starts.
//! * Nothing here allocates.

use std::fmt;

/// How deep groups may nest inside one another before the input is refused. prost refuses
/// nesting beyond its recursion limit of 100; this reader refuses at the same depth.
pub const MAX_GROUP_DEPTH: u32 = 100;

/// The largest field number protobuf allows (2^29 - 1).
pub const MAX_FIELD_NUMBER: u32 = (1 << 29) - 1;

/// The wire type of a field, the low three bits of its tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireType {
    /// 0: a varint (int32, int64, uint32, uint64, sint*, bool, enum).
    Varint,
    /// 1: eight little-endian bytes (fixed64, sfixed64, double).
    Fixed64,
    /// 2: a varint length, then that many bytes (string, bytes, messages, packed repeated).
    Len,
    /// 3: the start of a group (deprecated; only ever skipped here).
    StartGroup,
    /// 4: the end of a group.
    EndGroup,
    /// 5: four little-endian bytes (fixed32, sfixed32, float).
    Fixed32,
}

impl WireType {
    fn from_bits(bits: u8) -> Option<WireType> {
        Some(match bits {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::Len,
            3 => WireType::StartGroup,
            4 => WireType::EndGroup,
            5 => WireType::Fixed32,
            _ => return None,
        })
    }
}

/// One field's value, as the wire gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1, as its raw 64 bits (`f64::from_bits` for a double).
    Fixed64(u64),
    /// Wire type 2: the payload, without its length prefix.
    Len(&'a [u8]),
    /// Wire type 5, as its raw 32 bits.
    Fixed32(u32),
    /// Wire type 3: the body of a group, between its start and end tags.
    Group(&'a [u8]),
}

impl Value<'_> {
    /// The wire type this value arrived with.
    pub fn wire_type(&self) -> WireType {
        match self {
            Value::Varint(_) => WireType::Varint,
            Value::Fixed64(_) => WireType::Fixed64,
            Value::Len(_) => WireType::Len,
            Value::Fixed32(_) => WireType::Fixed32,
            Value::Group(_) => WireType::StartGroup,
        }
    }
}

/// One field: its number, its value, and where it starts in the reader's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// The field number (1..=[`MAX_FIELD_NUMBER`]).
    pub number: u32,
    /// The value.
    pub value: Value<'a>,
    /// Byte offset of the field's tag in the reader's buffer.
    pub start: usize,
    /// Byte offset just past the field's last byte.
    pub end: usize,
}

/// What is wrong with the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireErrorKind {
    /// The buffer ends inside a field.
    Truncated,
    /// A varint longer than 10 bytes, or one whose value does not fit in 64 bits.
    VarintOverflow,
    /// Wire type 6 or 7.
    InvalidWireType(u8),
    /// Field number 0, or one above 2^29 - 1.
    InvalidFieldNumber(u64),
    /// An end-group tag without a matching start.
    UnexpectedEndGroup,
    /// A group closed by the end tag of another field number.
    GroupMismatch,
    /// Groups nested deeper than the reader's budget ([`MAX_GROUP_DEPTH`] by default).
    GroupTooDeep,
}

/// A framing error at a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireError {
    /// What is wrong.
    pub kind: WireErrorKind,
    /// Byte offset of the field (its tag) in the buffer the reader was made from.
    pub offset: usize,
}

impl WireError {
    fn new(kind: WireErrorKind, offset: usize) -> Self {
        WireError { kind, offset }
    }
}

impl fmt::Display for WireErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WireErrorKind::Truncated => f.write_str("truncated field"),
            WireErrorKind::VarintOverflow => f.write_str("invalid varint"),
            WireErrorKind::InvalidWireType(t) => write!(f, "invalid wire type {t}"),
            WireErrorKind::InvalidFieldNumber(n) => write!(f, "invalid field number {n}"),
            WireErrorKind::UnexpectedEndGroup => f.write_str("unexpected end-group tag"),
            WireErrorKind::GroupMismatch => f.write_str("mismatched end-group tag"),
            WireErrorKind::GroupTooDeep => f.write_str("groups nested too deep"),
        }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind, self.offset)
    }
}

impl std::error::Error for WireError {}

/// Reads the fields of one message, in wire order.
///
/// ```
/// use otlp_spool_core::wire::{Reader, Value};
/// // field 1 = varint 150, field 2 = "hi"
/// let bytes = [0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i'];
/// let mut reader = Reader::new(&bytes);
/// let first = reader.next_field()?.unwrap();
/// assert_eq!((first.number, first.value), (1, Value::Varint(150)));
/// let second = reader.next_field()?.unwrap();
/// assert_eq!((second.number, second.value), (2, Value::Len(b"hi")));
/// assert!(reader.next_field()?.is_none());
/// # Ok::<(), otlp_spool_core::wire::WireError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Added to every reported offset, so errors inside nested messages point into the
    /// outermost buffer.
    base: usize,
    /// How deep groups may nest below this message.
    group_budget: u32,
    /// Where the current field (the last tag read) starts.
    field: usize,
}

impl<'a> Reader<'a> {
    /// A reader over a whole message.
    #[inline]
    pub fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            base: 0,
            group_budget: MAX_GROUP_DEPTH,
            field: 0,
        }
    }

    /// A reader over `buf` whose offsets are reported as `base + offset`: use it for a nested
    /// message whose payload starts at `base` in the outer buffer.
    #[inline]
    pub fn with_base(buf: &'a [u8], base: usize) -> Self {
        Reader {
            buf,
            pos: 0,
            base,
            group_budget: MAX_GROUP_DEPTH,
            field: 0,
        }
    }

    /// Lowers how deep groups (in unknown fields) may nest below this message, from the
    /// default [`MAX_GROUP_DEPTH`]. prost counts message nesting and group nesting against one
    /// limit of 100, so a walker reading a message at nesting depth `d` (the outermost message
    /// is depth 0) passes `100 - d` to accept exactly the groups prost accepts: with a budget
    /// `b`, groups nest at most `b` deep and the innermost of `b` levels must be empty. (At
    /// `d = 100` prost refuses *every* unknown field, not only groups; that is the walker's
    /// check, the reader only refuses the groups.)
    #[inline]
    pub fn with_group_budget(mut self, budget: u32) -> Self {
        self.group_budget = budget.min(MAX_GROUP_DEPTH);
        self
    }

    /// The offset of the next field, in the reader's own buffer.
    #[inline]
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The offset added to reported positions (see [`with_base`](Self::with_base)).
    #[inline]
    pub fn base(&self) -> usize {
        self.base
    }

    /// Whether every field has been read.
    #[inline]
    pub fn is_at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The next field, `None` at the end of the message.
    ///
    /// Inlined into its callers for the common shapes: a one-byte tag whose value is a one-byte
    /// varint, a length below 128 with its payload in the buffer, or a fixed64 / fixed32 with
    /// its bytes in the buffer. Everything else (longer varints, errors, groups) takes the
    /// out-of-line path, which checks what prost checks.
    #[inline(always)]
    pub fn next_field(&mut self) -> Result<Option<Field<'a>>, WireError> {
        let buf = self.buf;
        let start = self.pos;
        let Some(&tag) = buf.get(start) else {
            return Ok(None);
        };
        // One-byte tags of field numbers 1..=15: the number is never 0 or too large.
        if (0x08..0x80).contains(&tag) {
            let value_at = start + 1;
            let fast = match tag & 7 {
                0 => match buf.get(value_at) {
                    Some(&v) if v < 0x80 => Some((Value::Varint(u64::from(v)), value_at + 1)),
                    _ => None,
                },
                2 => match buf.get(value_at) {
                    Some(&len) if len < 0x80 => {
                        let from = value_at + 1;
                        let end = from + usize::from(len);
                        buf.get(from..end).map(|payload| (Value::Len(payload), end))
                    }
                    _ => None,
                },
                1 => buf
                    .get(value_at..value_at + 8)
                    .map(|b| (Value::Fixed64(le64(b)), value_at + 8)),
                5 => buf
                    .get(value_at..value_at + 4)
                    .map(|b| (Value::Fixed32(le32(b)), value_at + 4)),
                _ => None,
            };
            if let Some((value, end)) = fast {
                self.field = start;
                self.pos = end;
                return Ok(Some(Field {
                    number: u32::from(tag >> 3),
                    value,
                    start: self.base + start,
                    end: self.base + end,
                }));
            }
        }
        self.next_field_slow()
    }

    /// [`next_field`](Self::next_field) for every shape its inlined part does not take.
    #[inline(never)]
    fn next_field_slow(&mut self) -> Result<Option<Field<'a>>, WireError> {
        let Some(tag) = self.next_tag()? else {
            return Ok(None);
        };
        let value = self.read_value(tag)?;
        Ok(Some(Field {
            number: tag >> 3,
            value,
            start: self.field_start(),
            end: self.offset(),
        }))
    }

    /// The raw tag of the next field (`number << 3 | wire type`, see [`tag`]), `None` at the
    /// end of the message; the reader is left before the field's value.
    ///
    /// The lower layer of [`next_field`](Self::next_field), for walkers that dispatch on the
    /// tag: match the tags you know and read their values with `read_varint`, `read_fixed64`,
    /// `read_fixed32` or `read_len`; hand every other tag to [`read_value`](Self::read_value),
    /// which checks it as prost does. Only the tag's framing (a varint that fits in 32 bits,
    /// as prost requires) is checked here, so a tag you match is valid by construction.
    #[inline(always)]
    pub fn next_tag(&mut self) -> Result<Option<u32>, WireError> {
        let start = self.pos;
        let Some(&byte) = self.buf.get(start) else {
            return Ok(None);
        };
        self.field = start;
        if byte < 0x80 {
            self.pos = start + 1;
            return Ok(Some(u32::from(byte)));
        }
        self.long_tag(start)
    }

    /// A tag of more than one byte (field numbers from 16), which must fit in 32 bits.
    #[inline(never)]
    fn long_tag(&mut self, start: usize) -> Result<Option<u32>, WireError> {
        let tag = self.varint_at(start)?;
        match u32::try_from(tag) {
            Ok(tag) => Ok(Some(tag)),
            Err(_) => Err(self.error(WireErrorKind::InvalidFieldNumber(tag >> 3), start)),
        }
    }

    /// Reads the value of the field whose `tag` [`next_tag`](Self::next_tag) just returned,
    /// whatever its wire type, after checking the tag as prost does: field number
    /// 1..=[`MAX_FIELD_NUMBER`], wire type 0, 1, 2, 3 (the group is skipped within the budget)
    /// or 5.
    #[inline]
    pub fn read_value(&mut self, tag: u32) -> Result<Value<'a>, WireError> {
        let start = self.field;
        let (number, wire_type) = self.split_tag(u64::from(tag), start)?;
        Ok(match wire_type {
            WireType::Varint => Value::Varint(self.read_varint()?),
            WireType::Fixed64 => Value::Fixed64(self.read_fixed64()?),
            WireType::Fixed32 => Value::Fixed32(self.read_fixed32()?),
            WireType::Len => Value::Len(self.read_len()?),
            WireType::StartGroup => {
                let body_start = self.pos;
                let body_end = self.skip_group(number, start)?;
                Value::Group(&self.buf[body_start..body_end])
            }
            WireType::EndGroup => return Err(self.error(WireErrorKind::UnexpectedEndGroup, start)),
        })
    }

    /// Reads a varint value (after [`next_tag`](Self::next_tag)).
    #[inline(always)]
    pub fn read_varint(&mut self) -> Result<u64, WireError> {
        self.varint_at(self.field)
    }

    /// Reads a fixed64 value (after [`next_tag`](Self::next_tag)).
    #[inline(always)]
    pub fn read_fixed64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(self.fixed::<8>(self.field)?))
    }

    /// Reads a fixed32 value (after [`next_tag`](Self::next_tag)).
    #[inline(always)]
    pub fn read_fixed32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.fixed::<4>(self.field)?))
    }

    /// Reads a length-delimited value: the payload, borrowed (after
    /// [`next_tag`](Self::next_tag)).
    #[inline(always)]
    pub fn read_len(&mut self) -> Result<&'a [u8], WireError> {
        let buf = self.buf;
        let at = self.pos;
        // Fast path: a length of one or two bytes (below 16,384: spans, log records, data
        // points) whose payload is in the buffer.
        if let Some(&low) = buf.get(at) {
            let (len, from) = if low < 0x80 {
                (usize::from(low), at + 1)
            } else if let Some(&high) = buf.get(at + 1)
                && high < 0x80
            {
                (usize::from(low & 0x7f) | usize::from(high) << 7, at + 2)
            } else {
                return self.read_len_slow();
            };
            if let Some(payload) = buf.get(from..from + len) {
                self.pos = from + len;
                return Ok(payload);
            }
        }
        self.read_len_slow()
    }

    #[inline(never)]
    fn read_len_slow(&mut self) -> Result<&'a [u8], WireError> {
        let len = self.varint_at(self.field)?;
        let start = self.pos;
        if len <= (self.buf.len() - start) as u64 {
            self.pos = start + len as usize;
            Ok(&self.buf[start..self.pos])
        } else {
            Err(self.error(WireErrorKind::Truncated, self.field))
        }
    }

    /// Offset of the current field's tag (the one [`next_tag`](Self::next_tag) returned last),
    /// reported like error offsets (see [`with_base`](Self::with_base)).
    #[inline(always)]
    pub fn field_start(&self) -> usize {
        self.base + self.field
    }

    /// Offset of the next byte to read, reported like error offsets.
    #[inline(always)]
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    #[inline]
    fn error(&self, kind: WireErrorKind, at: usize) -> WireError {
        WireError::new(kind, self.base + at)
    }

    #[inline]
    fn split_tag(&self, tag: u64, at: usize) -> Result<(u32, WireType), WireError> {
        let bits = (tag & 7) as u8;
        let Some(wire_type) = WireType::from_bits(bits) else {
            return Err(self.error(WireErrorKind::InvalidWireType(bits), at));
        };
        let number = tag >> 3;
        if number == 0 || number > u64::from(MAX_FIELD_NUMBER) {
            return Err(self.error(WireErrorKind::InvalidFieldNumber(number), at));
        }
        Ok((number as u32, wire_type))
    }

    /// Reads a varint at `self.pos`, reporting errors against the field that starts at `field`.
    #[inline(always)]
    fn varint_at(&mut self, field: usize) -> Result<u64, WireError> {
        // Fast path: a one-byte varint (tags of small field numbers, short lengths).
        if let Some(&b) = self.buf.get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        self.varint_slow(field)
    }

    #[inline(never)]
    fn varint_slow(&mut self, field: usize) -> Result<u64, WireError> {
        match decode_varint(&self.buf[self.pos.min(self.buf.len())..]) {
            Ok((value, used)) => {
                self.pos += used;
                Ok(value)
            }
            Err(kind) => Err(self.error(kind, field)),
        }
    }

    #[inline]
    fn fixed<const N: usize>(&mut self, field: usize) -> Result<[u8; N], WireError> {
        match self.buf.get(self.pos..self.pos + N) {
            Some(bytes) => {
                self.pos += N;
                let mut out = [0u8; N];
                out.copy_from_slice(bytes);
                Ok(out)
            }
            None => Err(self.error(WireErrorKind::Truncated, field)),
        }
    }

    /// Skips the body of a group opened by field `number` (whose start tag began at `start`);
    /// returns the offset where the body ends (the end tag's start) and leaves the reader past
    /// the end tag.
    fn skip_group(&mut self, number: u32, start: usize) -> Result<usize, WireError> {
        // Iterative: a stack of open group numbers bounded by MAX_GROUP_DEPTH.
        let mut open = [0u32; MAX_GROUP_DEPTH as usize];
        let limit = self.group_budget as usize;
        if limit == 0 {
            return Err(self.error(WireErrorKind::GroupTooDeep, start));
        }
        let mut depth = 1usize;
        open[0] = number;
        loop {
            if self.pos >= self.buf.len() {
                return Err(self.error(WireErrorKind::Truncated, start));
            }
            let field = self.pos;
            let tag = self.varint_at(field)?;
            let (inner, wire_type) = self.split_tag(tag, field)?;
            // prost skips every field inside `depth` open groups with `depth` fewer levels of
            // its recursion budget left, and refuses any field (not only a nested group) once
            // none is left; the end tag itself costs nothing.
            if depth >= limit && wire_type != WireType::EndGroup {
                return Err(self.error(WireErrorKind::GroupTooDeep, field));
            }
            match wire_type {
                WireType::Varint => {
                    self.varint_at(field)?;
                }
                WireType::Fixed64 => {
                    self.fixed::<8>(field)?;
                }
                WireType::Fixed32 => {
                    self.fixed::<4>(field)?;
                }
                WireType::Len => {
                    let len = self.varint_at(field)?;
                    match usize::try_from(len)
                        .ok()
                        .and_then(|len| self.pos.checked_add(len))
                    {
                        Some(end) if end <= self.buf.len() => self.pos = end,
                        _ => return Err(self.error(WireErrorKind::Truncated, field)),
                    }
                }
                WireType::StartGroup => {
                    open[depth] = inner;
                    depth += 1;
                }
                WireType::EndGroup => {
                    depth -= 1;
                    if open[depth] != inner {
                        return Err(self.error(WireErrorKind::GroupMismatch, field));
                    }
                    if depth == 0 {
                        return Ok(field);
                    }
                }
            }
        }
    }
}

/// Eight little-endian bytes (`b` has exactly eight).
#[inline(always)]
fn le64(b: &[u8]) -> u64 {
    let mut out = [0u8; 8];
    out.copy_from_slice(b);
    u64::from_le_bytes(out)
}

/// Four little-endian bytes (`b` has exactly four).
#[inline(always)]
fn le32(b: &[u8]) -> u32 {
    let mut out = [0u8; 4];
    out.copy_from_slice(b);
    u32::from_le_bytes(out)
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Field<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_field() {
            Ok(Some(field)) => Some(Ok(field)),
            Ok(None) => None,
            Err(e) => {
                // Stop after the first error: the rest of the buffer cannot be framed.
                self.pos = self.buf.len();
                Some(Err(e))
            }
        }
    }
}

/// Decodes one varint from the start of `buf`: its value and how many bytes it used.
///
/// Like prost: at most 10 bytes, and the tenth may only carry the top bit of the value.
#[inline]
pub fn decode_varint(buf: &[u8]) -> Result<(u64, usize), WireErrorKind> {
    let mut value = 0u64;
    for (i, &byte) in buf.iter().take(10).enumerate() {
        if i == 9 && byte > 1 {
            return Err(WireErrorKind::VarintOverflow);
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Ok((value, i + 1));
        }
    }
    if buf.len() >= 10 {
        Err(WireErrorKind::VarintOverflow)
    } else {
        Err(WireErrorKind::Truncated)
    }
}

/// How many bytes `value` takes as a varint (1..=10).
#[inline]
pub fn varint_len(value: u64) -> usize {
    // 1 + floor(bits / 7), with 0 taking one byte.
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Appends `value` as a varint.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The tag of field `number` (1..=[`MAX_FIELD_NUMBER`]) with `wire_type`: `number << 3 | wire
/// type`, what [`Reader::next_tag`] returns.
#[inline]
pub const fn tag(number: u32, wire_type: WireType) -> u32 {
    let bits = match wire_type {
        WireType::Varint => 0,
        WireType::Fixed64 => 1,
        WireType::Len => 2,
        WireType::StartGroup => 3,
        WireType::EndGroup => 4,
        WireType::Fixed32 => 5,
    };
    (number << 3) | bits
}

/// Appends the tag of field `number` with `wire_type`.
#[inline]
pub fn put_tag(out: &mut Vec<u8>, number: u32, wire_type: WireType) {
    put_varint(out, u64::from(tag(number, wire_type)));
}

/// Appends a length-delimited field: tag, length, `payload`.
#[inline]
pub fn put_len_field(out: &mut Vec<u8>, number: u32, payload: &[u8]) {
    put_tag(out, number, WireType::Len);
    put_varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(bytes: &[u8]) -> Result<Vec<(u32, Value<'_>)>, WireError> {
        Reader::new(bytes)
            .map(|f| f.map(|f| (f.number, f.value)))
            .collect()
    }

    #[test]
    fn varints_round_trip_at_every_length() {
        for shift in 0..64 {
            for value in [1u64 << shift, (1u64 << shift) - 1, u64::MAX >> shift] {
                let mut out = Vec::new();
                put_varint(&mut out, value);
                assert_eq!(out.len(), varint_len(value), "{value}");
                assert_eq!(decode_varint(&out), Ok((value, out.len())), "{value}");
            }
        }
    }

    #[test]
    fn varint_limits_match_prost() {
        // Ten bytes with a final 0x01: u64::MAX. A final 0x02 overflows.
        let mut max = vec![0xff; 9];
        max.push(0x01);
        assert_eq!(decode_varint(&max), Ok((u64::MAX, 10)));
        let mut over = vec![0xff; 9];
        over.push(0x02);
        assert_eq!(decode_varint(&over), Err(WireErrorKind::VarintOverflow));
        assert_eq!(
            decode_varint(&[0x80; 11]),
            Err(WireErrorKind::VarintOverflow)
        );
        assert_eq!(decode_varint(&[0x80, 0x80]), Err(WireErrorKind::Truncated));
        assert_eq!(decode_varint(&[]), Err(WireErrorKind::Truncated));
    }

    #[test]
    fn reads_every_wire_type() {
        let mut buf = Vec::new();
        put_tag(&mut buf, 1, WireType::Varint);
        put_varint(&mut buf, 300);
        put_tag(&mut buf, 2, WireType::Fixed64);
        buf.extend_from_slice(&1.5f64.to_bits().to_le_bytes());
        put_len_field(&mut buf, 3, b"abc");
        put_tag(&mut buf, 4, WireType::Fixed32);
        buf.extend_from_slice(&7u32.to_le_bytes());
        put_tag(&mut buf, 5, WireType::StartGroup);
        put_tag(&mut buf, 1, WireType::Varint);
        put_varint(&mut buf, 1);
        put_tag(&mut buf, 5, WireType::EndGroup);
        assert_eq!(
            fields(&buf).unwrap(),
            vec![
                (1, Value::Varint(300)),
                (2, Value::Fixed64(1.5f64.to_bits())),
                (3, Value::Len(b"abc")),
                (4, Value::Fixed32(7)),
                (5, Value::Group(&[0x08, 0x01])),
            ]
        );
    }

    #[test]
    fn offsets_point_at_the_bad_field_and_honour_the_base() {
        let mut buf = Vec::new();
        put_len_field(&mut buf, 1, b"ok");
        let bad = buf.len();
        put_tag(&mut buf, 2, WireType::Len);
        put_varint(&mut buf, 50); // longer than what follows
        buf.extend_from_slice(b"short");
        let err = fields(&buf).unwrap_err();
        assert_eq!(err.kind, WireErrorKind::Truncated);
        assert_eq!(err.offset, bad);
        let mut nested = Reader::with_base(&buf, 1000);
        nested.next_field().unwrap();
        assert_eq!(nested.next_field().unwrap_err().offset, 1000 + bad);
    }

    #[test]
    fn refuses_what_prost_refuses() {
        let kind = |bytes: &[u8]| fields(bytes).unwrap_err().kind;
        assert_eq!(kind(&[0x0e]), WireErrorKind::InvalidWireType(6));
        assert_eq!(kind(&[0x0f]), WireErrorKind::InvalidWireType(7));
        assert_eq!(kind(&[0x00]), WireErrorKind::InvalidFieldNumber(0));
        assert_eq!(kind(&[0x0c]), WireErrorKind::UnexpectedEndGroup);
        assert_eq!(kind(&[0x0b, 0x14]), WireErrorKind::GroupMismatch);
        assert_eq!(kind(&[0x0b]), WireErrorKind::Truncated);
        assert_eq!(kind(&[0x09, 1, 2, 3]), WireErrorKind::Truncated);
        assert_eq!(kind(&[0x0d, 1, 2]), WireErrorKind::Truncated);
        // A tag beyond 32 bits: field number over 2^29 - 1.
        let mut big = Vec::new();
        put_varint(&mut big, u64::from(MAX_FIELD_NUMBER + 1) << 3);
        assert_eq!(
            kind(&big),
            WireErrorKind::InvalidFieldNumber(u64::from(MAX_FIELD_NUMBER) + 1)
        );
        let mut deepest = Vec::new();
        for _ in 0..MAX_GROUP_DEPTH {
            put_tag(&mut deepest, 1, WireType::StartGroup);
        }
        for _ in 0..MAX_GROUP_DEPTH {
            put_tag(&mut deepest, 1, WireType::EndGroup);
        }
        assert!(fields(&deepest).is_ok());
        let mut too_deep = Vec::new();
        for _ in 0..=MAX_GROUP_DEPTH {
            put_tag(&mut too_deep, 1, WireType::StartGroup);
        }
        assert_eq!(kind(&too_deep), WireErrorKind::GroupTooDeep);
        let mut two = Vec::new();
        put_tag(&mut two, 1, WireType::StartGroup);
        put_tag(&mut two, 2, WireType::StartGroup);
        put_tag(&mut two, 2, WireType::EndGroup);
        put_tag(&mut two, 1, WireType::EndGroup);
        let budget = |b: u32| {
            Reader::new(&two)
                .with_group_budget(b)
                .next_field()
                .map(|_| ())
        };
        assert!(budget(2).is_ok());
        assert_eq!(budget(1).unwrap_err().kind, WireErrorKind::GroupTooDeep);
        assert_eq!(budget(0).unwrap_err().kind, WireErrorKind::GroupTooDeep);
    }

    /// A message with no known fields: prost skips everything it is given.
    #[derive(Clone, PartialEq, prost::Message)]
    struct Nothing {}

    #[test]
    fn group_budget_is_spent_by_every_field_inside_as_in_prost() {
        use prost::Message as _;
        // `levels` nested groups of field 1, the innermost holding `inner` (or nothing).
        let nested = |levels: u32, inner: &[u8]| {
            let mut out = Vec::new();
            for _ in 0..levels {
                put_tag(&mut out, 1, WireType::StartGroup);
            }
            out.extend_from_slice(inner);
            for _ in 0..levels {
                put_tag(&mut out, 1, WireType::EndGroup);
            }
            out
        };
        let varint = [0x10, 0x01]; // field 2 = 1
        for (levels, inner) in [
            (MAX_GROUP_DEPTH, &[][..]),
            (MAX_GROUP_DEPTH, &varint[..]),
            (MAX_GROUP_DEPTH - 1, &varint[..]),
            (MAX_GROUP_DEPTH + 1, &[][..]),
        ] {
            let bytes = nested(levels, inner);
            let ours = fields(&bytes).is_ok();
            let prost = Nothing::decode(&bytes[..]).is_ok();
            assert_eq!(ours, prost, "{levels} levels around {inner:?}");
        }
        assert!(fields(&nested(MAX_GROUP_DEPTH, &varint)).is_err());
        assert!(fields(&nested(MAX_GROUP_DEPTH - 1, &varint)).is_ok());
    }

    #[test]
    fn the_iterator_stops_after_an_error() {
        let mut reader = Reader::new(&[0x0e, 0x08, 0x01]);
        assert!(reader.next().unwrap().is_err());
        assert!(reader.next().is_none());
    }
}
