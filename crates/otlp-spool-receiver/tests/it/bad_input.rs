//! Bad input over HTTP: each case gets its exact status, the sink gets nothing, the server
//! stays healthy.

use std::time::{Duration, Instant};

use prost::Message;

use crate::support::*;

/// Posts, checks the status, that nothing reached the sink and that the server is healthy.
async fn check(
    server: &Server,
    path: &str,
    ctype: &str,
    enc: Option<&str>,
    body: Vec<u8>,
    want: u16,
) -> Reply {
    let reply = post(server, path, ctype, enc, body).await;
    assert_eq!(
        reply.status,
        want,
        "{path} {ctype} {enc:?}: {}",
        reply.text()
    );
    assert_eq!(server.sink.calls(), 0, "the sink was called");
    assert_healthy(server).await;
    reply
}

const PB: &str = "application/x-protobuf";
const JSON: &str = "application/json";

fn rpc_status_message(body: &[u8]) -> String {
    otlp_spool_core::rpc_status::Status::decode(body)
        .expect("a google.rpc.Status body")
        .message
}

#[tokio::test]
async fn malformed_protobuf_is_400_with_a_message() {
    let server = start().await;
    let reply = check(
        &server,
        "/v1/traces",
        PB,
        None,
        vec![0xff, 0xff, 0xff, 0xff],
        400,
    )
    .await;
    assert_eq!(reply.header("content-type"), Some(PB));
    let message = rpc_status_message(&reply.body);
    assert!(
        message.contains("malformed protobuf ExportTraceServiceRequest"),
        "{message}"
    );
    // A truncated but otherwise valid request.
    let whole = traces(vec![good_span(1, "x")]).encode_to_vec();
    check(
        &server,
        "/v1/traces",
        PB,
        None,
        whole[..whole.len() - 3].to_vec(),
        400,
    )
    .await;
    check(
        &server,
        "/v1/metrics",
        PB,
        None,
        vec![0x0a, 0x05, 0x01],
        400,
    )
    .await;
}

#[tokio::test]
async fn invalid_json_is_400_with_a_json_message() {
    let server = start().await;
    let reply = check(
        &server,
        "/v1/traces",
        JSON,
        None,
        br#"{"resourceSpans": ["#.to_vec(),
        400,
    )
    .await;
    assert_eq!(reply.header("content-type"), Some(JSON));
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(body["code"], 3);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("invalid OTLP/JSON")
    );
    // Ids must be hex; enums must be integers.
    let bad_hex =
        br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"00"}]}]}]}"#;
    check(&server, "/v1/traces", JSON, None, bad_hex.to_vec(), 400).await;
    let empty = check(&server, "/v1/logs", JSON, None, Vec::new(), 400).await;
    assert!(empty.text().contains("EOF"), "{}", empty.text());
}

#[tokio::test]
async fn wrong_content_type_or_encoding_is_415() {
    let server = start().await;
    let body = traces(vec![good_span(1, "x")]).encode_to_vec();
    let reply = check(&server, "/v1/traces", "text/plain", None, body.clone(), 415).await;
    assert!(reply.text().contains("application/x-protobuf"));
    check(
        &server,
        "/v1/logs",
        "application/grpc",
        None,
        body.clone(),
        415,
    )
    .await;
    check(&server, "/v1/traces", PB, Some("br"), body.clone(), 415).await;
    // No content type at all.
    let reply = send(client().post(server.http_url("/v1/traces")).body(body)).await;
    assert_eq!(reply.status, 415);
    assert_eq!(server.sink.calls(), 0);
}

/// An empty body is a valid, empty ExportTraceServiceRequest (all OTLP fields are optional):
/// 200 with an empty response, and nothing to hand to the sink.
#[tokio::test]
async fn empty_protobuf_body_is_an_empty_request() {
    let server = start().await;
    let reply = check(&server, "/v1/traces", PB, None, Vec::new(), 200).await;
    assert!(reply.body.is_empty(), "an empty ExportTraceServiceResponse");
    // Compressed empty body: the same.
    check(&server, "/v1/traces", PB, Some("gzip"), gzip(b""), 200).await;
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let server = start_with(builder().max_body_bytes(1024)).await;
    let big = traces(
        (0..40)
            .map(|i| good_span(i + 1, "a-span-with-a-name"))
            .collect(),
    );
    let body = big.encode_to_vec();
    assert!(body.len() > 1024);
    check(&server, "/v1/traces", PB, None, body.clone(), 413).await;
    // Compressed below the limit, over it once inflated: still 413 (checked after decompression).
    let small = gzip(&body);
    assert!(small.len() < 1024, "{}", small.len());
    check(&server, "/v1/traces", PB, Some("gzip"), small, 413).await;
    check(&server, "/v1/traces", PB, Some("zstd"), zstd(&body), 413).await;
    // Without a Content-Length (chunked): the body read stops at the limit.
    let reply = raw_chunked(&server, &body).await;
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert_eq!(server.sink.calls(), 0);
    // Exactly at the limit is fine.
    let fits = traces(vec![good_span(1, "x")]).encode_to_vec();
    let reply = post(&server, "/v1/traces", PB, None, fits).await;
    assert_eq!(reply.status, 200);
}

/// A chunked HTTP/1.1 POST written by hand; returns the raw response.
async fn raw_chunked(server: &Server, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.http()).await.unwrap();
    let mut request = b"POST /v1/traces HTTP/1.1\r\nhost: test\r\ncontent-type: application/x-protobuf\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_vec();
    for chunk in body.chunks(100) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    // The server may answer and close before reading everything: ignore write errors.
    let _ = stream.write_all(&request).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn truncated_compression_is_400() {
    let server = start().await;
    let body = traces(vec![good_span(1, "x"), good_span(2, "y")]).encode_to_vec();
    let gz = gzip(&body);
    let reply = check(
        &server,
        "/v1/traces",
        PB,
        Some("gzip"),
        gz[..gz.len() / 2].to_vec(),
        400,
    )
    .await;
    assert!(rpc_status_message(&reply.body).contains("not valid gzip"));
    check(
        &server,
        "/v1/traces",
        PB,
        Some("gzip"),
        b"not gzip at all".to_vec(),
        400,
    )
    .await;
    let zs = zstd(&body);
    check(
        &server,
        "/v1/traces",
        PB,
        Some("zstd"),
        zs[..zs.len() / 2].to_vec(),
        400,
    )
    .await;
}

/// 32 MiB of zeros in ~32 KiB of gzip, against a 1 MiB limit: refused as too large after
/// inflating at most 1 MiB + 1 byte.
#[tokio::test]
async fn a_gzip_bomb_is_refused_without_inflating_it() {
    let server = start_with(builder().max_body_bytes(1 << 20)).await;
    let bomb = {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..32 {
            encoder.write_all(&zeros).unwrap();
        }
        encoder.finish().unwrap()
    };
    assert!(bomb.len() < 64 << 10, "bomb of {} bytes", bomb.len());
    let started = Instant::now();
    let reply = check(&server, "/v1/traces", PB, Some("gzip"), bomb, 413).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(rpc_status_message(&reply.body).contains("over the limit"));
}
