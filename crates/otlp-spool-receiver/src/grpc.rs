//! The OTLP/gRPC server: `TraceService/Export`, `MetricsService/Export`, `LogsService/Export`
//! through opentelemetry-proto's generated tonic stubs, behind a small router that adds the
//! bearer-token check, the concurrency limit, metrics and the status-code contract.
//!
//! tonic itself reads the gRPC frame, decompresses (gzip, zstd) into a buffer capped at the
//! body limit, and decodes protobuf. Its own error codes for bad input do not match the
//! contract, so the router rewrites them when the handler never ran:
//! INTERNAL (malformed protobuf, corrupt compression) -> INVALID_ARGUMENT, OUT_OF_RANGE
//! (message length over the limit) -> RESOURCE_EXHAUSTED. Decompression over the limit is
//! already RESOURCE_EXHAUSTED, and is stopped at the limit (a gzip bomb is not inflated).
//!
//! Invariants: each export request is counted once, and once as accepted or under one
//! rejection reason; the handler is the only caller of the sink; no response is INTERNAL.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use hyper::body::Incoming;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use otlp_spool_core::{Signal, Telemetry};
use tonic::codec::CompressionEncoding;
use tonic::codegen::Service as _;
use tonic::codegen::http::{HeaderValue, Request, Response, header};
use tonic::{Code, Status};

use crate::metrics::{RejectReason, Transport};
use crate::reject::Rejection;
use crate::shared::Shared;
use crate::validate::{Refused, validate};

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

/// The OTLP service implementations; one value serves all three signals.
struct Handler {
    shared: Arc<Shared>,
}

impl Handler {
    fn ingest(
        &self,
        extensions: &tonic::Extensions,
        telemetry: Telemetry,
    ) -> Result<Refused, Status> {
        let mut telemetry = telemetry;
        let refused = validate(&mut telemetry);
        let result = self.shared.ingest(telemetry, refused);
        if let Some(outcome) = extensions.get::<Outcome>() {
            let _ = outcome.0.set(result.as_ref().err().map(Rejection::reason));
        }
        result.map_err(|rejection| rejection.grpc_status())
    }
}

fn partial(refused: &Refused) -> Option<(i64, String)> {
    (!refused.is_empty()).then(|| {
        (
            i64::try_from(refused.count).unwrap_or(i64::MAX),
            refused.message.clone(),
        )
    })
}

#[tonic::async_trait]
impl TraceService for Handler {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, Status> {
        let (_, extensions, message) = request.into_parts();
        let refused = self.ingest(&extensions, Telemetry::Traces(message))?;
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: partial(&refused).map(|(rejected_spans, error_message)| {
                ExportTracePartialSuccess {
                    rejected_spans,
                    error_message,
                }
            }),
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Handler {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, Status> {
        let (_, extensions, message) = request.into_parts();
        let refused = self.ingest(&extensions, Telemetry::Metrics(message))?;
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: partial(&refused).map(|(rejected_data_points, error_message)| {
                ExportMetricsPartialSuccess {
                    rejected_data_points,
                    error_message,
                }
            }),
        }))
    }
}

#[tonic::async_trait]
impl LogsService for Handler {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, Status> {
        let (_, extensions, message) = request.into_parts();
        let refused = self.ingest(&extensions, Telemetry::Logs(message))?;
        Ok(tonic::Response::new(ExportLogsServiceResponse {
            partial_success: partial(&refused).map(|(rejected_log_records, error_message)| {
                ExportLogsPartialSuccess {
                    rejected_log_records,
                    error_message,
                }
            }),
        }))
    }
}

/// The hyper service of the gRPC port.
#[derive(Clone)]
pub(crate) struct GrpcService {
    shared: Arc<Shared>,
    traces: TraceServiceServer<Handler>,
    metrics: MetricsServiceServer<Handler>,
    logs: LogsServiceServer<Handler>,
}

impl GrpcService {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        let handler = Arc::new(Handler {
            shared: shared.clone(),
        });
        let limit = shared.max_body_bytes;
        GrpcService {
            traces: TraceServiceServer::from_arc(handler.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .max_decoding_message_size(limit),
            metrics: MetricsServiceServer::from_arc(handler.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .max_decoding_message_size(limit),
            logs: LogsServiceServer::from_arc(handler)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .max_decoding_message_size(limit),
            shared,
        }
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
        let mut request = match crate::body::read_body(body, limit, shared.read_timeout).await {
            Ok(body) => Request::from_parts(parts, http_body_util::Full::new(body)),
            Err(e) => return refuse(shared, e.into()),
        };
        let Some(_permit) = shared.limit.try_acquire() else {
            return refuse(shared, Rejection::too_many_requests(shared.limit.max()));
        };
        let outcome = Outcome::default();
        request.extensions_mut().insert(outcome.clone());
        let response = match signal {
            Signal::Traces => self.traces.clone().call(request).await,
            Signal::Metrics => self.metrics.clone().call(request).await,
            Signal::Logs => self.logs.clone().call(request).await,
        };
        let mut response = match response {
            Ok(response) => response,
            Err(never) => match never {},
        };
        match outcome.0.get() {
            Some(Some(reason)) => shared.metrics.rejected(*reason),
            Some(None) => {}
            None => rewrite_decode_error(shared, &mut response),
        }
        response
    }
}

/// tonic refused the request before the handler ran (framing, decompression, decode): map
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
