//! Self-metrics: [`ReceiverMetrics`] (the receiver's own counters) and the collector that
//! reads them at every scrape of `GET /metrics`, first in the page's registry (the embedding
//! application's collectors follow, see `ReceiverBuilder::metrics_collector`).
//!
//! Invariants: counters only grow; every export request is counted once in `requests_total`
//! and then exactly once either as accepted or in `rejected_requests_total` under one reason;
//! items refused individually inside an accepted request (partial success) are counted in
//! `items_refused_total`, never as a rejected request. Counters are independent relaxed
//! atomics: a scrape may see one counter a request ahead of another, never a torn value.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use otlp_spool_core::Signal;
use otlp_spool_core::metrics::{self, Collector, DescriptorEncoder};

use crate::limit::ConcurrencyLimit;

/// The transport a request came by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// OTLP/gRPC.
    Grpc,
    /// OTLP/HTTP (protobuf or JSON).
    Http,
}

impl Transport {
    const ALL: [Transport; 2] = [Transport::Grpc, Transport::Http];

    /// `"grpc"` or `"http"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Transport::Grpc => "grpc",
            Transport::Http => "http",
        }
    }

    const fn index(self) -> usize {
        match self {
            Transport::Grpc => 0,
            Transport::Http => 1,
        }
    }
}

/// Why a request was refused as a whole (the `reason` label of
/// `otlp_spool_receiver_rejected_requests_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectReason {
    /// Malformed protobuf or JSON, corrupt compression, unreadable body (400 / INVALID_ARGUMENT).
    Invalid,
    /// Body over the limit, or a batch larger than the sink could hold (413 / RESOURCE_EXHAUSTED).
    TooLarge,
    /// Unsupported `Content-Type` or `Content-Encoding` (415).
    UnsupportedMediaType,
    /// Missing or wrong bearer token (401 / UNAUTHENTICATED).
    Unauthenticated,
    /// The sink was full (503 / UNAVAILABLE + retry hint).
    Backpressure,
    /// The sink was shutting down (503 / UNAVAILABLE).
    ShuttingDown,
    /// The concurrent-request limit was reached (503 / UNAVAILABLE + retry hint).
    TooManyRequests,
    /// The body did not arrive within `read_timeout` (408 / DEADLINE_EXCEEDED).
    Timeout,
    /// The sink could not store the request (a write-ahead log's write or fsync failed, e.g.
    /// a full disk; 503 / UNAVAILABLE + retry hint).
    Storage,
}

impl RejectReason {
    const ALL: [RejectReason; 9] = [
        RejectReason::Invalid,
        RejectReason::TooLarge,
        RejectReason::UnsupportedMediaType,
        RejectReason::Unauthenticated,
        RejectReason::Backpressure,
        RejectReason::ShuttingDown,
        RejectReason::TooManyRequests,
        RejectReason::Timeout,
        RejectReason::Storage,
    ];

    /// The label value: `invalid`, `too_large`, `unsupported_media_type`, `unauthenticated`,
    /// `backpressure`, `shutting_down`, `too_many_requests`, `timeout` or `storage`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RejectReason::Invalid => "invalid",
            RejectReason::TooLarge => "too_large",
            RejectReason::UnsupportedMediaType => "unsupported_media_type",
            RejectReason::Unauthenticated => "unauthenticated",
            RejectReason::Backpressure => "backpressure",
            RejectReason::ShuttingDown => "shutting_down",
            RejectReason::TooManyRequests => "too_many_requests",
            RejectReason::Timeout => "timeout",
            RejectReason::Storage => "storage",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// Why the server closed a connection on its own (the `reason` label of
/// `otlp_spool_receiver_connections_closed_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// No request head (HTTP/1) or connection preface (HTTP/2) within `read_header_timeout`.
    ReadHeaderTimeout,
    /// No request in flight for `idle_timeout`.
    IdleTimeout,
    /// The TLS handshake did not finish within `tls_handshake_timeout`.
    TlsHandshakeTimeout,
    /// The TLS handshake failed (not TLS, no common version, bad certificate...).
    TlsHandshakeFailed,
    /// A connection told to finish (idle, or at shutdown) still had not after its grace period.
    GraceExpired,
}

impl CloseReason {
    const ALL: [CloseReason; 5] = [
        CloseReason::ReadHeaderTimeout,
        CloseReason::IdleTimeout,
        CloseReason::TlsHandshakeTimeout,
        CloseReason::TlsHandshakeFailed,
        CloseReason::GraceExpired,
    ];

    /// The label value: `read_header_timeout`, `idle_timeout`, `tls_handshake_timeout`,
    /// `tls_handshake_failed` or `grace_expired`.
    pub const fn as_str(self) -> &'static str {
        match self {
            CloseReason::ReadHeaderTimeout => "read_header_timeout",
            CloseReason::IdleTimeout => "idle_timeout",
            CloseReason::TlsHandshakeTimeout => "tls_handshake_timeout",
            CloseReason::TlsHandshakeFailed => "tls_handshake_failed",
            CloseReason::GraceExpired => "grace_expired",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// The receiver's counters, shared by both servers. Read them with the getters; `GET /metrics`
/// shows them first.
#[derive(Default)]
pub struct ReceiverMetrics {
    requests: [[AtomicU64; 3]; 2],
    accepted_requests: [AtomicU64; 3],
    items_received: [AtomicU64; 3],
    items_accepted: [AtomicU64; 3],
    items_refused: [AtomicU64; 3],
    backpressure_waits: [AtomicU64; 3],
    rejected: [AtomicU64; RejectReason::ALL.len()],
    connections_accepted: AtomicU64,
    connections_refused: AtomicU64,
    connections_open: AtomicU64,
    connections_closed: [AtomicU64; CloseReason::ALL.len()],
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl ReceiverMetrics {
    pub(crate) fn request(&self, transport: Transport, signal: Signal) {
        bump(&self.requests[transport.index()][signal.index()], 1);
    }

    pub(crate) fn decoded(&self, signal: Signal, items: usize) {
        bump(&self.items_received[signal.index()], items as u64);
    }

    pub(crate) fn accepted(&self, signal: Signal, accepted_items: usize, refused_items: u64) {
        bump(&self.accepted_requests[signal.index()], 1);
        bump(&self.items_accepted[signal.index()], accepted_items as u64);
        bump(&self.items_refused[signal.index()], refused_items);
    }

    pub(crate) fn backpressure_wait(&self, signal: Signal) {
        bump(&self.backpressure_waits[signal.index()], 1);
    }

    pub(crate) fn rejected(&self, reason: RejectReason) {
        bump(&self.rejected[reason.index()], 1);
    }

    pub(crate) fn connection_opened(&self) {
        bump(&self.connections_accepted, 1);
        bump(&self.connections_open, 1);
    }

    pub(crate) fn connection_ended(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn connection_refused(&self) {
        bump(&self.connections_refused, 1);
    }

    pub(crate) fn connection_closed(&self, reason: CloseReason) {
        bump(&self.connections_closed[reason.index()], 1);
    }

    /// Connections accepted (and not refused by `max_connections`).
    pub fn connections_accepted(&self) -> u64 {
        read(&self.connections_accepted)
    }

    /// Connections closed at once because `max_connections` were already open.
    pub fn connections_refused(&self) -> u64 {
        read(&self.connections_refused)
    }

    /// Connections open right now.
    pub fn open_connections(&self) -> u64 {
        read(&self.connections_open)
    }

    /// Connections the server closed (or sent a GOAWAY) on its own, for `reason`.
    pub fn connections_closed(&self, reason: CloseReason) -> u64 {
        read(&self.connections_closed[reason.index()])
    }

    /// Export requests received for `signal` over `transport` (every request that reached an
    /// export endpoint, accepted or not).
    pub fn requests(&self, transport: Transport, signal: Signal) -> u64 {
        read(&self.requests[transport.index()][signal.index()])
    }

    /// Export requests of `signal` acknowledged (the sink took them, or they held no item).
    pub fn accepted_requests(&self, signal: Signal) -> u64 {
        read(&self.accepted_requests[signal.index()])
    }

    /// Items (spans, data points, log records) decoded from requests of `signal`.
    pub fn items_received(&self, signal: Signal) -> u64 {
        read(&self.items_received[signal.index()])
    }

    /// Items handed to the sink and acknowledged.
    pub fn items_accepted(&self, signal: Signal) -> u64 {
        read(&self.items_accepted[signal.index()])
    }

    /// Items refused individually inside accepted requests (reported in `partial_success`).
    pub fn items_refused(&self, signal: Signal) -> u64 {
        read(&self.items_refused[signal.index()])
    }

    /// Valid requests of `signal` that found the sink full and waited for room (see
    /// `ReceiverBuilder::backpressure_wait`); those still refused when the wait ran out are
    /// also counted in [`rejected_requests`](Self::rejected_requests) as `backpressure`.
    pub fn backpressure_waits(&self, signal: Signal) -> u64 {
        read(&self.backpressure_waits[signal.index()])
    }

    /// Requests refused as a whole for `reason`.
    pub fn rejected_requests(&self, reason: RejectReason) -> u64 {
        read(&self.rejected[reason.index()])
    }
}

/// The receiver's part of `GET /metrics`: its counters and the in-flight gauge.
#[derive(Debug)]
pub(crate) struct ReceiverCollector {
    pub(crate) metrics: Arc<ReceiverMetrics>,
    pub(crate) limit: ConcurrencyLimit,
}

/// A per-signal counter: its name, help text and how to read it.
type PerSignal = (
    &'static str,
    &'static str,
    fn(&ReceiverMetrics, Signal) -> u64,
);

const PER_SIGNAL: [PerSignal; 5] = [
    (
        "otlp_spool_receiver_accepted_requests_total",
        "Export requests acknowledged, by signal.",
        ReceiverMetrics::accepted_requests,
    ),
    (
        "otlp_spool_receiver_items_received_total",
        "Spans, data points and log records decoded, by signal.",
        ReceiverMetrics::items_received,
    ),
    (
        "otlp_spool_receiver_items_accepted_total",
        "Items handed to the pipeline and acknowledged, by signal.",
        ReceiverMetrics::items_accepted,
    ),
    (
        "otlp_spool_receiver_items_refused_total",
        "Items refused inside accepted requests (partial success), by signal.",
        ReceiverMetrics::items_refused,
    ),
    (
        "otlp_spool_receiver_backpressure_waits_total",
        "Valid requests that found the buffer full and waited for room, by signal.",
        ReceiverMetrics::backpressure_waits,
    ),
];

impl Collector for ReceiverCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let m = &*self.metrics;
        let e = &mut encoder;
        let mut requests = metrics::counter(
            e,
            "otlp_spool_receiver_requests_total",
            "Export requests received, by transport and signal.",
        )?;
        for transport in Transport::ALL {
            for signal in Signal::ALL {
                let labels = [
                    ("transport", transport.as_str()),
                    ("signal", signal.as_str()),
                ];
                requests.sample(labels, m.requests(transport, signal))?;
            }
        }
        for (name, help, get) in PER_SIGNAL {
            let mut family = metrics::counter(e, name, help)?;
            for signal in Signal::ALL {
                family.sample([("signal", signal.as_str())], get(m, signal))?;
            }
        }
        let mut rejected = metrics::counter(
            e,
            "otlp_spool_receiver_rejected_requests_total",
            "Requests refused as a whole, by reason.",
        )?;
        for reason in RejectReason::ALL {
            rejected.sample([("reason", reason.as_str())], m.rejected_requests(reason))?;
        }
        metrics::gauge(
            e,
            "otlp_spool_receiver_in_flight_requests",
            "Export requests being handled right now.",
        )?
        .value(self.limit.in_flight() as u64)?;
        metrics::counter(
            e,
            "otlp_spool_receiver_connections_accepted_total",
            "Connections accepted, both ports.",
        )?
        .value(m.connections_accepted())?;
        metrics::counter(
            e,
            "otlp_spool_receiver_connections_refused_total",
            "Connections closed at once because max_connections were open.",
        )?
        .value(m.connections_refused())?;
        let mut closed = metrics::counter(
            e,
            "otlp_spool_receiver_connections_closed_total",
            "Connections the server closed on its own, by reason.",
        )?;
        for reason in CloseReason::ALL {
            closed.sample([("reason", reason.as_str())], m.connections_closed(reason))?;
        }
        metrics::gauge(
            e,
            "otlp_spool_receiver_open_connections",
            "Connections open right now, both ports.",
        )?
        .value(m.open_connections())
    }
}

impl fmt::Debug for ReceiverMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverMetrics")
            .field("open_connections", &self.open_connections())
            .finish_non_exhaustive()
    }
}
