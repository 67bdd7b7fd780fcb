//! Shared helpers: a collecting sink, server start-up, request builders and raw clients.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_spool_receiver::{
    Receiver, ReceiverBuilder, Refusal, RunningReceiver, Sink, SinkError, Telemetry,
};

/// What the test sink answers.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    Accept,
    Refuse(SinkError),
}

/// A sink that keeps everything it accepts.
#[derive(Debug)]
pub(crate) struct CollectSink {
    pub(crate) received: Mutex<Vec<Telemetry>>,
    pub(crate) mode: Mutex<Mode>,
}

impl CollectSink {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(CollectSink {
            received: Mutex::new(Vec::new()),
            mode: Mutex::new(Mode::Accept),
        })
    }

    pub(crate) fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub(crate) fn take(&self) -> Vec<Telemetry> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }

    pub(crate) fn calls(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    pub(crate) fn items(&self) -> usize {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(Telemetry::item_count)
            .sum()
    }
}

impl Sink for CollectSink {
    fn accept(&self, telemetry: Telemetry) -> Result<(), Refusal> {
        match &*self.mode.lock().unwrap() {
            Mode::Accept => {
                self.received.lock().unwrap().push(telemetry);
                Ok(())
            }
            Mode::Refuse(e) => Err(Refusal::new(e.clone(), telemetry)),
        }
    }
}

/// A running receiver on 127.0.0.1:0 (both ports) with its sink.
pub(crate) struct Server {
    pub(crate) running: RunningReceiver,
    pub(crate) sink: Arc<CollectSink>,
}

impl Server {
    pub(crate) fn grpc(&self) -> SocketAddr {
        self.running.grpc_addr().unwrap()
    }

    pub(crate) fn http(&self) -> SocketAddr {
        self.running.http_addr().unwrap()
    }

    pub(crate) fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http())
    }

    pub(crate) fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc())
    }
}

pub(crate) fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

pub(crate) fn builder() -> ReceiverBuilder {
    Receiver::builder().grpc_addr(local()).http_addr(local())
}

pub(crate) async fn start() -> Server {
    start_with(builder()).await
}

pub(crate) async fn start_with(builder: ReceiverBuilder) -> Server {
    let sink = CollectSink::new();
    let running = builder
        .build()
        .expect("valid config")
        .serve(sink.clone(), std::future::pending())
        .await
        .expect("bind");
    Server { running, sink }
}

pub(crate) fn string_attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

pub(crate) fn span(trace_id: &[u8], span_id: &[u8], name: &str) -> Span {
    Span {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        name: name.to_owned(),
        kind: 2,
        start_time_unix_nano: 1_700_000_000_000_000_000,
        end_time_unix_nano: 1_700_000_000_100_000_000,
        attributes: vec![string_attr("http.method", "GET")],
        ..Default::default()
    }
}

pub(crate) fn good_span(n: u8, name: &str) -> Span {
    span(&[n.max(1); 16], &[n.max(1); 8], name)
}

pub(crate) fn traces(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "it".to_owned(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A raw HTTP response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub(crate) async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("HTTP request");
    Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.expect("HTTP body"),
    }
}

/// POST `body` to `path` with a content type and optional content encoding.
pub(crate) async fn post(
    server: &Server,
    path: &str,
    content_type: &str,
    encoding: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Reply {
    let mut request = client()
        .post(server.http_url(path))
        .header("content-type", content_type)
        .body(body);
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    send(request).await
}

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

pub(crate) fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 1).unwrap()
}

/// The server still answers health checks and accepts a good request.
pub(crate) async fn assert_healthy(server: &Server) {
    let health = send(client().get(server.http_url("/health"))).await;
    assert_eq!(health.status, 200);
}
