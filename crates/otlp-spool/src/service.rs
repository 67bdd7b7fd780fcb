//! `otlp-spool serve`: logging, the runtime, signals, and the order of start-up and shutdown.
//!
//! Start-up: configuration was validated by the caller; the output directory is opened and
//! locked (recovering leftovers of a crash) before any port is bound, so a bad directory or a
//! second instance fails without ever listening. Shutdown on SIGINT or SIGTERM: readiness goes
//! false, the listeners close and in-flight requests are answered, the lanes drain into the
//! files and the forwarder delivers what it holds, all within `shutdown_timeout`; the report
//! is logged and decides the exit code (see `report.rs`). A second SIGINT or SIGTERM during
//! that shutdown logs what is still held and exits at once with 130 or 143.

use anyhow::Context;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogConfig, LogFormat};
use crate::report::ShutdownReport;
use crate::spool::Spool;

/// Runs the service until SIGINT or SIGTERM, then shuts down within `shutdown_timeout` and
/// returns what the shutdown achieved (`Err`: it could not start). A second signal during the
/// shutdown ends the process at once (exit code 130 for SIGINT, 143 for SIGTERM).
pub fn run_service(config: Config) -> anyhow::Result<ShutdownReport> {
    init_logging(&config.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("otlp-spool")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> anyhow::Result<ShutdownReport> {
    raise_open_files_limit(config.receiver.max_connections);
    let mut signals = Signals::install()?;
    let output_dir = config.output_dir.clone();
    let timeout = config.shutdown_timeout;
    let spool = Spool::builder().config(config).build().await?;
    tracing::info!(output_dir = %output_dir.display(), "output directory opened");
    if let Err(err) = spool.serve().await {
        // A port that cannot be bound: leave the output directory clean before exiting.
        let _ = spool.shutdown().await;
        return Err(err.into());
    }
    let first = signals.next().await;
    tracing::info!(
        signal = first.name(),
        %timeout,
        "shutting down: draining buffers and finalizing files (send the signal again to exit at once)"
    );
    let shutdown = spool.shutdown();
    tokio::pin!(shutdown);
    tokio::select! {
        report = &mut shutdown => Ok(report?),
        second = signals.next() => {
            tracing::error!(
                signal = second.name(),
                abandoned = %spool.held(),
                "second signal: exiting at once, abandoning what is still held (temporary files are recovered at the next start)"
            );
            std::process::exit(second.exit_code())
        }
    }
}

/// SIGINT and SIGTERM, installed before the spool starts so that no signal is missed.
struct Signals {
    term: Signal,
    int: Signal,
}

#[derive(Debug, Clone, Copy)]
enum Received {
    Int,
    Term,
}

impl Received {
    fn name(self) -> &'static str {
        match self {
            Received::Int => "SIGINT",
            Received::Term => "SIGTERM",
        }
    }

    /// 128 + the signal number, as shells report a process a signal ended.
    fn exit_code(self) -> i32 {
        match self {
            Received::Int => 130,
            Received::Term => 143,
        }
    }
}

impl Signals {
    fn install() -> anyhow::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
        })
    }

    async fn next(&mut self) -> Received {
        tokio::select! {
            _ = self.term.recv() => Received::Term,
            _ = self.int.recv() => Received::Int,
        }
    }
}

/// Raises the soft limit on open files towards the hard one, as the Go runtime (and so the
/// Collector) does: every client connection is a descriptor, and the common soft limit of 1024
/// is far below `receiver.max_connections`.
fn raise_open_files_limit(max_connections: usize) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read or write the struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 || limit.rlim_cur >= limit.rlim_max
        {
            return;
        }
        let before = limit.rlim_cur;
        limit.rlim_cur = limit.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
            tracing::debug!(
                from = before,
                to = limit.rlim_cur,
                "raised the open files limit"
            );
        }
    }
    let wanted = max_connections as u64 + 256;
    if limit.rlim_cur < wanted {
        tracing::warn!(
            limit = limit.rlim_cur,
            max_connections,
            "the open files limit is below receiver.max_connections; accepts will fail before the cap"
        );
    }
}

fn init_logging(log: &LogConfig) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let _ = match log.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
