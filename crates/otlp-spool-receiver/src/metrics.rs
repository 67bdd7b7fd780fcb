//! Self-metrics: [`ReceiverMetrics`] (the receiver's own counters) and [`MetricsProvider`]
//! (what the embedding application appends to `GET /metrics`).
//!
//! Invariants: counters only grow; every export request is counted once in `requests_total`
//! and then exactly once either as accepted or in `rejected_requests_total` under one reason;
//! items refused individually inside an accepted request (partial success) are counted in
//! `items_refused_total`, never as a rejected request. Counters are independent relaxed
//! atomics: a scrape may see one counter a request ahead of another, never a torn value.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};

use otlp_spool_core::Signal;

/// Something that appends Prometheus text-format lines (`# HELP`, `# TYPE` and samples) to the
/// `GET /metrics` page. The embedding application passes its buffer, storage and forwarder
/// metrics this way. Any `Fn(&mut String)` is one.
pub trait MetricsProvider: Send + Sync + 'static {
    /// Appends this provider's metrics, complete lines each ending in `\n`.
    fn render(&self, out: &mut String);
}

impl<F> MetricsProvider for F
where
    F: Fn(&mut String) + Send + Sync + 'static,
{
    fn render(&self, out: &mut String) {
        self(out)
    }
}

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
}

impl RejectReason {
    const ALL: [RejectReason; 8] = [
        RejectReason::Invalid,
        RejectReason::TooLarge,
        RejectReason::UnsupportedMediaType,
        RejectReason::Unauthenticated,
        RejectReason::Backpressure,
        RejectReason::ShuttingDown,
        RejectReason::TooManyRequests,
        RejectReason::Timeout,
    ];

    /// The label value: `invalid`, `too_large`, `unsupported_media_type`, `unauthenticated`,
    /// `backpressure`, `shutting_down`, `too_many_requests` or `timeout`.
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

/// The receiver's counters, shared by both servers. Read them with the getters or render them
/// with [`ReceiverMetrics::render`] (that is what `GET /metrics` shows first).
#[derive(Default)]
pub struct ReceiverMetrics {
    requests: [[AtomicU64; 3]; 2],
    accepted_requests: [AtomicU64; 3],
    items_received: [AtomicU64; 3],
    items_accepted: [AtomicU64; 3],
    items_refused: [AtomicU64; 3],
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

    /// Requests refused as a whole for `reason`.
    pub fn rejected_requests(&self, reason: RejectReason) -> u64 {
        read(&self.rejected[reason.index()])
    }

    /// Appends the counters in Prometheus text format (version 0.0.4), plus the
    /// `in_flight` gauge given by the caller.
    pub fn render(&self, in_flight: usize, out: &mut String) {
        header(
            out,
            "otlp_spool_receiver_requests_total",
            "counter",
            "Export requests received, by transport and signal.",
        );
        for transport in Transport::ALL {
            for signal in Signal::ALL {
                let _ = writeln!(
                    out,
                    "otlp_spool_receiver_requests_total{{transport=\"{}\",signal=\"{}\"}} {}",
                    transport.as_str(),
                    signal.as_str(),
                    self.requests(transport, signal)
                );
            }
        }
        per_signal(
            out,
            "otlp_spool_receiver_accepted_requests_total",
            "Export requests acknowledged, by signal.",
            |s| self.accepted_requests(s),
        );
        per_signal(
            out,
            "otlp_spool_receiver_items_received_total",
            "Spans, data points and log records decoded, by signal.",
            |s| self.items_received(s),
        );
        per_signal(
            out,
            "otlp_spool_receiver_items_accepted_total",
            "Items handed to the pipeline and acknowledged, by signal.",
            |s| self.items_accepted(s),
        );
        per_signal(
            out,
            "otlp_spool_receiver_items_refused_total",
            "Items refused inside accepted requests (partial success), by signal.",
            |s| self.items_refused(s),
        );
        header(
            out,
            "otlp_spool_receiver_rejected_requests_total",
            "counter",
            "Requests refused as a whole, by reason.",
        );
        for reason in RejectReason::ALL {
            let _ = writeln!(
                out,
                "otlp_spool_receiver_rejected_requests_total{{reason=\"{}\"}} {}",
                reason.as_str(),
                self.rejected_requests(reason)
            );
        }
        header(
            out,
            "otlp_spool_receiver_in_flight_requests",
            "gauge",
            "Export requests being handled right now.",
        );
        let _ = writeln!(out, "otlp_spool_receiver_in_flight_requests {in_flight}");
        header(
            out,
            "otlp_spool_receiver_connections_accepted_total",
            "counter",
            "Connections accepted, both ports.",
        );
        let _ = writeln!(
            out,
            "otlp_spool_receiver_connections_accepted_total {}",
            self.connections_accepted()
        );
        header(
            out,
            "otlp_spool_receiver_connections_refused_total",
            "counter",
            "Connections closed at once because max_connections were open.",
        );
        let _ = writeln!(
            out,
            "otlp_spool_receiver_connections_refused_total {}",
            self.connections_refused()
        );
        header(
            out,
            "otlp_spool_receiver_connections_closed_total",
            "counter",
            "Connections the server closed on its own, by reason.",
        );
        for reason in CloseReason::ALL {
            let _ = writeln!(
                out,
                "otlp_spool_receiver_connections_closed_total{{reason=\"{}\"}} {}",
                reason.as_str(),
                self.connections_closed(reason)
            );
        }
        header(
            out,
            "otlp_spool_receiver_open_connections",
            "gauge",
            "Connections open right now, both ports.",
        );
        let _ = writeln!(
            out,
            "otlp_spool_receiver_open_connections {}",
            self.open_connections()
        );
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn per_signal(out: &mut String, name: &str, help: &str, value: impl Fn(Signal) -> u64) {
    header(out, name, "counter", help);
    for signal in Signal::ALL {
        let _ = writeln!(
            out,
            "{name}{{signal=\"{}\"}} {}",
            signal.as_str(),
            value(signal)
        );
    }
}

impl fmt::Debug for ReceiverMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        self.render(0, &mut text);
        f.debug_struct("ReceiverMetrics")
            .field("rendered_bytes", &text.len())
            .finish_non_exhaustive()
    }
}
