//! The streaming converter under request shapes that amplify (one container over many rows,
//! many values in one row, one huge value), its batch limits, what a failed push keeps, the
//! stream semantics of consecutive pushes, and prost's nesting limit.

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, RecordBatch};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_spool_core::wire::{WireType, put_len_field, put_tag, put_varint};
use otlp_spool_storage::{
    BatchLimits, ConvertError, Converter, Signal, arrow_to_logs, arrow_to_metrics, arrow_to_traces,
    traces_to_arrow,
};
use prost::Message;

use crate::convert_bytes::via_bytes;

fn string_kv(key: &str, value: String) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value)),
        }),
        key_strindex: 0,
    }
}

fn minimal_span(i: u32) -> Span {
    Span {
        trace_id: [i.to_le_bytes(); 4].concat(),
        span_id: [i.to_le_bytes(); 2].concat(),
        name: "s".into(),
        ..Default::default()
    }
}

fn traces(
    resource: Option<Resource>,
    schema_url: String,
    spans: Vec<Span>,
) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource,
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            schema_url,
        }],
    }
}

/// The values of a dictionary column's dictionary.
fn dictionary_len(batch: &RecordBatch, column: &str) -> usize {
    batch
        .column_by_name(column)
        .unwrap()
        .as_dictionary::<Int32Type>()
        .values()
        .len()
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

#[test]
fn a_20_kib_schema_url_over_110_000_spans_is_stored_once_per_batch() {
    // Issue 11: 3.6 MB on the wire used to make 2.2 GB of repeated strings.
    let url = "u".repeat(20 << 10);
    let req = traces(None, url.clone(), (0..110_000).map(minimal_span).collect());
    let bytes = req.encode_to_vec();
    assert!(bytes.len() < 4 << 20, "{} bytes", bytes.len());
    let (batches, results) = via_bytes(Signal::Traces, &[bytes], BatchLimits::default());
    assert_eq!(*results[0].as_ref().unwrap(), 110_000);
    assert_eq!(rows(&batches), 110_000);
    assert!(batches.len() > 1, "bounded batches");
    for b in &batches {
        assert_eq!(dictionary_len(b, "resource_schema_url"), 1);
        let memory = b.get_array_memory_size();
        assert!(
            memory < 16 << 20,
            "batch of {} rows holds {memory} bytes",
            b.num_rows()
        );
    }
    // Read back, the url is on every row again.
    let back = arrow_to_traces(&batches[1]).unwrap();
    assert_eq!(back.resource_spans[0].schema_url, url);
}

#[test]
fn one_span_with_50_000_attributes_is_one_row() {
    let mut span = minimal_span(1);
    span.attributes = (0..50_000)
        .map(|i| string_kv(&format!("k{i}"), format!("v{i}")))
        .collect();
    let req = traces(None, String::new(), vec![span]);
    let (batches, _) = via_bytes(
        Signal::Traces,
        &[req.encode_to_vec()],
        BatchLimits::default(),
    );
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].num_rows(), 1);
    assert_eq!(arrow_to_traces(&batches[0]).unwrap(), req);
}

#[test]
fn a_15_mib_string_value_converts_whole() {
    let big = "x".repeat(15 << 20);
    let req = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![
                    LogRecord {
                        body: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(big)),
                        }),
                        ..Default::default()
                    },
                    LogRecord::default(),
                ],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let (batches, _) = via_bytes(Signal::Logs, &[req.encode_to_vec()], BatchLimits::default());
    // One batch: a first row larger than `max_batch_bytes` raises the batch's budget to its
    // own size (so a huge container or row is not repeated once per small batch).
    assert_eq!(
        batches
            .iter()
            .map(RecordBatch::num_rows)
            .collect::<Vec<_>>(),
        [2]
    );
    let back = arrow_to_logs(&batches[0]).unwrap();
    assert_eq!(
        back.resource_logs[0].scope_logs[0].log_records[0],
        req.resource_logs[0].scope_logs[0].log_records[0]
    );
}

#[test]
fn a_metric_with_a_huge_description_over_100_000_points() {
    let description = "d".repeat(1 << 20);
    let points = (0..100_000u64)
        .map(|i| NumberDataPoint {
            time_unix_nano: i,
            value: Some(number_data_point::Value::AsInt(i as i64)),
            ..Default::default()
        })
        .collect();
    let req = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "m".into(),
                    description: description.clone(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: points,
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let (batches, _) = via_bytes(
        Signal::Metrics,
        &[req.encode_to_vec()],
        BatchLimits::default(),
    );
    assert_eq!(rows(&batches), 100_000);
    assert!(batches.len() > 1);
    for b in &batches {
        assert_eq!(dictionary_len(b, "metric_description"), 1);
        assert!(b.get_array_memory_size() < 24 << 20);
    }
    let back = arrow_to_metrics(&batches[0]).unwrap();
    assert_eq!(
        back.resource_metrics[0].scope_metrics[0].metrics[0].description,
        description
    );
}

#[test]
fn a_container_larger_than_a_batch_is_repeated_at_most_once_per_as_many_row_bytes() {
    // A 6 MiB resource over 40,000 spans: each batch takes at least 6 MiB of rows, so the
    // resource is stored at most about once per 6 MiB of rows (not once per 4 MiB batch,
    // and never once per row).
    let resource = Resource {
        attributes: vec![string_kv("huge", "r".repeat(6 << 20))],
        ..Default::default()
    };
    let mut spans: Vec<Span> = (0..40_000).map(minimal_span).collect();
    for s in &mut spans {
        s.name = "n".repeat(400);
    }
    let req = traces(Some(resource), String::new(), spans);
    let (batches, _) = via_bytes(
        Signal::Traces,
        &[req.encode_to_vec()],
        BatchLimits::default(),
    );
    assert_eq!(rows(&batches), 40_000);
    // ~40,000 x ~600 bytes of rows = ~23 MiB: at most 4 batches of >= 6 MiB of rows each.
    assert!(batches.len() <= 4, "{} batches", batches.len());
}

#[test]
fn batches_respect_max_rows_and_max_bytes() {
    let req = traces(None, String::new(), (0..1000).map(minimal_span).collect());
    let bytes = req.encode_to_vec();
    let by_rows = BatchLimits::builder().max_batch_rows(300).build().unwrap();
    let (batches, _) = via_bytes(Signal::Traces, std::slice::from_ref(&bytes), by_rows);
    assert_eq!(
        batches
            .iter()
            .map(RecordBatch::num_rows)
            .collect::<Vec<_>>(),
        [300, 300, 300, 100]
    );
    let by_bytes = BatchLimits::builder()
        .max_batch_bytes(16 << 10)
        .build()
        .unwrap();
    let (batches, _) = via_bytes(Signal::Traces, &[bytes], by_bytes);
    assert_eq!(rows(&batches), 1000);
    assert!(batches.len() >= 4, "{} batches", batches.len());
    // Logical Arrow bytes (buffer lengths, not capacities) stay near the limit.
    for b in &batches[..batches.len() - 1] {
        let logical: usize = b
            .columns()
            .iter()
            .map(|c| c.to_data().get_slice_memory_size().unwrap())
            .sum();
        assert!(logical < 24 << 10, "{logical} bytes");
    }
}

#[test]
fn limits_are_validated() {
    assert!(BatchLimits::builder().max_batch_rows(0).build().is_err());
    assert!(BatchLimits::builder().max_batch_bytes(0).build().is_err());
    let err = BatchLimits::builder()
        .max_batch_bytes(2 << 20)
        .hard_batch_bytes(1 << 20)
        .build()
        .unwrap_err();
    assert_eq!(err.option, "max_batch_bytes");
    assert!(
        BatchLimits::builder()
            .hard_batch_bytes(2 << 30)
            .build()
            .is_err()
    );
}

#[test]
fn a_row_over_the_hard_cap_is_refused_and_the_converter_goes_on() {
    let limits = BatchLimits::builder()
        .max_batch_bytes(64 << 10)
        .hard_batch_bytes(1 << 20)
        .build()
        .unwrap();
    let mut spans: Vec<Span> = (0..2000).map(minimal_span).collect();
    spans[1500].attributes = vec![string_kv("big", "b".repeat(2 << 20))];
    let bad = traces(None, String::new(), spans).encode_to_vec();
    let good = traces(None, String::new(), (0..10).map(minimal_span).collect()).encode_to_vec();
    let mut c = Converter::new(Signal::Traces, limits);
    let mut out = Vec::new();
    let err = c.push(&bad, |b| out.push(b)).unwrap_err();
    assert!(
        matches!(err.source, ConvertError::ItemTooLarge { .. }),
        "{err}"
    );
    assert_eq!(err.emitted, rows(&out), "emitted counts what the sink got");
    assert!(err.emitted < 1500);
    assert_eq!(
        c.pending_rows(),
        0,
        "the failed request's pending rows are gone"
    );
    assert_eq!(c.push(&good, |b| out.push(b)).unwrap(), 10);
    c.finish(|b| out.push(b)).unwrap();
    assert_eq!(rows(&out), err.emitted + 10);
}

/// The request `{ 1: { 2: scope } }` around the body of one scope container (the field
/// numbers are those of all three signals).
fn request_around(scope: &[u8]) -> Vec<u8> {
    let mut resource = Vec::new();
    put_len_field(&mut resource, 2, scope);
    let mut request = Vec::new();
    put_len_field(&mut request, 1, &resource);
    request
}

/// A trace request whose span `bad` has a name that is not UTF-8.
fn with_bad_span(spans: u32, bad: u32) -> Vec<u8> {
    let mut scope = Vec::new();
    for i in 0..spans {
        let mut span = minimal_span(i).encode_to_vec();
        if i == bad {
            put_len_field(&mut span, 5, &[0xc3, 0x28]);
        }
        put_len_field(&mut scope, 2, &span);
    }
    request_around(&scope)
}

#[test]
fn a_failed_push_takes_out_its_pending_rows_and_reports_what_went_out() {
    let limits = BatchLimits::builder().max_batch_rows(4).build().unwrap();
    let good = traces(None, String::new(), (0..3).map(minimal_span).collect()).encode_to_vec();
    let bad = with_bad_span(10, 6);
    assert!(ExportTraceServiceRequest::decode(bad.as_slice()).is_err());
    let mut c = Converter::new(Signal::Traces, limits);
    let mut out = Vec::new();
    assert_eq!(c.push(&good, |b| out.push(b)).unwrap(), 3);
    let err = c.push(&bad, |b| out.push(b)).unwrap_err();
    assert!(
        matches!(err.source, ConvertError::InvalidUtf8 { .. }),
        "{err}"
    );
    // Batches of 4 went out after the bad request's 1st and 5th spans; its 6th was pending.
    assert_eq!(err.emitted, 5);
    assert_eq!(c.pending_rows(), 0);
    c.finish(|b| out.push(b)).unwrap();
    assert_eq!(rows(&out), 3 + 5);
    // Without a flush in between, a failed push leaves the pending batch as it was.
    let mut c = Converter::new(Signal::Traces, BatchLimits::default());
    let mut out = Vec::new();
    c.push(&good, |b| out.push(b)).unwrap();
    let err = c.push(&bad, |b| out.push(b)).unwrap_err();
    assert_eq!(err.emitted, 0);
    c.finish(|b| out.push(b)).unwrap();
    assert_eq!(out.len(), 1);
    let alone = traces(None, String::new(), (0..3).map(minimal_span).collect());
    assert_eq!(out[0], traces_to_arrow(&alone).unwrap());
}

#[test]
fn consecutive_pushes_convert_as_their_concatenation() {
    let a = traces(None, "a".into(), (0..5).map(minimal_span).collect()).encode_to_vec();
    let b = traces(
        Some(Resource::default()),
        "b".into(),
        (5..9).map(minimal_span).collect(),
    )
    .encode_to_vec();
    let (separate, _) = via_bytes(
        Signal::Traces,
        &[a.clone(), b.clone()],
        BatchLimits::default(),
    );
    let (joined, _) = via_bytes(Signal::Traces, &[[a, b].concat()], BatchLimits::default());
    assert_eq!(separate, joined);
    assert_eq!(
        arrow_to_traces(&separate[0]).unwrap().resource_spans.len(),
        2
    );
}

#[test]
fn empty_and_mismatched_pushes() {
    let mut c = Converter::new(Signal::Traces, BatchLimits::default());
    let mut out = Vec::new();
    assert_eq!(c.push(&[], |b| out.push(b)).unwrap(), 0);
    let err = c
        .push_metrics(&ExportMetricsServiceRequest::default(), |b| out.push(b))
        .unwrap_err();
    assert!(
        matches!(err.source, ConvertError::SignalMismatch { .. }),
        "{err}"
    );
    c.finish(|b| out.push(b)).unwrap();
    assert!(out.is_empty());
}

/// A logs request whose body is `depth` nested arrays around an int, with `inner` appended to
/// the innermost AnyValue.
fn nested_body(depth: usize, inner: &[u8]) -> Vec<u8> {
    let mut value = Vec::new();
    put_tag(&mut value, 3, WireType::Varint);
    put_varint(&mut value, 7);
    value.extend_from_slice(inner);
    for _ in 0..depth {
        let mut array = Vec::new();
        put_len_field(&mut array, 1, &value);
        let mut any = Vec::new();
        put_len_field(&mut any, 5, &array);
        value = any;
    }
    let mut record = Vec::new();
    put_len_field(&mut record, 5, &value);
    let mut scope = Vec::new();
    put_len_field(&mut scope, 2, &record);
    request_around(&scope)
}

#[test]
fn nesting_is_refused_exactly_where_prost_refuses_it() {
    let mut unknown_varint = Vec::new();
    put_tag(&mut unknown_varint, 99, WireType::Varint);
    put_varint(&mut unknown_varint, 1);
    let mut unknown_groups = Vec::new();
    for _ in 0..3 {
        put_tag(&mut unknown_groups, 98, WireType::StartGroup);
    }
    put_tag(&mut unknown_groups, 1, WireType::Varint);
    put_varint(&mut unknown_groups, 1);
    for _ in 0..3 {
        put_tag(&mut unknown_groups, 98, WireType::EndGroup);
    }
    let mut refused = 0;
    for inner in [&[][..], &unknown_varint, &unknown_groups] {
        for depth in 40..52 {
            let bytes = nested_body(depth, inner);
            let prost = ExportLogsServiceRequest::decode(bytes.as_slice());
            let (batches, results) = via_bytes(
                Signal::Logs,
                std::slice::from_ref(&bytes),
                BatchLimits::default(),
            );
            assert_eq!(
                prost.is_ok(),
                results[0].is_ok(),
                "depth {depth}, {inner:?}: {:?}",
                results[0]
            );
            match prost {
                Ok(req) => assert_eq!(batches, [otlp_spool_storage::logs_to_arrow(&req).unwrap()]),
                Err(_) => refused += 1,
            }
        }
    }
    assert!(
        refused > 0 && refused < 36,
        "the range straddles the limit ({refused} refused)"
    );
}

#[test]
fn a_converter_can_move_to_the_writer_thread() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Converter>();
    send_sync::<otlp_spool_storage::PushError>();
}
