//! One attempt to put one finalized file into the lake, create-only.
//!
//! - Below `multipart_threshold`: one `PUT` with `If-None-Match: *` (`PutMode::Create`).
//! - From the threshold up: a multipart upload to the file's staging key, then a create-only
//!   copy into place (a one-part multipart copy completed with `If-None-Match: *`), then the
//!   staging object is deleted. object_store completes its own multipart uploads in overwrite
//!   mode, which is why the upload does not go to the final key directly.
//!
//! Invariants: no object is ever overwritten (both paths fail with `AlreadyExists` when the key
//! is taken); an object is visible only complete (S3 publishes a put or a completed multipart
//! upload atomically; a failed multipart upload is aborted, best effort); a key that already
//! exists is compared with the local file (size, then bytes): equal is `AlreadyPresent` (the
//! re-upload after a crash), different is a `Conflict`, never a failure to retry; memory held
//! is one file below the threshold, two parts above it.

use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use object_store::aws::AmazonS3;
use object_store::path::Path;
use object_store::{
    Error as StoreError, ObjectStore, ObjectStoreExt as _, PutMode, PutOptions, PutPayload,
    WriteMultipart,
};
use tokio::io::AsyncReadExt as _;

/// Parts of one multipart upload in flight at once.
const PARTS_IN_FLIGHT: usize = 2;

/// The result of one attempt.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The object was created now.
    Uploaded {
        /// Its size.
        bytes: u64,
        /// Whether it went up in parts.
        multipart: bool,
    },
    /// The key already held exactly this file.
    AlreadyPresent {
        /// Its size.
        bytes: u64,
    },
    /// The key holds something else.
    Conflict(String),
    /// The local file is gone.
    Vanished,
    /// Reading the local file failed (not the server's fault).
    Local(String),
    /// The server or the connection failed; retry later.
    Remote(String),
}

/// What the attempt needs to know.
#[derive(Debug, Clone)]
pub(crate) struct Transfer {
    pub(crate) store: Arc<AmazonS3>,
    pub(crate) multipart_threshold: u64,
    pub(crate) part_size: u64,
    pub(crate) read_timeout: Duration,
}

impl Transfer {
    /// Puts `local` at `key` (multipart through `staging`).
    pub(crate) async fn put(&self, local: &FsPath, key: &Path, staging: &Path) -> Outcome {
        let file = match tokio::fs::File::open(local).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Outcome::Vanished,
            Err(e) => return Outcome::Local(format!("open {}: {e}", local.display())),
        };
        let size = match file.metadata().await {
            Ok(m) => m.len(),
            Err(e) => return Outcome::Local(format!("stat {}: {e}", local.display())),
        };
        if size < self.multipart_threshold {
            self.put_whole(file, size, local, key).await
        } else {
            self.put_in_parts(file, size, local, key, staging).await
        }
    }

    async fn put_whole(
        &self,
        mut file: tokio::fs::File,
        size: u64,
        local: &FsPath,
        key: &Path,
    ) -> Outcome {
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        if let Err(e) = file.read_to_end(&mut bytes).await {
            return Outcome::Local(format!("read {}: {e}", local.display()));
        }
        let size = bytes.len() as u64;
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(key, PutPayload::from(bytes), options)
            .await
        {
            Ok(_) => Outcome::Uploaded {
                bytes: size,
                multipart: false,
            },
            Err(StoreError::AlreadyExists { .. }) => self.compare(local, size, key).await,
            Err(e) => Outcome::Remote(e.to_string()),
        }
    }

    async fn put_in_parts(
        &self,
        file: tokio::fs::File,
        size: u64,
        local: &FsPath,
        key: &Path,
        staging: &Path,
    ) -> Outcome {
        // After a crash the object may be in place already: no need to send it again.
        match self.store.head(key).await {
            Ok(_) => {
                let outcome = self.compare(local, size, key).await;
                self.discard(staging).await;
                return outcome;
            }
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Outcome::Remote(e.to_string()),
        }
        // A previous attempt may have assembled the staging object before its copy failed.
        let staged = match self.store.head(staging).await {
            Ok(meta) => meta.size == size,
            Err(StoreError::NotFound { .. }) => false,
            Err(e) => return Outcome::Remote(e.to_string()),
        };
        if !staged && let Err(outcome) = self.upload_parts(file, local, staging).await {
            return outcome;
        }
        let outcome = match self.store.copy_if_not_exists(staging, key).await {
            Ok(()) => Outcome::Uploaded {
                bytes: size,
                multipart: true,
            },
            Err(StoreError::AlreadyExists { .. }) => self.compare(local, size, key).await,
            Err(e) => return Outcome::Remote(e.to_string()),
        };
        self.discard(staging).await;
        outcome
    }

    /// Deletes a staging object, best effort (a leftover sits outside every dataset).
    async fn discard(&self, staging: &Path) {
        match self.store.delete(staging).await {
            Ok(()) | Err(StoreError::NotFound { .. }) => {}
            Err(e) => {
                tracing::debug!(key = %staging, error = %e, "upload: staging object not deleted")
            }
        }
    }

    /// Streams the file into a multipart upload at `staging`, `part_size` bytes a part.
    async fn upload_parts(
        &self,
        mut file: tokio::fs::File,
        local: &FsPath,
        staging: &Path,
    ) -> Result<(), Outcome> {
        let upload = self
            .store
            .put_multipart(staging)
            .await
            .map_err(|e| Outcome::Remote(e.to_string()))?;
        let part = usize::try_from(self.part_size).unwrap_or(usize::MAX);
        let mut writer = WriteMultipart::new_with_chunk_size(upload, part);
        let result = async {
            loop {
                let mut chunk = Vec::with_capacity(part);
                let read = (&mut file)
                    .take(part as u64)
                    .read_to_end(&mut chunk)
                    .await
                    .map_err(|e| Outcome::Local(format!("read {}: {e}", local.display())))?;
                if read == 0 {
                    return Ok(());
                }
                writer
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(|e| Outcome::Remote(e.to_string()))?;
                writer.put(Bytes::from(chunk));
            }
        }
        .await;
        match result {
            Ok(()) => writer
                .finish()
                .await
                .map(|_| ())
                .map_err(|e| Outcome::Remote(e.to_string())),
            Err(outcome) => {
                if let Err(e) = writer.abort().await {
                    tracing::debug!(key = %staging, error = %e, "upload: multipart abort failed");
                }
                Err(outcome)
            }
        }
    }

    /// The key exists: is it this file?
    async fn compare(&self, local: &FsPath, size: u64, key: &Path) -> Outcome {
        let meta = match self.store.head(key).await {
            Ok(meta) => meta,
            Err(e) => return Outcome::Remote(e.to_string()),
        };
        if meta.size != size {
            return Outcome::Conflict(format!(
                "{key} exists with {} bytes, the local file has {size}",
                meta.size
            ));
        }
        let mut file = match tokio::fs::File::open(local).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Outcome::Vanished,
            Err(e) => return Outcome::Local(format!("open {}: {e}", local.display())),
        };
        let mut stream = match self.store.get(key).await {
            Ok(result) => result.into_stream(),
            Err(e) => return Outcome::Remote(e.to_string()),
        };
        let mut local_buf = Vec::new();
        let mut compared = 0u64;
        loop {
            let chunk = match tokio::time::timeout(self.read_timeout, stream.next()).await {
                Ok(Some(Ok(chunk))) => chunk,
                Ok(None) => break,
                Ok(Some(Err(e))) => return Outcome::Remote(e.to_string()),
                Err(_) => return Outcome::Remote(format!("reading {key} back timed out")),
            };
            local_buf.resize(chunk.len(), 0);
            if let Err(e) = file.read_exact(&mut local_buf).await {
                return Outcome::Local(format!("read {}: {e}", local.display()));
            }
            if local_buf != chunk {
                return Outcome::Conflict(format!(
                    "{key} exists with other content (differs within bytes {compared}..{})",
                    compared + chunk.len() as u64
                ));
            }
            compared += chunk.len() as u64;
        }
        if compared == size {
            Outcome::AlreadyPresent { bytes: size }
        } else {
            Outcome::Remote(format!("{key}: read back {compared} of {size} bytes"))
        }
    }
}
