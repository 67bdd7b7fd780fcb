//! Writes a realistic spool directory of about the size asked for, for measuring the viewer:
//! traces of 8 spans over 5 services (2% failing), a log record per trace, and 40 metric series,
//! over simulated hours (250 traces every 5 s), through the real `FileStore` (LZ4, 64 MiB files, as `serve` writes them).
//!
//! ```sh
//! cargo run --release -p otlp-spool-viewer --example gen_spool -- /tmp/spool-1g 1024
//! ```
//! Prints one trace id from the middle of the spool (for lookups) and what it wrote.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as Num;
use opentelemetry_proto::tonic::metrics::v1::{
    Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use otlp_spool_storage::{
    Clock, Compression, FileStore, Signal, StoreOptions, logs_to_arrow, metrics_to_arrow,
    traces_to_arrow,
};

const SERVICES: [&str; 5] = ["frontend", "checkout", "payments", "inventory", "users"];
const ROUTES: [&str; 8] = [
    "GET /",
    "GET /cart",
    "POST /checkout",
    "GET /users/{id}",
    "GET /search",
    "POST /login",
    "GET /orders/{id}",
    "DELETE /cart/{id}",
];

/// The file names' clock: follows the simulated data time.
#[derive(Debug)]
struct SimClock(AtomicU64);

impl Clock for SimClock {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn kv(key: &str, v: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn resource(service: &str) -> Option<Resource> {
    Some(Resource {
        attributes: vec![
            kv("service.name", Value::StringValue(service.into())),
            kv("service.version", Value::StringValue("1.8.3".into())),
            kv("host.name", Value::StringValue(format!("{service}-7f9c"))),
            kv("deployment.environment", Value::StringValue("prod".into())),
        ],
        ..Default::default()
    })
}

fn scope() -> Option<InstrumentationScope> {
    Some(InstrumentationScope {
        name: "gen".into(),
        version: "1.0".into(),
        ..Default::default()
    })
}

/// `traces` traces of 8 spans starting at `t` ns, 2 ms apart; returns one trace id (hex).
fn traces_request(rng: &mut Rng, t: u64, traces: u64) -> (ExportTraceServiceRequest, String) {
    let mut by_service: Vec<Vec<Span>> = vec![Vec::new(); SERVICES.len()];
    let mut sample = String::new();
    for n in 0..traces {
        let trace_id: Vec<u8> = [rng.next().to_be_bytes(), rng.next().to_be_bytes()].concat();
        if n == traces / 2 {
            sample = trace_id.iter().map(|b| format!("{b:02x}")).collect();
        }
        let start = t + n * 2_000_000;
        let route = ROUTES[rng.below(ROUTES.len() as u64) as usize];
        let failing = rng.below(50) == 0;
        let root_id = rng.next().to_be_bytes().to_vec();
        for s in 0..8u64 {
            let service = if s == 0 { 0 } else { 1 + rng.below(4) as usize };
            let id = if s == 0 {
                root_id.clone()
            } else {
                rng.next().to_be_bytes().to_vec()
            };
            let begin = start + s * 1_500_000;
            let dur = 1_000_000 + rng.below(40_000_000) / (s + 1);
            by_service[service].push(Span {
                trace_id: trace_id.clone(),
                span_id: id,
                parent_span_id: if s == 0 { Vec::new() } else { root_id.clone() },
                name: if s == 0 {
                    route.into()
                } else {
                    format!("{} call {}", SERVICES[service], s % 3)
                },
                kind: if s == 0 { 2 } else { 3 },
                start_time_unix_nano: begin,
                end_time_unix_nano: begin + if s == 0 { 30_000_000 + dur } else { dur },
                attributes: vec![
                    kv("http.route", Value::StringValue(route.into())),
                    kv(
                        "http.response.status_code",
                        Value::IntValue(if failing && s == 7 { 500 } else { 200 }),
                    ),
                    kv("net.peer.port", Value::IntValue(rng.below(65_535) as i64)),
                    kv(
                        "user.id",
                        Value::StringValue(format!("u{}", rng.below(100_000))),
                    ),
                    kv("db.rows", Value::IntValue(rng.below(1000) as i64)),
                    kv("cache.hit", Value::BoolValue(rng.below(2) == 0)),
                    kv("ratio", Value::DoubleValue(rng.below(1000) as f64 / 1000.0)),
                    kv(
                        "region",
                        Value::StringValue(
                            ["eu-west-1", "us-east-1"][rng.below(2) as usize].into(),
                        ),
                    ),
                ],
                status: (failing && s == 7).then(|| Status {
                    message: "upstream timeout".into(),
                    code: 2,
                }),
                ..Default::default()
            });
        }
    }
    let resource_spans = by_service
        .into_iter()
        .enumerate()
        .filter(|(_, spans)| !spans.is_empty())
        .map(|(i, spans)| ResourceSpans {
            resource: resource(SERVICES[i]),
            scope_spans: vec![ScopeSpans {
                scope: scope(),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    (ExportTraceServiceRequest { resource_spans }, sample)
}

fn logs_request(rng: &mut Rng, t: u64, n: u64) -> ExportLogsServiceRequest {
    let log_records = (0..n)
        .map(|i| {
            let sev = [9, 9, 9, 9, 13, 17][rng.below(6) as usize];
            LogRecord {
                time_unix_nano: t + i * 2_000_000,
                observed_time_unix_nano: t + i * 2_000_000 + 1000,
                severity_number: sev,
                severity_text: otlp_spool_viewer::severity_name(sev).into(),
                body: Some(AnyValue {
                    value: Some(Value::StringValue(format!(
                        "request {} for user u{} took {} ms",
                        ROUTES[rng.below(8) as usize],
                        rng.below(100_000),
                        rng.below(500)
                    ))),
                }),
                attributes: vec![kv("thread", Value::IntValue(rng.below(64) as i64))],
                trace_id: [rng.next().to_be_bytes(), rng.next().to_be_bytes()].concat(),
                span_id: rng.next().to_be_bytes().to_vec(),
                ..Default::default()
            }
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: resource(SERVICES[rng.below(5) as usize]),
            scope_logs: vec![ScopeLogs {
                scope: scope(),
                log_records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metrics_request(t: u64, step: u64) -> ExportMetricsServiceRequest {
    let metrics = ["http.server.requests", "db.calls"]
        .into_iter()
        .map(|name| Metric {
            name: name.into(),
            unit: "1".into(),
            data: Some(Data::Sum(Sum {
                data_points: ROUTES
                    .iter()
                    .enumerate()
                    .flat_map(|(r, route)| {
                        ["eu-west-1", "us-east-1"].map(|region| NumberDataPoint {
                            attributes: vec![
                                kv("http.route", Value::StringValue((*route).into())),
                                kv("region", Value::StringValue(region.into())),
                            ],
                            start_time_unix_nano: t,
                            time_unix_nano: t,
                            value: Some(Num::AsInt((step * (r as u64 + 1)) as i64)),
                            ..Default::default()
                        })
                    })
                    .collect(),
                aggregation_temporality: 2,
                is_monotonic: true,
            })),
            ..Default::default()
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: resource("checkout"),
            scope_metrics: vec![ScopeMetrics {
                scope: scope(),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// Bytes of every file under the signal folders (finalized and active).
fn dir_bytes(dir: &std::path::Path) -> u64 {
    Signal::ALL
        .iter()
        .filter_map(|s| std::fs::read_dir(dir.join(s.as_str())).ok())
        .flat_map(|entries| entries.flatten())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: gen_spool DIR MIB")?;
    let target: u64 = args
        .next()
        .ok_or("usage: gen_spool DIR MIB")?
        .parse::<u64>()?
        << 20;
    let t0: u64 = 1_764_720_000_000_000_000; // 2025-12-03T00:00:00Z
    let clock = Arc::new(SimClock(AtomicU64::new(t0)));
    let store = FileStore::open(
        StoreOptions::builder(&dir)
            .compression(Compression::Lz4)
            .max_file_bytes(64 << 20)
            .max_file_age(None)
            .clock(clock.clone())
            .build()?,
    )?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut t, mut step, mut written, mut spans) = (t0, 0u64, 0u64, 0u64);
    let mut samples = Vec::new();
    while written < target {
        clock.0.store(t, Ordering::Relaxed);
        let (traces, sample) = traces_request(&mut rng, t, 250);
        samples.push(sample);
        spans += 2000;
        let batches = [
            (Signal::Traces, traces_to_arrow(&traces)?),
            (
                Signal::Logs,
                logs_to_arrow(&logs_request(&mut rng, t, 250))?,
            ),
            (
                Signal::Metrics,
                metrics_to_arrow(&metrics_request(t, step))?,
            ),
        ];
        for (signal, batch) in batches {
            store.writer(signal).write(batch)?;
        }
        if step % 20 == 0 {
            written = dir_bytes(std::path::Path::new(&dir));
        }
        t += 5_000_000_000; // 250 traces every simulated 5 s.
        step += 1;
    }
    store.close()?;
    println!(
        "wrote {} MiB: {spans} spans, {} log records, {step} metric collections; simulated {} s",
        written >> 20,
        step * 250,
        (t - t0) / 1_000_000_000
    );
    println!("mid trace id: {}", samples[samples.len() / 2]);
    println!("old trace id: {}", samples[samples.len() / 20]);
    Ok(())
}
