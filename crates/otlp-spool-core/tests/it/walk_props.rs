//! The walker against prost on generated requests of all three signals, mutated: walker
//! accepts => prost decodes (to exactly the walker's output after validation, same item and
//! refused counts); prost refuses => walker refuses. Also: on unmutated requests, the
//! [`WireStats`] equal the same figures counted on the decoded prost structs.

use std::cell::RefCell;

use bytes::Bytes;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::resource::v1::Resource;
use otlp_spool_core::wire::{WalkLimits, WireStats, walk};
use otlp_spool_core::{ExportRequest, Signal};
use proptest::collection::vec;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::oracle::{self, Outcome};
use crate::walk_gen::request;
use crate::walk_mutate::{mutate, mutation};

/// Runs `cases` mutated requests of `signal` through the oracle and checks that the
/// outcomes are varied enough for the property to mean something.
fn differential(signal: Signal, cases: u32) {
    let outcomes = RefCell::new((0u32, 0u32, 0u32, 0u32)); // accepted, with refusals, refused, too deep
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (request(signal), vec(mutation(), 0..4));
    runner
        .run(&strategy, |(bytes, mutations)| {
            let input = mutate(&bytes, &mutations);
            let outcome = oracle::check(signal, &input, &WalkLimits::default())
                .map_err(|e| TestCaseError::fail(format!("{e}\ninput {input:02x?}")))?;
            let mut o = outcomes.borrow_mut();
            match outcome {
                Outcome::Accepted { refused } => {
                    o.0 += 1;
                    o.1 += u32::from(refused > 0);
                }
                Outcome::BothRefused => o.2 += 1,
                Outcome::TooDeep => o.3 += 1,
            }
            Ok(())
        })
        .unwrap();
    let (accepted, with_refusals, refused, too_deep) = outcomes.into_inner();
    eprintln!(
        "{signal}: {accepted} accepted ({with_refusals} with refused items), {refused} refused by both, {too_deep} too deep"
    );
    assert!(accepted >= cases / 3, "too few accepted cases: {accepted}");
    assert!(refused >= cases / 20, "too few refused cases: {refused}");
    if signal != Signal::Metrics {
        assert!(
            with_refusals >= cases / 30,
            "too few partial refusals: {with_refusals}"
        );
    }
    assert_eq!(too_deep, 0, "generated values nest only a few levels");
}

#[test]
fn traces_agree_with_prost() {
    differential(Signal::Traces, 1500);
}

#[test]
fn metrics_agree_with_prost() {
    differential(Signal::Metrics, 1500);
}

#[test]
fn logs_agree_with_prost() {
    differential(Signal::Logs, 1500);
}

/// The figures of [`WireStats`], counted on decoded structs.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counted {
    resources: u64,
    scopes: u64,
    metrics: u64,
    key_values: u64,
    array_values: u64,
    events: u64,
    links: u64,
    exemplars: u64,
    buckets: u64,
    string_bytes: u64,
    bytes_bytes: u64,
    max_value_depth: u32,
}

impl Counted {
    fn of_stats(s: &WireStats) -> Counted {
        Counted {
            resources: s.resources,
            scopes: s.scopes,
            metrics: s.metrics,
            key_values: s.key_values,
            array_values: s.array_values,
            events: s.events,
            links: s.links,
            exemplars: s.exemplars,
            buckets: s.buckets,
            string_bytes: s.string_bytes,
            bytes_bytes: s.bytes_bytes,
            max_value_depth: s.max_value_depth,
        }
    }

    fn strings<'a>(&mut self, strings: impl IntoIterator<Item = &'a String>) {
        self.string_bytes += strings.into_iter().map(|s| s.len() as u64).sum::<u64>();
    }

    fn bytes<'a>(&mut self, fields: impl IntoIterator<Item = &'a Vec<u8>>) {
        self.bytes_bytes += fields.into_iter().map(|b| b.len() as u64).sum::<u64>();
    }

    fn attributes(&mut self, kvs: &[KeyValue], level: u32) {
        for kv in kvs {
            self.key_values += 1;
            self.strings([&kv.key]);
            if let Some(v) = &kv.value {
                self.value(v, level);
            }
        }
    }

    fn value(&mut self, v: &AnyValue, level: u32) {
        use any_value::Value as V;
        self.max_value_depth = self.max_value_depth.max(level);
        match &v.value {
            Some(V::StringValue(s)) => self.strings([s]),
            Some(V::BytesValue(b)) => self.bytes([b]),
            Some(V::ArrayValue(a)) => {
                for inner in &a.values {
                    self.array_values += 1;
                    self.value(inner, level + 1);
                }
            }
            Some(V::KvlistValue(l)) => self.attributes(&l.values, level + 1),
            _ => {}
        }
    }

    /// Counts the envelope levels every signal shares, and each item with `item`.
    fn envelope<'a, R, S: 'a, I: 'a>(
        &mut self,
        resources: &'a [R],
        resource_parts: impl Fn(&'a R) -> (Option<&'a Resource>, &'a [S], &'a String),
        scope_parts: impl Fn(&'a S) -> (Option<&'a InstrumentationScope>, &'a [I], &'a String),
        mut item: impl FnMut(&mut Self, &'a I),
    ) {
        for entry in resources {
            let (resource, scopes, schema_url) = resource_parts(entry);
            self.resources += 1;
            self.strings([schema_url]);
            if let Some(r) = resource {
                self.attributes(&r.attributes, 1);
                for e in &r.entity_refs {
                    self.strings([&e.schema_url, &e.r#type]);
                    self.strings(e.id_keys.iter().chain(&e.description_keys));
                }
            }
            for entry in scopes {
                let (scope, items, schema_url) = scope_parts(entry);
                self.scopes += 1;
                self.strings([schema_url]);
                if let Some(s) = scope {
                    self.strings([&s.name, &s.version]);
                    self.attributes(&s.attributes, 1);
                }
                for i in items {
                    item(self, i);
                }
            }
        }
    }

    fn of(telemetry: &ExportRequest) -> Counted {
        let mut c = Counted::default();
        match telemetry {
            ExportRequest::Traces(r) => c.envelope(
                &r.resource_spans,
                |r| (r.resource.as_ref(), &r.scope_spans, &r.schema_url),
                |s| (s.scope.as_ref(), &s.spans, &s.schema_url),
                |c, s| {
                    c.strings([&s.name, &s.trace_state]);
                    c.bytes([&s.trace_id, &s.span_id, &s.parent_span_id]);
                    c.attributes(&s.attributes, 1);
                    if let Some(st) = &s.status {
                        c.strings([&st.message]);
                    }
                    for e in &s.events {
                        c.events += 1;
                        c.strings([&e.name]);
                        c.attributes(&e.attributes, 1);
                    }
                    for l in &s.links {
                        c.links += 1;
                        c.strings([&l.trace_state]);
                        c.bytes([&l.trace_id, &l.span_id]);
                        c.attributes(&l.attributes, 1);
                    }
                },
            ),
            ExportRequest::Logs(r) => c.envelope(
                &r.resource_logs,
                |r| (r.resource.as_ref(), &r.scope_logs, &r.schema_url),
                |s| (s.scope.as_ref(), &s.log_records, &s.schema_url),
                |c, l| {
                    c.strings([&l.severity_text, &l.event_name]);
                    c.bytes([&l.trace_id, &l.span_id]);
                    c.attributes(&l.attributes, 1);
                    if let Some(b) = &l.body {
                        c.value(b, 1);
                    }
                },
            ),
            ExportRequest::Metrics(r) => c.envelope(
                &r.resource_metrics,
                |r| (r.resource.as_ref(), &r.scope_metrics, &r.schema_url),
                |s| (s.scope.as_ref(), &s.metrics, &s.schema_url),
                |c, m| {
                    c.metrics += 1;
                    c.strings([&m.name, &m.description, &m.unit]);
                    c.attributes(&m.metadata, 1);
                    c.data(m.data.as_ref());
                },
            ),
        }
        c
    }

    fn exemplars(&mut self, exemplars: &[opentelemetry_proto::tonic::metrics::v1::Exemplar]) {
        for e in exemplars {
            self.exemplars += 1;
            self.bytes([&e.trace_id, &e.span_id]);
            self.attributes(&e.filtered_attributes, 1);
        }
    }

    fn data(&mut self, data: Option<&Data>) {
        match data {
            Some(Data::Gauge(g)) => {
                for p in &g.data_points {
                    self.attributes(&p.attributes, 1);
                    self.exemplars(&p.exemplars);
                }
            }
            Some(Data::Sum(s)) => {
                for p in &s.data_points {
                    self.attributes(&p.attributes, 1);
                    self.exemplars(&p.exemplars);
                }
            }
            Some(Data::Histogram(h)) => {
                for p in &h.data_points {
                    self.attributes(&p.attributes, 1);
                    self.exemplars(&p.exemplars);
                    self.buckets += (p.bucket_counts.len() + p.explicit_bounds.len()) as u64;
                }
            }
            Some(Data::ExponentialHistogram(h)) => {
                for p in &h.data_points {
                    self.attributes(&p.attributes, 1);
                    self.exemplars(&p.exemplars);
                    for b in p.positive.iter().chain(&p.negative) {
                        self.buckets += b.bucket_counts.len() as u64;
                    }
                }
            }
            Some(Data::Summary(s)) => {
                for p in &s.data_points {
                    self.attributes(&p.attributes, 1);
                    self.buckets += p.quantile_values.len() as u64;
                }
            }
            None => {}
        }
    }
}

#[test]
fn stats_match_the_decoded_request() {
    for signal in Signal::ALL {
        let mut runner = TestRunner::new(Config {
            cases: 300,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&request(signal), |bytes| {
                let walked = walk(signal, Bytes::from(bytes), &WalkLimits::default())
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let decoded = oracle::decode(signal, &walked.bytes).unwrap();
                proptest::prop_assert_eq!(Counted::of_stats(&walked.stats), Counted::of(&decoded));
                Ok(())
            })
            .unwrap();
    }
}
