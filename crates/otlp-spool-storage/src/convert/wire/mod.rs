//! The bytes converter: walks serialized `Export*ServiceRequest`s with
//! `otlp_spool_core::wire::Reader` straight into the column builders, reading the bytes
//! exactly as prost decodes them.
//!
//! Invariants (what "as prost" means, checked by the differential tests):
//! - Fields may come in any order; a singular scalar that occurs several times keeps its last
//!   value; a singular message that occurs several times is the merge of its occurrences (they
//!   are read as if concatenated, see [`Parts`]); a oneof keeps its last variant, and merges
//!   the occurrences of a message variant since the last change of variant.
//! - Repeated numbers are accepted packed and unpacked; unknown fields of every wire type are
//!   skipped; a known field with the wrong wire type, bad framing, a string that is not UTF-8,
//!   or nesting past prost's recursion limit of 100 (messages and groups alike, counted as
//!   prost counts them: [`Msg::depth`]) is a [`ConvertError`], for every part of the input,
//!   including parts that yield no row (empty containers, oneof variants replaced later).
//! - Strings reach the builders only through `otlp_spool_core::wire::is_utf8` (an ASCII check,
//!   else `std::str::from_utf8`): no unchecked UTF-8.
//! - Container entries are added when their container starts (so their bytes are validated
//!   even when no row follows) and taken out again when the container ends without a row in
//!   the batch, which leaves the batches equal to the prost converter's, whose entries come
//!   with their first row.

pub(crate) mod common;
pub(crate) mod logs;
pub(crate) mod metrics;
pub(crate) mod traces;

use otlp_spool_core::wire::{Field, Reader, Value, WireError, decode_varint};

use super::ConvertError;
use super::columns::Text;

/// A failed walk: the error, boxed so that the walkers' results stay one word wide on the
/// hot path (every field read returns one).
#[derive(Debug)]
pub(crate) struct Fail(pub(crate) Box<ConvertError>);

impl From<ConvertError> for Fail {
    #[cold]
    fn from(e: ConvertError) -> Self {
        Fail(Box::new(e))
    }
}

/// The result of a walker.
pub(crate) type Res<T> = Result<T, Fail>;

/// prost's recursion limit: the fields of a request are read at this budget, each nested
/// message lowers it by one, and a message (or an unknown field) at budget 0 is refused.
const RECURSION_LIMIT: u32 = 100;

/// One message being read: its payload, where the payload starts in the pushed request, and
/// prost's recursion budget for its fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Msg<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) base: usize,
    pub(crate) depth: u32,
}

impl<'a> Msg<'a> {
    /// The whole request.
    pub(crate) fn root(bytes: &'a [u8]) -> Self {
        Msg {
            bytes,
            base: 0,
            depth: RECURSION_LIMIT,
        }
    }

    /// A reader of the message's fields.
    #[inline]
    pub(crate) fn reader(&self) -> Reader<'a> {
        Reader::with_base(self.bytes, self.base)
    }

    /// The sub-message held by field `f` of this message.
    #[inline]
    pub(crate) fn sub(&self, f: &Field<'a>, at: &'static str) -> Res<Msg<'a>> {
        let bytes = len(f, at)?;
        if self.depth == 0 {
            return Err(recursion(f, at));
        }
        Ok(Msg {
            bytes,
            base: f.end - bytes.len(),
            depth: self.depth - 1,
        })
    }

    /// The sub-message held by the length-delimited field whose tag `r` just read (the tag
    /// dispatch form of [`sub`](Self::sub)).
    #[inline]
    pub(crate) fn read_sub(&self, r: &mut Reader<'a>, at: &'static str) -> Res<Msg<'a>> {
        let bytes = read_len(r, at)?;
        if self.depth == 0 {
            return Err(recursion_at(r.field_start(), at));
        }
        Ok(Msg {
            bytes,
            base: r.offset() - bytes.len(),
            depth: self.depth - 1,
        })
    }

    /// A field of this message that no arm of a tag dispatch matched (`r` is just past its
    /// tag): its value is read, and it is refused if its number is one of `known` (bit `n` set
    /// for field `n`: the wire type is wrong), else skipped as [`skip`](Self::skip) does.
    #[inline(never)]
    pub(crate) fn other(
        &self,
        r: &mut Reader<'a>,
        tag: u32,
        known: u32,
        at: &'static str,
    ) -> Res<()> {
        let value = r.read_value(tag).map_err(|e| wire(e, at))?;
        let f = Field {
            number: tag >> 3,
            value,
            start: r.field_start(),
            end: r.offset(),
        };
        if f.number < 32 && known & (1 << f.number) != 0 {
            return Err(wrong_type(&f, at));
        }
        self.skip(&f, at)
    }

    /// Skips the unknown field `f` of this message, refusing what prost's `skip_field`
    /// refuses: any field at budget 0, and groups whose contents nest past the budget.
    #[inline]
    pub(crate) fn skip(&self, f: &Field<'a>, at: &'static str) -> Res<()> {
        if self.depth == 0 {
            return Err(recursion(f, at));
        }
        if let Value::Group(body) = f.value {
            check_group(body, self.depth - 1, f, at)?;
        }
        Ok(())
    }
}

/// The fields inside a group skipped at budget `depth`: each needs a budget above 0, and a
/// nested group lowers it again (prost's `skip_field` recursion).
fn check_group(body: &[u8], depth: u32, outer: &Field<'_>, at: &'static str) -> Res<()> {
    for inner in Reader::new(body) {
        let inner = inner.map_err(|e| wire(e, at))?;
        if depth == 0 {
            return Err(recursion(outer, at));
        }
        if let Value::Group(nested) = inner.value {
            check_group(nested, depth - 1, outer, at)?;
        }
    }
    Ok(())
}

/// The next field of `reader`, with framing errors named after `at`. (The end is checked
/// here, inline, which saves a reader call per message.)
#[inline(always)]
pub(crate) fn next<'a>(reader: &mut Reader<'a>, at: &'static str) -> Res<Option<Field<'a>>> {
    if reader.is_at_end() {
        return Ok(None);
    }
    match reader.next_field() {
        Ok(field) => Ok(field),
        Err(e) => Err(wire(e, at)),
    }
}

/// The tag of the next field of `reader` (tag dispatch: match the tags of the fields you
/// read with `read_*`, hand the rest to [`Msg::other`]), `None` at the end.
#[inline(always)]
pub(crate) fn next_tag(reader: &mut Reader<'_>, at: &'static str) -> Res<Option<u32>> {
    if reader.is_at_end() {
        return Ok(None);
    }
    reader.next_tag().map_err(|e| wire(e, at))
}

/// The payload of the length-delimited field whose tag was just read.
#[inline(always)]
pub(crate) fn read_len<'a>(reader: &mut Reader<'a>, at: &'static str) -> Res<&'a [u8]> {
    reader.read_len().map_err(|e| wire(e, at))
}

/// The text of the string field whose tag was just read, checked to be UTF-8.
#[inline(always)]
pub(crate) fn read_string<'a>(reader: &mut Reader<'a>, at: &'static str) -> Res<Text<'a>> {
    let bytes = read_len(reader, at)?;
    Text::new(bytes).ok_or_else(|| bad_utf8_at(reader.field_start(), at))
}

/// The value of the varint field whose tag was just read.
#[inline(always)]
pub(crate) fn read_varint(reader: &mut Reader<'_>, at: &'static str) -> Res<u64> {
    reader.read_varint().map_err(|e| wire(e, at))
}

/// The value of the fixed64 field whose tag was just read.
#[inline(always)]
pub(crate) fn read_fixed64(reader: &mut Reader<'_>, at: &'static str) -> Res<u64> {
    reader.read_fixed64().map_err(|e| wire(e, at))
}

/// The value of the fixed32 field whose tag was just read.
#[inline(always)]
pub(crate) fn read_fixed32(reader: &mut Reader<'_>, at: &'static str) -> Res<u32> {
    reader.read_fixed32().map_err(|e| wire(e, at))
}

/// Steps over the value of the field whose tag was just read, in a message whose fields an
/// earlier pass has checked.
#[inline]
pub(crate) fn pass(reader: &mut Reader<'_>, tag: u32, at: &'static str) -> Res<()> {
    match reader.read_value(tag) {
        Ok(_) => Ok(()),
        Err(e) => Err(wire(e, at)),
    }
}

/// The `known` set of [`Msg::other`] for a dispatch on `tags`: bit `n` set for the number `n`
/// of each (numbers below 32, checked when the constant is built).
pub(crate) const fn fields(tags: &[u32]) -> u32 {
    let mut known = 0;
    let mut i = 0;
    while i < tags.len() {
        let number = tags[i] >> 3;
        assert!(number < 32, "field numbers of a `known` set stay below 32");
        known |= 1 << number;
        i += 1;
    }
    known
}

/// The tag of field `number` with wire type `wire_type` (0 varint, 1 fixed64, 2 length-
/// delimited, 5 fixed32), as [`next_tag`] returns it.
pub(crate) const fn tag(number: u32, wire_type: u32) -> u32 {
    number << 3 | wire_type
}

#[cold]
#[inline(never)]
fn wire(e: WireError, at: &'static str) -> Fail {
    Fail::from(ConvertError::Malformed {
        at: at.to_string(),
        offset: e.offset,
        reason: e.to_string(),
    })
}

#[cold]
#[inline(never)]
fn recursion(f: &Field<'_>, at: &'static str) -> Fail {
    recursion_at(f.start, at)
}

#[cold]
#[inline(never)]
fn recursion_at(offset: usize, at: &'static str) -> Fail {
    Fail::from(ConvertError::Malformed {
        at: at.to_string(),
        offset,
        reason: "recursion limit reached (messages nested more than 100 deep)".to_string(),
    })
}

#[cold]
#[inline(never)]
fn malformed(f: &Field<'_>, at: &'static str, reason: String) -> Fail {
    malformed_at(f.start, at, reason)
}

#[cold]
#[inline(never)]
fn malformed_at(offset: usize, at: &'static str, reason: String) -> Fail {
    Fail::from(ConvertError::Malformed {
        at: at.to_string(),
        offset,
        reason,
    })
}

#[cold]
#[inline(never)]
fn wrong_type(f: &Field<'_>, at: &'static str) -> Fail {
    Fail::from(ConvertError::Malformed {
        at: at.to_string(),
        offset: f.start,
        reason: format!(
            "field {} has wire type {:?}, which its declared type does not allow",
            f.number,
            f.value.wire_type()
        ),
    })
}

#[cold]
#[inline(never)]
fn bad_utf8(f: &Field<'_>, at: &'static str) -> Fail {
    bad_utf8_at(f.start, at)
}

#[cold]
#[inline(never)]
fn bad_utf8_at(offset: usize, at: &'static str) -> Fail {
    Fail::from(ConvertError::InvalidUtf8 {
        at: at.to_string(),
        offset,
    })
}

/// A varint field's value.
#[inline]
pub(crate) fn varint(f: &Field<'_>, at: &'static str) -> Res<u64> {
    match f.value {
        Value::Varint(v) => Ok(v),
        _ => Err(wrong_type(f, at)),
    }
}

/// A fixed64 / sfixed64 / double field's raw bits.
#[inline]
pub(crate) fn fixed64(f: &Field<'_>, at: &'static str) -> Res<u64> {
    match f.value {
        Value::Fixed64(v) => Ok(v),
        _ => Err(wrong_type(f, at)),
    }
}

/// A bytes field's payload.
#[inline]
pub(crate) fn len<'a>(f: &Field<'a>, at: &'static str) -> Res<&'a [u8]> {
    match f.value {
        Value::Len(b) => Ok(b),
        _ => Err(wrong_type(f, at)),
    }
}

/// A string field's text, checked to be UTF-8.
#[inline]
pub(crate) fn string<'a>(f: &Field<'a>, at: &'static str) -> Res<Text<'a>> {
    Text::new(len(f, at)?).ok_or_else(|| bad_utf8(f, at))
}

/// The values of a packed repeated fixed64 / double field whose tag was just read (its
/// unpacked occurrences are plain fixed64 fields).
#[inline]
pub(crate) fn read_packed_fixed64(
    reader: &mut Reader<'_>,
    at: &'static str,
    mut push: impl FnMut(u64),
) -> Res<()> {
    let packed = read_len(reader, at)?;
    if !packed.len().is_multiple_of(8) {
        let reason = format!("packed fixed64 field of {} bytes", packed.len());
        return Err(malformed_at(reader.field_start(), at, reason));
    }
    for chunk in packed.chunks_exact(8) {
        let mut bits = [0u8; 8];
        bits.copy_from_slice(chunk);
        push(u64::from_le_bytes(bits));
    }
    Ok(())
}

/// The values of a repeated varint field occurrence, packed or not.
#[inline]
pub(crate) fn repeated_varint(
    f: &Field<'_>,
    at: &'static str,
    mut push: impl FnMut(u64),
) -> Res<()> {
    match f.value {
        Value::Varint(v) => push(v),
        Value::Len(mut packed) => {
            while !packed.is_empty() {
                let (v, used) = decode_varint(packed)
                    .map_err(|kind| malformed(f, at, format!("packed varint field: {kind:?}")))?;
                push(v);
                packed = &packed[used..];
            }
        }
        _ => return Err(wrong_type(f, at)),
    }
    Ok(())
}

/// prost's `sint32`: zigzag of the low 32 bits.
#[inline]
pub(crate) fn sint32(v: u64) -> i32 {
    let v = v as u32;
    ((v >> 1) as i32) ^ (-((v & 1) as i32))
}

/// All occurrences of one singular message field of a message, read as if concatenated (which
/// is how protobuf merges them). Holds the first occurrence; the rare others are found again
/// by re-reading the parent.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parts<'a> {
    parent: Msg<'a>,
    number: u32,
    first: Option<Msg<'a>>,
    count: u32,
}

impl<'a> Parts<'a> {
    pub(crate) fn new(parent: Msg<'a>, number: u32) -> Self {
        Parts {
            parent,
            number,
            first: None,
            count: 0,
        }
    }

    /// Records one occurrence (already checked with `Msg::sub`).
    #[inline]
    pub(crate) fn add(&mut self, part: Msg<'a>) {
        if self.first.is_none() {
            self.first = Some(part);
        }
        self.count += 1;
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The occurrence, if there is exactly one (the usual case).
    #[inline]
    pub(crate) fn single(&self) -> Option<Msg<'a>> {
        if self.count == 1 { self.first } else { None }
    }

    /// Calls `f` on each occurrence, in order.
    pub(crate) fn each(&self, at: &'static str, mut f: impl FnMut(Msg<'a>) -> Res<()>) -> Res<()> {
        match (self.count, self.first) {
            (0, _) | (_, None) => Ok(()),
            (1, Some(first)) => f(first),
            _ => {
                let mut r = self.parent.reader();
                while let Some(field) = next(&mut r, at)? {
                    if field.number == self.number {
                        f(self.parent.sub(&field, at)?)?;
                    }
                }
                Ok(())
            }
        }
    }
}
