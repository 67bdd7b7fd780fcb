//! The forwarder's settings checked once, without starting anything: [`Checked`] is what
//! [`ForwarderBuilder::validate`] and [`Forwarder::start`](crate::Forwarder) both get from
//! [`ForwarderBuilder::check`], so a setting refused by one is refused by the other.
//!
//! Invariant: checking needs no tokio runtime and opens no connection; it reads a configured CA
//! file (that is part of checking it) and nothing else. What only starting can find (the system's
//! trust roots, the TLS client) is left to `start`.

use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};

use crate::builder::{ForwarderBuilder, Protocol};
use crate::error::ConfigError;
use crate::tls::TrustRoots;

/// The endpoint, headers and CA of a builder that passed every check.
pub(crate) struct Checked {
    /// The endpoint as given (with its userinfo, which is sent).
    pub(crate) endpoint: String,
    /// `endpoint` without a trailing `/`.
    pub(crate) base: String,
    pub(crate) https: bool,
    /// The configured CA's roots (`None`: the system roots, for an https endpoint).
    pub(crate) ca_roots: Option<TrustRoots>,
    pub(crate) headers: Headers,
}

/// The headers (and the auth header) in the protocol's own form.
pub(crate) enum Headers {
    Grpc(Vec<(AsciiMetadataKey, AsciiMetadataValue)>),
    Http(hyper::HeaderMap),
}

impl ForwarderBuilder {
    /// Checks every setting the way [`build`](Self::build) does, without starting anything
    /// (no runtime needed, nothing spawned, no connection): a configuration layer calls it to
    /// report a bad value at load time. `build` may still fail where only starting can tell:
    /// [`ConfigError::NoRuntime`], or [`ConfigError::Tls`] for the TLS client.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check().map(drop)
    }

    pub(crate) fn check(&self) -> Result<Checked, ConfigError> {
        let endpoint = self.endpoint.clone().ok_or(ConfigError::MissingEndpoint)?;
        let https = check_endpoint(&endpoint)?;
        if !https && self.tls_ca.is_some() {
            return Err(ConfigError::Tls(format!(
                "a CA is configured but the endpoint {:?} is not https://",
                crate::redact_url_userinfo(&endpoint)
            )));
        }
        let ca_roots = match &self.tls_ca {
            Some(ca) => Some(TrustRoots::load(Some(ca))?),
            None => None,
        };
        self.check_numbers()?;
        let headers = self.check_headers()?;
        let base = endpoint.trim_end_matches('/').to_owned();
        Ok(Checked {
            endpoint,
            base,
            https,
            ca_roots,
            headers,
        })
    }

    fn check_numbers(&self) -> Result<(), ConfigError> {
        let invalid = |setting, reason: &str| ConfigError::Invalid {
            setting,
            reason: reason.to_owned(),
        };
        if self.queue_bytes == 0 {
            return Err(invalid("queue_bytes", "must be > 0"));
        }
        if self.max_request_bytes == 0 {
            return Err(invalid("max_request_bytes", "must be > 0"));
        }
        if !(1..=64).contains(&self.concurrency) {
            return Err(invalid("concurrency", "must be in 1..=64"));
        }
        if self.timeout.is_zero() {
            return Err(invalid("timeout", "must be > 0"));
        }
        self.retry
            .validate()
            .map_err(|(setting, reason)| invalid(setting, &reason))
    }

    fn check_headers(&self) -> Result<Headers, ConfigError> {
        let mut all = self.headers.clone();
        if let Some(auth) = &self.auth {
            all.push(auth.header());
        }
        let error = |name: &str, reason: &str| ConfigError::Header {
            name: name.to_owned(),
            reason: reason.to_owned(),
        };
        match self.protocol {
            Protocol::Grpc => {
                let mut metadata = Vec::with_capacity(all.len());
                for (name, value) in &all {
                    let key = AsciiMetadataKey::from_bytes(name.to_ascii_lowercase().as_bytes())
                        .map_err(|_| error(name, "not a valid gRPC metadata key"))?;
                    let mut value = AsciiMetadataValue::try_from(value.expose())
                        .map_err(|_| error(name, "not a valid ASCII metadata value"))?;
                    value.set_sensitive(true);
                    metadata.push((key, value));
                }
                Ok(Headers::Grpc(metadata))
            }
            Protocol::HttpProtobuf | Protocol::HttpJson => {
                use hyper::header::{HeaderName, HeaderValue};
                let mut map = hyper::HeaderMap::new();
                for (name, value) in &all {
                    let key = HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| error(name, "not a valid HTTP header name"))?;
                    let mut value = HeaderValue::from_str(value.expose())
                        .map_err(|_| error(name, "not a valid HTTP header value"))?;
                    value.set_sensitive(true);
                    map.append(key, value);
                }
                Ok(Headers::Http(map))
            }
        }
    }
}

/// Whether `endpoint` is `https://`; an error unless it is an `http://` or `https://` URL with
/// a host.
fn check_endpoint(endpoint: &str) -> Result<bool, ConfigError> {
    let bad = |reason: &str| ConfigError::Endpoint {
        endpoint: crate::redact_url_userinfo(endpoint).into_owned(),
        reason: reason.to_owned(),
    };
    let (https, rest) = if let Some(rest) = endpoint.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = endpoint.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(bad("must start with http:// or https://"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.rsplit('@').next().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    endpoint
        .parse::<hyper::Uri>()
        .map_err(|e| bad(&e.to_string()))?;
    Ok(https)
}
