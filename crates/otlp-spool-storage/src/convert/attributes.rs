//! Repeated `KeyValue` (attributes, scope attributes, metric metadata, ...) <->
//! `List<Struct<key, value, key_strindex>>`.
//!
//! A list rather than an Arrow `Map`: OTLP order is kept and duplicate keys (forbidden by the
//! spec but seen in the wild) survive, where `Map` consumers (DuckDB) may reject duplicates.
//! `key_strindex` is the profiles-only string-table reference; it is kept so that the round trip
//! stays exact, and is 0 for every other signal.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int32Array, ListArray, StringArray, StructArray};
use arrow_buffer::ScalarBuffer;
use opentelemetry_proto::tonic::common::v1::KeyValue;

use super::ConvertError;
use super::anyvalue::{AnyValueBuilder, AnyValueReader};
use super::columns::{
    ByteColumn, ListShape, Text, arrow, bounds, child, list_values, take_vec, vec_bytes,
};
use super::schema::{key_value_fields, key_value_item};

/// Builds one attributes list column.
#[derive(Debug)]
pub(crate) struct AttributesBuilder {
    shape: ListShape,
    keys: ByteColumn,
    values: AnyValueBuilder,
    key_strindex: Vec<i32>,
}

impl AttributesBuilder {
    pub(crate) fn new() -> Self {
        Self {
            shape: ListShape::new(),
            keys: ByteColumn::new(),
            values: AnyValueBuilder::new(),
            key_strindex: Vec::new(),
        }
    }

    /// Appends one list slot holding `attributes`, in order.
    #[inline]
    pub(crate) fn append(&mut self, attributes: &[KeyValue]) {
        for kv in attributes {
            self.keys.push_str(&kv.key);
            self.values.append(kv.value.as_ref());
            self.key_strindex.push(kv.key_strindex);
        }
        self.close();
    }

    /// Opens an entry of the open slot with its key; the caller then appends exactly one
    /// value to [`values`](Self::values).
    #[inline]
    pub(crate) fn push_key(&mut self, key: Text<'_>, key_strindex: i32) {
        self.keys.push_text(key);
        self.key_strindex.push(key_strindex);
    }

    /// The entries' value column.
    #[inline]
    pub(crate) fn values(&mut self) -> &mut AnyValueBuilder {
        &mut self.values
    }

    /// Closes the open slot: a valid list of the entries pushed since the last close.
    #[inline]
    pub(crate) fn close(&mut self) {
        self.shape.close(self.key_strindex.len());
    }

    /// Keeps the first `slots` slots, and drops entries of a slot left open.
    pub(crate) fn truncate(&mut self, slots: usize) {
        let entries = self.shape.truncate(slots);
        self.keys.truncate(entries);
        self.values.truncate(entries);
        self.key_strindex.truncate(entries);
    }

    #[inline]
    pub(crate) fn bytes(&self) -> usize {
        self.shape.bytes() + self.keys.bytes() + self.values.bytes() + vec_bytes(&self.key_strindex)
    }

    pub(crate) fn finish(&mut self, column: &str) -> Result<ListArray, ConvertError> {
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.keys.finish_utf8(None, column)?),
            Arc::new(self.values.finish(column)?),
            Arc::new(Int32Array::new(
                ScalarBuffer::from(take_vec(&mut self.key_strindex)),
                None,
            )),
        ];
        let entries = StructArray::try_new(key_value_fields(), children, None)
            .map_err(|source| arrow(column, source))?;
        self.shape
            .finish(key_value_item(), Arc::new(entries), column)
    }
}

/// Reads attribute lists back.
#[derive(Debug)]
pub(crate) struct AttributesReader<'a> {
    list: &'a ListArray,
    keys: &'a StringArray,
    values: AnyValueReader<'a>,
    key_strindex: &'a Int32Array,
}

impl<'a> AttributesReader<'a> {
    /// `column` names the list column in errors (e.g. `attributes`, `events.attributes`).
    pub(crate) fn new(list: &'a ListArray, column: &'a str) -> Result<Self, ConvertError> {
        let entries: &StructArray = list_values(list, column)?;
        let value: &StructArray = child(entries, "value", column)?;
        Ok(Self {
            list,
            keys: child(entries, "key", column)?,
            values: AnyValueReader::new(value, column)?,
            key_strindex: child(entries, "key_strindex", column)?,
        })
    }

    /// The attributes of list slot `i` (a null slot reads as empty).
    pub(crate) fn get(&self, i: usize) -> Result<Vec<KeyValue>, ConvertError> {
        let range = bounds(self.list, i);
        let mut out = Vec::with_capacity(range.len());
        for j in range {
            out.push(KeyValue {
                key: self.keys.value(j).to_string(),
                value: self.values.get(j)?,
                key_strindex: self.key_strindex.value(j),
            });
        }
        Ok(out)
    }
}
