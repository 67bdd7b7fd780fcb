//! AnyValue <-> a struct of typed nullable columns.
//!
//! Layout (see `schema::any_value_fields`): `type` holds the OTLP oneof tag (0 = an AnyValue
//! with no value set); exactly the column of that type is non-null: `string_value`,
//! `bool_value`, `int_value` (also the profiles-only `string_value_strindex`, type 8),
//! `double_value`, `bytes_value`, or `nested_value` for arrays (5) and key-value lists (6),
//! which holds the protobuf encoding of the `ArrayValue` / `KeyValueList` message, since Arrow
//! has no recursive types. A null struct slot is an absent AnyValue (`Option::None`).
//!
//! Invariant: scalars are stored bit-exactly (NaN payloads, `i64` extremes, empty strings and
//! empty bytes included), so reading back yields an equal message.

use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Float64Array, Int64Array, StringArray, StructArray,
    UInt8Array,
};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, ScalarBuffer};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValueList};
use prost::Message;

use super::ConvertError;
use super::columns::{ByteColumn, child};
use super::schema::any_value_fields;

const EMPTY: u8 = 0;
const STRING: u8 = 1;
const BOOL: u8 = 2;
const INT: u8 = 3;
const DOUBLE: u8 = 4;
const ARRAY: u8 = 5;
const KVLIST: u8 = 6;
const BYTES: u8 = 7;
const STRINDEX: u8 = 8;

/// Builds the AnyValue struct column, one slot per `append`.
///
/// Hot path (every attribute value goes through it): each append is a handful of `Vec` pushes;
/// the validity bitmaps of the typed children are derived from `ty` once, in `finish`.
#[derive(Debug)]
pub(crate) struct AnyValueBuilder {
    valid: Vec<bool>,
    ty: Vec<u8>,
    string: ByteColumn,
    boolean: Vec<bool>,
    /// Int values and strindexes (type 8).
    int: Vec<i64>,
    double: Vec<f64>,
    bytes: ByteColumn,
    nested: ByteColumn,
    error: Option<prost::EncodeError>,
}

impl AnyValueBuilder {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            valid: Vec::with_capacity(capacity),
            ty: Vec::with_capacity(capacity),
            string: ByteColumn::with_capacity(capacity, capacity * 12),
            boolean: Vec::with_capacity(capacity),
            int: Vec::with_capacity(capacity),
            double: Vec::with_capacity(capacity),
            bytes: ByteColumn::with_capacity(capacity, 0),
            nested: ByteColumn::with_capacity(capacity, 0),
            error: None,
        }
    }

    /// Appends one AnyValue (`None` = absent, a null struct slot).
    #[inline]
    pub(crate) fn append(&mut self, value: Option<&AnyValue>) {
        self.valid.push(value.is_some());
        let (ty, string, boolean, int, double, bytes): (u8, Option<&str>, bool, i64, f64, _) =
            match value.and_then(|v| v.value.as_ref()) {
                None => (EMPTY, None, false, 0, 0.0, None),
                Some(Value::StringValue(s)) => (STRING, Some(s.as_str()), false, 0, 0.0, None),
                Some(Value::BoolValue(b)) => (BOOL, None, *b, 0, 0.0, None),
                Some(Value::IntValue(i)) => (INT, None, false, *i, 0.0, None),
                Some(Value::StringValueStrindex(i)) => {
                    (STRINDEX, None, false, i64::from(*i), 0.0, None)
                }
                Some(Value::DoubleValue(d)) => (DOUBLE, None, false, 0, *d, None),
                Some(Value::BytesValue(b)) => (BYTES, None, false, 0, 0.0, Some(b.as_slice())),
                Some(Value::ArrayValue(a)) => {
                    self.nested_message(a);
                    (ARRAY, None, false, 0, 0.0, None)
                }
                Some(Value::KvlistValue(l)) => {
                    self.nested_message(l);
                    (KVLIST, None, false, 0, 0.0, None)
                }
            };
        if ty != ARRAY && ty != KVLIST {
            self.nested.skip();
        }
        self.ty.push(ty);
        match string {
            Some(s) => self.string.push_str(s),
            None => self.string.skip(),
        }
        self.boolean.push(boolean);
        self.int.push(int);
        self.double.push(double);
        match bytes {
            Some(b) => self.bytes.push(b),
            None => self.bytes.skip(),
        }
    }

    fn nested_message(&mut self, message: &impl Message) {
        let mut scratch = Vec::with_capacity(message.encoded_len());
        if let Err(e) = message.encode(&mut scratch) {
            self.error.get_or_insert(e);
        }
        self.nested.push(&scratch);
    }

    /// Finishes the struct array; `column` names it in errors.
    pub(crate) fn finish(&mut self, column: &str) -> Result<StructArray, ConvertError> {
        if let Some(e) = self.error.take() {
            return Err(ConvertError::InvalidValue {
                column: column.to_string(),
                row: 0,
                reason: format!("nested AnyValue does not encode: {e}"),
            });
        }
        let ty = std::mem::take(&mut self.ty);
        let [string, boolean_nulls, int, double, bytes, nested] = validity(&ty);
        let boolean = BooleanBuffer::from(std::mem::take(&mut self.boolean));
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.string.finish_utf8(Some(string), column)?),
            Arc::new(BooleanArray::new(boolean, Some(boolean_nulls))),
            Arc::new(Int64Array::new(
                ScalarBuffer::from(std::mem::take(&mut self.int)),
                Some(int),
            )),
            Arc::new(Float64Array::new(
                ScalarBuffer::from(std::mem::take(&mut self.double)),
                Some(double),
            )),
            Arc::new(self.bytes.finish_binary(Some(bytes), column)?),
            Arc::new(self.nested.finish_binary(Some(nested), column)?),
        ];
        let mut all = Vec::with_capacity(7);
        all.push(Arc::new(UInt8Array::from(ty)) as ArrayRef);
        all.extend(children);
        let valid = std::mem::take(&mut self.valid);
        let nulls = if valid.iter().all(|v| *v) {
            None
        } else {
            Some(NullBuffer::from(valid))
        };
        StructArray::try_new(any_value_fields(), all, nulls).map_err(|source| ConvertError::Arrow {
            column: column.to_string(),
            source,
        })
    }
}

/// Which typed child (0 string, 1 bool, 2 int, 3 double, 4 bytes, 5 nested; 6 none) holds
/// the value of each type tag.
const SLOT: [usize; 16] = [6, 0, 1, 2, 3, 5, 5, 4, 2, 6, 6, 6, 6, 6, 6, 6];

/// The validity bitmaps of the six typed children, in one pass over the type tags.
fn validity(ty: &[u8]) -> [NullBuffer; 6] {
    let words = ty.len().div_ceil(64);
    let mut masks: [Vec<u64>; 6] = std::array::from_fn(|_| Vec::with_capacity(words));
    for chunk in ty.chunks(64) {
        let mut w = [0u64; 7];
        for (bit, &tag) in chunk.iter().enumerate() {
            w[SLOT[usize::from(tag & 15)]] |= 1 << bit;
        }
        for (mask, word) in masks.iter_mut().zip(w) {
            mask.push(word.to_le());
        }
    }
    masks.map(|m| NullBuffer::new(BooleanBuffer::new(Buffer::from_vec(m), 0, ty.len())))
}

/// Reads AnyValues back from the struct column.
#[derive(Debug)]
pub(crate) struct AnyValueReader<'a> {
    column: &'a str,
    array: &'a StructArray,
    ty: &'a UInt8Array,
    string: &'a StringArray,
    boolean: &'a BooleanArray,
    int: &'a Int64Array,
    double: &'a Float64Array,
    bytes: &'a BinaryArray,
    nested: &'a BinaryArray,
}

impl<'a> AnyValueReader<'a> {
    pub(crate) fn new(array: &'a StructArray, column: &'a str) -> Result<Self, ConvertError> {
        Ok(Self {
            column,
            array,
            ty: child(array, "type", column)?,
            string: child(array, "string_value", column)?,
            boolean: child(array, "bool_value", column)?,
            int: child(array, "int_value", column)?,
            double: child(array, "double_value", column)?,
            bytes: child(array, "bytes_value", column)?,
            nested: child(array, "nested_value", column)?,
        })
    }

    /// The AnyValue at index `i` of the struct column.
    pub(crate) fn get(&self, i: usize) -> Result<Option<AnyValue>, ConvertError> {
        if self.array.is_null(i) {
            return Ok(None);
        }
        let value = match self.ty.value(i) {
            EMPTY => None,
            STRING => Some(Value::StringValue(self.string.value(i).to_string())),
            BOOL => Some(Value::BoolValue(self.boolean.value(i))),
            INT => Some(Value::IntValue(self.int.value(i))),
            DOUBLE => Some(Value::DoubleValue(self.double.value(i))),
            BYTES => Some(Value::BytesValue(self.bytes.value(i).to_vec())),
            STRINDEX => {
                let raw = self.int.value(i);
                let index =
                    i32::try_from(raw).map_err(|_| self.invalid(i, "strindex out of range"))?;
                Some(Value::StringValueStrindex(index))
            }
            ARRAY => Some(Value::ArrayValue(
                ArrayValue::decode(self.nested.value(i)).map_err(|e| self.decode(i, e))?,
            )),
            KVLIST => Some(Value::KvlistValue(
                KeyValueList::decode(self.nested.value(i)).map_err(|e| self.decode(i, e))?,
            )),
            other => return Err(self.invalid(i, &format!("unknown AnyValue type tag {other}"))),
        };
        Ok(Some(AnyValue { value }))
    }

    fn invalid(&self, i: usize, reason: &str) -> ConvertError {
        ConvertError::InvalidValue {
            column: self.column.to_string(),
            row: i,
            reason: reason.to_string(),
        }
    }

    fn decode(&self, i: usize, source: prost::DecodeError) -> ConvertError {
        ConvertError::Decode {
            column: self.column.to_string(),
            row: i,
            source,
        }
    }
}
