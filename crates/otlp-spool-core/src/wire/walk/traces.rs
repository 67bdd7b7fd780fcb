//! trace.v1: `Span`, `Span.Event`, `Span.Link`, `Status`, and the span id rules.
//!
//! Invariant: a span's verdict is taken on the values prost would decode: the *last*
//! occurrence of each id field (prost keeps the last scalar), and every link in order (the
//! first link with a problem is named, as the receiver names it).

use super::error::{nth, within};
use super::refused::{IdProblem, Refusal, span_id_problem};
use super::{Fail, Msg, Walker, fields};

impl Walker {
    /// `Span`: `None` if its ids are valid, else why it is refused (the first problem).
    pub(super) fn span<'a>(&mut self, m: Msg<'a>) -> Result<Option<Refusal<'a>>, Fail> {
        fields! {
            TRACE_ID = 1 Len "trace_id";
            SPAN_ID = 2 Len "span_id";
            TRACE_STATE = 3 Len "trace_state";
            PARENT_SPAN_ID = 4 Len "parent_span_id";
            NAME = 5 Len "name";
            KIND = 6 Varint "kind";
            START_TIME_UNIX_NANO = 7 Fixed64 "start_time_unix_nano";
            END_TIME_UNIX_NANO = 8 Fixed64 "end_time_unix_nano";
            ATTRIBUTES = 9 Len "attributes";
            DROPPED_ATTRIBUTES_COUNT = 10 Varint "dropped_attributes_count";
            EVENTS = 11 Len "events";
            DROPPED_EVENTS_COUNT = 12 Varint "dropped_events_count";
            LINKS = 13 Len "links";
            DROPPED_LINKS_COUNT = 14 Varint "dropped_links_count";
            STATUS = 15 Len "status";
            FLAGS = 16 Fixed32 "flags";
        }
        let mut r = m.reader();
        let (mut trace_id, mut span_id, mut parent, mut name): (&[u8], &[u8], &[u8], &[u8]) =
            (&[], &[], &[], &[]);
        let mut link_problem = None;
        let (mut attributes, mut events, mut links) = (0, 0, 0);
        while let Some(tag) = r.next_tag()? {
            match tag {
                TRACE_ID => trace_id = self.bytes(&mut r)?,
                SPAN_ID => span_id = self.bytes(&mut r)?,
                TRACE_STATE => {
                    self.string(&mut r, "trace_state")?;
                }
                PARENT_SPAN_ID => parent = self.bytes(&mut r)?,
                NAME => name = self.string(&mut r, "name")?,
                KIND | DROPPED_ATTRIBUTES_COUNT | DROPPED_EVENTS_COUNT | DROPPED_LINKS_COUNT => {
                    r.read_varint()?;
                }
                START_TIME_UNIX_NANO | END_TIME_UNIX_NANO => {
                    r.read_fixed64()?;
                }
                ATTRIBUTES => self.attribute(m, &mut r, "attributes", &mut attributes)?,
                EVENTS => nth(
                    m.sub(&mut r).and_then(|e| self.event(e)),
                    "events",
                    &mut events,
                )?,
                LINKS => {
                    let problem = nth(
                        m.sub(&mut r).and_then(|l| self.link(l)),
                        "links",
                        &mut links,
                    )?;
                    link_problem = link_problem.or(problem);
                }
                STATUS => within(m.sub(&mut r).and_then(|s| self.status(s)), "status")?,
                FLAGS => {
                    r.read_fixed32()?;
                }
                _ => m.other(&mut r, tag, FIELDS)?,
            }
        }
        let problem = span_id_problem("trace id", trace_id, 16, false)
            .or_else(|| span_id_problem("span id", span_id, 8, false))
            .or_else(|| span_id_problem("parent span id", parent, 8, true))
            .or(link_problem);
        Ok(problem.map(|problem| Refusal::Span { name, problem }))
    }

    /// `Span.Event`.
    fn event(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        fields! {
            TIME_UNIX_NANO = 1 Fixed64 "time_unix_nano";
            NAME = 2 Len "name";
            ATTRIBUTES = 3 Len "attributes";
            DROPPED_ATTRIBUTES_COUNT = 4 Varint "dropped_attributes_count";
        }
        self.stats.events += 1;
        let mut r = m.reader();
        let mut attributes = 0;
        while let Some(tag) = r.next_tag()? {
            match tag {
                TIME_UNIX_NANO => {
                    r.read_fixed64()?;
                }
                NAME => {
                    self.string(&mut r, "name")?;
                }
                ATTRIBUTES => self.attribute(m, &mut r, "attributes", &mut attributes)?,
                DROPPED_ATTRIBUTES_COUNT => {
                    r.read_varint()?;
                }
                _ => m.other(&mut r, tag, FIELDS)?,
            }
        }
        Ok(())
    }

    /// `Span.Link`: `None` if its ids are valid, else the first problem.
    fn link(&mut self, m: Msg<'_>) -> Result<Option<IdProblem>, Fail> {
        fields! {
            TRACE_ID = 1 Len "trace_id";
            SPAN_ID = 2 Len "span_id";
            TRACE_STATE = 3 Len "trace_state";
            ATTRIBUTES = 4 Len "attributes";
            DROPPED_ATTRIBUTES_COUNT = 5 Varint "dropped_attributes_count";
            FLAGS = 6 Fixed32 "flags";
        }
        self.stats.links += 1;
        let mut r = m.reader();
        let (mut trace_id, mut span_id): (&[u8], &[u8]) = (&[], &[]);
        let mut attributes = 0;
        while let Some(tag) = r.next_tag()? {
            match tag {
                TRACE_ID => trace_id = self.bytes(&mut r)?,
                SPAN_ID => span_id = self.bytes(&mut r)?,
                TRACE_STATE => {
                    self.string(&mut r, "trace_state")?;
                }
                ATTRIBUTES => self.attribute(m, &mut r, "attributes", &mut attributes)?,
                DROPPED_ATTRIBUTES_COUNT => {
                    r.read_varint()?;
                }
                FLAGS => {
                    r.read_fixed32()?;
                }
                _ => m.other(&mut r, tag, FIELDS)?,
            }
        }
        Ok(span_id_problem("link trace id", trace_id, 16, false)
            .or_else(|| span_id_problem("link span id", span_id, 8, false)))
    }

    /// `Status`.
    fn status(&mut self, m: Msg<'_>) -> Result<(), Fail> {
        fields! {
            MESSAGE = 2 Len "message";
            CODE = 3 Varint "code";
        }
        let mut r = m.reader();
        while let Some(tag) = r.next_tag()? {
            match tag {
                MESSAGE => {
                    self.string(&mut r, "message")?;
                }
                CODE => {
                    r.read_varint()?;
                }
                _ => m.other(&mut r, tag, FIELDS)?,
            }
        }
        Ok(())
    }
}
