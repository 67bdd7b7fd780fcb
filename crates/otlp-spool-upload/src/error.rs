//! Errors, one type per operation: [`ConfigError`] (options), [`StartError`] (starting the
//! uploader). Failures of single uploads are never errors of the API: they are retried and
//! counted in [`UploadStats`](crate::UploadStats).

use std::path::PathBuf;

/// An option was refused by [`UploadOptionsBuilder::build`](crate::UploadOptionsBuilder::build).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}`: {problem}")]
pub struct ConfigError {
    /// The option, as named in the facade's `storage.upload` section (`url`, `part_size`,
    /// `retry.max_backoff`, ...).
    pub key: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl ConfigError {
    pub(crate) fn new(key: &'static str, problem: impl Into<String>) -> Self {
        Self {
            key,
            problem: problem.into(),
        }
    }
}

/// Why [`Uploader::start`](crate::Uploader::start) failed. Nothing was uploaded or changed
/// in the bucket.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The instance id file or the upload manifest in the output directory could not be
    /// read or created.
    #[error("{what} {}: {source}", path.display())]
    State {
        /// What was being done (`reading the instance id`, ...).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The instance id file holds something that is not an instance id.
    #[error("{}: `{found}` is not an instance id (1 to 64 of A-Z a-z 0-9 . _ -)", path.display())]
    BadInstanceId {
        /// The file.
        path: PathBuf,
        /// Its content.
        found: String,
    },
    /// The credentials named by the environment or the profile cannot be used.
    #[error("credentials: {0}")]
    Credentials(String),
    /// The object store client could not be built.
    #[error("object store client: {0}")]
    Client(String),
    /// The uploader must be started inside a tokio runtime.
    #[error("the uploader must be started inside a tokio runtime")]
    NoRuntime,
}
