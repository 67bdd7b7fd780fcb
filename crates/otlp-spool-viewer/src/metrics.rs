//! Metric queries: the catalog of metric names (from file summaries alone) and one metric's
//! points over time, one series per data-point attribute set.
//!
//! The value plotted is the point's number for gauges and sums (`as_double`, else `as_int`),
//! and `sum / count` (the mean) for histograms, exponential histograms and summaries, or the
//! count when a histogram has no sum. Bounds: files are read newest first, only those whose
//! summary lists the metric (and overlaps the time range), with only the columns the chart needs,
//! until `max_points` points or the scan budget; at most [`MAX_SERIES`] series are kept (the
//! page says how many were left out).

use std::collections::{BTreeMap, HashMap};

use arrow_array::types::{Float64Type, Int64Type};
use otlp_spool_storage::Signal;

use crate::columns::{AttrCol, Prim, ServiceCol, StrCol, U64};
use crate::error::ViewerError;
use crate::index::{MetricInfo, Work};
use crate::scan::scan;
use crate::viewer::Viewer;

/// Series kept per chart; points of further attribute sets are counted, not kept.
pub const MAX_SERIES: usize = 24;

/// Which metric and which of its points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricQuery {
    /// `metric_name`, exactly.
    pub name: String,
    /// Only points of this service.
    pub service: Option<String>,
    /// Only points at or after this time (ns).
    pub since: Option<u64>,
    /// Only points before this time (ns).
    pub until: Option<u64>,
    /// At most this many points (the newest files first).
    pub max_points: usize,
}

impl MetricQuery {
    /// All points of `name`, up to 20 000.
    pub fn new(name: impl Into<String>) -> Self {
        MetricQuery {
            name: name.into(),
            service: None,
            since: None,
            until: None,
            max_points: 20_000,
        }
    }
}

/// One attribute set's points, oldest first.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Series {
    /// `k=v, k=v` of the point attributes, sorted by key (`(no attributes)` when none).
    pub key: String,
    /// `(time ns, value)`, sorted by time.
    pub points: Vec<(u64, f64)>,
}

/// The answer to a [`MetricQuery`].
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct MetricSeries {
    /// The metric.
    pub name: String,
    /// `gauge`, `sum`, `histogram`, ...
    pub kind: String,
    /// `metric_unit`.
    pub unit: String,
    /// `metric_description`.
    pub description: String,
    /// What the values are (`value`, `mean (sum / count)`, `count`).
    pub value_label: String,
    /// Series sorted by key.
    pub series: Vec<Series>,
    /// Points of attribute sets beyond [`MAX_SERIES`], not kept.
    pub points_left_out: u64,
    /// What the query read.
    pub work: Work,
}

/// The metric names of the files looked at.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MetricCatalog {
    /// By name; `points` summed over files.
    pub metrics: Vec<MetricInfo>,
    /// What the query read.
    pub work: Work,
}

/// The columns the chart reads.
const SERIES_COLUMNS: &[&str] = &[
    "resource_attributes",
    "metric_name",
    "metric_type",
    "metric_unit",
    "metric_description",
    "attributes",
    "time_unix_nano",
    "as_double",
    "as_int",
    "sum",
    "count",
];

impl Viewer {
    /// Every metric name in the newest files (within the scan budget), with type, unit and
    /// points.
    pub fn metric_names(&self) -> Result<MetricCatalog, ViewerError> {
        let files = self.files(Signal::Metrics)?;
        let mut work = Work::default();
        let mut by_name: BTreeMap<String, MetricInfo> = BTreeMap::new();
        for (i, file) in files.iter().enumerate() {
            if work.bytes_scanned >= self.budget() && !self.index().has_summary(file) {
                work.files_left = (files.len() - i) as u64;
                break;
            }
            for m in &self.index().summary(file, &mut work).metrics {
                by_name
                    .entry(m.name.clone())
                    .and_modify(|e| e.points += m.points)
                    .or_insert_with(|| m.clone());
            }
        }
        Ok(MetricCatalog {
            metrics: by_name.into_values().collect(),
            work,
        })
    }

    /// The points of one metric (see the module docs).
    pub fn metric_series(&self, q: &MetricQuery) -> Result<MetricSeries, ViewerError> {
        let files = self.files(Signal::Metrics)?;
        let mut out = MetricSeries {
            name: q.name.clone(),
            ..MetricSeries::default()
        };
        let mut work = Work::default();
        let mut series: HashMap<String, Vec<(u64, f64)>> = HashMap::new();
        let mut points = 0usize;
        let mut means = false;
        let mut counts = false;
        'files: for (i, file) in files.iter().enumerate() {
            if work.bytes_scanned >= self.budget() {
                work.files_left = (files.len() - i) as u64;
                break;
            }
            let summary = self.index().summary(file, &mut work);
            if !summary.may_have_name(&q.name)
                || !summary.overlaps(q.since, q.until)
                || !summary.has_service(q.service.as_deref())
            {
                work.files_skipped += 1;
                continue;
            }
            work.scanned(file);
            let batches = match scan(file, Some(SERIES_COLUMNS)) {
                Ok(b) => b,
                Err(e) => {
                    self.damaged(file, &e, &mut work);
                    continue;
                }
            };
            for batch in batches {
                let batch = match batch {
                    Ok(b) => b,
                    Err(e) => {
                        self.damaged(file, &e, &mut work);
                        continue 'files;
                    }
                };
                let names = StrCol::of(&batch, "metric_name");
                let kinds = StrCol::of(&batch, "metric_type");
                let attrs = AttrCol::of(&batch, "attributes");
                let times = U64::of(&batch, "time_unix_nano");
                let doubles = Prim::<Float64Type>::of(&batch, "as_double");
                let ints = Prim::<Int64Type>::of(&batch, "as_int");
                let sums = Prim::<Float64Type>::of(&batch, "sum");
                let count = U64::of(&batch, "count");
                let svc = q.service.as_ref().map(|_| ServiceCol::of(&batch));
                for r in 0..batch.num_rows() {
                    if names.get(r) != Some(q.name.as_str()) {
                        continue;
                    }
                    let t = times.get(r).unwrap_or(0);
                    if q.since.is_some_and(|s| t < s)
                        || q.until.is_some_and(|u| t >= u)
                        || svc
                            .as_ref()
                            .is_some_and(|s| s.get(r) != q.service.as_deref())
                    {
                        continue;
                    }
                    if out.kind.is_empty() {
                        out.kind = kinds.str(r).to_owned();
                        out.unit = StrCol::of(&batch, "metric_unit").str(r).to_owned();
                        out.description =
                            StrCol::of(&batch, "metric_description").str(r).to_owned();
                    }
                    let value = match kinds.str(r) {
                        "gauge" | "sum" => doubles.get(r).or_else(|| ints.get(r).map(|i| i as f64)),
                        _ => match (sums.get(r), count.get(r)) {
                            (Some(s), Some(c)) if c > 0 => {
                                means = true;
                                Some(s / c as f64)
                            }
                            (_, Some(c)) => {
                                counts = true;
                                Some(c as f64)
                            }
                            _ => None,
                        },
                    };
                    let Some(value) = value else { continue };
                    let mut pairs = attrs.pairs(r);
                    pairs.sort();
                    let key = if pairs.is_empty() {
                        "(no attributes)".to_owned()
                    } else {
                        pairs
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    if series.len() >= MAX_SERIES && !series.contains_key(&key) {
                        out.points_left_out += 1;
                        continue;
                    }
                    series.entry(key).or_default().push((t, value));
                    points += 1;
                    if points >= q.max_points {
                        break 'files;
                    }
                }
            }
        }
        out.value_label = match (means, counts) {
            (true, false) => "mean (sum / count)",
            (false, true) => "count",
            (true, true) => "mean (sum / count), or count without a sum",
            (false, false) => "value",
        }
        .to_owned();
        let mut series: Vec<Series> = series
            .into_iter()
            .map(|(key, mut points)| {
                points.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
                Series { key, points }
            })
            .collect();
        series.sort_by(|a, b| a.key.cmp(&b.key));
        out.series = series;
        out.work = work;
        Ok(out)
    }
}
