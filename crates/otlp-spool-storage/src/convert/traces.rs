//! Traces, OTLP -> Arrow: one row per span; events and links are nested lists of structs.
//!
//! Invariants: `SpanColumns` is the one set of trace column builders; the prost converter here
//! and the bytes converter (`wire::traces`) both append into it, row by row, so they build
//! the same batches. A null `status_code` / `status_message` means the span had no `status`.

use std::sync::Arc;

use arrow_array::types::{Int32Type, UInt32Type, UInt64Type};
use arrow_array::{ArrayRef, RecordBatch, StructArray};
use arrow_schema::DataType;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::Link;

use super::ConvertError;
use super::attributes::AttributesBuilder;
use super::batch::{Batcher, Checkpoint, Columns, Context, Sink};
use super::columns::{ByteColumn, ListShape, Nullable, Text, arrow, finish_vec, vec_bytes};
use super::resource::{Leading, ResourceScopeBuilder, index};
use super::schema::{event_fields, item, link_fields, schema};
use crate::Signal;
#[cfg(doc)]
use crate::arrow_to_traces;

/// Converts a trace export request into one `RecordBatch` of [`schema`]`(Signal::Traces)`,
/// one row per span (no batch limits: see [`Converter`](crate::Converter) for bounded
/// batches).
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
    super::converter::one_batch(Signal::Traces, |c, sink| c.push_traces(req, sink))
}

/// Appends the spans of `req` (prost form), row by row.
pub(crate) fn push_request(
    b: &mut Batcher<SpanColumns>,
    req: &ExportTraceServiceRequest,
    sink: &mut Sink<'_>,
) -> Result<(), ConvertError> {
    for rs in &req.resource_spans {
        let resource_index = b.next_resource_index()?;
        b.clear_keys();
        for (si, ss) in rs.scope_spans.iter().enumerate() {
            let cx = Context {
                resource_index,
                resource: rs.resource.as_ref(),
                resource_schema_url: &rs.schema_url,
                scope_index: index(si, "scope_index")?,
                scope: ss.scope.as_ref(),
                scope_schema_url: &ss.schema_url,
            };
            b.scope = None;
            for span in &ss.spans {
                let key = b.scope_entry(&cx);
                b.cols.lead.scope_key.push(key);
                b.cols.append(span);
                b.after_row(sink)?;
            }
        }
    }
    Ok(())
}

/// The trace column builders of one batch.
#[derive(Debug)]
pub(crate) struct SpanColumns {
    pub(crate) lead: Leading,
    pub(crate) trace_id: ByteColumn,
    pub(crate) span_id: ByteColumn,
    pub(crate) trace_state: ByteColumn,
    pub(crate) parent_span_id: ByteColumn,
    pub(crate) flags: Vec<u32>,
    pub(crate) name: ByteColumn,
    pub(crate) kind: Vec<i32>,
    pub(crate) start_time_unix_nano: Vec<u64>,
    pub(crate) end_time_unix_nano: Vec<u64>,
    pub(crate) attributes: AttributesBuilder,
    pub(crate) dropped_attributes_count: Vec<u32>,
    pub(crate) events: EventsBuilder,
    pub(crate) dropped_events_count: Vec<u32>,
    pub(crate) links: LinksBuilder,
    pub(crate) dropped_links_count: Vec<u32>,
    pub(crate) status_code: Nullable<Int32Type>,
    pub(crate) status_message: ByteColumn,
}

impl SpanColumns {
    pub(crate) fn new() -> Self {
        Self {
            lead: Leading::new(),
            trace_id: ByteColumn::new(),
            span_id: ByteColumn::new(),
            trace_state: ByteColumn::new(),
            parent_span_id: ByteColumn::new(),
            flags: Vec::new(),
            name: ByteColumn::new(),
            kind: Vec::new(),
            start_time_unix_nano: Vec::new(),
            end_time_unix_nano: Vec::new(),
            attributes: AttributesBuilder::new(),
            dropped_attributes_count: Vec::new(),
            events: EventsBuilder::new(),
            dropped_events_count: Vec::new(),
            links: LinksBuilder::new(),
            dropped_links_count: Vec::new(),
            status_code: Nullable::new(),
            status_message: ByteColumn::new(),
        }
    }

    /// Appends the span columns of one row (prost form); the caller pushed its scope key.
    #[inline]
    fn append(&mut self, span: &Span) {
        self.trace_id.push_hex(&span.trace_id);
        self.span_id.push_hex(&span.span_id);
        self.trace_state.push_str(&span.trace_state);
        self.parent_span_id.push_hex(&span.parent_span_id);
        self.flags.push(span.flags);
        self.name.push_str(&span.name);
        self.kind.push(span.kind);
        self.start_time_unix_nano.push(span.start_time_unix_nano);
        self.end_time_unix_nano.push(span.end_time_unix_nano);
        self.attributes.append(&span.attributes);
        self.dropped_attributes_count
            .push(span.dropped_attributes_count);
        for e in &span.events {
            self.events.attributes.append(&e.attributes);
            self.events.push(
                e.time_unix_nano,
                Text::of(&e.name),
                e.dropped_attributes_count,
            );
        }
        self.events.close();
        self.dropped_events_count.push(span.dropped_events_count);
        for l in &span.links {
            self.links.attributes.append(&l.attributes);
            self.links.push(l);
        }
        self.links.close();
        self.dropped_links_count.push(span.dropped_links_count);
        match &span.status {
            Some(status) => {
                self.status_code.push(status.code);
                self.status_message.push_str(&status.message);
            }
            None => {
                self.status_code.push_null();
                self.status_message.skip();
            }
        }
    }
}

impl Columns for SpanColumns {
    fn rows(&self) -> usize {
        self.lead.rows()
    }

    fn checkpoint(&self) -> Checkpoint {
        self.lead.checkpoint()
    }

    fn truncate(&mut self, to: Checkpoint) {
        let n = to.rows;
        self.lead.truncate(to);
        self.trace_id.truncate(n);
        self.span_id.truncate(n);
        self.trace_state.truncate(n);
        self.parent_span_id.truncate(n);
        self.flags.truncate(n);
        self.name.truncate(n);
        self.kind.truncate(n);
        self.start_time_unix_nano.truncate(n);
        self.end_time_unix_nano.truncate(n);
        self.attributes.truncate(n);
        self.dropped_attributes_count.truncate(n);
        self.events.truncate(n);
        self.dropped_events_count.truncate(n);
        self.links.truncate(n);
        self.dropped_links_count.truncate(n);
        self.status_code.truncate(n);
        self.status_message.truncate(n);
    }

    fn bytes(&self) -> usize {
        let rows = self.rows();
        // flags, kind, the three dropped counts (4 bytes each) and the two times (8 each).
        36 * rows
            + self.lead.bytes()
            + self.trace_id.bytes()
            + self.span_id.bytes()
            + self.trace_state.bytes()
            + self.parent_span_id.bytes()
            + self.name.bytes()
            + self.attributes.bytes()
            + self.events.bytes()
            + self.links.bytes()
            + self.status_code.bytes()
            + self.status_message.bytes()
    }

    fn containers(&mut self) -> &mut ResourceScopeBuilder {
        &mut self.lead.rs
    }

    fn last_row_scope(&self) -> Option<i32> {
        self.lead.last_row_scope()
    }

    fn finish(&mut self) -> Result<RecordBatch, ConvertError> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(28);
        self.lead.finish(&mut columns)?;
        columns.push(Arc::new(self.trace_id.finish_utf8(None, "trace_id")?));
        columns.push(Arc::new(self.span_id.finish_utf8(None, "span_id")?));
        columns.push(Arc::new(self.trace_state.finish_utf8(None, "trace_state")?));
        columns.push(Arc::new(
            self.parent_span_id.finish_utf8(None, "parent_span_id")?,
        ));
        columns.push(finish_vec::<UInt32Type>(&mut self.flags));
        columns.push(Arc::new(self.name.finish_utf8(None, "name")?));
        columns.push(finish_vec::<Int32Type>(&mut self.kind));
        columns.push(finish_vec::<UInt64Type>(&mut self.start_time_unix_nano));
        columns.push(finish_vec::<UInt64Type>(&mut self.end_time_unix_nano));
        columns.push(Arc::new(self.attributes.finish("attributes")?));
        columns.push(finish_vec::<UInt32Type>(&mut self.dropped_attributes_count));
        columns.push(Arc::new(self.events.finish()?));
        columns.push(finish_vec::<UInt32Type>(&mut self.dropped_events_count));
        columns.push(Arc::new(self.links.finish()?));
        columns.push(finish_vec::<UInt32Type>(&mut self.dropped_links_count));
        let status_code = self.status_code.finish();
        let status_nulls = arrow_array::Array::nulls(&status_code).cloned();
        columns.push(Arc::new(status_code));
        columns.push(Arc::new(
            self.status_message
                .finish_utf8(status_nulls, "status_message")?,
        ));
        RecordBatch::try_new(schema(Signal::Traces), columns)
            .map_err(|source| arrow("traces batch", source))
    }
}

/// `events`: per row a list of event structs. The caller appends an event's attributes slot
/// into `attributes`, then calls `push`; `close` ends the row's list.
#[derive(Debug)]
pub(crate) struct EventsBuilder {
    shape: ListShape,
    time_unix_nano: Vec<u64>,
    name: ByteColumn,
    pub(crate) attributes: AttributesBuilder,
    dropped_attributes_count: Vec<u32>,
}

impl EventsBuilder {
    fn new() -> Self {
        Self {
            shape: ListShape::new(),
            time_unix_nano: Vec::new(),
            name: ByteColumn::new(),
            attributes: AttributesBuilder::new(),
            dropped_attributes_count: Vec::new(),
        }
    }

    #[inline]
    pub(crate) fn push(&mut self, time_unix_nano: u64, name: Text<'_>, dropped: u32) {
        self.time_unix_nano.push(time_unix_nano);
        self.name.push_text(name);
        self.dropped_attributes_count.push(dropped);
    }

    #[inline]
    pub(crate) fn close(&mut self) {
        self.shape.close(self.time_unix_nano.len());
    }

    fn truncate(&mut self, rows: usize) {
        let n = self.shape.truncate(rows);
        self.time_unix_nano.truncate(n);
        self.name.truncate(n);
        self.attributes.truncate(n);
        self.dropped_attributes_count.truncate(n);
    }

    fn bytes(&self) -> usize {
        self.shape.bytes()
            + vec_bytes(&self.time_unix_nano)
            + self.name.bytes()
            + self.attributes.bytes()
            + vec_bytes(&self.dropped_attributes_count)
    }

    fn finish(&mut self) -> Result<arrow_array::ListArray, ConvertError> {
        const COLUMN: &str = "events";
        let children: Vec<ArrayRef> = vec![
            finish_vec::<UInt64Type>(&mut self.time_unix_nano),
            Arc::new(self.name.finish_utf8(None, COLUMN)?),
            Arc::new(self.attributes.finish("events.attributes")?),
            finish_vec::<UInt32Type>(&mut self.dropped_attributes_count),
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

/// `links`: per row a list of link structs, built like `EventsBuilder`.
#[derive(Debug)]
pub(crate) struct LinksBuilder {
    shape: ListShape,
    pub(crate) trace_id: ByteColumn,
    pub(crate) span_id: ByteColumn,
    pub(crate) trace_state: ByteColumn,
    pub(crate) attributes: AttributesBuilder,
    pub(crate) dropped_attributes_count: Vec<u32>,
    pub(crate) flags: Vec<u32>,
}

impl LinksBuilder {
    fn new() -> Self {
        Self {
            shape: ListShape::new(),
            trace_id: ByteColumn::new(),
            span_id: ByteColumn::new(),
            trace_state: ByteColumn::new(),
            attributes: AttributesBuilder::new(),
            dropped_attributes_count: Vec::new(),
            flags: Vec::new(),
        }
    }

    /// One link (prost form) whose attributes slot was appended.
    #[inline]
    fn push(&mut self, l: &Link) {
        self.push_fields(
            &l.trace_id,
            &l.span_id,
            Text::of(&l.trace_state),
            l.dropped_attributes_count,
            l.flags,
        );
    }

    /// One link whose attributes slot was appended.
    #[inline]
    pub(crate) fn push_fields(
        &mut self,
        trace_id: &[u8],
        span_id: &[u8],
        trace_state: Text<'_>,
        dropped: u32,
        flags: u32,
    ) {
        self.trace_id.push_hex(trace_id);
        self.span_id.push_hex(span_id);
        self.trace_state.push_text(trace_state);
        self.dropped_attributes_count.push(dropped);
        self.flags.push(flags);
    }

    #[inline]
    pub(crate) fn close(&mut self) {
        self.shape.close(self.flags.len());
    }

    fn truncate(&mut self, rows: usize) {
        let n = self.shape.truncate(rows);
        self.trace_id.truncate(n);
        self.span_id.truncate(n);
        self.trace_state.truncate(n);
        self.attributes.truncate(n);
        self.dropped_attributes_count.truncate(n);
        self.flags.truncate(n);
    }

    fn bytes(&self) -> usize {
        self.shape.bytes()
            + self.trace_id.bytes()
            + self.span_id.bytes()
            + self.trace_state.bytes()
            + self.attributes.bytes()
            + vec_bytes(&self.dropped_attributes_count)
            + vec_bytes(&self.flags)
    }

    fn finish(&mut self) -> Result<arrow_array::ListArray, ConvertError> {
        const COLUMN: &str = "links";
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.trace_id.finish_utf8(None, COLUMN)?),
            Arc::new(self.span_id.finish_utf8(None, COLUMN)?),
            Arc::new(self.trace_state.finish_utf8(None, COLUMN)?),
            Arc::new(self.attributes.finish("links.attributes")?),
            finish_vec::<UInt32Type>(&mut self.dropped_attributes_count),
            finish_vec::<UInt32Type>(&mut self.flags),
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
