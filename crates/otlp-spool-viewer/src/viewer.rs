//! [`Viewer`]: one spool directory, its index, and the limits every query keeps to.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use otlp_spool_storage::{BatchLimits, Clock, Converter, Signal, SystemClock};

use crate::error::ViewerError;
use crate::files::{FileState, InMemory, SpoolFile, list_files};
use crate::index::Index;

/// Default bytes of files one query may open and decode before it stops (older files are then
/// reported as not searched): 256 MiB.
pub const DEFAULT_SCAN_BUDGET: u64 = 256 << 20;
/// Default memory for cached per-trace aggregates: 64 MiB.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// Default request bytes of the lanes' snapshot one query converts: 8 MiB.
pub const DEFAULT_PENDING_BYTES: u64 = 8 << 20;

/// What a live writer holds in memory that no file shows yet (the facade's pipeline lanes).
pub trait Pending: Send + Sync + std::fmt::Debug {
    /// Requests accepted for `signal` and not yet written, and the memory they hold.
    fn pending(&self, signal: Signal) -> (u64, u64);

    /// A read-only snapshot of the serialized export requests of `signal` still queued, up to
    /// `max_bytes` of them; the viewer converts them with the writer's converter and shows
    /// their rows before any file has them. The default holds none.
    fn peek(&self, signal: Signal, max_bytes: u64) -> Vec<bytes::Bytes> {
        let _ = (signal, max_bytes);
        Vec::new()
    }
}

/// Limits and inputs of a [`Viewer`].
#[derive(Debug, Clone)]
pub struct ViewerOptions {
    scan_budget: u64,
    cache_bytes: usize,
    include_active: bool,
    pending_bytes: u64,
    clock: Arc<dyn Clock>,
    pub(crate) pending: Option<Arc<dyn Pending>>,
}

impl Default for ViewerOptions {
    fn default() -> Self {
        ViewerOptions {
            scan_budget: DEFAULT_SCAN_BUDGET,
            cache_bytes: DEFAULT_CACHE_BYTES,
            include_active: true,
            pending_bytes: DEFAULT_PENDING_BYTES,
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

    /// Request bytes of the lanes' snapshot one query converts (0: the lanes' contents are
    /// counted in the footer, not shown).
    pub fn pending_bytes(mut self, bytes: u64) -> Self {
        self.pending_bytes = bytes;
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

    /// The files of `signal`, newest first; forgets index entries of deleted files. With a
    /// [`Pending`] source, the lanes' snapshot comes first, as a [`FileState::Pending`] entry:
    /// taken *after* the listing, and active files are read only up to their listed size, so
    /// no row is shown twice (a request drained and written between the two is missed by
    /// this query instead, and shown by the next).
    pub(crate) fn files(&self, signal: Signal) -> Result<Vec<SpoolFile>, ViewerError> {
        let mut files = list_files(&self.inner.root, signal, self.inner.opts.include_active)?;
        self.inner.index.retain(signal, &files);
        if let Some(lanes) = self.lanes(signal) {
            files.insert(0, lanes);
        }
        Ok(files)
    }

    /// The lanes' queued requests of `signal`, converted by the storage [`Converter`] the
    /// writer uses, as one in-memory entry; `None` without a source or when they are empty.
    fn lanes(&self, signal: Signal) -> Option<SpoolFile> {
        let source = self.inner.opts.pending.as_ref()?;
        let max = self.inner.opts.pending_bytes;
        if max == 0 {
            return None;
        }
        let requests = source.peek(signal, max);
        if requests.is_empty() {
            return None;
        }
        let mut converter = Converter::new(signal, BatchLimits::default());
        let mut batches = Vec::new();
        let mut bytes = 0u64;
        for request in &requests {
            bytes += request.len() as u64;
            // A request the converter refuses (the writer will count it as dropped) is left
            // out; its rows were rolled back.
            let _ = converter.push(request, |b| batches.push(b));
        }
        let _ = converter.finish(|b| batches.push(b));
        if batches.is_empty() {
            return None;
        }
        Some(SpoolFile {
            path: self.inner.root.join(signal.as_str()).join("(lanes)"),
            name: "(lanes)".to_owned(),
            signal,
            opened_at: crate::time::unix_nanos(self.now()),
            seq: u64::MAX,
            format: otlp_spool_storage::Format::Arrow,
            bytes,
            state: FileState::Pending,
            memory: Some(InMemory(Arc::new(batches))),
        })
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

    /// A file a query could not read: logged with its path, counted in `work`, skipped (the
    /// page's footer says so); the query goes on with the next file.
    pub(crate) fn damaged(&self, file: &SpoolFile, e: &ViewerError, work: &mut crate::Work) {
        work.files_damaged += 1;
        tracing::warn!(path = %file.path.display(), error = %e,
            "otlp-spool viewer: skipping a file it cannot read");
    }

    /// Files summarized in the index, the bytes those summaries take, and the bytes of cached
    /// trace aggregates.
    pub fn index_stats(&self) -> (usize, usize, usize) {
        self.inner.index.stats()
    }
}
