//! The errors of conversion: [`ConvertError`] (why a conversion failed, in either direction) and
//! [`PushError`] (a streaming push that failed, with how much of it was already emitted).

use arrow_schema::ArrowError;

/// Why a conversion between OTLP and Arrow failed. Every variant names the column (or OTLP field)
/// at fault, so a bad file can be diagnosed from the message alone.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The batch has no column of this name (it was not written by this schema).
    #[error("column `{column}` is missing")]
    MissingColumn {
        /// The column that was looked for.
        column: String,
    },
    /// The column exists but has another Arrow type than the schema says.
    #[error("column `{column}` has type {found}, expected {expected}")]
    WrongType {
        /// The column at fault.
        column: String,
        /// The type the schema declares.
        expected: String,
        /// The type found in the batch.
        found: String,
    },
    /// A value in a column cannot be turned back into OTLP (bad hex, unknown enum tag, ...).
    #[error("column `{column}`, row {row}: {reason}")]
    InvalidValue {
        /// The column at fault.
        column: String,
        /// The index at fault: the batch row for top-level columns, the element index within
        /// the nested array for nested columns (e.g. `attributes.value`).
        row: usize,
        /// What is wrong with the value.
        reason: String,
    },
    /// The batch's schema metadata names a schema version this build cannot read.
    #[error("schema version `{found}` is not supported (this build reads `{expected}`)")]
    UnsupportedVersion {
        /// The version found in the metadata (empty if absent).
        found: String,
        /// The version this build writes and reads.
        expected: String,
    },
    /// The batch's schema metadata says it holds another signal.
    #[error("batch holds `{found}` data, expected `{expected}`")]
    WrongSignal {
        /// The signal named in the metadata.
        found: String,
        /// The signal the caller asked to read.
        expected: crate::Signal,
    },
    /// Arrow refused to assemble a batch or array.
    #[error("arrow error while building `{column}`: {source}")]
    Arrow {
        /// The column (or batch) being built.
        column: String,
        /// The underlying Arrow error.
        #[source]
        source: ArrowError,
    },
    /// A nested AnyValue (array or key-value list) held in a binary column failed to decode.
    #[error("column `{column}`, row {row}: protobuf AnyValue does not decode: {source}")]
    Decode {
        /// The column at fault.
        column: String,
        /// The element index within the nested AnyValue array at fault.
        row: usize,
        /// The prost error.
        #[source]
        source: prost::DecodeError,
    },
    /// The protobuf input does not decode (framing, wire type, recursion limit): the same
    /// inputs prost refuses.
    #[error("protobuf input does not decode at byte {offset} ({at}): {reason}")]
    Malformed {
        /// The field path being read (e.g. `resource_spans.scope_spans.spans.attributes`).
        at: String,
        /// Byte offset of the offending field in the pushed request.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// A string field of the protobuf input is not UTF-8.
    #[error("protobuf input: string at byte {offset} ({at}) is not UTF-8")]
    InvalidUtf8 {
        /// The field path of the string.
        at: String,
        /// Byte offset of the string's field in the pushed request.
        offset: usize,
    },
    /// One item (with the container entries it brought into its batch) pushed a batch past
    /// the absolute cap [`BatchLimits::hard_batch_bytes`](crate::BatchLimits::hard_batch_bytes).
    #[error(
        "an item brings its record batch to {bytes} bytes of Arrow memory, over the cap of {limit}"
    )]
    ItemTooLarge {
        /// The Arrow bytes of the batch with the item.
        bytes: usize,
        /// The cap.
        limit: usize,
    },
    /// A request of one signal was pushed into a converter of another.
    #[error("a {given} request was pushed into a {converter} converter")]
    SignalMismatch {
        /// The converter's signal.
        converter: crate::Signal,
        /// The request's signal.
        given: crate::Signal,
    },
}

/// A push into a [`Converter`](crate::Converter) that failed.
///
/// What is kept: the rows of this request that were still pending in the converter are taken
/// out again, so the pending batch is what it was before the push; the converter stays usable.
/// What is not: rows of this request in batches that filled up during the push were already
/// handed to the sink before the error was found. [`emitted`](Self::emitted) counts them, so
/// the request's dropped items are its items minus `emitted`.
#[derive(Debug, thiserror::Error)]
#[error("{source} ({emitted} items of the request were emitted before the error)")]
pub struct PushError {
    /// Why the push failed.
    #[source]
    pub source: ConvertError,
    /// Rows of this request already handed to the sink.
    pub emitted: usize,
}
