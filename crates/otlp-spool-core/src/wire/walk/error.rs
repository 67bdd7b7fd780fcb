//! [`WalkError`]: what is wrong with a request, where (byte offset) and in which field (path).
//!
//! Inside the walker a failure travels as [`Fail`], one pointer wide so that the happy path's
//! `Result<(), Fail>` costs a register; each enclosing message adds its path segment while the
//! failure unwinds, so no path is built unless something is wrong.

use std::fmt::{self, Write as _};

use crate::wire::{WireError, WireErrorKind, WireType};

/// A request the walker refuses as a whole: malformed protobuf, a field of the wrong wire type,
/// invalid UTF-8, or nesting beyond a limit.
///
/// Displays as `path: what, at byte N`, for example
/// `resource_spans[0].scope_spans[1].spans[7].attributes[2].value: AnyValue nesting depth 32
/// exceeds the limit of 31, at byte 1234`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", Described(self))]
pub struct WalkError {
    /// What is wrong.
    pub kind: WalkErrorKind,
    /// Byte offset in the request of the field (its tag) where the problem was found.
    pub offset: usize,
    /// Where in the request, in proto field names with repeated-field indices:
    /// `resource_spans[0].scope_spans[1].spans[7].name`; empty for the request itself.
    pub path: String,
}

struct Described<'a>(&'a WalkError);

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        if !e.path.is_empty() {
            write!(f, "{}: ", e.path)?;
        }
        write!(f, "{}, at byte {}", e.kind, e.offset)
    }
}

/// The kinds of [`WalkError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WalkErrorKind {
    /// The bytes do not frame as protobuf (see [`WireErrorKind`]).
    Malformed(WireErrorKind),
    /// A known field arrived with a wire type its type does not allow.
    WrongWireType {
        /// The field number.
        field: u32,
        /// The wire type the field's type is encoded with.
        expected: WireType,
        /// The wire type on the wire.
        found: WireType,
    },
    /// A string field holds bytes that are not UTF-8.
    InvalidUtf8,
    /// A packed repeated field whose length is not a whole number of its elements.
    PackedLength,
    /// AnyValues nested deeper than [`WalkLimits::max_depth`](super::WalkLimits::max_depth).
    TooDeep {
        /// The nesting level reached (an attribute's value is level 1).
        depth: u32,
        /// The configured limit.
        limit: u32,
    },
    /// Messages nested deeper than prost's recursion limit of 100 levels (the request itself
    /// is level 0), which no prost decoder would accept.
    RecursionLimit {
        /// The message nesting level reached.
        depth: u32,
    },
}

impl fmt::Display for WalkErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WalkErrorKind::Malformed(kind) => write!(f, "malformed protobuf ({kind})"),
            WalkErrorKind::WrongWireType {
                field,
                expected,
                found,
            } => write!(
                f,
                "field {field} has wire type {found:?}, want {expected:?}"
            ),
            WalkErrorKind::InvalidUtf8 => f.write_str("string is not valid UTF-8"),
            WalkErrorKind::PackedLength => {
                f.write_str("packed field length is not a whole number of elements")
            }
            WalkErrorKind::TooDeep { depth, limit } => {
                write!(
                    f,
                    "AnyValue nesting depth {depth} exceeds the limit of {limit}"
                )
            }
            WalkErrorKind::RecursionLimit { depth } => write!(
                f,
                "message nesting depth {depth} exceeds the protobuf recursion limit of {}",
                super::RECURSION_LIMIT
            ),
        }
    }
}

/// A failure inside the walker, on its way out.
#[derive(Debug)]
pub(super) struct Fail(Box<Failure>);

#[derive(Debug)]
struct Failure {
    kind: WalkErrorKind,
    offset: usize,
    /// Innermost segment first.
    path: Vec<(&'static str, Option<u32>)>,
}

impl Fail {
    #[cold]
    #[inline(never)]
    pub(super) fn new(kind: WalkErrorKind, offset: usize) -> Fail {
        Fail(Box::new(Failure {
            kind,
            offset,
            path: Vec::new(),
        }))
    }

    /// Adds the segment of the field the failure happened in (`name`, or `name[index]` for a
    /// repeated field).
    #[cold]
    #[inline(never)]
    pub(super) fn at(mut self, name: &'static str, index: Option<u32>) -> Fail {
        self.0.path.push((name, index));
        self
    }

    pub(super) fn into_error(self) -> WalkError {
        let Failure { kind, offset, path } = *self.0;
        let mut text = String::new();
        for (i, (name, index)) in path.iter().rev().enumerate() {
            if i > 0 {
                text.push('.');
            }
            text.push_str(name);
            if let Some(index) = index {
                let _ = write!(text, "[{index}]");
            }
        }
        WalkError {
            kind,
            offset,
            path: text,
        }
    }
}

impl From<WireError> for Fail {
    #[cold]
    #[inline(never)]
    fn from(e: WireError) -> Fail {
        Fail::new(WalkErrorKind::Malformed(e.kind), e.offset)
    }
}

/// Adds `name[index]` to a failure of the `index`-th item of a repeated field, and counts the
/// item.
#[inline(always)]
pub(super) fn nth<T>(
    result: Result<T, Fail>,
    name: &'static str,
    index: &mut u32,
) -> Result<T, Fail> {
    let i = *index;
    *index = i.wrapping_add(1);
    match result {
        Ok(v) => Ok(v),
        Err(e) => Err(e.at(name, Some(i))),
    }
}

/// Adds `name` to a failure inside a singular field.
#[inline(always)]
pub(super) fn within<T>(result: Result<T, Fail>, name: &'static str) -> Result<T, Fail> {
    match result {
        Ok(v) => Ok(v),
        Err(e) => Err(e.at(name, None)),
    }
}
