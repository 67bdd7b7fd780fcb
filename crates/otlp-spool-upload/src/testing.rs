//! A real S3 API server for tests and benchmarks (feature `test-util`): s3s-fs, which keeps
//! objects as files under a root directory, served over HTTP/1.1 on 127.0.0.1 with SigV4
//! authentication, from its own thread and runtime so blocking tests can use it too.
//!
//! Faults, for the crash and outage tests: [`S3TestServer::stop`] closes the listener and
//! every connection (a server that is down: connections are refused) and
//! [`S3TestServer::restart`] comes back on the same port; [`S3TestServer::hold_writes`] makes
//! every write (put, part, copy part, complete) wait until released, so a test can act while
//! an upload is in flight.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use hyper_util::rt::{TokioExecutor, TokioIo};
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result};
use tokio::sync::watch;

/// The access key the server accepts.
pub const ACCESS_KEY: &str = "otlp-spool-test";
/// The secret key the server accepts.
pub const SECRET_KEY: &str = "otlp-spool-test-secret";

/// A running s3s-fs server; see the module docs. Stops when dropped.
#[derive(Debug)]
pub struct S3TestServer {
    root: PathBuf,
    bucket: String,
    addr: SocketAddr,
    gate: Arc<Gate>,
    running: Option<Running>,
}

#[derive(Debug)]
struct Running {
    stop: watch::Sender<bool>,
    thread: std::thread::JoinHandle<()>,
}

/// Holds writes while `hold` is true; counts the writes waiting and the writes being handled.
#[derive(Debug)]
struct Gate {
    hold: watch::Sender<bool>,
    waiting: AtomicUsize,
    /// Writes between arrival and their end: answered, or dropped with their connection.
    in_flight: AtomicUsize,
}

/// Decrements its counter when dropped: when the write ends, whether it was answered or its
/// future dropped (a client killed mid-request: hyper drops the handler).
struct Counted<'a>(&'a AtomicUsize);

impl<'a> Counted<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Gate {
    async fn pass(&self) {
        let mut hold = self.hold.subscribe();
        if !*hold.borrow() {
            return;
        }
        let _waiting = Counted::new(&self.waiting);
        let _ = hold.wait_for(|h| !*h).await;
    }
}

impl S3TestServer {
    /// Starts a server keeping its data under `root` with one (empty or existing) `bucket`.
    pub fn start(root: &Path, bucket: &str) -> std::io::Result<Self> {
        std::fs::create_dir_all(root.join(bucket))?;
        let (hold, _) = watch::channel(false);
        let mut server = Self {
            root: root.to_path_buf(),
            bucket: bucket.to_owned(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            gate: Arc::new(Gate {
                hold,
                waiting: AtomicUsize::new(0),
                in_flight: AtomicUsize::new(0),
            }),
            running: None,
        };
        server.serve()?;
        Ok(server)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Closes the listener and every open connection: clients get connection errors.
    pub fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop.send_replace(true);
            let _ = running.thread.join();
        }
    }

    /// Serves again on the same port after [`stop`](Self::stop).
    pub fn restart(&mut self) -> std::io::Result<()> {
        if self.running.is_none() {
            self.serve()?;
        }
        Ok(())
    }

    /// While `true`, every write waits (the request stays in flight) until set back to false.
    pub fn hold_writes(&self, hold: bool) {
        self.gate.hold.send_replace(hold);
    }

    /// Writes waiting at the gate now.
    pub fn held_writes(&self) -> usize {
        self.gate.waiting.load(Ordering::SeqCst)
    }

    /// Writes the server is handling now, held or not: zero once every write that arrived was
    /// answered or abandoned with its connection.
    pub fn writes_in_flight(&self) -> usize {
        self.gate.in_flight.load(Ordering::SeqCst)
    }

    /// Every object of the bucket as `(key, size)`, sorted, read from the server's files.
    pub fn objects(&self) -> Vec<(String, u64)> {
        let base = self.root.join(&self.bucket);
        let mut out = Vec::new();
        let mut dirs = vec![base.clone()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                match entry.metadata() {
                    Ok(m) if m.is_dir() => dirs.push(path),
                    Ok(m) => {
                        if let Ok(rel) = path.strip_prefix(&base) {
                            out.push((rel.to_string_lossy().replace('\\', "/"), m.len()));
                        }
                    }
                    Err(_) => {}
                }
            }
        }
        out.sort();
        out
    }

    /// The bytes of object `key`, read from the server's files.
    pub fn object_bytes(&self, key: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.root.join(&self.bucket).join(key))
    }

    /// Writes object `key` straight into the server's files, as an earlier client would have
    /// left it.
    pub fn put_raw(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.root.join(&self.bucket).join(key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, bytes)
    }

    fn serve(&mut self) -> std::io::Result<()> {
        let fs = s3s_fs::FileSystem::new(&self.root)
            .map_err(|e| std::io::Error::other(format!("s3s-fs: {e:?}")))?;
        let mut builder = s3s::service::S3ServiceBuilder::new(Gated {
            fs,
            gate: Arc::clone(&self.gate),
            root: self.root.clone(),
        });
        builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let (stop, mut stopped) = watch::channel(false);
        let (bound_tx, bound_rx) = std::sync::mpsc::channel();
        let want = self.addr;
        let thread = std::thread::Builder::new()
            .name("s3-test-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a runtime for the test server");
                runtime.block_on(async move {
                    let listener = match bind_reusing(want) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = bound_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = bound_tx.send(listener.local_addr());
                    let mut connections = tokio::task::JoinSet::new();
                    loop {
                        tokio::select! {
                            accepted = listener.accept() => {
                                let Ok((socket, _)) = accepted else { continue };
                                let service = service.clone();
                                connections.spawn(async move {
                                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                                        .serve_connection(TokioIo::new(socket), service)
                                        .await;
                                });
                            }
                            _ = stopped.wait_for(|s| *s) => break,
                        }
                    }
                    // Dropping the listener and aborting every connection: the server is down.
                    drop(listener);
                    connections.shutdown().await;
                });
                runtime.shutdown_background();
            })?;
        let bound = bound_rx
            .recv()
            .map_err(|_| std::io::Error::other("the test server thread ended before binding"))?;
        match bound {
            Ok(addr) => {
                self.addr = addr;
                self.running = Some(Running { stop, thread });
                Ok(())
            }
            Err(e) => {
                let _ = thread.join();
                Err(e)
            }
        }
    }
}

impl Drop for S3TestServer {
    fn drop(&mut self) {
        self.hold_writes(false);
        self.stop();
    }
}

/// The HTTP client the uploader gives object_store (hyper-rustls on ring), for baselines
/// that build their own store.
pub fn http_connector() -> impl object_store::client::HttpConnector {
    crate::http::RustlsConnector::new(std::time::Duration::from_secs(60))
        .expect("the rustls client configuration")
}

/// A listener on `addr` with `SO_REUSEADDR`, so a restart can take the same port back.
fn bind_reusing(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(128)
}

/// s3s-fs behind the write gate. Only the operations object_store and pyarrow use are passed
/// on; the rest answer NotImplemented (s3s's defaults).
struct Gated {
    fs: s3s_fs::FileSystem,
    gate: Arc<Gate>,
    root: PathBuf,
}

impl Gated {
    /// S3 has no directories: a key naming one of s3s-fs's folders does not exist (s3s-fs
    /// itself answers 500 there, which pyarrow's directory probe does not survive).
    fn refuse_folder(&self, bucket: &str, key: &str) -> S3Result<()> {
        if self.root.join(bucket).join(key).is_dir() {
            return Err(s3s::s3_error!(NoSuchKey));
        }
        Ok(())
    }
}

/// The `S3` impl: `pass` operations go straight to s3s-fs, `gated` ones wait at the gate
/// first. (One macro for the whole impl, so `async_trait` sees the expanded methods.)
macro_rules! gated_s3 {
    (pass { $($p:ident($pi:ty) -> $po:ty;)* } gated { $($g:ident($gi:ty) -> $go:ty;)* }) => {
        #[async_trait]
        impl S3 for Gated {
            $(
                async fn $p(&self, req: S3Request<$pi>) -> S3Result<S3Response<$po>> {
                    self.fs.$p(req).await
                }
            )*
            async fn head_object(
                &self,
                req: S3Request<HeadObjectInput>,
            ) -> S3Result<S3Response<HeadObjectOutput>> {
                self.refuse_folder(&req.input.bucket, &req.input.key)?;
                self.fs.head_object(req).await
            }
            async fn get_object(
                &self,
                req: S3Request<GetObjectInput>,
            ) -> S3Result<S3Response<GetObjectOutput>> {
                self.refuse_folder(&req.input.bucket, &req.input.key)?;
                self.fs.get_object(req).await
            }
            $(
                async fn $g(&self, req: S3Request<$gi>) -> S3Result<S3Response<$go>> {
                    let _in_flight = Counted::new(&self.gate.in_flight);
                    self.gate.pass().await;
                    self.fs.$g(req).await
                }
            )*
        }
    };
}

gated_s3! {
    pass {
        head_bucket(HeadBucketInput) -> HeadBucketOutput;
        list_buckets(ListBucketsInput) -> ListBucketsOutput;
        get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
        list_objects(ListObjectsInput) -> ListObjectsOutput;
        list_objects_v2(ListObjectsV2Input) -> ListObjectsV2Output;
        delete_object(DeleteObjectInput) -> DeleteObjectOutput;
        delete_objects(DeleteObjectsInput) -> DeleteObjectsOutput;
        create_multipart_upload(CreateMultipartUploadInput) -> CreateMultipartUploadOutput;
        abort_multipart_upload(AbortMultipartUploadInput) -> AbortMultipartUploadOutput;
        list_parts(ListPartsInput) -> ListPartsOutput;
    }
    gated {
        put_object(PutObjectInput) -> PutObjectOutput;
        upload_part(UploadPartInput) -> UploadPartOutput;
        upload_part_copy(UploadPartCopyInput) -> UploadPartCopyOutput;
        complete_multipart_upload(CompleteMultipartUploadInput) -> CompleteMultipartUploadOutput;
        copy_object(CopyObjectInput) -> CopyObjectOutput;
    }
}
