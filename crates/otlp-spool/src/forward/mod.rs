//! The forwarder of the `forward:` section (its builder comes from `config::forward`), its
//! health check, its self-metrics, and what keeps its undelivered data across restarts: the
//! feeds from logs and the forward spool ([`Feeds`], `feed.rs`).

mod feed;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use otlp_spool_core::Telemetry;
use otlp_spool_wal::{Wal, WalOptions};

use crate::config::Config;
pub(crate) use feed::FeedCollector;
use feed::{Dispatch, Feed, FeedSpec, FeedStats, Mode, Source};

use otlp_spool_breaker::State;
use otlp_spool_core::metrics::{self, Collector, DescriptorEncoder, Stat};
use otlp_spool_exporters::{Forwarder, ForwarderStats};

use crate::config::ForwardConfig;
use crate::error::SpoolError;

/// Builds the forwarder (inside the tokio runtime: it spawns its workers). Its settings were
/// checked by `Config::validate` (a refusal there names its key); what only starting can find
/// is [`SpoolError::Forward`].
pub(crate) fn build(f: &ForwardConfig) -> Result<Forwarder, SpoolError> {
    crate::config::forwarder_builder(f)?
        .build()
        .map_err(SpoolError::Forward)
}

/// Attempts of a forwarder worker that must panic in a row before it counts as unable to make
/// progress (the same rule as a lane's writer).
const PANICS_UNHEALTHY: u64 = 3;

/// `None` while the forwarder's workers make progress; a problem naming the forwarder while
/// its last deliveries all panicked. A remote that is down is not a problem of this process:
/// the breaker state and the queue show it, and the data waits in the bounded queue.
pub(crate) fn health_problem(forwarder: &Forwarder) -> Option<String> {
    let s = forwarder.stats();
    (s.consecutive_panics >= PANICS_UNHEALTHY).then(|| {
        format!(
            "forwarder: the last {} deliveries panicked",
            s.consecutive_panics
        )
    })
}

/// The forwarder's self-metrics, read at every scrape.
#[derive(Debug)]
pub(crate) struct ForwarderCollector(pub(crate) Arc<Forwarder>);

const COUNTERS: [Stat<ForwarderStats>; 10] = [
    (
        "otlp_spool_forward_accepted_items_total",
        "Items queued for forwarding.",
        |s| s.accepted_items,
    ),
    (
        "otlp_spool_forward_refused_items_total",
        "Items the forward queue refused.",
        |s| s.refused_items,
    ),
    (
        "otlp_spool_forward_forwarded_items_total",
        "Items the remote accepted.",
        |s| s.forwarded_items,
    ),
    (
        "otlp_spool_forward_forwarded_requests_total",
        "Requests the remote accepted.",
        |s| s.forwarded_requests,
    ),
    (
        "otlp_spool_forward_retried_requests_total",
        "Attempts retried.",
        |s| s.retried_requests,
    ),
    (
        "otlp_spool_forward_tls_failures_total",
        "Attempts whose TLS handshake failed (retried).",
        |s| s.tls_failures,
    ),
    (
        "otlp_spool_forward_failed_items_total",
        "Items refused permanently by the remote.",
        |s| s.failed_items,
    ),
    (
        "otlp_spool_forward_rejected_items_total",
        "Items refused in partial_success.",
        |s| s.rejected_items,
    ),
    (
        "otlp_spool_forward_dropped_items_total",
        "Queued items dropped (overflow, attempts, shutdown, panics).",
        |s| s.dropped_items,
    ),
    (
        "otlp_spool_forward_panics_total",
        "Deliveries that panicked (their items dropped, the worker carried on).",
        |s| s.panics,
    ),
];

const GAUGES: [Stat<ForwarderStats>; 3] = [
    (
        "otlp_spool_forward_queue_bytes",
        "Bytes held by the forwarder.",
        |s| s.queue_bytes,
    ),
    (
        "otlp_spool_forward_healthy",
        "1 while the forwarder's workers make progress, 0 while they cannot (see /health).",
        |s| u64::from(s.consecutive_panics < PANICS_UNHEALTHY),
    ),
    (
        "otlp_spool_forward_breaker_state",
        "Circuit breaker: 0 closed, 1 open, 2 half-open.",
        |s| match s.breaker_state {
            State::Closed => 0,
            State::Open => 1,
            State::HalfOpen => 2,
        },
    ),
];

impl Collector for ForwarderCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        metrics::encode_snapshot(&mut encoder, &self.0.stats(), &COUNTERS, &GAUGES)
    }
}

/// The forwarder's feeds from logs and the forward spool of one endpoint (see `feed.rs`).
#[derive(Debug)]
pub(crate) struct Feeds {
    dispatch: Arc<Dispatch>,
    pub(crate) stats: Arc<FeedStats>,
    /// `durability: wal`: the feed from the write-ahead log.
    live: parking_lot::Mutex<Option<Feed>>,
    /// A forward spool left by the last graceful shutdown, being sent.
    drain: parking_lot::Mutex<Option<Feed>>,
    /// `<output_dir>/forward-spool/<id>/`.
    spool_dir: PathBuf,
}

/// What [`Feeds::stop`] did with what the forwarder still held.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kept {
    /// Items written to the forward spool, sent after the next start.
    pub(crate) persisted: u64,
    /// Items that could not be written there (lost, and counted as such).
    pub(crate) lost: u64,
}

impl Feeds {
    /// Starts what the configuration asks for: in `wal` mode the live feed from cursor
    /// `forward-<id>` of `wal` (the cursors of endpoints no longer configured are dropped
    /// first, counted and logged, so they stop holding the log); in either mode the drain of
    /// a forward spool a graceful shutdown left for this endpoint.
    pub(crate) fn start(
        config: &Config,
        f: &ForwardConfig,
        forwarder: &Arc<Forwarder>,
        wal: Option<&Wal>,
    ) -> Result<Feeds, SpoolError> {
        let protocol = f.protocol.as_str();
        let id = feed::endpoint_id(protocol, &f.endpoint);
        let dispatch = Arc::new(Dispatch::default());
        dispatch.install(forwarder);
        let feeds = Feeds {
            dispatch,
            stats: Arc::default(),
            live: parking_lot::Mutex::new(None),
            drain: parking_lot::Mutex::new(None),
            spool_dir: config.output_dir.join(FORWARD_SPOOL_DIR).join(&id),
        };
        warn_unsent_spools(&config.output_dir, Some(&id));
        if let Some(wal) = wal {
            let name = feed::cursor_name(protocol, &f.endpoint);
            drop_forward_cursors(wal, Some(&name));
            let path = config.output_dir.join(crate::config::WAL_DIR);
            let spec = FeedSpec {
                wal: wal.clone(),
                cursor: name,
                forwarder: Arc::clone(forwarder),
                source: Source::Log,
                mode: Mode::Live,
                stats: Arc::clone(&feeds.stats),
            };
            let live = Feed::start(spec, &feeds.dispatch)
                .map_err(|problem| SpoolError::ForwardLog { path, problem })?;
            *feeds.live.lock() = Some(live);
        }
        if feeds.spool_dir.is_dir() {
            match open_spool(&feeds.spool_dir) {
                Ok(spool) => {
                    tracing::info!(dir = %feeds.spool_dir.display(), records = spool.stats().durable_lsn,
                        "forward spool of the last shutdown found: sending it before it is removed");
                    let spec = FeedSpec {
                        wal: spool,
                        cursor: SPOOL_CURSOR.to_owned(),
                        forwarder: Arc::clone(forwarder),
                        source: Source::Spool,
                        mode: Mode::Drain {
                            dir: feeds.spool_dir.clone(),
                        },
                        stats: Arc::clone(&feeds.stats),
                    };
                    let drain = Feed::start(spec, &feeds.dispatch).map_err(|problem| {
                        SpoolError::ForwardLog {
                            path: feeds.spool_dir.clone(),
                            problem,
                        }
                    })?;
                    *feeds.drain.lock() = Some(drain);
                }
                Err(problem) => {
                    return Err(SpoolError::ForwardLog {
                        path: feeds.spool_dir.clone(),
                        problem,
                    });
                }
            }
        }
        Ok(feeds)
    }

    /// Stops the feeds (call it once the forwarder stopped: `shutdown_keeping`) and writes
    /// `kept`, what the forwarder held that no log has, to the forward spool, durably.
    pub(crate) fn stop(&self, kept: Vec<Telemetry>) -> Kept {
        if let Some(live) = self.live.lock().take() {
            let _ = live.stop();
        }
        let spool = self.drain.lock().take().and_then(Feed::stop);
        let items: u64 = kept.iter().map(|t| t.item_count() as u64).sum();
        if kept.is_empty() {
            if let Some(spool) = spool
                && let Err(e) = spool.close()
            {
                tracing::warn!(error = %e, "closing the forward spool");
            }
            return Kept::default();
        }
        match persist(&self.spool_dir, spool, &kept) {
            Ok(_) => {
                tracing::info!(items, dir = %self.spool_dir.display(),
                    "forwarder: what the remote did not take before the deadline is kept in the forward spool, sent after the next start");
                Kept {
                    persisted: items,
                    lost: 0,
                }
            }
            Err((persisted, e)) => {
                let lost = items - persisted;
                tracing::error!(persisted, lost, dir = %self.spool_dir.display(), error = %e,
                    "forwarder: keeping what the remote did not take failed part-way; the items not kept are lost");
                Kept { persisted, lost }
            }
        }
    }
}

/// Drops every `forward-*` cursor of `wal` but `keep` (endpoints no longer configured): they
/// would hold the log's segments forever. What they had not delivered is counted and logged.
pub(crate) fn drop_forward_cursors(wal: &Wal, keep: Option<&str>) {
    for info in wal.cursors() {
        if !info.name.starts_with(feed::CURSOR_PREFIX) || Some(info.name.as_str()) == keep {
            continue;
        }
        match wal.drop_cursor(&info.name) {
            Ok(skipped) => tracing::warn!(cursor = %info.name, ?skipped,
                "write-ahead log: the forward cursor of an endpoint no longer configured is dropped; what it had not sent will not be"),
            Err(e) => {
                tracing::warn!(cursor = %info.name, error = %e, "write-ahead log: dropping a stale forward cursor")
            }
        }
    }
}

/// Logs (`warn`) every forward spool under `output_dir` but `keep`'s: what a graceful shutdown
/// kept for an endpoint that is no longer configured. It is left on disk, unsent, for the
/// operator (configuring that endpoint again sends it); never deleted here.
pub(crate) fn warn_unsent_spools(output_dir: &Path, keep: Option<&str>) {
    let Ok(entries) = std::fs::read_dir(output_dir.join(FORWARD_SPOOL_DIR)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if entry.path().is_dir() && Some(name.to_string_lossy().as_ref()) != keep {
            tracing::warn!(dir = %entry.path().display(),
                "forward spool of an endpoint that is not configured now: kept, not sent (configure that endpoint again to send it, or remove the directory)");
        }
    }
}

/// The forward spool's directory under the output directory.
pub(crate) const FORWARD_SPOOL_DIR: &str = "forward-spool";
const SPOOL_CURSOR: &str = "forward";

/// Opens (creating) a forward spool: a log of its own, no group-commit wait (one writer).
fn open_spool(dir: &Path) -> Result<Wal, String> {
    let opts = WalOptions::builder(dir)
        .max_bytes(8 << 30)
        .segment_bytes(16 << 20)
        .max_record_bytes(1 << 30)
        .group_commit_max_delay(Duration::ZERO)
        .build()
        .map_err(|e| e.to_string())?;
    Wal::open(opts).map_err(|e| e.to_string())
}

/// Appends `kept` to the spool at `dir` (`spool` if it is open already), waits until every
/// record is durable and closes it. Returns the items made durable; on a failure (the spool
/// full, the disk full) the error comes with the items made durable before it, which the
/// next start sends.
fn persist(dir: &Path, spool: Option<Wal>, kept: &[Telemetry]) -> Result<u64, (u64, String)> {
    let spool = match spool {
        Some(spool) => spool,
        None => open_spool(dir).map_err(|e| (0, e))?,
    };
    let mut tickets = Vec::with_capacity(kept.len());
    let mut failure = None;
    for telemetry in kept {
        match spool.append(telemetry.signal(), telemetry.bytes()) {
            Ok(ticket) => tickets.push((ticket, telemetry.item_count() as u64)),
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
    }
    let mut durable = 0;
    for (ticket, items) in tickets {
        match ticket.wait() {
            Ok(_) => durable += items,
            Err(e) => {
                failure.get_or_insert_with(|| e.to_string());
            }
        }
    }
    let closed = spool.close().map_err(|e| e.to_string());
    match failure.map_or(closed, Err) {
        Ok(()) => Ok(durable),
        Err(e) => Err((durable, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use otlp_spool_core::Signal;

    fn telemetry(items: usize, bytes: usize) -> Telemetry {
        Telemetry::from_validated(Signal::Logs, Bytes::from(vec![7u8; bytes]), items, bytes)
    }

    #[test]
    fn a_spool_that_fills_part_way_counts_only_the_items_it_could_not_keep() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("spool");
        let opts = WalOptions::builder(&dir)
            .max_bytes(64 * 1024)
            .segment_bytes(16 * 1024)
            .max_record_bytes(16 * 1024)
            .build()
            .unwrap();
        let spool = Wal::open(opts).unwrap();
        // Ten records of 10 KiB, 3 items each: about six fit under 64 KiB.
        let kept: Vec<Telemetry> = (0..10).map(|_| telemetry(3, 10 * 1024)).collect();
        let (durable, error) = persist(&dir, Some(spool), &kept).unwrap_err();
        assert!(error.contains("full"), "{error}");
        assert!((3..30).contains(&durable) && durable % 3 == 0, "{durable}");
        // What it counted as kept is what the spool holds after a restart.
        let spool = open_spool(&dir).unwrap();
        let mut cursor = spool.cursor("count").unwrap();
        let mut records = 0;
        while cursor.next_record().unwrap().is_some() {
            records += 1;
        }
        assert_eq!(records * 3, durable);
        // And everything kept when there is room.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("spool");
        assert_eq!(persist(&dir, None, &kept[..4]), Ok(12));
    }
}
