//! Reading a request body, bounded in size and in time, for both servers.
//!
//! Invariants: at most `max` bytes are ever buffered (the read stops at the first frame past
//! it); the read never outlasts its deadline (`read_timeout`, counted from the request head),
//! so a client trickling its body costs one timer and at most `max` bytes, never a concurrency
//! slot: both servers read the body *before* they take one.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::reject::Rejection;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// More than `max` bytes were sent.
    TooLarge { max: usize },
    /// The body was still incomplete when the deadline passed.
    Timeout { after: Duration },
    /// The client went away or broke the framing.
    Read(String),
}

/// Reads the whole body into one `Bytes`, at most `max` bytes, within `deadline`.
pub(crate) async fn read_body<B>(
    body: B,
    max: usize,
    deadline: Duration,
) -> Result<Bytes, BodyError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match tokio::time::timeout(deadline, Limited::new(body, max).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(BodyError::TooLarge { max })
        }
        Ok(Err(e)) => Err(BodyError::Read(e.to_string())),
        Err(_) => Err(BodyError::Timeout { after: deadline }),
    }
}

impl From<BodyError> for Rejection {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::TooLarge { max } => Rejection::TooLarge(format!(
                "the body is over the limit of {max} bytes (receiver.max_body_size)"
            )),
            BodyError::Timeout { after } => Rejection::Timeout(format!(
                "the request body did not arrive within {after:?} (receiver.read_timeout)"
            )),
            BodyError::Read(e) => {
                Rejection::Invalid(format!("the request body could not be read: {e}"))
            }
        }
    }
}
