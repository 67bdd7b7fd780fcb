//! Named consumers: a [`Cursor`] reads durable records from its position onward and commits
//! its progress (plus a small opaque payload) durably.
//!
//! Invariants:
//! - a cursor reads only durable records (what the registry says is synced), in LSN order,
//!   each once per pass (a `rewind` starts a new pass at the durable position);
//! - the durable position only moves forward: `commit(lsn)` needs
//!   `position <= lsn <= scanned`, `skip_to(lsn)` needs `position <= lsn <= last durable LSN`;
//! - a position change is durable before the call returns `Ok` (written into the cursor
//!   file's other slot, then `fdatasync`: no new disk space needed, so consumers can record
//!   progress, and free segments, on a full disk); on `Err` the old position stands in memory,
//!   and on disk the file holds either the old or the new state, never a mix (a consumer must
//!   accept both after a crash: the exactly-once protocol in the README does);
//! - every record a skip or a drop passes over without the consumer having committed it is
//!   counted, cumulatively, in the cursor file.

use std::fs::File;
use std::future::Future;
use std::io::ErrorKind;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use otlp_spool_core::Signal;

use crate::error::{IoFailure, PositionError, ReadError};
use crate::format::{CursorFile, MAX_CURSOR_PAYLOAD};
use crate::reader::{Record, SegmentReader};
use crate::tail::WaitOutcome;
use crate::wal::Inner;

/// Records (and their payload bytes) a cursor moved past without consuming them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Records.
    pub records: u64,
    /// Their payload bytes.
    pub bytes: u64,
}

/// A walk through the log's records after a position, across segments.
#[derive(Debug)]
pub(crate) struct Walker {
    reader: Option<SegmentReader>,
    /// The highest LSN returned or passed.
    pub(crate) read: u64,
}

impl Walker {
    pub(crate) fn after(position: u64) -> Self {
        Walker {
            reader: None,
            read: position,
        }
    }

    fn open(inner: &Inner, first_lsn: u64) -> Result<Option<SegmentReader>, IoFailure> {
        let Some(path) = inner.segments.path(first_lsn) else {
            return Ok(None);
        };
        match SegmentReader::open(first_lsn, &path, inner.max_record()) {
            Ok(r) => Ok(Some(r)),
            // Reclaimed between the look-up and the open (a file missing while still listed
            // is an error, or the walk would never end).
            Err(e) if e.kind == ErrorKind::NotFound && inner.segments.path(first_lsn).is_none() => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The next durable record with an LSN above `read`, or `None` for now.
    pub(crate) fn next(&mut self, inner: &Inner) -> Result<Option<Record>, ReadError> {
        loop {
            if self.reader.is_none() {
                let Some((first, _)) = inner.segments.locate(self.read + 1) else {
                    return Ok(None);
                };
                self.reader = Walker::open(inner, first)?;
                if self.reader.is_none() {
                    continue;
                }
            }
            let reader = self.reader.as_mut().expect("reader just ensured");
            let Some(view) = inner.segments.view(reader.first_lsn) else {
                self.reader = None; // reclaimed: look again from the position
                continue;
            };
            match reader.next(&view)? {
                Some(rec) if rec.lsn() <= self.read => continue,
                Some(rec) => {
                    self.read = rec.lsn();
                    return Ok(Some(rec));
                }
                None => match view.next {
                    Some(next) => {
                        self.reader = Walker::open(inner, next)?;
                        if self.reader.is_none() {
                            continue;
                        }
                    }
                    None => return Ok(None),
                },
            }
        }
    }

    /// Counts the durable records in `(after, upto]`, skipping damage.
    pub(crate) fn count(inner: &Inner, after: u64, upto: u64) -> Result<Skipped, IoFailure> {
        let mut walker = Walker::after(after);
        let mut n = Skipped::default();
        loop {
            match walker.next(inner) {
                Ok(Some(rec)) if rec.lsn() <= upto => {
                    n.records += 1;
                    n.bytes += rec.bytes().len() as u64;
                }
                Ok(_) => return Ok(n),
                Err(ReadError::Corrupt { .. }) => continue,
                Err(ReadError::Io(e)) => return Err(e),
            }
        }
    }
}

/// A named consumer of the log; see the module docs. Get one with
/// [`Wal::cursor`](crate::Wal::cursor); one live handle per name.
#[derive(Debug)]
pub struct Cursor {
    inner: Arc<Inner>,
    name: String,
    file: File,
    durable: CursorFile,
    walker: Walker,
    filter: Option<Signal>,
    generation: u64,
}

impl Cursor {
    pub(crate) fn new(inner: Arc<Inner>, name: String, durable: CursorFile, file: File) -> Self {
        let generation = inner.core.tail.generation();
        let walker = Walker::after(durable.lsn);
        Cursor {
            inner,
            name,
            file,
            durable,
            walker,
            filter: None,
            generation,
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The durable position: every record with an LSN at most this was consumed.
    pub fn position(&self) -> u64 {
        self.durable.lsn
    }

    /// The payload committed with the position (empty for a new cursor).
    pub fn payload(&self) -> &[u8] {
        &self.durable.payload
    }

    /// The highest LSN this cursor has returned or passed over (filtered out) since it was
    /// opened or rewound; `commit` accepts positions up to this.
    pub fn scanned(&self) -> u64 {
        self.walker.read
    }

    /// Records skipped over the cursor's whole life (persisted with its position).
    pub fn skipped(&self) -> Skipped {
        Skipped {
            records: self.durable.skipped_records,
            bytes: self.durable.skipped_bytes,
        }
    }

    /// Returns only records of `signal` from now on (`None`: all). Records of other signals
    /// are passed over: they still count in [`Cursor::scanned`]. Not persisted.
    pub fn set_filter(&mut self, signal: Option<Signal>) {
        self.filter = signal;
    }

    /// The next durable record after the read position (matching the filter), or `None` if
    /// there is none yet. A [`ReadError::Corrupt`] skips the damage: call again to go on.
    pub fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        loop {
            match self.walker.next(&self.inner)? {
                Some(rec) if self.filter.is_none_or(|s| s == rec.signal()) => return Ok(Some(rec)),
                Some(_) => continue,
                None => return Ok(None),
            }
        }
    }

    /// Up to `max_records` records (and about `max_bytes` of payload: at least one record)
    /// from [`Cursor::next_record`]; an empty batch when there is nothing durable to read.
    pub fn next_batch(
        &mut self,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<Vec<Record>, ReadError> {
        let mut out = Vec::new();
        let mut bytes = 0;
        while out.len() < max_records && (out.is_empty() || bytes < max_bytes) {
            match self.next_record()? {
                Some(rec) => {
                    bytes += rec.bytes().len();
                    out.push(rec);
                }
                None => break,
            }
        }
        Ok(out)
    }

    /// Moves the read position back to the durable position (after a failed delivery, say):
    /// the records after it are read again.
    pub fn rewind(&mut self) {
        self.walker = Walker::after(self.durable.lsn);
    }

    /// Blocks until records past the read position are durable, the log's readers are
    /// notified ([`Wal::notify_readers`](crate::Wal::notify_readers)), the log closes, or
    /// about `timeout` passes.
    pub fn wait(&mut self, timeout: Duration) -> WaitOutcome {
        let (out, generation) =
            self.inner
                .core
                .tail
                .wait(self.walker.read, self.generation, timeout);
        self.generation = generation;
        out
    }

    /// The future form of [`Cursor::wait`], without a timeout (wrap it in the runtime's).
    pub fn readable(&mut self) -> Readable<'_> {
        Readable { cursor: self }
    }

    /// Durably records that every record up to `lsn` is consumed, with `payload` (at most
    /// [`MAX_CURSOR_PAYLOAD`] bytes) beside it; then deletes the segments every cursor has
    /// moved past. `lsn` may equal the current position (to change only the payload).
    pub fn commit(&mut self, lsn: u64, payload: &[u8]) -> Result<(), PositionError> {
        if lsn < self.durable.lsn {
            return Err(PositionError::Backwards {
                lsn,
                current: self.durable.lsn,
            });
        }
        if lsn > self.walker.read {
            return Err(PositionError::Unread {
                lsn,
                read: self.walker.read,
            });
        }
        if payload.len() > MAX_CURSOR_PAYLOAD {
            return Err(PositionError::PayloadTooLarge {
                len: payload.len(),
                max: MAX_CURSOR_PAYLOAD,
            });
        }
        let next = CursorFile {
            seq: self.durable.seq + 1,
            lsn,
            payload: payload.to_vec(),
            ..self.durable.clone()
        };
        self.inner.persist_cursor(&self.name, &self.file, &next)?;
        self.durable = next;
        self.inner.reclaim();
        Ok(())
    }

    /// Moves the durable position forward to `lsn` without consuming the records in between
    /// (retention that must drop undelivered data), keeping the payload. Returns how many
    /// records (and payload bytes) past the durable position were skipped; they are added to
    /// [`Cursor::skipped`]. Records the cursor had read but not committed count as skipped.
    pub fn skip_to(&mut self, lsn: u64) -> Result<Skipped, PositionError> {
        if lsn < self.durable.lsn {
            return Err(PositionError::Backwards {
                lsn,
                current: self.durable.lsn,
            });
        }
        let durable = self.inner.core.tail.durable();
        if lsn > durable {
            return Err(PositionError::Beyond { lsn, durable });
        }
        let skipped = Walker::count(&self.inner, self.durable.lsn, lsn)?;
        let next = CursorFile {
            seq: self.durable.seq + 1,
            lsn,
            skipped_records: self.durable.skipped_records + skipped.records,
            skipped_bytes: self.durable.skipped_bytes + skipped.bytes,
            payload: self.durable.payload.clone(),
        };
        self.inner.persist_cursor(&self.name, &self.file, &next)?;
        self.durable = next;
        if self.walker.read < lsn {
            self.walker = Walker::after(lsn);
        }
        self.inner.reclaim();
        Ok(skipped)
    }
}

impl Drop for Cursor {
    fn drop(&mut self) {
        self.inner.release_cursor(&self.name);
    }
}

/// Future of [`Cursor::readable`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Readable<'a> {
    cursor: &'a mut Cursor,
}

impl Future for Readable<'_> {
    type Output = WaitOutcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<WaitOutcome> {
        let cursor = &mut *self.get_mut().cursor;
        match cursor
            .inner
            .core
            .tail
            .poll(cursor.walker.read, cursor.generation, cx)
        {
            Poll::Ready((out, generation)) => {
                cursor.generation = generation;
                Poll::Ready(out)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
