//! Limits on what one request may cost: nesting depth (an AnyValue nested 10,000 levels deep,
//! as kvlist and as array, in protobuf and in JSON) and the write cost
//! (`receiver.max_decoded_size`). Every refusal names its reason, reaches no sink, and leaves
//! the server healthy; nothing recurses once per level of the input.

use std::time::Duration;

use bytes::Bytes;
use otlp_spool_core::wire::{WireType, put_tag, put_varint};
use otlp_spool_receiver::{
    DecodeError, Encoding, ExportRequest, Format, Limits, Signal, decode_request,
};
use prost::Message;
use tonic::Code;

use crate::grpc::raw;
use crate::support::*;

/// How deep the hostile inputs nest.
const DEEP: usize = 10_000;
/// The stack the decode path runs on in [`decoding_deep_input_needs_little_stack`]: a quarter
/// of a tokio worker's, and far below what one frame per level of a 10,000-level input would
/// take. (Measured in this debug test build: protobuf fits in 256 KiB; JSON needs between 256
/// and 320 KiB, for serde_json's 128 levels of bounded recursion.)
const SMALL_STACK: usize = 512 << 10;

const PB: &str = "application/x-protobuf";
const JSON: &str = "application/json";

#[derive(Debug, Clone, Copy)]
enum Shape {
    /// `AnyValue { kvlist_value { values [ { key, value: AnyValue ... } ] } }`
    KvList,
    /// `AnyValue { array_value { values [ AnyValue ... ] } }`
    Array,
}

/// Protobuf written back to front, so that a 10,000-level nesting costs one pass: every
/// `wrap` turns everything written so far into one length-delimited field.
#[derive(Default)]
struct Backwards(Vec<u8>);

impl Backwards {
    /// Puts `bytes` in front of what is written.
    fn prepend(&mut self, bytes: &[u8]) {
        self.0.extend(bytes.iter().rev());
    }

    /// Makes everything written so far the payload of field `number`.
    fn wrap(&mut self, number: u32) {
        let mut prefix = Vec::new();
        put_tag(&mut prefix, number, WireType::Len);
        put_varint(&mut prefix, self.0.len() as u64);
        self.prepend(&prefix);
    }

    /// A length-delimited field placed before what is written.
    fn field(&mut self, number: u32, payload: &[u8]) {
        let mut bytes = Vec::new();
        otlp_spool_core::wire::put_len_field(&mut bytes, number, payload);
        self.prepend(&bytes);
    }

    fn finish(self) -> Vec<u8> {
        let mut bytes = self.0;
        bytes.reverse();
        bytes
    }
}

/// An `ExportTraceServiceRequest` with one valid span whose one attribute is an AnyValue
/// nested `levels` deep.
fn nested_protobuf(shape: Shape, levels: usize) -> Vec<u8> {
    let mut out = Backwards::default();
    out.field(1, b"leaf"); // AnyValue.string_value
    for _ in 0..levels {
        match shape {
            Shape::KvList => {
                out.wrap(2); // KeyValue.value
                out.field(1, b"k"); // KeyValue.key
                out.wrap(1); // KeyValueList.values
                out.wrap(6); // AnyValue.kvlist_value
            }
            Shape::Array => {
                out.wrap(1); // ArrayValue.values
                out.wrap(5); // AnyValue.array_value
            }
        }
    }
    out.wrap(2); // KeyValue.value
    out.field(1, b"deep"); // KeyValue.key
    out.wrap(9); // Span.attributes
    out.field(5, b"span"); // Span.name
    out.field(2, &[7; 8]); // Span.span_id
    out.field(1, &[7; 16]); // Span.trace_id
    out.wrap(2); // ScopeSpans.spans
    out.wrap(2); // ResourceSpans.scope_spans
    out.wrap(1); // ExportTraceServiceRequest.resource_spans
    out.finish()
}

/// The same request in OTLP/JSON.
fn nested_json(shape: Shape, levels: usize) -> Vec<u8> {
    let (open, close) = match shape {
        Shape::KvList => (r#"{"kvlistValue":{"values":[{"key":"k","value":"#, "}]}}"),
        Shape::Array => (r#"{"arrayValue":{"values":["#, "]}}"),
    };
    let mut json = String::from(
        r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"07070707070707070707070707070707","spanId":"0707070707070707","name":"span","attributes":[{"key":"deep","value":"#,
    );
    json.push_str(&open.repeat(levels));
    json.push_str(r#"{"stringValue":"leaf"}"#);
    json.push_str(&close.repeat(levels));
    json.push_str("}]}]}]}]}");
    json.into_bytes()
}

/// A shallow nesting is a normal request: the limit is about depth, not about nesting at all.
#[test]
fn shallow_nesting_is_accepted_in_both_encodings() {
    for shape in [Shape::KvList, Shape::Array] {
        for (format, body) in [
            (Format::Protobuf, nested_protobuf(shape, 5)),
            (Format::Json, nested_json(shape, 5)),
        ] {
            let decoded = decode_request(
                Signal::Traces,
                format,
                Encoding::Identity,
                Bytes::from(body),
                &Limits::default(),
            )
            .unwrap_or_else(|e| panic!("{shape:?} {format:?}: {e}"));
            assert_eq!(decoded.telemetry.item_count(), 1);
            assert!(decoded.refused.is_empty());
        }
    }
}

/// The protobuf built here is what prost encodes for the same request (checked on a depth
/// prost can handle), so the deep inputs are realistic, not merely malformed.
#[test]
fn the_hand_built_nesting_is_real_otlp() {
    for shape in [Shape::KvList, Shape::Array] {
        let bytes = nested_protobuf(shape, 3);
        let ExportRequest::Traces(request) = ExportRequest::decode(Signal::Traces, &bytes).unwrap()
        else {
            unreachable!()
        };
        assert_eq!(request.encode_to_vec(), bytes);
        let json: serde_json::Value = serde_json::from_slice(&nested_json(shape, 3)).unwrap();
        let from_json: opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest =
            serde_json::from_value(json).unwrap();
        assert_eq!(from_json, request, "{shape:?}");
    }
}

/// Runs the decode path on a deliberately small stack: 10,000 levels with even one small
/// frame per level would overflow it.
fn decode_on_small_stack(format: Format, body: Vec<u8>) -> Result<usize, DecodeError> {
    std::thread::Builder::new()
        .name("small-stack".into())
        .stack_size(SMALL_STACK)
        .spawn(move || {
            decode_request(
                Signal::Traces,
                format,
                Encoding::Identity,
                Bytes::from(body),
                &Limits::default(),
            )
            .map(|d| d.telemetry.item_count())
        })
        .unwrap()
        .join()
        .expect("the decode thread did not panic")
}

#[test]
fn decoding_deep_input_needs_little_stack() {
    for shape in [Shape::KvList, Shape::Array] {
        for (format, body, want) in [
            (
                Format::Protobuf,
                nested_protobuf(shape, DEEP),
                "exceeds the limit of 31",
            ),
            (Format::Json, nested_json(shape, DEEP), "recursion limit"),
        ] {
            match decode_on_small_stack(format, body) {
                Err(DecodeError::Invalid(message)) => {
                    assert!(message.contains(want), "{shape:?} {format:?}: {message}")
                }
                other => panic!("{shape:?} {format:?}: {other:?}"),
            }
        }
        // As deep as the limits allow still decodes on the same stack.
        assert_eq!(
            decode_on_small_stack(Format::Protobuf, nested_protobuf(shape, 20)),
            Ok(1)
        );
    }
}

#[tokio::test]
async fn deep_nesting_is_400_over_http_in_protobuf_and_json() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let server = start().await;
        for shape in [Shape::KvList, Shape::Array] {
            for (ctype, body, want) in [
                (PB, nested_protobuf(shape, DEEP), "nesting depth"),
                (JSON, nested_json(shape, DEEP), "recursion limit"),
            ] {
                let reply = post(&server, "/v1/traces", ctype, None, body).await;
                assert_eq!(reply.status, 400, "{shape:?} {ctype}: {}", reply.text());
                assert!(
                    reply.text().contains(want),
                    "{shape:?} {ctype}: {}",
                    reply.text()
                );
            }
        }
        assert_eq!(server.sink.calls(), 0);
        assert_healthy(&server).await;
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn deep_nesting_is_invalid_argument_over_grpc() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let server = start().await;
        for shape in [Shape::KvList, Shape::Array] {
            let (code, message) = export_raw(&server, nested_protobuf(shape, DEEP))
                .await
                .unwrap_err();
            assert_eq!(code, Code::InvalidArgument, "{shape:?}: {message}");
            assert!(
                message.contains("nesting depth") && message.contains("limit of 31"),
                "{shape:?}: {message}"
            );
        }
        assert_eq!(server.sink.calls(), 0);
        // The same connection handling still takes a good request.
        let good = traces(vec![good_span(1, "after")]).encode_to_vec();
        export_raw(&server, good).await.expect("healthy");
        assert_eq!(server.sink.calls(), 1);
    })
    .await
    .expect("test timed out");
}

/// A request of `spans` valid spans with a 1 KiB attribute each.
fn heavy(spans: u8) -> Vec<u8> {
    let spans = (1..=spans)
        .map(|n| {
            let mut span = good_span(n, "heavy");
            span.attributes.push(string_attr("blob", &"x".repeat(1024)));
            span
        })
        .collect();
    traces(spans).encode_to_vec()
}

#[tokio::test]
async fn a_request_costlier_than_max_decoded_bytes_is_413_or_resource_exhausted() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let limit = 64 << 10;
        let server = start_with(builder().max_decoded_bytes(limit)).await;
        let light = traces(vec![good_span(1, "light")]).encode_to_vec();
        let reply = post(&server, "/v1/traces", PB, None, light.clone()).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        export_raw(&server, light).await.expect("under the limit");
        assert_eq!(server.sink.calls(), 2);

        // 100 spans of ~1.1 KiB: about 110 KiB on the wire, several times that to write.
        let body = heavy(100);
        assert!(
            body.len() < limit * 2,
            "the body limit is not what refuses it"
        );
        let reply = post(&server, "/v1/traces", PB, None, body.clone()).await;
        assert_eq!(reply.status, 413, "{}", reply.text());
        let message = reply.text();
        assert!(
            message.contains("receiver.max_decoded_size") && message.contains(&limit.to_string()),
            "{message}"
        );
        let (code, message) = export_raw(&server, body).await.unwrap_err();
        assert_eq!(code, Code::ResourceExhausted, "{message}");
        assert!(message.contains("receiver.max_decoded_size"), "{message}");
        assert_eq!(
            server.sink.calls(),
            2,
            "nothing of the costly request was kept"
        );
        assert_healthy(&server).await;
    })
    .await
    .expect("test timed out");
}

#[test]
fn a_zero_decoded_limit_is_refused_at_build() {
    let error = builder().max_decoded_bytes(0).build().unwrap_err();
    assert!(error.to_string().contains("max_decoded_bytes"), "{error}");
}

/// Sends `body` as it is to `TraceService/Export` in one raw gRPC frame (a client that
/// encodes nothing): `Ok` or the status code and message.
async fn export_raw(server: &Server, body: Vec<u8>) -> Result<(), (Code, String)> {
    let frame = raw::frame(false, body.len() as u32, &body);
    match raw::call_status(server, None, frame).await {
        (Code::Ok, _) => Ok(()),
        failed => Err(failed),
    }
}

/// A fuzz finding (`fuzz/artifacts`, kept in `fuzz/corpus/decompress`): a zstd frame that
/// declares 16 bytes of content but holds one empty block. Read two bytes at a time (a 1-byte
/// cap) zstd used to let it pass; read in larger pieces it is "Data corruption detected". The
/// verdict must not depend on the cap.
#[test]
fn a_zstd_frame_is_judged_the_same_under_every_cap() {
    let body = Bytes::from_static(&[
        0x28, 0xb5, 0x2f, 0xfd, 0x80, 0x48, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    ]);
    let reference = otlp_spool_receiver::decompress(body.clone(), Encoding::Zstd, 16 << 20);
    assert!(
        matches!(&reference, Err(DecodeError::Invalid(m)) if m.contains("zstd")),
        "{reference:?}"
    );
    for cap in [1, 2, 3, 16, 17, 1024] {
        match otlp_spool_receiver::decompress(body.clone(), Encoding::Zstd, cap) {
            Ok(out) => panic!("cap {cap}: accepted {out:?}, refused without a cap"),
            Err(DecodeError::Invalid(_) | DecodeError::TooLarge(_)) => {}
        }
    }
}
