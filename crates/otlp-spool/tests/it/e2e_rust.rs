//! End to end with the Rust `opentelemetry-otlp` exporter (gRPC, HTTP protobuf, HTTP JSON)
//! sending to a served `Spool`; the spans are read back from the finalized Arrow files.

use std::time::Duration;

use opentelemetry::trace::{Span as _, TraceContextExt, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use otlp_spool::Spool;
use otlp_spool_core::proto::common::v1::any_value::Value as Pv;
use otlp_spool_storage::{FileReader, OtlpRequest, Signal};

#[derive(Debug, Clone, Copy)]
enum Proto {
    Grpc,
    HttpProtobuf,
    HttpJson,
}

/// Sends a parent and a child span; returns their (trace id, span id) as hex.
fn send(proto: Proto, grpc: String, http: String) -> Vec<(String, String, String)> {
    let exporter = match proto {
        Proto::Grpc => SpanExporter::builder()
            .with_tonic()
            .with_endpoint(grpc)
            .build(),
        Proto::HttpProtobuf | Proto::HttpJson => SpanExporter::builder()
            .with_http()
            .with_protocol(match proto {
                Proto::HttpJson => Protocol::HttpJson,
                _ => Protocol::HttpBinary,
            })
            .with_endpoint(format!("{http}/v1/traces"))
            .build(),
    }
    .expect("span exporter");
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .with_resource(
            Resource::builder_empty()
                .with_service_name("rust-e2e")
                .build(),
        )
        .build();
    let tracer = provider.tracer("rust-e2e-tracer");
    let mut sent = Vec::new();
    let parent = tracer.start("parent");
    let parent_cx = Context::current_with_span(parent);
    {
        let mut child = tracer.start_with_context("child", &parent_cx);
        child.set_attribute(KeyValue::new("db.rows", 42_i64));
        child.set_attribute(KeyValue::new("db.system", "sqlite"));
        child.set_attribute(KeyValue::new("ratio", 0.5_f64));
        child.add_event("fetched", vec![KeyValue::new("n", 3_i64)]);
        let sc = child.span_context().clone();
        sent.push((
            "child".to_string(),
            sc.trace_id().to_string(),
            sc.span_id().to_string(),
        ));
        child.end();
    }
    let sc = parent_cx.span().span_context().clone();
    sent.push((
        "parent".to_string(),
        sc.trace_id().to_string(),
        sc.span_id().to_string(),
    ));
    parent_cx.span().end();
    provider.shutdown().expect("provider shutdown");
    sent
}

async fn check(proto: Proto) {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::builder()
        .output_dir(dir.path())
        .grpc_addr("127.0.0.1:0".parse().unwrap())
        .http_addr("127.0.0.1:0".parse().unwrap())
        .build()
        .await
        .unwrap();
    let addrs = spool.serve().await.unwrap();
    // The SDK blocks (simple processor, blocking HTTP client) and its tonic exporter needs the
    // runtime entered: run it on its own thread.
    let handle = tokio::runtime::Handle::current();
    let (grpc, http) = (
        format!("http://{}", addrs.grpc),
        format!("http://{}", addrs.http),
    );
    let sent = tokio::task::spawn_blocking(move || {
        let _entered = handle.enter();
        send(proto, grpc, http)
    })
    .await
    .unwrap();
    spool.flush().await.unwrap();

    let mut spans = Vec::new();
    for request in FileReader::new(dir.path(), Signal::Traces)
        .requests()
        .unwrap()
    {
        let OtlpRequest::Traces(request) = request.unwrap() else {
            panic!("not traces")
        };
        spans.extend(
            request
                .resource_spans
                .into_iter()
                .flat_map(|r| r.scope_spans)
                .flat_map(|s| s.spans),
        );
    }
    assert_eq!(spans.len(), 2, "{proto:?}");
    for (name, trace_id, span_id) in &sent {
        let span = spans
            .iter()
            .find(|s| &s.name == name)
            .expect("span by name");
        assert_eq!(&hex(&span.trace_id), trace_id, "{proto:?}");
        assert_eq!(&hex(&span.span_id), span_id, "{proto:?}");
    }
    let child = spans.iter().find(|s| s.name == "child").unwrap();
    let parent = spans.iter().find(|s| s.name == "parent").unwrap();
    assert_eq!(child.parent_span_id, parent.span_id);
    let attr = |k: &str| {
        child
            .attributes
            .iter()
            .find(|a| a.key == k)
            .and_then(|a| a.value.clone()?.value)
    };
    assert_eq!(attr("db.rows"), Some(Pv::IntValue(42)), "{proto:?}");
    assert_eq!(
        attr("db.system"),
        Some(Pv::StringValue("sqlite".into())),
        "{proto:?}"
    );
    assert_eq!(attr("ratio"), Some(Pv::DoubleValue(0.5)), "{proto:?}");
    assert_eq!(child.events.len(), 1);
    spool.shutdown().await.unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_otlp_exporter_over_grpc_http_protobuf_and_http_json() {
    tokio::time::timeout(Duration::from_secs(120), async {
        for proto in [Proto::Grpc, Proto::HttpProtobuf, Proto::HttpJson] {
            check(proto).await;
        }
    })
    .await
    .expect("timed out");
}
