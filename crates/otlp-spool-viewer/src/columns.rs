//! Typed, by-name access to the columns of a spool record batch, whatever the schema version.
//!
//! Columns are looked up by name; a dictionary-encoded column (schema v2 encodes the
//! container-level `resource_*`, `scope_*` and `metric_*` columns that way) is unpacked to its
//! value type with `take`, and text columns may be `Utf8`, `LargeUtf8` or `Utf8View`. A column
//! that is missing or of an unexpected type reads as null on every row: the viewer shows less,
//! it never fails on a file it does not fully understand.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, UInt8Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, BinaryArray, BooleanArray, LargeStringArray, ListArray,
    PrimitiveArray, RecordBatch, StringArray, StringViewArray, StructArray,
};
use otlp_spool_core::proto::common::v1::any_value::Value;
use otlp_spool_core::proto::common::v1::{AnyValue, ArrayValue, KeyValueList};
use prost::Message as _;

/// The column `name` of `batch`, dictionary-unpacked; `None` when absent.
pub(crate) fn column(batch: &RecordBatch, name: &str) -> Option<ArrayRef> {
    batch.column_by_name(name).map(unpack)
}

/// Unpacks a dictionary array to its values (`take` of the values by the keys).
pub(crate) fn unpack(array: &ArrayRef) -> ArrayRef {
    match array.as_any_dictionary_opt() {
        Some(dict) => arrow_select::take::take(dict.values().as_ref(), dict.keys(), None)
            .unwrap_or_else(|_| Arc::clone(array)),
        None => Arc::clone(array),
    }
}

/// A text column of any string layout.
#[derive(Debug, Clone)]
pub(crate) enum StrCol {
    Utf8(StringArray),
    Large(LargeStringArray),
    View(StringViewArray),
    Missing,
}

impl StrCol {
    pub(crate) fn new(array: Option<ArrayRef>) -> StrCol {
        let Some(a) = array else {
            return StrCol::Missing;
        };
        if let Some(s) = a.as_string_opt::<i32>() {
            StrCol::Utf8(s.clone())
        } else if let Some(s) = a.as_string_opt::<i64>() {
            StrCol::Large(s.clone())
        } else if let Some(s) = a.as_string_view_opt() {
            StrCol::View(s.clone())
        } else {
            StrCol::Missing
        }
    }

    pub(crate) fn of(batch: &RecordBatch, name: &str) -> StrCol {
        StrCol::new(column(batch, name))
    }

    /// The value at `i`, `None` when null or missing.
    pub(crate) fn get(&self, i: usize) -> Option<&str> {
        match self {
            StrCol::Utf8(a) => a.is_valid(i).then(|| a.value(i)),
            StrCol::Large(a) => a.is_valid(i).then(|| a.value(i)),
            StrCol::View(a) => a.is_valid(i).then(|| a.value(i)),
            StrCol::Missing => None,
        }
    }

    /// The value at `i`, `""` when null or missing.
    pub(crate) fn str(&self, i: usize) -> &str {
        self.get(i).unwrap_or("")
    }
}

/// A primitive column (missing or mistyped: null everywhere).
#[derive(Debug)]
pub(crate) struct Prim<T: ArrowPrimitiveType>(Option<PrimitiveArray<T>>);

impl<T: ArrowPrimitiveType> Prim<T> {
    pub(crate) fn new(array: Option<ArrayRef>) -> Self {
        Prim(array.and_then(|a| a.as_primitive_opt::<T>().cloned()))
    }

    pub(crate) fn of(batch: &RecordBatch, name: &str) -> Self {
        Prim::new(column(batch, name))
    }

    pub(crate) fn get(&self, i: usize) -> Option<T::Native> {
        self.0
            .as_ref()
            .and_then(|a| a.is_valid(i).then(|| a.value(i)))
    }
}

pub(crate) type U64 = Prim<UInt64Type>;
pub(crate) type I32 = Prim<Int32Type>;

/// An OTLP AnyValue struct column (`type`, `string_value`, ... `nested_value`).
#[derive(Debug)]
pub(crate) struct AnyCol {
    nulls: Option<StructArray>,
    ty: Prim<UInt8Type>,
    string: StrCol,
    boolean: Option<BooleanArray>,
    int: Prim<Int64Type>,
    double: Prim<Float64Type>,
    bytes: Option<BinaryArray>,
    nested: Option<BinaryArray>,
}

impl AnyCol {
    pub(crate) fn new(array: Option<&ArrayRef>) -> AnyCol {
        let s = array.and_then(|a| a.as_struct_opt()).cloned();
        let child = |name: &str| s.as_ref().and_then(|s| s.column_by_name(name)).map(unpack);
        let binary = |name: &str| child(name).and_then(|a| a.as_binary_opt::<i32>().cloned());
        AnyCol {
            ty: Prim::new(child("type")),
            string: StrCol::new(child("string_value")),
            boolean: child("bool_value").and_then(|a| a.as_boolean_opt().cloned()),
            int: Prim::new(child("int_value")),
            double: Prim::new(child("double_value")),
            bytes: binary("bytes_value"),
            nested: binary("nested_value"),
            nulls: s,
        }
    }

    pub(crate) fn of(batch: &RecordBatch, name: &str) -> AnyCol {
        AnyCol::new(column(batch, name).as_ref())
    }

    fn present(&self, i: usize) -> bool {
        self.nulls.as_ref().is_some_and(|s| s.is_valid(i))
    }

    /// The string at `i` when the value is a string.
    pub(crate) fn as_str(&self, i: usize) -> Option<&str> {
        (self.present(i) && self.ty.get(i) == Some(1))
            .then(|| self.string.get(i))
            .flatten()
    }

    /// The value at `i` rebuilt as an OTLP AnyValue (`None`: absent).
    pub(crate) fn get(&self, i: usize) -> Option<AnyValue> {
        if !self.present(i) {
            return None;
        }
        let bin = |a: &Option<BinaryArray>| {
            a.as_ref()
                .and_then(|a| a.is_valid(i).then(|| a.value(i).to_vec()))
        };
        let value = match self.ty.get(i)? {
            1 => Value::StringValue(self.string.str(i).to_owned()),
            2 => Value::BoolValue(
                self.boolean
                    .as_ref()
                    .is_some_and(|b| b.is_valid(i) && b.value(i)),
            ),
            3 => Value::IntValue(self.int.get(i).unwrap_or(0)),
            4 => Value::DoubleValue(self.double.get(i).unwrap_or(f64::NAN)),
            5 => Value::ArrayValue(ArrayValue::decode(bin(&self.nested)?.as_slice()).ok()?),
            6 => Value::KvlistValue(KeyValueList::decode(bin(&self.nested)?.as_slice()).ok()?),
            7 => Value::BytesValue(bin(&self.bytes)?),
            8 => Value::StringValueStrindex(i32::try_from(self.int.get(i)?).ok()?),
            _ => return Some(AnyValue { value: None }),
        };
        Some(AnyValue { value: Some(value) })
    }

    /// Display text of the value at `i` (see `value::any_value`).
    pub(crate) fn text(&self, i: usize) -> String {
        match self.as_str(i) {
            Some(s) => s.to_owned(),
            None => crate::value::any_value(self.get(i).as_ref()),
        }
    }
}

/// An attribute list column: `List<Struct<key, value: AnyValue, ...>>`.
#[derive(Debug)]
pub(crate) struct AttrCol {
    list: Option<ListArray>,
    keys: StrCol,
    values: AnyCol,
}

impl AttrCol {
    pub(crate) fn of(batch: &RecordBatch, name: &str) -> AttrCol {
        let list = column(batch, name).and_then(|a| a.as_list_opt::<i32>().cloned());
        let entries = list
            .as_ref()
            .and_then(|l| l.values().as_struct_opt().cloned());
        let child = |n: &str| {
            entries
                .as_ref()
                .and_then(|e| e.column_by_name(n))
                .map(unpack)
        };
        AttrCol {
            keys: StrCol::new(child("key")),
            values: AnyCol::new(child("value").as_ref()),
            list,
        }
    }

    fn range(&self, row: usize) -> std::ops::Range<usize> {
        match &self.list {
            Some(l) if l.is_valid(row) => {
                let o = l.value_offsets();
                o[row] as usize..o[row + 1] as usize
            }
            _ => 0..0,
        }
    }

    /// The string value of `key` at `row` (the first such key), if it is a string.
    pub(crate) fn string(&self, row: usize, key: &str) -> Option<&str> {
        self.range(row)
            .find(|&j| self.keys.get(j) == Some(key))
            .and_then(|j| self.values.as_str(j))
    }

    /// `(key, display value)` pairs at `row`, in order.
    pub(crate) fn pairs(&self, row: usize) -> Vec<(String, String)> {
        self.range(row)
            .map(|j| (self.keys.str(j).to_owned(), self.values.text(j)))
            .collect()
    }
}

/// The `service.name` resource attribute of every row, interned.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServiceCol {
    /// The distinct names, in order of first appearance.
    pub(crate) names: Vec<String>,
    /// Per row, an index into `names` (`u32::MAX`: no service name).
    pub(crate) rows: Vec<u32>,
}

pub(crate) const NO_SERVICE: u32 = u32::MAX;

impl ServiceCol {
    pub(crate) fn of(batch: &RecordBatch) -> ServiceCol {
        let mut out = ServiceCol::default();
        let Some(raw) = batch.column_by_name("resource_attributes") else {
            out.rows = vec![NO_SERVICE; batch.num_rows()];
            return out;
        };
        // A dictionary column: look the name up once per distinct resource.
        if let Some(dict) = raw.as_any_dictionary_opt() {
            let values = RecordBatch::try_from_iter([("v", dict.values().clone())]);
            let per_value = match values {
                Ok(v) => ServiceCol::of_list(&AttrCol::of(&v, "v"), v.num_rows(), &mut out.names),
                Err(_) => Vec::new(),
            };
            let keys = dict.normalized_keys();
            out.rows = (0..batch.num_rows())
                .map(|i| {
                    if raw.is_valid(i) {
                        per_value.get(keys[i]).copied().unwrap_or(NO_SERVICE)
                    } else {
                        NO_SERVICE
                    }
                })
                .collect();
            return out;
        }
        let attrs = AttrCol::of(batch, "resource_attributes");
        out.rows = ServiceCol::of_list(&attrs, batch.num_rows(), &mut out.names);
        out
    }

    fn of_list(attrs: &AttrCol, rows: usize, names: &mut Vec<String>) -> Vec<u32> {
        (0..rows)
            .map(|row| match attrs.string(row, "service.name") {
                None => NO_SERVICE,
                Some(name) => match names.iter().position(|n| n == name) {
                    Some(p) => p as u32,
                    None => {
                        names.push(name.to_owned());
                        (names.len() - 1) as u32
                    }
                },
            })
            .collect()
    }

    /// The service name of `row`.
    pub(crate) fn get(&self, row: usize) -> Option<&str> {
        self.rows
            .get(row)
            .and_then(|&i| self.names.get(i as usize))
            .map(String::as_str)
    }
}
