use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use otlp_spool_core::{Sink, SinkError, Telemetry};

#[derive(Debug, Default)]
struct Collect(Mutex<Vec<Telemetry>>);

impl Sink for Collect {
    fn accept(&self, telemetry: Telemetry) -> Result<(), SinkError> {
        self.0.lock().unwrap().push(telemetry);
        Ok(())
    }
}

/// Refuses every batch and every flush with its error.
#[derive(Debug)]
struct Refuse(SinkError);

impl Sink for Refuse {
    fn accept(&self, _: Telemetry) -> Result<(), SinkError> {
        Err(self.0.clone())
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
        assert_eq!(sink.accept(batch).as_ref(), Err(error));
        assert_eq!(sink.flush(Duration::from_secs(1)).as_ref(), Err(error));
    }
}
