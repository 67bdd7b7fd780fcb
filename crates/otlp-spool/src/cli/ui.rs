//! `otlp-spool ui DIR [--addr A]`: the web viewer alone, on its own port, without OTLP
//! endpoints and without the directory's writer lock (it only reads, so it works beside a
//! running `serve` on the same directory). It indexes every file once on a background thread at
//! start-up. Stops on SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use otlp_spool_viewer::{Viewer, ViewerServer};

#[derive(Debug, clap::Args)]
pub(super) struct UiArgs {
    /// The output directory to look at.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Listen address. Default 127.0.0.1:4319.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4319")]
    addr: SocketAddr,
}

pub(super) fn run(args: UiArgs) -> ExitCode {
    init_stderr_logging("info");
    if !args.dir.is_dir() {
        eprintln!("otlp-spool ui: {} is not a directory", args.dir.display());
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("otlp-spool ui: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let viewer = Viewer::new(&args.dir);
        // Index every file once in the background, so the first lookups need not.
        let indexer = viewer.clone();
        let _ = std::thread::Builder::new()
            .name("otlp-spool-viewer-index".into())
            .spawn(move || match indexer.index_all() {
                Ok(w) => tracing::info!(
                    files = w.files_scanned,
                    bytes = w.bytes_scanned,
                    "viewer index built"
                ),
                Err(e) => tracing::warn!(error = %e, "viewer index"),
            });
        let server = match ViewerServer::bind(viewer, args.addr).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("otlp-spool ui: {e}");
                return ExitCode::FAILURE;
            }
        };
        let addr = server.local_addr();
        tracing::info!(http = %addr, dir = %args.dir.display(), "otlp-spool viewer listening");
        eprintln!("otlp-spool viewer: http://{addr}/ui");
        server.run(wait_for_signal()).await;
        ExitCode::SUCCESS
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Logs to stderr at `default_level` (`RUST_LOG` overrides), for the subcommands that do not
/// load a configuration.
pub(super) fn init_stderr_logging(default_level: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}
