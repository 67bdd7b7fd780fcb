//! Integration tests of the facade and the `otlp-spool` binary, one test binary.

mod amplify;
mod backpressure;
mod cli;
mod config;
mod contained;
mod durability;
mod e2e_python;
mod e2e_rust;
mod embedded;
mod errors;
mod exit_codes;
mod forward;
mod forward_restarts;
mod lanes;
mod overload;
mod replay;
mod shutdown;
mod slow_clients;
mod spool_data;
mod support;
mod traffic;
mod ui_browser;
mod upload;
mod viewer_cli;
