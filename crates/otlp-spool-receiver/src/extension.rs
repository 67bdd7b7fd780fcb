//! [`HttpExtension`]: extra `GET` pages on the HTTP port (the facade mounts its viewer at
//! `/ui` this way), for paths the receiver does not serve itself.
//!
//! Invariants: an extension is asked only about paths other than `/v1/*`, `/health`, `/ready`
//! and `/metrics`; a request reaches it only after the bearer-token check that `/metrics`
//! has (401 otherwise); it gets the method, URI and headers, never the body; what it answers
//! goes out unchanged.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use tonic::codegen::http::{Request, Response};

/// The future an extension answers with.
pub type ExtensionFuture = Pin<Box<dyn Future<Output = Response<Bytes>> + Send>>;

/// Serves paths of the HTTP port the receiver does not serve itself.
pub trait HttpExtension: Send + Sync + 'static {
    /// Whether this extension answers `path` (else the receiver answers 404).
    fn serves(&self, path: &str) -> bool;

    /// Answers a request for a path it serves (the body is not read: `Request<()>`).
    fn call(&self, request: Request<()>) -> ExtensionFuture;
}
