//! Metrics, Arrow -> OTLP: rows regrouped into resource / scope / metric containers by runs of
//! `resource_index` / `scope_index` / `metric_index`; each row's data point goes into its
//! metric's data of type `metric_type` (the columns are described in `metrics.rs`).

use arrow_array::{
    Array, BooleanArray, Float64Array, Int32Array, Int64Array, ListArray, RecordBatch, StringArray,
    StructArray, UInt32Array, UInt64Array,
};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, metric, number_data_point,
};

use super::ConvertError;
use super::attributes::AttributesReader;
use super::columns::{Coded, bounds, check_schema, child, column, list_values, primitive_list};
use super::ids::decode_hex;
use super::metrics::{EXPONENTIAL_HISTOGRAM, GAUGE, HISTOGRAM, SUM, SUMMARY};
use super::resource::{ResourceScopeReader, coded_str};
#[cfg(doc)]
use super::{metrics::metrics_to_arrow, schema::schema};
use crate::Signal;

/// Converts a batch of [`schema`]`(Signal::Metrics)` back into a metrics export request.
///
/// Rows are regrouped by `resource_index` / `scope_index` / `metric_index` runs, so a batch
/// produced by [`metrics_to_arrow`] gives back an equal request (see the crate README for the
/// limits).
pub fn arrow_to_metrics(batch: &RecordBatch) -> Result<ExportMetricsServiceRequest, ConvertError> {
    check_schema(batch, Signal::Metrics)?;
    let r = MetricReader::new(batch)?;
    let mut out = ExportMetricsServiceRequest::default();
    let mut prev: Option<(u32, u32, u32)> = None;
    for row in 0..batch.num_rows() {
        let (ri, si) = r.rs.indices(row);
        let mi = r.metric_index.value(row);
        let new_resource = prev.is_none_or(|(pr, _, _)| pr != ri);
        let new_scope = new_resource || prev.is_some_and(|(_, ps, _)| ps != si);
        let new_metric = new_scope || prev.is_some_and(|(_, _, pm)| pm != mi);
        prev = Some((ri, si, mi));
        if new_resource {
            out.resource_metrics.push(ResourceMetrics {
                resource: r.rs.resource(row)?,
                scope_metrics: Vec::new(),
                schema_url: r.rs.resource_schema_url(row)?,
            });
        }
        let Some(resource) = out.resource_metrics.last_mut() else {
            continue;
        };
        if new_scope {
            resource.scope_metrics.push(ScopeMetrics {
                scope: r.rs.scope(row)?,
                metrics: Vec::new(),
                schema_url: r.rs.scope_schema_url(row)?,
            });
        }
        let Some(scope) = resource.scope_metrics.last_mut() else {
            continue;
        };
        if new_metric {
            scope.metrics.push(r.metric(row)?);
        }
        if let Some(metric) = scope.metrics.last_mut() {
            r.push_point(metric, row)?;
        }
    }
    Ok(out)
}

#[derive(Debug)]
struct MetricReader<'a> {
    rs: ResourceScopeReader<'a>,
    metric_index: &'a UInt32Array,
    metric_name: Coded<'a, StringArray>,
    metric_description: Coded<'a, StringArray>,
    metric_unit: Coded<'a, StringArray>,
    metric_metadata: Coded<'a, ListArray>,
    metric_metadata_values: AttributesReader<'a>,
    metric_type: Coded<'a, StringArray>,
    aggregation_temporality: &'a Int32Array,
    is_monotonic: &'a BooleanArray,
    attributes: AttributesReader<'a>,
    start_time_unix_nano: &'a UInt64Array,
    time_unix_nano: &'a UInt64Array,
    flags: &'a UInt32Array,
    exemplars: &'a ListArray,
    ex_filtered_attributes: AttributesReader<'a>,
    ex_time_unix_nano: &'a UInt64Array,
    ex_span_id: &'a StringArray,
    ex_trace_id: &'a StringArray,
    ex_as_double: &'a Float64Array,
    ex_as_int: &'a Int64Array,
    as_double: &'a Float64Array,
    as_int: &'a Int64Array,
    count: &'a UInt64Array,
    sum: &'a Float64Array,
    bucket_counts: &'a ListArray,
    bucket_count_values: &'a UInt64Array,
    explicit_bounds: &'a ListArray,
    explicit_bound_values: &'a Float64Array,
    min: &'a Float64Array,
    max: &'a Float64Array,
    scale: &'a Int32Array,
    zero_count: &'a UInt64Array,
    zero_threshold: &'a Float64Array,
    positive: BucketsReader<'a>,
    negative: BucketsReader<'a>,
    quantile_values: &'a ListArray,
    quantile: &'a Float64Array,
    quantile_value: &'a Float64Array,
}

#[derive(Debug)]
struct BucketsReader<'a> {
    array: &'a StructArray,
    offset: &'a Int32Array,
    counts: &'a ListArray,
    count_values: &'a UInt64Array,
}

impl<'a> BucketsReader<'a> {
    fn new(batch: &'a RecordBatch, name: &'a str) -> Result<Self, ConvertError> {
        let array: &StructArray = column(batch, name)?;
        let counts: &ListArray = child(array, "bucket_counts", name)?;
        Ok(Self {
            array,
            offset: child(array, "offset", name)?,
            counts,
            count_values: list_values(counts, name)?,
        })
    }

    fn get(&self, row: usize) -> Option<Buckets> {
        if self.array.is_null(row) {
            return None;
        }
        Some(Buckets {
            offset: self.offset.value(row),
            bucket_counts: primitive_list(self.counts, self.count_values, row),
        })
    }
}

fn opt<T: arrow_array::ArrowPrimitiveType>(
    array: &arrow_array::PrimitiveArray<T>,
    row: usize,
) -> Option<T::Native> {
    array.is_valid(row).then(|| array.value(row))
}

impl<'a> MetricReader<'a> {
    fn new(batch: &'a RecordBatch) -> Result<Self, ConvertError> {
        let exemplars: &ListArray = column(batch, "exemplars")?;
        let ex: &StructArray = list_values(exemplars, "exemplars")?;
        let bucket_counts: &ListArray = column(batch, "bucket_counts")?;
        let explicit_bounds: &ListArray = column(batch, "explicit_bounds")?;
        let quantile_values: &ListArray = column(batch, "quantile_values")?;
        let q: &StructArray = list_values(quantile_values, "quantile_values")?;
        let metadata: Coded<'a, ListArray> = Coded::new(batch, "metric_metadata")?;
        Ok(Self {
            rs: ResourceScopeReader::new(batch)?,
            metric_index: column(batch, "metric_index")?,
            metric_name: Coded::new(batch, "metric_name")?,
            metric_description: Coded::new(batch, "metric_description")?,
            metric_unit: Coded::new(batch, "metric_unit")?,
            metric_metadata_values: AttributesReader::new(metadata.values, "metric_metadata")?,
            metric_metadata: metadata,
            metric_type: Coded::new(batch, "metric_type")?,
            aggregation_temporality: column(batch, "aggregation_temporality")?,
            is_monotonic: column(batch, "is_monotonic")?,
            attributes: AttributesReader::new(column(batch, "attributes")?, "attributes")?,
            start_time_unix_nano: column(batch, "start_time_unix_nano")?,
            time_unix_nano: column(batch, "time_unix_nano")?,
            flags: column(batch, "flags")?,
            exemplars,
            ex_filtered_attributes: AttributesReader::new(
                child(ex, "filtered_attributes", "exemplars")?,
                "exemplars.filtered_attributes",
            )?,
            ex_time_unix_nano: child(ex, "time_unix_nano", "exemplars")?,
            ex_span_id: child(ex, "span_id", "exemplars")?,
            ex_trace_id: child(ex, "trace_id", "exemplars")?,
            ex_as_double: child(ex, "as_double", "exemplars")?,
            ex_as_int: child(ex, "as_int", "exemplars")?,
            as_double: column(batch, "as_double")?,
            as_int: column(batch, "as_int")?,
            count: column(batch, "count")?,
            sum: column(batch, "sum")?,
            bucket_counts,
            bucket_count_values: list_values(bucket_counts, "bucket_counts")?,
            explicit_bounds,
            explicit_bound_values: list_values(explicit_bounds, "explicit_bounds")?,
            min: column(batch, "min")?,
            max: column(batch, "max")?,
            scale: column(batch, "scale")?,
            zero_count: column(batch, "zero_count")?,
            zero_threshold: column(batch, "zero_threshold")?,
            positive: BucketsReader::new(batch, "positive")?,
            negative: BucketsReader::new(batch, "negative")?,
            quantile_values,
            quantile: child(q, "quantile", "quantile_values")?,
            quantile_value: child(q, "value", "quantile_values")?,
        })
    }

    /// A metric with the fields of `row` and an empty data container of its type.
    fn metric(&self, row: usize) -> Result<Metric, ConvertError> {
        let temporality = self.aggregation_temporality.value(row);
        let data = match coded_str(&self.metric_type, row)? {
            GAUGE => metric::Data::Gauge(Gauge::default()),
            SUM => metric::Data::Sum(Sum {
                data_points: Vec::new(),
                aggregation_temporality: temporality,
                is_monotonic: self.is_monotonic.value(row),
            }),
            HISTOGRAM => metric::Data::Histogram(Histogram {
                data_points: Vec::new(),
                aggregation_temporality: temporality,
            }),
            EXPONENTIAL_HISTOGRAM => metric::Data::ExponentialHistogram(ExponentialHistogram {
                data_points: Vec::new(),
                aggregation_temporality: temporality,
            }),
            SUMMARY => metric::Data::Summary(Summary::default()),
            other => {
                return Err(ConvertError::InvalidValue {
                    column: "metric_type".to_string(),
                    row,
                    reason: format!("unknown metric type {other:?}"),
                });
            }
        };
        let metadata = match self.metric_metadata.index(row)? {
            Some(slot) => self.metric_metadata_values.get(slot)?,
            None => Vec::new(),
        };
        Ok(Metric {
            name: coded_str(&self.metric_name, row)?.to_string(),
            description: coded_str(&self.metric_description, row)?.to_string(),
            unit: coded_str(&self.metric_unit, row)?.to_string(),
            metadata,
            data: Some(data),
        })
    }

    /// Appends the data point of `row` to `metric`, whose type must match the row's.
    fn push_point(&self, metric: &mut Metric, row: usize) -> Result<(), ConvertError> {
        let ty = coded_str(&self.metric_type, row)?;
        match (&mut metric.data, ty) {
            (Some(metric::Data::Gauge(g)), GAUGE) => g.data_points.push(self.number(row)?),
            (Some(metric::Data::Sum(s)), SUM) => s.data_points.push(self.number(row)?),
            (Some(metric::Data::Histogram(h)), HISTOGRAM) => {
                h.data_points.push(self.histogram(row)?)
            }
            (Some(metric::Data::ExponentialHistogram(h)), EXPONENTIAL_HISTOGRAM) => {
                h.data_points.push(self.exponential_histogram(row)?)
            }
            (Some(metric::Data::Summary(s)), SUMMARY) => s.data_points.push(self.summary(row)?),
            _ => {
                return Err(ConvertError::InvalidValue {
                    column: "metric_type".to_string(),
                    row,
                    reason: format!(
                        "metric type {ty:?} differs from the earlier rows of the same metric_index"
                    ),
                });
            }
        }
        Ok(())
    }

    fn exemplars(&self, row: usize) -> Result<Vec<Exemplar>, ConvertError> {
        let mut out = Vec::new();
        for e in bounds(self.exemplars, row) {
            let value = match (opt(self.ex_as_double, e), opt(self.ex_as_int, e)) {
                (Some(d), _) => Some(exemplar::Value::AsDouble(d)),
                (None, Some(i)) => Some(exemplar::Value::AsInt(i)),
                (None, None) => None,
            };
            out.push(Exemplar {
                filtered_attributes: self.ex_filtered_attributes.get(e)?,
                time_unix_nano: self.ex_time_unix_nano.value(e),
                span_id: decode_hex(self.ex_span_id.value(e), "exemplars.span_id", e)?,
                trace_id: decode_hex(self.ex_trace_id.value(e), "exemplars.trace_id", e)?,
                value,
            });
        }
        Ok(out)
    }

    fn number(&self, row: usize) -> Result<NumberDataPoint, ConvertError> {
        let value = match (opt(self.as_double, row), opt(self.as_int, row)) {
            (Some(d), _) => Some(number_data_point::Value::AsDouble(d)),
            (None, Some(i)) => Some(number_data_point::Value::AsInt(i)),
            (None, None) => None,
        };
        Ok(NumberDataPoint {
            attributes: self.attributes.get(row)?,
            start_time_unix_nano: self.start_time_unix_nano.value(row),
            time_unix_nano: self.time_unix_nano.value(row),
            exemplars: self.exemplars(row)?,
            flags: self.flags.value(row),
            value,
        })
    }

    fn histogram(&self, row: usize) -> Result<HistogramDataPoint, ConvertError> {
        Ok(HistogramDataPoint {
            attributes: self.attributes.get(row)?,
            start_time_unix_nano: self.start_time_unix_nano.value(row),
            time_unix_nano: self.time_unix_nano.value(row),
            count: self.count.value(row),
            sum: opt(self.sum, row),
            bucket_counts: primitive_list(self.bucket_counts, self.bucket_count_values, row),
            explicit_bounds: primitive_list(self.explicit_bounds, self.explicit_bound_values, row),
            exemplars: self.exemplars(row)?,
            flags: self.flags.value(row),
            min: opt(self.min, row),
            max: opt(self.max, row),
        })
    }

    fn exponential_histogram(
        &self,
        row: usize,
    ) -> Result<ExponentialHistogramDataPoint, ConvertError> {
        Ok(ExponentialHistogramDataPoint {
            attributes: self.attributes.get(row)?,
            start_time_unix_nano: self.start_time_unix_nano.value(row),
            time_unix_nano: self.time_unix_nano.value(row),
            count: self.count.value(row),
            sum: opt(self.sum, row),
            scale: self.scale.value(row),
            zero_count: self.zero_count.value(row),
            positive: self.positive.get(row),
            negative: self.negative.get(row),
            flags: self.flags.value(row),
            exemplars: self.exemplars(row)?,
            min: opt(self.min, row),
            max: opt(self.max, row),
            zero_threshold: self.zero_threshold.value(row),
        })
    }

    fn summary(&self, row: usize) -> Result<SummaryDataPoint, ConvertError> {
        let quantile_values = bounds(self.quantile_values, row)
            .map(|q| ValueAtQuantile {
                quantile: self.quantile.value(q),
                value: self.quantile_value.value(q),
            })
            .collect();
        Ok(SummaryDataPoint {
            attributes: self.attributes.get(row)?,
            start_time_unix_nano: self.start_time_unix_nano.value(row),
            time_unix_nano: self.time_unix_nano.value(row),
            count: self.count.value(row),
            sum: self.sum.value(row),
            quantile_values,
            flags: self.flags.value(row),
        })
    }
}
