//! The wire: one encoded OTLP request to the remote over gRPC or HTTP, and the
//! classification of its answer into delivered / retryable / permanent.
//!
//! Invariants:
//! * A batch is sent as the protobuf bytes it came with (gRPC and HTTP/protobuf: the same
//!   `Bytes`, gzip-compressed for HTTP when configured); only HTTP/JSON decodes them to prost
//!   and serializes JSON, the one re-encode. The body ([`Encoded`]) is prepared once and the
//!   same bytes are re-sent on every retry.
//! * Classification follows the OTLP specification: HTTP 429/502/503/504 and gRPC
//!   UNAVAILABLE, CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, DATA_LOSS (and
//!   RESOURCE_EXHAUSTED with a `RetryInfo`) are retryable, as are connection errors and
//!   timeouts; every other error (400, 401, 403, INVALID_ARGUMENT, UNAUTHENTICATED, ...) is
//!   permanent. A server hint (`Retry-After` in seconds, `google.rpc.RetryInfo`) is passed on.
//! * A failed TLS handshake (untrusted or invalid certificate, no common protocol) is a
//!   connection failure: retryable, flagged `tls` so the forwarder counts it apart.

use std::io::Write as _;
use std::marker::PhantomData;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use otlp_spool_core::rpc_status::retry_delay_from_status_details;
use otlp_spool_core::{ExportRequest, Signal, Telemetry};
use prost::Message;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};
use tonic::transport::Channel;

use crate::builder::{Compression, Protocol};
use crate::tls::tls_cause;

/// What the remote made of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SendOutcome {
    /// Accepted; `rejected` items were refused inside it (`partial_success`).
    Delivered { rejected: u64, message: String },
    /// Failed in a way a later retry may fix.
    Retryable {
        retry_after: Option<Duration>,
        reason: String,
        /// The attempt failed in the TLS handshake.
        tls: bool,
    },
    /// Failed in a way no retry can fix.
    Permanent { reason: String },
}

/// A batch encoded for the wire, ready to be sent as often as needed.
#[derive(Debug, Clone)]
pub(crate) struct Encoded {
    pub(crate) signal: Signal,
    pub(crate) body: Bytes,
}

/// The client side of one remote endpoint.
#[derive(Debug, Clone)]
pub(crate) enum Transport {
    Grpc(GrpcTransport),
    /// Boxed: the pooled client is several times the size of a tonic channel.
    Http(Box<HttpTransport>),
}

impl Transport {
    /// Prepares the body of `telemetry` for this transport (`Err` = a permanent failure:
    /// bytes that do not decode, for JSON).
    pub(crate) fn encode(&self, telemetry: Telemetry) -> Result<Encoded, String> {
        let signal = telemetry.signal();
        let body = match self {
            // tonic frames (and compresses) the bytes as they are.
            Transport::Grpc(_) => telemetry.into_bytes(),
            Transport::Http(http) => {
                let raw = match http.protocol {
                    Protocol::HttpJson => Bytes::from(encode_json(&telemetry)?),
                    _ => telemetry.into_bytes(),
                };
                match http.compression {
                    Compression::Gzip => Bytes::from(gzip(&raw)?),
                    Compression::None => raw,
                }
            }
        };
        Ok(Encoded { signal, body })
    }

    /// Sends one encoded request (no timeout here: the caller bounds it).
    pub(crate) async fn send(&self, encoded: &Encoded) -> SendOutcome {
        match self {
            Transport::Grpc(grpc) => grpc.send(encoded).await,
            Transport::Http(http) => http.send(encoded).await,
        }
    }
}

/// The OTLP/JSON body: the bytes decoded to the prost request, serialized with serde.
fn encode_json(telemetry: &Telemetry) -> Result<Vec<u8>, String> {
    match telemetry.decode().map_err(|e| e.to_string())? {
        ExportRequest::Traces(r) => serde_json::to_vec(&r),
        ExportRequest::Metrics(r) => serde_json::to_vec(&r),
        ExportRequest::Logs(r) => serde_json::to_vec(&r),
    }
    .map_err(|e| format!("OTLP/JSON encoding failed: {e}"))
}

fn gzip(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(raw.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    encoder
        .write_all(raw)
        .and_then(|()| encoder.finish())
        .map_err(|e| format!("gzip failed: {e}"))
}

/// Responses that carry an OTLP `partial_success`.
trait PartialSuccess: Message + Default + 'static {
    fn rejected(&self) -> (u64, String);
}

impl PartialSuccess for ExportTraceServiceResponse {
    fn rejected(&self) -> (u64, String) {
        self.partial_success
            .as_ref()
            .map_or((0, String::new()), |p| {
                (
                    u64::try_from(p.rejected_spans).unwrap_or(0),
                    p.error_message.clone(),
                )
            })
    }
}

impl PartialSuccess for ExportMetricsServiceResponse {
    fn rejected(&self) -> (u64, String) {
        self.partial_success
            .as_ref()
            .map_or((0, String::new()), |p| {
                (
                    u64::try_from(p.rejected_data_points).unwrap_or(0),
                    p.error_message.clone(),
                )
            })
    }
}

impl PartialSuccess for ExportLogsServiceResponse {
    fn rejected(&self) -> (u64, String) {
        self.partial_success
            .as_ref()
            .map_or((0, String::new()), |p| {
                (
                    u64::try_from(p.rejected_log_records).unwrap_or(0),
                    p.error_message.clone(),
                )
            })
    }
}

// ---------------------------------------------------------------------------------------
// gRPC

/// gRPC transport: one lazily connected tonic channel, shared by all workers.
#[derive(Debug, Clone)]
pub(crate) struct GrpcTransport {
    channel: Channel,
    metadata: Vec<(AsciiMetadataKey, AsciiMetadataValue)>,
    compression: Compression,
}

impl GrpcTransport {
    pub(crate) fn new(
        channel: Channel,
        metadata: Vec<(AsciiMetadataKey, AsciiMetadataValue)>,
        compression: Compression,
    ) -> Self {
        Self {
            channel,
            metadata,
            compression,
        }
    }

    async fn send(&self, encoded: &Encoded) -> SendOutcome {
        match encoded.signal {
            Signal::Traces => {
                self.unary::<ExportTraceServiceResponse>(
                    encoded,
                    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                )
                .await
            }
            Signal::Metrics => {
                self.unary::<ExportMetricsServiceResponse>(
                    encoded,
                    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
                )
                .await
            }
            Signal::Logs => {
                self.unary::<ExportLogsServiceResponse>(
                    encoded,
                    "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
                )
                .await
            }
        }
    }

    async fn unary<R: PartialSuccess>(&self, encoded: &Encoded, path: &'static str) -> SendOutcome {
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        if self.compression == Compression::Gzip {
            grpc = grpc
                .send_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Gzip);
        }
        if let Err(e) = grpc.ready().await {
            return connection_failure("gRPC channel not ready", &e);
        }
        let mut request = tonic::Request::new(encoded.body.clone());
        for (key, value) in &self.metadata {
            request.metadata_mut().insert(key.clone(), value.clone());
        }
        let codec = RawCodec::<R>(PhantomData);
        match grpc
            .unary(request, PathAndQuery::from_static(path), codec)
            .await
        {
            Ok(response) => {
                let (rejected, message) = response.get_ref().rejected();
                SendOutcome::Delivered { rejected, message }
            }
            Err(status) => match tls_cause(&status) {
                Some(_) => connection_failure("gRPC", &status),
                None => classify_grpc(&status),
            },
        }
    }
}

/// A request that never reached the remote (connect, TLS handshake, I/O): retryable.
fn connection_failure(context: &str, error: &(dyn std::error::Error + 'static)) -> SendOutcome {
    let tls = tls_cause(error);
    let mut reason = match &tls {
        Some(cause) => format!("{context}: TLS handshake failed: {cause}"),
        None => format!("{context}: {error}"),
    };
    if tls.is_none() {
        let mut source = error.source();
        while let Some(e) = source {
            reason.push_str(": ");
            reason.push_str(&e.to_string());
            source = e.source();
        }
    }
    SendOutcome::Retryable {
        retry_after: None,
        reason,
        tls: tls.is_some(),
    }
}

/// Classifies a gRPC error status.
pub(crate) fn classify_grpc(status: &tonic::Status) -> SendOutcome {
    use tonic::Code;
    let reason = format!("gRPC {:?}: {}", status.code(), status.message());
    let hint = retry_delay_from_status_details(status.details());
    match status.code() {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => SendOutcome::Retryable {
            retry_after: hint,
            reason,
            tls: false,
        },
        Code::ResourceExhausted if hint.is_some() => SendOutcome::Retryable {
            retry_after: hint,
            reason,
            tls: false,
        },
        _ => SendOutcome::Permanent { reason },
    }
}

/// A codec that sends pre-encoded protobuf bytes and decodes the response type `R`.
struct RawCodec<R>(PhantomData<fn() -> R>);

impl<R: Message + Default + 'static> Codec for RawCodec<R> {
    type Encode = Bytes;
    type Decode = R;
    type Encoder = RawEncoder;
    type Decoder = ProstDecoder<R>;

    fn encoder(&mut self) -> Self::Encoder {
        RawEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        ProstDecoder(PhantomData)
    }
}

struct RawEncoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put_slice(&item);
        Ok(())
    }
}

struct ProstDecoder<R>(PhantomData<fn() -> R>);

impl<R: Message + Default> Decoder for ProstDecoder<R> {
    type Item = R;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<R>, Self::Error> {
        let bytes = src.copy_to_bytes(src.remaining());
        R::decode(bytes)
            .map(Some)
            .map_err(|e| tonic::Status::internal(format!("bad response: {e}")))
    }
}

// ---------------------------------------------------------------------------------------
// HTTP

/// The HTTP client: hyper-util's pooled client over hyper-rustls (`http://` or `https://`).
pub(crate) type HttpClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<Bytes>,
>;

/// The largest response body read (a `partial_success` or an error text).
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// HTTP transport: one pooled client (its own connections), shared by all workers.
#[derive(Debug, Clone)]
pub(crate) struct HttpTransport {
    client: HttpClient,
    base: String,
    headers: hyper::HeaderMap,
    protocol: Protocol,
    compression: Compression,
}

impl HttpTransport {
    pub(crate) fn new(
        client: HttpClient,
        base: String,
        headers: hyper::HeaderMap,
        protocol: Protocol,
        compression: Compression,
    ) -> Self {
        Self {
            client,
            base,
            headers,
            protocol,
            compression,
        }
    }

    async fn send(&self, encoded: &Encoded) -> SendOutcome {
        use http_body_util::BodyExt as _;
        use hyper::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
        let url = format!("{}/v1/{}", self.base, encoded.signal.as_str());
        let json = self.protocol == Protocol::HttpJson;
        let mut request = match hyper::Request::post(url.as_str())
            .body(http_body_util::Full::new(encoded.body.clone()))
        {
            Ok(request) => request,
            Err(e) => {
                return SendOutcome::Permanent {
                    reason: format!("bad request URL {url:?}: {e}"),
                };
            }
        };
        let headers = request.headers_mut();
        headers.extend(self.headers.clone());
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(if json {
                "application/json"
            } else {
                "application/x-protobuf"
            }),
        );
        if self.compression == Compression::Gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        let response = match self.client.request(request).await {
            Ok(response) => response,
            Err(e) => return connection_failure("HTTP request failed", &e),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = http_body_util::Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map(|collected| collected.to_bytes())
            .unwrap_or_default();
        if status.is_success() {
            let (rejected, message) = match (json, encoded.signal) {
                (true, signal) => json_partial(&body, signal),
                (false, Signal::Traces) => proto_partial::<ExportTraceServiceResponse>(&body),
                (false, Signal::Metrics) => proto_partial::<ExportMetricsServiceResponse>(&body),
                (false, Signal::Logs) => proto_partial::<ExportLogsServiceResponse>(&body),
            };
            return SendOutcome::Delivered { rejected, message };
        }
        let snippet = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        let reason = format!("HTTP {status}: {snippet}");
        match status.as_u16() {
            429 | 502 | 503 | 504 => SendOutcome::Retryable {
                retry_after,
                reason,
                tls: false,
            },
            _ => SendOutcome::Permanent { reason },
        }
    }
}

/// The partial success of an OTLP/HTTP protobuf response (none when the body is empty or does
/// not decode: the request was delivered either way).
fn proto_partial<R: PartialSuccess>(body: &[u8]) -> (u64, String) {
    if body.is_empty() {
        return (0, String::new());
    }
    R::decode(body).map_or((0, String::new()), |r| r.rejected())
}

/// The partial success of an OTLP/JSON response. Proto3's JSON mapping writes an int64 as a
/// string (`"rejectedSpans":"3"`, what the Collector sends), and a parser must accept a number
/// too, and the proto field name beside the lowerCamelCase one; a typed serde decode of the
/// generated structs accepts only numbers and would read such an answer as "nothing rejected".
fn json_partial(body: &[u8], signal: Signal) -> (u64, String) {
    use serde_json::Value;
    let none = (0, String::new());
    let Ok(Value::Object(top)) = serde_json::from_slice::<Value>(body) else {
        return none;
    };
    let field = |object: &serde_json::Map<String, Value>, camel: &str, snake: &str| {
        object.get(camel).or_else(|| object.get(snake)).cloned()
    };
    let Some(Value::Object(partial)) = field(&top, "partialSuccess", "partial_success") else {
        return none;
    };
    let (camel, snake) = match signal {
        Signal::Traces => ("rejectedSpans", "rejected_spans"),
        Signal::Metrics => ("rejectedDataPoints", "rejected_data_points"),
        Signal::Logs => ("rejectedLogRecords", "rejected_log_records"),
    };
    let rejected = match field(&partial, camel, snake) {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    };
    let message = match field(&partial, "errorMessage", "error_message") {
        Some(Value::String(s)) => s,
        _ => String::new(),
    };
    (rejected, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_partial_success_reads_int64_as_string_or_number_and_both_field_names() {
        let read = |body: &str, signal| json_partial(body.as_bytes(), signal);
        assert_eq!(
            read(
                r#"{"partialSuccess":{"rejectedSpans":"3","errorMessage":"bad ids"}}"#,
                Signal::Traces
            ),
            (3, "bad ids".to_owned())
        );
        assert_eq!(
            read(
                r#"{"partial_success":{"rejected_data_points":7}}"#,
                Signal::Metrics
            ),
            (7, String::new())
        );
        assert_eq!(
            read(
                r#"{"partialSuccess":{"rejectedLogRecords":"2"}}"#,
                Signal::Logs
            ),
            (2, String::new())
        );
        // Another signal's field, an empty object, garbage, nothing: nothing rejected.
        assert_eq!(
            read(r#"{"partialSuccess":{"rejectedSpans":"3"}}"#, Signal::Logs),
            (0, String::new())
        );
        for body in ["{}", "", "not json", "[1]", r#"{"partialSuccess":1}"#] {
            assert_eq!(read(body, Signal::Traces), (0, String::new()), "{body}");
        }
    }

    #[test]
    fn grpc_codes_are_classified_like_the_spec() {
        let retryable =
            |s: tonic::Status| matches!(classify_grpc(&s), SendOutcome::Retryable { .. });
        assert!(retryable(tonic::Status::unavailable("x")));
        assert!(!retryable(tonic::Status::invalid_argument("x")));
        assert!(!retryable(tonic::Status::unauthenticated("x")));
        assert!(!retryable(tonic::Status::permission_denied("x")));
        assert!(!retryable(tonic::Status::resource_exhausted("x")));
        let hinted = tonic::Status::with_details(
            tonic::Code::ResourceExhausted,
            "x",
            otlp_spool_core::rpc_status::encode_status(8, "x", Some(Duration::from_secs(2))),
        );
        assert_eq!(
            classify_grpc(&hinted),
            SendOutcome::Retryable {
                retry_after: Some(Duration::from_secs(2)),
                reason: "gRPC ResourceExhausted: x".into(),
                tls: false,
            }
        );
    }
}
