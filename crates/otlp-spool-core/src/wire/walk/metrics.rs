//! metrics.v1: `Metric`, its five data kinds, their data points, exemplars, exponential
//! histogram buckets and summary quantiles. Nothing here is refused; data points are counted.
//!
//! Invariant: a metric's item count is that of the `data` prost keeps. `data` is a oneof: a
//! later occurrence of the *same* kind merges into it (its data points append), another kind
//! replaces it, so the count follows the same rule.

use super::error::{nth, within};
use super::{Fail, Msg, Walker, fixed64, varint};

/// `Metric.data` variants, by field number.
const GAUGE: u32 = 5;
const SUM: u32 = 7;
const HISTOGRAM: u32 = 9;
const EXPONENTIAL_HISTOGRAM: u32 = 10;
const SUMMARY: u32 = 11;

impl Walker {
    /// `Metric`: its data point count.
    pub(super) fn metric(&mut self, m: Msg<'_>) -> Result<u64, Fail> {
        self.stats.metrics += 1;
        let mut fields = m.fields();
        let mut metadata = 0;
        // (variant field number, data points) of the `data` prost would keep so far.
        let mut data = (0u32, 0u64);
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => {
                    self.string(&f, "name")?;
                }
                2 => {
                    self.string(&f, "description")?;
                }
                3 => {
                    self.string(&f, "unit")?;
                }
                12 => self.attribute(m, &f, "metadata", &mut metadata)?,
                kind @ (GAUGE | SUM | HISTOGRAM | EXPONENTIAL_HISTOGRAM | SUMMARY) => {
                    let name = match kind {
                        GAUGE => "gauge",
                        SUM => "sum",
                        HISTOGRAM => "histogram",
                        EXPONENTIAL_HISTOGRAM => "exponential_histogram",
                        _ => "summary",
                    };
                    let points = within(m.sub(&f).and_then(|d| self.data(d, kind)), name)?;
                    data = if data.0 == kind {
                        (kind, data.1 + points)
                    } else {
                        (kind, points)
                    };
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(data.1)
    }

    /// `Gauge`, `Sum`, `Histogram`, `ExponentialHistogram` or `Summary` (by `kind`): its data
    /// point count.
    fn data(&mut self, m: Msg<'_>, kind: u32) -> Result<u64, Fail> {
        let mut fields = m.fields();
        let (mut index, mut points) = (0, 0u64);
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => {
                    let point = m.sub(&f).and_then(|p| match kind {
                        GAUGE | SUM => self.number_point(p),
                        HISTOGRAM => self.histogram_point(p),
                        EXPONENTIAL_HISTOGRAM => self.exponential_point(p),
                        _ => self.summary_point(p),
                    });
                    nth(point, "data_points", &mut index)?;
                    points += 1;
                }
                2 if matches!(kind, SUM | HISTOGRAM | EXPONENTIAL_HISTOGRAM) => {
                    varint(&f, "aggregation_temporality")?;
                }
                3 if kind == SUM => {
                    varint(&f, "is_monotonic")?;
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(points)
    }

    /// `NumberDataPoint`.
    fn number_point(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        let mut fields = m.fields();
        let (mut attributes, mut exemplars) = (0, 0);
        while let Some(f) = fields.next_field()? {
            match f.number {
                7 => self.attribute(m, &f, "attributes", &mut attributes)?,
                2 => {
                    fixed64(&f, "start_time_unix_nano")?;
                }
                3 => {
                    fixed64(&f, "time_unix_nano")?;
                }
                4 => {
                    fixed64(&f, "as_double")?;
                }
                6 => {
                    fixed64(&f, "as_int")?;
                }
                5 => self.exemplar(m, &f, &mut exemplars)?,
                8 => {
                    varint(&f, "flags")?;
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }

    /// `HistogramDataPoint`.
    fn histogram_point(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        let mut fields = m.fields();
        let (mut attributes, mut exemplars) = (0, 0);
        while let Some(f) = fields.next_field()? {
            match f.number {
                9 => self.attribute(m, &f, "attributes", &mut attributes)?,
                2 => {
                    fixed64(&f, "start_time_unix_nano")?;
                }
                3 => {
                    fixed64(&f, "time_unix_nano")?;
                }
                4 => {
                    fixed64(&f, "count")?;
                }
                5 => {
                    fixed64(&f, "sum")?;
                }
                6 => self.packed_fixed64(&f, "bucket_counts")?,
                7 => self.packed_fixed64(&f, "explicit_bounds")?,
                8 => self.exemplar(m, &f, &mut exemplars)?,
                10 => {
                    varint(&f, "flags")?;
                }
                11 => {
                    fixed64(&f, "min")?;
                }
                12 => {
                    fixed64(&f, "max")?;
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }

    /// `ExponentialHistogramDataPoint`.
    fn exponential_point(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        let mut fields = m.fields();
        let (mut attributes, mut exemplars) = (0, 0);
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => self.attribute(m, &f, "attributes", &mut attributes)?,
                2 => {
                    fixed64(&f, "start_time_unix_nano")?;
                }
                3 => {
                    fixed64(&f, "time_unix_nano")?;
                }
                4 => {
                    fixed64(&f, "count")?;
                }
                5 => {
                    fixed64(&f, "sum")?;
                }
                6 => {
                    varint(&f, "scale")?;
                }
                7 => {
                    fixed64(&f, "zero_count")?;
                }
                8 => within(m.sub(&f).and_then(|b| self.buckets(b)), "positive")?,
                9 => within(m.sub(&f).and_then(|b| self.buckets(b)), "negative")?,
                10 => {
                    varint(&f, "flags")?;
                }
                11 => self.exemplar(m, &f, &mut exemplars)?,
                12 => {
                    fixed64(&f, "min")?;
                }
                13 => {
                    fixed64(&f, "max")?;
                }
                14 => {
                    fixed64(&f, "zero_threshold")?;
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }

    /// `ExponentialHistogramDataPoint.Buckets`.
    fn buckets(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        let mut fields = m.fields();
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => {
                    varint(&f, "offset")?;
                }
                2 => self.packed_varint(&f, "bucket_counts")?,
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }

    /// `SummaryDataPoint`.
    fn summary_point(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        let mut fields = m.fields();
        let (mut attributes, mut quantiles) = (0, 0);
        while let Some(f) = fields.next_field()? {
            match f.number {
                7 => self.attribute(m, &f, "attributes", &mut attributes)?,
                2 => {
                    fixed64(&f, "start_time_unix_nano")?;
                }
                3 => {
                    fixed64(&f, "time_unix_nano")?;
                }
                4 => {
                    fixed64(&f, "count")?;
                }
                5 => {
                    fixed64(&f, "sum")?;
                }
                6 => nth(
                    m.sub(&f).and_then(|q| self.quantile(q)),
                    "quantile_values",
                    &mut quantiles,
                )?,
                8 => {
                    varint(&f, "flags")?;
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }

    /// `SummaryDataPoint.ValueAtQuantile`.
    fn quantile(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        self.stats.buckets += 1;
        let mut fields = m.fields();
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => {
                    fixed64(&f, "quantile")?;
                }
                2 => {
                    fixed64(&f, "value")?;
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }

    /// One element of a repeated `Exemplar` field.
    fn exemplar<'a>(
        &mut self,
        m: Msg<'a>,
        f: &super::Field<'a>,
        index: &mut u32,
    ) -> Result<(), Fail> {
        nth(
            m.sub(f).and_then(|e| self.exemplar_body(e)),
            "exemplars",
            index,
        )
    }

    /// `Exemplar`.
    fn exemplar_body(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        self.stats.exemplars += 1;
        let mut fields = m.fields();
        let mut attributes = 0;
        while let Some(f) = fields.next_field()? {
            match f.number {
                7 => self.attribute(m, &f, "filtered_attributes", &mut attributes)?,
                2 => {
                    fixed64(&f, "time_unix_nano")?;
                }
                3 => {
                    fixed64(&f, "as_double")?;
                }
                6 => {
                    fixed64(&f, "as_int")?;
                }
                4 => {
                    self.bytes(&f, "span_id")?;
                }
                5 => {
                    self.bytes(&f, "trace_id")?;
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }
}
