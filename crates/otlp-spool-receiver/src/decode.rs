//! Turning a request body into [`Telemetry`]: decompress with a cap, then validate the
//! protobuf bytes ([`validate_protobuf`], shared with the gRPC path) or decode OTLP/JSON and
//! encode it once (the JSON edge) before the same validation.
//!
//! Invariants:
//! * No more than `max_body_bytes` are ever produced by decompression: the decoder reads
//!   through a `take(max_body_bytes + 1)` cap, so a gzip bomb costs at most `max_body_bytes + 1`
//!   bytes of output and is refused as [`DecodeError::TooLarge`] before it is inflated further.
//! * An uncompressed body is never copied, and a request with nothing refused goes on as the
//!   very bytes that arrived: [`Telemetry::bytes`] is the received `Bytes`.
//! * A request whose write cost ([`Telemetry::write_cost`]) is over `max_decoded_bytes` is
//!   refused as [`DecodeError::TooLarge`], naming `receiver.max_decoded_size`.
//! * Nesting is bounded: the walker refuses AnyValues nested deeper than `max_nesting_depth`
//!   (default 31, the deepest prost's recursion limit of 100 message levels allows on every
//!   path) without recursing per level, serde_json's recursion limit (128 levels) refuses
//!   deeper JSON, both as [`DecodeError::Invalid`], so deep input is never a stack overflow.
//! * Every failure is a [`DecodeError`] whose message names the problem; nothing panics on input.
//!
//! [`validate_protobuf`] is the one place where request bytes are checked: one pass of the
//! validating walker of `otlp_spool_core::wire`, no prost message built.

use std::io::Read;

use bytes::Bytes;
use otlp_spool_core::wire::{Refused, WalkLimits};
use otlp_spool_core::{ExportRequest, Signal, Telemetry};

use crate::builder::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_DECODED_BYTES, DEFAULT_MAX_NESTING_DEPTH,
};

/// The limits a request is checked against (the receiver's settings).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest body, counted after decompression (`receiver.max_body_size`).
    pub max_body_bytes: usize,
    /// The largest write cost of one request (`receiver.max_decoded_size`): the memory the
    /// storage writer would need to turn it into Arrow ([`Telemetry::write_cost`]).
    pub max_decoded_bytes: usize,
    /// How deep AnyValues may nest (`receiver.max_nesting_depth`): an attribute's or a log
    /// body's value is level 1, each array or key-value list one more.
    pub max_nesting_depth: u32,
}

impl Default for Limits {
    /// The receiver's defaults: 20 MiB bodies, 64 MiB write cost, AnyValues 31 levels deep.
    fn default() -> Self {
        Limits {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_decoded_bytes: DEFAULT_MAX_DECODED_BYTES,
            max_nesting_depth: DEFAULT_MAX_NESTING_DEPTH,
        }
    }
}

impl Limits {
    /// These limits with another body limit.
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// These limits with another AnyValue nesting limit.
    pub fn with_max_nesting_depth(mut self, depth: u32) -> Self {
        self.max_nesting_depth = depth;
        self
    }

    /// These limits with another write-cost limit.
    pub fn with_max_decoded_bytes(mut self, bytes: usize) -> Self {
        self.max_decoded_bytes = bytes;
        self
    }
}

/// How an OTLP/HTTP body is encoded (its `Content-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/x-protobuf`: binary protobuf.
    Protobuf,
    /// `application/json`: the OTLP/JSON mapping (hex ids, lowerCamelCase keys, enums as
    /// integers, 64-bit integers as strings or numbers).
    Json,
}

impl Format {
    /// The format named by a `Content-Type` value (parameters such as `charset` ignored), or
    /// `None` for any other media type.
    pub fn from_content_type(value: &str) -> Option<Format> {
        let media = value.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("application/x-protobuf")
            || media.eq_ignore_ascii_case("application/protobuf")
        {
            Some(Format::Protobuf)
        } else if media.eq_ignore_ascii_case("application/json") {
            Some(Format::Json)
        } else {
            None
        }
    }

    /// The `Content-Type` of a response in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Protobuf => "application/x-protobuf",
            Format::Json => "application/json",
        }
    }
}

/// How a body is compressed (its `Content-Encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Not compressed (no header, or `identity`).
    Identity,
    /// `gzip` (or `x-gzip`).
    Gzip,
    /// `zstd`.
    Zstd,
}

impl Encoding {
    /// The encoding named by a `Content-Encoding` value, or `None` for an unsupported one.
    pub fn from_content_encoding(value: &str) -> Option<Encoding> {
        let value = value.trim();
        if value.is_empty() || value.eq_ignore_ascii_case("identity") {
            Some(Encoding::Identity)
        } else if value.eq_ignore_ascii_case("gzip") || value.eq_ignore_ascii_case("x-gzip") {
            Some(Encoding::Gzip)
        } else if value.eq_ignore_ascii_case("zstd") {
            Some(Encoding::Zstd)
        } else {
            None
        }
    }
}

/// Why a body could not be turned into telemetry. Nothing was kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Malformed protobuf or JSON, or corrupt compression (HTTP 400 / gRPC INVALID_ARGUMENT).
    #[error("{0}")]
    Invalid(String),
    /// The body, after decompression, is over the limit (HTTP 413 / gRPC RESOURCE_EXHAUSTED).
    #[error("{0}")]
    TooLarge(String),
}

/// A validated request: what to hand to the sink, and what was refused inside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The valid part of the request (items with invalid ids removed).
    pub telemetry: Telemetry,
    /// Items refused individually, for the response's `partial_success`.
    pub refused: Refused,
}

/// Decompresses (capped at `limits.max_body_bytes` of output), decodes and validates one
/// OTLP/HTTP body.
///
/// An empty body is a valid, empty protobuf message (OTLP: all fields are optional); an empty
/// JSON body is not valid JSON and is refused.
pub fn decode_request(
    signal: Signal,
    format: Format,
    encoding: Encoding,
    body: Bytes,
    limits: &Limits,
) -> Result<Decoded, DecodeError> {
    let body = decompress(body, encoding, limits.max_body_bytes)?;
    let (telemetry, refused) = match format {
        Format::Protobuf => validate_protobuf(signal, body, limits)?,
        Format::Json => validate_protobuf(signal, json_to_protobuf(signal, &body)?, limits)?,
    };
    Ok(Decoded { telemetry, refused })
}

/// Checks one serialized `Export*ServiceRequest` of `signal` (decompressed, as it arrived over
/// gRPC or HTTP) and turns it into [`Telemetry`]: the valid part of the request, and what was
/// refused inside it (items with invalid ids, for `partial_success`).
///
/// One pass of the validating walker ([`Telemetry::from_protobuf`], `otlp_spool_core::wire`):
/// it accepts exactly what prost would decode, bounds AnyValue nesting at
/// `limits.max_nesting_depth`, counts the items and cuts the refused ones out of the bytes.
/// Malformed protobuf and too-deep nesting are [`DecodeError::Invalid`] (the message names the
/// field path and the byte offset); a write cost over `limits.max_decoded_bytes` is
/// [`DecodeError::TooLarge`]. When nothing is refused, the telemetry holds `body` itself.
pub fn validate_protobuf(
    signal: Signal,
    body: Bytes,
    limits: &Limits,
) -> Result<(Telemetry, Refused), DecodeError> {
    let walk_limits = WalkLimits::new().with_max_depth(limits.max_nesting_depth);
    let (telemetry, refused) =
        Telemetry::from_protobuf(signal, body, &walk_limits).map_err(|e| {
            DecodeError::Invalid(format!("malformed protobuf {}: {e}", request_name(signal)))
        })?;
    let cost = telemetry.write_cost();
    if cost > limits.max_decoded_bytes {
        return Err(DecodeError::TooLarge(format!(
            "the {} of {} bytes with {} items would take about {cost} bytes to write, \
             over receiver.max_decoded_size ({} bytes)",
            request_name(signal),
            telemetry.weight(),
            telemetry.item_count(),
            limits.max_decoded_bytes
        )));
    }
    Ok((telemetry, refused))
}

/// The body with its compression removed, never longer than `max_bytes`. (Public, hidden, for
/// the fuzz target `decompress`.)
pub fn decompress(body: Bytes, encoding: Encoding, max_bytes: usize) -> Result<Bytes, DecodeError> {
    let (name, inflated) = match encoding {
        Encoding::Identity => {
            return if body.len() > max_bytes {
                Err(too_large(body.len(), max_bytes))
            } else {
                Ok(body)
            };
        }
        Encoding::Gzip => (
            "gzip",
            read_capped(
                flate2::read::MultiGzDecoder::new(&body[..]),
                &body,
                max_bytes,
            ),
        ),
        Encoding::Zstd => (
            "zstd",
            zstd::stream::read::Decoder::with_buffer(&body[..])
                .and_then(|decoder| read_capped(decoder, &body, max_bytes)),
        ),
    };
    match inflated {
        Ok(out) if out.len() > max_bytes => Err(DecodeError::TooLarge(format!(
            "the {name}-decompressed body is over the limit of {max_bytes} bytes"
        ))),
        Ok(out) => Ok(Bytes::from(out)),
        Err(e) => Err(DecodeError::Invalid(format!(
            "the body is not valid {name} data: {e}"
        ))),
    }
}

/// Reads at most `max_bytes + 1` bytes, so that "over the limit" is visible without inflating
/// the rest.
///
/// The decoder is always asked for output in chunks of the same size, whatever the cap: a
/// decoder may judge the same stream differently depending on how much room each read gives
/// it (zstd accepted a frame whose declared size its blocks do not fill when read two bytes at
/// a time, and refused it when read in larger pieces: a fuzz finding). With fixed chunks, a
/// body whose output fits under a small cap gives exactly what it gives under a large one.
fn read_capped(
    mut reader: impl Read,
    compressed: &[u8],
    max_bytes: usize,
) -> std::io::Result<Vec<u8>> {
    const CHUNK: usize = 16 * 1024;
    let cap = max_bytes.saturating_add(1);
    let mut out = Vec::with_capacity(compressed.len().saturating_mul(4).min(cap));
    let mut chunk = vec![0u8; CHUNK];
    while out.len() < cap {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let room = cap - out.len();
        out.extend_from_slice(&chunk[..n.min(room)]);
    }
    Ok(out)
}

fn too_large(len: usize, max_bytes: usize) -> DecodeError {
    DecodeError::TooLarge(format!(
        "the body of {len} bytes is over the limit of {max_bytes} bytes"
    ))
}

/// The OTLP/JSON edge: serde into the prost request, encoded once into protobuf bytes.
/// serde_json's recursion limit (128) bounds nesting, so deep JSON is an error.
fn json_to_protobuf(signal: Signal, body: &[u8]) -> Result<Bytes, DecodeError> {
    let decoded = match signal {
        Signal::Traces => serde_json::from_slice(body).map(ExportRequest::Traces),
        Signal::Metrics => serde_json::from_slice(body).map(ExportRequest::Metrics),
        Signal::Logs => serde_json::from_slice(body).map(ExportRequest::Logs),
    };
    decoded
        .map(|request| Bytes::from(request.encode_to_vec()))
        .map_err(|e| {
            DecodeError::Invalid(format!("invalid OTLP/JSON {}: {e}", request_name(signal)))
        })
}

pub(crate) fn request_name(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "ExportTraceServiceRequest",
        Signal::Metrics => "ExportMetricsServiceRequest",
        Signal::Logs => "ExportLogsServiceRequest",
    }
}
