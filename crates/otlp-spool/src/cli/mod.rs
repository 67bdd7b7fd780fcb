//! The `otlp-spool` command line: `otlp-spool serve [flags]` and the subcommands to come.
//!
//! The binary's `main` only installs its allocator and calls [`run`]; the Python package calls
//! the same function, so `python -m otlp_spool serve ...` and `otlp-spool serve ...` take the
//! same flags and behave alike.
//!
//! Start-up order matters: configuration errors (naming the key) and an unusable output
//! directory end the process with a non-zero code before any port is bound.
//!
//! Exit codes ([`EXIT_CODES`], also in `--help`): 0 clean; 1 start-up error (usage,
//! configuration, output directory, ports) or a failed shutdown that lost nothing; 2
//! acknowledged data was lost (logged with counts); 130 / 143 a second SIGINT / SIGTERM made
//! the shutdown stop at once.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, Overrides};

mod inspect;
mod replay;
mod ui;

/// The exit codes of `otlp-spool`, as `--help` prints them.
pub const EXIT_CODES: &str = "Exit codes:
  0    stopped cleanly (every acknowledged item is in a finalized file)
  1    start-up error (usage, configuration, output directory, ports), or a failed
       shutdown that lost no data
  2    acknowledged data was lost (a panic, a conversion error, a write still failing at
       shutdown_timeout, data still held at it); the counts are logged
  130  a second SIGINT during the shutdown: exited at once
  143  a second SIGTERM during the shutdown: exited at once";

#[derive(Debug, Parser)]
#[command(
    name = "otlp-spool",
    version,
    about = "Receive OpenTelemetry data, spool it to Arrow files, forward it",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Listen for OTLP (gRPC and HTTP) and spool what arrives to files.
    #[command(after_help = EXIT_CODES)]
    Serve(ServeArgs),
    /// Summarize a spool directory: files, rows, time range, services, leftovers.
    Inspect(inspect::InspectArgs),
    /// Send stored files to an OTLP endpoint again (resumable).
    Replay(replay::ReplayArgs),
    /// Serve the web viewer of a spool directory (no OTLP endpoints, no lock).
    Ui(ui::UiArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// YAML configuration file (also OTLP_SPOOL_CONFIG).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Output directory (also OTLP_SPOOL_OUTPUT_DIR). Default ./otlp-spool-data.
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
    /// OTLP/gRPC listen address (also OTLP_SPOOL_GRPC_ADDR). Default 127.0.0.1:4317.
    #[arg(long, value_name = "ADDR")]
    grpc_addr: Option<String>,
    /// OTLP/HTTP listen address (also OTLP_SPOOL_HTTP_ADDR). Default 127.0.0.1:4318.
    #[arg(long, value_name = "ADDR")]
    http_addr: Option<String>,
    /// Forward everything to this OTLP endpoint (also OTLP_SPOOL_FORWARD_ENDPOINT).
    #[arg(long, value_name = "URL")]
    forward_endpoint: Option<String>,
    /// grpc | http/protobuf | http/json (also OTLP_SPOOL_FORWARD_PROTOCOL).
    #[arg(long, value_name = "PROTOCOL")]
    forward_protocol: Option<String>,
    /// Time allowed for a whole shutdown, e.g. 30s (also OTLP_SPOOL_SHUTDOWN_TIMEOUT).
    /// Default 30s.
    #[arg(long, value_name = "DURATION")]
    shutdown_timeout: Option<String>,
    /// memory | wal: acknowledge once buffered in memory (default), or once in an fsynced
    /// write-ahead log that a restart replays into files exactly once (also
    /// OTLP_SPOOL_DURABILITY).
    #[arg(long, value_name = "MODE")]
    durability: Option<String>,
    /// Print the effective configuration (secrets redacted) and exit.
    #[arg(long)]
    print_config: bool,
}

/// Parses `args` (the first one is the program name, as in `std::env::args_os()`) and runs the
/// command. Help, version and usage errors are printed by clap and exit as clap decides.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            // Help and version exit 0; a usage error is a start-up error (clap says 2, which
            // here means "data lost").
            return if err.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Ui(args) => ui::run(args),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let overrides = Overrides {
        config_file: args.config,
        output_dir: args.output_dir,
        grpc_addr: args.grpc_addr,
        http_addr: args.http_addr,
        forward_endpoint: args.forward_endpoint,
        forward_protocol: args.forward_protocol,
        shutdown_timeout: args.shutdown_timeout,
        durability: args.durability,
    };
    let config = match Config::load(&overrides) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("otlp-spool: {err}");
            return ExitCode::FAILURE;
        }
    };
    if args.print_config {
        print!("{}", config.to_redacted_yaml());
        return ExitCode::SUCCESS;
    }
    match crate::run_service(config) {
        Ok(report) if report.lost_data() => ExitCode::from(2),
        Ok(report) if !report.errors.is_empty() => ExitCode::FAILURE,
        Ok(_) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("otlp-spool: {err:#}");
            ExitCode::FAILURE
        }
    }
}
