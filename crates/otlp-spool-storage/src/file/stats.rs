//! [`FileStats`]: what a finalized file holds (rows, time range, services, metrics, highest
//! log severity), gathered while it is written and stored in the file itself, so that
//! `otlp-spool inspect` reads a few hundred bytes per file instead of its columns.
//!
//! Where it is stored:
//! - **Arrow IPC** files: after the stream's end-of-stream marker, a trailer
//!   `[text][u32 LE length of text][magic "OTSPSTA1"]`. Stream readers (arrow-rs, pyarrow,
//!   Polars) stop at the marker and never see it; it is found from the file's end, and only
//!   trusted when it sits right after an end-of-stream marker and its row count matches the
//!   record batch headers (the caller checks the latter).
//! - **Parquet** files: the footer's key-value metadata, key [`STATS_KEY`], same text.
//!
//! The text is one `key<TAB>value...` line per fact, with `\\`, `\t` and `\n` escaped, so it
//! stays readable with `tail -c`. Lists are capped ([`MAX_LISTED`] services and metrics, names
//! up to 1 KiB); past a cap the `*_complete` flag is false.
//!
//! Invariants: gathering never fails a write (a column it does not find or understand
//! leaves its facts out, `time` and lists then empty or incomplete); decoding never panics
//! and rejects anything malformed as a whole (`None`).

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, UInt8Type, UInt64Type};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};

use super::error::FileError;
use super::ipc::{IPC_EOS, guard_panics};
use super::options::Format;
use super::reader::parquet_damaged;
use crate::{SIGNAL_KEY, Signal};

/// The key of the stats in a Parquet file's key-value metadata.
pub const STATS_KEY: &str = "otlp_spool.stats";
/// The last 8 bytes of an Arrow IPC file that carries stats.
const MAGIC: &[u8; 8] = b"OTSPSTA1";
/// Services and metrics listed at most; names longer than [`MAX_NAME`] are not listed.
pub const MAX_LISTED: usize = 512;
const MAX_NAME: usize = 1024;
/// A trailer larger than this is not ours.
const MAX_TRAILER: u64 = 4 << 20;

/// One metric of a metrics file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricStat {
    /// `metric_name`.
    pub name: String,
    /// `metric_type` (`gauge`, `sum`, `histogram`, ...).
    pub kind: String,
    /// `metric_unit`.
    pub unit: String,
    /// Data points.
    pub points: u64,
}

/// What a file holds, as recorded when it was written (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileStats {
    /// Rows.
    pub rows: u64,
    /// Record batches.
    pub batches: u64,
    /// Earliest row time (span start, point time, log time or else observed time), ns; 0
    /// when no row has a time.
    pub min_time: u64,
    /// Latest row time (span end, point time, log time), ns.
    pub max_time: u64,
    /// Distinct `service.name` resource attributes, sorted.
    pub services: Vec<String>,
    /// Whether `services` lists every service of the file.
    pub services_complete: bool,
    /// Metrics files: every metric with its points, by name.
    pub metrics: Vec<MetricStat>,
    /// Whether `metrics` lists every metric of the file.
    pub metrics_complete: bool,
    /// Logs files: the highest `severity_number` (0 otherwise).
    pub max_severity: i32,
}

/// Gathers [`FileStats`] batch by batch, as they are written.
#[derive(Debug, Clone)]
pub(crate) struct StatsBuilder {
    signal: Option<Signal>,
    s: FileStats,
    services: Vec<String>,
    metrics: HashMap<String, MetricStat>,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\\' => out.push('\\'),
            't' => out.push('\t'),
            'n' => out.push('\n'),
            _ => return None,
        }
    }
    Some(out)
}

/// The string at `row` of a `Utf8` or `Dictionary<Int32, Utf8>` column.
fn text_at(col: &ArrayRef, row: usize) -> Option<&str> {
    if !col.is_valid(row) {
        return None;
    }
    if let Some(s) = col.as_string_opt::<i32>() {
        return Some(s.value(row));
    }
    let dict = col.as_dictionary_opt::<Int32Type>()?;
    let key = usize::try_from(dict.keys().value(row)).ok()?;
    let values = dict.values().as_string_opt::<i32>()?;
    (key < values.len() && values.is_valid(key)).then(|| values.value(key))
}

/// The `service.name` string attributes in an attribute list array.
fn list_services(list: &ArrayRef, out: &mut Vec<String>) -> Option<()> {
    let list = list.as_list_opt::<i32>()?;
    let entries = list.values().as_struct_opt()?;
    let keys: &StringArray = entries.column_by_name("key")?.as_string_opt::<i32>()?;
    let values = entries.column_by_name("value")?.as_struct_opt()?;
    let types = values
        .column_by_name("type")?
        .as_primitive_opt::<UInt8Type>()?;
    let strings: &StringArray = values
        .column_by_name("string_value")?
        .as_string_opt::<i32>()?;
    let offsets = list.value_offsets();
    for row in 0..list.len() {
        if !list.is_valid(row) {
            continue;
        }
        let (lo, hi) = (
            usize::try_from(offsets[row]).ok()?,
            usize::try_from(offsets[row + 1]).ok()?,
        );
        let hit =
            (lo..hi.min(keys.len())).find(|&j| keys.is_valid(j) && keys.value(j) == "service.name");
        if let Some(j) = hit
            && values.is_valid(j)
            && types.value(j) == 1
            && strings.is_valid(j)
        {
            let name = strings.value(j);
            if !out.iter().any(|s| s == name) {
                out.push(name.to_owned());
            }
        }
    }
    Some(())
}

impl StatsBuilder {
    /// A builder for batches of `schema` (its signal is read from its metadata; batches of an
    /// unknown signal give rows and batches only).
    pub(crate) fn new(schema: &arrow_schema::Schema) -> StatsBuilder {
        let signal = schema
            .metadata()
            .get(SIGNAL_KEY)
            .and_then(|s| Signal::ALL.into_iter().find(|x| x.as_str() == s));
        StatsBuilder {
            signal,
            s: FileStats {
                services_complete: true,
                metrics_complete: true,
                ..FileStats::default()
            },
            services: Vec::new(),
            metrics: HashMap::new(),
        }
    }

    fn time(&mut self, lo: u64, hi: u64) {
        if lo == 0 && hi == 0 {
            return;
        }
        if self.s.min_time == 0 || (lo != 0 && lo < self.s.min_time) {
            self.s.min_time = lo.max(1);
        }
        self.s.max_time = self.s.max_time.max(hi);
    }

    fn u64s<'a>(batch: &'a RecordBatch, name: &str) -> Option<&'a arrow_array::UInt64Array> {
        batch.column_by_name(name)?.as_primitive_opt::<UInt64Type>()
    }

    /// Adds one written batch.
    pub(crate) fn add(&mut self, batch: &RecordBatch) {
        let n = batch.num_rows();
        self.s.rows += n as u64;
        self.s.batches += 1;
        let Some(signal) = self.signal else { return };
        if let Some(col) = batch.column_by_name("resource_attributes") {
            let listed = match col.as_any_dictionary_opt() {
                Some(dict) => list_services(dict.values(), &mut self.services),
                None => list_services(col, &mut self.services),
            };
            if listed.is_none() {
                self.s.services_complete = false;
            }
        }
        match signal {
            Signal::Traces => {
                if let (Some(starts), Some(ends)) = (
                    Self::u64s(batch, "start_time_unix_nano"),
                    Self::u64s(batch, "end_time_unix_nano"),
                ) {
                    for i in 0..n {
                        let (s, e) = (starts.value(i), ends.value(i));
                        self.time(s, e.max(s));
                    }
                }
            }
            Signal::Metrics => {
                if let Some(times) = Self::u64s(batch, "time_unix_nano") {
                    for &t in times.values() {
                        self.time(t, t);
                    }
                }
                self.add_metrics(batch);
            }
            Signal::Logs => {
                let observed = Self::u64s(batch, "observed_time_unix_nano");
                if let Some(times) = Self::u64s(batch, "time_unix_nano") {
                    for i in 0..n {
                        let t = match times.value(i) {
                            0 => observed.map_or(0, |o| o.value(i)),
                            t => t,
                        };
                        self.time(t, t);
                    }
                }
                if let Some(sev) = batch
                    .column_by_name("severity_number")
                    .and_then(|c| c.as_primitive_opt::<Int32Type>())
                    && let Some(&max) = sev.values().iter().max()
                {
                    self.s.max_severity = self.s.max_severity.max(max);
                }
            }
        }
    }

    fn add_metrics(&mut self, batch: &RecordBatch) {
        let (Some(names), Some(kinds), Some(units)) = (
            batch.column_by_name("metric_name"),
            batch.column_by_name("metric_type"),
            batch.column_by_name("metric_unit"),
        ) else {
            self.s.metrics_complete = false;
            return;
        };
        // Rows per dictionary key (one lookup per distinct metric, not per row).
        if let Some(dict) = names.as_dictionary_opt::<Int32Type>() {
            let mut counts: HashMap<i32, (u64, usize)> = HashMap::new();
            for (row, key) in dict.keys().values().iter().enumerate() {
                counts.entry(*key).or_insert((0, row)).0 += 1;
            }
            for (points, row) in counts.into_values() {
                self.metric(names, kinds, units, row, points);
            }
        } else {
            for row in 0..batch.num_rows() {
                self.metric(names, kinds, units, row, 1);
            }
        }
    }

    fn metric(
        &mut self,
        names: &ArrayRef,
        kinds: &ArrayRef,
        units: &ArrayRef,
        row: usize,
        points: u64,
    ) {
        let Some(name) = text_at(names, row) else {
            return;
        };
        if let Some(m) = self.metrics.get_mut(name) {
            m.points += points;
        } else if self.metrics.len() >= MAX_LISTED || name.len() > MAX_NAME {
            self.s.metrics_complete = false;
        } else {
            self.metrics.insert(
                name.to_owned(),
                MetricStat {
                    name: name.to_owned(),
                    kind: text_at(kinds, row).unwrap_or("").to_owned(),
                    unit: text_at(units, row).unwrap_or("").to_owned(),
                    points,
                },
            );
        }
    }

    /// The stats of every batch added.
    pub(crate) fn finish(&self) -> FileStats {
        let mut s = self.s.clone();
        let mut services: Vec<String> = self
            .services
            .iter()
            .filter(|n| n.len() <= MAX_NAME)
            .cloned()
            .collect();
        if services.len() != self.services.len() || services.len() > MAX_LISTED {
            s.services_complete = false;
        }
        services.sort();
        services.truncate(MAX_LISTED);
        s.services = services;
        let mut metrics: Vec<MetricStat> = self.metrics.values().cloned().collect();
        metrics.sort_by(|a, b| a.name.cmp(&b.name));
        s.metrics = metrics;
        s
    }
}

impl FileStats {
    /// The text form (see the module docs).
    pub fn encode(&self) -> String {
        let mut out = format!(
            "otlp-spool-stats\t1\nrows\t{}\nbatches\t{}\ntime\t{}\t{}\nmax_severity\t{}\nservices_complete\t{}\nmetrics_complete\t{}\n",
            self.rows,
            self.batches,
            self.min_time,
            self.max_time,
            self.max_severity,
            u8::from(self.services_complete),
            u8::from(self.metrics_complete),
        );
        for s in &self.services {
            out.push_str("service\t");
            out.push_str(&escape(s));
            out.push('\n');
        }
        for m in &self.metrics {
            out.push_str(&format!(
                "metric\t{}\t{}\t{}\t{}\n",
                escape(&m.name),
                escape(&m.kind),
                escape(&m.unit),
                m.points
            ));
        }
        out
    }

    /// Parses [`FileStats::encode`]'s text; `None` when anything is malformed.
    pub fn decode(text: &str) -> Option<FileStats> {
        let mut lines = text.lines();
        if lines.next()? != "otlp-spool-stats\t1" {
            return None;
        }
        let mut s = FileStats::default();
        let flag = |v: &str| match v {
            "0" => Some(false),
            "1" => Some(true),
            _ => None,
        };
        for line in lines {
            let mut f = line.split('\t');
            let key = f.next()?;
            let mut next = || f.next();
            match key {
                "rows" => s.rows = next()?.parse().ok()?,
                "batches" => s.batches = next()?.parse().ok()?,
                "time" => {
                    s.min_time = next()?.parse().ok()?;
                    s.max_time = next()?.parse().ok()?;
                }
                "max_severity" => s.max_severity = next()?.parse().ok()?,
                "services_complete" => s.services_complete = flag(next()?)?,
                "metrics_complete" => s.metrics_complete = flag(next()?)?,
                "service" => s.services.push(unescape(next()?)?),
                "metric" => s.metrics.push(MetricStat {
                    name: unescape(next()?)?,
                    kind: unescape(next()?)?,
                    unit: unescape(next()?)?,
                    points: next()?.parse().ok()?,
                }),
                // Facts of a later version: skipped.
                _ => {}
            }
        }
        Some(s)
    }

    /// The trailer appended after an IPC stream's end-of-stream marker.
    pub(crate) fn trailer(&self) -> Vec<u8> {
        let text = self.encode();
        let mut out = Vec::with_capacity(text.len() + 12);
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(&(text.len() as u32).to_le_bytes());
        out.extend_from_slice(MAGIC);
        out
    }
}

/// The stats stored in the Arrow IPC file at `path` (its trailer), `None` when it has none
/// (written before stats existed, recovered after a crash, or not ours).
pub fn read_ipc_stats(path: &Path) -> Result<Option<FileStats>, FileError> {
    let mut f = File::open(path).map_err(|e| FileError::io("open", path, e))?;
    let len = f
        .metadata()
        .map_err(|e| FileError::io("stat", path, e))?
        .len();
    if len < 20 {
        return Ok(None);
    }
    let mut tail = [0u8; 12];
    f.seek(SeekFrom::Start(len - 12))
        .and_then(|_| f.read_exact(&mut tail))
        .map_err(|e| FileError::io("read", path, e))?;
    if &tail[4..] != MAGIC {
        return Ok(None);
    }
    let text_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if text_len > MAX_TRAILER || text_len + 12 + 8 > len {
        return Ok(None);
    }
    let start = len - 12 - text_len - 8;
    let mut buf = vec![0u8; text_len as usize + 8];
    f.seek(SeekFrom::Start(start))
        .and_then(|_| f.read_exact(&mut buf))
        .map_err(|e| FileError::io("read", path, e))?;
    if buf[..8] != IPC_EOS {
        return Ok(None);
    }
    Ok(std::str::from_utf8(&buf[8..])
        .ok()
        .and_then(FileStats::decode))
}

/// The stats stored in a finalized file (an Arrow IPC file's trailer, a Parquet file's footer
/// metadata); `None` when it has none (written before stats existed, or recovered after a
/// crash). Reads a few hundred bytes (IPC) or the Parquet footer; a damaged footer is an error
/// naming the file, never a panic.
pub fn file_stats(path: &Path, format: Format) -> Result<Option<FileStats>, FileError> {
    match format {
        Format::Arrow => read_ipc_stats(path),
        Format::Parquet => {
            use parquet::file::reader::FileReader as _;
            let file = File::open(path).map_err(|e| FileError::io("open", path, e))?;
            let read = guard_panics(|| {
                Some(
                    parquet::file::reader::SerializedFileReader::new(file).map(|r| {
                        r.metadata()
                            .file_metadata()
                            .key_value_metadata()
                            .and_then(|kv| kv.iter().find(|kv| kv.key == STATS_KEY))
                            .and_then(|kv| kv.value.as_deref())
                            .and_then(FileStats::decode)
                    }),
                )
            });
            match read {
                Some(Ok(stats)) => Ok(stats),
                Some(Err(what)) => Err(parquet_damaged(path, what)),
                None => Ok(None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_with_escapes() {
        let s = FileStats {
            rows: 7,
            batches: 2,
            min_time: 1,
            max_time: 9,
            services: vec!["a\tb".into(), "c\\n\nd".into(), "plain".into()],
            services_complete: true,
            metrics: vec![MetricStat {
                name: "m\t1".into(),
                kind: "sum".into(),
                unit: "".into(),
                points: 3,
            }],
            metrics_complete: false,
            max_severity: 17,
        };
        assert_eq!(FileStats::decode(&s.encode()), Some(s));
        assert_eq!(FileStats::decode("nope"), None);
        assert_eq!(FileStats::decode("otlp-spool-stats\t1\nrows\tx\n"), None);
        assert_eq!(
            FileStats::decode("otlp-spool-stats\t1\nservice\tbad\\q\n"),
            None
        );
    }
}
