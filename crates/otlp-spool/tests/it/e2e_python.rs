//! End to end with the official OpenTelemetry Python SDK (from PyPI) as the client, the real
//! binary as the server, and pyarrow + DuckDB (from PyPI) plus our own reader reading the files.

use std::process::Command;

use otlp_spool_storage::{FileReader, OtlpRequest, Signal};
use serde_json::Value;

use crate::support::{Server, files, python, python_script};

fn run_python(py: &std::path::Path, args: &[&str]) -> Value {
    let out = Command::new(py).args(args).output().expect("python runs");
    assert!(
        out.status.success(),
        "python {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("bad JSON from {args:?}: {e}"))
}

fn check(protocol: &str, temporality: &str) {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]);
    let endpoint = match protocol {
        "grpc" => format!("http://{}", server.grpc),
        _ => format!("http://{}", server.http),
    };
    let sent = run_python(
        &py,
        &[
            python_script("send_otlp.py").to_str().unwrap(),
            "--protocol",
            protocol,
            "--endpoint",
            &endpoint,
            "--temporality",
            temporality,
        ],
    );
    let status = server.terminate();
    assert!(status.success(), "exit status {status:?}\n{}", server.log());
    for signal in ["traces", "metrics", "logs"] {
        let (done, tmp) = files(dir.path(), signal);
        assert!(!done.is_empty(), "no finalized {signal} file");
        assert!(tmp.is_empty(), "temporary files left: {tmp:?}");
    }

    // Our own reader: the spans come back as OTLP with their ids, names and typed attributes.
    let mut spans = Vec::new();
    for request in FileReader::new(dir.path(), Signal::Traces)
        .requests()
        .unwrap()
    {
        let OtlpRequest::Traces(request) = request.unwrap() else {
            panic!("not traces")
        };
        for rs in request.resource_spans {
            for ss in rs.scope_spans {
                assert_eq!(ss.scope.as_ref().unwrap().name, "e2e.tracer");
                spans.extend(ss.spans);
            }
        }
    }
    let sent_spans = sent["spans"].as_array().unwrap();
    assert_eq!(spans.len(), sent_spans.len());
    for s in sent_spans {
        let found = spans
            .iter()
            .find(|sp| sp.name == s["name"].as_str().unwrap())
            .expect("span by name");
        assert_eq!(hex(&found.trace_id), s["trace_id"].as_str().unwrap());
        assert_eq!(hex(&found.span_id), s["span_id"].as_str().unwrap());
    }
    let parent = spans.iter().find(|s| s.name == "parent").unwrap();
    use otlp_spool_core::proto::common::v1::any_value::Value as V;
    let attr = |k: &str| {
        parent
            .attributes
            .iter()
            .find(|a| a.key == k)
            .and_then(|a| a.value.clone()?.value)
    };
    assert_eq!(attr("http.status_code"), Some(V::IntValue(200)));
    assert_eq!(attr("ratio"), Some(V::DoubleValue(0.25)));
    assert_eq!(attr("cache.hit"), Some(V::BoolValue(true)));
    assert!(matches!(attr("tags"), Some(V::ArrayValue(a)) if a.values.len() == 2));
    assert_eq!(parent.events.len(), 1);
    let child = spans.iter().find(|s| s.name == "child").unwrap();
    assert_eq!(child.links.len(), 1);
    assert_eq!(child.links[0].span_id, parent.span_id);

    // pyarrow + DuckDB over the same files.
    let read = run_python(
        &py,
        &[
            python_script("read_back.py").to_str().unwrap(),
            dir.path().to_str().unwrap(),
        ],
    );
    assert_eq!(read["traces"]["rows"], 2);
    assert_eq!(read["traces"]["get_spans"], serde_json::json!([["parent"]]));
    assert_eq!(
        read["traces"]["status_code_int"],
        serde_json::json!([[200]])
    );
    assert_eq!(
        read["traces"]["service_names"],
        serde_json::json!(["py-e2e"])
    );
    let names: Vec<&str> = read["metrics"]["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for n in ["requests", "inflight", "latency", "temperature"] {
        assert!(names.contains(&n), "metric {n} missing from {names:?}");
    }
    // Two collections of `requests` (5, then +2), plus the one at MeterProvider shutdown, which
    // repeats the total in cumulative mode and has nothing new in delta mode.
    let points: Vec<i64> = read["metrics"]["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(points[0], 5, "{read}");
    if temporality == "delta" {
        assert_eq!(
            points.iter().sum::<i64>(),
            7,
            "delta points add up to the total: {read}"
        );
        assert_eq!(points[1], 2, "{read}");
    } else {
        assert!(
            points.windows(2).all(|w| w[0] <= w[1]),
            "cumulative never decreases: {read}"
        );
        assert_eq!(*points.last().unwrap(), 7, "{read}");
    }
    // OTLP enum: 1 = DELTA, 2 = CUMULATIVE.
    let want = if temporality == "delta" { 1 } else { 2 };
    assert_eq!(read["metrics"]["temporalities"], serde_json::json!([want]));
    assert_eq!(
        read["logs"]["bodies"],
        serde_json::json!(["disk almost full", "hello from python"])
    );
    assert_eq!(read["logs"]["severity_numbers"], serde_json::json!([9, 13]));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn python_sdk_over_grpc_cumulative() {
    check("grpc", "cumulative");
}

#[test]
fn python_sdk_over_http_delta() {
    check("http", "delta");
}
