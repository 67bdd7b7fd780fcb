//! The embedded API: build a [`Spool`] in your own program, hand it telemetry (through its
//! [`Sink`] or the OpenTelemetry SDK exporters), flush, shut down.
//!
//! ```no_run
//! # async fn demo() -> Result<(), otlp_spool::SpoolError> {
//! let spool = otlp_spool::Spool::builder().output_dir("./telemetry").build().await?;
//! // ... plug spool.sink() (or the SDK exporters) into your program ...
//! spool.flush().await?;
//! spool.shutdown().await?;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use otlp_spool_core::Sink;
use otlp_spool_exporters::{
    Forwarder, SinkLogExporter, SinkMetricExporter, SinkSpanExporter, Temporality,
};
use otlp_spool_receiver::{Readiness, Receiver, RunningReceiver};
use otlp_spool_upload::Uploader;

use crate::config::{Config, ConfigError};
use crate::pipeline::{Pipeline, StartError};

/// How long `flush` and `shutdown` wait for the writers by default.
const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutdown lets the forwarder deliver what it still holds.
const FORWARD_SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);
/// How long shutdown lets the uploader put the last files into the bucket (what is left is
/// uploaded at the next start: the files stay on disk).
const UPLOAD_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Errors of the embedded API.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The pipeline could not start (output directory unusable or locked...).
    #[error(transparent)]
    Start(#[from] StartError),
    /// Flush or shutdown did not complete.
    #[error("{0}")]
    Flush(String),
    /// The forwarder could not be built from the `forward` section.
    #[error("{0}")]
    Forward(String),
    /// The OTLP endpoints could not start.
    #[error("serving OTLP: {0}")]
    Serve(String),
    /// The lake uploader (`storage.upload`) could not start.
    #[error("config key `storage.upload`: {0}")]
    Upload(String),
}

/// Builds a [`Spool`]; every setting defaults to the standalone defaults.
#[derive(Debug, Clone, Default)]
pub struct SpoolBuilder {
    config: Config,
}

impl SpoolBuilder {
    /// Starts from a whole configuration (as `otlp-spool serve` loads it).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Where the files go. Default `./otlp-spool-data`.
    pub fn output_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.output_dir = dir.into();
        self
    }

    /// OTLP/gRPC address for [`Spool::serve`]. Default `127.0.0.1:4317`.
    pub fn grpc_addr(mut self, addr: SocketAddr) -> Self {
        self.config.grpc_addr = addr;
        self
    }

    /// OTLP/HTTP address for [`Spool::serve`]. Default `127.0.0.1:4318`.
    pub fn http_addr(mut self, addr: SocketAddr) -> Self {
        self.config.http_addr = addr;
        self
    }

    /// Memory bound of each signal's buffer lane.
    pub fn buffer_max_bytes(mut self, bytes: u64) -> Self {
        self.config.buffer.max_bytes = crate::config::ByteSize(bytes);
        // Keep a batch well inside the bound, so a lane can hold more than one.
        let batch = &mut self.config.buffer.max_batch_bytes;
        if batch.0 > bytes / 2 {
            batch.0 = (bytes / 2).max(1);
        }
        self
    }

    /// Validates the settings, opens the output directory and starts the writers.
    pub async fn build(self) -> Result<Spool, SpoolError> {
        self.config.validate()?;
        let config = self.config;
        let forwarder = match &config.forward {
            Some(f) => Some(Arc::new(crate::forward::build(f)?)),
            None => None,
        };
        let forward_sink: Option<Arc<dyn Sink>> = forwarder.clone().map(|f| f as Arc<dyn Sink>);
        let pipeline = tokio::task::spawn_blocking({
            let config = config.clone();
            move || Pipeline::start(&config, forward_sink)
        })
        .await
        .map_err(|e| SpoolError::Flush(format!("start-up task failed: {e}")))??;
        // The uploader starts once the pipeline holds the directory's lock; it only reads the
        // finalized files (and its own state files beside them).
        let uploader = match &config.storage.upload {
            Some(upload) => match upload
                .to_options(&config.storage)
                .map_err(SpoolError::from)
                .and_then(|options| {
                    Uploader::start(&config.output_dir, options)
                        .map_err(|e| SpoolError::Upload(e.to_string()))
                }) {
                Ok(uploader) => Some(uploader),
                Err(e) => {
                    let pipeline = pipeline.clone();
                    let _ = tokio::task::spawn_blocking(move || {
                        pipeline.shutdown(DEFAULT_FLUSH_TIMEOUT)
                    })
                    .await;
                    return Err(e);
                }
            },
            None => None,
        };
        let readiness = Readiness::new().with_check({
            let pipeline = pipeline.clone();
            move || pipeline.is_ready()
        });
        Ok(Spool {
            inner: Arc::new(Inner {
                config,
                pipeline,
                forwarder,
                uploader,
                readiness,
                serving: tokio::sync::Mutex::new(None),
            }),
        })
    }
}

#[derive(Debug)]
struct Inner {
    config: Config,
    pipeline: Arc<Pipeline>,
    forwarder: Option<Arc<Forwarder>>,
    uploader: Option<Uploader>,
    readiness: Readiness,
    serving: tokio::sync::Mutex<Option<RunningReceiver>>,
}

/// The addresses [`Spool::serve`] bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeAddrs {
    /// OTLP/gRPC.
    pub grpc: SocketAddr,
    /// OTLP/HTTP (and `/health`, `/ready`, `/metrics`).
    pub http: SocketAddr,
}

/// A running spool: a pipeline writing to one output directory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Spool {
    inner: Arc<Inner>,
}

impl Spool {
    /// A builder with the standalone defaults.
    pub fn builder() -> SpoolBuilder {
        SpoolBuilder::default()
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The pipeline as a [`Sink`]: hand it OTLP requests directly.
    pub fn sink(&self) -> Arc<dyn Sink> {
        self.inner.pipeline.clone()
    }

    /// An OpenTelemetry SDK span exporter feeding this spool in-process (no network hop).
    /// Cheap to clone; `force_flush` returns once the spans are in finalized files.
    pub fn span_exporter(&self) -> SinkSpanExporter {
        SinkSpanExporter::new(self.sink())
    }

    /// An OpenTelemetry SDK metric exporter with the given temporality (the SDK's default is
    /// `Temporality::Cumulative`; `Delta` and `LowMemory` are supported).
    pub fn metric_exporter(&self, temporality: Temporality) -> SinkMetricExporter {
        SinkMetricExporter::with_temporality(self.sink(), temporality)
    }

    /// An OpenTelemetry SDK log exporter feeding this spool in-process.
    pub fn log_exporter(&self) -> SinkLogExporter {
        SinkLogExporter::new(self.sink())
    }

    /// The forwarder, when a `forward` section is configured.
    pub fn forwarder(&self) -> Option<&Arc<Forwarder>> {
        self.inner.forwarder.as_ref()
    }

    /// The lake uploader, when `storage.upload` is configured. Its
    /// [`state()`](Uploader::state) is what retention asks before deleting a file.
    pub fn uploader(&self) -> Option<&Uploader> {
        self.inner.uploader.as_ref()
    }

    /// The pipeline itself (metrics, readiness).
    pub fn pipeline(&self) -> &Arc<Pipeline> {
        &self.inner.pipeline
    }

    /// Writes everything accepted so far into finalized files.
    pub async fn flush(&self) -> Result<(), SpoolError> {
        let pipeline = self.inner.pipeline.clone();
        let flushed = tokio::task::spawn_blocking(move || pipeline.flush(DEFAULT_FLUSH_TIMEOUT))
            .await
            .map_err(|e| SpoolError::Flush(e.to_string()))?
            .map_err(|e| SpoolError::Flush(e.to_string()));
        if let Some(uploader) = &self.inner.uploader {
            // The files just finalized are queued now rather than at the next scan.
            uploader.scan_now();
        }
        flushed
    }

    /// Serves OTLP/gRPC and OTLP/HTTP (with `/health`, `/ready` and `/metrics`) on the
    /// configured addresses, feeding this spool. Logs and returns the addresses it bound
    /// (port 0 picks a free one). Serving stops at [`Spool::shutdown`].
    pub async fn serve(&self) -> Result<ServeAddrs, SpoolError> {
        let mut serving = self.inner.serving.lock().await;
        if serving.is_some() {
            return Err(SpoolError::Serve("already serving".into()));
        }
        let c = &self.inner.config;
        let mut builder = Receiver::builder()
            .grpc_addr(c.grpc_addr)
            .http_addr(c.http_addr)
            .max_body_bytes(usize::try_from(c.receiver.max_body_size.0).unwrap_or(usize::MAX))
            .max_concurrent_requests(c.receiver.max_concurrent_requests)
            .readiness(self.inner.readiness.clone())
            .metrics_provider(Arc::new({
                let pipeline = self.inner.pipeline.clone();
                let forwarder = self.inner.forwarder.clone();
                let uploader = self.inner.uploader.clone();
                move |out: &mut String| {
                    pipeline.render_metrics(out);
                    if let Some(f) = &forwarder {
                        crate::forward::render_metrics(f, out);
                    }
                    if let Some(u) = &uploader {
                        u.render_metrics(out);
                    }
                }
            }));
        if let Some(token) = &c.receiver.bearer_token {
            builder = builder.bearer_token(token.expose());
        }
        if let Some(tls) = &c.receiver.tls {
            builder = builder.tls(&tls.cert_file, &tls.key_file);
        }
        let receiver = builder
            .build()
            .map_err(|e| SpoolError::Serve(e.to_string()))?;
        let sink: Arc<dyn Sink> = self.inner.pipeline.clone();
        let running = receiver
            .serve(sink, std::future::pending::<()>())
            .await
            .map_err(|e| SpoolError::Serve(e.to_string()))?;
        let (Some(grpc), Some(http)) = (running.grpc_addr(), running.http_addr()) else {
            return Err(SpoolError::Serve(
                "the receiver did not report its addresses".into(),
            ));
        };
        tracing::info!(grpc = %grpc, http = %http, "otlp-spool listening");
        *serving = Some(running);
        Ok(ServeAddrs { grpc, http })
    }

    /// Stops serving (in-flight requests are answered), drains the buffers and finalizes
    /// every file. Idempotent.
    pub async fn shutdown(&self) -> Result<(), SpoolError> {
        self.inner.readiness.set_ready(false);
        if let Some(running) = self.inner.serving.lock().await.take() {
            running
                .shutdown_and_wait()
                .await
                .map_err(|e| SpoolError::Serve(e.to_string()))?;
        }
        let pipeline = self.inner.pipeline.clone();
        let stored = tokio::task::spawn_blocking(move || pipeline.shutdown(DEFAULT_FLUSH_TIMEOUT))
            .await
            .map_err(|e| SpoolError::Flush(e.to_string()))?
            .map_err(|e| SpoolError::Flush(e.to_string()));
        // Local files first; then the forwarder gets a bounded time to deliver what it holds
        // (what it cannot deliver is counted as dropped in its self-metrics).
        if let Some(forwarder) = &self.inner.forwarder {
            let report = forwarder.shutdown(FORWARD_SHUTDOWN_DEADLINE).await;
            tracing::info!(?report, "forwarder stopped");
        }
        // Then the uploader gets a bounded time for the files finalized just now.
        if let Some(uploader) = &self.inner.uploader {
            uploader.shutdown(UPLOAD_SHUTDOWN_GRACE).await;
        }
        stored
    }
}
