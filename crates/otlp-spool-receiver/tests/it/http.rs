//! OTLP/HTTP happy paths with raw requests: protobuf, JSON, gzip, zstd, response encoding.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use otlp_spool_receiver::{ExportRequest, Signal, Telemetry};
use prost::Message;

use crate::support::*;

#[tokio::test]
async fn protobuf_in_every_encoding_reaches_the_sink() {
    let server = start().await;
    let body = traces(vec![good_span(1, "a"), good_span(2, "b")]).encode_to_vec();
    for encoding in [None, Some("gzip"), Some("zstd"), Some("identity")] {
        let payload = match encoding {
            Some("gzip") => gzip(&body),
            Some("zstd") => zstd(&body),
            _ => body.clone(),
        };
        let reply = post(
            &server,
            "/v1/traces",
            "application/x-protobuf",
            encoding,
            payload,
        )
        .await;
        assert_eq!(reply.status, 200, "{encoding:?}: {}", reply.text());
        assert_eq!(reply.header("content-type"), Some("application/x-protobuf"));
        let response = ExportTraceServiceResponse::decode(reply.body.clone()).unwrap();
        assert_eq!(response.partial_success, None);
    }
    let received = server.sink.take();
    assert_eq!(received.len(), 4);
    for telemetry in received {
        let ExportRequest::Traces(request) = telemetry.decode().unwrap() else {
            panic!("not traces")
        };
        let spans = &request.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].name, "a");
        assert_eq!(spans[1].trace_id, vec![2; 16]);
    }
}

/// OTLP/JSON: hex ids, lowerCamelCase, enums as integers, int64 as strings (and numbers).
#[tokio::test]
async fn json_mapping_is_understood_and_answered_in_json() {
    let server = start().await;
    let body = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
        "scopeSpans":[{"scope":{"name":"json-scope"},"spans":[{
            "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
            "parentSpanId":"","name":"GET /cart","kind":2,
            "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":1700000000500000000,
            "attributes":[{"key":"http.status_code","value":{"intValue":"200"}},
                          {"key":"retries","value":{"intValue":3}},
                          {"key":"ratio","value":{"doubleValue":0.5}},
                          {"key":"cached","value":{"boolValue":true}}],
            "status":{"code":1}}]}]}]}"#;
    let reply = post(&server, "/v1/traces", "application/json", None, body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.text(), "{}");

    let received = server.sink.take();
    let ExportRequest::Traces(request) = &received[0].decode().unwrap() else {
        panic!("not traces")
    };
    let span = &request.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(
        span.trace_id,
        [
            0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f,
            0xc6, 0x0c
        ]
    );
    assert_eq!(span.span_id.len(), 8);
    assert_eq!(span.kind, 2);
    assert_eq!(span.start_time_unix_nano, 1_700_000_000_000_000_000);
    assert_eq!(span.end_time_unix_nano, 1_700_000_000_500_000_000);
    let values: Vec<_> = span
        .attributes
        .iter()
        .map(|kv| kv.value.as_ref().unwrap().value.clone().unwrap())
        .collect();
    assert_eq!(
        values,
        [
            Value::IntValue(200),
            Value::IntValue(3),
            Value::DoubleValue(0.5),
            Value::BoolValue(true)
        ]
    );
    assert_eq!(span.status.as_ref().unwrap().code, 1);
}

#[tokio::test]
async fn metrics_and_logs_endpoints_answer_their_own_response_types() {
    let server = start().await;
    let metrics = r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"requests",
        "sum":{"aggregationTemporality":2,"isMonotonic":true,
               "dataPoints":[{"asInt":"5","timeUnixNano":"1700000000000000000"},{"asInt":"7"}]}}]}]}]}"#;
    let reply = post(&server, "/v1/metrics", "application/json", None, metrics).await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    let logs = r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":13,
        "body":{"stringValue":"disk almost full"},"traceId":"","spanId":""}]}]}]}"#;
    let reply = post(
        &server,
        "/v1/logs",
        "application/json; charset=utf-8",
        None,
        logs,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    let empty_metrics = post(&server, "/v1/metrics", "application/x-protobuf", None, "").await;
    assert_eq!(empty_metrics.status, 200);
    ExportMetricsServiceResponse::decode(empty_metrics.body).unwrap();
    let empty_logs = post(&server, "/v1/logs", "application/x-protobuf", None, "").await;
    assert_eq!(empty_logs.status, 200);
    ExportLogsServiceResponse::decode(empty_logs.body).unwrap();

    let received = server.sink.take();
    let signals: Vec<_> = received.iter().map(Telemetry::signal).collect();
    assert_eq!(signals, [Signal::Metrics, Signal::Logs]);
    assert_eq!(received[0].item_count(), 2);
    assert_eq!(received[1].item_count(), 1);
}

/// A span with a 3-byte trace id is refused alone; the others are accepted.
#[tokio::test]
async fn invalid_ids_are_refused_one_by_one() {
    let server = start().await;
    let request = traces(vec![
        good_span(1, "ok-1"),
        span(&[1, 2, 3], &[7; 8], "short-trace-id"),
        good_span(2, "ok-2"),
        span(&[5; 16], &[0; 8], "zero-span-id"),
    ]);
    let reply = post(
        &server,
        "/v1/traces",
        "application/x-protobuf",
        None,
        request.encode_to_vec(),
    )
    .await;
    assert_eq!(reply.status, 200);
    let partial = ExportTraceServiceResponse::decode(reply.body)
        .unwrap()
        .partial_success
        .expect("partial_success");
    assert_eq!(partial.rejected_spans, 2);
    assert!(
        partial.error_message.contains("\"short-trace-id\"")
            && partial
                .error_message
                .contains("trace id has 3 bytes, want 16"),
        "{}",
        partial.error_message
    );
    assert!(partial.error_message.contains("span id is all zeros"));
    let received = server.sink.take();
    assert_eq!(received.len(), 1);
    let ExportRequest::Traces(accepted) = &received[0].decode().unwrap() else {
        panic!()
    };
    let names: Vec<_> = accepted.resource_spans[0].scope_spans[0]
        .spans
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(names, ["ok-1", "ok-2"]);

    // The same in JSON: the answer is JSON, the count a string (int64 mapping).
    let json = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[
        {"traceId":"abcdef","spanId":"eee19b7ec3c1b174","name":"bad"}]}]}]}"#;
    let reply = post(&server, "/v1/traces", "application/json", None, json).await;
    assert_eq!(reply.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(body["partialSuccess"]["rejectedSpans"], "1");
    assert!(
        body["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap()
            .contains("trace id has 3 bytes")
    );
    // Every span refused: nothing reached the sink.
    assert_eq!(server.sink.calls(), 0);
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods() {
    let server = start().await;
    let c = client();
    assert_eq!(send(c.get(server.http_url("/nope"))).await.status, 404);
    assert_eq!(send(c.post(server.http_url("/v1/spans"))).await.status, 404);
    let get = send(c.get(server.http_url("/v1/traces"))).await;
    assert_eq!(get.status, 405);
    assert_eq!(get.header("allow"), Some("POST"));
    assert_eq!(send(c.put(server.http_url("/v1/logs"))).await.status, 405);
    assert_eq!(send(c.post(server.http_url("/health"))).await.status, 405);
    assert_eq!(server.sink.calls(), 0);
}
