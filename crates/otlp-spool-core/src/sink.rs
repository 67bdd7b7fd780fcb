//! [`Sink`]: where telemetry goes, [`SinkError`]: why it may refuse it, [`Refusal`]: the
//! refused telemetry handed back with that reason, and [`Ack`]: the acknowledgement that may
//! still be on its way.
//!
//! Contract: `accept` returns `Ok(())` only once the sink holds the data (that is the
//! acknowledgement a server passes on to its client), returns a [`Refusal`] without keeping
//! anything otherwise (the telemetry comes back inside it, as a channel's `SendError<T>` gives
//! back its message, so a caller can retry without having kept a copy), and never blocks for
//! long (a full sink refuses at once with [`SinkError::Full`] instead of waiting for room).
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
    /// a [`Refusal`] means nothing was kept, and hands `telemetry` back with the reason.
    fn accept(&self, telemetry: Telemetry) -> Result<(), Refusal>;

    /// Like [`accept`](Sink::accept), for a caller that can wait for the acknowledgement
    /// without blocking (an async server). The default is `accept`, acknowledged at once; a
    /// durable sink returns [`Ack::Pending`] and `accept` then blocks until it resolves.
    /// A refusal hands `telemetry` back, as `accept`'s does.
    fn submit(&self, telemetry: Telemetry) -> Result<Ack, Refusal> {
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
    fn accept(&self, telemetry: Telemetry) -> Result<(), Refusal> {
        (**self).accept(telemetry)
    }

    fn submit(&self, telemetry: Telemetry) -> Result<Ack, Refusal> {
        (**self).submit(telemetry)
    }

    fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        (**self).flush(timeout)
    }
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn accept(&self, telemetry: Telemetry) -> Result<(), Refusal> {
        (**self).accept(telemetry)
    }

    fn submit(&self, telemetry: Telemetry) -> Result<Ack, Refusal> {
        (**self).submit(telemetry)
    }

    fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        (**self).flush(timeout)
    }
}

/// Why a [`Sink`] refused a batch. In every case the sink kept nothing. `accept` and
/// `submit` return it inside a [`Refusal`], with the batch; `flush` and a pending [`Ack`]
/// return it alone (there is no batch to hand back).
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

/// A batch a [`Sink`] refused, handed back with the reason ([`SinkError`]): what
/// [`Sink::accept`] and [`Sink::submit`] return instead of keeping anything. The batch costs
/// nothing to give back (it moves), so a caller may retry it later, send it elsewhere or
/// count and drop it.
///
/// It displays as its [`SinkError`] does; `Debug` shows the error and the batch's signal and
/// size, not its bytes.
///
/// ```
/// use std::time::Duration;
/// use otlp_spool_core::{Refusal, Sink, SinkError, Telemetry};
/// use otlp_spool_core::proto::collector::logs::v1::ExportLogsServiceRequest;
///
/// struct Full;
/// impl Sink for Full {
///     fn accept(&self, telemetry: Telemetry) -> Result<(), Refusal> {
///         let error = SinkError::Full { retry_after: Duration::from_millis(100) };
///         Err(Refusal::new(error, telemetry))
///     }
/// }
///
/// let refused = Full.accept(Telemetry::from(ExportLogsServiceRequest::default())).unwrap_err();
/// assert!(refused.error().is_retryable());
/// let batch: Telemetry = refused.into_inner(); // the same batch, ready for a retry
/// # let _ = batch;
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Refusal {
    error: SinkError,
    telemetry: Telemetry,
}

impl Refusal {
    /// `telemetry`, refused for `error`.
    pub fn new(error: SinkError, telemetry: Telemetry) -> Self {
        Self { error, telemetry }
    }

    /// Why the sink refused the batch.
    pub fn error(&self) -> &SinkError {
        &self.error
    }

    /// The refused batch, given back.
    pub fn into_inner(self) -> Telemetry {
        self.telemetry
    }

    /// The reason alone (the batch is dropped): what a server needs to answer its client.
    pub fn into_error(self) -> SinkError {
        self.error
    }

    /// The reason and the batch.
    pub fn into_parts(self) -> (SinkError, Telemetry) {
        (self.error, self.telemetry)
    }
}

impl std::fmt::Debug for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refusal")
            .field("error", &self.error)
            .field("signal", &self.telemetry.signal())
            .field("bytes", &self.telemetry.bytes().len())
            .finish()
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.error, f)
    }
}

/// The refusal displays as its error, so the error is not its `source` (a chain would say
/// it twice).
impl std::error::Error for Refusal {}

impl From<Refusal> for SinkError {
    fn from(refusal: Refusal) -> Self {
        refusal.error
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
