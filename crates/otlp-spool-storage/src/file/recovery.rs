//! Start-up recovery and quarantine.
//!
//! A temporary file (`.<final>.tmp`) left by a crash, or by a write that failed, holds an Arrow
//! IPC stream that may end in a torn message. Recovery decodes it message by message and keeps
//! the prefix of complete record batches:
//! - complete batches are published under the file's final name (Arrow: the prefix bytes plus
//!   an end-of-stream marker, unchanged; Parquet: the batches encoded to Parquet);
//! - a torn tail (the file ends inside a message) is cut off and counted in
//!   [`RecoveryReport::torn_bytes`], and the temporary file is then removed with a log line;
//! - a file that cannot be read or decoded (bad bytes rather than missing ones) is moved to
//!   `<dir>/quarantine/<signal>/` with a `warn` log line, after its complete prefix (if any) was
//!   published. Nothing is deleted without a log line, and nothing here panics.

use std::fs;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::reader::StreamDecoder;

use super::durable;
use super::error::FileError;
use super::ipc::{IPC_EOS, check_batch_buffers, panic_text};
use super::name::{FileName, Kind, list_entries};
use super::options::{Finalization, Format, StoreOptions};
use crate::Signal;

/// Name of the quarantine folder inside the output directory.
pub const QUARANTINE_DIR: &str = "quarantine";

/// What recovery found and did. Counts add up over all files and signals recovered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Finalized files produced from temporary files.
    pub recovered_files: Vec<PathBuf>,
    /// Complete record batches kept.
    pub recovered_batches: u64,
    /// Rows in those batches.
    pub recovered_rows: u64,
    /// Temporary files that ended in a torn (incomplete) message.
    pub torn_files: u64,
    /// Bytes cut off as torn tails.
    pub torn_bytes: u64,
    /// Temporary files that held no complete batch and were removed (counted in `torn_*`
    /// when they held a partial message).
    pub removed_empty: u64,
    /// Files moved to the quarantine folder (their new paths).
    pub quarantined: Vec<PathBuf>,
}

impl RecoveryReport {
    /// Whether recovery found nothing to do.
    pub fn is_clean(&self) -> bool {
        *self == RecoveryReport::default()
    }
}

/// Moves `path` to `<root>/quarantine/<signal>/` under a free name and logs it.
pub(crate) fn quarantine(
    root: &Path,
    signal: Signal,
    path: &Path,
    reason: &str,
) -> Result<PathBuf, FileError> {
    let qdir = root.join(QUARANTINE_DIR).join(signal.as_str());
    fs::create_dir_all(&qdir).map_err(|e| FileError::io("create directory", &qdir, e))?;
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().trim_start_matches('.').to_owned())
        .unwrap_or_else(|| "unnamed".to_owned());
    let mut dest = qdir.join(&base);
    let mut n = 1;
    while dest.exists() {
        dest = qdir.join(format!("{base}.{n}"));
        n += 1;
    }
    fs::rename(path, &dest).map_err(|e| FileError::io("quarantine", path, e))?;
    tracing::warn!(from = %path.display(), to = %dest.display(), reason, "otlp-spool: quarantined an unreadable spool file");
    Ok(dest)
}

/// Scans one signal directory at start-up: removes stale `.part` copies, recovers every
/// temporary file (under [`Finalization::Caller`], leaves them to the caller), and returns
/// the next free sequence number.
pub(crate) fn recover_signal_dir(
    root: &Path,
    signal: Signal,
    opts: &StoreOptions,
    report: &mut RecoveryReport,
) -> Result<u64, FileError> {
    let dir = root.join(signal.as_str());
    fs::create_dir_all(&dir).map_err(|e| FileError::io("create directory", &dir, e))?;
    let mut temps = Vec::new();
    let mut parts = Vec::new();
    let mut max_seq = 0;
    for (path, parsed) in list_entries(&dir, signal).map_err(|e| FileError::io("list", &dir, e))? {
        // Names that are not ours (or do not parse) are left alone: never read, renamed or
        // deleted by the reader, retention or recovery. Said once, here at the start.
        let Some((name, kind)) = parsed else {
            tracing::warn!(path = %path.display(),
                "otlp-spool: skipping a file whose name is not an otlp-spool file name; it is left untouched");
            continue;
        };
        max_seq = max_seq.max(name.seq);
        match kind {
            Kind::Final => {}
            Kind::Temp => temps.push(name),
            Kind::Part => parts.push(name),
        }
    }
    for name in parts {
        let part = dir.join(name.part_name());
        if dir.join(name.temp_name()).exists() {
            // A derived copy interrupted mid-way; its source is still there.
            tracing::info!(path = %part.display(), "otlp-spool: removing an interrupted partial copy (its source is recovered)");
            fs::remove_file(&part).map_err(|e| FileError::io("remove", &part, e))?;
        } else {
            let q = quarantine(root, signal, &part, "partial copy without its source")?;
            report.quarantined.push(q);
        }
    }
    if opts.finalization == Finalization::Caller {
        // The caller resolves them (`FileStore::finish_temp`, `FileStore::remove_temps`).
        return Ok(max_seq + 1);
    }
    temps.sort_by_key(|n| (n.unix_secs, n.seq));
    for name in temps {
        recover_temp(root, name, None, opts, report)?;
    }
    Ok(max_seq + 1)
}

/// Recovers one temporary file (see the module docs). `limit` caps how many leading bytes are
/// trusted (the writer passes the end of its last complete batch after a failed write).
pub(crate) fn recover_temp(
    root: &Path,
    name: FileName,
    limit: Option<u64>,
    opts: &StoreOptions,
    report: &mut RecoveryReport,
) -> Result<(), FileError> {
    let signal = name.signal;
    let dir = root.join(signal.as_str());
    let temp = dir.join(name.temp_name());
    let final_path = dir.join(name.final_name());
    if !temp.exists() {
        // Already published (a retry after a failed directory fsync, for example).
        return Ok(());
    }
    if final_path.exists() {
        let q = quarantine(root, signal, &temp, "its final name already exists")?;
        report.quarantined.push(q);
        return Ok(());
    }
    let mut bytes = match fs::read(&temp) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            let reason = format!("cannot read: {e}");
            let q = quarantine(root, signal, &temp, &reason)?;
            report.quarantined.push(q);
            return Ok(());
        }
    };
    if let Some(limit) = limit {
        bytes.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    let total = bytes.len() as u64;
    let scan = scan(bytes);

    let batches = scan.batches.len() as u64;
    let rows: u64 = scan.batches.iter().map(|b| b.num_rows() as u64).sum();
    let torn = if scan.clean_end || scan.corrupt.is_some() {
        0
    } else {
        total - scan.good_end
    };
    if torn > 0 {
        report.torn_files += 1;
        report.torn_bytes += torn;
    }
    let mut corrupt = scan.corrupt;
    if batches > 0 {
        let part = dir.join(name.part_name());
        let _ = fs::remove_file(&part);
        // The decoder accepted these batches, but a damaged file can still hold arrays the
        // Parquet encoder (or its reader) panics on; such a panic is damage like a bad byte: the
        // partial copy goes, the temporary file is quarantined below, start-up goes on.
        let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            write_part(
                &part,
                name.format,
                &scan.data[..scan.good_end as usize],
                scan.batches,
                rows,
                opts,
            )
        }));
        match written {
            Ok(Ok(None)) => {
                durable::publish(&part, &final_path, opts.fsync)?;
                report.recovered_files.push(final_path.clone());
                report.recovered_batches += batches;
                report.recovered_rows += rows;
                tracing::info!(path = %final_path.display(), batches, rows, torn_bytes = torn, "otlp-spool: recovered a temporary file");
            }
            Ok(Ok(Some(unusable))) => {
                let _ = fs::remove_file(&part);
                corrupt = Some(unusable);
            }
            Ok(Err(e)) => return Err(e),
            Err(panic) => {
                let _ = fs::remove_file(&part);
                corrupt = Some(format!(
                    "its batches could not be written again: {}",
                    panic_text(panic.as_ref())
                ));
            }
        }
    }
    if let Some(err) = corrupt {
        let q = quarantine(
            root,
            signal,
            &temp,
            &format!("undecodable after {batches} complete batches: {err}"),
        )?;
        report.quarantined.push(q);
    } else {
        if batches == 0 {
            report.removed_empty += 1;
        }
        tracing::info!(path = %temp.display(), batches, torn_bytes = torn, "otlp-spool: removing a recovered temporary file");
        fs::remove_file(&temp).map_err(|e| FileError::io("remove", &temp, e))?;
        durable::sync_dir(&dir, opts.fsync)?;
    }
    Ok(())
}

/// Writes the recovered batches to `part`, synced: Arrow copies the stream prefix (`prefix`)
/// and adds an end-of-stream marker; Parquet encodes `batches` and reads the copy back (its
/// encoder and decoder are other code than the IPC decoder that accepted the batches).
/// `Ok(Some(why))` when the copy is unusable (the caller removes it).
fn write_part(
    part: &Path,
    format: Format,
    prefix: &[u8],
    batches: Vec<RecordBatch>,
    rows: u64,
    opts: &StoreOptions,
) -> Result<Option<String>, FileError> {
    match format {
        Format::Arrow => {
            let mut f = durable::create_new(part)?;
            let written = std::io::Write::write_all(&mut f, prefix)
                .and_then(|()| std::io::Write::write_all(&mut f, &IPC_EOS))
                .map_err(|e| FileError::io("write", part, e))
                .and_then(|()| durable::sync_file(&f, part, opts.fsync));
            if let Err(e) = written {
                let _ = fs::remove_file(part);
                return Err(e);
            }
            Ok(None)
        }
        Format::Parquet => {
            let schema = batches[0].schema();
            durable::write_parquet(
                part,
                schema,
                batches.into_iter().map(Ok),
                opts.compression,
                opts.fsync,
            )?;
            Ok(match parquet_rows(part) {
                Ok(n) if n == rows => None,
                Ok(n) => Some(format!("its Parquet copy reads back {n} rows of {rows}")),
                Err(e) => Some(e),
            })
        }
    }
}

/// Rows of a Parquet file, read back in full.
fn parquet_rows(path: &Path) -> Result<u64, String> {
    let file = fs::File::open(path).map_err(|e| e.to_string())?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| format!("its Parquet copy does not read back: {e}"))?;
    let mut rows = 0u64;
    for batch in reader {
        rows += batch
            .map_err(|e| format!("its Parquet copy does not read back: {e}"))?
            .num_rows() as u64;
    }
    Ok(rows)
}

/// The decodable prefix of an IPC stream.
struct Scan {
    data: Buffer,
    batches: Vec<RecordBatch>,
    /// Offset just past the last complete record batch (or the schema if none).
    good_end: u64,
    /// The stream ended exactly with an end-of-stream marker or a message boundary.
    clean_end: bool,
    /// Set when bytes were present but not decodable.
    corrupt: Option<String>,
}

fn scan(bytes: Vec<u8>) -> Scan {
    let data = Buffer::from_vec(bytes);
    // Only the messages before the first implausible one reach the decoder (see
    // `plausible_prefix`); what follows is reported as corrupt.
    let (total, implausible) = plausible_prefix(&data);
    let mut rest = data.slice_with_length(0, total);
    let mut decoder = StreamDecoder::new();
    let mut batches = Vec::new();
    let mut good_end = 0u64;
    let mut corrupt: Option<String> = None;
    loop {
        // arrow-ipc trusts some offsets inside a message and panics on bad ones (found by the
        // `recovery` fuzz target: a dictionary batch whose buffer offset points past its body).
        // A panic is bad bytes like any other: the prefix before it is kept, the file
        // quarantined; start-up goes on.
        let decoded =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decoder.decode(&mut rest)));
        match decoded {
            Ok(Ok(Some(batch))) => {
                good_end = (total - rest.len()) as u64;
                batches.push(batch);
            }
            Ok(Ok(None)) => break,
            Ok(Err(e)) => {
                corrupt = Some(e.to_string());
                break;
            }
            Err(panic) => {
                corrupt = Some(format!(
                    "the Arrow IPC decoder failed on a message: {}",
                    panic_text(panic.as_ref())
                ));
                return Scan {
                    data,
                    batches,
                    good_end,
                    clean_end: false,
                    corrupt,
                };
            }
        }
    }
    if corrupt.is_none() {
        corrupt = implausible;
    }
    let has_schema = decoder.schema().is_some();
    if batches.is_empty() && has_schema {
        good_end = schema_message_end(&data);
    }
    if corrupt.is_none() && total > 0 && !has_schema {
        corrupt = Some("no decodable Arrow IPC schema message".to_owned());
    }
    let clean_end = corrupt.is_none() && decoder.finish().is_ok();
    Scan {
        data,
        batches,
        good_end,
        clean_end,
        corrupt,
    }
}

/// The length of the leading messages of an IPC stream that are safe to hand to arrow-ipc's
/// decoder, and why the next one is not (if one is not).
///
/// arrow-ipc 60 allocates a compressed buffer's declared uncompressed length before it
/// decompresses (found by the `recovery` fuzz target: a zstd buffer declaring 5 TB aborted the
/// process on the allocation, which no `catch_unwind` can contain). Each record or dictionary
/// batch passes the check the reader's `IpcStream` applies ([`check_batch_buffers`]: buffers
/// inside the body, no compressed buffer declaring more than `MAX_HARD_BATCH_BYTES`, which no
/// batch this crate writes exceeds), so a message failing it is damage. Framing this pass
/// cannot follow (a torn or unparsable message) is left to the decoder, which reports it.
fn plausible_prefix(data: &[u8]) -> (usize, Option<String>) {
    let all = (data.len(), None);
    let mut pos = 0usize;
    loop {
        let Some((meta_len, meta_start)) = message_frame(data, pos) else {
            return all;
        };
        if meta_len == 0 {
            return all; // end of stream
        }
        let Some(meta) = meta_start
            .checked_add(meta_len)
            .and_then(|end| data.get(meta_start..end))
        else {
            return all;
        };
        let Ok(message) = arrow_ipc::root_as_message(meta) else {
            return all;
        };
        let body_start = meta_start + meta_len;
        let Ok(body_len) = u64::try_from(message.bodyLength()) else {
            return all;
        };
        let batch = message
            .header_as_record_batch()
            .or_else(|| message.header_as_dictionary_batch().and_then(|d| d.data()));
        if let Some(batch) = batch {
            // What of the body is here (all of it unless the stream is torn inside it).
            let body = data.get(body_start..).unwrap_or_default();
            let body = &body[..body
                .len()
                .min(usize::try_from(body_len).unwrap_or(usize::MAX))];
            if let Err(why) =
                check_batch_buffers(batch, body, body_len).and_then(|()| rows_backed(batch, body))
            {
                return (pos, Some(format!("the message at byte {pos}: {why}")));
            }
        }
        match usize::try_from(body_len)
            .ok()
            .and_then(|len| body_start.checked_add(len))
        {
            Some(end) if end <= data.len() => pos = end,
            _ => return all,
        }
    }
}

/// Checks that a batch's row count is backed by its buffers: every row of every column this
/// crate writes costs at least one bit of a buffer (a validity bitmap, values, offsets or
/// dictionary keys), counted uncompressed (a compressed buffer's declared length). A batch
/// declaring more rows than that has no columns to hold them (null-typed or none): its rows
/// are damage, and re-encoding them (Parquet's levels are per row) would allocate without
/// bound (found by the `recovery` fuzz target: an out-of-memory writing such a batch).
fn rows_backed(batch: arrow_ipc::RecordBatch<'_>, body: &[u8]) -> Result<(), String> {
    let rows = u64::try_from(batch.length()).unwrap_or(0);
    if rows == 0 {
        return Ok(());
    }
    let compressed = batch.compression().is_some();
    let mut bytes = 0u64;
    for buffer in batch.buffers().into_iter().flatten() {
        let length = u64::try_from(buffer.length()).unwrap_or(0);
        let declared = usize::try_from(buffer.offset())
            .ok()
            .filter(|_| compressed && length >= 8)
            .and_then(|at| body.get(at..at.checked_add(8)?))
            .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .and_then(|d| u64::try_from(d).ok());
        bytes = bytes.saturating_add(declared.map_or(length, |d| d.max(length)));
    }
    if rows > bytes.saturating_mul(8) {
        return Err(format!(
            "a batch declares {rows} rows but its buffers hold {bytes} bytes"
        ));
    }
    Ok(())
}

/// The framing of the message at `pos`: its metadata length and where the metadata starts
/// (after an optional continuation marker and the little-endian length); `None` where the
/// bytes end first. A length of 0 is the end-of-stream marker.
fn message_frame(data: &[u8], pos: usize) -> Option<(usize, usize)> {
    let word = |at: usize| -> Option<u32> {
        data.get(at..at.checked_add(4)?)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    match word(pos)? {
        0xFFFF_FFFF => Some((word(pos + 4)? as usize, pos + 8)),
        len => Some((len as usize, pos + 4)),
    }
}

/// End offset of the first (schema) message: its framing, then the metadata (a schema message
/// has no body).
fn schema_message_end(data: &[u8]) -> u64 {
    message_frame(data, 0)
        .map_or(0, |(len, start)| (start + len) as u64)
        .min(data.len() as u64)
}
