//! `read(signal)`: the finalized files of one signal as Arrow record batches, handed to
//! pyarrow (or polars, DuckDB...) through the Arrow C stream interface.
//!
//! Invariants: only finalized files are read (the storage crate's [`FileReader`] never opens
//! temporary or quarantined files) and nothing is written; every batch of the result has the
//! same schema, or the read fails naming the file that differs; the batches are read in
//! full before Python sees them, so a broken file is an error of `read`, not of a half-consumed
//! stream. No Python object is touched while files are read.

use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{RecordBatch, RecordBatchIterator};
use arrow_schema::SchemaRef;
use otlp_spool_core::Signal;
use otlp_spool_storage::FileReader;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

/// Why the files could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadSignalError {
    /// A file (or the folder) could not be read.
    #[error(transparent)]
    Read(#[from] otlp_spool_storage::ReadError),
    /// A file holds another schema than the files before it (written by another version).
    #[error(
        "{path} has another schema than the {signal} files before it (schema version {found} \
         after {first}); read the files of each version separately"
    )]
    MixedSchemas {
        /// The signal read.
        signal: Signal,
        /// The first file whose schema differs.
        path: PathBuf,
        /// The schema version of the first files.
        first: String,
        /// The schema version of `path`.
        found: String,
    },
}

/// The record batches of every finalized `signal` file under `dir`, oldest file first, and
/// their schema (the storage crate's current schema when there is no file yet).
pub fn read_signal(
    dir: &Path,
    signal: Signal,
) -> Result<(SchemaRef, Vec<RecordBatch>), ReadSignalError> {
    let mut files = FileReader::new(dir, signal).batches()?;
    let mut schema: Option<SchemaRef> = None;
    let mut batches = Vec::new();
    while let Some(batch) = files.next() {
        let batch = batch?;
        match &schema {
            None => schema = Some(batch.schema()),
            Some(first) if first.fields() != batch.schema().fields() => {
                return Err(ReadSignalError::MixedSchemas {
                    signal,
                    path: files
                        .current_path()
                        .map(Path::to_path_buf)
                        .unwrap_or_default(),
                    first: schema_version(first),
                    found: schema_version(&batch.schema()),
                });
            }
            Some(_) => {}
        }
        batches.push(batch);
    }
    let schema = schema.unwrap_or_else(|| otlp_spool_storage::schema(signal));
    Ok((schema, batches))
}

fn schema_version(schema: &SchemaRef) -> String {
    schema
        .metadata()
        .get(otlp_spool_storage::SCHEMA_VERSION_KEY)
        .cloned()
        .unwrap_or_else(|| "unknown".into())
}

/// The name the Arrow PyCapsule interface gives a stream capsule.
const STREAM_CAPSULE: &CStr = c"arrow_array_stream";

/// Record batches read from the files, exported through the Arrow C stream interface:
/// `pyarrow.table(stream)`, `polars.from_arrow(stream)` or anything that takes an object with
/// `__arrow_c_stream__`.
#[pyclass(module = "otlp_spool._native", frozen)]
#[derive(Debug)]
pub struct ArrowStream {
    schema: SchemaRef,
    batches: Arc<[RecordBatch]>,
}

impl ArrowStream {
    /// A stream over `batches`, all of `schema`.
    pub fn new(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        Self {
            schema,
            batches: batches.into(),
        }
    }
}

#[pymethods]
impl ArrowStream {
    /// Exports the batches as an `ArrowArrayStream` capsule (the Arrow PyCapsule interface).
    /// Each call gives a new stream over the same batches. `requested_schema` is ignored: the
    /// stream is always in the files' own schema.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let batches: Vec<RecordBatch> = self.batches.to_vec();
        let reader = RecordBatchIterator::new(batches.into_iter().map(Ok), self.schema.clone());
        let stream = FFI_ArrowArrayStream::new(Box::new(reader));
        // The capsule owns the stream; a consumer moves it out (leaving it released), and
        // dropping an unconsumed one calls its release callback.
        PyCapsule::new_with_value(py, stream, STREAM_CAPSULE)
    }

    /// The number of rows in all batches.
    #[getter]
    fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// The number of record batches.
    #[getter]
    fn num_batches(&self) -> usize {
        self.batches.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "ArrowStream(batches={}, rows={})",
            self.batches.len(),
            self.num_rows()
        )
    }
}
