//! logs.v1: `LogRecord` and its id rules (lengths only: all zeros means "no context").

use super::error::within;
use super::refused::{Refusal, log_id_problem};
use super::{Fail, Msg, Walker, fields};

impl Walker {
    /// `LogRecord`: `None` if its ids are acceptable, else the first problem (on the last
    /// occurrence of each id field, the value prost keeps).
    pub(super) fn log_record<'a>(&mut self, m: Msg<'a>) -> Result<Option<Refusal<'a>>, Fail> {
        fields! {
            TIME_UNIX_NANO = 1 Fixed64 "time_unix_nano";
            SEVERITY_NUMBER = 2 Varint "severity_number";
            SEVERITY_TEXT = 3 Len "severity_text";
            BODY = 5 Len "body";
            ATTRIBUTES = 6 Len "attributes";
            DROPPED_ATTRIBUTES_COUNT = 7 Varint "dropped_attributes_count";
            FLAGS = 8 Fixed32 "flags";
            TRACE_ID = 9 Len "trace_id";
            SPAN_ID = 10 Len "span_id";
            OBSERVED_TIME_UNIX_NANO = 11 Fixed64 "observed_time_unix_nano";
            EVENT_NAME = 12 Len "event_name";
        }
        let mut r = m.reader();
        let (mut trace_id, mut span_id): (&[u8], &[u8]) = (&[], &[]);
        let mut attributes = 0;
        while let Some(tag) = r.next_tag()? {
            match tag {
                TIME_UNIX_NANO | OBSERVED_TIME_UNIX_NANO => {
                    r.read_fixed64()?;
                }
                SEVERITY_NUMBER | DROPPED_ATTRIBUTES_COUNT => {
                    r.read_varint()?;
                }
                SEVERITY_TEXT => {
                    self.string(&mut r, "severity_text")?;
                }
                BODY => within(self.value(m, &mut r), "body")?,
                ATTRIBUTES => self.attribute(m, &mut r, "attributes", &mut attributes)?,
                FLAGS => {
                    r.read_fixed32()?;
                }
                TRACE_ID => trace_id = self.bytes(&mut r)?,
                SPAN_ID => span_id = self.bytes(&mut r)?,
                EVENT_NAME => {
                    self.string(&mut r, "event_name")?;
                }
                _ => m.other(&mut r, tag, FIELDS)?,
            }
        }
        Ok(log_id_problem("trace id", trace_id, 16)
            .or_else(|| log_id_problem("span id", span_id, 8))
            .map(Refusal::LogRecord))
    }
}
