//! Reading the records of one segment, up to its durable length, through a buffer of
//! positional reads (`pread`): a reader never moves a shared file offset, and never reads past
//! the length the registry gives it.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use otlp_spool_core::Signal;

use crate::error::{IoFailure, ReadError};
use crate::format::{RECORD_HEADER_LEN, SEGMENT_HEADER_LEN, check_record, find_next};
use crate::segment::View;

/// Bytes read from the file at a time (more when one record is larger).
const CHUNK: usize = 256 * 1024;

/// One record read from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    lsn: u64,
    signal: Signal,
    bytes: Vec<u8>,
}

impl Record {
    /// Its log sequence number.
    pub fn lsn(&self) -> u64 {
        self.lsn
    }

    /// Its signal.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// Its payload: the bytes given to `append`.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Takes the payload.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// A read position inside one segment file.
#[derive(Debug)]
pub(crate) struct SegmentReader {
    pub(crate) first_lsn: u64,
    path: PathBuf,
    file: File,
    offset: u64,
    /// LSN of the last record returned (records must increase from there).
    last_lsn: u64,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    buf_at: u64,
    max_record: u32,
}

impl SegmentReader {
    /// Opens the segment at `path` whose first LSN is `first_lsn`, positioned at its first
    /// record.
    pub(crate) fn open(first_lsn: u64, path: &Path, max_record: u32) -> Result<Self, IoFailure> {
        let file = File::open(path).map_err(|e| IoFailure::new("open", path, &e))?;
        Ok(SegmentReader {
            first_lsn,
            path: path.to_path_buf(),
            file,
            offset: SEGMENT_HEADER_LEN as u64,
            last_lsn: first_lsn.saturating_sub(1),
            buf: Vec::new(),
            buf_at: 0,
            max_record,
        })
    }

    /// Makes `buf` cover `[start, start + len)`, reading ahead up to `limit`.
    fn fill(&mut self, start: u64, len: usize, limit: u64) -> Result<(), IoFailure> {
        let have =
            start >= self.buf_at && start + len as u64 <= self.buf_at + self.buf.len() as u64;
        if have {
            return Ok(());
        }
        let want = (limit - start).min(len.max(CHUNK) as u64) as usize;
        self.buf.resize(want, 0);
        self.file
            .read_exact_at(&mut self.buf, start)
            .map_err(|e| IoFailure::new("read", &self.path, &e))?;
        self.buf_at = start;
        Ok(())
    }

    /// The next good record before the segment's durable end, skipping holes; `None` at the end.
    pub(crate) fn next(&mut self, view: &View) -> Result<Option<Record>, ReadError> {
        while let Some(&(at, len)) = view.holes.iter().find(|(at, _)| *at == self.offset) {
            self.offset = at + len;
        }
        let limit = view.len;
        if self.offset >= limit {
            return Ok(None);
        }
        let header_end = self.offset + RECORD_HEADER_LEN as u64;
        if header_end > limit {
            return self.damaged(limit);
        }
        self.fill(self.offset, RECORD_HEADER_LEN, limit)?;
        let rel = (self.offset - self.buf_at) as usize;
        let len = u32::from_le_bytes(self.buf[rel..rel + 4].try_into().expect("4 bytes"));
        let framed = RECORD_HEADER_LEN + len.min(self.max_record) as usize;
        if self.offset + framed as u64 > limit {
            return self.damaged(limit);
        }
        self.fill(self.offset, framed, limit)?;
        let rel = (self.offset - self.buf_at) as usize;
        let Some(found) = check_record(&self.buf[rel..], 0, self.last_lsn + 1, self.max_record)
        else {
            return self.damaged(limit);
        };
        let start = rel + found.payload_at;
        let bytes = self.buf[start..start + found.header.len as usize].to_vec();
        self.offset += found.header.framed_len();
        self.last_lsn = found.header.lsn;
        Ok(Some(Record {
            lsn: found.header.lsn,
            signal: found.header.signal,
            bytes,
        }))
    }

    /// A record at the current offset failed its checks: skip to the next good one (or the
    /// end) and report how much was skipped.
    fn damaged(&mut self, limit: u64) -> Result<Option<Record>, ReadError> {
        let start = self.offset;
        let mut rest = vec![0u8; (limit - start) as usize];
        self.file
            .read_exact_at(&mut rest, start)
            .map_err(|e| IoFailure::new("read", &self.path, &e))?;
        let resume = find_next(&rest, 0, self.last_lsn + 1, self.max_record)
            .map_or(limit, |at| start + at as u64);
        self.offset = resume;
        self.buf.clear();
        tracing::warn!(path = %self.path.display(), offset = start, bytes = resume - start, "write-ahead log: damaged record skipped while reading");
        Err(ReadError::Corrupt {
            path: self.path.clone(),
            offset: start,
            skipped_bytes: resume - start,
        })
    }
}
