//! Reading a request body, bounded in size and in time, for both servers.
//!
//! Invariants: at most `max` bytes are ever buffered per body (the read stops at the first
//! frame past it), and every buffered byte is held in the shared [`BodyBudget`] first (a
//! declared `Content-Length` is taken up front), so all bodies in flight together never pass
//! `receiver.max_body_buffer`; the read never outlasts its deadline (`read_timeout`, counted
//! from the request head), so a client trickling its body costs one timer and at most `max`
//! bytes, never a concurrency slot: both servers read the body *before* they take one.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;

use crate::limit::{BodyBudget, BodyLease};
use crate::metrics::RejectReason;
use crate::reject::Rejection;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// More than `max` bytes were sent.
    TooLarge { max: usize },
    /// The bodies in flight already hold the whole budget.
    Busy { budget: usize },
    /// The body was still incomplete when the deadline passed.
    Timeout { after: Duration },
    /// The client went away or broke the framing.
    Read(String),
}

/// A body read whole, and the share of the [`BodyBudget`] it holds until it is dropped.
#[derive(Debug)]
pub(crate) struct ReadBody {
    pub(crate) bytes: Bytes,
    pub(crate) lease: BodyLease,
}

/// Reads the whole body into one `Bytes`, at most `max` bytes, within `deadline`, holding its
/// bytes in `budget` (`declared`, the `Content-Length` if any, is taken before reading).
pub(crate) async fn read_body<B>(
    body: B,
    max: usize,
    declared: Option<u64>,
    budget: &BodyBudget,
    deadline: Duration,
) -> Result<ReadBody, BodyError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut lease = budget.lease();
    let busy = BodyError::Busy {
        budget: budget.max(),
    };
    if let Some(len) = declared {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > max {
            return Err(BodyError::TooLarge { max });
        }
        if !lease.hold(len) {
            return Err(busy);
        }
    }
    let read = async {
        let mut body = std::pin::pin!(body);
        let mut chunks: Vec<Bytes> = Vec::new();
        let mut total = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| BodyError::Read(e.into().to_string()))?;
            let Ok(data) = frame.into_data() else {
                continue; // trailers
            };
            total = total.saturating_add(data.len());
            if total > max {
                return Err(BodyError::TooLarge { max });
            }
            if !lease.hold(total) {
                return Err(busy.clone());
            }
            if !data.is_empty() {
                chunks.push(data);
            }
        }
        Ok(match chunks.len() {
            0 => Bytes::new(),
            1 => chunks.pop().unwrap_or_default(),
            _ => {
                let mut joined = BytesMut::with_capacity(total);
                chunks.iter().for_each(|c| joined.extend_from_slice(c));
                joined.freeze()
            }
        })
    };
    match tokio::time::timeout(deadline, read).await {
        Ok(Ok(bytes)) => Ok(ReadBody { bytes, lease }),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(BodyError::Timeout { after: deadline }),
    }
}

impl From<BodyError> for Rejection {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::TooLarge { max } => Rejection::TooLarge(format!(
                "the body is over the limit of {max} bytes (receiver.max_body_size)"
            )),
            BodyError::Busy { budget } => Rejection::Busy {
                reason: RejectReason::TooManyRequests,
                retry_after: std::time::Duration::from_secs(1),
                message: format!(
                    "request bodies being read already hold the buffer of {budget} bytes (receiver.max_body_buffer), retry later"
                ),
            },
            BodyError::Timeout { after } => Rejection::Timeout(format!(
                "the request body did not arrive within {after:?} (receiver.read_timeout)"
            )),
            BodyError::Read(e) => {
                Rejection::Invalid(format!("the request body could not be read: {e}"))
            }
        }
    }
}
