//! Embedded use: an application plugs a `Spool`'s OpenTelemetry SDK exporters into its own
//! providers. Spans, metrics (delta temporality here) and logs go straight to Arrow files, with
//! no network hop; optionally the same spool also serves OTLP for other processes.
//!
//! ```sh
//! cargo run -p otlp-spool --example embedded -- ./telemetry
//! python -c "import pyarrow.ipc as i, glob; print(i.open_stream(open(sorted(glob.glob('telemetry/traces/*.arrow'))[0],'rb')).read_all())"
//! ```

use opentelemetry::KeyValue;
use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use otlp_spool::{Spool, Temporality};
use otlp_spool_core::proto::collector::trace::v1::ExportTraceServiceRequest;
use otlp_spool_core::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_spool_core::{Sink as _, Telemetry};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "./telemetry".into());
    let spool = Spool::builder().output_dir(&dir).build().await?;

    let tracer_provider = SdkTracerProvider::builder()
        .with_batch_exporter(spool.span_exporter())
        .build();
    let reader = PeriodicReader::builder(spool.metric_exporter(Temporality::Delta)).build();
    let meter_provider = SdkMeterProvider::builder().with_reader(reader).build();
    let logger_provider = SdkLoggerProvider::builder()
        .with_batch_exporter(spool.log_exporter())
        .build();

    // The SDK's processors block on their own threads: keep them off the async runtime.
    tokio::task::spawn_blocking(move || {
        let tracer = tracer_provider.tracer("example");
        let requests = meter_provider
            .meter("example")
            .u64_counter("requests")
            .build();
        let logger = logger_provider.logger("example");
        for i in 0..10 {
            let mut span = tracer.start(format!("handle-{i}"));
            span.set_attribute(KeyValue::new("request.id", i64::from(i)));
            requests.add(1, &[KeyValue::new("route", "/demo")]);
            let mut record = logger.create_log_record();
            record.set_severity_number(Severity::Info);
            record.set_body(format!("handled request {i}").into());
            logger.emit(record);
            span.end();
        }
        // Shutting the providers down exports what they hold and flushes the spool.
        let _ = tracer_provider.shutdown();
        let _ = meter_provider.shutdown();
        let _ = logger_provider.shutdown();
    })
    .await?;

    // A request that is already OTLP (built here, or received elsewhere) enters as the bytes
    // form too: `Telemetry::from` encodes it once; the sink acknowledges once it is buffered.
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![Span {
                    trace_id: vec![0x5b; 16],
                    span_id: vec![0xee; 8],
                    name: "from-otlp".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    spool.sink().accept(Telemetry::from(request))?;

    spool.flush().await?;
    spool.shutdown().await?;
    println!("wrote spans, metrics and logs under {dir}/{{traces,metrics,logs}}/*.arrow");
    Ok(())
}
