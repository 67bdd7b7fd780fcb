//! `google.rpc.Status` with a `google.rpc.RetryInfo` detail: the one definition of the
//! messages that the receiver writes (gRPC `grpc-status-details-bin`, HTTP error bodies) and
//! the forwarder reads (a remote's back-off hint).
//!
//! Only the fields otlp-spool reads or writes are declared (`googleapis/google/rpc/status.proto`,
//! `error_details.proto`); prost skips the others when decoding.

use std::time::Duration;

use bytes::Bytes;
use prost::Message;

/// The type URL of a `RetryInfo` inside an `Any`.
pub const RETRY_INFO_TYPE_URL: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// `google.rpc.Status`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Status {
    /// The gRPC status code.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// A developer-facing message.
    #[prost(string, tag = "2")]
    pub message: String,
    /// Details, each a packed message (here: [`RetryInfo`]).
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<Any>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Any {
    /// What `value` is, e.g. [`RETRY_INFO_TYPE_URL`].
    #[prost(string, tag = "1")]
    pub type_url: String,
    /// The encoded message.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.rpc.RetryInfo`: how long the client should wait before retrying.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RetryInfo {
    /// The wait.
    #[prost(message, optional, tag = "1")]
    pub retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoDuration {
    /// Whole seconds.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds, `0..1_000_000_000`.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl From<Duration> for ProtoDuration {
    fn from(d: Duration) -> Self {
        Self {
            seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            // Always < 10^9, so it fits.
            nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
        }
    }
}

impl ProtoDuration {
    /// The duration, or `None` when it is negative or its nanoseconds are out of range.
    pub fn to_duration(&self) -> Option<Duration> {
        let nanos = u32::try_from(self.nanos)
            .ok()
            .filter(|n| *n < 1_000_000_000)?;
        Some(Duration::new(u64::try_from(self.seconds).ok()?, nanos))
    }
}

/// An encoded `google.rpc.Status`, with a `RetryInfo` detail when `retry_after` is given.
///
/// ```
/// use std::time::Duration;
/// use otlp_spool_core::rpc_status::{encode_status, retry_delay_from_status_details};
///
/// let details = encode_status(14, "busy", Some(Duration::from_millis(1500)));
/// assert_eq!(retry_delay_from_status_details(&details), Some(Duration::from_millis(1500)));
/// assert_eq!(retry_delay_from_status_details(&encode_status(3, "bad", None)), None);
/// ```
pub fn encode_status(code: i32, message: &str, retry_after: Option<Duration>) -> Bytes {
    let details = retry_after
        .map(|delay| Any {
            type_url: RETRY_INFO_TYPE_URL.to_owned(),
            value: RetryInfo {
                retry_delay: Some(delay.into()),
            }
            .encode_to_vec(),
        })
        .into_iter()
        .collect();
    Status {
        code,
        message: message.to_owned(),
        details,
    }
    .encode_to_vec()
    .into()
}

/// The first `RetryInfo` delay in an encoded `google.rpc.Status` (a gRPC status's details),
/// or `None` when there is none or the bytes are not a `Status`.
///
/// Any type URL ending in `google.rpc.RetryInfo` counts (the part before the last `/` is only
/// a naming convention).
pub fn retry_delay_from_status_details(details: &[u8]) -> Option<Duration> {
    if details.is_empty() {
        return None;
    }
    Status::decode(details)
        .ok()?
        .details
        .iter()
        .filter(|any| any.type_url.ends_with("google.rpc.RetryInfo"))
        .find_map(|any| RetryInfo::decode(any.value.as_slice()).ok()?.retry_delay)?
        .to_duration()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_round_trips_and_bad_input_is_none() {
        let delay = Duration::new(3, 250_000_000);
        let bytes = encode_status(14, "busy", Some(delay));
        assert_eq!(retry_delay_from_status_details(&bytes), Some(delay));
        assert_eq!(retry_delay_from_status_details(b""), None);
        assert_eq!(retry_delay_from_status_details(b"\xff\xff"), None);
        let status = Status::decode(bytes).unwrap();
        assert_eq!((status.code, status.message.as_str()), (14, "busy"));
    }

    #[test]
    fn negative_or_out_of_range_delays_are_none() {
        for (seconds, nanos) in [(-1, 0), (1, -1), (1, 1_000_000_000)] {
            let bytes = Status {
                code: 14,
                message: String::new(),
                details: vec![Any {
                    type_url: RETRY_INFO_TYPE_URL.to_owned(),
                    value: RetryInfo {
                        retry_delay: Some(ProtoDuration { seconds, nanos }),
                    }
                    .encode_to_vec(),
                }],
            }
            .encode_to_vec();
            assert_eq!(
                retry_delay_from_status_details(&bytes),
                None,
                "{seconds} {nanos}"
            );
        }
    }
}
