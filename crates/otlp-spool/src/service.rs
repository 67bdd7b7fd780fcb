//! `otlp-spool serve`: logging, the runtime, signals, and the order of start-up and shutdown.
//!
//! Start-up: configuration was validated by the caller; the output directory is opened and
//! locked (recovering leftovers of a crash) before any port is bound, so a bad directory or a
//! second instance fails without ever listening. Shutdown on SIGINT or SIGTERM: readiness goes
//! false, the listeners close and in-flight requests are answered, the buffers drain into the
//! files, every file is finalized, and the process exits 0.

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogConfig, LogFormat};
use crate::spool::Spool;

/// Runs the service until SIGINT or SIGTERM, then shuts down cleanly.
pub fn run_service(config: Config) -> anyhow::Result<()> {
    init_logging(&config.log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("otlp-spool")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let output_dir = config.output_dir.clone();
    let spool = Spool::builder().config(config).build().await?;
    tracing::info!(output_dir = %output_dir.display(), "output directory opened");
    if let Err(err) = spool.serve().await {
        // A port that cannot be bound: leave the output directory clean before exiting.
        let _ = spool.shutdown().await;
        return Err(err.into());
    }
    let signal = wait_for_signal().await?;
    tracing::info!(
        signal,
        "shutting down: draining buffers and finalizing files"
    );
    spool.shutdown().await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
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
