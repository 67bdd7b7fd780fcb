//! Traces from bytes: `ExportTraceServiceRequest` -> spans, events and links, one row per span.

use super::super::ConvertError;
use super::super::batch::{Batcher, Sink};
use super::super::columns::Text;
use super::super::traces::{EventsBuilder, LinksBuilder, SpanColumns};
use super::common::{Paths, RowColumns, Rows, key_value};
use super::{
    Msg, Parts, Res, fields, next_tag, read_fixed32, read_fixed64, read_len, read_string,
    read_varint, tag,
};

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

/// Appends the span columns of one row. Dispatches on whole tags (number and wire type), so a
/// field of the expected type is read in one step; every other tag goes to `Msg::other`.
#[inline]
fn span(c: &mut SpanColumns, m: Msg<'_>, scratch: &mut Vec<u8>) -> Res<()> {
    const TRACE_ID: u32 = tag(1, 2);
    const SPAN_ID: u32 = tag(2, 2);
    const TRACE_STATE: u32 = tag(3, 2);
    const PARENT_SPAN_ID: u32 = tag(4, 2);
    const NAME: u32 = tag(5, 2);
    const KIND: u32 = tag(6, 0);
    const START: u32 = tag(7, 1);
    const END: u32 = tag(8, 1);
    const ATTRIBUTES: u32 = tag(9, 2);
    const DROPPED_ATTRIBUTES: u32 = tag(10, 0);
    const EVENTS: u32 = tag(11, 2);
    const DROPPED_EVENTS: u32 = tag(12, 0);
    const LINKS: u32 = tag(13, 2);
    const DROPPED_LINKS: u32 = tag(14, 0);
    const STATUS: u32 = tag(15, 2);
    const FLAGS: u32 = tag(16, 5);
    const KNOWN: u32 = fields(&[
        TRACE_ID,
        SPAN_ID,
        TRACE_STATE,
        PARENT_SPAN_ID,
        NAME,
        KIND,
        START,
        END,
        ATTRIBUTES,
        DROPPED_ATTRIBUTES,
        EVENTS,
        DROPPED_EVENTS,
        LINKS,
        DROPPED_LINKS,
        STATUS,
        FLAGS,
    ]);
    const MESSAGE: u32 = tag(2, 2);
    const CODE: u32 = tag(3, 0);
    // Field 1 is reserved (the deprecated code): skipped like unknown fields.
    const STATUS_KNOWN: u32 = fields(&[MESSAGE, CODE]);
    let (mut trace_id, mut span_id, mut parent_span_id): (&[u8], &[u8], &[u8]) = (&[], &[], &[]);
    let (mut trace_state, mut name) = (Text::default(), Text::default());
    let (mut kind, mut flags) = (0i32, 0u32);
    let (mut start, mut end) = (0u64, 0u64);
    let (mut dropped_attributes, mut dropped_events, mut dropped_links) = (0u32, 0u32, 0u32);
    let mut status = Parts::new(m, 15);
    let mut r = m.reader();
    while let Some(t) = next_tag(&mut r, AT)? {
        match t {
            TRACE_ID => trace_id = read_len(&mut r, AT)?,
            SPAN_ID => span_id = read_len(&mut r, AT)?,
            TRACE_STATE => trace_state = read_string(&mut r, AT)?,
            PARENT_SPAN_ID => parent_span_id = read_len(&mut r, AT)?,
            NAME => name = read_string(&mut r, AT)?,
            KIND => kind = read_varint(&mut r, AT)? as i32,
            START => start = read_fixed64(&mut r, AT)?,
            END => end = read_fixed64(&mut r, AT)?,
            ATTRIBUTES => key_value(m.read_sub(&mut r, AT)?, &mut c.attributes, scratch)?,
            DROPPED_ATTRIBUTES => dropped_attributes = read_varint(&mut r, AT)? as u32,
            EVENTS => event(m.read_sub(&mut r, AT)?, &mut c.events, scratch)?,
            DROPPED_EVENTS => dropped_events = read_varint(&mut r, AT)? as u32,
            LINKS => link(m.read_sub(&mut r, AT)?, &mut c.links, scratch)?,
            DROPPED_LINKS => dropped_links = read_varint(&mut r, AT)? as u32,
            STATUS => status.add(m.read_sub(&mut r, AT)?),
            FLAGS => flags = read_fixed32(&mut r, AT)?,
            _ => m.other(&mut r, t, KNOWN, AT)?,
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
            while let Some(t) = next_tag(&mut r, AT_STATUS)? {
                match t {
                    MESSAGE => message = read_string(&mut r, AT_STATUS)?,
                    CODE => code = read_varint(&mut r, AT_STATUS)? as i32,
                    _ => s.other(&mut r, t, STATUS_KNOWN, AT_STATUS)?,
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
    const TIME: u32 = tag(1, 1);
    const NAME: u32 = tag(2, 2);
    const ATTRIBUTES: u32 = tag(3, 2);
    const DROPPED: u32 = tag(4, 0);
    const KNOWN: u32 = fields(&[TIME, NAME, ATTRIBUTES, DROPPED]);
    let (mut time, mut name, mut dropped) = (0u64, Text::default(), 0u32);
    let mut r = m.reader();
    while let Some(t) = next_tag(&mut r, AT_EVENT)? {
        match t {
            TIME => time = read_fixed64(&mut r, AT_EVENT)?,
            NAME => name = read_string(&mut r, AT_EVENT)?,
            ATTRIBUTES => key_value(m.read_sub(&mut r, AT_EVENT)?, &mut e.attributes, scratch)?,
            DROPPED => dropped = read_varint(&mut r, AT_EVENT)? as u32,
            _ => m.other(&mut r, t, KNOWN, AT_EVENT)?,
        }
    }
    e.attributes.close();
    e.push(time, name, dropped);
    Ok(())
}

/// Appends one link to the open links slot.
fn link(m: Msg<'_>, l: &mut LinksBuilder, scratch: &mut Vec<u8>) -> Res<()> {
    const TRACE_ID: u32 = tag(1, 2);
    const SPAN_ID: u32 = tag(2, 2);
    const TRACE_STATE: u32 = tag(3, 2);
    const ATTRIBUTES: u32 = tag(4, 2);
    const DROPPED: u32 = tag(5, 0);
    const FLAGS: u32 = tag(6, 5);
    const KNOWN: u32 = fields(&[TRACE_ID, SPAN_ID, TRACE_STATE, ATTRIBUTES, DROPPED, FLAGS]);
    let (mut trace_id, mut span_id): (&[u8], &[u8]) = (&[], &[]);
    let (mut trace_state, mut dropped, mut flags) = (Text::default(), 0u32, 0u32);
    let mut r = m.reader();
    while let Some(t) = next_tag(&mut r, AT_LINK)? {
        match t {
            TRACE_ID => trace_id = read_len(&mut r, AT_LINK)?,
            SPAN_ID => span_id = read_len(&mut r, AT_LINK)?,
            TRACE_STATE => trace_state = read_string(&mut r, AT_LINK)?,
            ATTRIBUTES => key_value(m.read_sub(&mut r, AT_LINK)?, &mut l.attributes, scratch)?,
            DROPPED => dropped = read_varint(&mut r, AT_LINK)? as u32,
            FLAGS => flags = read_fixed32(&mut r, AT_LINK)?,
            _ => m.other(&mut r, t, KNOWN, AT_LINK)?,
        }
    }
    l.attributes.close();
    l.push_fields(trace_id, span_id, trace_state, dropped, flags);
    Ok(())
}
