//! [`Shared`]: the state both servers' handlers read, and [`Shared::ingest`], the one place
//! where validated telemetry meets the sink.
//!
//! Invariants: the sink is called at most once per request, only with a non-empty batch, and
//! only after the whole request was validated; the answer waits for the sink's [`Ack`]
//! (`otlp_spool_core::Ack`) to resolve, holding the request's concurrency slot meanwhile; a request whose items were all refused
//! (or that held none) is acknowledged without calling the sink.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use otlp_spool_core::{Sink, Telemetry};

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
    pub(crate) read_timeout: std::time::Duration,
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
            self.sink.submit(telemetry)?.resolve().await?;
        }
        self.metrics.accepted(signal, items, refused.count);
        Ok(refused)
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
