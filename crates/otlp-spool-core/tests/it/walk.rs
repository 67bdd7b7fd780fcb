//! The walker on chosen inputs: nesting limits (10 000 levels on a small stack, and prost's
//! exact boundary), every id rule with its message, refused items cut out of first, middle
//! and last positions, merged singular fields, packed and unpacked repeated fields, oneof
//! switches, error paths and offsets, zero copy.

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint,
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    exponential_histogram_data_point::Buckets, metric::Data,
};
use opentelemetry_proto::tonic::trace::v1::span::Link;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_spool_core::Signal;
use otlp_spool_core::wire::{
    WalkError, WalkErrorKind, WalkLimits, Walked, WireType, put_len_field, put_tag, put_varint,
    walk,
};
use prost::Message;

use crate::oracle::{self, Outcome};

const TRACE: [u8; 16] = [0xab; 16];
const SPAN: [u8; 8] = [0xcd; 8];

fn walk_ok(signal: Signal, bytes: Vec<u8>) -> Walked {
    // Every accepted input here must also satisfy the oracle.
    assert!(matches!(
        oracle::check(signal, &bytes, &WalkLimits::default()),
        Ok(Outcome::Accepted { .. })
    ));
    walk(signal, Bytes::from(bytes), &WalkLimits::default()).unwrap()
}

fn walk_err(signal: Signal, bytes: &[u8]) -> WalkError {
    assert_eq!(
        oracle::check(signal, bytes, &WalkLimits::default()),
        Ok(Outcome::BothRefused)
    );
    walk(
        signal,
        Bytes::copy_from_slice(bytes),
        &WalkLimits::default(),
    )
    .unwrap_err()
}

fn span(name: &str, trace_id: &[u8], span_id: &[u8]) -> Span {
    Span {
        name: name.into(),
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        ..Default::default()
    }
}

fn good(name: &str) -> Span {
    span(name, &TRACE, &SPAN)
}

fn traces(scopes: Vec<Vec<Vec<Span>>>) -> Vec<u8> {
    ExportTraceServiceRequest {
        resource_spans: scopes
            .into_iter()
            .map(|scope_spans| ResourceSpans {
                scope_spans: scope_spans
                    .into_iter()
                    .map(|spans| ScopeSpans {
                        spans,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
    }
    .encode_to_vec()
}

fn logs(records: Vec<LogRecord>) -> Vec<u8> {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// A request of any signal holding `items` (encoded spans, metrics or log records) in one
/// scope entry of one resource entry: the envelope's field numbers are the same for all three.
fn envelope(items: &[&[u8]]) -> Vec<u8> {
    let mut scope = Vec::new();
    for item in items {
        put_len_field(&mut scope, 2, item);
    }
    let mut resource = Vec::new();
    put_len_field(&mut resource, 2, &scope);
    let mut out = Vec::new();
    put_len_field(&mut out, 1, &resource);
    out
}

fn span_names(bytes: &[u8]) -> Vec<Vec<Vec<String>>> {
    ExportTraceServiceRequest::decode(bytes)
        .unwrap()
        .resource_spans
        .iter()
        .map(|r| {
            r.scope_spans
                .iter()
                .map(|s| s.spans.iter().map(|s| s.name.clone()).collect())
                .collect()
        })
        .collect()
}

/// Checks the verdict on one span: `None` kept, `Some(reason)` refused with that message.
fn check_span(span: Span, expected: Option<&str>) {
    let walked = walk_ok(Signal::Traces, traces(vec![vec![vec![span]]]));
    match expected {
        None => assert_eq!((walked.items, walked.refused.count), (1, 0)),
        Some(message) => {
            assert_eq!((walked.items, walked.refused.count), (0, 1));
            assert_eq!(walked.refused.message, message);
        }
    }
}

fn check_log(record: LogRecord, expected: Option<&str>) {
    let walked = walk_ok(Signal::Logs, logs(vec![record]));
    match expected {
        None => assert_eq!((walked.items, walked.refused.count), (1, 0)),
        Some(message) => {
            assert_eq!((walked.items, walked.refused.count), (0, 1));
            assert_eq!(walked.refused.message, message);
        }
    }
}

#[test]
fn span_id_rules() {
    check_span(good("ok"), None);
    check_span(
        span("a", &[], &SPAN),
        Some(r#"span "a" refused: trace id has 0 bytes, want 16"#),
    );
    check_span(
        span("a", &[1; 15], &SPAN),
        Some(r#"span "a" refused: trace id has 15 bytes, want 16"#),
    );
    check_span(
        span("a", &[1; 17], &SPAN),
        Some(r#"span "a" refused: trace id has 17 bytes, want 16"#),
    );
    check_span(
        span("a", &[0; 16], &SPAN),
        Some(r#"span "a" refused: trace id is all zeros"#),
    );
    check_span(
        span("a", &TRACE, &[]),
        Some(r#"span "a" refused: span id has 0 bytes, want 8"#),
    );
    check_span(
        span("a", &TRACE, &[1; 9]),
        Some(r#"span "a" refused: span id has 9 bytes, want 8"#),
    );
    check_span(
        span("a", &TRACE, &[0; 8]),
        Some(r#"span "a" refused: span id is all zeros"#),
    );
    // Both wrong: the trace id is named.
    check_span(
        span("a", &[0; 16], &[]),
        Some(r#"span "a" refused: trace id is all zeros"#),
    );
    let with_parent = |parent: &[u8]| Span {
        parent_span_id: parent.to_vec(),
        ..good("p")
    };
    check_span(with_parent(&[]), None);
    check_span(with_parent(&[2; 8]), None);
    check_span(
        with_parent(&[2; 7]),
        Some(r#"span "p" refused: parent span id has 7 bytes, want 8"#),
    );
    check_span(
        with_parent(&[0; 8]),
        Some(r#"span "p" refused: parent span id is all zeros"#),
    );
    let with_links = |links: &[(&[u8], &[u8])]| Span {
        links: links
            .iter()
            .map(|(t, s)| Link {
                trace_id: t.to_vec(),
                span_id: s.to_vec(),
                ..Default::default()
            })
            .collect(),
        ..good("l")
    };
    check_span(with_links(&[(&TRACE, &SPAN), (&[3; 16], &[4; 8])]), None);
    check_span(
        with_links(&[(&TRACE, &SPAN), (&[3; 5], &SPAN), (&TRACE, &[0; 8])]),
        Some(r#"span "l" refused: link trace id has 5 bytes, want 16"#),
    );
    check_span(
        with_links(&[(&TRACE, &[0; 8])]),
        Some(r#"span "l" refused: link span id is all zeros"#),
    );
    check_span(
        with_links(&[(&[0; 16], &SPAN)]),
        Some(r#"span "l" refused: link trace id is all zeros"#),
    );
    check_span(
        with_links(&[(&TRACE, &[])]),
        Some(r#"span "l" refused: link span id has 0 bytes, want 8"#),
    );
    // Names are quoted as Rust debug strings.
    check_span(
        span("say \"hi\"\n", &[], &SPAN),
        Some(r#"span "say \"hi\"\n" refused: trace id has 0 bytes, want 16"#),
    );
}

#[test]
fn log_id_rules() {
    let record = |trace_id: &[u8], span_id: &[u8]| LogRecord {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        ..Default::default()
    };
    check_log(record(&[], &[]), None);
    check_log(record(&TRACE, &SPAN), None);
    check_log(record(&[0; 16], &[0; 8]), None); // all zeros: "no context"
    check_log(record(&TRACE, &[]), None);
    check_log(
        record(&[1; 15], &SPAN),
        Some("log record refused: trace id has 15 bytes, want 16"),
    );
    check_log(
        record(&TRACE, &[1; 4]),
        Some("log record refused: span id has 4 bytes, want 8"),
    );
    check_log(
        record(&[1; 3], &[1; 4]),
        Some("log record refused: trace id has 3 bytes, want 16"),
    );
}

#[test]
fn refused_spans_are_cut_from_first_middle_and_last_positions() {
    let bad = |name: &str| span(name, &[], &SPAN);
    let input = traces(vec![
        vec![
            vec![bad("x1"), good("a"), good("b")],
            vec![good("c"), bad("x2"), good("d")],
            vec![good("e"), good("f"), bad("x3")],
        ],
        vec![vec![bad("x4")], vec![good("g")], vec![bad("x5"), bad("x6")]],
        vec![vec![good("h")]],
    ]);
    let walked = walk_ok(Signal::Traces, input.clone());
    assert_eq!((walked.items, walked.refused.count), (8, 6));
    let names = |v: &[&[&str]]| -> Vec<Vec<String>> {
        v.iter()
            .map(|s| s.iter().map(|n| n.to_string()).collect())
            .collect()
    };
    assert_eq!(
        span_names(&walked.bytes),
        vec![
            names(&[&["a", "b"], &["c", "d"], &["e", "f"]]),
            names(&[&[], &["g"], &[]]),
            names(&[&["h"]]),
        ]
    );
    assert_eq!(
        walked.refused.message,
        r#"span "x1" refused: trace id has 0 bytes, want 16; span "x2" refused: trace id has 0 bytes, want 16; span "x3" refused: trace id has 0 bytes, want 16; and 3 more spans"#
    );
    // The last resource is untouched: its bytes end the output as they ended the input.
    let tail = traces(vec![vec![vec![good("h")]]]);
    assert!(walked.bytes.ends_with(&tail));
}

#[test]
fn refused_log_records_are_cut_and_the_scope_stays() {
    let record = |text: &str, trace_id: &[u8]| LogRecord {
        severity_text: text.into(),
        trace_id: trace_id.to_vec(),
        ..Default::default()
    };
    let input = logs(vec![
        record("bad1", &[1; 2]),
        record("ok", &TRACE),
        record("bad2", &[1; 3]),
    ]);
    let walked = walk_ok(Signal::Logs, input);
    assert_eq!((walked.items, walked.refused.count), (1, 2));
    let kept = ExportLogsServiceRequest::decode(walked.bytes).unwrap();
    let scope = &kept.resource_logs[0].scope_logs[0];
    assert_eq!(scope.log_records.len(), 1);
    assert_eq!(scope.log_records[0].severity_text, "ok");
    let all_bad = walk_ok(Signal::Logs, logs(vec![record("bad", &[9])]));
    let kept = ExportLogsServiceRequest::decode(all_bad.bytes).unwrap();
    assert!(kept.resource_logs[0].scope_logs[0].log_records.is_empty());
}

#[test]
fn length_prefixes_shrink_across_varint_sizes() {
    // A scope of 200 bytes-plus spans: its length needs two varint bytes before the cut and
    // one after; a resource that needs three before and two after.
    let padded = |name: String| Span {
        trace_state: "t".repeat(100),
        ..good(&name)
    };
    let mut spans: Vec<Span> = (0..200).map(|i| padded(format!("s{i}"))).collect();
    spans.insert(0, span("bad", &[], &SPAN));
    walk_ok(Signal::Traces, traces(vec![vec![spans]]));
    let small = vec![
        span("bad", &[], &SPAN),
        Span {
            trace_state: "t".repeat(90),
            ..good("a")
        },
    ];
    let walked = walk_ok(Signal::Traces, traces(vec![vec![small]]));
    assert_eq!(span_names(&walked.bytes), vec![vec![vec!["a".to_string()]]]);
}

#[test]
fn nothing_refused_means_the_same_buffer() {
    let body = Bytes::from(traces(vec![vec![vec![good("a"), good("b")]]]));
    let walked = walk(Signal::Traces, body.clone(), &WalkLimits::default()).unwrap();
    assert_eq!(walked.bytes.as_ptr(), body.as_ptr());
    assert_eq!(walked.bytes.len(), body.len());
    assert_eq!((walked.items, walked.refused.count), (2, 0));
    assert!(walked.refused.message.is_empty());
    let empty = walk(Signal::Metrics, Bytes::new(), &WalkLimits::default()).unwrap();
    assert_eq!((empty.items, empty.stats.resources), (0, 0));
}

#[test]
fn the_last_occurrence_of_an_id_decides() {
    // Span: trace id invalid, then valid (kept); valid, then invalid (refused).
    let mut span_bytes = Vec::new();
    put_len_field(&mut span_bytes, 1, &[1; 3]);
    put_len_field(&mut span_bytes, 2, &SPAN);
    put_len_field(&mut span_bytes, 1, &TRACE);
    assert_eq!(walk_ok(Signal::Traces, envelope(&[&span_bytes])).items, 1);
    put_len_field(&mut span_bytes, 1, &[0; 16]);
    let walked = walk_ok(Signal::Traces, envelope(&[&span_bytes]));
    assert_eq!(
        walked.refused.message,
        r#"span "" refused: trace id is all zeros"#
    );
}

fn histogram_point_bytes(extra: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut point = Vec::new();
    put_tag(&mut point, 4, WireType::Fixed64);
    point.extend_from_slice(&3u64.to_le_bytes());
    extra(&mut point);
    metrics_request(9, &point)
}

/// A metrics request with one metric whose `data` is field `kind` holding one data point.
fn metrics_request(kind: u32, point: &[u8]) -> Vec<u8> {
    let mut data = Vec::new();
    put_len_field(&mut data, 1, point);
    let mut metric = Vec::new();
    put_len_field(&mut metric, 1, b"m");
    put_len_field(&mut metric, kind, &data);
    envelope(&[&metric])
}

#[test]
fn repeated_scalars_are_accepted_packed_and_unpacked() {
    // bucket_counts (fixed64): one packed run, then two unpacked values; explicit_bounds
    // (double) unpacked.
    let walked = walk_ok(
        Signal::Metrics,
        histogram_point_bytes(|p| {
            let packed: Vec<u8> = [1u64, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
            put_len_field(p, 6, &packed);
            for v in [3u64, 4] {
                put_tag(p, 6, WireType::Fixed64);
                p.extend_from_slice(&v.to_le_bytes());
            }
            put_tag(p, 7, WireType::Fixed64);
            p.extend_from_slice(&1.5f64.to_le_bytes());
        }),
    );
    assert_eq!((walked.items, walked.stats.buckets), (1, 5));
    // A packed fixed64 run that is not a whole number of values: prost refuses, so do we.
    let err = walk_err(
        Signal::Metrics,
        &histogram_point_bytes(|p| put_len_field(p, 6, &[0; 12])),
    );
    assert_eq!(err.kind, WalkErrorKind::PackedLength);
    assert!(
        err.path.ends_with("histogram.data_points[0].bucket_counts"),
        "{}",
        err.path
    );
    // Exponential histogram buckets (uint64 varints): unpacked, packed, and a truncated run.
    let buckets = |b: &[u8]| {
        let mut buckets = Vec::new();
        put_tag(&mut buckets, 1, WireType::Varint);
        put_varint(&mut buckets, 7);
        buckets.extend_from_slice(b);
        let mut point = Vec::new();
        put_len_field(&mut point, 8, &buckets);
        metrics_request(10, &point)
    };
    let mut unpacked = Vec::new();
    for v in [1u64, 300, u64::MAX] {
        put_tag(&mut unpacked, 2, WireType::Varint);
        put_varint(&mut unpacked, v);
    }
    assert_eq!(
        walk_ok(Signal::Metrics, buckets(&unpacked)).stats.buckets,
        3
    );
    let mut packed = Vec::new();
    put_len_field(&mut packed, 2, &[0x01, 0xac, 0x02, 0x05]);
    assert_eq!(walk_ok(Signal::Metrics, buckets(&packed)).stats.buckets, 3);
    let mut truncated = Vec::new();
    put_len_field(&mut truncated, 2, &[0x01, 0xac]);
    assert_eq!(
        walk_err(Signal::Metrics, &buckets(&truncated)).kind,
        WalkErrorKind::PackedLength
    );
    // A packed run is not accepted for a repeated *string* field (EntityRef.id_keys is Len
    // anyway), nor a varint for bucket_counts (fixed64).
    let err = walk_err(
        Signal::Metrics,
        &histogram_point_bytes(|p| {
            put_tag(p, 6, WireType::Varint);
            put_varint(p, 1);
        }),
    );
    assert_eq!(
        err.kind,
        WalkErrorKind::WrongWireType {
            field: 6,
            expected: WireType::Fixed64,
            found: WireType::Varint
        }
    );
}

#[test]
fn a_metric_counts_the_data_prost_keeps() {
    let points = |n: usize| {
        (0..n)
            .map(|_| NumberDataPoint::default())
            .collect::<Vec<_>>()
    };
    let metric = |data: Data| Metric {
        name: "m".into(),
        data: Some(data),
        ..Default::default()
    };
    let encoded: Vec<Vec<u8>> = [
        metric(Data::Gauge(Gauge {
            data_points: points(2),
        })),
        metric(Data::Sum(Sum {
            data_points: points(3),
            ..Default::default()
        })),
        metric(Data::Gauge(Gauge {
            data_points: points(1),
        })),
        metric(Data::Gauge(Gauge {
            data_points: points(4),
        })),
    ]
    .iter()
    .map(|m| m.encode_to_vec())
    .collect();
    // One metric message made of the four messages' fields in a row: prost merges them into
    // one metric whose data is Gauge(1) merged with Gauge(4) (the Sum replaced Gauge(2), then
    // was replaced): 5 points.
    assert_eq!(
        walk_ok(Signal::Metrics, envelope(&[&encoded.concat()])).items,
        5
    );
    // And every metric type counts its points.
    let all = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![
                    metric(Data::Gauge(Gauge {
                        data_points: points(1),
                    })),
                    metric(Data::Sum(Sum {
                        data_points: points(2),
                        ..Default::default()
                    })),
                    metric(Data::Histogram(Histogram {
                        data_points: vec![HistogramDataPoint::default(); 3],
                        aggregation_temporality: 1,
                    })),
                    metric(Data::ExponentialHistogram(ExponentialHistogram {
                        data_points: vec![
                            ExponentialHistogramDataPoint {
                                positive: Some(Buckets {
                                    offset: -3,
                                    bucket_counts: vec![1, 2]
                                }),
                                ..Default::default()
                            };
                            4
                        ],
                        aggregation_temporality: 2,
                    })),
                    Metric::default(),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let walked = walk_ok(Signal::Metrics, all.encode_to_vec());
    assert_eq!(
        (walked.items, walked.stats.metrics, walked.stats.buckets),
        (10, 5, 8)
    );
}

#[test]
fn errors_name_the_path_the_offset_and_the_problem() {
    // Span 1's name sent as a varint.
    let mut bad_span = Vec::new();
    put_tag(&mut bad_span, 5, WireType::Varint);
    put_varint(&mut bad_span, 1);
    let bytes = envelope(&[&good("a").encode_to_vec(), &bad_span]);
    let err = walk_err(Signal::Traces, &bytes);
    assert_eq!(err.path, "resource_spans[0].scope_spans[0].spans[1].name");
    assert_eq!(
        err.kind,
        WalkErrorKind::WrongWireType {
            field: 5,
            expected: WireType::Len,
            found: WireType::Varint
        }
    );
    assert_eq!(&bytes[err.offset..err.offset + 2], &[0x28, 0x01]);
    assert_eq!(
        err.to_string(),
        format!(
            "resource_spans[0].scope_spans[0].spans[1].name: field 5 has wire type Varint, want Len, at byte {}",
            err.offset
        )
    );
    // Invalid UTF-8 in the third attribute's key.
    let attr = |key: &str| KeyValue {
        key: key.into(),
        ..Default::default()
    };
    let mut record = LogRecord {
        attributes: vec![attr("a"), attr("b"), attr("ZZ")],
        ..Default::default()
    }
    .encode_to_vec();
    let at = record.windows(2).position(|w| w == b"ZZ").unwrap();
    record[at] = 0xff;
    let bytes = envelope(&[&record]);
    let err = walk_err(Signal::Logs, &bytes);
    assert_eq!(err.kind, WalkErrorKind::InvalidUtf8);
    assert_eq!(
        err.path,
        "resource_logs[0].scope_logs[0].log_records[0].attributes[2].key"
    );
    // Framing errors name the field they are in: here the request's first resource entry,
    // whose length runs past the end.
    let err = walk_err(Signal::Logs, &bytes[..bytes.len() - 1]);
    assert!(matches!(err.kind, WalkErrorKind::Malformed(_)), "{err}");
    assert_eq!((err.path.as_str(), err.offset), ("resource_logs[0]", 0));
    assert_eq!(
        err.to_string(),
        "resource_logs[0]: malformed protobuf (truncated field), at byte 0"
    );
}

/// Builds, from the inside out, `levels` AnyValues nested as arrays (`kvlist = false`) or
/// key-value lists around a string, as the bytes of one AnyValue message. Written back to
/// front so that 10 000 levels cost linear time.
fn nested_value(levels: usize, kvlist: bool, innermost: &[u8]) -> Vec<u8> {
    let mut rev: Vec<u8> = innermost.iter().rev().copied().collect();
    let wrap = |rev: &mut Vec<u8>, number: u32| {
        let mut header = Vec::new();
        put_tag(&mut header, number, WireType::Len);
        put_varint(&mut header, rev.len() as u64);
        rev.extend(header.iter().rev());
    };
    for _ in 1..levels {
        if kvlist {
            wrap(&mut rev, 2); // KeyValue.value
            rev.extend(b"\x0a\x01k".iter().rev()); // KeyValue.key = "k" (in front)
            wrap(&mut rev, 1); // KeyValueList.values
            wrap(&mut rev, 6); // AnyValue.kvlist_value
        } else {
            wrap(&mut rev, 1); // ArrayValue.values
            wrap(&mut rev, 5); // AnyValue.array_value
        }
    }
    rev.reverse();
    rev
}

/// A logs request whose one record's body is `value` (AnyValue bytes).
fn log_with_body(value: &[u8]) -> Vec<u8> {
    let mut record = Vec::new();
    put_len_field(&mut record, 5, value);
    envelope(&[&record])
}

/// A traces request whose one span has one attribute with value `value`.
fn span_with_attribute(value: &[u8]) -> Vec<u8> {
    let mut kv = Vec::new();
    put_len_field(&mut kv, 1, b"deep");
    put_len_field(&mut kv, 2, value);
    let mut span = good("s").encode_to_vec();
    put_len_field(&mut span, 9, &kv);
    envelope(&[&span])
}

#[test]
fn ten_thousand_levels_are_refused_on_a_small_stack() {
    let string = b"\x0a\x01x"; // AnyValue.string_value = "x"
    let cases = [
        (
            Signal::Logs,
            log_with_body(&nested_value(10_000, true, string)),
        ),
        (
            Signal::Logs,
            log_with_body(&nested_value(10_000, false, string)),
        ),
        (
            Signal::Traces,
            span_with_attribute(&nested_value(10_000, true, string)),
        ),
        (
            Signal::Traces,
            span_with_attribute(&nested_value(10_000, false, string)),
        ),
    ];
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            cases
                .into_iter()
                .map(|(signal, bytes)| {
                    let bytes = Bytes::from(bytes);
                    let default = walk(signal, bytes.clone(), &WalkLimits::default()).unwrap_err();
                    // With the AnyValue limit out of the way, prost's 100 levels still hold.
                    let loose = WalkLimits::default().with_max_depth(100_000);
                    let prost_limit = walk(signal, bytes, &loose).unwrap_err();
                    (default, prost_limit)
                })
                .collect::<Vec<_>>()
        })
        .unwrap();
    for (default, prost_limit) in handle.join().unwrap() {
        assert_eq!(
            default.kind,
            WalkErrorKind::TooDeep {
                depth: 32,
                limit: 31
            }
        );
        assert!(
            default
                .to_string()
                .contains("AnyValue nesting depth 32 exceeds the limit of 31"),
            "{default}"
        );
        assert!(default.path.starts_with("resource_"), "{}", default.path);
        assert_eq!(
            prost_limit.kind,
            WalkErrorKind::RecursionLimit { depth: 101 }
        );
        assert!(
            prost_limit
                .to_string()
                .contains("message nesting depth 101 exceeds the protobuf recursion limit of 100"),
            "{prost_limit}"
        );
    }
}

#[test]
fn nesting_is_accepted_exactly_up_to_prost_s_recursion_limit() {
    let loose = WalkLimits::default().with_max_depth(1000);
    let mut accepted_levels = Vec::new();
    // Innermost: a plain string, an unknown varint field, an unknown group with content.
    let innermost: [&[u8]; 3] = [b"\x0a\x01x", b"\xf8\x01\x01", b"\xfb\x01\x08\x01\xfc\x01"];
    for kvlist in [false, true] {
        for inner in innermost {
            let range = if kvlist { 25..40 } else { 40..55 };
            for levels in range {
                for (signal, bytes) in [
                    (
                        Signal::Logs,
                        log_with_body(&nested_value(levels, kvlist, inner)),
                    ),
                    (
                        Signal::Traces,
                        span_with_attribute(&nested_value(levels, kvlist, inner)),
                    ),
                ] {
                    let outcome = oracle::check(signal, &bytes, &loose).unwrap();
                    if outcome != Outcome::BothRefused {
                        assert!(matches!(outcome, Outcome::Accepted { refused: 0 }));
                        accepted_levels.push((signal, kvlist, inner, levels));
                    }
                }
            }
        }
    }
    // Each family has a deepest accepted level inside the range, and shallower ones too.
    for kvlist in [false, true] {
        for signal in [Signal::Logs, Signal::Traces] {
            let deepest = accepted_levels
                .iter()
                .filter(|(s, k, i, _)| *s == signal && *k == kvlist && *i == innermost[0])
                .map(|a| a.3)
                .max();
            let end = if kvlist { 39 } else { 54 };
            assert!(
                deepest.is_some_and(|d| d < end),
                "{signal} {kvlist}: {deepest:?}"
            );
        }
    }
    // With the default limit, the limit always speaks before prost would.
    for kvlist in [false, true] {
        let bytes = log_with_body(&nested_value(32, kvlist, innermost[0]));
        let err = walk(
            Signal::Logs,
            Bytes::from(bytes.clone()),
            &WalkLimits::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.kind,
            WalkErrorKind::TooDeep {
                depth: 32,
                limit: 31
            }
        );
        assert_eq!(
            oracle::check(Signal::Logs, &bytes, &WalkLimits::default()),
            Ok(Outcome::TooDeep)
        );
        let bytes = log_with_body(&nested_value(31, kvlist, innermost[0]));
        assert!(matches!(
            oracle::check(Signal::Logs, &bytes, &WalkLimits::default()),
            Ok(Outcome::Accepted { .. })
        ));
    }
}

#[test]
fn the_deepest_exemplar_attribute_stays_within_prost_at_the_default_limit() {
    // Exemplar attributes are the deepest AnyValues (8 messages down); 31 kvlist levels there
    // still decode in prost, and carry an unknown field in the innermost key-value.
    let value = nested_value(31, true, b"\x0a\x01x");
    let mut kv = Vec::new();
    put_len_field(&mut kv, 1, b"k");
    put_len_field(&mut kv, 2, &value);
    let mut exemplar = Vec::new();
    put_len_field(&mut exemplar, 7, &kv);
    let mut point = Vec::new();
    put_len_field(&mut point, 5, &exemplar);
    let bytes = metrics_request(5, &point);
    assert!(matches!(
        oracle::check(Signal::Metrics, &bytes, &WalkLimits::default()),
        Ok(Outcome::Accepted { .. })
    ));
    let walked = walk_ok(Signal::Metrics, bytes);
    assert_eq!(
        (
            walked.items,
            walked.stats.max_value_depth,
            walked.stats.exemplars
        ),
        (1, 31, 1)
    );
}

#[test]
fn refused_items_add_nothing_to_the_stats() {
    let attr = KeyValue {
        key: "k".into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue("v".into())),
        }),
        ..Default::default()
    };
    let with_attr = |s: Span| Span {
        attributes: vec![attr.clone()],
        ..s
    };
    let kept = walk_ok(
        Signal::Traces,
        traces(vec![vec![vec![with_attr(good("a"))]]]),
    );
    let both = walk_ok(
        Signal::Traces,
        traces(vec![vec![vec![
            with_attr(good("a")),
            with_attr(span("b", &[], &SPAN)),
        ]]]),
    );
    assert_eq!(both.stats, kept.stats);
    assert_eq!(kept.stats.key_values, 1);
    assert_eq!(kept.stats.string_bytes, 3); // "a", "k", "v"
    assert_eq!(kept.stats.bytes_bytes, 24);
}
