//! [`Sender`]: one connection to an otlp-spool endpoint posting pre-encoded trace requests.
//!
//! Invariants:
//! - Nothing is encoded on the send path: gRPC goes through a codec that copies the body bytes
//!   into the frame as they are (tonic's generated client would re-encode the message), HTTP
//!   posts the same bytes with `content-type: application/x-protobuf`.
//! - Every answer is classified, never unwrapped: an OTLP partial success counts its rejected
//!   spans, a refusal keeps its HTTP status or gRPC code, a transport failure its message.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// Wire protocol of a [`Sender`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/gRPC `TraceService/Export`.
    Grpc,
    /// OTLP/HTTP, `POST /v1/traces` with a protobuf body.
    Http,
}

/// How one request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted; an OTLP partial success may still have refused some spans.
    Accepted {
        /// Spans the server reported as rejected in a partial success.
        rejected_spans: u64,
    },
    /// Refused with this code (`http 503`, `grpc Unavailable`...).
    Rejected(String),
    /// No answer (connection refused, reset, timeout...).
    Failed(String),
}

/// A [`Sender`] could not be created.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The gRPC channel could not connect.
    #[error("connecting to {addr}: {message}")]
    Connect {
        /// The address.
        addr: SocketAddr,
        /// What went wrong.
        message: String,
    },
    /// The HTTP client could not be built.
    #[error("building the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// One connection to the server; see the module docs.
#[derive(Debug, Clone)]
pub enum Sender {
    /// OTLP/gRPC over one HTTP/2 connection.
    Grpc(tonic::client::Grpc<Channel>),
    /// OTLP/HTTP over one pooled HTTP/1.1 client.
    Http {
        /// The client.
        client: reqwest::Client,
        /// `http://ADDR/v1/traces`.
        url: String,
    },
}

impl Sender {
    /// Connects to `addr` with `protocol`; each request times out after `timeout`.
    pub async fn connect(
        protocol: Protocol,
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<Self, SendError> {
        match protocol {
            Protocol::Grpc => {
                let endpoint = Endpoint::from_shared(format!("http://{addr}"))
                    .map_err(|e| SendError::Connect {
                        addr,
                        message: e.to_string(),
                    })?
                    .timeout(timeout)
                    .connect_timeout(timeout)
                    .tcp_nodelay(true);
                let channel = endpoint.connect().await.map_err(|e| SendError::Connect {
                    addr,
                    message: e.to_string(),
                })?;
                Ok(Self::Grpc(tonic::client::Grpc::new(channel)))
            }
            Protocol::Http => {
                let client = reqwest::Client::builder()
                    .timeout(timeout)
                    .connect_timeout(timeout)
                    .tcp_nodelay(true)
                    .pool_max_idle_per_host(1)
                    .build()?;
                Ok(Self::Http {
                    client,
                    url: format!("http://{addr}/v1/traces"),
                })
            }
        }
    }

    /// Sends one encoded `ExportTraceServiceRequest` and classifies the answer.
    pub async fn send(&mut self, body: Bytes) -> Outcome {
        match self {
            Self::Grpc(grpc) => {
                if let Err(e) = grpc.ready().await {
                    return Outcome::Failed(format!("grpc not ready: {e}"));
                }
                let path = PathAndQuery::from_static(EXPORT_PATH);
                match grpc.unary(tonic::Request::new(body), path, RawCodec).await {
                    Ok(response) => Outcome::Accepted {
                        rejected_spans: rejected(response.get_ref()),
                    },
                    Err(status) => Outcome::Rejected(format!("grpc {:?}", status.code())),
                }
            }
            Self::Http { client, url } => {
                let sent = client
                    .post(url.as_str())
                    .header("content-type", "application/x-protobuf")
                    .body(body)
                    .send()
                    .await;
                let response = match sent {
                    Ok(r) => r,
                    Err(e) => return Outcome::Failed(format!("http: {e}")),
                };
                let status = response.status();
                let bytes = response.bytes().await;
                if !status.is_success() {
                    return Outcome::Rejected(format!("http {}", status.as_u16()));
                }
                match bytes {
                    Ok(b) => Outcome::Accepted {
                        rejected_spans: ExportTraceServiceResponse::decode(b)
                            .map(|r| rejected(&r))
                            .unwrap_or(0),
                    },
                    Err(e) => Outcome::Failed(format!("http body: {e}")),
                }
            }
        }
    }
}

fn rejected(response: &ExportTraceServiceResponse) -> u64 {
    response
        .partial_success
        .as_ref()
        .map_or(0, |p| u64::try_from(p.rejected_spans).unwrap_or(0))
}

/// Sends `Bytes` as they are; decodes the OTLP response with prost.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        let bytes = src.copy_to_bytes(src.remaining());
        ExportTraceServiceResponse::decode(bytes)
            .map(Some)
            .map_err(|e| tonic::Status::internal(format!("decoding the response: {e}")))
    }
}
