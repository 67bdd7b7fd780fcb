//! [`Telemetry`]: one OTLP export request of one signal, held as its serialized protobuf bytes.
//!
//! Invariants:
//! * The bytes are a valid, serialized `Export*ServiceRequest` of [`Telemetry::signal`]: either
//!   encoded here from a prost request (the `From` impls, the edges), checked by the validating
//!   walker ([`Telemetry::from_protobuf`], what the receiver and the Python package call), or
//!   checked by the caller of [`Telemetry::from_validated`].
//! * `item_count` and `write_cost` describe exactly those bytes; they are measured once, when
//!   the value is made, and never recomputed.
//! * Cloning is a reference-count increment: the bytes are a shared [`Bytes`], never copied.
//! * Several requests of one signal concatenated are one valid request holding all their
//!   items ([`Telemetry::concat`]): protobuf merges repeated fields by appending, and every
//!   request type has one field, its repeated `resource_*` list.

use bytes::{Bytes, BytesMut};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use prost::Message;

use crate::Signal;
use crate::wire::{Refused, WalkError, WalkLimits, walk, write_cost};

/// One batch of telemetry: a serialized OTLP export request of one signal (exactly as it
/// arrived, after validation, or as an SDK exporter encoded it), with its item count and the
/// memory writing it will take.
///
/// ```
/// use otlp_spool_core::{ExportRequest, Signal, Telemetry};
/// use otlp_spool_core::proto::collector::trace::v1::ExportTraceServiceRequest;
///
/// // At an edge (SDK exporter, OTLP/JSON): encode the prost request once.
/// let batch = Telemetry::from(ExportTraceServiceRequest::default());
/// assert_eq!(batch.signal(), Signal::Traces);
/// assert!(batch.is_empty());
/// // Where prost structs are needed again (OTLP/JSON out, tests), decode.
/// assert_eq!(batch.decode()?, ExportRequest::Traces(ExportTraceServiceRequest::default()));
/// # Ok::<(), otlp_spool_core::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Telemetry {
    signal: Signal,
    bytes: Bytes,
    items: usize,
    write_cost: usize,
}

impl Telemetry {
    /// Wraps bytes that the caller has already validated: `bytes` must be a serialized
    /// `Export*ServiceRequest` of `signal` (the receiver's validation guarantees it),
    /// `items` its spans / data points / log records, and `write_cost` what writing it will
    /// cost (usually [`wire::write_cost`](crate::wire::write_cost) of the same figures).
    ///
    /// Nothing is checked here: bytes that break the promise make the storage writer's
    /// conversion fail later, and their items are then counted as dropped.
    pub fn from_validated(signal: Signal, bytes: Bytes, items: usize, write_cost: usize) -> Self {
        Self {
            signal,
            bytes,
            items,
            write_cost,
        }
    }

    /// Validates one serialized `Export*ServiceRequest` of `signal` with the walker
    /// ([`wire::walk`](crate::wire::walk): one pass over the bytes, accepting what prost
    /// accepts, nesting bounded by `limits`) and wraps what it keeps: the items with invalid
    /// ids are cut out of the bytes and reported in the [`Refused`]; when nothing is refused
    /// the telemetry holds `bytes` itself (no copy). The write cost is
    /// [`wire::write_cost`](crate::wire::write_cost) of the kept bytes and items.
    ///
    /// ```
    /// use otlp_spool_core::{Signal, Telemetry};
    /// use otlp_spool_core::wire::WalkLimits;
    ///
    /// let (batch, refused) =
    ///     Telemetry::from_protobuf(Signal::Logs, bytes::Bytes::new(), &WalkLimits::default())?;
    /// assert!(batch.is_empty() && refused.is_empty());
    /// assert!(Telemetry::from_protobuf(Signal::Logs, vec![0xff].into(), &WalkLimits::default()).is_err());
    /// # Ok::<(), otlp_spool_core::wire::WalkError>(())
    /// ```
    pub fn from_protobuf(
        signal: Signal,
        bytes: Bytes,
        limits: &WalkLimits,
    ) -> Result<(Telemetry, Refused), WalkError> {
        let walked = walk(signal, bytes, limits)?;
        let items = usize::try_from(walked.items).unwrap_or(usize::MAX);
        let cost = write_cost(signal, walked.bytes.len(), items);
        Ok((
            Telemetry::from_validated(signal, walked.bytes, items, cost),
            walked.refused,
        ))
    }

    /// The signal this batch carries.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// The number of items: spans, metric data points (every point of every gauge, sum,
    /// histogram, exponential histogram and summary) or log records.
    pub fn item_count(&self) -> usize {
        self.items
    }

    /// Whether the batch holds no items at all.
    pub fn is_empty(&self) -> bool {
        self.items == 0
    }

    /// The serialized request.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The serialized request, by value (no copy).
    pub fn into_bytes(self) -> Bytes {
        self.bytes
    }

    /// The size of the serialized request in bytes: what it costs on the wire, in a lane or
    /// in a queue.
    pub fn weight(&self) -> usize {
        self.bytes.len()
    }

    /// The estimated memory, in bytes, that the storage writer needs to turn this batch into
    /// Arrow (see [`wire::write_cost`](crate::wire::write_cost)). Lanes weigh a request as
    /// `weight() + write_cost()`.
    pub fn write_cost(&self) -> usize {
        self.write_cost
    }

    /// Decodes the bytes into the prost request, for the edges that need structs (OTLP/JSON
    /// out, tests as the oracle).
    pub fn decode(&self) -> Result<ExportRequest, DecodeError> {
        ExportRequest::decode(self.signal, &self.bytes)
    }

    /// Concatenates several batches of one signal into one: the bytes of one valid merged
    /// request, the sum of the item counts and of the write costs. One batch is returned
    /// as it is (no copy); several are copied once into one buffer.
    pub fn concat<'a>(
        parts: impl IntoIterator<Item = &'a Telemetry>,
    ) -> Result<Telemetry, ConcatError> {
        let parts: Vec<&Telemetry> = parts.into_iter().collect();
        let (first, rest) = parts.split_first().ok_or(ConcatError::Empty)?;
        if rest.is_empty() {
            return Ok((*first).clone());
        }
        let signal = first.signal;
        if let Some(other) = rest.iter().find(|t| t.signal != signal) {
            return Err(ConcatError::MixedSignals {
                first: signal,
                other: other.signal,
            });
        }
        let len = parts.iter().map(|t| t.bytes.len()).sum();
        let mut bytes = BytesMut::with_capacity(len);
        for part in &parts {
            bytes.extend_from_slice(&part.bytes);
        }
        Ok(Telemetry {
            signal,
            bytes: bytes.freeze(),
            items: parts.iter().map(|t| t.items).sum(),
            write_cost: parts.iter().map(|t| t.write_cost).sum(),
        })
    }
}

/// A decoded OTLP export request: the prost form of a [`Telemetry`], for the edges that need
/// structs.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportRequest {
    /// A batch of spans.
    Traces(ExportTraceServiceRequest),
    /// A batch of metrics and their data points.
    Metrics(ExportMetricsServiceRequest),
    /// A batch of log records.
    Logs(ExportLogsServiceRequest),
}

impl ExportRequest {
    /// Decodes serialized request bytes of `signal` with prost (prost's recursion limit
    /// bounds nesting, so deep input is an error, not a stack overflow).
    pub fn decode(signal: Signal, bytes: &[u8]) -> Result<ExportRequest, DecodeError> {
        let decoded = match signal {
            Signal::Traces => ExportTraceServiceRequest::decode(bytes).map(Self::Traces),
            Signal::Metrics => ExportMetricsServiceRequest::decode(bytes).map(Self::Metrics),
            Signal::Logs => ExportLogsServiceRequest::decode(bytes).map(Self::Logs),
        };
        decoded.map_err(|e| DecodeError {
            signal,
            message: e.to_string(),
        })
    }

    /// The signal of this request.
    pub fn signal(&self) -> Signal {
        match self {
            Self::Traces(_) => Signal::Traces,
            Self::Metrics(_) => Signal::Metrics,
            Self::Logs(_) => Signal::Logs,
        }
    }

    /// Spans, metric data points or log records, as [`Telemetry::item_count`] counts them.
    pub fn item_count(&self) -> usize {
        match self {
            Self::Traces(request) => request
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum(),
            Self::Metrics(request) => request
                .resource_metrics
                .iter()
                .flat_map(|r| &r.scope_metrics)
                .flat_map(|s| &s.metrics)
                .map(|m| data_point_count(m.data.as_ref()))
                .sum(),
            Self::Logs(request) => request
                .resource_logs
                .iter()
                .flat_map(|r| &r.scope_logs)
                .map(|s| s.log_records.len())
                .sum(),
        }
    }

    /// The protobuf encoding.
    pub fn encode_to_vec(&self) -> Vec<u8> {
        match self {
            Self::Traces(request) => request.encode_to_vec(),
            Self::Metrics(request) => request.encode_to_vec(),
            Self::Logs(request) => request.encode_to_vec(),
        }
    }
}

/// Data points in one metric's payload (zero for a metric without data).
fn data_point_count(data: Option<&Data>) -> usize {
    match data {
        None => 0,
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
        Some(Data::Summary(s)) => s.data_points.len(),
    }
}

/// The bytes of a [`Telemetry`] did not decode as a request of its signal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed protobuf {}: {message}", request_name(*.signal))]
pub struct DecodeError {
    /// The signal the bytes were decoded as.
    pub signal: Signal,
    /// prost's description of the problem.
    pub message: String,
}

/// Why [`Telemetry::concat`] could not merge its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConcatError {
    /// There was nothing to concatenate.
    #[error("no batch to concatenate")]
    Empty,
    /// The parts were not all of one signal.
    #[error("cannot concatenate {first} with {other}: one signal per request")]
    MixedSignals {
        /// The first part's signal.
        first: Signal,
        /// The signal of the first part that differs.
        other: Signal,
    },
}

/// The protobuf message name of a signal's export request.
pub(crate) fn request_name(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "ExportTraceServiceRequest",
        Signal::Metrics => "ExportMetricsServiceRequest",
        Signal::Logs => "ExportLogsServiceRequest",
    }
}

impl From<ExportRequest> for Telemetry {
    /// Encodes the request once (the edge where structs become bytes), counts its items and
    /// estimates its write cost.
    fn from(request: ExportRequest) -> Self {
        let signal = request.signal();
        let items = request.item_count();
        let bytes = Bytes::from(request.encode_to_vec());
        let write_cost = write_cost(signal, bytes.len(), items);
        Self::from_validated(signal, bytes, items, write_cost)
    }
}

impl From<ExportTraceServiceRequest> for Telemetry {
    fn from(request: ExportTraceServiceRequest) -> Self {
        ExportRequest::Traces(request).into()
    }
}

impl From<ExportMetricsServiceRequest> for Telemetry {
    fn from(request: ExportMetricsServiceRequest) -> Self {
        ExportRequest::Metrics(request).into()
    }
}

impl From<ExportLogsServiceRequest> for Telemetry {
    fn from(request: ExportLogsServiceRequest) -> Self {
        ExportRequest::Logs(request).into()
    }
}
