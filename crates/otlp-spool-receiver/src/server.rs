//! Serving: [`Receiver::serve`] binds both ports, runs one accept loop per port and returns a
//! [`RunningReceiver`]; shutdown is graceful.
//!
//! Invariants:
//! * `serve` returns only once every enabled port is bound (so `127.0.0.1:0` can be read back
//!   at once) and fails before serving anything if a bind fails.
//! * On shutdown (the future passed to `serve` completes, or [`RunningReceiver::shutdown`]):
//!   `/ready` turns false, both listeners close (no new connection is accepted), open
//!   connections are told to finish (HTTP/1 closes after the current request, HTTP/2 sends
//!   GOAWAY) and every in-flight request runs to completion, so every acknowledgement the
//!   client saw was given after the sink held the data. [`RunningReceiver::wait`] returns
//!   when the last connection has closed.
//! * Connection errors (a client hanging up, a failed TLS handshake) are logged at debug level
//!   and never stop the server.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use otlp_spool_core::Sink;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tonic::codegen::http::{Request, Response};

use crate::builder::Receiver;
use crate::grpc::GrpcService;
use crate::http::HttpService;
use crate::limit::ConcurrencyLimit;
use crate::metrics::ReceiverMetrics;
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

        let shared = Arc::new(Shared {
            sink,
            metrics: self.metrics.clone(),
            limit: ConcurrencyLimit::new(self.max_concurrent_requests),
            max_body_bytes: self.max_body_bytes,
            max_decoded_bytes: self.max_decoded_bytes,
            auth: self.auth,
            readiness: self.readiness,
            providers: self.providers,
            shutting_down: AtomicBool::new(false),
        });
        let tls = self.tls.map(TlsAcceptor::from);
        let (stop_tx, stop_rx) = watch::channel(false);
        let stop_tx = Arc::new(stop_tx);

        let mut tasks = JoinSet::new();
        if let Some(listener) = grpc_listener {
            let service = GrpcService::new(shared.clone());
            tasks.spawn(accept_loop(
                "gRPC",
                listener,
                tls.clone(),
                service,
                stop_rx.clone(),
            ));
        }
        if let Some(listener) = http_listener {
            let service = HttpService::new(shared.clone());
            tasks.spawn(accept_loop(
                "HTTP",
                listener,
                tls.clone(),
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
            tls = tls.is_some(),
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
    name: &'static str,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    service: S,
    mut stop: watch::Receiver<bool>,
) where
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
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
        let _ = stream.set_nodelay(true);
        let watcher = graceful.watcher();
        let builder = builder.clone();
        let service = service.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let result = match tls {
                None => {
                    let conn =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    watcher.watch(conn).await
                }
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => {
                        let conn =
                            builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                        watcher.watch(conn).await
                    }
                    Err(e) => {
                        tracing::debug!(server = name, %peer, error = %e, "TLS handshake failed");
                        return;
                    }
                },
            };
            if let Err(e) = result {
                tracing::debug!(server = name, %peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!(
        server = name,
        "stopped accepting; waiting for in-flight requests"
    );
    graceful.shutdown().await;
    tracing::info!(server = name, "stopped");
}

/// Completes once the stop flag is set (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}
