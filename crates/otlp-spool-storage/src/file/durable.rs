//! Making files durable and visible: fsync per policy, rename into place, fsync the directory,
//! and Parquet encoding of finalized files. A finalized name appears only through a `rename` of
//! a complete, (per policy) synced file, so `*.arrow` / `*.parquet` are never torn by a crash of
//! this process.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as PqCompression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::error::FileError;
use super::options::{Compression, FsyncPolicy};
use super::stats::{STATS_KEY, StatsBuilder};

/// fsyncs `file` (data and metadata) unless the policy is `None`.
pub(crate) fn sync_file(file: &File, path: &Path, policy: FsyncPolicy) -> Result<(), FileError> {
    if policy == FsyncPolicy::None {
        return Ok(());
    }
    file.sync_all().map_err(|e| FileError::io("fsync", path, e))
}

/// fsyncs a directory so a rename or unlink inside it is durable, unless the policy is `None`.
pub(crate) fn sync_dir(dir: &Path, policy: FsyncPolicy) -> Result<(), FileError> {
    if policy == FsyncPolicy::None {
        return Ok(());
    }
    let d = File::open(dir).map_err(|e| FileError::io("open directory", dir, e))?;
    d.sync_all()
        .map_err(|e| FileError::io("fsync directory", dir, e))
}

/// Renames a complete `from` to `to` and makes the rename durable.
pub(crate) fn publish(from: &Path, to: &Path, policy: FsyncPolicy) -> Result<(), FileError> {
    fs::rename(from, to).map_err(|e| FileError::io("rename", from, e))?;
    if let Some(dir) = to.parent() {
        sync_dir(dir, policy)?;
    }
    Ok(())
}

/// Creates `path` (which must not exist) for writing.
pub(crate) fn create_new(path: &Path) -> Result<File, FileError> {
    File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| FileError::io("create", path, e))
}

/// The columns whose Parquet statistics a reader can prune row groups with: the times (a
/// spool file is written in arrival order, so its row groups cover narrow time ranges).
const STATISTICS_COLUMNS: [&str; 4] = [
    "start_time_unix_nano",
    "end_time_unix_nano",
    "time_unix_nano",
    "observed_time_unix_nano",
];

fn parquet_properties(compression: Compression) -> WriterProperties {
    let codec = match compression {
        Compression::None => PqCompression::UNCOMPRESSED,
        Compression::Zstd => PqCompression::ZSTD(ZstdLevel::default()),
        Compression::Lz4 => PqCompression::LZ4_RAW,
    };
    // Statistics (min / max) only for the time columns, per column chunk: those of random ids,
    // names and attribute lists prune nothing and cost 10 % of the encoding's instructions
    // (`benches/file_costs.rs`, storage README).
    let mut b = WriterProperties::builder()
        .set_compression(codec)
        .set_statistics_enabled(EnabledStatistics::None);
    for column in STATISTICS_COLUMNS {
        b = b.set_column_statistics_enabled(ColumnPath::from(column), EnabledStatistics::Chunk);
    }
    if compression == Compression::Zstd {
        // zstd finds the repeats itself: without dictionary pages a unique span takes 38.3
        // bytes instead of 40.0, for 13 % fewer instructions. LZ4 and uncompressed files keep
        // them (62.5 and 168 bytes per span with them, 69.9 and 648 without).
        b = b.set_dictionary_enabled(false);
    } else {
        // Ids are random: a dictionary of them only costs interning and a fallback page.
        for id in ["trace_id", "span_id", "parent_span_id"] {
            b = b.set_column_dictionary_enabled(ColumnPath::from(id), false);
        }
    }
    b.build()
}

/// Writes `batches` as one Parquet file at `part` (created new), synced per policy. On error
/// the partial `part` file is removed (it is a derived copy; its source is still on disk).
pub(crate) fn write_parquet(
    part: &Path,
    schema: SchemaRef,
    batches: impl IntoIterator<Item = Result<RecordBatch, FileError>>,
    compression: Compression,
    policy: FsyncPolicy,
) -> Result<(), FileError> {
    let result = (|| {
        let file = create_new(part)?;
        let mut w = ArrowWriter::try_new(
            BufWriter::new(file),
            Arc::clone(&schema),
            Some(parquet_properties(compression)),
        )
        .map_err(|e| FileError::parquet("encode", part, e))?;
        let mut stats = StatsBuilder::new(&schema);
        for batch in batches {
            let batch = batch?;
            stats.add(&batch);
            w.write(&batch)
                .map_err(|e| FileError::parquet("write", part, e))?;
        }
        // What the file holds, for `otlp-spool inspect` (`stats.rs`).
        w.append_key_value_metadata(parquet::file::metadata::KeyValue::new(
            STATS_KEY.to_owned(),
            stats.finish().encode(),
        ));
        w.finish()
            .map_err(|e| FileError::parquet("write", part, e))?;
        let buf = w.inner_mut();
        buf.flush().map_err(|e| FileError::io("write", part, e))?;
        sync_file(buf.get_ref(), part, policy)
    })();
    if result.is_err() {
        let _ = fs::remove_file(part);
    }
    result
}
