//! [`Sink`]: where telemetry goes, [`SinkError`]: why it may refuse it, and [`Ack`]: the
//! acknowledgement that may still be on its way.
//!
//! Contract: `accept` returns `Ok(())` only once the sink holds the data (that is the
//! acknowledgement a server passes on to its client), returns an error without keeping
//! anything otherwise, and never blocks for long (a full sink refuses at once with
//! [`SinkError::Full`] instead of waiting for room).
//!
//! `submit` is the asynchronous form a server uses: `Ok(Ack::Now)` is `accept`'s `Ok(())`;
//! `Ok(Ack::Pending(f))` means the sink took the data and will hold it once `f` resolves `Ok`
//! (a write-ahead log's fsync). The server answers its client only then; `Err` from `f` means
//! nothing was kept after all, with the same meaning as an `Err` from `accept`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
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

    /// Like [`accept`](Sink::accept), for a caller that can wait for the acknowledgement
    /// without blocking (an async server). The default is `accept`, acknowledged at once; a
    /// durable sink returns [`Ack::Pending`] and `accept` then blocks until it resolves.
    fn submit(&self, telemetry: Telemetry) -> Result<Ack, SinkError> {
        self.accept(telemetry).map(|()| Ack::Now)
    }

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

    fn submit(&self, telemetry: Telemetry) -> Result<Ack, SinkError> {
        (**self).submit(telemetry)
    }

    fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        (**self).flush(timeout)
    }
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn accept(&self, telemetry: Telemetry) -> Result<(), SinkError> {
        (**self).accept(telemetry)
    }

    fn submit(&self, telemetry: Telemetry) -> Result<Ack, SinkError> {
        (**self).submit(telemetry)
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
/// | [`Unavailable`](SinkError::Unavailable) | `UNAVAILABLE` + `google.rpc.RetryInfo` | 503 + `Retry-After` | yes |
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
    /// The sink could not store the batch (a write-ahead log's write or fsync failed: a full
    /// disk, an I/O error); nothing was kept and the sender should retry after `retry_after`.
    #[error("the data could not be stored ({reason}), retry after {retry_after:?}")]
    Unavailable {
        /// What failed.
        reason: String,
        /// The suggested wait before a retry.
        retry_after: Duration,
    },
}

impl SinkError {
    /// Whether the sender may retry the same batch later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SinkError::Full { .. } | SinkError::Closed | SinkError::Unavailable { .. }
        )
    }
}

/// What [`Sink::submit`] promises for a batch it took.
#[derive(Debug)]
#[must_use = "the batch is acknowledged only once a pending ack resolves Ok"]
pub enum Ack {
    /// Held now: acknowledge at once.
    Now,
    /// Held once this resolves `Ok`; an `Err` means nothing was kept.
    Pending(AckFuture),
}

impl Ack {
    /// A pending acknowledgement from any future (boxed once).
    pub fn pending(f: impl Future<Output = Result<(), SinkError>> + Send + 'static) -> Ack {
        Ack::Pending(AckFuture(Box::pin(f)))
    }

    /// Waits for the acknowledgement (at once for [`Ack::Now`]).
    pub async fn resolve(self) -> Result<(), SinkError> {
        match self {
            Ack::Now => Ok(()),
            Ack::Pending(f) => f.await,
        }
    }
}

/// The future of an [`Ack::Pending`]: no runtime needed, any executor polls it.
#[must_use = "futures do nothing unless polled"]
pub struct AckFuture(Pin<Box<dyn Future<Output = Result<(), SinkError>> + Send>>);

impl std::fmt::Debug for AckFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AckFuture")
    }
}

impl Future for AckFuture {
    type Output = Result<(), SinkError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}
