//! The one error type of conversion in both directions.

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
}
