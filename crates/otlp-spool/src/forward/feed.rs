//! Feeding the forwarder from a log, so that what it has not delivered survives restarts.
//!
//! - `durability: wal`: the forwarder reads what was acknowledged from the write-ahead log
//!   through its own cursor `forward-<id>` (a [`Mode::Live`] feed); the lanes' copy is not
//!   handed to it. An outage of any length (bounded by `wal.max_bytes`) and a kill lose
//!   nothing; a batch in flight at a crash is sent again and counted as redelivered.
//! - Either mode: a graceful shutdown keeps what the forwarder still holds in
//!   `<output_dir>/forward-spool/<id>/` (a log of its own, see `persist`), and the next start
//!   sends it before it goes away (a [`Mode::Drain`] feed).
//!
//! One thread per feed: read a batch from the cursor, hand each record to the forwarder with
//! [`Forwarder::accept_tracked`] (tagged with its LSN; never evicting, waiting for room
//! instead), and commit the cursor as the forwarder reports fates.
//!
//! Invariants:
//! - The cursor's durable position passes a record only once the forwarder reported its fate
//!   (delivered, failed, dropped: each already counted by the forwarder), or once retention
//!   skipped it (counted in `shed_items`): it is the end of the longest settled prefix.
//! - Before a record is handed out, the cursor's payload says `inflight <H>` with `H` at least
//!   its LSN (one durable cursor update per batch read): at the next start the records in
//!   `(position, H]` may already have reached the remote, and count as redelivered.
//! - Retention (live feeds only): while the log is more than 90% full and this cursor holds
//!   records every other cursor (the files') has moved past, the records not yet handed out
//!   are skipped up to that point, their items counted in `shed_items` and logged. The
//!   forwarder is what falls behind, never the clients: they never get a 503 because a remote
//!   is down. Records already handed out that the skip passes over stay in the forwarder's
//!   memory and may still be delivered; those still undelivered when the feed stops are
//!   counted in `shed_items` too (a kill before that loses them uncounted, as memory mode
//!   would; they are at most the hand-out window, an eighth of the log).
//! - A live feed hands out at most an eighth of the log's bound ahead of its position, so
//!   retention has unread records to skip.
//! - Tags carry the feed's [`Source`] in their top bits, so one tracker serves both feeds.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use otlp_spool_core::metrics::{self, Collector, DescriptorEncoder, Stat};
use otlp_spool_core::wire::WalkLimits;
use otlp_spool_core::{Refusal, SinkError, Telemetry};
use otlp_spool_exporters::Forwarder;
use otlp_spool_wal::{Cursor, Record, WaitOutcome, Wal};
use parking_lot::Mutex;

/// Bits of a tag that hold the LSN; the source sits above them.
const LSN_BITS: u32 = 56;
const LSN_MASK: u64 = (1 << LSN_BITS) - 1;
/// The longest a settled prefix waits before it is committed (one cursor fsync each).
const COMMIT_EVERY: Duration = Duration::from_millis(50);
/// How often a live feed looks at the log's fill level.
const SHED_CHECK_EVERY: Duration = Duration::from_millis(100);
/// At most this many bytes of records are skipped per retention step.
const SHED_STEP_BYTES: usize = 16 << 20;
const READ_RECORDS: usize = 256;
const READ_BYTES: usize = 4 << 20;
/// The payload prefix of a cursor whose records up to the number after it were handed out.
const INFLIGHT: &str = "inflight ";

/// Which log a feed reads (the top bits of its tags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The write-ahead log of `durability: wal`.
    Log = 0,
    /// A forward spool left by a graceful shutdown.
    Spool = 1,
}

/// What a feed does once it read everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Waits for more (the write-ahead log).
    Live,
    /// Ends once everything was read and settled: closes its log and removes `dir`.
    Drain { dir: PathBuf },
}

/// The feeds' counters, shown on `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct FeedStats {
    /// Items handed to the forwarder from a log.
    pub(crate) fed_items: AtomicU64,
    /// Items handed out again after a restart (they may have reached the remote before).
    pub(crate) redelivered_items: AtomicU64,
    /// Items retention skipped before the forwarder read them (the log needed the room).
    pub(crate) shed_items: AtomicU64,
    /// Records whose bytes did not walk (never expected: they were validated when logged).
    pub(crate) unreadable_records: AtomicU64,
}

impl FeedStats {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Hands the LSNs of settled batches to the feed that handed them out.
#[derive(Debug, Default)]
pub(crate) struct Dispatch {
    senders: Mutex<[Option<mpsc::Sender<Vec<u64>>>; 2]>,
}

impl Dispatch {
    /// Installs the forwarder's tracker (once per forwarder).
    pub(crate) fn install(self: &Arc<Self>, forwarder: &Forwarder) {
        let dispatch = Arc::clone(self);
        forwarder.track(Arc::new(move |tags, _fate| dispatch.settled(tags)));
    }

    fn settled(&self, tags: &[u64]) {
        let senders = self.senders.lock();
        for source in [Source::Log, Source::Spool] {
            let lsns: Vec<u64> = tags
                .iter()
                .filter(|&&t| t >> LSN_BITS == source as u64)
                .map(|&t| t & LSN_MASK)
                .collect();
            if let (false, Some(tx)) = (lsns.is_empty(), &senders[source as usize]) {
                let _ = tx.send(lsns);
            }
        }
    }

    fn register(&self, source: Source) -> mpsc::Receiver<Vec<u64>> {
        let (tx, rx) = mpsc::channel();
        self.senders.lock()[source as usize] = Some(tx);
        rx
    }
}

/// What a feed reads and whom it feeds.
#[derive(Debug)]
pub(crate) struct FeedSpec {
    /// The log.
    pub(crate) wal: Wal,
    /// Its cursor's name.
    pub(crate) cursor: String,
    pub(crate) forwarder: Arc<Forwarder>,
    pub(crate) source: Source,
    pub(crate) mode: Mode,
    pub(crate) stats: Arc<FeedStats>,
}

/// A running feed (see the module docs).
#[derive(Debug)]
pub(crate) struct Feed {
    thread: Option<JoinHandle<Option<Wal>>>,
    stop: Arc<AtomicBool>,
    wal: Wal,
    source: Source,
}

impl Feed {
    /// Opens the cursor `spec` names and starts feeding its forwarder from it.
    pub(crate) fn start(spec: FeedSpec, dispatch: &Dispatch) -> Result<Feed, String> {
        let cursor = spec
            .wal
            .cursor(&spec.cursor)
            .map_err(|e| format!("opening cursor {}: {e}", spec.cursor))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (wal, source) = (spec.wal.clone(), spec.source);
        let worker = Worker::new(spec, cursor, dispatch.register(source), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name(format!("otlp-spool-forward-{source:?}").to_lowercase())
            .spawn(move || worker.run())
            .map_err(|e| format!("starting the forward feed: {e}"))?;
        Ok(Feed {
            thread: Some(thread),
            stop,
            wal,
            source,
        })
    }

    /// Stops the feed after a last commit of what was settled, and waits for its thread. The
    /// log back (still open) unless a drain feed finished it (closed, directory removed).
    /// Call it once the forwarder stopped: it reports nothing after that, so the commit is the
    /// final word.
    pub(crate) fn stop(mut self) -> Option<Wal> {
        self.stop.store(true, Ordering::SeqCst);
        self.wal.notify_readers();
        let thread = self.thread.take()?;
        match thread.join() {
            Ok(wal) => wal,
            Err(_) => {
                tracing::error!(source = ?self.source, "the forward feed panicked; it resumes from its last commit at the next start");
                Some(self.wal.clone())
            }
        }
    }
}

/// A record read from the log, walked once.
struct Waiting {
    lsn: u64,
    /// Its payload's length.
    bytes: u64,
    /// `None`: its bytes did not walk (counted when read; passed over).
    telemetry: Option<Telemetry>,
}

/// The feed's thread state.
struct Worker {
    wal: Wal,
    cursor: Cursor,
    forwarder: Arc<Forwarder>,
    source: Source,
    mode: Mode,
    settled: mpsc::Receiver<Vec<u64>>,
    stop: Arc<AtomicBool>,
    stats: Arc<FeedStats>,
    /// Records read but not handed out yet (the forwarder had no room), walked once when read.
    waiting: VecDeque<Waiting>,
    /// LSNs handed out whose fate is not known yet, with their items and bytes.
    outstanding: BTreeMap<u64, (u64, u64)>,
    /// Bytes of `outstanding`.
    outstanding_bytes: u64,
    /// At most this many bytes are handed out ahead of the position.
    window: u64,
    /// Handed out, then passed over by retention before their fate came: items by LSN.
    orphans: BTreeMap<u64, u64>,
    /// The highest LSN handed out (or settled without being handed out).
    handed: u64,
    /// What the payload says was handed out.
    inflight_mark: u64,
    /// Records up to this LSN were handed out before this start (redeliveries).
    redeliver_upto: u64,
    last_commit: Instant,
    last_shed_check: Instant,
    limits: WalkLimits,
}

impl Worker {
    fn new(
        spec: FeedSpec,
        cursor: Cursor,
        settled: mpsc::Receiver<Vec<u64>>,
        stop: Arc<AtomicBool>,
    ) -> Self {
        let FeedSpec {
            wal,
            forwarder,
            source,
            mode,
            stats,
            ..
        } = spec;
        let position = cursor.position();
        let window = match mode {
            Mode::Live => (wal.options().max_bytes() / 8).max(1),
            Mode::Drain { .. } => u64::MAX,
        };
        let redeliver_upto = inflight_of(cursor.payload()).unwrap_or(0).max(position);
        Self {
            wal,
            cursor,
            forwarder,
            source,
            mode,
            settled,
            stop,
            stats,
            waiting: VecDeque::new(),
            outstanding: BTreeMap::new(),
            outstanding_bytes: 0,
            window,
            orphans: BTreeMap::new(),
            handed: position,
            inflight_mark: redeliver_upto,
            redeliver_upto,
            last_commit: Instant::now(),
            last_shed_check: Instant::now(),
            // The records were validated when they were logged, under the receiver's limits:
            // only the walk's own bound applies here.
            limits: WalkLimits::new().with_max_depth(u32::MAX),
        }
    }

    fn run(mut self) -> Option<Wal> {
        if self.redeliver_upto > self.cursor.position() {
            tracing::info!(source = ?self.source, position = self.cursor.position(), upto = self.redeliver_upto,
                "forward feed: records handed out before the last stop are sent again (at least once)");
        }
        loop {
            self.collect_settled();
            let stopping = self.stop.load(Ordering::SeqCst);
            self.commit_settled(stopping);
            if stopping {
                self.count_orphans();
                return Some(self.wal);
            }
            if self.mode == Mode::Live && self.last_shed_check.elapsed() >= SHED_CHECK_EVERY {
                self.last_shed_check = Instant::now();
                self.shed();
            }
            if self.waiting.is_empty() {
                match self.cursor.next_batch(READ_RECORDS, READ_BYTES) {
                    Ok(batch) => {
                        for record in batch {
                            let waiting = self.walk(record);
                            self.waiting.push_back(waiting);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(source = ?self.source, error = %e, "forward feed: reading the log failed; trying again");
                        self.pause(Duration::from_millis(200));
                        continue;
                    }
                }
            }
            if self.waiting.is_empty() {
                if let Mode::Drain { dir } = &self.mode
                    && self.outstanding.is_empty()
                {
                    let dir = dir.clone();
                    return self.finish_drain(dir);
                }
                match self.cursor.wait(Duration::from_millis(50)) {
                    WaitOutcome::Closed => self.pause(Duration::from_millis(20)),
                    WaitOutcome::Ready | WaitOutcome::Woken | WaitOutcome::TimedOut => {}
                }
                continue;
            }
            self.hand_out();
        }
    }

    /// Takes the fates the forwarder reported.
    fn collect_settled(&mut self) {
        while let Ok(lsns) = self.settled.try_recv() {
            self.settle(lsns);
        }
    }

    fn settle(&mut self, lsns: Vec<u64>) {
        for lsn in lsns {
            if let Some((_, bytes)) = self.outstanding.remove(&lsn) {
                self.outstanding_bytes -= bytes;
            } else {
                self.orphans.remove(&lsn);
            }
        }
    }

    /// At the stop: handed-out records retention passed over that never reached a fate are
    /// lost to the remote (the forwarder kept them, but no log has them any more).
    fn count_orphans(&mut self) {
        let items: u64 = std::mem::take(&mut self.orphans).values().sum();
        if items > 0 {
            FeedStats::add(&self.stats.shed_items, items);
            tracing::warn!(source = ?self.source, items,
                "forward feed: items retention had passed over were still undelivered at the stop (counted in otlp_spool_forward_shed_items_total)");
        }
    }

    /// Commits the end of the settled prefix, at most every `COMMIT_EVERY` unless `now`.
    fn commit_settled(&mut self, now: bool) {
        let position = self.cursor.position();
        let settled = match self.outstanding.first_key_value() {
            Some((&first, _)) => first - 1,
            None => self.handed,
        };
        if settled <= position || !(now || self.last_commit.elapsed() >= COMMIT_EVERY) {
            return;
        }
        match self.cursor.commit(settled, &self.payload()) {
            Ok(()) => self.last_commit = Instant::now(),
            Err(e) => {
                tracing::warn!(source = ?self.source, error = %e, "forward feed: committing the position failed; trying again");
            }
        }
    }

    fn payload(&self) -> Vec<u8> {
        format!("{INFLIGHT}{}", self.inflight_mark).into_bytes()
    }

    /// Hands the waiting records to the forwarder while it has room.
    fn hand_out(&mut self) {
        let last = self.waiting.back().map_or(0, |w| w.lsn);
        if last > self.inflight_mark {
            let before = self.inflight_mark;
            self.inflight_mark = last;
            if let Err(e) = self.cursor.commit(self.cursor.position(), &self.payload()) {
                self.inflight_mark = before;
                tracing::warn!(source = ?self.source, error = %e, "forward feed: recording what is in flight failed; trying again");
                self.pause(Duration::from_millis(200));
                return;
            }
        }
        while let Some(front) = self.waiting.front() {
            let (lsn, bytes) = (front.lsn, front.bytes);
            let Some(telemetry) = front.telemetry.clone() else {
                self.waiting.pop_front();
                self.settle_unsent(lsn);
                continue;
            };
            let items = telemetry.item_count() as u64;
            if !self.outstanding.is_empty() && self.outstanding_bytes + bytes > self.window {
                self.wait_for_fates();
                return;
            }
            let tag = ((self.source as u64) << LSN_BITS) | lsn;
            match self
                .forwarder
                .accept_tracked(telemetry, tag)
                .map_err(Refusal::into_error)
            {
                Ok(()) => {
                    self.waiting.pop_front();
                    self.outstanding.insert(lsn, (items, bytes));
                    self.outstanding_bytes += bytes;
                    self.handed = self.handed.max(lsn);
                    FeedStats::add(&self.stats.fed_items, items);
                    if lsn <= self.redeliver_upto {
                        FeedStats::add(&self.stats.redelivered_items, items);
                    }
                }
                Err(SinkError::Full { .. }) => {
                    // No room: wait for a fate (which frees some), then carry on.
                    self.wait_for_fates();
                    return;
                }
                Err(SinkError::Closed) => {
                    // The forwarder is shutting down: what is not handed out stays in the log.
                    self.pause(Duration::from_millis(20));
                    return;
                }
                Err(e) => {
                    // Larger than the whole queue: it can never be sent (counted by the
                    // forwarder as refused); do not let it hold the log.
                    tracing::warn!(source = ?self.source, lsn, error = %e, "forward feed: a record the forwarder cannot take is passed over");
                    self.waiting.pop_front();
                    self.settle_unsent(lsn);
                }
            }
        }
    }

    /// Waits a little for the forwarder to report fates (room in its queue or the window).
    fn wait_for_fates(&mut self) {
        if let Ok(lsns) = self.settled.recv_timeout(Duration::from_millis(20)) {
            self.settle(lsns);
        }
    }

    /// A record that will never be handed out counts as settled.
    fn settle_unsent(&mut self, lsn: u64) {
        self.handed = self.handed.max(lsn);
    }

    /// Walks a record read from the log, once (its bytes move into the `Telemetry`, no copy).
    fn walk(&self, record: Record) -> Waiting {
        let (lsn, signal) = (record.lsn(), record.signal());
        let bytes = bytes::Bytes::from(record.into_bytes());
        let len = bytes.len() as u64;
        let telemetry = match Telemetry::from_protobuf(signal, bytes, &self.limits) {
            Ok((telemetry, _refused)) => Some(telemetry),
            Err(e) => {
                FeedStats::add(&self.stats.unreadable_records, 1);
                tracing::error!(source = ?self.source, lsn, error = %e, "forward feed: a logged record does not walk; passed over");
                None
            }
        };
        Waiting {
            lsn,
            bytes: len,
            telemetry,
        }
    }

    /// Retention (see the module docs).
    fn shed(&mut self) {
        let stats = self.wal.stats();
        if stats.used_bytes.saturating_mul(10) <= stats.max_bytes.saturating_mul(9) {
            return;
        }
        let name = self.cursor.name().to_owned();
        let Some(limit) = self
            .wal
            .cursors()
            .into_iter()
            .filter(|c| c.name != name)
            .map(|c| c.position)
            .min()
        else {
            return;
        };
        let position = self.cursor.position();
        if position >= limit {
            return;
        }
        let (mut items, mut records, mut bytes) = (0u64, 0u64, 0usize);
        let mut target = self.handed.min(limit);
        while bytes < SHED_STEP_BYTES {
            let record = match self.waiting.pop_front() {
                Some(w) => w,
                None => match self.cursor.next_record() {
                    Ok(Some(r)) => self.walk(r),
                    _ => break,
                },
            };
            if record.lsn > limit {
                self.waiting.push_front(record);
                break;
            }
            items += record
                .telemetry
                .as_ref()
                .map_or(0, |t| t.item_count() as u64);
            records += 1;
            bytes += record.bytes as usize;
            target = target.max(record.lsn);
        }
        if target <= position {
            return;
        }
        match self.cursor.skip_to(target) {
            Ok(_) => {
                FeedStats::add(&self.stats.shed_items, items);
                self.handed = self.handed.max(target);
                let kept = self.outstanding.split_off(&(target + 1));
                let passed = std::mem::replace(&mut self.outstanding, kept);
                for (lsn, (items, bytes)) in passed {
                    self.outstanding_bytes -= bytes;
                    self.orphans.insert(lsn, items);
                }
                tracing::warn!(
                    source = ?self.source,
                    skipped_records = records,
                    skipped_items = items,
                    upto = target,
                    "forward feed: the log is over 90% full and the remote is behind: records not yet forwarded are skipped to make room (counted in otlp_spool_forward_shed_items_total)"
                );
            }
            Err(e) => {
                tracing::warn!(source = ?self.source, error = %e, "forward feed: skipping for retention failed");
            }
        }
    }

    /// A drain feed read and settled everything: the spool goes away.
    fn finish_drain(mut self, dir: PathBuf) -> Option<Wal> {
        self.commit_settled(true);
        let name = self.cursor.name().to_owned();
        drop(self.cursor);
        if let Err(e) = self.wal.drop_cursor(&name) {
            tracing::warn!(error = %e, "forward spool: dropping its cursor");
        }
        if let Err(e) = self.wal.close() {
            tracing::warn!(error = %e, "forward spool: closing it");
        }
        drop(self.wal);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {
                tracing::info!(dir = %dir.display(), "forward spool sent and removed");
            }
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "forward spool sent; removing it failed (it is read again, and found empty, at the next start)");
            }
        }
        None
    }

    /// Sleeps up to `wait`, less if the feed is stopped.
    fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        while Instant::now() < until && !self.stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5).min(wait));
        }
    }
}

/// The LSN of an `inflight <H>` payload.
fn inflight_of(payload: &[u8]) -> Option<u64> {
    std::str::from_utf8(payload)
        .ok()?
        .strip_prefix(INFLIGHT)?
        .trim()
        .parse()
        .ok()
}

/// The cursor name of an endpoint: `forward-` and 12 hex digits of a 64-bit FNV-1a hash of
/// the protocol and the endpoint URL (stable across restarts and builds, distinct per
/// endpoint).
pub(crate) fn cursor_name(protocol: &str, endpoint: &str) -> String {
    format!("{CURSOR_PREFIX}{}", endpoint_id(protocol, endpoint))
}

/// Every forward cursor's name starts with this.
pub(crate) const CURSOR_PREFIX: &str = "forward-";

/// See [`cursor_name`].
pub(crate) fn endpoint_id(protocol: &str, endpoint: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in protocol.bytes().chain([b' ']).chain(endpoint.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:012x}", hash >> 16)
}

/// The feeds' self-metrics, read at every scrape.
#[derive(Debug)]
pub(crate) struct FeedCollector(pub(crate) Arc<FeedStats>);

const FEED_COUNTERS: [Stat<FeedStats>; 4] = [
    (
        "otlp_spool_forward_fed_items_total",
        "Items the forwarder read from a log (the write-ahead log, or a forward spool).",
        |s| s.fed_items.load(Ordering::Relaxed),
    ),
    (
        "otlp_spool_forward_redelivered_items_total",
        "Items sent again after a restart: they were in flight at the stop and may have reached the remote already.",
        |s| s.redelivered_items.load(Ordering::Relaxed),
    ),
    (
        "otlp_spool_forward_shed_items_total",
        "Items never forwarded: retention skipped them because the write-ahead log needed the room.",
        |s| s.shed_items.load(Ordering::Relaxed),
    ),
    (
        "otlp_spool_forward_unreadable_records_total",
        "Logged records the forwarder could not read back (passed over).",
        |s| s.unreadable_records.load(Ordering::Relaxed),
    ),
];

impl Collector for FeedCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        metrics::encode_snapshot(&mut encoder, &*self.0, &FEED_COUNTERS, &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_ids_are_stable_and_distinct() {
        let a = endpoint_id("grpc", "http://127.0.0.1:4317");
        assert_eq!(a, endpoint_id("grpc", "http://127.0.0.1:4317"));
        assert_eq!(a.len(), 12);
        assert_ne!(a, endpoint_id("http/protobuf", "http://127.0.0.1:4317"));
        assert_ne!(a, endpoint_id("grpc", "http://127.0.0.1:4318"));
    }

    #[test]
    fn inflight_payloads_parse() {
        assert_eq!(inflight_of(b"inflight 42"), Some(42));
        assert_eq!(inflight_of(b""), None);
        assert_eq!(inflight_of(b"committed"), None);
    }
}
