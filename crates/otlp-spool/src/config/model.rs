//! The configuration tree: every key, its default and its meaning. Field names are the YAML keys.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

use super::secret::{Secret, redact_url_userinfo};
use super::units::{ByteSize, HumanDuration};

/// The whole configuration of an otlp-spool instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the `traces/`, `metrics/` and `logs/` folders go. Default `./otlp-spool-data`.
    pub output_dir: PathBuf,
    /// OTLP/gRPC listen address. Default `127.0.0.1:4317`.
    pub grpc_addr: SocketAddr,
    /// OTLP/HTTP listen address (also `/health`, `/ready`, `/metrics`). Default `127.0.0.1:4318`.
    pub http_addr: SocketAddr,
    /// Request limits and authentication of the OTLP endpoints.
    pub receiver: ReceiverConfig,
    /// The in-memory buffer between the endpoints and the writers.
    pub buffer: BufferConfig,
    /// The files.
    pub storage: StorageConfig,
    /// `memory` (default): a request is acknowledged once it is in a lane's memory buffer;
    /// `wal`: only once its bytes are in a synced write-ahead log (`<output_dir>/wal/`), from
    /// which the file writers read and which a restart replays into files exactly once.
    pub durability: Durability,
    /// The write-ahead log of `durability: wal` (ignored in `memory` mode).
    pub wal: WalConfig,
    /// Forwarding to a remote OTLP endpoint; absent means no forwarding.
    pub forward: Option<ForwardConfig>,
    /// The process's own logs.
    pub log: LogConfig,
    /// How long a shutdown (SIGINT/SIGTERM, `Spool::shutdown`) may take in all: draining the
    /// receivers (at most half of it), then the lanes and the forwarder together. Past it,
    /// what is still held is abandoned and reported (exit code 2). Default 30s.
    pub shutdown_timeout: HumanDuration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            output_dir: PathBuf::from("./otlp-spool-data"),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 4317)),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 4318)),
            receiver: ReceiverConfig::default(),
            buffer: BufferConfig::default(),
            storage: StorageConfig::default(),
            durability: Durability::Memory,
            wal: WalConfig::default(),
            forward: None,
            log: LogConfig::default(),
            shutdown_timeout: HumanDuration(Duration::from_secs(30)),
        }
    }
}

/// `receiver:` limits, connection hygiene and authentication of the OTLP endpoints. Names and
/// meanings follow the OpenTelemetry Collector's `confighttp` / `configgrpc` server settings;
/// every setting applies to both ports (each speaks HTTP/1.1 and HTTP/2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReceiverConfig {
    /// Largest request body, checked after decompression. Default 20MiB.
    pub max_body_size: ByteSize,
    /// Bytes of request bodies buffered at once, over every connection of both ports (bodies are
    /// read before a concurrency slot is taken, so without it their memory was bounded only by
    /// `max_connections` x `max_body_size`). A body that would pass it gets 503 / UNAVAILABLE
    /// with a retry hint before more of it is read. At least `max_body_size`. Default 64MiB.
    pub max_body_buffer: ByteSize,
    /// Largest write cost of one request: the memory the storage writer would need to turn it
    /// into Arrow (`Telemetry::write_cost`, estimated from its size and item count). Costlier
    /// requests get 413 / RESOURCE_EXHAUSTED. Default 64MiB.
    pub max_decoded_size: ByteSize,
    /// How deep AnyValues may nest in a request (an attribute's or a log body's value is
    /// level 1, each array or key-value list inside one more); deeper requests get 400 /
    /// INVALID_ARGUMENT naming the limit. 1 to 31. Default 31 (the deepest that prost, used
    /// where structs are needed again, accepts on every path).
    pub max_nesting_depth: u32,
    /// Export requests handled at once, both ports together; more are refused at once with
    /// 503 / UNAVAILABLE and a retry hint. A request takes its slot only once its body has
    /// arrived. Default 256.
    pub max_concurrent_requests: usize,
    /// How long a valid request that finds its buffer lane full waits for room before it is
    /// refused with 503 / UNAVAILABLE and a retry hint (trying again every few milliseconds;
    /// it holds its concurrency slot and body buffer meanwhile). A client refused at once sends
    /// the whole request again, which costs the CPU the writer needs to make room. 0s refuses
    /// at once; at most 10s. Default 100ms.
    pub backpressure_wait: HumanDuration,
    /// A new connection must deliver its first request head (HTTP/1) or its HTTP/2 preface
    /// within this, and an HTTP/1 keep-alive request head must complete within this once it
    /// began; else the connection is closed. Default 10s (the Collector: 1m).
    pub read_header_timeout: HumanDuration,
    /// A request body must arrive completely within this once its head did; else 408 /
    /// DEADLINE_EXCEEDED (and an HTTP/1 connection is closed). A 20MiB body needs 0.7 MiB/s.
    /// Default 30s (the Collector: none).
    pub read_timeout: HumanDuration,
    /// A connection with no request in flight for this long is closed (HTTP/1) or sent a
    /// GOAWAY (HTTP/2; gRPC's `max_connection_idle`). Default 60s.
    pub idle_timeout: HumanDuration,
    /// A TLS handshake must finish within this. Default 10s.
    pub tls_handshake_timeout: HumanDuration,
    /// Connections open at once, both ports together; one past the cap is closed as soon as
    /// it is accepted. Default 4096.
    pub max_connections: usize,
    /// Streams one HTTP/2 connection may have open at once (configgrpc's
    /// `max_concurrent_streams`). Default 100.
    pub max_concurrent_streams: u32,
    /// HTTP/2 keep-alive pings (configgrpc's `keepalive.server_parameters`).
    pub keepalive: KeepaliveConfig,
    /// When set, every request must carry `authorization: Bearer <token>`.
    pub bearer_token: Option<Secret>,
    /// Serve TLS with this certificate and key (PEM files).
    pub tls: Option<ServerTlsConfig>,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        use otlp_spool_receiver as r;
        Self {
            max_body_size: ByteSize(20 << 20),
            max_body_buffer: ByteSize(r::DEFAULT_MAX_BODY_BUFFER as u64),
            max_decoded_size: ByteSize(64 << 20),
            max_nesting_depth: r::DEFAULT_MAX_NESTING_DEPTH,
            max_concurrent_requests: 256,
            backpressure_wait: HumanDuration(r::DEFAULT_BACKPRESSURE_WAIT),
            read_header_timeout: HumanDuration(r::DEFAULT_READ_HEADER_TIMEOUT),
            read_timeout: HumanDuration(r::DEFAULT_READ_TIMEOUT),
            idle_timeout: HumanDuration(r::DEFAULT_IDLE_TIMEOUT),
            tls_handshake_timeout: HumanDuration(r::DEFAULT_TLS_HANDSHAKE_TIMEOUT),
            max_connections: r::DEFAULT_MAX_CONNECTIONS,
            max_concurrent_streams: r::DEFAULT_MAX_CONCURRENT_STREAMS,
            keepalive: KeepaliveConfig::default(),
            bearer_token: None,
            tls: None,
        }
    }
}

/// `receiver.keepalive:` HTTP/2 PINGs the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeepaliveConfig {
    /// Send a PING this often. Default 30s (gRPC: 2h).
    pub time: HumanDuration,
    /// Close the connection when a PING is not answered within this. Default 20s.
    pub timeout: HumanDuration,
}

impl Default for KeepaliveConfig {
    fn default() -> Self {
        Self {
            time: HumanDuration(otlp_spool_receiver::DEFAULT_KEEPALIVE_TIME),
            timeout: HumanDuration(otlp_spool_receiver::DEFAULT_KEEPALIVE_TIMEOUT),
        }
    }
}

/// `receiver.tls:` certificate and private key, PEM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTlsConfig {
    /// Certificate chain file.
    pub cert_file: PathBuf,
    /// Private key file.
    pub key_file: PathBuf,
}

/// What a full buffer does with a new request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BufferPolicy {
    /// Refuse it: the client gets backpressure (503 / UNAVAILABLE with a retry hint).
    #[default]
    Reject,
    /// Drop the oldest buffered requests to make room (counted in self-metrics). What the
    /// flusher has drained and is still writing cannot be dropped: a request that does not
    /// fit beside it is refused as under `reject`.
    DropOldest,
}

/// `buffer:` one bounded lane per signal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BufferConfig {
    /// Memory bound of each signal's lane: each request weighs its protobuf bytes plus its
    /// write cost (`Telemetry::weight() + Telemetry::write_cost()`: what holding it and then
    /// turning it into Arrow takes), buffered or being written. Default 32MiB. A single
    /// request larger than the bound is admitted only into an empty lane.
    pub max_bytes: ByteSize,
    /// A batch is written once it holds this many requests. Default 1024.
    pub max_batch_items: usize,
    /// ... or this many bytes (by the same memory measure). Also the size of the chunks a
    /// drained batch is converted and written in. Default 2MiB (4MiB until 2026-12-07: the
    /// smaller chunks lowered the peak RSS at saturation by 10-25 MiB at no measured CPU cost,
    /// `benches/README.md`).
    pub max_batch_bytes: ByteSize,
    /// ... or its oldest request is this old. Default 1s.
    pub max_batch_age: HumanDuration,
    /// What happens when a lane is full: `reject` (default) or `drop_oldest`. (There is no
    /// `block`: a request that finds its lane full waits at most `receiver.backpressure_wait`
    /// for room, then is refused with the retry hint; nothing waits unbounded.)
    pub policy: BufferPolicy,
    /// The retry hint sent with backpressure. Default 1s.
    pub retry_after: HumanDuration,
}

impl Default for BufferConfig {
    fn default() -> Self {
        Self {
            max_bytes: ByteSize(32 << 20),
            max_batch_items: 1024,
            max_batch_bytes: ByteSize(2 << 20),
            max_batch_age: HumanDuration(Duration::from_secs(1)),
            policy: BufferPolicy::Reject,
            retry_after: HumanDuration(Duration::from_secs(1)),
        }
    }
}

/// When a request is acknowledged (`durability:`), and so what a crash can lose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    /// Acknowledged once buffered in memory; a `kill -9` loses what the lanes held.
    #[default]
    Memory,
    /// Acknowledged once in an fsynced write-ahead log; nothing acknowledged is lost by a
    /// crash, and files get every record exactly once.
    Wal,
}

impl Durability {
    /// Parses the spelling of YAML, flag and environment: `memory` or `wal`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "memory" => Ok(Self::Memory),
            "wal" => Ok(Self::Wal),
            other => Err(format!(
                "unknown durability `{other}` (expected memory or wal)"
            )),
        }
    }
}

/// `wal:` the write-ahead log of `durability: wal`, in `<output_dir>/wal/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WalConfig {
    /// Bound on the log's segments: when it is full, clients get 503 / UNAVAILABLE with a
    /// retry hint (the backpressure of a full lane) until the writers free segments. On disk,
    /// up to two consumed segment files kept for reuse come on top. At least twice
    /// `segment_bytes`. Default 1GiB.
    pub max_bytes: ByteSize,
    /// Size of one segment file, the unit of deletion (at least 4KiB). Default 64MiB.
    pub segment_bytes: ByteSize,
    /// Longest wait for more requests to share one fsync (group commit), taken only while
    /// fewer requests are pending than the last group held; `0s` turns it off. At most 1s.
    /// Default 1ms.
    pub group_commit_max_delay: HumanDuration,
    /// Pending bytes that end that wait at once. Default 1MiB.
    pub group_commit_max_bytes: ByteSize,
}

impl Default for WalConfig {
    fn default() -> Self {
        Self {
            max_bytes: ByteSize(otlp_spool_wal::DEFAULT_MAX_BYTES),
            segment_bytes: ByteSize(otlp_spool_wal::DEFAULT_SEGMENT_BYTES),
            group_commit_max_delay: HumanDuration(otlp_spool_wal::DEFAULT_GROUP_COMMIT_MAX_DELAY),
            group_commit_max_bytes: ByteSize(otlp_spool_wal::DEFAULT_GROUP_COMMIT_MAX_BYTES as u64),
        }
    }
}

impl WalConfig {
    /// The log's options for `<output_dir>/wal/`; every error names its `wal.*` key. A record
    /// is one request's bytes, so the largest is `receiver.max_body_size` (capped at half of
    /// `wal.max_bytes`; a larger request is refused with 413).
    pub fn to_options(
        &self,
        output_dir: &std::path::Path,
        max_body_size: u64,
    ) -> Result<otlp_spool_wal::WalOptions, super::ConfigError> {
        let half = (self.max_bytes.0 / 2).saturating_sub(otlp_spool_wal::RECORD_HEADER_LEN as u64);
        let max_record = usize::try_from(max_body_size.min(half).max(1)).unwrap_or(usize::MAX);
        otlp_spool_wal::WalOptions::builder(output_dir.join(WAL_DIR))
            .max_bytes(self.max_bytes.0)
            .segment_bytes(self.segment_bytes.0)
            .max_record_bytes(max_record)
            .group_commit_max_delay(self.group_commit_max_delay.0)
            .group_commit_max_bytes(
                usize::try_from(self.group_commit_max_bytes.0).unwrap_or(usize::MAX),
            )
            .build()
            .map_err(|e| {
                let key = match e.option {
                    "max_record_bytes" => "wal.max_bytes".to_owned(),
                    "dir" => "output_dir".to_owned(),
                    other => format!("wal.{other}"),
                };
                super::ConfigError::new(key, e.problem)
            })
    }
}

/// The log's folder inside the output directory.
pub const WAL_DIR: &str = "wal";

/// File format of the spool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// Arrow IPC stream files (`.arrow`).
    #[default]
    Arrow,
    /// Parquet files (`.parquet`).
    Parquet,
}

/// Compression inside the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FileCompression {
    /// None.
    None,
    /// zstd level 1 (default).
    #[default]
    Zstd,
    /// LZ4 frame.
    Lz4,
}

/// When written data is forced to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FsyncPolicy {
    /// Never: the OS decides; a power loss can lose recent files.
    None,
    /// When a file is finalized (default).
    #[default]
    OnRotate,
    /// After every batch: slowest, loses at most the batch in flight.
    EveryBatch,
}

/// `storage:` files, rotation and retention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `arrow` (default) or `parquet`.
    pub format: FileFormat,
    /// `zstd` (default, level 1), `lz4` or `none`. On unique spans zstd level 1 makes Arrow
    /// files about 8x smaller than `none` (89 against 723 bytes per span; LZ4 148) at the CPU
    /// cost of LZ4 (storage `benches/file_costs.rs`); every Arrow reader decompresses both
    /// transparently.
    pub compression: FileCompression,
    /// Start a new file past this size. Default 64MiB.
    pub rotate_size: ByteSize,
    /// ... or past this age. Default 10m.
    pub rotate_age: HumanDuration,
    /// Delete finalized files older than this (per signal). Default: keep.
    pub retention_age: Option<HumanDuration>,
    /// Delete the oldest finalized files past this total (per signal). Default: keep.
    pub retention_size: Option<ByteSize>,
    /// `none`, `on_rotate` (default) or `every_batch`.
    pub fsync: FsyncPolicy,
    /// Upload finalized files to S3-compatible object storage; absent means no upload.
    pub upload: Option<UploadConfig>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            format: FileFormat::Arrow,
            compression: FileCompression::Zstd,
            rotate_size: ByteSize(64 << 20),
            rotate_age: HumanDuration(Duration::from_secs(600)),
            retention_age: None,
            retention_size: None,
            fsync: FsyncPolicy::OnRotate,
            upload: None,
        }
    }
}

/// `storage.upload:` every finalized file goes to
/// `PREFIX/<signal>/date=YYYY-MM-DD/hour=HH/<instance id>-<file name>` in the bucket, never
/// overwriting anything. Credentials come from the AWS environment variables
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) or the shared profile
/// files, never from this file, so `--print-config` has nothing to hide here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadConfig {
    /// `s3://BUCKET/PREFIX` (the prefix may be empty or have several segments).
    pub url: String,
    /// An S3-compatible server, `https://host[:port]` (or `http://` on loopback with
    /// `allow_http`). Default: AWS S3 of the region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Default: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's region, else `us-east-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The profile of `~/.aws/credentials` / `~/.aws/config` to use when the keys are not in
    /// the environment. Default: `AWS_PROFILE`, else `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Allow a plain `http://` endpoint; refused unless it is a loopback address.
    #[serde(default)]
    pub allow_http: bool,
    /// Delete each local file once its upload is confirmed and recorded. Default false.
    #[serde(default)]
    pub delete_after_upload: bool,
    /// Files at least this large go up as multipart uploads. Default 8MiB.
    #[serde(default = "default_upload_part")]
    pub multipart_threshold: ByteSize,
    /// Part size of multipart uploads, 5MiB to 5GiB. Default 8MiB.
    #[serde(default = "default_upload_part")]
    pub part_size: ByteSize,
    /// Files uploaded at once. Default 2.
    #[serde(default = "default_upload_concurrency")]
    pub concurrency: usize,
    /// How often the output directory is listed for new files. Default 1s.
    #[serde(default = "default_upload_scan_interval")]
    pub scan_interval: HumanDuration,
    /// Time allowed for one request (a put, a part, a copy). Default 60s.
    #[serde(default = "default_upload_timeout")]
    pub timeout: HumanDuration,
    /// Back-off between attempts (attempts never stop: the files wait on disk).
    #[serde(default)]
    pub retry: UploadRetryConfig,
    /// The circuit breaker in front of the object store.
    #[serde(default)]
    pub breaker: BreakerConfig,
}

fn default_upload_part() -> ByteSize {
    ByteSize(8 << 20)
}

fn default_upload_concurrency() -> usize {
    2
}

fn default_upload_scan_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(1))
}

fn default_upload_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(60))
}

/// `storage.upload.retry:` exponential back-off with jitter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UploadRetryConfig {
    /// First back-off. Default 500ms.
    pub initial_backoff: HumanDuration,
    /// Back-off cap. Default 30s.
    pub max_backoff: HumanDuration,
}

impl Default for UploadRetryConfig {
    fn default() -> Self {
        Self {
            initial_backoff: HumanDuration(Duration::from_millis(500)),
            max_backoff: HumanDuration(Duration::from_secs(30)),
        }
    }
}

impl UploadConfig {
    /// An upload section with defaults for everything but the destination.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            endpoint: None,
            region: None,
            profile: None,
            allow_http: false,
            delete_after_upload: false,
            multipart_threshold: default_upload_part(),
            part_size: default_upload_part(),
            concurrency: default_upload_concurrency(),
            scan_interval: default_upload_scan_interval(),
            timeout: default_upload_timeout(),
            retry: UploadRetryConfig::default(),
            breaker: BreakerConfig::default(),
        }
    }

    /// The uploader's options; every error names its `storage.upload.*` key. `storage` is the
    /// section this one sits in (its rotation size bounds what one copy can create).
    pub fn to_options(
        &self,
        storage: &StorageConfig,
    ) -> Result<otlp_spool_upload::UploadOptions, super::ConfigError> {
        let invalid = |key: &str, problem: String| {
            super::ConfigError::new(format!("storage.upload.{key}"), problem)
        };
        let breaker = super::forward::breaker("storage.upload", &self.breaker)?;
        let credentials = match &self.profile {
            Some(name) if name.trim().is_empty() => {
                return Err(invalid("profile", "must not be empty".into()));
            }
            Some(name) => otlp_spool_upload::Credentials::profile(name.clone()),
            None => otlp_spool_upload::Credentials::from_environment(),
        };
        if storage.rotate_size.0 > otlp_spool_upload::MAX_PART_SIZE {
            return Err(super::ConfigError::new(
                "storage.rotate_size",
                format!(
                    "{} is larger than 5GiB, the largest object storage.upload can copy into place",
                    storage.rotate_size
                ),
            ));
        }
        otlp_spool_upload::UploadOptions::builder(self.url.clone())
            .endpoint(self.endpoint.clone())
            .region(self.region.clone())
            .allow_http(self.allow_http)
            .credentials(credentials)
            .delete_after_upload(self.delete_after_upload)
            .multipart_threshold(self.multipart_threshold.0)
            .part_size(self.part_size.0)
            .concurrency(self.concurrency)
            .scan_interval(self.scan_interval.0)
            .request_timeout(self.timeout.0)
            .backoff(self.retry.initial_backoff.0, self.retry.max_backoff.0)
            .breaker(breaker)
            .build()
            .map_err(|e| invalid(e.key, e.problem))
    }
}

/// Wire protocol of the forwarder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ForwardProtocol {
    /// OTLP/gRPC.
    #[default]
    #[serde(rename = "grpc")]
    Grpc,
    /// OTLP/HTTP with protobuf bodies.
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    /// OTLP/HTTP with JSON bodies.
    #[serde(rename = "http/json")]
    HttpJson,
}

impl ForwardProtocol {
    /// Parses the spelling used in YAML, flags and environment.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "grpc" => Ok(Self::Grpc),
            "http/protobuf" => Ok(Self::HttpProtobuf),
            "http/json" => Ok(Self::HttpJson),
            other => Err(format!(
                "unknown protocol `{other}` (expected grpc, http/protobuf or http/json)"
            )),
        }
    }

    /// The spelling [`parse`](Self::parse) reads.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grpc => "grpc",
            Self::HttpProtobuf => "http/protobuf",
            Self::HttpJson => "http/json",
        }
    }
}

/// `forward:` the remote OTLP endpoint. Its `Debug` and its serialization (`--print-config`)
/// redact every header value and the userinfo of the endpoint URL.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardConfig {
    /// `http://host:port` or `https://host:port` (for HTTP, the `/v1/<signal>` path is appended).
    #[serde(serialize_with = "redact_url")]
    pub endpoint: String,
    /// `grpc` (default), `http/protobuf` or `http/json`.
    #[serde(default)]
    pub protocol: ForwardProtocol,
    /// Extra headers sent with every request. Their values are redacted in `--print-config`
    /// and logs, whatever their names (an `x-honeycomb-team` value is a key too).
    #[serde(default, serialize_with = "redact_header_values")]
    pub headers: BTreeMap<String, String>,
    /// Credentials; at most one kind.
    #[serde(default)]
    pub auth: AuthConfig,
    /// Trust settings for `https` endpoints.
    #[serde(default)]
    pub tls: ClientTlsConfig,
    /// `none` (default) or `gzip`.
    #[serde(default)]
    pub compression: ForwardCompression,
    /// Time allowed for one export call. Default 10s.
    #[serde(default = "default_forward_timeout")]
    pub timeout: HumanDuration,
    /// Memory bound of the forwarder's own queue. Default 16MiB.
    #[serde(default = "default_forward_queue")]
    pub queue_size: ByteSize,
    /// Retries of transient failures.
    #[serde(default)]
    pub retry: RetryConfig,
    /// The circuit breaker in front of the remote.
    #[serde(default)]
    pub breaker: BreakerConfig,
}

fn default_forward_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(10))
}

fn default_forward_queue() -> ByteSize {
    ByteSize(16 << 20)
}

impl ForwardConfig {
    /// A forwarding section with defaults for everything but the endpoint.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            protocol: ForwardProtocol::default(),
            headers: BTreeMap::new(),
            auth: AuthConfig::default(),
            tls: ClientTlsConfig::default(),
            compression: ForwardCompression::default(),
            timeout: default_forward_timeout(),
            queue_size: default_forward_queue(),
            retry: RetryConfig::default(),
            breaker: BreakerConfig::default(),
        }
    }
}

fn redact_header_values<S: Serializer>(
    headers: &BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let shown: BTreeMap<&str, Secret> = headers
        .keys()
        .map(|k| (k.as_str(), Secret::default()))
        .collect();
    shown.serialize(s)
}

fn redact_url<S: Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url_userinfo(url))
}

impl std::fmt::Debug for ForwardConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: BTreeMap<&str, Secret> = self
            .headers
            .keys()
            .map(|k| (k.as_str(), Secret::default()))
            .collect();
        f.debug_struct("ForwardConfig")
            .field("endpoint", &redact_url_userinfo(&self.endpoint))
            .field("protocol", &self.protocol)
            .field("headers", &headers)
            .field("auth", &self.auth)
            .field("tls", &self.tls)
            .field("compression", &self.compression)
            .field("timeout", &self.timeout)
            .field("queue_size", &self.queue_size)
            .field("retry", &self.retry)
            .field("breaker", &self.breaker)
            .finish()
    }
}

/// `forward.auth:` one of bearer token, API key or basic credentials.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Sent as `authorization: Bearer <token>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<Secret>,
    /// Sent as `<header>: <value>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<ApiKeyConfig>,
    /// Sent as `authorization: Basic base64(username:password)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<BasicAuthConfig>,
}

/// `forward.auth.api_key:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// Header name. Default `x-api-key`.
    #[serde(default = "default_api_key_header")]
    pub header: String,
    /// The key.
    pub value: Secret,
}

fn default_api_key_header() -> String {
    "x-api-key".to_string()
}

/// `forward.auth.basic:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthConfig {
    /// User name.
    pub username: String,
    /// Password.
    pub password: Secret,
}

/// `forward.tls:`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientTlsConfig {
    /// Trust the certificate(s) in this PEM file instead of the system roots (https endpoints
    /// only). Without it, an `https://` endpoint is verified against the system roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

/// Request compression of the forwarder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ForwardCompression {
    /// None.
    #[default]
    None,
    /// gzip.
    Gzip,
}

/// `forward.retry:` exponential back-off with jitter for transient failures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Attempts per batch, the first included; absent (the default) means keep trying until
    /// the batch is delivered or shutdown's deadline passes (the breaker spaces the attempts
    /// out while the remote is down, and the bounded queue caps what waits).
    pub max_attempts: Option<u32>,
    /// First back-off. Default 500ms.
    pub initial_backoff: HumanDuration,
    /// Back-off cap. Default 30s.
    pub max_backoff: HumanDuration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: None,
            initial_backoff: HumanDuration(Duration::from_millis(500)),
            max_backoff: HumanDuration(Duration::from_secs(30)),
        }
    }
}

/// `forward.breaker:` when to stop calling a failing remote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker. Default 5.
    pub failure_threshold: u32,
    /// First open period. Default 30s.
    pub open_duration: HumanDuration,
    /// Cap of the exponentially growing open period. Default 5m.
    pub max_open_duration: HumanDuration,
    /// Probes admitted at once while half-open. Default 1.
    pub half_open_probes: u32,
    /// Successful probes that close it again. Default 1.
    pub successes_to_close: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_duration: HumanDuration(Duration::from_secs(30)),
            max_open_duration: HumanDuration(Duration::from_secs(300)),
            half_open_probes: 1,
            successes_to_close: 1,
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `log:` the process's own logs (tracing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter such as `info` or `otlp_spool=debug,info`. `RUST_LOG` wins when set.
    pub level: String,
    /// `text` (default) or `json`.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".to_string(),
            format: LogFormat::Text,
        }
    }
}
