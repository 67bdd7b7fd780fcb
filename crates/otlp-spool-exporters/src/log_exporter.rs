//! [`SinkLogExporter`]: an OpenTelemetry SDK `LogExporter` that hands log records to a
//! [`Sink`] in-process.
//!
//! Invariants: one `ExportLogsServiceRequest`, encoded once into `Telemetry`, and one
//! `Sink::accept` per non-empty batch; no I/O; after `shutdown` every export fails with `AlreadyShutdown` at once.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use otlp_spool_core::{Sink, Telemetry};

use crate::exporter_state::{DEFAULT_FLUSH_TIMEOUT, Shared};

/// An SDK log exporter that hands every batch to a [`Sink`] (no network hop).
///
/// Cheap to clone; clones share the sink and the shutdown state. The SDK's `LogExporter` has
/// no `force_flush`; [`SinkLogExporter::force_flush`] is offered as an inherent method, and
/// `shutdown` flushes the sink.
#[derive(Debug, Clone)]
pub struct SinkLogExporter {
    shared: Arc<Shared>,
    resource: Arc<ResourceAttributesWithSchema>,
}

impl SinkLogExporter {
    /// An exporter into `sink`; [`force_flush`](Self::force_flush) waits up to 5 s.
    pub fn new(sink: Arc<dyn Sink>) -> Self {
        Self::with_flush_timeout(sink, DEFAULT_FLUSH_TIMEOUT)
    }

    /// An exporter into `sink` whose flush waits up to `flush_timeout`.
    pub fn with_flush_timeout(sink: Arc<dyn Sink>, flush_timeout: Duration) -> Self {
        Self {
            shared: Arc::new(Shared::new(sink, flush_timeout)),
            resource: Arc::new(ResourceAttributesWithSchema::default()),
        }
    }

    /// Converts and hands over one batch now (what `export` does, without the future).
    pub fn export_now(&self, batch: &LogBatch<'_>) -> OTelSdkResult {
        if batch.iter().next().is_none() {
            return self.shared.accept_nothing();
        }
        self.shared.accept(|| {
            Telemetry::from(ExportLogsServiceRequest {
                resource_logs: group_logs_by_resource_and_scope(batch, &self.resource),
            })
        })
    }

    /// Waits until the sink holds everything exported so far durably.
    pub fn force_flush(&self) -> OTelSdkResult {
        self.shared.flush()
    }
}

impl LogExporter for SinkLogExporter {
    fn export(
        &self,
        batch: LogBatch<'_>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        std::future::ready(self.export_now(&batch))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.shared.shutdown(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = Arc::new(resource.into());
    }
}
