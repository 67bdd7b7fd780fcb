//! [`FileStore`]: the owner of an output directory, and [`SignalWriter`], the cheap, cloneable
//! per-signal writer handle.
//!
//! Opening a store creates `<dir>/{traces,metrics,logs}/`, takes the directory lock, and runs
//! start-up recovery before any write. Each signal has one lane behind a mutex (from the `sync`
//! shim): a flusher thread writing and a housekeeping thread calling [`FileStore::tick`] (age
//! rotation and retention) hand the active file over under that lock, so every row lands in
//! exactly one finalized file. Retention runs outside the lane lock: it only ever touches
//! finalized files, which the lane no longer writes.

use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;

use super::error::{FileError, OpenError, WriteError};
use super::finalize::{self, FinalizeHook, TempOutcome};
use super::lane::{Lane, WriteReceipt};
use super::lock::DirLock;
use super::options::StoreOptions;
use super::reader::FileReader;
use super::recovery::{self, RecoveryReport};
use super::retention::{self, RetentionReport};
use super::sync::{Arc, Mutex, lock};
use crate::Signal;

/// What a [`FileStore::tick`] or [`SignalWriter::tick`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Files finalized because they reached `max_file_age`.
    pub finalized: Vec<PathBuf>,
    /// Files deleted by retention.
    pub retention: RetentionReport,
}

#[derive(Debug)]
struct Shared {
    opts: StoreOptions,
    lanes: [Mutex<Lane>; 3],
    retention_gates: [Mutex<()>; 3],
    recovery: RecoveryReport,
    _lock: DirLock,
}

fn index(signal: Signal) -> usize {
    match signal {
        Signal::Traces => 0,
        Signal::Metrics => 1,
        Signal::Logs => 2,
    }
}

impl Shared {
    fn lane(&self, signal: Signal) -> &Mutex<Lane> {
        &self.lanes[index(signal)]
    }

    fn tick(&self, signal: Signal) -> Result<TickReport, FileError> {
        let finalized = lock(self.lane(signal)).tick(&self.opts)?;
        let retention = {
            let _gate = lock(&self.retention_gates[index(signal)]);
            retention::enforce(&self.opts.dir, signal, self.opts.clock.now(), &self.opts)?
        };
        Ok(TickReport {
            finalized: finalized.into_iter().collect(),
            retention,
        })
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        for lane in &self.lanes {
            let mut lane = lock(lane);
            if !lane.is_closed()
                && let Err(e) = lane.close(&self.opts)
            {
                tracing::warn!(error = %e, "otlp-spool: cannot finalize a file at drop; it is recovered at the next start");
            }
        }
    }
}

/// The owner of an output directory: lock, recovery, and the three signal writers.
///
/// Cloning is cheap and shares the store. Dropping the last clone (and every [`SignalWriter`])
/// finalizes the open files, best effort; call [`FileStore::close`] to see errors.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{ArrayRef, Int64Array, RecordBatch};
/// use otlp_spool_storage::{FileReader, FileStore, Format, Signal, StoreOptions};
///
/// let dir = tempfile::tempdir()?;
/// let opts = StoreOptions::builder(dir.path()).format(Format::Arrow).build()?;
/// let store = FileStore::open(opts)?;
/// let logs = store.writer(Signal::Logs);
/// let batch = RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef)])?;
/// logs.write(batch)?;
/// store.close()?; // finalizes `logs/logs-<UTC time>-000001.arrow`
///
/// let rows: usize = FileReader::new(dir.path(), Signal::Logs)
///     .batches()?
///     .map(|b| b.map(|b| b.num_rows()))
///     .sum::<Result<_, _>>()?;
/// assert_eq!(rows, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct FileStore {
    shared: Arc<Shared>,
}

impl FileStore {
    /// Opens (creating if needed) the output directory of `opts`, takes its lock, and recovers
    /// leftovers of a previous run (see [`RecoveryReport`]).
    pub fn open(opts: StoreOptions) -> Result<FileStore, OpenError> {
        let root = opts.dir.clone();
        std::fs::create_dir_all(&root).map_err(|e| FileError::io("create directory", &root, e))?;
        let dir_lock = DirLock::acquire(&root)?;
        let mut report = RecoveryReport::default();
        let mut seqs = [0; 3];
        for signal in Signal::ALL {
            seqs[index(signal)] = recovery::recover_signal_dir(&root, signal, &opts, &mut report)?;
        }
        if !report.is_clean() {
            tracing::warn!(
                ?report,
                "otlp-spool: recovered files left by a previous run"
            );
        }
        let lanes = Signal::ALL.map(|s| Mutex::new(Lane::new(&root, s, seqs[index(s)])));
        Ok(FileStore {
            shared: Arc::new(Shared {
                opts,
                lanes,
                retention_gates: [Mutex::new(()), Mutex::new(()), Mutex::new(())],
                recovery: report,
                _lock: dir_lock,
            }),
        })
    }

    /// The writer of one signal.
    pub fn writer(&self, signal: Signal) -> SignalWriter {
        SignalWriter {
            shared: Arc::clone(&self.shared),
            signal,
        }
    }

    /// A reader of the finalized files of one signal in this store's directory.
    pub fn reader(&self, signal: Signal) -> FileReader {
        FileReader::new(&self.shared.opts.dir, signal)
    }

    /// What start-up recovery did.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.shared.recovery
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &StoreOptions {
        &self.shared.opts
    }

    /// The output directory.
    pub fn dir(&self) -> &Path {
        &self.shared.opts.dir
    }

    /// Publishes the temporary file of `final_name` (a finalized name of `signal`, such as
    /// `traces-20260101T000000Z-000042.arrow`) if it is still temporary: the start-up
    /// resolution of [`Finalization::Caller`](super::Finalization::Caller). Idempotent; see
    /// [`TempOutcome`].
    pub fn finish_temp(&self, signal: Signal, final_name: &str) -> Result<TempOutcome, FileError> {
        let mut report = RecoveryReport::default();
        let outcome = finalize::finish_temp(&self.shared.opts, signal, final_name, &mut report)?;
        if !report.is_clean() {
            tracing::info!(?report, "otlp-spool: finished a temporary file");
        }
        Ok(outcome)
    }

    /// Publishes every temporary file of `signal` (their complete batches), as start-up
    /// recovery does under [`Finalization::Store`](super::Finalization::Store): for a caller
    /// that finds temporary files it has no record of (written before it kept one).
    pub fn finish_temps(&self, signal: Signal) -> Result<Vec<PathBuf>, FileError> {
        let _lane = lock(self.shared.lane(signal));
        let mut report = RecoveryReport::default();
        finalize::finish_temps(&self.shared.opts, signal, &mut report)
    }

    /// Removes every temporary (and partial) file of `signal`, each with a log line; returns
    /// their paths. For [`Finalization::Caller`](super::Finalization::Caller) at start-up,
    /// before any write: the caller writes their contents again.
    pub fn remove_temps(&self, signal: Signal) -> Result<Vec<PathBuf>, FileError> {
        let lane = lock(self.shared.lane(signal));
        if lane.active_stats().is_some() {
            // Never the file being written.
            return Ok(Vec::new());
        }
        finalize::remove_temps(&self.shared.opts, signal)
    }

    /// Housekeeping for every signal: rotation by age, retries of files that could not be
    /// finalized, and retention. Call it periodically (for example every second). Every signal
    /// is visited even if one fails; the first error is returned.
    pub fn tick(&self) -> Result<TickReport, FileError> {
        let mut report = TickReport::default();
        let mut first_err = None;
        for signal in Signal::ALL {
            // One signal's trouble (say, its folder became unwritable) must not stop the others.
            match self.shared.tick(signal) {
                Ok(r) => {
                    report.finalized.extend(r.finalized);
                    report.retention.merge(r.retention);
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(report), Err)
    }

    /// Finalizes every open file and refuses further writes. The directory lock is released
    /// when the last handle is dropped.
    pub fn close(&self) -> Result<Vec<PathBuf>, FileError> {
        let mut finalized = Vec::new();
        let mut first_err = None;
        for lane in &self.shared.lanes {
            match lock(lane).close(&self.shared.opts) {
                Ok(p) => finalized.extend(p),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(finalized), Err)
    }
}

/// The writer of one signal: `Clone + Send + Sync`, cheap to clone; clones share the lane.
#[derive(Debug, Clone)]
pub struct SignalWriter {
    shared: Arc<Shared>,
    signal: Signal,
}

impl SignalWriter {
    /// The signal written.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// Appends a batch to the signal's active file, rotating by size, age or schema change.
    /// On error the batch is handed back inside the [`WriteError`] and is in no file.
    pub fn write(&self, batch: RecordBatch) -> Result<WriteReceipt, WriteError> {
        lock(self.shared.lane(self.signal)).write(batch, &self.shared.opts)
    }

    /// Finalizes the active file now; returns its final path, if there was one.
    pub fn rotate(&self) -> Result<Option<PathBuf>, FileError> {
        lock(self.shared.lane(self.signal)).rotate(&self.shared.opts)
    }

    /// Rotation by age, retries, and retention for this signal.
    pub fn tick(&self) -> Result<TickReport, FileError> {
        self.shared.tick(self.signal)
    }

    /// Sets (or clears) the hook run when a file of this signal is finalized, between "its
    /// temporary file is complete and fsynced" and "rename" (see
    /// [`Finalization::Caller`](super::Finalization::Caller)).
    pub fn set_finalize_hook(&self, hook: Option<FinalizeHook>) {
        lock(self.shared.lane(self.signal)).set_hook(hook);
    }

    /// Temporary files whose finalization failed and is retried by `rotate` and `tick`.
    pub fn pending_files(&self) -> usize {
        lock(self.shared.lane(self.signal)).pending_files()
    }

    /// Bytes and rows in the active (temporary) file, if one is open.
    pub fn active_file(&self) -> Option<(u64, u64)> {
        lock(self.shared.lane(self.signal)).active_stats()
    }

    /// What recoveries after failed writes did in this process.
    pub fn recovery_report(&self) -> RecoveryReport {
        lock(self.shared.lane(self.signal)).recovery.clone()
    }
}
