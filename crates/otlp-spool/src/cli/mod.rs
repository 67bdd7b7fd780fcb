//! The `otlp-spool` command line: `otlp-spool serve [flags]` and the subcommands to come.
//!
//! The binary's `main` only installs its allocator and calls [`run`]; the Python package calls
//! the same function, so `python -m otlp_spool serve ...` and `otlp-spool serve ...` take the
//! same flags and behave alike.
//!
//! Start-up order matters: configuration errors (naming the key) and an unusable output
//! directory end the process with a non-zero code before any port is bound.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, Overrides};

mod inspect;
mod replay;
mod ui;

#[derive(Debug, Parser)]
#[command(
    name = "otlp-spool",
    version,
    about = "Receive OpenTelemetry data, spool it to Arrow files, forward it"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Listen for OTLP (gRPC and HTTP) and spool what arrives to files.
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
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
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
    };
    let config = match Config::load(&overrides) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("otlp-spool: {err}");
            return ExitCode::from(2);
        }
    };
    if args.print_config {
        print!("{}", config.to_redacted_yaml());
        return ExitCode::SUCCESS;
    }
    match crate::run_service(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("otlp-spool: {err:#}");
            ExitCode::FAILURE
        }
    }
}
