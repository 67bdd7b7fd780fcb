//! The OTLP/gRPC server: `TraceService/Export`, `MetricsService/Export`, `LogsService/Export`
//! on tonic's server machinery over a pass-through codec, behind a small router that adds the
//! bearer-token check, the concurrency limit, metrics and the status-code contract.
//!
//! tonic itself reads the gRPC frame, decompresses (gzip, zstd) into a buffer capped at the
//! body limit, and hands over the message as raw bytes ([`PassThrough`]: no prost decode, no
//! copy). The handler validates them with the same [`validate_protobuf`] as the HTTP path, so
//! malformed protobuf is INVALID_ARGUMENT and a write cost over the limit RESOURCE_EXHAUSTED
//! from the handler. tonic's own codes for what it refuses before the handler runs do not all
//! match the contract, so the router rewrites them: INTERNAL (corrupt compression) ->
//! INVALID_ARGUMENT, OUT_OF_RANGE (message length over the limit) -> RESOURCE_EXHAUSTED.
//! Decompression over the limit is already RESOURCE_EXHAUSTED, and is stopped at the limit (a
//! gzip bomb is not inflated).
//!
//! Invariants: each export request is counted once, and once as accepted or under one
//! rejection reason; the handler is the only caller of the sink; no response is INTERNAL.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use bytes::{Buf as _, BufMut as _, Bytes};
use hyper::body::Incoming;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use otlp_spool_core::Signal;
use prost::Message as _;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::{HeaderValue, Request, Response, header};
use tonic::{Code, Status};

use crate::decode::validate_protobuf;
use crate::metrics::{RejectReason, Transport};
use crate::reject::Rejection;
use crate::shared::Shared;
use otlp_spool_core::wire::Refused;

const TRACES_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const METRICS_PATH: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
const LOGS_PATH: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

type GrpcResponse = Response<tonic::body::Body>;

/// The length-prefix header of a gRPC message frame (compressed flag + 4-byte length).
const GRPC_FRAME_HEADER: usize = 5;

/// What the handler did with one request: `None` until it runs, then `Some(None)` for an
/// acknowledgement or `Some(Some(reason))` for a rejection.
#[derive(Clone, Default)]
struct Outcome(Arc<OnceLock<Option<RejectReason>>>);

/// A gRPC codec that moves message bytes through untouched: the request arrives as the
/// decompressed protobuf `Bytes` (split off tonic's buffer, not copied), and the response is
/// sent as the bytes the handler encoded.
#[derive(Debug, Clone, Copy, Default)]
struct PassThrough;

impl Codec for PassThrough {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = PassThrough;
    type Decoder = PassThrough;

    fn encoder(&mut self) -> Self::Encoder {
        PassThrough
    }

    fn decoder(&mut self) -> Self::Decoder {
        PassThrough
    }
}

impl Encoder for PassThrough {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for PassThrough {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// The export method of one signal, as tonic's unary service: validates the bytes, hands them
/// to the sink, answers with the encoded `Export*ServiceResponse`.
struct Export {
    shared: Arc<Shared>,
    signal: Signal,
    outcome: Outcome,
}

impl Export {
    async fn ingest(shared: &Shared, signal: Signal, body: Bytes) -> Result<Refused, Rejection> {
        let (telemetry, refused) = validate_protobuf(signal, body, &shared.limits())?;
        shared.ingest(telemetry, refused).await
    }
}

impl tonic::server::UnaryService<Bytes> for Export {
    type Response = Bytes;
    type Future = Pin<Box<dyn Future<Output = Result<tonic::Response<Bytes>, Status>> + Send>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let (shared, signal, outcome) =
            (Arc::clone(&self.shared), self.signal, self.outcome.clone());
        Box::pin(async move {
            let result = Export::ingest(&shared, signal, request.into_inner()).await;
            let _ = outcome.0.set(result.as_ref().err().map(Rejection::reason));
            result
                .map(|refused| tonic::Response::new(response(signal, &refused)))
                .map_err(|rejection| rejection.grpc_status())
        })
    }
}

/// The encoded `Export*ServiceResponse`, with `partial_success` only when something was
/// refused.
fn response(signal: Signal, refused: &Refused) -> Bytes {
    let partial = (!refused.is_empty()).then(|| {
        (
            i64::try_from(refused.count).unwrap_or(i64::MAX),
            refused.message.clone(),
        )
    });
    let encoded = match signal {
        Signal::Traces => ExportTraceServiceResponse {
            partial_success: partial.map(|(rejected_spans, error_message)| {
                ExportTracePartialSuccess {
                    rejected_spans,
                    error_message,
                }
            }),
        }
        .encode_to_vec(),
        Signal::Metrics => ExportMetricsServiceResponse {
            partial_success: partial.map(|(rejected_data_points, error_message)| {
                ExportMetricsPartialSuccess {
                    rejected_data_points,
                    error_message,
                }
            }),
        }
        .encode_to_vec(),
        Signal::Logs => ExportLogsServiceResponse {
            partial_success: partial.map(|(rejected_log_records, error_message)| {
                ExportLogsPartialSuccess {
                    rejected_log_records,
                    error_message,
                }
            }),
        }
        .encode_to_vec(),
    };
    Bytes::from(encoded)
}

/// The hyper service of the gRPC port.
#[derive(Clone)]
pub(crate) struct GrpcService {
    shared: Arc<Shared>,
}

impl GrpcService {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        GrpcService { shared }
    }

    async fn handle(self, request: Request<Incoming>) -> GrpcResponse {
        let signal = match request.uri().path() {
            TRACES_PATH => Signal::Traces,
            METRICS_PATH => Signal::Metrics,
            LOGS_PATH => Signal::Logs,
            path => {
                return Status::unimplemented(format!("unknown gRPC method {path}")).into_http();
            }
        };
        let shared = &self.shared;
        shared.metrics.request(Transport::Grpc, signal);
        let token = request
            .headers()
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes);
        if !shared.authorized(token) {
            return refuse(shared, Rejection::Unauthenticated);
        }
        // The whole message first (bounded in size and time), the concurrency slot after.
        let (parts, body) = request.into_parts();
        let limit = shared.max_body_bytes.saturating_add(GRPC_FRAME_HEADER);
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let read = crate::body::read_body(
            body,
            limit,
            declared,
            &shared.body_budget,
            shared.read_timeout,
        )
        .await;
        // The lease lives until the answer: the bytes stay in the body budget while handled.
        let (request, _lease) = match read {
            Ok(body) => (
                Request::from_parts(parts, http_body_util::Full::new(body.bytes)),
                body.lease,
            ),
            Err(e) => return refuse(shared, e.into()),
        };
        let Some(_permit) = shared.limit.try_acquire() else {
            return refuse(shared, Rejection::too_many_requests(shared.limit.max()));
        };
        let outcome = Outcome::default();
        let export = Export {
            shared: shared.clone(),
            signal,
            outcome: outcome.clone(),
        };
        let mut grpc = tonic::server::Grpc::new(PassThrough)
            .accept_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Zstd)
            .max_decoding_message_size(shared.max_body_bytes);
        let mut response = grpc.unary(export, request).await;
        match outcome.0.get() {
            Some(Some(reason)) => shared.metrics.rejected(*reason),
            Some(None) => {}
            None => rewrite_decode_error(shared, &mut response),
        }
        response
    }
}

/// tonic refused the request before the handler ran (framing, decompression, size): map
/// its code onto the contract and count the rejection.
fn rewrite_decode_error(shared: &Shared, response: &mut GrpcResponse) {
    let Some(code) = response
        .headers()
        .get(Status::GRPC_STATUS)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(Code::from_i32)
    else {
        return;
    };
    let (code, reason) = match code {
        Code::Ok => return,
        Code::Internal | Code::InvalidArgument => (Code::InvalidArgument, RejectReason::Invalid),
        Code::OutOfRange | Code::ResourceExhausted => {
            (Code::ResourceExhausted, RejectReason::TooLarge)
        }
        Code::Unimplemented => (Code::Unimplemented, RejectReason::UnsupportedMediaType),
        other => (other, RejectReason::Invalid),
    };
    shared.metrics.rejected(reason);
    response
        .headers_mut()
        .insert(Status::GRPC_STATUS, HeaderValue::from(code as i32));
}

fn refuse(shared: &Shared, rejection: Rejection) -> GrpcResponse {
    shared.metrics.rejected(rejection.reason());
    rejection.grpc_status().into_http()
}

impl hyper::service::Service<Request<Incoming>> for GrpcService {
    type Response = GrpcResponse;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<GrpcResponse, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(request).await) })
    }
}
