//! [`Shared`]: the state both servers' handlers read, and [`Shared::ingest`], the one place
//! where validated telemetry meets the sink.
//!
//! Invariants: the sink is handed a request only after the whole request was validated, and
//! only a non-empty batch; it holds the request at most once (a `Full` refusal hands the batch
//! back, and the request tries again until `backpressure_wait` has passed); the answer waits for the sink's [`Ack`]
//! (`otlp_spool_core::Ack`) to resolve, holding the request's concurrency slot meanwhile; a request whose items were all refused
//! (or that held none) is acknowledged without calling the sink.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use otlp_spool_core::{Ack, Refusal, Signal, Sink, SinkError, Telemetry};

use crate::auth::BearerToken;
use crate::decode::Limits;
use crate::extension::HttpExtension;
use crate::health::Health;
use crate::limit::{BodyBudget, ConcurrencyLimit};
use crate::metrics::ReceiverMetrics;
use crate::readiness::Readiness;
use crate::reject::Rejection;
use otlp_spool_core::metrics::Registry;
use otlp_spool_core::wire::Refused;

pub(crate) struct Shared {
    pub(crate) sink: Arc<dyn Sink>,
    pub(crate) metrics: Arc<ReceiverMetrics>,
    pub(crate) limit: ConcurrencyLimit,
    pub(crate) body_budget: BodyBudget,
    pub(crate) max_body_bytes: usize,
    /// How long a request body may take to arrive (`body.rs`).
    pub(crate) read_timeout: Duration,
    /// How long a request that finds the sink full waits for room (`ReceiverBuilder::backpressure_wait`).
    pub(crate) backpressure_wait: Duration,
    pub(crate) health: Health,
    pub(crate) max_decoded_bytes: usize,
    pub(crate) max_nesting_depth: u32,
    pub(crate) auth: Option<BearerToken>,
    pub(crate) readiness: Readiness,
    /// The `GET /metrics` registry: the receiver's collector, then the application's.
    pub(crate) registry: Registry,
    pub(crate) extension: Option<Arc<dyn HttpExtension>>,
    pub(crate) shutting_down: AtomicBool,
}

impl Shared {
    /// Hands the valid part of a request to the sink and waits for its acknowledgement (at
    /// once in memory mode, after the log's fsync in `wal` mode); `Ok` is the
    /// acknowledgement.
    pub(crate) async fn ingest(
        &self,
        telemetry: Telemetry,
        refused: Refused,
    ) -> Result<Refused, Rejection> {
        let signal = telemetry.signal();
        let items = telemetry.item_count();
        self.metrics.decoded(
            signal,
            items + usize::try_from(refused.count).unwrap_or(usize::MAX),
        );
        if items > 0 {
            self.submit(signal, telemetry).await?.resolve().await?;
        }
        self.metrics.accepted(signal, items, refused.count);
        Ok(refused)
    }

    /// Hands `telemetry` to the sink; while the sink is full, tries again (first after 1 ms,
    /// then at most every 8 ms) until `backpressure_wait` has passed since the first refusal,
    /// then returns that `Full` refusal. Every other refusal returns at once.
    async fn submit(&self, signal: Signal, telemetry: Telemetry) -> Result<Ack, Refusal> {
        const FIRST_PAUSE: Duration = Duration::from_millis(1);
        const LONGEST_PAUSE: Duration = Duration::from_millis(8);
        let refusal = match self.sink.submit(telemetry) {
            Ok(ack) => return Ok(ack),
            Err(refusal) => refusal,
        };
        if !matches!(refusal.error(), SinkError::Full { .. }) || self.backpressure_wait.is_zero() {
            return Err(refusal);
        }
        self.metrics.backpressure_wait(signal);
        let deadline = Instant::now() + self.backpressure_wait;
        let mut pause = FIRST_PAUSE;
        let mut refusal = refusal;
        loop {
            let now = Instant::now();
            if now >= deadline || self.shutting_down.load(Ordering::Acquire) {
                return Err(refusal);
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(LONGEST_PAUSE);
            let (_full, telemetry) = refusal.into_parts();
            refusal = match self.sink.submit(telemetry) {
                Ok(ack) => return Ok(ack),
                Err(again) if matches!(again.error(), SinkError::Full { .. }) => again,
                Err(other) => return Err(other),
            };
        }
    }

    /// The limits every request is validated against.
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            max_body_bytes: self.max_body_bytes,
            max_decoded_bytes: self.max_decoded_bytes,
            max_nesting_depth: self.max_nesting_depth,
        }
    }

    /// Whether a header value passes the bearer-token check (always, without a token).
    pub(crate) fn authorized(&self, header: Option<&[u8]>) -> bool {
        self.auth.as_ref().is_none_or(|token| token.admits(header))
    }

    pub(crate) fn is_ready(&self) -> bool {
        !self.shutting_down.load(Ordering::Acquire) && self.readiness.is_ready()
    }

    pub(crate) fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
    }

    /// The `GET /metrics` page: the receiver's counters, then every collector's.
    pub(crate) fn render_metrics(&self) -> String {
        otlp_spool_core::metrics::render(&self.registry)
    }
}
