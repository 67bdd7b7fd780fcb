//! From one batch's protobuf bytes to the facade's [`Telemetry`].
//!
//! Invariant: [`telemetry_from_bytes`] is the *only* place in this crate that knows how a
//! `Telemetry` is built. The rest of the crate hands it bytes and a [`Signal`] and passes what
//! it returns to the spool's sink, so a change of `Telemetry`'s form (a bytes-backed batch
//! with a validating constructor) is a change of this one function.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_spool_core::{Signal, Telemetry};
use prost::Message as _;

/// The bytes were not a valid OTLP export request of the signal.
#[derive(Debug, thiserror::Error)]
#[error("not a valid OTLP {signal} export request: {source}")]
pub struct DecodeError {
    /// The signal the bytes were handed in as.
    pub signal: Signal,
    /// What the protobuf decoder said.
    #[source]
    pub source: prost::DecodeError,
}

/// Builds the [`Telemetry`] of one export request of `signal` from its protobuf encoding
/// (`Export{Trace,Metrics,Logs}ServiceRequest`, as the OpenTelemetry SDKs' OTLP encoders
/// produce it). Nothing is kept from `bytes`.
pub fn telemetry_from_bytes(signal: Signal, bytes: &[u8]) -> Result<Telemetry, DecodeError> {
    let decoded = match signal {
        Signal::Traces => ExportTraceServiceRequest::decode(bytes).map(Telemetry::Traces),
        Signal::Metrics => ExportMetricsServiceRequest::decode(bytes).map(Telemetry::Metrics),
        Signal::Logs => ExportLogsServiceRequest::decode(bytes).map(Telemetry::Logs),
    };
    decoded.map_err(|source| DecodeError { signal, source })
}

/// An unknown signal name.
#[derive(Debug, thiserror::Error)]
#[error("unknown signal `{0}`: expected `traces`, `metrics` or `logs`")]
pub struct UnknownSignal(pub String);

/// Parses `"traces"`, `"metrics"` or `"logs"` (the folder names).
pub fn parse_signal(name: &str) -> Result<Signal, UnknownSignal> {
    Signal::ALL
        .into_iter()
        .find(|s| s.as_str() == name)
        .ok_or_else(|| UnknownSignal(name.to_string()))
}
