//! Metrics: one row per data point of every metric type (gauge, sum, histogram, exponential
//! histogram, summary), with the metric's own fields, type, temporality and monotonicity
//! repeated on each row.
//!
//! Invariants:
//! - `metric_type` is `gauge`, `sum`, `histogram`, `exponential_histogram` or `summary`;
//!   `aggregation_temporality` is null for gauges and summaries, `is_monotonic` is non-null only
//!   for sums. Columns that do not belong to a row's type are null (not zero), so "absent" and
//!   "zero" stay distinct; `exemplars` is an empty list for summaries.
//! - `metric_index` (position of the metric within its scope) separates two identical adjacent
//!   metrics when reading back. A metric without data (or with zero data points) yields no row.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder, UInt64Builder,
};
use arrow_array::types::{Float64Type, UInt64Type};
use arrow_array::{
    ArrayRef, Float64Array, Int32Array, ListArray, RecordBatch, StructArray, UInt32Array,
    UInt64Array,
};
use arrow_buffer::NullBufferBuilder;
use arrow_schema::DataType;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint,
    SummaryDataPoint, exemplar, metric, number_data_point,
};

use super::ConvertError;
use super::attributes::AttributesBuilder;
use super::columns::{ListShape, PrimitiveListBuilder};
use super::ids::append_hex;
use super::resource::{Context, ResourceScopeBuilder, index};
use super::schema::{buckets_fields, exemplar_fields, item, quantile_fields, schema};
use crate::Signal;

pub(super) const GAUGE: &str = "gauge";
pub(super) const SUM: &str = "sum";
pub(super) const HISTOGRAM: &str = "histogram";
pub(super) const EXPONENTIAL_HISTOGRAM: &str = "exponential_histogram";
pub(super) const SUMMARY: &str = "summary";

/// Converts a metrics export request into one `RecordBatch` of [`schema`]`(Signal::Metrics)`,
/// one row per data point.
pub fn metrics_to_arrow(req: &ExportMetricsServiceRequest) -> Result<RecordBatch, ConvertError> {
    let rows: usize = req
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .map(data_point_count)
        .sum();
    let mut b = MetricColumns::with_capacity(rows);
    for (ri, rm) in req.resource_metrics.iter().enumerate() {
        let resource_index = index(ri, "resource_index")?;
        for (si, sm) in rm.scope_metrics.iter().enumerate() {
            let cx = Context {
                resource_index,
                resource: rm.resource.as_ref(),
                resource_schema_url: &rm.schema_url,
                scope_index: index(si, "scope_index")?,
                scope: sm.scope.as_ref(),
                scope_schema_url: &sm.schema_url,
            };
            for (mi, m) in sm.metrics.iter().enumerate() {
                let head = Head {
                    cx: &cx,
                    metric_index: index(mi, "metric_index")?,
                    metric: m,
                };
                match &m.data {
                    None => {}
                    Some(metric::Data::Gauge(g)) => {
                        for p in &g.data_points {
                            b.head(&head, GAUGE, None, None);
                            b.number(p);
                        }
                    }
                    Some(metric::Data::Sum(s)) => {
                        for p in &s.data_points {
                            b.head(
                                &head,
                                SUM,
                                Some(s.aggregation_temporality),
                                Some(s.is_monotonic),
                            );
                            b.number(p);
                        }
                    }
                    Some(metric::Data::Histogram(h)) => {
                        for p in &h.data_points {
                            b.head(&head, HISTOGRAM, Some(h.aggregation_temporality), None);
                            b.histogram(p);
                        }
                    }
                    Some(metric::Data::ExponentialHistogram(h)) => {
                        for p in &h.data_points {
                            b.head(
                                &head,
                                EXPONENTIAL_HISTOGRAM,
                                Some(h.aggregation_temporality),
                                None,
                            );
                            b.exponential_histogram(p);
                        }
                    }
                    Some(metric::Data::Summary(s)) => {
                        for p in &s.data_points {
                            b.head(&head, SUMMARY, None, None);
                            b.summary(p);
                        }
                    }
                }
            }
        }
    }
    b.finish()
}

fn data_point_count(m: &Metric) -> usize {
    match &m.data {
        None => 0,
        Some(metric::Data::Gauge(g)) => g.data_points.len(),
        Some(metric::Data::Sum(s)) => s.data_points.len(),
        Some(metric::Data::Histogram(h)) => h.data_points.len(),
        Some(metric::Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(metric::Data::Summary(s)) => s.data_points.len(),
    }
}

struct Head<'a> {
    cx: &'a Context<'a>,
    metric_index: u32,
    metric: &'a Metric,
}

#[derive(Debug)]
struct MetricColumns {
    rs: ResourceScopeBuilder,
    metric_index: Vec<u32>,
    metric_name: StringBuilder,
    metric_description: StringBuilder,
    metric_unit: StringBuilder,
    metric_metadata: AttributesBuilder,
    metric_type: StringBuilder,
    aggregation_temporality: Int32Builder,
    is_monotonic: BooleanBuilder,
    attributes: AttributesBuilder,
    start_time_unix_nano: Vec<u64>,
    time_unix_nano: Vec<u64>,
    flags: Vec<u32>,
    exemplars: ExemplarsBuilder,
    as_double: Float64Builder,
    as_int: Int64Builder,
    count: UInt64Builder,
    sum: Float64Builder,
    bucket_counts: PrimitiveListBuilder<UInt64Type>,
    explicit_bounds: PrimitiveListBuilder<Float64Type>,
    min: Float64Builder,
    max: Float64Builder,
    scale: Int32Builder,
    zero_count: UInt64Builder,
    zero_threshold: Float64Builder,
    positive: BucketsBuilder,
    negative: BucketsBuilder,
    quantile_values: QuantilesBuilder,
}

impl MetricColumns {
    fn with_capacity(rows: usize) -> Self {
        Self {
            rs: ResourceScopeBuilder::with_capacity(rows),
            metric_index: Vec::with_capacity(rows),
            metric_name: StringBuilder::with_capacity(rows, rows * 24),
            metric_description: StringBuilder::with_capacity(rows, rows * 24),
            metric_unit: StringBuilder::with_capacity(rows, rows * 2),
            metric_metadata: AttributesBuilder::with_capacity(rows, 0),
            metric_type: StringBuilder::with_capacity(rows, rows * 5),
            aggregation_temporality: Int32Builder::with_capacity(rows),
            is_monotonic: BooleanBuilder::with_capacity(rows),
            attributes: AttributesBuilder::with_capacity(rows, rows * 10),
            start_time_unix_nano: Vec::with_capacity(rows),
            time_unix_nano: Vec::with_capacity(rows),
            flags: Vec::with_capacity(rows),
            exemplars: ExemplarsBuilder::with_capacity(rows),
            as_double: Float64Builder::with_capacity(rows),
            as_int: Int64Builder::with_capacity(rows),
            count: UInt64Builder::with_capacity(rows),
            sum: Float64Builder::with_capacity(rows),
            bucket_counts: PrimitiveListBuilder::with_capacity(rows),
            explicit_bounds: PrimitiveListBuilder::with_capacity(rows),
            min: Float64Builder::with_capacity(rows),
            max: Float64Builder::with_capacity(rows),
            scale: Int32Builder::with_capacity(rows),
            zero_count: UInt64Builder::with_capacity(rows),
            zero_threshold: Float64Builder::with_capacity(rows),
            positive: BucketsBuilder::with_capacity(rows),
            negative: BucketsBuilder::with_capacity(rows),
            quantile_values: QuantilesBuilder::with_capacity(rows),
        }
    }

    /// Resource, scope and metric-level columns of one row.
    #[inline]
    fn head(&mut self, h: &Head<'_>, ty: &str, temporality: Option<i32>, monotonic: Option<bool>) {
        self.rs.append(h.cx);
        self.metric_index.push(h.metric_index);
        self.metric_name.append_value(&h.metric.name);
        self.metric_description.append_value(&h.metric.description);
        self.metric_unit.append_value(&h.metric.unit);
        self.metric_metadata.append(&h.metric.metadata);
        self.metric_type.append_value(ty);
        self.aggregation_temporality.append_option(temporality);
        self.is_monotonic.append_option(monotonic);
    }

    /// Columns every data point type has.
    #[inline]
    fn common(
        &mut self,
        attributes: &[KeyValue],
        start: u64,
        time: u64,
        flags: u32,
        exemplars: &[Exemplar],
    ) {
        self.attributes.append(attributes);
        self.start_time_unix_nano.push(start);
        self.time_unix_nano.push(time);
        self.flags.push(flags);
        self.exemplars.append(exemplars);
    }

    fn number(&mut self, p: &NumberDataPoint) {
        self.common(
            &p.attributes,
            p.start_time_unix_nano,
            p.time_unix_nano,
            p.flags,
            &p.exemplars,
        );
        match p.value {
            Some(number_data_point::Value::AsDouble(d)) => {
                self.as_double.append_value(d);
                self.as_int.append_null();
            }
            Some(number_data_point::Value::AsInt(i)) => {
                self.as_double.append_null();
                self.as_int.append_value(i);
            }
            None => {
                self.as_double.append_null();
                self.as_int.append_null();
            }
        }
        self.count.append_null();
        self.sum.append_null();
        self.no_explicit_buckets();
        self.min_max(None, None);
        self.no_exponential();
        self.quantile_values.append_null();
    }

    fn histogram(&mut self, p: &HistogramDataPoint) {
        self.common(
            &p.attributes,
            p.start_time_unix_nano,
            p.time_unix_nano,
            p.flags,
            &p.exemplars,
        );
        self.no_number();
        self.count.append_value(p.count);
        self.sum.append_option(p.sum);
        self.bucket_counts.append(&p.bucket_counts);
        self.explicit_bounds.append(&p.explicit_bounds);
        self.min_max(p.min, p.max);
        self.no_exponential();
        self.quantile_values.append_null();
    }

    fn exponential_histogram(&mut self, p: &ExponentialHistogramDataPoint) {
        self.common(
            &p.attributes,
            p.start_time_unix_nano,
            p.time_unix_nano,
            p.flags,
            &p.exemplars,
        );
        self.no_number();
        self.count.append_value(p.count);
        self.sum.append_option(p.sum);
        self.no_explicit_buckets();
        self.min_max(p.min, p.max);
        self.scale.append_value(p.scale);
        self.zero_count.append_value(p.zero_count);
        self.zero_threshold.append_value(p.zero_threshold);
        self.positive.append(p.positive.as_ref());
        self.negative.append(p.negative.as_ref());
        self.quantile_values.append_null();
    }

    fn summary(&mut self, p: &SummaryDataPoint) {
        self.common(
            &p.attributes,
            p.start_time_unix_nano,
            p.time_unix_nano,
            p.flags,
            &[],
        );
        self.no_number();
        self.count.append_value(p.count);
        self.sum.append_value(p.sum);
        self.no_explicit_buckets();
        self.min_max(None, None);
        self.no_exponential();
        self.quantile_values.append(&p.quantile_values);
    }

    fn no_number(&mut self) {
        self.as_double.append_null();
        self.as_int.append_null();
    }

    fn no_explicit_buckets(&mut self) {
        self.bucket_counts.append_null();
        self.explicit_bounds.append_null();
    }

    fn min_max(&mut self, min: Option<f64>, max: Option<f64>) {
        self.min.append_option(min);
        self.max.append_option(max);
    }

    fn no_exponential(&mut self) {
        self.scale.append_null();
        self.zero_count.append_null();
        self.zero_threshold.append_null();
        self.positive.append(None);
        self.negative.append(None);
    }

    fn finish(mut self) -> Result<RecordBatch, ConvertError> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(40);
        self.rs.finish(&mut columns)?;
        columns.push(Arc::new(UInt32Array::from(self.metric_index)));
        columns.push(Arc::new(self.metric_name.finish()));
        columns.push(Arc::new(self.metric_description.finish()));
        columns.push(Arc::new(self.metric_unit.finish()));
        columns.push(Arc::new(self.metric_metadata.finish("metric_metadata")?));
        columns.push(Arc::new(self.metric_type.finish()));
        columns.push(Arc::new(self.aggregation_temporality.finish()));
        columns.push(Arc::new(self.is_monotonic.finish()));
        columns.push(Arc::new(self.attributes.finish("attributes")?));
        columns.push(Arc::new(UInt64Array::from(self.start_time_unix_nano)));
        columns.push(Arc::new(UInt64Array::from(self.time_unix_nano)));
        columns.push(Arc::new(UInt32Array::from(self.flags)));
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

fn arrow(column: &str, source: arrow_schema::ArrowError) -> ConvertError {
    ConvertError::Arrow {
        column: column.to_string(),
        source,
    }
}

#[derive(Debug)]
struct ExemplarsBuilder {
    shape: ListShape,
    filtered_attributes: AttributesBuilder,
    time_unix_nano: Vec<u64>,
    span_id: StringBuilder,
    trace_id: StringBuilder,
    as_double: Float64Builder,
    as_int: Int64Builder,
}

impl ExemplarsBuilder {
    fn with_capacity(rows: usize) -> Self {
        Self {
            shape: ListShape::with_capacity(rows),
            filtered_attributes: AttributesBuilder::with_capacity(0, 0),
            time_unix_nano: Vec::new(),
            span_id: StringBuilder::new(),
            trace_id: StringBuilder::new(),
            as_double: Float64Builder::new(),
            as_int: Int64Builder::new(),
        }
    }

    fn append(&mut self, exemplars: &[Exemplar]) {
        for e in exemplars {
            self.filtered_attributes.append(&e.filtered_attributes);
            self.time_unix_nano.push(e.time_unix_nano);
            append_hex(&mut self.span_id, &e.span_id);
            append_hex(&mut self.trace_id, &e.trace_id);
            match e.value {
                Some(exemplar::Value::AsDouble(d)) => {
                    self.as_double.append_value(d);
                    self.as_int.append_null();
                }
                Some(exemplar::Value::AsInt(i)) => {
                    self.as_double.append_null();
                    self.as_int.append_value(i);
                }
                None => {
                    self.as_double.append_null();
                    self.as_int.append_null();
                }
            }
        }
        self.shape.close(self.time_unix_nano.len());
    }

    fn finish(&mut self) -> Result<ListArray, ConvertError> {
        const COLUMN: &str = "exemplars";
        let children: Vec<ArrayRef> = vec![
            Arc::new(
                self.filtered_attributes
                    .finish("exemplars.filtered_attributes")?,
            ),
            Arc::new(UInt64Array::from(std::mem::take(&mut self.time_unix_nano))),
            Arc::new(self.span_id.finish()),
            Arc::new(self.trace_id.finish()),
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
struct BucketsBuilder {
    nulls: NullBufferBuilder,
    offset: Vec<i32>,
    bucket_counts: PrimitiveListBuilder<UInt64Type>,
}

impl BucketsBuilder {
    fn with_capacity(rows: usize) -> Self {
        Self {
            nulls: NullBufferBuilder::new(rows),
            offset: Vec::with_capacity(rows),
            bucket_counts: PrimitiveListBuilder::with_capacity(rows),
        }
    }

    fn append(&mut self, buckets: Option<&Buckets>) {
        match buckets {
            Some(b) => {
                self.nulls.append_non_null();
                self.offset.push(b.offset);
                self.bucket_counts.append(&b.bucket_counts);
            }
            None => {
                self.nulls.append_null();
                self.offset.push(0);
                self.bucket_counts.append(&[]);
            }
        }
    }

    fn finish(&mut self, column: &str) -> Result<StructArray, ConvertError> {
        let children: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from(std::mem::take(&mut self.offset))),
            Arc::new(self.bucket_counts.finish(column)?),
        ];
        StructArray::try_new(buckets_fields(), children, self.nulls.finish())
            .map_err(|source| arrow(column, source))
    }
}

/// `quantile_values`: a nullable list of (quantile, value) structs.
#[derive(Debug)]
struct QuantilesBuilder {
    shape: ListShape,
    quantile: Vec<f64>,
    value: Vec<f64>,
}

impl QuantilesBuilder {
    fn with_capacity(rows: usize) -> Self {
        Self {
            shape: ListShape::with_capacity(rows),
            quantile: Vec::new(),
            value: Vec::new(),
        }
    }

    fn append(&mut self, quantiles: &[ValueAtQuantile]) {
        for q in quantiles {
            self.quantile.push(q.quantile);
            self.value.push(q.value);
        }
        self.shape.close(self.quantile.len());
    }

    fn append_null(&mut self) {
        self.shape.close_null();
    }

    fn finish(&mut self) -> Result<ListArray, ConvertError> {
        const COLUMN: &str = "quantile_values";
        let children: Vec<ArrayRef> = vec![
            Arc::new(Float64Array::from(std::mem::take(&mut self.quantile))),
            Arc::new(Float64Array::from(std::mem::take(&mut self.value))),
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
