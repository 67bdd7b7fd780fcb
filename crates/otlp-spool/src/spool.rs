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
use std::time::{Duration, Instant};

use otlp_spool_core::{Signal, Sink};
use otlp_spool_exporters::{
    Forwarder, SinkLogExporter, SinkMetricExporter, SinkSpanExporter, Temporality,
};
use otlp_spool_receiver::{Health, Readiness, Receiver, ReceiverMetrics, RunningReceiver};
use otlp_spool_storage::RetentionGuard;
use otlp_spool_upload::{UploadState, Uploader};

use crate::config::{Config, Durability};
use crate::error::{ServeError, SpoolError};
use crate::forward::Feeds;
use crate::pipeline::{DropReason, Pipeline};
use crate::report::{Held, ShutdownReport};

/// How long `flush` waits for the writers by default.
const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutdown lets the uploader put the last files into the bucket at most, within
/// what is left of `shutdown_timeout` (what is left is uploaded at the next start: the files
/// stay on disk).
const UPLOAD_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

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
        // In `wal` mode the forwarder reads the log itself (`forward::Feeds`): the lanes hand it
        // nothing, or it would get everything twice.
        let forward_sink: Option<Arc<dyn Sink>> = match config.durability {
            Durability::Memory => forwarder.clone().map(|f| f as Arc<dyn Sink>),
            Durability::Wal => None,
        };
        // The upload state exists before the store opens: it is retention's guard from the
        // first tick (it keeps every file until the uploader knows what is in the bucket).
        let upload_state = config
            .storage
            .upload
            .as_ref()
            .map(|_| Arc::<UploadState>::default());
        let pipeline = tokio::task::spawn_blocking({
            let config = config.clone();
            let guard = upload_state
                .clone()
                .map(|state| state as Arc<dyn RetentionGuard>);
            move || Pipeline::start(&config, forward_sink, guard)
        })
        .await
        .map_err(SpoolError::task("start-up"))??;
        let feeds = match (&config.forward, &forwarder) {
            (Some(f), Some(forwarder)) => {
                let started = tokio::task::spawn_blocking({
                    let (config, f, forwarder) = (config.clone(), f.clone(), forwarder.clone());
                    let wal = pipeline.wal().cloned();
                    move || Feeds::start(&config, &f, &forwarder, wal.as_ref())
                })
                .await
                .map_err(SpoolError::task("start-up"))
                .and_then(|r| r);
                match started {
                    Ok(feeds) => Some(Arc::new(feeds)),
                    Err(e) => return Err(stop_after_failed_start(&pipeline, e).await),
                }
            }
            _ => {
                if let Some(wal) = pipeline.wal() {
                    crate::forward::drop_forward_cursors(wal, None);
                }
                crate::forward::warn_unsent_spools(&config.output_dir, None);
                None
            }
        };
        // The uploader starts once the pipeline holds the directory's lock; it only reads the
        // finalized files (and its own state files beside them).
        let uploader = match (&config.storage.upload, upload_state) {
            (Some(upload), Some(state)) => match upload
                .to_options(&config.storage)
                .map_err(SpoolError::from)
                .and_then(|options| {
                    Uploader::start_sharing(&config.output_dir, options, state)
                        .map_err(SpoolError::Upload)
                }) {
                Ok(uploader) => Some(uploader),
                Err(e) => return Err(stop_after_failed_start(&pipeline, e).await),
            },
            _ => None,
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
                feeds,
                uploader,
                readiness,
                serving: tokio::sync::Mutex::new(None),
                receiver_metrics: parking_lot::Mutex::new(None),
            }),
        })
    }
}

/// A start-up step after the pipeline's failed with `e`: the pipeline stops (its lock and
/// files released cleanly) before `e` is returned.
async fn stop_after_failed_start(pipeline: &Arc<Pipeline>, e: SpoolError) -> SpoolError {
    let pipeline = pipeline.clone();
    let _ = tokio::task::spawn_blocking(move || pipeline.shutdown(DEFAULT_FLUSH_TIMEOUT)).await;
    e
}

#[derive(Debug)]
struct Inner {
    config: Config,
    pipeline: Arc<Pipeline>,
    forwarder: Option<Arc<Forwarder>>,
    /// The forwarder's feeds from logs and its forward spool (with `forward`).
    feeds: Option<Arc<Feeds>>,
    uploader: Option<Uploader>,
    readiness: Readiness,
    serving: tokio::sync::Mutex<Option<RunningReceiver>>,
    /// The serving receiver's counters (open connections), kept past its shutdown.
    receiver_metrics: parking_lot::Mutex<Option<Arc<ReceiverMetrics>>>,
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
        let flushed =
            tokio::task::spawn_blocking(move || Pipeline::flush(&pipeline, DEFAULT_FLUSH_TIMEOUT))
                .await
                .map_err(SpoolError::task("flush"))?
                .map_err(SpoolError::from);
        if let Some(uploader) = &self.inner.uploader {
            // The files just finalized are queued now rather than at the next scan.
            uploader.scan_now();
        }
        flushed
    }

    /// Serves OTLP/gRPC and OTLP/HTTP (with `/health`, `/ready`, `/metrics` and the viewer
    /// under `/ui`) on the
    /// configured addresses, feeding this spool. Logs and returns the addresses it bound
    /// (port 0 picks a free one). Serving stops at [`Spool::shutdown`].
    pub async fn serve(&self) -> Result<ServeAddrs, SpoolError> {
        let c = &self.inner.config;
        self.serve_at(c.grpc_addr, c.http_addr).await
    }

    /// Like [`Spool::serve`], on the given addresses instead of the configured ones (the Python
    /// package's `Spool.serve(grpc_addr=..., http_addr=...)`).
    pub async fn serve_at(
        &self,
        grpc_addr: SocketAddr,
        http_addr: SocketAddr,
    ) -> Result<ServeAddrs, SpoolError> {
        if grpc_addr == http_addr && grpc_addr.port() != 0 {
            return Err(ServeError::SamePort(grpc_addr).into());
        }
        let mut serving = self.inner.serving.lock().await;
        if serving.is_some() {
            return Err(ServeError::AlreadyServing.into());
        }
        let c = &self.inner.config;
        let r = &c.receiver;
        let mut builder = Receiver::builder()
            .grpc_addr(grpc_addr)
            .http_addr(http_addr)
            .max_body_bytes(usize::try_from(r.max_body_size.0).unwrap_or(usize::MAX))
            .max_body_buffer(usize::try_from(r.max_body_buffer.0).unwrap_or(usize::MAX))
            .max_decoded_bytes(usize::try_from(r.max_decoded_size.0).unwrap_or(usize::MAX))
            .max_nesting_depth(r.max_nesting_depth)
            .max_concurrent_requests(r.max_concurrent_requests)
            .backpressure_wait(r.backpressure_wait.0)
            .read_header_timeout(r.read_header_timeout.0)
            .read_timeout(r.read_timeout.0)
            .idle_timeout(r.idle_timeout.0)
            .tls_handshake_timeout(r.tls_handshake_timeout.0)
            .max_connections(r.max_connections)
            .max_concurrent_streams(r.max_concurrent_streams)
            .http2_keepalive(Some((r.keepalive.time.0, r.keepalive.timeout.0)))
            .readiness(self.inner.readiness.clone())
            .health(self.health())
            .metrics_collector(self.inner.pipeline.metrics_collector());
        if let Some(forwarder) = &self.inner.forwarder {
            builder = builder.metrics_collector(Box::new(crate::forward::ForwarderCollector(
                forwarder.clone(),
            )));
        }
        if let Some(feeds) = &self.inner.feeds {
            builder = builder
                .metrics_collector(Box::new(crate::forward::FeedCollector(feeds.stats.clone())));
        }
        if let Some(uploader) = &self.inner.uploader {
            builder = builder.metrics_collector(uploader.metrics_collector());
        }
        if let Some(token) = &c.receiver.bearer_token {
            builder = builder.bearer_token(token.expose());
        }
        if let Some(tls) = &c.receiver.tls {
            builder = builder.tls(&tls.cert_file, &tls.key_file);
        }
        let viewer = otlp_spool_viewer::Viewer::with_options(
            &c.output_dir,
            otlp_spool_viewer::ViewerOptions::default()
                .pending(Arc::new(LanePending(self.inner.pipeline.clone()))),
        );
        builder = builder.http_extension(Arc::new(ViewerMount(viewer)));
        let receiver = builder.build().map_err(ServeError::from)?;
        let sink: Arc<dyn Sink> = self.inner.pipeline.clone();
        let running = receiver
            .serve(sink, std::future::pending::<()>())
            .await
            .map_err(ServeError::from)?;
        let (Some(grpc), Some(http)) = (running.grpc_addr(), running.http_addr()) else {
            return Err(ServeError::NoAddresses.into());
        };
        tracing::info!(grpc = %grpc, http = %http, "otlp-spool listening");
        *self.inner.receiver_metrics.lock() = Some(running.metrics());
        *serving = Some(running);
        Ok(ServeAddrs { grpc, http })
    }

    /// The liveness checks `GET /health` runs: every lane worker and the forwarder's workers.
    fn health(&self) -> Health {
        let pipeline = self.inner.pipeline.clone();
        let mut health = Health::new().with_check(move || {
            let problems = pipeline.health_problems();
            (!problems.is_empty()).then(|| problems.join("\n"))
        });
        if let Some(forwarder) = self.inner.forwarder.clone() {
            health = health.with_check(move || crate::forward::health_problem(&forwarder));
        }
        health
    }

    /// What the spool holds right now and would lose if the process ended at once: items in
    /// the lanes, in the forwarder's queue, and open client connections.
    pub fn held(&self) -> Held {
        let pipeline = &self.inner.pipeline;
        Held {
            items: Signal::ALL
                .iter()
                .map(|&s| (s, pipeline.held_items(s)))
                .filter(|&(_, n)| n > 0)
                .collect(),
            forward_items: self.inner.forwarder.as_ref().map_or(0, |f| {
                let s = f.stats();
                s.accepted_items.saturating_sub(s.settled_items())
            }),
            open_connections: self
                .inner
                .receiver_metrics
                .lock()
                .as_ref()
                .map_or(0, |m| m.open_connections()),
        }
    }

    /// Stops serving (in-flight requests are answered), drains the lanes into finalized files
    /// and lets the forwarder deliver what it holds, all within the configured
    /// `shutdown_timeout`: the receivers get at most half of it, then the lanes and the
    /// forwarder share what is left, concurrently. A failing receiver shutdown does not skip
    /// the drain. Idempotent.
    ///
    /// The [`ShutdownReport`] says what was lost (drops by reason since start, items abandoned
    /// at the deadline, forwarder drops) and what went wrong; it is also logged. `Err` only
    /// when the shutdown could not run at all.
    pub async fn shutdown(&self) -> Result<ShutdownReport, SpoolError> {
        self.shutdown_within(self.inner.config.shutdown_timeout.0)
            .await
    }

    /// Like [`Spool::shutdown`], within `timeout` instead of the configured `shutdown_timeout`
    /// (the Python package's `Spool.shutdown(timeout)`).
    pub async fn shutdown_within(&self, timeout: Duration) -> Result<ShutdownReport, SpoolError> {
        let deadline = Instant::now() + timeout;
        let mut report = ShutdownReport::default();
        self.inner.readiness.set_ready(false);
        if let Some(running) = self.inner.serving.lock().await.take() {
            match running.shutdown_within(timeout / 2).await {
                Ok(()) => {}
                Err(otlp_spool_receiver::ServeError::ShutdownTimeout {
                    open_connections, ..
                }) => {
                    report.timed_out = true;
                    report.dropped_connections = open_connections;
                }
                // Whatever broke in the receiver, the data it acknowledged must still be drained.
                Err(e) => report.errors.push(format!("stopping the receiver: {e}")),
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let pipeline = self.inner.pipeline.clone();
        let lanes = tokio::task::spawn_blocking(move || pipeline.shutdown(left));
        // What the forwarder cannot deliver by the deadline is kept: in the log (`wal`, its
        // position persisted) or in the forward spool (memory mode), sent after the restart.
        let forward = async {
            let forwarder = self.inner.forwarder.as_ref()?;
            let (stopped, kept) = forwarder.shutdown_keeping(left).await;
            let kept = match self.inner.feeds.clone() {
                Some(feeds) => tokio::task::spawn_blocking(move || feeds.stop(kept))
                    .await
                    .unwrap_or(crate::forward::Kept {
                        persisted: 0,
                        lost: stopped.kept_items,
                    }),
                None => crate::forward::Kept {
                    persisted: 0,
                    lost: kept.iter().map(|t| t.item_count() as u64).sum(),
                },
            };
            Some((stopped, kept))
        };
        let (lanes, forward) = tokio::join!(lanes, forward);
        match lanes {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                report.timed_out |= Instant::now() >= deadline;
                report.errors.push(e.to_string());
            }
            Err(e) => return Err(SpoolError::task("shutdown")(e)),
        }
        if let Some((forward, kept)) = forward {
            tracing::info!(?forward, ?kept, "forwarder stopped");
            report.forward_dropped = forward.dropped_items + kept.lost;
            // Everything held kept for the next start: a remote that is down does not make
            // this shutdown a failure.
            report.forward_kept = forward.kept_items.saturating_sub(kept.lost);
            report.timed_out |= !forward.drained && report.forward_dropped > 0;
        }
        // Then the uploader gets what is left (at most UPLOAD_SHUTDOWN_GRACE) for the files
        // finalized just now; the rest waits on disk for the next start.
        if let Some(uploader) = &self.inner.uploader {
            let left = deadline.saturating_duration_since(Instant::now());
            uploader.shutdown(left.min(UPLOAD_SHUTDOWN_GRACE)).await;
        }
        let pipeline = &self.inner.pipeline;
        for signal in Signal::ALL {
            for reason in DropReason::ALL {
                let n = pipeline.dropped_items(signal, reason);
                if n > 0 {
                    report.dropped.push((signal, reason, n));
                }
            }
            let abandoned = pipeline.abandoned_items(signal);
            if abandoned > 0 {
                report.abandoned.push((signal, abandoned));
            }
        }
        report.log();
        Ok(report)
    }
}

/// The lanes' unwritten requests, for the viewer's footer.
#[derive(Debug)]
struct LanePending(Arc<Pipeline>);

impl otlp_spool_viewer::Pending for LanePending {
    fn pending(&self, signal: otlp_spool_core::Signal) -> (u64, u64) {
        self.0.buffered(signal)
    }

    fn peek(&self, signal: otlp_spool_core::Signal, max_bytes: u64) -> Vec<bytes::Bytes> {
        self.0
            .peek(signal, max_bytes)
            .into_iter()
            .map(|t| t.bytes().clone())
            .collect()
    }
}

/// The viewer under `/ui` on the HTTP port: its pages are computed on the blocking pool (they
/// read files), behind the receiver's token rule.
#[derive(Debug)]
struct ViewerMount(otlp_spool_viewer::Viewer);

impl otlp_spool_receiver::HttpExtension for ViewerMount {
    fn serves(&self, path: &str) -> bool {
        otlp_spool_viewer::serves(path)
    }

    fn call(&self, request: http::Request<()>) -> otlp_spool_receiver::ExtensionFuture {
        let viewer = self.0.clone();
        let method = request.method().as_str().to_owned();
        let target = request.uri().path_and_query().map_or_else(
            || request.uri().path().to_owned(),
            |p| p.as_str().to_owned(),
        );
        Box::pin(async move {
            let page = tokio::task::spawn_blocking(move || viewer.respond(&method, &target))
                .await
                .unwrap_or_else(|_| otlp_spool_viewer::Response {
                    status: 500,
                    content_type: "text/plain; charset=utf-8",
                    headers: Vec::new(),
                    body: b"viewer task failed\n".to_vec(),
                });
            let mut response = http::Response::new(bytes::Bytes::from(page.body));
            *response.status_mut() = http::StatusCode::from_u16(page.status)
                .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
            let headers = response.headers_mut();
            headers.insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(page.content_type),
            );
            for (name, value) in page.headers {
                if let Ok(v) = http::HeaderValue::from_str(&value) {
                    headers.insert(name, v);
                }
            }
            response
        })
    }
}
