//! The embedded API's errors: [`SpoolError`] for every [`Spool`](crate::Spool) operation, with
//! [`ServeError`] for [`Spool::serve`](crate::Spool::serve). Each variant keeps the error it
//! came from as its `source()`; the messages name the configuration key where one is at fault.

use std::net::SocketAddr;

use crate::config::ConfigError;
use crate::pipeline::{FlushError, StartError};

/// Errors of the embedded API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpoolError {
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The pipeline could not start (output directory unusable or locked...).
    #[error(transparent)]
    Start(#[from] StartError),
    /// Flush or shutdown did not complete.
    #[error(transparent)]
    Flush(#[from] FlushError),
    /// The forwarder could not start with settings that passed validation (no tokio runtime,
    /// the TLS client or the system's trust roots could not be set up).
    #[error("config key `forward`: {0}")]
    Forward(#[source] otlp_spool_exporters::ConfigError),
    /// The forwarder's feed from a log could not start: its cursor in the write-ahead log,
    /// or the forward spool a graceful shutdown left (`<output_dir>/forward-spool/<id>/`).
    #[error("forwarding from {}: {problem}", path.display())]
    ForwardLog {
        /// The log's directory.
        path: std::path::PathBuf,
        /// What failed.
        problem: String,
    },
    /// The OTLP endpoints could not start.
    #[error("serving OTLP: {0}")]
    Serve(#[from] ServeError),
    /// The lake uploader (`storage.upload`) could not start.
    #[error("config key `storage.upload`: {0}")]
    Upload(#[source] otlp_spool_upload::StartError),
    /// A task the operation ran on tokio's blocking pool panicked or was cancelled.
    #[error("the {operation} task failed: {source}")]
    Task {
        /// `start-up`, `flush` or `shutdown`.
        operation: &'static str,
        /// The task's end.
        #[source]
        source: tokio::task::JoinError,
    },
}

impl SpoolError {
    /// The error of a blocking task of `operation` that did not return.
    pub(crate) fn task(operation: &'static str) -> impl FnOnce(tokio::task::JoinError) -> Self {
        move |source| Self::Task { operation, source }
    }
}

/// Why [`Spool::serve`](crate::Spool::serve) could not start the OTLP endpoints.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The same non-zero address was given for gRPC and HTTP.
    #[error("{0} given for both gRPC and HTTP; the two endpoints need different ports")]
    SamePort(SocketAddr),
    /// This spool already serves.
    #[error("already serving")]
    AlreadyServing,
    /// The receiver refused its settings.
    #[error(transparent)]
    Build(#[from] otlp_spool_receiver::BuildError),
    /// A port could not be bound.
    #[error(transparent)]
    Bind(#[from] otlp_spool_receiver::ServeError),
    /// The receiver started without reporting both addresses.
    #[error("the receiver did not report its addresses")]
    NoAddresses,
}
