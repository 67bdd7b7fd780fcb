//! Whole-file helpers for `otlp-spool replay`: counting a file's rows from its message headers
//! (no column is decoded) and keeping the rows of a batch whose own time falls in a range.

use std::fs::File;

use arrow_array::{BooleanArray, RecordBatch};
use otlp_spool_storage::{Format, IpcStream, Signal};
use parquet::file::reader::{FileReader as _, SerializedFileReader};

use crate::columns::U64;
use crate::error::ViewerError;
use crate::files::FileState;
use crate::files::SpoolFile;
use crate::index::log_time;
use crate::scan::{FileBatches, file_error, scan};

/// Every record batch of `file`, all columns (an active file: its complete batches).
pub fn read_batches(file: &SpoolFile) -> Result<FileBatches, ViewerError> {
    scan(file, None)
}

/// The rows of `file`, read from the IPC message headers (or the Parquet footer) without
/// decoding any column. An active file counts its complete messages; a damaged finalized file
/// is an error naming it.
pub fn row_count(file: &SpoolFile) -> Result<u64, ViewerError> {
    if file.format == Format::Parquet {
        let handle = File::open(&file.path).map_err(|e| ViewerError::io("open", &file.path, e))?;
        let rows = std::panic::catch_unwind(move || {
            SerializedFileReader::new(handle).map(|r| r.metadata().file_metadata().num_rows())
        });
        return match rows {
            Ok(Ok(n)) => Ok(u64::try_from(n).unwrap_or(0)),
            Ok(Err(e)) => Err(ViewerError::file(&file.path, e)),
            Err(_) => Err(ViewerError::file(&file.path, "damaged Parquet footer")),
        };
    }
    Ok(headers(file)?.0)
}

/// Rows and record batches of an Arrow IPC `file` from its message headers (bodies skipped),
/// and whether an active file ended inside a message.
pub(crate) fn headers(file: &SpoolFile) -> Result<(u64, u64, bool), ViewerError> {
    let active = file.state == FileState::Active;
    let mut stream = match IpcStream::open(&file.path, active.then_some(file.bytes)) {
        Ok(s) => s.headers_only(),
        Err(_) if active => return Ok((0, 0, file.bytes > 0)),
        Err(e) => return Err(file_error(e)),
    };
    let mut torn = false;
    let (mut rows, mut batches) = (0u64, 0u64);
    while let Some(entry) = stream.next_entry(&mut |_| false) {
        match entry {
            Ok(e) => {
                rows += e.rows;
                batches += 1;
            }
            // Stops at a torn tail of a file being written.
            Err(_) if active => {
                torn = stream.position() < file.bytes;
                break;
            }
            Err(e) => return Err(file_error(e)),
        }
    }
    Ok((rows, batches, torn))
}

/// The time `--since` / `--until` compare: span start, point time, log time (else observed).
fn row_times(signal: Signal, batch: &RecordBatch) -> Vec<u64> {
    let n = batch.num_rows();
    match signal {
        Signal::Traces => {
            let t = U64::of(batch, "start_time_unix_nano");
            (0..n).map(|i| t.get(i).unwrap_or(0)).collect()
        }
        Signal::Metrics => {
            let t = U64::of(batch, "time_unix_nano");
            (0..n).map(|i| t.get(i).unwrap_or(0)).collect()
        }
        Signal::Logs => {
            let (t, o) = (
                U64::of(batch, "time_unix_nano"),
                U64::of(batch, "observed_time_unix_nano"),
            );
            (0..n).map(|i| log_time(t.get(i), o.get(i))).collect()
        }
    }
}

/// The rows of `batch` whose time is in `[since, until)` (the batch itself when unbounded).
pub fn rows_in_time(
    signal: Signal,
    batch: &RecordBatch,
    since: Option<u64>,
    until: Option<u64>,
) -> Result<RecordBatch, ViewerError> {
    if since.is_none() && until.is_none() {
        return Ok(batch.clone());
    }
    let mask: BooleanArray = row_times(signal, batch)
        .into_iter()
        .map(|t| Some(since.is_none_or(|s| t >= s) && until.is_none_or(|u| t < u)))
        .collect();
    arrow_select::filter::filter_record_batch(batch, &mask)
        .map_err(|e| ViewerError::Read(format!("filtering by time: {e}")))
}
