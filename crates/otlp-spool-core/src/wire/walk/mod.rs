//! [`walk`]: validates an OTLP export request in one pass over its protobuf bytes, without
//! building prost messages, counts its items, and cuts out the items it refuses.
//!
//! The walker knows the field numbers and wire types of `ExportTraceServiceRequest`,
//! `ExportMetricsServiceRequest`, `ExportLogsServiceRequest` and every message below them in
//! opentelemetry-proto 0.33 (common.v1 with `EntityRef` and the profiles-only `*_strindex`
//! fields, resource.v1 with `entity_refs`, logs with `event_name`, metrics with `metadata`,
//! exemplars, exponential histogram buckets and summary quantiles).
//!
//! # Invariants
//! * **Walker accepts => prost decodes.** Every request `walk` accepts, prost decodes, and the
//!   output bytes prost-decode to the input's prost decoding with the refused items removed.
//! * **prost refuses => walker refuses.** The walker accepts exactly what prost accepts, except
//!   AnyValues nested deeper than [`WalkLimits::max_depth`], which it refuses on purpose. That
//!   means: framing as [`Reader`] reads it; a known field with another wire type is an error,
//!   except repeated scalars, accepted packed and unpacked; strings must be UTF-8; unknown
//!   fields are skipped by wire type; fields may come in any order and a singular field may
//!   repeat (prost merges: last scalar wins, sub-messages merge, a oneof switches variant);
//!   messages nest at most 100 levels, the request being level 0, and a message at level 100
//!   may carry no unknown field (prost's recursion limit, groups included).
//! * **Bounded stack.** Only AnyValue recurses without a fixed bound in the schema; the walker
//!   checks both depth limits *before* descending, so recursion is at most 100 frames of small
//!   functions whatever the input (a 10 000-level value is refused at level `max_depth + 1`).
//! * **Refused items are cut out, and counted.** A span without a valid 16-byte trace id and
//!   8-byte span id (both non-zero), with a parent span id that is neither empty nor 8 bytes, or
//!   with a link lacking valid ids, and a log record whose trace id is neither empty nor 16
//!   bytes or whose span id is neither empty nor 8 bytes, is removed from the output bytes (its
//!   field and nothing else; the two enclosing length prefixes are rewritten) and counted in
//!   [`Walked::refused`], with the first reasons named as the receiver names them. Metric data
//!   points are not checked.
//! * **Zero copy, no allocation when nothing is refused.** The output is then the input
//!   [`Bytes`] itself; the walk allocates only to describe an error or a refused item.
//! * Never panics, whatever the bytes; every failure is a [`WalkError`] naming the byte offset
//!   and the field path.

mod common;
mod cut;
mod envelope;
mod error;
mod logs;
mod metrics;
mod refused;
mod stats;
mod traces;
mod value;

use std::ops::Range;

use bytes::Bytes;

pub use error::{WalkError, WalkErrorKind};
pub use refused::Refused;
pub use stats::WireStats;

use crate::Signal;
use crate::wire::{MAX_GROUP_DEPTH, Reader, WireErrorKind, WireType, decode_varint, is_utf8};
use error::Fail;

/// prost's recursion limit: how many message levels may nest below the request.
const RECURSION_LIMIT: u32 = MAX_GROUP_DEPTH;

/// Limits a walk enforces beyond what prost itself refuses.
///
/// ```
/// use otlp_spool_core::wire::WalkLimits;
/// let limits = WalkLimits::default().with_max_depth(8);
/// assert_eq!(limits.max_depth(), 8);
/// assert_eq!(WalkLimits::default().max_depth(), WalkLimits::DEFAULT_MAX_DEPTH);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkLimits {
    max_depth: u32,
}

impl WalkLimits {
    /// The default AnyValue nesting limit, 31 levels: the deepest that prost's 100 message
    /// levels admit on every path (an exemplar attribute's value sits 8 messages deep and each
    /// key-value list level costs 3 more), so that with the default it is always this limit,
    /// with its clear message, that stops a deep value.
    pub const DEFAULT_MAX_DEPTH: u32 = 31;

    /// The defaults.
    pub const fn new() -> Self {
        WalkLimits {
            max_depth: Self::DEFAULT_MAX_DEPTH,
        }
    }

    /// How deep AnyValues may nest: an attribute's (or a log body's) value is level 1, a value
    /// inside its array or key-value list level 2, and so on. Values below 1 count as 1.
    /// Whatever the setting, prost's 100 message levels still bound the walk.
    pub const fn with_max_depth(mut self, levels: u32) -> Self {
        self.max_depth = if levels == 0 { 1 } else { levels };
        self
    }

    /// The AnyValue nesting limit (see [`with_max_depth`](Self::with_max_depth)).
    pub const fn max_depth(&self) -> u32 {
        self.max_depth
    }
}

impl Default for WalkLimits {
    fn default() -> Self {
        Self::new()
    }
}

/// A request that passed the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walked {
    /// The request without its refused items: the input itself (same buffer, no copy) when
    /// nothing was refused.
    pub bytes: Bytes,
    /// Items in [`bytes`](Self::bytes): spans, metric data points (of every type) or log
    /// records. The input held `items + refused.count`.
    pub items: u64,
    /// The items cut out, with the first reasons.
    pub refused: Refused,
    /// What the remaining items hold, for a write-cost estimate.
    pub stats: WireStats,
}

/// Validates `body` as the export request of `signal`, counts its items and cuts out the
/// items with invalid ids (see the [module docs](self) for the rules).
///
/// ```
/// use bytes::Bytes;
/// use otlp_spool_core::Signal;
/// use otlp_spool_core::proto::collector::trace::v1::ExportTraceServiceRequest;
/// use otlp_spool_core::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
/// use otlp_spool_core::wire::{WalkLimits, walk};
/// use prost::Message;
///
/// let span = |trace_id: Vec<u8>| Span { trace_id, span_id: vec![1; 8], ..Default::default() };
/// let request = ExportTraceServiceRequest {
///     resource_spans: vec![ResourceSpans {
///         scope_spans: vec![ScopeSpans {
///             spans: vec![span(vec![7; 16]), span(vec![7; 3])],
///             ..Default::default()
///         }],
///         ..Default::default()
///     }],
/// };
/// let walked = walk(Signal::Traces, Bytes::from(request.encode_to_vec()), &WalkLimits::default())?;
/// assert_eq!((walked.items, walked.refused.count), (1, 1));
/// assert_eq!(walked.refused.message, r#"span "" refused: trace id has 3 bytes, want 16"#);
/// let kept = ExportTraceServiceRequest::decode(walked.bytes)?;
/// assert_eq!(kept.resource_spans[0].scope_spans[0].spans, vec![span(vec![7; 16])]);
///
/// let err = walk(Signal::Traces, Bytes::from_static(&[0x0a, 0x05, 0x12]), &WalkLimits::default());
/// let err = err.unwrap_err().to_string();
/// assert_eq!(err, "resource_spans[0]: malformed protobuf (truncated field), at byte 0");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn walk(signal: Signal, body: Bytes, limits: &WalkLimits) -> Result<Walked, WalkError> {
    let mut walker = Walker {
        max_depth: limits.max_depth,
        items: 0,
        stats: WireStats::default(),
        refused: Refused::default(),
        cuts: Vec::new(),
        stack: [value::Frame::default(); value::STACK],
    };
    let request = Msg {
        buf: &body,
        base: 0,
        depth: 0,
    };
    walker.request(request, signal).map_err(Fail::into_error)?;
    walker.refused.finish(match signal {
        Signal::Traces => "spans",
        Signal::Metrics => "data points",
        Signal::Logs => "log records",
    });
    let bytes = if walker.cuts.is_empty() {
        body
    } else {
        Bytes::from(cut::without(&body, &walker.cuts).map_err(|e| Fail::from(e).into_error())?)
    };
    Ok(Walked {
        bytes,
        items: walker.items,
        refused: walker.refused,
        stats: walker.stats,
    })
}

/// The state of one walk.
struct Walker {
    max_depth: u32,
    items: u64,
    stats: WireStats,
    refused: Refused,
    /// Byte ranges of the refused items' fields, in order.
    cuts: Vec<Range<usize>>,
    /// The open messages of a value walk (see [`value`]).
    stack: [value::Frame; value::STACK],
}

/// One message: its payload, where that starts in the request, and its nesting level (the
/// request is 0).
#[derive(Debug, Clone, Copy)]
struct Msg<'a> {
    buf: &'a [u8],
    base: usize,
    depth: u32,
}

/// Declares a message's known fields: one `const NAME: u32` tag per (field, wire type), to
/// match [`Reader::next_tag`] against, and `FIELDS`, the table [`Msg::other`] consults for
/// tags no arm matched. A repeated scalar lists both its wire types (unpacked first).
macro_rules! fields {
    ($vis:vis $($name:ident = $number:literal $wire:ident $proto:literal;)*) => {
        $($vis const $name: u32 = $crate::wire::tag($number, $crate::wire::WireType::$wire);)*
        $vis const FIELDS: &[(u32, $crate::wire::WireType, &'static str)] =
            &[$(($number, $crate::wire::WireType::$wire, $proto)),*];
    };
}
use fields;

impl<'a> Msg<'a> {
    /// A reader over the message's fields, with the group budget prost would have left.
    #[inline(always)]
    fn reader(self) -> Reader<'a> {
        Reader::with_base(self.buf, self.base).with_group_budget(RECURSION_LIMIT - self.depth)
    }

    /// Reads the length-delimited value of the current field as a sub-message.
    #[inline(always)]
    fn sub(self, r: &mut Reader<'a>) -> Result<Msg<'a>, Fail> {
        let payload = r.read_len()?;
        if self.depth < RECURSION_LIMIT {
            Ok(Msg {
                buf: payload,
                base: r.offset() - payload.len(),
                depth: self.depth + 1,
            })
        } else {
            Err(self.too_deep(r))
        }
    }

    #[cold]
    #[inline(never)]
    fn too_deep(self, r: &Reader<'a>) -> Fail {
        Fail::new(
            WalkErrorKind::RecursionLimit {
                depth: self.depth + 1,
            },
            r.field_start(),
        )
    }

    /// A tag no arm of the message matched (see [`other`]).
    #[inline(always)]
    fn other(self, r: &mut Reader<'a>, tag: u32, fields: &[Known]) -> Result<(), Fail> {
        other(r, tag, self.depth, fields)
    }
}

/// A known field of a message: number, wire type, proto name (see `fields!`).
type Known = (u32, WireType, &'static str);

/// A tag no arm of a message at `depth` matched: a known field (in `fields`) with another wire
/// type is an error; an unknown field is skipped by wire type, as prost skips it (groups within
/// the budget; nothing at all at the deepest level prost allows). Invalid tags are errors.
#[inline(never)]
fn other(r: &mut Reader<'_>, tag: u32, depth: u32, fields: &[Known]) -> Result<(), Fail> {
    let value = r.read_value(tag)?;
    let number = tag >> 3;
    if let Some(&(_, expected, name)) = fields.iter().find(|f| f.0 == number) {
        let kind = WalkErrorKind::WrongWireType {
            field: number,
            expected,
            found: value.wire_type(),
        };
        return Err(Fail::new(kind, r.field_start()).at(name, None));
    }
    if depth < RECURSION_LIMIT {
        Ok(())
    } else {
        Err(Fail::new(
            WalkErrorKind::RecursionLimit { depth: depth + 1 },
            r.field_start(),
        ))
    }
}

impl Walker {
    /// The current field as a string, checked for UTF-8 as prost checks it.
    #[inline(always)]
    fn string<'a>(&mut self, r: &mut Reader<'a>, name: &'static str) -> Result<&'a [u8], Fail> {
        match self.string_value(r) {
            Ok(s) => Ok(s),
            Err(e) => Err(e.at(name, None)),
        }
    }

    /// [`string`](Self::string) without the path segment (for repeated strings).
    #[inline(always)]
    fn string_value<'a>(&mut self, r: &mut Reader<'a>) -> Result<&'a [u8], Fail> {
        let s = r.read_len()?;
        if is_utf8(s) {
            self.stats.string_bytes += s.len() as u64;
            Ok(s)
        } else {
            Err(Fail::new(WalkErrorKind::InvalidUtf8, r.field_start()))
        }
    }

    /// The current field as bytes.
    #[inline(always)]
    fn bytes<'a>(&mut self, r: &mut Reader<'a>) -> Result<&'a [u8], Fail> {
        let b = r.read_len()?;
        self.stats.bytes_bytes += b.len() as u64;
        Ok(b)
    }

    /// The current field as a packed run of fixed64 or double values (a whole number of 8-byte
    /// values). Counted as buckets.
    #[inline]
    fn packed_fixed64(&mut self, r: &mut Reader<'_>, name: &'static str) -> Result<(), Fail> {
        let p = r.read_len()?;
        if p.len() % 8 != 0 {
            return Err(Fail::new(WalkErrorKind::PackedLength, r.field_start()).at(name, None));
        }
        self.stats.buckets += (p.len() / 8) as u64;
        Ok(())
    }

    /// The current field as a packed run of varints, which must fill it exactly. Counted as
    /// buckets.
    #[inline]
    fn packed_varint(&mut self, r: &mut Reader<'_>, name: &'static str) -> Result<(), Fail> {
        let mut p = r.read_len()?;
        while !p.is_empty() {
            match decode_varint(p) {
                Ok((_, used)) => p = &p[used..],
                Err(kind) => {
                    let kind = match kind {
                        WireErrorKind::Truncated => WalkErrorKind::PackedLength,
                        other => WalkErrorKind::Malformed(other),
                    };
                    return Err(Fail::new(kind, r.field_start()).at(name, None));
                }
            }
            self.stats.buckets += 1;
        }
        Ok(())
    }
}
