//! From one batch's protobuf bytes to the facade's [`Telemetry`].
//!
//! Invariant: [`telemetry_from_bytes`] is the *only* place in this crate that knows how a
//! `Telemetry` is built. The rest of the crate hands it bytes and a [`Signal`] and passes what
//! it returns to the spool's sink, so a change of `Telemetry`'s form (a bytes-backed batch
//! with a validating constructor) is a change of this one function.

use bytes::Bytes;
use otlp_spool_core::wire::{WalkError, WalkLimits};
use otlp_spool_core::{Signal, Telemetry};

/// The bytes were not a valid OTLP export request of the signal.
#[derive(Debug, thiserror::Error)]
#[error("not a valid OTLP {signal} export request: {source}")]
pub struct DecodeError {
    /// The signal the bytes were handed in as.
    pub signal: Signal,
    /// What the validating walker said (field path, byte offset, problem).
    #[source]
    pub source: WalkError,
}

/// Builds the [`Telemetry`] of one export request of `signal` from its protobuf encoding
/// (`Export{Trace,Metrics,Logs}ServiceRequest`, as the OpenTelemetry SDKs' OTLP encoders
/// produce it), validated by the same walker as the OTLP receiver
/// ([`Telemetry::from_protobuf`]): items with invalid ids are left out (the returned count
/// says how many), malformed bytes are an error. `bytes` is copied once, since Python owns it.
pub fn telemetry_from_bytes(signal: Signal, bytes: &[u8]) -> Result<(Telemetry, u64), DecodeError> {
    telemetry_from_vec(signal, bytes.to_vec())
}

/// [`telemetry_from_bytes`] for bytes Rust owns (the native span encoder's), without a copy.
pub fn telemetry_from_vec(signal: Signal, bytes: Vec<u8>) -> Result<(Telemetry, u64), DecodeError> {
    Telemetry::from_protobuf(signal, Bytes::from(bytes), &WalkLimits::default())
        .map(|(telemetry, refused)| (telemetry, refused.count))
        .map_err(|source| DecodeError { signal, source })
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
