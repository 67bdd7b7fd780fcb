use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_spool_core::{Refusal, Signal, Sink, SinkError, Telemetry};

#[derive(Debug, Default)]
struct Collect(Mutex<Vec<Telemetry>>);

impl Sink for Collect {
    fn accept(&self, telemetry: Telemetry) -> Result<(), Refusal> {
        self.0.lock().unwrap().push(telemetry);
        Ok(())
    }
}

/// Refuses every batch and every flush with its error.
#[derive(Debug)]
struct Refuse(SinkError);

impl Sink for Refuse {
    fn accept(&self, telemetry: Telemetry) -> Result<(), Refusal> {
        Err(Refusal::new(self.0.clone(), telemetry))
    }

    fn flush(&self, _: Duration) -> Result<(), SinkError> {
        Err(self.0.clone())
    }
}

#[test]
fn a_shared_sink_is_a_sink() {
    let collect = Arc::new(Collect::default());
    let dynamic: Arc<dyn Sink> = collect.clone();
    dynamic
        .accept(Telemetry::from(ExportLogsServiceRequest::default()))
        .unwrap();
    let boxed: Box<dyn Sink> = Box::new(collect.clone());
    boxed
        .accept(Telemetry::from(ExportLogsServiceRequest::default()))
        .unwrap();
    assert_eq!(collect.0.lock().unwrap().len(), 2);
}

#[test]
fn errors_say_whether_a_retry_helps() {
    let full = SinkError::Full {
        retry_after: Duration::from_millis(250),
    };
    let too_large = SinkError::TooLarge {
        weight: 30,
        capacity: 20,
    };
    assert!(full.is_retryable());
    assert!(SinkError::Closed.is_retryable());
    assert!(!too_large.is_retryable());
    assert!(too_large.to_string().contains("30 bytes"));
}

/// The `Arc` and `Box` impls forward both methods: a refusal and a failed flush come through
/// unchanged (the trait's default `flush` would say `Ok`).
#[test]
fn arc_and_box_pass_refusals_and_flush_errors_through() {
    let full = SinkError::Full {
        retry_after: Duration::from_millis(250),
    };
    let shared: Arc<dyn Sink> = Arc::new(Refuse(full.clone()));
    let boxed: Box<dyn Sink> = Box::new(Refuse(SinkError::Closed));
    for (sink, error) in [(&shared as &dyn Sink, &full), (&boxed, &SinkError::Closed)] {
        let batch = Telemetry::from(ExportLogsServiceRequest::default());
        let refused = sink.accept(batch.clone()).unwrap_err();
        assert_eq!(refused.error(), error);
        assert_eq!(refused.into_inner(), batch);
        assert_eq!(sink.flush(Duration::from_secs(1)).as_ref(), Err(error));
    }
}

/// A refusal hands the very batch back (through `submit`'s default too), so the caller can
/// retry it; it displays as its error, which a server maps to its answer.
#[test]
fn a_refusal_gives_the_batch_back() {
    let full = SinkError::Full {
        retry_after: Duration::from_millis(250),
    };
    let sink: Arc<dyn Sink> = Arc::new(Refuse(full.clone()));
    let batch = Telemetry::from(ExportTraceServiceRequest::default());
    let refused = sink.submit(batch.clone()).unwrap_err();
    assert_eq!(refused.to_string(), full.to_string());
    let debug = format!("{refused:?}");
    assert!(
        debug.contains("Full") && debug.contains("Traces"),
        "{debug}"
    );
    let (error, back) = refused.into_parts();
    assert_eq!(error, full);
    assert_eq!(back.signal(), Signal::Traces);
    assert_eq!(
        back.bytes().as_ptr(),
        batch.bytes().as_ptr(),
        "moved, not copied"
    );
    // The retry: the same batch, into a sink that takes it.
    let collect = Collect::default();
    collect.accept(back).unwrap();
    assert_eq!(collect.0.lock().unwrap()[0], batch);
    assert_eq!(SinkError::from(sink.accept(batch).unwrap_err()), full);
}
