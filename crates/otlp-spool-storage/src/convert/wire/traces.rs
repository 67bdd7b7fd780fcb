//! Traces from bytes: `ExportTraceServiceRequest` -> spans, events and links, one row per span.

use super::super::ConvertError;
use super::super::batch::{Batcher, Sink};
use super::super::columns::Text;
use super::super::traces::{EventsBuilder, LinksBuilder, SpanColumns};
use super::common::{Paths, RowColumns, Rows, key_value};
use super::{Msg, Parts, Res, fixed32, fixed64, len, next, string, varint};

const PATHS: Paths = Paths {
    request: "export_trace_service_request",
    resource: "resource_spans",
    scope: "resource_spans.scope_spans",
};
const AT: &str = "resource_spans.scope_spans.spans";
const AT_EVENT: &str = "spans.events";
const AT_LINK: &str = "spans.links";
const AT_STATUS: &str = "spans.status";

/// Converts one serialized `ExportTraceServiceRequest`.
pub(crate) fn push(
    b: &mut Batcher<SpanColumns>,
    request: &[u8],
    sink: &mut Sink<'_>,
) -> Result<(), ConvertError> {
    super::common::push(b, request, &PATHS, &mut Rows::new(span), sink).map_err(|f| *f.0)
}

impl RowColumns for SpanColumns {
    fn scope_keys(&mut self) -> &mut Vec<i32> {
        &mut self.lead.scope_key
    }
}

/// Appends the span columns of one row.
#[inline]
fn span(c: &mut SpanColumns, m: Msg<'_>, scratch: &mut Vec<u8>) -> Res<()> {
    let (mut trace_id, mut span_id, mut parent_span_id): (&[u8], &[u8], &[u8]) = (&[], &[], &[]);
    let (mut trace_state, mut name) = (Text::default(), Text::default());
    let (mut kind, mut flags) = (0i32, 0u32);
    let (mut start, mut end) = (0u64, 0u64);
    let (mut dropped_attributes, mut dropped_events, mut dropped_links) = (0u32, 0u32, 0u32);
    let mut status = Parts::new(m, 15);
    let mut r = m.reader();
    while let Some(f) = next(&mut r, AT)? {
        match f.number {
            1 => trace_id = len(&f, AT)?,
            2 => span_id = len(&f, AT)?,
            3 => trace_state = string(&f, AT)?,
            4 => parent_span_id = len(&f, AT)?,
            5 => name = string(&f, AT)?,
            6 => kind = varint(&f, AT)? as i32,
            7 => start = fixed64(&f, AT)?,
            8 => end = fixed64(&f, AT)?,
            9 => key_value(m.sub(&f, AT)?, &mut c.attributes, scratch)?,
            10 => dropped_attributes = varint(&f, AT)? as u32,
            11 => event(m.sub(&f, AT)?, &mut c.events, scratch)?,
            12 => dropped_events = varint(&f, AT)? as u32,
            13 => link(m.sub(&f, AT)?, &mut c.links, scratch)?,
            14 => dropped_links = varint(&f, AT)? as u32,
            15 => status.add(m.sub(&f, AT)?),
            16 => flags = fixed32(&f, AT)?,
            _ => m.skip(&f, AT)?,
        }
    }
    c.attributes.close();
    c.events.close();
    c.links.close();
    c.trace_id.push_hex(trace_id);
    c.span_id.push_hex(span_id);
    c.trace_state.push_text(trace_state);
    c.parent_span_id.push_hex(parent_span_id);
    c.flags.push(flags);
    c.name.push_text(name);
    c.kind.push(kind);
    c.start_time_unix_nano.push(start);
    c.end_time_unix_nano.push(end);
    c.dropped_attributes_count.push(dropped_attributes);
    c.dropped_events_count.push(dropped_events);
    c.dropped_links_count.push(dropped_links);
    if status.is_empty() {
        c.status_code.push_null();
        c.status_message.skip();
    } else {
        let (mut message, mut code) = (Text::default(), 0i32);
        status.each(AT_STATUS, |s| {
            let mut r = s.reader();
            while let Some(f) = next(&mut r, AT_STATUS)? {
                match f.number {
                    2 => message = string(&f, AT_STATUS)?,
                    3 => code = varint(&f, AT_STATUS)? as i32,
                    _ => s.skip(&f, AT_STATUS)?,
                }
            }
            Ok(())
        })?;
        c.status_code.push(code);
        c.status_message.push_text(message);
    }
    Ok(())
}

/// Appends one event to the open events slot.
fn event(m: Msg<'_>, e: &mut EventsBuilder, scratch: &mut Vec<u8>) -> Res<()> {
    let (mut time, mut name, mut dropped) = (0u64, Text::default(), 0u32);
    let mut r = m.reader();
    while let Some(f) = next(&mut r, AT_EVENT)? {
        match f.number {
            1 => time = fixed64(&f, AT_EVENT)?,
            2 => name = string(&f, AT_EVENT)?,
            3 => key_value(m.sub(&f, AT_EVENT)?, &mut e.attributes, scratch)?,
            4 => dropped = varint(&f, AT_EVENT)? as u32,
            _ => m.skip(&f, AT_EVENT)?,
        }
    }
    e.attributes.close();
    e.push(time, name, dropped);
    Ok(())
}

/// Appends one link to the open links slot.
fn link(m: Msg<'_>, l: &mut LinksBuilder, scratch: &mut Vec<u8>) -> Res<()> {
    let (mut trace_id, mut span_id): (&[u8], &[u8]) = (&[], &[]);
    let (mut trace_state, mut dropped, mut flags) = (Text::default(), 0u32, 0u32);
    let mut r = m.reader();
    while let Some(f) = next(&mut r, AT_LINK)? {
        match f.number {
            1 => trace_id = len(&f, AT_LINK)?,
            2 => span_id = len(&f, AT_LINK)?,
            3 => trace_state = string(&f, AT_LINK)?,
            4 => key_value(m.sub(&f, AT_LINK)?, &mut l.attributes, scratch)?,
            5 => dropped = varint(&f, AT_LINK)? as u32,
            6 => flags = fixed32(&f, AT_LINK)?,
            _ => m.skip(&f, AT_LINK)?,
        }
    }
    l.attributes.close();
    l.push_fields(trace_id, span_id, trace_state, dropped, flags);
    Ok(())
}
