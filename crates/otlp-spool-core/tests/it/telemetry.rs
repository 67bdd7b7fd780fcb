use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    metric::Data,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_spool_core::{Signal, Telemetry};
use prost::Message;

fn check(telemetry: Telemetry, signal: Signal, items: usize) {
    assert_eq!(telemetry.signal(), signal);
    assert_eq!(telemetry.item_count(), items);
    assert_eq!(telemetry.is_empty(), items == 0);
    let encoded = match &telemetry {
        Telemetry::Traces(r) => r.encode_to_vec(),
        Telemetry::Metrics(r) => r.encode_to_vec(),
        Telemetry::Logs(r) => r.encode_to_vec(),
    };
    assert_eq!(telemetry.weight(), encoded.len());
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
    check(Telemetry::from(spans(&[])), Signal::Traces, 0);
    check(Telemetry::from(spans(&[3, 0, 2])), Signal::Traces, 5);
    check(
        Telemetry::Traces(ExportTraceServiceRequest::default()),
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
    check(Telemetry::from(request), Signal::Metrics, 5);
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
    check(Telemetry::from(request), Signal::Logs, 4);
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
