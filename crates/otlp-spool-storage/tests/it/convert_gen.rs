//! proptest strategies for arbitrary OTLP requests of the three signals.
//!
//! Honest about what cannot round-trip: every resource and scope container holds at least one
//! item, and every metric holds data with at least one data point (an empty container yields no
//! row, so it cannot come back). Everything else is arbitrary: any UTF-8, empty strings, ids of
//! any length, NaN and infinities, i64/u64 extremes, absent vs empty optional messages, unknown
//! enum values, nested AnyValues several levels deep, and the profiles-only string indices.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::exponential_histogram_data_point::Buckets;
use opentelemetry_proto::tonic::metrics::v1::summary_data_point::ValueAtQuantile;
use opentelemetry_proto::tonic::metrics::v1::{
    Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary,
    SummaryDataPoint, exemplar, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

pub(crate) fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z._]{0,8}",
        1 => ".{0,6}",
        1 => Just(String::new()),
    ]
}

pub(crate) fn f64s() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => any::<f64>(),
        1 => Just(f64::NAN),
        1 => Just(-f64::NAN),
        1 => Just(f64::from_bits(0x7ff8_0000_dead_beef)),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(-0.0),
        1 => Just(f64::MIN_POSITIVE / 2.0),
    ]
}

pub(crate) fn i64s() -> impl Strategy<Value = i64> {
    prop_oneof![3 => any::<i64>(), 1 => Just(i64::MIN), 1 => Just(i64::MAX), 1 => Just(0i64)]
}

pub(crate) fn u64s() -> impl Strategy<Value = u64> {
    prop_oneof![3 => any::<u64>(), 1 => Just(u64::MAX), 1 => Just(0u64)]
}

pub(crate) fn u32s() -> impl Strategy<Value = u32> {
    prop_oneof![3 => 0u32..10, 1 => any::<u32>(), 1 => Just(u32::MAX)]
}

pub(crate) fn i32s() -> impl Strategy<Value = i32> {
    prop_oneof![3 => 0i32..6, 1 => any::<i32>()]
}

/// Ids: mostly the right length, sometimes empty or any other length.
pub(crate) fn id(len: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => vec(any::<u8>(), len),
        1 => Just(Vec::new()),
        1 => vec(any::<u8>(), 0..40),
    ]
}

fn scalar() -> impl Strategy<Value = AnyValue> {
    let value = prop_oneof![
        text().prop_map(Value::StringValue),
        any::<bool>().prop_map(Value::BoolValue),
        i64s().prop_map(Value::IntValue),
        f64s().prop_map(Value::DoubleValue),
        vec(any::<u8>(), 0..8).prop_map(Value::BytesValue),
        any::<i32>().prop_map(Value::StringValueStrindex),
    ];
    prop_oneof![
        8 => value.prop_map(|v| AnyValue { value: Some(v) }),
        1 => Just(AnyValue { value: None }),
    ]
}

/// Any AnyValue, arrays and key-value lists nested up to four levels.
pub(crate) fn any_value() -> impl Strategy<Value = AnyValue> {
    scalar().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(|values| AnyValue {
                value: Some(Value::ArrayValue(ArrayValue { values })),
            }),
            vec((text(), option::weighted(0.9, inner), i32s()), 0..4).prop_map(|kvs| {
                AnyValue {
                    value: Some(Value::KvlistValue(KeyValueList {
                        values: kvs
                            .into_iter()
                            .map(|(key, value, key_strindex)| KeyValue {
                                key,
                                value,
                                key_strindex,
                            })
                            .collect(),
                    })),
                }
            }),
        ]
    })
}

pub(crate) fn key_value() -> impl Strategy<Value = KeyValue> {
    (
        text(),
        option::weighted(0.9, any_value()),
        prop_oneof![4 => Just(0), 1 => any::<i32>()],
    )
        .prop_map(|(key, value, key_strindex)| KeyValue {
            key,
            value,
            key_strindex,
        })
}

pub(crate) fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
    vec(key_value(), 0..4)
}

fn entity_ref() -> impl Strategy<Value = EntityRef> {
    (text(), text(), vec(text(), 0..3), vec(text(), 0..3)).prop_map(
        |(schema_url, r#type, id_keys, description_keys)| EntityRef {
            schema_url,
            r#type,
            id_keys,
            description_keys,
        },
    )
}

pub(crate) fn resource() -> impl Strategy<Value = Option<Resource>> {
    option::weighted(
        0.8,
        (attributes(), u32s(), vec(entity_ref(), 0..2)).prop_map(
            |(attributes, dropped_attributes_count, entity_refs)| Resource {
                attributes,
                dropped_attributes_count,
                entity_refs,
            },
        ),
    )
}

pub(crate) fn scope() -> impl Strategy<Value = Option<InstrumentationScope>> {
    option::weighted(
        0.8,
        (text(), text(), attributes(), u32s()).prop_map(
            |(name, version, attributes, dropped_attributes_count)| InstrumentationScope {
                name,
                version,
                attributes,
                dropped_attributes_count,
            },
        ),
    )
}

// ---- traces ----

fn event() -> impl Strategy<Value = Event> {
    (u64s(), text(), attributes(), u32s()).prop_map(
        |(time_unix_nano, name, attributes, dropped_attributes_count)| Event {
            time_unix_nano,
            name,
            attributes,
            dropped_attributes_count,
        },
    )
}

fn link() -> impl Strategy<Value = Link> {
    (id(16), id(8), text(), attributes(), u32s(), u32s()).prop_map(
        |(trace_id, span_id, trace_state, attributes, dropped_attributes_count, flags)| Link {
            trace_id,
            span_id,
            trace_state,
            attributes,
            dropped_attributes_count,
            flags,
        },
    )
}

pub(crate) fn span() -> impl Strategy<Value = Span> {
    (
        (id(16), id(8), text(), id(8), u32s(), text(), i32s()),
        (u64s(), u64s(), attributes(), u32s()),
        (vec(event(), 0..3), u32s(), vec(link(), 0..3), u32s()),
        option::weighted(
            0.7,
            (text(), i32s()).prop_map(|(message, code)| Status { message, code }),
        ),
    )
        .prop_map(
            |(
                (trace_id, span_id, trace_state, parent_span_id, flags, name, kind),
                (start_time_unix_nano, end_time_unix_nano, attributes, dropped_attributes_count),
                (events, dropped_events_count, links, dropped_links_count),
                status,
            )| Span {
                trace_id,
                span_id,
                trace_state,
                parent_span_id,
                flags,
                name,
                kind,
                start_time_unix_nano,
                end_time_unix_nano,
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

pub(crate) fn traces_request() -> impl Strategy<Value = ExportTraceServiceRequest> {
    let scope_spans =
        (scope(), vec(span(), 1..4), text()).prop_map(|(scope, spans, schema_url)| ScopeSpans {
            scope,
            spans,
            schema_url,
        });
    let resource_spans = (resource(), vec(scope_spans, 1..3), text()).prop_map(
        |(resource, scope_spans, schema_url)| ResourceSpans {
            resource,
            scope_spans,
            schema_url,
        },
    );
    vec(resource_spans, 0..3)
        .prop_map(|resource_spans| ExportTraceServiceRequest { resource_spans })
}

// ---- logs ----

pub(crate) fn log_record() -> impl Strategy<Value = LogRecord> {
    (
        (
            u64s(),
            u64s(),
            i32s(),
            text(),
            option::weighted(0.8, any_value()),
        ),
        (attributes(), u32s(), u32s(), id(16), id(8), text()),
    )
        .prop_map(
            |(
                (time_unix_nano, observed_time_unix_nano, severity_number, severity_text, body),
                (attributes, dropped_attributes_count, flags, trace_id, span_id, event_name),
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

pub(crate) fn logs_request() -> impl Strategy<Value = ExportLogsServiceRequest> {
    let scope_logs =
        (scope(), vec(log_record(), 1..4), text()).prop_map(|(scope, log_records, schema_url)| {
            ScopeLogs {
                scope,
                log_records,
                schema_url,
            }
        });
    let resource_logs = (resource(), vec(scope_logs, 1..3), text()).prop_map(
        |(resource, scope_logs, schema_url)| ResourceLogs {
            resource,
            scope_logs,
            schema_url,
        },
    );
    vec(resource_logs, 0..3).prop_map(|resource_logs| ExportLogsServiceRequest { resource_logs })
}

// ---- metrics ----

fn exemplar() -> impl Strategy<Value = Exemplar> {
    let value = option::weighted(
        0.9,
        prop_oneof![
            f64s().prop_map(exemplar::Value::AsDouble),
            i64s().prop_map(exemplar::Value::AsInt),
        ],
    );
    (attributes(), u64s(), id(8), id(16), value).prop_map(
        |(filtered_attributes, time_unix_nano, span_id, trace_id, value)| Exemplar {
            filtered_attributes,
            time_unix_nano,
            span_id,
            trace_id,
            value,
        },
    )
}

fn number_point() -> impl Strategy<Value = NumberDataPoint> {
    let value = option::weighted(
        0.9,
        prop_oneof![
            f64s().prop_map(number_data_point::Value::AsDouble),
            i64s().prop_map(number_data_point::Value::AsInt),
        ],
    );
    (
        attributes(),
        u64s(),
        u64s(),
        vec(exemplar(), 0..2),
        u32s(),
        value,
    )
        .prop_map(
            |(attributes, start_time_unix_nano, time_unix_nano, exemplars, flags, value)| {
                NumberDataPoint {
                    attributes,
                    start_time_unix_nano,
                    time_unix_nano,
                    exemplars,
                    flags,
                    value,
                }
            },
        )
}

fn histogram_point() -> impl Strategy<Value = HistogramDataPoint> {
    (
        (attributes(), u64s(), u64s(), u64s(), option::of(f64s())),
        (
            vec(u64s(), 0..5),
            vec(f64s(), 0..4),
            vec(exemplar(), 0..2),
            u32s(),
        ),
        (option::of(f64s()), option::of(f64s())),
    )
        .prop_map(
            |(
                (attributes, start_time_unix_nano, time_unix_nano, count, sum),
                (bucket_counts, explicit_bounds, exemplars, flags),
                (min, max),
            )| HistogramDataPoint {
                attributes,
                start_time_unix_nano,
                time_unix_nano,
                count,
                sum,
                bucket_counts,
                explicit_bounds,
                exemplars,
                flags,
                min,
                max,
            },
        )
}

fn buckets() -> impl Strategy<Value = Option<Buckets>> {
    option::weighted(
        0.8,
        (any::<i32>(), vec(u64s(), 0..5)).prop_map(|(offset, bucket_counts)| Buckets {
            offset,
            bucket_counts,
        }),
    )
}

fn exponential_point() -> impl Strategy<Value = ExponentialHistogramDataPoint> {
    (
        (attributes(), u64s(), u64s(), u64s(), option::of(f64s())),
        (any::<i32>(), u64s(), buckets(), buckets(), u32s()),
        (
            vec(exemplar(), 0..2),
            option::of(f64s()),
            option::of(f64s()),
            f64s(),
        ),
    )
        .prop_map(
            |(
                (attributes, start_time_unix_nano, time_unix_nano, count, sum),
                (scale, zero_count, positive, negative, flags),
                (exemplars, min, max, zero_threshold),
            )| ExponentialHistogramDataPoint {
                attributes,
                start_time_unix_nano,
                time_unix_nano,
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
            },
        )
}

fn summary_point() -> impl Strategy<Value = SummaryDataPoint> {
    let quantile =
        (f64s(), f64s()).prop_map(|(quantile, value)| ValueAtQuantile { quantile, value });
    (
        attributes(),
        u64s(),
        u64s(),
        u64s(),
        f64s(),
        vec(quantile, 0..4),
        u32s(),
    )
        .prop_map(
            |(
                attributes,
                start_time_unix_nano,
                time_unix_nano,
                count,
                sum,
                quantile_values,
                flags,
            )| {
                SummaryDataPoint {
                    attributes,
                    start_time_unix_nano,
                    time_unix_nano,
                    count,
                    sum,
                    quantile_values,
                    flags,
                }
            },
        )
}

/// Metric data of every type, each with at least one data point.
pub(crate) fn metric_data() -> impl Strategy<Value = metric::Data> {
    prop_oneof![
        vec(number_point(), 1..3)
            .prop_map(|data_points| metric::Data::Gauge(Gauge { data_points })),
        (vec(number_point(), 1..3), i32s(), any::<bool>()).prop_map(
            |(data_points, aggregation_temporality, is_monotonic)| metric::Data::Sum(Sum {
                data_points,
                aggregation_temporality,
                is_monotonic,
            })
        ),
        (vec(histogram_point(), 1..3), i32s()).prop_map(
            |(data_points, aggregation_temporality)| {
                metric::Data::Histogram(Histogram {
                    data_points,
                    aggregation_temporality,
                })
            }
        ),
        (vec(exponential_point(), 1..3), i32s()).prop_map(
            |(data_points, aggregation_temporality)| {
                metric::Data::ExponentialHistogram(ExponentialHistogram {
                    data_points,
                    aggregation_temporality,
                })
            }
        ),
        vec(summary_point(), 1..3)
            .prop_map(|data_points| metric::Data::Summary(Summary { data_points })),
    ]
}

pub(crate) fn metric() -> impl Strategy<Value = Metric> {
    (text(), text(), text(), attributes(), metric_data()).prop_map(
        |(name, description, unit, metadata, data)| Metric {
            name,
            description,
            unit,
            metadata,
            data: Some(data),
        },
    )
}

pub(crate) fn metrics_request() -> impl Strategy<Value = ExportMetricsServiceRequest> {
    let scope_metrics =
        (scope(), vec(metric(), 1..4), text()).prop_map(|(scope, metrics, schema_url)| {
            ScopeMetrics {
                scope,
                metrics,
                schema_url,
            }
        });
    let resource_metrics = (resource(), vec(scope_metrics, 1..3), text()).prop_map(
        |(resource, scope_metrics, schema_url)| ResourceMetrics {
            resource,
            scope_metrics,
            schema_url,
        },
    );
    vec(resource_metrics, 0..3)
        .prop_map(|resource_metrics| ExportMetricsServiceRequest { resource_metrics })
}
