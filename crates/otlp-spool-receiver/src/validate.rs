//! Id validation: items the pipeline could not store faithfully are refused one by one, the
//! rest of the request goes on.
//!
//! Rules (OTLP spec): a span needs a 16-byte trace id and an 8-byte span id, neither all
//! zeros; its parent span id is empty or 8 bytes; each link needs a 16-byte trace id and an
//! 8-byte span id. A log record's trace id is empty or 16 bytes and its span id empty or 8
//! bytes (all zeros allowed: no context). Metric data points are not checked (exemplar ids
//! are optional and only carried).
//!
//! Invariants: a refused item is removed from the request, counted once in [`Refused::count`],
//! and the first few reasons are named in [`Refused::message`]; valid items are untouched and
//! keep their order.
//!
//! These rules run on the prost form, inside the stand-in `validate_protobuf` (decode.rs);
//! the validating protobuf walker of `otlp-spool-core` applies the same rules to the bytes.

use std::fmt::Write as _;

use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::Span;
use otlp_spool_core::ExportRequest;

/// How many reasons the message names before it summarises.
const MAX_REASONS: usize = 3;

/// Items refused individually inside an accepted request (what `partial_success` reports).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refused {
    /// How many spans or log records were refused.
    pub count: u64,
    /// Why, naming the first few items; empty when nothing was refused.
    pub message: String,
}

impl Refused {
    /// Whether nothing was refused.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn refuse(&mut self, reason: impl FnOnce(&mut String)) {
        self.count += 1;
        if self.count as usize <= MAX_REASONS {
            if !self.message.is_empty() {
                self.message.push_str("; ");
            }
            reason(&mut self.message);
        }
    }

    fn finish(&mut self, what: &str) {
        if self.count as usize > MAX_REASONS {
            let _ = write!(
                self.message,
                "; and {} more {what}",
                self.count as usize - MAX_REASONS
            );
        }
    }
}

/// Removes the items with invalid ids from `request` and reports them.
pub fn validate(request: &mut ExportRequest) -> Refused {
    let mut refused = Refused::default();
    match request {
        ExportRequest::Traces(request) => {
            for scope in request
                .resource_spans
                .iter_mut()
                .flat_map(|r| r.scope_spans.iter_mut())
            {
                scope.spans.retain(|span| match span_problem(span) {
                    None => true,
                    Some(problem) => {
                        refused.refuse(|m| {
                            let _ = write!(m, "span {:?} refused: {problem}", span.name);
                        });
                        false
                    }
                });
            }
            refused.finish("spans");
        }
        ExportRequest::Logs(request) => {
            for scope in request
                .resource_logs
                .iter_mut()
                .flat_map(|r| r.scope_logs.iter_mut())
            {
                scope
                    .log_records
                    .retain(|record| match log_problem(record) {
                        None => true,
                        Some(problem) => {
                            refused.refuse(|m| {
                                let _ = write!(m, "log record refused: {problem}");
                            });
                            false
                        }
                    });
            }
            refused.finish("log records");
        }
        ExportRequest::Metrics(_) => {}
    }
    refused
}

fn span_problem(span: &Span) -> Option<String> {
    id_problem("trace id", &span.trace_id, 16, false)
        .or_else(|| id_problem("span id", &span.span_id, 8, false))
        .or_else(|| id_problem("parent span id", &span.parent_span_id, 8, true))
        .or_else(|| {
            span.links.iter().find_map(|link| {
                id_problem("link trace id", &link.trace_id, 16, false)
                    .or_else(|| id_problem("link span id", &link.span_id, 8, false))
            })
        })
}

fn log_problem(record: &LogRecord) -> Option<String> {
    // All zeros is how some SDKs say "no context" on a log record: allowed, only lengths count.
    let length = |what: &str, id: &[u8], len: usize| {
        (!id.is_empty() && id.len() != len)
            .then(|| format!("{what} has {} bytes, want {len}", id.len()))
    };
    length("trace id", &record.trace_id, 16).or_else(|| length("span id", &record.span_id, 8))
}

fn id_problem(what: &str, id: &[u8], len: usize, may_be_empty: bool) -> Option<String> {
    if id.is_empty() && may_be_empty {
        None
    } else if id.len() != len {
        Some(format!("{what} has {} bytes, want {len}", id.len()))
    } else if id.iter().all(|&b| b == 0) {
        Some(format!("{what} is all zeros"))
    } else {
        None
    }
}
