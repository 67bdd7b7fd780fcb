//! What a shutdown achieved ([`ShutdownReport`]) and what an immediate exit would abandon
//! ([`Held`]); both are logged, and the first decides `otlp-spool serve`'s exit code.
//!
//! Exit codes of `otlp-spool serve` (DESIGN.md "Limits and timeouts"):
//! - 0: stopped cleanly: every acknowledged item is in a finalized file (or was evicted by
//!   the configured `drop_oldest`, which is counted and logged but asked for).
//! - 1: start-up error (configuration, output directory, ports), or the shutdown itself
//!   failed without losing data (for example a file could not be finalized; crash recovery
//!   publishes it at the next start).
//! - 2: acknowledged data was lost ([`ShutdownReport::lost_data`]): items dropped by a panic,
//!   a conversion error or a write still failing at the deadline, items the lanes still held
//!   when `shutdown_timeout` ran out, or items the forwarder still held then. The counts are
//!   logged.
//! - 130 / 143: a second SIGINT / SIGTERM during the shutdown made the process exit at once
//!   (after logging what it abandoned).

use std::fmt;

use otlp_spool_core::Signal;

use crate::pipeline::DropReason;

/// The outcome of [`Spool::shutdown`](crate::Spool::shutdown).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Acknowledged items the lanes dropped since start, by signal and reason (non-zero only).
    pub dropped: Vec<(Signal, DropReason, u64)>,
    /// Items the lanes still held when the deadline passed, by signal (non-zero only).
    pub abandoned: Vec<(Signal, u64)>,
    /// Items the forwarder dropped during the shutdown (still held at its deadline and not
    /// kept: the forward spool could not be written).
    pub forward_dropped: u64,
    /// Items the forwarder still held at its deadline, kept for the next start: in the
    /// write-ahead log (`durability: wal`) or in the forward spool
    /// (`<output_dir>/forward-spool/<id>/`, memory mode). Not a loss.
    pub forward_kept: u64,
    /// Client connections still open at the receivers' deadline, dropped unanswered (their
    /// requests were never acknowledged, so no data of theirs is lost).
    pub dropped_connections: u64,
    /// Some part did not finish within `shutdown_timeout`.
    pub timed_out: bool,
    /// What went wrong besides (each already logged).
    pub errors: Vec<String>,
}

impl ShutdownReport {
    /// Whether acknowledged data was lost other than by configured eviction: what makes
    /// `otlp-spool serve` exit with code 2.
    pub fn lost_data(&self) -> bool {
        self.dropped
            .iter()
            .any(|(_, r, n)| !r.is_configured() && *n > 0)
            || self.abandoned.iter().any(|(_, n)| *n > 0)
            || self.forward_dropped > 0
    }

    /// Nothing lost, nothing timed out, nothing failed.
    pub fn is_clean(&self) -> bool {
        !self.lost_data() && !self.timed_out && self.errors.is_empty()
    }

    /// Logs the report: one line at `info` when clean, `error` when data was lost.
    pub(crate) fn log(&self) {
        if self.lost_data() {
            tracing::error!(report = %self, "shutdown finished: acknowledged data was lost");
        } else if !self.is_clean() {
            tracing::warn!(report = %self, "shutdown finished with problems");
        } else {
            tracing::info!(report = %self, "shutdown finished");
        }
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (signal, reason, n) in &self.dropped {
            parts.push(format!("dropped {n} {signal} ({})", reason.as_str()));
        }
        for (signal, n) in &self.abandoned {
            parts.push(format!("abandoned {n} {signal} at the deadline"));
        }
        if self.forward_dropped > 0 {
            parts.push(format!("forwarder dropped {}", self.forward_dropped));
        }
        if self.forward_kept > 0 {
            parts.push(format!(
                "forwarder kept {} for the next start",
                self.forward_kept
            ));
        }
        if self.dropped_connections > 0 {
            parts.push(format!(
                "{} connection(s) dropped unanswered",
                self.dropped_connections
            ));
        }
        if self.timed_out {
            parts.push("timed out".to_owned());
        }
        parts.extend(self.errors.iter().cloned());
        if parts.is_empty() {
            f.write_str("clean")
        } else {
            f.write_str(&parts.join("; "))
        }
    }
}

/// What the spool holds right now ([`Spool::held`](crate::Spool::held)): lost if the process
/// ended at this instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Held {
    /// Acknowledged items in the lanes (buffered or being written), by signal (non-zero only).
    pub items: Vec<(Signal, u64)>,
    /// Items in the forwarder's queue or in flight to the remote.
    pub forward_items: u64,
    /// Open client connections.
    pub open_connections: u64,
}

impl fmt::Display for Held {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lanes: Vec<String> = self
            .items
            .iter()
            .map(|(signal, n)| format!("{n} {signal}"))
            .collect();
        write!(
            f,
            "lanes: {}; forwarder: {} items; {} open connection(s)",
            if lanes.is_empty() {
                "nothing".to_owned()
            } else {
                lanes.join(", ")
            },
            self.forward_items,
            self.open_connections
        )
    }
}
