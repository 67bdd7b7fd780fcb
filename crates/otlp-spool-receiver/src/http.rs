//! The OTLP/HTTP server: `POST /v1/{traces,metrics,logs}`, `GET /health`, `GET /ready`,
//! `GET /metrics`.
//!
//! Order of checks for an export request: path (404) and method (405), bearer token (401),
//! `Content-Type` (415), `Content-Encoding` (415), declared `Content-Length` (413, without
//! reading the body), body read capped at the limit (413) and at `read_timeout` (408, and an
//! HTTP/1 connection is closed), concurrency slot (503), decompression capped at the limit
//! (413 / 400), validation of the protobuf bytes (400; JSON is decoded and encoded once
//! first), write cost (413), id validation (partial success), sink (503 / 413). The response
//! body is in the request's format: an `Export*ServiceResponse` on success, a
//! `google.rpc.Status` on error.
//!
//! Invariants: no input produces a 500 or a panic; the sink is called only for a request
//! that passed every check; a request holds a concurrency slot only once its whole body is
//! in memory, so slow clients cannot starve fast ones; `/health` needs no token, `/ready`
//! neither (probes), `/metrics` does, and so do the paths of an
//! [`HttpExtension`](crate::HttpExtension).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
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
use prost::Message;
use tonic::codegen::http::{HeaderValue, Method, Request, Response, StatusCode, Version, header};

use crate::body::read_body;
use crate::decode::{Encoding, Format, decode_request};
use crate::metrics::Transport;
use crate::reject::Rejection;
use crate::shared::Shared;
use otlp_spool_core::wire::Refused;

type HttpResponse = Response<Full<Bytes>>;

/// The hyper service of the HTTP port.
#[derive(Clone)]
pub(crate) struct HttpService {
    shared: Arc<Shared>,
}

impl HttpService {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        HttpService { shared }
    }
}

impl hyper::service::Service<Request<Incoming>> for HttpService {
    type Response = HttpResponse;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let shared = self.shared.clone();
        Box::pin(async move { Ok(route(&shared, request).await) })
    }
}

async fn route(shared: &Shared, request: Request<Incoming>) -> HttpResponse {
    let signal = match request.uri().path() {
        "/v1/traces" => Signal::Traces,
        "/v1/metrics" => Signal::Metrics,
        "/v1/logs" => Signal::Logs,
        "/health" => return health(shared, &request),
        "/ready" => {
            return if shared.is_ready() {
                probe(&request, StatusCode::OK, "ready\n")
            } else {
                probe(&request, StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
            };
        }
        "/metrics" => return metrics(shared, &request),
        path => match &shared.extension {
            Some(ext) if ext.serves(path) => return extension(shared, ext.as_ref(), request).await,
            _ => return text(StatusCode::NOT_FOUND, "not found\n"),
        },
    };
    if request.method() != Method::POST {
        return method_not_allowed("POST");
    }
    shared.metrics.request(Transport::Http, signal);
    let format = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(Format::from_content_type);
    let http1 = request.version() < Version::HTTP_2;
    match export(shared, signal, format, request).await {
        Ok(response) => response,
        Err(rejection) => {
            shared.metrics.rejected(rejection.reason());
            let mut response = reject(&rejection, format);
            if http1 && matches!(rejection, Rejection::Timeout(_)) {
                // The rest of a late body may still be on its way: the connection cannot be
                // reused, and closing it is what sheds a trickling client.
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            response
        }
    }
}

async fn export(
    shared: &Shared,
    signal: Signal,
    format: Option<Format>,
    request: Request<Incoming>,
) -> Result<HttpResponse, Rejection> {
    let headers = request.headers();
    if !shared.authorized(
        headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes),
    ) {
        return Err(Rejection::Unauthenticated);
    }
    let Some(format) = format else {
        let got = headers
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_else(|| "none".to_owned());
        return Err(Rejection::UnsupportedMediaType(format!(
            "unsupported Content-Type {got:?}: use application/x-protobuf or application/json"
        )));
    };
    let encoding = match headers.get(header::CONTENT_ENCODING) {
        None => Encoding::Identity,
        Some(value) => value
            .to_str()
            .ok()
            .and_then(Encoding::from_content_encoding)
            .ok_or_else(|| {
                Rejection::UnsupportedMediaType(format!(
                    "unsupported Content-Encoding {:?}: use gzip, zstd or none",
                    String::from_utf8_lossy(value.as_bytes())
                ))
            })?,
    };
    let max = shared.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = declared.filter(|&len| len > max as u64) {
        return Err(Rejection::TooLarge(format!(
            "the body of {len} bytes is over the limit of {max} bytes (receiver.max_body_size)"
        )));
    }
    // The body first, the concurrency slot after: a slow body must not hold a slot. Its bytes
    // stay held in the body budget until the request is answered.
    let body = read_body(
        request.into_body(),
        max,
        declared,
        &shared.body_budget,
        shared.read_timeout,
    )
    .await?;
    let (body, _lease) = (body.bytes, body.lease);
    let _permit = shared
        .limit
        .try_acquire()
        .ok_or_else(|| Rejection::too_many_requests(shared.limit.max()))?;

    let decoded = decode_request(signal, format, encoding, body, &shared.limits())?;
    let refused = shared.ingest(decoded.telemetry, decoded.refused).await?;
    Ok(success(signal, format, &refused))
}

/// `200 OK` with an `Export*ServiceResponse`, carrying `partial_success` only when something
/// was refused.
fn success(signal: Signal, format: Format, refused: &Refused) -> HttpResponse {
    let rejected = i64::try_from(refused.count).unwrap_or(i64::MAX);
    let message = refused.message.clone();
    let partial = !refused.is_empty();
    let body: Bytes = match format {
        Format::Protobuf => match signal {
            Signal::Traces => ExportTraceServiceResponse {
                partial_success: partial.then_some(ExportTracePartialSuccess {
                    rejected_spans: rejected,
                    error_message: message,
                }),
            }
            .encode_to_vec(),
            Signal::Metrics => ExportMetricsServiceResponse {
                partial_success: partial.then_some(ExportMetricsPartialSuccess {
                    rejected_data_points: rejected,
                    error_message: message,
                }),
            }
            .encode_to_vec(),
            Signal::Logs => ExportLogsServiceResponse {
                partial_success: partial.then_some(ExportLogsPartialSuccess {
                    rejected_log_records: rejected,
                    error_message: message,
                }),
            }
            .encode_to_vec(),
        }
        .into(),
        Format::Json => {
            let body = if partial {
                let key = match signal {
                    Signal::Traces => "rejectedSpans",
                    Signal::Metrics => "rejectedDataPoints",
                    Signal::Logs => "rejectedLogRecords",
                };
                serde_json::json!({
                    "partialSuccess": { key: rejected.to_string(), "errorMessage": message }
                })
            } else {
                serde_json::json!({})
            };
            body.to_string().into()
        }
    };
    with_body(StatusCode::OK, format.content_type(), body)
}

fn reject(rejection: &Rejection, format: Option<Format>) -> HttpResponse {
    let status = StatusCode::from_u16(rejection.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = match format {
        Some(Format::Protobuf) => with_body(
            status,
            Format::Protobuf.content_type(),
            rejection.protobuf_body(),
        ),
        Some(Format::Json) => with_body(status, Format::Json.content_type(), rejection.json_body()),
        None => text(status, format!("{}\n", rejection.message())),
    };
    let headers = response.headers_mut();
    if let Some(secs) = rejection.retry_after_secs() {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if matches!(rejection, Rejection::Unauthenticated) {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn probe(request: &Request<Incoming>, status: StatusCode, body: &'static str) -> HttpResponse {
    match *request.method() {
        Method::GET | Method::HEAD => text(status, body),
        _ => method_not_allowed("GET, HEAD"),
    }
}

/// `GET /health`: 200 while every health check passes, else 503 with one problem per line.
fn health(shared: &Shared, request: &Request<Incoming>) -> HttpResponse {
    let problems = shared.health.problems();
    if problems.is_empty() {
        return probe(request, StatusCode::OK, "ok\n");
    }
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return method_not_allowed("GET, HEAD");
    }
    let mut body = String::from("unhealthy\n");
    for problem in problems {
        body.push_str(&problem);
        body.push('\n');
    }
    text(StatusCode::SERVICE_UNAVAILABLE, body)
}

fn metrics(shared: &Shared, request: &Request<Incoming>) -> HttpResponse {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return method_not_allowed("GET, HEAD");
    }
    if let Some(refused) = unauthorized(shared, request) {
        return refused;
    }
    with_body(
        StatusCode::OK,
        otlp_spool_core::metrics::CONTENT_TYPE,
        shared.render_metrics().into(),
    )
}

/// The 401 answer for a request without the bearer token (`/metrics` and extension paths).
fn unauthorized(shared: &Shared, request: &Request<Incoming>) -> Option<HttpResponse> {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    (!shared.authorized(token)).then(|| reject(&Rejection::Unauthenticated, None))
}

/// A path an [`HttpExtension`](crate::HttpExtension) serves: token check, then its answer.
async fn extension(
    shared: &Shared,
    ext: &dyn crate::HttpExtension,
    request: Request<Incoming>,
) -> HttpResponse {
    if let Some(refused) = unauthorized(shared, &request) {
        return refused;
    }
    let (parts, _body) = request.into_parts();
    ext.call(Request::from_parts(parts, ()))
        .await
        .map(Full::new)
}

fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> HttpResponse {
    with_body(status, "text/plain; charset=utf-8", body.into())
}

fn with_body(status: StatusCode, content_type: &'static str, body: Bytes) -> HttpResponse {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
