//! The `otlp-spool` binary: `otlp-spool serve [flags]`.
//!
//! Start-up order matters: configuration errors (naming the key) and an unusable output
//! directory end the process with a non-zero code before any port is bound.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use otlp_spool::config::{Config, Overrides};

/// mimalloc: the decode path allocates a lot of small objects per request (DEPENDENCIES.md
/// trap 11), and it returns freed memory to the OS more readily than glibc's malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc tuning that has to happen before the first allocation.
///
/// With its default `arena_eager_commit` (on, where the OS overcommits), mimalloc commits its
/// first 1 GiB arena up front and purges freed pages by resetting them, which leaves them
/// resident: under sustained load the server's peak RSS was about twice its live heap
/// (116 MiB resident for 35 MiB live, measured with a counting allocator; `benches/README.md`).
/// Committing on demand instead keeps freed pages out of RSS at no measurable CPU cost.
/// Options are read when the first arena is reserved, which happens before `main`, so this
/// runs as an ELF constructor (`.init_array`), like the `MIMALLOC_*` environment variables
/// it overrides.
#[cfg(target_os = "linux")]
mod allocator_tuning {
    use std::ffi::{c_int, c_long};

    /// `mi_option_arena_eager_commit` in mimalloc v3's `mi_option_e`.
    const ARENA_EAGER_COMMIT: c_int = 4;

    unsafe extern "C" {
        /// From the mimalloc library linked by `libmimalloc-sys`.
        fn mi_option_set(option: c_int, value: c_long);
    }

    extern "C" fn before_main() {
        // SAFETY: a plain option setter with a valid option index; it allocates nothing and
        // runs single-threaded, before the Rust runtime starts.
        unsafe { mi_option_set(ARENA_EAGER_COMMIT, 0) }
    }

    #[used]
    #[unsafe(link_section = ".init_array")]
    static BEFORE_MAIN: extern "C" fn() = before_main;

    /// A tripwire for the hard-coded option index: the binary's test harness links the same
    /// allocator and constructor, so the option must read back as set, and a neighbouring
    /// option must still hold its documented mimalloc v3 default (a renumbered `mi_option_e`
    /// in a new mimalloc would move it).
    #[cfg(test)]
    mod tests {
        use super::{ARENA_EAGER_COMMIT, c_int, c_long};

        /// `mi_option_purge_delay` in mimalloc v3 (default 1000 ms).
        const PURGE_DELAY: c_int = 15;

        unsafe extern "C" {
            fn mi_option_get(option: c_int) -> c_long;
        }

        #[test]
        fn the_constructor_turned_eager_arena_commit_off() {
            // SAFETY: plain option getters with valid indices.
            let (eager, purge_delay) = unsafe {
                (
                    mi_option_get(ARENA_EAGER_COMMIT),
                    mi_option_get(PURGE_DELAY),
                )
            };
            assert_eq!(eager, 0, "arena_eager_commit");
            if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
                assert_eq!(purge_delay, 1000, "option indices moved: check mimalloc.h");
            }
        }
    }
}

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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
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
    match otlp_spool::run_service(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("otlp-spool: {err:#}");
            ExitCode::FAILURE
        }
    }
}
