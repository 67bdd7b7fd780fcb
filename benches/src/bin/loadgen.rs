//! `loadgen`: sends OTLP traces to otlp-spool at a fixed rate or as fast as possible, for a
//! fixed time, and reports accepted spans/s, rejections by code and p50/p99 latency. With
//! `--spawn-server` it also starts the server (pinned with `taskset`), measures its CPU time
//! per million spans and its idle and peak RSS, stops it with SIGTERM, checks it exits 0 and
//! counts the rows that reached the Arrow files. With `--server-cmd` it starts any other OTLP
//! server the same way (pinned, measured from `/proc`, stopped with SIGTERM) for a side-by-side
//! comparison; it is ready once its port accepts connections, and nothing is checked after
//! the run besides its stopping. See benches/README.md for the commands.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Parser;
use otlp_spool_benches::{
    Latencies, Outcome, ProcSample, Protocol, RequestPool, Sender, clock_ticks_per_second,
    metric_value,
};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ProtocolArg {
    Grpc,
    Http,
}

#[derive(Debug, Parser)]
#[command(name = "loadgen", about = "OTLP trace load generator for otlp-spool")]
struct Args {
    /// grpc (TraceService/Export) or http (POST /v1/traces, protobuf).
    #[arg(long, value_enum, default_value = "grpc")]
    protocol: ProtocolArg,
    /// Server address for the chosen protocol (not needed with --spawn-server).
    #[arg(long)]
    target: Option<SocketAddr>,
    /// The server's HTTP address, for /metrics (not needed with --spawn-server).
    #[arg(long)]
    metrics_addr: Option<SocketAddr>,
    /// Start this otlp-spool binary (`serve` on 127.0.0.1:0) and measure it.
    #[arg(long, value_name = "PATH", conflicts_with = "server_cmd")]
    spawn_server: Option<PathBuf>,
    /// Start this command (run by `sh -c 'exec CMD'`) as the server instead and measure it the
    /// same way: `{grpc_port}` and `{http_port}` are replaced by free ports on 127.0.0.1 and
    /// `{port}` by the one of `--protocol`, e.g. `rotel-agent start --exporter blackhole
    /// --otlp-grpc-endpoint 127.0.0.1:{grpc_port} --otlp-http-endpoint 127.0.0.1:{http_port}`.
    /// No `/metrics` drain and no file check: it is a foreign server.
    #[arg(long, value_name = "CMD")]
    server_cmd: Option<String>,
    /// YAML configuration passed to the spawned server with --config.
    #[arg(long, value_name = "FILE")]
    server_config: Option<PathBuf>,
    /// Pin the spawned server to these CPUs (`taskset -c`).
    #[arg(long, value_name = "CPUS")]
    server_cpu: Option<String>,
    /// Pin this generator to these CPUs (`taskset -p -c` on itself, before any thread starts).
    #[arg(long, value_name = "CPUS")]
    client_cpu: Option<String>,
    /// Output directory of the spawned server (default: a fresh folder under the temp dir,
    /// removed at the end unless --keep-output).
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
    /// Keep the spawned server's output directory.
    #[arg(long)]
    keep_output: bool,
    /// Requests per second over all connections; 0 means as fast as possible.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Concurrent connections (each has one request in flight at a time).
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Measured duration, seconds.
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
    /// Unmeasured warm-up before it, seconds.
    #[arg(long, default_value_t = 3.0)]
    warmup: f64,
    /// Spans per request.
    #[arg(long, default_value_t = 512)]
    spans_per_request: usize,
    /// Distinct pre-encoded requests (ids are refreshed on every send anyway).
    #[arg(long, default_value_t = 64)]
    pool: usize,
    /// Per-request timeout, seconds.
    #[arg(long, default_value_t = 10.0)]
    request_timeout: f64,
    /// Do not read the spawned server's files back to count their rows.
    #[arg(long)]
    no_verify_files: bool,
    /// Generator runtime threads (default: the CPUs it may use).
    #[arg(long)]
    client_threads: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.connections == 0 || args.duration <= 0.0 || args.warmup < 0.0 || args.rate < 0.0 {
        bail!("--connections and --duration must be positive, --warmup and --rate not negative");
    }
    if let Some(cpus) = &args.client_cpu {
        // Only the main thread exists yet: every thread started later inherits the mask.
        let status = Command::new("taskset")
            .args(["-p", "-c", cpus, &std::process::id().to_string()])
            .stdout(Stdio::null())
            .status()
            .context("running taskset (util-linux) to pin the generator")?;
        if !status.success() {
            bail!("taskset -p -c {cpus} failed: {status}");
        }
    }
    let load_before = load_average();
    let mut server = match (&args.spawn_server, &args.server_cmd) {
        (Some(bin), _) => Some(Server::spawn(bin, &args)?),
        (None, Some(cmd)) => Some(Server::spawn_command(cmd, &args)?),
        (None, None) => None,
    };
    let (target, metrics_addr) = match &server {
        Some(s) => (
            match args.protocol {
                ProtocolArg::Grpc => s.grpc,
                ProtocolArg::Http => s.http,
            },
            (!s.foreign).then_some(s.http),
        ),
        None => (
            args.target
                .context("--target is required without --spawn-server or --server-cmd")?,
            args.metrics_addr,
        ),
    };
    let idle = match &server {
        Some(s) => {
            std::thread::sleep(Duration::from_secs(1));
            Some(ProcSample::read(s.pid()).context("reading the server's /proc")?)
        }
        None => None,
    };

    let base_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let pool = Arc::new(RequestPool::new(
        args.pool,
        args.spans_per_request,
        base_time,
    ));
    let threads = args
        .client_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .context("starting the generator runtime")?;
    let protocol = match args.protocol {
        ProtocolArg::Grpc => Protocol::Grpc,
        ProtocolArg::Http => Protocol::Http,
    };
    let server_pid = server.as_ref().map(Server::pid);
    let run = runtime.block_on(drive(
        &args,
        protocol,
        target,
        metrics_addr,
        pool.clone(),
        server_pid,
    ));
    let run = match run {
        Ok(run) => run,
        Err(e) => {
            if let Some(s) = server.as_mut() {
                s.kill();
            }
            return Err(e);
        }
    };
    let load_after = load_average();

    // Let the server write out what it accepted, then stop it.
    let mut server_report = None;
    if let Some(mut s) = server.take() {
        let drained = match metrics_addr {
            Some(addr) => runtime.block_on(wait_drained(addr)),
            None => Drained::not_watched(),
        };
        let last = ProcSample::read(s.pid()).context("reading the server's /proc")?;
        let stop = Instant::now();
        let exit = s.terminate(Duration::from_secs(60));
        let stop_time = stop.elapsed();
        let rows_in_files = if args.no_verify_files || s.foreign || exit.is_err() {
            None
        } else {
            Some(count_rows(&s.output_dir))
        };
        server_report = Some(ServerReport {
            foreign: s.foreign,
            idle: idle.context("idle sample")?,
            at_start: run.server_at_start.context("start sample")?,
            at_end: run.server_at_end.context("end sample")?,
            last,
            drained,
            exit,
            stop_time,
            rows_in_files,
            stderr_tail: s.stderr_tail(),
        });
        if !args.keep_output {
            let _ = std::fs::remove_dir_all(&s.output_dir);
        }
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    report(
        &args,
        &pool,
        run,
        server_report,
        load_before,
        load_after,
        threads,
    )
}

/// What the generator saw, over the measured window.
struct Run {
    requests: u64,
    accepted_requests: u64,
    accepted_spans: u64,
    partially_rejected_spans: u64,
    rejections: BTreeMap<String, u64>,
    latencies: Latencies,
    window: Duration,
    /// Accepted spans of the whole run, warm-up included.
    total_accepted_spans: u64,
    server_at_start: Option<ProcSample>,
    server_at_end: Option<ProcSample>,
}

#[derive(Default)]
struct WorkerStats {
    requests: u64,
    accepted_requests: u64,
    accepted_spans: u64,
    partially_rejected_spans: u64,
    total_accepted_spans: u64,
    rejections: BTreeMap<String, u64>,
    latencies: Latencies,
}

async fn drive(
    args: &Args,
    protocol: Protocol,
    target: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    pool: Arc<RequestPool>,
    server_pid: Option<u32>,
) -> anyhow::Result<Run> {
    let timeout = Duration::from_secs_f64(args.request_timeout);
    let mut senders = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        senders.push(Sender::connect(protocol, target, timeout).await?);
    }
    let _ = metrics_addr; // /metrics is read after the run, see wait_drained.
    let start = tokio::time::Instant::now();
    let measure_start = start + Duration::from_secs_f64(args.warmup);
    let end = measure_start + Duration::from_secs_f64(args.duration);
    let period =
        (args.rate > 0.0).then(|| Duration::from_secs_f64(args.connections as f64 / args.rate));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, sender) in senders.into_iter().enumerate() {
        let pool = pool.clone();
        // Spread the first ticks of rate-limited workers over one period.
        let offset = period.map_or(Duration::ZERO, |p| p * i as u32 / args.connections as u32);
        tasks.spawn(worker(
            sender,
            pool,
            period,
            start + offset,
            measure_start,
            end,
        ));
    }
    tokio::time::sleep_until(measure_start).await;
    let server_at_start = server_pid.and_then(|pid| ProcSample::read(pid).ok());
    tokio::time::sleep_until(end).await;
    let server_at_end = server_pid.and_then(|pid| ProcSample::read(pid).ok());
    let mut total = WorkerStats::default();
    let joined = tokio::time::timeout(timeout + Duration::from_secs(5), async {
        while let Some(result) = tasks.join_next().await {
            let s = result.context("a worker panicked")?;
            total.requests += s.requests;
            total.accepted_requests += s.accepted_requests;
            total.accepted_spans += s.accepted_spans;
            total.partially_rejected_spans += s.partially_rejected_spans;
            total.total_accepted_spans += s.total_accepted_spans;
            for (code, n) in s.rejections {
                *total.rejections.entry(code).or_default() += n;
            }
            total.latencies.merge(&s.latencies);
        }
        anyhow::Ok(())
    })
    .await;
    match joined {
        Ok(r) => r?,
        Err(_) => bail!("workers did not stop within the request timeout"),
    }
    Ok(Run {
        requests: total.requests,
        accepted_requests: total.accepted_requests,
        accepted_spans: total.accepted_spans,
        partially_rejected_spans: total.partially_rejected_spans,
        rejections: total.rejections,
        latencies: total.latencies,
        window: Duration::from_secs_f64(args.duration),
        total_accepted_spans: total.total_accepted_spans,
        server_at_start,
        server_at_end,
    })
}

async fn worker(
    mut sender: Sender,
    pool: Arc<RequestPool>,
    period: Option<Duration>,
    first: tokio::time::Instant,
    measure_start: tokio::time::Instant,
    end: tokio::time::Instant,
) -> WorkerStats {
    let mut stats = WorkerStats::default();
    let mut ticker = period.map(|p| {
        let mut t = tokio::time::interval_at(first, p);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        t
    });
    loop {
        if let Some(t) = ticker.as_mut() {
            t.tick().await;
        }
        let sent_at = tokio::time::Instant::now();
        if sent_at >= end {
            break;
        }
        let (body, spans) = pool.next_body();
        let outcome = sender.send(body).await;
        let latency = sent_at.elapsed();
        let measured = sent_at >= measure_start;
        if let Outcome::Accepted { rejected_spans } = &outcome {
            stats.total_accepted_spans += spans as u64 - (*rejected_spans).min(spans as u64);
        }
        if !measured {
            continue;
        }
        stats.requests += 1;
        stats.latencies.record(latency);
        match outcome {
            Outcome::Accepted { rejected_spans } => {
                stats.accepted_requests += 1;
                stats.accepted_spans += spans as u64 - rejected_spans.min(spans as u64);
                stats.partially_rejected_spans += rejected_spans;
            }
            Outcome::Rejected(code) => *stats.rejections.entry(code).or_default() += 1,
            Outcome::Failed(message) => {
                *stats
                    .rejections
                    .entry(format!("failed: {message}"))
                    .or_default() += 1;
                // A dead connection fails at once: do not spin on it.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    stats
}

/// What /metrics said once the buffers had drained.
struct Drained {
    accepted_items: Option<f64>,
    written_items: Option<f64>,
    /// `durability: wal`: records appended to the log and the fsyncs that made them durable.
    wal_appends: Option<f64>,
    wal_data_syncs: Option<f64>,
    waited: Duration,
}

impl Drained {
    /// A foreign server: there is no otlp-spool `/metrics` to watch.
    fn not_watched() -> Self {
        Self {
            accepted_items: None,
            written_items: None,
            wal_appends: None,
            wal_data_syncs: None,
            waited: Duration::ZERO,
        }
    }
}

/// Polls /metrics until the traces lane has written everything it accepted (at most 60 s).
async fn wait_drained(addr: SocketAddr) -> Drained {
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/metrics");
    let started = tokio::time::Instant::now();
    let mut last = (None, None);
    let mut wal = (None, None);
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(page) = fetch(&client, &url).await {
            let signal = [("signal", "traces")];
            let accepted = metric_value(&page, "otlp_spool_accepted_items_total", &signal);
            let written = metric_value(&page, "otlp_spool_written_items_total", &signal);
            last = (accepted, written);
            wal = (
                metric_value(&page, "otlp_spool_wal_appended_records_total", &[]),
                metric_value(&page, "otlp_spool_wal_data_syncs_total", &[]),
            );
            if let (Some(a), Some(w)) = (accepted, written)
                && w >= a
            {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Drained {
        accepted_items: last.0,
        written_items: last.1,
        wal_appends: wal.0,
        wal_data_syncs: wal.1,
        waited: started.elapsed(),
    }
}

async fn fetch(client: &reqwest::Client, url: &str) -> reqwest::Result<String> {
    client
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await
}

fn count_rows(dir: &Path) -> anyhow::Result<u64> {
    let reader = otlp_spool_storage::FileReader::new(dir, otlp_spool_storage::Signal::Traces);
    let mut rows = 0u64;
    for batch in reader.batches().context("listing the trace files")? {
        rows += batch.context("reading a trace file")?.num_rows() as u64;
    }
    Ok(rows)
}

/// A spawned `otlp-spool serve`, or a foreign server started from `--server-cmd`.
struct Server {
    child: Child,
    grpc: SocketAddr,
    http: SocketAddr,
    output_dir: PathBuf,
    tail: Arc<Mutex<Vec<String>>>,
    /// Started from `--server-cmd`: no otlp-spool `/metrics`, no files to check.
    foreign: bool,
}

impl Server {
    fn spawn(bin: &Path, args: &Args) -> anyhow::Result<Self> {
        let output_dir = match &args.output_dir {
            Some(d) => d.clone(),
            None => std::env::temp_dir().join(format!(
                "otlp-spool-loadgen-{}-{}",
                std::process::id(),
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis())
            )),
        };
        std::fs::create_dir_all(&output_dir)
            .with_context(|| format!("creating {}", output_dir.display()))?;
        let mut command = match &args.server_cpu {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpus]).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        command
            .arg("serve")
            .arg("--output-dir")
            .arg(&output_dir)
            .args(["--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"]);
        if let Some(config) = &args.server_config {
            command.arg("--config").arg(config);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stderr = child.stderr.take().context("the server's stderr")?;
        let tail = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn({
            let tail = tail.clone();
            move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if line.contains("otlp-spool listening") {
                        let _ = tx.send(line.clone());
                    }
                    push_tail(&tail, line);
                }
            }
        });
        let mut server = Self {
            child,
            grpc: SocketAddr::from(([0, 0, 0, 0], 0)),
            http: SocketAddr::from(([0, 0, 0, 0], 0)),
            output_dir,
            tail,
            foreign: false,
        };
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => line,
            Err(_) => {
                server.kill();
                bail!(
                    "the server did not report `otlp-spool listening` within 60 s:\n{}",
                    server.stderr_tail()
                );
            }
        };
        let addr = |key: &str| -> anyhow::Result<SocketAddr> {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .with_context(|| format!("no `{key}` in {line:?}"))?
                .parse()
                .with_context(|| format!("bad `{key}` address in {line:?}"))
        };
        server.grpc = addr("grpc=")?;
        server.http = addr("http=")?;
        Ok(server)
    }

    /// Starts `cmd` (see `--server-cmd`) pinned like otlp-spool, and waits until the port of
    /// `--protocol` accepts TCP connections (at most 60 s).
    fn spawn_command(cmd: &str, args: &Args) -> anyhow::Result<Self> {
        let (grpc, http) = (free_port()?, free_port()?);
        let port = match args.protocol {
            ProtocolArg::Grpc => grpc,
            ProtocolArg::Http => http,
        };
        let line = cmd
            .replace("{grpc_port}", &grpc.to_string())
            .replace("{http_port}", &http.to_string())
            .replace("{port}", &port.to_string());
        // `exec`: the measured pid is the server itself, not a shell around it.
        let script = format!("exec {line}");
        let mut command = match &args.server_cpu {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.args(["-c", cpus, "sh", "-c", &script]);
                c
            }
            None => {
                let mut c = Command::new("sh");
                c.args(["-c", &script]);
                c
            }
        };
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting `{line}`"))?;
        let stderr = child.stderr.take().context("the server's stderr")?;
        let tail = Arc::new(Mutex::new(Vec::new()));
        std::thread::spawn({
            let tail = tail.clone();
            move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    push_tail(&tail, line);
                }
            }
        });
        let mut server = Self {
            child,
            grpc: SocketAddr::from(([127, 0, 0, 1], grpc)),
            http: SocketAddr::from(([127, 0, 0, 1], http)),
            output_dir: PathBuf::new(),
            tail,
            foreign: true,
        };
        let target = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect_timeout(&target, Duration::from_millis(200)).is_err() {
            if Instant::now() >= deadline || server.child.try_wait().ok().flatten().is_some() {
                server.kill();
                bail!(
                    "`{line}` did not accept connections on {target} within 60 s:\n{}",
                    server.stderr_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("foreign server ready: `{line}` (pid {})", server.pid());
        Ok(server)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stderr_tail(&self) -> String {
        self.tail
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }

    /// SIGTERM, then waits up to `limit` for the exit code (SIGKILL past it).
    fn terminate(&mut self, limit: Duration) -> Result<i32, String> {
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        if !sent.is_ok_and(|s| s.success()) {
            self.kill();
            return Err("could not send SIGTERM".into());
        }
        let deadline = Instant::now() + limit;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    return status
                        .code()
                        .ok_or_else(|| format!("killed by a signal: {status}"));
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(None) => {
                    self.kill();
                    return Err(format!("did not exit within {limit:?} of SIGTERM"));
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Keeps the last 20 lines a server wrote to stderr.
fn push_tail(tail: &Mutex<Vec<String>>, line: String) {
    let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
    t.push(line);
    if t.len() > 20 {
        t.remove(0);
    }
}

/// A port on 127.0.0.1 that was free a moment ago (bound, read, released).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

struct ServerReport {
    foreign: bool,
    idle: ProcSample,
    at_start: ProcSample,
    at_end: ProcSample,
    last: ProcSample,
    drained: Drained,
    exit: Result<i32, String>,
    stop_time: Duration,
    rows_in_files: Option<anyhow::Result<u64>>,
    stderr_tail: String,
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn report(
    args: &Args,
    pool: &RequestPool,
    mut run: Run,
    server: Option<ServerReport>,
    load_before: String,
    load_after: String,
    threads: usize,
) -> anyhow::Result<()> {
    let secs = run.window.as_secs_f64();
    let spans_per_s = run.accepted_spans as f64 / secs;
    let p50 = run.latencies.quantile(0.50).unwrap_or_default();
    let p99 = run.latencies.quantile(0.99).unwrap_or_default();
    let rate = if args.rate > 0.0 {
        format!("{} req/s", args.rate)
    } else {
        "max".into()
    };
    println!(
        "loadgen: protocol={:?} connections={} rate={rate} warmup={}s duration={}s client_threads={threads}",
        args.protocol, args.connections, args.warmup, args.duration
    );
    println!(
        "request: {} spans, {:.1} KiB ({:.0} B/span encoded), pool of {}",
        pool.spans_per_request(),
        pool.mean_body_bytes() / 1024.0,
        pool.mean_body_bytes() / pool.spans_per_request() as f64,
        pool.len()
    );
    println!("load average (1/5/15 min): before {load_before}, after {load_after}");
    println!(
        "requests: {} sent, {} accepted ({:.1} req/s); spans rejected in partial successes: {}",
        run.requests,
        run.accepted_requests,
        run.accepted_requests as f64 / secs,
        run.partially_rejected_spans
    );
    if run.rejections.is_empty() {
        println!("rejections: none");
    } else {
        for (code, n) in &run.rejections {
            println!("rejections: {code}: {n}");
        }
    }
    println!("accepted spans/s: {spans_per_s:.0}");
    println!(
        "latency: p50 {:.2} ms, p99 {:.2} ms",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    let mut ok = run.accepted_requests > 0;
    let mut result = format!(
        "RESULT protocol={:?} connections={} spans_per_s={spans_per_s:.0} p50_ms={:.2} p99_ms={:.2} rejected={}",
        args.protocol,
        args.connections,
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        run.requests - run.accepted_requests
    );
    if let Some(s) = server {
        let tck = clock_ticks_per_second();
        let window_cpu = s.at_end.cpu_since(&s.at_start, tck).as_secs_f64();
        let total_cpu = s.last.cpu_since(&s.idle, tck).as_secs_f64();
        let per_m_window = window_cpu / (run.accepted_spans as f64 / 1e6);
        let written = s.drained.written_items.unwrap_or(0.0);
        let per_m_total = total_cpu / (written / 1e6);
        if s.foreign {
            println!(
                "server CPU: {window_cpu:.2} s in the window ({:.0}% of a core), {per_m_window:.2} CPU-s per million spans accepted; \
                 {total_cpu:.2} s from idle to the end of the run",
                100.0 * window_cpu / secs
            );
        } else {
            println!(
                "server CPU: {window_cpu:.2} s in the window ({:.0}% of a core), {per_m_window:.2} CPU-s per million spans accepted; \
                 {total_cpu:.2} s from idle to drained, {per_m_total:.2} CPU-s per million spans written",
                100.0 * window_cpu / secs
            );
        }
        println!(
            "server RSS: idle {:.1} MiB, peak {:.1} MiB (VmHWM), after drain {:.1} MiB",
            mib(s.idle.rss_kib),
            mib(s.last.peak_rss_kib),
            mib(s.last.rss_kib)
        );
        if s.foreign {
            println!(
                "foreign server: no drain watched, no files checked (generator counted {} accepted spans in all)",
                run.total_accepted_spans
            );
        } else {
            println!(
                "server /metrics after {:.1} s of drain: accepted_items {:?}, written_items {:?} (generator counted {} accepted spans in all)",
                s.drained.waited.as_secs_f64(),
                s.drained.accepted_items,
                s.drained.written_items,
                run.total_accepted_spans
            );
        }
        if let (Some(appends), Some(syncs)) = (s.drained.wal_appends, s.drained.wal_data_syncs) {
            // Over warm-up and window: the log's counters cover the whole run.
            let run_secs = args.warmup + args.duration;
            println!(
                "write-ahead log: {appends:.0} requests appended, {syncs:.0} data fsyncs ({:.1} requests per fsync; {:.0} requests/s, {:.0} fsyncs/s over warm-up + window)",
                appends / syncs.max(1.0),
                appends / run_secs,
                syncs / run_secs
            );
            result += &format!(" wal_requests_per_fsync={:.2}", appends / syncs.max(1.0));
        }
        match &s.exit {
            Ok(code) => println!(
                "server exit code after SIGTERM: {code} ({:.2} s)",
                s.stop_time.as_secs_f64()
            ),
            Err(e) => println!("server did not stop cleanly: {e}"),
        }
        if s.foreign {
            // Its own exit code is its business; it must stop on SIGTERM, though.
            ok &= s.exit.is_ok();
        } else {
            ok &= s.exit == Ok(0);
            ok &= s.drained.written_items == Some(run.total_accepted_spans as f64);
        }
        match &s.rows_in_files {
            Some(Ok(rows)) => {
                println!("rows in the Arrow files: {rows}");
                ok &= *rows == run.total_accepted_spans;
            }
            Some(Err(e)) => {
                println!("reading the files failed: {e:#}");
                ok = false;
            }
            None => {}
        }
        result += &format!(
            " server={} server_cpu_s_per_m_spans={per_m_window:.2} idle_rss_mib={:.1} peak_rss_mib={:.1} exit={:?}",
            if s.foreign { "foreign" } else { "otlp-spool" },
            mib(s.idle.rss_kib),
            mib(s.last.peak_rss_kib),
            s.exit
        );
        if !s.foreign {
            result += &format!(" written={written:.0}");
        }
        if !ok {
            eprintln!("server stderr (last lines):\n{}", s.stderr_tail);
        }
    }
    result += &format!(" load_avg=\"{load_after}\" ok={ok}");
    println!("{result}");
    if !ok {
        bail!("the run did not check out (see above)");
    }
    Ok(())
}
