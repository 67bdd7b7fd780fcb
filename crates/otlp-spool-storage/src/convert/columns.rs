//! Column plumbing shared by all signals: growable column buffers that can be cut back to a
//! row count (`truncate`) and report their Arrow size (`bytes`), typed column lookup with
//! errors that name the column, and the schema check before reading.
//!
//! Invariants:
//! - Every builder here can `truncate(n)` back to its first `n` slots and reports, in `bytes`,
//!   the Arrow buffer bytes its `finish` would produce (values, offsets and data; validity
//!   bitmaps count one byte per 8 slots). The batcher relies on both: truncation undoes a
//!   request that failed half-way, `bytes` decides where a batch ends.
//! - Reading never panics on a malformed batch. Every column is looked up by name and
//!   downcast with a checked cast; a batch is validated against `schema(signal)` first.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::types::{ArrowDictionaryKeyType, ArrowPrimitiveType, Int32Type};
use arrow_array::{Array, ArrayRef, DictionaryArray, ListArray, PrimitiveArray, RecordBatch};
use arrow_array::{BinaryArray, StringArray, StructArray};
use arrow_buffer::{Buffer, NullBuffer, NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::{ArrowError, DataType, FieldRef};
use otlp_spool_core::wire::is_utf8;

use super::ConvertError;
use super::schema::{SCHEMA_VERSION, SCHEMA_VERSION_KEY, SIGNAL_KEY, V1, item, schema};
use crate::Signal;

/// The most a builder reserves for the next batch, per buffer.
const RESERVE_CAP: usize = 2 << 20;

/// Takes the contents of `v` for a finished array and leaves `v` empty with room for as many
/// elements (up to 2 MiB): the next batch of a stream is usually shaped like the last, so its
/// buffers are allocated once instead of growing by doubling.
#[inline]
pub(crate) fn take_vec<T>(v: &mut Vec<T>) -> Vec<T> {
    let room = v.len().min(RESERVE_CAP / std::mem::size_of::<T>().max(1));
    std::mem::replace(v, Vec::with_capacity(room))
}

/// Like [`take_vec`] for an offsets buffer, which restarts at `[0]`.
#[inline]
fn take_offsets(v: &mut Vec<i32>) -> Vec<i32> {
    let mut next = Vec::with_capacity(v.len().min(RESERVE_CAP / 4));
    next.push(0);
    std::mem::replace(v, next)
}

/// An Arrow error while assembling `column`.
pub(crate) fn arrow(column: &str, source: ArrowError) -> ConvertError {
    ConvertError::Arrow {
        column: column.to_string(),
        source,
    }
}

/// Validity bitmap bytes of `slots` slots.
#[inline]
pub(crate) fn bitmap_bytes(slots: usize) -> usize {
    slots.div_ceil(8)
}

/// Checks the version/signal metadata (when present) and that every column of the signal's
/// schema exists with the expected type. A dictionary column may also hold its plain value
/// type (as written by schema version 1, or by readers that expand dictionaries).
pub(crate) fn check_schema(batch: &RecordBatch, signal: Signal) -> Result<(), ConvertError> {
    let batch_schema = batch.schema_ref();
    let metadata = batch_schema.metadata();
    if let Some(found) = metadata.get(SCHEMA_VERSION_KEY)
        && found != SCHEMA_VERSION
        && found != V1
    {
        return Err(ConvertError::UnsupportedVersion {
            found: found.clone(),
            expected: SCHEMA_VERSION.to_string(),
        });
    }
    if let Some(found) = metadata.get(SIGNAL_KEY)
        && found != signal.as_str()
    {
        return Err(ConvertError::WrongSignal {
            found: found.clone(),
            expected: signal,
        });
    }
    for field in schema(signal).fields() {
        let column =
            batch
                .column_by_name(field.name())
                .ok_or_else(|| ConvertError::MissingColumn {
                    column: field.name().clone(),
                })?;
        let found = column.data_type();
        let plain = match field.data_type() {
            DataType::Dictionary(_, value) => Some(value.as_ref()),
            _ => None,
        };
        if !found.equals_datatype(field.data_type())
            && !plain.is_some_and(|value| found.equals_datatype(value))
        {
            return Err(ConvertError::WrongType {
                column: field.name().clone(),
                expected: field.data_type().to_string(),
                found: found.to_string(),
            });
        }
    }
    Ok(())
}

/// The top-level column `name`, downcast to `T`.
pub(crate) fn column<'a, T: Array + 'static>(
    batch: &'a RecordBatch,
    name: &str,
) -> Result<&'a T, ConvertError> {
    let array = batch
        .column_by_name(name)
        .ok_or_else(|| ConvertError::MissingColumn {
            column: name.to_string(),
        })?;
    downcast(array, name)
}

/// A column that is either dictionary-encoded (schema v2) or plain (schema v1, or a reader
/// that expanded the dictionary): `values` downcast to `T`, and the map from rows to indices
/// into `values`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Coded<'a, T> {
    pub(crate) values: &'a T,
    keys: Option<&'a PrimitiveArray<Int32Type>>,
    name: &'a str,
}

impl<'a, T: Array + 'static> Coded<'a, T> {
    pub(crate) fn new(batch: &'a RecordBatch, name: &'a str) -> Result<Self, ConvertError> {
        let array = batch
            .column_by_name(name)
            .ok_or_else(|| ConvertError::MissingColumn {
                column: name.to_string(),
            })?;
        if let Some(dict) = array.as_any().downcast_ref::<DictionaryArray<Int32Type>>() {
            return Ok(Self {
                values: downcast(dict.values(), name)?,
                keys: Some(dict.keys()),
                name,
            });
        }
        Ok(Self {
            values: downcast(array, name)?,
            keys: None,
            name,
        })
    }

    /// The index into `values` of `row`, `None` when the row is null.
    #[inline]
    pub(crate) fn index(&self, row: usize) -> Result<Option<usize>, ConvertError> {
        let index = match self.keys {
            None => row,
            Some(keys) => {
                if keys.is_null(row) {
                    return Ok(None);
                }
                let key = keys.value(row);
                match usize::try_from(key) {
                    Ok(k) if k < self.values.len() => k,
                    _ => {
                        return Err(ConvertError::InvalidValue {
                            column: self.name.to_string(),
                            row,
                            reason: format!("dictionary key {key} out of range"),
                        });
                    }
                }
            }
        };
        Ok(self.values.is_valid(index).then_some(index))
    }
}

/// The child `name` of the struct column at `path`, downcast to `T`.
pub(crate) fn child<'a, T: Array + 'static>(
    parent: &'a StructArray,
    name: &str,
    path: &str,
) -> Result<&'a T, ConvertError> {
    let array = parent
        .column_by_name(name)
        .ok_or_else(|| ConvertError::MissingColumn {
            column: format!("{path}.{name}"),
        })?;
    downcast(array, &format!("{path}.{name}"))
}

/// The element array of a list column at `path`, downcast to `T`.
pub(crate) fn list_values<'a, T: Array + 'static>(
    list: &'a ListArray,
    path: &str,
) -> Result<&'a T, ConvertError> {
    downcast(list.values(), path)
}

fn downcast<'a, T: Array + 'static>(
    array: &'a ArrayRef,
    path: &str,
) -> Result<&'a T, ConvertError> {
    array
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| ConvertError::WrongType {
            column: path.to_string(),
            expected: std::any::type_name::<T>().to_string(),
            found: array.data_type().to_string(),
        })
}

/// The element range of list slot `i`, as indices into `list.values()`.
#[inline]
pub(crate) fn bounds(list: &ListArray, i: usize) -> Range<usize> {
    let offsets = list.value_offsets();
    // Offsets of a valid ListArray are non-negative and non-decreasing.
    let start = usize::try_from(offsets[i]).unwrap_or(0);
    let end = usize::try_from(offsets[i + 1]).unwrap_or(start);
    start..end.max(start)
}

/// Refuses element or byte counts past what `i32` offsets can address (instead of letting
/// `OffsetBuffer::new` panic on a wrapped offset).
fn check_offset(len: usize, column: &str) -> Result<(), ConvertError> {
    if i32::try_from(len).is_err() {
        return Err(ConvertError::InvalidValue {
            column: column.to_string(),
            row: 0,
            reason: format!("{len} elements or bytes exceed the i32 offsets of one batch"),
        });
    }
    Ok(())
}

/// A validity bitmap being built.
pub(crate) type Validity = NullBufferBuilder;

/// Offsets and validity of a list column being built; the element builder lives beside it.
#[derive(Debug)]
pub(crate) struct ListShape {
    offsets: Vec<i32>,
    nulls: Validity,
}

impl ListShape {
    pub(crate) fn new() -> Self {
        Self {
            offsets: vec![0],
            nulls: Validity::new(0),
        }
    }

    /// Closes a valid list slot whose elements end at `elements` (the element count so far).
    #[inline]
    pub(crate) fn close(&mut self, elements: usize) {
        // A wrapped offset is caught in `finish` by `check_offset`.
        self.offsets.push(elements as i32);
        self.nulls.append_non_null();
    }

    /// Appends a null list slot.
    #[inline]
    pub(crate) fn close_null(&mut self) {
        let last = self.elements() as i32;
        self.offsets.push(last);
        self.nulls.append_null();
    }

    /// The slots so far.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The elements so far (where the next slot starts).
    #[inline]
    pub(crate) fn elements(&self) -> usize {
        self.offsets.last().map_or(0, |&o| o as u32 as usize)
    }

    /// Keeps the first `slots` slots; returns how many elements they hold.
    pub(crate) fn truncate(&mut self, slots: usize) -> usize {
        self.offsets.truncate(slots + 1);
        self.nulls.truncate(slots);
        self.elements()
    }

    /// Offsets and validity bytes.
    #[inline]
    pub(crate) fn bytes(&self) -> usize {
        4 * self.offsets.len() + bitmap_bytes(self.len())
    }

    /// Finishes the list column over `values` (whose element field is `field`).
    pub(crate) fn finish(
        &mut self,
        field: FieldRef,
        values: ArrayRef,
        column: &str,
    ) -> Result<ListArray, ConvertError> {
        check_offset(values.len(), column)?;
        let offsets = take_offsets(&mut self.offsets);
        let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
        ListArray::try_new(field, offsets, values, self.nulls.finish())
            .map_err(|source| arrow(column, source))
    }
}

/// A list of non-null primitives (`bucket_counts`, `explicit_bounds`).
#[derive(Debug)]
pub(crate) struct PrimitiveListBuilder<T: ArrowPrimitiveType> {
    shape: ListShape,
    values: Vec<T::Native>,
}

impl<T: ArrowPrimitiveType> PrimitiveListBuilder<T> {
    pub(crate) fn new() -> Self {
        Self {
            shape: ListShape::new(),
            values: Vec::new(),
        }
    }

    /// Appends one value to the open slot.
    #[inline]
    pub(crate) fn push(&mut self, value: T::Native) {
        self.values.push(value);
    }

    /// Closes the open slot (a valid list of the values pushed since the last close).
    #[inline]
    pub(crate) fn close(&mut self) {
        self.shape.close(self.values.len());
    }

    #[inline]
    pub(crate) fn append(&mut self, values: &[T::Native]) {
        self.values.extend_from_slice(values);
        self.close();
    }

    #[inline]
    pub(crate) fn append_null(&mut self) {
        self.shape.close_null();
    }

    pub(crate) fn truncate(&mut self, slots: usize) {
        let elements = self.shape.truncate(slots);
        self.values.truncate(elements);
    }

    pub(crate) fn bytes(&self) -> usize {
        self.shape.bytes() + std::mem::size_of::<T::Native>() * self.values.len()
    }

    pub(crate) fn finish(&mut self, column: &str) -> Result<ListArray, ConvertError> {
        let values = PrimitiveArray::<T>::new(ScalarBuffer::from(take_vec(&mut self.values)), None);
        self.shape
            .finish(item(T::DATA_TYPE), Arc::new(values), column)
    }
}

/// Reads list slot `i` of a list of non-null primitives.
pub(crate) fn primitive_list<T: ArrowPrimitiveType>(
    list: &ListArray,
    values: &PrimitiveArray<T>,
    i: usize,
) -> Vec<T::Native> {
    let range = bounds(list, i);
    values.values()[range].to_vec()
}

/// A nullable fixed-width column.
#[derive(Debug)]
pub(crate) struct Nullable<T: ArrowPrimitiveType> {
    values: Vec<T::Native>,
    nulls: Validity,
}

impl<T: ArrowPrimitiveType> Nullable<T> {
    pub(crate) fn new() -> Self {
        Self {
            values: Vec::new(),
            nulls: Validity::new(0),
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, value: T::Native) {
        self.values.push(value);
        self.nulls.append_non_null();
    }

    #[inline]
    pub(crate) fn push_null(&mut self) {
        self.values.push(T::Native::default());
        self.nulls.append_null();
    }

    #[inline]
    pub(crate) fn push_option(&mut self, value: Option<T::Native>) {
        match value {
            Some(v) => self.push(v),
            None => self.push_null(),
        }
    }

    pub(crate) fn truncate(&mut self, len: usize) {
        self.values.truncate(len);
        self.nulls.truncate(len);
    }

    pub(crate) fn bytes(&self) -> usize {
        std::mem::size_of::<T::Native>() * self.values.len() + bitmap_bytes(self.values.len())
    }

    pub(crate) fn finish(&mut self) -> PrimitiveArray<T> {
        PrimitiveArray::new(
            ScalarBuffer::from(take_vec(&mut self.values)),
            self.nulls.finish(),
        )
    }
}

/// Bytes of a plain fixed-width column.
#[inline]
pub(crate) fn vec_bytes<T>(v: &[T]) -> usize {
    std::mem::size_of_val(v)
}

/// Finishes a plain fixed-width column.
pub(crate) fn finish_vec<T: ArrowPrimitiveType>(v: &mut Vec<T::Native>) -> ArrayRef {
    Arc::new(PrimitiveArray::<T>::new(
        ScalarBuffer::from(take_vec(v)),
        None,
    ))
}

/// A dictionary column over `values` with `keys` (shared between the columns of one container
/// level) and the row validity `nulls`.
pub(crate) fn dictionary<K: ArrowDictionaryKeyType>(
    keys: &ScalarBuffer<K::Native>,
    nulls: Option<NullBuffer>,
    values: ArrayRef,
    column: &str,
) -> Result<ArrayRef, ConvertError> {
    let keys = PrimitiveArray::<K>::new(keys.clone(), nulls);
    DictionaryArray::<K>::try_new(keys, values)
        .map(|d| Arc::new(d) as ArrayRef)
        .map_err(|source| arrow(column, source))
}

/// Bytes known to be UTF-8: made only by [`Text::new`] (which checks) or from a `&str`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Text<'a>(&'a [u8]);

impl<'a> Text<'a> {
    /// `bytes` if they are UTF-8 (short ASCII, the usual case, is checked inline:
    /// `otlp_spool_core::wire::is_utf8`).
    #[inline]
    pub(crate) fn new(bytes: &'a [u8]) -> Option<Self> {
        is_utf8(bytes).then_some(Text(bytes))
    }

    #[inline]
    pub(crate) fn of(text: &'a str) -> Self {
        Text(text.as_bytes())
    }

    #[inline]
    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.0
    }
}

/// Two lowercase hex digits per byte value.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut table = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = [DIGITS[i >> 4], DIGITS[i & 15]];
        i += 1;
    }
    table
};

/// Fills `v` with defaults up to `len` elements (usually zero or a few: a loop of pushes
/// inlines where `Vec::resize` would be a call).
#[inline]
pub(crate) fn pad<T: Default>(v: &mut Vec<T>, len: usize) {
    while v.len() < len {
        v.push(T::default());
    }
}

/// A variable-length column (Utf8 or Binary) as raw offsets and bytes: a push is two
/// `Vec` appends, cheaper than an Arrow builder's, and validity is supplied at `finish`.
#[derive(Debug)]
pub(crate) struct ByteColumn {
    offsets: Vec<i32>,
    data: Vec<u8>,
    /// True while every value came in through `push_str`, i.e. `data` is a concatenation of
    /// whole `&str`s and every offset sits on one of their boundaries.
    all_str: bool,
}

impl ByteColumn {
    pub(crate) fn new() -> Self {
        Self {
            offsets: vec![0],
            data: Vec::new(),
            all_str: true,
        }
    }

    /// Appends one text value.
    #[inline]
    pub(crate) fn push_str(&mut self, value: &str) {
        self.data.extend_from_slice(value.as_bytes());
        // A wrapped offset is caught in `finish` via `self.data.len()`.
        self.offsets.push(self.data.len() as i32);
    }

    /// Appends one checked text value.
    #[inline]
    pub(crate) fn push_text(&mut self, value: Text<'_>) {
        self.data.extend_from_slice(value.0);
        self.offsets.push(self.data.len() as i32);
    }

    /// Appends one binary value.
    #[inline]
    pub(crate) fn push(&mut self, value: &[u8]) {
        self.all_str = false;
        self.data.extend_from_slice(value);
        self.offsets.push(self.data.len() as i32);
    }

    /// Appends `bytes` as one lowercase hex text value (ASCII, so `all_str` stays true).
    #[inline]
    pub(crate) fn push_hex(&mut self, bytes: &[u8]) {
        if bytes.len() <= 16 {
            // Ids (16 and 8 bytes): the digits go to a stack buffer, then into `data` in one
            // copy, instead of one checked two-byte append per byte.
            let mut digits = [0u8; 32];
            for (pair, &b) in digits.chunks_exact_mut(2).zip(bytes) {
                pair.copy_from_slice(&HEX_PAIRS[usize::from(b)]);
            }
            self.data.extend_from_slice(&digits[..2 * bytes.len()]);
        } else {
            self.data.reserve(2 * bytes.len());
            for &b in bytes {
                self.data.extend_from_slice(&HEX_PAIRS[usize::from(b)]);
            }
        }
        self.offsets.push(self.data.len() as i32);
    }

    /// Appends an empty slot (used under a null).
    #[inline]
    pub(crate) fn skip(&mut self) {
        self.offsets.push(self.data.len() as i32);
    }

    /// Appends empty slots up to `len` slots.
    #[inline]
    pub(crate) fn pad_to(&mut self, len: usize) {
        let end = self.data.len() as i32;
        while self.offsets.len() <= len {
            self.offsets.push(end);
        }
    }

    /// Appends empty slots up to `len` slots, in bulk (for `finish`).
    pub(crate) fn fill_to(&mut self, len: usize) {
        if self.offsets.len() <= len {
            let end = self.data.len() as i32;
            self.offsets.resize(len + 1, end);
        }
    }

    /// The slots so far.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Keeps the first `len` slots (fewer if there are fewer).
    pub(crate) fn truncate(&mut self, len: usize) {
        if len < self.len() {
            self.offsets.truncate(len + 1);
            let end = self.offsets[len] as u32 as usize;
            self.data.truncate(end);
        }
    }

    /// Offsets and data bytes of `slots` slots (the slots not pushed yet are padding).
    #[inline]
    pub(crate) fn bytes_at(&self, slots: usize) -> usize {
        4 * (slots + 1) + self.data.len()
    }

    #[inline]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes_at(self.len())
    }

    fn take(&mut self, column: &str) -> Result<(OffsetBuffer<i32>, Buffer), ConvertError> {
        if self.data.is_empty() {
            // Every value is empty (a child of a type that did not occur, say): all offsets
            // are 0, so skip building and validating them.
            let offsets = OffsetBuffer::new_zeroed(self.len());
            self.offsets.truncate(1);
            self.all_str = true;
            return Ok((offsets, Buffer::from_vec(Vec::<u8>::new())));
        }
        check_offset(self.data.len(), column)?;
        let offsets = ScalarBuffer::from(take_offsets(&mut self.offsets));
        let data = take_vec(&mut self.data);
        self.all_str = true;
        // SAFETY: `OffsetBuffer::new` would accept these offsets (it checks them one by one,
        // a pass over every slot of every column of the batch): there is at least one (`[0]`
        // at the start); each is `data.len()` as it stood when pushed (`push*`, `skip`,
        // `pad_to`, `fill_to`), so they never decrease, and `truncate` keeps a prefix; `data`
        // never exceeds `i32::MAX` bytes (`check_offset` above), so none is negative.
        #[allow(unsafe_code)]
        let offsets = unsafe { OffsetBuffer::new_unchecked(offsets) };
        Ok((offsets, Buffer::from_vec(data)))
    }

    pub(crate) fn finish_utf8(
        &mut self,
        nulls: Option<NullBuffer>,
        column: &str,
    ) -> Result<StringArray, ConvertError> {
        let all_str = self.all_str;
        let (offsets, data) = self.take(column)?;
        if all_str {
            // SAFETY: `try_new` would accept this: offsets start at 0, never decrease and fit
            // in i32 (checked in `take`), the last one is `data.len()`, and `data` is a
            // concatenation of whole UTF-8 strings (`all_str`: only `push_str` (a `&str`),
            // `push_text` (a `Text`, which only exists for checked UTF-8) and `push_hex`
            // (ASCII digits) appended; `truncate` cuts at an offset, so at a boundary) with
            // an offset at each boundary, so it is UTF-8 and every offset is a char boundary.
            // Skips a second UTF-8 scan of text that Rust already guarantees valid.
            #[allow(unsafe_code)]
            let array = unsafe { StringArray::new_unchecked(offsets, data, nulls) };
            return Ok(array);
        }
        StringArray::try_new(offsets, data, nulls).map_err(|source| arrow(column, source))
    }

    pub(crate) fn finish_binary(
        &mut self,
        nulls: Option<NullBuffer>,
        column: &str,
    ) -> Result<BinaryArray, ConvertError> {
        let (offsets, data) = self.take(column)?;
        BinaryArray::try_new(offsets, data, nulls).map_err(|source| arrow(column, source))
    }
}
