//! Reading one spool file as record batches, decoding only the columns a query names.
//!
//! Columns are chosen by *name*, from the file's own schema, so files of any schema version
//! work (a column missing from a file is simply absent from its batches). Arrow IPC streams are
//! read with arrow-ipc's projection, which skips the buffers of other columns without
//! decompressing them; Parquet files with a root projection mask.
//!
//! Invariants: an active (`.tmp`) file ends at its last complete batch: a torn or growing tail
//! ends the iteration quietly and sets [`FileBatches::torn`]. A finalized file that fails to
//! decode yields one error and ends. A file gone since the listing yields nothing, unless it is
//! an active file that was just renamed into place, which is then read under its final name.

use std::fs::File;
use std::io::BufReader;

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_schema::SchemaRef;
use otlp_spool_storage::Format;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::error::ViewerError;
use crate::files::{FileState, SpoolFile};

enum Source {
    Ipc(StreamReader<BufReader<File>>),
    Parquet(ParquetRecordBatchReader),
    Done,
}

/// The record batches of one spool file (see [`read_batches`](crate::read_batches)): a torn
/// or growing tail of an active file ends the iteration quietly.
pub struct FileBatches {
    source: Source,
    file: SpoolFile,
    /// Set when an active file ended inside a message (the part a writer is still writing, or
    /// the torn tail of a crash).
    torn: bool,
}

impl FileBatches {
    /// Whether an active file ended inside a message (being written, or torn by a crash).
    pub fn torn(&self) -> bool {
        self.torn
    }
}

impl std::fmt::Debug for FileBatches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileBatches")
            .field("file", &self.file.path)
            .field("torn", &self.torn)
            .finish_non_exhaustive()
    }
}

fn projection(schema: &SchemaRef, columns: Option<&[&str]>) -> Option<Vec<usize>> {
    columns.map(|names| {
        names
            .iter()
            .filter_map(|n| schema.index_of(n).ok())
            .collect()
    })
}

/// Reads the schema message, then reopens the stream (same open file description, rewound)
/// with the projection computed from it.
fn open_ipc(
    file: &File,
    columns: Option<&[&str]>,
) -> Result<StreamReader<BufReader<File>>, String> {
    use std::io::Seek as _;
    let mut handle = file.try_clone().map_err(|e| e.to_string())?;
    let schema = StreamReader::try_new(BufReader::new(&mut handle), None)
        .map_err(|e| e.to_string())?
        .schema();
    handle.rewind().map_err(|e| e.to_string())?;
    StreamReader::try_new(
        BufReader::with_capacity(1 << 20, handle),
        projection(&schema, columns),
    )
    .map_err(|e| e.to_string())
}

fn open_parquet(file: File, columns: Option<&[&str]>) -> Result<ParquetRecordBatchReader, String> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| e.to_string())?;
    let builder = match projection(builder.schema(), columns) {
        Some(indices) => {
            let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
            builder.with_projection(mask)
        }
        None => builder,
    };
    builder
        .with_batch_size(8192)
        .build()
        .map_err(|e| e.to_string())
}

/// Opens `file`, decoding only `columns` (all of them with `None`).
pub(crate) fn scan(file: &SpoolFile, columns: Option<&[&str]>) -> Result<FileBatches, ViewerError> {
    let mut file = file.clone();
    let handle = match File::open(&file.path) {
        Ok(h) => Some(h),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if file.state == FileState::Active {
                // Renamed into place since the listing: read the finalized file instead.
                let final_path = file.path.with_file_name(&file.name);
                file.format = if file.name.ends_with(".parquet") {
                    Format::Parquet
                } else {
                    Format::Arrow
                };
                file.path = final_path;
                file.state = FileState::Finalized;
                File::open(&file.path).ok()
            } else {
                None
            }
        }
        Err(e) => return Err(ViewerError::io("open", &file.path, e)),
    };
    let Some(handle) = handle else {
        return Ok(FileBatches {
            source: Source::Done,
            file,
            torn: false,
        });
    };
    let opened = match file.format {
        Format::Arrow => open_ipc(&handle, columns).map(Source::Ipc),
        Format::Parquet => open_parquet(handle, columns).map(Source::Parquet),
    };
    match opened {
        Ok(source) => Ok(FileBatches {
            source,
            file,
            torn: false,
        }),
        // An active file without a complete schema message yet: nothing to read.
        Err(_) if file.state == FileState::Active => Ok(FileBatches {
            source: Source::Done,
            file,
            torn: true,
        }),
        Err(message) => Err(ViewerError::file(&file.path, message)),
    }
}

impl Iterator for FileBatches {
    type Item = Result<RecordBatch, ViewerError>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = match &mut self.source {
            Source::Ipc(r) => r.next().map(|b| b.map_err(|e| e.to_string())),
            Source::Parquet(r) => r.next().map(|b| b.map_err(|e| e.to_string())),
            Source::Done => None,
        };
        match next {
            Some(Ok(batch)) => Some(Ok(batch)),
            None => {
                self.source = Source::Done;
                None
            }
            Some(Err(message)) => {
                self.source = Source::Done;
                if self.file.state == FileState::Active {
                    self.torn = true;
                    None
                } else {
                    Some(Err(ViewerError::file(&self.file.path, message)))
                }
            }
        }
    }
}
