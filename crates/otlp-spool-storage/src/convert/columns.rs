//! Small column plumbing shared by all signals: typed column lookup with errors that name the
//! column, schema checks before reading, and list-offset builders.
//!
//! Invariant: reading never panics on a malformed batch. Every column is looked up by name and
//! downcast with a checked cast; a batch is validated against `schema(signal)` first.

use std::ops::Range;
use std::sync::Arc;

use arrow_array::types::ArrowPrimitiveType;
use arrow_array::{Array, ArrayRef, ListArray, PrimitiveArray, RecordBatch, StructArray};
use arrow_array::{BinaryArray, StringArray};
use arrow_buffer::{Buffer, NullBuffer, NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::FieldRef;

use super::ConvertError;
use super::schema::{SCHEMA_VERSION, SCHEMA_VERSION_KEY, SIGNAL_KEY, item, schema};
use crate::Signal;

/// Checks the version/signal metadata (when present) and that every column of the signal's
/// schema exists with the expected type.
pub(crate) fn check_schema(batch: &RecordBatch, signal: Signal) -> Result<(), ConvertError> {
    let batch_schema = batch.schema_ref();
    let metadata = batch_schema.metadata();
    if let Some(found) = metadata.get(SCHEMA_VERSION_KEY)
        && found != SCHEMA_VERSION
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
        if !column.data_type().equals_datatype(field.data_type()) {
            return Err(ConvertError::WrongType {
                column: field.name().clone(),
                expected: field.data_type().to_string(),
                found: column.data_type().to_string(),
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

/// Offsets and validity of a list column being built; the element builder lives beside it.
#[derive(Debug)]
pub(crate) struct ListShape {
    offsets: Vec<i32>,
    elements: usize,
    nulls: NullBufferBuilder,
}

impl ListShape {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let mut offsets = Vec::with_capacity(capacity + 1);
        offsets.push(0);
        Self {
            offsets,
            elements: 0,
            nulls: NullBufferBuilder::new(capacity),
        }
    }

    /// Closes a valid list slot whose elements end at `elements` (the element count so far).
    #[inline]
    pub(crate) fn close(&mut self, elements: usize) {
        // A wrapped offset is caught in `finish` via `self.elements`.
        self.offsets.push(elements as i32);
        self.elements = elements;
        self.nulls.append_non_null();
    }

    /// Appends a null list slot.
    #[inline]
    pub(crate) fn close_null(&mut self) {
        let last = self.offsets.last().copied().unwrap_or(0);
        self.offsets.push(last);
        self.nulls.append_null();
    }

    /// Finishes the list column over `values` (whose element field is `field`).
    pub(crate) fn finish(
        &mut self,
        field: FieldRef,
        values: ArrayRef,
        column: &str,
    ) -> Result<ListArray, ConvertError> {
        check_offset(self.elements, column)?;
        self.elements = 0;
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
        ListArray::try_new(field, offsets, values, self.nulls.finish()).map_err(|source| {
            ConvertError::Arrow {
                column: column.to_string(),
                source,
            }
        })
    }
}

/// A list of non-null primitives (`bucket_counts`, `explicit_bounds`).
#[derive(Debug)]
pub(crate) struct PrimitiveListBuilder<T: ArrowPrimitiveType> {
    shape: ListShape,
    values: Vec<T::Native>,
}

impl<T: ArrowPrimitiveType> PrimitiveListBuilder<T> {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            shape: ListShape::with_capacity(capacity),
            values: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn append(&mut self, values: &[T::Native]) {
        self.values.extend_from_slice(values);
        self.shape.close(self.values.len());
    }

    #[inline]
    pub(crate) fn append_null(&mut self) {
        self.shape.close_null();
    }

    pub(crate) fn finish(&mut self, column: &str) -> Result<ListArray, ConvertError> {
        let values =
            PrimitiveArray::<T>::new(ScalarBuffer::from(std::mem::take(&mut self.values)), None);
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
    pub(crate) fn with_capacity(items: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(items + 1);
        offsets.push(0);
        Self {
            offsets,
            data: Vec::with_capacity(bytes),
            all_str: true,
        }
    }

    /// Appends one text value.
    #[inline]
    pub(crate) fn push_str(&mut self, value: &str) {
        self.data.extend_from_slice(value.as_bytes());
        self.offsets.push(self.data.len() as i32);
    }

    /// Appends one binary value.
    #[inline]
    pub(crate) fn push(&mut self, value: &[u8]) {
        self.all_str = false;
        self.data.extend_from_slice(value);
        // A wrapped offset is caught in `finish` via `self.data.len()`.
        self.offsets.push(self.data.len() as i32);
    }

    /// Appends an empty slot (used under a null).
    #[inline]
    pub(crate) fn skip(&mut self) {
        self.offsets.push(self.data.len() as i32);
    }

    fn take(&mut self, column: &str) -> Result<(OffsetBuffer<i32>, Buffer), ConvertError> {
        check_offset(self.data.len(), column)?;
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let data = std::mem::take(&mut self.data);
        self.all_str = true;
        Ok((
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            Buffer::from_vec(data),
        ))
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
            // concatenation of whole `&str`s (`all_str`) with an offset at each boundary, so
            // it is UTF-8 and every offset is a char boundary. Skips a second UTF-8 scan of
            // text that Rust already guarantees valid.
            return Ok(unsafe { StringArray::new_unchecked(offsets, data, nulls) });
        }
        StringArray::try_new(offsets, data, nulls).map_err(|source| ConvertError::Arrow {
            column: column.to_string(),
            source,
        })
    }

    pub(crate) fn finish_binary(
        &mut self,
        nulls: Option<NullBuffer>,
        column: &str,
    ) -> Result<BinaryArray, ConvertError> {
        let (offsets, data) = self.take(column)?;
        BinaryArray::try_new(offsets, data, nulls).map_err(|source| ConvertError::Arrow {
            column: column.to_string(),
            source,
        })
    }
}
