//! [`IpcStream`]: reads an Arrow IPC stream file message by message, defensively, so that a
//! damaged file is an error naming it and never a panic or an abort of the reading process.
//!
//! arrow-ipc trusts what a message header says: a buffer offset past the body panics while
//! slicing, and a compressed buffer's declared uncompressed length is allocated before it is
//! decompressed (a declared 5 TB aborts the process, which no `catch_unwind` can contain; both
//! found by the `recovery` fuzz target). So before arrow-ipc sees a message:
//! - every length read from the file (metadata, body) is checked against the bytes the file
//!   still has, before anything is allocated for it;
//! - the flatbuffer header is verified (`root_as_message`);
//! - every buffer of a record or dictionary batch must lie inside its body, and a compressed
//!   buffer may declare at most [`MAX_HARD_BATCH_BYTES`] uncompressed (no batch this crate
//!   writes is larger);
//! - decoding itself runs under `catch_unwind`: whatever arrow-ipc still trusts and panics on
//!   becomes an error like any other.
//!
//! Bodies of batches a caller does not want are skipped (seeked over), never read; so is every
//! body in [`IpcStream::headers_only`] mode, which counts rows from the headers alone.
//!
//! Invariants: after the first error the stream yields nothing more; a stream that ends
//! without its end-of-stream marker (a torn or truncated file) ends with an error and
//! [`IpcStream::truncated`] set, after every complete batch before the cut.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_buffer::Buffer;
use arrow_schema::{ArrowError, SchemaRef};

use super::error::FileError;
use crate::MAX_HARD_BATCH_BYTES;

/// The Arrow IPC end-of-stream marker: continuation token and a zero length.
pub(crate) const IPC_EOS: [u8; 8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0];

/// One record batch of an [`IpcStream`], as [`IpcStream::next_entry`] gives it.
#[derive(Debug, Clone)]
pub struct BatchEntry {
    /// Its position among the file's record batches, from 0.
    pub index: u32,
    /// Its row count, from its header.
    pub rows: u64,
    /// The length of its body (compressed, as stored).
    pub body_bytes: u64,
    /// The decoded batch, when it was asked for.
    pub batch: Option<RecordBatch>,
}

/// What the next message is.
enum Next {
    Message { meta: Vec<u8>, body_len: u64 },
    End,
}

/// A defensive reader of one Arrow IPC stream file (see the module docs).
pub struct IpcStream {
    path: PathBuf,
    r: BufReader<File>,
    /// Bytes of the file this stream reads: its size, or a prefix of it.
    limit: u64,
    pos: u64,
    schema: SchemaRef,
    projection: Option<Vec<usize>>,
    dictionaries: HashMap<i64, ArrayRef>,
    next_index: u32,
    headers_only: bool,
    done: bool,
    truncated: bool,
    /// An error to hand out at the next step (a failed seek while setting up).
    failed: Option<FileError>,
}

impl std::fmt::Debug for IpcStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpcStream")
            .field("path", &self.path)
            .field("pos", &self.pos)
            .field("limit", &self.limit)
            .field("truncated", &self.truncated)
            .finish_non_exhaustive()
    }
}

/// The text of a caught panic's payload.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("a panic")
}

/// Runs an arrow-ipc decode, turning a panic into an error.
fn guarded<T>(f: impl FnOnce() -> Result<T, ArrowError>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(payload) => Err(format!(
            "the Arrow IPC decoder failed on a message: {}",
            panic_text(payload.as_ref())
        )),
    }
}

/// Checks that every buffer of a record or dictionary batch lies inside its body of
/// `body.len()` bytes and that no compressed buffer declares more than
/// [`MAX_HARD_BATCH_BYTES`] uncompressed. `body` may be only the body's first bytes when the
/// caller has not read it all (the declared lengths then are checked where present).
pub(crate) fn check_batch_buffers(
    batch: arrow_ipc::RecordBatch<'_>,
    body: &[u8],
    body_len: u64,
) -> Result<(), String> {
    if batch.length() < 0 {
        return Err(format!("a batch declares {} rows", batch.length()));
    }
    let compressed = batch.compression().is_some();
    for (i, buffer) in batch.buffers().into_iter().flatten().enumerate() {
        let (offset, length) = (buffer.offset(), buffer.length());
        let end = offset.checked_add(length);
        if offset < 0 || length < 0 || end.is_none_or(|end| end as u64 > body_len) {
            return Err(format!(
                "buffer {i} ({length} bytes at offset {offset}) lies outside the {body_len}-byte body"
            ));
        }
        if compressed && length >= 8 {
            let at = offset as usize;
            if let Some(b) = body.get(at..at + 8) {
                let declared = i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                if declared > MAX_HARD_BATCH_BYTES as i64 {
                    return Err(format!(
                        "compressed buffer {i} declares {declared} bytes uncompressed, more than any batch ({MAX_HARD_BATCH_BYTES})"
                    ));
                }
            }
        }
    }
    Ok(())
}

impl IpcStream {
    /// Opens the stream at `path` and reads its schema message. `limit` reads only that many
    /// leading bytes (a file being appended to, as it was listed); `None` reads it all.
    pub fn open(path: impl AsRef<Path>, limit: Option<u64>) -> Result<IpcStream, FileError> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path).map_err(|e| FileError::io("open", &path, e))?;
        let len = file
            .metadata()
            .map_err(|e| FileError::io("stat", &path, e))?
            .len();
        let mut s = IpcStream {
            r: BufReader::with_capacity(256 * 1024, file),
            limit: limit.map_or(len, |l| l.min(len)),
            pos: 0,
            schema: Arc::new(arrow_schema::Schema::empty()),
            projection: None,
            dictionaries: HashMap::new(),
            next_index: 0,
            headers_only: false,
            done: false,
            truncated: false,
            failed: None,
            path,
        };
        let meta = match s.read_next()? {
            Next::Message { meta, body_len } => {
                s.skip_bytes(body_len)?;
                meta
            }
            Next::End => return Err(s.damaged(0, "the stream holds no schema message".into())),
        };
        let message = arrow_ipc::root_as_message(&meta).map_err(|e| s.damaged(0, e.to_string()))?;
        let Some(fb) = message.header_as_schema() else {
            return Err(s.damaged(0, "the first message is not a schema".into()));
        };
        let schema = guarded(|| arrow_ipc::convert::try_fb_to_schema(fb))
            .map_err(|what| s.damaged(0, what))?;
        s.schema = Arc::new(schema);
        Ok(s)
    }

    /// Decodes only the columns named (those the file has); the others' buffers are skipped.
    pub fn with_columns(mut self, names: &[&str]) -> Self {
        self.projection = Some(
            names
                .iter()
                .filter_map(|n| self.schema.index_of(n).ok())
                .collect(),
        );
        self
    }

    /// Reads headers only: no body is read or decoded (dictionaries included), so the
    /// entries carry row counts and no batches.
    pub fn headers_only(mut self) -> Self {
        self.headers_only = true;
        // Headers are a few KiB apart from bodies of MiBs: a small buffer reads each header
        // (and little else) instead of refilling 256 KiB after every seek.
        // (Seeking the BufReader empties its buffer, so the file is at `pos` after it.)
        match self.r.seek(SeekFrom::Start(self.pos)) {
            Ok(_) => self.r = BufReader::with_capacity(16 * 1024, self.r.into_inner()),
            Err(e) => self.failed = Some(FileError::io("seek", &self.path, e)),
        }
        self
    }

    /// The file's schema (all its columns, whatever the projection).
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes read or skipped so far (the offset just past the last message handled).
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Whether the stream ended without its end-of-stream marker (inside a message, or at a
    /// message boundary): a file torn by a crash, still being written, or cut short.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    fn damaged(&self, at: u64, what: String) -> FileError {
        FileError::arrow(
            "read",
            &self.path,
            ArrowError::IpcError(format!("damaged Arrow IPC stream at byte {at}: {what}")),
        )
    }

    fn cut(&mut self, what: &str) -> FileError {
        self.truncated = true;
        self.done = true;
        FileError::arrow(
            "read",
            &self.path,
            ArrowError::IpcError(format!(
                "truncated Arrow IPC stream: it ends at byte {} {what}, without its end-of-stream marker",
                self.limit
            )),
        )
    }

    fn read_exact(&mut self, buf: &mut [u8], what: &str) -> Result<(), FileError> {
        if (buf.len() as u64) > self.limit - self.pos {
            return Err(self.cut(what));
        }
        match self.r.read_exact(buf) {
            Ok(()) => {
                self.pos += buf.len() as u64;
                Ok(())
            }
            // Shorter than when it was listed (or than its size said a moment ago).
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(self.cut(what)),
            Err(e) => Err(FileError::io("read", &self.path, e)),
        }
    }

    fn skip_bytes(&mut self, n: u64) -> Result<(), FileError> {
        if n > self.limit - self.pos {
            return Err(self.cut("inside a message body"));
        }
        let step = i64::try_from(n).map_err(|_| self.cut("inside a message body"))?;
        self.r
            .seek_relative(step)
            .map_err(|e| FileError::io("seek", &self.path, e))?;
        self.pos += n;
        Ok(())
    }

    /// The next message's header and body length; its body is next in the file.
    fn read_next(&mut self) -> Result<Next, FileError> {
        let start = self.pos;
        if start == self.limit {
            return Err(self.cut("after a complete message"));
        }
        let mut word = [0u8; 4];
        self.read_exact(&mut word, "inside a message header")?;
        let mut len = u32::from_le_bytes(word);
        if len == 0xFFFF_FFFF {
            self.read_exact(&mut word, "inside a message header")?;
            len = u32::from_le_bytes(word);
        }
        if len == 0 {
            return Ok(Next::End);
        }
        if u64::from(len) > self.limit - self.pos {
            return Err(self.cut(&format!(
                "inside a message header (it declares {len} bytes of metadata)"
            )));
        }
        let mut meta = vec![0u8; len as usize];
        self.read_exact(&mut meta, "inside a message header")?;
        let body_len = match arrow_ipc::root_as_message(&meta) {
            Ok(m) => u64::try_from(m.bodyLength())
                .map_err(|_| self.damaged(start, format!("body length {}", m.bodyLength())))?,
            Err(e) => return Err(self.damaged(start, format!("message header: {e}"))),
        };
        if body_len > self.limit - self.pos {
            return Err(self.cut(&format!(
                "inside a message body (it declares {body_len} bytes)"
            )));
        }
        Ok(Next::Message { meta, body_len })
    }

    fn read_body(&mut self, len: u64) -> Result<Buffer, FileError> {
        let mut body = vec![0u8; len as usize];
        self.read_exact(&mut body, "inside a message body")?;
        Ok(Buffer::from_vec(body))
    }

    fn step(
        &mut self,
        decode: &mut dyn FnMut(u32) -> bool,
    ) -> Result<Option<BatchEntry>, FileError> {
        loop {
            let start = self.pos;
            let (meta, body_len) = match self.read_next()? {
                Next::End => return Ok(None),
                Next::Message { meta, body_len } => (meta, body_len),
            };
            let bad = |s: &Self, what: String| s.damaged(start, what);
            let message =
                arrow_ipc::root_as_message(&meta).map_err(|e| bad(self, e.to_string()))?;
            let version = message.version();
            if let Some(dict) = message.header_as_dictionary_batch() {
                if self.headers_only {
                    self.skip_bytes(body_len)?;
                    continue;
                }
                let Some(data) = dict.data() else {
                    return Err(bad(self, "a dictionary batch without data".into()));
                };
                let body = self.read_body(body_len)?;
                check_batch_buffers(data, &body, body_len).map_err(|w| bad(self, w))?;
                let (schema, dictionaries) = (&self.schema, &mut self.dictionaries);
                guarded(|| {
                    arrow_ipc::reader::read_dictionary(&body, dict, schema, dictionaries, &version)
                })
                .map_err(|w| bad(self, w))?;
            } else if let Some(batch) = message.header_as_record_batch() {
                let index = self.next_index;
                self.next_index += 1;
                let rows = u64::try_from(batch.length())
                    .map_err(|_| bad(self, format!("a batch declares {} rows", batch.length())))?;
                let mut entry = BatchEntry {
                    index,
                    rows,
                    body_bytes: body_len,
                    batch: None,
                };
                if self.headers_only || !decode(index) {
                    check_batch_buffers(batch, &[], body_len).map_err(|w| bad(self, w))?;
                    self.skip_bytes(body_len)?;
                    return Ok(Some(entry));
                }
                let body = self.read_body(body_len)?;
                check_batch_buffers(batch, &body, body_len).map_err(|w| bad(self, w))?;
                let decoded = guarded(|| {
                    arrow_ipc::reader::read_record_batch(
                        &body,
                        batch,
                        Arc::clone(&self.schema),
                        &self.dictionaries,
                        self.projection.as_deref(),
                        &version,
                    )
                })
                .map_err(|w| bad(self, w))?;
                entry.batch = Some(decoded);
                return Ok(Some(entry));
            } else if message.header_as_schema().is_some() {
                return Err(bad(self, "a second schema message".into()));
            } else {
                self.skip_bytes(body_len)?;
            }
        }
    }

    /// The next record batch, decoded when `decode(index)` is true, else skipped without its
    /// body being read (dictionaries before it are decoded either way, unless
    /// [`headers_only`](Self::headers_only)). `None` after the end-of-stream marker or an
    /// error.
    pub fn next_entry(
        &mut self,
        decode: &mut dyn FnMut(u32) -> bool,
    ) -> Option<Result<BatchEntry, FileError>> {
        if self.done {
            return None;
        }
        if let Some(e) = self.failed.take() {
            self.done = true;
            return Some(Err(e));
        }
        match self.step(decode) {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl Iterator for IpcStream {
    type Item = Result<RecordBatch, FileError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_entry(&mut |_| true)? {
                Ok(BatchEntry { batch: Some(b), .. }) => return Some(Ok(b)),
                // Headers only: nothing to hand out.
                Ok(_) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Runs a decode step of another reader (Parquet), turning a panic into an error message.
pub(crate) fn guard_panics<T, E: std::fmt::Display>(
    f: impl FnOnce() -> Option<Result<T, E>>,
) -> Option<Result<T, String>> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map(|r| r.map_err(|e| e.to_string())),
        Err(payload) => Some(Err(format!(
            "the decoder failed: {}",
            panic_text(payload.as_ref())
        ))),
    }
}
