//! logs.v1: `LogRecord` and its id rules (lengths only: all zeros means "no context").

use super::error::within;
use super::refused::{IdProblem, log_id_problem};
use super::{Fail, Msg, Walker, fixed32, fixed64, varint};

impl Walker {
    /// `LogRecord`: `None` if its ids are acceptable, else the first problem (on the last
    /// occurrence of each id field, the value prost keeps).
    pub(super) fn log_record(&mut self, m: Msg<'_>) -> Result<Option<IdProblem>, Fail> {
        let mut fields = m.fields();
        let (mut trace_id, mut span_id): (&[u8], &[u8]) = (&[], &[]);
        let mut attributes = 0;
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => {
                    fixed64(&f, "time_unix_nano")?;
                }
                2 => {
                    varint(&f, "severity_number")?;
                }
                3 => {
                    self.string(&f, "severity_text")?;
                }
                5 => within(self.value(m, &f, 1), "body")?,
                6 => self.attribute(m, &f, "attributes", &mut attributes)?,
                7 => {
                    varint(&f, "dropped_attributes_count")?;
                }
                8 => {
                    fixed32(&f, "flags")?;
                }
                9 => trace_id = self.bytes(&f, "trace_id")?,
                10 => span_id = self.bytes(&f, "span_id")?,
                11 => {
                    fixed64(&f, "observed_time_unix_nano")?;
                }
                12 => {
                    self.string(&f, "event_name")?;
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(log_id_problem("trace id", trace_id, 16)
            .or_else(|| log_id_problem("span id", span_id, 8)))
    }
}
