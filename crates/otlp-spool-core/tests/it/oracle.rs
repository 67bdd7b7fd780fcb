//! The oracle the walker is checked against: prost's decoding, then the receiver's id
//! validation applied to the decoded request (its rules and messages, restated here on prost
//! structs so that a mistake in the walker's own rule code cannot hide itself).
//!
//! Shared by the property tests, the fuzz target (`fuzz/fuzz_targets/walk.rs`) and the bench
//! (`benches/walk.rs`) through `#[path]`, so it depends on nothing but the core crate, prost
//! and the proto types.

#![allow(dead_code, unreachable_pub)]

use std::fmt::Write as _;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::Span;
use otlp_spool_core::wire::{WalkErrorKind, WalkLimits, walk};
use otlp_spool_core::{ExportRequest, Signal};
use prost::Message;

/// Decodes `bytes` as `signal`'s export request, as prost does.
pub fn decode(signal: Signal, bytes: &[u8]) -> Result<ExportRequest, prost::DecodeError> {
    Ok(match signal {
        Signal::Traces => ExportRequest::Traces(ExportTraceServiceRequest::decode(bytes)?),
        Signal::Metrics => ExportRequest::Metrics(ExportMetricsServiceRequest::decode(bytes)?),
        Signal::Logs => ExportRequest::Logs(ExportLogsServiceRequest::decode(bytes)?),
    })
}

/// The telemetry encoded again (prost's canonical form, for comparisons that NaN cannot spoil).
pub fn encode(telemetry: &ExportRequest) -> Vec<u8> {
    match telemetry {
        ExportRequest::Traces(r) => r.encode_to_vec(),
        ExportRequest::Metrics(r) => r.encode_to_vec(),
        ExportRequest::Logs(r) => r.encode_to_vec(),
    }
}

/// The receiver's validation: removes spans and log records with invalid ids; returns how
/// many went and the message naming the first three.
pub fn validate(telemetry: &mut ExportRequest) -> (u64, String) {
    let mut count = 0u64;
    let mut message = String::new();
    let mut refuse = |reason: String| {
        count += 1;
        if count <= 3 {
            if !message.is_empty() {
                message.push_str("; ");
            }
            message.push_str(&reason);
        }
    };
    let what = match telemetry {
        ExportRequest::Traces(request) => {
            for scope in request
                .resource_spans
                .iter_mut()
                .flat_map(|r| r.scope_spans.iter_mut())
            {
                scope.spans.retain(|span| match span_problem(span) {
                    None => true,
                    Some(problem) => {
                        refuse(format!("span {:?} refused: {problem}", span.name));
                        false
                    }
                });
            }
            "spans"
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
                            refuse(format!("log record refused: {problem}"));
                            false
                        }
                    });
            }
            "log records"
        }
        ExportRequest::Metrics(_) => "data points",
    };
    if count > 3 {
        let _ = write!(message, "; and {} more {what}", count - 3);
    }
    (count, message)
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

/// How a checked input fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Both accepted, and agree; `refused` items were cut out.
    Accepted { refused: u64 },
    /// prost refused, so did the walker.
    BothRefused,
    /// prost decoded it; the walker refused it for AnyValue nesting beyond its limit (allowed).
    TooDeep,
}

/// Walks `input` and checks the walker against the oracle: walker accepts => prost decodes,
/// and then the output decodes to prost's decoding after validation, with the same item count,
/// refused count and message, and zero copy when nothing was refused; prost refuses => walker
/// refuses. `Err` describes a disagreement.
pub fn check(signal: Signal, input: &[u8], limits: &WalkLimits) -> Result<Outcome, String> {
    let body = Bytes::copy_from_slice(input);
    let walked = walk(signal, body.clone(), limits);
    let decoded = decode(signal, input);
    match (walked, decoded) {
        (Ok(walked), Ok(mut expected)) => {
            let (count, message) = validate(&mut expected);
            let out = decode(signal, &walked.bytes)
                .map_err(|e| format!("walker output does not decode: {e}"))?;
            if encode(&out) != encode(&expected) {
                return Err(format!(
                    "walker output differs from validated prost decoding:\n walker {out:?}\n prost  {expected:?}"
                ));
            }
            if walked.items != expected.item_count() as u64 {
                return Err(format!(
                    "items: walker {} prost {}",
                    walked.items,
                    expected.item_count()
                ));
            }
            if (walked.refused.count, &walked.refused.message) != (count, &message) {
                return Err(format!(
                    "refused: walker {:?} prost ({count}, {message:?})",
                    walked.refused
                ));
            }
            if count == 0 && walked.bytes.as_ptr() != body.as_ptr() {
                return Err("nothing refused, yet the output is a copy".into());
            }
            if count > 0 && walked.bytes.len() >= input.len() {
                return Err("items refused, yet the output is not shorter".into());
            }
            Ok(Outcome::Accepted { refused: count })
        }
        (Ok(walked), Err(e)) => Err(format!(
            "walker accepted ({} items) what prost refuses: {e}",
            walked.items
        )),
        (Err(e), Ok(_)) if matches!(e.kind, WalkErrorKind::TooDeep { .. }) => Ok(Outcome::TooDeep),
        (Err(e), Ok(_)) => Err(format!("walker refused what prost accepts: {e}")),
        (Err(_), Err(_)) => Ok(Outcome::BothRefused),
    }
}
