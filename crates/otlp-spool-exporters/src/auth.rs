//! [`Auth`] and [`Secret`]: credentials the forwarder sends, never printed.
//!
//! Invariant: a secret's `Debug`, `Display` and serialization show `<redacted>`; the value is
//! read only when a request header is built. [`Secret`] is the workspace's one secret type: the
//! facade's configuration deserializes into it and prints it (`--print-config`) redacted.

use std::fmt;

/// A secret string (token, password, API key). `Debug`, `Display` and `Serialize` print
/// `<redacted>`; `Deserialize` reads a plain string. Read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

const REDACTED: &str = "<redacted>";

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value (use only to build a header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// How the forwarder authenticates to the remote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// `authorization: Bearer <token>`.
    Bearer(Secret),
    /// `<header>: <value>`, e.g. `x-api-key`.
    ApiKey {
        /// The header name.
        header: String,
        /// The key.
        value: Secret,
    },
    /// `authorization: Basic base64(<username>:<password>)`.
    Basic {
        /// The user name (not secret).
        username: String,
        /// The password.
        password: Secret,
    },
}

impl Auth {
    /// A bearer token.
    pub fn bearer(token: impl Into<Secret>) -> Self {
        Auth::Bearer(token.into())
    }

    /// An API key sent in `header`.
    pub fn api_key(header: impl Into<String>, value: impl Into<Secret>) -> Self {
        Auth::ApiKey {
            header: header.into(),
            value: value.into(),
        }
    }

    /// HTTP basic authentication.
    pub fn basic(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Auth::Basic {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The header this credential becomes: (lowercase name, value).
    pub(crate) fn header(&self) -> (String, Secret) {
        match self {
            Auth::Bearer(token) => (
                "authorization".into(),
                Secret(format!("Bearer {}", token.expose())),
            ),
            Auth::ApiKey { header, value } => (header.to_ascii_lowercase(), value.clone()),
            Auth::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose());
                (
                    "authorization".into(),
                    Secret(format!("Basic {}", base64(raw.as_bytes()))),
                )
            }
        }
    }
}

/// Standard base64 with padding (RFC 4648), for basic auth.
pub(crate) fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let symbols = chunk.len() + 1;
        for i in 0..4 {
            if i < symbols {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn secrets_are_redacted() {
        let auth = Auth::basic("alice", "hunter2");
        assert!(!format!("{auth:?}").contains("hunter2"));
        assert!(!format!("{:?}", Auth::bearer("tok")).contains("tok"));
        let secret = Secret::new("hunter2");
        let shown = [
            format!("{secret:?}"),
            secret.to_string(),
            serde_json::to_string(&secret).unwrap(),
        ];
        assert_eq!(shown, ["<redacted>", "<redacted>", "\"<redacted>\""]);
        let read: Secret = serde_json::from_str("\"hunter2\"").unwrap();
        assert_eq!(read.expose(), "hunter2");
    }
}
