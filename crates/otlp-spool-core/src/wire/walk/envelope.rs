//! The three levels every signal shares: the export request (`resource_*` entries), a
//! resource entry (`resource`, `scope_*` entries, `schema_url`) and a scope entry (`scope`,
//! the items, `schema_url`). The field numbers are the same for traces, metrics and logs; only
//! the names and the item type differ.
//!
//! This is where items are counted and refused ones cut: an item's verdict is known once its
//! message has been walked, and its field's byte range is recorded for [`super::cut`].

use std::fmt::Write as _;

use super::error::{nth, within};
use super::{Fail, Msg, Walker};
use crate::wire::{WireType, tag};

/// The tags of the envelope's fields: the same numbers at every level.
const RESOURCES: u32 = tag(1, WireType::Len);
const RESOURCE: u32 = tag(1, WireType::Len);
const SCOPES: u32 = tag(2, WireType::Len);
const SCOPE: u32 = tag(1, WireType::Len);
const ITEMS: u32 = tag(2, WireType::Len);
const SCHEMA_URL: u32 = tag(3, WireType::Len);
use crate::Signal;

/// Field names of one signal's envelope, for error paths.
struct Names {
    resources: &'static str,
    scopes: &'static str,
    items: &'static str,
}

const fn names(signal: Signal) -> Names {
    match signal {
        Signal::Traces => Names {
            resources: "resource_spans",
            scopes: "scope_spans",
            items: "spans",
        },
        Signal::Metrics => Names {
            resources: "resource_metrics",
            scopes: "scope_metrics",
            items: "metrics",
        },
        Signal::Logs => Names {
            resources: "resource_logs",
            scopes: "scope_logs",
            items: "log_records",
        },
    }
}

impl Walker {
    /// `Export{Trace,Metrics,Logs}ServiceRequest`.
    pub(super) fn request(&mut self, m: Msg<'_>, signal: Signal) -> Result<(), Fail> {
        let n = names(signal);
        let fields = [(1, WireType::Len, n.resources)];
        let mut r = m.reader();
        let mut resources = 0;
        while let Some(tag) = r.next_tag()? {
            match tag {
                RESOURCES => nth(
                    m.sub(&mut r).and_then(|e| self.resource_entry(e, signal)),
                    n.resources,
                    &mut resources,
                )?,
                _ => m.other(&mut r, tag, &fields)?,
            }
        }
        Ok(())
    }

    /// `Resource{Spans,Metrics,Logs}`.
    fn resource_entry(&mut self, m: Msg<'_>, signal: Signal) -> Result<(), Fail> {
        let n = names(signal);
        let fields = [
            (1, WireType::Len, "resource"),
            (2, WireType::Len, n.scopes),
            (3, WireType::Len, "schema_url"),
        ];
        self.stats.resources += 1;
        let mut r = m.reader();
        let mut scopes = 0;
        while let Some(tag) = r.next_tag()? {
            match tag {
                RESOURCE => within(m.sub(&mut r).and_then(|s| self.resource(s)), "resource")?,
                SCOPES => nth(
                    m.sub(&mut r).and_then(|e| self.scope_entry(e, signal)),
                    n.scopes,
                    &mut scopes,
                )?,
                SCHEMA_URL => {
                    self.string(&mut r, "schema_url")?;
                }
                _ => m.other(&mut r, tag, &fields)?,
            }
        }
        Ok(())
    }

    /// `Scope{Spans,Metrics,Logs}`: counts, and refuses, its items.
    fn scope_entry(&mut self, m: Msg<'_>, signal: Signal) -> Result<(), Fail> {
        let name = names(signal).items;
        let fields = [
            (1, WireType::Len, "scope"),
            (2, WireType::Len, name),
            (3, WireType::Len, "schema_url"),
        ];
        self.stats.scopes += 1;
        let mut r = m.reader();
        let mut items = 0;
        while let Some(tag) = r.next_tag()? {
            match tag {
                SCOPE => within(m.sub(&mut r).and_then(|s| self.scope(s)), "scope")?,
                ITEMS => {
                    let start = r.field_start();
                    let item = m.sub(&mut r);
                    match signal {
                        Signal::Metrics => {
                            self.items += nth(item.and_then(|i| self.metric(i)), name, &mut items)?;
                        }
                        Signal::Traces | Signal::Logs => {
                            let before = self.stats;
                            let verdict = item.and_then(|i| match signal {
                                Signal::Traces => self.span(i),
                                _ => self.log_record(i),
                            });
                            match nth(verdict, name, &mut items)? {
                                None => self.items += 1,
                                Some(refusal) => {
                                    // Cut out: as if the item had never been walked.
                                    self.stats = before;
                                    self.cuts.push(start..r.offset());
                                    self.refused.refuse(|msg| {
                                        let _ = write!(msg, "{refusal}");
                                    });
                                }
                            }
                        }
                    }
                }
                SCHEMA_URL => {
                    self.string(&mut r, "schema_url")?;
                }
                _ => m.other(&mut r, tag, &fields)?,
            }
        }
        Ok(())
    }
}
