//! [`SinkMetricExporter`]: an OpenTelemetry SDK `PushMetricExporter` that hands metrics to a
//! [`Sink`] in-process, with a configurable temporality.
//!
//! Invariants: export works by reference (the SDK's `ResourceMetrics` is read, never cloned),
//! builds one `ExportMetricsServiceRequest`, encodes it once (`Telemetry::from`) and calls
//! `Sink::accept` once; no I/O; after
//! `shutdown` every export fails with `AlreadyShutdown` at once.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use otlp_spool_core::{Sink, Telemetry};

use crate::exporter_state::{DEFAULT_FLUSH_TIMEOUT, Shared};

/// An SDK push-metric exporter that hands every collection to a [`Sink`] (no network hop).
///
/// `temporality()` returns what it was built with: [`Temporality::Cumulative`] by default
/// ([`SinkMetricExporter::new`]), or `Delta` / `LowMemory` through
/// [`with_temporality`](Self::with_temporality). Cheap to clone; clones share the sink and the
/// shutdown state.
///
/// ```
/// # use std::sync::Arc;
/// # use otlp_spool_core::{Refusal, Sink, Telemetry};
/// # #[derive(Debug)] struct Nothing;
/// # impl Sink for Nothing { fn accept(&self, _: Telemetry) -> Result<(), Refusal> { Ok(()) } }
/// use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
/// use otlp_spool_exporters::SinkMetricExporter;
///
/// let exporter = SinkMetricExporter::with_temporality(Arc::new(Nothing), Temporality::Delta);
/// let provider = SdkMeterProvider::builder()
///     .with_reader(PeriodicReader::builder(exporter).build())
///     .build();
/// # provider.shutdown().unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SinkMetricExporter {
    shared: Arc<Shared>,
    temporality: Temporality,
}

impl SinkMetricExporter {
    /// A cumulative exporter into `sink`; `force_flush` waits up to 5 s.
    pub fn new(sink: Arc<dyn Sink>) -> Self {
        Self::with_temporality(sink, Temporality::default())
    }

    /// An exporter into `sink` with `temporality`.
    pub fn with_temporality(sink: Arc<dyn Sink>, temporality: Temporality) -> Self {
        Self::with_options(sink, temporality, DEFAULT_FLUSH_TIMEOUT)
    }

    /// An exporter into `sink` with `temporality`, whose `force_flush` waits up to
    /// `flush_timeout`.
    pub fn with_options(
        sink: Arc<dyn Sink>,
        temporality: Temporality,
        flush_timeout: Duration,
    ) -> Self {
        Self {
            shared: Arc::new(Shared::new(sink, flush_timeout)),
            temporality,
        }
    }

    /// Converts and hands over one collection now (what `export` does, without the future).
    pub fn export_now(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        if metrics.scope_metrics().next().is_none() {
            return self.shared.accept_nothing();
        }
        self.shared
            .accept(|| Telemetry::from(ExportMetricsServiceRequest::from(metrics)))
    }
}

impl PushMetricExporter for SinkMetricExporter {
    fn export(
        &self,
        metrics: &ResourceMetrics,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        std::future::ready(self.export_now(metrics))
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.shared.flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.shared.shutdown(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.temporality
    }
}
