//! Bearer-token authentication: every export request (and `GET /metrics`) must carry
//! `authorization: Bearer <token>` when a token is configured.
//!
//! Invariants: the token is compared in constant time (no early exit on the first differing
//! byte); it is never logged nor shown in `Debug` output.

use std::fmt;

/// The configured token.
#[derive(Clone)]
pub(crate) struct BearerToken {
    token: Vec<u8>,
}

impl BearerToken {
    pub(crate) fn new(token: &str) -> Self {
        BearerToken {
            token: token.as_bytes().to_vec(),
        }
    }

    /// Whether an `authorization` header value carries this token.
    pub(crate) fn admits(&self, header: Option<&[u8]>) -> bool {
        let Some(value) = header else {
            return false;
        };
        let Some(scheme) = value.get(..7) else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case(b"bearer ") {
            return false;
        }
        let presented = value[7..].trim_ascii();
        constant_time_eq(presented, &self.token)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}
