use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    metric::Data,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_spool_core::wire::write_cost;
use otlp_spool_core::{ConcatError, ExportRequest, Signal, Telemetry};
use prost::Message;

/// `telemetry` (made from `request` at the edge) carries `items` items, the request's exact
/// encoding, the cost estimate of those figures, and decodes back to `request`.
fn check(request: impl Into<ExportRequest>, signal: Signal, items: usize) {
    let request = request.into();
    let telemetry = Telemetry::from(request.clone());
    assert_eq!(telemetry.signal(), signal);
    assert_eq!(telemetry.item_count(), items);
    assert_eq!(request.item_count(), items);
    assert_eq!(telemetry.is_empty(), items == 0);
    assert_eq!(telemetry.bytes()[..], request.encode_to_vec()[..]);
    assert_eq!(telemetry.weight(), telemetry.bytes().len());
    assert_eq!(
        telemetry.write_cost(),
        write_cost(signal, telemetry.weight(), items)
    );
    assert_eq!(telemetry.decode().unwrap(), request);
}

fn spans(per_scope: &[usize]) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: per_scope
                .iter()
                .map(|&n| ScopeSpans {
                    spans: (0..n)
                        .map(|i| Span {
                            name: format!("span-{i}"),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
    }
}

#[test]
fn counts_spans_across_scopes() {
    check(ExportRequest::Traces(spans(&[])), Signal::Traces, 0);
    check(ExportRequest::Traces(spans(&[3, 0, 2])), Signal::Traces, 5);
    check(
        ExportRequest::Traces(ExportTraceServiceRequest::default()),
        Signal::Traces,
        0,
    );
}

#[test]
fn counts_metric_data_points_not_metrics() {
    let gauge = Metric {
        name: "g".into(),
        data: Some(Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint::default(); 3],
        })),
        ..Default::default()
    };
    let histogram = Metric {
        name: "h".into(),
        data: Some(Data::Histogram(Histogram {
            data_points: vec![HistogramDataPoint::default(); 2],
            aggregation_temporality: 1,
        })),
        ..Default::default()
    };
    let empty = Metric::default();
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![gauge, histogram, empty],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    check(ExportRequest::Metrics(request), Signal::Metrics, 5);
}

#[test]
fn counts_log_records() {
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![
                ScopeLogs {
                    log_records: vec![LogRecord::default(); 4],
                    ..Default::default()
                },
                ScopeLogs::default(),
            ],
            ..Default::default()
        }],
    };
    check(ExportRequest::Logs(request), Signal::Logs, 4);
}

#[test]
fn signal_names_and_indices() {
    let names: Vec<_> = Signal::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(names, ["traces", "metrics", "logs"]);
    for (i, s) in Signal::ALL.iter().enumerate() {
        assert_eq!(s.index(), i);
        assert_eq!(s.to_string(), s.as_str());
    }
}

#[test]
fn clones_and_bytes_share_one_buffer() {
    let telemetry = Telemetry::from(spans(&[4]));
    let copy = telemetry.clone();
    assert_eq!(copy.bytes().as_ptr(), telemetry.bytes().as_ptr());
    let pointer = telemetry.bytes().as_ptr();
    assert_eq!(telemetry.into_bytes().as_ptr(), pointer);
}

#[test]
fn validated_parts_are_taken_as_given() {
    let bytes = Bytes::from(spans(&[2]).encode_to_vec());
    let telemetry = Telemetry::from_validated(Signal::Traces, bytes.clone(), 2, 1234);
    assert_eq!(telemetry.bytes(), &bytes);
    assert_eq!(telemetry.bytes().as_ptr(), bytes.as_ptr(), "no copy");
    assert_eq!((telemetry.item_count(), telemetry.write_cost()), (2, 1234));
    assert_eq!(
        telemetry.decode().unwrap(),
        ExportRequest::Traces(spans(&[2]))
    );
}

#[test]
fn bytes_of_another_signal_or_garbage_do_not_decode() {
    let garbage = Telemetry::from_validated(Signal::Logs, Bytes::from_static(b"\xff\xff"), 1, 0);
    let error = garbage.decode().unwrap_err();
    assert_eq!(error.signal, Signal::Logs);
    assert!(
        error.to_string().contains("ExportLogsServiceRequest"),
        "{error}"
    );
}

#[test]
fn concatenated_batches_are_one_merged_request() {
    let (a, b, c) = (spans(&[2]), spans(&[0, 3]), spans(&[1]));
    let parts = [a.clone(), b.clone(), c.clone()].map(Telemetry::from);
    let merged = Telemetry::concat(&parts).unwrap();
    let mut expected = a;
    expected.resource_spans.extend(b.resource_spans);
    expected.resource_spans.extend(c.resource_spans);
    assert_eq!(merged.decode().unwrap(), ExportRequest::Traces(expected));
    assert_eq!(merged.signal(), Signal::Traces);
    assert_eq!(merged.item_count(), 6);
    assert_eq!(
        merged.weight(),
        parts.iter().map(Telemetry::weight).sum::<usize>()
    );
    assert_eq!(
        merged.write_cost(),
        parts.iter().map(Telemetry::write_cost).sum::<usize>()
    );
}

#[test]
fn concatenating_one_batch_copies_nothing() {
    let one = Telemetry::from(spans(&[3]));
    let merged = Telemetry::concat([&one]).unwrap();
    assert_eq!(merged.bytes().as_ptr(), one.bytes().as_ptr());
    assert_eq!(merged, one);
}

#[test]
fn concatenation_needs_one_signal_and_something_to_join() {
    let traces = Telemetry::from(spans(&[1]));
    let logs = Telemetry::from(ExportLogsServiceRequest::default());
    assert_eq!(
        Telemetry::concat([&traces, &traces, &logs]),
        Err(ConcatError::MixedSignals {
            first: Signal::Traces,
            other: Signal::Logs
        })
    );
    assert_eq!(Telemetry::concat([]), Err(ConcatError::Empty));
}

proptest::proptest! {
    /// Any split of scopes into requests concatenates back to one request with every span.
    #[test]
    fn concatenation_keeps_every_item(groups in proptest::collection::vec(
        proptest::collection::vec(0usize..4, 0..4), 1..6)) {
        let parts: Vec<Telemetry> = groups.iter().map(|g| Telemetry::from(spans(g))).collect();
        let merged = Telemetry::concat(&parts).unwrap();
        let total: usize = groups.iter().flatten().sum();
        proptest::prop_assert_eq!(merged.item_count(), total);
        proptest::prop_assert_eq!(merged.decode().unwrap().item_count(), total);
    }
}
