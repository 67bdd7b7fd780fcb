//! Traces: one row per span; events and links are nested lists of structs.
//!
//! Invariants: one pass over the request, appending straight into column builders (no row
//! structs); a null `status_code` / `status_message` means the span had no `status`.

use std::sync::Arc;

use arrow_array::builder::{Int32Builder, StringBuilder};
use arrow_array::{
    Array, ArrayRef, Int32Array, ListArray, RecordBatch, StringArray, StructArray, UInt32Array,
    UInt64Array,
};
use arrow_schema::DataType;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

use super::ConvertError;
use super::attributes::{AttributesBuilder, AttributesReader};
use super::columns::{ListShape, bounds, check_schema, child, column, list_values};
use super::ids::{append_hex, decode_hex};
use super::resource::{Context, ResourceScopeBuilder, ResourceScopeReader, index};
use super::schema::{event_fields, item, link_fields, schema};
use crate::Signal;

/// Converts a trace export request into one `RecordBatch` of [`schema`]`(Signal::Traces)`,
/// one row per span.
///
/// ```
/// use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
/// use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
/// use otlp_spool_storage::{arrow_to_traces, traces_to_arrow};
///
/// let span = Span { trace_id: vec![0xab; 16], span_id: vec![1; 8], name: "GET /".into(), ..Default::default() };
/// let scope_spans = vec![ScopeSpans { spans: vec![span], ..Default::default() }];
/// let req = ExportTraceServiceRequest {
///     resource_spans: vec![ResourceSpans { scope_spans, ..Default::default() }],
/// };
/// let batch = traces_to_arrow(&req)?;
/// assert_eq!(batch.num_rows(), 1);
/// assert_eq!(arrow_to_traces(&batch)?, req);
/// # Ok::<(), otlp_spool_storage::ConvertError>(())
/// ```
pub fn traces_to_arrow(req: &ExportTraceServiceRequest) -> Result<RecordBatch, ConvertError> {
    let rows: usize = req
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    let mut b = SpanColumns::with_capacity(rows);
    for (ri, rs) in req.resource_spans.iter().enumerate() {
        let resource_index = index(ri, "resource_index")?;
        for (si, ss) in rs.scope_spans.iter().enumerate() {
            let cx = Context {
                resource_index,
                resource: rs.resource.as_ref(),
                resource_schema_url: &rs.schema_url,
                scope_index: index(si, "scope_index")?,
                scope: ss.scope.as_ref(),
                scope_schema_url: &ss.schema_url,
            };
            for span in &ss.spans {
                b.rs.append(&cx);
                b.append(span);
            }
        }
    }
    b.finish()
}

#[derive(Debug)]
struct SpanColumns {
    rs: ResourceScopeBuilder,
    trace_id: StringBuilder,
    span_id: StringBuilder,
    trace_state: StringBuilder,
    parent_span_id: StringBuilder,
    flags: Vec<u32>,
    name: StringBuilder,
    kind: Vec<i32>,
    start_time_unix_nano: Vec<u64>,
    end_time_unix_nano: Vec<u64>,
    attributes: AttributesBuilder,
    dropped_attributes_count: Vec<u32>,
    events: EventsBuilder,
    dropped_events_count: Vec<u32>,
    links: LinksBuilder,
    dropped_links_count: Vec<u32>,
    status_code: Int32Builder,
    status_message: StringBuilder,
}

impl SpanColumns {
    fn with_capacity(rows: usize) -> Self {
        Self {
            rs: ResourceScopeBuilder::with_capacity(rows),
            trace_id: StringBuilder::with_capacity(rows, rows * 32),
            span_id: StringBuilder::with_capacity(rows, rows * 16),
            trace_state: StringBuilder::with_capacity(rows, 0),
            parent_span_id: StringBuilder::with_capacity(rows, rows * 16),
            flags: Vec::with_capacity(rows),
            name: StringBuilder::with_capacity(rows, rows * 16),
            kind: Vec::with_capacity(rows),
            start_time_unix_nano: Vec::with_capacity(rows),
            end_time_unix_nano: Vec::with_capacity(rows),
            attributes: AttributesBuilder::with_capacity(rows, rows * 10),
            dropped_attributes_count: Vec::with_capacity(rows),
            events: EventsBuilder::with_capacity(rows),
            dropped_events_count: Vec::with_capacity(rows),
            links: LinksBuilder::with_capacity(rows),
            dropped_links_count: Vec::with_capacity(rows),
            status_code: Int32Builder::with_capacity(rows),
            status_message: StringBuilder::with_capacity(rows, 0),
        }
    }

    #[inline]
    fn append(&mut self, span: &Span) {
        append_hex(&mut self.trace_id, &span.trace_id);
        append_hex(&mut self.span_id, &span.span_id);
        self.trace_state.append_value(&span.trace_state);
        append_hex(&mut self.parent_span_id, &span.parent_span_id);
        self.flags.push(span.flags);
        self.name.append_value(&span.name);
        self.kind.push(span.kind);
        self.start_time_unix_nano.push(span.start_time_unix_nano);
        self.end_time_unix_nano.push(span.end_time_unix_nano);
        self.attributes.append(&span.attributes);
        self.dropped_attributes_count
            .push(span.dropped_attributes_count);
        self.events.append(&span.events);
        self.dropped_events_count.push(span.dropped_events_count);
        self.links.append(&span.links);
        self.dropped_links_count.push(span.dropped_links_count);
        match &span.status {
            Some(status) => {
                self.status_code.append_value(status.code);
                self.status_message.append_value(&status.message);
            }
            None => {
                self.status_code.append_null();
                self.status_message.append_null();
            }
        }
    }

    fn finish(mut self) -> Result<RecordBatch, ConvertError> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(28);
        self.rs.finish(&mut columns)?;
        columns.push(Arc::new(self.trace_id.finish()));
        columns.push(Arc::new(self.span_id.finish()));
        columns.push(Arc::new(self.trace_state.finish()));
        columns.push(Arc::new(self.parent_span_id.finish()));
        columns.push(Arc::new(UInt32Array::from(self.flags)));
        columns.push(Arc::new(self.name.finish()));
        columns.push(Arc::new(Int32Array::from(self.kind)));
        columns.push(Arc::new(UInt64Array::from(self.start_time_unix_nano)));
        columns.push(Arc::new(UInt64Array::from(self.end_time_unix_nano)));
        columns.push(Arc::new(self.attributes.finish("attributes")?));
        columns.push(Arc::new(UInt32Array::from(self.dropped_attributes_count)));
        columns.push(Arc::new(self.events.finish()?));
        columns.push(Arc::new(UInt32Array::from(self.dropped_events_count)));
        columns.push(Arc::new(self.links.finish()?));
        columns.push(Arc::new(UInt32Array::from(self.dropped_links_count)));
        columns.push(Arc::new(self.status_code.finish()));
        columns.push(Arc::new(self.status_message.finish()));
        RecordBatch::try_new(schema(Signal::Traces), columns).map_err(|source| {
            ConvertError::Arrow {
                column: "traces batch".to_string(),
                source,
            }
        })
    }
}

#[derive(Debug)]
struct EventsBuilder {
    shape: ListShape,
    time_unix_nano: Vec<u64>,
    name: StringBuilder,
    attributes: AttributesBuilder,
    dropped_attributes_count: Vec<u32>,
}

impl EventsBuilder {
    fn with_capacity(rows: usize) -> Self {
        Self {
            shape: ListShape::with_capacity(rows),
            time_unix_nano: Vec::new(),
            name: StringBuilder::new(),
            attributes: AttributesBuilder::with_capacity(0, 0),
            dropped_attributes_count: Vec::new(),
        }
    }

    #[inline]
    fn append(&mut self, events: &[Event]) {
        for e in events {
            self.time_unix_nano.push(e.time_unix_nano);
            self.name.append_value(&e.name);
            self.attributes.append(&e.attributes);
            self.dropped_attributes_count
                .push(e.dropped_attributes_count);
        }
        self.shape.close(self.time_unix_nano.len());
    }

    fn finish(&mut self) -> Result<ListArray, ConvertError> {
        const COLUMN: &str = "events";
        let children: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from(std::mem::take(&mut self.time_unix_nano))),
            Arc::new(self.name.finish()),
            Arc::new(self.attributes.finish("events.attributes")?),
            Arc::new(UInt32Array::from(std::mem::take(
                &mut self.dropped_attributes_count,
            ))),
        ];
        let entries = StructArray::try_new(event_fields(), children, None)
            .map_err(|source| arrow(COLUMN, source))?;
        self.shape.finish(
            item(DataType::Struct(event_fields())),
            Arc::new(entries),
            COLUMN,
        )
    }
}

#[derive(Debug)]
struct LinksBuilder {
    shape: ListShape,
    trace_id: StringBuilder,
    span_id: StringBuilder,
    trace_state: StringBuilder,
    attributes: AttributesBuilder,
    dropped_attributes_count: Vec<u32>,
    flags: Vec<u32>,
}

impl LinksBuilder {
    fn with_capacity(rows: usize) -> Self {
        Self {
            shape: ListShape::with_capacity(rows),
            trace_id: StringBuilder::new(),
            span_id: StringBuilder::new(),
            trace_state: StringBuilder::new(),
            attributes: AttributesBuilder::with_capacity(0, 0),
            dropped_attributes_count: Vec::new(),
            flags: Vec::new(),
        }
    }

    #[inline]
    fn append(&mut self, links: &[Link]) {
        for l in links {
            append_hex(&mut self.trace_id, &l.trace_id);
            append_hex(&mut self.span_id, &l.span_id);
            self.trace_state.append_value(&l.trace_state);
            self.attributes.append(&l.attributes);
            self.dropped_attributes_count
                .push(l.dropped_attributes_count);
            self.flags.push(l.flags);
        }
        self.shape.close(self.flags.len());
    }

    fn finish(&mut self) -> Result<ListArray, ConvertError> {
        const COLUMN: &str = "links";
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.trace_id.finish()),
            Arc::new(self.span_id.finish()),
            Arc::new(self.trace_state.finish()),
            Arc::new(self.attributes.finish("links.attributes")?),
            Arc::new(UInt32Array::from(std::mem::take(
                &mut self.dropped_attributes_count,
            ))),
            Arc::new(UInt32Array::from(std::mem::take(&mut self.flags))),
        ];
        let entries = StructArray::try_new(link_fields(), children, None)
            .map_err(|source| arrow(COLUMN, source))?;
        self.shape.finish(
            item(DataType::Struct(link_fields())),
            Arc::new(entries),
            COLUMN,
        )
    }
}

fn arrow(column: &str, source: arrow_schema::ArrowError) -> ConvertError {
    ConvertError::Arrow {
        column: column.to_string(),
        source,
    }
}

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
                schema_url: r.rs.resource_schema_url(row),
            });
        }
        let resource = out.resource_spans.last_mut();
        let Some(resource) = resource else { continue };
        if new_resource || prev.is_some_and(|(_, ps)| ps != si) {
            resource.scope_spans.push(ScopeSpans {
                scope: r.rs.scope(row)?,
                spans: Vec::new(),
                schema_url: r.rs.scope_schema_url(row),
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
