//! The Arrow schema of each signal: one fixed, versioned column layout per signal.
//!
//! Invariants:
//! - The builders in `traces.rs`, `metrics.rs` and `logs.rs` emit their columns in exactly the
//!   order of the field lists below, and nested arrays use the very `Field`s built here, so
//!   `RecordBatch::try_new(schema(signal), columns)` accepts them.
//! - Any change to a column (name, type, nullability, meaning) bumps [`SCHEMA_VERSION`].
//! - Integers keep the OTLP width and signedness (`fixed64` timestamps stay `UInt64`, enums stay
//!   `Int32` so unknown enum values survive); ids are lowercase hex `Utf8` of any length.
//! - Version 2: every variable-length container column (`resource_*`, `scope_*`, and the
//!   metric's `metric_name` / `_description` / `_unit` / `_metadata` / `_type`) is a
//!   `Dictionary<Int32, T>` whose values hold one entry per container present in the batch,
//!   so a container is stored once per batch however many rows reference it. Readers also
//!   accept the plain `T` there (version 1 files, or engines that expand dictionaries).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use arrow_schema::{DataType, Field, FieldRef, Fields, Schema, SchemaRef};

use crate::Signal;

/// The version of the column layout written by this build. Readers accept this one and
/// version `"1"` (the same columns without dictionaries); they refuse others.
pub const SCHEMA_VERSION: &str = "2";
/// The first layout: container columns repeated plainly on every row.
pub(crate) const V1: &str = "1";
/// Schema metadata key holding [`SCHEMA_VERSION`].
pub const SCHEMA_VERSION_KEY: &str = "otlp_spool.schema_version";
/// Schema metadata key holding the signal name (`traces`, `metrics`, `logs`).
pub const SIGNAL_KEY: &str = "otlp_spool.signal";

/// The one schema of `signal`, with the version and signal in its metadata.
pub fn schema(signal: Signal) -> SchemaRef {
    static SCHEMAS: OnceLock<[SchemaRef; 3]> = OnceLock::new();
    let [traces, metrics, logs] = SCHEMAS.get_or_init(|| {
        [
            build_schema(Signal::Traces),
            build_schema(Signal::Metrics),
            build_schema(Signal::Logs),
        ]
    });
    match signal {
        Signal::Traces => traces.clone(),
        Signal::Metrics => metrics.clone(),
        Signal::Logs => logs.clone(),
    }
}

fn build_schema(signal: Signal) -> SchemaRef {
    let mut fields = resource_scope_fields();
    match signal {
        Signal::Traces => fields.extend(span_fields()),
        Signal::Metrics => fields.extend(metric_fields()),
        Signal::Logs => fields.extend(log_fields()),
    }
    let metadata = HashMap::from([
        (SCHEMA_VERSION_KEY.to_string(), SCHEMA_VERSION.to_string()),
        (SIGNAL_KEY.to_string(), signal.as_str().to_string()),
    ]);
    Arc::new(Schema::new_with_metadata(fields, metadata))
}

/// The attribute entry struct and its list item field, built once (no dependencies).
#[derive(Debug)]
struct KeyValueCache {
    any_value: Fields,
    key_value: Fields,
    key_value_item: FieldRef,
}

fn kv_cache() -> &'static KeyValueCache {
    static CACHE: OnceLock<KeyValueCache> = OnceLock::new();
    CACHE.get_or_init(|| {
        let key_value = build_key_value_fields();
        KeyValueCache {
            any_value: build_any_value_fields(),
            key_value_item: Arc::new(Field::new(
                "item",
                DataType::Struct(key_value.clone()),
                false,
            )),
            key_value,
        }
    })
}

/// Nested struct fields, built once on top of `kv_cache`: every batch shares them (cheap
/// `Arc` clones), so building or dropping a batch allocates no field trees.
#[derive(Debug)]
struct NestedCache {
    entity_ref: Fields,
    event: Fields,
    link: Fields,
    exemplar: Fields,
    buckets: Fields,
    quantile: Fields,
}

fn cache() -> &'static NestedCache {
    static CACHE: OnceLock<NestedCache> = OnceLock::new();
    CACHE.get_or_init(|| NestedCache {
        entity_ref: build_entity_ref_fields(),
        event: build_event_fields(),
        link: build_link_fields(),
        exemplar: build_exemplar_fields(),
        buckets: build_buckets_fields(),
        quantile: build_quantile_fields(),
    })
}

/// The children of the AnyValue struct (see `build_any_value_fields`), shared.
pub(crate) fn any_value_fields() -> Fields {
    kv_cache().any_value.clone()
}
/// The children of one attribute entry.
pub(crate) fn key_value_fields() -> Fields {
    kv_cache().key_value.clone()
}

/// The list item field of attribute lists.
pub(crate) fn key_value_item() -> FieldRef {
    kv_cache().key_value_item.clone()
}
/// The children of one resource entity ref.
pub(crate) fn entity_ref_fields() -> Fields {
    cache().entity_ref.clone()
}
/// The children of one span event.
pub(crate) fn event_fields() -> Fields {
    cache().event.clone()
}
/// The children of one span link.
pub(crate) fn link_fields() -> Fields {
    cache().link.clone()
}
/// The children of one exemplar.
pub(crate) fn exemplar_fields() -> Fields {
    cache().exemplar.clone()
}
/// The children of exponential histogram buckets.
pub(crate) fn buckets_fields() -> Fields {
    cache().buckets.clone()
}
/// The children of one summary quantile.
pub(crate) fn quantile_fields() -> Fields {
    cache().quantile.clone()
}

// ---- building blocks shared by the signals and by the builders ----

/// The non-nullable element field of a list (`item`).
pub(crate) fn item(data_type: DataType) -> FieldRef {
    Arc::new(Field::new("item", data_type, false))
}

/// `Dictionary<Int32, value>`: the container columns of schema version 2.
pub(crate) fn dict(value: DataType) -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(value))
}

/// `List<item: data_type not null>`.
pub(crate) fn list_of(data_type: DataType) -> DataType {
    DataType::List(item(data_type))
}

/// The children of the AnyValue struct. `type` is the OTLP oneof tag (0 = empty AnyValue,
/// 1 string, 2 bool, 3 int, 4 double, 5 array, 6 kvlist, 7 bytes, 8 string_value_strindex);
/// exactly the matching typed column is non-null (`int_value` also carries the strindex);
/// `nested_value` holds the protobuf encoding of an `ArrayValue` (type 5) or `KeyValueList`
/// (type 6), because Arrow has no recursive types.
fn build_any_value_fields() -> Fields {
    Fields::from(vec![
        Field::new("type", DataType::UInt8, false),
        Field::new("string_value", DataType::Utf8, true),
        Field::new("bool_value", DataType::Boolean, true),
        Field::new("int_value", DataType::Int64, true),
        Field::new("double_value", DataType::Float64, true),
        Field::new("bytes_value", DataType::Binary, true),
        Field::new("nested_value", DataType::Binary, true),
    ])
}

/// The children of one attribute (`KeyValue`); `value` is null when the KeyValue has no value.
fn build_key_value_fields() -> Fields {
    Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Struct(build_any_value_fields()), true),
        Field::new("key_strindex", DataType::Int32, false),
    ])
}

/// `List<Struct<key, value, key_strindex>>`: a repeated KeyValue, order and duplicates kept.
pub(crate) fn attributes_type() -> DataType {
    DataType::List(key_value_item())
}

/// The children of one `EntityRef` of a resource.
fn build_entity_ref_fields() -> Fields {
    Fields::from(vec![
        Field::new("schema_url", DataType::Utf8, false),
        Field::new("type", DataType::Utf8, false),
        Field::new("id_keys", list_of(DataType::Utf8), false),
        Field::new("description_keys", list_of(DataType::Utf8), false),
    ])
}

/// The children of a span event.
fn build_event_fields() -> Fields {
    Fields::from(vec![
        Field::new("time_unix_nano", DataType::UInt64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("attributes", attributes_type(), false),
        Field::new("dropped_attributes_count", DataType::UInt32, false),
    ])
}

/// The children of a span link.
fn build_link_fields() -> Fields {
    Fields::from(vec![
        Field::new("trace_id", DataType::Utf8, false),
        Field::new("span_id", DataType::Utf8, false),
        Field::new("trace_state", DataType::Utf8, false),
        Field::new("attributes", attributes_type(), false),
        Field::new("dropped_attributes_count", DataType::UInt32, false),
        Field::new("flags", DataType::UInt32, false),
    ])
}

/// The children of an exemplar (value: at most one of `as_double` / `as_int` is non-null).
fn build_exemplar_fields() -> Fields {
    Fields::from(vec![
        Field::new("filtered_attributes", attributes_type(), false),
        Field::new("time_unix_nano", DataType::UInt64, false),
        Field::new("span_id", DataType::Utf8, false),
        Field::new("trace_id", DataType::Utf8, false),
        Field::new("as_double", DataType::Float64, true),
        Field::new("as_int", DataType::Int64, true),
    ])
}

/// The children of the `positive` / `negative` buckets of an exponential histogram point.
fn build_buckets_fields() -> Fields {
    Fields::from(vec![
        Field::new("offset", DataType::Int32, false),
        Field::new("bucket_counts", list_of(DataType::UInt64), false),
    ])
}

/// The children of a summary quantile.
fn build_quantile_fields() -> Fields {
    Fields::from(vec![
        Field::new("quantile", DataType::Float64, false),
        Field::new("value", DataType::Float64, false),
    ])
}

/// Resource and scope columns, the same leading columns in every signal. A null
/// `resource_dropped_attributes_count` means the container had no `resource`; a null
/// `scope_name` means it had no `scope`.
fn resource_scope_fields() -> Vec<Field> {
    vec![
        Field::new("resource_index", DataType::UInt32, false),
        Field::new("resource_attributes", dict(attributes_type()), true),
        Field::new("resource_dropped_attributes_count", DataType::UInt32, true),
        Field::new(
            "resource_entity_refs",
            dict(list_of(DataType::Struct(entity_ref_fields()))),
            true,
        ),
        Field::new("resource_schema_url", dict(DataType::Utf8), false),
        Field::new("scope_index", DataType::UInt32, false),
        Field::new("scope_name", dict(DataType::Utf8), true),
        Field::new("scope_version", dict(DataType::Utf8), true),
        Field::new("scope_attributes", dict(attributes_type()), true),
        Field::new("scope_dropped_attributes_count", DataType::UInt32, true),
        Field::new("scope_schema_url", dict(DataType::Utf8), false),
    ]
}

fn span_fields() -> Vec<Field> {
    vec![
        Field::new("trace_id", DataType::Utf8, false),
        Field::new("span_id", DataType::Utf8, false),
        Field::new("trace_state", DataType::Utf8, false),
        Field::new("parent_span_id", DataType::Utf8, false),
        Field::new("flags", DataType::UInt32, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("kind", DataType::Int32, false),
        Field::new("start_time_unix_nano", DataType::UInt64, false),
        Field::new("end_time_unix_nano", DataType::UInt64, false),
        Field::new("attributes", attributes_type(), false),
        Field::new("dropped_attributes_count", DataType::UInt32, false),
        Field::new("events", list_of(DataType::Struct(event_fields())), false),
        Field::new("dropped_events_count", DataType::UInt32, false),
        Field::new("links", list_of(DataType::Struct(link_fields())), false),
        Field::new("dropped_links_count", DataType::UInt32, false),
        Field::new("status_code", DataType::Int32, true),
        Field::new("status_message", DataType::Utf8, true),
    ]
}

fn metric_fields() -> Vec<Field> {
    vec![
        Field::new("metric_index", DataType::UInt32, false),
        Field::new("metric_name", dict(DataType::Utf8), false),
        Field::new("metric_description", dict(DataType::Utf8), false),
        Field::new("metric_unit", dict(DataType::Utf8), false),
        Field::new("metric_metadata", dict(attributes_type()), false),
        Field::new("metric_type", dict(DataType::Utf8), false),
        Field::new("aggregation_temporality", DataType::Int32, true),
        Field::new("is_monotonic", DataType::Boolean, true),
        Field::new("attributes", attributes_type(), false),
        Field::new("start_time_unix_nano", DataType::UInt64, false),
        Field::new("time_unix_nano", DataType::UInt64, false),
        Field::new("flags", DataType::UInt32, false),
        Field::new(
            "exemplars",
            list_of(DataType::Struct(exemplar_fields())),
            false,
        ),
        Field::new("as_double", DataType::Float64, true),
        Field::new("as_int", DataType::Int64, true),
        Field::new("count", DataType::UInt64, true),
        Field::new("sum", DataType::Float64, true),
        Field::new("bucket_counts", list_of(DataType::UInt64), true),
        Field::new("explicit_bounds", list_of(DataType::Float64), true),
        Field::new("min", DataType::Float64, true),
        Field::new("max", DataType::Float64, true),
        Field::new("scale", DataType::Int32, true),
        Field::new("zero_count", DataType::UInt64, true),
        Field::new("zero_threshold", DataType::Float64, true),
        Field::new("positive", DataType::Struct(buckets_fields()), true),
        Field::new("negative", DataType::Struct(buckets_fields()), true),
        Field::new(
            "quantile_values",
            list_of(DataType::Struct(quantile_fields())),
            true,
        ),
    ]
}

fn log_fields() -> Vec<Field> {
    vec![
        Field::new("time_unix_nano", DataType::UInt64, false),
        Field::new("observed_time_unix_nano", DataType::UInt64, false),
        Field::new("severity_number", DataType::Int32, false),
        Field::new("severity_text", DataType::Utf8, false),
        Field::new("body", DataType::Struct(any_value_fields()), true),
        Field::new("attributes", attributes_type(), false),
        Field::new("dropped_attributes_count", DataType::UInt32, false),
        Field::new("flags", DataType::UInt32, false),
        Field::new("trace_id", DataType::Utf8, false),
        Field::new("span_id", DataType::Utf8, false),
        Field::new("event_name", DataType::Utf8, false),
    ]
}
