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
use parquet::file::properties::WriterProperties;
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

fn parquet_properties(compression: Compression) -> WriterProperties {
    let codec = match compression {
        Compression::None => PqCompression::UNCOMPRESSED,
        Compression::Zstd => PqCompression::ZSTD(ZstdLevel::default()),
        Compression::Lz4 => PqCompression::LZ4_RAW,
    };
    // Ids are random: a dictionary of them only costs interning and a fallback page. Without
    // it, unique spans take 40.0 instead of 42.4 bytes each in zstd Parquet, and 1.2% fewer
    // instructions (`benches/file_costs.rs`).
    let mut b = WriterProperties::builder().set_compression(codec);
    for id in ["trace_id", "span_id", "parent_span_id"] {
        b = b.set_column_dictionary_enabled(ColumnPath::from(id), false);
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
