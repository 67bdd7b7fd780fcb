//! How much heap a decoded request holds: what a buffer of decoded requests really costs.
//!
//! Invariants:
//! * The figure counts every heap block the request owns, at its *capacity* (a `Vec` that grew
//!   by doubling while prost decoded it costs what it reserved, not what it uses), plus the
//!   root value itself. It does not count allocator overhead (headers, size-class rounding),
//!   so it is a lower bound of the real cost, usually within 10-20 %.
//! * The walk only reads lengths and capacities: no allocation, no encoding, linear in the
//!   number of messages (cheaper than prost's `encoded_len`, which also sizes every varint).

use std::mem::size_of;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, EntityRef, InstrumentationScope, KeyValue, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, SummaryDataPoint, exponential_histogram_data_point::Buckets,
    metric::Data,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

/// Heap bytes owned by a value (not counting the value's own inline size).
pub(crate) trait HeapSize {
    fn heap_size(&self) -> usize;
}

/// A `Vec`'s buffer at capacity plus what each element owns.
fn vec_heap<T: HeapSize>(v: &Vec<T>) -> usize {
    v.capacity() * size_of::<T>() + v.iter().map(HeapSize::heap_size).sum::<usize>()
}

/// Plain buffers (`Vec<u8>`, `Vec<u64>`...): their capacity in bytes.
fn bytes_of<T>(v: &Vec<T>) -> usize {
    v.capacity() * size_of::<T>()
}

fn opt<T: HeapSize>(v: &Option<T>) -> usize {
    v.as_ref().map_or(0, HeapSize::heap_size)
}

impl HeapSize for String {
    fn heap_size(&self) -> usize {
        self.capacity()
    }
}

impl HeapSize for AnyValue {
    fn heap_size(&self) -> usize {
        match &self.value {
            Some(any_value::Value::StringValue(s)) => s.capacity(),
            Some(any_value::Value::BytesValue(b)) => b.capacity(),
            Some(any_value::Value::ArrayValue(a)) => vec_heap(&a.values),
            Some(any_value::Value::KvlistValue(l)) => vec_heap(&l.values),
            Some(
                any_value::Value::BoolValue(_)
                | any_value::Value::IntValue(_)
                | any_value::Value::DoubleValue(_)
                | any_value::Value::StringValueStrindex(_),
            )
            | None => 0,
        }
    }
}

impl HeapSize for KeyValue {
    fn heap_size(&self) -> usize {
        self.key.capacity() + opt(&self.value)
    }
}

impl HeapSize for EntityRef {
    fn heap_size(&self) -> usize {
        self.schema_url.capacity()
            + self.r#type.capacity()
            + vec_heap(&self.id_keys)
            + vec_heap(&self.description_keys)
    }
}

impl HeapSize for Resource {
    fn heap_size(&self) -> usize {
        vec_heap(&self.attributes) + vec_heap(&self.entity_refs)
    }
}

impl HeapSize for InstrumentationScope {
    fn heap_size(&self) -> usize {
        self.name.capacity() + self.version.capacity() + vec_heap(&self.attributes)
    }
}

// --- traces -------------------------------------------------------------------------------

impl HeapSize for ResourceSpans {
    fn heap_size(&self) -> usize {
        opt(&self.resource) + vec_heap(&self.scope_spans) + self.schema_url.capacity()
    }
}

impl HeapSize for ScopeSpans {
    fn heap_size(&self) -> usize {
        opt(&self.scope) + vec_heap(&self.spans) + self.schema_url.capacity()
    }
}

impl HeapSize for Span {
    fn heap_size(&self) -> usize {
        bytes_of(&self.trace_id)
            + bytes_of(&self.span_id)
            + self.trace_state.capacity()
            + bytes_of(&self.parent_span_id)
            + self.name.capacity()
            + vec_heap(&self.attributes)
            + vec_heap(&self.events)
            + vec_heap(&self.links)
            + opt(&self.status)
    }
}

impl HeapSize for Event {
    fn heap_size(&self) -> usize {
        self.name.capacity() + vec_heap(&self.attributes)
    }
}

impl HeapSize for Link {
    fn heap_size(&self) -> usize {
        bytes_of(&self.trace_id)
            + bytes_of(&self.span_id)
            + self.trace_state.capacity()
            + vec_heap(&self.attributes)
    }
}

impl HeapSize for Status {
    fn heap_size(&self) -> usize {
        self.message.capacity()
    }
}

// --- metrics ------------------------------------------------------------------------------

impl HeapSize for ResourceMetrics {
    fn heap_size(&self) -> usize {
        opt(&self.resource) + vec_heap(&self.scope_metrics) + self.schema_url.capacity()
    }
}

impl HeapSize for ScopeMetrics {
    fn heap_size(&self) -> usize {
        opt(&self.scope) + vec_heap(&self.metrics) + self.schema_url.capacity()
    }
}

impl HeapSize for Metric {
    fn heap_size(&self) -> usize {
        let data = match &self.data {
            Some(Data::Gauge(g)) => vec_heap(&g.data_points),
            Some(Data::Sum(s)) => vec_heap(&s.data_points),
            Some(Data::Histogram(h)) => vec_heap(&h.data_points),
            Some(Data::ExponentialHistogram(h)) => vec_heap(&h.data_points),
            Some(Data::Summary(s)) => vec_heap(&s.data_points),
            None => 0,
        };
        self.name.capacity()
            + self.description.capacity()
            + self.unit.capacity()
            + vec_heap(&self.metadata)
            + data
    }
}

impl HeapSize for NumberDataPoint {
    fn heap_size(&self) -> usize {
        vec_heap(&self.attributes) + vec_heap(&self.exemplars)
    }
}

impl HeapSize for HistogramDataPoint {
    fn heap_size(&self) -> usize {
        vec_heap(&self.attributes)
            + bytes_of(&self.bucket_counts)
            + bytes_of(&self.explicit_bounds)
            + vec_heap(&self.exemplars)
    }
}

impl HeapSize for ExponentialHistogramDataPoint {
    fn heap_size(&self) -> usize {
        let buckets = |b: &Option<Buckets>| b.as_ref().map_or(0, |b| bytes_of(&b.bucket_counts));
        vec_heap(&self.attributes)
            + buckets(&self.positive)
            + buckets(&self.negative)
            + vec_heap(&self.exemplars)
    }
}

impl HeapSize for SummaryDataPoint {
    fn heap_size(&self) -> usize {
        vec_heap(&self.attributes) + bytes_of(&self.quantile_values)
    }
}

impl HeapSize for Exemplar {
    fn heap_size(&self) -> usize {
        vec_heap(&self.filtered_attributes) + bytes_of(&self.span_id) + bytes_of(&self.trace_id)
    }
}

// --- logs ---------------------------------------------------------------------------------

impl HeapSize for ResourceLogs {
    fn heap_size(&self) -> usize {
        opt(&self.resource) + vec_heap(&self.scope_logs) + self.schema_url.capacity()
    }
}

impl HeapSize for ScopeLogs {
    fn heap_size(&self) -> usize {
        opt(&self.scope) + vec_heap(&self.log_records) + self.schema_url.capacity()
    }
}

impl HeapSize for LogRecord {
    fn heap_size(&self) -> usize {
        self.severity_text.capacity()
            + opt(&self.body)
            + vec_heap(&self.attributes)
            + bytes_of(&self.trace_id)
            + bytes_of(&self.span_id)
            + self.event_name.capacity()
    }
}

// --- requests -----------------------------------------------------------------------------

impl HeapSize for ExportTraceServiceRequest {
    fn heap_size(&self) -> usize {
        vec_heap(&self.resource_spans)
    }
}

impl HeapSize for ExportMetricsServiceRequest {
    fn heap_size(&self) -> usize {
        vec_heap(&self.resource_metrics)
    }
}

impl HeapSize for ExportLogsServiceRequest {
    fn heap_size(&self) -> usize {
        vec_heap(&self.resource_logs)
    }
}
