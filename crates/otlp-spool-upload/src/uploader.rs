//! [`Uploader`]: the tasks that move finalized files from the output directory into the lake.
//!
//! The queue is the directory itself. A scanner task lists `<dir>/{traces,metrics,logs}/`
//! every `scan_interval` (finalized names appear only by rename, so every listed file is
//! complete) and queues what is neither uploaded (the manifest) nor pending nor conflicted;
//! `concurrency` worker tasks take the oldest queued file and put it into the bucket,
//! retrying with exponential back-off and jitter behind a circuit breaker until it is there.
//!
//! Invariants:
//! - Crash safety comes from the order of effects: object created (create-only) -> manifest
//!   line synced -> file counts as uploaded (retention guard) -> local file deleted (only with
//!   `delete_after_upload`). A kill at any point leaves either a file that is uploaded again at
//!   the next start (and recognised as already there) or one that is done; never a skipped
//!   file, never a partial object.
//! - A worker asks the breaker for a permit before each attempt; while it is open, files wait
//!   on disk. Server and connection failures count as breaker failures, conflicts and local
//!   read errors do not.
//! - Attempts never give up: a file leaves the pending set only uploaded, conflicted
//!   (counted), or deleted locally (counted).
//! - No `Instant::now()`: time is tokio's timers and the breaker's clock.

use std::hash::{BuildHasher, Hasher};
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use object_store::path::Path;
use otlp_spool_breaker::CircuitBreaker;
use otlp_spool_storage::{FileReader, Signal};
use parking_lot::Mutex;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::error::StartError;
use crate::key::{object_key, staging_key};
use crate::local::{Manifest, instance_id};
use crate::options::UploadOptions;
use crate::state::{Counters, Finished, Job, UploadState, UploadStats};
use crate::transfer::{Outcome, Transfer};

/// The shortest wait of a worker the breaker turned away.
const MIN_BREAKER_WAIT: Duration = Duration::from_millis(100);

/// What [`Uploader::shutdown`] left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Files uploaded since start.
    pub uploaded_files: u64,
    /// Files still waiting (uploaded at the next start).
    pub pending_files: u64,
}

/// A running uploader. Cheap to clone; see the module docs.
#[derive(Debug, Clone)]
pub struct Uploader {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    instance_id: String,
    options: UploadOptions,
    state: Arc<UploadState>,
    manifest: Arc<Mutex<Manifest>>,
    transfer: Transfer,
    breaker: CircuitBreaker,
    /// Wakes the scanner at once (new files finalized, `sync`, shutdown).
    scan_now: Notify,
    /// Wakes the workers (files queued).
    work: Notify,
    /// Something finished or a scan completed (for `sync`).
    progress: Notify,
    /// Scans begun and scans completed (for `sync`: a scan that began after the call).
    scans_started: AtomicU64,
    scans_done: AtomicU64,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Uploader {
    /// Starts uploading the finalized files of the output directory `dir` (which the caller's
    /// `FileStore` holds locked). Reads or creates the instance id and opens the manifest;
    /// must run inside a tokio runtime. Credentials come from the process environment.
    pub fn start(dir: impl Into<PathBuf>, options: UploadOptions) -> Result<Self, StartError> {
        Self::start_sharing(dir, options, Arc::default())
    }

    /// Like [`start`](Self::start), filling in `state`, which may already serve as the
    /// storage's retention guard (a guard consulted before the start keeps every file: it
    /// knows of no upload yet).
    pub fn start_sharing(
        dir: impl Into<PathBuf>,
        options: UploadOptions,
        state: Arc<UploadState>,
    ) -> Result<Self, StartError> {
        Self::start_inner(dir.into(), options, state, &|name| std::env::var(name).ok())
    }

    fn start_inner(
        dir: PathBuf,
        options: UploadOptions,
        state: Arc<UploadState>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, StartError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| StartError::NoRuntime)?;
        let instance_id = instance_id(&dir)?;
        let (manifest, uploaded) = Manifest::open(&dir)?;
        let (store, source) = crate::store::build(&options, env)?;
        let breaker = match &options.breaker {
            Some(b) => b.clone(),
            None => CircuitBreaker::builder()
                .failure_threshold(5)
                .open_duration(Duration::from_secs(30))
                .max_open_duration(Duration::from_secs(300))
                .half_open_probes(1)
                .build()
                .map_err(|e| StartError::Client(format!("breaker: {e}")))?,
        };
        tracing::info!(
            destination = %options.destination,
            endpoint = options.endpoint.as_deref().unwrap_or("(AWS S3)"),
            credentials = %source,
            instance_id = %instance_id,
            recorded = uploaded.len(),
            manifest = %manifest.path().display(),
            "upload: started"
        );
        let transfer = Transfer {
            store,
            multipart_threshold: options.multipart_threshold,
            part_size: options.part_size,
            read_timeout: options.request_timeout,
        };
        let (stop, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            dir,
            instance_id,
            state: {
                state.record_uploaded(uploaded);
                state
            },
            manifest: Arc::new(Mutex::new(manifest)),
            transfer,
            breaker,
            scan_now: Notify::new(),
            work: Notify::new(),
            progress: Notify::new(),
            scans_started: AtomicU64::new(0),
            scans_done: AtomicU64::new(0),
            stop,
            tasks: Mutex::new(Vec::new()),
            options,
        });
        let mut tasks = Vec::with_capacity(shared.options.concurrency + 1);
        tasks.push(runtime.spawn(Arc::clone(&shared).scan_loop()));
        for worker in 0..shared.options.concurrency {
            tasks.push(runtime.spawn(Arc::clone(&shared).work_loop(worker as u64)));
        }
        *shared.tasks.lock() = tasks;
        Ok(Self { shared })
    }

    /// The stable id of this output directory (`.otlp-spool-instance-id`), the first part of
    /// every object name it uploads.
    pub fn instance_id(&self) -> &str {
        &self.shared.instance_id
    }

    /// The shared state: [`UploadState::is_uploaded`] for the retention guard,
    /// [`UploadState::count_deleted_before_upload`] for retention reports.
    pub fn state(&self) -> &Arc<UploadState> {
        &self.shared.state
    }

    /// Counters and gauges.
    pub fn stats(&self) -> UploadStats {
        self.shared.state.stats(self.shared.breaker.state())
    }

    /// The breaker in front of the server.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.shared.breaker
    }

    /// Asks for a scan now (for example right after files were finalized).
    pub fn scan_now(&self) {
        self.shared.scan_now.notify_one();
    }

    /// Scans now and waits until every file found is settled (uploaded, conflicted or gone)
    /// or `timeout` passes; `Err` carries the number of files still pending.
    pub async fn sync(&self, timeout: Duration) -> Result<(), u64> {
        let s = &self.shared;
        // A scan running now may have listed the directory before the call: wait for the next.
        let target = s.scans_started.load(Ordering::SeqCst) + 1;
        s.scan_now.notify_one();
        let done = async {
            loop {
                let progress = s.progress.notified();
                tokio::pin!(progress);
                progress.as_mut().enable();
                let scanned = s.scans_done.load(Ordering::SeqCst) >= target;
                if scanned && s.state.is_idle() {
                    return;
                }
                progress.await;
            }
        };
        match tokio::time::timeout(timeout, done).await {
            Ok(()) => Ok(()),
            Err(_) => Err(self.stats().pending_files),
        }
    }

    /// Uploads what is pending for up to `grace` (after a last scan), then stops every task;
    /// an upload cut short leaves no object and is redone at the next start. Idempotent.
    pub async fn shutdown(&self, grace: Duration) -> ShutdownReport {
        let s = &self.shared;
        if !*s.stop.borrow() {
            let _ = self.sync(grace).await;
            s.stop.send_replace(true);
        }
        let tasks: Vec<_> = std::mem::take(&mut *s.tasks.lock());
        for task in tasks {
            let _ = task.await;
        }
        let stats = self.stats();
        tracing::info!(
            uploaded = stats.uploaded_files,
            pending = stats.pending_files,
            "upload: stopped"
        );
        ShutdownReport {
            uploaded_files: stats.uploaded_files,
            pending_files: stats.pending_files,
        }
    }

    /// The uploader's self-metrics, read at every scrape: register it in the service's one
    /// registry.
    pub fn metrics_collector(&self) -> Box<dyn otlp_spool_core::metrics::Collector> {
        Box::new(crate::metrics::UploadCollector(self.clone()))
    }

    /// Appends the uploader's self-metrics, alone, in the Prometheus text format.
    pub fn render_metrics(&self, out: &mut String) {
        let mut registry = otlp_spool_core::metrics::Registry::default();
        registry.register_collector(self.metrics_collector());
        out.push_str(&otlp_spool_core::metrics::render(&registry));
    }
}

impl Shared {
    async fn scan_loop(self: Arc<Self>) {
        let mut stop = self.stop.subscribe();
        loop {
            self.scans_started.fetch_add(1, Ordering::SeqCst);
            let dir = self.dir.clone();
            let listing = tokio::task::spawn_blocking(move || {
                let mut files = Vec::new();
                for signal in Signal::ALL {
                    files.extend(FileReader::new(&dir, signal).files()?);
                }
                Ok::<_, otlp_spool_storage::ReadError>(files)
            })
            .await;
            match listing {
                Ok(Ok(files)) => {
                    if self.state.observe(files) > 0 {
                        self.work.notify_waiters();
                    }
                }
                Ok(Err(e)) => {
                    Counters::add(&self.state.counters.scan_errors, 1);
                    tracing::warn!(error = %e, "upload: cannot list the output directory");
                }
                Err(e) => tracing::warn!(error = %e, "upload: listing task failed"),
            }
            self.scans_done.fetch_add(1, Ordering::SeqCst);
            self.progress.notify_waiters();
            tokio::select! {
                () = tokio::time::sleep(self.options.scan_interval) => {}
                () = self.scan_now.notified() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    async fn work_loop(self: Arc<Self>, worker: u64) {
        let mut stop = self.stop.subscribe();
        let mut jitter = Jitter::new(worker);
        loop {
            if *stop.borrow() {
                return;
            }
            let notified = self.work.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let Some(job) = self.state.next() else {
                tokio::select! {
                    () = notified => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                continue;
            };
            let finished = self.deliver(&job, &mut stop, &mut jitter).await;
            self.state.finish(&job, finished);
            self.progress.notify_waiters();
            if self.state.has_queued() {
                self.work.notify_one();
            }
        }
    }

    /// Puts one file into the bucket, retrying until it is there (or settled otherwise, or
    /// the uploader stops).
    async fn deliver(
        &self,
        job: &Job,
        stop: &mut watch::Receiver<bool>,
        jitter: &mut Jitter,
    ) -> Finished {
        let dest = &self.options.destination;
        let Some(key) = object_key(dest, &self.instance_id, job.signal, &job.name) else {
            tracing::warn!(file = %job.path.display(), "upload: not a spool file name; skipped");
            return Finished::Conflict;
        };
        let key = Path::from(key);
        let staging = Path::from(staging_key(dest, &self.instance_id, &job.name));
        let counters = &self.state.counters;
        let mut failures = 0u32;
        loop {
            let permit = match self.breaker.try_acquire_owned() {
                Ok(p) => p,
                Err(rejected) => {
                    let wait = rejected.retry_after().max(MIN_BREAKER_WAIT);
                    if !sleep_or_stop(wait, stop).await {
                        return Finished::Abandoned;
                    }
                    continue;
                }
            };
            let outcome = tokio::select! {
                outcome = self.transfer.put(&job.path, &key, &staging) => outcome,
                _ = stop.wait_for(|s| *s) => {
                    permit.ignore();
                    return Finished::Abandoned;
                }
            };
            let problem = match outcome {
                Outcome::Uploaded { bytes, multipart } => {
                    permit.success();
                    if multipart {
                        Counters::add(&counters.multipart_uploads, 1);
                    }
                    self.settle(job, &key, bytes, false).await;
                    return Finished::Uploaded;
                }
                Outcome::AlreadyPresent { bytes } => {
                    permit.success();
                    self.settle(job, &key, bytes, true).await;
                    return Finished::Uploaded;
                }
                Outcome::Conflict(reason) => {
                    permit.success();
                    Counters::add(&counters.conflicts, 1);
                    tracing::warn!(file = %job.path.display(), %reason, "upload: the object name is taken by other content; not overwritten, the file stays local");
                    return Finished::Conflict;
                }
                Outcome::Vanished => {
                    permit.ignore();
                    tracing::warn!(file = %job.path.display(), "upload: the file was deleted before it was uploaded");
                    return Finished::Vanished;
                }
                Outcome::Local(reason) => {
                    permit.ignore();
                    reason
                }
                Outcome::Remote(reason) => {
                    permit.failure();
                    reason
                }
            };
            failures += 1;
            Counters::add(&counters.failures, 1);
            let wait = backoff(
                self.options.initial_backoff,
                self.options.max_backoff,
                failures,
                jitter.next(),
            );
            if failures == 1 {
                tracing::warn!(file = %job.path.display(), %key, reason = %problem, ?wait, "upload: attempt failed; retrying");
            } else {
                tracing::debug!(file = %job.path.display(), reason = %problem, failures, ?wait, "upload: attempt failed again");
            }
            if !sleep_or_stop(wait, stop).await {
                return Finished::Abandoned;
            }
        }
    }

    /// The object is in the bucket: record it durably, count it, delete the local file if
    /// asked to.
    async fn settle(&self, job: &Job, key: &Path, bytes: u64, already_present: bool) {
        let counters = &self.state.counters;
        let manifest = Arc::clone(&self.manifest);
        let entry = job.entry.clone();
        let recorded = tokio::task::spawn_blocking(move || manifest.lock().record(&entry))
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r);
        Counters::add(&counters.uploaded_files, 1);
        Counters::add(&counters.uploaded_bytes, bytes);
        if already_present {
            Counters::add(&counters.already_present, 1);
        }
        tracing::debug!(file = %job.path.display(), %key, bytes, already_present, "upload: in the bucket");
        if let Err(e) = recorded {
            Counters::add(&counters.manifest_errors, 1);
            tracing::warn!(error = %e, file = %job.path.display(), "upload: cannot record the upload in the manifest (it is in the bucket; a restart will find it there)");
            return;
        }
        if self.options.delete_after_upload {
            delete_local(&job.path, counters).await;
        }
    }
}

async fn delete_local(path: &FsPath, counters: &Counters) {
    let owned = path.to_path_buf();
    let removed = tokio::task::spawn_blocking(move || std::fs::remove_file(owned)).await;
    match removed {
        Ok(Ok(())) => {
            Counters::add(&counters.deleted_after_upload, 1);
            tracing::info!(file = %path.display(), "upload: local file deleted after upload");
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
        Ok(Err(e)) => {
            tracing::warn!(file = %path.display(), error = %e, "upload: cannot delete the uploaded file");
        }
        Err(e) => tracing::warn!(error = %e, "upload: delete task failed"),
    }
}

/// Sleeps for `wait`; `false` if the uploader stopped first.
async fn sleep_or_stop(wait: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(wait) => true,
        _ = stop.wait_for(|s| *s) => false,
    }
}

/// The wait after failure number `failures` (1-based): `initial * 2^(failures-1)` capped at
/// `max`, times a factor in `[0.75, 1.25)` from `random` in `[0, 1)`.
pub(crate) fn backoff(initial: Duration, max: Duration, failures: u32, random: f64) -> Duration {
    let doubled = initial.saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    doubled.min(max).mul_f64(0.75 + random / 2.0)
}

/// Jitter from the standard library's randomly keyed hasher: no generator state to seed.
#[derive(Debug)]
struct Jitter {
    worker: u64,
    draws: u64,
    keys: std::hash::RandomState,
}

impl Jitter {
    fn new(worker: u64) -> Self {
        Self {
            worker,
            draws: 0,
            keys: std::hash::RandomState::new(),
        }
    }

    /// A number in `[0, 1)`.
    fn next(&mut self) -> f64 {
        self.draws += 1;
        let mut h = self.keys.build_hasher();
        h.write_u64(self.worker);
        h.write_u64(self.draws);
        (h.finish() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let (i, m) = (Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(backoff(i, m, 1, 0.5), Duration::from_millis(100));
        assert_eq!(backoff(i, m, 3, 0.5), Duration::from_millis(400));
        assert_eq!(backoff(i, m, 30, 0.5), m);
        assert_eq!(backoff(i, m, 1, 0.0), Duration::from_millis(75));
        assert!(backoff(i, m, 1, 0.999_999) < Duration::from_millis(125));
        let mut j = Jitter::new(1);
        let draws: Vec<f64> = (0..100).map(|_| j.next()).collect();
        assert!(draws.iter().all(|d| (0.0..1.0).contains(d)));
        assert!(draws.windows(2).any(|w| w[0] != w[1]));
    }
}
