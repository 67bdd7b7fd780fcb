//! The `forward:` section as an `otlp-spool-exporters` `ForwarderBuilder`, and the breaker of
//! a section (`forward.breaker`, `storage.upload.breaker`) as a `CircuitBreaker`.
//!
//! Invariant: a setting is checked once, by the builder that takes it (`CircuitBreaker`'s,
//! `ForwarderBuilder::validate`); this module only maps their errors to the configuration key.
//! What it checks itself is what no builder can see: one `auth` kind at most, a non-empty
//! `api_key.header`.

use otlp_spool_breaker::{CircuitBreaker, ConfigError as BreakerError};
use otlp_spool_exporters::{
    Auth, Compression, ConfigError as ForwarderError, Forwarder, ForwarderBuilder, Protocol,
    RetryPolicy,
};

use super::{BreakerConfig, ConfigError, ForwardCompression, ForwardConfig, ForwardProtocol};

/// The forwarder's builder for `f`, checked (nothing started); an error names its `forward.*`
/// key.
pub(crate) fn forwarder_builder(f: &ForwardConfig) -> Result<ForwarderBuilder, ConfigError> {
    let a = &f.auth;
    let kinds = [
        a.bearer_token.is_some(),
        a.api_key.is_some(),
        a.basic.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() > 1 {
        return Err(ConfigError::new(
            "forward.auth",
            "give one of bearer_token, api_key or basic, not several",
        ));
    }
    let mut builder = Forwarder::builder()
        .endpoint(f.endpoint.clone())
        .protocol(match f.protocol {
            ForwardProtocol::Grpc => Protocol::Grpc,
            ForwardProtocol::HttpProtobuf => Protocol::HttpProtobuf,
            ForwardProtocol::HttpJson => Protocol::HttpJson,
        })
        .compression(match f.compression {
            ForwardCompression::None => Compression::None,
            ForwardCompression::Gzip => Compression::Gzip,
        })
        .timeout(f.timeout.0)
        .queue_bytes(f.queue_size.0)
        .retry(
            RetryPolicy::default()
                .initial_backoff(f.retry.initial_backoff.0)
                .max_backoff(f.retry.max_backoff.0)
                .max_attempts(f.retry.max_attempts),
        )
        .breaker(breaker("forward", &f.breaker)?);
    for (name, value) in &f.headers {
        builder = builder.header(name.clone(), value.clone());
    }
    if let Some(token) = &a.bearer_token {
        builder = builder.auth(Auth::bearer(token.expose()));
    } else if let Some(key) = &a.api_key {
        if key.header.trim().is_empty() {
            return Err(ConfigError::new(
                "forward.auth.api_key.header",
                "must not be empty",
            ));
        }
        builder = builder.auth(Auth::api_key(key.header.clone(), key.value.expose()));
    } else if let Some(basic) = &a.basic {
        builder = builder.auth(Auth::basic(basic.username.clone(), basic.password.expose()));
    }
    // `https://` endpoints trust the system roots unless `forward.tls.ca_file` is set.
    if let Some(ca) = &f.tls.ca_file {
        builder = builder.tls_ca_file(ca.clone());
    }
    builder.validate().map_err(|e| forwarder_error(&e))?;
    Ok(builder)
}

/// The forwarder builder's refusal, under its `forward.*` key.
fn forwarder_error(e: &ForwarderError) -> ConfigError {
    match e {
        ForwarderError::MissingEndpoint => ConfigError::new("forward.endpoint", "is required"),
        ForwarderError::Endpoint { endpoint, reason } => {
            ConfigError::new("forward.endpoint", format!("`{endpoint}` {reason}"))
        }
        ForwarderError::Header { name, reason } => {
            ConfigError::new(format!("forward.headers.{name}"), reason.clone())
        }
        ForwarderError::Invalid { setting, reason } => {
            // The builder's names, where the configuration spells them otherwise.
            let key = match *setting {
                "queue_bytes" => "queue_size",
                other => other,
            };
            ConfigError::new(format!("forward.{key}"), reason.clone())
        }
        ForwarderError::TlsCa { file, reason } => {
            ConfigError::new("forward.tls.ca_file", format!("{file}: {reason}"))
        }
        ForwarderError::Tls(reason) => ConfigError::new("forward.tls.ca_file", reason.clone()),
        ForwarderError::Breaker(b) => breaker_error("forward", b),
        other => ConfigError::new("forward", other.to_string()),
    }
}

/// The breaker of `section` (`forward`, `storage.upload`); an error names its
/// `{section}.breaker.*` key.
pub(crate) fn breaker(section: &str, b: &BreakerConfig) -> Result<CircuitBreaker, ConfigError> {
    CircuitBreaker::builder()
        .failure_threshold(b.failure_threshold)
        .open_duration(b.open_duration.0)
        .max_open_duration(b.max_open_duration.0)
        .half_open_probes(b.half_open_probes)
        .successes_to_close(b.successes_to_close)
        .build()
        .map_err(|e| breaker_error(section, &e))
}

fn breaker_error(section: &str, e: &BreakerError) -> ConfigError {
    let setting = match e {
        BreakerError::Zero { setting } | BreakerError::TooLarge { setting, .. } => *setting,
        BreakerError::ZeroOpenDuration => "open_duration",
        BreakerError::MaxOpenDurationBelowBase { .. } => "max_open_duration",
        // Settings the configuration does not expose.
        _ => return ConfigError::new(format!("{section}.breaker"), e.to_string()),
    };
    ConfigError::new(format!("{section}.breaker.{setting}"), e.to_string())
}
