//! [`Viewer`]: one spool directory, its index, and the limits every query keeps to.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use otlp_spool_storage::{Clock, Signal, SystemClock};

use crate::error::ViewerError;
use crate::files::{SpoolFile, list_files};
use crate::index::Index;

/// Default bytes of files one query may open and decode before it stops (older files are then
/// reported as not searched): 256 MiB.
pub const DEFAULT_SCAN_BUDGET: u64 = 256 << 20;
/// Default memory for cached per-trace aggregates: 64 MiB.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// What a live writer holds in memory that no file shows yet (the facade's pipeline lanes).
pub trait Pending: Send + Sync + std::fmt::Debug {
    /// Requests accepted for `signal` and not yet written, and the memory they hold.
    fn pending(&self, signal: Signal) -> (u64, u64);
}

/// Limits and inputs of a [`Viewer`].
#[derive(Debug, Clone)]
pub struct ViewerOptions {
    scan_budget: u64,
    cache_bytes: usize,
    include_active: bool,
    clock: Arc<dyn Clock>,
    pub(crate) pending: Option<Arc<dyn Pending>>,
}

impl Default for ViewerOptions {
    fn default() -> Self {
        ViewerOptions {
            scan_budget: DEFAULT_SCAN_BUDGET,
            cache_bytes: DEFAULT_CACHE_BYTES,
            include_active: true,
            clock: Arc::new(SystemClock),
            pending: None,
        }
    }
}

impl ViewerOptions {
    /// Bytes of not yet indexed files one query may decode (at least one file is always read).
    pub fn scan_budget(mut self, bytes: u64) -> Self {
        self.scan_budget = bytes;
        self
    }

    /// Memory for cached per-trace aggregates of trace files.
    pub fn cache_bytes(mut self, bytes: usize) -> Self {
        self.cache_bytes = bytes;
        self
    }

    /// Whether to read the complete batches of `.tmp` files being written (default true).
    pub fn include_active(mut self, yes: bool) -> Self {
        self.include_active = yes;
        self
    }

    /// Where pages learn what is accepted but not written yet (shown in their footer).
    pub fn pending(mut self, pending: Arc<dyn Pending>) -> Self {
        self.pending = Some(pending);
        self
    }

    /// The wall clock ("15m ago", page timings). Default: the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) root: PathBuf,
    pub(crate) opts: ViewerOptions,
    pub(crate) index: Index,
    /// Requests being answered, for the standalone server and the HTTP mount's limit.
    pub(crate) in_flight: std::sync::atomic::AtomicUsize,
}

/// Read-only access to one spool directory: queries, inspection and the HTML pages. Cheap to
/// clone (clones share the index). Synchronous: call it from a blocking thread.
///
/// ```no_run
/// use otlp_spool_viewer::{TraceQuery, Viewer};
/// let viewer = Viewer::new("./otlp-spool-data");
/// for t in viewer.traces(&TraceQuery::default())?.traces {
///     println!("{} {} {} spans", t.trace_id, t.root_name, t.spans);
/// }
/// # Ok::<(), otlp_spool_viewer::ViewerError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Viewer {
    pub(crate) inner: Arc<Inner>,
}

impl Viewer {
    /// A viewer of the output directory `root` (the folder holding `traces/`, `metrics/`,
    /// `logs/`), with the default limits. Takes no lock and never writes.
    pub fn new(root: impl AsRef<Path>) -> Viewer {
        Viewer::with_options(root, ViewerOptions::default())
    }

    /// A viewer with explicit limits.
    pub fn with_options(root: impl AsRef<Path>, opts: ViewerOptions) -> Viewer {
        Viewer {
            inner: Arc::new(Inner {
                root: root.as_ref().to_path_buf(),
                index: Index::new(opts.cache_bytes),
                opts,
                in_flight: std::sync::atomic::AtomicUsize::new(0),
            }),
        }
    }

    /// The output directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.inner.opts.clock.now()
    }

    pub(crate) fn budget(&self) -> u64 {
        self.inner.opts.scan_budget
    }

    pub(crate) fn index(&self) -> &Index {
        &self.inner.index
    }

    /// The files of `signal`, newest first; forgets index entries of deleted files.
    pub(crate) fn files(&self, signal: Signal) -> Result<Vec<SpoolFile>, ViewerError> {
        let files = list_files(&self.inner.root, signal, self.inner.opts.include_active)?;
        self.inner.index.retain(signal, &files);
        Ok(files)
    }

    /// Builds the index summary of every file not indexed yet (newest first, all signals), so
    /// that later pages skip files without reading them; what it read is returned. Blocking:
    /// `otlp-spool ui` runs it on a thread of its own at start-up.
    pub fn index_all(&self) -> Result<crate::Work, ViewerError> {
        let mut work = crate::Work::default();
        for signal in Signal::ALL {
            for file in self.files(signal)? {
                self.inner.index.summary(&file, &mut work);
            }
        }
        Ok(work)
    }

    /// Files summarized in the index, the bytes those summaries take, and the bytes of cached
    /// trace aggregates.
    pub fn index_stats(&self) -> (usize, usize, usize) {
        self.inner.index.stats()
    }
}
