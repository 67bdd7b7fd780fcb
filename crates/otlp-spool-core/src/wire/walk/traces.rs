//! trace.v1: `Span`, `Span.Event`, `Span.Link`, `Status`, and the span id rules.
//!
//! Invariant: a span's verdict is taken on the values prost would decode: the *last*
//! occurrence of each id field (prost keeps the last scalar), and every link in order (the
//! first link with a problem is named, as the receiver names it).

use super::error::{nth, within};
use super::refused::{IdProblem, span_id_problem};
use super::{Fail, Msg, Walker, fixed32, fixed64, varint};

impl Walker {
    /// `Span`: `None` if its ids are valid, else its name and the first problem.
    pub(super) fn span<'a>(&mut self, m: Msg<'a>) -> Result<Option<(&'a [u8], IdProblem)>, Fail> {
        let mut fields = m.fields();
        let (mut trace_id, mut span_id, mut parent, mut name): (&[u8], &[u8], &[u8], &[u8]) =
            (&[], &[], &[], &[]);
        let mut link_problem = None;
        let (mut attributes, mut events, mut links) = (0, 0, 0);
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => trace_id = self.bytes(&f, "trace_id")?,
                2 => span_id = self.bytes(&f, "span_id")?,
                3 => {
                    self.string(&f, "trace_state")?;
                }
                4 => parent = self.bytes(&f, "parent_span_id")?,
                5 => name = self.string(&f, "name")?,
                6 => {
                    varint(&f, "kind")?;
                }
                7 => {
                    fixed64(&f, "start_time_unix_nano")?;
                }
                8 => {
                    fixed64(&f, "end_time_unix_nano")?;
                }
                9 => self.attribute(m, &f, "attributes", &mut attributes)?,
                10 => {
                    varint(&f, "dropped_attributes_count")?;
                }
                11 => nth(m.sub(&f).and_then(|e| self.event(e)), "events", &mut events)?,
                12 => {
                    varint(&f, "dropped_events_count")?;
                }
                13 => {
                    let problem = nth(m.sub(&f).and_then(|l| self.link(l)), "links", &mut links)?;
                    link_problem = link_problem.or(problem);
                }
                14 => {
                    varint(&f, "dropped_links_count")?;
                }
                15 => within(m.sub(&f).and_then(|s| self.status(s)), "status")?,
                16 => {
                    fixed32(&f, "flags")?;
                }
                _ => m.unknown(&f)?,
            }
        }
        let problem = span_id_problem("trace id", trace_id, 16, false)
            .or_else(|| span_id_problem("span id", span_id, 8, false))
            .or_else(|| span_id_problem("parent span id", parent, 8, true))
            .or(link_problem);
        Ok(problem.map(|p| (name, p)))
    }

    /// `Span.Event`.
    fn event(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        self.stats.events += 1;
        let mut fields = m.fields();
        let mut attributes = 0;
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => {
                    fixed64(&f, "time_unix_nano")?;
                }
                2 => {
                    self.string(&f, "name")?;
                }
                3 => self.attribute(m, &f, "attributes", &mut attributes)?,
                4 => {
                    varint(&f, "dropped_attributes_count")?;
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }

    /// `Span.Link`: `None` if its ids are valid, else the first problem.
    fn link(&mut self, m: Msg<'_>) -> Result<Option<IdProblem>, Fail> {
        self.stats.links += 1;
        let mut fields = m.fields();
        let (mut trace_id, mut span_id): (&[u8], &[u8]) = (&[], &[]);
        let mut attributes = 0;
        while let Some(f) = fields.next_field()? {
            match f.number {
                1 => trace_id = self.bytes(&f, "trace_id")?,
                2 => span_id = self.bytes(&f, "span_id")?,
                3 => {
                    self.string(&f, "trace_state")?;
                }
                4 => self.attribute(m, &f, "attributes", &mut attributes)?,
                5 => {
                    varint(&f, "dropped_attributes_count")?;
                }
                6 => {
                    fixed32(&f, "flags")?;
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(span_id_problem("link trace id", trace_id, 16, false)
            .or_else(|| span_id_problem("link span id", span_id, 8, false)))
    }

    /// `Status`.
    fn status(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        let mut fields = m.fields();
        while let Some(f) = fields.next_field()? {
            match f.number {
                2 => {
                    self.string(&f, "message")?;
                }
                3 => {
                    varint(&f, "code")?;
                }
                _ => m.unknown(&f)?,
            }
        }
        Ok(())
    }
}
