//! Properties of the decode path over open-ended input: never a panic, only the two error
//! kinds; validation keeps exactly the valid spans, in order, and counts the rest.

use bytes::Bytes;
use opentelemetry_proto::tonic::trace::v1::Span;
use otlp_spool_receiver::{
    DecodeError, Encoding, ExportRequest, Format, Limits, Signal, decode_request, validate_protobuf,
};
use proptest::prelude::*;
use prost::Message;

use crate::support::traces;

fn any_format() -> impl Strategy<Value = Format> {
    prop_oneof![Just(Format::Protobuf), Just(Format::Json)]
}

fn any_encoding() -> impl Strategy<Value = Encoding> {
    prop_oneof![
        Just(Encoding::Identity),
        Just(Encoding::Gzip),
        Just(Encoding::Zstd)
    ]
}

fn any_signal() -> impl Strategy<Value = Signal> {
    prop_oneof![
        Just(Signal::Traces),
        Just(Signal::Metrics),
        Just(Signal::Logs)
    ]
}

fn any_span() -> impl Strategy<Value = Span> {
    let id = |len: usize| prop::collection::vec(any::<u8>(), 0..=len + 2);
    (id(16), id(8), id(8), "[a-z]{0,8}").prop_map(|(trace_id, span_id, parent_span_id, name)| {
        Span {
            trace_id,
            span_id,
            parent_span_id,
            name,
            ..Default::default()
        }
    })
}

fn valid(span: &Span) -> bool {
    span.trace_id.len() == 16
        && span.trace_id.iter().any(|&b| b != 0)
        && span.span_id.len() == 8
        && span.span_id.iter().any(|&b| b != 0)
        && (span.parent_span_id.is_empty() || span.parent_span_id.len() == 8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(
        signal in any_signal(),
        format in any_format(),
        encoding in any_encoding(),
        body in prop::collection::vec(any::<u8>(), 0..512),
        limit in 1usize..1024,
    ) {
        let limits = Limits::default().with_max_body_bytes(limit).with_max_decoded_bytes(limit * 4);
        match decode_request(signal, format, encoding, Bytes::from(body), &limits) {
            Ok(decoded) => prop_assert_eq!(decoded.telemetry.signal(), signal),
            Err(DecodeError::Invalid(m)) | Err(DecodeError::TooLarge(m)) => prop_assert!(!m.is_empty()),
        }
    }

    #[test]
    fn validation_keeps_exactly_the_valid_spans(spans in prop::collection::vec(any_span(), 0..20)) {
        let want: Vec<Span> = spans.iter().filter(|s| valid(s)).cloned().collect();
        let body = Bytes::from(traces(spans.clone()).encode_to_vec());
        let (telemetry, refused) = validate_protobuf(Signal::Traces, body, &Limits::default()).unwrap();
        prop_assert_eq!(refused.count as usize, spans.len() - want.len());
        prop_assert_eq!(refused.message.is_empty(), refused.count == 0);
        prop_assert_eq!(telemetry.item_count(), want.len());
        let ExportRequest::Traces(kept) = telemetry.decode().unwrap() else { unreachable!() };
        prop_assert_eq!(&kept.resource_spans[0].scope_spans[0].spans, &want);
    }

    #[test]
    fn protobuf_round_trips_through_every_encoding(
        spans in prop::collection::vec(any_span(), 0..10),
        encoding in any_encoding(),
    ) {
        let request = traces(spans);
        let raw = request.encode_to_vec();
        let body = match encoding {
            Encoding::Identity => raw.clone(),
            Encoding::Gzip => crate::support::gzip(&raw),
            Encoding::Zstd => crate::support::zstd(&raw),
        };
        let limits = Limits::default().with_max_body_bytes(raw.len().max(1));
        let decoded = decode_request(Signal::Traces, Format::Protobuf, encoding, Bytes::from(body), &limits).unwrap();
        let mut expected = request.clone();
        let before = expected.resource_spans[0].scope_spans[0].spans.len();
        expected.resource_spans[0].scope_spans[0].spans.retain(valid);
        let refused = before - expected.resource_spans[0].scope_spans[0].spans.len();
        let expected = ExportRequest::Traces(expected);
        prop_assert_eq!(decoded.telemetry.decode().unwrap(), expected.clone());
        prop_assert_eq!(decoded.telemetry.item_count(), expected.item_count());
        // Nothing refused: the very bytes that came in go on; else the valid part, re-encoded.
        if refused == 0 {
            prop_assert_eq!(&decoded.telemetry.bytes()[..], &raw[..]);
        } else {
            prop_assert_eq!(&decoded.telemetry.bytes()[..], &expected.encode_to_vec()[..]);
        }
        prop_assert_eq!(decoded.refused.count as usize, refused);
    }
}
