//! Trace queries: the list of recent traces (from the per-file trace aggregates of the newest
//! files) and one trace with every span (only the files whose index holds the trace id are
//! opened; their matching rows are turned back into OTLP spans by the storage converter).
//!
//! Bounds: the list reads files newest first (each file's traces newest first, and only until
//! `limit` of them matched) and stops once it has `limit` matching traces and has merged one
//! more file (so a trace that straddles a file boundary keeps its spans), or when the scan
//! budget is spent. Filters are evaluated on the spans of the files read: a trace whose other
//! spans lie in files it did not read shows fewer spans than its detail page. A lookup reads the summaries of every file (built once, then
//! from the index) and decodes only files that may hold the trace.

use std::collections::HashMap;

use arrow_array::BooleanArray;
use otlp_spool_core::proto::trace::v1::Span;
use otlp_spool_storage::{Signal, arrow_to_traces};

use crate::columns::StrCol;
use crate::error::{QueryError, ViewerError};
use crate::index::{TraceAgg, Work, trace_hash};
use crate::scan::scan_selected;
use crate::value;
use crate::viewer::Viewer;

/// Filters of the trace list. Times are ns since the epoch; `name` matches the root span's
/// name (case-insensitive substring); `service` any span's service exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceQuery {
    /// Only traces with a span of this service.
    pub service: Option<String>,
    /// Only traces whose root span name contains this text.
    pub name: Option<String>,
    /// Only traces starting at or after this time.
    pub since: Option<u64>,
    /// Only traces starting before this time.
    pub until: Option<u64>,
    /// Only traces lasting at least this long (ns).
    pub min_duration: Option<u64>,
    /// At most this many traces (newest first).
    pub limit: usize,
}

impl Default for TraceQuery {
    fn default() -> Self {
        TraceQuery {
            service: None,
            name: None,
            since: None,
            until: None,
            min_duration: None,
            limit: 50,
        }
    }
}

/// One line of the trace list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TraceRow {
    /// Lowercase hex.
    pub trace_id: String,
    /// The root span's service (else the first service seen).
    pub service: String,
    /// The root span's name, or the earliest span's when the root was not found.
    pub root_name: String,
    /// Whether the root span (no parent) was found.
    pub root_found: bool,
    /// Earliest span start, ns.
    pub start: u64,
    /// Latest span end minus earliest start, ns.
    pub duration: u64,
    /// Spans found.
    pub spans: u32,
    /// Spans with status ERROR.
    pub errors: u32,
    /// Services of its spans.
    pub services: Vec<String>,
}

/// The answer to a [`TraceQuery`].
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TraceList {
    /// Newest first.
    pub traces: Vec<TraceRow>,
    /// Every service seen in the files read (for the filter form).
    pub services: Vec<String>,
    /// What the query read.
    pub work: Work,
}

/// One span of a trace with its resource and scope.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanView {
    /// The span as stored (attributes, events, links, status).
    pub span: Span,
    /// Its resource's `service.name`.
    pub service: String,
    /// Its resource attributes.
    pub resource: Vec<(String, String)>,
    /// Instrumentation scope name and version.
    pub scope: String,
}

/// One trace: every span found, ordered by start time.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceDetail {
    /// Lowercase hex.
    pub trace_id: String,
    /// Ordered by start time.
    pub spans: Vec<SpanView>,
    /// What the lookup read.
    pub work: Work,
}

/// Normalizes a trace id from a URL: lowercase hex, 1 to 64 digits.
pub fn parse_trace_id(text: &str) -> Result<String, QueryError> {
    let id = text.trim().to_ascii_lowercase();
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(QueryError {
            name: "trace_id",
            problem: format!("`{text}` is not a hex trace id"),
        });
    }
    Ok(id)
}

/// Case-insensitive (ASCII) substring test; `needle` must already be lowercase.
pub(crate) fn contains_folded(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    h.len() >= n.len()
        && h.windows(n.len())
            .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

#[derive(Debug)]
struct Merged {
    agg: TraceAgg,
    root_service: Option<String>,
    services: Vec<String>,
}

impl Merged {
    fn new(a: &TraceAgg, services: &[String]) -> Merged {
        let mut m = Merged {
            agg: TraceAgg {
                spans: 0,
                errors: 0,
                start: u64::MAX,
                end: 0,
                root: None,
                services: 0,
                ..a.clone()
            },
            root_service: None,
            services: Vec::new(),
        };
        m.add(a, services);
        m
    }

    fn add(&mut self, a: &TraceAgg, services: &[String]) {
        self.agg.spans += a.spans;
        self.agg.errors += a.errors;
        if a.start < self.agg.start {
            self.agg.start = a.start;
            self.agg.first_name.clone_from(&a.first_name);
        }
        self.agg.end = self.agg.end.max(a.end);
        if self.agg.root.is_none()
            && let Some((name, svc)) = &a.root
        {
            self.agg.root = Some((name.clone(), *svc));
            self.root_service = services.get(*svc as usize).cloned();
        }
        for (i, s) in services.iter().enumerate() {
            if a.services & (1 << i.min(63)) != 0 && !self.services.contains(s) {
                self.services.push(s.clone());
            }
        }
    }

    fn matches(&self, q: &TraceQuery, name: Option<&str>) -> bool {
        let a = &self.agg;
        let root = a
            .root
            .as_ref()
            .map_or(a.first_name.as_str(), |r| r.0.as_str());
        q.since.is_none_or(|s| a.start >= s)
            && q.until.is_none_or(|u| a.start < u)
            && q.min_duration
                .is_none_or(|d| a.end.saturating_sub(a.start) >= d)
            && q.service
                .as_deref()
                .is_none_or(|s| self.services.iter().any(|x| x == s))
            && name.is_none_or(|n| contains_folded(root, n))
    }

    fn row(self) -> TraceRow {
        let a = self.agg;
        TraceRow {
            service: self
                .root_service
                .or_else(|| self.services.first().cloned())
                .unwrap_or_default(),
            root_found: a.root.is_some(),
            root_name: a.root.map_or(a.first_name, |r| r.0),
            duration: a.end.saturating_sub(a.start),
            trace_id: a.id,
            start: a.start,
            spans: a.spans,
            errors: a.errors,
            services: self.services,
        }
    }
}

impl Viewer {
    /// Recent traces matching `q` (see the module docs for what is read).
    pub fn traces(&self, q: &TraceQuery) -> Result<TraceList, ViewerError> {
        let files = self.files(Signal::Traces)?;
        let name = q.name.as_deref().map(str::to_ascii_lowercase);
        let mut work = Work::default();
        let mut merged: HashMap<String, Merged> = HashMap::new();
        let mut services: Vec<String> = Vec::new();
        // Once `limit` traces match, one more file is merged (straddling traces), no new ones.
        let mut filled = false;
        for (i, file) in files.iter().enumerate() {
            if work.bytes_scanned >= self.budget() && !self.index().has_summary(file) {
                work.files_left = (files.len() - i) as u64;
                break;
            }
            let summary = self.index().summary(file, &mut work);
            for s in &summary.services {
                if !services.contains(s) {
                    services.push(s.clone());
                }
            }
            // Pruning by time only applies before the list is full: a straddling trace's
            // spans in the next file may lie outside the range.
            if !filled
                && (!summary.overlaps(q.since, None) || !summary.has_service(q.service.as_deref()))
            {
                work.files_skipped += 1;
                continue;
            }
            let aggs = self.index().trace_aggs(file, &mut work);
            // Newest first within the file: once `limit` of its traces matched, the rest of
            // the file is older than them and only merges into traces already listed.
            let mut taken = 0;
            for a in aggs.iter() {
                if let Some(m) = merged.get_mut(&a.id) {
                    m.add(a, &summary.services);
                    continue;
                }
                if filled || taken >= q.limit {
                    continue;
                }
                let m = Merged::new(a, &summary.services);
                if m.matches(q, name.as_deref()) {
                    merged.insert(a.id.clone(), m);
                    taken += 1;
                }
            }
            if filled {
                break;
            }
            filled = merged
                .values()
                .filter(|m| m.matches(q, name.as_deref()))
                .count()
                >= q.limit;
        }
        let mut traces: Vec<TraceRow> = merged
            .into_values()
            .filter(|m| m.matches(q, name.as_deref()))
            .map(Merged::row)
            .collect();
        traces.sort_by(|a, b| b.start.cmp(&a.start).then(a.trace_id.cmp(&b.trace_id)));
        traces.truncate(q.limit);
        services.sort();
        Ok(TraceList {
            traces,
            services,
            work,
        })
    }

    /// Every span of trace `trace_id` (hex, any case), or `None` when no file holds it.
    pub fn trace(&self, trace_id: &str) -> Result<Option<TraceDetail>, ViewerError> {
        let Ok(id) = parse_trace_id(trace_id) else {
            return Ok(None);
        };
        let hash = trace_hash(&id);
        let mut work = Work::default();
        let mut spans = Vec::new();
        for file in self.files(Signal::Traces)? {
            let batches = self.index().summary(&file, &mut work).batches_holding(hash);
            if batches.is_empty() {
                work.files_skipped += 1;
                continue;
            }
            let selected = match scan_selected(&file, &batches, None, &mut work) {
                Ok(selected) => selected,
                Err(e) => {
                    self.damaged(&file, &e, &mut work);
                    continue;
                }
            };
            for (_, batch) in selected {
                let ids = StrCol::of(&batch, "trace_id");
                let mask: BooleanArray = (0..batch.num_rows())
                    .map(|i| Some(ids.get(i) == Some(id.as_str())))
                    .collect();
                if mask.true_count() == 0 {
                    continue;
                }
                let converted = arrow_select::filter::filter_record_batch(&batch, &mask)
                    .map_err(|e| ViewerError::file(&file.path, e))
                    .and_then(|rows| {
                        arrow_to_traces(&rows).map_err(|e| ViewerError::file(&file.path, e))
                    });
                let request = match converted {
                    Ok(r) => r,
                    Err(e) => {
                        self.damaged(&file, &e, &mut work);
                        continue;
                    }
                };
                for rs in request.resource_spans {
                    let attrs = rs.resource.map(|r| r.attributes).unwrap_or_default();
                    let service = value::string_attribute(&attrs, "service.name")
                        .unwrap_or_default()
                        .to_owned();
                    let resource = value::attributes(&attrs);
                    for ss in rs.scope_spans {
                        let scope = ss.scope.map_or_else(String::new, |s| {
                            if s.version.is_empty() {
                                s.name
                            } else {
                                format!("{} {}", s.name, s.version)
                            }
                        });
                        for span in ss.spans {
                            spans.push(SpanView {
                                span,
                                service: service.clone(),
                                resource: resource.clone(),
                                scope: scope.clone(),
                            });
                        }
                    }
                }
            }
        }
        if spans.is_empty() {
            return Ok(None);
        }
        spans.sort_by(|a, b| {
            (a.span.start_time_unix_nano, &a.span.span_id)
                .cmp(&(b.span.start_time_unix_nano, &b.span.span_id))
        });
        Ok(Some(TraceDetail {
            trace_id: id,
            spans,
            work,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_substring() {
        assert!(contains_folded("GET /Users/{id}", "users"));
        assert!(contains_folded("abc", ""));
        assert!(!contains_folded("ab", "abc"));
        assert!(!contains_folded("GET /orders", "users"));
    }

    #[test]
    fn trace_ids_from_urls() {
        assert_eq!(
            parse_trace_id("5B8EFFF798038103D269B633813FC60C").unwrap(),
            "5b8efff798038103d269b633813fc60c"
        );
        assert!(parse_trace_id("").is_err());
        assert!(parse_trace_id("xyz").is_err());
        assert!(parse_trace_id("<script>").is_err());
    }
}
