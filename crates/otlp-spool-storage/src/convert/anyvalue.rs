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
use super::columns::{ByteColumn, Text, arrow, bitmap_bytes, child, pad, take_vec};
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
/// The builder's tag of an absent AnyValue (a null struct slot), written as `EMPTY`.
const ABSENT: u8 = 0x80;

/// Builds the AnyValue struct column, one slot per `append_*`.
///
/// Hot path (every attribute value goes through it): an append pushes the slot's validity and
/// type tag and writes only the one typed child that holds the value. The other children are
/// padded lazily (a child is filled up to the slot index only when a value of its type
/// arrives, and to the full length in `finish`), and their validity bitmaps are derived from
/// `ty` once, in `finish`.
#[derive(Debug)]
pub(crate) struct AnyValueBuilder {
    /// Type tags, `ABSENT` for a null slot.
    ty: Vec<u8>,
    string: ByteColumn,
    boolean: Vec<bool>,
    /// Int values and strindexes (type 8).
    int: Vec<i64>,
    double: Vec<f64>,
    bytes: ByteColumn,
    nested: ByteColumn,
    scratch: Vec<u8>,
    error: Option<prost::EncodeError>,
}

impl AnyValueBuilder {
    pub(crate) fn new() -> Self {
        Self {
            ty: Vec::new(),
            string: ByteColumn::new(),
            boolean: Vec::new(),
            int: Vec::new(),
            double: Vec::new(),
            bytes: ByteColumn::new(),
            nested: ByteColumn::new(),
            scratch: Vec::new(),
            error: None,
        }
    }

    #[inline]
    fn slot(&mut self, ty: u8) -> usize {
        let i = self.ty.len();
        self.ty.push(ty);
        i
    }

    /// No AnyValue at all (a null struct slot).
    #[inline]
    pub(crate) fn append_absent(&mut self) {
        self.slot(ABSENT);
    }

    /// An AnyValue with no value set (type 0).
    #[inline]
    pub(crate) fn append_empty(&mut self) {
        self.slot(EMPTY);
    }

    #[inline]
    pub(crate) fn append_str(&mut self, value: Text<'_>) {
        let i = self.slot(STRING);
        self.string.pad_to(i);
        self.string.push_text(value);
    }

    #[inline]
    pub(crate) fn append_bool(&mut self, value: bool) {
        let i = self.slot(BOOL);
        pad(&mut self.boolean, i);
        self.boolean.push(value);
    }

    #[inline]
    pub(crate) fn append_int(&mut self, value: i64) {
        let i = self.slot(INT);
        pad(&mut self.int, i);
        self.int.push(value);
    }

    #[inline]
    pub(crate) fn append_strindex(&mut self, value: i32) {
        let i = self.slot(STRINDEX);
        pad(&mut self.int, i);
        self.int.push(i64::from(value));
    }

    #[inline]
    pub(crate) fn append_double(&mut self, value: f64) {
        let i = self.slot(DOUBLE);
        pad(&mut self.double, i);
        self.double.push(value);
    }

    #[inline]
    pub(crate) fn append_bytes(&mut self, value: &[u8]) {
        let i = self.slot(BYTES);
        self.bytes.pad_to(i);
        self.bytes.push(value);
    }

    /// An array (`kvlist == false`) or key-value list, as the protobuf encoding prost gives
    /// the decoded `ArrayValue` / `KeyValueList` message.
    #[inline]
    pub(crate) fn append_nested(&mut self, kvlist: bool, encoding: &[u8]) {
        let i = self.slot(if kvlist { KVLIST } else { ARRAY });
        self.nested.pad_to(i);
        self.nested.push(encoding);
    }

    /// Appends one prost AnyValue (`None` = absent, a null struct slot).
    #[inline]
    pub(crate) fn append(&mut self, value: Option<&AnyValue>) {
        let Some(value) = value else {
            return self.append_absent();
        };
        match &value.value {
            None => self.append_empty(),
            Some(Value::StringValue(s)) => self.append_str(Text::of(s)),
            Some(Value::BoolValue(b)) => self.append_bool(*b),
            Some(Value::IntValue(i)) => self.append_int(*i),
            Some(Value::StringValueStrindex(i)) => self.append_strindex(*i),
            Some(Value::DoubleValue(d)) => self.append_double(*d),
            Some(Value::BytesValue(b)) => self.append_bytes(b),
            Some(Value::ArrayValue(a)) => self.nested_message(false, a),
            Some(Value::KvlistValue(l)) => self.nested_message(true, l),
        }
    }

    fn nested_message(&mut self, kvlist: bool, message: &impl Message) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        if let Err(e) = message.encode(&mut scratch) {
            self.error.get_or_insert(e);
        }
        self.append_nested(kvlist, &scratch);
        self.scratch = scratch;
    }

    /// Keeps the first `len` slots.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.ty.truncate(len);
        self.string.truncate(len);
        self.boolean.truncate(len);
        self.int.truncate(len);
        self.double.truncate(len);
        self.bytes.truncate(len);
        self.nested.truncate(len);
    }

    /// The Arrow bytes of the finished column.
    #[inline]
    pub(crate) fn bytes(&self) -> usize {
        let n = self.ty.len();
        // type (1) + int (8) + double (8); bool values and 7 validity bitmaps.
        17 * n
            + 8 * bitmap_bytes(n)
            + self.string.bytes_at(n)
            + self.bytes.bytes_at(n)
            + self.nested.bytes_at(n)
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
        let n = self.ty.len();
        let mut ty = take_vec(&mut self.ty);
        let ([string, boolean_nulls, int, double, bytes, nested], nulls) = validity(&ty);
        if nulls.is_some() {
            // Absent slots are null in the struct and carry the empty tag.
            for t in &mut ty {
                if *t == ABSENT {
                    *t = EMPTY;
                }
            }
        }
        self.string.fill_to(n);
        self.bytes.fill_to(n);
        self.nested.fill_to(n);
        self.boolean.resize(n, false);
        self.int.resize(n, 0);
        self.double.resize(n, 0.0);
        let boolean = BooleanBuffer::from(take_vec(&mut self.boolean));
        let children: Vec<ArrayRef> = vec![
            Arc::new(UInt8Array::from(ty)),
            Arc::new(self.string.finish_utf8(Some(string), column)?),
            Arc::new(BooleanArray::new(boolean, Some(boolean_nulls))),
            Arc::new(Int64Array::new(
                ScalarBuffer::from(take_vec(&mut self.int)),
                Some(int),
            )),
            Arc::new(Float64Array::new(
                ScalarBuffer::from(take_vec(&mut self.double)),
                Some(double),
            )),
            Arc::new(self.bytes.finish_binary(Some(bytes), column)?),
            Arc::new(self.nested.finish_binary(Some(nested), column)?),
        ];
        StructArray::try_new(any_value_fields(), children, nulls)
            .map_err(|source| arrow(column, source))
    }
}

/// Which typed child (0 string, 1 bool, 2 int, 3 double, 4 bytes, 5 nested; 6 none) holds
/// the value of each type tag (`ABSENT & 15` is `EMPTY`'s: none).
const SLOT: [usize; 16] = [6, 0, 1, 2, 3, 5, 5, 4, 2, 6, 6, 6, 6, 6, 6, 6];

/// The validity bitmaps of the six typed children, and of the struct itself if a slot is
/// `ABSENT`, in one pass over the type tags.
fn validity(ty: &[u8]) -> ([NullBuffer; 6], Option<NullBuffer>) {
    let words = ty.len().div_ceil(64);
    let mut masks: [Vec<u64>; 7] = std::array::from_fn(|_| Vec::with_capacity(words));
    let mut any_absent = false;
    for chunk in ty.chunks(64) {
        let mut w = [0u64; 8];
        for (bit, &tag) in chunk.iter().enumerate() {
            w[SLOT[usize::from(tag & 15)]] |= 1 << bit;
            w[7] |= u64::from(tag != ABSENT) << bit;
        }
        let full = if chunk.len() == 64 {
            u64::MAX
        } else {
            (1 << chunk.len()) - 1
        };
        any_absent |= w[7] != full;
        for (mask, word) in masks.iter_mut().zip(w.into_iter().take(6).chain([w[7]])) {
            mask.push(word.to_le());
        }
    }
    let len = ty.len();
    let [string, boolean, int, double, bytes, nested, present] =
        masks.map(|m| NullBuffer::new(BooleanBuffer::new(Buffer::from_vec(m), 0, len)));
    let children = [string, boolean, int, double, bytes, nested];
    (children, any_absent.then_some(present))
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
