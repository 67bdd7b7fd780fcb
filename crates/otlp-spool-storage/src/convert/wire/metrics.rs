//! Metrics from bytes: `ExportMetricsServiceRequest` -> one row per data point of every type.
//!
//! A `Metric`'s `data` is a oneof: its rows come from the occurrences of the last variant since
//! the last change of variant (merged: their points concatenated, their temporality and
//! monotonicity the last seen). Occurrences replaced by a later variant yield no row but are
//! still read in full into a shadow set of builders, so that input prost refuses is refused.

use super::super::ConvertError;
use super::super::batch::{Batcher, Checkpoint, Columns, Sink};
use super::super::columns::Text;
use super::super::metrics::{BucketsBuilder, ExemplarsBuilder, Histo, Kind, MetricColumns, Number};
use super::super::resource::index;
use super::common::{Containers, Items, Paths, key_value};
use super::{
    Msg, Parts, Res, fields, fixed64, next, next_tag, read_fixed64, read_len, read_packed_fixed64,
    read_varint, repeated_varint, sint32, string, tag, varint,
};

const PATHS: Paths = Paths {
    request: "export_metrics_service_request",
    resource: "resource_metrics",
    scope: "resource_metrics.scope_metrics",
};
const AT: &str = "resource_metrics.scope_metrics.metrics";
const AT_DATA: &str = "metrics.data";
const AT_POINT: &str = "metrics.data.data_points";
const AT_EXEMPLAR: &str = "data_points.exemplars";
const AT_BUCKETS: &str = "data_points.positive|negative";
const AT_QUANTILE: &str = "data_points.quantile_values";

/// Converts one serialized `ExportMetricsServiceRequest`.
pub(crate) fn push(
    b: &mut Batcher<MetricColumns>,
    request: &[u8],
    sink: &mut Sink<'_>,
) -> Result<(), ConvertError> {
    super::common::push(b, request, &PATHS, &mut Metrics::default(), sink).map_err(|f| *f.0)
}

#[derive(Debug, Default)]
struct Metrics {
    scratch: Vec<u8>,
    /// Builders that replaced oneof variants are read into, then emptied.
    shadow: Option<Box<MetricColumns>>,
}

/// The `Metric.data` field number of a metric type.
fn data_field(kind: Kind) -> u32 {
    match kind {
        Kind::Gauge => 5,
        Kind::Sum => 7,
        Kind::Histogram => 9,
        Kind::ExponentialHistogram => 10,
        Kind::Summary => 11,
    }
}

fn kind_of(field: u32) -> Option<Kind> {
    Some(match field {
        5 => Kind::Gauge,
        7 => Kind::Sum,
        9 => Kind::Histogram,
        10 => Kind::ExponentialHistogram,
        11 => Kind::Summary,
        _ => return None,
    })
}

/// What a metric's data turned out to be.
#[derive(Debug, Clone, Copy)]
struct Data {
    kind: Kind,
    /// Offset (in the metric's payload) of the first occurrence of the kept run.
    run_from: usize,
    /// Whether occurrences before the run were replaced.
    replaced: bool,
}

/// Reads a `Metric`'s own fields into a new metric entry (scope set by its first row);
/// returns the entry's key and what its data is.
fn metric_entry(
    c: &mut MetricColumns,
    m: Msg<'_>,
    position: u32,
    scratch: &mut Vec<u8>,
) -> Res<(i32, Option<Data>)> {
    let (mut name, mut description, mut unit) = (Text::default(), Text::default(), Text::default());
    let mut data: Option<Data> = None;
    let e = &mut c.metrics;
    let mut r = m.reader();
    while let Some(f) = next(&mut r, AT)? {
        match f.number {
            1 => name = string(&f, AT)?,
            2 => description = string(&f, AT)?,
            3 => unit = string(&f, AT)?,
            12 => key_value(m.sub(&f, AT)?, &mut e.metadata, scratch)?,
            n => match kind_of(n) {
                Some(kind) => {
                    m.sub(&f, AT)?;
                    let start = f.start - m.base;
                    data = Some(match data {
                        Some(d) if d.kind == kind => d,
                        Some(_) => Data {
                            kind,
                            run_from: start,
                            replaced: true,
                        },
                        None => Data {
                            kind,
                            run_from: start,
                            replaced: false,
                        },
                    });
                }
                None => m.skip(&f, AT)?,
            },
        }
    }
    e.name.push_text(name);
    e.description.push_text(description);
    e.unit.push_text(unit);
    e.metadata.close();
    let kind = data.map_or(Kind::Gauge, |d| d.kind);
    Ok((e.end(-1, position, kind), data))
}

/// Walks one data message (`Gauge`, `Sum`, ...) of `kind`: `point` for each data point;
/// returns the last temporality and monotonicity seen.
fn data_fields<'a>(
    kind: Kind,
    dm: Msg<'a>,
    temporality: &mut i32,
    monotonic: &mut bool,
    mut point: impl FnMut(Msg<'a>) -> Res<()>,
) -> Res<()> {
    let mut r = dm.reader();
    while let Some(f) = next(&mut r, AT_DATA)? {
        match (f.number, kind) {
            (1, _) => point(dm.sub(&f, AT_DATA)?)?,
            (2, Kind::Sum | Kind::Histogram | Kind::ExponentialHistogram) => {
                *temporality = varint(&f, AT_DATA)? as i32;
            }
            (3, Kind::Sum) => *monotonic = varint(&f, AT_DATA)? != 0,
            _ => dm.skip(&f, AT_DATA)?,
        }
    }
    Ok(())
}

/// Appends the point columns of one data point of `kind`.
#[inline]
fn point(c: &mut MetricColumns, kind: Kind, m: Msg<'_>, scratch: &mut Vec<u8>) -> Res<()> {
    match kind {
        Kind::Gauge | Kind::Sum => number_point(c, m, scratch),
        Kind::Histogram => histogram_point(c, m, scratch),
        Kind::ExponentialHistogram => exponential_point(c, m, scratch),
        Kind::Summary => summary_point(c, m, scratch),
    }
}

impl Items<MetricColumns> for Metrics {
    fn item(
        &mut self,
        b: &mut Batcher<MetricColumns>,
        cx: &Containers<'_>,
        m: Msg<'_>,
        position: usize,
        sink: &mut Sink<'_>,
    ) -> Res<()> {
        let position = index(position, "metric_index")?;
        let (key, data) = metric_entry(&mut b.cols, m, position, &mut self.scratch)?;
        b.metric = Some(key);
        if let Some(data) = data {
            let number = data_field(data.kind);
            if data.replaced {
                self.read_replaced(m, data)?;
            }
            let (mut temporality, mut monotonic) = (0, false);
            let run = |f: &otlp_spool_core::wire::Field<'_>| {
                f.number == number && f.start - m.base >= data.run_from
            };
            let mut r = m.reader();
            while let Some(f) = next(&mut r, AT)? {
                if run(&f) {
                    data_fields(
                        data.kind,
                        m.sub(&f, AT)?,
                        &mut temporality,
                        &mut monotonic,
                        |_| Ok(()),
                    )?;
                }
            }
            let (t, mono) = match data.kind {
                Kind::Gauge | Kind::Summary => (None, None),
                Kind::Sum => (Some(temporality), Some(monotonic)),
                Kind::Histogram | Kind::ExponentialHistogram => (Some(temporality), None),
            };
            let mut r = m.reader();
            while let Some(f) = next(&mut r, AT)? {
                if !run(&f) {
                    continue;
                }
                let (mut unused_t, mut unused_m) = (0, false);
                data_fields(
                    data.kind,
                    m.sub(&f, AT)?,
                    &mut unused_t,
                    &mut unused_m,
                    |p| {
                        let scope = cx.scope_key(b, &mut self.scratch)?;
                        let key = match b.metric {
                            Some(k) => k,
                            None => {
                                let (k, _) =
                                    metric_entry(&mut b.cols, m, position, &mut self.scratch)?;
                                *b.metric.insert(k)
                            }
                        };
                        b.cols.metrics.set_scope(key, scope);
                        b.cols.head(key, t, mono);
                        point(&mut b.cols, data.kind, p, &mut self.scratch)?;
                        Ok(b.after_row(sink)?)
                    },
                )?;
            }
        }
        drop_unused_metric(b);
        Ok(())
    }

    fn scratch(&mut self) -> &mut Vec<u8> {
        &mut self.scratch
    }
}

impl Metrics {
    /// Reads the data occurrences before the kept run into the shadow builders.
    fn read_replaced(&mut self, m: Msg<'_>, data: Data) -> Res<()> {
        let shadow = self
            .shadow
            .get_or_insert_with(|| Box::new(MetricColumns::new()));
        let scratch = &mut self.scratch;
        let mut r = m.reader();
        let result = (|| {
            while let Some(f) = next(&mut r, AT)? {
                if f.start - m.base >= data.run_from {
                    break;
                }
                let Some(kind) = kind_of(f.number) else {
                    continue;
                };
                let (mut t, mut mono) = (0, false);
                data_fields(kind, m.sub(&f, AT)?, &mut t, &mut mono, |p| {
                    point(shadow, kind, p, scratch)
                })?;
            }
            Ok(())
        })();
        shadow.truncate(Checkpoint::default());
        result
    }
}

/// At the end of a metric: takes its entry out again if no row of the batch uses it.
fn drop_unused_metric(b: &mut Batcher<MetricColumns>) {
    let Some(key) = b.metric else { return };
    if b.cols.rows() > 0 && b.cols.last_row_metric() == Some(key) {
        return;
    }
    let n = b.cols.metrics.len();
    if n == key as usize + 1 {
        b.cols.metrics.truncate(n - 1);
        b.metric = None;
    }
}

/// Appends one exemplar to the open exemplars slot.
fn exemplar(m: Msg<'_>, e: &mut ExemplarsBuilder, scratch: &mut Vec<u8>) -> Res<()> {
    const ATTRIBUTES: u32 = tag(7, 2);
    const TIME: u32 = tag(2, 1);
    const AS_DOUBLE: u32 = tag(3, 1);
    const SPAN_ID: u32 = tag(4, 2);
    const TRACE_ID: u32 = tag(5, 2);
    const AS_INT: u32 = tag(6, 1);
    // Field 1 is reserved (the deprecated labels): skipped like unknown fields.
    const KNOWN: u32 = fields(&[ATTRIBUTES, TIME, AS_DOUBLE, SPAN_ID, TRACE_ID, AS_INT]);
    let mut time = 0u64;
    let (mut span_id, mut trace_id): (&[u8], &[u8]) = (&[], &[]);
    let mut value = None;
    let mut r = m.reader();
    while let Some(t) = next_tag(&mut r, AT_EXEMPLAR)? {
        match t {
            ATTRIBUTES => key_value(
                m.read_sub(&mut r, AT_EXEMPLAR)?,
                &mut e.filtered_attributes,
                scratch,
            )?,
            TIME => time = read_fixed64(&mut r, AT_EXEMPLAR)?,
            AS_DOUBLE => {
                value = Some(Number::Double(f64::from_bits(read_fixed64(
                    &mut r,
                    AT_EXEMPLAR,
                )?)));
            }
            SPAN_ID => span_id = read_len(&mut r, AT_EXEMPLAR)?,
            TRACE_ID => trace_id = read_len(&mut r, AT_EXEMPLAR)?,
            AS_INT => value = Some(Number::Int(read_fixed64(&mut r, AT_EXEMPLAR)? as i64)),
            _ => m.other(&mut r, t, KNOWN, AT_EXEMPLAR)?,
        }
    }
    e.filtered_attributes.close();
    e.push(time, span_id, trace_id, value);
    Ok(())
}

fn number_point(c: &mut MetricColumns, m: Msg<'_>, scratch: &mut Vec<u8>) -> Res<()> {
    const ATTRIBUTES: u32 = tag(7, 2);
    const START: u32 = tag(2, 1);
    const TIME: u32 = tag(3, 1);
    const AS_DOUBLE: u32 = tag(4, 1);
    const EXEMPLARS: u32 = tag(5, 2);
    const AS_INT: u32 = tag(6, 1);
    const FLAGS: u32 = tag(8, 0);
    // Field 1 is reserved (the deprecated labels): skipped like unknown fields.
    const KNOWN: u32 = fields(&[ATTRIBUTES, START, TIME, AS_DOUBLE, EXEMPLARS, AS_INT, FLAGS]);
    let (mut start, mut time, mut flags) = (0u64, 0u64, 0u32);
    let mut value = None;
    let mut r = m.reader();
    while let Some(t) = next_tag(&mut r, AT_POINT)? {
        match t {
            ATTRIBUTES => key_value(m.read_sub(&mut r, AT_POINT)?, &mut c.attributes, scratch)?,
            START => start = read_fixed64(&mut r, AT_POINT)?,
            TIME => time = read_fixed64(&mut r, AT_POINT)?,
            AS_DOUBLE => {
                value = Some(Number::Double(f64::from_bits(read_fixed64(
                    &mut r, AT_POINT,
                )?)));
            }
            EXEMPLARS => exemplar(m.read_sub(&mut r, AT_POINT)?, &mut c.exemplars, scratch)?,
            AS_INT => value = Some(Number::Int(read_fixed64(&mut r, AT_POINT)? as i64)),
            FLAGS => flags = read_varint(&mut r, AT_POINT)? as u32,
            _ => m.other(&mut r, t, KNOWN, AT_POINT)?,
        }
    }
    c.attributes.close();
    c.exemplars.close();
    c.end_number(start, time, flags, value);
    Ok(())
}

fn histogram_point(c: &mut MetricColumns, m: Msg<'_>, scratch: &mut Vec<u8>) -> Res<()> {
    const ATTRIBUTES: u32 = tag(9, 2);
    const START: u32 = tag(2, 1);
    const TIME: u32 = tag(3, 1);
    const COUNT: u32 = tag(4, 1);
    const SUM: u32 = tag(5, 1);
    const BUCKET_COUNTS: u32 = tag(6, 2);
    const BUCKET_COUNT: u32 = tag(6, 1);
    const EXPLICIT_BOUNDS: u32 = tag(7, 2);
    const EXPLICIT_BOUND: u32 = tag(7, 1);
    const EXEMPLARS: u32 = tag(8, 2);
    const FLAGS: u32 = tag(10, 0);
    const MIN: u32 = tag(11, 1);
    const MAX: u32 = tag(12, 1);
    // Field 1 is reserved (the deprecated labels): skipped like unknown fields.
    const KNOWN: u32 = fields(&[
        ATTRIBUTES,
        START,
        TIME,
        COUNT,
        SUM,
        BUCKET_COUNTS,
        EXPLICIT_BOUNDS,
        EXEMPLARS,
        FLAGS,
        MIN,
        MAX,
    ]);
    let mut h = Histo::default();
    let mut r = m.reader();
    while let Some(t) = next_tag(&mut r, AT_POINT)? {
        match t {
            ATTRIBUTES => key_value(m.read_sub(&mut r, AT_POINT)?, &mut c.attributes, scratch)?,
            START => h.start = read_fixed64(&mut r, AT_POINT)?,
            TIME => h.time = read_fixed64(&mut r, AT_POINT)?,
            COUNT => h.count = read_fixed64(&mut r, AT_POINT)?,
            SUM => h.sum = Some(f64::from_bits(read_fixed64(&mut r, AT_POINT)?)),
            // Repeated numbers come packed (the usual encoding) or one per field.
            BUCKET_COUNTS => read_packed_fixed64(&mut r, AT_POINT, |v| c.bucket_counts.push(v))?,
            BUCKET_COUNT => c.bucket_counts.push(read_fixed64(&mut r, AT_POINT)?),
            EXPLICIT_BOUNDS => read_packed_fixed64(&mut r, AT_POINT, |v| {
                c.explicit_bounds.push(f64::from_bits(v));
            })?,
            EXPLICIT_BOUND => {
                let bits = read_fixed64(&mut r, AT_POINT)?;
                c.explicit_bounds.push(f64::from_bits(bits));
            }
            EXEMPLARS => exemplar(m.read_sub(&mut r, AT_POINT)?, &mut c.exemplars, scratch)?,
            FLAGS => h.flags = read_varint(&mut r, AT_POINT)? as u32,
            MIN => h.min = Some(f64::from_bits(read_fixed64(&mut r, AT_POINT)?)),
            MAX => h.max = Some(f64::from_bits(read_fixed64(&mut r, AT_POINT)?)),
            _ => m.other(&mut r, t, KNOWN, AT_POINT)?,
        }
    }
    c.attributes.close();
    c.exemplars.close();
    c.bucket_counts.close();
    c.explicit_bounds.close();
    c.end_histogram(&h);
    Ok(())
}

fn exponential_point(c: &mut MetricColumns, m: Msg<'_>, scratch: &mut Vec<u8>) -> Res<()> {
    let mut h = Histo::default();
    let (mut scale, mut zero_count, mut zero_threshold) = (0i32, 0u64, 0f64);
    let mut positive = Parts::new(m, 8);
    let mut negative = Parts::new(m, 9);
    let mut r = m.reader();
    while let Some(f) = next(&mut r, AT_POINT)? {
        match f.number {
            1 => key_value(m.sub(&f, AT_POINT)?, &mut c.attributes, scratch)?,
            2 => h.start = fixed64(&f, AT_POINT)?,
            3 => h.time = fixed64(&f, AT_POINT)?,
            4 => h.count = fixed64(&f, AT_POINT)?,
            5 => h.sum = Some(f64::from_bits(fixed64(&f, AT_POINT)?)),
            6 => scale = sint32(varint(&f, AT_POINT)?),
            7 => zero_count = fixed64(&f, AT_POINT)?,
            8 => positive.add(m.sub(&f, AT_POINT)?),
            9 => negative.add(m.sub(&f, AT_POINT)?),
            10 => h.flags = varint(&f, AT_POINT)? as u32,
            11 => exemplar(m.sub(&f, AT_POINT)?, &mut c.exemplars, scratch)?,
            12 => h.min = Some(f64::from_bits(fixed64(&f, AT_POINT)?)),
            13 => h.max = Some(f64::from_bits(fixed64(&f, AT_POINT)?)),
            14 => zero_threshold = f64::from_bits(fixed64(&f, AT_POINT)?),
            _ => m.skip(&f, AT_POINT)?,
        }
    }
    c.attributes.close();
    c.exemplars.close();
    buckets(&positive, &mut c.positive)?;
    buckets(&negative, &mut c.negative)?;
    c.end_exponential(&h, scale, zero_count, zero_threshold);
    Ok(())
}

/// Appends the (merged) `Buckets` occurrences `parts`, or absent buckets if there are none.
fn buckets(parts: &Parts<'_>, b: &mut BucketsBuilder) -> Res<()> {
    if parts.is_empty() {
        b.absent();
        return Ok(());
    }
    let mut offset = 0;
    parts.each(AT_BUCKETS, |m| {
        let mut r = m.reader();
        while let Some(f) = next(&mut r, AT_BUCKETS)? {
            match f.number {
                1 => offset = sint32(varint(&f, AT_BUCKETS)?),
                2 => repeated_varint(&f, AT_BUCKETS, |v| b.bucket_counts.push(v))?,
                _ => m.skip(&f, AT_BUCKETS)?,
            }
        }
        Ok(())
    })?;
    b.present(offset);
    Ok(())
}

fn summary_point(c: &mut MetricColumns, m: Msg<'_>, scratch: &mut Vec<u8>) -> Res<()> {
    let (mut start, mut time, mut count, mut sum, mut flags) = (0u64, 0u64, 0u64, 0f64, 0u32);
    let mut r = m.reader();
    while let Some(f) = next(&mut r, AT_POINT)? {
        match f.number {
            7 => key_value(m.sub(&f, AT_POINT)?, &mut c.attributes, scratch)?,
            2 => start = fixed64(&f, AT_POINT)?,
            3 => time = fixed64(&f, AT_POINT)?,
            4 => count = fixed64(&f, AT_POINT)?,
            5 => sum = f64::from_bits(fixed64(&f, AT_POINT)?),
            6 => {
                let q = m.sub(&f, AT_POINT)?;
                let (mut quantile, mut value) = (0f64, 0f64);
                let mut r = q.reader();
                while let Some(g) = next(&mut r, AT_QUANTILE)? {
                    match g.number {
                        1 => quantile = f64::from_bits(fixed64(&g, AT_QUANTILE)?),
                        2 => value = f64::from_bits(fixed64(&g, AT_QUANTILE)?),
                        _ => q.skip(&g, AT_QUANTILE)?,
                    }
                }
                c.quantile_values.push(quantile, value);
            }
            8 => flags = varint(&f, AT_POINT)? as u32,
            _ => m.skip(&f, AT_POINT)?,
        }
    }
    c.attributes.close();
    c.exemplars.close();
    c.quantile_values.close();
    c.end_summary(start, time, count, sum, flags);
    Ok(())
}
