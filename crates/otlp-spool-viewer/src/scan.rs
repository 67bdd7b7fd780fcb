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

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_buffer::Buffer;
use arrow_ipc::reader::StreamReader;
use arrow_schema::SchemaRef;
use otlp_spool_storage::Format;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use crate::error::ViewerError;
use crate::files::{FileState, SpoolFile};
use crate::index::Work;

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

/// Reads one IPC message of a file of `file_len` bytes: its flatbuffer metadata bytes and its
/// body length; `None` at the end of the stream, at a torn tail, or when a length claims more
/// than the file holds (a corrupt file never makes it allocate more than its own size).
pub(crate) fn read_message(r: &mut impl Read, file_len: u64) -> Option<(Vec<u8>, u64)> {
    let mut word = [0u8; 4];
    r.read_exact(&mut word).ok()?;
    let mut len = i32::from_le_bytes(word);
    if len == -1 {
        r.read_exact(&mut word).ok()?;
        len = i32::from_le_bytes(word);
    }
    if len <= 0 || len as u64 > file_len {
        return None;
    }
    let mut meta = vec![0u8; len as usize];
    r.read_exact(&mut meta).ok()?;
    let body = u64::try_from(arrow_ipc::root_as_message(&meta).ok()?.bodyLength()).ok()?;
    (body <= file_len).then_some((meta, body))
}

fn read_body(r: &mut impl Read, len: u64) -> Option<Buffer> {
    let mut body = vec![0u8; usize::try_from(len).ok()?];
    r.read_exact(&mut body).ok()?;
    Some(Buffer::from_vec(body))
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
    if file.format == Format::Parquet {
        // Parquet batches come from row groups: read them in order, keep the wanted ones.
        work.bytes_scanned += file.bytes;
        let mut out = Vec::new();
        for (i, batch) in scan(file, columns)?.enumerate() {
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
    let handle = match File::open(&file.path) {
        Ok(h) => h,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && file.state == FileState::Active => {
            // Renamed into place meanwhile: the finalized file has the same batches.
            let mut renamed = file.clone();
            renamed.path = file.path.with_file_name(&file.name);
            renamed.state = FileState::Finalized;
            return scan_selected(&renamed, wanted, columns, work);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ViewerError::io("open", &file.path, e)),
    };
    let file_len = handle.metadata().map_or(file.bytes, |m| m.len());
    let mut r = BufReader::with_capacity(256 * 1024, handle);
    let bad = |what: String| ViewerError::file(&file.path, what);
    let mut schema: Option<SchemaRef> = None;
    let mut projection: Option<Vec<usize>> = None;
    let mut dictionaries: HashMap<i64, ArrayRef> = HashMap::new();
    let mut out = Vec::new();
    let mut index: u32 = 0;
    while let Some((meta, body_len)) = read_message(&mut r, file_len) {
        let message = arrow_ipc::root_as_message(&meta).map_err(|e| bad(e.to_string()))?;
        if let Some(fb) = message.header_as_schema() {
            let s =
                Arc::new(arrow_ipc::convert::try_fb_to_schema(fb).map_err(|e| bad(e.to_string()))?);
            projection =
                columns.map(|names| names.iter().filter_map(|n| s.index_of(n).ok()).collect());
            schema = Some(s);
            r.seek(SeekFrom::Current(body_len as i64))
                .map_err(|e| ViewerError::io("seek", &file.path, e))?;
        } else if let Some(dict) = message.header_as_dictionary_batch() {
            let Some(schema) = &schema else {
                return Err(bad("dictionary before schema".into()));
            };
            let Some(body) = read_body(&mut r, body_len) else {
                break;
            };
            arrow_ipc::reader::read_dictionary(
                &body,
                dict,
                schema,
                &mut dictionaries,
                &message.version(),
            )
            .map_err(|e| bad(e.to_string()))?;
        } else if let Some(batch) = message.header_as_record_batch() {
            let here = index;
            index += 1;
            if wanted.binary_search(&here).is_err() {
                r.seek(SeekFrom::Current(body_len as i64))
                    .map_err(|e| ViewerError::io("seek", &file.path, e))?;
                continue;
            }
            let Some(schema) = &schema else {
                return Err(bad("record batch before schema".into()));
            };
            let Some(body) = read_body(&mut r, body_len) else {
                break;
            };
            work.bytes_scanned += body_len;
            let decoded = arrow_ipc::reader::read_record_batch(
                &body,
                batch,
                schema.clone(),
                &dictionaries,
                projection.as_deref(),
                &message.version(),
            )
            .map_err(|e| bad(e.to_string()))?;
            out.push((here, decoded));
            if wanted.last().is_some_and(|&last| here >= last) {
                break;
            }
        } else {
            r.seek(SeekFrom::Current(body_len as i64))
                .map_err(|e| ViewerError::io("seek", &file.path, e))?;
        }
    }
    Ok(out)
}
