//! Wiring of the `forward:` section into an `otlp-spool-exporters` `Forwarder`, and its
//! self-metrics.

use std::sync::Arc;

use otlp_spool_breaker::{CircuitBreaker, State};
use otlp_spool_core::metrics::{self, Collector, DescriptorEncoder, Stat};
use otlp_spool_exporters::{
    Auth, Compression, ConfigError as ForwardBuildError, Forwarder, ForwarderStats, Protocol,
    RetryPolicy,
};

use crate::config::{ConfigError, ForwardCompression, ForwardConfig, ForwardProtocol};
use crate::error::SpoolError;

/// Builds the forwarder (inside the tokio runtime: it spawns its workers). A refused setting
/// is a [`ConfigError`] naming its key; what only starting can find is [`SpoolError::Forward`].
pub(crate) fn build(f: &ForwardConfig) -> Result<Forwarder, SpoolError> {
    let breaker = CircuitBreaker::builder()
        .failure_threshold(f.breaker.failure_threshold)
        .open_duration(f.breaker.open_duration.0)
        .max_open_duration(f.breaker.max_open_duration.0)
        .half_open_probes(f.breaker.half_open_probes)
        .successes_to_close(f.breaker.successes_to_close)
        .build()
        .map_err(|e| ConfigError::new("forward.breaker", e.to_string()))?;
    let retry = RetryPolicy::default()
        .initial_backoff(f.retry.initial_backoff.0)
        .max_backoff(f.retry.max_backoff.0)
        .max_attempts(f.retry.max_attempts);
    let mut builder = Forwarder::builder()
        .endpoint(f.endpoint.clone())
        .protocol(match f.protocol {
            ForwardProtocol::Grpc => Protocol::Grpc,
            ForwardProtocol::HttpProtobuf => Protocol::HttpProtobuf,
            ForwardProtocol::HttpJson => Protocol::HttpJson,
        })
        .compression(match f.compression {
            ForwardCompression::None => Compression::None,
            ForwardCompression::Gzip => Compression::Gzip,
        })
        .timeout(f.timeout.0)
        .queue_bytes(f.queue_size.0)
        .retry(retry)
        .breaker(breaker);
    for (name, value) in &f.headers {
        builder = builder.header(name.clone(), value.clone());
    }
    let a = &f.auth;
    if let Some(token) = &a.bearer_token {
        builder = builder.auth(Auth::bearer(token.expose()));
    } else if let Some(key) = &a.api_key {
        builder = builder.auth(Auth::api_key(key.header.clone(), key.value.expose()));
    } else if let Some(basic) = &a.basic {
        builder = builder.auth(Auth::basic(basic.username.clone(), basic.password.expose()));
    }
    // `https://` endpoints trust the system roots unless `forward.tls.ca_file` is set.
    if let Some(ca) = &f.tls.ca_file {
        builder = builder.tls_ca_file(ca.clone());
    }
    builder.build().map_err(|e| {
        let key = match &e {
            ForwardBuildError::TlsCa { .. } => "forward.tls.ca_file",
            ForwardBuildError::Header { .. } => "forward.headers",
            ForwardBuildError::Protocol(_) => "forward.protocol",
            ForwardBuildError::MissingEndpoint | ForwardBuildError::Endpoint { .. } => {
                "forward.endpoint"
            }
            _ => return SpoolError::Forward(e),
        };
        ConfigError::new(key, e.to_string()).into()
    })
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
