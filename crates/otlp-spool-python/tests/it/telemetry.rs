//! `telemetry_from_bytes` and `parse_signal`: the bytes the Python exporters hand over.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otlp_spool_core::{Signal, Telemetry};
use otlp_spool_python::{parse_signal, telemetry_from_bytes};
use prost::Message as _;

use crate::requests::{logs, metrics, traces};

fn check(signal: Signal, bytes: &[u8], expected: Telemetry) {
    let (got, refused) = telemetry_from_bytes(signal, bytes).expect("valid request");
    assert_eq!(refused, 0);
    assert_eq!(got.decode().unwrap(), expected.decode().unwrap());
    assert_eq!(got.item_count(), expected.item_count());
    assert_eq!(&got.bytes()[..], bytes);
    assert_eq!(got.signal(), signal);
}

#[test]
fn each_signal_decodes_to_the_request_that_was_encoded() {
    let t = traces(3);
    check(Signal::Traces, &t.encode_to_vec(), Telemetry::from(t));
    let m = metrics(2);
    check(Signal::Metrics, &m.encode_to_vec(), Telemetry::from(m));
    let l = logs(4);
    check(Signal::Logs, &l.encode_to_vec(), Telemetry::from(l));
}

#[test]
fn empty_bytes_are_an_empty_request() {
    check(
        Signal::Traces,
        &[],
        Telemetry::from(ExportTraceServiceRequest::default()),
    );
    check(
        Signal::Metrics,
        &[],
        Telemetry::from(ExportMetricsServiceRequest::default()),
    );
    check(
        Signal::Logs,
        &[],
        Telemetry::from(ExportLogsServiceRequest::default()),
    );
}

#[test]
fn garbage_is_an_error_naming_the_signal() {
    // Field 1, wire type 2 (length-delimited), length 100, but only two bytes follow.
    let err = telemetry_from_bytes(Signal::Metrics, &[0x0a, 100, 1, 2]).unwrap_err();
    assert_eq!(err.signal, Signal::Metrics);
    assert!(err.to_string().contains("metrics"), "{err}");
}

#[test]
fn signal_names_are_the_folder_names() {
    for signal in Signal::ALL {
        assert_eq!(parse_signal(signal.as_str()).unwrap(), signal);
    }
    let err = parse_signal("spans").unwrap_err();
    assert!(err.to_string().contains("`spans`"), "{err}");
}
