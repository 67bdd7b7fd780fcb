//! [`Forwarder`]: a [`Sink`] that queues batches and delivers them to a remote OTLP endpoint
//! from tokio worker tasks, behind retries and a circuit breaker.
//!
//! Invariants:
//! * `accept` never waits on the network: it reads the batch's size (its wire bytes, known
//!   without a walk), takes the queue lock for a push and wakes a worker. A slow or dead remote
//!   only fills the bounded queue.
//! * Batches are sent as the bytes they were given: several queued batches of one signal are
//!   merged by concatenating their bytes (one valid merged request), never decoded and
//!   re-encoded; only OTLP/JSON decodes them (transport.rs).
//! * Nothing is lost silently: every accepted item ends exactly once in `forwarded_items`,
//!   `rejected_items` (the remote's `partial_success`), `failed_items` (permanent errors) or
//!   `dropped_items` (evicted by the overflow policy, attempts exhausted, or still held when
//!   the shutdown deadline passed), or is still held (`queue_bytes` > 0).
//! * A worker asks the breaker for a permit *before* it takes a batch, so while the breaker is
//!   open the data waits in the queue; the default breaker admits one probe at a time.
//! * Permanent errors are never retried and leave the breaker's state alone (`ignore`).
//! * A delivery that panics is caught: its items are counted as dropped (and in `panics`), and
//!   the worker goes on with the next batch.
//! * A tracked batch ([`Forwarder::accept_tracked`], the log feeder's) is never evicted by the
//!   overflow policy, and its tags reach the tracker exactly once, with its fate, unless a
//!   [`Forwarder::shutdown_keeping`] keeps it (then its items are counted in `kept_items` and
//!   nothing is reported: its producer still has it).
//! * The endpoint is only ever printed with its userinfo redacted.

use std::sync::atomic::{AtomicBool, AtomicU64 as StdAtomicU64, Ordering as StdOrdering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use otlp_spool_breaker::{CircuitBreaker, OwnedPermit, State};
use otlp_spool_core::{ConcatError, Refusal, Signal, Sink, SinkError, Telemetry};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::builder::{ForwarderBuilder, Protocol};
use crate::catch::{CatchUnwind, panic_message};
use crate::error::ConfigError;
use crate::queue::{MergeFrom, PushError, Queue, Rejected, Taken};
use crate::retry::{Jitter, RetryPolicy};
use crate::settings::{Checked, Headers};
use crate::tls::TrustRoots;
use crate::transport::{GrpcTransport, HttpClient, HttpTransport, SendOutcome, Transport};

/// The shortest wait of a worker the breaker turned away.
const MIN_BREAKER_WAIT: Duration = Duration::from_millis(5);

/// Forwards batches to a remote OTLP endpoint. Cheap to clone (one reference count); all
/// clones are the same forwarder.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use otlp_spool_core::Sink;
/// use otlp_spool_exporters::{Auth, Compression, Forwarder, Protocol};
///
/// let forwarder = Forwarder::builder()
///     .endpoint("http://127.0.0.1:4318")
///     .protocol(Protocol::HttpProtobuf)
///     .auth(Auth::bearer("s3cr3t"))
///     .compression(Compression::Gzip)
///     .build()?;
/// // forwarder.accept(telemetry)?;   // never waits on the network
/// let report = forwarder.shutdown(Duration::from_secs(5)).await;
/// assert_eq!(report.dropped_items, 0);
/// # Ok(()) }
/// ```
///
/// Dropping the last handle without [`shutdown`](Forwarder::shutdown) stops the workers at
/// once and counts whatever was still held as dropped.
#[derive(Clone)]
pub struct Forwarder {
    inner: Arc<Inner>,
    _last_handle: Arc<StopOnDrop>,
}

/// Stops the workers when the last [`Forwarder`] handle goes (they hold `Inner` themselves,
/// so `Inner` alone would never be dropped while they wait for work).
struct StopOnDrop(Arc<Inner>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.queue.close();
        self.0.abort.send_replace(true);
        self.0.queue.abort();
    }
}

struct Inner {
    queue: Queue<Batch>,
    transport: Transport,
    breaker: CircuitBreaker,
    retry: RetryPolicy,
    timeout: Duration,
    max_request_bytes: u64,
    endpoint: String,
    protocol: Protocol,
    /// Wakes a worker when a batch was queued (or all of them at close).
    work: Notify,
    /// Wakes async flushes when the queue turns idle.
    idle: Notify,
    abort: watch::Sender<bool>,
    workers: parking_lot::Mutex<Vec<JoinHandle<()>>>,
    counters: Counters,
    /// Test hook: deliveries that must panic (`Forwarder::inject_panics`).
    injected_panics: std::sync::atomic::AtomicU32,
    /// Told the fate of tracked batches (set once, by `Forwarder::track`).
    tracker: OnceLock<Tracker>,
    /// Set by `shutdown_keeping`: what the abort interrupts is kept, not dropped.
    keep: AtomicBool,
    /// Untracked batches interrupted by a keeping shutdown, for its caller.
    kept: parking_lot::Mutex<Vec<Telemetry>>,
}

/// How a tracked batch ([`Forwarder::accept_tracked`]) ended, as told to its [`Tracker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// The remote took it (items it refused in `partial_success` are final too).
    Delivered,
    /// The remote refused it permanently, or it could not be encoded.
    Failed,
    /// Given up: out of attempts, or its delivery panicked.
    Dropped,
}

/// Told the tags of tracked batches once they reach their [`Fate`] (several tags at once when
/// batches were merged into one request). Called on a worker task: keep it short.
pub type Tracker = Arc<dyn Fn(&[u64], Fate) + Send + Sync>;

#[derive(Debug, Default)]
struct Counters {
    forwarded_items: StdAtomicU64,
    forwarded_requests: StdAtomicU64,
    retried_requests: StdAtomicU64,
    tls_failures: StdAtomicU64,
    failed_items: StdAtomicU64,
    failed_requests: StdAtomicU64,
    rejected_items: StdAtomicU64,
    dropped_items: StdAtomicU64,
    panics: StdAtomicU64,
    consecutive_panics: StdAtomicU64,
    kept_items: StdAtomicU64,
}

/// A snapshot of the forwarder's self-metrics, read without a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ForwarderStats {
    /// Items taken in by `accept`.
    pub accepted_items: u64,
    /// Items `accept` refused (queue full under `Overflow::Reject`, too large, shut down).
    pub refused_items: u64,
    /// Items the remote accepted.
    pub forwarded_items: u64,
    /// Requests the remote accepted.
    pub forwarded_requests: u64,
    /// Attempts that failed in a retryable way and were retried (or waited for).
    pub retried_requests: u64,
    /// Attempts whose TLS handshake failed (untrusted or invalid certificate, no common
    /// protocol version). They are connection failures, so retryable: each is also counted
    /// in `retried_requests` (or, past the attempt limit, its items in `dropped_items`).
    pub tls_failures: u64,
    /// Items the remote refused permanently (400, 401, 403, INVALID_ARGUMENT, ...).
    pub failed_items: u64,
    /// Requests the remote refused permanently.
    pub failed_requests: u64,
    /// Items refused inside accepted requests (`partial_success`), not retried.
    pub rejected_items: u64,
    /// Accepted items dropped: evicted by the overflow policy, out of attempts, or still held
    /// at the shutdown deadline.
    pub dropped_items: u64,
    /// Deliveries that panicked (their items are in `dropped_items`).
    pub panics: u64,
    /// Items still held when a [`Forwarder::shutdown_keeping`] stopped the workers: handed
    /// back to its caller (or, tracked, left to their producer), not dropped.
    pub kept_items: u64,
    /// Deliveries that panicked since the last one that did not: the workers cannot make
    /// progress while this keeps growing.
    pub consecutive_panics: u64,
    /// Bytes held (queued and in flight).
    pub queue_bytes: u64,
    /// Batches queued (not in flight).
    pub queued_batches: u64,
    /// The breaker's state.
    pub breaker_state: State,
}

impl ForwarderStats {
    /// Accepted items that have reached a final count (forwarded, rejected, failed, dropped).
    pub fn settled_items(&self) -> u64 {
        self.forwarded_items
            + self.rejected_items
            + self.failed_items
            + self.dropped_items
            + self.kept_items
    }
}

/// What [`Forwarder::shutdown`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Everything held was dealt with before the deadline.
    pub drained: bool,
    /// Items counted as dropped because the deadline passed first.
    pub dropped_items: u64,
    /// Items a [`Forwarder::shutdown_keeping`] kept instead (0 after a plain `shutdown`).
    pub kept_items: u64,
}

impl Forwarder {
    /// A builder with the defaults listed on [`ForwarderBuilder`].
    pub fn builder() -> ForwarderBuilder {
        ForwarderBuilder::default()
    }

    /// Checks the settings (`settings.rs`), sets up the transport and the breaker, and spawns
    /// the workers on the current runtime.
    pub(crate) fn start(b: ForwarderBuilder) -> Result<Self, ConfigError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| ConfigError::NoRuntime)?;
        let checked = b.check()?;
        let endpoint = crate::redact_url_userinfo(&checked.endpoint).into_owned();
        let transport = transport(&b, checked, &handle)?;
        let breaker = match b.breaker {
            Some(breaker) => breaker,
            None => default_breaker()?,
        };
        let (abort, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            queue: Queue::new(b.queue_bytes, b.overflow),
            transport,
            breaker,
            retry: b.retry,
            timeout: b.timeout,
            max_request_bytes: b.max_request_bytes,
            endpoint,
            protocol: b.protocol,
            work: Notify::new(),
            idle: Notify::new(),
            abort,
            workers: parking_lot::Mutex::new(Vec::new()),
            counters: Counters::default(),
            injected_panics: std::sync::atomic::AtomicU32::new(0),
            tracker: OnceLock::new(),
            keep: AtomicBool::new(false),
            kept: parking_lot::Mutex::new(Vec::new()),
        });
        spawn_workers(&inner, &handle, b.concurrency);
        let _last_handle = Arc::new(StopOnDrop(Arc::clone(&inner)));
        Ok(Self {
            inner,
            _last_handle,
        })
    }

    /// The self-metrics, read without a lock.
    pub fn stats(&self) -> ForwarderStats {
        let q = self.inner.queue.counts();
        let c = &self.inner.counters;
        let load = |a: &StdAtomicU64| a.load(StdOrdering::Relaxed);
        ForwarderStats {
            accepted_items: q.accepted_items.load(crate::sync::Ordering::Relaxed),
            refused_items: q.refused_items.load(crate::sync::Ordering::Relaxed),
            forwarded_items: load(&c.forwarded_items),
            forwarded_requests: load(&c.forwarded_requests),
            retried_requests: load(&c.retried_requests),
            tls_failures: load(&c.tls_failures),
            failed_items: load(&c.failed_items),
            failed_requests: load(&c.failed_requests),
            rejected_items: load(&c.rejected_items),
            dropped_items: load(&c.dropped_items)
                + q.dropped_items.load(crate::sync::Ordering::Relaxed),
            panics: load(&c.panics),
            consecutive_panics: load(&c.consecutive_panics),
            kept_items: load(&c.kept_items),
            queue_bytes: q.held_bytes.load(crate::sync::Ordering::Relaxed),
            queued_batches: q.queued_batches.load(crate::sync::Ordering::Relaxed),
            breaker_state: self.inner.breaker.state(),
        }
    }

    /// The breaker guarding the remote.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.inner.breaker
    }

    /// Makes the next `times` deliveries panic. For tests of failure containment only.
    #[doc(hidden)]
    pub fn inject_panics(&self, times: u32) {
        self.inner
            .injected_panics
            .fetch_add(times, StdOrdering::SeqCst);
    }

    /// Waits (asynchronously) until everything accepted so far is dealt with (delivered,
    /// failed or dropped), or `timeout` passed; `true` if it is.
    pub async fn flush(&self, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, self.inner.wait_idle())
            .await
            .is_ok()
    }

    /// Stops taking batches, delivers what is held within `deadline`, then stops the workers;
    /// whatever is still held is counted as dropped. Idempotent.
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        self.stop(deadline).await
    }

    /// Like [`shutdown`](Self::shutdown), but what is still held at the deadline (queued, or
    /// interrupted in flight) is kept instead of dropped: the untracked batches are handed
    /// back (each part as it was accepted, in order of acceptance per worker), to be
    /// persisted and sent after a restart; tracked ones stay their producer's (not reported
    /// to the tracker). Both count in `kept_items`.
    pub async fn shutdown_keeping(&self, deadline: Duration) -> (ShutdownReport, Vec<Telemetry>) {
        self.inner.keep.store(true, StdOrdering::SeqCst);
        let report = self.stop(deadline).await;
        (report, std::mem::take(&mut *self.inner.kept.lock()))
    }

    /// Makes `tracker` the one told the fate of batches accepted with
    /// [`accept_tracked`](Self::accept_tracked). Set once: `false` if one was set before.
    pub fn track(&self, tracker: Tracker) -> bool {
        self.inner.tracker.set(tracker).is_ok()
    }

    /// Queues `telemetry` tagged `tag` (a log position, say) without ever evicting anything:
    /// `Full` while it does not fit, whatever the overflow policy (the refusal hands the
    /// batch back, to try again). Its fate goes to the [`Tracker`] (see [`track`](Self::track)).
    pub fn accept_tracked(&self, telemetry: Telemetry, tag: u64) -> Result<(), Refusal> {
        let weight = telemetry.weight() as u64;
        let items = telemetry.item_count() as u64;
        let batch = Batch::tracked(telemetry, tag);
        let pushed = self.inner.queue.push_without_eviction(batch, weight, items);
        self.pushed(pushed, weight)
    }

    /// The answer to a push: on success a worker is woken; a refusal names why and gives the
    /// batch back.
    fn pushed(&self, pushed: Result<(), Rejected<Batch>>, weight: u64) -> Result<(), Refusal> {
        let Rejected { kind, item } = match pushed {
            Ok(()) => {
                self.inner.work.notify_one();
                return Ok(());
            }
            Err(rejected) => rejected,
        };
        let error = match kind {
            PushError::Closed => SinkError::Closed,
            PushError::Full => SinkError::Full {
                retry_after: Duration::from_secs(1),
            },
            PushError::TooLarge => SinkError::TooLarge {
                weight,
                capacity: self.inner.queue_capacity(),
            },
        };
        // A batch just pushed is one part, never merged yet.
        Err(Refusal::new(error, item.first))
    }

    async fn stop(&self, deadline: Duration) -> ShutdownReport {
        let inner = &self.inner;
        let before = self.stats();
        inner.queue.close();
        inner.work.notify_waiters();
        let drained = tokio::time::timeout(deadline, inner.wait_idle())
            .await
            .is_ok();
        inner.abort.send_replace(true);
        let workers = std::mem::take(&mut *inner.workers.lock());
        for worker in workers {
            let _ = worker.await;
        }
        if inner.keep.load(StdOrdering::SeqCst) {
            for taken in inner.queue.abort_keeping() {
                inner.keep_batch(taken.item, taken.items);
            }
        } else {
            inner.queue.abort();
        }
        let after = self.stats();
        ShutdownReport {
            drained,
            dropped_items: after.dropped_items - before.dropped_items,
            kept_items: after.kept_items - before.kept_items,
        }
    }
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("endpoint", &self.inner.endpoint)
            .field("protocol", &self.inner.protocol)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Sink for Forwarder {
    /// Queues `telemetry` (never waits on the network). Refuses with `Closed` after shutdown
    /// began, `Full` when it does not fit under `Overflow::Reject`, `TooLarge` when it exceeds
    /// the whole queue.
    fn accept(&self, telemetry: Telemetry) -> Result<(), Refusal> {
        let weight = telemetry.weight() as u64;
        let items = telemetry.item_count() as u64;
        let pushed = self.inner.queue.push(Batch::new(telemetry), weight, items);
        self.pushed(pushed, weight)
    }

    /// Blocks the calling thread until everything accepted before is dealt with, or
    /// `timeout` passed (`SinkError::Full` then). Do not call it from the only thread of a
    /// current-thread runtime that also runs the workers; use [`Forwarder::flush`] there.
    fn flush(&self, timeout: Duration) -> Result<(), SinkError> {
        #[cfg(not(otlp_spool_loom))]
        let idle = self.inner.queue.wait_idle_blocking(timeout);
        #[cfg(otlp_spool_loom)]
        let idle = self.inner.queue.is_idle();
        if idle {
            Ok(())
        } else {
            Err(SinkError::Full {
                retry_after: timeout,
            })
        }
    }
}

/// What the queue holds: one accepted batch, or several of one signal taken together. Their
/// bytes are concatenated once, when the merged request is sent.
#[derive(Debug)]
struct Batch {
    first: Telemetry,
    /// Batches merged after `first` (no allocation while there are none).
    more: Vec<Telemetry>,
    /// The tag of each part (`first`, then `more`) accepted with `accept_tracked`; empty while
    /// no part is tracked.
    tags: Vec<Option<u64>>,
}

impl Batch {
    fn new(first: Telemetry) -> Self {
        Self {
            first,
            more: Vec::new(),
            tags: Vec::new(),
        }
    }

    fn tracked(first: Telemetry, tag: u64) -> Self {
        Self {
            first,
            more: Vec::new(),
            tags: vec![Some(tag)],
        }
    }

    fn parts(&self) -> usize {
        1 + self.more.len()
    }

    /// The tags of its tracked parts.
    fn tags(&self) -> Vec<u64> {
        self.tags.iter().flatten().copied().collect()
    }

    /// Its untracked parts, in order.
    fn untracked(self) -> impl Iterator<Item = Telemetry> {
        let tags = self.tags;
        std::iter::once(self.first)
            .chain(self.more)
            .enumerate()
            .filter(move |(i, _)| tags.get(*i).is_none_or(Option::is_none))
            .map(|(_, t)| t)
    }

    fn signal(&self) -> Signal {
        self.first.signal()
    }

    /// The merged request: the parts' bytes concatenated (the first alone is not copied).
    /// `take` merges only batches of one signal, so this does not fail in practice; if it did,
    /// the caller counts the whole batch as failed.
    fn merged(&self) -> Result<Telemetry, ConcatError> {
        Telemetry::concat(std::iter::once(&self.first).chain(&self.more))
    }
}

impl MergeFrom for Batch {
    fn evictable(&self) -> bool {
        self.tags.iter().all(Option::is_none)
    }

    fn merge_from(&mut self, other: Self) {
        if !(self.tags.is_empty() && other.tags.is_empty()) {
            let (mine, theirs) = (self.parts(), other.parts());
            self.tags.resize(mine, None);
            let mut other_tags = other.tags;
            other_tags.resize(theirs, None);
            self.tags.extend(other_tags);
        }
        self.more.push(other.first);
        self.more.extend(other.more);
    }
}

/// How a delivery attempt loop ended.
enum Settled {
    /// The batch reached its fate (counted).
    Done(Fate),
    /// The abort signal came first (not counted yet: dropped, or kept by a keeping shutdown).
    Aborted,
}

impl Inner {
    fn queue_capacity(&self) -> u64 {
        self.queue.capacity()
    }

    async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.queue.is_idle() {
                return;
            }
            notified.await;
        }
    }

    async fn run(self: Arc<Self>, mut abort: watch::Receiver<bool>, mut jitter: Jitter) {
        loop {
            if *abort.borrow() {
                return;
            }
            if !self.queue.has_queued() {
                if self.queue.is_closed() {
                    return;
                }
                let notified = self.work.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.queue.has_queued() || self.queue.is_closed() {
                    continue;
                }
                tokio::select! {
                    () = notified => {}
                    _ = abort.wait_for(|a| *a) => return,
                }
                continue;
            }
            let permit = match self.breaker.try_acquire_owned() {
                Ok(permit) => permit,
                Err(rejected) => {
                    if !sleep_or_abort(rejected.retry_after().max(MIN_BREAKER_WAIT), &mut abort)
                        .await
                    {
                        return;
                    }
                    continue;
                }
            };
            let max_request_bytes = self.max_request_bytes;
            let Some(taken) = self
                .queue
                .take(max_request_bytes, |a, b| a.signal() == b.signal())
            else {
                permit.ignore();
                continue;
            };
            let Taken {
                item: batch,
                weight,
                items,
            } = taken;
            let delivery = self.deliver(&batch, items, permit, &mut abort, &mut jitter);
            let settled = match CatchUnwind(Box::pin(delivery)).await {
                Ok(settled) => {
                    self.counters
                        .consecutive_panics
                        .store(0, StdOrdering::Relaxed);
                    settled
                }
                Err(payload) => {
                    let c = &self.counters;
                    c.dropped_items.fetch_add(items, StdOrdering::Relaxed);
                    c.panics.fetch_add(1, StdOrdering::Relaxed);
                    c.consecutive_panics.fetch_add(1, StdOrdering::Relaxed);
                    tracing::error!(
                        items,
                        panic = panic_message(payload.as_ref()),
                        "forwarder: a delivery panicked; its items are dropped, the worker goes on"
                    );
                    Settled::Done(Fate::Dropped)
                }
            };
            let aborted = matches!(settled, Settled::Aborted);
            match settled {
                Settled::Done(fate) => self.report(&batch, fate),
                Settled::Aborted if self.keep.load(StdOrdering::SeqCst) => {
                    self.keep_batch(batch, items);
                }
                Settled::Aborted => {
                    self.counters
                        .dropped_items
                        .fetch_add(items, StdOrdering::Relaxed);
                }
            }
            self.queue.finish(weight);
            if self.queue.is_idle() {
                self.idle.notify_waiters();
            }
            if aborted {
                return;
            }
        }
    }

    /// Tells the tracker the fate of a batch's tracked parts.
    fn report(&self, batch: &Batch, fate: Fate) {
        if batch.tags.is_empty() {
            return;
        }
        if let Some(tracker) = self.tracker.get() {
            tracker(&batch.tags(), fate);
        }
    }

    /// Counts a batch a keeping shutdown interrupted as kept; its untracked parts go to the
    /// shutdown's caller.
    fn keep_batch(&self, batch: Batch, items: u64) {
        self.counters
            .kept_items
            .fetch_add(items, StdOrdering::Relaxed);
        self.kept.lock().extend(batch.untracked());
    }

    /// Delivers one taken batch, retrying as the policy says; counts its final outcome (an
    /// abort is left to the caller).
    async fn deliver(
        &self,
        batch: &Batch,
        items: u64,
        permit: OwnedPermit,
        abort: &mut watch::Receiver<bool>,
        jitter: &mut Jitter,
    ) -> Settled {
        let c = &self.counters;
        let injected = &self.injected_panics;
        if injected.load(StdOrdering::Relaxed) > 0
            && injected
                .fetch_update(StdOrdering::SeqCst, StdOrdering::SeqCst, |n| {
                    n.checked_sub(1)
                })
                .is_ok()
        {
            panic!("injected fault: forwarder delivery");
        }
        let merged = batch.merged().map_err(|e| e.to_string());
        let encoded = match merged.and_then(|telemetry| self.transport.encode(telemetry)) {
            Ok(encoded) => encoded,
            Err(reason) => {
                permit.ignore();
                tracing::warn!(%reason, items, "forwarder: cannot encode a batch; counted as failed");
                c.failed_items.fetch_add(items, StdOrdering::Relaxed);
                c.failed_requests.fetch_add(1, StdOrdering::Relaxed);
                return Settled::Done(Fate::Failed);
            }
        };
        let mut permit = Some(permit);
        let mut retries = 0u32;
        loop {
            let current = match permit.take() {
                Some(p) => p,
                None => match self.breaker.try_acquire_owned() {
                    Ok(p) => p,
                    Err(rejected) => {
                        let wait = rejected.retry_after().max(MIN_BREAKER_WAIT);
                        if !sleep_or_abort(wait, abort).await {
                            return Settled::Aborted;
                        }
                        continue;
                    }
                },
            };
            let attempt = tokio::time::timeout(self.timeout, self.transport.send(&encoded));
            let outcome = tokio::select! {
                result = attempt => result.unwrap_or_else(|_| SendOutcome::Retryable {
                    retry_after: None,
                    reason: format!("no answer within {:?}", self.timeout),
                    tls: false,
                }),
                _ = abort.wait_for(|a| *a) => {
                    current.ignore();
                    return Settled::Aborted;
                }
            };
            match outcome {
                SendOutcome::Delivered { rejected, message } => {
                    current.success();
                    let rejected = rejected.min(items);
                    if rejected > 0 {
                        tracing::warn!(rejected, %message, "forwarder: remote refused part of a batch (partial_success)");
                    }
                    c.rejected_items.fetch_add(rejected, StdOrdering::Relaxed);
                    c.forwarded_items
                        .fetch_add(items - rejected, StdOrdering::Relaxed);
                    c.forwarded_requests.fetch_add(1, StdOrdering::Relaxed);
                    return Settled::Done(Fate::Delivered);
                }
                SendOutcome::Permanent { reason } => {
                    current.ignore();
                    tracing::warn!(%reason, items, "forwarder: permanent error, not retried");
                    c.failed_items.fetch_add(items, StdOrdering::Relaxed);
                    c.failed_requests.fetch_add(1, StdOrdering::Relaxed);
                    return Settled::Done(Fate::Failed);
                }
                SendOutcome::Retryable {
                    retry_after,
                    reason,
                    tls,
                } => {
                    current.failure();
                    retries += 1;
                    if tls {
                        c.tls_failures.fetch_add(1, StdOrdering::Relaxed);
                        tracing::warn!(%reason, endpoint = %self.endpoint, "forwarder: TLS handshake failed; retrying");
                    }
                    if self
                        .retry
                        .attempt_limit()
                        .is_some_and(|limit| retries >= limit)
                    {
                        tracing::warn!(%reason, items, "forwarder: out of attempts; counted as dropped");
                        c.dropped_items.fetch_add(items, StdOrdering::Relaxed);
                        return Settled::Done(Fate::Dropped);
                    }
                    c.retried_requests.fetch_add(1, StdOrdering::Relaxed);
                    tracing::debug!(%reason, retries, "forwarder: retryable error");
                    let wait = self.retry.backoff(retries, retry_after, jitter.next());
                    if !sleep_or_abort(wait, abort).await {
                        return Settled::Aborted;
                    }
                }
            }
        }
    }
}

/// The transport for checked settings: a lazy gRPC channel or an HTTP client, trusting the
/// configured CA, else the system roots (https only).
fn transport(
    b: &ForwarderBuilder,
    checked: Checked,
    handle: &tokio::runtime::Handle,
) -> Result<Transport, ConfigError> {
    let roots = match (checked.https, checked.ca_roots) {
        (false, _) => None,
        (true, Some(ca)) => Some(ca),
        (true, None) => Some(TrustRoots::load(None)?),
    };
    match checked.headers {
        Headers::Grpc(metadata) => {
            let _guard = handle.enter();
            let mut endpoint = tonic::transport::Endpoint::from_shared(checked.base)
                .map_err(|e| ConfigError::Endpoint {
                    endpoint: crate::redact_url_userinfo(&checked.endpoint).into_owned(),
                    reason: e.to_string(),
                })?
                .connect_timeout(b.timeout)
                .timeout(b.timeout)
                .tcp_nodelay(true);
            if let Some(roots) = &roots {
                let tls = tonic::transport::ClientTlsConfig::new().trust_anchors(roots.anchors());
                endpoint = endpoint
                    .tls_config(tls)
                    .map_err(|e| ConfigError::Tls(e.to_string()))?;
            }
            let channel = endpoint.connect_lazy();
            Ok(Transport::Grpc(GrpcTransport::new(
                channel,
                metadata,
                b.compression,
            )))
        }
        Headers::Http(map) => {
            let client = http_client(roots.as_ref(), b.timeout)?;
            Ok(Transport::Http(Box::new(HttpTransport::new(
                client,
                checked.base,
                map,
                b.protocol,
                b.compression,
            ))))
        }
    }
}

/// The breaker of a builder given none (see `ForwarderBuilder`'s defaults).
fn default_breaker() -> Result<CircuitBreaker, ConfigError> {
    Ok(CircuitBreaker::builder()
        .failure_threshold(5)
        .open_duration(Duration::from_secs(1))
        .max_open_duration(Duration::from_secs(30))
        .half_open_probes(1)
        .successes_to_close(1)
        .build()?)
}

/// Spawns `count` workers on `handle`, each with its own jitter seed.
fn spawn_workers(inner: &Arc<Inner>, handle: &tokio::runtime::Handle, count: usize) {
    let mut workers = inner.workers.lock();
    for index in 0..count {
        let worker = Arc::clone(inner);
        let abort = inner.abort.subscribe();
        let seed = (Arc::as_ptr(inner) as u64) ^ (index as u64).wrapping_mul(0x9E37);
        workers.push(handle.spawn(worker.run(abort, Jitter::new(seed))));
    }
}

/// The pooled HTTP client; `roots` is `Some` for an `https://` endpoint.
fn http_client(roots: Option<&TrustRoots>, timeout: Duration) -> Result<HttpClient, ConfigError> {
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::{TokioExecutor, TokioTimer};
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(timeout));
    let tls = match roots {
        Some(roots) => roots.client_config()?,
        None => TrustRoots::empty().client_config()?,
    };
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    Ok(
        hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(connector),
    )
}

/// Sleeps for `wait`; `false` if the abort signal came first.
async fn sleep_or_abort(wait: Duration, abort: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(wait) => true,
        _ = abort.wait_for(|a| *a) => false,
    }
}
