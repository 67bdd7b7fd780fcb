//! The group-commit core with an in-memory sink, public only under `--cfg otlp_spool_loom` so
//! that `tests/loom.rs` can model it: the same [`Core`] the log uses, minus the files.

use std::sync::Arc;
use std::time::Duration;

use otlp_spool_core::Signal;

use crate::error::{AppendError, IoFailure};
use crate::group::{Batch, Core, Counters, Limits, LogSink};
use crate::tail::WaitOutcome;
use crate::ticket::Ticket;

/// A [`Core`] without files.
#[derive(Debug, Clone)]
pub struct Model {
    core: Arc<Core>,
}

/// What a model committer wrote: `(first_lsn, last_lsn, bytes)` per successful batch.
#[derive(Debug, Default)]
pub struct MemorySink {
    /// Successful batches.
    pub batches: Vec<(u64, u64, usize)>,
    /// Batches still to fail (disk full) before writes succeed.
    pub fail_next: usize,
}

impl LogSink for MemorySink {
    fn write(&mut self, batch: &Batch<'_>) -> Result<u64, IoFailure> {
        if self.fail_next > 0 {
            self.fail_next -= 1;
            let err = std::io::Error::from(std::io::ErrorKind::StorageFull);
            return Err(IoFailure::new("write", "memory", &err));
        }
        self.batches
            .push((batch.first_lsn, batch.last_lsn, batch.bytes.len()));
        Ok(0)
    }
}

impl Model {
    /// A core bounded to `max_bytes`, without group-commit delay.
    pub fn new(max_bytes: u64) -> Self {
        let limits = Limits {
            max_bytes,
            max_record_bytes: 1024,
            max_delay: Duration::ZERO,
            trigger_bytes: 1 << 20,
        };
        Model {
            core: Arc::new(Core::new(limits, 1, 0, 0, Arc::new(Counters::default()))),
        }
    }

    /// [`Wal::append`](crate::Wal::append) on the core.
    pub fn append(&self, signal: Signal, bytes: &[u8]) -> Result<Ticket, AppendError> {
        self.core.append(signal, bytes)
    }

    /// Runs the committer until closed and drained.
    pub fn run_committer(&self, sink: &mut MemorySink) {
        self.core.run_committer(sink);
    }

    /// Closes the core.
    pub fn close(&self) {
        self.core.close();
    }

    /// Bytes in use.
    pub fn used(&self) -> u64 {
        self.core.used()
    }

    /// The last durable LSN.
    pub fn durable(&self) -> u64 {
        self.core.tail.durable()
    }

    /// A reader's wait for records past `read` (generation 0, no notification).
    pub fn wait_tail(&self, read: u64) -> WaitOutcome {
        self.core.tail.wait(read, 0, Duration::from_secs(1)).0
    }
}
