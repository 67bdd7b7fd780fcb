//! `otlp-spool inspect DIR`: what a spool directory holds, per signal, from file metadata
//! only, plus the files recovery would deal with (temporary files left by a writer) and the
//! quarantined ones.
//!
//! What it reads per file: the record batch message headers (rows and batches; every body is
//! seeked over) or a Parquet footer, and the stats the writer stored in the file when it
//! finalized it (`otlp_spool_storage::file_stats`: time range, services, metrics; a few hundred
//! bytes at the end of an Arrow file). Files without stored stats (written before they
//! existed, or recovered after a crash) are summarized by a projected scan instead, within a
//! byte budget ([`InspectOptions::scan_budget`], 256 MiB by default); past it, only their rows
//! are counted and the report says how many files its time range and services leave out.
//!
//! Read-only: no lock is taken and nothing is written, so it is safe on a directory a running
//! instance owns. Whether one does is read from the lock file's `pid N` line and `/proc`
//! (informational: a reused pid can mislead it).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use otlp_spool_storage::{FileStats, Format, LOCK_FILE_NAME, Signal, file_stats};

use crate::error::ViewerError;
use crate::files::{FileState, QuarantinedFile, SpoolFile, list_files, list_quarantined};
use crate::index::{FileSummary, MetricInfo, Work, summarize};
use crate::scan::file_error;
use crate::select::{headers, row_count};
use crate::time::format_utc;

/// Where a file's time range, services and metrics came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatsSource {
    /// Stored in the file by the writer (its trailer or Parquet footer).
    Stored,
    /// A projected scan of the file (it has no stored stats).
    Scanned,
    /// Not known: no stored stats and the scan budget was spent (rows come from headers).
    Unknown,
}

/// Limits of [`inspect_with`].
#[derive(Debug, Clone)]
pub struct InspectOptions {
    with_files: bool,
    scan_budget: u64,
}

impl Default for InspectOptions {
    fn default() -> Self {
        InspectOptions {
            with_files: false,
            scan_budget: DEFAULT_INSPECT_SCAN_BUDGET,
        }
    }
}

impl InspectOptions {
    /// Keep the per-file entries (for `--json`).
    pub fn with_files(mut self, yes: bool) -> Self {
        self.with_files = yes;
        self
    }

    /// Bytes of files without stored stats that may be scanned for them (0: none).
    pub fn scan_budget(mut self, bytes: u64) -> Self {
        self.scan_budget = bytes;
        self
    }
}

/// Default bytes of files without stored stats that `inspect` scans: 256 MiB.
pub const DEFAULT_INSPECT_SCAN_BUDGET: u64 = 256 << 20;

/// One file in an [`InspectReport`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileEntry {
    /// Full path.
    pub path: PathBuf,
    /// `finalized` or `active` (a `.tmp` file).
    pub state: FileState,
    /// Size in bytes.
    pub bytes: u64,
    /// Where its time range, services and metrics came from.
    pub stats: StatsSource,
    /// What its metadata (or a scan) says.
    #[serde(flatten)]
    pub summary: FileSummary,
}

/// One signal in an [`InspectReport`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct SignalReport {
    /// `traces`, `metrics` or `logs`.
    pub signal: &'static str,
    /// Finalized files.
    pub finalized_files: u64,
    /// Bytes of finalized files.
    pub finalized_bytes: u64,
    /// Rows in finalized files.
    pub rows: u64,
    /// Earliest row time, ns (0: no rows).
    pub min_time: u64,
    /// Latest row time, ns.
    pub max_time: u64,
    /// Services, sorted.
    pub services: Vec<String>,
    /// Metrics only: every metric with its points.
    pub metrics: Vec<MetricInfo>,
    /// Temporary files: being written by the running instance, or left by a crash (the next
    /// start recovers their complete batches: `rows`; a torn tail is cut off).
    pub active: Vec<FileEntry>,
    /// Files under `quarantine/<signal>/` (recovery could not decode them).
    pub quarantined: Vec<QuarantinedFile>,
    /// Finalized files that could not be read to their end.
    pub unreadable: Vec<FileEntry>,
    /// Finalized files without stored stats that were scanned for them.
    pub scanned_files: u64,
    /// Finalized files without stored stats left unscanned (budget spent): their rows are
    /// counted, their time range, services and metrics are not in this report.
    pub unknown_files: u64,
    /// Every file, newest first (JSON output only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileEntry>,
}

/// Who holds the directory's lock, as far as can be told without taking it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Owner {
    /// No lock file: no instance ever opened the directory.
    None,
    /// The lock file names a process that is running: its temporary files are being written.
    Running {
        /// The pid in the lock file.
        pid: u32,
    },
    /// The lock file names a process that is gone: temporary files are crash leftovers.
    Stopped {
        /// The pid in the lock file.
        pid: Option<u32>,
    },
}

/// What `inspect` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InspectReport {
    /// The directory.
    pub dir: PathBuf,
    /// The lock's owner.
    pub owner: Owner,
    /// Traces, metrics, logs.
    pub signals: Vec<SignalReport>,
    /// Files looked at, files scanned (no stored stats) and the bytes those scans read.
    pub work: Work,
}

fn owner(dir: &Path) -> Owner {
    let Ok(text) = std::fs::read_to_string(dir.join(LOCK_FILE_NAME)) else {
        return Owner::None;
    };
    let pid = text
        .split_whitespace()
        .skip_while(|w| *w != "pid")
        .nth(1)
        .and_then(|p| p.parse::<u32>().ok());
    match pid {
        Some(pid) if Path::new(&format!("/proc/{pid}")).exists() => Owner::Running { pid },
        pid => Owner::Stopped { pid },
    }
}

/// A summary from stored stats.
fn from_stats(stats: FileStats, rows: u64, batches: u64) -> FileSummary {
    FileSummary {
        rows,
        batches,
        min_time: stats.min_time,
        max_time: stats.max_time,
        services: stats.services,
        metrics: stats
            .metrics
            .into_iter()
            .map(|m| MetricInfo {
                name: m.name,
                kind: m.kind,
                unit: m.unit,
                points: m.points,
            })
            .collect(),
        max_severity: stats.max_severity,
        ..FileSummary::default()
    }
}

/// Reads one file's metadata (and scans it when it has no stats and the budget allows).
fn look_at(file: &SpoolFile, budget: &mut u64, work: &mut Work) -> (FileSummary, StatsSource) {
    let counted = match file.format {
        Format::Arrow => headers(file),
        Format::Parquet => row_count(file).map(|rows| (rows, 0, false)),
    };
    let (rows, batches, torn) = match counted {
        Ok(c) => c,
        Err(e) => {
            let summary = FileSummary {
                error: Some(e.to_string()),
                ..FileSummary::default()
            };
            return (summary, StatsSource::Unknown);
        }
    };
    if file.state == FileState::Active {
        let summary = FileSummary {
            rows,
            batches,
            torn,
            ..FileSummary::default()
        };
        return (summary, StatsSource::Unknown);
    }
    // Stored stats are trusted only when they describe the rows the headers count.
    let stored = file_stats(&file.path, file.format).map_err(file_error);
    match stored {
        Ok(Some(stats)) if stats.rows == rows => {
            return (from_stats(stats, rows, batches), StatsSource::Stored);
        }
        Err(e) => {
            let summary = FileSummary {
                rows,
                batches,
                error: Some(e.to_string()),
                ..FileSummary::default()
            };
            return (summary, StatsSource::Unknown);
        }
        Ok(_) => {}
    }
    if *budget >= file.bytes {
        *budget -= file.bytes;
        work.scanned(file);
        let (summary, _) = summarize(file);
        return (summary, StatsSource::Scanned);
    }
    let summary = FileSummary {
        rows,
        batches,
        ..FileSummary::default()
    };
    (summary, StatsSource::Unknown)
}

/// Inspects `dir` with the default options; `progress(done, total)` is called after each
/// file (for a progress bar); `with_files` keeps the per-file entries (for `--json`).
pub fn inspect(
    dir: &Path,
    with_files: bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<InspectReport, ViewerError> {
    inspect_with(
        dir,
        &InspectOptions::default().with_files(with_files),
        progress,
    )
}

/// Inspects `dir` (see the module docs for what it reads).
pub fn inspect_with(
    dir: &Path,
    opts: &InspectOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<InspectReport, ViewerError> {
    if !dir.is_dir() {
        return Err(ViewerError::io(
            "inspect",
            dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
        ));
    }
    let mut listed = Vec::new();
    for signal in Signal::ALL {
        listed.push((
            signal,
            list_files(dir, signal, true)?,
            list_quarantined(dir, signal)?,
        ));
    }
    let total: u64 = listed.iter().map(|(_, f, _)| f.len() as u64).sum();
    let mut done = 0;
    let mut work = Work::default();
    let mut budget = opts.scan_budget;
    let mut signals = Vec::new();
    for (signal, files, quarantined) in listed {
        let mut r = SignalReport {
            signal: signal.as_str(),
            finalized_files: 0,
            finalized_bytes: 0,
            rows: 0,
            min_time: 0,
            max_time: 0,
            services: Vec::new(),
            metrics: Vec::new(),
            active: Vec::new(),
            quarantined,
            unreadable: Vec::new(),
            scanned_files: 0,
            unknown_files: 0,
            files: Vec::new(),
        };
        for file in files {
            work.files += 1;
            let (summary, stats) = look_at(&file, &mut budget, &mut work);
            let entry = FileEntry {
                path: file.path.clone(),
                state: file.state,
                bytes: file.bytes,
                stats,
                summary,
            };
            let s = &entry.summary;
            if file.state == FileState::Finalized {
                r.finalized_files += 1;
                r.finalized_bytes += file.bytes;
                r.rows += s.rows;
                match stats {
                    StatsSource::Scanned => r.scanned_files += 1,
                    StatsSource::Unknown if s.error.is_none() => r.unknown_files += 1,
                    _ => {}
                }
                if s.min_time > 0 {
                    r.min_time = if r.min_time == 0 {
                        s.min_time
                    } else {
                        r.min_time.min(s.min_time)
                    };
                    r.max_time = r.max_time.max(s.max_time);
                }
                for svc in &s.services {
                    if !r.services.contains(svc) {
                        r.services.push(svc.clone());
                    }
                }
                for m in &s.metrics {
                    match r.metrics.iter_mut().find(|x| x.name == m.name) {
                        Some(x) => x.points += m.points,
                        None => r.metrics.push(m.clone()),
                    }
                }
                if s.error.is_some() {
                    r.unreadable.push(entry.clone());
                }
            } else {
                r.active.push(entry.clone());
            }
            if opts.with_files {
                r.files.push(entry);
            }
            done += 1;
            progress(done, total);
        }
        r.services.sort();
        r.metrics.sort_by(|a, b| a.name.cmp(&b.name));
        signals.push(r);
    }
    Ok(InspectReport {
        dir: dir.to_path_buf(),
        owner: owner(dir),
        signals,
        work,
    })
}

fn bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        1_048_576..1_073_741_824 => format!("{:.1} MiB", n as f64 / 1_048_576.0),
        _ => format!("{:.2} GiB", n as f64 / 1_073_741_824.0),
    }
}

impl InspectReport {
    /// The report as indented JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The report as text for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.dir.display());
        let _ = match &self.owner {
            Owner::None => writeln!(out, "  owner: none (no lock file)"),
            Owner::Running { pid } => writeln!(out, "  owner: pid {pid} (running)"),
            Owner::Stopped { pid: Some(pid) } => writeln!(out, "  owner: pid {pid} (not running)"),
            Owner::Stopped { pid: None } => writeln!(out, "  owner: unknown (not running)"),
        };
        for s in &self.signals {
            let _ = writeln!(
                out,
                "{}: {} files, {} rows, {}",
                s.signal,
                s.finalized_files,
                s.rows,
                bytes(s.finalized_bytes)
            );
            if s.min_time > 0 {
                let _ = writeln!(
                    out,
                    "  time: {} .. {}",
                    format_utc(s.min_time),
                    format_utc(s.max_time)
                );
            }
            if s.scanned_files > 0 {
                let _ = writeln!(
                    out,
                    "  {} files without stored stats were scanned for them",
                    s.scanned_files
                );
            }
            if s.unknown_files > 0 {
                let _ = writeln!(
                    out,
                    "  {} files without stored stats not scanned (scan budget spent): their rows \
                     are counted; time, services and metrics above leave them out",
                    s.unknown_files
                );
            }
            if !s.services.is_empty() {
                let _ = writeln!(out, "  services: {}", s.services.join(", "));
            }
            for m in &s.metrics {
                let unit = if m.unit.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", m.unit)
                };
                let _ = writeln!(
                    out,
                    "  metric {} ({}){unit}: {} points",
                    m.name, m.kind, m.points
                );
            }
            let live = matches!(self.owner, Owner::Running { .. });
            for a in &s.active {
                let what = if live {
                    "being written"
                } else {
                    "left by a crash, recovered at the next start"
                };
                let tail = if a.summary.torn {
                    ", torn tail (cut off by recovery)"
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "  temporary: {} ({}, {} complete rows{tail}; {what})",
                    a.path.display(),
                    bytes(a.bytes),
                    a.summary.rows
                );
            }
            for q in &s.quarantined {
                let _ = writeln!(
                    out,
                    "  quarantined: {} ({})",
                    q.path.display(),
                    bytes(q.bytes)
                );
            }
            for u in &s.unreadable {
                let _ = writeln!(
                    out,
                    "  unreadable: {}: {}",
                    u.path.display(),
                    u.summary.error.as_deref().unwrap_or("")
                );
            }
        }
        out
    }
}
