//! [`Refused`]: the items refused one by one inside an accepted request (what OTLP's
//! `partial_success` reports), and the id rules that refuse them.
//!
//! Rules (OTLP spec): a span needs a 16-byte trace id and an 8-byte span id, neither all
//! zeros; its parent span id is empty or 8 bytes; each link needs a 16-byte trace id and an
//! 8-byte span id, neither all zeros. A log record's trace id is empty or 16 bytes and its span
//! id empty or 8 bytes (all zeros allowed: some SDKs say "no context" that way). Metric data
//! points are not checked (exemplar ids are optional and only carried).
//!
//! Invariants: a refused item is counted once in [`Refused::count`]; the first
//! [`Refused::MAX_REASONS`] reasons are named in [`Refused::message`], the rest summarised.
//! Nothing here allocates until an item is refused.

use std::fmt::{self, Write as _};

/// Items refused individually inside an accepted request (what `partial_success` reports).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refused {
    /// How many spans or log records were refused.
    pub count: u64,
    /// Why, naming the first few items; empty when nothing was refused.
    pub message: String,
}

impl Refused {
    /// How many reasons the message names before it summarises the rest.
    pub const MAX_REASONS: usize = 3;

    /// Whether nothing was refused.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Counts one more refused item; `reason` writes why into the message while fewer than
    /// [`MAX_REASONS`](Self::MAX_REASONS) have been named (reasons are joined with `"; "`).
    pub fn refuse(&mut self, reason: impl FnOnce(&mut String)) {
        self.count += 1;
        if self.count as usize <= Self::MAX_REASONS {
            if !self.message.is_empty() {
                self.message.push_str("; ");
            }
            reason(&mut self.message);
        }
    }

    /// Ends the message with `"; and N more {items}"` when reasons were left unnamed. Call once,
    /// after the last [`refuse`](Self::refuse) of a request.
    pub fn finish(&mut self, items: &str) {
        if self.count as usize > Self::MAX_REASONS {
            let _ = write!(
                self.message,
                "; and {} more {items}",
                self.count as usize - Self::MAX_REASONS
            );
        }
    }
}

/// Why an item is refused; displays as the receiver words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal<'a> {
    /// A span, by name (UTF-8, already checked).
    Span { name: &'a [u8], problem: IdProblem },
    /// A log record.
    LogRecord(IdProblem),
}

impl fmt::Display for Refusal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Span { name, problem } => {
                write!(
                    f,
                    "span {:?} refused: {problem}",
                    String::from_utf8_lossy(name)
                )
            }
            Refusal::LogRecord(problem) => write!(f, "log record refused: {problem}"),
        }
    }
}

/// Why one id is unacceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IdProblem {
    /// The id has `len` bytes instead of `want`.
    Length {
        what: &'static str,
        len: usize,
        want: usize,
    },
    /// The id is all zeros.
    Zeros { what: &'static str },
}

impl fmt::Display for IdProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            IdProblem::Length { what, len, want } => {
                write!(f, "{what} has {len} bytes, want {want}")
            }
            IdProblem::Zeros { what } => write!(f, "{what} is all zeros"),
        }
    }
}

/// A span or link id: `want` bytes, not all zeros; empty is also fine when `may_be_empty`.
#[inline]
pub(super) fn span_id_problem(
    what: &'static str,
    id: &[u8],
    want: usize,
    may_be_empty: bool,
) -> Option<IdProblem> {
    if id.is_empty() && may_be_empty {
        None
    } else if id.len() != want {
        Some(IdProblem::Length {
            what,
            len: id.len(),
            want,
        })
    } else if all_zeros(id) {
        Some(IdProblem::Zeros { what })
    } else {
        None
    }
}

/// Whether every byte of `id` is zero, a word at a time (ids are 8 or 16 bytes).
#[inline(always)]
fn all_zeros(id: &[u8]) -> bool {
    let (words, tail) = id.as_chunks::<8>();
    words.iter().all(|w| u64::from_ne_bytes(*w) == 0) && tail.iter().all(|&b| b == 0)
}

/// A log record's id: empty or `want` bytes (all zeros allowed).
#[inline]
pub(super) fn log_id_problem(what: &'static str, id: &[u8], want: usize) -> Option<IdProblem> {
    (!id.is_empty() && id.len() != want).then_some(IdProblem::Length {
        what,
        len: id.len(),
        want,
    })
}
