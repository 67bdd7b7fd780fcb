//! metrics.v1: `Metric`, its five data kinds, their data points, exemplars, exponential
//! histogram buckets and summary quantiles. Nothing here is refused; data points are counted.
//!
//! Invariant: a metric's item count is that of the `data` prost keeps. `data` is a oneof: a
//! later occurrence of the *same* kind merges into it (its data points append), another kind
//! replaces it, so the count follows the same rule.

use super::error::{nth, within};
use super::{Fail, Msg, Reader, Walker, fields};

/// `Metric.data` variants, by field number.
const GAUGE: u32 = 5;
const SUM: u32 = 7;
const HISTOGRAM: u32 = 9;
const EXPONENTIAL_HISTOGRAM: u32 = 10;
const SUMMARY: u32 = 11;

impl Walker {
    /// `Metric`: its data point count.
    pub(super) fn metric(&mut self, m: Msg<'_>) -> Result<u64, Fail> {
        fields! {
            NAME = 1 Len "name";
            DESCRIPTION = 2 Len "description";
            UNIT = 3 Len "unit";
            DATA_GAUGE = 5 Len "gauge";
            DATA_SUM = 7 Len "sum";
            DATA_HISTOGRAM = 9 Len "histogram";
            DATA_EXPONENTIAL_HISTOGRAM = 10 Len "exponential_histogram";
            DATA_SUMMARY = 11 Len "summary";
            METADATA = 12 Len "metadata";
        }
        self.stats.metrics += 1;
        let mut r = m.reader();
        let mut metadata = 0;
        // (variant field number, data points) of the `data` prost would keep so far.
        let mut data = (0u32, 0u64);
        while let Some(tag) = r.next_tag()? {
            match tag {
                NAME => {
                    self.string(&mut r, "name")?;
                }
                DESCRIPTION => {
                    self.string(&mut r, "description")?;
                }
                UNIT => {
                    self.string(&mut r, "unit")?;
                }
                METADATA => self.attribute(m, &mut r, "metadata", &mut metadata)?,
                DATA_GAUGE
                | DATA_SUM
                | DATA_HISTOGRAM
                | DATA_EXPONENTIAL_HISTOGRAM
                | DATA_SUMMARY => {
                    let kind = tag >> 3;
                    let name = FIELDS.iter().find(|f| f.0 == kind).map_or("data", |f| f.2);
                    let points = within(m.sub(&mut r).and_then(|d| self.data(d, kind)), name)?;
                    data = if data.0 == kind {
                        (kind, data.1 + points)
                    } else {
                        (kind, points)
                    };
                }
                _ => m.other(&mut r, tag, FIELDS)?,
            }
        }
        Ok(data.1)
    }

    /// `Gauge`, `Sum`, `Histogram`, `ExponentialHistogram` or `Summary` (by `kind`): its data
    /// point count.
    fn data(&mut self, m: Msg<'_>, kind: u32) -> Result<u64, Fail> {
        fields! {
            DATA_POINTS = 1 Len "data_points";
            AGGREGATION_TEMPORALITY = 2 Varint "aggregation_temporality";
            IS_MONOTONIC = 3 Varint "is_monotonic";
        }
        // Every kind has data points; Sum and the histograms a temporality; only Sum is_monotonic.
        let known = match kind {
            GAUGE | SUMMARY => &FIELDS[..1],
            SUM => FIELDS,
            _ => &FIELDS[..2],
        };
        let mut r = m.reader();
        let (mut index, mut points) = (0, 0u64);
        while let Some(tag) = r.next_tag()? {
            match tag {
                DATA_POINTS => {
                    let point = m.sub(&mut r).and_then(|p| match kind {
                        GAUGE | SUM => self.number_point(p),
                        HISTOGRAM => self.histogram_point(p),
                        EXPONENTIAL_HISTOGRAM => self.exponential_point(p),
                        _ => self.summary_point(p),
                    });
                    nth(point, "data_points", &mut index)?;
                    points += 1;
                }
                AGGREGATION_TEMPORALITY if known.len() >= 2 => {
                    r.read_varint()?;
                }
                IS_MONOTONIC if known.len() == 3 => {
                    r.read_varint()?;
                }
                _ => m.other(&mut r, tag, known)?,
            }
        }
        Ok(points)
    }

    /// `NumberDataPoint`.
    fn number_point(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        fields! {
            START_TIME_UNIX_NANO = 2 Fixed64 "start_time_unix_nano";
            TIME_UNIX_NANO = 3 Fixed64 "time_unix_nano";
            AS_DOUBLE = 4 Fixed64 "as_double";
            EXEMPLARS = 5 Len "exemplars";
            AS_INT = 6 Fixed64 "as_int";
            ATTRIBUTES = 7 Len "attributes";
            FLAGS = 8 Varint "flags";
        }
        let mut r = m.reader();
        let (mut attributes, mut exemplars) = (0, 0);
        while let Some(tag) = r.next_tag()? {
            match tag {
                START_TIME_UNIX_NANO | TIME_UNIX_NANO | AS_DOUBLE | AS_INT => {
                    r.read_fixed64()?;
                }
                EXEMPLARS => self.exemplar(m, &mut r, &mut exemplars)?,
                ATTRIBUTES => self.attribute(m, &mut r, "attributes", &mut attributes)?,
                FLAGS => {
                    r.read_varint()?;
                }
                _ => m.other(&mut r, tag, FIELDS)?,
            }
        }
        Ok(())
    }

    /// `HistogramDataPoint`.
    fn histogram_point(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        fields! {
            START_TIME_UNIX_NANO = 2 Fixed64 "start_time_unix_nano";
            TIME_UNIX_NANO = 3 Fixed64 "time_unix_nano";
            COUNT = 4 Fixed64 "count";
            SUM = 5 Fixed64 "sum";
            BUCKET_COUNTS = 6 Fixed64 "bucket_counts";
            BUCKET_COUNTS_PACKED = 6 Len "bucket_counts";
            EXPLICIT_BOUNDS = 7 Fixed64 "explicit_bounds";
            EXPLICIT_BOUNDS_PACKED = 7 Len "explicit_bounds";
            EXEMPLARS = 8 Len "exemplars";
            ATTRIBUTES = 9 Len "attributes";
            FLAGS = 10 Varint "flags";
            MIN = 11 Fixed64 "min";
            MAX = 12 Fixed64 "max";
        }
        let mut r = m.reader();
        let (mut attributes, mut exemplars) = (0, 0);
        while let Some(tag) = r.next_tag()? {
            match tag {
                START_TIME_UNIX_NANO | TIME_UNIX_NANO | COUNT | SUM | MIN | MAX => {
                    r.read_fixed64()?;
                }
                BUCKET_COUNTS | EXPLICIT_BOUNDS => {
                    r.read_fixed64()?;
                    self.stats.buckets += 1;
                }
                BUCKET_COUNTS_PACKED => self.packed_fixed64(&mut r, "bucket_counts")?,
                EXPLICIT_BOUNDS_PACKED => self.packed_fixed64(&mut r, "explicit_bounds")?,
                EXEMPLARS => self.exemplar(m, &mut r, &mut exemplars)?,
                ATTRIBUTES => self.attribute(m, &mut r, "attributes", &mut attributes)?,
                FLAGS => {
                    r.read_varint()?;
                }
                _ => m.other(&mut r, tag, FIELDS)?,
            }
        }
        Ok(())
    }

    /// `ExponentialHistogramDataPoint`.
    fn exponential_point(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        fields! {
            ATTRIBUTES = 1 Len "attributes";
            START_TIME_UNIX_NANO = 2 Fixed64 "start_time_unix_nano";
            TIME_UNIX_NANO = 3 Fixed64 "time_unix_nano";
            COUNT = 4 Fixed64 "count";
            SUM = 5 Fixed64 "sum";
            SCALE = 6 Varint "scale";
            ZERO_COUNT = 7 Fixed64 "zero_count";
            POSITIVE = 8 Len "positive";
            NEGATIVE = 9 Len "negative";
            FLAGS = 10 Varint "flags";
            EXEMPLARS = 11 Len "exemplars";
            MIN = 12 Fixed64 "min";
            MAX = 13 Fixed64 "max";
            ZERO_THRESHOLD = 14 Fixed64 "zero_threshold";
        }
        let mut r = m.reader();
        let (mut attributes, mut exemplars) = (0, 0);
        while let Some(tag) = r.next_tag()? {
            match tag {
                START_TIME_UNIX_NANO | TIME_UNIX_NANO | COUNT | SUM | ZERO_COUNT | MIN | MAX
                | ZERO_THRESHOLD => {
                    r.read_fixed64()?;
                }
                SCALE | FLAGS => {
                    r.read_varint()?;
                }
                ATTRIBUTES => self.attribute(m, &mut r, "attributes", &mut attributes)?,
                POSITIVE => within(m.sub(&mut r).and_then(|b| self.buckets(b)), "positive")?,
                NEGATIVE => within(m.sub(&mut r).and_then(|b| self.buckets(b)), "negative")?,
                EXEMPLARS => self.exemplar(m, &mut r, &mut exemplars)?,
                _ => m.other(&mut r, tag, FIELDS)?,
            }
        }
        Ok(())
    }

    /// `ExponentialHistogramDataPoint.Buckets`.
    fn buckets(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        fields! {
            OFFSET = 1 Varint "offset";
            BUCKET_COUNTS = 2 Varint "bucket_counts";
            BUCKET_COUNTS_PACKED = 2 Len "bucket_counts";
        }
        let mut r = m.reader();
        while let Some(tag) = r.next_tag()? {
            match tag {
                OFFSET => {
                    r.read_varint()?;
                }
                BUCKET_COUNTS => {
                    r.read_varint()?;
                    self.stats.buckets += 1;
                }
                BUCKET_COUNTS_PACKED => self.packed_varint(&mut r, "bucket_counts")?,
                _ => m.other(&mut r, tag, FIELDS)?,
            }
        }
        Ok(())
    }

    /// `SummaryDataPoint`.
    fn summary_point(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        fields! {
            START_TIME_UNIX_NANO = 2 Fixed64 "start_time_unix_nano";
            TIME_UNIX_NANO = 3 Fixed64 "time_unix_nano";
            COUNT = 4 Fixed64 "count";
            SUM = 5 Fixed64 "sum";
            QUANTILE_VALUES = 6 Len "quantile_values";
            ATTRIBUTES = 7 Len "attributes";
            FLAGS = 8 Varint "flags";
        }
        let mut r = m.reader();
        let (mut attributes, mut quantiles) = (0, 0);
        while let Some(tag) = r.next_tag()? {
            match tag {
                START_TIME_UNIX_NANO | TIME_UNIX_NANO | COUNT | SUM => {
                    r.read_fixed64()?;
                }
                QUANTILE_VALUES => nth(
                    m.sub(&mut r).and_then(|q| self.quantile(q)),
                    "quantile_values",
                    &mut quantiles,
                )?,
                ATTRIBUTES => self.attribute(m, &mut r, "attributes", &mut attributes)?,
                FLAGS => {
                    r.read_varint()?;
                }
                _ => m.other(&mut r, tag, FIELDS)?,
            }
        }
        Ok(())
    }

    /// `SummaryDataPoint.ValueAtQuantile`.
    fn quantile(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        fields! {
            QUANTILE = 1 Fixed64 "quantile";
            VALUE = 2 Fixed64 "value";
        }
        self.stats.buckets += 1;
        let mut r = m.reader();
        while let Some(tag) = r.next_tag()? {
            match tag {
                QUANTILE | VALUE => {
                    r.read_fixed64()?;
                }
                _ => m.other(&mut r, tag, FIELDS)?,
            }
        }
        Ok(())
    }

    /// One element of a repeated `Exemplar` field.
    fn exemplar<'a>(
        &mut self,
        m: Msg<'a>,
        r: &mut Reader<'a>,
        index: &mut u32,
    ) -> Result<(), Fail> {
        nth(
            m.sub(r).and_then(|e| self.exemplar_body(e)),
            "exemplars",
            index,
        )
    }

    /// `Exemplar`.
    fn exemplar_body(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        fields! {
            TIME_UNIX_NANO = 2 Fixed64 "time_unix_nano";
            AS_DOUBLE = 3 Fixed64 "as_double";
            SPAN_ID = 4 Len "span_id";
            TRACE_ID = 5 Len "trace_id";
            AS_INT = 6 Fixed64 "as_int";
            FILTERED_ATTRIBUTES = 7 Len "filtered_attributes";
        }
        self.stats.exemplars += 1;
        let mut r = m.reader();
        let mut attributes = 0;
        while let Some(tag) = r.next_tag()? {
            match tag {
                TIME_UNIX_NANO | AS_DOUBLE | AS_INT => {
                    r.read_fixed64()?;
                }
                SPAN_ID | TRACE_ID => {
                    self.bytes(&mut r)?;
                }
                FILTERED_ATTRIBUTES => {
                    self.attribute(m, &mut r, "filtered_attributes", &mut attributes)?
                }
                _ => m.other(&mut r, tag, FIELDS)?,
            }
        }
        Ok(())
    }
}
