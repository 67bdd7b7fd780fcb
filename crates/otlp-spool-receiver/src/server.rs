//! Serving: [`Receiver::serve`] binds both ports, runs one accept loop per port and returns a
//! [`RunningReceiver`]; shutdown is graceful, and bounded with
//! [`RunningReceiver::shutdown_within`].
//!
//! Invariants:
//! * `serve` returns only once every enabled port is bound (so `127.0.0.1:0` can be read back
//!   at once) and fails before serving anything if a bind fails.
//! * At most `max_connections` connections are open at once, both ports together; one past the
//!   cap is closed as soon as it is accepted (and counted). Each connection is served under the
//!   watchdog of `conn.rs` (header, body, idle and TLS-handshake timeouts).
//! * On shutdown (the future passed to `serve` completes, or [`RunningReceiver::shutdown`]):
//!   `/ready` turns false, both listeners close (no new connection is accepted), open
//!   connections are told to finish (HTTP/1 closes after the current request, HTTP/2 sends
//!   GOAWAY) and every in-flight request runs to completion, so every acknowledgement the
//!   client saw was given after the sink held the data. [`RunningReceiver::wait`] returns
//!   when the last connection has closed; `shutdown_within` stops waiting at its deadline and
//!   drops what is still open.
//! * Connection errors (a client hanging up, a failed TLS handshake) are logged at debug level
//!   and never stop the server.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use otlp_spool_core::Sink;
use otlp_spool_core::metrics::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::builder::Receiver;
use crate::conn::{ConnContext, PortService, ResponseBody, stopped};
use crate::grpc::GrpcService;
use crate::http::HttpService;
use crate::limit::{BodyBudget, ConcurrencyLimit};
use crate::metrics::{ReceiverCollector, ReceiverMetrics};
use crate::shared::Shared;

/// A port could not be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Binding a listening socket failed (address in use, no permission, ...).
    #[error("cannot bind the {server} server to {addr}: {source}")]
    Bind {
        /// `"gRPC"` or `"HTTP"`.
        server: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A server task ended abnormally (it panicked or was cancelled).
    #[error("a receiver task failed: {0}")]
    Task(String),
    /// [`RunningReceiver::shutdown_within`] reached its deadline with connections still open;
    /// they were dropped (their clients see the connection close without an answer).
    #[error(
        "the receiver did not drain within {timeout:?}: {open_connections} connection(s) dropped"
    )]
    ShutdownTimeout {
        /// The deadline.
        timeout: Duration,
        /// Connections still open at the deadline.
        open_connections: u64,
    },
}

impl Receiver {
    /// Binds the configured ports and serves OTLP, handing every accepted request to `sink`,
    /// until `shutdown` completes (or [`RunningReceiver::shutdown`] is called). Must be called
    /// inside a tokio runtime with I/O and time enabled.
    pub async fn serve(
        self,
        sink: Arc<dyn Sink>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<RunningReceiver, ServeError> {
        let grpc_listener = match self.grpc_addr {
            Some(addr) => Some(bind("gRPC", addr).await?),
            None => None,
        };
        let http_listener = match self.http_addr {
            Some(addr) => Some(bind("HTTP", addr).await?),
            None => None,
        };
        let local = |l: &Option<TcpListener>| l.as_ref().and_then(|l| l.local_addr().ok());
        let (grpc_addr, http_addr) = (local(&grpc_listener), local(&http_listener));

        let limit = ConcurrencyLimit::new(self.max_concurrent_requests);
        let mut registry = Registry::default();
        registry.register_collector(Box::new(ReceiverCollector {
            metrics: self.metrics.clone(),
            limit: limit.clone(),
        }));
        for collector in self.collectors {
            registry.register_collector(collector);
        }
        let shared = Arc::new(Shared {
            sink,
            metrics: self.metrics.clone(),
            limit,
            body_budget: BodyBudget::new(self.max_body_buffer),
            max_body_bytes: self.max_body_bytes,
            read_timeout: self.conn.read_timeout,
            backpressure_wait: self.backpressure_wait,
            health: self.health,
            max_decoded_bytes: self.max_decoded_bytes,
            max_nesting_depth: self.max_nesting_depth,
            auth: self.auth,
            readiness: self.readiness,
            registry,
            extension: self.extension,
            shutting_down: AtomicBool::new(false),
        });
        let tls = self.tls.map(TlsAcceptor::from);
        let tls_enabled = tls.is_some();
        let (stop_tx, stop_rx) = watch::channel(false);
        let stop_tx = Arc::new(stop_tx);
        let connections = ConcurrencyLimit::new(self.conn.max_connections);
        let context = |name| {
            Arc::new(ConnContext {
                name,
                builder: self.conn.http_builder(),
                config: self.conn.clone(),
                metrics: self.metrics.clone(),
                tls: tls.clone(),
            })
        };

        let mut tasks = JoinSet::new();
        if let Some(listener) = grpc_listener {
            let service = GrpcService::new(shared.clone());
            tasks.spawn(accept_loop(
                context("gRPC"),
                listener,
                connections.clone(),
                service,
                stop_rx.clone(),
            ));
        }
        if let Some(listener) = http_listener {
            let service = HttpService::new(shared.clone());
            tasks.spawn(accept_loop(
                context("HTTP"),
                listener,
                connections.clone(),
                service,
                stop_rx.clone(),
            ));
        }
        // Turns the caller's shutdown future into the stop signal.
        let trigger = stop_tx.clone();
        let flag = shared.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = shutdown => {
                    flag.begin_shutdown();
                    let _ = trigger.send(true);
                }
                () = trigger.closed() => {}
            }
        });
        tracing::info!(
            grpc = ?grpc_addr,
            http = ?http_addr,
            tls = tls_enabled,
            "OTLP receiver listening"
        );
        Ok(RunningReceiver {
            grpc_addr,
            http_addr,
            shared,
            stop: stop_tx,
            tasks,
        })
    }
}

async fn bind(server: &'static str, addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind {
            server,
            addr,
            source,
        })
}

/// A serving receiver: its bound addresses, counters and shutdown.
pub struct RunningReceiver {
    grpc_addr: Option<SocketAddr>,
    http_addr: Option<SocketAddr>,
    shared: Arc<Shared>,
    stop: Arc<watch::Sender<bool>>,
    tasks: JoinSet<()>,
}

impl RunningReceiver {
    /// The address the gRPC server is bound to (the real port when 0 was asked for).
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc_addr
    }

    /// The address the HTTP server is bound to.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// The receiver's counters.
    pub fn metrics(&self) -> Arc<ReceiverMetrics> {
        self.shared.metrics.clone()
    }

    /// Starts a graceful shutdown now (the same as the `shutdown` future completing).
    pub fn shutdown(&self) {
        self.shared.begin_shutdown();
        let _ = self.stop.send(true);
    }

    /// Waits until both servers have stopped: after shutdown began, once every in-flight
    /// request has been answered and every connection closed.
    pub async fn wait(mut self) -> Result<(), ServeError> {
        let mut result = Ok(());
        while let Some(joined) = self.tasks.join_next().await {
            if let Err(e) = joined {
                result = Err(ServeError::Task(e.to_string()));
            }
        }
        result
    }

    /// [`shutdown`](Self::shutdown), then [`wait`](Self::wait).
    pub async fn shutdown_and_wait(self) -> Result<(), ServeError> {
        self.shutdown();
        self.wait().await
    }

    /// [`shutdown`](Self::shutdown), then waits at most `timeout` for the connections to
    /// finish; past it every connection still open is dropped and
    /// [`ServeError::ShutdownTimeout`] says how many. Either way the servers are stopped when
    /// this returns.
    pub async fn shutdown_within(mut self, timeout: Duration) -> Result<(), ServeError> {
        self.shutdown();
        let metrics = self.shared.metrics.clone();
        let mut tasks = std::mem::take(&mut self.tasks);
        let joined = tokio::time::timeout(timeout, async {
            let mut result = Ok(());
            while let Some(joined) = tasks.join_next().await {
                if let Err(e) = joined {
                    result = Err(ServeError::Task(e.to_string()));
                }
            }
            result
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(_) => {
                let open_connections = metrics.open_connections();
                // Aborting an accept loop drops its connection tasks with it.
                tasks.shutdown().await;
                Err(ServeError::ShutdownTimeout {
                    timeout,
                    open_connections,
                })
            }
        }
    }
}

impl std::fmt::Debug for RunningReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningReceiver")
            .field("grpc_addr", &self.grpc_addr)
            .field("http_addr", &self.http_addr)
            .finish_non_exhaustive()
    }
}

async fn accept_loop<S, B>(
    ctx: Arc<ConnContext>,
    listener: TcpListener,
    limit: ConcurrencyLimit,
    service: S,
    mut stop: watch::Receiver<bool>,
) where
    S: PortService<B>,
    B: ResponseBody,
{
    let name = ctx.name;
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = stopped(&mut stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!(server = name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(permit) = limit.try_acquire() else {
            tracing::debug!(server = name, %peer, max = limit.max(), "too many open connections; closed");
            ctx.metrics.connection_refused();
            continue;
        };
        let _ = stream.set_nodelay(true);
        ctx.metrics.connection_opened();
        let open = OpenConnection {
            _permit: permit,
            metrics: ctx.metrics.clone(),
        };
        connections.spawn(crate::conn::serve(
            ctx.clone(),
            stream,
            peer,
            service.clone(),
            stop.clone(),
            open,
        ));
    }
    drop(listener);
    tracing::info!(
        server = name,
        open_connections = connections.len(),
        "stopped accepting; waiting for in-flight requests"
    );
    while connections.join_next().await.is_some() {}
    tracing::info!(server = name, "stopped");
}

/// Held by a connection task for its whole life: its slot under `max_connections` and its
/// place in the open-connections gauge.
pub(crate) struct OpenConnection {
    _permit: crate::limit::Permit,
    metrics: Arc<ReceiverMetrics>,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.metrics.connection_ended();
    }
}
