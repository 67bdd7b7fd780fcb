//! The state every SDK exporter shares with its clones: the sink, and a shutdown gate.
//!
//! Invariants:
//! * Once `shutdown` has begun, no export reaches the sink: an export either entered the gate
//!   before (and `shutdown` waits for it to leave) or sees the gate closed and returns
//!   `AlreadyShutdown` at once. So when `shutdown` returns `Ok`, everything an export returned
//!   `Ok` for has been flushed by the sink.
//! * Nothing here waits on I/O: the gate is one atomic word (bit 63 = shut down, low bits =
//!   exports inside), an export holds it only for the `Sink::accept` call, which never blocks.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use otlp_spool_core::{Sink, SinkError, Telemetry};

use crate::sync::{AtomicU64, Ordering, yield_now};

/// Bit 63 of the gate word: shutdown has begun.
const SHUT: u64 = 1 << 63;

/// How long `force_flush` waits for the sink by default.
pub(crate) const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// The exporters' shutdown gate: exports enter and leave, `close` waits for them to leave.
/// (Public only for the loom models; not a stable API.)
#[derive(Debug, Default)]
pub(crate) struct Gate {
    word: AtomicU64,
}

impl Gate {
    /// Enters the gate; `false` if it is closed (nothing to leave then).
    pub(crate) fn enter(&self) -> bool {
        let previous = self.word.fetch_add(1, Ordering::AcqRel);
        if previous & SHUT != 0 {
            self.word.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// Leaves the gate after a successful [`enter`](Self::enter).
    pub(crate) fn leave(&self) {
        self.word.fetch_sub(1, Ordering::AcqRel);
    }

    /// Closes the gate and waits for every export inside to leave; `false` if it was already
    /// closed. Exports stay inside only for one non-blocking `Sink::accept`, so the wait is short.
    pub(crate) fn close(&self) -> bool {
        let previous = self.word.fetch_or(SHUT, Ordering::AcqRel);
        if previous & SHUT != 0 {
            return false;
        }
        while self.word.load(Ordering::Acquire) & !SHUT != 0 {
            yield_now();
        }
        true
    }

    /// Whether the gate is closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.word.load(Ordering::Acquire) & SHUT != 0
    }
}

/// What an exporter and its clones share.
pub(crate) struct Shared {
    sink: Arc<dyn Sink>,
    gate: Gate,
    flush_timeout: Duration,
}

impl Shared {
    pub(crate) fn new(sink: Arc<dyn Sink>, flush_timeout: Duration) -> Self {
        Self {
            sink,
            gate: Gate::default(),
            flush_timeout,
        }
    }

    /// Hands one converted batch to the sink, unless shut down.
    pub(crate) fn accept(&self, telemetry: impl FnOnce() -> Telemetry) -> OTelSdkResult {
        if !self.gate.enter() {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        let result = self.sink.accept(telemetry());
        self.gate.leave();
        // The SDK's export contract has no way to hand the batch back: its answer is the
        // reason alone.
        result.map_err(|refusal| sink_error(refusal.into_error()))
    }

    /// An empty batch: nothing to hand over, but still an error after shutdown.
    pub(crate) fn accept_nothing(&self) -> OTelSdkResult {
        if self.gate.is_closed() {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        Ok(())
    }

    /// `force_flush`: waits until the sink holds everything durable.
    pub(crate) fn flush(&self) -> OTelSdkResult {
        if self.gate.is_closed() {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.flush_sink(self.flush_timeout)
    }

    /// `shutdown_with_timeout`: stops taking, then flushes within `timeout`.
    pub(crate) fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        if !self.gate.close() {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        self.flush_sink(timeout)
    }

    fn flush_sink(&self, timeout: Duration) -> OTelSdkResult {
        self.sink.flush(timeout).map_err(|error| match error {
            SinkError::Full { .. } => OTelSdkError::Timeout(timeout),
            other => sink_error(other),
        })
    }
}

fn sink_error(error: SinkError) -> OTelSdkError {
    match error {
        SinkError::Closed => OTelSdkError::InternalFailure("the otlp-spool sink is closed".into()),
        other => OTelSdkError::InternalFailure(other.to_string()),
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("shut_down", &self.gate.is_closed())
            .field("flush_timeout", &self.flush_timeout)
            .finish_non_exhaustive()
    }
}
