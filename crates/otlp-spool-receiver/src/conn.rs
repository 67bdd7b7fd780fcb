//! Connection hygiene: every accepted connection is served under a watchdog, so no client
//! can hold a connection (or a concurrency slot) longer than the configured timeouts allow.
//!
//! The settings follow the OpenTelemetry Collector's `confighttp` / `configgrpc` server
//! settings (`read_header_timeout`, `read_timeout`, `idle_timeout`, `max_concurrent_streams`,
//! `keepalive`), applied alike to both ports, since both speak HTTP/1.1 and HTTP/2:
//!
//! * TLS: the handshake must finish within `tls_handshake_timeout`.
//! * Before its first request a connection must deliver a complete request head (HTTP/1) or
//!   the HTTP/2 connection preface within `read_header_timeout`; otherwise it is closed (it
//!   asked nothing, so nothing is answered). This is what sheds idle TCP connections and
//!   slow-header ("slowloris") clients.
//! * Between requests: an HTTP/1 keep-alive connection whose next request head has begun must
//!   complete it within `read_header_timeout`; any connection with no request in flight for
//!   `idle_timeout` is told to finish (HTTP/1: closed; HTTP/2: GOAWAY, in-flight streams
//!   complete).
//! * While a request is in flight the handlers bound it: the body must arrive within
//!   `read_timeout` (see `body.rs`), and everything after it is bounded work.
//! * A connection told to finish (idle, or at shutdown) that has not closed after its grace
//!   period (`read_timeout + read_header_timeout`) is closed.
//! * HTTP/2: at most `max_concurrent_streams` streams per connection; a PING every
//!   `keepalive.0`, and the connection is closed when one is unanswered for `keepalive.1`.
//!
//! Invariants: a connection with a request in flight is never closed by the watchdog (only
//! told to finish after answering); every server-side close is counted by reason in
//! [`ReceiverMetrics`]; the watchdog wakes at most every `tick()` (a few per second) and reads
//! four relaxed atomics; per request the wrappers add three relaxed atomic operations (the
//! cost was not measured separately from the request path). Time is tokio's clock.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_rustls::TlsAcceptor;
use tonic::codegen::http::{Request, Response};

use crate::builder::BuildError;
use crate::metrics::{CloseReason, ReceiverMetrics};
use crate::server::OpenConnection;

/// What a port serves: a hyper service the connection tasks can clone and own the futures of
/// (both servers' futures are boxed, hence `Unpin`).
pub(crate) trait PortService<B: ResponseBody>:
    hyper::service::Service<
        Request<Incoming>,
        Response = Response<B>,
        Error = Infallible,
        Future: Send + Unpin + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S, B: ResponseBody> PortService<B> for S where
    S: hyper::service::Service<
            Request<Incoming>,
            Response = Response<B>,
            Error = Infallible,
            Future: Send + Unpin + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// The body of a port's responses.
pub(crate) trait ResponseBody:
    hyper::body::Body<Data = Bytes, Error: Into<Box<dyn StdError + Send + Sync>>> + Send + 'static
{
}

impl<B> ResponseBody for B where
    B: hyper::body::Body<Data = Bytes, Error: Into<Box<dyn StdError + Send + Sync>>>
        + Send
        + 'static
{
}

/// The first bytes of every HTTP/2 connection (RFC 9113, section 3.4).
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The connection settings of both servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnConfig {
    pub(crate) read_header_timeout: Duration,
    pub(crate) read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) tls_handshake_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_concurrent_streams: u32,
    /// HTTP/2 PING interval and how long a PING may go unanswered.
    pub(crate) keepalive: Option<(Duration, Duration)>,
}

impl ConnConfig {
    pub(crate) fn validate(&self) -> Result<(), BuildError> {
        for (name, value) in [
            ("read_header_timeout", self.read_header_timeout),
            ("read_timeout", self.read_timeout),
            ("idle_timeout", self.idle_timeout),
            ("tls_handshake_timeout", self.tls_handshake_timeout),
        ] {
            if value.is_zero() {
                return Err(BuildError::ZeroTimeout(name));
            }
        }
        if let Some((time, timeout)) = self.keepalive {
            if time.is_zero() {
                return Err(BuildError::ZeroTimeout("keepalive time"));
            }
            if timeout.is_zero() {
                return Err(BuildError::ZeroTimeout("keepalive timeout"));
            }
        }
        if self.max_connections == 0 {
            return Err(BuildError::ZeroLimit("max_connections"));
        }
        if self.max_concurrent_streams == 0 {
            return Err(BuildError::ZeroLimit("max_concurrent_streams"));
        }
        Ok(())
    }

    /// How often a connection's watchdog looks: an eighth of the shortest timeout it
    /// enforces, between 10 ms and 1 s.
    fn tick(&self) -> Duration {
        (self.read_header_timeout.min(self.idle_timeout) / 8)
            .clamp(Duration::from_millis(10), Duration::from_secs(1))
    }

    /// How long a connection told to finish may take: its in-flight requests get their whole
    /// body deadline, and then a request head's worth of time to be answered.
    fn grace(&self) -> Duration {
        self.read_timeout + self.read_header_timeout
    }

    /// hyper-util's HTTP/1 + HTTP/2 connection builder with these settings. hyper's own HTTP/1
    /// header timer is off: it starts when a keep-alive connection turns idle, so it would
    /// cut idle connections at `read_header_timeout`; the watchdog tells idle from slow.
    pub(crate) fn http_builder(&self) -> auto::Builder<TokioExecutor> {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(None);
        let mut http2 = builder.http2();
        http2
            .timer(TokioTimer::new())
            .max_concurrent_streams(self.max_concurrent_streams);
        match self.keepalive {
            Some((time, timeout)) => {
                http2.keep_alive_interval(time).keep_alive_timeout(timeout);
            }
            None => {
                http2.keep_alive_interval(None);
            }
        }
        builder
    }
}

/// What one connection has done, written by its I/O wrapper and its service wrapper, read by
/// its watchdog.
#[derive(Debug, Default)]
struct Activity {
    /// Requests whose handler is running.
    in_flight: AtomicUsize,
    /// Requests whose head was complete (the service was called).
    requests: AtomicU64,
    /// Reads that returned bytes.
    reads: AtomicU64,
    /// `reads` when the last handler finished: reads after it belong to the next request.
    reads_at_idle: AtomicU64,
    /// What the first bytes said: [`UNKNOWN`], [`HTTP1`] or [`HTTP2`].
    protocol: AtomicU8,
}

const UNKNOWN: u8 = 0;
const HTTP1: u8 = 1;
const HTTP2: u8 = 2;

/// The connection's byte stream, counting reads and telling HTTP/2 from HTTP/1 by the preface.
struct Watched<T> {
    inner: T,
    activity: Arc<Activity>,
    prefix: [u8; 24],
    prefix_len: usize,
}

impl<T> Watched<T> {
    fn new(inner: T, activity: Arc<Activity>) -> Self {
        Watched {
            inner,
            activity,
            prefix: [0; 24],
            prefix_len: 0,
        }
    }

    fn sniff(&mut self, bytes: &[u8]) {
        let take = bytes.len().min(self.prefix.len() - self.prefix_len);
        self.prefix[self.prefix_len..self.prefix_len + take].copy_from_slice(&bytes[..take]);
        self.prefix_len += take;
        let seen = &self.prefix[..self.prefix_len];
        let protocol = if seen != &H2_PREFACE[..self.prefix_len] {
            HTTP1
        } else if self.prefix_len == H2_PREFACE.len() {
            HTTP2
        } else {
            return;
        };
        self.activity.protocol.store(protocol, Ordering::Relaxed);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result
            && buf.filled().len() > before
        {
            this.activity.reads.fetch_add(1, Ordering::Relaxed);
            if this.activity.protocol.load(Ordering::Relaxed) == UNKNOWN {
                this.sniff(&buf.filled()[before..]);
            }
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The server's service, counting requests and the ones in flight.
#[derive(Clone)]
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

/// Frees the in-flight mark of one request when its handler finishes (or is dropped).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        activity
            .reads_at_idle
            .store(activity.reads.load(Ordering::Relaxed), Ordering::Relaxed);
        activity.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

struct TrackedFuture<F> {
    inner: F,
    _in_flight: InFlight,
}

impl<F: Future + Unpin> Future for TrackedFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        Pin::new(&mut self.get_mut().inner).poll(cx)
    }
}

impl<S> hyper::service::Service<Request<Incoming>> for Tracked<S>
where
    S: hyper::service::Service<Request<Incoming>>,
    S::Future: Unpin,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TrackedFuture<S::Future>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.activity.in_flight.fetch_add(1, Ordering::Relaxed);
        self.activity.requests.fetch_add(1, Ordering::Relaxed);
        TrackedFuture {
            inner: self.inner.call(request),
            _in_flight: InFlight(self.activity.clone()),
        }
    }
}

/// What the watchdog decided at one look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Keep,
    /// Close now: nothing is in flight and the client is too slow to ask anything.
    Close(CloseReason),
    /// Ask the connection to finish (HTTP/1 closes, HTTP/2 sends GOAWAY).
    Finish(CloseReason),
}

/// One connection's timers, advanced at every tick.
#[derive(Debug)]
struct Watchdog {
    opened: Instant,
    /// Since when no request has been in flight (`None` while one is).
    idle_since: Option<Instant>,
    /// When the bytes of a next HTTP/1 request head were first seen while idle.
    head_since: Option<Instant>,
    seen_requests: u64,
    seen_reads: u64,
}

impl Watchdog {
    fn new(opened: Instant) -> Self {
        Watchdog {
            opened,
            idle_since: None,
            head_since: None,
            seen_requests: 0,
            seen_reads: 0,
        }
    }

    fn check(&mut self, now: Instant, activity: &Activity, config: &ConnConfig) -> Verdict {
        let requests = activity.requests.load(Ordering::Relaxed);
        let reads = activity.reads.load(Ordering::Relaxed);
        if activity.in_flight.load(Ordering::Relaxed) > 0 {
            self.idle_since = None;
            self.head_since = None;
            self.seen_requests = requests;
            self.seen_reads = reads;
            return Verdict::Keep;
        }
        let idle_since = match self.idle_since {
            // A request began and ended between two looks: the idle time starts again.
            Some(since) if requests == self.seen_requests => since,
            _ => {
                self.seen_requests = requests;
                // Bytes that came after the last handler finished are a next request's.
                self.seen_reads = activity.reads_at_idle.load(Ordering::Relaxed);
                self.head_since = None;
                *self.idle_since.insert(now)
            }
        };
        let http2 = activity.protocol.load(Ordering::Relaxed) == HTTP2;
        if requests == 0 && !http2 {
            // Nothing asked yet, not even an HTTP/2 preface: the first head is due.
            return if now.duration_since(self.opened) >= config.read_header_timeout {
                Verdict::Close(CloseReason::ReadHeaderTimeout)
            } else {
                Verdict::Keep
            };
        }
        if !http2 {
            if self.head_since.is_none() && reads != self.seen_reads {
                self.head_since = Some(now);
            }
            if let Some(head) = self.head_since {
                return if now.duration_since(head) >= config.read_header_timeout {
                    Verdict::Close(CloseReason::ReadHeaderTimeout)
                } else {
                    Verdict::Keep
                };
            }
        }
        if now.duration_since(idle_since) >= config.idle_timeout {
            Verdict::Finish(CloseReason::IdleTimeout)
        } else {
            Verdict::Keep
        }
    }
}

/// What every connection task of one server shares.
pub(crate) struct ConnContext {
    pub(crate) name: &'static str,
    pub(crate) config: ConnConfig,
    pub(crate) builder: auto::Builder<TokioExecutor>,
    pub(crate) metrics: Arc<ReceiverMetrics>,
    pub(crate) tls: Option<TlsAcceptor>,
}

/// Serves one accepted connection to its end: TLS handshake (bounded), then HTTP under the
/// watchdog, finishing gracefully when `stop` turns true.
pub(crate) async fn serve<S, B>(
    ctx: Arc<ConnContext>,
    stream: TcpStream,
    peer: SocketAddr,
    service: S,
    mut stop: watch::Receiver<bool>,
    _open: OpenConnection,
) where
    S: PortService<B>,
    B: ResponseBody,
{
    let Some(acceptor) = ctx.tls.clone() else {
        return drive(&ctx, stream, peer, service, stop).await;
    };
    let handshake = tokio::time::timeout(ctx.config.tls_handshake_timeout, acceptor.accept(stream));
    let stream = tokio::select! {
        result = handshake => match result {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::debug!(server = ctx.name, %peer, error = %e, "TLS handshake failed");
                ctx.metrics.connection_closed(CloseReason::TlsHandshakeFailed);
                return;
            }
            Err(_) => {
                tracing::debug!(server = ctx.name, %peer, "TLS handshake timed out");
                ctx.metrics.connection_closed(CloseReason::TlsHandshakeTimeout);
                return;
            }
        },
        () = stopped(&mut stop) => return,
    };
    drive(&ctx, stream, peer, service, stop).await
}

async fn drive<IO, S, B>(
    ctx: &ConnContext,
    io: IO,
    peer: SocketAddr,
    service: S,
    mut stop: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: PortService<B>,
    B: ResponseBody,
{
    let activity = Arc::new(Activity::default());
    let io = TokioIo::new(Watched::new(io, activity.clone()));
    let service = Tracked {
        inner: service,
        activity: activity.clone(),
    };
    let conn = ctx.builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(conn);
    let config = &ctx.config;
    let mut watchdog = Watchdog::new(Instant::now());
    let mut ticks = tokio::time::interval(config.tick());
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut finishing: Option<Instant> = None;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(server = ctx.name, %peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = ticks.tick() => {
                let now = Instant::now();
                if let Some(since) = finishing {
                    if now.duration_since(since) >= config.grace() {
                        tracing::debug!(server = ctx.name, %peer, "connection did not finish in its grace period; closed");
                        ctx.metrics.connection_closed(CloseReason::GraceExpired);
                        return;
                    }
                    continue;
                }
                match watchdog.check(now, &activity, config) {
                    Verdict::Keep => {}
                    Verdict::Close(reason) => {
                        tracing::debug!(server = ctx.name, %peer, reason = reason.as_str(), "connection closed");
                        ctx.metrics.connection_closed(reason);
                        return;
                    }
                    Verdict::Finish(reason) => {
                        tracing::debug!(server = ctx.name, %peer, reason = reason.as_str(), "connection told to finish");
                        ctx.metrics.connection_closed(reason);
                        conn.as_mut().graceful_shutdown();
                        finishing = Some(now);
                    }
                }
            }
            () = stopped(&mut stop), if finishing.is_none() => {
                conn.as_mut().graceful_shutdown();
                finishing = Some(Instant::now());
            }
        }
    }
}

/// Completes once the stop flag is set (or its sender is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ConnConfig {
        ConnConfig {
            read_header_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(1),
            max_connections: 8,
            max_concurrent_streams: 4,
            keepalive: None,
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_silent_connection_is_closed_at_the_header_timeout() {
        let t0 = Instant::now();
        let (c, a) = (config(), Activity::default());
        let mut w = Watchdog::new(t0);
        assert_eq!(w.check(t0 + secs(1), &a, &c), Verdict::Keep);
        assert_eq!(
            w.check(t0 + secs(2), &a, &c),
            Verdict::Close(CloseReason::ReadHeaderTimeout)
        );
    }

    #[test]
    fn an_http2_connection_after_its_preface_waits_for_the_idle_timeout() {
        let t0 = Instant::now();
        let (c, a) = (config(), Activity::default());
        let mut io = Watched::new((), Arc::new(Activity::default()));
        io.sniff(&H2_PREFACE[..10]);
        assert_eq!(io.activity.protocol.load(Ordering::Relaxed), UNKNOWN);
        io.sniff(&H2_PREFACE[10..]);
        a.protocol.store(
            io.activity.protocol.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        let mut w = Watchdog::new(t0);
        assert_eq!(w.check(t0, &a, &c), Verdict::Keep);
        assert_eq!(w.check(t0 + secs(9), &a, &c), Verdict::Keep);
        assert_eq!(
            w.check(t0 + secs(10), &a, &c),
            Verdict::Finish(CloseReason::IdleTimeout)
        );
    }

    #[test]
    fn http1_is_recognised_by_its_first_byte() {
        let mut io = Watched::new((), Arc::new(Activity::default()));
        io.sniff(b"P");
        assert_eq!(io.activity.protocol.load(Ordering::Relaxed), UNKNOWN);
        io.sniff(b"OST / HTTP/1.1\r\n");
        assert_eq!(io.activity.protocol.load(Ordering::Relaxed), HTTP1);
    }

    #[test]
    fn in_flight_requests_are_never_cut_and_idle_counts_from_their_end() {
        let t0 = Instant::now();
        let (c, a) = (config(), Activity::default());
        a.protocol.store(HTTP1, Ordering::Relaxed);
        let mut w = Watchdog::new(t0);
        a.requests.store(1, Ordering::Relaxed);
        a.in_flight.store(1, Ordering::Relaxed);
        assert_eq!(w.check(t0 + secs(100), &a, &c), Verdict::Keep);
        a.in_flight.store(0, Ordering::Relaxed);
        assert_eq!(w.check(t0 + secs(101), &a, &c), Verdict::Keep);
        assert_eq!(w.check(t0 + secs(110), &a, &c), Verdict::Keep);
        assert_eq!(
            w.check(t0 + secs(111), &a, &c),
            Verdict::Finish(CloseReason::IdleTimeout)
        );
    }

    #[test]
    fn a_slow_second_head_on_a_keep_alive_connection_is_closed() {
        let t0 = Instant::now();
        let (c, a) = (config(), Activity::default());
        a.protocol.store(HTTP1, Ordering::Relaxed);
        a.requests.store(1, Ordering::Relaxed);
        a.reads.store(1, Ordering::Relaxed);
        a.reads_at_idle.store(1, Ordering::Relaxed);
        let mut w = Watchdog::new(t0);
        assert_eq!(w.check(t0, &a, &c), Verdict::Keep);
        a.reads.store(2, Ordering::Relaxed); // the next head starts arriving
        assert_eq!(w.check(t0 + secs(5), &a, &c), Verdict::Keep);
        assert_eq!(
            w.check(t0 + secs(7), &a, &c),
            Verdict::Close(CloseReason::ReadHeaderTimeout)
        );
    }

    #[test]
    fn zero_settings_are_refused() {
        let mut c = config();
        c.idle_timeout = Duration::ZERO;
        assert!(matches!(
            c.validate(),
            Err(BuildError::ZeroTimeout("idle_timeout"))
        ));
        let mut c = config();
        c.max_connections = 0;
        assert!(matches!(
            c.validate(),
            Err(BuildError::ZeroLimit("max_connections"))
        ));
    }
}
