//! [`FileReader`]: iterates the finalized files of one signal, oldest first, optionally within a
//! time range, as Arrow [`RecordBatch`]es or as OTLP export requests.
//!
//! Invariants: it never opens temporary (`.*.tmp`) or partial files, nor the quarantine folder;
//! it never writes. A damaged file is one error naming it (the iteration then goes on with the
//! next file), never a panic or an abort: IPC streams are read by the defensive
//! [`IpcStream`], Parquet decoding runs under `catch_unwind`. The time range applies to the time in the file *names* (when each file was
//! opened, in whole seconds): a file is selected when `from <= opened_at < until`.

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use arrow_array::RecordBatch;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::error::{FileError, ReadError};
use super::ipc::{IpcStream, guard_panics};
use super::name::{FileInfo, list_finalized, list_temps};
use super::options::Format;
use crate::Signal;
use crate::convert;

/// One OTLP export request rebuilt from one record batch.
#[derive(Debug, Clone, PartialEq)]
pub enum OtlpRequest {
    /// From a `traces` file.
    Traces(ExportTraceServiceRequest),
    /// From a `metrics` file.
    Metrics(ExportMetricsServiceRequest),
    /// From a `logs` file.
    Logs(ExportLogsServiceRequest),
}

/// Reader of the finalized files of one signal under an output directory.
#[derive(Debug, Clone)]
pub struct FileReader {
    root: PathBuf,
    signal: Signal,
    from: Option<SystemTime>,
    until: Option<SystemTime>,
}

impl FileReader {
    /// A reader of `signal` files in the output directory `dir` (the folder holding `traces/`,
    /// `metrics/`, `logs/`). No lock is taken: reading while a store writes is safe.
    pub fn new(dir: impl AsRef<Path>, signal: Signal) -> FileReader {
        FileReader {
            root: dir.as_ref().to_path_buf(),
            signal,
            from: None,
            until: None,
        }
    }

    /// Only files opened at or after `from`.
    pub fn since(mut self, from: SystemTime) -> Self {
        self.from = Some(from);
        self
    }

    /// Only files opened before `until`.
    pub fn until(mut self, until: SystemTime) -> Self {
        self.until = Some(until);
        self
    }

    /// The selected finalized files, oldest first.
    pub fn files(&self) -> Result<Vec<FileInfo>, ReadError> {
        self.listed(list_finalized)
    }

    /// The selected temporary streams (`.<final name>.tmp`), oldest first: files a writer is
    /// appending to, or that a crash left for the next start's recovery. Their complete record
    /// batches are on disk (`IpcStream` reads them, then reports the end the stream lacks); a
    /// stream may be renamed into place (or removed) at any moment, so a caller that lists
    /// both kinds lists these first and lets a final name win. `path` is the stream's own.
    pub fn temp_files(&self) -> Result<Vec<FileInfo>, ReadError> {
        self.listed(list_temps)
    }

    fn listed(
        &self,
        list: fn(&Path, Signal) -> std::io::Result<Vec<FileInfo>>,
    ) -> Result<Vec<FileInfo>, ReadError> {
        let dir = self.root.join(self.signal.as_str());
        let mut files = list(&dir, self.signal).map_err(|e| FileError::io("list", &dir, e))?;
        files.retain(|f| {
            self.from.is_none_or(|from| f.opened_at >= from)
                && self.until.is_none_or(|until| f.opened_at < until)
        });
        Ok(files)
    }

    /// The record batches of the selected files, in order. An unreadable file yields one error
    /// item and iteration goes on with the next file.
    pub fn batches(&self) -> Result<Batches, ReadError> {
        Ok(Batches {
            files: self.files()?.into(),
            current: None,
        })
    }

    /// The selected files as OTLP export requests, one per record batch.
    pub fn requests(&self) -> Result<Requests, ReadError> {
        Ok(Requests {
            signal: self.signal,
            batches: self.batches()?,
        })
    }
}

enum Source {
    Ipc(IpcStream),
    Parquet(ParquetRecordBatchReader),
}

/// A Parquet failure (or a caught panic of its decoder) on `path`, as an error naming it.
pub(crate) fn parquet_damaged(path: &Path, what: String) -> FileError {
    FileError::arrow(
        "read",
        path,
        arrow_schema::ArrowError::ParquetError(format!("damaged Parquet file: {what}")),
    )
}

fn open(info: &FileInfo) -> Result<Source, FileError> {
    let path = &info.path;
    match info.format {
        Format::Arrow => IpcStream::open(path, None).map(Source::Ipc),
        Format::Parquet => {
            let file = File::open(path).map_err(|e| FileError::io("open", path, e))?;
            let built = guard_panics(|| {
                Some(ParquetRecordBatchReaderBuilder::try_new(file).and_then(|b| b.build()))
            });
            match built {
                Some(Ok(reader)) => Ok(Source::Parquet(reader)),
                Some(Err(what)) => Err(parquet_damaged(path, what)),
                None => Err(parquet_damaged(path, "no reader".into())),
            }
        }
    }
}

/// Iterator over the record batches of a [`FileReader`]'s files.
pub struct Batches {
    files: VecDeque<FileInfo>,
    current: Option<(PathBuf, Source)>,
}

impl fmt::Debug for Batches {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batches")
            .field("remaining_files", &self.files.len())
            .field("current", &self.current.as_ref().map(|(p, _)| p))
            .finish()
    }
}

impl Batches {
    /// The file the last batch came from.
    pub fn current_path(&self) -> Option<&Path> {
        self.current.as_ref().map(|(p, _)| p.as_path())
    }
}

impl Iterator for Batches {
    type Item = Result<RecordBatch, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((path, source)) = &mut self.current {
                let next = match source {
                    Source::Ipc(r) => r.next(),
                    Source::Parquet(r) => guard_panics(|| r.next())
                        .map(|b| b.map_err(|what| parquet_damaged(path, what))),
                };
                match next {
                    Some(Ok(batch)) => return Some(Ok(batch)),
                    Some(Err(e)) => {
                        // A broken file: report it once, then go on with the next one.
                        self.current = None;
                        return Some(Err(e.into()));
                    }
                    None => self.current = None,
                }
            }
            let info = self.files.pop_front()?;
            match open(&info) {
                Ok(source) => self.current = Some((info.path, source)),
                // Deleted by retention since the listing: skip it.
                Err(e) if e.io_kind() == Some(std::io::ErrorKind::NotFound) => {}
                Err(e) => return Some(Err(e.into())),
            }
        }
    }
}

/// Iterator over the OTLP requests of a [`FileReader`]'s files.
#[derive(Debug)]
pub struct Requests {
    signal: Signal,
    batches: Batches,
}

impl Iterator for Requests {
    type Item = Result<OtlpRequest, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = match self.batches.next()? {
            Ok(b) => b,
            Err(e) => return Some(Err(e)),
        };
        let converted = match self.signal {
            Signal::Traces => convert::arrow_to_traces(&batch).map(OtlpRequest::Traces),
            Signal::Metrics => convert::arrow_to_metrics(&batch).map(OtlpRequest::Metrics),
            Signal::Logs => convert::arrow_to_logs(&batch).map(OtlpRequest::Logs),
        };
        Some(converted.map_err(|source| {
            ReadError::Convert {
                path: self
                    .batches
                    .current_path()
                    .map(Path::to_path_buf)
                    .unwrap_or_default(),
                source,
            }
        }))
    }
}
