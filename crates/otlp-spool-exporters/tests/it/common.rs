//! Shared helpers: a collecting sink, OTLP test data, flattening.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use otlp_spool_core::proto::collector::logs::v1::ExportLogsServiceRequest;
use otlp_spool_core::proto::collector::metrics::v1::ExportMetricsServiceRequest;
use otlp_spool_core::proto::collector::trace::v1::ExportTraceServiceRequest;
use otlp_spool_core::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use otlp_spool_core::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use otlp_spool_core::proto::metrics::v1::{
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use otlp_spool_core::proto::resource::v1::Resource;
use otlp_spool_core::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_spool_core::{ExportRequest, Refusal, Sink, SinkError, Telemetry};
use otlp_spool_exporters::Protocol;
use otlp_spool_receiver::{Receiver, ReceiverBuilder, RunningReceiver};
use parking_lot::Mutex;

/// A sink that keeps everything and counts flushes.
#[derive(Debug, Default)]
pub(crate) struct Collect {
    pub(crate) batches: Mutex<Vec<Telemetry>>,
    pub(crate) flushes: AtomicUsize,
}

impl Sink for Collect {
    fn accept(&self, telemetry: Telemetry) -> Result<(), Refusal> {
        self.batches.lock().push(telemetry);
        Ok(())
    }

    fn flush(&self, _timeout: Duration) -> Result<(), SinkError> {
        self.flushes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl Collect {
    pub(crate) fn items(&self) -> usize {
        self.batches.lock().iter().map(Telemetry::item_count).sum()
    }

    pub(crate) fn spans(&self) -> Vec<Span> {
        let mut out = Vec::new();
        for batch in self.batches.lock().iter() {
            if let ExportRequest::Traces(r) = batch.decode().unwrap() {
                for rs in &r.resource_spans {
                    for ss in &rs.scope_spans {
                        out.extend(ss.spans.iter().cloned());
                    }
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    pub(crate) fn metric_points(&self) -> Vec<(String, NumberDataPoint)> {
        let mut out = Vec::new();
        for batch in self.batches.lock().iter() {
            if let ExportRequest::Metrics(r) = batch.decode().unwrap() {
                for rm in &r.resource_metrics {
                    for sm in &rm.scope_metrics {
                        for m in &sm.metrics {
                            if let Some(metric::Data::Sum(s)) = &m.data {
                                for p in &s.data_points {
                                    out.push((m.name.clone(), p.clone()));
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }

    pub(crate) fn log_records(&self) -> Vec<LogRecord> {
        let mut out = Vec::new();
        for batch in self.batches.lock().iter() {
            if let ExportRequest::Logs(r) = batch.decode().unwrap() {
                for rl in &r.resource_logs {
                    for sl in &rl.scope_logs {
                        out.extend(sl.log_records.iter().cloned());
                    }
                }
            }
        }
        out.sort_by_key(|r| r.time_unix_nano);
        out
    }
}

fn string(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn resource() -> Option<Resource> {
    Some(Resource {
        attributes: vec![string("service.name", "forward-test")],
        ..Default::default()
    })
}

/// A trace batch of `n` spans named `<prefix>-<i>` with valid ids.
pub(crate) fn traces(prefix: &str, n: usize) -> Telemetry {
    let spans = (0..n)
        .map(|i| {
            let mut trace_id = [0u8; 16];
            trace_id[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
            trace_id[15] = 7;
            Span {
                trace_id: trace_id.to_vec(),
                span_id: (i as u64 + 1).to_be_bytes().to_vec(),
                name: format!("{prefix}-{i:05}"),
                start_time_unix_nano: 1_700_000_000_000_000_000 + i as u64,
                end_time_unix_nano: 1_700_000_000_000_001_000 + i as u64,
                attributes: vec![string("k", "v"), string("i", &i.to_string())],
                ..Default::default()
            }
        })
        .collect();
    Telemetry::from(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: resource(),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "test".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

/// A metric batch with one cumulative sum of `n` points.
pub(crate) fn metrics(name: &str, n: usize) -> Telemetry {
    let points = (0..n)
        .map(|i| NumberDataPoint {
            time_unix_nano: 1_700_000_000_000_000_000 + i as u64,
            value: Some(number_data_point::Value::AsInt(i as i64)),
            attributes: vec![string("i", &i.to_string())],
            ..Default::default()
        })
        .collect();
    Telemetry::from(ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource(),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: name.into(),
                    data: Some(metric::Data::Sum(Sum {
                        data_points: points,
                        aggregation_temporality: 2,
                        is_monotonic: true,
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

/// A log batch of `n` records.
pub(crate) fn logs(n: usize) -> Telemetry {
    let records = (0..n)
        .map(|i| LogRecord {
            time_unix_nano: 1_700_000_000_000_000_000 + i as u64,
            severity_number: 9,
            severity_text: "INFO".into(),
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(format!("line {i}"))),
            }),
            ..Default::default()
        })
        .collect();
    Telemetry::from(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    })
}

/// Flattens the spans of trace batches, sorted by name.
pub(crate) fn spans_of(batches: &[Telemetry]) -> Vec<Span> {
    let c = Collect::default();
    *c.batches.lock() = batches.to_vec();
    c.spans()
}

/// Polls `condition` every 10 ms until it holds or `within` passed.
pub(crate) async fn eventually(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let steps = (within.as_millis() / 10).max(1);
    for _ in 0..steps {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    condition()
}

/// A real receiver on both ports (127.0.0.1:0), set up by `configure`, writing into a
/// collecting sink.
pub(crate) async fn start_receiver(
    configure: impl FnOnce(ReceiverBuilder) -> ReceiverBuilder,
) -> (RunningReceiver, std::sync::Arc<Collect>) {
    let sink = std::sync::Arc::new(Collect::default());
    let builder = Receiver::builder()
        .grpc_addr("127.0.0.1:0".parse().unwrap())
        .http_addr("127.0.0.1:0".parse().unwrap());
    let running = configure(builder)
        .build()
        .expect("receiver config")
        .serve(sink.clone(), std::future::pending())
        .await
        .expect("receiver serves");
    (running, sink)
}

/// `scheme://addr` of the port `protocol` uses.
pub(crate) fn endpoint_of(running: &RunningReceiver, protocol: Protocol, scheme: &str) -> String {
    let addr = match protocol {
        Protocol::Grpc => running.grpc_addr(),
        _ => running.http_addr(),
    };
    format!("{scheme}://{}", addr.expect("bound"))
}
