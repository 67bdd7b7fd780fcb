//! Logs from bytes: `ExportLogsServiceRequest` -> one row per log record.

use super::super::ConvertError;
use super::super::batch::{Batcher, Sink};
use super::super::columns::Text;
use super::super::logs::LogColumns;
use super::common::{Paths, RowColumns, Rows, any_value, key_value};
use super::{Msg, Parts, Res, fixed32, fixed64, len, next, string, varint};

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

/// Appends the columns of one log record.
#[inline]
fn record(c: &mut LogColumns, m: Msg<'_>, scratch: &mut Vec<u8>) -> Res<()> {
    let (mut time, mut observed) = (0u64, 0u64);
    let (mut severity_number, mut dropped, mut flags) = (0i32, 0u32, 0u32);
    let (mut severity_text, mut event_name) = (Text::default(), Text::default());
    let (mut trace_id, mut span_id): (&[u8], &[u8]) = (&[], &[]);
    let mut body = Parts::new(m, 5);
    let mut r = m.reader();
    while let Some(f) = next(&mut r, AT)? {
        match f.number {
            1 => time = fixed64(&f, AT)?,
            2 => severity_number = varint(&f, AT)? as i32,
            3 => severity_text = string(&f, AT)?,
            5 => body.add(m.sub(&f, AT)?),
            6 => key_value(m.sub(&f, AT)?, &mut c.attributes, scratch)?,
            7 => dropped = varint(&f, AT)? as u32,
            8 => flags = fixed32(&f, AT)?,
            9 => trace_id = len(&f, AT)?,
            10 => span_id = len(&f, AT)?,
            11 => observed = fixed64(&f, AT)?,
            12 => event_name = string(&f, AT)?,
            _ => m.skip(&f, AT)?,
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
