//! Test traffic: OTLP trace requests with unique span ids, and clients that record exactly
//! which requests were acknowledged.

use std::collections::BTreeSet;

use otlp_spool_core::proto::collector::trace::v1::ExportTraceServiceRequest;
use otlp_spool_core::proto::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use otlp_spool_core::proto::resource::v1::Resource;
use otlp_spool_core::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
use otlp_spool_storage::{FileReader, OtlpRequest, Signal};
use prost::Message;

/// A request of `spans` spans whose span ids encode `(batch, index)`, so every span is unique.
pub(crate) fn request(batch: u32, spans: u32) -> ExportTraceServiceRequest {
    let spans = (0..spans)
        .map(|i| {
            let id = (u64::from(batch) << 32) | u64::from(i + 1); // never 0: an all-zero span id is invalid
            Span {
                trace_id: [7u8; 16].to_vec(),
                span_id: id.to_be_bytes().to_vec(),
                name: format!("op-{}", i % 7),
                start_time_unix_nano: 1_700_000_000_000_000_000 + u64::from(i),
                end_time_unix_nano: 1_700_000_000_000_100_000 + u64::from(i),
                attributes: (0..10)
                    .map(|k| KeyValue {
                        key: format!("attr.{k}"),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::StringValue(format!("value-{k}-{i}"))),
                        }),
                        ..KeyValue::default()
                    })
                    .collect(),
                ..Span::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("facade-test".into())),
                    }),
                    ..KeyValue::default()
                }],
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "traffic".into(),
                    ..InstrumentationScope::default()
                }),
                spans,
                ..ScopeSpans::default()
            }],
            ..ResourceSpans::default()
        }],
    }
}

/// The span ids (as u64) a request carries.
pub(crate) fn ids(request: &ExportTraceServiceRequest) -> Vec<u64> {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| u64::from_be_bytes(s.span_id.as_slice().try_into().unwrap()))
        .collect()
}

/// Every span id in the finalized trace files of `dir` (panics on a duplicate).
pub(crate) fn stored_ids(dir: &std::path::Path) -> BTreeSet<u64> {
    let mut seen = BTreeSet::new();
    for request in FileReader::new(dir, Signal::Traces).requests().unwrap() {
        let OtlpRequest::Traces(request) = request.unwrap() else {
            panic!("not traces")
        };
        for id in ids(&request) {
            assert!(seen.insert(id), "span {id:x} stored twice");
        }
    }
    seen
}

/// The outcome of one POST.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<String>,
    /// The response body, lossily as text (a `google.rpc.Status` carries its message as is).
    pub(crate) body: String,
}

/// POSTs `request` as protobuf to `http://addr/v1/traces`.
pub(crate) async fn post(
    client: &reqwest::Client,
    addr: std::net::SocketAddr,
    request: &ExportTraceServiceRequest,
) -> Result<Answer, reqwest::Error> {
    let response = client
        .post(format!("http://{addr}/v1/traces"))
        .header("content-type", "application/x-protobuf")
        .body(request.encode_to_vec())
        .send()
        .await?;
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap_or("").to_string());
    let status = response.status().as_u16();
    let body = String::from_utf8_lossy(&response.bytes().await?).into_owned();
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}
