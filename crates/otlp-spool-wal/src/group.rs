//! Group commit: the synchronous core that appenders and the committer share (modelled by loom).
//!
//! Appenders frame their record into the pending buffer under one short lock: they check the
//! byte bound, take the next LSN and copy the bytes, then leave with a [`Ticket`] on the
//! current [`Group`]. The committer thread takes the whole pending buffer at once, hands it to
//! a [`LogSink`] that writes and syncs it, and completes the group. Records that arrive while a
//! sync is running accumulate for the next one, so N concurrent appenders share one sync.
//! Before taking, the committer may wait (at most `max_delay`) until as many records are
//! pending as its last group held: the appenders woken by that group's completion are
//! expected back, and waiting for them fills the next group instead of syncing a part of it.
//! A lone appender (last group of one) never waits.
//!
//! Invariants:
//! - LSNs are handed out under the state lock in increasing order and the pending buffer holds
//!   their frames in that order, so the log on disk is ordered by LSN;
//! - `used` (segments on disk plus pending frames) never exceeds `max_bytes` by an append: an
//!   append that would pass it is refused at once, before it takes an LSN; a failed batch
//!   gives its bytes back;
//! - a ticket's group is completed only after the sink returned for the batch holding its
//!   record: `Ok` means the record's bytes were synced, `Err` means none of the batch's bytes
//!   count as written (the sink cut them back);
//! - after `close`, no append succeeds, and the committer exits only once the pending buffer is
//!   empty, so every ticket handed out completes;
//! - if the committer stops abnormally (a panic in the sink), the batch it held and everything
//!   pending complete with [`TicketError::Stopped`] and the core refuses further appends.

use std::sync::Arc;
use std::time::Duration;

use otlp_spool_core::Signal;

use crate::error::{AppendError, IoFailure, TicketError};
use crate::format::{RECORD_HEADER_LEN, crc, encode_record};
use crate::sync::{AtomicU64, Condvar, Mutex, Ordering};
use crate::tail::Tail;
use crate::ticket::{Group, Ticket};

/// One flush's worth of framed records, LSNs `first_lsn..=last_lsn` back to back.
#[derive(Debug)]
pub(crate) struct Batch<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) first_lsn: u64,
    pub(crate) last_lsn: u64,
}

/// Where the committer puts batches: the segment files, or memory in the loom models.
pub(crate) trait LogSink {
    /// Writes `batch` at the end of the log and makes it durable. Returns the bytes the log
    /// grew by besides the batch (the header of a segment it created). On `Err` the log must be
    /// as if the batch had never been written.
    fn write(&mut self, batch: &Batch<'_>) -> Result<u64, IoFailure>;
}

/// The core's settings (validated by `WalOptions`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_bytes: u64,
    pub(crate) max_record_bytes: usize,
    pub(crate) max_delay: Duration,
    pub(crate) trigger_bytes: usize,
}

/// Monotonic counters, read by `Wal::stats`.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) appended_records: AtomicU64,
    pub(crate) appended_bytes: AtomicU64,
    pub(crate) refused_full: AtomicU64,
    pub(crate) refused_too_large: AtomicU64,
    pub(crate) failed_records: AtomicU64,
    pub(crate) groups: AtomicU64,
    pub(crate) data_syncs: AtomicU64,
    pub(crate) meta_syncs: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// The committer is not waiting (or was already notified).
    No,
    /// The committer waits for a first record.
    Idle,
    /// The committer waits out the group-commit delay, for `expect` records.
    Delay,
}

#[derive(Debug)]
struct State {
    next_lsn: u64,
    pending: Vec<u8>,
    pending_first: u64,
    pending_records: u64,
    group: Arc<Group>,
    used: u64,
    closed: bool,
    waiting: Waiting,
    /// Records in the last group taken: how many the delay waits for (the appenders that were
    /// active then are expected back).
    expect: u64,
    spare: Vec<u8>,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Core {
    state: Mutex<State>,
    work: Condvar,
    limits: Limits,
    pub(crate) tail: Tail,
    pub(crate) counters: Arc<Counters>,
}

/// What the committer took from the pending state for one flush.
struct Taken {
    bytes: Vec<u8>,
    first_lsn: u64,
    last_lsn: u64,
    records: u64,
}

/// The group being written: completed with `Stopped` if the committer leaves without
/// completing it (a panic in the sink).
struct InFlight(Option<Arc<Group>>);

impl InFlight {
    fn finish(mut self, outcome: Result<(), TicketError>) {
        if let Some(group) = self.0.take() {
            group.complete(outcome);
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(group) = self.0.take() {
            group.complete(Err(TicketError::Stopped));
        }
    }
}

/// Stops the core if the committer unwinds.
struct StopOnUnwind<'a>(&'a Core);

impl Drop for StopOnUnwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

impl Core {
    /// A core whose next record gets `next_lsn`, with `used` bytes already in the log whose
    /// last durable record is `durable_lsn` (0: none).
    pub(crate) fn new(
        limits: Limits,
        next_lsn: u64,
        durable_lsn: u64,
        used: u64,
        counters: Arc<Counters>,
    ) -> Self {
        Core {
            state: Mutex::new(State {
                next_lsn,
                pending: Vec::new(),
                pending_first: next_lsn,
                pending_records: 0,
                group: Arc::new(Group::new()),
                used,
                closed: false,
                waiting: Waiting::No,
                expect: 0,
                spare: Vec::new(),
            }),
            work: Condvar::new(),
            limits,
            tail: Tail::new(durable_lsn),
            counters,
        }
    }

    /// Frames `payload` into the pending buffer; see the module docs.
    pub(crate) fn append(&self, signal: Signal, payload: &[u8]) -> Result<Ticket, AppendError> {
        if payload.len() > self.limits.max_record_bytes {
            Counters::add(&self.counters.refused_too_large, 1);
            return Err(AppendError::TooLarge {
                len: payload.len(),
                max: self.limits.max_record_bytes,
            });
        }
        let data_crc = crc(payload);
        let needed = (RECORD_HEADER_LEN + payload.len()) as u64;
        let mut s = self.state.lock();
        if s.closed {
            return Err(AppendError::Closed);
        }
        if s.used + needed > self.limits.max_bytes {
            let used = s.used;
            drop(s);
            Counters::add(&self.counters.refused_full, 1);
            return Err(AppendError::Full {
                used,
                max: self.limits.max_bytes,
                needed,
            });
        }
        let lsn = s.next_lsn;
        s.next_lsn += 1;
        if s.pending_records == 0 {
            s.pending_first = lsn;
        }
        encode_record(&mut s.pending, lsn, signal, payload, data_crc);
        s.pending_records += 1;
        s.used += needed;
        let group = Arc::clone(&s.group);
        let wake = match s.waiting {
            Waiting::Idle => true,
            Waiting::Delay => {
                s.pending.len() >= self.limits.trigger_bytes || s.pending_records >= s.expect
            }
            Waiting::No => false,
        };
        if wake {
            s.waiting = Waiting::No;
        }
        drop(s);
        if wake {
            self.work.notify_one();
        }
        Counters::add(&self.counters.appended_records, 1);
        Counters::add(&self.counters.appended_bytes, payload.len() as u64);
        Ok(Ticket::new(lsn, group))
    }

    /// The LSN the next record will get.
    pub(crate) fn next_lsn(&self) -> u64 {
        self.state.lock().next_lsn
    }

    /// Bytes in use (segments plus pending frames).
    pub(crate) fn used(&self) -> u64 {
        self.state.lock().used
    }

    /// Gives back bytes of deleted segments.
    pub(crate) fn release(&self, bytes: u64) {
        let mut s = self.state.lock();
        s.used = s.used.saturating_sub(bytes);
    }

    /// Refuses appends from now on; the committer writes what is pending, then exits.
    pub(crate) fn close(&self) {
        let mut s = self.state.lock();
        s.closed = true;
        s.waiting = Waiting::No;
        drop(s);
        self.work.notify_all();
    }

    /// Whether `close` was called (or the committer stopped).
    pub(crate) fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    /// The committer is gone: fail what is pending and refuse appends.
    fn stop(&self) {
        let group = {
            let mut s = self.state.lock();
            s.closed = true;
            let failed = std::mem::take(&mut s.pending_records);
            Counters::add(&self.counters.failed_records, failed);
            let bytes = s.pending.len() as u64;
            s.used = s.used.saturating_sub(bytes);
            s.pending.clear();
            std::mem::replace(&mut s.group, Arc::new(Group::new()))
        };
        group.complete(Err(TicketError::Stopped));
        self.tail.close();
    }

    /// Waits for records (and the group-commit delay), then takes them; `None` once closed and
    /// drained.
    fn take(&self) -> Option<(Taken, InFlight)> {
        let mut s = self.state.lock();
        while s.pending_records == 0 {
            if s.closed {
                return None;
            }
            s.waiting = Waiting::Idle;
            self.work.wait(&mut s);
            s.waiting = Waiting::No;
        }
        if !self.limits.max_delay.is_zero()
            && s.pending_records < s.expect
            && s.pending.len() < self.limits.trigger_bytes
            && !s.closed
        {
            // One bounded wait, only while fewer records are pending than the last group had
            // (a lone appender never waits): the appender that brings the count to it or
            // crosses the size trigger, `close`, or the delay ends it (a spurious wake-up only
            // shortens it).
            s.waiting = Waiting::Delay;
            self.work.wait_for(&mut s, self.limits.max_delay);
            s.waiting = Waiting::No;
        }
        let spare = std::mem::take(&mut s.spare);
        let bytes = std::mem::replace(&mut s.pending, spare);
        let records = std::mem::take(&mut s.pending_records);
        s.expect = records;
        let first_lsn = s.pending_first;
        let group = std::mem::replace(&mut s.group, Arc::new(Group::new()));
        Some((
            Taken {
                bytes,
                first_lsn,
                last_lsn: first_lsn + records - 1,
                records,
            },
            InFlight(Some(group)),
        ))
    }

    /// The committer's loop: take, write, complete, until closed and drained.
    pub(crate) fn run_committer(&self, sink: &mut dyn LogSink) {
        let _stop = StopOnUnwind(self);
        while let Some((taken, inflight)) = self.take() {
            let outcome = sink.write(&Batch {
                bytes: &taken.bytes,
                first_lsn: taken.first_lsn,
                last_lsn: taken.last_lsn,
            });
            let mut bytes = taken.bytes;
            let written = bytes.len() as u64;
            bytes.clear();
            {
                let mut s = self.state.lock();
                match &outcome {
                    Ok(extra) => s.used += extra,
                    Err(_) => s.used = s.used.saturating_sub(written),
                }
                // Keep one buffer's capacity for the next flush, unless a burst made it huge.
                if bytes.capacity() <= 4 * self.limits.trigger_bytes.max(1 << 20) {
                    s.spare = bytes;
                }
            }
            Counters::add(&self.counters.groups, 1);
            match outcome {
                Ok(_) => {
                    self.tail.publish(taken.last_lsn);
                    inflight.finish(Ok(()));
                }
                Err(failure) => {
                    Counters::add(&self.counters.failed_records, taken.records);
                    inflight.finish(Err(TicketError::Io(failure)));
                }
            }
        }
        self.tail.close();
    }
}
