//! The pipeline's errors, one type per operation: [`StartError`] (opening the output directory
//! and starting the flushers) and [`FlushError`] (`flush` and `shutdown`). Each keeps the error
//! it came from as its `source()`.

use std::fmt;
use std::time::Duration;

use otlp_spool_core::Signal;

/// Why the pipeline could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The output directory cannot be used (missing permissions, locked by another instance...).
    #[error("config key `output_dir`: {0}")]
    Storage(#[source] otlp_spool_storage::OpenError),
    /// A buffer or storage setting was refused.
    #[error("config key `{key}`: {problem}")]
    Config {
        /// The key.
        key: &'static str,
        /// The problem.
        problem: String,
    },
    /// A flusher thread could not be started.
    #[error("starting a flusher thread: {0}")]
    Thread(#[from] std::io::Error),
    /// `durability: wal`: the write-ahead log could not be opened, or its start-up
    /// resolution against the files failed.
    #[error("write-ahead log ({dir}): {problem}")]
    Wal {
        /// The log's directory.
        dir: std::path::PathBuf,
        /// What failed.
        problem: String,
    },
}

/// A flush or shutdown that did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlushError {
    /// The pipeline was shut down: its flushers are gone.
    #[error("the pipeline is shut down")]
    ShutDown,
    /// One or more lanes did not flush (each named, in signal order).
    #[error("{}", Joined(.0, "; "))]
    Lanes(Vec<LaneFlushError>),
    /// Shutdown reached its deadline with writers still busy; what their lanes held is
    /// counted as abandoned.
    #[error("the writers did not finish within {timeout:?} (lanes still holding data: {})", Joined(.lanes, ", "))]
    WritersBusy {
        /// The shutdown's timeout.
        timeout: Duration,
        /// The lanes still holding data.
        lanes: Vec<Signal>,
    },
    /// The lanes drained, but the open files could not be finalized.
    #[error("finalizing files: {0}")]
    Finalize(#[source] otlp_spool_storage::FileError),
}

/// Why one lane's flush did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LaneFlushError {
    /// The flusher did not serve the flush before the deadline.
    #[error("{signal} flush did not finish within {timeout:?}")]
    TimedOut {
        /// The lane.
        signal: Signal,
        /// The flush's timeout.
        timeout: Duration,
    },
    /// The flusher served the flush but a write failed (conversion, storage, a caught panic);
    /// the message is the one the flusher logged, naming the signal.
    #[error("{0}")]
    Write(String),
}

/// Items shown one after the other with a separator between them.
struct Joined<'a, T>(&'a [T], &'static str);

impl<T: fmt::Display> fmt::Display for Joined<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(self.1)?;
            }
            write!(f, "{item}")?;
        }
        Ok(())
    }
}
