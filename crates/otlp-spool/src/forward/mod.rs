//! The forwarder of the `forward:` section (its builder comes from `config::forward`), its
//! health check and its self-metrics.

use std::sync::Arc;

use otlp_spool_breaker::State;
use otlp_spool_core::metrics::{self, Collector, DescriptorEncoder, Stat};
use otlp_spool_exporters::{Forwarder, ForwarderStats};

use crate::config::ForwardConfig;
use crate::error::SpoolError;

/// Builds the forwarder (inside the tokio runtime: it spawns its workers). Its settings were
/// checked by `Config::validate` (a refusal there names its key); what only starting can find
/// is [`SpoolError::Forward`].
pub(crate) fn build(f: &ForwardConfig) -> Result<Forwarder, SpoolError> {
    crate::config::forwarder_builder(f)?
        .build()
        .map_err(SpoolError::Forward)
}

/// Attempts of a forwarder worker that must panic in a row before it counts as unable to make
/// progress (the same rule as a lane's writer).
const PANICS_UNHEALTHY: u64 = 3;

/// `None` while the forwarder's workers make progress; a problem naming the forwarder while
/// its last deliveries all panicked. A remote that is down is not a problem of this process:
/// the breaker state and the queue show it, and the data waits in the bounded queue.
pub(crate) fn health_problem(forwarder: &Forwarder) -> Option<String> {
    let s = forwarder.stats();
    (s.consecutive_panics >= PANICS_UNHEALTHY).then(|| {
        format!(
            "forwarder: the last {} deliveries panicked",
            s.consecutive_panics
        )
    })
}

/// The forwarder's self-metrics, read at every scrape.
#[derive(Debug)]
pub(crate) struct ForwarderCollector(pub(crate) Arc<Forwarder>);

const COUNTERS: [Stat<ForwarderStats>; 10] = [
    (
        "otlp_spool_forward_accepted_items_total",
        "Items queued for forwarding.",
        |s| s.accepted_items,
    ),
    (
        "otlp_spool_forward_refused_items_total",
        "Items the forward queue refused.",
        |s| s.refused_items,
    ),
    (
        "otlp_spool_forward_forwarded_items_total",
        "Items the remote accepted.",
        |s| s.forwarded_items,
    ),
    (
        "otlp_spool_forward_forwarded_requests_total",
        "Requests the remote accepted.",
        |s| s.forwarded_requests,
    ),
    (
        "otlp_spool_forward_retried_requests_total",
        "Attempts retried.",
        |s| s.retried_requests,
    ),
    (
        "otlp_spool_forward_tls_failures_total",
        "Attempts whose TLS handshake failed (retried).",
        |s| s.tls_failures,
    ),
    (
        "otlp_spool_forward_failed_items_total",
        "Items refused permanently by the remote.",
        |s| s.failed_items,
    ),
    (
        "otlp_spool_forward_rejected_items_total",
        "Items refused in partial_success.",
        |s| s.rejected_items,
    ),
    (
        "otlp_spool_forward_dropped_items_total",
        "Queued items dropped (overflow, attempts, shutdown, panics).",
        |s| s.dropped_items,
    ),
    (
        "otlp_spool_forward_panics_total",
        "Deliveries that panicked (their items dropped, the worker carried on).",
        |s| s.panics,
    ),
];

const GAUGES: [Stat<ForwarderStats>; 3] = [
    (
        "otlp_spool_forward_queue_bytes",
        "Bytes held by the forwarder.",
        |s| s.queue_bytes,
    ),
    (
        "otlp_spool_forward_healthy",
        "1 while the forwarder's workers make progress, 0 while they cannot (see /health).",
        |s| u64::from(s.consecutive_panics < PANICS_UNHEALTHY),
    ),
    (
        "otlp_spool_forward_breaker_state",
        "Circuit breaker: 0 closed, 1 open, 2 half-open.",
        |s| match s.breaker_state {
            State::Closed => 0,
            State::Open => 1,
            State::HalfOpen => 2,
        },
    ),
];

impl Collector for ForwarderCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        metrics::encode_snapshot(&mut encoder, &self.0.stats(), &COUNTERS, &GAUGES)
    }
}
