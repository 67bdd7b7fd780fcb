//! Turning a request body into [`Telemetry`]: decompress with a cap, decode protobuf or
//! OTLP/JSON, validate ids. This is the HTTP hot path; the gRPC path shares [`validate`].
//!
//! Invariants:
//! * No more than `max_bytes` are ever produced by decompression: the decoder reads through a
//!   `take(max_bytes + 1)` cap, so a gzip bomb costs at most `max_bytes + 1` bytes of output
//!   and is refused as [`DecodeError::TooLarge`] before it is inflated further.
//! * An uncompressed body is never copied: prost decodes straight from the received `Bytes`.
//! * Every failure is a [`DecodeError`] whose message names the problem; nothing panics on input.

use std::io::Read;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_spool_core::{Signal, Telemetry};
use prost::Message;

use crate::validate::{Refused, validate};

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

/// A decoded and validated request: what to hand to the sink, and what was refused inside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The valid part of the request (items with invalid ids removed).
    pub telemetry: Telemetry,
    /// Items refused individually, for the response's `partial_success`.
    pub refused: Refused,
}

/// Decompresses (capped at `max_bytes` of output), decodes and validates one OTLP/HTTP body.
///
/// An empty body is a valid, empty protobuf message (OTLP: all fields are optional); an empty
/// JSON body is not valid JSON and is refused.
pub fn decode_request(
    signal: Signal,
    format: Format,
    encoding: Encoding,
    body: Bytes,
    max_bytes: usize,
) -> Result<Decoded, DecodeError> {
    let body = decompress(body, encoding, max_bytes)?;
    let mut telemetry = match format {
        Format::Protobuf => decode_protobuf(signal, body)?,
        Format::Json => decode_json(signal, &body)?,
    };
    let refused = validate(&mut telemetry);
    Ok(Decoded { telemetry, refused })
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
fn read_capped(reader: impl Read, compressed: &[u8], max_bytes: usize) -> std::io::Result<Vec<u8>> {
    let cap = max_bytes.saturating_add(1);
    let mut out = Vec::with_capacity(compressed.len().saturating_mul(4).min(cap));
    reader.take(cap as u64).read_to_end(&mut out)?;
    Ok(out)
}

fn too_large(len: usize, max_bytes: usize) -> DecodeError {
    DecodeError::TooLarge(format!(
        "the body of {len} bytes is over the limit of {max_bytes} bytes"
    ))
}

fn decode_protobuf(signal: Signal, body: Bytes) -> Result<Telemetry, DecodeError> {
    let decoded = match signal {
        Signal::Traces => ExportTraceServiceRequest::decode(body).map(Telemetry::Traces),
        Signal::Metrics => ExportMetricsServiceRequest::decode(body).map(Telemetry::Metrics),
        Signal::Logs => ExportLogsServiceRequest::decode(body).map(Telemetry::Logs),
    };
    decoded.map_err(|e| {
        DecodeError::Invalid(format!("malformed protobuf {}: {e}", request_name(signal)))
    })
}

fn decode_json(signal: Signal, body: &[u8]) -> Result<Telemetry, DecodeError> {
    let decoded = match signal {
        Signal::Traces => serde_json::from_slice(body).map(Telemetry::Traces),
        Signal::Metrics => serde_json::from_slice(body).map(Telemetry::Metrics),
        Signal::Logs => serde_json::from_slice(body).map(Telemetry::Logs),
    };
    decoded.map_err(|e| {
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
