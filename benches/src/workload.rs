//! Realistic OTLP trace requests, encoded once and handed out with fresh ids.
//!
//! Invariants:
//! - Every id (trace, span, parent span) of a request starts with a 4-byte *tag*. A template
//!   records the byte offsets of its tag in the encoded body; handing a body out copies the
//!   template and overwrites the tag at those offsets with one derived from a send counter (a
//!   bijection of `u32`). So no two bodies handed out share an id (until 2^32 sends) and no
//!   encoding happens on the send path: one `memcpy` and a few hundred 4-byte writes.
//! - The ids stay consistent inside a request: parents point at spans of the same request.
//! - No clock is read here: the caller passes the base timestamp.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value::Value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};
use prost::Message;

/// Attributes on every generated span.
pub const ATTRIBUTES_PER_SPAN: usize = 10;
/// Spans of one trace inside a request (the first is the root, the others its children).
pub const SPANS_PER_TRACE: usize = 8;

const ROUTES: [&str; 4] = ["/orders/{id}", "/users/{id}", "/cart", "/search"];
const METHODS: [&str; 3] = ["GET", "POST", "PUT"];

/// A pool of pre-encoded `ExportTraceServiceRequest` bodies; see the module docs.
#[derive(Debug)]
pub struct RequestPool {
    templates: Vec<Template>,
    spans_per_request: usize,
    sent: AtomicU64,
}

#[derive(Debug)]
struct Template {
    bytes: Vec<u8>,
    tag_offsets: Vec<usize>,
}

impl RequestPool {
    /// `templates` distinct requests of `spans_per_request` spans each, timestamps starting at
    /// `base_time_unix_nano`. At most 65 535 templates and 65 535 spans per request.
    pub fn new(templates: usize, spans_per_request: usize, base_time_unix_nano: u64) -> Self {
        let templates = templates.clamp(1, u16::MAX as usize);
        let spans_per_request = spans_per_request.clamp(1, u16::MAX as usize);
        let templates = (0..templates)
            .map(|t| Template::new(t as u16, spans_per_request, base_time_unix_nano))
            .collect();
        Self {
            templates,
            spans_per_request,
            sent: AtomicU64::new(0),
        }
    }

    /// Spans in every request.
    pub fn spans_per_request(&self) -> usize {
        self.spans_per_request
    }

    /// Number of distinct templates.
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    /// Always false: a pool holds at least one template.
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }

    /// Mean encoded size of a request body in bytes.
    pub fn mean_body_bytes(&self) -> f64 {
        let total: usize = self.templates.iter().map(|t| t.bytes.len()).sum();
        total as f64 / self.templates.len() as f64
    }

    /// The template bodies as they are (ids repeat between calls): for in-process benches.
    pub fn template_bodies(&self) -> impl Iterator<Item = &[u8]> {
        self.templates.iter().map(|t| t.bytes.as_slice())
    }

    /// The next body to send, with ids never handed out before, and its span count.
    pub fn next_body(&self) -> (Bytes, usize) {
        let n = self.sent.fetch_add(1, Ordering::Relaxed);
        let template = &self.templates[(n % self.templates.len() as u64) as usize];
        let mut bytes = template.bytes.clone();
        let tag = send_tag(n);
        for &offset in &template.tag_offsets {
            bytes[offset..offset + 4].copy_from_slice(&tag);
        }
        (Bytes::from(bytes), self.spans_per_request)
    }
}

/// A bijection of the low 32 bits of `n`, so consecutive sends get unrelated-looking tags.
fn send_tag(n: u64) -> [u8; 4] {
    let x = (n as u32).wrapping_mul(0x9E37_79B1) ^ 0x5bd1_e995;
    x.to_be_bytes()
}

impl Template {
    fn new(index: u16, spans: usize, base_time_unix_nano: u64) -> Self {
        // Pick a tag that does not occur by accident elsewhere in the body; a few tries at most.
        for attempt in 0u32.. {
            let seed = (u32::from(index) << 8) ^ attempt;
            let tag = seed.wrapping_mul(0x85EB_CA6B).rotate_left(13) ^ 0xC2B2_AE35;
            let tag = tag.to_be_bytes();
            let request = build_request(index, spans, base_time_unix_nano, tag);
            let bytes = request.encode_to_vec();
            let ids = ids_in(&request);
            let tag_offsets: Vec<usize> = bytes
                .windows(4)
                .enumerate()
                .filter(|(_, w)| *w == tag)
                .map(|(i, _)| i)
                .collect();
            if tag_offsets.len() == ids {
                return Self { bytes, tag_offsets };
            }
        }
        unreachable!("the loop above returns")
    }
}

fn ids_in(request: &ExportTraceServiceRequest) -> usize {
    request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .map(|s| 2 + usize::from(!s.parent_span_id.is_empty()))
        .sum()
}

fn string(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

fn boolean(key: &str, value: bool) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::BoolValue(value)),
        }),
        ..Default::default()
    }
}

fn double(key: &str, value: f64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(Value::DoubleValue(value)),
        }),
        ..Default::default()
    }
}

/// One request of `spans` spans (traces of [`SPANS_PER_TRACE`] spans), 10 attributes per span,
/// about 300 bytes per encoded span. Every id starts with `tag`; `template` keeps ids of
/// different templates apart.
pub fn build_request(
    template: u16,
    spans: usize,
    base_time_unix_nano: u64,
    tag: [u8; 4],
) -> ExportTraceServiceRequest {
    let mut out = Vec::with_capacity(spans);
    let mut trace_id = Vec::new();
    let mut root_id = Vec::new();
    for i in 0..spans {
        let trace = i / SPANS_PER_TRACE;
        let mut span_id = Vec::with_capacity(8);
        span_id.extend_from_slice(&tag);
        span_id.extend_from_slice(&template.to_be_bytes());
        span_id.extend_from_slice(&(i as u16).to_be_bytes());
        let root = i % SPANS_PER_TRACE == 0;
        if root {
            trace_id = Vec::with_capacity(16);
            trace_id.extend_from_slice(&tag);
            trace_id.extend_from_slice(&u32::from(template).to_be_bytes());
            trace_id.extend_from_slice(&(trace as u32).to_be_bytes());
            trace_id.extend_from_slice(&[0x5a, 0x17, 0x0e, 0x42]);
            root_id = span_id.clone();
        }
        let k = i + usize::from(template) * 7;
        let route = ROUTES[k % ROUTES.len()];
        let method = METHODS[k % METHODS.len()];
        let status = if k % 50 == 0 { 500 } else { 200 };
        let start = base_time_unix_nano + (trace as u64) * 5_000_000 + (i as u64) * 10_000;
        let duration = 150_000 + (k as u64 % 97) * 13_000;
        out.push(Span {
            trace_id: trace_id.clone(),
            span_id: span_id.clone(),
            trace_state: String::new(),
            parent_span_id: if root { Vec::new() } else { root_id.clone() },
            flags: 1,
            name: format!("{method} {route}"),
            kind: if root {
                span::SpanKind::Server as i32
            } else {
                span::SpanKind::Client as i32
            },
            start_time_unix_nano: start,
            end_time_unix_nano: start + duration,
            attributes: vec![
                string("http.method", method),
                string("http.route", route),
                string("http.target", format!("/orders/{}", 10_000 + k * 31)),
                int("http.status_code", status),
                string("net.host", "svc-1"),
                int("server.port", 8080),
                string("peer.service", "inventory"),
                int("thread.id", (k % 64) as i64),
                boolean("cache.hit", k % 3 == 0),
                double("items", (k % 17) as f64 * 1.5),
            ],
            dropped_attributes_count: 0,
            events: Vec::new(),
            dropped_events_count: 0,
            links: Vec::new(),
            dropped_links_count: 0,
            status: Some(Status {
                message: String::new(),
                code: if status == 500 { 2 } else { 1 },
            }),
        });
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    string("service.name", "checkout"),
                    string("service.version", "1.4.2"),
                    string("host.name", format!("node-{}", template % 16)),
                ],
                dropped_attributes_count: 0,
                entity_refs: Vec::new(),
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "otlp-spool-loadgen".into(),
                    version: "0.1.0".into(),
                    attributes: Vec::new(),
                    dropped_attributes_count: 0,
                }),
                spans: out,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn bodies_have_realistic_spans_and_fresh_ids() {
        let pool = RequestPool::new(2, 64, 1_000);
        let per_span = pool.mean_body_bytes() / 64.0;
        assert!((250.0..=350.0).contains(&per_span), "{per_span} bytes/span");
        let mut seen = HashSet::new();
        for _ in 0..6 {
            let (body, spans) = pool.next_body();
            let request = ExportTraceServiceRequest::decode(body).unwrap();
            let all: Vec<&Span> = request.resource_spans[0].scope_spans[0]
                .spans
                .iter()
                .collect();
            assert_eq!(all.len(), spans);
            for s in &all {
                assert_eq!(s.attributes.len(), ATTRIBUTES_PER_SPAN);
                assert!(seen.insert(s.span_id.clone()), "span id repeated");
                if !s.parent_span_id.is_empty() {
                    assert!(all.iter().any(|p| p.span_id == s.parent_span_id));
                    assert!(all.iter().any(|p| p.trace_id == s.trace_id));
                }
            }
        }
    }
}
