//! [`Telemetry`]: one decoded OTLP export request, tagged by its signal.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use prost::Message;

use crate::Signal;
use crate::memory::HeapSize as _;

/// One batch of telemetry: an OTLP export request of one signal, exactly as it arrived (after
/// validation) or as an SDK exporter built it.
#[derive(Debug, Clone, PartialEq)]
pub enum Telemetry {
    /// A batch of spans.
    Traces(ExportTraceServiceRequest),
    /// A batch of metrics and their data points.
    Metrics(ExportMetricsServiceRequest),
    /// A batch of log records.
    Logs(ExportLogsServiceRequest),
}

impl Telemetry {
    /// The signal this batch carries.
    pub fn signal(&self) -> Signal {
        match self {
            Telemetry::Traces(_) => Signal::Traces,
            Telemetry::Metrics(_) => Signal::Metrics,
            Telemetry::Logs(_) => Signal::Logs,
        }
    }

    /// The number of items: spans, metric data points (every point of every gauge, sum,
    /// histogram, exponential histogram and summary) or log records.
    pub fn item_count(&self) -> usize {
        match self {
            Telemetry::Traces(request) => request
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum(),
            Telemetry::Metrics(request) => request
                .resource_metrics
                .iter()
                .flat_map(|r| &r.scope_metrics)
                .flat_map(|s| &s.metrics)
                .map(|m| data_point_count(m.data.as_ref()))
                .sum(),
            Telemetry::Logs(request) => request
                .resource_logs
                .iter()
                .flat_map(|r| &r.scope_logs)
                .map(|s| s.log_records.len())
                .sum(),
        }
    }

    /// Whether the batch holds no items at all.
    pub fn is_empty(&self) -> bool {
        self.item_count() == 0
    }

    /// The size of the batch encoded as OTLP protobuf (prost's `encoded_len`, computed without
    /// encoding): what it costs on the wire or in an encoded queue. Decoded, a batch holds
    /// several times as much memory; see [`memory_size`](Self::memory_size).
    pub fn weight(&self) -> usize {
        match self {
            Telemetry::Traces(request) => request.encoded_len(),
            Telemetry::Metrics(request) => request.encoded_len(),
            Telemetry::Logs(request) => request.encoded_len(),
        }
    }

    /// The memory this decoded batch holds, in bytes: the value itself plus every heap block it
    /// owns, counted at capacity (allocator overhead excluded). Buffers of decoded batches
    /// budget memory with it. For typical spans (ten attributes, ~300 bytes encoded) it is
    /// about 5x [`weight`](Self::weight). The walk reads only lengths and capacities.
    pub fn memory_size(&self) -> usize {
        std::mem::size_of::<Self>()
            + match self {
                Telemetry::Traces(request) => request.heap_size(),
                Telemetry::Metrics(request) => request.heap_size(),
                Telemetry::Logs(request) => request.heap_size(),
            }
    }
}

/// Data points in one metric's payload (zero for a metric without data).
fn data_point_count(data: Option<&Data>) -> usize {
    match data {
        None => 0,
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
    }
}

impl From<ExportTraceServiceRequest> for Telemetry {
    fn from(request: ExportTraceServiceRequest) -> Self {
        Telemetry::Traces(request)
    }
}

impl From<ExportMetricsServiceRequest> for Telemetry {
    fn from(request: ExportMetricsServiceRequest) -> Self {
        Telemetry::Metrics(request)
    }
}

impl From<ExportLogsServiceRequest> for Telemetry {
    fn from(request: ExportLogsServiceRequest) -> Self {
        Telemetry::Logs(request)
    }
}
