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

#[derive(Debug)]
struct Refuse(SinkError);

impl Sink for Refuse {
    fn accept(&self, _: Telemetry) -> Result<(), SinkError> {
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
    assert_eq!(
        Refuse(full.clone()).accept(Telemetry::from(ExportLogsServiceRequest::default())),
        Err(full)
    );
    assert!(too_large.to_string().contains("30 bytes"));
}
