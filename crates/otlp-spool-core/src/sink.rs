//! [`Sink`]: where telemetry goes, and [`SinkError`]: why it may refuse it.
//!
//! Contract: `accept` returns `Ok(())` only once the sink holds the data (that is the
//! acknowledgement a server passes on to its client), returns an error without keeping
//! anything otherwise, and never blocks for long (a full sink refuses at once with
//! [`SinkError::Full`] instead of waiting for room).

use std::time::Duration;

use crate::Telemetry;

/// Receives telemetry (serialized, validated requests): the pipeline's buffer, a test
/// collector, a forwarder...
///
/// Implementations are shared between many request handlers at once (`Send + Sync`), and are
/// called from async tasks: `accept` must not block for long (no waiting for buffer room, no
/// network I/O). Both the OTLP receiver and the embedded SDK exporters call it.
pub trait Sink: Send + Sync + 'static {
    /// Takes `telemetry`. `Ok(())` means the data is held and the sender may be acknowledged;
    /// an error means nothing was kept.
    fn accept(&self, telemetry: Telemetry) -> Result<(), SinkError>;

    /// Returns once everything accepted before the call is durable: written to its files,
    /// delivered, or otherwise as safe as the sink can make it; or an error once `timeout` has
    /// passed first. The SDK exporters call it from `force_flush` and `shutdown`. The default
    /// does nothing, for sinks that hold nothing in flight.
    fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        let _ = timeout;
        Ok(())
    }
}

impl<S: Sink + ?Sized> Sink for std::sync::Arc<S> {
    fn accept(&self, telemetry: Telemetry) -> Result<(), SinkError> {
        (**self).accept(telemetry)
    }

    fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        (**self).flush(timeout)
    }
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn accept(&self, telemetry: Telemetry) -> Result<(), SinkError> {
        (**self).accept(telemetry)
    }

    fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        (**self).flush(timeout)
    }
}

/// Why a [`Sink`] refused a batch. In every case the sink kept nothing.
///
/// How an OTLP server answers each (the receiver does exactly this):
///
/// | variant | gRPC | HTTP | retryable |
/// |---|---|---|---|
/// | [`Full`](SinkError::Full) | `UNAVAILABLE` + `google.rpc.RetryInfo` | 503 + `Retry-After` | yes |
/// | [`Closed`](SinkError::Closed) | `UNAVAILABLE` | 503 | yes (elsewhere / later) |
/// | [`TooLarge`](SinkError::TooLarge) | `RESOURCE_EXHAUSTED` | 413 | no |
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// No room right now (backpressure); the sender should retry after `retry_after`.
    #[error("the buffer is full, retry after {retry_after:?}")]
    Full {
        /// The suggested wait before a retry.
        retry_after: Duration,
    },
    /// The sink is shutting down and takes nothing more.
    #[error("the pipeline is shutting down")]
    Closed,
    /// This single batch is larger than the sink could ever hold; retrying cannot help.
    #[error("the batch ({weight} bytes) is larger than the whole buffer ({capacity} bytes)")]
    TooLarge {
        /// The batch's weight in bytes, as the sink measured it.
        weight: u64,
        /// The sink's total capacity in bytes.
        capacity: u64,
    },
}

impl SinkError {
    /// Whether the sender may retry the same batch later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, SinkError::Full { .. } | SinkError::Closed)
    }
}
