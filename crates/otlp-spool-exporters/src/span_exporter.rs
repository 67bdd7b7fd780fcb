//! [`SinkSpanExporter`]: an OpenTelemetry SDK `SpanExporter` that hands spans to a [`Sink`]
//! in-process.
//!
//! Invariants: an export converts the batch (moving the spans, never cloning them) into one
//! `ExportTraceServiceRequest`, encodes it once into the bytes form of `Telemetry` and calls
//! `Sink::accept` once; it never waits on I/O. After
//! `shutdown`, every export fails with `AlreadyShutdown` at once.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use otlp_spool_core::{Sink, Telemetry};

use crate::exporter_state::{DEFAULT_FLUSH_TIMEOUT, Shared};

/// An SDK span exporter that hands every batch to a [`Sink`] (no network hop).
///
/// Cheap to clone (two reference counts); clones are the same exporter: they share the sink
/// and the shutdown state, so shutting one down shuts them all down.
///
/// ```
/// # use std::sync::Arc;
/// # use otlp_spool_core::{Refusal, Sink, Telemetry};
/// # #[derive(Debug)] struct Nothing;
/// # impl Sink for Nothing { fn accept(&self, _: Telemetry) -> Result<(), Refusal> { Ok(()) } }
/// use opentelemetry_sdk::trace::SdkTracerProvider;
/// use otlp_spool_exporters::SinkSpanExporter;
///
/// let exporter = SinkSpanExporter::new(Arc::new(Nothing));
/// let provider = SdkTracerProvider::builder().with_simple_exporter(exporter).build();
/// # provider.shutdown().unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SinkSpanExporter {
    shared: Arc<Shared>,
    resource: Arc<ResourceAttributesWithSchema>,
}

impl SinkSpanExporter {
    /// An exporter into `sink`, whose `force_flush` waits up to 5 s for the sink.
    pub fn new(sink: Arc<dyn Sink>) -> Self {
        Self::with_flush_timeout(sink, DEFAULT_FLUSH_TIMEOUT)
    }

    /// An exporter into `sink` whose `force_flush` waits up to `flush_timeout`.
    pub fn with_flush_timeout(sink: Arc<dyn Sink>, flush_timeout: Duration) -> Self {
        Self {
            shared: Arc::new(Shared::new(sink, flush_timeout)),
            resource: Arc::new(ResourceAttributesWithSchema::default()),
        }
    }

    /// Converts and hands over one batch now (what `export` does, without the future).
    pub fn export_now(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if batch.is_empty() {
            return self.shared.accept_nothing();
        }
        self.shared.accept(|| {
            Telemetry::from(ExportTraceServiceRequest {
                resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
            })
        })
    }
}

impl SpanExporter for SinkSpanExporter {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        std::future::ready(self.export_now(batch))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.shared.shutdown(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.shared.flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = Arc::new(resource.into());
    }
}
