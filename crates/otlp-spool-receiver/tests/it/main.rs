//! Integration tests of otlp-spool-receiver: real servers on 127.0.0.1:0, real clients.

mod auth;
mod backpressure;
mod bad_input;
mod concurrency;
mod extension;
mod grpc;
mod http;
mod hygiene;
mod limits;
mod otel_clients;
mod probes;
mod properties;
mod support;
mod tls;
