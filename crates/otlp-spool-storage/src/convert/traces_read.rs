//! Traces, Arrow -> OTLP: rows regrouped into resource and scope containers by their index
//! columns.

use arrow_array::{
    Array, Int32Array, ListArray, RecordBatch, StringArray, StructArray, UInt32Array, UInt64Array,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

use super::ConvertError;
use super::attributes::AttributesReader;
use super::columns::{bounds, check_schema, child, column, list_values};
use super::ids::decode_hex;
use super::resource::ResourceScopeReader;
#[cfg(doc)]
use super::{schema::schema, traces::traces_to_arrow};
use crate::Signal;

/// Converts a batch of [`schema`]`(Signal::Traces)` back into a trace export request.
///
/// Rows are regrouped by `resource_index` / `scope_index` runs, so a batch produced by
/// [`traces_to_arrow`] gives back an equal request (see the crate README for the limits).
pub fn arrow_to_traces(batch: &RecordBatch) -> Result<ExportTraceServiceRequest, ConvertError> {
    check_schema(batch, Signal::Traces)?;
    let r = SpanReader::new(batch)?;
    let mut out = ExportTraceServiceRequest::default();
    let mut prev: Option<(u32, u32)> = None;
    for row in 0..batch.num_rows() {
        let (ri, si) = r.rs.indices(row);
        let new_resource = prev.is_none_or(|(pr, _)| pr != ri);
        if new_resource {
            out.resource_spans.push(ResourceSpans {
                resource: r.rs.resource(row)?,
                scope_spans: Vec::new(),
                schema_url: r.rs.resource_schema_url(row)?,
            });
        }
        let resource = out.resource_spans.last_mut();
        let Some(resource) = resource else { continue };
        if new_resource || prev.is_some_and(|(_, ps)| ps != si) {
            resource.scope_spans.push(ScopeSpans {
                scope: r.rs.scope(row)?,
                spans: Vec::new(),
                schema_url: r.rs.scope_schema_url(row)?,
            });
        }
        prev = Some((ri, si));
        if let Some(scope) = resource.scope_spans.last_mut() {
            scope.spans.push(r.span(row)?);
        }
    }
    Ok(out)
}

#[derive(Debug)]
struct SpanReader<'a> {
    rs: ResourceScopeReader<'a>,
    trace_id: &'a StringArray,
    span_id: &'a StringArray,
    trace_state: &'a StringArray,
    parent_span_id: &'a StringArray,
    flags: &'a UInt32Array,
    name: &'a StringArray,
    kind: &'a Int32Array,
    start_time_unix_nano: &'a UInt64Array,
    end_time_unix_nano: &'a UInt64Array,
    attributes: AttributesReader<'a>,
    dropped_attributes_count: &'a UInt32Array,
    events: &'a ListArray,
    event_time: &'a UInt64Array,
    event_name: &'a StringArray,
    event_attributes: AttributesReader<'a>,
    event_dropped: &'a UInt32Array,
    dropped_events_count: &'a UInt32Array,
    links: &'a ListArray,
    link_trace_id: &'a StringArray,
    link_span_id: &'a StringArray,
    link_trace_state: &'a StringArray,
    link_attributes: AttributesReader<'a>,
    link_dropped: &'a UInt32Array,
    link_flags: &'a UInt32Array,
    dropped_links_count: &'a UInt32Array,
    status_code: &'a Int32Array,
    status_message: &'a StringArray,
}

impl<'a> SpanReader<'a> {
    fn new(batch: &'a RecordBatch) -> Result<Self, ConvertError> {
        let events: &ListArray = column(batch, "events")?;
        let ev: &StructArray = list_values(events, "events")?;
        let links: &ListArray = column(batch, "links")?;
        let lk: &StructArray = list_values(links, "links")?;
        Ok(Self {
            rs: ResourceScopeReader::new(batch)?,
            trace_id: column(batch, "trace_id")?,
            span_id: column(batch, "span_id")?,
            trace_state: column(batch, "trace_state")?,
            parent_span_id: column(batch, "parent_span_id")?,
            flags: column(batch, "flags")?,
            name: column(batch, "name")?,
            kind: column(batch, "kind")?,
            start_time_unix_nano: column(batch, "start_time_unix_nano")?,
            end_time_unix_nano: column(batch, "end_time_unix_nano")?,
            attributes: AttributesReader::new(column(batch, "attributes")?, "attributes")?,
            dropped_attributes_count: column(batch, "dropped_attributes_count")?,
            events,
            event_time: child(ev, "time_unix_nano", "events")?,
            event_name: child(ev, "name", "events")?,
            event_attributes: AttributesReader::new(
                child(ev, "attributes", "events")?,
                "events.attributes",
            )?,
            event_dropped: child(ev, "dropped_attributes_count", "events")?,
            dropped_events_count: column(batch, "dropped_events_count")?,
            links,
            link_trace_id: child(lk, "trace_id", "links")?,
            link_span_id: child(lk, "span_id", "links")?,
            link_trace_state: child(lk, "trace_state", "links")?,
            link_attributes: AttributesReader::new(
                child(lk, "attributes", "links")?,
                "links.attributes",
            )?,
            link_dropped: child(lk, "dropped_attributes_count", "links")?,
            link_flags: child(lk, "flags", "links")?,
            dropped_links_count: column(batch, "dropped_links_count")?,
            status_code: column(batch, "status_code")?,
            status_message: column(batch, "status_message")?,
        })
    }

    fn span(&self, row: usize) -> Result<Span, ConvertError> {
        let mut events = Vec::new();
        for e in bounds(self.events, row) {
            events.push(Event {
                time_unix_nano: self.event_time.value(e),
                name: self.event_name.value(e).to_string(),
                attributes: self.event_attributes.get(e)?,
                dropped_attributes_count: self.event_dropped.value(e),
            });
        }
        let mut links = Vec::new();
        for l in bounds(self.links, row) {
            links.push(Link {
                trace_id: decode_hex(self.link_trace_id.value(l), "links.trace_id", l)?,
                span_id: decode_hex(self.link_span_id.value(l), "links.span_id", l)?,
                trace_state: self.link_trace_state.value(l).to_string(),
                attributes: self.link_attributes.get(l)?,
                dropped_attributes_count: self.link_dropped.value(l),
                flags: self.link_flags.value(l),
            });
        }
        let status = if self.status_code.is_null(row) {
            None
        } else {
            Some(Status {
                message: self.status_message.value(row).to_string(),
                code: self.status_code.value(row),
            })
        };
        Ok(Span {
            trace_id: decode_hex(self.trace_id.value(row), "trace_id", row)?,
            span_id: decode_hex(self.span_id.value(row), "span_id", row)?,
            trace_state: self.trace_state.value(row).to_string(),
            parent_span_id: decode_hex(self.parent_span_id.value(row), "parent_span_id", row)?,
            flags: self.flags.value(row),
            name: self.name.value(row).to_string(),
            kind: self.kind.value(row),
            start_time_unix_nano: self.start_time_unix_nano.value(row),
            end_time_unix_nano: self.end_time_unix_nano.value(row),
            attributes: self.attributes.get(row)?,
            dropped_attributes_count: self.dropped_attributes_count.value(row),
            events,
            dropped_events_count: self.dropped_events_count.value(row),
            links,
            dropped_links_count: self.dropped_links_count.value(row),
            status,
        })
    }
}
