//! A write-ahead log of request bytes for otlp-spool's durable mode.
//!
//! Records are `(Signal, bytes)`: the request bytes a receiver decoded, logged before it
//! acknowledges. [`Wal::append`] frames a record into the pending buffer and returns a
//! [`Ticket`] at once; one committer thread writes everything pending and syncs it with one
//! `fdatasync` (group commit), then completes every ticket of that group. Consumers read
//! through named [`Cursor`]s that persist their position (and a small opaque payload) and keep
//! the segments they still need from being deleted.
//!
//! ```
//! use std::time::Duration;
//! use otlp_spool_core::Signal;
//! use otlp_spool_wal::{Wal, WalOptions, WaitOutcome};
//!
//! # let tmp = tempfile::tempdir().unwrap();
//! let wal = Wal::open(WalOptions::builder(tmp.path().join("wal")).build()?)?;
//! let mut files = wal.cursor("files-traces")?;           // created durably, at the start
//! let ticket = wal.append(Signal::Traces, b"request bytes")?;
//! let lsn = ticket.wait()?;                              // durable now: acknowledge
//! assert_eq!(files.wait(Duration::from_secs(5)), WaitOutcome::Ready);
//! let record = files.next_record()?.expect("durable record");
//! assert_eq!((record.lsn(), record.bytes()), (lsn, &b"request bytes"[..]));
//! files.commit(record.lsn(), b"{committed}")?;           // durable position + payload
//! wal.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Invariants
//! - **Acknowledged means synced.** A ticket completes `Ok` only after the segment bytes
//!   holding its record were written and `fdatasync` returned; a new segment file is
//!   `fsync`ed and its directory `fsync`ed before any record goes into it.
//! - **Ordered, never reused.** LSNs strictly increase along the log, across segments and
//!   restarts (a restart continues after the highest LSN it finds in segments or cursors), so
//!   no two durable records ever share one. A failed write's LSNs are not handed out again
//!   while the process runs (the sequence has gaps); after a restart they may be, as they name
//!   nothing that reached the disk.
//! - **Bounded.** Segment bytes plus records waiting for their sync never exceed
//!   `max_bytes`: an append that would pass it is refused at once ([`AppendError::Full`]).
//! - **Failed writes leave no trace.** A failed write or sync (a full disk) fails the tickets
//!   of its group, and the segment is cut back to its last good length before anything else
//!   is written; records acknowledged before are untouched; appends work again as soon as
//!   writes do, with no intervention.
//! - **Crash recovery never blocks start-up on content.** A torn or damaged tail is cut off, a
//!   damaged record in the middle is skipped, a segment with a bad header is set aside; each
//!   is reported in the [`RecoveryReport`] and logged, never silently.
//! - **Readers see only durable records,** in LSN order, and never block the committer.
//! - **Deletion waits for every consumer.** A segment is deleted only when every registered
//!   cursor (a cursor file on disk, open or not) has durably moved past its last record, and
//!   never the newest segment; "deleted" may mean renamed to a spare file (at most
//!   [`MAX_SPARE_SEGMENTS`]) that a later segment reuses, whose old records recovery never
//!   reads again (their LSNs are below the new header's). A cursor skipped or dropped with records it never consumed
//!   counts them ([`Skipped`]).
//! - **Cursor positions are durable and need no new space.** A commit returns `Ok` once the
//!   new position and payload are synced; a cursor file (created by new file + rename +
//!   directory fsync) holds two checksummed slots, and each commit overwrites the slot not
//!   holding the current state, so a torn commit leaves the previous state and a consumer can
//!   still commit (and free segments) on a full disk.
//! - **No runtime, no clock.** The crate needs no tokio: tickets and cursor waits are
//!   `Future`s with hand-made wakers, and blocking waits use condition variables with
//!   timeouts; it never reads the time.
//!
//! The on-disk format, the group-commit figures and the exactly-once protocol that consumers
//! build on are in the crate README.
#![forbid(unsafe_code)]

mod cursor;
mod durable;
mod error;
pub mod failpoint;
mod format;
mod group;
mod options;
mod reader;
mod recovery;
mod segment;
mod sync;
mod tail;
mod ticket;
mod wal;

#[cfg(otlp_spool_loom)]
pub mod model;

pub use cursor::{Cursor, Readable, Skipped};
pub use error::{
    AppendError, CloseError, ConfigError, CursorError, IoFailure, OpenError, PositionError,
    ReadError, TicketError,
};
pub use format::{MAX_CURSOR_PAYLOAD, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
pub use options::{
    DEFAULT_GROUP_COMMIT_MAX_BYTES, DEFAULT_GROUP_COMMIT_MAX_DELAY, DEFAULT_MAX_BYTES,
    DEFAULT_MAX_RECORD_BYTES, DEFAULT_SEGMENT_BYTES, WalOptions, WalOptionsBuilder,
};
pub use reader::Record;
pub use recovery::{Damage, RecoveryReport};
pub use segment::MAX_SPARE_SEGMENTS;
pub use tail::WaitOutcome;
pub use ticket::Ticket;
pub use wal::{CursorInfo, Wal, WalStats};
