//! `otlp_spool_core::wire::write_cost` against what writing a request really costs: the peak
//! heap the streaming bytes converter (`otlp_spool_storage::Converter`, default limits, as the
//! writer runs it) holds while it turns the request's bytes into record batches, counted by
//! the test binary's allocator (`alloc_count.rs`), on typical and on tiny requests of every
//! signal. The estimate must never be below it for requests of 512 items or more (lanes and
//! `receiver.max_decoded_size` rely on it being conservative).
//!
//! `cargo test -p otlp-spool-benches --test it write_cost -- --nocapture --test-threads 1`
//! prints the table recorded in the core README.

use arrow_array::RecordBatch;
use otlp_spool_benches::build_request;
use otlp_spool_core::proto::collector::logs::v1::ExportLogsServiceRequest;
use otlp_spool_core::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use otlp_spool_core::proto::collector::trace::v1::ExportTraceServiceRequest;
use otlp_spool_core::proto::common::v1::{AnyValue, KeyValue, any_value::Value};
use otlp_spool_core::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use otlp_spool_core::proto::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    metric::Data, number_data_point,
};
use otlp_spool_core::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_spool_core::wire::write_cost;
use otlp_spool_core::{ExportRequest, Signal, Telemetry};
use otlp_spool_storage::{BatchLimits, Converter};

use crate::alloc_count::peak_during;

fn attribute(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// `n` attributes of mixed types.
fn attributes(n: usize, seed: usize) -> Vec<KeyValue> {
    (0..n)
        .map(|k| match k % 4 {
            0 => attribute(
                &format!("key.{k}"),
                Value::StringValue(format!("v{seed}-{k}")),
            ),
            1 => attribute(&format!("key.{k}"), Value::IntValue((seed * k) as i64)),
            2 => attribute(&format!("key.{k}"), Value::DoubleValue(seed as f64 / 3.0)),
            _ => attribute(
                &format!("key.{k}"),
                Value::BoolValue(seed.is_multiple_of(2)),
            ),
        })
        .collect()
}

/// Minimal valid spans: ids and a one-letter name.
fn tiny_spans(n: usize) -> ExportTraceServiceRequest {
    let spans = (0..n)
        .map(|i| Span {
            trace_id: [1; 16].to_vec(),
            span_id: (i as u64 + 1).to_be_bytes().to_vec(),
            name: "s".into(),
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// `n` points: gauges of 8 points with 3 attributes, and every fourth metric a histogram of
/// 8 points with 6 buckets.
fn metrics(n: usize, attrs: usize) -> ExportMetricsServiceRequest {
    let metrics = (0..n.div_ceil(8))
        .map(|m| {
            let points = (0..8).map(|p| m * 8 + p).filter(|i| *i < n);
            let data = if m % 4 == 3 {
                Data::Histogram(Histogram {
                    data_points: points
                        .map(|i| HistogramDataPoint {
                            attributes: attributes(attrs, i),
                            time_unix_nano: 1_700_000_000_000_000_000,
                            count: 60,
                            sum: Some(1.5),
                            bucket_counts: vec![10; 6],
                            explicit_bounds: vec![0.1, 0.2, 0.5, 1.0, 2.0],
                            ..Default::default()
                        })
                        .collect(),
                    aggregation_temporality: 1,
                })
            } else {
                Data::Gauge(Gauge {
                    data_points: points
                        .map(|i| NumberDataPoint {
                            attributes: attributes(attrs, i),
                            time_unix_nano: 1_700_000_000_000_000_000,
                            value: Some(number_data_point::Value::AsDouble(i as f64)),
                            ..Default::default()
                        })
                        .collect(),
                })
            };
            Metric {
                name: format!("metric.{m}"),
                unit: "1".into(),
                data: Some(data),
                ..Default::default()
            }
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// `n` log records with a text body and `attrs` attributes.
fn logs(n: usize, attrs: usize) -> ExportLogsServiceRequest {
    let log_records = (0..n)
        .map(|i| LogRecord {
            time_unix_nano: 1_700_000_000_000_000_000 + i as u64,
            severity_number: 9,
            severity_text: "INFO".into(),
            body: Some(AnyValue {
                value: Some(Value::StringValue(format!(
                    "request {i} served in {} us",
                    i * 7
                ))),
            }),
            attributes: attributes(attrs, i),
            trace_id: [2; 16].to_vec(),
            span_id: (i as u64 + 1).to_be_bytes().to_vec(),
            ..Default::default()
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Writing `request` as the writer does: a fresh converter with the default limits, each
/// batch dropped once handed out (the writer encodes it to the file and lets it go). Returns
/// the peak heap bytes held meanwhile (builders, finished batches, the reserve for the next
/// batch) and the Arrow memory of the batches.
fn write_memory(telemetry: &Telemetry) -> (usize, usize) {
    let signal = telemetry.signal();
    let bytes = telemetry.bytes().clone();
    let (arrow, peak) = peak_during(|| {
        let mut arrow = 0;
        let mut converter = Converter::new(signal, BatchLimits::default());
        let mut sink = |b: RecordBatch| arrow += b.get_array_memory_size();
        converter.push(&bytes, &mut sink).expect("converts");
        converter.finish(&mut sink).expect("finishes");
        drop(converter);
        arrow
    });
    (peak, arrow)
}

struct Row {
    shape: &'static str,
    signal: Signal,
    items: usize,
    wire: usize,
    arrow: usize,
    peak: usize,
    estimate: usize,
}

fn measure(shape: &'static str, request: ExportRequest) -> Row {
    let telemetry = Telemetry::from(request);
    let (peak, arrow) = write_memory(&telemetry);
    let (signal, items, wire) = (
        telemetry.signal(),
        telemetry.item_count(),
        telemetry.weight(),
    );
    assert_eq!(telemetry.write_cost(), write_cost(signal, wire, items));
    Row {
        shape,
        signal,
        items,
        wire,
        arrow,
        peak,
        estimate: telemetry.write_cost(),
    }
}

/// Requests of 512 items (what a lane chunk holds many of), and two of 8192: the estimate
/// covers them all.
fn batch_shapes() -> Vec<Row> {
    vec![
        measure(
            "loadgen spans, 8192",
            ExportRequest::Traces(build_request(3, 8192, 1_700_000_000_000_000_000, [6; 4])),
        ),
        measure("tiny spans, 8192", ExportRequest::Traces(tiny_spans(8192))),
        measure(
            "loadgen spans (10 attributes)",
            ExportRequest::Traces(build_request(0, 512, 1_700_000_000_000_000_000, [9; 4])),
        ),
        measure("tiny spans", ExportRequest::Traces(tiny_spans(512))),
        measure(
            "spans, 50 attributes",
            ExportRequest::Traces({
                let mut r = build_request(1, 512, 1_700_000_000_000_000_000, [8; 4]);
                for span in &mut r.resource_spans[0].scope_spans[0].spans {
                    span.attributes.extend(attributes(40, 7));
                }
                r
            }),
        ),
        measure(
            "points, 3 attributes",
            ExportRequest::Metrics(metrics(512, 3)),
        ),
        measure(
            "points, no attributes",
            ExportRequest::Metrics(metrics(512, 0)),
        ),
        measure(
            "log records, 5 attributes",
            ExportRequest::Logs(logs(512, 5)),
        ),
        measure(
            "log records, no attributes",
            ExportRequest::Logs(logs(512, 0)),
        ),
    ]
}

fn print(rows: &[Row]) {
    println!(
        "| shape | signal | items | wire B | Arrow B | peak B | peak / item | peak / wire | estimate B | estimate / peak |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.0} | {:.2} | {} | {:.2} |",
            r.shape,
            r.signal,
            r.items,
            r.wire,
            r.arrow,
            r.peak,
            r.peak as f64 / r.items as f64,
            r.peak as f64 / r.wire as f64,
            r.estimate,
            r.estimate as f64 / r.peak as f64
        );
    }
}

#[test]
fn the_write_cost_estimate_covers_the_converters_peak_memory() {
    let rows = batch_shapes();
    print(&rows);
    for r in &rows {
        assert!(
            r.estimate >= r.peak,
            "{} ({}): estimate {} < peak memory {}",
            r.shape,
            r.signal,
            r.estimate,
            r.peak
        );
    }
}

/// One-item requests carry a record batch's fixed cost (column buffers of the whole schema)
/// that lanes pay once per written chunk, not per request: printed for the README, and the
/// estimate is not asked to cover it.
#[test]
fn single_item_requests_for_the_record() {
    let rows = vec![
        measure(
            "one loadgen span",
            ExportRequest::Traces(build_request(2, 1, 1_700_000_000_000_000_000, [7; 4])),
        ),
        measure("one tiny span", ExportRequest::Traces(tiny_spans(1))),
        measure("one point", ExportRequest::Metrics(metrics(1, 3))),
        measure("one log record", ExportRequest::Logs(logs(1, 5))),
    ];
    print(&rows);
}
