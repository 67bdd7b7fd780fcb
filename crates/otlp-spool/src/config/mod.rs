//! Configuration: defaults < YAML file < `OTLP_SPOOL_*` environment < command-line flags.
//!
//! Invariant: a configuration that [`Config::load`] returns has passed [`Config::validate`];
//! every error names the key (`forward.retry.max_attempts`) and where the bad value came from
//! (the file, an environment variable or a flag), so start-up fails before any port is bound.

mod forward;
mod model;
mod secret;
mod units;

use std::fmt;
use std::path::{Path, PathBuf};

pub(crate) use forward::forwarder_builder;
pub use model::*;
pub use secret::{Secret, redact_url_userinfo};
pub use units::{ByteSize, HumanDuration};

/// A configuration problem: which key, where the value came from, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config key `{key}`{origin}: {problem}")]
pub struct ConfigError {
    /// The key in YAML dotted form, e.g. `forward.protocol`.
    pub key: String,
    /// ` (in FILE)`, ` (from ENV_VAR)`, ` (from --flag)` or empty.
    origin: Origin,
    /// What is wrong with it.
    pub problem: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    None,
    File(PathBuf),
    Env(&'static str),
    Flag(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::None => Ok(()),
            Origin::File(p) => write!(f, " (in {})", p.display()),
            Origin::Env(v) => write!(f, " (from {v})"),
            Origin::Flag(flag) => write!(f, " (from {flag})"),
        }
    }
}

impl ConfigError {
    pub(crate) fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            origin: Origin::None,
            problem: problem.into(),
        }
    }

    fn with_origin(mut self, origin: Origin) -> Self {
        self.origin = origin;
        self
    }
}

/// Values given on the command line; each wins over the environment and the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config FILE`.
    pub config_file: Option<PathBuf>,
    /// `--output-dir DIR`.
    pub output_dir: Option<PathBuf>,
    /// `--grpc-addr ADDR`.
    pub grpc_addr: Option<String>,
    /// `--http-addr ADDR`.
    pub http_addr: Option<String>,
    /// `--forward-endpoint URL`.
    pub forward_endpoint: Option<String>,
    /// `--forward-protocol PROTO`.
    pub forward_protocol: Option<String>,
    /// `--shutdown-timeout DURATION`.
    pub shutdown_timeout: Option<String>,
    /// `--durability memory|wal`.
    pub durability: Option<String>,
}

/// The environment variables read, with the key each one sets.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("OTLP_SPOOL_CONFIG", "(config file)"),
    ("OTLP_SPOOL_OUTPUT_DIR", "output_dir"),
    ("OTLP_SPOOL_GRPC_ADDR", "grpc_addr"),
    ("OTLP_SPOOL_HTTP_ADDR", "http_addr"),
    ("OTLP_SPOOL_FORWARD_ENDPOINT", "forward.endpoint"),
    ("OTLP_SPOOL_FORWARD_PROTOCOL", "forward.protocol"),
    ("OTLP_SPOOL_LOG_LEVEL", "log.level"),
    ("OTLP_SPOOL_SHUTDOWN_TIMEOUT", "shutdown_timeout"),
    ("OTLP_SPOOL_DURABILITY", "durability"),
];

impl Config {
    /// Loads the configuration from the process environment and `overrides`.
    pub fn load(overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::load_from(overrides, |name| std::env::var(name).ok())
    }

    /// Like [`Config::load`] with the environment supplied by `env` (for tests).
    pub fn load_from(
        overrides: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let file = overrides
            .config_file
            .clone()
            .map(|p| (p, Origin::Flag("--config")))
            .or_else(|| {
                env("OTLP_SPOOL_CONFIG")
                    .map(|p| (PathBuf::from(p), Origin::Env("OTLP_SPOOL_CONFIG")))
            });
        let mut config = match file {
            Some((path, origin)) => Self::from_file(&path).map_err(|e| {
                if e.key == "(config file)" {
                    e.with_origin(origin)
                } else {
                    e
                }
            })?,
            None => Config::default(),
        };

        // Environment.
        if let Some(v) = env("OTLP_SPOOL_OUTPUT_DIR") {
            config.output_dir = PathBuf::from(v);
        }
        if let Some(v) = env("OTLP_SPOOL_GRPC_ADDR") {
            config.grpc_addr = parse_addr("grpc_addr", &v)
                .map_err(|e| e.with_origin(Origin::Env("OTLP_SPOOL_GRPC_ADDR")))?;
        }
        if let Some(v) = env("OTLP_SPOOL_HTTP_ADDR") {
            config.http_addr = parse_addr("http_addr", &v)
                .map_err(|e| e.with_origin(Origin::Env("OTLP_SPOOL_HTTP_ADDR")))?;
        }
        if let Some(v) = env("OTLP_SPOOL_FORWARD_ENDPOINT") {
            config.set_forward_endpoint(v);
        }
        if let Some(v) = env("OTLP_SPOOL_FORWARD_PROTOCOL") {
            config
                .set_forward_protocol(&v)
                .map_err(|e| e.with_origin(Origin::Env("OTLP_SPOOL_FORWARD_PROTOCOL")))?;
        }
        if let Some(v) = env("OTLP_SPOOL_LOG_LEVEL") {
            config.log.level = v;
        }
        if let Some(v) = env("OTLP_SPOOL_SHUTDOWN_TIMEOUT") {
            config.shutdown_timeout = parse_duration("shutdown_timeout", &v)
                .map_err(|e| e.with_origin(Origin::Env("OTLP_SPOOL_SHUTDOWN_TIMEOUT")))?;
        }
        if let Some(v) = env("OTLP_SPOOL_DURABILITY") {
            config.durability = parse_durability(&v)
                .map_err(|e| e.with_origin(Origin::Env("OTLP_SPOOL_DURABILITY")))?;
        }

        // Command line.
        if let Some(v) = &overrides.output_dir {
            config.output_dir = v.clone();
        }
        if let Some(v) = &overrides.grpc_addr {
            config.grpc_addr = parse_addr("grpc_addr", v)
                .map_err(|e| e.with_origin(Origin::Flag("--grpc-addr")))?;
        }
        if let Some(v) = &overrides.http_addr {
            config.http_addr = parse_addr("http_addr", v)
                .map_err(|e| e.with_origin(Origin::Flag("--http-addr")))?;
        }
        if let Some(v) = &overrides.forward_endpoint {
            config.set_forward_endpoint(v.clone());
        }
        if let Some(v) = &overrides.forward_protocol {
            config
                .set_forward_protocol(v)
                .map_err(|e| e.with_origin(Origin::Flag("--forward-protocol")))?;
        }
        if let Some(v) = &overrides.shutdown_timeout {
            config.shutdown_timeout = parse_duration("shutdown_timeout", v)
                .map_err(|e| e.with_origin(Origin::Flag("--shutdown-timeout")))?;
        }
        if let Some(v) = &overrides.durability {
            config.durability =
                parse_durability(v).map_err(|e| e.with_origin(Origin::Flag("--durability")))?;
        }

        config.validate()?;
        Ok(config)
    }

    /// Parses a YAML file (unknown keys are errors). Does not validate values.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(
                "(config file)",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        Self::from_yaml(&text).map_err(|e| e.with_origin(Origin::File(path.to_path_buf())))
    }

    /// Parses YAML text (unknown keys are errors). An empty document is the default configuration.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let de = serde_norway::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            // serde_norway may prefix its own (shorter) path: `buffer: <problem>`; keep the problem.
            let problem = match inner.split_once(": ") {
                Some((prefix, rest)) if is_key_path(prefix) => rest.to_string(),
                _ => inner,
            };
            let key = if path == "." || path.is_empty() {
                "(root)".to_string()
            } else {
                path
            };
            ConfigError::new(key, problem)
        })
    }

    /// The effective configuration as YAML, secrets redacted (`--print-config`).
    pub fn to_redacted_yaml(&self) -> String {
        serde_norway::to_string(self)
            .unwrap_or_else(|e| format!("# cannot render configuration: {e}\n"))
    }

    fn set_forward_endpoint(&mut self, endpoint: String) {
        match &mut self.forward {
            Some(f) => f.endpoint = endpoint,
            None => self.forward = Some(ForwardConfig::new(endpoint)),
        }
    }

    fn set_forward_protocol(&mut self, protocol: &str) -> Result<(), ConfigError> {
        let protocol = ForwardProtocol::parse(protocol)
            .map_err(|p| ConfigError::new("forward.protocol", p))?;
        match &mut self.forward {
            Some(f) => f.protocol = protocol,
            None => {
                return Err(ConfigError::new(
                    "forward.protocol",
                    "set without a forward endpoint (give forward.endpoint too)",
                ));
            }
        }
        Ok(())
    }

    /// Checks every value that parsing alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = |key: &str, v: u64| {
            if v == 0 {
                Err(ConfigError::new(key, "must be greater than zero"))
            } else {
                Ok(())
            }
        };
        if self.output_dir.as_os_str().is_empty() {
            return Err(ConfigError::new("output_dir", "must not be empty"));
        }
        if self.grpc_addr == self.http_addr && self.grpc_addr.port() != 0 {
            return Err(ConfigError::new(
                "http_addr",
                format!(
                    "{} is also grpc_addr; the two endpoints need different ports",
                    self.http_addr
                ),
            ));
        }
        let r = &self.receiver;
        positive("receiver.max_body_size", r.max_body_size.0)?;
        positive("receiver.max_decoded_size", r.max_decoded_size.0)?;
        if r.max_body_buffer.0 < r.max_body_size.0 {
            return Err(ConfigError::new(
                "receiver.max_body_buffer",
                format!(
                    "{} is below receiver.max_body_size ({}): a body of the largest size could never be read",
                    r.max_body_buffer.0, r.max_body_size.0
                ),
            ));
        }
        let deepest = otlp_spool_receiver::DEFAULT_MAX_NESTING_DEPTH;
        if !(1..=deepest).contains(&r.max_nesting_depth) {
            return Err(ConfigError::new(
                "receiver.max_nesting_depth",
                format!("{} is out of range: 1 to {deepest}", r.max_nesting_depth),
            ));
        }
        positive(
            "receiver.max_concurrent_requests",
            r.max_concurrent_requests as u64,
        )?;
        const LONGEST_BACKPRESSURE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
        if r.backpressure_wait.0 > LONGEST_BACKPRESSURE_WAIT {
            return Err(ConfigError::new(
                "receiver.backpressure_wait",
                format!(
                    "{:?} is too long: at most 10s (a client's whole export usually has 10s)",
                    r.backpressure_wait.0
                ),
            ));
        }
        for (key, value) in [
            ("receiver.read_header_timeout", r.read_header_timeout),
            ("receiver.read_timeout", r.read_timeout),
            ("receiver.idle_timeout", r.idle_timeout),
            ("receiver.tls_handshake_timeout", r.tls_handshake_timeout),
            ("receiver.keepalive.time", r.keepalive.time),
            ("receiver.keepalive.timeout", r.keepalive.timeout),
            ("shutdown_timeout", self.shutdown_timeout),
        ] {
            positive(key, value.0.as_millis() as u64)?;
        }
        positive("receiver.max_connections", r.max_connections as u64)?;
        positive(
            "receiver.max_concurrent_streams",
            u64::from(r.max_concurrent_streams),
        )?;
        if let Some(token) = &r.bearer_token
            && token.expose().trim().is_empty()
        {
            return Err(ConfigError::new(
                "receiver.bearer_token",
                "must not be empty",
            ));
        }
        if let Some(tls) = &r.tls {
            file_exists("receiver.tls.cert_file", &tls.cert_file)?;
            file_exists("receiver.tls.key_file", &tls.key_file)?;
        }
        let b = &self.buffer;
        positive("buffer.max_bytes", b.max_bytes.0)?;
        positive("buffer.max_batch_items", b.max_batch_items as u64)?;
        positive("buffer.max_batch_bytes", b.max_batch_bytes.0)?;
        if b.max_batch_bytes > b.max_bytes {
            return Err(ConfigError::new(
                "buffer.max_batch_bytes",
                format!(
                    "{} is larger than buffer.max_bytes ({})",
                    b.max_batch_bytes, b.max_bytes
                ),
            ));
        }
        positive("buffer.max_batch_age", b.max_batch_age.0.as_millis() as u64)?;
        positive("buffer.retry_after", b.retry_after.0.as_millis() as u64)?;
        let s = &self.storage;
        positive("storage.rotate_size", s.rotate_size.0)?;
        positive("storage.rotate_age", s.rotate_age.0.as_millis() as u64)?;
        if let Some(age) = s.retention_age {
            positive("storage.retention_age", age.0.as_millis() as u64)?;
        }
        if let Some(size) = s.retention_size {
            positive("storage.retention_size", size.0)?;
        }
        if let Some(upload) = &s.upload {
            upload.to_options(s)?;
        }
        if let Some(f) = &self.forward {
            forward::forwarder_builder(f)?;
        }
        // Checked in both modes, so switching to `wal` never meets a bad `wal:` section late.
        self.wal
            .to_options(&self.output_dir, self.receiver.max_body_size.0)?;
        if self.log.level.trim().is_empty() {
            return Err(ConfigError::new(
                "log.level",
                "must not be empty (e.g. info)",
            ));
        }
        Ok(())
    }
}

fn file_exists(key: &str, path: &Path) -> Result<(), ConfigError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(ConfigError::new(
            key,
            format!("{} is not a readable file", path.display()),
        ))
    }
}

fn parse_duration(key: &str, value: &str) -> Result<HumanDuration, ConfigError> {
    HumanDuration::parse(value).map_err(|problem| ConfigError::new(key, problem))
}

fn parse_durability(value: &str) -> Result<Durability, ConfigError> {
    Durability::parse(value).map_err(|problem| ConfigError::new("durability", problem))
}

fn parse_addr(key: &str, value: &str) -> Result<std::net::SocketAddr, ConfigError> {
    value.trim().parse().map_err(|_| {
        ConfigError::new(
            key,
            format!("`{value}` is not an address like 127.0.0.1:4317"),
        )
    })
}

fn is_key_path(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            !part.is_empty()
                && part.chars().all(|c| {
                    c.is_ascii_alphanumeric()
                        || c == '_'
                        || c == '['
                        || c == ']'
                        || c == '-'
                        || c == '/'
                })
        })
}
