//! Upload throughput to a loopback S3 API server (s3s-fs in a child process, so the client's
//! CPU time is its own), the uploader beside a naive baseline in the same group:
//!
//! - `uploader/*`: files finalized in an output directory, `Uploader::sync` until all are in
//!   the bucket (listing, create-only put or staging multipart + create-only copy, manifest
//!   line with fsync, breaker permit).
//! - `naive_put/*`: the same bytes read and put with plain overwriting `put` /
//!   `put_multipart` to the final key, same concurrency, nothing recorded.
//!
//! `OTLP_SPOOL_UPLOAD_PROBE=<MiB>` instead uploads that much through the uploader once and
//! prints MB/s and the client's CPU seconds per GiB (from `/proc/self/stat`), for runs on a
//! loaded machine where wall time is noise.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStoreExt as _, PutPayload, WriteMultipart};
use otlp_spool_upload::testing::{ACCESS_KEY, S3TestServer, SECRET_KEY};
use otlp_spool_upload::{Credentials, UploadOptions, Uploader};

const BUCKET: &str = "bench";
const MIB: usize = 1 << 20;
const SERVE_VAR: &str = "OTLP_SPOOL_UPLOAD_BENCH_SERVE";

/// The s3s-fs server in a child process (this executable, re-run with `SERVE_VAR`).
struct ServerProcess {
    child: Child,
    endpoint: String,
    root: tempfile::TempDir,
}

impl ServerProcess {
    fn start() -> ServerProcess {
        let root = tempfile::tempdir().unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(SERVE_VAR, root.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        ServerProcess {
            child,
            endpoint: line.trim().to_owned(),
            root,
        }
    }

    /// Removes every object (between samples, so the disk does not fill).
    fn empty_bucket(&self) {
        let bucket = self.root.path().join(BUCKET);
        let _ = std::fs::remove_dir_all(&bucket);
        std::fs::create_dir_all(&bucket).unwrap();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// The child: serves until its stdin closes.
fn serve(root: &Path) {
    let server = S3TestServer::start(root, BUCKET).unwrap();
    println!("{}", server.endpoint());
    std::io::stdout().flush().unwrap();
    let mut sink = String::new();
    while std::io::stdin()
        .read_line(&mut sink)
        .map(|n| n > 0)
        .unwrap_or(false)
    {}
}

fn options(endpoint: &str) -> UploadOptions {
    UploadOptions::builder(format!("s3://{BUCKET}/otel"))
        .endpoint(Some(endpoint.to_owned()))
        .allow_http(true)
        .credentials(Credentials::static_keys(ACCESS_KEY, SECRET_KEY))
        .delete_after_upload(true)
        .multipart_threshold(8 << 20)
        .part_size(8 << 20)
        .build()
        .unwrap()
}

fn naive_store(endpoint: &str) -> Arc<AmazonS3> {
    // The same HTTP client stack as the uploader's, so the difference is the protocol.
    Arc::new(
        AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_region("us-east-1")
            .with_endpoint(endpoint)
            .with_allow_http(true)
            .with_access_key_id(ACCESS_KEY)
            .with_secret_access_key(SECRET_KEY)
            .with_http_connector(otlp_spool_upload::testing::http_connector())
            .build()
            .unwrap(),
    )
}

/// Writes `count` spool-named files of `size` bytes into `folder`, names from `seq`.
fn finalize(folder: &Path, seq: &mut u64, count: usize, size: usize) -> Vec<PathBuf> {
    std::fs::create_dir_all(folder).unwrap();
    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ *seq;
    (0..count)
        .map(|_| {
            *seq += 1;
            let bytes: Vec<u8> = (0..size)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            // Written under a hidden name and renamed, as the storage crate finalizes.
            let name = format!("traces-20261227T033000Z-{seq:06}.parquet");
            let tmp = folder.join(format!(".{name}.tmp"));
            std::fs::write(&tmp, bytes).unwrap();
            let path = folder.join(name);
            std::fs::rename(&tmp, &path).unwrap();
            path
        })
        .collect()
}

async fn naive_upload(store: &AmazonS3, files: &[PathBuf], threshold: usize) {
    let put = |path: PathBuf| async move {
        let bytes = tokio::fs::read(&path).await.unwrap();
        let key = Key::from(format!(
            "naive/{}",
            path.file_name().unwrap().to_str().unwrap()
        ));
        if bytes.len() < threshold {
            store.put(&key, PutPayload::from(bytes)).await.unwrap();
        } else {
            let mut w = WriteMultipart::new_with_chunk_size(
                store.put_multipart(&key).await.unwrap(),
                8 * MIB,
            );
            for chunk in bytes.chunks(8 * MIB) {
                w.wait_for_capacity(2).await.unwrap();
                w.put(bytes::Bytes::copy_from_slice(chunk));
            }
            w.finish().await.unwrap();
        }
        tokio::fs::remove_file(&path).await.unwrap();
    };
    for pair in files.chunks(2) {
        futures_util::future::join_all(pair.iter().cloned().map(put)).await;
    }
}

/// A runtime, the server child, an output directory and an uploader watching it.
fn setup() -> (
    tokio::runtime::Runtime,
    ServerProcess,
    tempfile::TempDir,
    Uploader,
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = ServerProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let uploader = runtime
        .block_on(async { Uploader::start(dir.path(), options(&server.endpoint)) })
        .unwrap();
    (runtime, server, dir, uploader)
}

fn benches(c: &mut Criterion) {
    let (runtime, server, dir, uploader) = setup();
    let naive = runtime.block_on(async { naive_store(&server.endpoint) });
    let mut seq = 0u64;
    let mut group = c.benchmark_group("upload");
    for (label, count, size) in [("8x4MiB", 8, 4 * MIB), ("2x16MiB-multipart", 2, 16 * MIB)] {
        group.throughput(Throughput::Bytes((count * size) as u64));
        group.bench_function(format!("uploader/{label}"), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    finalize(&dir.path().join("traces"), &mut seq, count, size);
                    let start = Instant::now();
                    runtime
                        .block_on(uploader.sync(Duration::from_secs(300)))
                        .unwrap();
                    spent += start.elapsed();
                }
                server.empty_bucket();
                spent
            });
        });
        group.bench_function(format!("naive_put/{label}"), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    // Outside the uploader's folders.
                    let parked = finalize(&dir.path().join("naive"), &mut seq, count, size);
                    let start = Instant::now();
                    runtime.block_on(naive_upload(&naive, &parked, 8 * MIB));
                    spent += start.elapsed();
                }
                server.empty_bucket();
                spent
            });
        });
    }
    group.finish();
    runtime.block_on(uploader.shutdown(Duration::from_secs(5)));
}

/// CPU seconds (user + system) of this process so far, from `/proc/self/stat` (100 Hz ticks).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

fn probe(mib: usize) {
    let (runtime, server, dir, uploader) = setup();
    let mut seq = 0;
    let (mut bytes, mut wall, mut cpu) = (0usize, 0.0f64, 0.0f64);
    let mut left = mib;
    while left > 0 {
        let count = left.min(64) / 4;
        let count = count.max(1);
        finalize(&dir.path().join("traces"), &mut seq, count, 4 * MIB);
        let (c0, t0) = (cpu_seconds(), Instant::now());
        runtime
            .block_on(uploader.sync(Duration::from_secs(600)))
            .unwrap();
        wall += t0.elapsed().as_secs_f64();
        cpu += cpu_seconds() - c0;
        bytes += count * 4 * MIB;
        left = left.saturating_sub(count * 4);
        server.empty_bucket();
    }
    let stats = uploader.stats();
    runtime.block_on(uploader.shutdown(Duration::from_secs(5)));
    let gib = bytes as f64 / (1u64 << 30) as f64;
    println!(
        "uploaded {} files, {:.2} GiB in {wall:.2} s wall: {:.1} MB/s; client CPU {cpu:.2} s = {:.2} CPU-s per GiB",
        stats.uploaded_files,
        gib,
        bytes as f64 / 1e6 / wall,
        cpu / gib
    );
}

fn main() {
    if let Some(root) = std::env::var_os(SERVE_VAR) {
        serve(Path::new(&root));
        return;
    }
    if let Ok(mib) = std::env::var("OTLP_SPOOL_UPLOAD_PROBE") {
        probe(mib.parse().expect("OTLP_SPOOL_UPLOAD_PROBE=<MiB>"));
        return;
    }
    // Few, long samples by default (an iteration moves 32 MiB); command-line flags win.
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .configure_from_args();
    benches(&mut c);
    c.final_summary();
}
