//! Whole-file helpers for `otlp-spool replay`: counting a file's rows from its message headers
//! (no column is decoded) and keeping the rows of a batch whose own time falls in a range.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};

use arrow_array::{BooleanArray, RecordBatch};
use otlp_spool_storage::{Format, Signal};
use parquet::file::reader::{FileReader as _, SerializedFileReader};

use crate::columns::U64;
use crate::error::ViewerError;
use crate::files::SpoolFile;
use crate::index::log_time;
use crate::scan::{FileBatches, read_message, scan};

/// Every record batch of `file`, all columns (an active file: its complete batches).
pub fn read_batches(file: &SpoolFile) -> Result<FileBatches, ViewerError> {
    scan(file, None)
}

/// The rows of `file`, read from the IPC message headers (or the Parquet footer) without
/// decoding any column. An active file counts its complete messages.
pub fn row_count(file: &SpoolFile) -> Result<u64, ViewerError> {
    let handle = File::open(&file.path).map_err(|e| ViewerError::io("open", &file.path, e))?;
    if file.format == Format::Parquet {
        let reader =
            SerializedFileReader::new(handle).map_err(|e| ViewerError::file(&file.path, e))?;
        return Ok(u64::try_from(reader.metadata().file_metadata().num_rows()).unwrap_or(0));
    }
    let file_len = handle.metadata().map_or(file.bytes, |m| m.len());
    let mut r = BufReader::new(handle);
    let mut rows = 0u64;
    // Stops at the end-of-stream marker or a torn tail.
    while let Some((meta, body)) = read_message(&mut r, file_len) {
        let message = arrow_ipc::root_as_message(&meta)
            .map_err(|e| ViewerError::file(&file.path, format!("IPC message header: {e}")))?;
        if let Some(batch) = message.header_as_record_batch() {
            rows += u64::try_from(batch.length()).unwrap_or(0);
        }
        r.seek(SeekFrom::Current(i64::try_from(body).unwrap_or(i64::MAX)))
            .map_err(|e| ViewerError::io("seek", &file.path, e))?;
    }
    Ok(rows)
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
