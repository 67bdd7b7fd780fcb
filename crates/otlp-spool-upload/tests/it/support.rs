//! Helpers: a lake (an s3s-fs server in a temp dir), uploader options pointing at it, and
//! spool-named files with known bytes.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use otlp_spool_breaker::CircuitBreaker;
use otlp_spool_upload::testing::{ACCESS_KEY, S3TestServer, SECRET_KEY};
use otlp_spool_upload::{Credentials, UploadOptions, UploadOptionsBuilder, Uploader};

pub(crate) const BUCKET: &str = "lake";
pub(crate) const PREFIX: &str = "otel";

/// An S3 test server with its data in a temp dir.
pub(crate) struct Lake {
    pub(crate) server: S3TestServer,
    _root: tempfile::TempDir,
}

impl Lake {
    pub(crate) fn new() -> Lake {
        let root = tempfile::tempdir().unwrap();
        let server = S3TestServer::start(root.path(), BUCKET).unwrap();
        Lake {
            server,
            _root: root,
        }
    }

    /// Options for this lake with fast scans and short back-offs.
    pub(crate) fn options(&self) -> UploadOptionsBuilder {
        UploadOptions::builder(format!("s3://{BUCKET}/{PREFIX}"))
            .endpoint(Some(self.server.endpoint()))
            .allow_http(true)
            .credentials(Credentials::static_keys(ACCESS_KEY, SECRET_KEY))
            .scan_interval(Duration::from_millis(50))
            .request_timeout(Duration::from_secs(20))
            .backoff(Duration::from_millis(20), Duration::from_millis(200))
            .breaker(
                CircuitBreaker::builder()
                    .failure_threshold(2)
                    .open_duration(Duration::from_millis(200))
                    .max_open_duration(Duration::from_millis(400))
                    .build()
                    .unwrap(),
            )
    }

    pub(crate) fn start(&self, dir: &Path, options: UploadOptionsBuilder) -> Uploader {
        Uploader::start(dir, options.build().unwrap()).unwrap()
    }

    /// Keys of the bucket (sorted).
    pub(crate) fn keys(&self) -> Vec<String> {
        self.server.objects().into_iter().map(|(k, _)| k).collect()
    }
}

/// Runs `f` under a timeout.
pub(crate) async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(120), f)
        .await
        .expect("the test finished in time")
}

/// Deterministic bytes of a file: a function of its name and length.
pub(crate) fn content(name: &str, len: usize) -> Vec<u8> {
    let mut x = name.bytes().fold(0x9E37_79B9_7F4A_7C15u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    });
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Writes a finalized spool file `<dir>/<signal>/<signal>-<stamp>-<seq>.parquet` of `len`
/// bytes the way the storage crate does: a hidden temporary file renamed into place.
pub(crate) fn spool_file(dir: &Path, signal: &str, stamp: &str, seq: u64, len: usize) -> PathBuf {
    let folder = dir.join(signal);
    std::fs::create_dir_all(&folder).unwrap();
    let name = format!("{signal}-{stamp}-{seq:06}.parquet");
    let tmp = folder.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, content(&name, len)).unwrap();
    let path = folder.join(&name);
    std::fs::rename(&tmp, &path).unwrap();
    path
}

/// The lake key of a spool file for `instance`.
pub(crate) fn key_of(instance: &str, path: &Path) -> String {
    let name = path.file_name().unwrap().to_str().unwrap();
    let signal = name.split('-').next().unwrap();
    let stamp = &name[signal.len() + 1..signal.len() + 17];
    format!(
        "{PREFIX}/{signal}/date={}-{}-{}/hour={}/{instance}-{name}",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11]
    )
}

/// Asserts that every local file is in the bucket under its key with the same bytes.
pub(crate) fn assert_uploaded(lake: &Lake, instance: &str, files: &[PathBuf]) {
    for file in files {
        let key = key_of(instance, file);
        let remote = lake.server.object_bytes(&key).unwrap_or_else(|e| {
            panic!("{key} is not in the bucket: {e}; bucket: {:?}", lake.keys())
        });
        assert!(
            remote == std::fs::read(file).unwrap(),
            "{key} differs from {}",
            file.display()
        );
    }
}
