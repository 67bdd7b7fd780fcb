//! Metrics, OTLP -> Arrow: one row per data point of every metric type (gauge, sum, histogram,
//! exponential histogram, summary). The metric's own fields are dictionary entries (one per
//! metric per batch); type, temporality and monotonicity are on each row.
//!
//! Invariants:
//! - `metric_type` is `gauge`, `sum`, `histogram`, `exponential_histogram` or `summary` (a
//!   fixed five-value dictionary shared by every batch); `aggregation_temporality` is null for
//!   gauges and summaries, `is_monotonic` is non-null only for sums. Columns that do not belong
//!   to a row's type are null (not zero), so "absent" and "zero" stay distinct; `exemplars` is
//!   an empty list for summaries.
//! - `metric_index` (position of the metric within its scope) separates two identical adjacent
//!   metrics when reading back. A metric without data (or with zero data points) yields no row.
//! - `MetricColumns` is the one set of metric column builders: the prost converter here and
//!   the bytes converter (`wire::metrics`) append a data point in the same steps: the caller
//!   fills the point's lists (attributes, exemplars, and the buckets or quantiles of its type),
//!   then one `end_*` call pushes its scalars and the nulls of the other types' columns.

use std::sync::{Arc, OnceLock};

use arrow_array::types::{Float64Type, Int32Type, Int64Type, UInt32Type, UInt64Type};
use arrow_array::{ArrayRef, BooleanArray, RecordBatch, StringArray, StructArray};
use arrow_buffer::{BooleanBuffer, ScalarBuffer};
use arrow_schema::DataType;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint,
    SummaryDataPoint, exemplar, metric, number_data_point,
};

use super::ConvertError;
use super::attributes::AttributesBuilder;
use super::batch::{Batcher, Checkpoint, Columns, Context, Sink};
use super::columns::{
    ByteColumn, ListShape, Nullable, PrimitiveListBuilder, Validity, arrow, bitmap_bytes,
    dictionary, finish_vec, take_vec, vec_bytes,
};
use super::resource::{ResourceScopeBuilder, expand, index, push_dict};
use super::schema::{buckets_fields, exemplar_fields, item, quantile_fields, schema};
use crate::Signal;

pub(super) const GAUGE: &str = "gauge";
pub(super) const SUM: &str = "sum";
pub(super) const HISTOGRAM: &str = "histogram";
pub(super) const EXPONENTIAL_HISTOGRAM: &str = "exponential_histogram";
pub(super) const SUMMARY: &str = "summary";

/// The metric type codes: keys into the fixed `metric_type` dictionary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Gauge = 0,
    Sum = 1,
    Histogram = 2,
    ExponentialHistogram = 3,
    Summary = 4,
}

/// The `metric_type` dictionary values, shared by every batch (so an IPC writer sees the same
/// dictionary each time and writes it once per file).
fn metric_types() -> ArrayRef {
    static TYPES: OnceLock<ArrayRef> = OnceLock::new();
    TYPES
        .get_or_init(|| {
            Arc::new(StringArray::from(vec![
                GAUGE,
                SUM,
                HISTOGRAM,
                EXPONENTIAL_HISTOGRAM,
                SUMMARY,
            ]))
        })
        .clone()
}

/// Converts a metrics export request into one `RecordBatch` of [`schema`]`(Signal::Metrics)`,
/// one row per data point (no batch limits: see [`Converter`](crate::Converter)).
pub fn metrics_to_arrow(req: &ExportMetricsServiceRequest) -> Result<RecordBatch, ConvertError> {
    super::converter::one_batch(Signal::Metrics, |c, sink| c.push_metrics(req, sink))
}

/// The number value of a gauge or sum point.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Number {
    Double(f64),
    Int(i64),
}

/// Appends the data points of `req` (prost form), row by row.
pub(crate) fn push_request(
    b: &mut Batcher<MetricColumns>,
    req: &ExportMetricsServiceRequest,
    sink: &mut Sink<'_>,
) -> Result<(), ConvertError> {
    for rm in &req.resource_metrics {
        let resource_index = b.next_resource_index()?;
        b.clear_keys();
        for (si, sm) in rm.scope_metrics.iter().enumerate() {
            let cx = Context {
                resource_index,
                resource: rm.resource.as_ref(),
                resource_schema_url: &rm.schema_url,
                scope_index: index(si, "scope_index")?,
                scope: sm.scope.as_ref(),
                scope_schema_url: &sm.schema_url,
            };
            b.scope = None;
            for (mi, m) in sm.metrics.iter().enumerate() {
                let mi = index(mi, "metric_index")?;
                b.metric = None;
                let row = |b: &mut Batcher<MetricColumns>, kind, t, mono| {
                    let scope = b.scope_entry(&cx);
                    let key = match b.metric {
                        Some(k) => k,
                        None => *b.metric.insert(b.cols.push_metric(scope, mi, m, kind)),
                    };
                    b.cols.head(key, t, mono);
                };
                match &m.data {
                    None => {}
                    Some(metric::Data::Gauge(g)) => {
                        for p in &g.data_points {
                            row(b, Kind::Gauge, None, None);
                            b.cols.number(p);
                            b.after_row(sink)?;
                        }
                    }
                    Some(metric::Data::Sum(s)) => {
                        let t = Some(s.aggregation_temporality);
                        for p in &s.data_points {
                            row(b, Kind::Sum, t, Some(s.is_monotonic));
                            b.cols.number(p);
                            b.after_row(sink)?;
                        }
                    }
                    Some(metric::Data::Histogram(h)) => {
                        for p in &h.data_points {
                            row(b, Kind::Histogram, Some(h.aggregation_temporality), None);
                            b.cols.histogram(p);
                            b.after_row(sink)?;
                        }
                    }
                    Some(metric::Data::ExponentialHistogram(h)) => {
                        let t = Some(h.aggregation_temporality);
                        for p in &h.data_points {
                            row(b, Kind::ExponentialHistogram, t, None);
                            b.cols.exponential_histogram(p);
                            b.after_row(sink)?;
                        }
                    }
                    Some(metric::Data::Summary(s)) => {
                        for p in &s.data_points {
                            row(b, Kind::Summary, None, None);
                            b.cols.summary(p);
                            b.after_row(sink)?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// A nullable boolean column.
#[derive(Debug)]
pub(crate) struct NullableBool {
    values: Vec<bool>,
    nulls: Validity,
}

impl NullableBool {
    fn new() -> Self {
        Self {
            values: Vec::new(),
            nulls: Validity::new(0),
        }
    }

    #[inline]
    fn push(&mut self, value: Option<bool>) {
        self.values.push(value.unwrap_or(false));
        self.nulls.append(value.is_some());
    }

    fn truncate(&mut self, len: usize) {
        self.values.truncate(len);
        self.nulls.truncate(len);
    }

    fn finish(&mut self) -> BooleanArray {
        BooleanArray::new(
            BooleanBuffer::from(take_vec(&mut self.values)),
            self.nulls.finish(),
        )
    }
}

/// The metric entries of one batch: one per metric with rows in it.
#[derive(Debug)]
pub(crate) struct MetricEntries {
    scope: Vec<i32>,
    index: Vec<u32>,
    pub(crate) name: ByteColumn,
    pub(crate) description: ByteColumn,
    pub(crate) unit: ByteColumn,
    pub(crate) metadata: AttributesBuilder,
    kind: Vec<i32>,
}

impl MetricEntries {
    fn new() -> Self {
        Self {
            scope: Vec::new(),
            index: Vec::new(),
            name: ByteColumn::new(),
            description: ByteColumn::new(),
            unit: ByteColumn::new(),
            metadata: AttributesBuilder::new(),
            kind: Vec::new(),
        }
    }

    /// Completes an entry whose name, description, unit and metadata slot were pushed.
    pub(crate) fn end(&mut self, scope: i32, index: u32, kind: Kind) -> i32 {
        let key = self.index.len() as i32;
        self.scope.push(scope);
        self.index.push(index);
        self.kind.push(kind as i32);
        key
    }

    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// Sets the scope of entry `key` if it has none yet (its first row names it).
    #[inline]
    pub(crate) fn set_scope(&mut self, key: i32, scope: i32) {
        if let Some(s) = self.scope.get_mut(key as usize)
            && *s < 0
        {
            *s = scope;
        }
    }

    pub(crate) fn truncate(&mut self, n: usize) {
        self.scope.truncate(n);
        self.index.truncate(n);
        self.name.truncate(n);
        self.description.truncate(n);
        self.unit.truncate(n);
        self.metadata.truncate(n);
        self.kind.truncate(n);
    }

    fn bytes(&self) -> usize {
        vec_bytes(&self.index)
            + self.name.bytes()
            + self.description.bytes()
            + self.unit.bytes()
            + self.metadata.bytes()
    }
}

/// The metric column builders of one batch.
#[derive(Debug)]
pub(crate) struct MetricColumns {
    pub(crate) rs: ResourceScopeBuilder,
    pub(crate) metrics: MetricEntries,
    /// Per row: the key of its metric entry.
    metric_key: Vec<i32>,
    aggregation_temporality: Nullable<Int32Type>,
    is_monotonic: NullableBool,
    pub(crate) attributes: AttributesBuilder,
    start_time_unix_nano: Vec<u64>,
    time_unix_nano: Vec<u64>,
    flags: Vec<u32>,
    pub(crate) exemplars: ExemplarsBuilder,
    as_double: Nullable<Float64Type>,
    as_int: Nullable<Int64Type>,
    count: Nullable<UInt64Type>,
    sum: Nullable<Float64Type>,
    pub(crate) bucket_counts: PrimitiveListBuilder<UInt64Type>,
    pub(crate) explicit_bounds: PrimitiveListBuilder<Float64Type>,
    min: Nullable<Float64Type>,
    max: Nullable<Float64Type>,
    scale: Nullable<Int32Type>,
    zero_count: Nullable<UInt64Type>,
    zero_threshold: Nullable<Float64Type>,
    pub(crate) positive: BucketsBuilder,
    pub(crate) negative: BucketsBuilder,
    pub(crate) quantile_values: QuantilesBuilder,
}

impl MetricColumns {
    pub(crate) fn new() -> Self {
        Self {
            rs: ResourceScopeBuilder::new(),
            metrics: MetricEntries::new(),
            metric_key: Vec::new(),
            aggregation_temporality: Nullable::new(),
            is_monotonic: NullableBool::new(),
            attributes: AttributesBuilder::new(),
            start_time_unix_nano: Vec::new(),
            time_unix_nano: Vec::new(),
            flags: Vec::new(),
            exemplars: ExemplarsBuilder::new(),
            as_double: Nullable::new(),
            as_int: Nullable::new(),
            count: Nullable::new(),
            sum: Nullable::new(),
            bucket_counts: PrimitiveListBuilder::new(),
            explicit_bounds: PrimitiveListBuilder::new(),
            min: Nullable::new(),
            max: Nullable::new(),
            scale: Nullable::new(),
            zero_count: Nullable::new(),
            zero_threshold: Nullable::new(),
            positive: BucketsBuilder::new(),
            negative: BucketsBuilder::new(),
            quantile_values: QuantilesBuilder::new(),
        }
    }

    /// Adds the entry of metric `m` (prost form) under scope entry `scope`.
    fn push_metric(&mut self, scope: i32, index: u32, m: &Metric, kind: Kind) -> i32 {
        let e = &mut self.metrics;
        e.name.push_str(&m.name);
        e.description.push_str(&m.description);
        e.unit.push_str(&m.unit);
        e.metadata.append(&m.metadata);
        e.end(scope, index, kind)
    }

    /// The metric key of the last row, if there is one.
    pub(crate) fn last_row_metric(&self) -> Option<i32> {
        self.metric_key.last().copied()
    }

    /// The metric-level columns of one row: its metric entry, temporality and monotonicity.
    #[inline]
    pub(crate) fn head(&mut self, metric: i32, temporality: Option<i32>, monotonic: Option<bool>) {
        self.metric_key.push(metric);
        self.aggregation_temporality.push_option(temporality);
        self.is_monotonic.push(monotonic);
    }

    #[inline]
    fn times(&mut self, start: u64, time: u64, flags: u32) {
        self.start_time_unix_nano.push(start);
        self.time_unix_nano.push(time);
        self.flags.push(flags);
    }

    fn number(&mut self, p: &NumberDataPoint) {
        self.attributes.append(&p.attributes);
        self.exemplars.append(&p.exemplars);
        let value = p.value.map(|v| match v {
            number_data_point::Value::AsDouble(d) => Number::Double(d),
            number_data_point::Value::AsInt(i) => Number::Int(i),
        });
        self.end_number(p.start_time_unix_nano, p.time_unix_nano, p.flags, value);
    }

    /// Ends a gauge or sum point whose attributes and exemplars slots are closed.
    #[inline]
    pub(crate) fn end_number(&mut self, start: u64, time: u64, flags: u32, value: Option<Number>) {
        self.times(start, time, flags);
        match value {
            Some(Number::Double(d)) => {
                self.as_double.push(d);
                self.as_int.push_null();
            }
            Some(Number::Int(i)) => {
                self.as_double.push_null();
                self.as_int.push(i);
            }
            None => self.no_number(),
        }
        self.count.push_null();
        self.sum.push_null();
        self.no_explicit_buckets();
        self.min_max(None, None);
        self.no_exponential();
        self.quantile_values.append_null();
    }

    fn histogram(&mut self, p: &HistogramDataPoint) {
        self.attributes.append(&p.attributes);
        self.exemplars.append(&p.exemplars);
        self.bucket_counts.append(&p.bucket_counts);
        self.explicit_bounds.append(&p.explicit_bounds);
        let h = Histo {
            start: p.start_time_unix_nano,
            time: p.time_unix_nano,
            count: p.count,
            sum: p.sum,
            flags: p.flags,
            min: p.min,
            max: p.max,
        };
        self.end_histogram(&h);
    }

    /// Ends a histogram point whose attributes, exemplars, bucket counts and explicit bounds
    /// slots are closed.
    pub(crate) fn end_histogram(&mut self, h: &Histo) {
        self.times(h.start, h.time, h.flags);
        self.no_number();
        self.count.push(h.count);
        self.sum.push_option(h.sum);
        self.min_max(h.min, h.max);
        self.no_exponential();
        self.quantile_values.append_null();
    }

    fn exponential_histogram(&mut self, p: &ExponentialHistogramDataPoint) {
        self.attributes.append(&p.attributes);
        self.exemplars.append(&p.exemplars);
        self.positive.append(p.positive.as_ref());
        self.negative.append(p.negative.as_ref());
        let h = Histo {
            start: p.start_time_unix_nano,
            time: p.time_unix_nano,
            count: p.count,
            sum: p.sum,
            flags: p.flags,
            min: p.min,
            max: p.max,
        };
        self.end_exponential(&h, p.scale, p.zero_count, p.zero_threshold);
    }

    /// Ends an exponential histogram point whose attributes and exemplars slots are closed and
    /// whose positive and negative buckets are appended.
    pub(crate) fn end_exponential(
        &mut self,
        h: &Histo,
        scale: i32,
        zero_count: u64,
        zero_threshold: f64,
    ) {
        self.times(h.start, h.time, h.flags);
        self.no_number();
        self.count.push(h.count);
        self.sum.push_option(h.sum);
        self.no_explicit_buckets();
        self.min_max(h.min, h.max);
        self.scale.push(scale);
        self.zero_count.push(zero_count);
        self.zero_threshold.push(zero_threshold);
        self.quantile_values.append_null();
    }

    fn summary(&mut self, p: &SummaryDataPoint) {
        self.attributes.append(&p.attributes);
        self.exemplars.close();
        for q in &p.quantile_values {
            self.quantile_values.push(q.quantile, q.value);
        }
        self.quantile_values.close();
        self.end_summary(
            p.start_time_unix_nano,
            p.time_unix_nano,
            p.count,
            p.sum,
            p.flags,
        );
    }

    /// Ends a summary point whose attributes, (empty) exemplars and quantiles slots are
    /// closed.
    pub(crate) fn end_summary(&mut self, start: u64, time: u64, count: u64, sum: f64, flags: u32) {
        self.times(start, time, flags);
        self.no_number();
        self.count.push(count);
        self.sum.push(sum);
        self.no_explicit_buckets();
        self.min_max(None, None);
        self.no_exponential();
    }

    fn no_number(&mut self) {
        self.as_double.push_null();
        self.as_int.push_null();
    }

    fn no_explicit_buckets(&mut self) {
        self.bucket_counts.append_null();
        self.explicit_bounds.append_null();
    }

    fn min_max(&mut self, min: Option<f64>, max: Option<f64>) {
        self.min.push_option(min);
        self.max.push_option(max);
    }

    fn no_exponential(&mut self) {
        self.scale.push_null();
        self.zero_count.push_null();
        self.zero_threshold.push_null();
        self.positive.append(None);
        self.negative.append(None);
    }
}

/// The scalars shared by histogram and exponential histogram points.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Histo {
    pub(crate) start: u64,
    pub(crate) time: u64,
    pub(crate) count: u64,
    pub(crate) sum: Option<f64>,
    pub(crate) flags: u32,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
}

impl Columns for MetricColumns {
    fn rows(&self) -> usize {
        self.metric_key.len()
    }

    fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            rows: self.rows(),
            entries: self.rs.entries(),
            metrics: self.metrics.len(),
        }
    }

    fn truncate(&mut self, to: Checkpoint) {
        let n = to.rows;
        self.rs.truncate(to.entries);
        self.metrics.truncate(to.metrics);
        self.metric_key.truncate(n);
        self.aggregation_temporality.truncate(n);
        self.is_monotonic.truncate(n);
        self.attributes.truncate(n);
        self.start_time_unix_nano.truncate(n);
        self.time_unix_nano.truncate(n);
        self.flags.truncate(n);
        self.exemplars.truncate(n);
        self.as_double.truncate(n);
        self.as_int.truncate(n);
        self.count.truncate(n);
        self.sum.truncate(n);
        self.bucket_counts.truncate(n);
        self.explicit_bounds.truncate(n);
        self.min.truncate(n);
        self.max.truncate(n);
        self.scale.truncate(n);
        self.zero_count.truncate(n);
        self.zero_threshold.truncate(n);
        self.positive.truncate(n);
        self.negative.truncate(n);
        self.quantile_values.truncate(n);
    }

    fn bytes(&self) -> usize {
        let rows = self.rows();
        // Per row: metric key, index and the five dictionary key columns, temporality, flags
        // (4 bytes each); two times and eight nullable 8-byte columns; 15 validity bitmaps.
        let per_row = 4 * 9 + 8 * 10 + 4 * 2;
        per_row * rows
            + 15 * bitmap_bytes(rows)
            + self.rs.bytes(rows)
            + self.metrics.bytes()
            + self.attributes.bytes()
            + self.exemplars.bytes()
            + self.bucket_counts.bytes()
            + self.explicit_bounds.bytes()
            + self.positive.bytes()
            + self.negative.bytes()
            + self.quantile_values.bytes()
    }

    fn containers(&mut self) -> &mut ResourceScopeBuilder {
        &mut self.rs
    }

    fn last_row_scope(&self) -> Option<i32> {
        let metric = *self.metric_key.last()?;
        self.metrics.scope.get(metric as usize).copied()
    }

    fn finish(&mut self) -> Result<RecordBatch, ConvertError> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(40);
        let mk = take_vec(&mut self.metric_key);
        let scope_keys = ScalarBuffer::from(expand(&self.metrics.scope, &mk));
        self.rs.finish(&scope_keys, &mut columns)?;
        let e = &mut self.metrics;
        columns.push(Arc::new(arrow_array::UInt32Array::from(expand(
            &e.index, &mk,
        ))));
        let kinds = ScalarBuffer::from(expand(&e.kind, &mk));
        let mk = ScalarBuffer::from(mk);
        push_dict(
            &mut columns,
            &mk,
            None,
            "metric_name",
            e.name.finish_utf8(None, "metric_name")?,
        )?;
        push_dict(
            &mut columns,
            &mk,
            None,
            "metric_description",
            e.description.finish_utf8(None, "metric_description")?,
        )?;
        push_dict(
            &mut columns,
            &mk,
            None,
            "metric_unit",
            e.unit.finish_utf8(None, "metric_unit")?,
        )?;
        push_dict(
            &mut columns,
            &mk,
            None,
            "metric_metadata",
            e.metadata.finish("metric_metadata")?,
        )?;
        columns.push(dictionary::<Int32Type>(
            &kinds,
            None,
            metric_types(),
            "metric_type",
        )?);
        e.truncate(0);
        columns.push(Arc::new(self.aggregation_temporality.finish()));
        columns.push(Arc::new(self.is_monotonic.finish()));
        columns.push(Arc::new(self.attributes.finish("attributes")?));
        columns.push(finish_vec::<UInt64Type>(&mut self.start_time_unix_nano));
        columns.push(finish_vec::<UInt64Type>(&mut self.time_unix_nano));
        columns.push(finish_vec::<UInt32Type>(&mut self.flags));
        columns.push(Arc::new(self.exemplars.finish()?));
        columns.push(Arc::new(self.as_double.finish()));
        columns.push(Arc::new(self.as_int.finish()));
        columns.push(Arc::new(self.count.finish()));
        columns.push(Arc::new(self.sum.finish()));
        columns.push(Arc::new(self.bucket_counts.finish("bucket_counts")?));
        columns.push(Arc::new(self.explicit_bounds.finish("explicit_bounds")?));
        columns.push(Arc::new(self.min.finish()));
        columns.push(Arc::new(self.max.finish()));
        columns.push(Arc::new(self.scale.finish()));
        columns.push(Arc::new(self.zero_count.finish()));
        columns.push(Arc::new(self.zero_threshold.finish()));
        columns.push(Arc::new(self.positive.finish("positive")?));
        columns.push(Arc::new(self.negative.finish("negative")?));
        columns.push(Arc::new(self.quantile_values.finish()?));
        RecordBatch::try_new(schema(Signal::Metrics), columns)
            .map_err(|source| arrow("metrics batch", source))
    }
}

/// `exemplars`: per row a list of exemplar structs. The caller appends an exemplar's
/// filtered attributes slot, then calls `push`; `close` ends the row's list.
#[derive(Debug)]
pub(crate) struct ExemplarsBuilder {
    shape: ListShape,
    pub(crate) filtered_attributes: AttributesBuilder,
    time_unix_nano: Vec<u64>,
    span_id: ByteColumn,
    trace_id: ByteColumn,
    as_double: Nullable<Float64Type>,
    as_int: Nullable<Int64Type>,
}

impl ExemplarsBuilder {
    fn new() -> Self {
        Self {
            shape: ListShape::new(),
            filtered_attributes: AttributesBuilder::new(),
            time_unix_nano: Vec::new(),
            span_id: ByteColumn::new(),
            trace_id: ByteColumn::new(),
            as_double: Nullable::new(),
            as_int: Nullable::new(),
        }
    }

    fn append(&mut self, exemplars: &[Exemplar]) {
        for e in exemplars {
            self.filtered_attributes.append(&e.filtered_attributes);
            let value = e.value.map(|v| match v {
                exemplar::Value::AsDouble(d) => Number::Double(d),
                exemplar::Value::AsInt(i) => Number::Int(i),
            });
            self.push(e.time_unix_nano, &e.span_id, &e.trace_id, value);
        }
        self.close();
    }

    /// One exemplar whose filtered attributes slot was appended.
    #[inline]
    pub(crate) fn push(&mut self, time: u64, span_id: &[u8], trace_id: &[u8], v: Option<Number>) {
        self.time_unix_nano.push(time);
        self.span_id.push_hex(span_id);
        self.trace_id.push_hex(trace_id);
        match v {
            Some(Number::Double(d)) => {
                self.as_double.push(d);
                self.as_int.push_null();
            }
            Some(Number::Int(i)) => {
                self.as_double.push_null();
                self.as_int.push(i);
            }
            None => {
                self.as_double.push_null();
                self.as_int.push_null();
            }
        }
    }

    #[inline]
    pub(crate) fn close(&mut self) {
        self.shape.close(self.time_unix_nano.len());
    }

    fn truncate(&mut self, rows: usize) {
        let n = self.shape.truncate(rows);
        self.filtered_attributes.truncate(n);
        self.time_unix_nano.truncate(n);
        self.span_id.truncate(n);
        self.trace_id.truncate(n);
        self.as_double.truncate(n);
        self.as_int.truncate(n);
    }

    fn bytes(&self) -> usize {
        self.shape.bytes()
            + self.filtered_attributes.bytes()
            + vec_bytes(&self.time_unix_nano)
            + self.span_id.bytes()
            + self.trace_id.bytes()
            + self.as_double.bytes()
            + self.as_int.bytes()
    }

    fn finish(&mut self) -> Result<arrow_array::ListArray, ConvertError> {
        const COLUMN: &str = "exemplars";
        let children: Vec<ArrayRef> = vec![
            Arc::new(
                self.filtered_attributes
                    .finish("exemplars.filtered_attributes")?,
            ),
            finish_vec::<UInt64Type>(&mut self.time_unix_nano),
            Arc::new(self.span_id.finish_utf8(None, COLUMN)?),
            Arc::new(self.trace_id.finish_utf8(None, COLUMN)?),
            Arc::new(self.as_double.finish()),
            Arc::new(self.as_int.finish()),
        ];
        let entries = StructArray::try_new(exemplar_fields(), children, None)
            .map_err(|source| arrow(COLUMN, source))?;
        self.shape.finish(
            item(DataType::Struct(exemplar_fields())),
            Arc::new(entries),
            COLUMN,
        )
    }
}

/// `positive` / `negative`: a nullable struct of offset and bucket counts.
#[derive(Debug)]
pub(crate) struct BucketsBuilder {
    nulls: Validity,
    offset: Vec<i32>,
    pub(crate) bucket_counts: PrimitiveListBuilder<UInt64Type>,
}

impl BucketsBuilder {
    fn new() -> Self {
        Self {
            nulls: Validity::new(0),
            offset: Vec::new(),
            bucket_counts: PrimitiveListBuilder::new(),
        }
    }

    fn append(&mut self, buckets: Option<&Buckets>) {
        match buckets {
            Some(b) => {
                for &c in &b.bucket_counts {
                    self.bucket_counts.push(c);
                }
                self.present(b.offset);
            }
            None => self.absent(),
        }
    }

    /// Ends present buckets whose counts were pushed into `bucket_counts` (not closed).
    #[inline]
    pub(crate) fn present(&mut self, offset: i32) {
        self.bucket_counts.close();
        self.nulls.append_non_null();
        self.offset.push(offset);
    }

    #[inline]
    pub(crate) fn absent(&mut self) {
        self.nulls.append_null();
        self.offset.push(0);
        self.bucket_counts.append(&[]);
    }

    fn truncate(&mut self, rows: usize) {
        self.nulls.truncate(rows);
        self.offset.truncate(rows);
        self.bucket_counts.truncate(rows);
    }

    fn bytes(&self) -> usize {
        bitmap_bytes(self.offset.len()) + vec_bytes(&self.offset) + self.bucket_counts.bytes()
    }

    fn finish(&mut self, column: &str) -> Result<StructArray, ConvertError> {
        let children: Vec<ArrayRef> = vec![
            finish_vec::<Int32Type>(&mut self.offset),
            Arc::new(self.bucket_counts.finish(column)?),
        ];
        StructArray::try_new(buckets_fields(), children, self.nulls.finish())
            .map_err(|source| arrow(column, source))
    }
}

/// `quantile_values`: a nullable list of (quantile, value) structs.
#[derive(Debug)]
pub(crate) struct QuantilesBuilder {
    shape: ListShape,
    quantile: Vec<f64>,
    value: Vec<f64>,
}

impl QuantilesBuilder {
    fn new() -> Self {
        Self {
            shape: ListShape::new(),
            quantile: Vec::new(),
            value: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, quantile: f64, value: f64) {
        self.quantile.push(quantile);
        self.value.push(value);
    }

    #[inline]
    pub(crate) fn close(&mut self) {
        self.shape.close(self.quantile.len());
    }

    fn append_null(&mut self) {
        self.shape.close_null();
    }

    fn truncate(&mut self, rows: usize) {
        let n = self.shape.truncate(rows);
        self.quantile.truncate(n);
        self.value.truncate(n);
    }

    fn bytes(&self) -> usize {
        self.shape.bytes() + vec_bytes(&self.quantile) + vec_bytes(&self.value)
    }

    fn finish(&mut self) -> Result<arrow_array::ListArray, ConvertError> {
        const COLUMN: &str = "quantile_values";
        let children: Vec<ArrayRef> = vec![
            finish_vec::<Float64Type>(&mut self.quantile),
            finish_vec::<Float64Type>(&mut self.value),
        ];
        let entries = StructArray::try_new(quantile_fields(), children, None)
            .map_err(|source| arrow(COLUMN, source))?;
        self.shape.finish(
            item(DataType::Struct(quantile_fields())),
            Arc::new(entries),
            COLUMN,
        )
    }
}
