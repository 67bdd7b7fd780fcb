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

use std::ops::Range;

use bytes::Bytes;

pub use error::{WalkError, WalkErrorKind};
pub use refused::Refused;
pub use stats::WireStats;

use crate::Signal;
use crate::wire::{Field, MAX_GROUP_DEPTH, Reader, Value, WireType, decode_varint};
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
/// assert_eq!(err.unwrap_err().to_string(), "malformed protobuf (truncated field), at byte 0");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn walk(signal: Signal, body: Bytes, limits: &WalkLimits) -> Result<Walked, WalkError> {
    let mut walker = Walker {
        max_depth: limits.max_depth,
        items: 0,
        stats: WireStats::default(),
        refused: Refused::default(),
        cuts: Vec::new(),
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
}

/// One message: its payload, where that starts in the request, and its nesting level (the
/// request is 0).
#[derive(Debug, Clone, Copy)]
struct Msg<'a> {
    buf: &'a [u8],
    base: usize,
    depth: u32,
}

impl<'a> Msg<'a> {
    /// A reader over the message's fields, with the group budget prost would have left.
    #[inline(always)]
    fn fields(self) -> Reader<'a> {
        Reader::with_base(self.buf, self.base).with_group_budget(RECURSION_LIMIT - self.depth)
    }

    /// The sub-message in field `f`.
    #[inline(always)]
    fn sub(self, f: &Field<'a>) -> Result<Msg<'a>, Fail> {
        match f.value {
            Value::Len(payload) if self.depth < RECURSION_LIMIT => Ok(Msg {
                buf: payload,
                base: f.end - payload.len(),
                depth: self.depth + 1,
            }),
            Value::Len(_) => Err(Fail::new(
                WalkErrorKind::RecursionLimit {
                    depth: self.depth + 1,
                },
                f.start,
            )),
            _ => Err(wrong_type(f, WireType::Len)),
        }
    }

    /// A field this message does not define: skipped, as prost skips it (the reader has
    /// already framed it, groups within the budget).
    #[inline(always)]
    fn unknown(self, f: &Field<'a>) -> Result<(), Fail> {
        if self.depth < RECURSION_LIMIT {
            Ok(())
        } else {
            Err(Fail::new(
                WalkErrorKind::RecursionLimit {
                    depth: self.depth + 1,
                },
                f.start,
            ))
        }
    }
}

#[cold]
#[inline(never)]
fn wrong_type(f: &Field<'_>, expected: WireType) -> Fail {
    Fail::new(
        WalkErrorKind::WrongWireType {
            field: f.number,
            expected,
            found: f.value.wire_type(),
        },
        f.start,
    )
}

/// A varint scalar (int32, int64, uint32, uint64, sint32, bool, enum).
#[inline(always)]
fn varint(f: &Field<'_>, name: &'static str) -> Result<u64, Fail> {
    match f.value {
        Value::Varint(v) => Ok(v),
        _ => Err(wrong_type(f, WireType::Varint).at(name, None)),
    }
}

/// A fixed64, sfixed64 or double scalar.
#[inline(always)]
fn fixed64(f: &Field<'_>, name: &'static str) -> Result<u64, Fail> {
    match f.value {
        Value::Fixed64(v) => Ok(v),
        _ => Err(wrong_type(f, WireType::Fixed64).at(name, None)),
    }
}

/// A fixed32 scalar.
#[inline(always)]
fn fixed32(f: &Field<'_>, name: &'static str) -> Result<u32, Fail> {
    match f.value {
        Value::Fixed32(v) => Ok(v),
        _ => Err(wrong_type(f, WireType::Fixed32).at(name, None)),
    }
}

/// Whether `s` is UTF-8, with a fast path for ASCII (nearly every OTLP string).
#[inline(always)]
fn is_utf8(s: &[u8]) -> bool {
    s.is_ascii() || std::str::from_utf8(s).is_ok()
}

impl Walker {
    /// A string field, checked for UTF-8 as prost checks it.
    #[inline(always)]
    fn string<'a>(&mut self, f: &Field<'a>, name: &'static str) -> Result<&'a [u8], Fail> {
        match self.string_value(f) {
            Ok(s) => Ok(s),
            Err(e) => Err(e.at(name, None)),
        }
    }

    /// [`string`](Self::string) without the path segment (for repeated strings).
    #[inline(always)]
    fn string_value<'a>(&mut self, f: &Field<'a>) -> Result<&'a [u8], Fail> {
        match f.value {
            Value::Len(s) if is_utf8(s) => {
                self.stats.string_bytes += s.len() as u64;
                Ok(s)
            }
            Value::Len(_) => Err(Fail::new(WalkErrorKind::InvalidUtf8, f.start)),
            _ => Err(wrong_type(f, WireType::Len)),
        }
    }

    /// A bytes field.
    #[inline(always)]
    fn bytes<'a>(&mut self, f: &Field<'a>, name: &'static str) -> Result<&'a [u8], Fail> {
        match f.value {
            Value::Len(b) => {
                self.stats.bytes_bytes += b.len() as u64;
                Ok(b)
            }
            _ => Err(wrong_type(f, WireType::Len).at(name, None)),
        }
    }

    /// A repeated fixed64 or double field: packed (a whole number of 8-byte values) or one
    /// value unpacked. Counted as buckets.
    #[inline]
    fn packed_fixed64(&mut self, f: &Field<'_>, name: &'static str) -> Result<(), Fail> {
        let n = match f.value {
            Value::Len(p) if p.len() % 8 == 0 => p.len() / 8,
            Value::Len(_) => {
                return Err(Fail::new(WalkErrorKind::PackedLength, f.start).at(name, None));
            }
            Value::Fixed64(_) => 1,
            _ => return Err(wrong_type(f, WireType::Fixed64).at(name, None)),
        };
        self.stats.buckets += n as u64;
        Ok(())
    }

    /// A repeated uint64 field: packed (varints filling the payload exactly) or one value
    /// unpacked. Counted as buckets.
    #[inline]
    fn packed_varint(&mut self, f: &Field<'_>, name: &'static str) -> Result<(), Fail> {
        let n = match f.value {
            Value::Len(mut p) => {
                let mut n = 0u64;
                while !p.is_empty() {
                    match decode_varint(p) {
                        Ok((_, used)) => p = &p[used..],
                        Err(crate::wire::WireErrorKind::Truncated) => {
                            return Err(
                                Fail::new(WalkErrorKind::PackedLength, f.start).at(name, None)
                            );
                        }
                        Err(kind) => {
                            return Err(
                                Fail::new(WalkErrorKind::Malformed(kind), f.start).at(name, None)
                            );
                        }
                    }
                    n += 1;
                }
                n
            }
            Value::Varint(_) => 1,
            _ => return Err(wrong_type(f, WireType::Varint).at(name, None)),
        };
        self.stats.buckets += n;
        Ok(())
    }
}
