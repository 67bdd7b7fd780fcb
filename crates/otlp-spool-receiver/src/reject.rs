//! [`Rejection`]: a request refused as a whole, and how each transport says so.
//!
//! The mapping is the contract of DESIGN.md ("OTLP endpoints"):
//!
//! | rejection | HTTP | gRPC |
//! |---|---|---|
//! | `Invalid` (malformed protobuf/JSON, corrupt gzip) | 400 | INVALID_ARGUMENT |
//! | `TooLarge` (body over the limit after decompression) | 413 | RESOURCE_EXHAUSTED |
//! | `UnsupportedMediaType` (`Content-Type`/`Content-Encoding`) | 415 | (tonic: UNIMPLEMENTED) |
//! | `Unauthenticated` | 401 + `WWW-Authenticate` | UNAUTHENTICATED |
//! | `Busy` (sink full or unable to store, or too many concurrent requests) | 503 + `Retry-After` | UNAVAILABLE + `google.rpc.RetryInfo` |
//! | `ShuttingDown` | 503 | UNAVAILABLE |
//! | `Timeout` (body not complete within `read_timeout`) | 408 | DEADLINE_EXCEEDED |
//!
//! Nothing here ever yields HTTP 500 or gRPC INTERNAL.

use std::time::Duration;

use bytes::Bytes;
use otlp_spool_core::rpc_status::encode_status;
use otlp_spool_core::{Refusal, SinkError};

use crate::decode::DecodeError;
use crate::metrics::RejectReason;

/// A whole request refused; nothing of it reached the sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    Invalid(String),
    TooLarge(String),
    UnsupportedMediaType(String),
    Unauthenticated,
    Busy {
        reason: RejectReason,
        retry_after: Duration,
        message: String,
    },
    ShuttingDown,
    Timeout(String),
}

impl Rejection {
    pub(crate) fn reason(&self) -> RejectReason {
        match self {
            Rejection::Invalid(_) => RejectReason::Invalid,
            Rejection::TooLarge(_) => RejectReason::TooLarge,
            Rejection::UnsupportedMediaType(_) => RejectReason::UnsupportedMediaType,
            Rejection::Unauthenticated => RejectReason::Unauthenticated,
            Rejection::Busy { reason, .. } => *reason,
            Rejection::ShuttingDown => RejectReason::ShuttingDown,
            Rejection::Timeout(_) => RejectReason::Timeout,
        }
    }

    /// Too many concurrent requests: retry in a second.
    pub(crate) fn too_many_requests(max: usize) -> Rejection {
        Rejection::Busy {
            reason: RejectReason::TooManyRequests,
            retry_after: Duration::from_secs(1),
            message: format!("too many concurrent requests (limit {max}), retry later"),
        }
    }

    pub(crate) fn message(&self) -> String {
        match self {
            Rejection::Invalid(m)
            | Rejection::TooLarge(m)
            | Rejection::UnsupportedMediaType(m)
            | Rejection::Timeout(m) => m.clone(),
            Rejection::Unauthenticated => "missing or invalid bearer token".to_owned(),
            Rejection::Busy { message, .. } => message.clone(),
            Rejection::ShuttingDown => "the server is shutting down".to_owned(),
        }
    }

    /// The HTTP status code.
    pub(crate) fn http_status(&self) -> u16 {
        match self {
            Rejection::Invalid(_) => 400,
            Rejection::TooLarge(_) => 413,
            Rejection::UnsupportedMediaType(_) => 415,
            Rejection::Unauthenticated => 401,
            Rejection::Busy { .. } | Rejection::ShuttingDown => 503,
            Rejection::Timeout(_) => 408,
        }
    }

    /// The `Retry-After` value in whole seconds (rounded up, at least 1), when there is one.
    pub(crate) fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Rejection::Busy { retry_after, .. } => Some(ceil_secs(*retry_after)),
            _ => None,
        }
    }

    /// The gRPC status code.
    pub(crate) fn grpc_code(&self) -> tonic::Code {
        match self {
            Rejection::Invalid(_) => tonic::Code::InvalidArgument,
            Rejection::TooLarge(_) => tonic::Code::ResourceExhausted,
            Rejection::UnsupportedMediaType(_) => tonic::Code::Unimplemented,
            Rejection::Unauthenticated => tonic::Code::Unauthenticated,
            Rejection::Busy { .. } | Rejection::ShuttingDown => tonic::Code::Unavailable,
            Rejection::Timeout(_) => tonic::Code::DeadlineExceeded,
        }
    }

    /// The gRPC status, with a `google.rpc.RetryInfo` detail when a retry delay is known.
    pub(crate) fn grpc_status(&self) -> tonic::Status {
        let code = self.grpc_code();
        let message = self.message();
        match self {
            Rejection::Busy { retry_after, .. } => {
                let details = encode_status(code as i32, &message, Some(*retry_after));
                tonic::Status::with_details(code, message, details)
            }
            _ => tonic::Status::new(code, message),
        }
    }

    /// The OTLP/HTTP error body: a `google.rpc.Status` in protobuf.
    pub(crate) fn protobuf_body(&self) -> Bytes {
        encode_status(self.grpc_code() as i32, &self.message(), None)
    }

    /// The OTLP/HTTP error body: a `google.rpc.Status` in JSON.
    pub(crate) fn json_body(&self) -> Bytes {
        let body = serde_json::json!({
            "code": self.grpc_code() as i32,
            "message": self.message(),
        });
        Bytes::from(body.to_string())
    }
}

impl From<DecodeError> for Rejection {
    fn from(error: DecodeError) -> Self {
        match error {
            DecodeError::Invalid(m) => Rejection::Invalid(m),
            DecodeError::TooLarge(m) => Rejection::TooLarge(m),
        }
    }
}

/// A server answers with the reason only: the refused batch is dropped here (its client
/// still has it and retries on a retryable answer).
impl From<Refusal> for Rejection {
    fn from(refusal: Refusal) -> Self {
        Rejection::from(refusal.into_error())
    }
}

impl From<SinkError> for Rejection {
    fn from(error: SinkError) -> Self {
        match error {
            SinkError::Full { retry_after } => Rejection::Busy {
                reason: RejectReason::Backpressure,
                retry_after,
                message: error.to_string(),
            },
            SinkError::Closed => Rejection::ShuttingDown,
            SinkError::TooLarge { .. } => Rejection::TooLarge(error.to_string()),
            SinkError::Unavailable { retry_after, .. } => Rejection::Busy {
                reason: RejectReason::Storage,
                retry_after,
                message: error.to_string(),
            },
            // A variant added later: refuse as retryable rather than guess.
            _ => Rejection::Busy {
                reason: RejectReason::Backpressure,
                retry_after: Duration::from_secs(1),
                message: error.to_string(),
            },
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.max(1)
}
