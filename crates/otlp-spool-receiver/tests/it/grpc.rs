//! OTLP/gRPC with raw tonic clients: success, compression, bad input, limits, partial success.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use otlp_spool_receiver::ExportRequest;
use prost::Message;
use tonic::Code;
use tonic::codec::CompressionEncoding;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

use crate::support::*;

pub(crate) async fn channel(server: &Server) -> Channel {
    Channel::from_shared(server.grpc_url())
        .unwrap()
        .timeout(Duration::from_secs(20))
        .connect()
        .await
        .expect("gRPC connect")
}

pub(crate) async fn trace_client(server: &Server) -> TraceServiceClient<Channel> {
    TraceServiceClient::new(channel(server).await).max_encoding_message_size(64 << 20)
}

#[tokio::test]
async fn export_with_and_without_compression() {
    let server = start().await;
    let mut client = trace_client(&server).await;
    let request = traces(vec![good_span(1, "a"), good_span(2, "b")]);
    let response = client.export(request.clone()).await.expect("plain");
    assert_eq!(response.into_inner().partial_success, None);
    for encoding in [CompressionEncoding::Gzip, CompressionEncoding::Zstd] {
        let mut compressed = trace_client(&server).await.send_compressed(encoding);
        compressed
            .export(request.clone())
            .await
            .expect("compressed");
    }
    let received = server.sink.take();
    assert_eq!(received.len(), 3);
    // The sink gets the decompressed request bytes exactly as the client encoded them.
    let encoded = request.encode_to_vec();
    assert!(received.iter().all(|t| t.bytes()[..] == encoded[..]));
    assert!(
        received
            .iter()
            .all(|t| t.decode().unwrap() == ExportRequest::Traces(request.clone()))
    );

    let mut logs = LogsServiceClient::new(channel(&server).await);
    let record = LogRecord {
        severity_text: "WARN".into(),
        trace_id: vec![3; 16],
        span_id: vec![4; 8],
        ..Default::default()
    };
    logs.export(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![record.clone(), LogRecord::default()],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
    .await
    .expect("logs");
    assert_eq!(server.sink.items(), 2);
}

#[tokio::test]
async fn partial_success_for_a_three_byte_trace_id() {
    let server = start().await;
    let mut client = trace_client(&server).await;
    let request = traces(vec![good_span(1, "fine"), span(&[1, 2, 3], &[9; 8], "bad")]);
    let partial = client
        .export(request)
        .await
        .expect("accepted")
        .into_inner()
        .partial_success
        .expect("partial_success");
    assert_eq!(partial.rejected_spans, 1);
    assert!(
        partial.error_message.contains("trace id has 3 bytes"),
        "{}",
        partial.error_message
    );
    assert_eq!(server.sink.items(), 1);
}

/// A message tonic cannot decode as an ExportTraceServiceRequest: field 1 as a varint.
#[derive(Clone, PartialEq, prost::Message)]
struct Bogus {
    #[prost(uint64, tag = "1")]
    resource_spans: u64,
}

#[tokio::test]
async fn malformed_protobuf_is_invalid_argument() {
    let server = start().await;
    let mut grpc = tonic::client::Grpc::new(channel(&server).await);
    grpc.ready().await.unwrap();
    let status = grpc
        .unary(
            tonic::Request::new(Bogus { resource_spans: 7 }),
            PathAndQuery::from_static(
                "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            ),
            tonic_prost::ProstCodec::<Bogus, ExportTraceServiceResponse>::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(server.sink.calls(), 0);
    assert_healthy(&server).await;
    // The server still takes good requests on a new connection.
    trace_client(&server)
        .await
        .export(traces(vec![good_span(1, "x")]))
        .await
        .expect("healthy");
}

#[tokio::test]
async fn over_the_limit_is_resource_exhausted_compressed_or_not() {
    let server = start_with(builder().max_body_bytes(64 << 10)).await;
    let mut big = good_span(1, "big");
    big.attributes
        .push(string_attr("blob", &"x".repeat(256 << 10)));
    let request = traces(vec![big]);
    let status = trace_client(&server)
        .await
        .export(request.clone())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    // 256 KiB of 'x' gzip to a few hundred bytes: still refused once inflated past 64 KiB.
    let status = trace_client(&server)
        .await
        .send_compressed(CompressionEncoding::Gzip)
        .export(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(server.sink.calls(), 0);
    assert_healthy(&server).await;
}

#[tokio::test]
async fn unknown_method_is_unimplemented() {
    let server = start().await;
    let mut grpc = tonic::client::Grpc::new(channel(&server).await);
    grpc.ready().await.unwrap();
    let status = grpc
        .unary(
            tonic::Request::new(ExportTraceServiceRequest::default()),
            PathAndQuery::from_static("/opentelemetry.proto.collector.trace.v1.TraceService/Nope"),
            tonic_prost::ProstCodec::<ExportTraceServiceRequest, ExportTraceServiceResponse>::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
}

/// Raw gRPC frames over a hand-driven HTTP/2 connection, for what no well-behaved client
/// sends: corrupt compression, a bomb, a lying length prefix, an empty message.
pub(crate) mod raw {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use tonic::Code;
    use tonic::codegen::http::Request;

    use crate::support::*;

    /// A 5-byte gRPC frame header (compressed flag, big-endian length) and the payload.
    pub(crate) fn frame(compressed: bool, declared_len: u32, payload: &[u8]) -> Bytes {
        let mut out = vec![u8::from(compressed)];
        out.extend_from_slice(&declared_len.to_be_bytes());
        out.extend_from_slice(payload);
        out.into()
    }

    /// Sends one frame to TraceService/Export; returns the grpc-status (headers or trailers).
    async fn call(server: &Server, encoding: Option<&str>, body: Bytes) -> Code {
        call_status(server, encoding, body).await.0
    }

    /// Sends one frame to TraceService/Export; returns the grpc-status and grpc-message.
    pub(crate) async fn call_status(
        server: &Server,
        encoding: Option<&str>,
        body: Bytes,
    ) -> (Code, String) {
        let tcp = tokio::net::TcpStream::connect(server.grpc()).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
                .await
                .unwrap();
        tokio::spawn(conn);
        let mut request = Request::post(format!(
            "http://{}/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            server.grpc()
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
        if let Some(encoding) = encoding {
            request = request.header("grpc-encoding", encoding);
        }
        let response = sender
            .send_request(request.body(Full::new(body)).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let (parts, body) = response.into_parts();
        let headers = match parts.headers.contains_key("grpc-status") {
            true => parts.headers,
            false => body.collect().await.unwrap().trailers().unwrap().clone(),
        };
        let code = headers["grpc-status"].to_str().unwrap().parse().unwrap();
        let message = headers
            .get("grpc-message")
            .map(|m| percent_decode(m.as_bytes()))
            .unwrap_or_default();
        (Code::from_i32(code), message)
    }

    /// grpc-message is percent-encoded.
    fn percent_decode(raw: &[u8]) -> String {
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            let hex = raw
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match (raw[i], hex) {
                (b'%', Some(byte)) => {
                    out.push(byte);
                    i += 3;
                }
                (b, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn corrupt_compression_bombs_and_length_prefixes() {
        let server = start_with(builder().max_body_bytes(1 << 20)).await;
        let message = {
            use prost::Message;
            traces(vec![good_span(1, "raw")]).encode_to_vec()
        };

        assert_eq!(
            call(&server, None, frame(false, message.len() as u32, &message)).await,
            Code::Ok
        );
        let gz = gzip(&message);
        assert_eq!(
            call(&server, Some("gzip"), frame(true, gz.len() as u32, &gz)).await,
            Code::Ok
        );
        assert_eq!(
            call(&server, None, frame(false, 0, &[])).await,
            Code::Ok,
            "an empty message"
        );
        assert_eq!(server.sink.calls(), 2);

        // Truncated gzip: INVALID_ARGUMENT (tonic says INTERNAL; the router corrects it).
        let cut = &gz[..gz.len() / 2];
        assert_eq!(
            call(&server, Some("gzip"), frame(true, cut.len() as u32, cut)).await,
            Code::InvalidArgument
        );
        // 16 MiB of zeros in a few KiB of gzip against a 1 MiB limit.
        let bomb = gzip(&vec![0u8; 16 << 20]);
        assert_eq!(
            call(&server, Some("gzip"), frame(true, bomb.len() as u32, &bomb)).await,
            Code::ResourceExhausted
        );
        // A length prefix over the limit is refused before the payload is read.
        assert_eq!(
            call(&server, None, frame(false, 64 << 20, b"short")).await,
            Code::ResourceExhausted
        );
        // Garbage protobuf.
        assert_eq!(
            call(&server, None, frame(false, 3, &[0xff, 0xff, 0xff])).await,
            Code::InvalidArgument
        );
        // An encoding the server does not take.
        assert_eq!(
            call(&server, Some("br"), frame(true, 3, b"abc")).await,
            Code::Unimplemented
        );

        assert_eq!(server.sink.calls(), 2, "bad frames changed nothing");
        assert_healthy(&server).await;
    }
}
