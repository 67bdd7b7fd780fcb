//! otlp-spool-viewer: look at a spool directory without writing pyarrow code.
//!
//! A [`Viewer`] reads one output directory (finalized files and the complete batches of the
//! files being written), keeps a small per-file index, and answers bounded queries: recent
//! traces ([`Viewer::traces`]), one trace ([`Viewer::trace`]), metric names and series
//! ([`Viewer::metric_names`], [`Viewer::metric_series`]) and log search ([`Viewer::logs`]).
//! [`Viewer::respond`] renders them as plain, accessible HTML pages under `/ui` (server-side
//! SVG charts, no script, assets compiled in) for any HTTP server to carry; [`ViewerServer`]
//! is one, for `otlp-spool ui DIR`. [`inspect`] summarizes a directory for `otlp-spool
//! inspect`.
//!
//! ```no_run
//! use otlp_spool_viewer::{LogQuery, Viewer};
//! let viewer = Viewer::new("./otlp-spool-data");
//! let errors = viewer.logs(&LogQuery { min_severity: Some(17), ..LogQuery::default() })?;
//! for r in errors.rows {
//!     println!("{} {} {}", r.service, r.severity, r.body);
//! }
//! let page = viewer.respond("GET", "/ui/logs?severity=error");
//! assert_eq!(page.status, 200);
//! # Ok::<(), otlp_spool_viewer::ViewerError>(())
//! ```
//!
//! # Invariants
//! - Read-only: no lock is taken, nothing in the spool directory is written, renamed or
//!   deleted; a writer may work on the directory meanwhile.
//! - Bounded work per request: files are read newest first and a query stops after decoding
//!   its scan budget of not yet indexed files (the page says what it left unread); the index
//!   (one small summary per file) and the trace-aggregate cache (bounded by bytes) make
//!   repeated views cheap. Only the columns a query needs are decoded.
//! - Schema tolerant: columns are read by name and dictionary columns unpacked, so files of
//!   schema v1 and v2 read alike; a column it does not know reads as empty.
//! - Time comes from the injected clock (`otlp_spool_storage::Clock`); the query core has no
//!   tokio and no threads of its own.
#![forbid(unsafe_code)]

mod chart;
mod columns;
mod error;
mod files;
mod handler;
mod html;
mod index;
mod inspect;
mod logs;
mod metrics;
mod pages;
mod scan;
mod select;
mod server;
pub mod time;
mod traces;
mod value;
mod viewer;

pub use error::{QueryError, ViewerError};
pub use files::{FileState, QuarantinedFile, SpoolFile, list_files, list_quarantined};
pub use handler::{CONTENT_SECURITY_POLICY, MAX_CONCURRENT_PAGES, Response, serves};
pub use index::{FileSummary, MetricInfo, NAME_CAP, Work};
pub use inspect::{
    DEFAULT_INSPECT_SCAN_BUDGET, FileEntry, InspectOptions, InspectReport, Owner, SignalReport,
    StatsSource, inspect, inspect_with,
};
pub use logs::{LogList, LogQuery, LogRow, severity_name};
pub use metrics::{MAX_SERIES, MetricCatalog, MetricQuery, MetricSeries, Series};
pub use scan::FileBatches;
pub use select::{read_batches, row_count, rows_in_time};
pub use server::{ServeError, ViewerServer};
pub use traces::{SpanView, TraceDetail, TraceList, TraceQuery, TraceRow, parse_trace_id};
pub use value::{any_value, hex};
pub use viewer::{
    DEFAULT_CACHE_BYTES, DEFAULT_PENDING_BYTES, DEFAULT_SCAN_BUDGET, Pending, Viewer, ViewerOptions,
};
