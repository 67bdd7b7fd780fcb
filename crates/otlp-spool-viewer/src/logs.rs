//! Log search: newest files first, each skipped when its summary rules it out (time range,
//! services, highest severity, trace ids mentioned). In the rest, the filter runs on the Arrow
//! columns it needs (decoded alone); then only the batches holding the latest matches are
//! decoded whole, and only the matching rows are turned back into OTLP log records.
//!
//! Bounds: the search stops after the file in which it reached `limit` matches, or when the scan
//! budget is spent (the page then says how many files were left unsearched); per file at most
//! `limit` matches (the latest) are converted.

use arrow_array::{RecordBatch, UInt32Array};
use otlp_spool_storage::{Signal, arrow_to_logs};

use crate::columns::{AnyCol, I32, ServiceCol, StrCol, U64};
use crate::error::ViewerError;
use crate::index::{Work, log_time, trace_hash};
use crate::scan::{scan, scan_selected};
use crate::traces::contains_folded;
use crate::value;
use crate::viewer::Viewer;

/// Filters of the log search. Times are ns since the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    /// Only records with `severity_number` at least this (OTLP: 5 DEBUG, 9 INFO, 13 WARN,
    /// 17 ERROR, 21 FATAL).
    pub min_severity: Option<i32>,
    /// Only records whose body contains this text (case-insensitive).
    pub text: Option<String>,
    /// Only records of this service.
    pub service: Option<String>,
    /// Only records of this trace (hex).
    pub trace_id: Option<String>,
    /// Only records at or after this time.
    pub since: Option<u64>,
    /// Only records before this time.
    pub until: Option<u64>,
    /// At most this many records (newest first).
    pub limit: usize,
}

impl Default for LogQuery {
    fn default() -> Self {
        LogQuery {
            min_severity: None,
            text: None,
            service: None,
            trace_id: None,
            since: None,
            until: None,
            limit: 100,
        }
    }
}

/// One log record as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogRow {
    /// Its time (else its observed time), ns.
    pub time: u64,
    /// `severity_number`.
    pub severity_number: i32,
    /// `severity_text`, else the name of the severity number's range.
    pub severity: String,
    /// `service.name` of its resource.
    pub service: String,
    /// The body as text.
    pub body: String,
    /// Its attributes.
    pub attributes: Vec<(String, String)>,
    /// Lowercase hex, empty when none.
    pub trace_id: String,
    /// Lowercase hex, empty when none.
    pub span_id: String,
}

/// The answer to a [`LogQuery`].
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LogList {
    /// Newest first.
    pub rows: Vec<LogRow>,
    /// Services seen in the files looked at.
    pub services: Vec<String>,
    /// What the search read.
    pub work: Work,
}

/// The OTLP name of a severity number's range (`INFO` for 9 to 12, ...).
pub fn severity_name(number: i32) -> &'static str {
    match number {
        1..=4 => "TRACE",
        5..=8 => "DEBUG",
        9..=12 => "INFO",
        13..=16 => "WARN",
        17..=20 => "ERROR",
        21..=24 => "FATAL",
        _ => "UNSPECIFIED",
    }
}

/// The columns the filters read.
const FILTER_COLUMNS: &[&str] = &[
    "resource_attributes",
    "time_unix_nano",
    "observed_time_unix_nano",
    "severity_number",
    "body",
    "trace_id",
];

impl Viewer {
    /// Log records matching `q`, newest first (see the module docs for what is read).
    pub fn logs(&self, q: &LogQuery) -> Result<LogList, ViewerError> {
        let files = self.files(Signal::Logs)?;
        let text = q.text.as_deref().map(str::to_ascii_lowercase);
        let trace = q.trace_id.as_deref().map(str::to_ascii_lowercase);
        let mut work = Work::default();
        let mut rows: Vec<LogRow> = Vec::new();
        let mut services: Vec<String> = Vec::new();
        for (i, file) in files.iter().enumerate() {
            if rows.len() >= q.limit {
                break;
            }
            if work.bytes_scanned >= self.budget() {
                work.files_left = (files.len() - i) as u64;
                break;
            }
            let summary = self.index().summary(file, &mut work);
            for s in &summary.services {
                if !services.contains(s) {
                    services.push(s.clone());
                }
            }
            if !summary.overlaps(q.since, q.until)
                || !summary.has_service(q.service.as_deref())
                || q.min_severity.is_some_and(|m| summary.max_severity < m)
                || trace
                    .as_deref()
                    .is_some_and(|t| !summary.may_hold(trace_hash(t)))
            {
                work.files_skipped += 1;
                continue;
            }
            let searched = self.search_file(
                file,
                &summary,
                q,
                text.as_deref(),
                trace.as_deref(),
                &mut work,
                rows.len(),
            );
            match searched {
                Ok(found) => rows.extend(found),
                Err(e) => self.damaged(file, &e, &mut work),
            }
        }
        rows.sort_by_key(|r| std::cmp::Reverse(r.time));
        rows.truncate(q.limit);
        services.sort();
        Ok(LogList {
            rows,
            services,
            work,
        })
    }

    /// Phase 1 and 2 of one file of [`Viewer::logs`]: its matching rows, at most `q.limit -
    /// have` of them (the latest).
    #[allow(clippy::too_many_arguments)]
    fn search_file(
        &self,
        file: &crate::files::SpoolFile,
        summary: &crate::index::FileSummary,
        q: &LogQuery,
        text: Option<&str>,
        trace: Option<&str>,
        work: &mut Work,
        have: usize,
    ) -> Result<Vec<LogRow>, ViewerError> {
        let mut out = Vec::new();
        // Phase 1: the filter columns only (of the batches that mention the trace, when
        // one is asked for); phase 2: every column of the batches with the latest hits.
        // Without filters the hits are the last rows, known from the summary.
        let unfiltered = q.min_severity.is_none()
            && text.is_none()
            && q.service.is_none()
            && trace.is_none()
            && q.since.is_none()
            && q.until.is_none();
        let batches: Vec<(u32, RecordBatch)> = match trace {
            _ if unfiltered => Vec::new(),
            Some(t) => {
                let holding = summary.batches_holding(trace_hash(t));
                scan_selected(file, &holding, Some(FILTER_COLUMNS), work)?
            }
            None => {
                work.scanned(file);
                let mut all = Vec::new();
                for (i, b) in scan(file, Some(FILTER_COLUMNS))?.enumerate() {
                    all.push((i as u32, b?));
                }
                all
            }
        };
        let mut hits: Vec<(u32, u32)> = Vec::new();
        for (position, batch) in &batches {
            let times = U64::of(batch, "time_unix_nano");
            let observed = U64::of(batch, "observed_time_unix_nano");
            let severity = I32::of(batch, "severity_number");
            let body = AnyCol::of(batch, "body");
            let ids = StrCol::of(batch, "trace_id");
            let svc = ServiceCol::of(batch);
            hits.extend(
                (0..batch.num_rows())
                    .filter(|&r| {
                        let t = log_time(times.get(r), observed.get(r));
                        q.since.is_none_or(|s| t >= s)
                            && q.until.is_none_or(|u| t < u)
                            && q.min_severity
                                .is_none_or(|m| severity.get(r).unwrap_or(0) >= m)
                            && q.service.as_deref().is_none_or(|s| svc.get(r) == Some(s))
                            && trace.is_none_or(|t| ids.get(r) == Some(t))
                            && text.is_none_or(|needle| match body.as_str(r) {
                                Some(s) => contains_folded(s, needle),
                                None => contains_folded(&body.text(r), needle),
                            })
                    })
                    .map(|r| (*position, r as u32)),
            );
        }
        if unfiltered {
            let mut left = q.limit - have;
            for (position, &n) in summary.batch_rows.iter().enumerate().rev() {
                if left == 0 {
                    break;
                }
                let take = (n as usize).min(left);
                hits.extend((n as usize - take..n as usize).map(|r| (position as u32, r as u32)));
                left -= take;
            }
            hits.sort_unstable();
        }
        // The latest hits by arrival (the end of the file) are the ones kept.
        if hits.len() > q.limit {
            hits.drain(..hits.len() - q.limit);
        }
        let mut wanted: Vec<u32> = hits.iter().map(|h| h.0).collect();
        wanted.dedup();
        for (position, batch) in scan_selected(file, &wanted, None, work)? {
            let picked: Vec<u32> = hits
                .iter()
                .filter(|h| h.0 == position)
                .map(|h| h.1)
                .collect();
            let picked = arrow_select::take::take_record_batch(&batch, &UInt32Array::from(picked))
                .map_err(|e| ViewerError::file(&file.path, e))?;
            out.extend(log_rows(&picked).map_err(|e| ViewerError::file(&file.path, e))?);
        }
        Ok(out)
    }
}

fn log_rows(
    batch: &arrow_array::RecordBatch,
) -> Result<Vec<LogRow>, otlp_spool_storage::ConvertError> {
    let request = arrow_to_logs(batch)?;
    let mut rows = Vec::new();
    for rl in request.resource_logs {
        let attrs = rl.resource.map(|r| r.attributes).unwrap_or_default();
        let service = value::string_attribute(&attrs, "service.name").unwrap_or_default();
        for sl in rl.scope_logs {
            for r in sl.log_records {
                rows.push(LogRow {
                    time: log_time(Some(r.time_unix_nano), Some(r.observed_time_unix_nano)),
                    severity_number: r.severity_number,
                    severity: if r.severity_text.is_empty() {
                        severity_name(r.severity_number).to_owned()
                    } else {
                        r.severity_text.clone()
                    },
                    service: service.to_owned(),
                    body: value::any_value(r.body.as_ref()),
                    attributes: value::attributes(&r.attributes),
                    trace_id: value::hex(&r.trace_id),
                    span_id: value::hex(&r.span_id),
                });
            }
        }
    }
    Ok(rows)
}
