//! The per-file index: a small [`FileSummary`] of every file the viewer has looked at, kept for
//! as long as the file exists, plus the per-trace aggregates of trace files in a cache bounded
//! by memory.
//!
//! A summary is built by one projected scan of the file (only the columns listed in
//! [`summary_columns`]) and keyed by path, size and state: finalized files never change once
//! renamed, so their summary is built once; an active file is summarized again when it has
//! grown. What a summary holds is what lets a query skip a file without opening it: the rows'
//! time range, the services, the span or metric names (up to [`NAME_CAP`]), the highest log
//! severity, and a sorted list of (64-bit hash of a trace id, batch position) for the trace ids
//! it holds (or, for logs, mentions), so a trace lookup decodes only the batches that hold the
//! trace (a hash collision costs one useless decode, never a wrong answer: rows are compared
//! by id).
//!
//! Invariants: the index never holds a summary for a (path, size, state) that is not the
//! file's current one; the aggregate cache never holds more than its byte budget (the entry
//! just built excepted, when it alone is larger); nothing here writes to the spool.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;

use otlp_spool_storage::Signal;
use parking_lot::Mutex;

use crate::columns::{I32, NO_SERVICE, ServiceCol, StrCol, U64};
use crate::files::{FileState, SpoolFile};
use crate::scan::scan;

/// Distinct span or metric names kept per file; past it, `names_complete` is false and name
/// filters can no longer skip the file.
pub const NAME_CAP: usize = 512;

/// The 64-bit hash the index keeps of a trace id (lowercase hex).
pub(crate) fn trace_hash(id: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// One metric in a metrics file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MetricInfo {
    /// `metric_name`.
    pub name: String,
    /// `gauge`, `sum`, `histogram`, `exponential_histogram` or `summary`.
    pub kind: String,
    /// `metric_unit`.
    pub unit: String,
    /// Data points in the file.
    pub points: u64,
}

/// What the index knows of one file.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FileSummary {
    /// Rows (spans, data points, log records).
    pub rows: u64,
    /// Record batches.
    pub batches: u64,
    /// Rows of each batch, in file order.
    #[serde(skip)]
    pub batch_rows: Vec<u32>,
    /// Earliest row time (span start, point time, log time or else observed time), ns; 0 with
    /// no rows.
    pub min_time: u64,
    /// Latest row time (span end, point time, log time), ns.
    pub max_time: u64,
    /// Distinct `service.name` resource attributes.
    pub services: Vec<String>,
    /// Distinct span names (traces) or metric names (metrics), sorted; capped at [`NAME_CAP`].
    pub names: Vec<String>,
    /// Whether `names` holds every name of the file.
    pub names_complete: bool,
    /// Metrics files: each metric with its type, unit and point count.
    pub metrics: Vec<MetricInfo>,
    /// Logs files: the highest `severity_number`.
    pub max_severity: i32,
    /// Sorted, distinct (hash of a trace id, batch position) pairs of the trace ids held
    /// (traces) or referenced (logs).
    #[serde(skip)]
    pub trace_index: Vec<(u64, u32)>,
    /// An active file whose last message was incomplete (being written, or torn by a crash).
    pub torn: bool,
    /// Why the file could not be read to its end, if it could not.
    pub error: Option<String>,
}

impl FileSummary {
    /// Whether the file may hold the trace with this hash.
    pub(crate) fn may_hold(&self, hash: u64) -> bool {
        !self.batches_holding(hash).is_empty()
    }

    /// The positions of the batches that may hold the trace with this hash, sorted.
    pub(crate) fn batches_holding(&self, hash: u64) -> Vec<u32> {
        let start = self.trace_index.partition_point(|&(h, _)| h < hash);
        self.trace_index[start..]
            .iter()
            .take_while(|&&(h, _)| h == hash)
            .map(|&(_, b)| b)
            .collect()
    }

    /// Whether some row may fall in `[since, until)`.
    pub(crate) fn overlaps(&self, since: Option<u64>, until: Option<u64>) -> bool {
        self.rows > 0
            && since.is_none_or(|s| self.max_time >= s)
            && until.is_none_or(|u| self.min_time < u)
    }

    /// Whether the file may hold a row of `service`.
    pub(crate) fn has_service(&self, service: Option<&str>) -> bool {
        service.is_none_or(|s| self.services.iter().any(|x| x == s))
    }

    /// Whether the file may hold a row named `name` (exactly).
    pub(crate) fn may_have_name(&self, name: &str) -> bool {
        !self.names_complete
            || self
                .names
                .binary_search_by(|n| n.as_str().cmp(name))
                .is_ok()
    }

    fn heap_bytes(&self) -> usize {
        let strings = |v: &[String]| v.iter().map(|s| s.len() + 24).sum::<usize>();
        std::mem::size_of::<Self>()
            + strings(&self.services)
            + strings(&self.names)
            + self.metrics.len() * 96
            + self.trace_index.len() * 16
            + self.batch_rows.len() * 4
    }
}

/// One trace as seen in one file (a file's list is sorted newest first).
#[derive(Debug, Clone)]
pub(crate) struct TraceAgg {
    pub(crate) id: String,
    pub(crate) spans: u32,
    pub(crate) errors: u32,
    pub(crate) start: u64,
    pub(crate) end: u64,
    /// The root span (no parent): its name and service (an index into the file's services).
    pub(crate) root: Option<(String, u32)>,
    /// The name of the earliest span seen, shown when the root is elsewhere.
    pub(crate) first_name: String,
    /// Bit i set: a span of file service i (services past 63 share bit 63).
    pub(crate) services: u64,
}

impl TraceAgg {
    fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.id.len()
            + self.first_name.len()
            + self.root.as_ref().map_or(0, |r| r.0.len())
    }
}

/// The columns a summary of `signal` reads.
pub(crate) fn summary_columns(signal: Signal) -> &'static [&'static str] {
    match signal {
        Signal::Traces => &[
            "resource_attributes",
            "trace_id",
            "parent_span_id",
            "name",
            "start_time_unix_nano",
            "end_time_unix_nano",
            "status_code",
        ],
        Signal::Metrics => &[
            "resource_attributes",
            "metric_name",
            "metric_type",
            "metric_unit",
            "time_unix_nano",
        ],
        Signal::Logs => &[
            "resource_attributes",
            "time_unix_nano",
            "observed_time_unix_nano",
            "severity_number",
            "trace_id",
        ],
    }
}

/// Accumulates a summary batch by batch.
#[derive(Default)]
struct Builder {
    s: FileSummary,
    names: std::collections::BTreeSet<String>,
    metrics: HashMap<String, MetricInfo>,
    hashes: Vec<(u64, u32)>,
    traces: HashMap<String, TraceAgg>,
}

impl Builder {
    fn time(&mut self, lo: u64, hi: u64) {
        if lo == 0 && hi == 0 {
            return;
        }
        if self.s.min_time == 0 || (lo != 0 && lo < self.s.min_time) {
            self.s.min_time = lo.max(1);
        }
        self.s.max_time = self.s.max_time.max(hi);
    }

    fn name(&mut self, name: &str) {
        if self.names.len() < NAME_CAP {
            if !self.names.contains(name) {
                self.names.insert(name.to_owned());
            }
        } else if !self.names.contains(name) {
            self.s.names_complete = false;
        }
    }

    /// File-level service indices of a batch's services.
    fn services(&mut self, col: &ServiceCol) -> Vec<u32> {
        col.names
            .iter()
            .map(|n| match self.s.services.iter().position(|s| s == n) {
                Some(p) => p as u32,
                None => {
                    self.s.services.push(n.clone());
                    (self.s.services.len() - 1) as u32
                }
            })
            .collect()
    }

    fn add(&mut self, signal: Signal, batch: &arrow_array::RecordBatch) {
        let n = batch.num_rows();
        let position = self.s.batches as u32;
        self.s.rows += n as u64;
        self.s.batches += 1;
        self.s.batch_rows.push(n as u32);
        let services = ServiceCol::of(batch);
        let map = self.services(&services);
        let service = |i: usize| match services.rows[i] {
            NO_SERVICE => NO_SERVICE,
            b => map[b as usize],
        };
        match signal {
            Signal::Traces => {
                let (ids, parents, names) = (
                    StrCol::of(batch, "trace_id"),
                    StrCol::of(batch, "parent_span_id"),
                    StrCol::of(batch, "name"),
                );
                let (starts, ends) = (
                    U64::of(batch, "start_time_unix_nano"),
                    U64::of(batch, "end_time_unix_nano"),
                );
                let status = I32::of(batch, "status_code");
                for i in 0..n {
                    let (start, end) = (starts.get(i).unwrap_or(0), ends.get(i).unwrap_or(0));
                    self.time(start, end.max(start));
                    let name = names.str(i);
                    self.name(name);
                    let id = ids.str(i);
                    if i == 0 || ids.get(i - 1) != Some(id) {
                        self.hashes.push((trace_hash(id), position));
                    }
                    let svc = service(i);
                    if !self.traces.contains_key(id) {
                        let agg = TraceAgg {
                            id: id.to_owned(),
                            spans: 0,
                            errors: 0,
                            start,
                            end,
                            root: None,
                            first_name: name.to_owned(),
                            services: 0,
                        };
                        self.traces.insert(id.to_owned(), agg);
                    }
                    let Some(agg) = self.traces.get_mut(id) else {
                        continue;
                    };
                    agg.spans += 1;
                    agg.errors += u32::from(status.get(i) == Some(2));
                    if start < agg.start {
                        agg.start = start;
                        agg.first_name = name.to_owned();
                    }
                    agg.end = agg.end.max(end);
                    if svc != NO_SERVICE {
                        agg.services |= 1 << svc.min(63);
                    }
                    if parents.str(i).is_empty() && agg.root.is_none() {
                        agg.root = Some((name.to_owned(), svc));
                    }
                }
            }
            Signal::Metrics => {
                let (names, kinds, units) = (
                    StrCol::of(batch, "metric_name"),
                    StrCol::of(batch, "metric_type"),
                    StrCol::of(batch, "metric_unit"),
                );
                let times = U64::of(batch, "time_unix_nano");
                for i in 0..n {
                    let t = times.get(i).unwrap_or(0);
                    self.time(t, t);
                    let name = names.str(i);
                    self.name(name);
                    match self.metrics.get_mut(name) {
                        Some(m) => m.points += 1,
                        None => {
                            self.metrics.insert(
                                name.to_owned(),
                                MetricInfo {
                                    name: name.to_owned(),
                                    kind: kinds.str(i).to_owned(),
                                    unit: units.str(i).to_owned(),
                                    points: 1,
                                },
                            );
                        }
                    }
                }
            }
            Signal::Logs => {
                let times = U64::of(batch, "time_unix_nano");
                let observed = U64::of(batch, "observed_time_unix_nano");
                let severity = I32::of(batch, "severity_number");
                let ids = StrCol::of(batch, "trace_id");
                for i in 0..n {
                    let t = log_time(times.get(i), observed.get(i));
                    self.time(t, t);
                    self.s.max_severity = self.s.max_severity.max(severity.get(i).unwrap_or(0));
                    let id = ids.str(i);
                    if !id.is_empty() {
                        self.hashes.push((trace_hash(id), position));
                    }
                }
            }
        }
    }

    fn finish(mut self) -> (FileSummary, Vec<TraceAgg>) {
        self.s.names = self.names.into_iter().collect();
        let mut metrics: Vec<MetricInfo> = self.metrics.into_values().collect();
        metrics.sort_by(|a, b| a.name.cmp(&b.name));
        self.s.metrics = metrics;
        let mut hashes = self.hashes;
        hashes.sort_unstable();
        hashes.dedup();
        hashes.shrink_to_fit();
        self.s.trace_index = hashes;
        let mut traces: Vec<TraceAgg> = self.traces.into_values().collect();
        // Newest first: the trace list stops reading a file once it has enough.
        traces.sort_unstable_by(|a, b| b.start.cmp(&a.start).then_with(|| a.id.cmp(&b.id)));
        (self.s, traces)
    }
}

/// The time of a log record: its own time, else when it was observed.
pub(crate) fn log_time(time: Option<u64>, observed: Option<u64>) -> u64 {
    match time {
        Some(t) if t != 0 => t,
        _ => observed.unwrap_or(0),
    }
}

/// Summarizes one file (one projected scan); trace files also give their trace aggregates.
pub(crate) fn summarize(file: &SpoolFile) -> (FileSummary, Vec<TraceAgg>) {
    let mut b = Builder {
        s: FileSummary {
            names_complete: true,
            ..FileSummary::default()
        },
        ..Builder::default()
    };
    match scan(file, Some(summary_columns(file.signal))) {
        Ok(mut batches) => {
            for batch in batches.by_ref() {
                match batch {
                    Ok(batch) => b.add(file.signal, &batch),
                    Err(e) => b.s.error = Some(e.to_string()),
                }
            }
            b.s.torn = batches.torn();
        }
        Err(e) => b.s.error = Some(e.to_string()),
    }
    b.finish()
}

#[derive(Debug)]
struct Cached {
    bytes: u64,
    state: FileState,
    summary: Arc<FileSummary>,
}

/// A cache entry: file size, aggregates, their estimated bytes, last use.
type AggEntry = (u64, Arc<Vec<TraceAgg>>, usize, u64);

#[derive(Debug, Default)]
struct AggCache {
    entries: HashMap<PathBuf, AggEntry>,
    total: usize,
    tick: u64,
}

/// How much a query read, for the page footer and the README's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Work {
    /// Files looked at (index or scan).
    pub files: u64,
    /// File reads by this query (a summary scan and a later read of the same file count twice).
    pub files_scanned: u64,
    /// Bytes read: whole files for scans, the batches' bodies for selective reads.
    pub bytes_scanned: u64,
    /// Files skipped thanks to their summary.
    pub files_skipped: u64,
    /// Files left unread because the scan budget was spent (older data not shown).
    pub files_left: u64,
    /// Files skipped because they could not be read (damaged; logged with their path).
    pub files_damaged: u64,
}

impl Work {
    pub(crate) fn scanned(&mut self, file: &SpoolFile) {
        self.files_scanned += 1;
        self.bytes_scanned += file.bytes;
    }
}

/// The index (see the module docs). Shared by every query of a `Viewer`.
#[derive(Debug)]
pub(crate) struct Index {
    summaries: Mutex<HashMap<PathBuf, Cached>>,
    aggs: Mutex<AggCache>,
    agg_budget: usize,
}

impl Index {
    pub(crate) fn new(agg_budget: usize) -> Index {
        Index {
            summaries: Mutex::new(HashMap::new()),
            aggs: Mutex::new(AggCache::default()),
            agg_budget,
        }
    }

    fn cached(&self, file: &SpoolFile) -> Option<Arc<FileSummary>> {
        if file.state == FileState::Pending {
            return None;
        }
        self.summaries
            .lock()
            .get(&file.path)
            .filter(|c| c.bytes == file.bytes && c.state == file.state)
            .map(|c| c.summary.clone())
    }

    fn store(
        &self,
        file: &SpoolFile,
        summary: FileSummary,
        aggs: Vec<TraceAgg>,
    ) -> Arc<FileSummary> {
        let summary = Arc::new(summary);
        if file.state == FileState::Pending {
            // A snapshot of the lanes: summarized per query, never kept.
            return summary;
        }
        self.summaries.lock().insert(
            file.path.clone(),
            Cached {
                bytes: file.bytes,
                state: file.state,
                summary: summary.clone(),
            },
        );
        if file.signal == Signal::Traces {
            // A by-product of indexing (a lookup indexing every file, say): kept only if it
            // fits, never at the expense of aggregates the trace list is using.
            self.store_aggs(file, Arc::new(aggs), false);
        }
        summary
    }

    fn store_aggs(&self, file: &SpoolFile, aggs: Arc<Vec<TraceAgg>>, evict: bool) {
        let size: usize = aggs.iter().map(TraceAgg::heap_bytes).sum::<usize>() + 64;
        let mut cache = self.aggs.lock();
        if !evict && cache.total + size > self.agg_budget {
            return;
        }
        cache.tick += 1;
        let tick = cache.tick;
        if let Some(old) = cache
            .entries
            .insert(file.path.clone(), (file.bytes, aggs, size, tick))
        {
            cache.total -= old.2;
        }
        cache.total += size;
        while cache.total > self.agg_budget && cache.entries.len() > 1 {
            let Some(oldest) = cache
                .entries
                .iter()
                .filter(|(p, _)| **p != file.path)
                .min_by_key(|(_, e)| e.3)
                .map(|(p, _)| p.clone())
            else {
                break;
            };
            if let Some(e) = cache.entries.remove(&oldest) {
                cache.total -= e.2;
            }
        }
    }

    /// The summary of `file`, from the index or built now (counted in `work`).
    pub(crate) fn summary(&self, file: &SpoolFile, work: &mut Work) -> Arc<FileSummary> {
        work.files += 1;
        if let Some(s) = self.cached(file) {
            return s;
        }
        work.scanned(file);
        let (summary, aggs) = summarize(file);
        self.store(file, summary, aggs)
    }

    /// Whether `file`'s summary is in the index already.
    pub(crate) fn has_summary(&self, file: &SpoolFile) -> bool {
        self.cached(file).is_some()
    }

    /// The per-trace aggregates of a traces file, from the cache or built now.
    pub(crate) fn trace_aggs(&self, file: &SpoolFile, work: &mut Work) -> Arc<Vec<TraceAgg>> {
        if file.state == FileState::Pending {
            return Arc::new(summarize(file).1);
        }
        {
            let mut cache = self.aggs.lock();
            cache.tick += 1;
            let tick = cache.tick;
            if let Some(e) = cache.entries.get_mut(&file.path)
                && e.0 == file.bytes
            {
                e.3 = tick;
                return e.1.clone();
            }
        }
        work.scanned(file);
        let (summary, aggs) = summarize(file);
        let aggs = Arc::new(aggs);
        self.store(file, summary, Vec::new());
        self.store_aggs(file, aggs.clone(), true);
        aggs
    }

    /// Forgets files of `signal` that are no longer listed (deleted by retention).
    pub(crate) fn retain(&self, signal: Signal, listed: &[SpoolFile]) {
        let live: std::collections::HashSet<&PathBuf> = listed.iter().map(|f| &f.path).collect();
        let sig_dir = |p: &PathBuf| {
            p.parent()
                .and_then(|d| d.file_name())
                .is_some_and(|n| n == signal.as_str())
        };
        self.summaries
            .lock()
            .retain(|p, _| !sig_dir(p) || live.contains(p));
        let mut cache = self.aggs.lock();
        let gone: Vec<PathBuf> = cache
            .entries
            .keys()
            .filter(|p| sig_dir(p) && !live.contains(p))
            .cloned()
            .collect();
        for p in gone {
            if let Some(e) = cache.entries.remove(&p) {
                cache.total -= e.2;
            }
        }
    }

    /// Summaries held and the bytes they take, aggregate cache bytes.
    pub(crate) fn stats(&self) -> (usize, usize, usize) {
        let summaries = self.summaries.lock();
        let bytes = summaries.values().map(|c| c.summary.heap_bytes()).sum();
        (summaries.len(), bytes, self.aggs.lock().total)
    }
}
