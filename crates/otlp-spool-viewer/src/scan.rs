//! Reading one spool file as record batches, decoding only the columns a query names.
//!
//! Columns are chosen by *name*, from the file's own schema, so files of any schema version
//! work (a column missing from a file is simply absent from its batches). Arrow IPC streams are
//! read with arrow-ipc's projection, which skips the buffers of other columns without
//! decompressing them; Parquet files with a root projection mask.
//!
//! [`scan_selected`] decodes only chosen batches (by their position in the file, as the index
//! recorded them): it walks the IPC messages, seeking over the bodies of the others, so a
//! lookup in a 64 MiB file decodes a few MiB.
//!
//! Invariants: an active (`.tmp`) file ends at its last complete batch: a torn or growing tail
//! ends the iteration quietly and sets [`FileBatches::torn`]. A finalized file that fails to
//! decode yields one error and ends. A file gone since the listing yields nothing, unless it is
//! an active file that was just renamed into place, which is then read under its final name.

use std::fs::File;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use otlp_spool_storage::{FileError, Format, IpcStream};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::error::ViewerError;
use crate::files::{FileState, SpoolFile};
use crate::index::Work;

enum Source {
    Ipc(IpcStream),
    Parquet(ParquetRecordBatchReader),
    Memory(std::vec::IntoIter<RecordBatch>),
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

/// A storage error as a viewer error naming the file once.
pub(crate) fn file_error(e: FileError) -> ViewerError {
    match e {
        FileError::Io { op, path, source } => ViewerError::Io { op, path, source },
        e => {
            let message =
                std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string());
            ViewerError::file(e.path(), message)
        }
    }
}

/// The IPC stream of `file`: an active file only up to its listed size, so a query reads what
/// the listing saw (and the lanes' peek, taken after the listing, never repeats its rows).
fn open_ipc(file: &SpoolFile, columns: Option<&[&str]>) -> Result<IpcStream, FileError> {
    let limit = (file.state == FileState::Active).then_some(file.bytes);
    let stream = IpcStream::open(&file.path, limit)?;
    Ok(match columns {
        Some(names) => stream.with_columns(names),
        None => stream,
    })
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

/// Runs a Parquet decode step, a panic of the decoder becoming an error message.
fn guarded<T, E: std::fmt::Display>(f: impl FnOnce() -> Result<T, E>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("the Parquet decoder failed (a panic) on damaged data".into()),
    }
}

/// The file under its final name, when an active file was renamed into place since the
/// listing (it stays "active": read up to its listed size).
fn renamed(file: &SpoolFile) -> SpoolFile {
    let mut f = file.clone();
    f.path = file.path.with_file_name(&file.name);
    if file.name.ends_with(".parquet") {
        f.format = Format::Parquet;
    }
    f
}

/// `batch` with only `columns` (those it has), or whole with `None`.
fn project(batch: &RecordBatch, columns: Option<&[&str]>) -> RecordBatch {
    match projection(batch.schema_ref(), columns) {
        Some(indices) => batch.project(&indices).unwrap_or_else(|_| batch.clone()),
        None => batch.clone(),
    }
}

/// Opens `file`, decoding only `columns` (all of them with `None`).
pub(crate) fn scan(file: &SpoolFile, columns: Option<&[&str]>) -> Result<FileBatches, ViewerError> {
    if let Some(memory) = &file.memory {
        let batches: Vec<RecordBatch> = memory.0.iter().map(|b| project(b, columns)).collect();
        return Ok(FileBatches {
            source: Source::Memory(batches.into_iter()),
            file: file.clone(),
            torn: false,
        });
    }
    let mut file = file.clone();
    if !file.path.exists() && file.state == FileState::Active {
        // Renamed into place since the listing: read the finalized file instead.
        file = renamed(&file);
    }
    let opened = match file.format {
        Format::Arrow => open_ipc(&file, columns)
            .map(Source::Ipc)
            .map_err(file_error),
        Format::Parquet => match File::open(&file.path) {
            Ok(handle) => guarded(|| open_parquet(handle, columns))
                .map(Source::Parquet)
                .map_err(|m| ViewerError::file(&file.path, m)),
            Err(e) => Err(ViewerError::io("open", &file.path, e)),
        },
    };
    match opened {
        Ok(source) => Ok(FileBatches {
            source,
            file,
            torn: false,
        }),
        // Gone since the listing (retention): nothing to read.
        Err(ViewerError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(FileBatches {
                source: Source::Done,
                file,
                torn: false,
            })
        }
        // An active file without a complete schema message yet: nothing to read.
        Err(_) if file.state == FileState::Active => Ok(FileBatches {
            source: Source::Done,
            file,
            torn: true,
        }),
        Err(e) => Err(e),
    }
}

impl Iterator for FileBatches {
    type Item = Result<RecordBatch, ViewerError>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = match &mut self.source {
            Source::Ipc(r) => r.next().map(|b| b.map_err(file_error)),
            Source::Parquet(r) => match guarded(|| r.next().transpose()) {
                Ok(b) => b.map(Ok),
                Err(m) => Some(Err(ViewerError::file(&self.file.path, m))),
            },
            Source::Memory(batches) => batches.next().map(Ok),
            Source::Done => None,
        };
        match next {
            Some(Ok(batch)) => Some(Ok(batch)),
            None => {
                self.source = Source::Done;
                None
            }
            Some(Err(e)) => {
                self.source = Source::Done;
                if self.file.state == FileState::Active {
                    self.torn = true;
                    None
                } else {
                    Some(Err(e))
                }
            }
        }
    }
}

/// The batches at positions `wanted` (sorted) of `file`, decoding only `columns` of them (all
/// with `None`) and nothing of the others; counted in `work` (bytes: the bodies read).
/// Positions count record batches from 0 in file order, as [`scan`] yields them.
pub(crate) fn scan_selected(
    file: &SpoolFile,
    wanted: &[u32],
    columns: Option<&[&str]>,
    work: &mut Work,
) -> Result<Vec<(u32, RecordBatch)>, ViewerError> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    work.files_scanned += 1;
    if let Some(memory) = &file.memory {
        return Ok(wanted
            .iter()
            .filter_map(|&i| Some((i, project(memory.0.get(i as usize)?, columns))))
            .collect());
    }
    let mut file = file.clone();
    if !file.path.exists() && file.state == FileState::Active {
        file = renamed(&file);
    }
    if file.format == Format::Parquet {
        // Parquet batches come from row groups: read them in order, keep the wanted ones.
        work.bytes_scanned += file.bytes;
        let mut out = Vec::new();
        for (i, batch) in scan(&file, columns)?.enumerate() {
            let i = i as u32;
            if wanted.binary_search(&i).is_ok() {
                out.push((i, batch?));
            }
            if wanted.last().is_some_and(|&last| i >= last) {
                break;
            }
        }
        return Ok(out);
    }
    let mut stream = match open_ipc(&file, columns) {
        Ok(s) => s,
        Err(e) if e.io_kind() == Some(std::io::ErrorKind::NotFound) => return Ok(Vec::new()),
        Err(_) if file.state == FileState::Active => return Ok(Vec::new()),
        Err(e) => return Err(file_error(e)),
    };
    let mut out = Vec::new();
    let last = wanted.last().copied().unwrap_or(0);
    while let Some(entry) = stream.next_entry(&mut |i| wanted.binary_search(&i).is_ok()) {
        let entry = match entry {
            Ok(entry) => entry,
            // A torn or growing tail of an active file ends the read quietly.
            Err(_) if file.state == FileState::Active => break,
            Err(e) => return Err(file_error(e)),
        };
        if let Some(batch) = entry.batch {
            work.bytes_scanned += entry.body_bytes;
            out.push((entry.index, batch));
        }
        if entry.index >= last {
            break;
        }
    }
    Ok(out)
}
