//! `NativeSpool`: the facade's [`Spool`] and the tokio runtime it runs on, owned by one
//! Python object (the Python `otlp_spool.Spool` wraps it).
//!
//! Invariants:
//! - One runtime per spool, built here, serving only this spool (its receiver when serving).
//! - The GIL is released around every call that can block or take time: start-up, decode and
//!   accept of a batch, flush, shutdown, serve, reading files. No code here calls into Python
//!   from a Rust thread, and nothing running on the runtime or the flusher threads holds a
//!   Python object.
//! - A forked child gets [`ForkedProcessError`] from every method that needs the runtime (its
//!   threads were not copied by `fork`, so waiting on them would hang), and dropping the object
//!   in the child leaks the runtime and pipeline instead of joining threads that do not exist.
//! - Dropped without a shutdown (garbage collection, interpreter exit), the spool shuts down:
//!   files are finalized.
//! - After `shutdown` the pipeline is dropped: the output directory's lock is released (a new
//!   spool may open it at once) and every call that would feed it raises `SpoolClosedError`
//!   (`FlushError` for `flush`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use otlp_spool::{Spool, SpoolError as FacadeError};
use otlp_spool_core::{Refusal, Signal, Sink};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::config::load_config;
use crate::errors::{
    ConfigError, FlushError, ForkedProcessError, InvalidDataError, ReadError, ServeError,
    SpoolClosedError, SpoolError, sink_error,
};
use crate::read::{ArrowStream, read_signal};
use crate::span_encoder::encode_spans;
use crate::telemetry::{DecodeError, parse_signal, telemetry_from_bytes, telemetry_from_vec};

/// How long a spool dropped without `shutdown` gives its writers.
const DROP_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// Why one batch was not taken.
#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Refused(#[from] Refusal),
}

fn export_error(err: ExportError) -> PyErr {
    match err {
        ExportError::Decode(d) => InvalidDataError::new_err(d.to_string()),
        // The batch's bytes are still the caller's (Python's): the reason is enough.
        ExportError::Refused(s) => sink_error(s.error()),
    }
}

/// What `export_spans` answers: spans taken, or why the batch needs the official encoder.
#[derive(Debug, IntoPyObject)]
enum ExportSpans {
    Taken(usize),
    NotEncodable(String),
}

/// A running spool: cheap to clone out of the state (two `Arc`s), so no lock is held while a
/// call runs with the GIL released.
#[derive(Clone)]
struct Running {
    spool: Spool,
    sink: Arc<dyn Sink>,
}

enum State {
    Running(Running),
    /// After `shutdown`: the pipeline is dropped (which releases the output directory's lock,
    /// so a new spool may open it), its last self-metrics kept.
    Closed {
        metrics: String,
    },
}

struct Inner {
    // Field order is drop order: the spool (and its pipeline) before the runtime it uses.
    state: RwLock<State>,
    output_dir: PathBuf,
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("output_dir", &self.output_dir)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn running(&self) -> Option<Running> {
        match &*self.state.read().unwrap_or_else(|e| e.into_inner()) {
            State::Running(running) => Some(running.clone()),
            State::Closed { .. } => None,
        }
    }

    fn is_closed(&self) -> bool {
        self.running().is_none()
    }

    /// Shuts the spool down (idempotent) and drops the pipeline. Blocks: call without the GIL.
    fn shutdown(&self, timeout: Duration) -> Result<(), FacadeError> {
        let Some(running) = self.running() else {
            return Ok(());
        };
        // What the shutdown lost, if anything, is logged by the facade and counted in the
        // self-metrics kept below.
        let result = self
            .runtime
            .block_on(running.spool.shutdown_within(timeout))
            .map(|_report| ());
        let mut metrics = String::new();
        running.spool.pipeline().render_metrics(&mut metrics);
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = State::Closed { metrics };
        result
    }
}

/// A running spool owned by Python. See the module docs for its invariants.
#[pyclass(module = "otlp_spool._native", frozen)]
#[derive(Debug)]
pub struct NativeSpool {
    inner: Arc<Inner>,
    pid: u32,
}

fn duration(seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        PyValueError::new_err(format!(
            "timeout must be a non-negative number of seconds, got {seconds}"
        ))
    })
}

fn parse_addr(which: &str, addr: &str) -> PyResult<SocketAddr> {
    addr.parse().map_err(|e| {
        PyValueError::new_err(format!(
            "{which}: `{addr}` is not an address like 127.0.0.1:4317: {e}"
        ))
    })
}

fn facade_error(err: FacadeError) -> PyErr {
    let message = err.to_string();
    match err {
        FacadeError::Config(_)
        | FacadeError::Start(_)
        | FacadeError::Forward(_)
        | FacadeError::Upload(_) => ConfigError::new_err(message),
        FacadeError::Flush(_) => FlushError::new_err(message),
        FacadeError::Serve(_) => ServeError::new_err(message),
        // A start-up, flush or shutdown task that panicked; `SpoolError` is non-exhaustive.
        _ => SpoolError::new_err(message),
    }
}

const CLOSED: &str = "the spool is shut down and takes nothing more";

impl NativeSpool {
    fn check_process(&self) -> PyResult<()> {
        let now = std::process::id();
        if now == self.pid {
            Ok(())
        } else {
            Err(ForkedProcessError::new_err(format!(
                "this Spool was created in process {} and this is process {now} (a fork): the \
                 spool's threads do not exist here; create a new Spool in the child, on \
                 another output directory",
                self.pid
            )))
        }
    }

    /// The running spool, or `closed()` as the error.
    fn running(&self, closed: impl FnOnce(&'static str) -> PyErr) -> PyResult<Running> {
        self.check_process()?;
        self.inner.running().ok_or_else(|| closed(CLOSED))
    }
}

#[pymethods]
impl NativeSpool {
    /// Validates the configuration (`config_file`, then `layers`: JSON objects of configuration
    /// keys merged over it in order), opens (and locks) `output_dir` and starts the writers.
    #[new]
    #[pyo3(signature = (output_dir, config_file=None, layers=Vec::new(), worker_threads=2))]
    fn new(
        py: Python<'_>,
        output_dir: PathBuf,
        config_file: Option<PathBuf>,
        layers: Vec<String>,
        worker_threads: usize,
    ) -> PyResult<Self> {
        let config = load_config(&output_dir, config_file.as_deref(), &layers)
            .map_err(|e| ConfigError::new_err(e.to_string()))?;
        if worker_threads == 0 {
            return Err(PyValueError::new_err("worker_threads must be at least 1"));
        }
        let inner = py.detach(move || -> Result<Inner, PyErr> {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(worker_threads)
                .thread_name("otlp-spool-py")
                .enable_all()
                .build()
                .map_err(|e| SpoolError::new_err(format!("starting the async runtime: {e}")))?;
            let (output_dir, grpc_addr, http_addr) = (
                config.output_dir.clone(),
                config.grpc_addr,
                config.http_addr,
            );
            let spool = runtime
                .block_on(Spool::builder().config(config).build())
                .map_err(facade_error)?;
            Ok(Inner {
                state: RwLock::new(State::Running(Running {
                    sink: spool.sink(),
                    spool,
                })),
                output_dir,
                grpc_addr,
                http_addr,
                runtime,
            })
        })?;
        Ok(Self {
            inner: Arc::new(inner),
            pid: std::process::id(),
        })
    }

    /// Hands one export request (`signal` = `"traces"`, `"metrics"` or `"logs"`, `data` its
    /// protobuf encoding) to the spool. Returns the number of items taken; raises
    /// `BufferFullError`, `SpoolClosedError`, `BatchTooLargeError` or `InvalidDataError`, and
    /// in each of those cases nothing was kept.
    fn export(&self, py: Python<'_>, signal: &str, data: &[u8]) -> PyResult<usize> {
        let running = self.running(SpoolClosedError::new_err)?;
        let signal = parse_signal(signal).map_err(|e| PyValueError::new_err(e.to_string()))?;
        let taken = py.detach(|| -> Result<usize, ExportError> {
            // Items refused for invalid ids are not counted as taken: the Python exporter
            // compares with what it sent and counts the difference.
            let (telemetry, _refused) = telemetry_from_bytes(signal, data)?;
            let items = telemetry.item_count();
            if items > 0 {
                running.sink.accept(telemetry)?;
            }
            Ok(items)
        });
        taken.map_err(export_error)
    }

    /// Encodes `spans` (the SDK's `ReadableSpan`s) natively into the bytes the official
    /// `encode_spans` produces and hands them to the spool, in one call. Returns the number of
    /// spans taken, or, when the native encoder does not cover something in the batch, the
    /// reason as a `str` (nothing was handed over: encode the batch with the official encoder
    /// and call `export`). Raises as `export` does.
    fn export_spans(&self, py: Python<'_>, spans: &Bound<'_, PyAny>) -> PyResult<ExportSpans> {
        let running = self.running(SpoolClosedError::new_err)?;
        let bytes = match encode_spans(spans) {
            Ok(bytes) => bytes,
            Err(reason) => return Ok(ExportSpans::NotEncodable(reason.0)),
        };
        let taken = py.detach(move || -> Result<usize, ExportError> {
            let (telemetry, _refused) = telemetry_from_vec(Signal::Traces, bytes)?;
            let items = telemetry.item_count();
            if items > 0 {
                running.sink.accept(telemetry)?;
            }
            Ok(items)
        });
        taken.map(ExportSpans::Taken).map_err(export_error)
    }

    /// Writes everything accepted so far into finalized files, waiting up to `timeout`
    /// seconds. Raises `FlushError` on timeout or after shutdown.
    #[pyo3(signature = (timeout=30.0))]
    fn flush(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let running = self.running(FlushError::new_err)?;
        let timeout = duration(timeout)?;
        py.detach(|| running.spool.pipeline().flush(timeout))
            .map_err(|e| FlushError::new_err(e.to_string()))
    }

    /// Stops serving, drains the buffers (for up to `timeout` seconds) and finalizes every
    /// file, then releases the output directory. Idempotent.
    #[pyo3(signature = (timeout=30.0))]
    fn shutdown(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        self.check_process()?;
        let timeout = duration(timeout)?;
        let inner = &self.inner;
        py.detach(|| inner.shutdown(timeout)).map_err(facade_error)
    }

    /// Serves OTLP/gRPC and OTLP/HTTP (with `/health`, `/ready`, `/metrics`), feeding this
    /// spool, on the given addresses (default: the configured ones; port 0 picks a free port).
    /// Returns the bound `(grpc, http)` addresses. Serving stops at `shutdown`.
    #[pyo3(signature = (grpc_addr=None, http_addr=None))]
    fn serve(
        &self,
        py: Python<'_>,
        grpc_addr: Option<&str>,
        http_addr: Option<&str>,
    ) -> PyResult<(String, String)> {
        let running = self.running(SpoolClosedError::new_err)?;
        let grpc = grpc_addr.map_or(Ok(self.inner.grpc_addr), |a| parse_addr("grpc_addr", a))?;
        let http = http_addr.map_or(Ok(self.inner.http_addr), |a| parse_addr("http_addr", a))?;
        let runtime = &self.inner.runtime;
        let bound = py
            .detach(|| runtime.block_on(running.spool.serve_at(grpc, http)))
            .map_err(facade_error)?;
        Ok((bound.grpc.to_string(), bound.http.to_string()))
    }

    /// The finalized files of `signal` as an `ArrowStream`. Reading needs no runtime, so it
    /// also works after shutdown and in a forked child.
    fn read(&self, py: Python<'_>, signal: &str) -> PyResult<ArrowStream> {
        read_dir(py, self.inner.output_dir.clone(), signal)
    }

    /// The output directory.
    #[getter]
    fn output_dir(&self) -> PathBuf {
        self.inner.output_dir.clone()
    }

    /// Whether `shutdown` has run.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// The process that created the spool.
    #[getter]
    fn pid(&self) -> u32 {
        self.pid
    }

    /// The pipeline's self-metrics (received, accepted, rejected, written, dropped... per
    /// signal) in Prometheus text format, as `GET /metrics` shows them; after shutdown, their
    /// final values.
    fn metrics_text(&self) -> String {
        match &*self.inner.state.read().unwrap_or_else(|e| e.into_inner()) {
            State::Running(running) => {
                let mut out = String::new();
                running.spool.pipeline().render_metrics(&mut out);
                out
            }
            State::Closed { metrics } => metrics.clone(),
        }
    }

    /// Pauses or resumes the writers, as a stalled disk would (for tests of backpressure).
    fn _pause_writers(&self, paused: bool) -> PyResult<()> {
        let running = self.running(SpoolClosedError::new_err)?;
        running.spool.pipeline().pause_writers(paused);
        Ok(())
    }
}

impl Drop for NativeSpool {
    fn drop(&mut self) {
        if std::process::id() != self.pid {
            // A forked child: the runtime's and the flushers' threads were not copied, so
            // dropping would wait for them forever. Keep one reference alive: leak it.
            std::mem::forget(Arc::clone(&self.inner));
            return;
        }
        let _ = self.inner.shutdown(DROP_SHUTDOWN_TIMEOUT);
    }
}

/// The finalized files of `signal` under `dir` (a spool's or a server's output directory).
#[pyfunction]
pub(crate) fn read_dir(py: Python<'_>, dir: PathBuf, signal: &str) -> PyResult<ArrowStream> {
    let signal = parse_signal(signal).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let (schema, batches) = py
        .detach(|| read_signal(&dir, signal))
        .map_err(|e| ReadError::new_err(e.to_string()))?;
    Ok(ArrowStream::new(schema, batches))
}
