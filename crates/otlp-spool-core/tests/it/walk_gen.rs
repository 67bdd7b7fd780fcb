//! proptest strategies for OTLP export requests of every shape the walker must know: every
//! AnyValue variant nested a few levels, all five metric types with exemplars, exponential
//! histogram buckets and summary quantiles, span events and links, entity refs, dropped counts,
//! flags, `*_strindex` fields, and ids that are valid, empty, all zeros or of a wrong length.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, exponential_histogram_data_point::Buckets, metric,
    number_data_point, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use otlp_spool_core::Signal;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use prost::Message;

/// Short strings, mostly ASCII, sometimes any Unicode.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z./_ -]{0,10}",
        1 => "\\PC{0,4}",
    ]
}

/// An id of `len` bytes, usually valid; sometimes empty, all zeros or of another length.
fn id(len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        12 => vec(any::<u8>(), len).prop_map(|mut v| {
            v[0] |= 1; // never all zeros
            v
        }),
        1 => Just(Vec::new()),
        1 => Just(vec![0; len]),
        1 => vec(any::<u8>(), 0..20),
    ]
}

/// A small number, often zero (an omitted default).
fn small() -> impl Strategy<Value = u32> {
    prop_oneof![3 => Just(0u32), 1 => any::<u32>()]
}

fn any_value() -> impl Strategy<Value = AnyValue> {
    use any_value::Value as V;
    let leaf = option::weighted(
        0.9,
        prop_oneof![
            text().prop_map(V::StringValue),
            any::<bool>().prop_map(V::BoolValue),
            any::<i64>().prop_map(V::IntValue),
            any::<f64>().prop_map(V::DoubleValue),
            vec(any::<u8>(), 0..8).prop_map(V::BytesValue),
            any::<i32>().prop_map(V::StringValueStrindex),
        ],
    )
    .prop_map(|value| AnyValue { value });
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(|values| AnyValue {
                value: Some(any_value::Value::ArrayValue(ArrayValue { values })),
            }),
            vec((text(), option::of(inner), small()), 0..4).prop_map(|entries| AnyValue {
                value: Some(any_value::Value::KvlistValue(KeyValueList {
                    values: entries
                        .into_iter()
                        .map(|(key, value, key_strindex)| KeyValue {
                            key,
                            value,
                            key_strindex: key_strindex as i32,
                        })
                        .collect(),
                })),
            }),
        ]
    })
}

fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    vec(
        (text(), option::weighted(0.9, any_value()), small()).prop_map(
            |(key, value, key_strindex)| KeyValue {
                key,
                value,
                key_strindex: key_strindex as i32,
            },
        ),
        0..4,
    )
}

fn resource() -> impl Strategy<Value = Option<Resource>> {
    let entity = (text(), text(), vec(text(), 0..3), vec(text(), 0..2)).prop_map(
        |(schema_url, r#type, id_keys, description_keys)| EntityRef {
            schema_url,
            r#type,
            id_keys,
            description_keys,
        },
    );
    option::weighted(
        0.8,
        (attributes(), small(), vec(entity, 0..2)).prop_map(
            |(attributes, dropped_attributes_count, entity_refs)| Resource {
                attributes,
                dropped_attributes_count,
                entity_refs,
            },
        ),
    )
}

fn scope() -> impl Strategy<Value = Option<InstrumentationScope>> {
    option::weighted(
        0.8,
        (text(), text(), attributes(), small()).prop_map(
            |(name, version, attributes, dropped_attributes_count)| InstrumentationScope {
                name,
                version,
                attributes,
                dropped_attributes_count,
            },
        ),
    )
}

fn span() -> impl Strategy<Value = Span> {
    let event = (any::<u64>(), text(), attributes(), small()).prop_map(
        |(time_unix_nano, name, attributes, dropped_attributes_count)| Event {
            time_unix_nano,
            name,
            attributes,
            dropped_attributes_count,
        },
    );
    let link = (id(16), id(8), text(), attributes(), small(), any::<u32>()).prop_map(
        |(trace_id, span_id, trace_state, attributes, dropped_attributes_count, flags)| Link {
            trace_id,
            span_id,
            trace_state,
            attributes,
            dropped_attributes_count,
            flags,
        },
    );
    let status = option::of((text(), 0..3i32).prop_map(|(message, code)| Status { message, code }));
    let ids = (
        id(16),
        id(8),
        prop_oneof![2 => Just(Vec::new()), 3 => id(8)],
    );
    let scalars = (
        text(),
        text(),
        0..6i32,
        any::<u64>(),
        any::<u64>(),
        any::<u32>(),
    );
    let counts = (small(), small(), small());
    (
        ids,
        scalars,
        counts,
        attributes(),
        vec(event, 0..3),
        vec(link, 0..3),
        status,
    )
        .prop_map(
            |(
                (trace_id, span_id, parent_span_id),
                (name, trace_state, kind, start, end, flags),
                (dropped_attributes_count, dropped_events_count, dropped_links_count),
                attributes,
                events,
                links,
                status,
            )| Span {
                trace_id,
                span_id,
                trace_state,
                parent_span_id,
                flags,
                name,
                kind,
                start_time_unix_nano: start,
                end_time_unix_nano: end,
                attributes,
                dropped_attributes_count,
                events,
                dropped_events_count,
                links,
                dropped_links_count,
                status,
            },
        )
}

fn exemplars() -> impl Strategy<Value = Vec<Exemplar>> {
    let value = option::of(prop_oneof![
        any::<f64>().prop_map(exemplar::Value::AsDouble),
        any::<i64>().prop_map(exemplar::Value::AsInt),
    ]);
    let one = (attributes(), any::<u64>(), id(8), id(16), value).prop_map(
        |(filtered_attributes, time_unix_nano, span_id, trace_id, value)| Exemplar {
            filtered_attributes,
            time_unix_nano,
            span_id,
            trace_id,
            value,
        },
    );
    vec(one, 0..2)
}

/// Attributes, start and end times, flags: what every data point has.
fn point_common() -> impl Strategy<Value = (Vec<KeyValue>, u64, u64, u32)> {
    (attributes(), any::<u64>(), any::<u64>(), small())
}

fn number_points() -> impl Strategy<Value = Vec<NumberDataPoint>> {
    let value = option::of(prop_oneof![
        any::<f64>().prop_map(number_data_point::Value::AsDouble),
        any::<i64>().prop_map(number_data_point::Value::AsInt),
    ]);
    vec(
        (point_common(), exemplars(), value).prop_map(
            |((attributes, start, time, flags), exemplars, value)| NumberDataPoint {
                attributes,
                start_time_unix_nano: start,
                time_unix_nano: time,
                exemplars,
                flags,
                value,
            },
        ),
        0..3,
    )
}

fn histogram_points() -> impl Strategy<Value = Vec<HistogramDataPoint>> {
    let extremes = (
        option::of(any::<f64>()),
        option::of(any::<f64>()),
        option::of(any::<f64>()),
    );
    vec(
        (
            point_common(),
            any::<u64>(),
            vec(any::<u64>(), 0..5),
            vec(any::<f64>(), 0..4),
            exemplars(),
            extremes,
        )
            .prop_map(
                |(
                    (attributes, start, time, flags),
                    count,
                    bucket_counts,
                    explicit_bounds,
                    exemplars,
                    (sum, min, max),
                )| {
                    HistogramDataPoint {
                        attributes,
                        start_time_unix_nano: start,
                        time_unix_nano: time,
                        count,
                        sum,
                        bucket_counts,
                        explicit_bounds,
                        exemplars,
                        flags,
                        min,
                        max,
                    }
                },
            ),
        0..3,
    )
}

fn exponential_points() -> impl Strategy<Value = Vec<ExponentialHistogramDataPoint>> {
    let buckets = option::of((any::<i32>(), vec(any::<u64>(), 0..5)).prop_map(
        |(offset, bucket_counts)| Buckets {
            offset,
            bucket_counts,
        },
    ));
    let extremes = (
        option::of(any::<f64>()),
        option::of(any::<f64>()),
        option::of(any::<f64>()),
        any::<f64>(),
    );
    vec(
        (
            point_common(),
            (any::<u64>(), any::<i32>(), any::<u64>()),
            buckets.clone(),
            buckets,
            exemplars(),
            extremes,
        )
            .prop_map(
                |(
                    (attributes, start, time, flags),
                    (count, scale, zero_count),
                    positive,
                    negative,
                    exemplars,
                    (sum, min, max, zero_threshold),
                )| {
                    ExponentialHistogramDataPoint {
                        attributes,
                        start_time_unix_nano: start,
                        time_unix_nano: time,
                        count,
                        sum,
                        scale,
                        zero_count,
                        positive,
                        negative,
                        flags,
                        exemplars,
                        min,
                        max,
                        zero_threshold,
                    }
                },
            ),
        0..3,
    )
}

fn summary_points() -> impl Strategy<Value = Vec<SummaryDataPoint>> {
    let quantile = (any::<f64>(), any::<f64>())
        .prop_map(|(quantile, value)| ValueAtQuantile { quantile, value });
    vec(
        (
            point_common(),
            any::<u64>(),
            any::<f64>(),
            vec(quantile, 0..3),
        )
            .prop_map(
                |((attributes, start, time, flags), count, sum, quantile_values)| {
                    SummaryDataPoint {
                        attributes,
                        start_time_unix_nano: start,
                        time_unix_nano: time,
                        count,
                        sum,
                        quantile_values,
                        flags,
                    }
                },
            ),
        0..3,
    )
}

fn metric() -> impl Strategy<Value = Metric> {
    let data = option::weighted(
        0.95,
        prop_oneof![
            number_points().prop_map(|data_points| metric::Data::Gauge(Gauge { data_points })),
            (number_points(), 0..3i32, any::<bool>()).prop_map(
                |(data_points, aggregation_temporality, is_monotonic)| metric::Data::Sum(Sum {
                    data_points,
                    aggregation_temporality,
                    is_monotonic,
                })
            ),
            (histogram_points(), 0..3i32).prop_map(|(data_points, aggregation_temporality)| {
                metric::Data::Histogram(Histogram {
                    data_points,
                    aggregation_temporality,
                })
            }),
            (exponential_points(), 0..3i32).prop_map(|(data_points, aggregation_temporality)| {
                metric::Data::ExponentialHistogram(ExponentialHistogram {
                    data_points,
                    aggregation_temporality,
                })
            }),
            summary_points().prop_map(|data_points| metric::Data::Summary(Summary { data_points })),
        ],
    );
    (text(), text(), text(), attributes(), data).prop_map(
        |(name, description, unit, metadata, data)| Metric {
            name,
            description,
            unit,
            metadata,
            data,
        },
    )
}

fn log_record() -> impl Strategy<Value = LogRecord> {
    let log_id = |len: usize| prop_oneof![3 => Just(Vec::new()), 6 => id(len)];
    (
        (any::<u64>(), any::<u64>(), 0..25i32, text()),
        option::weighted(0.8, any_value()),
        attributes(),
        (small(), any::<u32>()),
        (log_id(16), log_id(8)),
        text(),
    )
        .prop_map(
            |(
                (time_unix_nano, observed_time_unix_nano, severity_number, severity_text),
                body,
                attributes,
                (dropped_attributes_count, flags),
                (trace_id, span_id),
                event_name,
            )| LogRecord {
                time_unix_nano,
                observed_time_unix_nano,
                severity_number,
                severity_text,
                body,
                attributes,
                dropped_attributes_count,
                flags,
                trace_id,
                span_id,
                event_name,
            },
        )
}

/// Up to 2 resource entries of up to 2 scope entries of up to 3 `items`, built by `scope_of`
/// (scope, items, schema URL) and `resource_of` (resource, scope entries, schema URL).
fn envelope<I, S, R>(
    items: impl Strategy<Value = I>,
    scope_of: fn(Option<InstrumentationScope>, Vec<I>, String) -> S,
    resource_of: fn(Option<Resource>, Vec<S>, String) -> R,
) -> impl Strategy<Value = Vec<R>>
where
    I: std::fmt::Debug,
    S: std::fmt::Debug,
    R: std::fmt::Debug,
{
    let scopes = (scope(), vec(items, 0..4), text()).prop_map(move |(s, i, u)| scope_of(s, i, u));
    vec(
        (resource(), vec(scopes, 0..3), text()).prop_map(move |(r, s, u)| resource_of(r, s, u)),
        0..3,
    )
}

/// An encoded export request of `signal`.
pub(crate) fn request(signal: Signal) -> BoxedStrategy<Vec<u8>> {
    match signal {
        Signal::Traces => envelope(
            span(),
            |scope, spans, schema_url| ScopeSpans {
                scope,
                spans,
                schema_url,
            },
            |resource, scope_spans, schema_url| ResourceSpans {
                resource,
                scope_spans,
                schema_url,
            },
        )
        .prop_map(|resource_spans| ExportTraceServiceRequest { resource_spans }.encode_to_vec())
        .boxed(),
        Signal::Metrics => envelope(
            metric(),
            |scope, metrics, schema_url| ScopeMetrics {
                scope,
                metrics,
                schema_url,
            },
            |resource, scope_metrics, schema_url| ResourceMetrics {
                resource,
                scope_metrics,
                schema_url,
            },
        )
        .prop_map(|resource_metrics| {
            ExportMetricsServiceRequest { resource_metrics }.encode_to_vec()
        })
        .boxed(),
        Signal::Logs => envelope(
            log_record(),
            |scope, log_records, schema_url| ScopeLogs {
                scope,
                log_records,
                schema_url,
            },
            |resource, scope_logs, schema_url| ResourceLogs {
                resource,
                scope_logs,
                schema_url,
            },
        )
        .prop_map(|resource_logs| ExportLogsServiceRequest { resource_logs }.encode_to_vec())
        .boxed(),
    }
}
