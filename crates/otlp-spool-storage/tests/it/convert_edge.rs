//! Focused conversion cases: container regrouping, ids, AnyValue typing, NaN and extremes,
//! schema metadata, and errors that name the column at fault.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{Field, Schema};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
    metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use otlp_spool_storage::{
    ConvertError, SCHEMA_VERSION, SCHEMA_VERSION_KEY, SIGNAL_KEY, Signal, arrow_to_logs,
    arrow_to_metrics, arrow_to_traces, logs_to_arrow, metrics_to_arrow, schema, traces_to_arrow,
};

use crate::convert_roundtrip::assert_same;

/// Writes `batch` as an Arrow IPC stream in memory and reads it back.
pub(crate) fn through_ipc(batch: &RecordBatch) -> RecordBatch {
    let mut bytes = Vec::new();
    {
        let mut w = arrow_ipc::writer::StreamWriter::try_new(&mut bytes, &batch.schema()).unwrap();
        w.write(batch).unwrap();
        w.finish().unwrap();
    }
    let mut r =
        arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
    let read = r.next().unwrap().unwrap();
    assert!(r.next().is_none());
    read
}

fn kv(key: &str, value: Option<Value>) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value }),
        key_strindex: 0,
    }
}

fn span(name: &str) -> Span {
    Span {
        trace_id: (1..=16).collect(),
        span_id: vec![0xab; 8],
        name: name.to_string(),
        start_time_unix_nano: 1,
        end_time_unix_nano: 2,
        ..Span::default()
    }
}

fn traces(resources: Vec<(Option<Resource>, Vec<Vec<Span>>)>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: resources
            .into_iter()
            .map(|(resource, scopes)| ResourceSpans {
                resource,
                scope_spans: scopes
                    .into_iter()
                    .map(|spans| ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: "lib".into(),
                            ..Default::default()
                        }),
                        spans,
                        schema_url: String::new(),
                    })
                    .collect(),
                schema_url: String::new(),
            })
            .collect(),
    }
}

/// A check(input) helper: the request round-trips exactly (directly and through IPC).
fn check_traces(req: &ExportTraceServiceRequest) -> RecordBatch {
    let batch = traces_to_arrow(req).unwrap();
    assert_same(req, &arrow_to_traces(&batch).unwrap());
    assert_same(req, &arrow_to_traces(&through_ipc(&batch)).unwrap());
    batch
}

#[test]
fn identical_adjacent_containers_do_not_merge() {
    let resource = Some(Resource::default());
    let req = traces(vec![
        (resource.clone(), vec![vec![span("a")], vec![span("a")]]),
        (resource.clone(), vec![vec![span("a")]]),
        (resource, vec![vec![span("a")]]),
    ]);
    let batch = check_traces(&req);
    assert_eq!(batch.num_rows(), 4);
    let ri = batch
        .column_by_name("resource_index")
        .unwrap()
        .as_primitive::<UInt32Type>();
    let si = batch
        .column_by_name("scope_index")
        .unwrap()
        .as_primitive::<UInt32Type>();
    assert_eq!(ri.values().to_vec(), vec![0, 0, 1, 2]);
    assert_eq!(si.values().to_vec(), vec![0, 1, 0, 0]);
}

#[test]
fn empty_containers_yield_no_rows_and_do_not_come_back() {
    // Documented limitation: a container without items has no row to live in.
    let req = traces(vec![
        (None, vec![]),
        (None, vec![vec![]]),
        (None, vec![vec![span("x")]]),
    ]);
    let batch = traces_to_arrow(&req).unwrap();
    assert_eq!(batch.num_rows(), 1);
    let back = arrow_to_traces(&batch).unwrap();
    assert_eq!(back, traces(vec![(None, vec![vec![span("x")]])]));
    // The empty request is the fixed point.
    let empty = ExportTraceServiceRequest::default();
    check_traces(&empty);
    assert_eq!(traces_to_arrow(&empty).unwrap().num_rows(), 0);
}

#[test]
fn absent_and_empty_resource_and_scope_stay_distinct() {
    let mut req = traces(vec![
        (None, vec![vec![span("a")]]),
        (Some(Resource::default()), vec![vec![span("b")]]),
    ]);
    req.resource_spans[0].scope_spans[0].scope = None;
    req.resource_spans[1].scope_spans[0].scope = Some(InstrumentationScope::default());
    let batch = check_traces(&req);
    assert!(
        batch
            .column_by_name("resource_attributes")
            .unwrap()
            .is_null(0)
    );
    assert!(
        batch
            .column_by_name("resource_attributes")
            .unwrap()
            .is_valid(1)
    );
    assert!(batch.column_by_name("scope_name").unwrap().is_null(0));
    assert_eq!(
        dict_strings(&batch, "scope_name"),
        vec![None, Some(String::new())]
    );
}

/// The logical values of a dictionary-encoded text column (container columns of schema v2).
pub(crate) fn dict_strings(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let dict = batch
        .column_by_name(name)
        .unwrap()
        .as_dictionary::<arrow_array::types::Int32Type>();
    let values = dict.values().as_string::<i32>();
    (0..dict.len())
        .map(|i| dict.key(i).map(|k| values.value(k).to_string()))
        .collect()
}

#[test]
fn ids_are_lowercase_hex_of_any_length() {
    let mut odd = span("odd");
    odd.trace_id = vec![0xde, 0xad];
    odd.span_id = vec![];
    odd.parent_span_id = vec![0xff; 9];
    // Past the 16-byte id buffer of the hex writer.
    let mut long = span("long");
    long.trace_id = (0..17).map(|i| i * 15).collect();
    long.span_id = vec![0x0f; 16];
    let req = traces(vec![(None, vec![vec![span("ok"), odd, long]])]);
    let batch = check_traces(&req);
    let trace_id = batch.column_by_name("trace_id").unwrap().as_string::<i32>();
    assert_eq!(trace_id.value(0), "0102030405060708090a0b0c0d0e0f10");
    assert_eq!(trace_id.value(1), "dead");
    let span_id = batch.column_by_name("span_id").unwrap().as_string::<i32>();
    assert_eq!(span_id.value(0), "abababababababab");
    assert_eq!(span_id.value(1), "");
    assert!(
        span_id.is_valid(1),
        "an empty id is the empty string, not null"
    );
    let parent = batch
        .column_by_name("parent_span_id")
        .unwrap()
        .as_string::<i32>();
    assert_eq!(parent.value(0), "");
    assert_eq!(parent.value(1), "ff".repeat(9));
    let hex: String = (0..17).map(|i| format!("{:02x}", i * 15)).collect();
    assert_eq!(trace_id.value(2), hex);
    assert_eq!(span_id.value(2), "0f".repeat(16));
}

#[test]
fn attribute_values_keep_their_type() {
    let nested = Value::KvlistValue(KeyValueList {
        values: vec![kv(
            "deep",
            Some(Value::ArrayValue(ArrayValue {
                values: vec![
                    AnyValue {
                        value: Some(Value::IntValue(i64::MIN)),
                    },
                    AnyValue { value: None },
                    AnyValue {
                        value: Some(Value::DoubleValue(f64::NAN)),
                    },
                ],
            })),
        )],
    });
    let mut s = span("typed");
    s.attributes = vec![
        kv("string", Some(Value::StringValue("1".into()))),
        kv("empty_string", Some(Value::StringValue(String::new()))),
        kv("int", Some(Value::IntValue(1))),
        kv("double", Some(Value::DoubleValue(1.0))),
        kv("bool", Some(Value::BoolValue(true))),
        kv("bytes", Some(Value::BytesValue(vec![]))),
        kv("empty_any_value", None),
        KeyValue {
            key: "no_value".into(),
            value: None,
            key_strindex: 0,
        },
        kv("strindex", Some(Value::StringValueStrindex(7))),
        kv("nested", Some(nested)),
        kv("", Some(Value::IntValue(i64::MAX))),
        kv(
            "string",
            Some(Value::StringValue("duplicate keys keep their order".into())),
        ),
    ];
    let batch = check_traces(&traces(vec![(None, vec![vec![s]])]));
    let attrs = batch.column_by_name("attributes").unwrap().as_list::<i32>();
    let entries = attrs.values().as_struct();
    let value = entries.column_by_name("value").unwrap().as_struct();
    let ty = value
        .column_by_name("type")
        .unwrap()
        .as_primitive::<arrow_array::types::UInt8Type>();
    assert_eq!(
        ty.values().to_vec(),
        vec![1, 1, 3, 4, 2, 7, 0, 0, 8, 6, 3, 1]
    );
    assert!(
        value.is_null(7),
        "a KeyValue without value is a null struct slot"
    );
    assert!(
        value.is_valid(6),
        "an empty AnyValue is a valid slot of type 0"
    );
    let strings = value
        .column_by_name("string_value")
        .unwrap()
        .as_string::<i32>();
    assert_eq!(strings.value(1), "");
    assert!(strings.is_valid(1) && strings.is_null(2));
}

#[test]
fn nan_infinities_and_extremes_round_trip() {
    let payload_nan = f64::from_bits(0x7ff8_0000_0000_0bad);
    let point = |value| NumberDataPoint {
        start_time_unix_nano: u64::MAX,
        time_unix_nano: u64::MAX,
        flags: u32::MAX,
        value: Some(value),
        ..Default::default()
    };
    let req = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: None,
            scope_metrics: vec![ScopeMetrics {
                scope: None,
                metrics: vec![Metric {
                    name: "m".into(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: vec![
                            point(number_data_point::Value::AsDouble(payload_nan)),
                            point(number_data_point::Value::AsDouble(-0.0)),
                            point(number_data_point::Value::AsDouble(f64::NEG_INFINITY)),
                            point(number_data_point::Value::AsInt(i64::MIN)),
                            point(number_data_point::Value::AsInt(i64::MAX)),
                        ],
                    })),
                    ..Default::default()
                }],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    };
    let batch = metrics_to_arrow(&req).unwrap();
    let back = arrow_to_metrics(&batch).unwrap();
    assert_same(&req, &back);
    let as_double = batch
        .column_by_name("as_double")
        .unwrap()
        .as_primitive::<Float64Type>();
    assert_eq!(as_double.value(0).to_bits(), payload_nan.to_bits());
    assert_eq!(as_double.value(1).to_bits(), (-0.0f64).to_bits());
    let time = batch
        .column_by_name("time_unix_nano")
        .unwrap()
        .as_primitive::<UInt64Type>();
    assert_eq!(time.value(0), u64::MAX);
}

#[test]
fn metric_rows_record_type_temporality_and_monotonicity() {
    let number = NumberDataPoint {
        value: Some(number_data_point::Value::AsInt(3)),
        ..Default::default()
    };
    let metrics = vec![
        Metric {
            name: "g".into(),
            data: Some(metric::Data::Gauge(Gauge {
                data_points: vec![number.clone()],
            })),
            ..Default::default()
        },
        Metric {
            name: "s".into(),
            data: Some(metric::Data::Sum(Sum {
                data_points: vec![number.clone(), number],
                aggregation_temporality: 1,
                is_monotonic: true,
            })),
            ..Default::default()
        },
        Metric {
            name: "q".into(),
            data: Some(metric::Data::Summary(Summary {
                data_points: vec![SummaryDataPoint::default()],
            })),
            ..Default::default()
        },
    ];
    let req = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: None,
            scope_metrics: vec![ScopeMetrics {
                scope: None,
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    };
    let batch = metrics_to_arrow(&req).unwrap();
    assert_same(&req, &arrow_to_metrics(&batch).unwrap());
    let ty = dict_strings(&batch, "metric_type");
    assert_eq!(
        ty.iter().flatten().collect::<Vec<_>>(),
        vec!["gauge", "sum", "sum", "summary"]
    );
    let temporality = batch.column_by_name("aggregation_temporality").unwrap();
    assert!(temporality.is_null(0) && temporality.is_valid(1) && temporality.is_null(3));
    let monotonic = batch.column_by_name("is_monotonic").unwrap().as_boolean();
    assert!(monotonic.is_null(0) && monotonic.value(1) && monotonic.is_null(3));
    let metric_index = batch
        .column_by_name("metric_index")
        .unwrap()
        .as_primitive::<UInt32Type>();
    assert_eq!(metric_index.values().to_vec(), vec![0, 1, 1, 2]);
}

#[test]
fn log_bodies_keep_their_type_and_absence() {
    let record = |body: Option<Value>| LogRecord {
        body: body.map(|v| AnyValue { value: Some(v) }),
        trace_id: vec![7; 16],
        span_id: vec![8; 8],
        severity_number: 9,
        severity_text: "INFO".into(),
        ..Default::default()
    };
    let req = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("service.name", Some(Value::StringValue("svc".into())))],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: None,
                log_records: vec![
                    record(None),
                    record(Some(Value::StringValue(String::new()))),
                    record(Some(Value::BytesValue(vec![0, 1]))),
                    LogRecord {
                        body: Some(AnyValue { value: None }),
                        ..Default::default()
                    },
                ],
                schema_url: "https://opentelemetry.io/schemas/1.21.0".into(),
            }],
            schema_url: String::new(),
        }],
    };
    let batch = logs_to_arrow(&req).unwrap();
    assert_same(&req, &arrow_to_logs(&batch).unwrap());
    assert_same(&req, &arrow_to_logs(&through_ipc(&batch)).unwrap());
    let body = batch.column_by_name("body").unwrap();
    assert!(body.is_null(0) && body.is_valid(1) && body.is_valid(3));
}

#[test]
fn schema_metadata_names_version_and_signal() {
    for signal in Signal::ALL {
        let s = schema(signal);
        assert_eq!(s.metadata()[SCHEMA_VERSION_KEY], SCHEMA_VERSION);
        assert_eq!(s.metadata()[SIGNAL_KEY], signal.as_str());
        assert!(s.field_with_name("resource_attributes").is_ok());
        assert!(s.field_with_name("scope_name").is_ok());
    }
    let batch = traces_to_arrow(&traces(vec![(None, vec![vec![span("a")]])])).unwrap();
    assert_eq!(batch.schema(), schema(Signal::Traces));
}

#[test]
fn a_sliced_batch_converts_its_rows_only() {
    let req = traces(vec![
        (None, vec![vec![span("a"), span("b")]]),
        (Some(Resource::default()), vec![vec![span("c")]]),
    ]);
    let batch = traces_to_arrow(&req).unwrap();
    let back = arrow_to_traces(&batch.slice(1, 2)).unwrap();
    let expected = traces(vec![
        (None, vec![vec![span("b")]]),
        (Some(Resource::default()), vec![vec![span("c")]]),
    ]);
    assert_eq!(back, expected);
}

#[test]
fn status_absent_vs_default() {
    let mut with_status = span("s");
    with_status.status = Some(Status::default());
    let mut error = span("e");
    error.status = Some(Status {
        message: "boom".into(),
        code: 2,
    });
    check_traces(&traces(vec![(
        None,
        vec![vec![span("n"), with_status, error]],
    )]));
}

// ---- errors name the column at fault ----

fn replace_column(batch: &RecordBatch, name: &str, array: arrow_array::ArrayRef) -> RecordBatch {
    let schema = batch.schema();
    let idx = schema.index_of(name).unwrap();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields[idx] = Field::new(name, array.data_type().clone(), true);
    let mut columns = batch.columns().to_vec();
    columns[idx] = array;
    RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())),
        columns,
    )
    .unwrap()
}

#[test]
fn missing_column_is_named() {
    let batch = traces_to_arrow(&traces(vec![(None, vec![vec![span("a")]])])).unwrap();
    let mut b = batch.clone();
    b.remove_column(b.schema().index_of("links").unwrap());
    let err = arrow_to_traces(&b).unwrap_err();
    assert!(
        matches!(&err, ConvertError::MissingColumn { column } if column == "links"),
        "{err}"
    );
    assert!(err.to_string().contains("links"));
}

#[test]
fn wrong_type_is_named() {
    let batch = traces_to_arrow(&traces(vec![(None, vec![vec![span("a")]])])).unwrap();
    let b = replace_column(
        &batch,
        "kind",
        Arc::new(arrow_array::Int64Array::from(vec![1i64])),
    );
    let err = arrow_to_traces(&b).unwrap_err();
    assert!(
        matches!(&err, ConvertError::WrongType { column, .. } if column == "kind"),
        "{err}"
    );
}

#[test]
fn bad_hex_names_column_and_row() {
    let batch = traces_to_arrow(&traces(vec![(None, vec![vec![span("a"), span("b")]])])).unwrap();
    let ids = arrow_array::StringArray::from(vec!["00", "xyz1"]);
    let b = replace_column(&batch, "span_id", Arc::new(ids));
    let err = arrow_to_traces(&b).unwrap_err();
    assert!(
        matches!(&err, ConvertError::InvalidValue { column, row: 1, .. } if column == "span_id"),
        "{err}"
    );
}

#[test]
fn other_version_and_signal_are_refused() {
    let batch = traces_to_arrow(&traces(vec![(None, vec![vec![span("a")]])])).unwrap();
    let mut metadata = batch.schema().metadata().clone();
    metadata.insert(SCHEMA_VERSION_KEY.to_string(), "999".to_string());
    let schema = Arc::new(batch.schema().as_ref().clone().with_metadata(metadata));
    let b = RecordBatch::try_new(schema, batch.columns().to_vec()).unwrap();
    assert!(matches!(
        arrow_to_traces(&b),
        Err(ConvertError::UnsupportedVersion { .. })
    ));
    assert!(matches!(
        arrow_to_logs(&batch),
        Err(ConvertError::WrongSignal { .. })
    ));
}

#[test]
fn unknown_metric_type_is_refused() {
    let req = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: None,
            scope_metrics: vec![ScopeMetrics {
                scope: None,
                metrics: vec![Metric {
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint::default()],
                    })),
                    ..Default::default()
                }],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    };
    let batch = metrics_to_arrow(&req).unwrap();
    let b = replace_column(
        &batch,
        "metric_type",
        Arc::new(arrow_array::StringArray::from(vec!["histogramm"])),
    );
    // The replaced column is nullable now, so the schema check still passes the type test.
    let err = arrow_to_metrics(&b).unwrap_err();
    assert!(
        matches!(&err, ConvertError::InvalidValue { column, .. } if column == "metric_type"),
        "{err}"
    );
}

/// A schema-v1 form of `batch`, in which every container has exactly one row (so each
/// dictionary's values line up with the rows): dictionary columns become their plain values,
/// with the keys' nulls.
fn as_v1(batch: &RecordBatch) -> RecordBatch {
    use arrow_array::types::Int32Type;
    use arrow_array::{ArrayRef, ListArray, StringArray};
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let Some(dict) = column.as_dictionary_opt::<Int32Type>() else {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
            continue;
        };
        let nulls = dict.keys().nulls().cloned();
        let plain: ArrayRef = if let Some(values) = dict.values().as_string_opt::<i32>() {
            let texts: Vec<Option<&str>> = (0..dict.len())
                .map(|i| dict.key(i).map(|k| values.value(k)))
                .collect();
            Arc::new(StringArray::from(texts))
        } else {
            let keys: Vec<i32> = dict.keys().values().to_vec();
            assert_eq!(
                keys,
                (0..dict.len() as i32).collect::<Vec<_>>(),
                "one row per container"
            );
            let (item, offsets, values, _) = dict.values().as_list::<i32>().clone().into_parts();
            Arc::new(ListArray::try_new(item, offsets, values, nulls).unwrap())
        };
        fields.push(Field::new(field.name(), plain.data_type().clone(), true));
        columns.push(plain);
    }
    let mut metadata = batch.schema().metadata().clone();
    metadata.insert(SCHEMA_VERSION_KEY.to_string(), "1".to_string());
    RecordBatch::try_new(
        Arc::new(Schema::new_with_metadata(fields, metadata)),
        columns,
    )
    .unwrap()
}

#[test]
fn schema_v1_batches_are_still_read() {
    let scope = |name: &str| {
        Some(InstrumentationScope {
            name: name.into(),
            attributes: vec![kv("lib", Some(Value::BoolValue(true)))],
            ..Default::default()
        })
    };
    let mut req = traces(vec![
        (None, vec![vec![span("a")]]),
        (
            Some(Resource {
                attributes: vec![kv("service.name", Some(Value::StringValue("s".into())))],
                ..Default::default()
            }),
            vec![vec![span("b")]],
        ),
    ]);
    req.resource_spans[0].scope_spans[0].scope = None;
    req.resource_spans[1].scope_spans[0].scope = scope("lib-b");
    req.resource_spans[1].schema_url = "https://example.invalid/schema".into();
    let batch = traces_to_arrow(&req).unwrap();
    assert_same(&req, &arrow_to_traces(&as_v1(&batch)).unwrap());

    let gauge = |name: &str| Metric {
        name: name.into(),
        description: format!("{name} description"),
        data: Some(metric::Data::Gauge(Gauge {
            data_points: vec![NumberDataPoint::default()],
        })),
        ..Default::default()
    };
    let metrics = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: None,
            scope_metrics: vec![ScopeMetrics {
                scope: scope("m"),
                metrics: vec![gauge("cpu")],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    };
    let batch = metrics_to_arrow(&metrics).unwrap();
    assert_same(&metrics, &arrow_to_metrics(&as_v1(&batch)).unwrap());
}
