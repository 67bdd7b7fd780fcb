//! Logs from bytes: `ExportLogsServiceRequest` -> one row per log record.

use super::super::ConvertError;
use super::super::batch::{Batcher, Sink};
use super::super::columns::Text;
use super::super::logs::LogColumns;
use super::common::{Paths, RowColumns, Rows, any_value, key_value};
use super::{
    Msg, Parts, Res, fields, next_tag, read_fixed32, read_fixed64, read_len, read_string,
    read_varint, tag,
};

const PATHS: Paths = Paths {
    request: "export_logs_service_request",
    resource: "resource_logs",
    scope: "resource_logs.scope_logs",
};
const AT: &str = "resource_logs.scope_logs.log_records";

/// Converts one serialized `ExportLogsServiceRequest`.
pub(crate) fn push(
    b: &mut Batcher<LogColumns>,
    request: &[u8],
    sink: &mut Sink<'_>,
) -> Result<(), ConvertError> {
    super::common::push(b, request, &PATHS, &mut Rows::new(record), sink).map_err(|f| *f.0)
}

impl RowColumns for LogColumns {
    fn scope_keys(&mut self) -> &mut Vec<i32> {
        &mut self.lead.scope_key
    }
}

/// Appends the columns of one log record (tag dispatch, as `traces::span`).
#[inline]
fn record(c: &mut LogColumns, m: Msg<'_>, scratch: &mut Vec<u8>) -> Res<()> {
    const TIME: u32 = tag(1, 1);
    const SEVERITY_NUMBER: u32 = tag(2, 0);
    const SEVERITY_TEXT: u32 = tag(3, 2);
    const BODY: u32 = tag(5, 2);
    const ATTRIBUTES: u32 = tag(6, 2);
    const DROPPED: u32 = tag(7, 0);
    const FLAGS: u32 = tag(8, 5);
    const TRACE_ID: u32 = tag(9, 2);
    const SPAN_ID: u32 = tag(10, 2);
    const OBSERVED: u32 = tag(11, 1);
    const EVENT_NAME: u32 = tag(12, 2);
    // Field 4 is reserved: skipped like unknown fields.
    const KNOWN: u32 = fields(&[
        TIME,
        SEVERITY_NUMBER,
        SEVERITY_TEXT,
        BODY,
        ATTRIBUTES,
        DROPPED,
        FLAGS,
        TRACE_ID,
        SPAN_ID,
        OBSERVED,
        EVENT_NAME,
    ]);
    let (mut time, mut observed) = (0u64, 0u64);
    let (mut severity_number, mut dropped, mut flags) = (0i32, 0u32, 0u32);
    let (mut severity_text, mut event_name) = (Text::default(), Text::default());
    let (mut trace_id, mut span_id): (&[u8], &[u8]) = (&[], &[]);
    let mut body = Parts::new(m, 5);
    let mut r = m.reader();
    while let Some(t) = next_tag(&mut r, AT)? {
        match t {
            TIME => time = read_fixed64(&mut r, AT)?,
            SEVERITY_NUMBER => severity_number = read_varint(&mut r, AT)? as i32,
            SEVERITY_TEXT => severity_text = read_string(&mut r, AT)?,
            BODY => body.add(m.read_sub(&mut r, AT)?),
            ATTRIBUTES => key_value(m.read_sub(&mut r, AT)?, &mut c.attributes, scratch)?,
            DROPPED => dropped = read_varint(&mut r, AT)? as u32,
            FLAGS => flags = read_fixed32(&mut r, AT)?,
            TRACE_ID => trace_id = read_len(&mut r, AT)?,
            SPAN_ID => span_id = read_len(&mut r, AT)?,
            OBSERVED => observed = read_fixed64(&mut r, AT)?,
            EVENT_NAME => event_name = read_string(&mut r, AT)?,
            _ => m.other(&mut r, t, KNOWN, AT)?,
        }
    }
    c.attributes.close();
    any_value(&body, &mut c.body, scratch)?;
    c.time_unix_nano.push(time);
    c.observed_time_unix_nano.push(observed);
    c.severity_number.push(severity_number);
    c.severity_text.push_text(severity_text);
    c.dropped_attributes_count.push(dropped);
    c.flags.push(flags);
    c.trace_id.push_hex(trace_id);
    c.span_id.push_hex(span_id);
    c.event_name.push_text(event_name);
    Ok(())
}
