//! Errors: [`ViewerError`] for reading a spool, [`QueryError`] for a query the viewer refuses.

use std::path::{Path, PathBuf};

/// Reading the spool directory failed.
#[derive(Debug, thiserror::Error)]
pub enum ViewerError {
    /// A directory or file could not be listed or opened.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A finalized file could not be decoded (it is skipped; the message names it).
    #[error("reading {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The storage reader refused (listing finalized files).
    #[error("{0}")]
    Read(String),
}

impl ViewerError {
    pub(crate) fn io(op: &'static str, path: &Path, source: std::io::Error) -> Self {
        ViewerError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn file(path: &Path, message: impl std::fmt::Display) -> Self {
        ViewerError::File {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }
}

/// A query parameter the viewer cannot use (a page answers 400 and names it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parameter `{name}`: {problem}")]
pub struct QueryError {
    /// The parameter.
    pub name: &'static str,
    /// What is wrong with its value.
    pub problem: String,
}
