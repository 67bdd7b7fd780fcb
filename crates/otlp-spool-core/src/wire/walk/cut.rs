//! Cutting refused items out of a request's bytes.
//!
//! A refusable item (span, log record) is a field of a scope entry, which is a field of a
//! resource entry, which is a field of the request: two length-delimited containers lie
//! between the request and an item. Removing an item removes its field's bytes and shrinks
//! both containers' length prefixes (whose varints may shrink too).
//!
//! Invariants: every byte outside the cut fields and the two rewritten length prefixes is
//! copied unchanged and in order (tags as they were, even non-minimal ones); a container
//! without cuts is copied as one slice. Runs only on a request the walk has accepted, so the
//! framing cannot fail here; should it ever, the error is returned, never a panic.

use std::ops::Range;

use crate::wire::{Reader, Value, WireError, decode_varint, put_varint, varint_len};

/// Containers between the request and an item: a resource entry and a scope entry.
const CONTAINERS: u32 = 2;

/// `body` without the fields at `cuts` (sorted, each the byte range of one item's field).
pub(super) fn without(body: &[u8], cuts: &[Range<usize>]) -> Result<Vec<u8>, WireError> {
    let len = shrunk_len(body, 0..body.len(), cuts, CONTAINERS)?;
    let mut out = Vec::with_capacity(len);
    write(body, 0..body.len(), cuts, CONTAINERS, &mut out)?;
    Ok(out)
}

/// One field of a message payload, with the cuts that fall inside it.
struct Part<'c> {
    range: Range<usize>,
    /// Start of the field's payload when it is length-delimited.
    payload_start: usize,
    cuts: &'c [Range<usize>],
}

/// Calls `each` for every field of the message payload `body[payload]`, handing it the cuts
/// inside that field (a slice of `cuts`, which must all lie inside the payload).
fn parts<'c>(
    body: &[u8],
    payload: Range<usize>,
    mut cuts: &'c [Range<usize>],
    mut each: impl FnMut(Part<'c>) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let mut reader = Reader::with_base(&body[payload.clone()], payload.start);
    while let Some(field) = reader.next_field()? {
        let inside = cuts.iter().take_while(|c| c.start < field.end).count();
        let (mine, rest) = cuts.split_at(inside);
        cuts = rest;
        let payload_start = match field.value {
            Value::Len(p) => field.end - p.len(),
            _ => field.end,
        };
        each(Part {
            range: field.start..field.end,
            payload_start,
            cuts: mine,
        })?;
    }
    Ok(())
}

/// The length of `body[payload]` once the cuts are removed, `levels` containers above the items.
fn shrunk_len(
    body: &[u8],
    payload: Range<usize>,
    cuts: &[Range<usize>],
    levels: u32,
) -> Result<usize, WireError> {
    let mut len = payload.len();
    parts(body, payload, cuts, |part| {
        if part.cuts.is_empty() {
            return Ok(());
        }
        let old = part.range.len();
        let new = if levels == 0 {
            0
        } else {
            let inner = shrunk_len(
                body,
                part.payload_start..part.range.end,
                part.cuts,
                levels - 1,
            )?;
            tag_len(body, part.range.start) + varint_len(inner as u64) + inner
        };
        len -= old - new;
        Ok(())
    })?;
    Ok(len)
}

/// Appends `body[payload]` without the cuts, `levels` containers above the items.
fn write(
    body: &[u8],
    payload: Range<usize>,
    cuts: &[Range<usize>],
    levels: u32,
    out: &mut Vec<u8>,
) -> Result<(), WireError> {
    parts(body, payload, cuts, |part| {
        if part.cuts.is_empty() {
            out.extend_from_slice(&body[part.range]);
        } else if levels > 0 {
            let inner = part.payload_start..part.range.end;
            let len = shrunk_len(body, inner.clone(), part.cuts, levels - 1)?;
            let tag = tag_len(body, part.range.start);
            out.extend_from_slice(&body[part.range.start..part.range.start + tag]);
            put_varint(out, len as u64);
            write(body, inner, part.cuts, levels - 1, out)?;
        }
        // levels == 0 with a cut: this field is a refused item, left out.
        Ok(())
    })
}

/// The length of the tag varint at `body[at..]` (already framed by the reader).
fn tag_len(body: &[u8], at: usize) -> usize {
    decode_varint(&body[at..]).map_or(0, |(_, used)| used)
}
