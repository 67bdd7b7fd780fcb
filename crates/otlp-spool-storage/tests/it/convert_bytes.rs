//! Differential tests of the bytes converter against the prost oracle: generated requests,
//! encoded by prost and then re-encoded with mutations that prost decodes to the same message
//! (`convert_wire`), pushed as bytes, must give the very batches the prost converter gives for
//! the prost decode, under any batch limits; and reading those batches back must give the
//! decode. Corrupted bytes must be refused exactly when prost refuses them.

use arrow_array::RecordBatch;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::metrics::v1::{ResourceMetrics, ScopeMetrics, metric};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use otlp_spool_core::wire::put_len_field;
use otlp_spool_storage::{
    BatchLimits, Converter, PushError, Signal, arrow_to_logs, arrow_to_metrics, arrow_to_traces,
};
use proptest::collection::vec;
use proptest::prelude::*;
use prost::Message;

use crate::convert_gen::{logs_request, metrics_request, traces_request};
use crate::convert_roundtrip::assert_same;
use crate::convert_wire::{self, Field, Mutations, Rng};

/// Batches of a stream of requests pushed as bytes; the push results.
pub(crate) fn via_bytes(
    signal: Signal,
    requests: &[Vec<u8>],
    limits: BatchLimits,
) -> (Vec<RecordBatch>, Vec<Result<usize, PushError>>) {
    let mut c = Converter::new(signal, limits);
    let mut out = Vec::new();
    let results = requests
        .iter()
        .map(|r| c.push(r, |b| out.push(b)))
        .collect();
    c.finish(|b| out.push(b)).unwrap();
    (out, results)
}

/// Batches of a stream of prost requests.
pub(crate) fn via_prost<M>(
    signal: Signal,
    requests: &[M],
    limits: BatchLimits,
    push: fn(&mut Converter, &M, &mut Vec<RecordBatch>) -> Result<usize, PushError>,
) -> Vec<RecordBatch> {
    let mut c = Converter::new(signal, limits);
    let mut out = Vec::new();
    for r in requests {
        push(&mut c, r, &mut out).unwrap();
    }
    c.finish(|b| out.push(b)).unwrap();
    out
}

fn limits(choice: u8, n: usize) -> BatchLimits {
    match choice % 3 {
        0 => BatchLimits::unbounded(),
        1 => BatchLimits::builder().max_batch_rows(n).build().unwrap(),
        _ => BatchLimits::builder()
            .max_batch_bytes(n * 300)
            .build()
            .unwrap(),
    }
}

/// Every item with its containers, one canonical single-item request each: equal lists mean
/// equal data whatever the container splits (batch seams split containers).
fn flat_traces(req: &ExportTraceServiceRequest) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for rs in &req.resource_spans {
        for ss in &rs.scope_spans {
            for span in &ss.spans {
                let one = ResourceSpans {
                    scope_spans: vec![ScopeSpans {
                        spans: vec![span.clone()],
                        ..ss.clone()
                    }],
                    ..rs.clone()
                };
                out.push(one.encode_to_vec());
            }
        }
    }
    out
}

fn flat_logs(req: &ExportLogsServiceRequest) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for rl in &req.resource_logs {
        for sl in &rl.scope_logs {
            for record in &sl.log_records {
                let one = ResourceLogs {
                    scope_logs: vec![ScopeLogs {
                        log_records: vec![record.clone()],
                        ..sl.clone()
                    }],
                    ..rl.clone()
                };
                out.push(one.encode_to_vec());
            }
        }
    }
    out
}

fn flat_metrics(req: &ExportMetricsServiceRequest) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for rm in &req.resource_metrics {
        for sm in &rm.scope_metrics {
            for m in &sm.metrics {
                let mut points = Vec::new();
                match &m.data {
                    None => {}
                    Some(metric::Data::Gauge(g)) => {
                        for p in &g.data_points {
                            let mut g = g.clone();
                            g.data_points = vec![p.clone()];
                            points.push(metric::Data::Gauge(g));
                        }
                    }
                    Some(metric::Data::Sum(s)) => {
                        for p in &s.data_points {
                            let mut s = s.clone();
                            s.data_points = vec![p.clone()];
                            points.push(metric::Data::Sum(s));
                        }
                    }
                    Some(metric::Data::Histogram(h)) => {
                        for p in &h.data_points {
                            let mut h = h.clone();
                            h.data_points = vec![p.clone()];
                            points.push(metric::Data::Histogram(h));
                        }
                    }
                    Some(metric::Data::ExponentialHistogram(h)) => {
                        for p in &h.data_points {
                            let mut h = h.clone();
                            h.data_points = vec![p.clone()];
                            points.push(metric::Data::ExponentialHistogram(h));
                        }
                    }
                    Some(metric::Data::Summary(s)) => {
                        for p in &s.data_points {
                            let mut s = s.clone();
                            s.data_points = vec![p.clone()];
                            points.push(metric::Data::Summary(s));
                        }
                    }
                }
                for data in points {
                    let mut m = m.clone();
                    m.data = Some(data);
                    let one = ResourceMetrics {
                        scope_metrics: vec![ScopeMetrics {
                            metrics: vec![m],
                            ..sm.clone()
                        }],
                        ..rm.clone()
                    };
                    out.push(one.encode_to_vec());
                }
            }
        }
    }
    out
}

/// Equal batches, or a failure naming the first column that differs.
pub(crate) fn same_batch(a: &RecordBatch, b: &RecordBatch) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.schema(), b.schema());
    for (i, field) in a.schema().fields().iter().enumerate() {
        prop_assert!(
            a.column(i) == b.column(i),
            "column {} differs:\nbytes: {:?}\nprost: {:?}",
            field.name(),
            a.column(i),
            b.column(i)
        );
    }
    Ok(())
}

/// How one signal is pushed, read back, merged and flattened.
pub(crate) struct Case<M> {
    pub(crate) signal: Signal,
    pub(crate) schema: fn() -> &'static [Field],
    pub(crate) push: fn(&mut Converter, &M, &mut Vec<RecordBatch>) -> Result<usize, PushError>,
    back: fn(&RecordBatch) -> M,
    merge: fn(&[M]) -> M,
    flat: fn(&M) -> Vec<Vec<u8>>,
    pub(crate) items: fn(&M) -> usize,
}

pub(crate) const TRACES: Case<ExportTraceServiceRequest> = Case {
    signal: Signal::Traces,
    schema: convert_wire::traces_request,
    push: |c, r, out| c.push_traces(r, |b| out.push(b)),
    back: |b| arrow_to_traces(b).unwrap(),
    merge: |rs| ExportTraceServiceRequest {
        resource_spans: rs.iter().flat_map(|r| r.resource_spans.clone()).collect(),
    },
    flat: flat_traces,
    items: |r| flat_traces(r).len(),
};

pub(crate) const METRICS: Case<ExportMetricsServiceRequest> = Case {
    signal: Signal::Metrics,
    schema: convert_wire::metrics_request,
    push: |c, r, out| c.push_metrics(r, |b| out.push(b)),
    back: |b| arrow_to_metrics(b).unwrap(),
    merge: |rs| ExportMetricsServiceRequest {
        resource_metrics: rs.iter().flat_map(|r| r.resource_metrics.clone()).collect(),
    },
    flat: flat_metrics,
    items: |r| flat_metrics(r).len(),
};

pub(crate) const LOGS: Case<ExportLogsServiceRequest> = Case {
    signal: Signal::Logs,
    schema: convert_wire::logs_request,
    push: |c, r, out| c.push_logs(r, |b| out.push(b)),
    back: |b| arrow_to_logs(b).unwrap(),
    merge: |rs| ExportLogsServiceRequest {
        resource_logs: rs.iter().flat_map(|r| r.resource_logs.clone()).collect(),
    },
    flat: flat_logs,
    items: |r| flat_logs(r).len(),
};

/// The differential check for one signal: mutated bytes vs prost, exact batches, rows, and
/// the read-back data.
fn check<M: Message + Default + PartialEq + std::fmt::Debug>(
    case: &Case<M>,
    requests: &[M],
    seed: u64,
    limits: BatchLimits,
) -> Result<(), TestCaseError> {
    let mut rng = Rng::new(seed);
    let bytes: Vec<Vec<u8>> = requests
        .iter()
        .map(|r| {
            convert_wire::mutate(
                &r.encode_to_vec(),
                (case.schema)(),
                &mut rng,
                &Mutations::SOME,
            )
        })
        .collect();
    // The oracle runs on prost's decode of the mutated bytes (which equals the request up to
    // what prost's encoding drops, such as the sign of a -0.0 default).
    let decoded: Vec<M> = bytes
        .iter()
        .map(|b| M::decode(b.as_slice()).expect("mutated bytes decode"))
        .collect();
    for (d, r) in decoded.iter().zip(requests) {
        assert_same(r, d);
    }
    let (from_bytes, results) = via_bytes(case.signal, &bytes, limits);
    for (result, r) in results.iter().zip(&decoded) {
        prop_assert_eq!(*result.as_ref().unwrap(), (case.items)(r));
    }
    let from_prost = via_prost(case.signal, &decoded, limits, case.push);
    prop_assert_eq!(from_bytes.len(), from_prost.len());
    for (a, b) in from_bytes.iter().zip(&from_prost) {
        same_batch(a, b)?;
    }
    let rows: usize = from_bytes.iter().map(RecordBatch::num_rows).sum();
    prop_assert_eq!(rows, decoded.iter().map(case.items).sum::<usize>());
    for batch in &from_bytes {
        prop_assert!(batch.num_rows() > 0);
        prop_assert!(batch.num_rows() <= limits.max_batch_rows());
    }
    let merged = (case.merge)(&decoded);
    if from_bytes.len() == 1 {
        assert_same(&merged, &(case.back)(&from_bytes[0]));
    }
    let read: Vec<Vec<u8>> = from_bytes
        .iter()
        .flat_map(|b| (case.flat)(&(case.back)(b)))
        .collect();
    prop_assert_eq!(read, (case.flat)(&merged));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn traces_bytes_equal_prost(
        reqs in vec(traces_request(), 1..4), seed in any::<u64>(), l in any::<u8>(), n in 1usize..6
    ) {
        check(&TRACES, &reqs, seed, limits(l, n))?;
    }

    #[test]
    fn metrics_bytes_equal_prost(
        reqs in vec(metrics_request(), 1..4), seed in any::<u64>(), l in any::<u8>(), n in 1usize..6
    ) {
        check(&METRICS, &reqs, seed, limits(l, n))?;
    }

    #[test]
    fn logs_bytes_equal_prost(
        reqs in vec(logs_request(), 1..4), seed in any::<u64>(), l in any::<u8>(), n in 1usize..6
    ) {
        check(&LOGS, &reqs, seed, limits(l, n))?;
    }
}

/// Corrupts `bytes` in one of several ways.
fn corrupt(bytes: &[u8], seed: u64) -> Vec<u8> {
    let mut rng = seed;
    let mut next = || {
        rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (rng >> 33) as usize
    };
    let mut out = bytes.to_vec();
    if out.is_empty() {
        return vec![0xff];
    }
    match next() % 4 {
        0 => out.truncate(next() % out.len()),
        1 => {
            let i = next() % out.len();
            out[i] ^= 1 << (next() % 8);
        }
        2 => {
            let i = next() % out.len();
            out[i] = [0x00, 0x07, 0x0c, 0xff, 0x80, 0xc0][next() % 6];
        }
        _ => {
            let i = next() % (out.len() + 1);
            out.splice(i..i, [0x80u8 | (next() as u8), next() as u8]);
        }
    }
    out
}

/// The bytes converter refuses what prost refuses, and agrees with it on what it accepts.
fn check_corrupt<M: Message + Default>(
    case: &Case<M>,
    req: &M,
    seed: u64,
) -> Result<(), TestCaseError> {
    let mut rng = Rng::new(seed);
    let bytes = convert_wire::mutate(
        &req.encode_to_vec(),
        (case.schema)(),
        &mut rng,
        &Mutations::SOME,
    );
    let bad = corrupt(&bytes, seed);
    let decoded = M::decode(bad.as_slice());
    let (from_bytes, results) = via_bytes(
        case.signal,
        std::slice::from_ref(&bad),
        BatchLimits::default(),
    );
    match decoded {
        Err(e) => {
            prop_assert!(
                results[0].is_err(),
                "prost refuses ({e}), bytes converter accepts"
            );
            prop_assert!(from_bytes.is_empty(), "a refused request leaves nothing");
        }
        Ok(m) => {
            prop_assert!(
                results[0].is_ok(),
                "prost accepts, bytes converter refuses: {:?}",
                results[0]
            );
            let from_prost = via_prost(case.signal, &[m], BatchLimits::default(), case.push);
            prop_assert_eq!(from_bytes.len(), from_prost.len());
            for (a, b) in from_bytes.iter().zip(&from_prost) {
                same_batch(a, b)?;
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn corrupted_traces_fail_like_prost(req in traces_request(), seed in any::<u64>()) {
        check_corrupt(&TRACES, &req, seed)?;
    }

    #[test]
    fn corrupted_metrics_fail_like_prost(req in metrics_request(), seed in any::<u64>()) {
        check_corrupt(&METRICS, &req, seed)?;
    }

    #[test]
    fn corrupted_logs_fail_like_prost(req in logs_request(), seed in any::<u64>()) {
        check_corrupt(&LOGS, &req, seed)?;
    }
}

/// A length-delimited field `number` holding `payload`.
fn len_field(number: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_len_field(&mut out, number, payload);
    out
}

/// A scope container whose `scope` and `schema_url` come after (and between) its spans (prost
/// writes `schema_url` after the items): every batch holds the container's final entry, the
/// merge of its `scope` occurrences and the last url, wherever the batch seams fall (1 to 6
/// rows per batch: before, between and after those fields), exactly as the prost converter.
#[test]
fn scope_and_schema_url_after_the_spans_reach_every_batch() {
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::trace::v1::Span;
    let span = |i: u8| Span {
        trace_id: vec![i; 16],
        span_id: vec![i; 8],
        name: format!("span-{i}"),
        ..Default::default()
    };
    let scope = |name: &str, version: &str| InstrumentationScope {
        name: name.into(),
        version: version.into(),
        ..Default::default()
    };
    // spans 1, 2; scope "a"; span 3; url "u1"; spans 4, 5; scope version "2"; url "u2"; span 6.
    let mut container = Vec::new();
    for i in 1..=2 {
        container.extend(len_field(2, &span(i).encode_to_vec()));
    }
    container.extend(len_field(1, &scope("a", "").encode_to_vec()));
    container.extend(len_field(2, &span(3).encode_to_vec()));
    container.extend(len_field(3, b"u1"));
    for i in 4..=5 {
        container.extend(len_field(2, &span(i).encode_to_vec()));
    }
    container.extend(len_field(1, &scope("", "2").encode_to_vec()));
    container.extend(len_field(3, b"u2"));
    container.extend(len_field(2, &span(6).encode_to_vec()));
    let request = len_field(1, &len_field(2, &container));
    let decoded = ExportTraceServiceRequest::decode(request.as_slice()).unwrap();
    let kept = &decoded.resource_spans[0].scope_spans[0];
    assert_eq!(kept.schema_url, "u2");
    assert_eq!(kept.scope, Some(scope("a", "2")));
    assert_eq!(kept.spans.len(), 6);
    for rows in 1..=6 {
        let limits = BatchLimits::builder().max_batch_rows(rows).build().unwrap();
        let (from_bytes, results) =
            via_bytes(Signal::Traces, std::slice::from_ref(&request), limits);
        assert_eq!(*results[0].as_ref().unwrap(), 6);
        let from_prost = via_prost(
            Signal::Traces,
            std::slice::from_ref(&decoded),
            limits,
            TRACES.push,
        );
        assert_eq!(from_bytes.len(), from_prost.len(), "{rows} rows per batch");
        for (a, b) in from_bytes.iter().zip(&from_prost) {
            same_batch(a, b).unwrap();
            let back = arrow_to_traces(a).unwrap();
            for ss in back.resource_spans.iter().flat_map(|rs| &rs.scope_spans) {
                assert_eq!(ss.schema_url, "u2", "{rows} rows per batch");
                assert_eq!(ss.scope, Some(scope("a", "2")), "{rows} rows per batch");
            }
        }
    }
}
