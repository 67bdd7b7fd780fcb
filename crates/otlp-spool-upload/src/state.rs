//! [`UploadState`]: what the uploader knows about each finalized file, in memory, behind one
//! short lock; and its counters.
//!
//! Every file is in at most one of: *uploaded* (recorded in the manifest), *pending* (seen by
//! a scan, not uploaded yet; either queued or in flight), *conflicted* (the key exists in the
//! bucket with other content: kept locally, never overwritten). Files are named by their entry
//! `<signal folder>/<file name>`, so a path spelled differently (`./data/traces/x` and
//! `data/traces/x`) still finds its file.
//!
//! Invariants: `is_uploaded` is true only after the upload was confirmed by the server and
//! the manifest line was written (or its write failed and was counted: the object is in the
//! bucket either way); a file deleted locally before it was uploaded is counted once in
//! `deleted_before_upload`, whoever notices first (the retention report or a scan); pending
//! bytes and files are exactly the sums over the pending set.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use otlp_spool_breaker::State as BreakerState;
use otlp_spool_storage::{FileInfo, RetentionGuard, Signal};
use parking_lot::Mutex;

/// A file handed to a worker.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) entry: String,
    pub(crate) signal: Signal,
    pub(crate) path: PathBuf,
    pub(crate) name: String,
    pub(crate) bytes: u64,
}

/// How a worker finished with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finished {
    /// In the bucket (uploaded now, or found there with the same content).
    Uploaded,
    /// The key holds other content; the file stays local.
    Conflict,
    /// The local file disappeared before it could be read.
    Vanished,
    /// Not finished (shutdown): the file stays pending for the next start.
    Abandoned,
}

#[derive(Debug, Default)]
struct Inner {
    uploaded: HashSet<String>,
    pending: HashMap<String, Job>,
    queue: VecDeque<String>,
    in_flight: HashSet<String>,
    conflicted: HashSet<String>,
    gone_counted: HashSet<String>,
    pending_bytes: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) uploaded_files: AtomicU64,
    pub(crate) uploaded_bytes: AtomicU64,
    pub(crate) already_present: AtomicU64,
    pub(crate) multipart_uploads: AtomicU64,
    pub(crate) failures: AtomicU64,
    pub(crate) conflicts: AtomicU64,
    pub(crate) deleted_before_upload: AtomicU64,
    pub(crate) deleted_after_upload: AtomicU64,
    pub(crate) manifest_errors: AtomicU64,
    pub(crate) scan_errors: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// A reading of the uploader's counters and gauges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadStats {
    /// Files confirmed in the bucket (uploaded, or found there already with the same content).
    pub uploaded_files: u64,
    /// Their bytes.
    pub uploaded_bytes: u64,
    /// Of `uploaded_files`, those found already in the bucket (a re-upload after a crash).
    pub already_present: u64,
    /// Of `uploaded_files`, those sent as multipart uploads.
    pub multipart_uploads: u64,
    /// Failed attempts (each is retried after a back-off; the file waits on disk).
    pub failures: u64,
    /// Files whose key already held other content: not overwritten, kept locally.
    pub conflicts: u64,
    /// Files deleted locally (retention's disk budget, or by hand) before they were uploaded.
    pub deleted_before_upload: u64,
    /// Local files deleted after a confirmed upload (`delete_after_upload`).
    pub deleted_after_upload: u64,
    /// Manifest lines that could not be written (the objects are in the bucket; after a
    /// restart they are recognised there instead of uploaded again).
    pub manifest_errors: u64,
    /// Failed listings of the output directory.
    pub scan_errors: u64,
    /// Files waiting for upload (queued or in flight).
    pub pending_files: u64,
    /// Their bytes.
    pub pending_bytes: u64,
    /// The circuit breaker in front of the server.
    pub breaker_state: BreakerState,
}

/// The uploader's shared state: which files are uploaded, pending or conflicted.
///
/// The facade connects [`UploadState::is_uploaded`] to the storage crate's retention guard, so
/// retention by age keeps files that are not uploaded yet, and feeds the files retention
/// deleted anyway (disk budget) to [`UploadState::count_deleted_before_upload`]. Create it
/// with `Arc::default()` before the `FileStore` opens and hand it to
/// [`Uploader::start_sharing`](crate::Uploader::start_sharing).
#[derive(Debug, Default)]
pub struct UploadState {
    inner: Mutex<Inner>,
    pub(crate) counters: Counters,
}

/// The storage's retention keeps every file that is not uploaded yet (by age; the byte budget
/// deletes it last, and it is then counted as deleted before upload).
impl RetentionGuard for UploadState {
    fn keep(&self, path: &Path) -> bool {
        !self.is_uploaded(path)
    }
    fn deleted_anyway(&self, paths: &[PathBuf]) {
        self.count_deleted_before_upload(paths);
    }
}

/// `<signal folder>/<file name>` of a path under an output directory.
pub(crate) fn entry_of(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let signal = path.parent()?.file_name()?.to_str()?;
    Some(format!("{signal}/{name}"))
}

impl UploadState {
    /// Marks the manifest's entries as uploaded (at start).
    pub(crate) fn record_uploaded(&self, entries: HashSet<String>) {
        self.inner.lock().uploaded.extend(entries);
    }

    /// Whether the finalized file at `path` is confirmed in the bucket. Cheap (one hash
    /// lookup under a short lock); safe to call from retention.
    pub fn is_uploaded(&self, path: &Path) -> bool {
        entry_of(path).is_some_and(|e| self.inner.lock().uploaded.contains(&e))
    }

    /// Counts the files of a retention report (`RetentionReport::deleted`) that were deleted
    /// before they were uploaded, each once; returns how many this call counted. Files being
    /// uploaded at that moment are left to the worker (it counts them if it cannot read them).
    pub fn count_deleted_before_upload(&self, deleted: &[PathBuf]) -> u64 {
        let mut inner = self.inner.lock();
        let mut counted = 0;
        for path in deleted {
            let Some(entry) = entry_of(path) else {
                continue;
            };
            if inner.uploaded.contains(&entry) || inner.in_flight.contains(&entry) {
                continue;
            }
            if inner.gone_counted.insert(entry.clone()) {
                counted += 1;
            }
            inner.forget_pending(&entry);
        }
        Counters::add(&self.counters.deleted_before_upload, counted);
        counted
    }

    /// Takes a fresh listing (all signals): new files become pending (queued oldest first),
    /// pending files that vanished are counted as deleted before upload. Returns how many
    /// files were queued.
    pub(crate) fn observe(&self, mut listing: Vec<FileInfo>) -> usize {
        listing.sort_by_key(|f| (f.opened_at, f.seq));
        let mut inner = self.inner.lock();
        let mut seen = HashSet::with_capacity(listing.len());
        let mut queued = 0;
        for info in listing {
            let Some(entry) = entry_of(&info.path) else {
                continue;
            };
            seen.insert(entry.clone());
            if inner.uploaded.contains(&entry)
                || inner.conflicted.contains(&entry)
                || inner.pending.contains_key(&entry)
            {
                continue;
            }
            let Some(name) = info.path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let job = Job {
                entry: entry.clone(),
                signal: info.signal,
                name: name.to_owned(),
                path: info.path.clone(),
                bytes: info.bytes,
            };
            inner.pending_bytes += job.bytes;
            inner.pending.insert(entry.clone(), job);
            inner.queue.push_back(entry);
            queued += 1;
        }
        let vanished: Vec<String> = inner
            .pending
            .keys()
            .filter(|e| !seen.contains(*e) && !inner.in_flight.contains(*e))
            .cloned()
            .collect();
        let mut counted = 0;
        for entry in vanished {
            inner.forget_pending(&entry);
            if inner.gone_counted.insert(entry) {
                counted += 1;
            }
        }
        if counted > 0 {
            tracing::warn!(
                files = counted,
                "upload: files were deleted locally before they were uploaded"
            );
        }
        Counters::add(&self.counters.deleted_before_upload, counted);
        queued
    }

    /// The oldest queued file, now in flight.
    pub(crate) fn next(&self) -> Option<Job> {
        let mut inner = self.inner.lock();
        while let Some(entry) = inner.queue.pop_front() {
            if let Some(job) = inner.pending.get(&entry).cloned() {
                inner.in_flight.insert(entry);
                return Some(job);
            }
        }
        None
    }

    /// Records how a worker finished with `job`.
    pub(crate) fn finish(&self, job: &Job, how: Finished) {
        let mut inner = self.inner.lock();
        inner.in_flight.remove(&job.entry);
        match how {
            Finished::Uploaded => {
                inner.forget_pending(&job.entry);
                inner.uploaded.insert(job.entry.clone());
            }
            Finished::Conflict => {
                inner.forget_pending(&job.entry);
                inner.conflicted.insert(job.entry.clone());
            }
            Finished::Vanished => {
                inner.forget_pending(&job.entry);
                if inner.gone_counted.insert(job.entry.clone()) {
                    Counters::add(&self.counters.deleted_before_upload, 1);
                }
            }
            Finished::Abandoned => {
                inner.queue.push_front(job.entry.clone());
            }
        }
    }

    /// No file is pending (queued or in flight).
    pub(crate) fn is_idle(&self) -> bool {
        self.inner.lock().pending.is_empty()
    }

    /// Whether a file waits for a worker.
    pub(crate) fn has_queued(&self) -> bool {
        !self.inner.lock().queue.is_empty()
    }

    pub(crate) fn stats(&self, breaker_state: BreakerState) -> UploadStats {
        let (pending_files, pending_bytes) = {
            let inner = self.inner.lock();
            (inner.pending.len() as u64, inner.pending_bytes)
        };
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        UploadStats {
            uploaded_files: get(&c.uploaded_files),
            uploaded_bytes: get(&c.uploaded_bytes),
            already_present: get(&c.already_present),
            multipart_uploads: get(&c.multipart_uploads),
            failures: get(&c.failures),
            conflicts: get(&c.conflicts),
            deleted_before_upload: get(&c.deleted_before_upload),
            deleted_after_upload: get(&c.deleted_after_upload),
            manifest_errors: get(&c.manifest_errors),
            scan_errors: get(&c.scan_errors),
            pending_files,
            pending_bytes,
            breaker_state,
        }
    }
}

impl Inner {
    fn forget_pending(&mut self, entry: &str) {
        if let Some(job) = self.pending.remove(entry) {
            self.pending_bytes -= job.bytes;
        }
        // A queued entry is skipped by `next` once it is no longer pending.
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use otlp_spool_storage::Format;

    use super::*;

    fn info(name: &str, secs: u64, bytes: u64) -> FileInfo {
        FileInfo {
            path: PathBuf::from("/data/traces").join(name),
            signal: Signal::Traces,
            opened_at: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
            seq: 0,
            format: Format::Parquet,
            bytes,
        }
    }

    #[test]
    fn files_flow_from_pending_to_uploaded() {
        let state = UploadState::default();
        let listing = vec![info("b", 2, 20), info("a", 1, 10)];
        assert_eq!(state.observe(listing.clone()), 2);
        assert_eq!(
            state.observe(listing.clone()),
            0,
            "seen files are not queued twice"
        );
        let s = state.stats(BreakerState::Closed);
        assert_eq!((s.pending_files, s.pending_bytes), (2, 30));
        let first = state.next().unwrap();
        assert_eq!(first.name, "a", "oldest first");
        assert!(!state.is_uploaded(&first.path));
        state.finish(&first, Finished::Uploaded);
        assert!(state.is_uploaded(&first.path));
        assert!(state.is_uploaded(Path::new("./elsewhere/traces/a")));
        let second = state.next().unwrap();
        state.finish(&second, Finished::Conflict);
        assert!(!state.is_uploaded(&second.path));
        assert_eq!(state.observe(listing), 0, "conflicts are not retried");
        assert!(state.is_idle());
    }

    #[test]
    fn deleted_files_are_counted_once() {
        let state = UploadState::default();
        state.observe(vec![info("a", 1, 10), info("b", 2, 20), info("c", 3, 30)]);
        let c = state.next().unwrap();
        assert_eq!(c.name, "a");
        // Retention deletes a (in flight: left to the worker) and b (pending).
        let deleted = [c.path.clone(), PathBuf::from("/data/traces/b")];
        assert_eq!(state.count_deleted_before_upload(&deleted), 1);
        // The next scan no longer lists b: not counted again.
        state.observe(vec![info("a", 1, 10), info("c", 3, 30)]);
        state.finish(&c, Finished::Vanished);
        assert_eq!(state.count_deleted_before_upload(&deleted), 0);
        let s = state.stats(BreakerState::Closed);
        assert_eq!(s.deleted_before_upload, 2);
        assert_eq!((s.pending_files, s.pending_bytes), (1, 30));
        // c vanishes without a retention report: the scan counts it.
        state.observe(vec![]);
        assert_eq!(state.stats(BreakerState::Closed).deleted_before_upload, 3);
        assert!(state.is_idle());
    }
}
