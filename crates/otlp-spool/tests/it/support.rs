//! Test support: the real `otlp-spool` binary on loopback ports, and the Python venv.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `otlp-spool serve` on 127.0.0.1 with ports the OS picked.
pub(crate) struct Server {
    child: Option<Child>,
    pub(crate) grpc: SocketAddr,
    pub(crate) http: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

pub(crate) fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_otlp-spool")
}

/// `otlp-spool serve` on ports the OS picks, writing to `dir`.
pub(crate) fn serve_command(dir: &Path) -> Command {
    let mut command = Command::new(binary());
    command.args(serve_args(dir));
    command
}

impl Server {
    /// Starts the binary writing to `dir` with extra arguments; waits for its "listening" line.
    pub(crate) fn start(dir: &Path, extra: &[&str]) -> Server {
        Self::start_with_env(dir, extra, &[])
    }

    /// Like [`Server::start`] with extra environment variables for the child.
    pub(crate) fn start_with_env(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = serve_command(dir);
        command.args(extra).envs(env.iter().copied());
        Server::spawn(command)
    }

    /// Runs `command` (the binary, or a shell that `exec`s it) and waits for its "listening"
    /// line.
    pub(crate) fn spawn(mut command: Command) -> Server {
        let mut child = command
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the otlp-spool binary starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let _ = tx.send(line.clone());
                    log.lock().unwrap().push(line);
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains("otlp-spool listening") => {
                    let grpc = field(&line, "grpc=").expect("grpc address in the listening line");
                    let http = field(&line, "http=").expect("http address in the listening line");
                    return Server {
                        child: Some(child),
                        grpc,
                        http,
                        log,
                    };
                }
                Ok(_) => continue,
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "otlp-spool did not report its addresses:\n{}",
                        log.lock().unwrap().join("\n")
                    );
                }
            }
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Sends SIGTERM and waits (bounded) for the exit status.
    pub(crate) fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait(Duration::from_secs(60))
    }

    /// [`terminate`](Self::terminate) from async code: the exit status and the whole log.
    pub(crate) async fn terminated(mut self) -> (ExitStatus, String) {
        tokio::task::spawn_blocking(move || {
            let status = self.terminate();
            (status, self.log())
        })
        .await
        .unwrap()
    }

    /// Sends a signal (`TERM`, `INT`) without waiting.
    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub(crate) fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let child = self.child.as_mut().unwrap();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("otlp-spool did not exit in {timeout:?}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The arguments of `otlp-spool serve` on ports the OS picks, writing to `dir`.
pub(crate) fn serve_args(dir: &Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = [
        "serve",
        "--grpc-addr",
        "127.0.0.1:0",
        "--http-addr",
        "127.0.0.1:0",
        "--output-dir",
    ]
    .iter()
    .map(Into::into)
    .collect();
    args.push(dir.into());
    args
}

fn field(line: &str, key: &str) -> Option<SocketAddr> {
    let start = line.find(key)? + key.len();
    let rest = &line[start..];
    let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
    rest[..end].trim_matches('"').parse().ok()
}

/// The Python with `requirements-test.txt` installed (pyarrow, duckdb, the OpenTelemetry SDK,
/// playwright): `$OTLP_SPOOL_PYTHON`, `./.venv` or a venv built once under the target dir.
/// `None` only when `OTLP_SPOOL_SKIP_PYTHON=1` (the caller returns).
pub(crate) use otlp_spool_testkit::python;

pub(crate) fn python_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(name)
}

/// Finalized files of a signal (`*.arrow` / `*.parquet`) and leftover temporary files.
pub(crate) fn files(dir: &Path, signal: &str) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut done = Vec::new();
    let mut tmp = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir.join(signal)) else {
        return (done, tmp);
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".arrow") || name.ends_with(".parquet") {
            done.push(p);
        } else if name.contains(".tmp") {
            tmp.push(p);
        }
    }
    done.sort();
    (done, tmp)
}
