//! The active file of a lane: an Arrow IPC stream written under its temporary name
//! `.<final>.tmp`.
//!
//! Invariants:
//! - after [`Segment::append`] returns `Ok`, the batch's bytes have left this process (the
//!   buffer is flushed to the OS; fsync per policy), and `good_bytes` is the offset just past
//!   the last complete batch;
//! - after it returns `Err`, the segment is dead: the caller abandons it and recovers the
//!   prefix `[0, good_bytes)`, so the failed batch is in no file;
//! - a segment is never empty on disk for long: it is created by the first batch written to it.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use arrow_array::RecordBatch;
use arrow_ipc::CompressionType;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
use arrow_schema::SchemaRef;

use super::durable;
use super::error::FileError;
use super::finalize::{FinalizeHook, FinalizeInfo};
use super::name::FileName;
use super::options::{Compression, Finalization, Format, FsyncPolicy, StoreOptions};
use super::stats::StatsBuilder;

/// Counts the bytes written through it.
#[derive(Debug)]
struct Counting<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// IPC write options for a format and compression (zstd at [`ZSTD_LEVEL`]). Parquet spools
/// uncompressed IPC (the codec is applied by the Parquet encoder at finalization).
pub(crate) fn ipc_options(format: Format, compression: Compression) -> IpcWriteOptions {
    let codec = match (format, compression) {
        (Format::Parquet, _) | (_, Compression::None) => None,
        (Format::Arrow, Compression::Zstd) => Some(CompressionType::ZSTD),
        (Format::Arrow, Compression::Lz4) => Some(CompressionType::LZ4_FRAME),
    };
    let level = (codec == Some(CompressionType::ZSTD)).then_some(ZSTD_LEVEL);
    IpcWriteOptions::default()
        .try_with_compression(codec)
        .expect("the default IPC options are metadata V5, which supports compression")
        .try_with_compression_level(level)
        .expect("level 1 is in zstd's range")
}

/// The zstd level of IPC bodies: level 1, zstd's fastest regular level. On unique spans
/// (`benches/file_costs.rs`) it compresses as well as arrow-ipc's default level 3 (88.7 against
/// 88.9 bytes per span) at the CPU cost of LZ4, where level 3 costs about 30% more. Parquet's
/// `ZstdLevel::default()` is level 1 too.
const ZSTD_LEVEL: i32 = 1;

/// The file a lane is currently writing.
pub(crate) struct Segment {
    pub(crate) name: FileName,
    pub(crate) temp_path: PathBuf,
    writer: StreamWriter<Counting<BufWriter<File>>>,
    pub(crate) schema: SchemaRef,
    pub(crate) opened_at: SystemTime,
    pub(crate) rows: u64,
    pub(crate) good_bytes: u64,
    /// What the batches written so far hold (stored in the file when it is finalized).
    stats: StatsBuilder,
    /// `Finalization::Caller` (the write-ahead log's files): the file's data is synced every
    /// [`INCREMENTAL_SYNC_BYTES`], so the fsync at finalization has little left to write.
    incremental_sync: bool,
    /// `good_bytes` at the last incremental sync.
    synced_bytes: u64,
}

/// How much a `Finalization::Caller` file may write between two `fdatasync`s of its data. The
/// log's acknowledgements wait for `fdatasync`s of their own on the same disk: one large
/// flush at finalization (a 64 MiB file) made them wait behind it (on ext4, a log sync commits
/// the journal, which first writes out other files' ordered data), and syncing the file as it
/// grows keeps that wait short. Measured with `cargo xtask load --rate 400 --server-config
/// benches/configs/wal.yaml`, wal README "Performance".
pub(crate) const INCREMENTAL_SYNC_BYTES: u64 = 4 << 20;

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("temp_path", &self.temp_path)
            .field("rows", &self.rows)
            .field("good_bytes", &self.good_bytes)
            .finish_non_exhaustive()
    }
}

impl Segment {
    /// Creates the temporary file in `dir` and writes the stream's schema message.
    pub(crate) fn create(
        dir: &Path,
        name: FileName,
        schema: SchemaRef,
        opened_at: SystemTime,
        opts: &StoreOptions,
    ) -> Result<Segment, FileError> {
        let temp_path = dir.join(name.temp_name());
        let file = durable::create_new(&temp_path)?;
        let counting = Counting {
            inner: BufWriter::with_capacity(256 * 1024, file),
            written: 0,
        };
        let made = StreamWriter::try_new_with_options(
            counting,
            &schema,
            ipc_options(opts.format, opts.compression),
        )
        .and_then(|mut w| w.flush().map(|()| w));
        match made {
            Ok(writer) => {
                let good_bytes = writer.get_ref().written;
                Ok(Segment {
                    stats: StatsBuilder::new(&schema),
                    name,
                    temp_path,
                    writer,
                    schema,
                    opened_at,
                    rows: 0,
                    good_bytes,
                    incremental_sync: opts.finalization == Finalization::Caller,
                    synced_bytes: good_bytes,
                })
            }
            Err(e) => {
                // Nothing of value is in it: remove the husk (best effort; recovery handles
                // it otherwise).
                let _ = fs::remove_file(&temp_path);
                Err(FileError::arrow("write", temp_path, e))
            }
        }
    }

    /// Bytes in the file so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.good_bytes
    }

    /// Appends a batch, flushed to the OS (and fsynced under `EveryBatch`).
    pub(crate) fn append(
        &mut self,
        batch: &RecordBatch,
        policy: FsyncPolicy,
    ) -> Result<(), FileError> {
        self.writer
            .write(batch)
            .and_then(|()| self.writer.flush())
            .map_err(|e| FileError::arrow("write", &self.temp_path, e))?;
        let written = self.writer.get_ref().written;
        let incremental =
            self.incremental_sync && written - self.synced_bytes >= INCREMENTAL_SYNC_BYTES;
        if policy == FsyncPolicy::EveryBatch || incremental {
            let file = self.writer.get_ref().inner.get_ref();
            file.sync_data()
                .map_err(|e| FileError::io("fsync", &self.temp_path, e))?;
            self.synced_bytes = written;
        }
        self.good_bytes = written;
        self.rows += batch.num_rows() as u64;
        self.stats.add(batch);
        Ok(())
    }

    /// Ends the stream and publishes the file under its final name (encoding it to Parquet
    /// first for that format). With a finalize `hook`, the temporary file is fsynced whatever
    /// the policy and the hook runs before the rename (or encoding). On error the temporary
    /// file stays on disk, complete up to `good_bytes`, for the caller to retry through
    /// recovery; the error says whether the hook had succeeded.
    pub(crate) fn finish(
        mut self,
        dir: &Path,
        opts: &StoreOptions,
        hook: Option<&FinalizeHook>,
    ) -> Result<PathBuf, Unfinished> {
        let not_hooked = |error| Unfinished {
            error,
            hooked: false,
        };
        let final_path = dir.join(self.name.final_name());
        self.writer
            .finish()
            .map_err(|e| not_hooked(FileError::arrow("write", &self.temp_path, e)))?;
        if opts.format == Format::Arrow {
            // The file's stats after the end-of-stream marker, where stream readers never
            // look (`stats.rs`); a Parquet file gets them in its footer instead.
            let trailer = self.stats.finish().trailer();
            let w = self.writer.get_mut();
            w.write_all(&trailer)
                .and_then(|()| w.flush())
                .map_err(|e| not_hooked(FileError::io("write", &self.temp_path, e)))?;
        }
        let file = self.writer.get_ref().inner.get_ref();
        if let Some(hook) = hook {
            // The hook's caller records "this file holds my records" before the rename: the
            // temporary file must be on disk by then, whatever the policy.
            file.sync_all()
                .map_err(|e| not_hooked(FileError::io("fsync", &self.temp_path, e)))?;
            let info = FinalizeInfo {
                signal: self.name.signal,
                final_path: final_path.clone(),
                rows: self.rows,
                bytes: self.good_bytes,
            };
            hook(&info).map_err(|message| {
                not_hooked(FileError::Hook {
                    path: final_path.clone(),
                    message,
                })
            })?;
        }
        let hooked = |error| Unfinished {
            error,
            hooked: true,
        };
        self.publish(dir, &final_path, opts).map_err(hooked)?;
        Ok(final_path)
    }

    fn publish(self, dir: &Path, final_path: &Path, opts: &StoreOptions) -> Result<(), FileError> {
        let file = self.writer.get_ref().inner.get_ref();
        match opts.format {
            Format::Arrow => {
                durable::sync_file(file, &self.temp_path, opts.fsync)?;
                durable::publish(&self.temp_path, final_path, opts.fsync)?;
            }
            Format::Parquet => {
                let part = dir.join(self.name.part_name());
                let source = File::open(&self.temp_path)
                    .map_err(|e| FileError::io("open", &self.temp_path, e))?;
                let reader = StreamReader::try_new(BufReader::new(source), None)
                    .map_err(|e| FileError::arrow("read", &self.temp_path, e))?;
                let temp = self.temp_path.clone();
                let batches = reader.map(|b| b.map_err(|e| FileError::arrow("read", &temp, e)));
                durable::write_parquet(
                    &part,
                    self.schema.clone(),
                    batches,
                    opts.compression,
                    opts.fsync,
                )?;
                durable::publish(&part, final_path, opts.fsync)?;
                fs::remove_file(&self.temp_path)
                    .map_err(|e| FileError::io("remove", &self.temp_path, e))?;
            }
        }
        Ok(())
    }
}

/// A [`Segment::finish`] that failed: why, and whether the finalize hook had succeeded.
#[derive(Debug)]
pub(crate) struct Unfinished {
    pub(crate) error: FileError,
    pub(crate) hooked: bool,
}
